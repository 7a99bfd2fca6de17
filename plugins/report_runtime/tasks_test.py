"""``airflow tasks test`` on one task of a report: how a task knows it runs alone, and what it says when it cannot.

``airflow tasks test <dag> <task> <date>`` runs the task in a temporary DAG run (run id
``__airflow_temporary_run_<time>__``) that it deletes afterwards, unless the date or run id names
a run that exists, which the task then joins as an ordinary re-run. A temporary run has no other
task's XCom, so:

- ``claim`` records a request of trigger type TEST and claims it;
- ``targets`` and ``generate`` do claim's work first (from the run's parameters, the DAG's
  defaults and ``--task-params``), then their own;
- ``distribute``, ``notify`` and ``finalize`` need files or deliveries made by earlier tasks and
  stop at once with one line naming the commands that have them (:func:`missing_upstream_hint`).

The task callbacks end the TEST request when the task ends (COMPLETED or FAILED), so none is left in
flight. A scheduler takes over a temporary run of a DAG that is not paused (it times the run out
or starts its other tasks), so such a run started by a scheduler stops at once, and the wrapper
``scripts/airflow_tasks_test.py`` refuses to start one (:func:`scheduler_hint`).
"""

from __future__ import annotations

import inspect
import logging
import os
from datetime import datetime
from typing import Any

from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

TEMPORARY_RUN_PREFIX = "__airflow_temporary_run_"
"""How ``airflow tasks test`` names the DAG run it makes for the task and deletes afterwards."""

TEST_MODE_VARIABLE = "AIRFLOW_TEST_MODE"
"""Set to ``True`` in its own process by ``airflow tasks test``; a scheduler's task process does not have it."""

CLAIM_TASK_ID = "claim"

NEEDS_UPSTREAM = {
    "distribute": "generate's files",
    "notify": "generate's files and distribute's deliveries",
    "finalize": "notify's completion event",
}
"""The tasks a tasks-test run cannot derive the input of, and what they lack there."""

MAPPED_TASKS = frozenset({"distribute"})
"""Mapped tasks: ``airflow tasks test`` needs ``--map-index`` for them."""

log = logging.getLogger(__name__)


def is_tasks_test_run(dag_run: Any) -> bool:
    """Whether a DAG run is the temporary run ``airflow tasks test`` made for a single task.

    :param dag_run: the DAG run (from the task context).
    """
    return str(getattr(dag_run, "run_id", "") or "").startswith(TEMPORARY_RUN_PREFIX)


def run_date_argument(logical_date: datetime | None) -> str:
    """A run's logical date as ``airflow tasks test`` takes it: ``2026-06-01``, or the full time if not midnight.

    :param logical_date: the run's logical date.
    """
    if logical_date is None:
        return "<date>"
    if (logical_date.hour, logical_date.minute, logical_date.second, logical_date.microsecond) == (0, 0, 0, 0):
        return logical_date.date().isoformat()
    return logical_date.isoformat()


def missing_upstream_hint(dag_id: str, task_id: str, when: str) -> str:
    """One line for a task that cannot run in a tasks-test run: what it lacks, and the commands that have it.

    :param dag_id: the report DAG.
    :param task_id: the task (``distribute``, ``notify`` or ``finalize``).
    :param when: the date or run id given to ``airflow tasks test``.
    """
    map_index = " --map-index 0" if task_id in MAPPED_TASKS else ""
    return (
        f"{task_id} needs {NEEDS_UPSTREAM[task_id]}, which a tasks-test run does not have: "
        f"run `airflow dags test {dag_id} {when}` first, then "
        f"`airflow tasks test {dag_id} {task_id} {when}{map_index}` runs it in that run"
    )


def scheduler_hint(dag_id: str) -> str:
    """One line for a tasks test of a DAG that a running scheduler would take over.

    :param dag_id: the report DAG.
    """
    return (
        f"a scheduler is running and {dag_id} is not paused, so it would take over the tasks-test run: "
        f"pause the DAG first: `airflow dags pause {dag_id}` (`airflow dags unpause {dag_id}` afterwards)"
    )


def refuse_scheduler_takeover(dag_run: Any) -> None:
    """Stop at once when the scheduler, not ``airflow tasks test``, runs a task of a tasks-test run.

    A scheduler starts the tasks of every running run of a DAG that is not paused, the temporary
    run of ``airflow tasks test`` too; claiming a request there would race the command's own task.

    :param dag_run: the DAG run (from the task context).
    """
    if is_tasks_test_run(dag_run) and os.environ.get(TEST_MODE_VARIABLE) != "True":
        raise AirflowFailException(
            f"this task belongs to the temporary run of an `airflow tasks test` and was started by a scheduler; "
            f"{scheduler_hint(dag_run.dag_id)}"
        )


def upstream_request(task: Any, context: Context) -> dict[str, Any]:
    """The claimed request a task works for: claim's XCom, or in a tasks-test run without it, a TEST request.

    The TEST request is claimed here, by claim's own code, as the claim task would.

    :param task: the running task (its ``request`` is claim's XCom, ``None`` when claim did not run).
    :param context: the task context.
    """
    if task.request is not None:
        request: dict[str, Any] = task.request
        return request
    dag_run = context["dag_run"]
    if not is_tasks_test_run(dag_run):
        raise AirflowFailException(f"{task.task_id}: the request from {CLAIM_TASK_ID} is missing (its XCom)")
    claim = task.dag.task_dict.get(CLAIM_TASK_ID) if task.dag is not None else None
    if claim is None:
        raise AirflowFailException(
            f"{task.task_id} needs a claimed request, which this tasks-test run does not have: "
            f"run `airflow dags test {dag_run.dag_id} {run_date_argument(dag_run.logical_date)}`"
        )
    log.info("tasks test: no request from %s in this run; %s claims a TEST request first", CLAIM_TASK_ID, task.task_id)
    # Airflow wraps execute() to warn when it is called outside the task runner; this call runs
    # inside it, in the task that stands in for claim.
    claimed: dict[str, Any] = inspect.unwrap(type(claim).execute)(claim, context)
    return claimed


def refuse_missing_upstream(task: Any, context: Context, *inputs: Any) -> None:
    """In a tasks-test run, stop at once with one line when the task's upstream inputs are missing.

    :param task: the running task.
    :param context: the task context.
    :param inputs: the task's upstream inputs (XComs); ``None`` when missing.
    """
    dag_run = context.get("dag_run")
    if dag_run is not None and is_tasks_test_run(dag_run) and any(value is None for value in inputs):
        when = run_date_argument(dag_run.logical_date)
        raise AirflowFailException(missing_upstream_hint(dag_run.dag_id, task.task_id, when))
