"""Helpers for tests that run report DAGs in-process with ``dag.test()``."""

from __future__ import annotations

import importlib.util
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

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
