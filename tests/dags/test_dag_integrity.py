"""DAG integrity: every file in dags/ imports cleanly and every DAG is well-formed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"


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


def test_parsing_does_no_io_beyond_local_files(dagbag):
    # A parse that opened a DB or network connection would fail here: no connection is configured.
    assert all(dag.fileloc.startswith(str(DAGS)) for dag in dagbag.dags.values())


def test_broken_definition_does_not_hide_the_others(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(ROOT / "include" / "reports" / "sales_summary.yaml", reports / "sales_summary.yaml")
    broken = (ROOT / "include" / "reports" / "sales_summary.yaml").read_text().replace(
        "id: sales_summary", "id: broken_copy"
    ).replace("    path: ${REPORTING_OUTPUT_DIR", "    where: ${REPORTING_OUTPUT_DIR")
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
