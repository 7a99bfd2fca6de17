"""A local Airflow on the demo's defaults: api-server, scheduler, dag-processor and triggerer; Ctrl-C stops them.

  python scripts/local_airflow.py [--dir DIR] [--port PORT]      (``make airflow [PORT=...] [LOCAL_AIRFLOW_DIR=...]``)

The settings are those of ``scripts/local_env.py`` (``make env`` prints them for a second
shell): SQLite metadata in ``<dir>/.airflow/``, LocalExecutor, SimpleAuthManager with the
user admin/admin. This prepares the sample database, the request store's schema and the
metadata database, starts the four components as separate processes, each in its own process
group with its log in ``<dir>/.airflow/<component>.log``, waits until they are healthy, then
unpauses this repository's DAGs: ``reports_retry``, ``reporting_request_intake`` and every
report whose connections are defined here. A report whose engine or target connection is not
defined stays paused: its scheduled runs could only fail, and a request that runs out of
retries on such an error switches sending off for every report. Ctrl-C (or SIGTERM, SIGHUP)
stops every process group it started.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml

sys.path.insert(0, str(Path(__file__).absolute().parent))
sys.path.insert(0, str(Path(__file__).absolute().parents[1] / "plugins"))

from local_env import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DEFAULT_PORT,
    FROM_ENVIRONMENT,
    ROOT,
    home_of,
    server_env,
)
from reporting.constants import DAG_PREFIX, TriggerType

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
# The health endpoint's name for each part that must be up before the DAGs are touched.
HEALTHY_PARTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")
ALWAYS_ON_DAGS = ("reports_retry", "reporting_request_intake")
EXAMPLE_DAG = f"{DAG_PREFIX}sales_summary"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 20
LOCK_NAME = "local_airflow.lock"


class Stop(Exception):
    """A stop signal arrived."""


def _on_stop_signal(signum: int, _frame: Any) -> None:
    raise Stop(signal.Signals(signum).name)


def _shown(path: Path) -> str:
    """A path as the user typed it: relative to the current folder when it is inside it.

    :param path: an absolute path.
    """
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file.

    :param path: the file.
    :param lines: how many.
    """
    if not path.exists():
        return f"({path} is missing)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _port_in_use(port: int) -> bool:
    """Whether the API server could not bind the port on loopback.

    :param port: the TCP port.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _hold_lock(home: Path) -> IO[str] | None:
    """Take the home's lock for as long as the returned file stays open; None when another process holds it.

    :param home: the Airflow home.
    """
    lock = (home / LOCK_NAME).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def running_on(home: Path) -> bool:
    """Whether a ``make airflow`` runs on this Airflow home now (it holds the home's lock).

    :param home: the Airflow home.
    """
    if not (home / LOCK_NAME).exists():
        return False
    lock = _hold_lock(home)
    if lock is None:
        return True
    lock.close()
    return False


def _call(method: str, url: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    """One HTTP call with a JSON body; the status and the JSON answer (None when there is none).

    :param method: the HTTP method.
    :param url: the full URL.
    :param body: what to send as JSON, if anything.
    :param token: a bearer token, if any.
    """
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, None


def _definitions(folder: Path) -> Iterator[tuple[str, set[str]]]:
    """Each report definition's DAG id and the connection ids it names (engine and targets).

    Broken files are skipped: the dag-processor shows them as import errors.

    :param folder: the definitions folder.
    """

    def conn_ids(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "conn_id" and isinstance(value, str):
                    yield value
                else:
                    yield from conn_ids(value)
        elif isinstance(node, list):
            for item in node:
                yield from conn_ids(item)

    for path in sorted(folder.glob("*.y*ml")):
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            yield DAG_PREFIX + data["id"], set(conn_ids(data))


class LocalAirflow:
    """The processes of one local Airflow and how to start, watch and stop them.

    :param base: the folder of ``.airflow/``, ``.demo/`` and ``demo-output/``.
    :param port: the API server's port.
    """

    def __init__(self, base: Path, port: int) -> None:
        self.base = base
        self.port = port
        self.home = home_of(base)
        self.env = {**os.environ, **server_env(base, port)}
        self.url = f"http://localhost:{port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.token = ""

    def _spawn(self, name: str, args: list[str], output: IO[bytes] | int | None) -> subprocess.Popen[bytes]:
        # Own session = own process group: stopping the group also stops its children (task
        # processes, API workers), and the terminal's Ctrl-C reaches only this script, which stops them.
        process = subprocess.Popen(
            args, env=self.env, cwd=self.home, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[name] = process
        return process

    def run(self, name: str, args: list[str], log: Path | None = None) -> None:
        """Run one preparation command to its end; its output goes to ``log`` or to the terminal.

        :param name: what it is, for messages.
        :param args: the command.
        :param log: a file for its output (shown when it fails), or None for the terminal.
        """
        sink = log.open("wb") if log else None
        try:
            code = self._spawn(name, args, sink).wait()
        finally:
            if sink:
                sink.close()
        # Kept in self.processes while it runs, so a stop signal stops it too.
        del self.processes[name]
        if code != 0:
            detail = f":\n{_tail(log)}" if log else ""
            raise SystemExit(f"{name} failed (exit {code}){detail}")

    def start(self, component: str) -> None:
        """Start ``airflow <component>`` with its output in ``<home>/<component>.log``.

        :param component: api-server, scheduler, dag-processor or triggerer.
        """
        with (self.home / f"{component}.log").open("wb") as log:
            self._spawn(component, [str(Path(sys.executable).parent / "airflow"), component], log)

    def check_running(self) -> None:
        """Fail with the log's tail when a component has exited."""
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                log = self.home / f"{name}.log"
                raise SystemExit(f"airflow {name} {how}; the end of {_shown(log)}:\n{_tail(log)}")

    def wait_healthy(self, timeout: float = 300) -> None:
        """Wait until the health endpoint reports every component healthy.

        :param timeout: seconds before giving up.
        """
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self.check_running()
            try:
                status, last = _call("GET", f"{self.url}/api/v2/monitor/health")
                if status == 200 and all((last.get(part) or {}).get("status") == "healthy" for part in HEALTHY_PARTS):
                    return
            except OSError:
                pass  # not listening yet
            time.sleep(1)
        raise SystemExit(f"Airflow was not healthy after {timeout:.0f}s: {last}; see {_shown(self.home)}/*.log")

    def login(self) -> None:
        """Get the admin user's token, as the printed example does."""
        status, answer = _call("POST", f"{self.url}/auth/token", {"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        if status not in (200, 201) or not answer:
            raise SystemExit(f"POST /auth/token answered {status}: {answer}")
        self.token = answer["access_token"]

    def connection_defined(self, conn_id: str) -> bool:
        """Whether a connection exists here: in the environment or in the metadata database.

        :param conn_id: the connection id.
        """
        if f"AIRFLOW_CONN_{conn_id.upper()}" in self.env:
            return True
        status, _ = _call("GET", f"{self.url}/api/v2/connections/{conn_id}", token=self.token)
        return status == 200

    def unpause_ours(self, timeout: float = 120) -> tuple[list[str], dict[str, str]]:
        """Unpause the DAGs that can run here, once the dag-processor has stored them.

        :param timeout: seconds to wait for DAGs to appear.
        :return: the unpaused DAG ids, and each DAG left paused with the reason.
        """
        folder = Path(self.env.get("REPORTING_DEFINITIONS_DIR") or ROOT / "include" / "reports")
        wanted = dict.fromkeys(ALWAYS_ON_DAGS, "")
        left: dict[str, str] = {}
        for dag_id, conn_ids in _definitions(folder):
            missing = sorted(c for c in conn_ids if not self.connection_defined(c))
            if missing:
                left[dag_id] = "connection " + ", ".join(missing) + " not defined"
            else:
                wanted[dag_id] = ""
        done: list[str] = []
        deadline = time.monotonic() + timeout
        while wanted and time.monotonic() < deadline:
            self.check_running()
            for dag_id in list(wanted):
                # 404 until the dag-processor has parsed the file and stored the DAG
                status, _ = _call("PATCH", f"{self.url}/api/v2/dags/{dag_id}", {"is_paused": False}, self.token)
                if status == 200:
                    done.append(dag_id)
                    del wanted[dag_id]
            if wanted:
                time.sleep(2)
        for dag_id in wanted:
            left[dag_id] = f"not parsed after {timeout:.0f}s (an import error? see the UI's DAG list)"
        return done, left

    def stop(self) -> None:
        """Stop every process group: SIGTERM, a grace period, then SIGKILL; a second Ctrl-C kills at once."""

        def kill_now(_signum: int, _frame: Any) -> None:
            self._signal_all(signal.SIGKILL)

        for sig in STOP_SIGNALS:
            signal.signal(sig, kill_now)
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # A group's other members may outlive its leader: the whole group goes, whatever the leader did.
        self._signal_all(signal.SIGKILL)
        for process in self.processes.values():
            process.wait()
        self.processes.clear()

    def _signal_all(self, sig: signal.Signals) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)


def _banner(stack: LocalAirflow, unpaused: list[str], left: dict[str, str], env_command: str) -> str:
    """What the user needs to use the running Airflow.

    :param stack: the running Airflow.
    :param unpaused: the DAGs switched on.
    :param left: the DAGs left paused, with why.
    :param env_command: the ``make`` command that prints this Airflow's settings.
    """
    url = stack.url
    conf = {"request_id": "REQ-LOCAL-0001", "trigger_type": TriggerType.API, "parameters": {"region": "EMEA"}}
    lines = [
        "",
        f"Airflow is running: {url}  (login admin / admin)",
        "",
        "Unpaused: " + (", ".join(unpaused) or "none"),
    ]
    lines += [f"Left paused: {dag_id}: {why}" for dag_id, why in left.items()]
    lines += [
        "",
        "Trigger a report through the REST API (a token, then a run; one request id per request):",
        f"  TOKEN=$(curl -s -X POST {url}/auth/token -H 'Content-Type: application/json'"
        f' -d \'{{"username":"{ADMIN_USER}","password":"{ADMIN_PASSWORD}"}}\''
        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        f'  curl -s -X POST {url}/api/v2/dags/{EXAMPLE_DAG}/dagRuns -H "Authorization: Bearer $TOKEN"'
        f" -H 'Content-Type: application/json' -d '{json.dumps({'logical_date': None, 'conf': conf})}'",
        "",
        f'The same settings in another shell: eval "$({env_command})"',
        f"  then for example: airflow dags list-runs {EXAMPLE_DAG}",
        f"Logs: {_shown(stack.home)}/{{{','.join(COMPONENTS)}}}.log; reports are delivered to "
        f"{_shown(Path(stack.env['REPORTING_OUTPUT_DIR']))}/",
        "",
        "Press Ctrl-C to stop Airflow.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Prepare, start, watch; stop everything on a stop signal or when a component dies.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=ROOT, help="the folder of .airflow/, .demo/, demo-output/")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="the API server's port")
    parser.add_argument(
        "--fail-if-running", action="store_true", help="only check: exit 1 when make airflow runs on this folder"
    )
    args = parser.parse_args(argv)
    base = args.dir.absolute()
    home = home_of(base)
    if args.fail_if_running:
        if not running_on(home):
            return 0
        print(
            f"make airflow is running on {_shown(home)}/, the same metadata database: stop it first (Ctrl-C in "
            f"its shell), or trigger {EXAMPLE_DAG} in it.",
            file=sys.stderr,
        )
        return 1
    home.mkdir(parents=True, exist_ok=True)
    # One Airflow per home: a second scheduler on the same SQLite file would fight the first.
    lock = _hold_lock(home)
    if lock is None:
        print(f"make airflow already runs on {_shown(home)}/; stop it first (Ctrl-C in its shell).", file=sys.stderr)
        return 1
    if _port_in_use(args.port):
        print(f"Port {args.port} is in use; choose another: make airflow PORT=<port>", file=sys.stderr)
        return 1

    stack = LocalAirflow(base, args.port)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_stop_signal)
    env_command = (
        "make -s env"
        + (f" PORT={args.port}" if args.port != DEFAULT_PORT else "")
        + (f" LOCAL_AIRFLOW_DIR={base}" if base != ROOT else "")
    )
    python, airflow = sys.executable, str(Path(sys.executable).parent / "airflow")
    try:
        for name in FROM_ENVIRONMENT:
            if os.environ.get(name):
                print(f"{name} is set in your environment: that request store is used.")
        stack.run(
            "create_sample_db",
            [
                python,
                str(ROOT / "scripts" / "create_sample_db.py"),
                json.loads(stack.env["AIRFLOW_CONN_REPORTING_SAMPLE_DB"])["host"],
            ],
        )
        stack.run("request store schema", [python, str(ROOT / "scripts" / "request_store.py"), "schema"])
        # SimpleAuthManager reads the passwords here; without the file it would invent one.
        Path(stack.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(
            json.dumps({ADMIN_USER: ADMIN_PASSWORD})
        )
        print(f"Preparing the Airflow home in {_shown(stack.home)}/ (SQLite metadata)...")
        stack.run("airflow db migrate", [airflow, "db", "migrate"], stack.home / "db-migrate.log")
        print(f"Starting {', '.join(COMPONENTS)} (logs: {_shown(stack.home)}/<name>.log)...")
        for component in COMPONENTS:
            stack.start(component)
        stack.wait_healthy()
        stack.login()
        unpaused, left = stack.unpause_ours()
        print(_banner(stack, unpaused, left, env_command), flush=True)
        while True:
            stack.check_running()
            time.sleep(1)
    except Stop as stop:
        print(f"\n{stop}: stopping Airflow (up to {STOP_GRACE_SECONDS} s; Ctrl-C again ends it at once)...", flush=True)
        stack.stop()
        print("Stopped.")
        return 0
    except SystemExit as failure:
        print(f"\n{failure}", file=sys.stderr)
        print("Stopping Airflow...", file=sys.stderr)
        stack.stop()
        return 1


if __name__ == "__main__":
    sys.exit(main())
