"""Test settings shared by every suite: an isolated Airflow home, this repo's folders, no examples.

The environment is set at import time, before anything imports Airflow, because Airflow
reads its configuration once on first import. Each test gets the marker of its suite from its
folder (see ``SUITE_MARKERS``), so ``pytest -m unit`` selects exactly the tests that need no server.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
# top folder under tests/ -> the marker its tests get (registered in pyproject.toml)
SUITE_MARKERS = {"unit": "unit", "dags": "unit", "integration": "integration", "e2e": "e2e"}
_HOME = Path(tempfile.mkdtemp(prefix="reporting-airflow-home-"))

# plugins/ and dags/ as Airflow puts them on sys.path; tests/ for the shared stand-ins in tests/support.
for folder in (ROOT / "plugins", ROOT / "dags", ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from support.airflow_home import isolated_airflow_env  # noqa: E402

os.environ.update({**isolated_airflow_env(ROOT, _HOME), "REPORTING_OUTPUT_DIR": str(_HOME / "output")})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata database (SQLite) in the session's Airflow home."""
    from airflow.utils.db import resetdb

    resetdb(skip_init=False)
    return _HOME


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with its suite, by folder; first, so that ``-m`` deselects by these marks.

    :param items: the collected tests.
    """
    for item in items:
        parts = item.path.relative_to(TESTS).parts if item.path.is_relative_to(TESTS) else ()
        suite = SUITE_MARKERS.get(parts[0]) if len(parts) > 1 else None
        if suite is not None:
            item.add_marker(suite)
