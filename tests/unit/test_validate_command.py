"""`make validate`: lists every error of every file and exits non-zero; zero when all are valid."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.runs import load_module

ROOT = Path(__file__).resolve().parents[2]


def _validate_module():
    return load_module("validate_definitions", ROOT / "scripts" / "validate_definitions.py")


def test_shipped_definitions_are_valid(capsys):
    assert _validate_module().main([]) == 0
    assert "report__sales_summary" in capsys.readouterr().out


def test_all_errors_of_all_files_are_listed(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    shutil.copy(ROOT / "include" / "reports" / "sales_summary.yaml", reports / "sales_summary.yaml")
    text = (ROOT / "include" / "reports" / "sales_summary.yaml").read_text()
    (reports / "two_problems.yaml").write_text(
        text.replace("id: sales_summary", "id: two_problems")
        .replace("priority: 5", "priority: 11")
        .replace("owner: bi-team", "owner_team: bi-team")
    )
    (reports / "bad_engine.yaml").write_text(
        text.replace("id: sales_summary", "id: bad_engine").replace("type: sql", "type: cognos")
    )

    status = _validate_module().main(["--reports", str(reports), "--sql", str(ROOT / "include" / "sql")])

    err = capsys.readouterr().err
    assert status == 1
    assert "two_problems.yaml: owner: field required" in err
    assert "two_problems.yaml: owner_team: extra inputs are not permitted" in err
    assert "two_problems.yaml: priority: input should be less than or equal to 10" in err
    assert (
        "bad_engine.yaml: engine: input tag 'cognos' found using 'type' does not match any of the expected tags: 'sql'"
        in err
    )
    assert "2 invalid definition file(s), 1 valid" in err


def test_a_schedule_airflow_refuses_is_refused_naming_schedule_cron(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    text = (ROOT / "include" / "reports" / "sales_summary.yaml").read_text()
    assert 'cron: "0 6 * * 1-5"' in text
    (reports / "sales_summary.yaml").write_text(text.replace('cron: "0 6 * * 1-5"', 'cron: "*/0 * * * *"'))
    (reports / "second_monday.yaml").write_text(
        text.replace("id: sales_summary", "id: second_monday").replace('cron: "0 6 * * 1-5"', 'cron: "0 6 * * MON#2"')
    )

    status = _validate_module().main(["--reports", str(reports), "--sql", str(ROOT / "include" / "sql")])

    out, err = capsys.readouterr()
    assert status == 1
    assert "sales_summary.yaml: schedule.cron: '*/0 * * * *': cron minute field '*/0' has a step of 0" in err
    assert "ok      report__second_monday" in out  # what the scheduler accepts, validate accepts


def test_a_schema_error_and_a_missing_sql_file_are_listed_together(tmp_path, capsys):
    reports = tmp_path / "reports"
    reports.mkdir()
    text = (ROOT / "include" / "reports" / "sales_summary.yaml").read_text()
    (reports / "sales_summary.yaml").write_text(
        text.replace("priority: 5", "priority: 11")
        .replace("sql: sales_summary.sql", "sql: finance/missing.sql")
        .replace('cron: "0 6 * * 1-5"', 'cron: "0 6 31 2 *"')
    )

    status = _validate_module().main(["--reports", str(reports), "--sql", str(ROOT / "include" / "sql")])

    err = capsys.readouterr().err
    assert status == 1
    shown = str(reports / "sales_summary.yaml")
    lines = err.splitlines()
    assert lines[:2] == [
        f"{shown}: priority: input should be less than or equal to 10",
        f"{shown}: schedule.cron: '0 6 31 2 *' never fires (Airflow finds no time it runs at)",
    ]
    assert lines[2].startswith(f"{shown}: engine.sql: file not found: ")
    assert lines[2].endswith("include/sql/finance/missing.sql")
