"""Real request-store backends: SQLite files, the PostgreSQL server on this machine, fakesnow for Snowflake."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from support.snowflake_streams import FAKE_SNOWFLAKE_CONN as SNOWFLAKE_CONN

PG_HOST = os.environ.get("REPORTING_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("REPORTING_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("REPORTING_TEST_PG_USER", "postgres")
STORE_ENV = "AIRFLOW_CONN_REPORTING_REQUEST_STORE"


def _pg_admin():
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database on the local server, dropped at the end; yields its connection JSON."""
    name = f"reporting_it_{uuid.uuid4().hex[:10]}"
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    try:
        yield json.dumps(
            {"conn_type": "postgres", "host": PG_HOST, "port": PG_PORT, "login": PG_USER, "schema": name}
        )
    finally:
        admin = _pg_admin()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def fake_snowflake() -> Iterator[dict[str, str]]:
    """Every Snowflake connection in this test goes to one in-memory fakesnow database with streams."""
    from support.snowflake_streams import snowflake_with_streams

    with snowflake_with_streams() as streams:
        yield streams


@pytest.fixture(params=["sqlite", "postgres", "snowflake"])
def store_conn(request, tmp_path, monkeypatch) -> str:
    """The request store's connection JSON for each backend, set as the default store connection."""
    if request.param == "sqlite":
        conn = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")})
    elif request.param == "postgres":
        conn = request.getfixturevalue("pg_database")
        _truncate_pg(json.loads(conn)["schema"])
    else:
        request.getfixturevalue("fake_snowflake")
        conn = SNOWFLAKE_CONN
    monkeypatch.setenv(STORE_ENV, conn)
    return request.param


def _truncate_pg(dbname: str) -> None:
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS report_requests, audit_log, error_log, delivery_log, request_intake_queue")
    conn.close()


def _fresh_store():
    from hooks.request_store import RequestStoreHook

    hook = RequestStoreHook()
    hook.apply_schema()
    return hook


@pytest.fixture
def pg_store(pg_database, monkeypatch):
    """A request store on a fresh schema in the local PostgreSQL server."""
    _truncate_pg(json.loads(pg_database)["schema"])
    monkeypatch.setenv(STORE_ENV, pg_database)
    return _fresh_store()


@pytest.fixture
def snowflake_store(fake_snowflake, monkeypatch):
    """A request store on fakesnow with the stream stand-in."""
    monkeypatch.setenv(STORE_ENV, SNOWFLAKE_CONN)
    return _fresh_store()


@pytest.fixture
def store(store_conn):
    """A request store hook on a fresh schema of the backend under test."""
    return _fresh_store()
