"""Fixtures shared by the domain tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (the working directory) with include/reports and include/sql/report.sql."""
    (tmp_path / "include" / "reports").mkdir(parents=True)
    (tmp_path / "include" / "sql").mkdir()
    (tmp_path / "include" / "sql" / "report.sql").write_text("SELECT 1 AS one\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path
