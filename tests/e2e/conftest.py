"""A live Airflow 3.3 for the end-to-end suite: api-server, scheduler, dag-processor and triggerer as processes.

Package-scoped, so it stops before the other suites run.

The metadata database and the request store are throwaway databases on the local PostgreSQL
server, created here and dropped at the end. Every process is started in its own process group
and stopped by that group's id, also when a test fails, so nothing outlives the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
import yaml

from support.e2e_checks import EVERY_MINUTE_ID

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("REPORTING_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("REPORTING_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("REPORTING_TEST_PG_USER", "postgres")
REDIS_URL = os.environ.get("REPORTING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN = ("admin", "admin")
# The test process reads the store through its own connection id, so no other suite's setting moves.
STORE_CONN_ID = "reporting_e2e_store"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _pg_admin():
    """A connection to the server's maintenance database, in autocommit (CREATE/DROP DATABASE need it)."""
    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    conn.autocommit = True
    return conn


def _create_database(name: str) -> None:
    """Create a database on the local server.

    :param name: the database.
    """
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def _drop_database(name: str) -> None:
    """Drop a database, closing any session still on it.

    :param name: the database.
    """
    admin = _pg_admin()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file.

    :param path: the file.
    :param lines: how many.
    """
    if not path.exists():
        return f"({path} missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _definitions(folder: Path) -> Path:
    """The definitions the live Airflow loads: the sample report and a copy whose cron fires every minute.

    :param folder: an empty folder to write them into.
    """
    folder.mkdir(parents=True)
    sample = ROOT / "include" / "reports" / "sales_summary.yaml"
    shutil.copy(sample, folder / "sales_summary.yaml")
    every_minute = yaml.safe_load(sample.read_text())
    every_minute.update(
        id=EVERY_MINUTE_ID,
        title="E2E every minute",
        schedule={"cron": "* * * * *", "timezone": "UTC", "start_date": "2026-01-01"},
        distribution=[
            {
                "type": "local",
                "name": "reports_share",
                "path": "${REPORTING_OUTPUT_DIR}/" + EVERY_MINUTE_ID,
                # a run every minute: one name per request, or the next run of the day replaces the file
                "filename": "{report_id}_{request_id}.{format}",
            }
        ],
    )
    (folder / f"{EVERY_MINUTE_ID}.yaml").write_text(yaml.safe_dump(every_minute, sort_keys=False))
    return folder


@dataclass
class LiveAirflow:
    """A running Airflow and what the tests need to talk to it.

    :param base_url: the API server's root URL.
    :param home: the AIRFLOW_HOME of the processes.
    :param output_dir: REPORTING_OUTPUT_DIR of the processes (local delivery targets).
    :param env: the environment every Airflow process runs with.
    :param executor: the executor the scheduler runs.
    :param token: a JWT of the admin user.
    """

    base_url: str
    home: Path
    output_dir: Path
    env: dict[str, str]
    executor: str
    token: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Call the REST API as the admin user.

        :param method: HTTP method.
        :param path: path under ``/api/v2``.
        :param kwargs: passed to ``requests.request``.
        """
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base_url}/api/v2{path}", headers=headers, timeout=30, **kwargs)

    def unpause(self, dag_id: str, paused: bool = False) -> None:
        """Switch a DAG on (or off), waiting until the dag-processor has serialized it.

        :param dag_id: the DAG.
        :param paused: True to pause instead.
        """
        deadline = time.monotonic() + 120
        while True:
            response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})
            if response.status_code == 200:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"could not set is_paused={paused} on {dag_id}: {response.status_code} {response.text}"
                )
            time.sleep(1)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> dict[str, Any]:
        """Poll a DAG run until it succeeds or fails; return its final JSON.

        :param dag_id: the DAG.
        :param run_id: the run.
        :param timeout: seconds to wait before failing the test.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            if response.status_code == 200 and response.json()["state"] in ("success", "failed"):
                return response.json()
            time.sleep(1)
        raise AssertionError(f"{dag_id}/{run_id} did not finish in {timeout}s; {self.diagnostics()}")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """Each task instance's state in a run (mapped instances as ``task[index]``).

        :param dag_id: the DAG.
        :param run_id: the run.
        """
        items = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
        return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"] for t in items}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """A task's XCom value as the API shows it.

        :param dag_id: the DAG.
        :param run_id: the run.
        :param task_id: the task.
        :param key: the XCom key.
        """
        response = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true", "stringify": "false"},
        )
        assert response.status_code == 200, response.text
        return response.json()["value"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
        """A task try's log text, through the API.

        :param dag_id: the DAG.
        :param run_id: the run.
        :param task_id: the task.
        :param try_number: the try.
        """
        response = self.api(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true"},
            headers={"Accept": "application/json"},
        )
        assert response.status_code == 200, response.text
        content = response.json()["content"]
        # The exception of a failed try is in a structured field (error_detail), not in the message.
        return "\n".join(json.dumps(e) if isinstance(e, dict) else str(e) for e in content)

    def diagnostics(self) -> str:
        """The tail of every process log, to explain a failure."""
        return "\n".join(f"--- {name} ---\n{_tail(self.home / f'{name}.log')}" for name in self.processes)


def _start(stack: LiveAirflow, name: str, *args: str) -> None:
    """Start ``airflow <args>`` in its own process group, its output in ``<home>/<name>.log``.

    :param stack: the stack the process belongs to.
    :param name: the process's name in the stack.
    :param args: the airflow command's arguments.
    """
    log = (stack.home / f"{name}.log").open("wb")
    # Own session = own process group: stopping the group also stops the children (task runners, gunicorn).
    stack.processes[name] = subprocess.Popen(
        [str(BIN / "airflow"), *args],
        env=stack.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=stack.home,
    )


def _stop(processes: dict[str, subprocess.Popen]) -> None:
    """Stop each process group: SIGTERM, 20 s grace, then SIGKILL.

    :param processes: the started processes (group leaders).
    """
    for proc in processes.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    for proc in processes.values():
        # Children may linger after their leader exited: the group is killed regardless.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _wait_healthy(stack: LiveAirflow, timeout: float = 180) -> None:
    """Wait until the health endpoint reports database, scheduler, triggerer and dag-processor healthy.

    :param stack: the starting stack.
    :param timeout: seconds before giving up with the processes' logs.
    """
    deadline = time.monotonic() + timeout
    wanted = {"metadatabase", "scheduler", "triggerer", "dag_processor"}
    last: Any = None
    while time.monotonic() < deadline:
        for name, proc in stack.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}\n{stack.diagnostics()}")
        try:
            last = requests.get(f"{stack.base_url}/api/v2/monitor/health", timeout=5).json()
            if all((last.get(part) or {}).get("status") == "healthy" for part in wanted):
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    raise RuntimeError(f"Airflow not healthy in {timeout}s: {last}\n{stack.diagnostics()}")


def _token(base_url: str) -> str:
    """A JWT of the admin user from SimpleAuthManager's ``POST /auth/token``.

    :param base_url: the API server's root URL.
    """
    response = requests.post(f"{base_url}/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30)
    assert response.status_code in (200, 201), response.text
    return response.json()["access_token"]


@pytest.fixture(scope="package", params=["LocalExecutor", "CeleryExecutor"])
def airflow(request, tmp_path_factory) -> Iterator[LiveAirflow]:
    """Airflow 3.3 running as separate components on throwaway PostgreSQL databases; stopped at the end.

    :param request: pytest's request (``param`` is the executor).
    :param tmp_path_factory: pytest's temporary folders.
    """
    from cryptography.fernet import Fernet

    executor = request.param
    base = tmp_path_factory.mktemp(f"e2e-{executor}")
    home = base / "airflow-home"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({ADMIN[0]: ADMIN[1]}))
    output_dir = base / "output"
    output_dir.mkdir()
    sample_db = base / "sample.db"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "create_sample_db.py"), str(sample_db)], check=True, capture_output=True
    )

    suffix = uuid.uuid4().hex[:10]
    meta_db, store_db = f"airflow_e2e_{suffix}", f"reporting_e2e_{suffix}"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    store_conn = json.dumps(
        {"conn_type": "postgres", "host": PG_HOST, "port": PG_PORT, "login": PG_USER, "schema": store_db}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REPORTING_", "PYTEST"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": executor,
            # 2-core CI machine: a few task slots are enough and keep the machine responsive.
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{meta_db}",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN[0]}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            # Every process signs and checks tokens with the same secret.
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            # New and changed definitions show up within seconds, not minutes.
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__REPORTING__STAGING_ROOT": (base / "staging").as_uri(),
            "AIRFLOW__REPORTING__INTAKE_POLL_INTERVAL": "1",
            "AIRFLOW__REPORTING__INTAKE_WAIT_TIMEOUT": "3600",
            "AIRFLOW_CONN_REPORTING_REQUEST_STORE": store_conn,
            "AIRFLOW_CONN_REPORTING_SAMPLE_DB": json.dumps({"conn_type": "sqlite", "host": str(sample_db)}),
            "REPORTING_OUTPUT_DIR": str(output_dir),
            "REPORTING_DEFINITIONS_DIR": str(_definitions(base / "definitions")),
        }
    )
    if executor == "CeleryExecutor":
        env.update(
            {
                "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{meta_db}",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "4",
                # A queue of this session's own: another suite on the same Redis never takes our tasks.
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"e2e_{suffix}",
            }
        )

    # The test process reads the same store under its own connection id.
    os.environ[f"AIRFLOW_CONN_{STORE_CONN_ID.upper()}"] = store_conn
    stack = LiveAirflow(base_url=base_url, home=home, output_dir=output_dir, env=env, executor=executor)
    _create_database(meta_db)
    _create_database(store_db)
    try:
        from hooks.request_store import RequestStoreHook

        RequestStoreHook(request_store_conn_id=STORE_CONN_ID).apply_schema()
        migrate = subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"], env=env, cwd=home, capture_output=True, text=True
        )
        assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]
        for name in COMPONENTS:
            _start(stack, name, name)
        if executor == "CeleryExecutor":
            _start(stack, "celery-worker", "celery", "worker", "--queues", f"e2e_{suffix}", "--concurrency", "4")
        _wait_healthy(stack)
        stack.token = _token(base_url)
        yield stack
    finally:
        _stop(stack.processes)
        os.environ.pop(f"AIRFLOW_CONN_{STORE_CONN_ID.upper()}", None)
        _drop_database(meta_db)
        _drop_database(store_db)


@pytest.fixture(scope="package")
def store(airflow):
    """The live Airflow's request store, read from the test process.

    :param airflow: the running Airflow.
    """
    from hooks.request_store import RequestStoreHook

    return RequestStoreHook(request_store_conn_id=STORE_CONN_ID)
