"""Whole report runs (``dag.test()``) delivering to S3, SFTP, SMB and e-mail and notifying over RabbitMQ.

Every server is real and on loopback. The tests read back what arrived, stop servers during
a run to see retries recover with exactly one complete file, keep one target down to see the
request FAIL naming it (with one dead-letter event and one mail, not one per try), and check
that a cleared run sends nothing twice. Bad overrides and injection attempts stop the run at
the claim, before anything is sent.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import drain
from hooks.request_store import RequestStoreHook
from reporting.conflicts import request_tag
from reporting.definition import ReportDefinition
from servers.mail import attachments

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "reports-dag-it"
RUN_AFTER = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
_runs = itertools.count()
_requests = itertools.count()


@pytest.fixture
def env(
    airflow_db, sample_db, tmp_path, monkeypatch, s3_server, sftp_server, smb_server, smtp_server, rabbitmq, request
):
    """Connections to every server, a fresh request store, and this test's own folders and queues."""
    for name, conn in {
        "REPORTING_SAMPLE_DB": json.dumps({"conn_type": "sqlite", "host": str(sample_db)}),
        "REPORTING_REQUEST_STORE": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")}),
        "AWS_DIST_IT": s3_server.connection(),
        "SFTP_DIST_IT": sftp_server.connection(),
        "SMB_DIST_IT": smb_server.connection(),
        "SMTP_DIST_IT": smtp_server.connection(),
        "AMQP_DIST_IT": rabbitmq["conn"],
    }.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", conn)
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())
    RequestStoreHook().apply_schema()
    client = s3_server.client()
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    smtp_server.clear()
    folder = request.node.name.replace("[", "_").replace("]", "")[:60]
    # dag.test() serializes the DAG by parsing the DAG folder, so the definition must be a file there.
    reports = tmp_path / "reports"
    reports.mkdir()
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(reports))
    return {
        "s3": client,
        "folder": folder,
        "rabbitmq": rabbitmq,
        "smtp": smtp_server,
        "sftp": sftp_server,
        "smb": smb_server,
        "s3_server": s3_server,
        "tmp": tmp_path,
        "reports": reports,
    }


def _definition(env: dict[str, Any], **changes: Any) -> ReportDefinition:
    folder, mq = env["folder"], env["rabbitmq"]
    data = {
        "id": "sales_distributed",
        "title": "Sales distributed",
        "owner": "bi-team",
        "engine": {"type": "sql", "conn_id": "reporting_sample_db", "sql": "sales_summary.sql", "batch_size": 500},
        "parameters": {
            "region": {"type": "string", "default": "EMEA", "allowed_values": ["ALL", "EMEA", "AMER", "APAC"]},
            "start_date": {"type": "date", "default": "2026-09-01"},
            "label": {"type": "string", "default": "daily"},
        },
        "formats": ["csv", "pdf"],
        "distribution": [
            {
                "type": "s3",
                "name": "lake",
                "conn_id": "aws_dist_it",
                "bucket": BUCKET,
                "key": f"{folder}/{{run_date}}/{{params[region]}}/{{report_id}}.{{format}}",
            },
            {
                "type": "sftp",
                "name": "partner",
                "conn_id": "sftp_dist_it",
                "directory": f"{env['sftp'].root}/{folder}",
                "filename": "{report_id}_{params[region]}.{format}",
            },
            {"type": "smb", "name": "nas", "conn_id": "smb_dist_it", "share": "reports", "directory": folder},
            {
                "type": "email",
                "name": "cfo_mail",
                "conn_id": "smtp_dist_it",
                "to": ["cfo@example.com"],
                "subject": "{title} {params[label]} {run_date}",
                "formats": ["pdf"],
            },
        ],
        "distribution_overrides": {
            "allowed_types": ["email"],
            "allowed_conn_ids": ["smtp_dist_it"],
            "allowed_email_domains": ["example.com"],
        },
        "notifications": {
            "emails": ["bi-team@example.com"],
            "smtp_conn_id": "smtp_dist_it",
            "queue": {
                "conn_id": "amqp_dist_it",
                "exchange": mq["exchange"],
                "queue": mq["queue"],
                "dead_letter_queue": mq["dead_letter_queue"],
            },
        },
        # Constant 1 s delays keep fault tests short; 4 tries in all.
        "retry": {"retries": 3, "retry_delay": "1s", "backoff_multiplier": 0, "max_retry_delay": "1s"},
        "execution_timeout": "5m",
    }
    data.update(changes)
    definition = ReportDefinition.model_validate(data)
    (env["reports"] / "sales_distributed.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return definition


def _run(factory, definition: ReportDefinition, conf: dict | None = None, moment: datetime | None = None):
    dag = factory.build_all()[definition.dag_id]
    moment = moment or RUN_AFTER + timedelta(minutes=next(_runs))
    return dag.test(run_after=moment, logical_date=moment, run_conf=conf), moment


def _request_conf(**extra: Any) -> dict[str, Any]:
    return {"request_id": f"dist-it-{next(_requests)}-{time.time_ns()}", **extra}


def _states(run) -> dict[str, str]:
    return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in run.get_task_instances()}


