"""The report definition: the model of one ``include/reports/*.yaml`` file."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from reporting.constants import DAG_PREFIX
from reporting.definition.base import DefinitionModel, ReportFormat, matching
from reporting.definition.engines import Engine, HttpEngine
from reporting.definition.notifications import Notifications
from reporting.definition.overrides import OverridePolicy
from reporting.definition.parameters import RESERVED_CONF_KEYS, InvalidParameters, ParameterSpec
from reporting.definition.presentation import (
    MAX_CHARTS,
    MAX_COLUMNS,
    MAX_GROUP_LEVELS,
    Aggregate,
    ChartSpec,
    ColumnSpec,
    CsvOptions,
    EmailBody,
    Layout,
    Presentation,
)
from reporting.definition.retry import RetryPolicy
from reporting.definition.schedule import Schedule
from reporting.definition.targets import Target
from reporting.durations import Duration
from reporting.limits import MAX_PARAMETERS, quote
from reporting.naming import TemplateError, check_template

_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class ReportDefinition(DefinitionModel):
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
    :param columns: per query column, its label, format, alignment, width and visibility.
    :param group_by: columns whose changes start a group with a subtotal row (outermost first).
    :param totals: per column, the aggregate of the subtotal and grand-total rows.
    :param charts: charts drawn from the rows (PDF and XLSX).
    :param layout: the PDF page: subtitle, logo, header, footer, size, orientation, fonts.
    :param csv: the CSV file's encoding and whether it holds formatted values.
    :param email_body: the mail body's template and how many rows it previews.
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
    columns: dict[str, ColumnSpec] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    group_by: list[str] = Field(default_factory=list, max_length=MAX_GROUP_LEVELS)
    totals: dict[str, Aggregate] = Field(default_factory=dict, max_length=MAX_COLUMNS)
    charts: list[ChartSpec] = Field(default_factory=list, max_length=MAX_CHARTS)
    layout: Layout = Field(default_factory=Layout)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    email_body: EmailBody = Field(default_factory=EmailBody)

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return matching(_ID, value, "must start with a lower-case letter and use only a-z, 0-9 and _ (at most 100)")

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
                raise ValueError(f"tag {quote(tag)} must be 1-100 characters")
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _not_too_many_parameters(cls, value: Any) -> Any:
        # Counted before any parameter is validated: 10,000 of them would each cost a model.
        if isinstance(value, dict) and len(value) > MAX_PARAMETERS:
            raise ValueError(f"declares {len(value):,} parameters; a definition may declare at most {MAX_PARAMETERS}")
        return value

    @field_validator("parameters")
    @classmethod
    def _valid_parameter_names(cls, value: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        for name in value:
            if not _PARAM_NAME.match(name):
                raise ValueError(f"parameter name {quote(name)} must be an identifier (letters, digits, _)")
            if name in RESERVED_CONF_KEYS:
                raise ValueError(f"parameter name {quote(name)} is reserved for request fields")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ReportDefinition:
        problems: list[str] = []
        if self.execution_timeout <= timedelta(0):
            problems.append(_problem("execution_timeout", "must be longer than zero"))
        if self.schedule is not None:
            for name, spec in self.parameters.items():
                if spec.required and spec.default is None:
                    problems.append(
                        _problem(
                            f"parameters.{name}",
                            "is required and has no default, so a scheduled run could never fill it",
                        )
                    )
        names = frozenset(self.parameters)
        if isinstance(self.engine, HttpEngine):
            for name in self.engine.parameter_map:
                if name not in names:
                    problems.append(_problem("engine.parameter_map", f"{quote(name)} is not a declared parameter"))
        if self.engine.type != "sql":
            for field in ("columns", "group_by", "totals", "charts"):
                if getattr(self, field):
                    problems.append(
                        _problem(
                            field, f"applies only to reports rendered here (engine type sql), not {self.engine.type}"
                        )
                    )
        if len(set(self.group_by)) != len(self.group_by):
            problems.append(_problem("group_by", "names a column twice"))
        seen_keys: dict[str, int] = {}
        for index, target in enumerate(self.distribution):
            for field, template, kind in target.templates():
                try:
                    self.check_template(template, kind)
                except TemplateError as exc:
                    problems.append(_problem(f"distribution[{index}].{field}", str(exc)))
            for fmt in target.formats or ():
                if fmt not in self.formats:
                    problems.append(
                        _problem(f"distribution[{index}].formats", f"{quote(fmt)} is not among the report's formats")
                    )
            key = self.target_key(index)
            if key in seen_keys:
                problems.append(
                    _problem(f"distribution[{index}].name", f"{quote(key)} is already used by target {seen_keys[key]}")
                )
            seen_keys.setdefault(key, index)
        if problems:
            # One error carrying every problem, a line each: the loader lists them all at once.
            raise ValueError("\n".join(problems))
        return self

    def check_template(self, template: str, kind: str) -> None:
        """Check one of this report's templates: the language, its fields and parameters, its rendered length.

        Names are bounded with this report's own id and title and, for a parameter with allowed
        values, the longest of them; other parameter values are bounded when a run renders them.

        :param template: the template.
        :param kind: ``filename``, ``key``, ``header`` or ``text``.
        :raises TemplateError: saying what is wrong.
        """
        values = {name: spec.allowed_values for name, spec in self.parameters.items()}
        check_template(template, values, kind, report_id=self.id, title=self.title)

    @property
    def presentation(self) -> Presentation:
        """How the files rendered here read: the columns, groups, totals, charts, layout, CSV and mail blocks."""
        return Presentation(
            columns=self.columns,
            group_by=self.group_by,
            totals=self.totals,
            charts=self.charts,
            layout=self.layout,
            csv=self.csv,
            email_body=self.email_body,
        )

    @property
    def dag_id(self) -> str:
        """The id of this report's DAG."""
        return f"{DAG_PREFIX}{self.id}"

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
        problems.extend(f"parameters.{name}: not a parameter of report {quote(self.id)}" for name in unknown)
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


def _problem(path: str, message: str) -> str:
    # A model-level check has no location of its own; the loader prints this prefix as the path.
    return f"{path}: {message}"
