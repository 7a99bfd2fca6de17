"""Engine models: how a report is generated (SQL through a connection, or one of the BI engines over HTTP).

Each HTTP engine model names the Airflow connection, what to run on the engine, how the report's
formats map onto the engine's format names and how its parameters are named there. Every model
joins the ``Engine`` union, a discriminated union on ``type``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from reporting.definition.base import DefinitionModel, ReportFormat, matching
from reporting.durations import Duration
from reporting.limits import quote

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ENGINE_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,127}$")
_MIDAS_REPORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class SqlEngine(DefinitionModel):
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
        problem = sql_path_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def sql_path_problem(value: str) -> str | None:
    """What is wrong with the path of a SQL file, if anything: it must be a ``.sql`` file inside ``include/sql/``.

    :param value: the path as written in the definition.
    """
    if value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/"):
        return "must be a path inside include/sql/ (no absolute path, no '..')"
    if not value.endswith(".sql"):
        return "must name a .sql file"
    if "\x00" in value:
        return "must not contain NUL"
    return None


class HttpEngine(DefinitionModel):
    """Fields every HTTP report engine shares.

    :param conn_id: the Airflow connection holding the engine's URL and credentials.
    :param format_map: the engine's name for each report format.
    :param parameter_map: the engine's name for a report parameter, when it differs.
    :param timeout: the longest wait for one HTTP response.
    """

    DEFAULT_FORMATS: ClassVar[dict[str, str]] = {"pdf": "pdf", "xlsx": "xlsx", "csv": "csv"}

    conn_id: str = Field(min_length=1)
    format_map: dict[ReportFormat, str] = Field(default_factory=dict, validate_default=True)
    parameter_map: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = timedelta(minutes=5)

    @field_validator("format_map")
    @classmethod
    def _with_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        for fmt, name in value.items():
            if not name:
                raise ValueError(f"{fmt}: the engine's format name cannot be empty")
        return {**cls.DEFAULT_FORMATS, **value}

    @field_validator("parameter_map")
    @classmethod
    def _engine_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, engine_name in value.items():
            if not _ENGINE_PARAM.match(engine_name):
                raise ValueError(f"{name}: {quote(engine_name)} is not a valid engine parameter name")
        return value

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than zero")
        return value

    def engine_parameters(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The run's parameters under the engine's names, as text; unset (None) values are left out.

        :param values: the run's resolved, typed parameter values.
        """
        return {
            self.parameter_map.get(name, name): parameter_text(value)
            for name, value in values.items()
            if value is not None
        }


def parameter_text(value: Any) -> str:
    """A parameter value as engines expect it in URLs and JSON: ISO dates, lower-case booleans.

    :param value: a typed parameter value.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _catalog_path(value: str) -> str:
    if not value.startswith("/") or value.endswith("/"):
        raise ValueError("must be an absolute catalog path such as '/Finance/Daily Sales'")
    if ".." in value.split("/") or "//" in value or any(ord(c) < 32 for c in value):
        raise ValueError("must not contain '..', '//' or control characters")
    return value


class ObieeEngine(HttpEngine):
    """An Oracle BI Publisher (OBIEE) report run through its REST API.

    :param report_path: the catalog path, e.g. ``/Finance/Sales Detail.xdo``.
    :param template: the layout template (``attributeTemplate``); the report's default when absent.
    :param locale: the output locale (``attributeLocale``), e.g. ``en-GB``.
    :param by_pass_cache: ask the server for fresh data (``byPassCache``).
    """

    type: Literal["obiee"]
    report_path: str = Field(min_length=2)
    template: str | None = None
    locale: str | None = None
    by_pass_cache: bool = True

    @field_validator("report_path")
    @classmethod
    def _catalog(cls, value: str) -> str:
        return _catalog_path(value)


class PowerBiEngine(HttpEngine):
    """A Power BI paginated report exported with the Export To File API.

    :param workspace_id: the workspace (group) GUID.
    :param report_id: the report GUID.
    :param poll_interval: the wait between status checks when the service gives no ``Retry-After``.
    """

    DEFAULT_FORMATS: ClassVar[dict[str, str]] = {"pdf": "PDF", "xlsx": "XLSX", "csv": "CSV"}

    type: Literal["powerbi"]
    workspace_id: str
    report_id: str
    poll_interval: Duration = timedelta(seconds=30)

    @field_validator("workspace_id", "report_id")
    @classmethod
    def _guid(cls, value: str) -> str:
        if not _GUID.match(value):
            raise ValueError(f"{quote(value)} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        return value.lower()


class SsrsEngine(HttpEngine):
    """A SQL Server Reporting Services report rendered through URL access.

    :param report_path: the report's folder path on the report server, e.g. ``/Finance/Inventory``.
    """

    DEFAULT_FORMATS: ClassVar[dict[str, str]] = {"pdf": "PDF", "xlsx": "EXCELOPENXML", "csv": "CSV"}

    type: Literal["ssrs"]
    report_path: str = Field(min_length=2)

    @field_validator("report_path")
    @classmethod
    def _ssrs_path(cls, value: str) -> str:
        _catalog_path(value)
        if any(c in value for c in "?&=#"):
            raise ValueError("must not contain '?', '&', '=' or '#' (they would change the URL access command)")
        return value


class MidasEngine(HttpEngine):
    """A report run as a job on MIDAS, the in-house engine (see plugins/hooks/MIDAS_API.md).

    :param report: the MIDAS report name.
    :param poll_interval: the wait between status checks when MIDAS gives no ``Retry-After``.
    """

    type: Literal["midas"]
    report: str
    poll_interval: Duration = timedelta(seconds=15)

    @field_validator("report")
    @classmethod
    def _report_name(cls, value: str) -> str:
        return matching(_MIDAS_REPORT, value, "must use only letters, digits, '_', '.' and '-' (at most 128)")


Engine = Annotated[SqlEngine | ObieeEngine | PowerBiEngine | SsrsEngine | MidasEngine, Field(discriminator="type")]
