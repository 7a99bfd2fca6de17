"""Hostile definitions next to good ones: each is refused naming its file and field, fast and in bounded memory.

For each of the twenty hostile files of tests/dags/hostile_definitions.py, a fresh interpreter
parses the DAG folder the way the DAG processor does (a DagBag of dags/), over the sample report,
one more good report and that one hostile file, then as a worker starting a task of the sample
report (and of the hostile report) does, through the parsing context. A clean parse of the good
two comes first; the peak RSS of the process may not grow past it by 200 MiB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from report_runtime.schedules import check_schedule
from reporting.loader import DefinitionFileError, parse_definition
from support.runs import load_module

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
HOSTILE = load_module("hostile_definitions", Path(__file__).with_name("hostile_definitions.py"))
CHECK_FILE = str(DAGS / "report_definitions_check.py")
MAX_SECONDS = 2.0
MAX_GROWTH_MIB = 200

_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

root, dags, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
factory = str(Path(dags) / "report_factory.py")


def mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse(folder, dag_id=None, path=dags):
    os.environ["REPORTING_DEFINITIONS_DIR"] = str(folder)
    if dag_id:
        os.environ["_AIRFLOW_PARSING_CONTEXT_DAG_ID"] = dag_id
        os.environ["_AIRFLOW_PARSING_CONTEXT_TASK_ID"] = "claim"
    try:
        started = time.perf_counter()
        bag = DagBag(dag_folder=path)
        return bag, time.perf_counter() - started
    finally:
        os.environ.pop("_AIRFLOW_PARSING_CONTEXT_DAG_ID", None)
        os.environ.pop("_AIRFLOW_PARSING_CONTEXT_TASK_ID", None)


parse(root / "clean")  # imports and first-use costs
parse(root / "clean", "report__sales_summary", factory)
baseline = mib()
cases = {}
for name in names:
    bag, seconds = parse(root / name)
    started, _ = parse(root / name, "report__sales_summary", factory)
    own, _ = parse(root / name, f"report__{name}", factory)
    cases[name] = {
        "seconds": seconds,
        "dag_ids": sorted(bag.dag_ids),
        "import_errors": {Path(k).name: v for k, v in bag.import_errors.items()},
        "task_start": sorted(started.dag_ids),
        "own_task_start": sorted(own.dag_ids),
        "own_task_start_errors": sorted(own.import_errors),
        "rss_mib": mib(),
    }
print(json.dumps({"baseline_mib": baseline, "cases": cases}))
"""

CASES: dict[str, tuple[str, str]] = HOSTILE.hostile_definitions()
GOOD = {"report__sales_summary", "report__other"}


@pytest.fixture(scope="module")
def parsed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hostile")
    sample = HOSTILE.SAMPLE.read_text()
    for folder in ("clean", *CASES):
        (root / folder).mkdir()
        (root / folder / "sales_summary.yaml").write_text(sample)
        (root / folder / "other.yaml").write_text(sample.replace("id: sales_summary", "id: other"))
    for name, (text, _) in CASES.items():
        (root / name / f"{name}.yaml").write_text(text)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "plugins"), str(DAGS)]))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), str(DAGS), *CASES],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_hostile_file_is_named_with_its_field_and_the_others_load(parsed: dict[str, Any], name: str) -> None:
    case = parsed["cases"][name]
    assert set(case["dag_ids"]) >= GOOD
    assert f"report__{name}" not in case["dag_ids"]
    # the only import error is the check's, naming the file and its field; the factory imports cleanly
    assert set(case["import_errors"]) == {"report_definitions_check.py"}
    message = case["import_errors"]["report_definitions_check.py"]
    fragment = CASES[name][1]
    assert f"{name}.yaml: " in message
    assert fragment in message, message[-2000:]
    assert len(message) < 20_000
    assert case["seconds"] < MAX_SECONDS


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_task_start_next_to_the_hostile_file_finds_its_dag(parsed: dict[str, Any], name: str) -> None:
    case = parsed["cases"][name]
    assert case["task_start"] == ["report__sales_summary"]
    # starting a task of the hostile report finds no DAG, as the UI shows none, and breaks nothing
    assert case["own_task_start"] == []
    assert case["own_task_start_errors"] == []


def test_memory_stays_within_200_mib_of_a_clean_parse(parsed: dict[str, Any]) -> None:
    peak = max(case["rss_mib"] for case in parsed["cases"].values())
    assert peak - parsed["baseline_mib"] < MAX_GROWTH_MIB, (parsed["baseline_mib"], peak)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_error_of_one_file_arrives_within_two_seconds(tmp_path: Path, name: str) -> None:
    text, fragment = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(DefinitionFileError) as caught:
        parse_definition(path, ROOT / "include" / "sql", check_schedule)
    assert time.perf_counter() - started < MAX_SECONDS
    assert any(fragment in message for message in caught.value.error.messages), caught.value.error.messages
