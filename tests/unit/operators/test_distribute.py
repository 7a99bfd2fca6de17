"""Local delivery: atomic rename into place, checksum verified, names sanitised."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from operators.distribute import deliver_local
from report_runtime.staging import stage_file
from reporting.definition import LocalTarget
from reporting.naming import NamingContext, TemplateError


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
