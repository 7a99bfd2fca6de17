"""Fixtures of the engine tests: a request store and staging folder per test; the fake servers on the path."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# The fake engine servers live beside this folder (tests/integration/fake_engines).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks.request_store import RequestStoreHook


@pytest.fixture
def store(tmp_path, monkeypatch) -> RequestStoreHook:
    """A SQLite request store with its schema, as the default store connection; staging under tmp_path."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_REPORTING_REQUEST_STORE",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")}),
    )
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())
    hook = RequestStoreHook()
    hook.apply_schema()
    return hook
