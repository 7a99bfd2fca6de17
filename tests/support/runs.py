"""Helpers for tests that run report DAGs in-process with ``dag.test()``."""

from __future__ import annotations

import importlib.util
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

from report_runtime.request_context import request_id_for_run

ROOT = Path(__file__).resolve().parents[2]
RUN_AFTER = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
_runs = itertools.count()


def load_module(name: str, path: Path) -> ModuleType:
    """Import a file (a DAG file, a script) as a module of its own.

    :param name: the module name to give it.
    :param path: the file.
    """
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} cannot be imported as a module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run(dag, conf=None, moment=None):
    """One ``dag.test()`` run with its own run id (run ids derive from the run time).

    Passing the moment of an earlier run re-runs that same run id with fresh task instances,
    which is what clearing a DAG run in the UI does.

    :param dag: the DAG.
    :param conf: the run's conf.
    :param moment: the run's logical date and run-after time.
    """
    moment = moment or RUN_AFTER + timedelta(seconds=next(_runs))
    return dag.test(run_after=moment, logical_date=moment, run_conf=conf)


test_run.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def request_of(run) -> str:
    """The request id a run without ``conf.request_id`` serves.

    :param run: the DAG run.
    """
    return request_id_for_run(run.dag_id, run.run_id)


def moves(trail) -> list[tuple]:
    """The status changes of a trail as (old, new) pairs.

    :param trail: a request store trail.
    """
    return [(e["old_status"], e["new_status"]) for e in trail["events"] if e["event_type"] == "STATUS_CHANGE"]


def task_states(run) -> dict[str, str]:
    """Task id -> state of a run's task instances (the last map index wins).

    :param run: the DAG run.
    """
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def note_of(run) -> str | None:
    """A run's note as Airflow stored it (what the UI and ``GET .../dagRuns/{run_id}`` show).

    :param run: the DAG run.
    """
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        stored = session.scalar(select(DagRun).where(DagRun.dag_id == run.dag_id, DagRun.run_id == run.run_id))
        return stored.note if stored is not None else None


def run_started(dag, run_id: str, moment: datetime | None = None):
    """Run in-process a DAG run that a task started (the intake's ``adhoc__``, the retry DAG's ``retry__``).

    ``dag.test()`` makes a run of its own (type ``manual``); here it is handed the queued run the
    task made instead, with its run id, run type and conf, as the scheduler would run it.

    :param dag: the DAG of the run.
    :param run_id: the started run's id.
    :param moment: a logical date no other run of the DAG has (``dag.test()`` clears that date's runs).
    """
    from airflow.models import dagrun as dagrun_module
    from airflow.utils.state import DagRunState
    from sqlalchemy import select

    def the_started_run(*, dag: Any, session: Any, start_date: datetime, **_: Any):
        run = session.scalar(
            select(dagrun_module.DagRun).where(
                dagrun_module.DagRun.dag_id == dag.dag_id, dagrun_module.DagRun.run_id == run_id
            )
        )
        if run is None:
            raise LookupError(f"no run {run_id} of {dag.dag_id}")
        run.state = DagRunState.RUNNING
        run.start_date = start_date
        session.commit()
        run.dag = dag  # as create_dagrun leaves it: the scheduler's view of the DAG
        return run

    moment = moment or RUN_AFTER + timedelta(days=300, seconds=next(_runs))
    with mock.patch.object(dagrun_module, "get_or_create_dagrun", the_started_run):
        return dag.test(run_after=moment, logical_date=moment)
