"""What Airflow sees of the definitions: the UI's full parse and a task start's parse read the same one."""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
SAMPLE = ROOT / "include" / "reports" / "sales_summary.yaml"
PARSING_DAG_ID = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
PARSING_TASK_ID = "_AIRFLOW_PARSING_CONTEXT_TASK_ID"


def _dagbag(folder: Path = DAGS):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))


def _serialized(dag: Any) -> dict[str, Any]:
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(dag)["dag"]
    # where the file was found is not what the DAG is
    for key in ("fileloc", "relative_fileloc", "_processor_dags_folder"):
        data.pop(key, None)
    return data


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    monkeypatch.setenv("REPORTING_DEFINITIONS_DIR", str(folder))
    monkeypatch.delenv(PARSING_DAG_ID, raising=False)
    monkeypatch.delenv(PARSING_TASK_ID, raising=False)
    return folder


def _sample(title: str) -> str:
    return SAMPLE.read_text().replace("title: Sales summary by region", f"title: {title}")


def _task_start(monkeypatch: pytest.MonkeyPatch, dag_id: str, task_id: str = "claim"):
    """A parse of the factory as a worker does when it starts one task of ``dag_id``."""
    monkeypatch.setenv(PARSING_DAG_ID, dag_id)
    monkeypatch.setenv(PARSING_TASK_ID, task_id)
    try:
        return _dagbag(DAGS / "report_factory.py")
    finally:
        monkeypatch.delenv(PARSING_DAG_ID)
        monkeypatch.delenv(PARSING_TASK_ID)


def test_a_task_start_builds_the_definition_the_full_parse_shows(reports: Path, monkeypatch) -> None:
    (reports / "sales_summary.yaml").write_text(_sample("Shown in the UI"))
    (reports / "sales_copy.yaml").write_text(_sample("A copy").replace("id: sales_summary", "id: sales_copy"))
    full = _dagbag()
    assert {"report__sales_summary", "report__sales_copy"} <= set(full.dag_ids)

    started = _task_start(monkeypatch, "report__sales_summary")

    assert started.dag_ids == ["report__sales_summary"]
    shown, ran = full.dags["report__sales_summary"], started.dags["report__sales_summary"]
    assert ran.description == shown.description == "Shown in the UI"
    assert ran.get_task("claim").definition == shown.get_task("claim").definition
    assert _serialized(ran) == _serialized(shown)


def test_an_id_in_two_files_has_no_dag_in_either_parse(reports: Path, monkeypatch) -> None:
    (reports / "sales_summary.yaml").write_text(_sample("First"))
    (reports / "sales_summary.yml").write_text(_sample("Second"))
    shutil.copy(SAMPLE, reports / "other.yaml")
    (reports / "other.yaml").write_text(SAMPLE.read_text().replace("id: sales_summary", "id: other"))

    full = _dagbag()
    started = _task_start(monkeypatch, "report__sales_summary")

    assert "report__sales_summary" not in full.dag_ids
    assert "report__other" in full.dag_ids
    assert started.dag_ids == []
    message = full.import_errors[str(DAGS / "report_definitions_check.py")]
    assert "sales_summary.yaml: id: 'sales_summary' is also the id of" in message
    assert "sales_summary.yml: id: 'sales_summary' is also the id of" in message


def test_an_id_that_is_not_its_file_name_has_no_dag_in_either_parse(reports: Path, monkeypatch) -> None:
    # before ids had to be file names, the UI built 'renamed' from this file and a task start,
    # which reads only renamed.yaml, could not find it (or found another one)
    (reports / "sales_summary.yaml").write_text(_sample("Renamed").replace("id: sales_summary", "id: renamed"))
    full = _dagbag()
    assert "report__renamed" not in full.dag_ids and "report__sales_summary" not in full.dag_ids
    assert _task_start(monkeypatch, "report__renamed").dag_ids == []
    message = full.import_errors[str(DAGS / "report_definitions_check.py")]
    assert "sales_summary.yaml: id: 'renamed' differs from the file name 'sales_summary.yaml'" in message


def test_a_schedule_airflow_refuses_is_the_files_import_error_and_the_others_load(reports: Path) -> None:
    (reports / "sales_summary.yaml").write_text(_sample("Every zero minutes").replace('"0 6 * * 1-5"', '"*/0 * * * *"'))
    (reports / "other.yaml").write_text(SAMPLE.read_text().replace("id: sales_summary", "id: other"))
    bag = _dagbag()
    assert "report__other" in bag.dag_ids and "report__sales_summary" not in bag.dag_ids
    assert set(bag.import_errors) == {str(DAGS / "report_definitions_check.py")}
    message = bag.import_errors[str(DAGS / "report_definitions_check.py")]
    assert "sales_summary.yaml: schedule.cron: '*/0 * * * *': cron minute field '*/0' has a step of 0" in message


def test_a_dag_that_cannot_be_built_is_its_files_import_error_and_the_others_load(reports: Path, monkeypatch) -> None:
    from operators.claim import ClaimRequestOperator

    real = ClaimRequestOperator.__init__

    @functools.wraps(real)
    def init(self, *args: Any, definition: Any, **kwargs: Any) -> None:
        if definition.id == "fragile":
            raise OverflowError("something nobody foresaw")
        real(self, *args, definition=definition, **kwargs)

    monkeypatch.setattr(ClaimRequestOperator, "__init__", init)
    (reports / "sales_summary.yaml").write_text(_sample("Still here"))
    (reports / "fragile.yaml").write_text(SAMPLE.read_text().replace("id: sales_summary", "id: fragile"))

    bag = _dagbag()

    assert "report__sales_summary" in bag.dag_ids and "report__fragile" not in bag.dag_ids
    assert set(bag.import_errors) == {str(DAGS / "report_definitions_check.py")}
    message = bag.import_errors[str(DAGS / "report_definitions_check.py")]
    assert "fragile.yaml: the DAG cannot be built: OverflowError: something nobody foresaw" in message


def test_the_import_error_lists_every_broken_file_one_line_each(reports: Path) -> None:
    (reports / "sales_summary.yaml").write_text(_sample("Still here"))
    (reports / "slow.yaml").write_text(
        SAMPLE.read_text().replace("id: sales_summary", "id: slow").replace("retry_delay: 1s", "retry_delay: 400d")
    )
    (reports / "zero.yaml").write_text(
        SAMPLE.read_text().replace("id: sales_summary", "id: zero").replace('"0 6 * * 1-5"', '"*/0 * * * *"')
    )
    bag = _dagbag()
    message = bag.import_errors[str(DAGS / "report_definitions_check.py")]
    last = message.strip().splitlines()[-3:]
    assert last[0].endswith("report_definitions_check.InvalidReportDefinitions: invalid report definitions:")
    assert last[1:] == [
        f"{reports / 'slow.yaml'}: retry.retry_delay: '400d' is longer than 365 days, the longest duration a"
        " definition may set",
        f"{reports / 'zero.yaml'}: schedule.cron: '*/0 * * * *': cron minute field '*/0' has a step of 0",
    ]
