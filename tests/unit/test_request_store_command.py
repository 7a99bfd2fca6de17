"""`make schema` and `make trail`: apply the schema to a connection, print a request's trail."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from hooks.request_store import Actor, RequestStoreHook
from reporting.conflicts import location_key
from support.runs import load_module

ROOT = Path(__file__).resolve().parents[2]


def _command():
    return load_module("request_store_command", ROOT / "scripts" / "request_store.py")


def test_schema_then_trail(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_TRAIL_STORE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "r.db")}))
    command = _command()

    assert command.main(["schema", "--conn", "trail_store"]) == 0
    assert "request store schema applied to trail_store (sqlite)" in capsys.readouterr().out

    hook = RequestStoreHook(request_store_conn_id="trail_store")
    hook.create_request(
        request_id="r-1",
        report_id="sales",
        parameters={"region": "EMEA"},
        trigger_type="API",
        requested_by="crm",
        actor=Actor("INTAKE"),
    )
    hook.move("r-1", "PENDING", "IN_PROGRESS", Actor("ORCHESTRATOR", "run-1", "claim", 1), claim=True)

    assert command.main(["trail", "r-1", "--conn", "trail_store"]) == 0
    out = capsys.readouterr().out
    assert "Request r-1  report sales  status IN_PROGRESS  attempt 1  trigger API  by crm" in out
    assert out.index("- -> PENDING") < out.index("PENDING -> IN_PROGRESS")
    assert "ORCHESTRATOR claim try 1" in out

    assert command.main(["trail", "missing", "--conn", "trail_store"]) == 1
    assert "no such request" in capsys.readouterr().out


def test_the_trail_says_which_delivered_file_another_request_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(
        "AIRFLOW_CONN_REPORTING_REQUEST_STORE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "r.db")})
    )
    hook = RequestStoreHook()
    hook.apply_schema()
    distributor = Actor("DISTRIBUTOR", "run-1", "distribute", 1)
    location = "sftp://partner/upload/sales_EMEA_2026-11-23.csv"
    for request_id in ("r-a", "r-b"):
        hook.create_request(
            request_id=request_id,
            report_id="sales",
            parameters={"region": "EMEA"},
            trigger_type="API",
            requested_by="crm",
            actor=Actor("INTAKE"),
        )
    key = location_key("sftp", location)
    claim = {"request_id": "r-a", "target_key": "partner", "format": "csv", "lease": timedelta(hours=1)}
    hook.claim_location(key, location, **claim)
    hook.record_delivery(
        "r-a",
        target_key="partner",
        format="csv",
        location=location,
        size=5,
        sha256="a" * 64,
        actor=distributor,
        claim_key=key,
    )
    seen = hook.claim_location(key, location, **{**claim, "request_id": "r-b"})
    assert hook.take_over_location(
        seen, request_id="r-b", target_key="partner", format="csv", lease=timedelta(hours=1), actor=distributor
    )
    hook.record_delivery(
        "r-b",
        target_key="partner",
        format="csv",
        location=location,
        size=6,
        sha256="b" * 64,
        actor=distributor,
        claim_key=key,
    )
    command = _command()

    assert command.main(["trail", "r-a"]) == 0
    earlier = capsys.readouterr().out
    assert command.main(["trail", "r-b"]) == 0
    later = capsys.readouterr().out

    [delivery] = [line for line in earlier.splitlines() if line.endswith("(the file there is no longer this one)")]
    assert location in delivery and "REPLACED by request r-b at " in delivery
    assert "REPLACED" in earlier.split("Deliveries:")[0], "and among the events"
    [delivery] = [line for line in later.splitlines() if location in line and "sha256 bbbbbbbbbbbb" in line]
    assert delivery.endswith("(wrote over request r-a's file, sha256 aaaaaaaaaaaa)")


def test_the_trail_shows_any_request_however_malformed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AIRFLOW_CONN_TRAIL_STORE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "r.db")}))
    command = _command()
    hook = RequestStoreHook(request_store_conn_id="trail_store")
    hook.apply_schema()
    # Written by hand into the worktable (SQLite keeps any text in any column).
    with hook._transaction() as tx:
        tx.execute_text(
            "INSERT INTO report_requests "
            "(request_id, report_id, parameters, distribution_overrides, priority, requested_by, status) "
            "SELECT :request_id, :report_id, :parameters, :distribution, :priority, :requested_by, 'PENDING'",
            {
                "request_id": "bad-" + "x" * 100,
                "report_id": "\x1b[2Jsales",
                "parameters": '{"region": ' + "y" * 100_000,
                "distribution": '"/etc"',
                "priority": "high",
                "requested_by": "eve\u202egpj.exe",
            },
        )
        tx.execute_text(
            "INSERT INTO audit_log (request_id, event_type, event_timestamp, details, component) "
            "SELECT :request_id, 'STATUS_CHANGE', '2026-11-01', :details, 'INTAKE'",
            {"request_id": "bad-" + "x" * 100, "details": "[1, 2, 3]"},
        )

    assert command.main(["trail", "bad-" + "x" * 100, "--conn", "trail_store"]) == 0

    out = capsys.readouterr().out
    assert "status PENDING" in out
    assert "\x1b" not in out and "\u202e" not in out, "control characters are shown escaped"
    assert "distribution /etc" in out
    assert "not a valid request: " in out
    for field in ("request_id: longer than 64", "report_id:", "priority: must be an integer", "requested_by:"):
        assert field in out, field
    assert "parameters: must be a JSON object of parameter values, got a string" in out
    assert len(out) < 5_000, "a column of 100,000 characters is shown shortened"
