"""Surface broken report definitions as an import error in the Airflow UI.

``report_factory.py`` leaves a broken definition out so the other reports keep loading; this
file makes the problem visible: it runs the factory the way the DAG processor does, keeps none
of its DAGs, and fails to import with every error, one line each, in the form
``include/reports/<file>.yaml: <field path>: <problem>``: a file that cannot be read, a field
that does not validate, a schedule Airflow refuses, or a DAG that cannot be built from it.
(The words "airflow" and "dag" appear here so Airflow's safe-mode scan parses this file.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_FACTORY = Path(__file__).with_name("report_factory.py")


class InvalidReportDefinitions(ImportError):
    """One or more report definitions are invalid."""


def definition_errors() -> str:
    """Every broken definition, one ``<file>: <field path>: <problem>`` line each, as the factory finds them.

    The factory's own module is run under another name; its DAGs stay in that module, so this
    file defines none.
    """
    spec = importlib.util.spec_from_file_location("_report_factory_checked", _FACTORY)
    if spec is None or spec.loader is None:
        return f"{_FACTORY.name}: cannot be loaded"
    factory = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(factory)
    except Exception as exc:  # the factory keeps each definition's errors to itself; this is a last resort
        return f"{_FACTORY.name}: {type(exc).__name__}: {exc}"
    return "\n".join(line for error in factory.DEFINITION_ERRORS for line in error.lines())


_errors = definition_errors()
if _errors:
    raise InvalidReportDefinitions(f"invalid report definitions:\n{_errors}")
