"""Real request-store backends: SQLite files, the PostgreSQL server on this machine, fakesnow for Snowflake."""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from support.snowflake_streams import FAKE_SNOWFLAKE_CONN as SNOWFLAKE_CONN

# the server wrappers in tests/integration/servers/
sys.path.insert(0, str(Path(__file__).resolve().parent))

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
        yield json.dumps({"conn_type": "postgres", "host": PG_HOST, "port": PG_PORT, "login": PG_USER, "schema": name})
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
        cur.execute(
            "DROP TABLE IF EXISTS report_requests, audit_log, error_log, delivery_log, delivery_claims,"
            " request_intake_queue"
        )
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


# --- delivery and notification servers ---------------------------------------------------------
# Each is started on 127.0.0.1 on a free high port for the session and stopped at the end; a test
# that needs one starts it here or fails (no skips). Fault tests stop and restart them.

RABBITMQ_HOST = os.environ.get("REPORTING_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_PORT = int(os.environ.get("REPORTING_TEST_RABBITMQ_PORT", "5672"))


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server."""
    from servers.s3 import S3Server

    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sftp_server():
    """OpenSSH's sshd serving SFTP with key authentication."""
    from servers.sftp import make_sftp_server

    server = make_sftp_server()
    yield server
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="session")
def smb_server():
    """Samba's smbd with one share."""
    from servers.smb import make_smb_server

    server = make_smb_server()
    yield server
    server.stop()
    shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_server():
    """aiosmtpd keeping every message."""
    from servers.mail import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rabbitmq():
    """The RabbitMQ server on this machine: a connection JSON and fresh exchange/queue names, deleted after."""
    import pika

    suffix = uuid.uuid4().hex[:8]
    names = {
        "exchange": f"reporting-it-{suffix}",
        "queue": f"reporting-it-events-{suffix}",
        "dead_letter_queue": f"reporting-it-dead-{suffix}",
    }
    conn = json.dumps(
        {
            "conn_type": "amqp",
            "host": RABBITMQ_HOST,
            "port": RABBITMQ_PORT,
            "login": "guest",
            "password": "guest",
            "schema": "/",
        }
    )
    params = pika.ConnectionParameters(RABBITMQ_HOST, RABBITMQ_PORT, "/", pika.PlainCredentials("guest", "guest"))
    # Fail now, naming the server, rather than deep inside a run.
    pika.BlockingConnection(params).close()
    yield {"conn": conn, "params": params, **names}
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.queue_delete(names["queue"])
    channel.queue_delete(names["dead_letter_queue"])
    channel.exchange_delete(names["exchange"])
    connection.close()


def drain(params, queue: str) -> list[dict]:
    """Every message waiting in a queue, acknowledged and parsed as JSON, with its properties."""
    import pika

    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        found.append(
            {
                "body": json.loads(body),
                "message_id": properties.message_id,
                "delivery_mode": properties.delivery_mode,
                "content_type": properties.content_type,
            }
        )
    connection.close()
    return found


@pytest.fixture(autouse=True)
def _sending_gate_on(request):
    """Every test that runs DAGs starts with sending on: the gate Variable lives in the metadata DB."""
    if "airflow_db" in request.fixturenames:
        request.getfixturevalue("airflow_db")
        from airflow.models import Variable

        from report_runtime.sending_gate import SEND_REPORTS_VARIABLE

        Variable.delete(SEND_REPORTS_VARIABLE)
    yield


# --- the sample report, run in-process -----------------------------------------------------------


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """The demo's SQLite sample database."""
    from support.runs import ROOT, load_module

    path = tmp_path_factory.mktemp("sample") / "sample.db"
    load_module("create_sample_db", ROOT / "scripts" / "create_sample_db.py").create(path)
    return path


@pytest.fixture
def report_env(airflow_db, sample_db, tmp_path, monkeypatch) -> Path:
    """Connections, staging and output folder for running report DAGs; yields the output folder."""
    out = tmp_path / "out"
    monkeypatch.setenv("AIRFLOW_CONN_REPORTING_SAMPLE_DB", json.dumps({"conn_type": "sqlite", "host": str(sample_db)}))
    monkeypatch.setenv(STORE_ENV, json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "requests.db")}))
    monkeypatch.setenv("REPORTING_OUTPUT_DIR", str(out))
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", (tmp_path / "staging").as_uri())
    _fresh_store()
    return out


@pytest.fixture(scope="session")
def factory():
    """dags/report_factory.py, imported once."""
    from support.runs import ROOT, load_module

    return load_module("report_factory_it", ROOT / "dags" / "report_factory.py")


@pytest.fixture
def sample_dag(factory):
    """A fresh sample report DAG (in-process runs write a run's conf into the DAG's params)."""
    return factory.build_all()["report__sales_summary"]
