"""``make airflow`` as a user runs it: a report triggered with the printed commands completes, Ctrl-C leaves nothing.

The local Airflow runs on its own port with its folder (``LOCAL_AIRFLOW_DIR``) in the test's
temporary folder, so it touches nothing of the repository's ``.airflow/``. Ctrl-C is what a
terminal sends: SIGINT to the foreground process group, here make's.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
SALES = "report__sales_summary"


def _free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _processes_of(marker: str) -> dict[int, str]:
    """Every other process whose command line or environment names ``marker``, with its command line.

    :param marker: text only this test's processes carry (their folder).
    """
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
        except OSError:
            continue  # gone meanwhile, or a kernel thread
        if marker in cmdline or marker in environ:
            found[int(entry.name)] = cmdline.strip()
    return found


def _environ(pid: int) -> dict[str, str]:
    """A process's environment.

    :param pid: the process.
    """
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _wait_for(condition, what: str, timeout: float, make: subprocess.Popen, output: Path):
    """Poll ``condition`` until it returns something truthy; fail with make's output if make exits or time runs out.

    :param condition: called once a second.
    :param what: what is awaited, for the failure message.
    :param timeout: seconds.
    :param make: the make process.
    :param output: make's output file.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if make.poll() is not None:
            raise AssertionError(f"make airflow exited ({make.returncode}) before {what}:\n{output.read_text()}")
        try:
            result = condition()
        except (requests.RequestException, ValueError):
            result = None
        if result:
            return result
        time.sleep(1)
    raise AssertionError(f"no {what} after {timeout:.0f}s:\n{output.read_text()}")


def _healthy(base_url: str) -> bool:
    health = requests.get(f"{base_url}/api/v2/monitor/health", timeout=5).json()
    parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all((health.get(part) or {}).get("status") == "healthy" for part in parts)


def _printed_commands(text: str) -> tuple[str, str] | None:
    """The token and trigger commands make airflow printed, once it printed them.

    :param text: make's output so far.
    """
    lines = [line.strip() for line in text.splitlines()]
    token = next((line for line in lines if line.startswith("TOKEN=$(curl")), None)
    trigger = next((line for line in lines if line.startswith("curl ") and "/dagRuns" in line), None)
    return (token, trigger) if token and trigger and "Press Ctrl-C" in text else None


def test_make_airflow_runs_the_printed_trigger_and_stops_on_ctrl_c(tmp_path):
    """Healthy, the printed token and trigger commands run the sample report to success, Ctrl-C stops every process."""
    port = _free_port()
    base_url = f"http://localhost:{port}"
    output = tmp_path / "make-airflow.out"
    # Nothing of the test session's own Airflow settings leaks into the local Airflow.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REPORTING_", "PYTEST"))}
    local = [f"PORT={port}", f"LOCAL_AIRFLOW_DIR={tmp_path}"]
    with output.open("wb") as sink:
        # --assume-old: the suite runs in the installed .venv; a test never reinstalls it.
        make = subprocess.Popen(
            ["make", "--no-print-directory", "--assume-old=.venv/.runtime", "airflow", *local],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(lambda: _healthy(base_url), "healthy /api/v2/monitor/health", 300, make, output)
        token_command, trigger_command = _wait_for(
            lambda: _printed_commands(output.read_text()), "printed token and trigger commands", 180, make, output
        )

        # The printed commands, as a user pastes them; no DAG is unpaused by hand.
        pasted = subprocess.run(
            ["bash", "-c", f'{token_command}\n{trigger_command}\necho\necho "$TOKEN"'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        run_json, token = pasted.stdout.strip().splitlines()[-2:]
        run = json.loads(run_json)
        assert run.get("dag_id") == SALES, f"{pasted.stdout}\n{pasted.stderr}\n{output.read_text()[-3000:]}"
        conf = run["conf"]

        headers = {"Authorization": f"Bearer {token}"}
        run_url = f"{base_url}/api/v2/dags/{SALES}/dagRuns/{run['dag_run_id']}"

        def finished():
            state = requests.get(run_url, headers=headers, timeout=30).json()["state"]
            return state if state in ("success", "failed") else None

        assert _wait_for(finished, f"end of run {run['dag_run_id']}", 300, make, output) == "success"
        delivered = sorted(p.name for p in (tmp_path / "demo-output" / "sales_summary").glob("*_EMEA_*"))
        assert [Path(name).suffix for name in delivered] == [".csv", ".pdf", ".xlsx"], delivered
        with sqlite3.connect(tmp_path / ".demo" / "requests.db") as store:
            status = store.execute(
                "SELECT status FROM report_requests WHERE request_id = ?", (conf["request_id"],)
            ).fetchone()
        assert status == ("COMPLETED",)

        # The README's REST example works as written, on this port.
        readme = (ROOT / "README.md").read_text()
        example = readme.split("**From the REST API.**", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
        example = example.replace("localhost:8080", f"localhost:{port}").replace("REQ-2026-0042", "REQ-README-1")
        answer = subprocess.run(
            ["bash", "-c", example], env=env, capture_output=True, text=True, timeout=60, check=True
        )
        readme_run = json.loads(answer.stdout)
        assert (readme_run["dag_id"], readme_run["conf"]["request_id"]) == (SALES, "REQ-README-1"), answer.stdout

        # make env prints exactly the settings the running processes have.
        printed = subprocess.run(
            ["bash", "-c", f'eval "$(make -s env {" ".join(local)})" && env -0'],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        shell = dict(pair.split("=", 1) for pair in printed.split("\0") if "=" in pair)
        exported = subprocess.run(
            ["make", "-s", "env", *local], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
        names = [line.split()[1].split("=", 1)[0] for line in exported.splitlines()]
        scheduler = next(pid for pid, cmd in _processes_of(str(tmp_path)).items() if cmd.endswith("airflow scheduler"))
        running = _environ(scheduler)
        assert shell["AIRFLOW_HOME"] == str(tmp_path / ".airflow")
        assert {n: shell[n] for n in names if n != "PATH"} == {n: running.get(n) for n in names if n != "PATH"}
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        try:
            make.wait(timeout=90)
        finally:
            left = _processes_of(str(tmp_path))
            for pid in left:  # never leak a live Airflow into the next test
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    assert left == {}, left
    text = output.read_text()
    assert "SIGINT: stopping Airflow" in text and "Stopped." in text, text
