"""One Airflow DAG per report definition in include/reports/ (DAG id ``report__<id>``).

Wiring only: definitions are read from local files; no database or network call happens
while this file is parsed. A broken definition is skipped here (the good reports still load)
and reported by ``report_definitions_check.py`` as an import error in the Airflow UI.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from airflow.sdk import DAG, Param, get_parsing_context

from operators.claim import ClaimRequestOperator, RunTargetsOperator
from operators.distribute import DistributeOperator
from operators.finalize import FinalizeOperator
from operators.generate.base import ReportEngineOperator
from operators.generate.bi_publisher import BiPublisherReportOperator
from operators.generate.midas import MidasReportOperator
from operators.generate.power_bi import PowerBiReportOperator
from operators.generate.sql import SqlReportOperator
from operators.generate.ssrs import SsrsReportOperator
from operators.notify import NotifyOperator
from report_runtime.callbacks import on_task_failure, on_task_retry, on_task_skipped, on_task_success
from report_runtime.retry import retry_args
from report_runtime.schedules import build_schedule, check_schedule
from reporting.constants import DAG_PREFIX
from reporting.definition import ParameterSpec, ReportDefinition
from reporting.durations import format_duration
from reporting.loader import DefinitionError, LoadResult, load_definitions, reports_dir, unexpected_problem

log = logging.getLogger(__name__)

ENGINE_OPERATORS: dict[str, type[ReportEngineOperator]] = {
    "sql": SqlReportOperator,
    "obiee": BiPublisherReportOperator,
    "powerbi": PowerBiReportOperator,
    "ssrs": SsrsReportOperator,
    "midas": MidasReportOperator,
}

_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_STRING_FORMATS = {"date": "date", "datetime": "date-time"}


def build_param(name: str, spec: ParameterSpec) -> Param:
    """An Airflow ``Param`` for the trigger form: type, default, allowed values and help text.

    :param name: the parameter's name.
    :param spec: its definition.
    """
    schema: dict[str, Any] = {"title": name, "description": spec.description or None}
    # Param takes `description` itself and puts every other keyword into the JSON schema.
    json_type = _JSON_TYPES.get(spec.type, "string")
    if spec.type in _STRING_FORMATS:
        schema["format"] = _STRING_FORMATS[spec.type]
    if spec.allowed_values is not None:
        schema["enum"] = [_jsonable(v) for v in spec.allowed_values]
    if spec.default is not None:
        return Param(_jsonable(spec.default), type=json_type, **schema)
    if spec.required:
        # No default: the form insists on a value and API runs without one are rejected.
        return Param(type=json_type, **schema)
    if "enum" in schema:
        schema["enum"] = [None, *schema["enum"]]
    return Param(None, type=["null", json_type], **schema)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _doc_md(definition: ReportDefinition) -> str:
    lines = [f"# {definition.title}", "", definition.description or "_No description._", ""]
    if definition.parameters:
        lines += ["| parameter | type | default | allowed |", "|---|---|---|---|"]
        for name, spec in definition.parameters.items():
            allowed = ", ".join(map(str, spec.allowed_values)) if spec.allowed_values else ""
            default = _jsonable(spec.default) if spec.default is not None else ""
            lines.append(f"| `{name}` | {spec.type} | {default} | {allowed} |")
        lines.append("")
    targets = ", ".join(f"`{definition.target_key(i)}` ({t.type})" for i, t in enumerate(definition.distribution))
    retry = definition.retry
    lines += [
        f"**Engine:** {definition.engine.type} &nbsp; **Formats:** {', '.join(definition.formats)}"
        f" &nbsp; **Priority:** {definition.priority} &nbsp; **Owner:** {definition.owner}",
        "",
        f"**Delivered to:** {targets}",
        "",
        f"**Retries:** {retry.retries}, first after {format_duration(retry.retry_delay)}, "
        f"x{retry.backoff_multiplier:g}, at most {format_duration(retry.max_retry_delay)}",
    ]
    return "\n".join(lines)


def build_report_dag(definition: ReportDefinition) -> DAG:
    """Build the DAG of one report: claim -> targets, generate -> distribute (mapped per target) -> notify -> finalize.

    :param definition: a validated report definition.
    """
    retry = definition.retry
    schedule, start_date = build_schedule(definition.schedule)
    default_args = {
        "owner": definition.owner,
        **retry_args(retry),
        "execution_timeout": definition.execution_timeout,
        # Higher-priority reports get free worker slots first.
        "priority_weight": definition.priority,
        "on_retry_callback": on_task_retry,
        "on_failure_callback": on_task_failure,
        # Only runs of `airflow tasks test` act on these: they end the run's TEST request with its task.
        "on_success_callback": on_task_success,
        "on_skipped_callback": on_task_skipped,
    }
    with DAG(
        dag_id=definition.dag_id,
        # Found through this module's globals only: report_definitions_check.py runs this module to
        # collect its errors, and must not register the DAGs as its own.
        auto_register=False,
        description=definition.title,
        doc_md=_doc_md(definition),
        schedule=schedule,
        start_date=start_date,
        catchup=definition.schedule.catchup if definition.schedule else False,
        tags=sorted({"report", f"engine:{definition.engine.type}", *definition.tags}),
        params={name: build_param(name, spec) for name, spec in definition.parameters.items()},
        default_args=default_args,
        dagrun_timeout=definition.run_timeout,
        render_template_as_native_obj=True,
    ) as dag:
        claim = ClaimRequestOperator(task_id="claim", definition=definition)
        engine_operator = ENGINE_OPERATORS[definition.engine.type]
        targets = RunTargetsOperator(task_id="targets", request=claim.output)
        generate = engine_operator(
            task_id="generate", definition=definition, request=claim.output, **retry_args(retry.for_task("engine"))
        )
        distribute = DistributeOperator.partial(
            task_id="distribute",
            definition=definition,
            request=claim.output,
            artifacts=generate.output,
            map_index_template="{{ task.target['key'] }}",
            **retry_args(retry.for_task("distribution")),
            # The run's own targets: the definition's plus or instead of the request's, resolved by claim.
        ).expand(target=targets.output)
        notify = NotifyOperator(
            task_id="notify",
            definition=definition,
            request=claim.output,
            artifacts=generate.output,
            deliveries=distribute.output,
            **retry_args(retry.for_task("notification")),
        )
        FinalizeOperator(task_id="finalize", request=claim.output, event=notify.output)
    return dag


def build_all(errors: list[DefinitionError] | None = None) -> dict[str, DAG]:
    """Build the DAG of every valid definition; a definition that cannot be read, checked or built is left out.

    Each DAG is built and validated (as the DAG bag will) on its own: any error, foreseen or not,
    becomes the error of that definition's file, never of this DAG file, so the other reports load.

    :param errors: when given, receives every broken definition (``report_definitions_check.py``
        shows them as its import error).
    """
    wanted = get_parsing_context().dag_id
    # A task start needs just its own DAG: skip reading every other definition.
    only = wanted.removeprefix(DAG_PREFIX) if wanted and wanted.startswith(DAG_PREFIX) else None
    try:
        result = load_definitions(only_id=only, check_schedule=check_schedule)
    except Exception as exc:  # the loader keeps each file's errors to itself; this is a last resort
        result = LoadResult(errors=[DefinitionError(str(reports_dir()), (unexpected_problem(exc),))])
    broken = list(result.errors)
    dags: dict[str, DAG] = {}
    for definition in result.definitions:
        try:
            dag = build_report_dag(definition)
            dag.validate()
        except Exception as exc:
            file = result.files.get(definition.id, definition.id)
            broken.append(DefinitionError(file, (unexpected_problem(exc, "the DAG cannot be built"),)))
            continue
        dags[dag.dag_id] = dag
    for error in broken:
        for line in error.lines():
            log.error("invalid report definition: %s", line)
            warnings.warn(f"invalid report definition: {line}", UserWarning, stacklevel=1)
    if errors is not None:
        errors.extend(broken)
    return dags


DEFINITION_ERRORS: list[DefinitionError] = []
"""The broken definitions of this parse; ``report_definitions_check.py`` raises them as its import error."""

globals().update(build_all(DEFINITION_ERRORS))
