"""Tests for portable ``:name`` bind parameters, including real execution on sqlite3."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from reporting.sql import PARAMSTYLES, BindError, bind, parameter_names

ROOT = Path(__file__).resolve().parents[3]

SIMPLE = "SELECT * FROM sales WHERE region = :region AND sale_date >= :start AND :region <> 'ALL'"
VALUES = {"region": "EMEA", "start": "2026-01-01"}

# Everything here that looks like a parameter is not one.
DECOYS = (
    "SELECT ':quoted' AS a, 'it''s :escaped' AS b, \"col:name\" AS c, '10:30' AS t,\n"
    "       amount::numeric AS d -- a :line_comment\n"
    "/* a :block\n   :comment */\n"
    "FROM t WHERE x = :real"
)


# --- parameter_names -----------------------------------------------------------------------------------


def test_parameter_names_in_first_use_order_without_repeats() -> None:
    assert parameter_names(SIMPLE) == ["region", "start"]
    assert parameter_names(":b :a :b :c :a") == ["b", "a", "c"]


def test_parameter_names_ignore_quotes_comments_and_casts() -> None:
    assert parameter_names(DECOYS) == ["real"]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", []),
        ("x = :start_date::date", ["start_date"]),
        ("x = :_private1", ["_private1"]),
        ("x = :1", []),
        ("x = a::text", []),
        ("x = a:b", []),
        ("f(:a,:b)", ["a", "b"]),
        ("x IN (:a)\n AND y = :b", ["a", "b"]),
    ],
)
def test_parameter_names_edge_cases(sql: str, expected: list[str]) -> None:
    assert parameter_names(sql) == expected


def test_parameter_names_of_the_shipped_query() -> None:
    sql = (ROOT / "include/sql/sales_summary.sql").read_text()
    # ':region, :start_date' also appear in a comment, which must not change the order or add names
    assert parameter_names(sql) == ["region", "start_date"]


# --- bind: one statement in every paramstyle ------------------------------------------------------------


@pytest.mark.parametrize(
    ("paramstyle", "expected_sql", "expected_params"),
    [
        (
            "named",
            "SELECT * FROM sales WHERE region = :region AND sale_date >= :start AND :region <> 'ALL'",
            {"region": "EMEA", "start": "2026-01-01"},
        ),
        (
            "qmark",
            "SELECT * FROM sales WHERE region = ? AND sale_date >= ? AND ? <> 'ALL'",
            ["EMEA", "2026-01-01", "EMEA"],
        ),
        (
            "format",
            "SELECT * FROM sales WHERE region = %s AND sale_date >= %s AND %s <> 'ALL'",
            ["EMEA", "2026-01-01", "EMEA"],
        ),
        (
            "pyformat",
            "SELECT * FROM sales WHERE region = %(region)s AND sale_date >= %(start)s AND %(region)s <> 'ALL'",
            {"region": "EMEA", "start": "2026-01-01"},
        ),
        (
            "numeric",
            "SELECT * FROM sales WHERE region = :1 AND sale_date >= :2 AND :3 <> 'ALL'",
            ["EMEA", "2026-01-01", "EMEA"],
        ),
    ],
)
def test_bind_each_paramstyle(paramstyle: str, expected_sql: str, expected_params: object) -> None:
    assert bind(SIMPLE, VALUES, paramstyle) == (expected_sql, expected_params)


def test_every_paramstyle_is_tested() -> None:
    assert set(PARAMSTYLES) == {"named", "qmark", "format", "pyformat", "numeric"}


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
def test_casts_are_untouched(paramstyle: str) -> None:
    sql, _ = bind("SELECT a::text, :d::date, b :: int FROM t", {"d": "2026-01-01"}, paramstyle)
    assert "a::text" in sql and "b :: int" in sql
    assert sql.count("::") == 3
    assert sql.endswith("::date, b :: int FROM t")


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
def test_quotes_and_comments_are_untouched(paramstyle: str) -> None:
    sql, params = bind(DECOYS, {"real": 1}, paramstyle)
    head, _, _ = DECOYS.partition("FROM t WHERE")
    assert sql.startswith(head)
    assert params in ({"real": 1}, [1])


@pytest.mark.parametrize(
    ("paramstyle", "expected_sql"),
    [
        ("named", "SELECT '10%' AS p, 7 % 2 AS m -- 100% sure\nFROM t WHERE x LIKE :pattern"),
        ("qmark", "SELECT '10%' AS p, 7 % 2 AS m -- 100% sure\nFROM t WHERE x LIKE ?"),
        ("numeric", "SELECT '10%' AS p, 7 % 2 AS m -- 100% sure\nFROM t WHERE x LIKE :1"),
        ("format", "SELECT '10%%' AS p, 7 %% 2 AS m -- 100%% sure\nFROM t WHERE x LIKE %s"),
        ("pyformat", "SELECT '10%%' AS p, 7 %% 2 AS m -- 100%% sure\nFROM t WHERE x LIKE %(pattern)s"),
    ],
)
def test_literal_percent_is_doubled_only_for_format_styles(paramstyle: str, expected_sql: str) -> None:
    source = "SELECT '10%' AS p, 7 % 2 AS m -- 100% sure\nFROM t WHERE x LIKE :pattern"
    sql, _ = bind(source, {"pattern": "A%"}, paramstyle)
    assert sql == expected_sql


@pytest.mark.parametrize("paramstyle", ["format", "pyformat"])
def test_doubled_percent_reads_back_as_the_original_text(paramstyle: str) -> None:
    # what a format/pyformat driver does with the statement: '%%' becomes '%' again
    source = "SELECT '10%' AS p, 7 % 2 AS m FROM t WHERE x LIKE :pattern AND y = :n"
    sql, params = bind(source, {"pattern": "A%", "n": 3}, paramstyle)
    rendered = sql % (params if isinstance(params, dict) else tuple(params))
    assert rendered == "SELECT '10%' AS p, 7 % 2 AS m FROM t WHERE x LIKE A% AND y = 3"


def test_values_never_enter_the_sql_text() -> None:
    evil = "x'; DROP TABLE sales; --"
    for paramstyle in PARAMSTYLES:
        sql, params = bind("SELECT * FROM sales WHERE region = :region", {"region": evil}, paramstyle)
        assert evil not in sql
        assert evil in (params.values() if isinstance(params, dict) else params)


def test_extra_values_are_ignored() -> None:
    assert bind("SELECT :a", {"a": 1, "unused": 2}, "named") == ("SELECT :a", {"a": 1})
    assert bind("SELECT :a", {"a": 1, "unused": 2}, "qmark") == ("SELECT ?", [1])


def test_none_is_a_value() -> None:
    assert bind("SELECT :a", {"a": None}, "qmark") == ("SELECT ?", [None])


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
def test_statement_without_parameters(paramstyle: str) -> None:
    sql, params = bind("SELECT 1", {}, paramstyle)
    assert sql == "SELECT 1"
    assert params in ({}, [])


@pytest.mark.parametrize("paramstyle", PARAMSTYLES)
def test_missing_parameter(paramstyle: str) -> None:
    with pytest.raises(BindError) as caught:
        bind("SELECT :c, :a, :b, :c", {"a": 1}, paramstyle)
    assert str(caught.value) == "the SQL uses parameters with no value: c, b"


def test_unknown_paramstyle() -> None:
    with pytest.raises(BindError) as caught:
        bind("SELECT :a", {"a": 1}, "dollar")
    assert "unknown paramstyle 'dollar'" in str(caught.value)
    assert "named, qmark, format, pyformat, numeric" in str(caught.value)


# --- real execution on sqlite3 -------------------------------------------------------------------------


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(
        """
        CREATE TABLE products (product_id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE sales (
            sale_id INTEGER PRIMARY KEY, sale_date TEXT, region TEXT, country TEXT,
            product_id INTEGER, units INTEGER, unit_price REAL
        );
        INSERT INTO products VALUES (1, 'Widget'), (2, 'Gadget');
        INSERT INTO sales VALUES
            (1, '2025-12-31', 'EMEA', 'FR', 1, 1, 10.0),
            (2, '2026-01-05', 'EMEA', 'DE', 1, 2, 10.0),
            (3, '2026-01-06', 'AMER', 'US', 2, 3, 5.5),
            (4, '2026-02-01', 'APAC', 'JP', 2, 4, 5.0),
            (5, '2026-02-02', 'EMEA', 'GB', 2, 1, 5.0);
        """
    )
    yield connection
    connection.close()


def test_sqlite_paramstyle_is_qmark() -> None:
    assert sqlite3.paramstyle == "qmark"


@pytest.mark.parametrize("paramstyle", ["qmark", "named"])
@pytest.mark.parametrize(
    ("region", "start_date", "expected_ids"),
    [
        ("ALL", "2026-01-01", [5, 4, 3, 2]),
        ("EMEA", "2026-01-01", [5, 2]),
        ("EMEA", "2025-01-01", [5, 2, 1]),
        ("APAC", "2026-03-01", []),
    ],
)
def test_shipped_query_binds_on_sqlite(
    db: sqlite3.Connection, paramstyle: str, region: str, start_date: str, expected_ids: list[int]
) -> None:
    source = (ROOT / "include/sql/sales_summary.sql").read_text()
    sql, params = bind(source, {"region": region, "start_date": start_date}, paramstyle)
    rows = db.execute(sql, params).fetchall()
    countries = {1: "FR", 2: "DE", 3: "US", 4: "JP", 5: "GB"}
    assert [row[2] for row in rows] == [countries[i] for i in expected_ids]


@pytest.mark.parametrize("paramstyle", ["qmark", "named"])
def test_sqlite_keeps_quoted_text_comments_and_percent(db: sqlite3.Connection, paramstyle: str) -> None:
    source = (
        "SELECT ':not_a_param' AS a, '100%' AS b, 7 % 4 AS c, CAST(:n AS INTEGER) + 1 AS d -- :nope\n"
        "/* :nope */ FROM sales WHERE country LIKE :pattern ORDER BY sale_id"
    )
    sql, params = bind(source, {"n": "41", "pattern": "%E"}, paramstyle)
    # only DE ends in E: the % in the value is a LIKE wildcard, the literal '100%' is kept as text
    assert db.execute(sql, params).fetchall() == [(":not_a_param", "100%", 3, 42)]


@pytest.mark.parametrize("paramstyle", ["qmark", "named"])
def test_sqlite_injection_attempt_is_just_a_value(db: sqlite3.Connection, paramstyle: str) -> None:
    evil = {"region": "x'; DROP TABLE sales; --"}
    sql, params = bind("SELECT count(*) FROM sales WHERE region = :region", evil, paramstyle)
    assert db.execute(sql, params).fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM sales").fetchone() == (5,)


def test_sqlite_repeated_parameter_binds_the_same_value_each_time(db: sqlite3.Connection) -> None:
    sql, params = bind("SELECT :v, :w, :v", {"v": "same", "w": 2}, "qmark")
    assert params == ["same", 2, "same"]
    assert db.execute(sql, params).fetchone() == ("same", 2, "same")