def _staged(store: RequestStoreHook, request_id: str) -> dict[tuple[str, str], str]:
    """(target, format) -> SHA-256 of what the target must have received (from the delivery log).

    Per target: a rerun regenerates the files, and targets that already had theirs keep them.
    """
    return {(d["target_key"], d["format"]): d["sha256"] for d in store.trail(request_id)["deliveries"]}


def _deliveries_by_target(trail: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in trail["events"]:
        if event["event_type"] == "DELIVERY":
            counts[event["details"]["target"]] = counts.get(event["details"]["target"], 0) + 1
    return counts


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assert_everything_arrived(env: dict[str, Any], request_id: str, shas: dict[tuple[str, str], str]) -> None:
    folder = env["folder"]
    for fmt in ("csv", "pdf"):
        obj = env["s3"].get_object(Bucket=BUCKET, Key=f"{folder}/2026-11-23/EMEA/sales_distributed.{fmt}")
        assert _sha(obj["Body"].read()) == obj["Metadata"]["sha256"] == shas["lake", fmt]
        sftp_file = env["sftp"].root / folder / f"sales_distributed_EMEA.{fmt}"
        assert _sha(sftp_file.read_bytes()) == shas["partner", fmt]
        smb_file = env["smb"].share_path / folder / f"sales_distributed_2026-11-23.{fmt}"
        assert _sha(smb_file.read_bytes()) == shas["nas", fmt]
    assert sorted(p.name for p in (env["sftp"].root / folder).iterdir()) == [
        "sales_distributed_EMEA.csv",
        "sales_distributed_EMEA.pdf",
    ], "no temporary file left"
    assert sorted(p.name for p in (env["smb"].share_path / folder).iterdir()) == [
        "sales_distributed_2026-11-23.csv",
        "sales_distributed_2026-11-23.pdf",
    ]
    [mail] = env["smtp"].messages("X-Report-Target", "cfo_mail")
    assert mail["message"]["Subject"] == "Sales distributed daily 2026-11-23"
    files = attachments(mail["message"])
    assert list(files) == ["sales_distributed_2026-11-23.pdf"]
    assert _sha(next(iter(files.values()))) == shas["cfo_mail", "pdf"]


def test_every_target_gets_each_file_once_and_the_world_is_told(factory, env):
    definition = _definition(env)
    conf = _request_conf()
    request_id = conf["request_id"]

    run, moment = _run(factory, definition, conf)

    assert str(run.state) == "success", _states(run)
    store = RequestStoreHook()
    shas = _staged(store, request_id)
    _assert_everything_arrived(env, request_id, shas)
    trail = store.trail(request_id)
    assert trail["request"]["status"] == "COMPLETED"
    assert _deliveries_by_target(trail) == {"lake": 2, "partner": 2, "nas": 2, "cfo_mail": 1}

    [event] = drain(env["rabbitmq"]["params"], env["rabbitmq"]["queue"])
    body = event["body"]
    assert (body["event"], body["request_id"], body["report_id"]) == (
        "report.completed",
        request_id,
        "sales_distributed",
    )
    assert body["targets"] == ["cfo_mail", "lake", "nas", "partner"]
    assert {a["format"]: a["sha256"] for a in body["artifacts"]} == {f: shas["lake", f] for f in ("csv", "pdf")}
    assert body["timings"]["requested_at"] and body["timings"]["notified_at"]
    assert (event["delivery_mode"], event["content_type"], event["message_id"]) == (
        2,
        "application/json",
        f"{request_id}:report.completed:1",
    )
    [stakeholder] = env["smtp"].messages("X-Report-Event", "report.completed")
    assert stakeholder["rcpt_tos"] == ["bi-team@example.com"]
    assert request_id in stakeholder["message"]["Subject"]
    channels = sorted(e["details"]["channel"] for e in trail["events"] if e["event_type"] == "NOTIFICATION")
    assert channels == ["amqp", "email"]

    # Clearing the run and running it again sends nothing anywhere.
    before = store.trail(request_id)
    modified = env["s3"].head_object(Bucket=BUCKET, Key=f"{env['folder']}/2026-11-23/EMEA/sales_distributed.csv")[
        "LastModified"
    ]
    again, _ = _run(factory, definition, conf, moment)

    assert str(again.state) == "success"
    assert store.trail(request_id) == before
    assert drain(env["rabbitmq"]["params"], env["rabbitmq"]["queue"]) == []
    assert len(env["smtp"].messages()) == 2
    assert (
        env["s3"].head_object(Bucket=BUCKET, Key=f"{env['folder']}/2026-11-23/EMEA/sales_distributed.csv")[
            "LastModified"
        ]
        == modified
    )


def _restart_after_first_retry(request_id: str, server, task: str = "distribute") -> threading.Thread:
    """Bring a stopped server back once the store shows a failed try of ``task``."""

    def watch() -> None:
        store = RequestStoreHook()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                events = store.trail(request_id)["events"]
            except Exception:  # the schema or row may not exist yet
                events = []
            if any(e["event_type"] == "RETRY" and e["task_id"] == task for e in events):
                server.start()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("server", ["s3", "sftp", "smb", "smtp"])
def test_a_server_down_during_delivery_is_retried_and_delivers_exactly_once(factory, env, server):
    definition = _definition(env)
    conf = _request_conf()
    request_id = conf["request_id"]
    down = env["s3_server"] if server == "s3" else env[server]
    down.stop()
    watcher = _restart_after_first_retry(request_id, down)
    try:
        run, _ = _run(factory, definition, conf)
    finally:
        watcher.join(5)
        if (
            (getattr(down, "process", None) is None and server in ("sftp", "smb"))
            or (server == "s3" and down.server is None)
            or (server == "smtp" and down.controller is None)
        ):
            down.start()

    assert str(run.state) == "success", _states(run)
    store = RequestStoreHook()
    trail = store.trail(request_id)
    retried = {e["try_number"] for e in trail["events"] if e["event_type"] == "RETRY"}
    assert retried, "the target failed at least once before its server came back"
    assert _deliveries_by_target(trail) == {"lake": 2, "partner": 2, "nas": 2, "cfo_mail": 1}, "each file once"
    _assert_everything_arrived(env, request_id, _staged(store, request_id))
    assert trail["request"]["status"] == "COMPLETED"


def test_a_target_that_stays_down_fails_the_request_and_a_rerun_sends_only_what_is_missing(factory, env):
    definition = _definition(env)
    conf = _request_conf()
    request_id = conf["request_id"]
    env["smb"].stop()
    try:
        failed, moment = _run(factory, definition, conf)
    finally:
        env["smb"].start()

    assert str(failed.state) == "failed"
    store = RequestStoreHook()
    trail = store.trail(request_id)
    assert trail["request"]["status"] == "FAILED"
    assert "target 'nas' (smb)" in trail["request"]["last_error"]
    [error] = trail["errors"]
    assert (error["component"], error["retry_count"], error["retry_eligible"]) == ("DISTRIBUTOR", 3, True)
    assert _deliveries_by_target(trail) == {"lake": 2, "partner": 2, "cfo_mail": 1}, "the other targets stand"
    nas_retries = [
        e for e in trail["events"] if e["event_type"] == "RETRY" and "sending_gate" not in (e["details"] or {})
    ]
    assert [e["try_number"] for e in nas_retries] == [1, 2, 3]
    # A destination that stayed down through every retry pauses all sending.
    from airflow.models import Variable

    from report_runtime.sending_gate import SEND_REPORTS_VARIABLE

    assert Variable.get(SEND_REPORTS_VARIABLE) == "false"
    [paused] = [e for e in trail["events"] if (e["details"] or {}).get("sending_gate") == "off"]
    assert "target 'nas' (smb)" in paused["details"]["reason"]

    [dead] = drain(env["rabbitmq"]["params"], env["rabbitmq"]["dead_letter_queue"])
    assert (dead["body"]["event"], dead["body"]["request_id"], dead["body"]["target"]) == (
        "report.failed",
        request_id,
        "nas",
    )
    assert dead["body"]["failed_task"] == "distribute" and "target 'nas'" in dead["body"]["error"]["message"]
    assert drain(env["rabbitmq"]["params"], env["rabbitmq"]["queue"]) == [], "no completion event"
    failure_mails = env["smtp"].messages("X-Report-Event", "report.failed")
    assert len(failure_mails) == 1, "one failure mail after the last retry, not one per try"
    assert "[FAILED]" in failure_mails[0]["message"]["Subject"]
    sftp_file = env["sftp"].root / env["folder"] / "sales_distributed_EMEA.csv"
    sftp_mtime = sftp_file.stat().st_mtime_ns

    Variable.set(SEND_REPORTS_VARIABLE, "true")
    rerun, _ = _run(factory, definition, conf, moment)

    assert str(rerun.state) == "success", _states(rerun)
    trail = store.trail(request_id)
    assert (trail["request"]["status"], trail["request"]["attempt"]) == ("COMPLETED", 2)
    assert _deliveries_by_target(trail) == {"lake": 2, "partner": 2, "cfo_mail": 1, "nas": 2}
    assert sftp_file.stat().st_mtime_ns == sftp_mtime, "the SFTP file was not sent again"
    assert len(env["smtp"].messages("X-Report-Target", "cfo_mail")) == 1, "the report mail was not sent again"
    _assert_everything_arrived(env, request_id, _staged(store, request_id))
    [completed] = drain(env["rabbitmq"]["params"], env["rabbitmq"]["queue"])
    assert completed["body"]["attempt"] == 2


def test_an_allowed_request_override_adds_a_recipient_target(factory, env):
    definition = _definition(env, distribution=[_definition(env).distribution[3].model_dump(mode="json")])
    conf = _request_conf(
        distribution=[
            {
                "type": "email",
                "name": "requester",
                "conn_id": "smtp_dist_it",
                "to": ["analyst@example.com"],
                "formats": ["csv"],
            }
        ]
    )

    run, _ = _run(factory, definition, conf)

    assert str(run.state) == "success", _states(run)
    [mail] = env["smtp"].messages("X-Report-Target", "requester")
    assert mail["rcpt_tos"] == ["analyst@example.com"]
    [(name, data)] = attachments(mail["message"]).items()
    assert name.endswith(".csv") and _sha(data) == _staged(RequestStoreHook(), conf["request_id"])["requester", "csv"]


@pytest.mark.parametrize(
    ("conf_changes", "problem"),
    [
        (
            {"distribution": [{"type": "email", "conn_id": "smtp_dist_it", "to": ["leak@evil.test"]}]},
            "distribution.targets[0].to: 'leak@evil.test' is outside the allowed domains",
        ),
        (
            {"distribution": [{"type": "sftp", "conn_id": "sftp_dist_it", "directory": "/etc"}]},
            "distribution.targets[0].type: 'sftp' is not allowed",
        ),
        (
            {
                "distribution": [
                    {
                        "type": "email",
                        "conn_id": "smtp_dist_it",
                        "to": ["a@example.com"],
                        "subject": "hi\r\nBcc: spy@evil.test",
                    }
                ]
            },
            "renders to a header with control characters",
        ),
        (
            {"parameters": {"label": "daily\r\nBcc: spy@evil.test"}},
            "target 'cfo_mail'.subject: template '{title} {params[label]} {run_date}' "
            "renders to a header with control characters",
        ),
    ],
    ids=["outside-domain", "type-not-allowed", "subject-injection", "parameter-injection"],
)
def test_bad_overrides_and_injection_stop_the_run_before_anything_is_sent(factory, env, conf_changes, problem):
    definition = _definition(env)
    conf = _request_conf(**copy.deepcopy(conf_changes))

    run, _ = _run(factory, definition, conf)

    assert str(run.state) == "failed"
    states = _states(run)
    assert states["claim[-1]"] == "failed" and states["generate[-1]"] == "upstream_failed"
    trail = RequestStoreHook().trail(conf["request_id"])
    [error] = trail["errors"]
    assert problem in error["message"] and error["retry_eligible"] is False
    assert trail["deliveries"] == []
    assert [m["message"]["X-Report-Event"] for m in env["smtp"].messages()] == ["report.failed"], (
        "only the failure mail"
    )
    assert not (env["sftp"].root / env["folder"]).exists()
    assert "Contents" not in env["s3"].list_objects_v2(Bucket=BUCKET, Prefix=env["folder"] + "/")


def test_a_retried_notify_task_does_not_publish_or_mail_twice(factory, env):
    # Only the S3 target: the SMTP server is needed by the notify task alone.
    definition = _definition(env, distribution=[_definition(env).distribution[0].model_dump(mode="json")])
    conf = _request_conf()
    request_id = conf["request_id"]
    env["smtp"].stop()
    watcher = _restart_after_first_retry(request_id, env["smtp"], task="notify")
    try:
        run, _ = _run(factory, definition, conf)
    finally:
        watcher.join(5)
        if env["smtp"].controller is None:
            env["smtp"].start()

    assert str(run.state) == "success", _states(run)
    trail = RequestStoreHook().trail(request_id)
    assert [e["task_id"] for e in trail["events"] if e["event_type"] == "RETRY"] == ["notify"]
    events = drain(env["rabbitmq"]["params"], env["rabbitmq"]["queue"])
    assert [e["body"]["request_id"] for e in events] == [request_id], "published once although notify ran twice"
    assert len(env["smtp"].messages("X-Report-Event", "report.completed")) == 1
    assert sorted(e["details"]["channel"] for e in trail["events"] if e["event_type"] == "NOTIFICATION") == [
        "amqp",
        "email",
    ]


def test_a_worktable_request_brings_its_own_distribution(factory, env):
    from hooks.request_store import Actor

    definition = _definition(env, distribution=[_definition(env).distribution[3].model_dump(mode="json")])
    conf = _request_conf()
    # As the intake does: the row (with its distribution column) exists before the run starts.
    RequestStoreHook().create_request(
        request_id=conf["request_id"],
        report_id="sales_distributed",
        parameters={},
        trigger_type="ADHOC",
        requested_by="analyst",
        actor=Actor(component="INTAKE"),
        distribution_overrides={
            "mode": "add",
            "targets": [
                {"type": "email", "name": "from_row", "conn_id": "smtp_dist_it", "to": ["analyst@example.com"]}
            ],
        },
    )

    run, _ = _run(factory, definition, conf)

    assert str(run.state) == "success", _states(run)
    [mail] = env["smtp"].messages("X-Report-Target", "from_row")
    assert mail["rcpt_tos"] == ["analyst@example.com"]
    files = attachments(mail["message"])
    assert sorted(files) == ["sales_distributed_2026-11-23.csv", "sales_distributed_2026-11-23.pdf"]
    shas = _staged(RequestStoreHook(), conf["request_id"])
    assert {name[-3:]: _sha(data) for name, data in files.items()} == {
        "csv": shas["from_row", "csv"],
        "pdf": shas["from_row", "pdf"],
    }


def test_an_override_whose_connection_points_at_a_host_not_allowed_is_refused(factory, env):
    policy = {
        "allowed_types": ["email"],
        "allowed_conn_ids": ["smtp_dist_it"],
        "allowed_email_domains": ["example.com"],
        "allowed_hosts": ["smtp.example.com"],
    }
    definition = _definition(env, distribution_overrides=policy)
    conf = _request_conf(distribution=[{"type": "email", "conn_id": "smtp_dist_it", "to": ["a@example.com"]}])

    run, _ = _run(factory, definition, conf)

    assert str(run.state) == "failed"
    [error] = RequestStoreHook().trail(conf["request_id"])["errors"]
    assert "connection 'smtp_dist_it' points at host '127.0.0.1', not an allowed host" in error["message"]
    assert [m["message"]["X-Report-Event"] for m in env["smtp"].messages()] == ["report.failed"], (
        "only the failure mail"
    )


# --- two requests, one file name ------------------------------------------------------------------
# The same report, parameters and day render the same names on every target; only the label (in
# the PDF, not in any name) tells the two requests' files apart.


def _same_names_definition(env: dict[str, Any], on_conflict: str) -> ReportDefinition:
    s3, sftp, smb = (t.model_dump(mode="json") for t in _definition(env).distribution[:3])
    local = {
        "type": "local",
        "name": "share",
        "path": str(env["tmp"] / "share"),
        "filename": "{report_id}_{params[region]}_{run_date}.{format}",
    }
    return _definition(env, distribution=[{**t, "on_conflict": on_conflict} for t in (local, s3, sftp, smb)])


def _read(env: dict[str, Any], location: str) -> bytes | None:
    """The bytes at a delivery location, read straight from the server's storage (``None``: nothing there)."""
    if location.startswith("s3://"):
        bucket, key = location.removeprefix("s3://").split("/", 1)
        try:
            return env["s3"].get_object(Bucket=bucket, Key=key)["Body"].read()
        except env["s3"].exceptions.NoSuchKey:
            return None
    if location.startswith("sftp://"):
        path = Path("/" + location.removeprefix("sftp://").split("/", 1)[1])
    elif location.startswith("smb://"):
        path = env["smb"].share_path / location.removeprefix("smb://").split("/", 2)[2]
    else:
        path = Path(location)
    return path.read_bytes() if path.exists() else None


def _replaced(trail: dict, key: str) -> list[dict]:
    return [e["details"] for e in trail["events"] if e["event_type"] == "REPLACED" and key in e["details"]]


def _assert_recorded_checksums_hold_or_were_replaced(env: dict[str, Any], store, request_ids) -> None:
    """Every recorded SHA-256 matches the file at its location, or the request's trail says it was replaced."""
    for request_id in request_ids:
        trail = store.trail(request_id)
        replaced = {d["location"] for d in _replaced(trail, "replaced_by")}
        for delivery in trail["deliveries"]:
            data = _read(env, delivery["remote_location"])
            assert (data is not None and _sha(data) == delivery["sha256"]) or delivery["remote_location"] in replaced, (
                f"{request_id}: {delivery['remote_location']} changed unannounced"
            )


def _two_requests(factory, env, on_conflict: str):
    definition = _same_names_definition(env, on_conflict)
    first, second = (_request_conf(parameters={"label": label}) for label in ("first", "second"))
    first_run, _ = _run(factory, definition, first)
    assert str(first_run.state) == "success", _states(first_run)
    second_run, _ = _run(factory, definition, second)
    return first["request_id"], second["request_id"], second_run


def test_two_requests_for_one_name_by_default_deliver_two_files_each_with_its_checksum(factory, env):
    first, second, run = _two_requests(factory, env, "unique")

    assert str(run.state) == "success", _states(run)
    store = RequestStoreHook()
    places = {r: {(d["target_key"], d["format"]): d for d in store.trail(r)["deliveries"]} for r in (first, second)}
    assert set(places[first]) == set(places[second]) and len(places[first]) == 8, "4 targets x 2 formats"
    tag = request_tag(second)
    for where, earlier in places[first].items():
        later = places[second][where]
        assert f"__{tag}." in later["remote_location"].rsplit("/", 1)[-1]
        assert later["remote_location"].replace(f"__{tag}", "") == earlier["remote_location"]
        for delivery in (earlier, later):
            assert _sha(_read(env, delivery["remote_location"])) == delivery["sha256"]
    assert places[first]["partner", "pdf"]["sha256"] != places[second]["partner", "pdf"]["sha256"]
    _assert_recorded_checksums_hold_or_were_replaced(env, store, [first, second])
    assert _replaced(store.trail(first), "replaced_by") == []


def test_two_requests_for_one_name_with_fail_fail_the_second_naming_the_conflict(factory, env):
    from airflow.models import Variable

    from report_runtime.sending_gate import SEND_REPORTS_VARIABLE

    first, second, run = _two_requests(factory, env, "fail")

    assert str(run.state) == "failed"
    states = _states(run)
    assert [s for t, s in states.items() if t.startswith("distribute[")] == ["failed"] * 4, states
    store = RequestStoreHook()
    trail = store.trail(second)
    assert trail["request"]["status"] == "FAILED"
    assert (
        "DeliveryConflict" in trail["request"]["last_error"]
        and f"file of request {first!r}" in trail["request"]["last_error"]
    )
    assert "on_conflict: fail" in trail["request"]["last_error"]
    assert sorted(e["message"].split(":", 1)[0] for e in trail["errors"]) == [
        "target 'lake' (s3)",
        "target 'nas' (smb)",
        "target 'partner' (sftp)",
        "target 'share' (local)",
    ]
    locations = {d["remote_location"] for d in store.trail(first)["deliveries"]}
    assert all(any(loc in e["message"] for loc in locations) for e in trail["errors"]), "each names its location"
    assert all(e["retry_eligible"] is False for e in trail["errors"])
    assert not [e for e in trail["events"] if e["event_type"] == "RETRY"], "refused at once, never retried"
    assert Variable.get(SEND_REPORTS_VARIABLE, default_var="true") != "false", "a conflict does not pause sending"
    assert trail["deliveries"] == []
    _assert_recorded_checksums_hold_or_were_replaced(env, store, [first, second])


def test_two_requests_for_one_name_with_replace_say_so_in_both_trails(factory, env):
    first, second, run = _two_requests(factory, env, "replace")

    assert str(run.state) == "success", _states(run)
    store = RequestStoreHook()
    earlier, later = store.trail(first), store.trail(second)
    recorded = {(d["target_key"], d["format"]): d for d in earlier["deliveries"]}
    assert {(d["target"], d["format"]): d["replaced_by"] for d in _replaced(earlier, "replaced_by")} == dict.fromkeys(
        recorded, second
    )
    assert {(d["target"], d["format"]): (d["location"], d["sha256"]) for d in _replaced(earlier, "replaced_by")} == {
        where: (d["remote_location"], d["sha256"]) for where, d in recorded.items()
    }
    assert sorted(d["replaces"] for d in _replaced(later, "replaces")) == [first] * 8
    for delivery in later["deliveries"]:
        assert delivery["remote_location"] == recorded[delivery["target_key"], delivery["format"]]["remote_location"]
        assert _sha(_read(env, delivery["remote_location"])) == delivery["sha256"], "the file is the second one's"
    _assert_recorded_checksums_hold_or_were_replaced(env, store, [first, second])
