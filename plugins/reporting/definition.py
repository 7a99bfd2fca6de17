"""Report definitions: the pydantic v2 model of one ``include/reports/*.yaml`` file."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reporting.durations import Duration
# The engine models are re-exported: callers import every definition model from here.
from reporting.engines import (  # noqa: F401
    HttpEngine,
    MidasEngine,
    ObieeEngine,
    PowerBiEngine,
    ReportFormat,
    SsrsEngine,
)
from reporting.naming import TemplateError, check_template, expand_env
ParameterType = Literal["string", "integer", "number", "boolean", "date", "datetime"]

_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# conf keys a request carries beside the report's own parameters (see the intake issue)
RESERVED_CONF_KEYS = frozenset(
    {"request_id", "parameters", "distribution", "priority", "trigger_type", "requested_by"}
)
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
PRESETS = frozenset({"@once", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"})
# minute, hour, day of month, month, day of week
_CRON_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_CRON_FIELD = re.compile(r"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(/\d+)?$")
# the only words a field may hold: month and weekday names, and 'L' (last day of the month)
_CRON_NAMES = (
    frozenset(),
    frozenset(),
    frozenset({"L"}),
    frozenset({"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}),
    frozenset({"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}),
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# --- engines: a discriminated union on `type`; later engines add a member here --------------


class SqlEngine(_Model):
    """Run a SQL file through a common-sql connection and render its rows.

    :param conn_id: the Airflow connection the query runs on.
    :param sql: the SQL file, relative to ``include/sql/``, with ``:name`` bind parameters.
    :param batch_size: rows fetched per round trip; memory stays at about one batch.
    """

    type: Literal["sql"]
    conn_id: str = Field(min_length=1)
    sql: str = Field(min_length=1)
    batch_size: int = Field(default=10_000, ge=1, le=1_000_000)

    @field_validator("sql")
    @classmethod
    def _relative_sql_path(cls, value: str) -> str:
        if value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/"):
            raise ValueError("must be a path inside include/sql/ (no absolute path, no '..')")
        if not value.endswith(".sql"):
            raise ValueError("must name a .sql file")
        return value


Engine = Annotated[
    Union[SqlEngine, ObieeEngine, PowerBiEngine, SsrsEngine, MidasEngine], Field(discriminator="type")
]


# --- parameters -----------------------------------------------------------------------------


def _coerce(kind: ParameterType, value: Any) -> Any:
    """Coerce one value to a parameter type, or raise ValueError saying what was expected."""
    if kind == "string":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
    elif kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
    elif kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    elif kind == "datetime":
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            # YAML reads an unquoted 2026-01-01 as a date; as a datetime it means midnight.
            return datetime(value.year, value.month, value.day)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
    article = "an" if kind[0] in "aeiou" else "a"
    raise ValueError(f"expected {article} {kind}, got {value!r}")


class ParameterSpec(_Model):
    """One run parameter: shown in the Airflow trigger form and bound into the query.

    :param type: string, integer, number, boolean, date or datetime.
    :param default: the value used when a run does not give one.
    :param required: a run must supply a value (or the default applies).
    :param allowed_values: the only values accepted, shown as a drop-down.
    :param description: help text in the trigger form.
    """

    # Field order matters: each validator below reads the fields declared before it.
    type: ParameterType = "string"
    allowed_values: list[Any] | None = Field(default=None, min_length=1)
    default: Any = None
    required: bool = False
    description: str = ""

    @field_validator("allowed_values")
    @classmethod
    def _typed_allowed_values(cls, values: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if values is None or "type" not in info.data:
            return values
        return [_coerce(info.data["type"], value) for value in values]

    @field_validator("default")
    @classmethod
    def _typed_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or "type" not in info.data:
            return value
        coerced = _coerce(info.data["type"], value)
        allowed = info.data.get("allowed_values")
        if allowed is not None and coerced not in allowed:
            raise ValueError(f"{value!r} is not one of the allowed values {allowed!r}")
        return coerced

    def coerce(self, value: Any) -> Any:
        """Coerce and check one supplied value.

        :param value: the raw value from YAML, the trigger form or a request's conf.
        """
        coerced = _coerce(self.type, value)
        if self.allowed_values is not None and coerced not in self.allowed_values:
            raise ValueError(f"{value!r} is not one of the allowed values {self.allowed_values!r}")
        return coerced


# --- schedule ---------------------------------------------------------------------------------


def _check_cron(expr: str) -> None:
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expr!r} is neither a preset ({', '.join(sorted(PRESETS))}) nor a 5-field cron expression"
        )
    for text, (low, high), names, label in zip(
        fields, _CRON_BOUNDS, _CRON_NAMES, ("minute", "hour", "day of month", "month", "day of week"), strict=True
    ):
        for part in text.split(","):
            if not _CRON_FIELD.match(part) or any(
                not word.isdigit() and word.upper() not in names for word in re.findall(r"[0-9A-Za-z]+", part)
            ):
                raise ValueError(f"{expr!r}: cron {label} field {text!r} is malformed")
            for number in re.findall(r"(?<![/\d])\d+", part):
                if not low <= int(number) <= high:
                    raise ValueError(f"{expr!r}: cron {label} value {number} is outside {low}-{high}")


class Schedule(_Model):
    """When the report runs on its own.

    :param cron: a 5-field cron expression or a preset such as ``@daily``.
    :param timezone: the IANA time zone the cron is read in.
    :param start_date: the first date the schedule may fire.
    :param catchup: run the intervals missed since ``start_date``.
    """

    cron: str
    timezone: str = "UTC"
    start_date: date = date(2024, 1, 1)
    catchup: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if value not in PRESETS:
            _check_cron(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from None
        return value


# --- distribution: a discriminated union on `type`; later targets add a member here -----------


_TARGET_NAME = r"^[A-Za-z0-9_.\-]{1,100}$"
_CONN_ID = r"^[A-Za-z0-9_.\-]{1,250}$"
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_SMB_SHARE = re.compile(r"^[A-Za-z0-9_.$\- ]{1,80}$")


def _safe_directory(value: str, *, absolute: bool) -> str:
    """Refuse traversal, NUL/control characters and (if asked) relative directories."""
    if any(ord(ch) < 32 for ch in value) or "\\" in value:
        raise ValueError("must not contain control characters or backslashes")
    if absolute and not value.startswith("/"):
        raise ValueError("must be an absolute directory path")
    if not absolute and value.startswith("/"):
        raise ValueError("must be relative to the share (no leading '/')")
    if ".." in value.split("/"):
        raise ValueError("must not contain '..'")
    return value


class LocalTarget(_Model):
    """Deliver into a local or mounted (NAS/NFS) directory.

    :param name: the target's key in delivery records; defaults to ``local_<index>``.
    :param path: an absolute directory; created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    """

    type: Literal["local"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    path: str = Field(min_length=1)
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]

    @property
    def conn_id(self) -> None:
        """Local folders need no connection."""
        return None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        # Checked on the raw text: the ${VAR} form is resolved on the worker that delivers.
        if not value.startswith(("/", "${")) or "\x00" in value:
            raise ValueError("must be an absolute directory path (it may start with ${VAR} or ${VAR:-default})")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        return value

    def resolved_path(self, environ: Mapping[str, str]) -> str:
        """The directory with ``${VAR}``/``${VAR:-default}`` read from an environment.

        :param environ: the environment of the process that delivers (``os.environ``).
        """
        path = expand_env(self.path, environ)
        if not path.startswith("/") or ".." in path.split("/") or "\x00" in path:
            raise ValueError(f"target path {self.path!r} resolves to {path!r}, not a safe absolute directory")
        return path


class S3Target(_Model):
    """Write each artifact to an S3 key; the object's metadata carries its SHA-256.

    :param name: the target's key in delivery records; defaults to ``s3_<index>``.
    :param conn_id: the Airflow AWS connection.
    :param bucket: the bucket.
    :param key: the object-key template; ``/`` separates segments, each sanitised.
    :param formats: deliver only these formats (default: all the report's formats).
    """

    type: Literal["s3"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="aws_default", pattern=_CONN_ID)
    bucket: str
    key: str = "{report_id}/{run_date}/{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str) -> str:
        if not _S3_BUCKET.match(value) or ".." in value:
            raise ValueError("is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
        return value

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("key", self.key, "key")]


class SftpTarget(_Model):
    """Upload each artifact over SFTP to a temporary name, then rename it into place.

    :param name: the target's key in delivery records; defaults to ``sftp_<index>``.
    :param conn_id: the Airflow SSH/SFTP connection.
    :param directory: the absolute remote directory; created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    """

    type: Literal["sftp"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="sftp_default", pattern=_CONN_ID)
    directory: str = Field(min_length=1)
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return _safe_directory(value, absolute=True)

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]


class SmbTarget(_Model):
    """Write each artifact to an SMB/NAS share under a temporary name, then rename it into place.

    :param name: the target's key in delivery records; defaults to ``smb_<index>``.
    :param conn_id: the Airflow Samba connection.
    :param share: the share name.
    :param directory: the directory inside the share (``""`` for its root); created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    """

    type: Literal["smb"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="samba_default", pattern=_CONN_ID)
    share: str
    directory: str = ""
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    @field_validator("share")
    @classmethod
    def _valid_share(cls, value: str) -> str:
        if not _SMB_SHARE.match(value):
            raise ValueError("is not a valid share name (letters, digits, space, '_', '.', '$', '-')")
        return value

    @field_validator("directory")
    @classmethod
    def _relative(cls, value: str) -> str:
        return _safe_directory(value.strip("/") if value == "/" else value, absolute=False)

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]


class EmailTarget(_Model):
    """Send the artifacts in one message: attached, or as links when too big (or asked to).

    :param name: the target's key in delivery records; defaults to ``email_<index>``.
    :param conn_id: the Airflow SMTP connection.
    :param to: recipients.
    :param cc: copy recipients.
    :param bcc: blind-copy recipients.
    :param subject: the subject template (one line; control characters are refused).
    :param body: the HTML body template (values are HTML-escaped).
    :param mode: ``attach`` the files, or send a ``link`` to each.
    :param max_attachment_bytes: above this total size, links are sent instead of attachments.
    :param link_expiry: how long a presigned link stays valid.
    :param formats: send only these formats (default: all the report's formats).
    """

    type: Literal["email"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="smtp_default", pattern=_CONN_ID)
    to: list[str] = Field(min_length=1, max_length=100)
    cc: list[str] = Field(default_factory=list, max_length=100)
    bcc: list[str] = Field(default_factory=list, max_length=100)
    subject: str = Field(default="{title} {run_date}", min_length=1, max_length=500)
    body: str = "<p>{title} for {run_date} (request {request_id}).</p>"
    mode: Literal["attach", "link"] = "attach"
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    link_expiry: Duration = timedelta(days=7)
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _single_addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.match(value) or any(ord(ch) < 32 for ch in value):
                raise ValueError(f"{value!r} is not a single e-mail address")
        return values

    @field_validator("link_expiry")
    @classmethod
    def _expiry_in_range(cls, value: timedelta) -> timedelta:
        # S3 presigned URLs made with SigV4 are valid for at most 7 days.
        if not timedelta(minutes=1) <= value <= timedelta(days=7):
            raise ValueError("must be between 1 minute and 7 days")
        return value

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("subject", self.subject, "header"), ("body", self.body, "text")]

    def recipients(self) -> list[str]:
        """Every address the message goes to."""
        return [*self.to, *self.cc, *self.bcc]


Target = Annotated[Union[LocalTarget, S3Target, SftpTarget, SmbTarget, EmailTarget], Field(discriminator="type")]
TargetType = Literal["local", "s3", "sftp", "smb", "email"]


# --- notifications, retries -------------------------------------------------------------------


_AMQP_NAME = r"^[A-Za-z0-9_.:\-]{1,200}$"


class QueueChannel(_Model):
    """The message-queue channel (RabbitMQ): durable exchange, event queue and dead-letter queue.

    :param conn_id: the Airflow connection of the broker (``amqp``: host, port, login, password, vhost as schema).
    :param exchange: the durable exchange events are published to.
    :param exchange_type: ``direct`` or ``topic``.
    :param routing_key: the routing key of completion events.
    :param queue: the durable queue bound to ``routing_key``.
    :param dead_letter_routing_key: the routing key of failure events.
    :param dead_letter_queue: the durable queue bound to ``dead_letter_routing_key``.
    """

    conn_id: str = Field(default="rabbitmq_default", pattern=_CONN_ID)
    exchange: str = Field(default="reports", pattern=_AMQP_NAME)
    exchange_type: Literal["direct", "topic"] = "direct"
    routing_key: str = Field(default="report.completed", pattern=_AMQP_NAME)
    queue: str = Field(default="report-events", pattern=_AMQP_NAME)
    dead_letter_routing_key: str = Field(default="report.failed", pattern=_AMQP_NAME)
    dead_letter_queue: str = Field(default="report-events-dead-letter", pattern=_AMQP_NAME)


class Notifications(_Model):
    """Who hears about a run.

    :param emails: stakeholder addresses.
    :param on_success: notify when the report is delivered.
    :param on_failure: notify when the request fails for good.
    :param smtp_conn_id: the SMTP connection stakeholder mail goes through; without it the
        mail is only logged.
    :param queue: the message-queue channel; without it events are only logged.
    """

    emails: list[str] = Field(default_factory=list)
    on_success: bool = True
    on_failure: bool = True
    smtp_conn_id: str | None = Field(default=None, pattern=_CONN_ID)
    queue: QueueChannel | None = None

    @field_validator("emails")
    @classmethod
    def _valid_emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.match(value):
                raise ValueError(f"{value!r} is not a single e-mail address")
        return values


_ERROR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _error_names(values: list[str]) -> list[str]:
    for value in values:
        if not _ERROR_NAME.match(value):
            raise ValueError(f"{value!r} is not an exception class name (ConnectionError) or dotted path (requests.HTTPError)")
    return values


class RetryOverride(_Model):
    """Retry settings of one kind of task; anything left out comes from the report's ``retry``.

    :param retries: retries after the first attempt.
    :param retry_delay: the delay before the first retry.
    :param backoff_multiplier: 0 = constant delay, 2.0 = doubling.
    :param max_retry_delay: the cap on any one delay.
    :param retryable_errors: exception classes that are retried.
    :param non_retryable_errors: exception classes that fail at once.
    """

    retries: int | None = Field(default=None, ge=0, le=100)
    retry_delay: Duration | None = None
    backoff_multiplier: float | None = Field(default=None, ge=0, le=100)
    max_retry_delay: Duration | None = None
    retryable_errors: list[str] | None = None
    non_retryable_errors: list[str] | None = None

    @field_validator("retryable_errors", "non_retryable_errors")
    @classmethod
    def _valid_names(cls, values: list[str] | None) -> list[str] | None:
        return values if values is None else _error_names(values)


class RetryPolicy(_Model):
    """Airflow-native retries. Defaults (seed 004): 3 attempts, 1 s first delay doubling up to 60 s.

    The seed-000 schedule (15 minutes, growing with each attempt, 4 attempts) is
    ``retries: 3, retry_delay: 15m, backoff_multiplier: 2.0, max_retry_delay: 2h``.

    :param retries: retries after the first attempt (0 disables retrying).
    :param retry_delay: the delay before the first retry.
    :param backoff_multiplier: Airflow's ``retry_exponential_backoff`` (0 = constant delay, 2.0 = doubling).
    :param max_retry_delay: the cap on any one delay.
    :param retryable_errors: exception class names (or dotted paths) that are retried even if
        they would otherwise fail at once.
    :param non_retryable_errors: exception class names (or dotted paths) that fail at once.
    :param engine: overrides for the generate task.
    :param distribution: overrides for the delivery tasks.
    :param notification: overrides for the notify task.
    """

    retries: int = Field(default=2, ge=0, le=100)
    retry_delay: Duration = timedelta(seconds=1)
    backoff_multiplier: float = Field(default=2.0, ge=0, le=100)
    max_retry_delay: Duration = timedelta(seconds=60)
    retryable_errors: list[str] = Field(default_factory=list)
    non_retryable_errors: list[str] = Field(default_factory=list)
    engine: RetryOverride | None = None
    distribution: RetryOverride | None = None
    notification: RetryOverride | None = None

    @field_validator("retryable_errors", "non_retryable_errors")
    @classmethod
    def _valid_names(cls, values: list[str]) -> list[str]:
        return _error_names(values)

    @model_validator(mode="after")
    def _cap_not_below_delay(self) -> RetryPolicy:
        for kind in ("", "engine", "distribution", "notification"):
            policy = self.for_task(kind) if kind else self
            if policy.max_retry_delay < policy.retry_delay:
                where = f"{kind}." if kind else ""
                raise ValueError(f"{where}max_retry_delay must not be shorter than {where}retry_delay")
        return self

    def for_task(self, kind: str) -> RetryPolicy:
        """The settings of one kind of task: the report's, with that kind's overrides applied.

        :param kind: ``engine``, ``distribution`` or ``notification``.
        """
        override = getattr(self, kind)
        base = self.model_dump(exclude={"engine", "distribution", "notification"})
        if override is not None:
            base.update({k: v for k, v in override.model_dump().items() if v is not None})
        return RetryPolicy.model_construct(**base)


class OverridePolicy(_Model):
    """What a request's own distribution (``conf.distribution``) may do; nothing by default.

    :param allowed_types: target types a request may add (empty: no overrides at all).
    :param allow_replace: a request may replace the definition's targets instead of adding to them.
    :param allowed_conn_ids: connections an added s3/sftp/smb/email target may use.
    :param allowed_hosts: when given, the host of each such connection must be one of these.
    :param allowed_email_domains: domains every added e-mail recipient must belong to.
    :param allowed_paths: directories an added local target must lie under.
    :param max_targets: the most targets a request may add.
    """

    allowed_types: list[TargetType] = Field(default_factory=list)
    allow_replace: bool = False
    allowed_conn_ids: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_email_domains: list[str] = Field(default_factory=list)
    allowed_paths: list[str] = Field(default_factory=list)
    max_targets: int = Field(default=5, ge=1, le=50)

    @field_validator("allowed_paths")
    @classmethod
    def _absolute_paths(cls, values: list[str]) -> list[str]:
        for value in values:
            _safe_directory(value, absolute=True)
        return [value.rstrip("/") or "/" for value in values]

    @field_validator("allowed_email_domains", "allowed_hosts")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [value.lower() for value in values]


# --- the definition -----------------------------------------------------------------------------


class ReportDefinition(_Model):
    """One report: what it runs, with which parameters, when, and where the files go.

    :param id: the report id; the DAG is ``report__<id>``.
    :param title: shown on the PDF and in the DAG list.
    :param description: markdown shown as the DAG's documentation.
    :param owner: the team answerable for the report (the DAG owner).
    :param tags: DAG tags, besides ``report`` and the engine type.
    :param engine: how the report is generated.
    :param parameters: run parameters by name.
    :param formats: the artifacts produced.
    :param schedule: when it runs on its own; absent means manual/API/ad hoc only.
    :param priority: 1 (lowest) to 10 (highest); higher runs first.
    :param distribution: where the artifacts are delivered.
    :param distribution_overrides: what a request's own distribution may add or replace.
    :param notifications: who hears about runs.
    :param retry: the retry policy of every task.
    :param execution_timeout: the longest any one task may run.
    """

    id: str
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    owner: str = Field(min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list)
    engine: Engine
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    formats: list[ReportFormat] = Field(min_length=1)
    schedule: Schedule | None = None
    priority: int = Field(default=5, ge=1, le=10)
    distribution: list[Target] = Field(min_length=1)
    distribution_overrides: OverridePolicy = Field(default_factory=OverridePolicy)
    notifications: Notifications = Field(default_factory=Notifications)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    execution_timeout: Duration = timedelta(hours=1)
    run_timeout: Duration = timedelta(hours=6)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must start with a lower-case letter and use only a-z, 0-9 and _ (at most 100)")
        return value

    @field_validator("formats", mode="before")
    @classmethod
    def _lower_formats(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.lower() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("formats")
    @classmethod
    def _unique_formats(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a format twice")
        return value

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not tag or len(tag) > 100:
                raise ValueError(f"tag {tag!r} must be 1-100 characters")
        return value

    @field_validator("parameters")
    @classmethod
    def _valid_parameter_names(cls, value: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        for name in value:
            if not _PARAM_NAME.match(name):
                raise ValueError(f"parameter name {name!r} must be an identifier (letters, digits, _)")
            if name in RESERVED_CONF_KEYS:
                raise ValueError(f"parameter name {name!r} is reserved for request fields")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ReportDefinition:
        if self.execution_timeout <= timedelta(0):
            raise _field_error("execution_timeout", "must be longer than zero")
        if self.schedule is not None:
            for name, spec in self.parameters.items():
                if spec.required and spec.default is None:
                    raise _field_error(
                        f"parameters.{name}",
                        "is required and has no default, so a scheduled run could never fill it",
                    )
        names = frozenset(self.parameters)
        if isinstance(self.engine, HttpEngine):
            for name in self.engine.parameter_map:
                if name not in names:
                    raise _field_error("engine.parameter_map", f"{name!r} is not a declared parameter")
        seen_keys: dict[str, int] = {}
        for index, target in enumerate(self.distribution):
            for field, template, kind in target.templates():
                try:
                    check_template(template, names, kind)
                except TemplateError as exc:
                    raise _field_error(f"distribution[{index}].{field}", str(exc)) from None
            for fmt in target.formats or ():
                if fmt not in self.formats:
                    raise _field_error(
                        f"distribution[{index}].formats", f"{fmt!r} is not among the report's formats"
                    )
            key = self.target_key(index)
            if key in seen_keys:
                raise _field_error(f"distribution[{index}].name", f"{key!r} is already used by target {seen_keys[key]}")
            seen_keys[key] = index
        return self

    @property
    def dag_id(self) -> str:
        """The id of this report's DAG."""
        return f"report__{self.id}"

    def target_key(self, index: int) -> str:
        """The stable key of one distribution target (its ``name``, or ``<type>_<index>``).

        :param index: the target's position in ``distribution``.
        """
        target = self.distribution[index]
        return target.name or f"{target.type}_{index}"

    def resolve_parameters(self, supplied: dict[str, Any] | None) -> dict[str, Any]:
        """Merge a run's values with the defaults, coerce them, and refuse unknown or missing ones.

        :param supplied: the run's parameter values (from the trigger form, conf or a request row).
        """
        supplied = dict(supplied or {})
        problems: list[str] = []
        unknown = sorted(set(supplied) - set(self.parameters))
        problems.extend(f"parameters.{name}: not a parameter of report {self.id!r}" for name in unknown)
        resolved: dict[str, Any] = {}
        for name, spec in self.parameters.items():
            value = supplied.get(name)
            if value is None or value == "":
                if spec.required and spec.default is None:
                    problems.append(f"parameters.{name}: a value is required")
                resolved[name] = spec.default
                continue
            try:
                resolved[name] = spec.coerce(value)
            except ValueError as exc:
                problems.append(f"parameters.{name}: {exc}")
        if problems:
            raise InvalidParameters(problems)
        return resolved


class InvalidParameters(ValueError):
    """A run's parameters do not fit the definition; ``problems`` names each field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _field_error(path: str, message: str) -> ValueError:
    # A model-level check has no location of its own; the loader prints this prefix as the path.
    return ValueError(f"{path}: {message}")
