"""Our code never touches Airflow's metadata database: workers cannot, and the request store is ours.

The one exception is a listener (``plugins/report_listeners/``): Airflow calls it inside its own
processes (the scheduler, ``dag.test()``), which own the metadata database, to write a run's note.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("airflow.models", "airflow.settings", "airflow.utils.session", "airflow.utils.db")
# file -> the metadata modules it may read, and why
ALLOWED = {
    # reads the note the claim left as an XCom, in the session the scheduler (or dag.test) updates the run in
    "plugins/report_listeners/run_notes.py": ("airflow.models.xcom", "airflow.settings"),
}


def test_plugins_and_dags_do_not_import_the_metadata_database():
    offenders = []
    for path in [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("dags/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                # `from airflow import settings` imports airflow.settings as much as `import airflow.settings`
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            allowed = ALLOWED.get(str(path.relative_to(ROOT)), ())
            offenders += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.startswith(FORBIDDEN) and not any(n == a or n.startswith(f"{a}.") for a in allowed)
            ]
    assert offenders == []


def test_no_task_module_imports_the_listeners():
    """The listeners' metadata access stays in Airflow's processes: no operator, hook or DAG file imports them."""
    offenders = []
    for path in [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("dags/*.py")]:
        if path.is_relative_to(ROOT / "plugins" / "report_listeners") or path.parent == ROOT / "plugins":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("report_listeners"):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
