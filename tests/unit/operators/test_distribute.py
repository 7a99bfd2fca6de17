"""Local delivery: atomic rename into place, checksum verified, names sanitised, another request's file kept."""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from hooks.request_store import Actor, RequestStoreHook
from operators import distribute
from operators.distribute import DeliveryConflict, DeliveryError, DistributeOperator, deliver_local
from report_runtime.staging import stage_file
from reporting.conflicts import location_key, request_tag
from reporting.definition import LocalTarget, ReportDefinition
from reporting.naming import NamingContext, TemplateError
from support.at_once import execute_together


@pytest.fixture
def staged(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n1,2\n")
    uri = stage_file(source, "sales/2026-11-20/req-1/report.csv")
    return {"format": "csv", "uri": uri, "sha256": hashlib.sha256(source.read_bytes()).hexdigest(), "bytes": 8}


def _naming(**params) -> NamingContext:
    return NamingContext(report_id="sales", run_date="2026-11-20", request_id="req-1", title="Sales", params=params)


def test_stage_file_writes_under_the_deterministic_key(staged, tmp_path):
    assert staged["uri"] == (tmp_path / "staging" / "sales/2026-11-20/req-1/report.csv").as_uri()


def test_delivers_under_the_rendered_name_and_leaves_no_temporary_file(staged, tmp_path):
    target = LocalTarget(
        type="local", path=str(tmp_path / "nas"), filename="{report_id}_{params[region]}_{run_date}.{format}"
    )

    outcome = deliver_local(target, staged, _naming(region="EMEA"))

    final = tmp_path / "nas" / "sales_EMEA_2026-11-20.csv"
    assert outcome == {"location": str(final), "bytes": 8, "sha256": staged["sha256"]}
    assert final.read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in final.parent.iterdir()] == [final.name]


def test_a_retry_overwrites_the_same_file(staged, tmp_path):
    target = LocalTarget(type="local", path=str(tmp_path / "nas"))
    first = deliver_local(target, staged, _naming())
    Path(first["location"]).write_bytes(b"stale")

    second = deliver_local(target, staged, _naming())

    assert second["location"] == first["location"]
    assert Path(second["location"]).read_bytes() == b"a,b\n1,2\n"


def test_checksum_mismatch_leaves_nothing_under_the_final_name(staged, tmp_path):
    target = LocalTarget(type="local", path=str(tmp_path / "nas"))
    corrupted = dict(staged, sha256="0" * 64)

    with pytest.raises(OSError, match="differs from the staged"):
        deliver_local(target, corrupted, _naming())

    assert list((tmp_path / "nas").iterdir()) == []


def test_parameter_values_cannot_escape_the_target_folder(staged, tmp_path):
    target = LocalTarget(type="local", path=str(tmp_path / "nas"), filename="{params[region]}.{format}")

    outcome = deliver_local(target, staged, _naming(region="../../etc/passwd"))

    assert Path(outcome["location"]).parent == tmp_path / "nas"
    assert ".." not in Path(outcome["location"]).name


def test_path_from_the_environment(staged, tmp_path, monkeypatch):
    monkeypatch.setenv("NAS_ROOT", str(tmp_path / "mounted"))
    target = LocalTarget(type="local", path="${NAS_ROOT}/finance")

    outcome = deliver_local(target, staged, _naming())

    assert outcome["location"].startswith(str(tmp_path / "mounted" / "finance") + "/")


def test_unset_environment_variable_is_a_clear_error(staged, monkeypatch):
    monkeypatch.delenv("NAS_ROOT_MISSING", raising=False)
    target = LocalTarget(type="local", path="${NAS_ROOT_MISSING}/finance")

    with pytest.raises(TemplateError, match="NAS_ROOT_MISSING is not set"):
        deliver_local(target, staged, _naming())


# --- another request's file under the same name ------------------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A request store in a SQLite file, the one the operator finds; the sending gate open."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_REPORTING_REQUEST_STORE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "r.db")})
    )
    monkeypatch.setattr(distribute, "hold_if_paused", lambda context, request_id: None)
    monkeypatch.setattr(distribute, "actor", lambda context: Actor("DISTRIBUTOR", "run", "distribute", 1))
    monkeypatch.setattr(distribute, "CLAIM_POLL_SECONDS", 0.02)
    hook = RequestStoreHook()
    hook.apply_schema()
    return hook


