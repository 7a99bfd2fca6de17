"""The reporting package is pure domain logic: no Airflow, and only a few known third-party libraries.

Keeping Airflow out lets the DAG processor import definitions cheaply and lets these modules be
tested without a scheduler; the short allow-list keeps worker images predictable.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[3] / "plugins" / "reporting"
PACKAGE = "reporting"
ALLOWED_THIRD_PARTY = frozenset({"email_validator", "pydantic", "pandas", "reportlab", "xlsxwriter", "yaml"})
FORBIDDEN = frozenset({"airflow"})


def imported_modules(source: str, filename: str = "<source>") -> Iterator[tuple[int, str]]:
    """Every absolute module an import statement names (at any depth), with its line number.

    Dynamic imports through ``importlib.import_module("x")`` or ``__import__("x")`` with a literal
    name are included too; relative imports (``from . import x``) stay inside the package.
    """
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                yield node.lineno, node.module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            value = node.args[0].value
            if name in {"import_module", "__import__"} and isinstance(value, str) and not value.startswith("."):
                yield node.lineno, value


def violations(source: str, filename: str) -> list[str]:
    """``<file>:<line>: <module> (<why>)`` for each import the package may not use."""
    found = []
    for line, module in imported_modules(source, filename):
        top = module.split(".")[0]
        if top in FORBIDDEN:
            found.append(f"{filename}:{line}: {module} (Airflow must not be imported by domain modules)")
        elif top == PACKAGE or top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
            continue
        else:
            allowed = ", ".join(sorted(ALLOWED_THIRD_PARTY))
            found.append(f"{filename}:{line}: {module} (not stdlib nor one of {allowed})")
    return found


def package_files() -> list[Path]:
    return sorted(PACKAGE_DIR.rglob("*.py"))


def test_the_package_has_modules_to_check() -> None:
    names = {path.relative_to(PACKAGE_DIR).as_posix() for path in package_files()}
    assert {"__init__.py", "definition/report.py", "loader.py", "naming.py", "sql.py", "durations.py"} <= names


def test_reporting_modules_import_only_stdlib_and_allowed_libraries() -> None:
    problems = []
    for path in package_files():
        display = str(path.relative_to(PACKAGE_DIR.parents[1]))
        problems.extend(violations(path.read_text(encoding="utf-8"), display))
    assert not problems, "forbidden imports in plugins/reporting:\n" + "\n".join(problems)


# --- the checker itself catches what it should -------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import airflow", "airflow"),
        ("import airflow.models.dag as dag", "airflow.models.dag"),
        ("from airflow import DAG", "airflow"),
        ("from airflow.sdk import task", "airflow.sdk"),
        ("def f():\n    from airflow.hooks.base import BaseHook\n", "airflow.hooks.base"),
        ("try:\n    import airflow\nexcept ImportError:\n    pass\n", "airflow"),
        ("if TYPE_CHECKING:\n    from airflow.models import DagRun\n", "airflow.models"),
        ("import importlib\nimportlib.import_module('airflow.models')\n", "airflow.models"),
        ("__import__('airflow')", "airflow"),
    ],
)
def test_checker_flags_airflow_imports(source: str, module: str) -> None:
    [problem] = [p for p in violations(source, "x.py") if "Airflow" in p]
    assert problem.startswith("x.py:") and f": {module} (" in problem


@pytest.mark.parametrize(
    ("source", "module"),
    [("import requests", "requests"), ("from sqlalchemy import text", "sqlalchemy"), ("import numpy as np", "numpy")],
)
def test_checker_flags_unlisted_third_party_imports(source: str, module: str) -> None:
    assert violations(source, "pkg/x.py") == [
        f"pkg/x.py:1: {module} (not stdlib nor one of email_validator, pandas, pydantic, reportlab, xlsxwriter, yaml)"
    ]


def test_checker_allows_stdlib_listed_libraries_and_the_package_itself() -> None:
    source = (
        "from __future__ import annotations\n"
        "import os, re, sqlite3\n"
        "from zoneinfo import ZoneInfo\n"
        "import yaml\n"
        "from pydantic import BaseModel\n"
        "import pandas as pd\n"
        "from reportlab.pdfgen import canvas\n"
        "import xlsxwriter\n"
        "from reporting.naming import expand_env\n"
        "from . import sql\n"
        "from .durations import Duration\n"
    )
    assert violations(source, "ok.py") == []
