"""Test settings shared by every suite: an isolated Airflow home, this repo's folders, no examples.

The environment is set at import time, before anything imports Airflow, because Airflow
reads its configuration once on first import.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_HOME = Path(tempfile.mkdtemp(prefix="reporting-airflow-home-"))

os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__REPORTING__STAGING_ROOT": (_HOME / "staging").as_uri(),
        "REPORTING_OUTPUT_DIR": str(_HOME / "output"),
    }
)
# plugins/ and dags/ as Airflow puts them on sys.path; tests/ for the shared stand-ins in tests/support.
for folder in (ROOT / "plugins", ROOT / "dags", ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite) in the session's Airflow home."""
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)
    return _HOME