@pytest.fixture
def stage(tmp_path, monkeypatch):
    """Stage a CSV with the given content for a request; returns its artifact record."""
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())

    def staged_for(request_id: str, data: bytes) -> dict:
        source = tmp_path / f"{request_id}.csv"
        source.write_bytes(data)
        uri = stage_file(source, f"sales/2026-11-23/{request_id}/sales.csv")
        return {"format": "csv", "uri": uri, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    return staged_for


def _operator(tmp_path, request_id: str, artifact: dict, on_conflict: str | None = None) -> DistributeOperator:
    target = {"type": "local", "name": "nas", "path": str(tmp_path / "nas")}
    target["filename"] = "{report_id}_{params[region]}_{run_date}.{format}"
    if on_conflict:
        target["on_conflict"] = on_conflict
    definition = ReportDefinition.model_validate(
        {
            "id": "sales",
            "title": "Sales",
            "owner": "bi",
            "engine": {"type": "sql", "conn_id": "warehouse", "sql": "sales.sql"},
            "parameters": {"region": {"type": "string", "default": "EMEA"}},
            "formats": ["csv"],
            "distribution": [target],
        }
    )
    return DistributeOperator(
        task_id=f"distribute_{request_id}",
        definition=definition,
        request={"request_id": request_id, "run_date": "2026-11-23", "parameters": {"region": "EMEA"}},
        artifacts=[artifact],
        target={"key": "nas", "spec": definition.distribution[0].model_dump(mode="json")},
    )


def _deliver(tmp_path, store, stage, request_id: str, on_conflict: str | None = None, data: bytes | None = None):
    artifact = stage(request_id, data or f"region,revenue\nEMEA,{request_id}\n".encode())
    [outcome] = _operator(tmp_path, request_id, artifact, on_conflict).execute({})
    return outcome


def _replaced(store, request_id: str) -> list[dict]:
    return [e["details"] for e in store.trail(request_id)["events"] if e["event_type"] == "REPLACED"]


def _assert_every_recorded_checksum_matches_or_was_replaced(store, request_ids) -> None:
    """The invariant: a recorded SHA-256 matches the file at its location, or the trail says it was replaced."""
    for request_id in request_ids:
        for delivery in store.trail(request_id)["deliveries"]:
            path = Path(delivery["remote_location"])
            matches = path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == delivery["sha256"]
            replaced = any(r["location"] == str(path) and "replaced_by" in r for r in _replaced(store, request_id))
            assert matches or replaced, f"{request_id}: {path} no longer holds its recorded file, unannounced"


def test_by_default_a_second_request_delivers_beside_the_first_under_a_tagged_name(tmp_path, store, stage):
    first = _deliver(tmp_path, store, stage, "req-a")
    second = _deliver(tmp_path, store, stage, "req-b")

    folder = tmp_path / "nas"
    assert first["location"] == str(folder / "sales_EMEA_2026-11-23.csv")
    assert second["location"] == str(folder / f"sales_EMEA_2026-11-23__{request_tag('req-b')}.csv")
    assert Path(first["location"]).read_bytes() == b"region,revenue\nEMEA,req-a\n", "the first file never changed"
    assert sorted(p.name for p in folder.iterdir()) == sorted(Path(o["location"]).name for o in (first, second))
    _assert_every_recorded_checksum_matches_or_was_replaced(store, ["req-a", "req-b"])
    assert _replaced(store, "req-a") == []


def test_a_retry_of_the_same_request_writes_its_own_file_again(tmp_path, store, stage, monkeypatch):
    _deliver(tmp_path, store, stage, "req-a")
    artifact = stage("req-b", b"second\n")
    operator = _operator(tmp_path, "req-b", artifact)
    record = store.record_delivery
    calls = []

    def lost_after_writing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("the store went away after the file was written")
        return record(*args, **kwargs)

    monkeypatch.setattr(RequestStoreHook, "record_delivery", lambda self, *a, **k: lost_after_writing(*a, **k))
    with pytest.raises(DeliveryError):
        operator.execute({})
    [outcome] = operator.execute({})

    tagged = tmp_path / "nas" / f"sales_EMEA_2026-11-23__{request_tag('req-b')}.csv"
    assert outcome["location"] == str(tagged), "the same tagged name, not a third one"
    assert len(list((tmp_path / "nas").iterdir())) == 2
    # Once recorded, a retry of either request sends nothing again.
    assert operator.execute({}) == [outcome]
    _assert_every_recorded_checksum_matches_or_was_replaced(store, ["req-a", "req-b"])


def test_fail_refuses_naming_the_target_the_location_and_the_other_request(tmp_path, store, stage):
    first = _deliver(tmp_path, store, stage, "req-a")

    with pytest.raises(DeliveryConflict) as refused:
        _deliver(tmp_path, store, stage, "req-b", on_conflict="fail")

    message = str(refused.value)
    assert "target 'nas' (local)" in message and first["location"] in message and "'req-a'" in message
    assert isinstance(refused.value, AirflowFailException), "never retried"
    assert Path(first["location"]).read_bytes() == b"region,revenue\nEMEA,req-a\n"
    assert store.trail("req-b")["deliveries"] == []


def test_replace_writes_over_the_file_and_both_trails_say_so(tmp_path, store, stage):
    first = _deliver(tmp_path, store, stage, "req-a")
    second = _deliver(tmp_path, store, stage, "req-b", on_conflict="replace")

    assert second["location"] == first["location"]
    assert hashlib.sha256(Path(second["location"]).read_bytes()).hexdigest() == second["sha256"]
    [earlier] = _replaced(store, "req-a")
    assert (earlier["location"], earlier["sha256"], earlier["replaced_by"]) == (
        first["location"],
        first["sha256"],
        "req-b",
    )
    [later] = _replaced(store, "req-b")
    assert (later["location"], later["replaces"]) == (first["location"], "req-a")
    _assert_every_recorded_checksum_matches_or_was_replaced(store, ["req-a", "req-b"])


def test_a_name_delivered_before_claims_were_kept_is_protected_too(tmp_path, store, stage):
    folder = tmp_path / "nas"
    folder.mkdir()
    old = folder / "sales_EMEA_2026-11-23.csv"
    old.write_bytes(b"delivered last year\n")
    store.record_delivery(
        "req-old",
        target_key="nas",
        format="csv",
        location=str(old),
        size=20,
        sha256=hashlib.sha256(old.read_bytes()).hexdigest(),
        actor=Actor("DISTRIBUTOR"),
    )

    outcome = _deliver(tmp_path, store, stage, "req-new")

    assert outcome["location"] != str(old) and old.read_bytes() == b"delivered last year\n"


def test_a_name_a_dead_try_claimed_but_never_recorded_is_free_even_for_fail(tmp_path, store, stage):
    location = str(tmp_path / "nas" / "sales_EMEA_2026-11-23.csv")
    store.claim_location(
        location_key("local", location),
        location,
        request_id="req-dead",
        target_key="nas",
        format="csv",
        lease=timedelta(0),
    )

    outcome = _deliver(tmp_path, store, stage, "req-b", on_conflict="fail")

    assert outcome["location"] == location
    assert _replaced(store, "req-dead") == [], "nothing of it was recorded there, so nothing was replaced"


def test_replace_waits_for_a_request_still_writing_and_gives_up_retryably(tmp_path, store, stage, monkeypatch):
    location = str(tmp_path / "nas" / "sales_EMEA_2026-11-23.csv")
    store.claim_location(
        location_key("local", location),
        location,
        request_id="req-a",
        target_key="nas",
        format="csv",
        lease=timedelta(hours=1),
    )
    monkeypatch.setattr(distribute, "CLAIM_WAIT_SECONDS", 0.2)

    with pytest.raises(DeliveryError, match="still being written by request 'req-a'") as waited:
        _deliver(tmp_path, store, stage, "req-b", on_conflict="replace")

    assert not isinstance(waited.value, AirflowFailException), "a retry may find it done"
    assert not Path(location).exists()


@pytest.mark.parametrize("policy", ["unique", "fail", "replace"])
def test_two_requests_delivering_one_name_at_the_same_moment_never_overwrite_silently(
    tmp_path, store, stage, monkeypatch, policy
):
    write = distribute.DELIVERERS["local"]
    both_claimed = threading.Barrier(2, timeout=10)

    def slow_write(*args):
        # Each write starts only once both requests have looked at the name, so they truly overlap.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_claimed.wait(timeout=0.5)
        time.sleep(0.2)
        return write(*args)

    monkeypatch.setitem(distribute.DELIVERERS, "local", slow_write)
    claims = []
    claim = RequestStoreHook.claim_location
    monkeypatch.setattr(
        RequestStoreHook, "claim_location", lambda self, *a, **k: claims.append(1) or claim(self, *a, **k)
    )
    operators = {
        r: _operator(tmp_path, r, stage(r, f"content of {r}\n".encode()), on_conflict=policy)
        for r in ("req-a", "req-b")
    }
    results = execute_together(operators, timeout=30)

    delivered = {r: o for r, o in results.items() if isinstance(o, dict)}
    failed = {r: o for r, o in results.items() if isinstance(o, Exception)}
    names = sorted(p.name for p in (tmp_path / "nas").iterdir())
    base = "sales_EMEA_2026-11-23.csv"
    if policy == "unique":
        assert len(delivered) == 2 and len(names) == 2 and base in names
        assert len({o["location"] for o in delivered.values()}) == 2
    elif policy == "fail":
        assert len(delivered) == 1 and len(failed) == 1, results
        [error] = failed.values()
        assert isinstance(error, DeliveryConflict) and repr(next(iter(delivered))) in str(error)
        assert names == [base]
    else:
        assert len(delivered) == 2 and names == [base], results
        assert len(claims) > 2, "the later request waited while the earlier one wrote"
        replaced = [r for r in operators if any("replaced_by" in d for d in _replaced(store, r))]
        assert len(replaced) == 1, "the earlier one's trail says its file was replaced"
        [later] = [r for r in operators if r not in replaced]
        assert hashlib.sha256((tmp_path / "nas" / base).read_bytes()).hexdigest() == delivered[later]["sha256"]
    _assert_every_recorded_checksum_matches_or_was_replaced(store, list(operators))
