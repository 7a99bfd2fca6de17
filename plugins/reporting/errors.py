"""Error classification: what a failure is called in the error log and whether a retry may help."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

MAX_MESSAGE = 2000

# Text that looks like a credential is masked before a message reaches a log table.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)([^\s,;&'\"]+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@/\s]+)(@)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._\-]+)"),
)


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


def mask_secrets(text: str) -> str:
    """Mask credential-looking values (``password=...``, ``user:pass@host``, bearer tokens).

    :param text: any message.
    """
    # Bearer first: "Authorization: Bearer x" would otherwise mask only the word "Bearer".
    text = _SECRET_PATTERNS[2].sub(r"\1***", text)
    text = _SECRET_PATTERNS[0].sub(r"\1\2***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***\3", text)


def classify(exc: BaseException, *, non_retryable: bool = False) -> ErrorInfo:
    """Classify an exception for the error log.

    :param exc: the failure.
    :param non_retryable: the caller already knows no retry can help (for example Airflow's
        fail-fast exception).
    """
    name = type(exc).__name__
    message = mask_secrets(str(exc) or name)[:MAX_MESSAGE]
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "InvalidParameters" in names:
        return ErrorInfo("INVALID_PARAMETERS", name, message, False)
    if isinstance(exc, TimeoutError) or "Timeout" in name or "TaskDeferralTimeout" in names:
        return ErrorInfo("TIMEOUT", name, message, not non_retryable)
    if isinstance(exc, (ConnectionError, socket.gaierror)) or "OperationalError" in names:
        return ErrorInfo("CONNECTION", name, message, not non_retryable)
    if non_retryable:
        return ErrorInfo("NON_RETRYABLE", name, message, False)
    return ErrorInfo("TASK_ERROR", name, message, True)
