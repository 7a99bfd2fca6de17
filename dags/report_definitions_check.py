"""Surface broken report definitions as an import error in the Airflow UI.

``report_factory.py`` skips a broken definition so the other reports keep loading; this
file makes the problem visible: it fails to import with every error, one line each, in the
form ``include/reports/<file>.yaml: <field path>: <problem>``. It defines no DAG.
(The words "airflow" and "dag" appear here so Airflow's safe-mode scan parses this file.)
"""

from __future__ import annotations

from report_runtime.schedules import check_schedule
from reporting.loader import load_definitions


class InvalidReportDefinitions(ImportError):
    """One or more report definitions are invalid."""


_errors = load_definitions(check_schedule=check_schedule).error_text()
if _errors:
    raise InvalidReportDefinitions(f"invalid report definitions:\n{_errors}")
