"""The run note: what a report run's claim had to say becomes the DAG run's note.

Why it refused the request, or that a re-send delivers nothing: shown in the UI and as ``note``
by ``GET /api/v2/dags/{dag_id}/dagRuns/{run_id}``.

A task cannot write a run's note: Airflow 3 tasks reach the metadata database only through the
execution API, which has no call for it. The scheduler can: it calls these hooks when a run ends,
with the run in its own session, and commits the note with the run's new state. ``dag.test()``
(``airflow dags test``) runs the same state update in-process, so the note is written there too.
The claim leaves the text as an XCom (:data:`reporting.constants.RUN_NOTE_KEY`).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.listeners import hookimpl
from sqlalchemy.orm import object_session

from reporting.constants import DAG_PREFIX, MAX_RUN_NOTE_CHARS, RUN_NOTE_KEY

log = logging.getLogger(__name__)

CLAIM_TASK_ID = "claim"


@hookimpl
def on_dag_run_failed(dag_run: Any, msg: str) -> None:
    """Write the claim's note on a report run that failed (a refused request).

    :param dag_run: the run (the scheduler's ORM object, in its session).
    :param msg: Airflow's reason for the state.
    """
    write_note(dag_run)


@hookimpl
def on_dag_run_success(dag_run: Any, msg: str) -> None:
    """Write the claim's note on a report run that succeeded (a re-send that delivers nothing).

    :param dag_run: the run (the scheduler's ORM object, in its session).
    :param msg: Airflow's reason for the state.
    """
    write_note(dag_run)


def write_note(dag_run: Any) -> str | None:
    """Put the note the run's claim left at the head of the run's note; return the note written, if any.

    A note already there (a caller's, given with the trigger) is kept after it. Never raises:
    a note explains a run's outcome, it must not disturb the scheduler.

    :param dag_run: the run, attached to a session.
    """
    try:
        if not str(dag_run.dag_id).startswith(DAG_PREFIX):
            return None
        session = object_session(dag_run)
        target = dag_run
        if session is None:
            # dag.test() hands the listeners a run detached from the session it is updating, and
            # merges the run back into that session after them: the note goes on the merged run.
            from airflow import settings

            if settings.Session is None:
                return None
            session = settings.Session()
            target = session.merge(dag_run)
        text = _claim_note(session, dag_run.dag_id, dag_run.run_id)
        if not text:
            return None
        current = target.note or ""
        if text in current:
            return None
        note = f"{text}\n{current}" if current else text
        target.note = note[:MAX_RUN_NOTE_CHARS]
        return str(target.note)
    except Exception:
        log.exception("could not write the note of run %s", getattr(dag_run, "run_id", "?"))
        return None


def _claim_note(session: Any, dag_id: str, run_id: str) -> str | None:
    # The listener runs where Airflow's metadata database is (scheduler, dag.test, API server).
    from airflow.models.xcom import XComModel

    query = XComModel.get_many(
        run_id=run_id, key=RUN_NOTE_KEY, task_ids=CLAIM_TASK_ID, dag_ids=dag_id, map_indexes=-1, limit=1
    )
    row = session.scalars(query).first()
    value = XComModel.deserialize_value(row) if row is not None else None
    return value if isinstance(value, str) else None
