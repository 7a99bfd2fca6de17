"""One open transaction of the request store: who is acting, the statements it runs, the rows it reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hooks.request_store.statements import statement
from hooks.sql_dialect import prepare, read_json, to_json
from reporting.constants import Component, EventType

_JSON_COLUMNS = frozenset({"parameters", "distribution_overrides", "details"})


@dataclass(frozen=True)
class Actor:
    """Who writes an audit row: the component and, inside Airflow, the run, task and try.

    :param component: INTAKE, ORCHESTRATOR, ENGINE, DISTRIBUTOR or NOTIFIER.
    :param dag_run_id: the DAG run, if any.
    :param task_id: the task, if any.
    :param try_number: the task's try, if any.
    """

    component: Component
    dag_run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None


class Transaction:
    """Runs the store's statement files inside one open transaction.

    :param conn: the DB-API connection.
    :param cursor: the transaction's cursor.
    :param dialect: sqlite, postgres or snowflake.
    """

    def __init__(self, conn: Any, cursor: Any, dialect: str) -> None:
        self.conn = conn
        self.cursor = cursor
        self.dialect = dialect

    def execute(self, name: str, values: Mapping[str, Any]) -> int:
        """Run a statement file with bound values; return the rows it changed.

        :param name: the statement's file name without ``.sql``.
        :param values: the values by name.
        """
        return self.execute_text(statement(name, self.dialect), values)

    def execute_text(self, text: str, values: Mapping[str, Any]) -> int:
        """Run a statement's text with bound values; return the rows it changed.

        :param text: the statement, with ``:name`` placeholders.
        :param values: the values by name.
        """
        sql, bound = prepare(text, values, self.conn, self.dialect)
        self.cursor.execute(sql, bound)
        changed: int = self.cursor.rowcount
        return changed

    def rows(self, name: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a query file and return its rows (see :func:`normalise_row`).

        :param name: the statement's file name without ``.sql``.
        :param values: the values by name.
        """
        return self.rows_of(statement(name, self.dialect), values)

    def rows_of(self, text: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Run a query's text and return its rows (see :func:`normalise_row`).

        :param text: the query, with ``:name`` placeholders.
        :param values: the values by name.
        """
        self.execute_text(text, values)
        columns = [column[0] for column in self.cursor.description]
        return [normalise_row(dict(zip(columns, row, strict=True))) for row in self.cursor.fetchall()]

    def audit(
        self,
        request_id: str,
        event_type: EventType,
        actor: Actor,
        when: datetime,
        old_status: str | None = None,
        new_status: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one audit row.

        :param request_id: the request's id.
        :param event_type: STATUS_CHANGE, RETRY, DELIVERY, NOTIFICATION or ERROR.
        :param actor: who is writing.
        :param when: the event's time.
        :param old_status: the status before a status change.
        :param new_status: the status after it.
        :param details: JSON details.
        """
        self.execute(
            "insert_audit",
            {
                "request_id": request_id,
                "event_type": str(event_type),
                "event_timestamp": when,
                "old_status": old_status,
                "new_status": new_status,
                "details": to_json(dict(details)) if details else None,
                "component": str(actor.component),
                "try_number": actor.try_number,
                "dag_run_id": actor.dag_run_id,
                "task_id": actor.task_id,
            },
        )


def normalise_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the hook returns it: lower-case keys, JSON columns parsed, timestamps as ISO 8601 text.

    A JSON column whose text is not JSON is returned as :class:`hooks.sql_dialect.UnreadableJson`:
    reading a malformed request never raises, so the one request can be refused and shown.

    :param row: column name -> value, as the driver returned them.
    """
    out = {}
    for key, value in row.items():
        key = key.lower()
        if key in _JSON_COLUMNS:
            value = read_json(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        elif key == "retry_eligible" and value is not None:
            value = bool(value)
        out[key] = value
    return out
