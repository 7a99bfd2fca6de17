"""The reporting package's Airflow plugin: the listener that writes a report run's note (``report_listeners``).

Airflow loads the ``.py`` files at the top of the plugins folder as plugins; the packages beside
this file are ordinary packages (see ``.airflowignore``).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from report_listeners import run_notes


class ReportingPlugin(AirflowPlugin):
    """Registers :mod:`report_listeners.run_notes`, so a refused request's reason shows as its run's note."""

    name = "reporting"
    # AirflowPlugin declares it a list class attribute; Airflow reads it, nothing appends to it.
    listeners = [run_notes]  # noqa: RUF012
