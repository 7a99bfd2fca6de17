"""Load every report definition in a folder; a broken file never hides the good ones."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reporting.definition import ReportDefinition, Schedule
from reporting.definition.engines import sql_path_problem
from reporting.errors import ProblemsError
from reporting.limits import cap_problems, control_characters, quote
from reporting.naming import TemplateError, check_template
from reporting.sql import parameter_names
from reporting.yaml_reader import YamlReadError, read_definition_yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "include" / "reports"
DEFAULT_SQL_DIR = PROJECT_ROOT / "include" / "sql"
REPORTS_DIR_ENV = "REPORTING_DEFINITIONS_DIR"
SQL_DIR_ENV = "REPORTING_SQL_DIR"
MAX_MESSAGE_CHARS = 500
"""The longest one problem line gets (a message quoting a value never carries all of it)."""
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,60}")

ScheduleCheck = Callable[[Schedule], list[str]]
"""A check of a definition's schedule by the scheduler's own rules, giving ``schedule.<field>: <problem>``
lines (Airflow's is ``report_runtime.schedules.check_schedule``; this package stays free of Airflow)."""


@dataclass(frozen=True)
class DefinitionError:
    """Everything wrong with one definition file.

    :param file: the file as shown to people (relative to the project when possible).
    :param messages: one ``<field path>: <problem>`` line each.
    """

    file: str
    messages: tuple[str, ...]

    def lines(self) -> list[str]:
        """One ``<file>: <field path>: <problem>`` line per problem."""
        return [f"{self.file}: {message}" for message in self.messages]

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass
class LoadResult:
    """The good definitions and the errors of the broken files.

    :param definitions: valid definitions, sorted by id.
    :param errors: one entry per broken file, sorted by file.
    :param files: the file of each valid definition (as shown to people), by id.
    """

    definitions: list[ReportDefinition] = field(default_factory=list)
    errors: list[DefinitionError] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)

    def error_text(self) -> str:
        """All errors, one line per problem."""
        return "\n".join(line for error in self.errors for line in error.lines())


def reports_dir() -> Path:
    """The definitions folder: ``$REPORTING_DEFINITIONS_DIR`` or ``include/reports``."""
    return Path(os.environ.get(REPORTS_DIR_ENV) or DEFAULT_REPORTS_DIR)


def sql_dir() -> Path:
    """The SQL folder: ``$REPORTING_SQL_DIR`` or ``include/sql``."""
    return Path(os.environ.get(SQL_DIR_ENV) or DEFAULT_SQL_DIR)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _displayer(directory: Path) -> Callable[[Path], str]:
    # One folder resolved once, not each of its thousand files twice.
    shown = _display(directory)
    return lambda path: path.name if shown == "." else f"{shown}/{path.name}"


def field_path(loc: Iterable[Any], data: Any) -> str:
    """Turn a pydantic error location into ``distribution[1].path``, dropping union tags.

    :param loc: the error's location.
    :param data: the validated input, used to recognise union tags.
    """
    parts: list[str] = []
    node = data
    descended = False  # the tag can only be the first location item inside a (non-root) node
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
            node = node[item] if isinstance(node, list) and item < len(node) else None
            descended = True
            continue
        # A discriminated union adds its tag ('local', 'sql') to the location; people never wrote it.
        # The tag may equal a field name (SqlEngine's tag 'sql' and its field `sql`), so it is
        # recognised by position, not by being absent from the node.
        if descended and isinstance(node, dict) and node.get("type") == item:
            descended = False
            continue
        parts.append(_key_part(item, first=not parts))
        node = node.get(item) if isinstance(node, dict) else None
        descended = True
    return "".join(parts)


def _key_part(item: Any, first: bool) -> str:
    # A key is shown as written unless it is long or odd: a 100,000-character parameter name
    # must not make every message about it 100,000 characters long.
    text = str(item)
    if _PLAIN_KEY.fullmatch(text) or (len(text) <= 60 and not control_characters(text)):
        return text if first else f".{text}"
    return f"[{quote(item, 40)}]"


def _one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validation_messages(exc: ValidationError, data: Any, prefix: tuple[Any, ...] = ()) -> list[str]:
    """One ``<field path>: <problem>`` line per error of a pydantic validation.

    :param exc: the validation error.
    :param data: the validated input (wrapped so that ``prefix`` leads to the validated value).
    :param prefix: location items to put before each error's own location.
    """
    messages = []
    for error in exc.errors(include_url=False):
        text = error["msg"]
        for noise in ("Value error, ", "Assertion failed, "):
            text = text.removeprefix(noise)
        path = field_path((*prefix, *error["loc"]), data)
        # A model-level check reports each of its problems on a line of its own.
        for line in text.split("\n") if not path else [text]:
            line = line[:1].lower() + line[1:]
            messages.append(_one_line(f"{path}: {line}" if path else line))
    return messages


