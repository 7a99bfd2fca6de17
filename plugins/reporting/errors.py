"""Error classification: what a failure is called in the error log, whether a retry may help, and its cause."""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from reporting.engine_errors import EngineError
from reporting.masking import mask_secrets

__all__ = [
    "MAX_MESSAGE",
    "ErrorInfo",
    "ProblemsError",
    "cause_chain",
    "classify",
    "engine_error_of",
    "mask_secrets",
    "sql_error_is_permanent",
]

MAX_MESSAGE = 2000


class ProblemsError(ValueError):
    """Input that does not fit what it must fit; ``problems`` names each field at fault.

    :param problems: one ``<field path>: <problem>`` line each; the message joins them.
    """

    separator: ClassVar[str] = "; "

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__(self.separator.join(self.problems))


@dataclass(frozen=True)
class ErrorInfo:
    """One failure as recorded in ERROR_LOG.

    :param code: a short stable code (INVALID_PARAMETERS, TIMEOUT, CONNECTION, ...).
    :param error_class: the exception's class name.
    :param message: the exception's message, masked and truncated.
    :param retry_eligible: whether trying again may succeed.
    """

    code: str
    error_class: str
    message: str
    retry_eligible: bool


def cause_chain(exc: BaseException) -> Iterator[BaseException]:
    """An exception, then the one it was raised from or while handling, and so on; each once.

    Follows ``__cause__`` (``raise ... from``), else ``__context__``, and stops at the end of the
    chain or where it loops back.

    :param exc: any exception.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def engine_error_of(exc: BaseException | None) -> EngineError | None:
    """The :class:`EngineError` behind an exception (itself, or its cause or context), if any.

    :param exc: any exception, possibly a fail-fast wrapper raised ``from`` an engine error.
    """
    if exc is None:
        return None
    return next((link for link in cause_chain(exc) if isinstance(link, EngineError)), None)


# DB-API classes for a fault of the statement (syntax, a missing table, column or privilege, a
# bad cast, a feature the database lacks): the same SQL fails the same way on every try.
_PERMANENT_SQL_ERRORS = frozenset({"ProgrammingError", "DataError", "NotSupportedError"})
# SQLSTATE classes that say the statement was fine and the moment was not: connection (08),
# transaction rollback (40), insufficient resources (53), operator intervention: a cancel, a
# timeout, a shutdown (57), system error (58). Snowflake raises ProgrammingError for every
# failed query, its statement timeouts (57014) too.
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def sql_error_is_permanent(exc: BaseException) -> bool:
    """Whether a database driver's exception is a fault of the SQL that no retry can cure.

    DB-API ``ProgrammingError``, ``DataError`` and ``NotSupportedError`` are, unless their
    SQLSTATE (``sqlstate``, psycopg2's ``pgcode``) says the failure was transient. SQLite
    reports a bad statement as ``OperationalError`` with the code ``SQLITE_ERROR`` ("no such
    table", a syntax error); busy, locked and I/O errors have codes of their own and stay retryable.
    ``OperationalError`` and connection losses of other drivers are never permanent.

    :param exc: any exception.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "DatabaseError" not in names:
        return False
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES:
        return False
    if names & _PERMANENT_SQL_ERRORS:
        return True
    return getattr(exc, "sqlite_errorname", None) == "SQLITE_ERROR"


def classify(exc: BaseException, *, non_retryable: bool = False) -> ErrorInfo:
    """Classify an exception for the error log.

    :param exc: the failure.
    :param non_retryable: the caller already knows no retry can help (for example Airflow's
        fail-fast exception).
    """
    engine_error = engine_error_of(exc)
    if engine_error is not None:
        # A fail-fast wrapper says no retry will happen; the engine error says why it failed.
        return ErrorInfo(
            engine_error.code,
            type(engine_error).__name__,
            mask_secrets(str(engine_error))[:MAX_MESSAGE],
            engine_error.retryable and not non_retryable,
        )
    name = type(exc).__name__
    message = mask_secrets(str(exc) or name)[:MAX_MESSAGE]
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "InvalidParameters" in names:
        return ErrorInfo("INVALID_PARAMETERS", name, message, False)
    if sql_error_is_permanent(exc):
        return ErrorInfo("SQL_ERROR", name, message, False)
    if isinstance(exc, TimeoutError) or "Timeout" in name or "TaskDeferralTimeout" in names:
        return ErrorInfo("TIMEOUT", name, message, not non_retryable)
    if isinstance(exc, (ConnectionError, socket.gaierror)) or "OperationalError" in names:
        return ErrorInfo("CONNECTION", name, message, not non_retryable)
    if non_retryable:
        return ErrorInfo("NON_RETRYABLE", name, message, False)
    return ErrorInfo("TASK_ERROR", name, message, True)
