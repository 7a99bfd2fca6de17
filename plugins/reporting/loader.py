"""Load every report definition in a folder; a broken file never hides the good ones."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from reporting.definition import ReportDefinition
from reporting.errors import ProblemsError
from reporting.sql import parameter_names

# The C loader is ~10x faster (parse time is paid by every DAG-processor cycle); PyYAML built
# without libyaml has only the pure-Python one.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "include" / "reports"
DEFAULT_SQL_DIR = PROJECT_ROOT / "include" / "sql"
REPORTS_DIR_ENV = "REPORTING_DEFINITIONS_DIR"
SQL_DIR_ENV = "REPORTING_SQL_DIR"


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
    """

    definitions: list[ReportDefinition] = field(default_factory=list)
    errors: list[DefinitionError] = field(default_factory=list)

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
        parts.append(f".{item}" if parts else str(item))
        node = node.get(item) if isinstance(node, dict) else None
        descended = True
    return "".join(parts)


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
        text = text[:1].lower() + text[1:]
        path = field_path((*prefix, *error["loc"]), data)
        messages.append(f"{path}: {text}" if path else text)
    return messages


def parse_definition(path: Path, sql_root: Path | None = None) -> ReportDefinition:
    """Read and validate one definition file.

    :param path: the YAML file.
    :param sql_root: when given, the engine's SQL file must exist there and use only declared parameters.
    :raises DefinitionFileError: with every problem, each naming its field path.
    """
    display = _display(path)
    try:
        with path.open("rb") as handle:
            data = yaml.load(handle, Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        raise DefinitionFileError(DefinitionError(display, (f"not valid YAML: {exc}".replace("\n", " "),))) from None
    except OSError as exc:
        raise DefinitionFileError(DefinitionError(display, (f"cannot be read: {exc.strerror}",))) from None
    if not isinstance(data, dict):
        raise DefinitionFileError(DefinitionError(display, ("must be a mapping of fields (id, title, engine...)",)))
    data.setdefault("id", path.stem)
    try:
        definition = ReportDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionFileError(DefinitionError(display, tuple(validation_messages(exc, data)))) from None
    if sql_root is not None:
        problems = _check_sql(definition, sql_root)
        if problems:
            raise DefinitionFileError(DefinitionError(display, tuple(problems)))
    return definition


def _check_sql(definition: ReportDefinition, sql_root: Path) -> list[str]:
    engine = definition.engine
    if engine.type != "sql":
        return []
    sql_path = sql_root / engine.sql
    try:
        text = sql_path.read_text(encoding="utf-8")
    except OSError:
        return [f"engine.sql: file not found: {_display(sql_path)}"]
    undeclared = [name for name in parameter_names(text) if name not in definition.parameters]
    if undeclared:
        return [f"engine.sql: {engine.sql} uses undeclared parameters: {', '.join(undeclared)}"]
    return []


class DefinitionFileError(ProblemsError):
    """A definition file is invalid; ``error`` lists every problem, ``problems`` has one line each."""

    separator = "\n"

    def __init__(self, error: DefinitionError) -> None:
        self.error = error
        super().__init__(error.lines())


def load_definitions(
    directory: Path | None = None, sql_root: Path | None = None, only_id: str | None = None
) -> LoadResult:
    """Load every ``*.yaml``/``*.yml`` file of a folder, keeping going past broken ones.

    :param directory: the definitions folder (default: :func:`reports_dir`).
    :param sql_root: the SQL folder checked for each sql engine (default: :func:`sql_dir`).
    :param only_id: load only the file whose stem is this id (used when a task starts and
        needs just its own DAG); falls back to all files if no such file exists.
    """
    directory = directory or reports_dir()
    sql_root = sql_root or sql_dir()
    result = LoadResult()
    if not directory.is_dir():
        result.errors.append(DefinitionError(_display(directory), ("the definitions folder does not exist",)))
        return result
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if only_id is not None:
        files = [p for p in files if p.stem == only_id] or files
    owners: dict[str, str] = {}
    for path in files:
        try:
            definition = parse_definition(path, sql_root)
        except DefinitionFileError as exc:
            result.errors.append(exc.error)
            continue
        display = _display(path)
        if definition.id in owners:
            result.errors.append(
                DefinitionError(display, (f"id: {definition.id!r} is already defined in {owners[definition.id]}",))
            )
            continue
        owners[definition.id] = display
        result.definitions.append(definition)
    result.definitions.sort(key=lambda d: d.id)
    return result
