"""`make schema` and `make trail`: apply the schema to a connection, print a request's trail."""

from __future__ import annotations

import json
from pathlib import Path

from hooks.request_store import Actor, RequestStoreHook
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
