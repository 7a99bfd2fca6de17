"""`airflow tasks test` on each task of the sample report, as the README shows it, with and without a scheduler running.

Each task either succeeds or stops at once with the one-line hint the README shows, and no request
is left in flight. The commands are read from the README ("One task on its own") and run as a
user runs them in the second shell: from the repository, with `.venv/bin` first on PATH.
Without a scheduler, the local Airflow is `make env`'s settings (SQLite metadata) in a folder of
the test's own, with the DAG put into the metadata database by `airflow dags reserialize`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from report_runtime.tasks_test import missing_upstream_hint
from support.e2e_checks import SALES
from support.runs import load_module

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TASKS = ("claim", "targets", "generate", "distribute", "notify", "finalize")
UPSTREAM_FIRST = ("distribute", "notify", "finalize")
DATE = "2026-06-01"
IN_FLIGHT = ("PENDING", "HELD", "IN_PROGRESS", "GENERATED", "DISTRIBUTED")
# A refusal reads the metadata database and exits; it never runs the task (Airflow's import is most of it).
AT_ONCE_SECONDS = 90
SUMMARY = re.compile(r"^Request (\S+): (\w+) \(report sales_summary, trigger (\w+), attempt \d+\)$", re.MULTILINE)
NO_SCHEDULER_STORE = "reporting_tasks_test_store"


def _readme() -> dict[str, object]:
    """The README's tasks-test commands: the run block, the refused example, the in-a-run block, the scheduler's."""
    text = (ROOT / "README.md").read_text()
    section = text.split("**One task on its own**", 1)[1].split("**From the REST API.**", 1)[0]
    blocks = re.findall(r"```(bash|text)\n(.*?)```", section, re.DOTALL)
    bash = [body.strip().splitlines() for kind, body in blocks if kind == "bash"]
    examples = []
    for kind, body in blocks:
        if kind == "text":
            command, expected = body.strip().splitlines()
            examples.append((command.removeprefix("$ "), expected))
    return {"run": bash[0], "in_run": bash[1], "refused": examples[0], "scheduler": examples[1]}


README = _readme()


def _shell(env: dict[str, str]) -> dict[str, str]:
    """The second shell's environment: the Airflow's settings, `.venv/bin` first on PATH."""
    return {**env, "PATH": f"{BIN}{os.pathsep}{env.get('PATH', os.environ.get('PATH', ''))}"}


def _run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """One README command as a user types it, from the repository.

    :param command: the command line.
    :param env: the shell's environment.
    """
    return subprocess.run(
        ["bash", "-c", command], cwd=ROOT, env=_shell(env), capture_output=True, text=True, timeout=600
    )


def _explain(done: subprocess.CompletedProcess) -> str:
    return f"exit {done.returncode}\n--- stdout ---\n{done.stdout[-4000:]}\n--- stderr ---\n{done.stderr[-3000:]}"


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _wrapper(task: str, extra: str = "") -> str:
    return f"python scripts/airflow_tasks_test.py {SALES} {task} {DATE}{extra}"


def _refused_line(task: str) -> tuple[str, str]:
    """The wrapper command for a task that needs earlier output, and the line it must end with (the README's)."""
    command, expected = README["refused"]
    if task == "distribute":
        return command, expected
    label = f"airflow tasks test {SALES} {task} {DATE}"
    return _wrapper(task), f"{label}: {missing_upstream_hint(SALES, task, DATE)}"


def _assert_refused_at_once(command: str, expected: str, env: dict[str, str]) -> None:
    started = time.monotonic()
    done = _run(command, env)
    elapsed = time.monotonic() - started
    assert done.returncode == 1, _explain(done)
    assert _last_line(done.stderr) == expected, _explain(done)
    assert "[DAG TEST] starting" not in done.stdout + done.stderr, "the task must not run"
    assert elapsed < AT_ONCE_SECONDS, f"{command} took {elapsed:.0f}s"


def _run_readme_block(env: dict[str, str]) -> list[str]:
    """Run the README's tasks-test block line by line; return the request ids the tasks ran for."""
    shown = {command.split()[3] for command in README["run"] if "airflow_tasks_test.py" in command}
    assert shown | set(UPSTREAM_FIRST) == set(TASKS), "the README shows, or refuses, every task"
    request_ids = []
    for command in README["run"]:
        done = _run(command, env)
        assert done.returncode == 0, f"{command}\n{_explain(done)}"
        if "scripts/airflow_tasks_test.py" in command:
            task = command.split()[3]
            arguments = command.split("airflow_tasks_test.py ", 1)[1]
            assert _last_line(done.stdout) == f"airflow tasks test {arguments}: task ended success", _explain(done)
            [(request_id, status, trigger)] = SUMMARY.findall(done.stdout)
            assert (status, trigger) == ("COMPLETED", "TEST"), _explain(done)
            if task == "generate":
                assert "Staged files (generated, not delivered):" in done.stdout, _explain(done)
                assert "'region': 'EMEA'" in done.stdout, "-t sets the request's parameters"
            request_ids.append(request_id)
        elif command.startswith("airflow tasks test"):
            # Airflow's own command: the task's log says how its request ended.
            ended = re.search(r"tasks test: request (\S+) ended COMPLETED with its one task", done.stdout + done.stderr)
            assert ended, _explain(done)
            request_ids.append(ended.group(1))
    return request_ids


def _requests(store) -> list[dict]:
    with store._transaction() as tx:
        return tx.rows_of("SELECT request_id, trigger_type, status, last_error FROM report_requests", {})


def _assert_nothing_in_flight(store, ran: list[str]) -> None:
    """Every TEST request has ended; the ones the tasks ran for COMPLETED."""
    rows = {row["request_id"]: row for row in _requests(store)}
    tests = {rid: row for rid, row in rows.items() if row["trigger_type"] == "TEST"}
    assert set(ran) <= set(tests), (ran, rows)
    assert {rid: row["status"] for rid, row in tests.items() if row["status"] in IN_FLIGHT} == {}
    assert {rows[rid]["status"] for rid in ran} == {"COMPLETED"}


@pytest.mark.parametrize("airflow", ["LocalExecutor"], indirect=True)
def test_with_a_scheduler_running_each_task_runs_once_paused_or_stops_at_once_with_the_hint(airflow, store):
    """Unpaused: every task stops at once with its hint. Paused, as the README says: the README's commands succeed."""
    env = airflow.env
    airflow.unpause(SALES)

    command, expected = README["scheduler"]
    _assert_refused_at_once(command, expected, env)
    for task in ("targets", "generate"):
        _assert_refused_at_once(command.replace(" claim ", f" {task} "), expected.replace(" claim ", f" {task} "), env)
    for task in UPSTREAM_FIRST:
        _assert_refused_at_once(*_refused_line(task), env)

    ran = _run_readme_block(env)  # pauses, runs claim, targets, generate (twice), unpauses

    # The wrapper exits 1 when the task fails (Airflow's command exits 0) and names the task's own error:
    # here claim cannot reach its request store.
    broken = {
        **env,
        "AIRFLOW_CONN_REPORTING_REQUEST_STORE": json.dumps(
            {**json.loads(env["AIRFLOW_CONN_REPORTING_REQUEST_STORE"]), "schema": "no_such_database_e2e"}
        ),
    }
    airflow.unpause(SALES, paused=True)
    try:
        plain = _run(f"airflow tasks test {SALES} claim 2026-06-02", broken)
        assert plain.returncode == 0, "Airflow's own command now fails on a failed task: the wrapper can go"
        wrapped = _run(_wrapper("claim").replace(DATE, "2026-06-02"), broken)
        assert wrapped.returncode == 1, _explain(wrapped)
        last = _last_line(wrapped.stderr)
        # the sample report retries, so the failed try ends up_for_retry: a failure all the same
        assert last.startswith(f"airflow tasks test {SALES} claim 2026-06-02: task ended up_for_retry: "), last
        assert "no_such_database_e2e" in last, last
    finally:
        airflow.unpause(SALES)
    _assert_nothing_in_flight(store, ran)


@pytest.fixture(scope="module")
def no_scheduler(tmp_path_factory):
    """A local Airflow with no process running: `make env`'s settings in a folder of its own, the DAGs serialized.

    :param tmp_path_factory: pytest's temporary folders.
    """
    from hooks.request_store import RequestStoreHook

    base = tmp_path_factory.mktemp("tasks-test-no-scheduler")
    local_env = load_module("local_env_tasks_test", ROOT / "scripts" / "local_env.py")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "REPORTING_", "PYTEST"))}
    env = {**clean, **local_env.server_env(base, 18080, environ={})}
    (base / ".demo").mkdir()
    for setup in (
        [sys.executable, "scripts/create_sample_db.py", str(base / ".demo" / "sample.db")],
        [sys.executable, "scripts/request_store.py", "schema"],
        [str(BIN / "airflow"), "db", "migrate"],
        [str(BIN / "airflow"), "dags", "reserialize"],
    ):
        done = subprocess.run(setup, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{setup}\n{_explain(done)}"
    os.environ[f"AIRFLOW_CONN_{NO_SCHEDULER_STORE.upper()}"] = env["AIRFLOW_CONN_REPORTING_REQUEST_STORE"]
    try:
        yield env, RequestStoreHook(request_store_conn_id=NO_SCHEDULER_STORE), base
    finally:
        os.environ.pop(f"AIRFLOW_CONN_{NO_SCHEDULER_STORE.upper()}", None)


def test_without_a_scheduler_each_task_runs_or_stops_at_once_with_the_hint(no_scheduler):
    """The README's commands succeed; later tasks stop with the hint, whose commands work; dags test names it."""
    env, store, base = no_scheduler

    ran = _run_readme_block(env)
    for task in UPSTREAM_FIRST:
        _assert_refused_at_once(*_refused_line(task), env)
        # Airflow's own command runs the task, which stops at once with the same line in its log.
        plain = _run(
            f"airflow tasks test {SALES} {task} {DATE}" + (" --map-index 0" if task == "distribute" else ""), env
        )
        assert missing_upstream_hint(SALES, task, DATE) in plain.stdout + plain.stderr, _explain(plain)

    # What the hint says to run: the whole run, then the task again in it.
    dags_test, again = README["in_run"]
    done = _run(dags_test, env)
    assert done.returncode == 0, _explain(done)
    finalized = re.search(
        r"request (\S+): COMPLETED \(3 artifacts, 3 deliveries\); files: ([^\s,]+(?:, [^\s,]+)*)",
        done.stdout + done.stderr,
    )
    assert finalized, _explain(done)
    files = finalized.group(2).split(", ")
    assert sorted(Path(f).suffix for f in files) == [".csv", ".pdf", ".xlsx"]
    assert all(Path(f).parent == base / "demo-output" / "sales_summary" for f in files), files
    done = _run(again, env)
    assert done.returncode == 0, _explain(done)
    assert SUMMARY.findall(done.stdout) == [(finalized.group(1), "COMPLETED", "MANUAL")], _explain(done)
    assert "Delivered files:" in done.stdout
    _assert_nothing_in_flight(store, ran)
