"""`airflow tasks test` for people and scripts: says why a task failed, names its request, exits 1 unless it succeeded.

    python scripts/airflow_tasks_test.py report__sales_summary generate 2026-06-01 [airflow tasks test options]

Takes the arguments of ``airflow tasks test`` and runs the same command in this process. Airflow's
own command prints a failed task's log and still exits 0; this one

- refuses at once, in one line naming what to run instead, a test that cannot work on a report
  DAG: ``distribute``, ``notify`` or ``finalize`` in a run that has no files yet, or a DAG that a
  running scheduler would take over (it is not paused);
- ends with the run's request (id, status, trigger type, where its files are; as ``make demo``
  does) and a last line with the task's final state and its own error;
- exits 0 when the task succeeded (or was skipped), 1 otherwise.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

ERROR_CHARS = 600


class Outcome:
    """What the command did: the task's final state, its error, and the request of its run."""

    def __init__(self) -> None:
        self.states: list[str] = []
        """The task instance's state after each run of it."""
        self.errors: list[BaseException] = []
        """The task's own exception, or what kept it from starting."""
        self.request_id: str | None = None
        """The request the run serves."""


def one_line(error: BaseException) -> str:
    """An exception as one line: its class and its message, whitespace folded, cut short when long.

    :param error: the exception.
    """
    text = " ".join(str(error).split()) or "(no message)"
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 1] + "…"
    return f"{type(error).__name__}: {text}"


def refusal(dag_id: str, task_id: str, when: str | None) -> str | None:
    """Why a test of a report DAG's task cannot work, in one line; ``None`` when it can run.

    :param dag_id: the DAG.
    :param task_id: the task.
    :param when: the logical date or run id given, if any.
    """
    from airflow.cli.utils import fetch_dag_run_from_run_id_or_logical_date_string
    from airflow.jobs.job import most_recent_job
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    from report_runtime.tasks_test import NEEDS_UPSTREAM, missing_upstream_hint, scheduler_hint
    from reporting.constants import DAG_PREFIX

    if not dag_id.startswith(DAG_PREFIX):
        return None
    with create_session() as session:
        run = None
        if when:
            run, _ = fetch_dag_run_from_run_id_or_logical_date_string(dag_id=dag_id, value=when, session=session)
        # No such run: `airflow tasks test` makes a temporary one, with no other task's output.
        if run is None and task_id in NEEDS_UPSTREAM:
            return missing_upstream_hint(dag_id, task_id, when or "<date>")
        if run is not None and str(run.state) != "running":
            return None  # a finished run: no scheduler looks at it again
        dag = DagModel.get_dagmodel(dag_id, session=session)
        scheduler = most_recent_job("SchedulerJob", session=session)
        if dag is not None and not dag.is_paused and scheduler is not None and scheduler.is_alive():
            return scheduler_hint(dag_id)
    return None


def _record(outcome: Outcome) -> None:
    """Patch the command's task runner so that the final state, the error and the run's request are kept."""
    from airflow.cli.commands import task_command
    from airflow.sdk.execution_time import supervisor

    from report_runtime.request_context import request_id_of
    from reporting.constants import DAG_PREFIX

    run_task = task_command._run_task
    run_in_process = supervisor.run_task_in_process

    def run_and_record(*args: Any, **kwargs: Any) -> Any:
        ti = kwargs.get("ti", args[0] if args else None)
        try:
            # Read now: the command deletes its temporary run (and with it the run's conf) at the end.
            if ti is not None and ti.dag_id.startswith(DAG_PREFIX):
                outcome.request_id = request_id_of(ti.dag_run)
        except Exception:  # no run to read it from: the summary is left out
            outcome.request_id = None
        try:
            return run_task(*args, **kwargs)
        finally:
            # The command keeps the final state only on the task instance it drops: record it here.
            if ti is not None:
                outcome.states.append(str(getattr(ti.state, "value", ti.state)))

    def run_in_process_and_record(*args: Any, **kwargs: Any) -> Any:
        try:
            result = run_in_process(*args, **kwargs)
        except Exception as exc:  # the task could not start; the command logs it and carries on
            outcome.errors.append(exc)
            raise
        if result.error is not None:
            outcome.errors.append(result.error)
        return result

    task_command._run_task = run_and_record
    supervisor.run_task_in_process = run_in_process_and_record


def _request_lines(request_id: str) -> list[str]:
    """The request's summary from the request store, or one line saying why there is none."""
    try:
        from demo_summary import request_summary
        from report_runtime.request_context import request_store

        trail = request_store().trail(request_id)
        if trail["request"] is None:
            return [f"Request {request_id}: not recorded (the task ended before claiming it)"]
        return request_summary(trail)
    except Exception as exc:
        return [f"Request {request_id}: the request store could not be read: {one_line(exc)}"]


def main(argv: list[str]) -> int:
    """Run ``airflow tasks test`` with ``argv``; 0 when the task succeeded or was skipped, 1 otherwise.

    :param argv: the arguments after ``tasks test`` (dag id, task id, date or run id, options).
    """
    from airflow.cli import cli_parser

    label = f"airflow tasks test {shlex.join(argv)}"
    args = cli_parser.get_parser().parse_args(["tasks", "test", *argv])
    hint = refusal(args.dag_id, args.task_id, args.logical_date_or_run_id)
    if hint is not None:
        print(f"{label}: {hint}", file=sys.stderr)
        return 1
    outcome = Outcome()
    _record(outcome)
    try:
        args.func(args)
    except Exception as exc:  # the command itself failed (an unknown task, a mapped task without --map-index)
        outcome.errors.append(exc)
    if outcome.request_id is not None:
        print()
        print("\n".join(_request_lines(outcome.request_id)))
    state = outcome.states[-1] if outcome.states else "not run"
    if state in ("success", "skipped"):
        print(f"{label}: task ended {state}")
        return 0
    error = f": {one_line(outcome.errors[-1])}" if outcome.errors else ""
    print(f"{label}: task ended {state}{error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
