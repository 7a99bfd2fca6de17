"""The settings of an Airflow of its own for a test or benchmark process.

Airflow reads its configuration once, on first import: these go into the environment before anything imports it.
"""

from __future__ import annotations

from pathlib import Path


def isolated_airflow_env(root: Path, home: Path) -> dict[str, str]:
    """An Airflow home of its own with SQLite metadata, this repository's DAGs and plugins, no examples.

    :param root: the repository.
    :param home: the Airflow home (metadata in ``airflow.db``, staging in ``staging/``).
    """
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__REPORTING__STAGING_ROOT": (home / "staging").as_uri(),
    }
