"""Our code never touches Airflow's metadata database: workers cannot, and the request store is ours."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("airflow.models", "airflow.settings", "airflow.utils.session", "airflow.utils.db")


def test_plugins_and_dags_do_not_import_the_metadata_database():
    offenders = []
    for path in [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("dags/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith(FORBIDDEN)]
    assert offenders == []