def parse_definition(
    path: Path, sql_root: Path | None = None, check_schedule: ScheduleCheck | None = None, *, shown: str | None = None
) -> ReportDefinition:
    """Read and validate one definition file; whatever goes wrong is this file's error.

    :param path: the YAML file.
    :param sql_root: when given, the engine's SQL file must exist there and use only declared parameters.
    :param check_schedule: when given, the schedule must pass it too.
    :param shown: the file as shown in messages (default: relative to the working directory when inside it).
    :raises DefinitionFileError: with every problem, each naming its field path when it has one;
        also for an error nobody foresaw while reading or validating, so one file can never stop
        the others from loading.
    """
    display = shown if shown is not None else _display(path)
    try:
        return _parse(path, display, sql_root, check_schedule)
    except DefinitionFileError:
        raise
    except Exception as exc:  # anything else is still this file's problem, not the caller's
        raise DefinitionFileError(DefinitionError(display, (unexpected_problem(exc),))) from None


def unexpected_problem(exc: BaseException, doing: str = "could not be loaded") -> str:
    """One short line for an error nobody foresaw, naming its type (``could not be loaded: OverflowError: ...``).

    :param exc: the error.
    :param doing: what failed.
    """
    try:
        text = str(exc)
    except Exception:  # a message that cannot be made is left out
        text = ""
    return _one_line(f"{doing}: {type(exc).__name__}" + (f": {text}" if text else ""))


def _parse(path: Path, display: str, sql_root: Path | None, check_schedule: ScheduleCheck | None) -> ReportDefinition:
    try:
        data = read_definition_yaml(path)
    except YamlReadError as exc:
        raise DefinitionFileError(DefinitionError(display, (str(exc),))) from None
    if not isinstance(data, dict):
        raise DefinitionFileError(DefinitionError(display, ("must be a mapping of fields (id, title, engine...)",)))
    problems: list[str] = []
    written = data.get("id", path.stem)
    if written != path.stem:
        problems.append(
            f"id: {quote(written)} differs from the file name {quote(path.name)}; a definition's id is its file name"
            f" without {path.suffix} (rename the file, or leave id out)"
        )
    # Validated under the file's name either way, so the rest of the file is checked too.
    data["id"] = path.stem
    definition: ReportDefinition | None = None
    try:
        definition = ReportDefinition.model_validate(data)
    except ValidationError as exc:
        problems.extend(validation_messages(exc, data))
        # The templates are checked after every field is valid; list theirs now, beside the rest.
        problems.extend(p for p in _template_problems(data) if p not in problems)
    if check_schedule is not None:
        # Checked also when another part of the file is wrong, so every problem is listed at once.
        schedule = definition.schedule if definition is not None else _valid_schedule(data.get("schedule"))
        if schedule is not None:
            problems.extend(_schedule_problems(check_schedule, schedule))
    if sql_root is not None:
        # From the file as written, so a missing SQL file is listed beside the schema errors.
        problems.extend(_check_sql(data, sql_root))
    if problems or definition is None:
        raise DefinitionFileError(DefinitionError(display, _capped(problems)))
    return definition


# Every target field that is a template, and the kind of text it renders.
_TEMPLATE_FIELDS = {"filename": "filename", "key": "key", "subject": "header", "body": "text"}


def _template_problems(data: dict[str, Any]) -> list[str]:
    # The written templates on their own, against the parameter names as written.
    targets, parameters = data.get("distribution"), data.get("parameters")
    if not isinstance(targets, list):
        return []
    names = [name for name in parameters if isinstance(name, str)] if isinstance(parameters, dict) else []
    problems = []
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            continue
        for name, kind in _TEMPLATE_FIELDS.items():
            template = target.get(name)
            if not isinstance(template, str):
                continue
            try:
                check_template(template, names, kind)
            except TemplateError as exc:
                problems.append(_one_line(f"distribution[{index}].{name}: {exc}"))
    return problems


def _valid_schedule(raw: Any) -> Schedule | None:
    # The schedule on its own; when it is itself invalid, the model's errors already say why.
    if not isinstance(raw, dict):
        return None
    try:
        return Schedule.model_validate(raw)
    except ValidationError:
        return None


