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
