"""The request store hook: report requests, their audit trail, errors and deliveries, in our own database.

Airflow 3 workers cannot write to Airflow's metadata database, so the lifecycle lives in a
database reached through an ordinary Airflow connection: SQLite (``make demo``), PostgreSQL
(the compose stack) or Snowflake (production). Every statement is a file under
``include/sql/request_store/``; every value is a bind parameter.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import BaseHook

from hooks.request_store.statements import STREAM, schema_statements, snowflake_statement
from hooks.request_store.transaction import Actor, Transaction
from hooks.sql_dialect import dialect_of, to_json, transaction
from reporting.constants import EventType, TriggerType
from reporting.errors import ErrorInfo
from reporting.lifecycle import Status, check_transition, ending_of_tasks_test
from reporting.masking import mask_secrets


def _now() -> datetime:
    return datetime.now(UTC)


def _as_datetime(value: Any) -> datetime:
    """A timestamp as the drivers return it (a datetime, or ISO 8601 text from SQLite), made aware (UTC)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class RequestStoreHook(BaseHook):
    """Create, claim and move report requests; record errors and deliveries; read the trail.

    Works over any common-sql connection whose type is sqlite, postgres or snowflake.
    Stateless: each call opens a connection, runs one transaction and closes it.

    :param request_store_conn_id: the Airflow connection of the request store.
    """

    conn_name_attr = "request_store_conn_id"
    default_conn_name = "reporting_request_store"
    conn_type = "reporting_request_store"
    hook_name = "Report request store"

    def __init__(self, request_store_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.request_store_conn_id = request_store_conn_id

    # --- plumbing -----------------------------------------------------------------------------

    @functools.cached_property
    def _db(self) -> tuple[Any, str]:
        connection = self.get_connection(self.request_store_conn_id)
        return connection.get_hook(), dialect_of(connection.conn_type)

    @property
    def dialect(self) -> str:
        """sqlite, postgres or snowflake."""
        return self._db[1]

    @contextmanager
    def _transaction(self) -> Iterator[Transaction]:
        db_hook, dialect = self._db
        with closing(db_hook.get_conn()) as conn, transaction(conn, dialect) as cursor:
            yield Transaction(conn, cursor, dialect)

    def _query(self, name: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        with self._transaction() as tx:
            return tx.rows(name, values)

    # --- schema -------------------------------------------------------------------------------

    def apply_schema(self) -> int:
        """Create the tables and indexes that do not exist yet; safe to run again.

        Returns how many statements ran.
        """
        statements = schema_statements(self.dialect)
        with self._transaction() as tx:
            for sql in statements:
                tx.cursor.execute(sql)
        return len(statements)

    # --- requests -----------------------------------------------------------------------------

    def create_request(
        self,
        *,
        request_id: str,
        report_id: str,
        parameters: Mapping[str, Any] | None,
        trigger_type: str,
        requested_by: str | None,
        actor: Actor,
        priority: int = 5,
        distribution_overrides: Any = None,
        status: Status = Status.PENDING,
    ) -> bool:
        """Create a request and its first audit row, unless the request already exists.

        Returns whether a row was created.

        :param request_id: the request's id.
        :param report_id: the report definition id.
        :param parameters: the parameters as supplied.
        :param trigger_type: ADHOC, SCHEDULED, MANUAL, API, RETRY or TEST (see ``reporting.constants.TriggerType``).
        :param requested_by: who asked.
        :param actor: who is writing.
        :param priority: 1-10.
        :param distribution_overrides: per-request targets, if any.
        :param status: the first status (PENDING, or HELD while sending is paused).
        """
        now = _now()
        with self._transaction() as tx:
            created = self._insert_request(
                tx,
                request_id,
                report_id,
                to_json(dict(parameters or {})),
                trigger_type,
                requested_by,
                actor,
                now,
                priority=priority,
                distribution_overrides=distribution_overrides,
                status=status,
            )
        return created

    def create_refused_request(
        self,
        *,
        request_id: str,
        report_id: str,
        parameters: Any,
        trigger_type: str,
        requested_by: str | None,
        actor: Actor,
        error: ErrorInfo,
        priority: int = 5,
        distribution_overrides: Any = None,
    ) -> bool:
        """Record a request refused before it ran, in one transaction: its row, PENDING then FAILED, and its error.

        Returns whether the row was created (``False``: a request with this id exists; nothing was written).

        :param request_id: the request's id (a valid one: the caller's, or one derived from the run).
        :param report_id: the report definition id.
        :param parameters: what the request brought as parameters, in a form a JSON column takes.
        :param trigger_type: ADHOC, SCHEDULED, MANUAL, API or RETRY.
        :param requested_by: who asked.
        :param actor: who refused it.
        :param error: why (its message is the request's ``last_error``).
        :param priority: 1-10.
        :param distribution_overrides: what the request brought as targets, in a form a JSON column takes.
        """
        now = _now()
        with self._transaction() as tx:
            if not self._insert_request(
                tx,
                request_id,
                report_id,
                to_json(parameters),
                trigger_type,
                requested_by,
                actor,
                now,
                priority=priority,
                distribution_overrides=distribution_overrides,
                status=Status.PENDING,
            ):
                return False
            tx.execute(
                "update_status",
                {
                    "request_id": request_id,
                    "expected_status": str(Status.PENDING),
                    "new_status": str(Status.FAILED),
                    "now": now,
                    "attempt_increment": 0,
                    "dag_run_id": actor.dag_run_id,
                    "processed_at": None,
                    "completed_at": now,
                    "last_error": mask_secrets(f"{actor.task_id or actor.component}: {error.message}")[:4000],
                },
            )
            tx.audit(
                request_id,
                EventType.STATUS_CHANGE,
                actor,
                now,
                str(Status.PENDING),
                str(Status.FAILED),
                {"refused": error.code},
            )
            self._write_error(tx, request_id, error, actor, now)
        return True

    @staticmethod
    def _insert_request(
        tx: Transaction,
        request_id: str,
        report_id: str,
        parameters_json: str | None,
        trigger_type: str,
        requested_by: str | None,
        actor: Actor,
        now: datetime,
        *,
        priority: int,
        distribution_overrides: Any,
        status: Status | str,
    ) -> bool:
        """Insert a request's row unless its id exists, with its first status-change audit row."""
        created = tx.execute(
            "insert_request",
            {
                "request_id": request_id,
                "report_id": report_id,
                "parameters": parameters_json,
                "distribution_overrides": to_json(distribution_overrides),
                "priority": priority,
                "trigger_type": str(trigger_type),
                "requested_by": requested_by,
                "requested_at": now,
                "updated_at": now,
                "status": str(status),
            },
        )
        if created:
            tx.audit(
                request_id,
                EventType.STATUS_CHANGE,
                actor,
                now,
                new_status=str(status),
                details={"report_id": report_id, "trigger_type": str(trigger_type)},
            )
        return bool(created)

    def get_request(self, request_id: str) -> dict[str, Any] | None:
        """The request's row, or ``None``.

        :param request_id: the request's id.
        """
        rows = self._query("select_request", {"request_id": request_id})
        return rows[0] if rows else None

    def move(
        self,
        request_id: str,
        expected: Status | str,
        new: Status | str,
        actor: Actor,
        *,
        details: Mapping[str, Any] | None = None,
        claim: bool = False,
        last_error: str | None = None,
    ) -> bool:
        """Move a request from ``expected`` to ``new`` with its audit row, in one transaction.

        Returns ``False``, changing nothing, when the request is no longer in ``expected``.

        :param request_id: the request's id.
        :param expected: the status the request must still have.
        :param new: the status to move to.
        :param actor: who is moving it.
        :param details: JSON details for the audit row.
        :param claim: this move claims the request for ``actor.dag_run_id`` (attempt + 1, processed_at).
        :param last_error: the error to remember on the request (FAILED moves).
        :raises reporting.lifecycle.IllegalTransition: the lifecycle does not allow the move.
        """
        old_status, new_status = check_transition(expected, new)
        return self._update_status(
            request_id, old_status, new_status, actor, details=details, claim=claim, last_error=last_error
        )

    def end_tasks_test_request(
        self,
        request_id: str,
        actor: Actor,
        *,
        succeeded: bool,
        details: Mapping[str, Any] | None = None,
        last_error: str | None = None,
    ) -> Status | None:
        """End the TEST request of a tasks-test run with its one task: COMPLETED if it succeeded, else FAILED.

        Returns the status it ended in; ``None``, changing nothing, for a request that does not
        exist, is not a TEST request, or has already finished. See ``reporting.lifecycle.TASKS_TEST_ENDS``.

        :param request_id: the request's id.
        :param actor: the task that ended.
        :param succeeded: whether the task succeeded.
        :param details: JSON details for the audit row.
        :param last_error: the task's error, when it failed.
        """
        row = self.get_request(request_id)
        if row is None or row["trigger_type"] != TriggerType.TEST:
            return None
        old_status = Status(row["status"])
        new_status = ending_of_tasks_test(old_status, succeeded)
        if new_status is None:
            return None
        moved = self._update_status(
            request_id, old_status, new_status, actor, details=details, claim=False, last_error=last_error
        )
        return new_status if moved else None

    def _update_status(
        self,
        request_id: str,
        old_status: Status,
        new_status: Status,
        actor: Actor,
        *,
        details: Mapping[str, Any] | None,
        claim: bool,
        last_error: str | None,
    ) -> bool:
        """The conditional update and its audit row, for a move already checked against the lifecycle."""
        now = _now()
        with self._transaction() as tx:
            moved = tx.execute(
                "update_status",
                {
                    "request_id": request_id,
                    "expected_status": str(old_status),
                    "new_status": str(new_status),
                    "now": now,
                    "attempt_increment": 1 if claim else 0,
                    "dag_run_id": actor.dag_run_id if claim else None,
                    "processed_at": now if claim else None,
                    "completed_at": now if new_status in (Status.COMPLETED, Status.FAILED) else None,
                    "last_error": mask_secrets(last_error)[:4000] if last_error else None,
                },
            )
            if moved:
                tx.audit(request_id, EventType.STATUS_CHANGE, actor, now, str(old_status), str(new_status), details)
        if not moved:
            self.log.info(
                "request %s: move %s -> %s changed nothing (it is no longer %s)",
                request_id,
                old_status,
                new_status,
                old_status,
            )
        return bool(moved)

    # --- intake ---------------------------------------------------------------------------------

    def has_new_requests(self, stream: str = STREAM) -> bool:
        """Whether the intake has work: new worktable rows (the stream on Snowflake, pending rows
        elsewhere) or requests taken in but not yet dispatched.

        Snowflake's answer can be a false positive, never a false negative; taking in then finds nothing.

        :param stream: the Snowflake stream on the worktable.
        """
        with self._transaction() as tx:
            [row] = tx.rows("count_open_queue", {})
            if int(row["open_requests"]) > 0:
                return True
            if self.dialect == "snowflake":
                [row] = tx.rows_of(snowflake_statement("stream_has_data"), {"stream": stream})
                return bool(row["has_data"])
            [row] = tx.rows("count_pending", {})
            return int(row["pending"]) > 0

    def take_in_new_requests(self, actor: Actor) -> int:
        """Move new worktable requests into the intake queue in one transaction; return how many.

        On Snowflake this reads the stream, so the stream offset advances exactly when this
        transaction commits. Each request taken in gets its first audit row (PENDING, INTAKE).

        :param actor: the intake task.
        """
        now = _now()
        with self._transaction() as tx:
            if self.dialect == "snowflake":
                taken = tx.execute_text(snowflake_statement("consume_stream"), {"now": now})
            else:
                taken = tx.execute("consume_pending", {"now": now})
            if taken:
                tx.execute(
                    "audit_enqueued",
                    {
                        "now": now,
                        "details": to_json({"source": "worktable"}),
                        "try_number": actor.try_number,
                        "dag_run_id": actor.dag_run_id,
                        "task_id": actor.task_id,
                    },
                )
        return max(int(taken), 0)

    def open_intake_queue(self) -> list[dict[str, Any]]:
        """Requests taken in but not yet dispatched, highest priority and oldest first."""
        return self._query("open_intake_queue", {})

    def mark_dispatched(self, request_id: str, outcome: str, dag_run_id: str | None) -> bool:
        """Record what the intake did with a request (TRIGGERED, INVALID or SKIPPED); once only.

        :param request_id: the request's id.
        :param outcome: TRIGGERED, INVALID or SKIPPED.
        :param dag_run_id: the run started for it, if any.
        """
        with self._transaction() as tx:
            marked = tx.execute(
                "mark_dispatched",
                {"request_id": request_id, "outcome": outcome, "dag_run_id": dag_run_id, "now": _now()},
            )
        return bool(marked)

    # --- retry and housekeeping -----------------------------------------------------------------

    def held_requests(self) -> list[dict[str, Any]]:
        """Requests waiting in HELD for the retry DAG, oldest first."""
        return self._query("select_held", {})

    def stuck_requests(self, before: datetime) -> list[dict[str, Any]]:
        """Requests still in flight (IN_PROGRESS, GENERATED, DISTRIBUTED) with no move since ``before``.

        :param before: the moment a live run would have moved them by.
        """
        return self._query("select_stuck", {"before": before})

    # --- events, errors, deliveries -------------------------------------------------------------

    def record_event(
        self, request_id: str, event_type: EventType, actor: Actor, details: Mapping[str, Any] | None = None
    ) -> None:
        """Write one audit row that is not a status change (RETRY, NOTIFICATION, ...).

        :param request_id: the request's id.
        :param event_type: RETRY, DELIVERY, NOTIFICATION or ERROR.
        :param actor: who is writing.
        :param details: JSON details.
        """
        with self._transaction() as tx:
            tx.audit(request_id, event_type, actor, _now(), details=details)

    def record_error(self, request_id: str, error: ErrorInfo, actor: Actor, retry_count: int = 0) -> None:
        """Write an ERROR_LOG row and its ERROR audit row.

        :param request_id: the request's id.
        :param error: the classified error (message already masked).
        :param actor: where it happened.
        :param retry_count: retries already made when it happened.
        """
        with self._transaction() as tx:
            self._write_error(tx, request_id, error, actor, _now(), retry_count)

    @staticmethod
    def _write_error(
        tx: Transaction, request_id: str, error: ErrorInfo, actor: Actor, now: datetime, retry_count: int = 0
    ) -> None:
        tx.execute(
            "insert_error",
            {
                "request_id": request_id,
                "error_code": error.code,
                "error_class": error.error_class,
                "message": error.message,
                "component": str(actor.component),
                "retry_count": retry_count,
                "retry_eligible": error.retry_eligible,
                "created_at": now,
            },
        )
        tx.audit(
            request_id,
            EventType.ERROR,
            actor,
            now,
            details={
                "error_code": error.code,
                "error_class": error.error_class,
                "retry_eligible": error.retry_eligible,
            },
        )

    def record_delivery(
        self,
        request_id: str,
        *,
        target_key: str,
        format: str,
        location: str,
        size: int,
        sha256: str,
        actor: Actor,
        claim_key: str | None = None,
    ) -> bool:
        """Record one delivered file and its DELIVERY audit row, once per (request, target, format).

        Returns whether this call recorded it (``False``: it was recorded before).

        :param request_id: the request's id.
        :param target_key: the distribution target's key.
        :param format: the artifact format.
        :param location: where the file now is.
        :param size: its size in bytes.
        :param sha256: its checksum.
        :param actor: who delivered it.
        :param claim_key: the location's claim (see :meth:`claim_location`), marked delivered with
            this checksum in the same transaction; ``None`` for a delivery without a location (e-mail).
        """
        now = _now()
        values = {
            "request_id": request_id,
            "target_key": target_key,
            "format": format,
            "remote_location": location,
            "bytes": size,
            "sha256": sha256,
            "delivered_at": now,
        }
        with self._transaction() as tx:
            recorded = tx.execute("insert_delivery", values)
            if claim_key is not None:
                held = tx.execute(
                    "mark_delivery_claim_delivered",
                    {"claim_key": claim_key, "request_id": request_id, "delivered_at": now, "sha256": sha256},
                )
                if not held:
                    self.log.warning(
                        "request %s: %s was taken over by another request while this one wrote it", request_id, location
                    )
            if recorded:
                tx.audit(
                    request_id,
                    EventType.DELIVERY,
                    actor,
                    now,
                    details={
                        "target": target_key,
                        "format": format,
                        "location": location,
                        "bytes": size,
                        "sha256": sha256,
                    },
                )
        return bool(recorded)

    # --- delivery locations ---------------------------------------------------------------------

    def claim_location(
        self,
        claim_key: str,
        location: str,
        *,
        request_id: str,
        target_key: str,
        format: str,
        lease: timedelta,
    ) -> dict[str, Any]:
        """Claim a delivery location for a request unless another request holds it; return its holder.

        One transaction: a location nobody holds goes to this request (in flight until its
        delivery is recorded, at most ``lease`` from now); a location the delivery log records
        from before claims were kept goes to that delivery's request; a location this request
        holds in flight gets a new lease. Of two requests claiming one location at once, exactly
        one holds it afterwards.

        Returns the claim: ``request_id`` (the holder), ``location``, ``target_key``, ``format``,
        ``delivered_at`` and ``sha256`` (``None`` while in flight), ``generation``, and
        ``expired`` (in flight with its lease over: the try that claimed it is dead).

        :param claim_key: the location's key (:func:`reporting.conflicts.location_key`).
        :param location: the location as the delivery log records it.
        :param request_id: the request about to write it.
        :param target_key: the distribution target's key.
        :param format: the artifact format.
        :param lease: the longest the writing task may run.
        """
        now = _now()
        with self._transaction() as tx:
            found = tx.rows("select_delivery_claim", {"claim_key": claim_key})
            if not found:
                earlier = tx.rows("select_location_delivery", {"location": location})
                owner = earlier[0] if earlier else None
                tx.execute(
                    "insert_delivery_claim",
                    {
                        "claim_key": claim_key,
                        "location": location,
                        "request_id": owner["request_id"] if owner else request_id,
                        "target_key": owner["target_key"] if owner else target_key,
                        "format": owner["format"] if owner else format,
                        "claimed_at": now,
                        "lease_until": now + lease,
                        "delivered_at": _as_datetime(owner["delivered_at"]) if owner else None,
                        "sha256": owner["sha256"] if owner else None,
                    },
                )
                found = tx.rows("select_delivery_claim", {"claim_key": claim_key})
            [claim] = found
            if claim["request_id"] == request_id and claim["delivered_at"] is None:
                tx.execute(
                    "renew_delivery_claim",
                    {"claim_key": claim_key, "request_id": request_id, "lease_until": now + lease},
                )
                claim.update(lease_until=(now + lease).isoformat(), generation=int(claim["generation"]) + 1)
        claim["expired"] = claim["delivered_at"] is None and _as_datetime(claim["lease_until"]) < now
        return claim

    def take_over_location(
        self,
        claim: Mapping[str, Any],
        *,
        request_id: str,
        target_key: str,
        format: str,
        lease: timedelta,
        actor: Actor,
    ) -> bool:
        """Hand a location another request holds to this one, if the claim is still the one read.

        When the earlier holder's delivery was recorded there, both requests get a REPLACED audit
        row in the same transaction, before the new file is written: from then on the earlier
        request's recorded SHA-256 may no longer match, and its trail says so.

        Returns ``False``, changing nothing, when the claim changed since it was read.

        :param claim: the claim as :meth:`claim_location` returned it.
        :param request_id: the request taking the location over.
        :param target_key: its distribution target's key.
        :param format: the artifact format.
        :param lease: the longest the writing task may run.
        :param actor: who takes it over.
        """
        now = _now()
        holder = claim["request_id"]
        with self._transaction() as tx:
            moved = tx.execute(
                "take_over_delivery_claim",
                {
                    "claim_key": claim["claim_key"],
                    "holder": holder,
                    "generation": claim["generation"],
                    "request_id": request_id,
                    "target_key": target_key,
                    "format": format,
                    "claimed_at": now,
                    "lease_until": now + lease,
                },
            )
            if moved and claim["delivered_at"] is not None:
                replaced = {"location": claim["location"], "sha256": claim["sha256"]}
                tx.audit(
                    holder,
                    EventType.REPLACED,
                    actor,
                    now,
                    details={
                        **replaced,
                        "target": claim["target_key"],
                        "format": claim["format"],
                        "replaced_by": request_id,
                    },
                )
                tx.audit(
                    request_id,
                    EventType.REPLACED,
                    actor,
                    now,
                    details={**replaced, "target": target_key, "format": format, "replaces": holder},
                )
        return bool(moved)

    def get_location_claim(self, claim_key: str) -> dict[str, Any] | None:
        """The claim of one delivery location, or ``None``.

        :param claim_key: the location's key (:func:`reporting.conflicts.location_key`).
        """
        rows = self._query("select_delivery_claim", {"claim_key": claim_key})
        return rows[0] if rows else None

    def get_delivery(self, request_id: str, target_key: str, format: str) -> dict[str, Any] | None:
        """The DELIVERY_LOG row of one (request, target, format), or ``None``.

        :param request_id: the request's id.
        :param target_key: the distribution target's key.
        :param format: the artifact format.
        """
        rows = self._query("select_delivery", {"request_id": request_id, "target_key": target_key, "format": format})
        return rows[0] if rows else None

    def trail(self, request_id: str) -> dict[str, Any]:
        """Everything known about a request: its row, audit events, errors and deliveries, in order.

        :param request_id: the request's id.
        """
        values = {"request_id": request_id}
        with self._transaction() as tx:
            request = tx.rows("select_request", values)
            return {
                "request": request[0] if request else None,
                "events": tx.rows("select_audit", values),
                "errors": tx.rows("select_errors", values),
                "deliveries": tx.rows("select_deliveries", values),
            }