def _schedule_problems(check: ScheduleCheck, schedule: Schedule) -> list[str]:
    try:
        return [_one_line(problem) for problem in check(schedule)]
    except Exception as exc:  # a failing check is one problem among the file's others
        return [unexpected_problem(exc, "schedule: could not be checked")]


def _capped(problems: list[str]) -> tuple[str, ...]:
    return tuple(cap_problems(problems))


def _check_sql(data: dict[str, Any], sql_root: Path) -> list[str]:
    """The problems of a sql engine's file: it must exist and use only declared parameters.

    Read from the definition as written, not from the model, so it runs also when other fields
    are invalid; a path the model refuses (absolute, with '..') is never opened.
    """
    engine = data.get("engine")
    if not isinstance(engine, dict) or engine.get("type") != "sql":
        return []
    relative = engine.get("sql")
    if not isinstance(relative, str) or sql_path_problem(relative.strip()) is not None:
        return []
    relative = relative.strip()
    sql_path = sql_root / relative
    try:
        text = sql_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [f"engine.sql: file not found: {_display(sql_path)}"]
    parameters = data.get("parameters")
    declared = set(parameters) if isinstance(parameters, dict) else set()
    undeclared = [name for name in parameter_names(text) if name not in declared]
    if undeclared:
        return [f"engine.sql: {relative} uses undeclared parameters: {', '.join(undeclared)}"]
    return []


class DefinitionFileError(ProblemsError):
    """A definition file is invalid; ``error`` lists every problem, ``problems`` has one line each."""

    separator = "\n"

    def __init__(self, error: DefinitionError) -> None:
        self.error = error
        super().__init__(error.lines())


def load_definitions(
    directory: Path | None = None,
    sql_root: Path | None = None,
    only_id: str | None = None,
    check_schedule: ScheduleCheck | None = None,
) -> LoadResult:
    """Load every ``*.yaml``/``*.yml`` file of a folder, keeping going past broken ones.

    A definition's id is its file's name without the suffix (an ``id`` written in the file must
    be that name), so the file of an id is known without reading any other. Two files of one id
    (``x.yaml`` and ``x.yml``) are both refused, each naming the other: no DAG exists for that id
    until one is removed, whether every file is read or only that id's.

    :param directory: the definitions folder (default: :func:`reports_dir`).
    :param sql_root: the SQL folder checked for each sql engine (default: :func:`sql_dir`).
    :param only_id: read only the files of this id (when a task starts and needs just its own
        DAG); the outcome for that id is the same as when every file is read.
    :param check_schedule: when given, every schedule must pass it too (the DAG factory, ``make
        validate`` and the import check give Airflow's, so they accept exactly what the scheduler does).
    """
    directory = directory or reports_dir()
    sql_root = sql_root or sql_dir()
    result = LoadResult()
    if not directory.is_dir():
        result.errors.append(DefinitionError(_display(directory), ("the definitions folder does not exist",)))
        return result
    try:
        if only_id is None:
            files = sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())
        else:
            files = _files_of(directory, only_id)
    except OSError as exc:
        result.errors.append(DefinitionError(_display(directory), (f"cannot be read: {exc.strerror or exc}",)))
        return result
    display = _displayer(directory)
    by_id: dict[str, list[Path]] = {}
    for path in files:
        by_id.setdefault(path.stem, []).append(path)
    for path in files:
        others = [other for other in by_id[path.stem] if other != path]
        try:
            definition = parse_definition(path, sql_root, check_schedule, shown=display(path))
        except DefinitionFileError as exc:
            if others:
                twice = _twice(path, others, display)
                exc = DefinitionFileError(DefinitionError(exc.error.file, (*exc.error.messages, twice)))
            result.errors.append(exc.error)
            continue
        if others:
            result.errors.append(DefinitionError(display(path), (_twice(path, others, display),)))
            continue
        result.files[definition.id] = display(path)
        result.definitions.append(definition)
    result.definitions.sort(key=lambda d: d.id)
    return result


SUFFIXES = (".yaml", ".yml")
"""The suffixes of definition files."""


def _files_of(directory: Path, report_id: str) -> list[Path]:
    # Only a plain name can be a file of this folder; anything else has no definition.
    if not report_id or report_id.startswith(".") or "/" in report_id or "\\" in report_id or "\x00" in report_id:
        return []
    return [path for suffix in SUFFIXES if (path := directory / f"{report_id}{suffix}").is_file()]


def _twice(path: Path, others: list[Path], display: Callable[[Path], str]) -> str:
    names = " and ".join(display(other) for other in others)
    return f"id: {quote(path.stem)} is also the id of {names}; neither file is loaded until one of them is removed"
