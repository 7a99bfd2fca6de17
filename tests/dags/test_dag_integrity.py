"""DAG integrity: every file in dags/ imports cleanly and every DAG is well-formed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SUPPORT = ROOT / "tests" / "support"


def _dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def dagbag():
    return _dagbag()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_every_definition_has_its_dag(dagbag):
    stems = {p.stem for p in (ROOT / "include" / "reports").glob("*.yaml")}
    assert stems, "the package ships at least one report definition"
    assert {f"report__{stem}" for stem in stems} <= set(dagbag.dag_ids)


def test_every_dag_has_tags_owner_and_retries(dagbag):
    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        for task in dag.tasks:
            assert task.owner and task.owner != "airflow", f"{dag_id}.{task.task_id} has no owner"
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has retries={task.retries}"


def _guarded_parse(tmp_path: Path, *folders: Path) -> dict[str, dict[str, Any]]:
    """Parse the folders in a fresh interpreter with every connect made to fail (tests/support/guarded_parse.py).

    :param tmp_path: where the result file goes.
    :param folders: the DAG folders.
    """
    result = tmp_path / "parse.json"
    # the environment carries this session's Airflow home and settings (tests/conftest.py)
    done = subprocess.run(
        [sys.executable, str(SUPPORT / "guarded_parse.py"), str(result), *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    parsed: dict[str, dict[str, Any]] = json.loads(result.read_text())
    return {Path(folder).name: outcome for folder, outcome in parsed.items()}


def test_parsing_does_no_io_beyond_local_files(tmp_path):
    # A canary DAG file shows the guards see a connect, also one whose failure the file swallows.
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "connects.py").write_text(
        "# an airflow dag file that connects while it is parsed\n"
        "import socket, sqlite3\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9))\n"
        "except OSError:\n"
        "    pass\n"
        "sqlite3.connect(':memory:')\n"
    )

    parsed = _guarded_parse(tmp_path, DAGS, canary)

    assert [a["call"] for a in parsed["canary"]["attempts"]] == ["socket.create_connection", "sqlite3.connect"]
    assert "sqlite3.connect while parsing DAGs" in parsed["canary"]["import_errors"]["connects.py"]
    dags = parsed["dags"]
    assert dags["attempts"] == [], "\n".join(a["call"] + "\n" + a["stack"] for a in dags["attempts"])
    assert dags["import_errors"] == {}
    stems = {p.stem for p in (ROOT / "include" / "reports").glob("*.yaml")}
    assert dags["dag_ids"] == sorted(
        {f"report__{stem}" for stem in stems} | {"reporting_housekeeping", "reporting_request_intake", "reports_retry"}
    )


def test_broken_definition_does_not_hide_the_others(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(ROOT / "include" / "reports" / "sales_summary.yaml", reports / "sales_summary.yaml")
    broken = (
        (ROOT / "include" / "reports" / "sales_summary.yaml")
        .read_text()
        .replace("id: sales_summary", "id: broken_copy")
        .replace("    path: ${REPORTING_OUTPUT_DIR", "    where: ${REPORTING_OUTPUT_DIR")
    )
    (reports / "broken_copy.yaml").write_text(broken)
    (reports / "not_yaml.yaml").write_text("id: [unclosed\n")
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(reports))

    bag = _dagbag()

    assert "report__sales_summary" in bag.dag_ids
    assert "report__broken_copy" not in bag.dag_ids
    errors = {Path(path).name: message for path, message in bag.import_errors.items()}
    assert set(errors) == {"report_definitions_check.py"}
    message = errors["report_definitions_check.py"]
    assert "broken_copy.yaml: distribution[0].path: field required" in message
    assert "broken_copy.yaml: distribution[0].where: extra inputs are not permitted" in message
    assert "not_yaml.yaml: not valid YAML" in message
