"""How a report query reads rows: Arrow chunks on Snowflake, fetchmany elsewhere, the same Python values either way.

Snowflake's chunks here are real Snowflake-format Arrow data decoded by the pinned connector's
own converters (tests/support/snowflake_arrow.py), so ``fetch_arrow_batches`` gives what the
connector gives: float64 for NUMBER(p,s) unless decimals were asked for, nanoseconds unless
microseconds are forced, NULL as a null slot.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
from pypdf import PdfReader
from snowflake.connector.errors import NotSupportedError

from hooks.report_query import ReportQueryHook, fetch_batches
from reporting.render import RenderContext, open_renderer, render_all
from support.snowflake_arrow import Column, as_rows, as_table, chunk

COLUMNS = ["ID", "QTY", "LABEL", "DAY", "HAPPENED_AT", "AMOUNT"]
# What PostgreSQL (psycopg2) and Snowflake's own fetchmany give for these rows: None for NULL,
# int, str, date, datetime and Decimal with the column's scale.
ROWS = [
    (1, None, "first", date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5, 123456), Decimal("12.50")),
    (2, 7, None, None, None, None),
    (3, -300, "third", date(2025, 12, 31), datetime(1999, 12, 31, 23, 59, 59), Decimal("-0.01")),
    (4, 2**40, "fourth", date(2026, 6, 30), datetime(2026, 6, 30, 0, 0), Decimal("1234567890.99")),
    (5, None, None, None, None, None),
]


def _chunk(rows) -> str:
    ids, qty, label, day, at, amount = zip(*rows, strict=True) if rows else ([],) * 6
    return chunk(
        [
            Column("ID", "FIXED", ids),
            Column("QTY", "FIXED", qty),
            Column("LABEL", "TEXT", label),
            Column("DAY", "DATE", day),
            Column("HAPPENED_AT", "TIMESTAMP_NTZ", at, scale=9),
            Column("AMOUNT", "FIXED", amount, precision=12, scale=2),
        ]
    )


CHUNKS = [_chunk(ROWS[:3]), _chunk(ROWS[3:])]


class _SnowflakeCursor:
    """Snowflake's cursor after execute: Arrow chunks as the connector decodes them."""

    def __init__(self, chunks, number_to_decimal=True):
        self.chunks = chunks
        self.number_to_decimal = number_to_decimal

    def fetch_arrow_batches(self, force_microsecond_precision=False):
        for data in self.chunks:
            yield as_table(
                data, number_to_decimal=self.number_to_decimal, force_microsecond_precision=force_microsecond_precision
            )

    def fetchmany(self, size):  # pragma: no cover - must not be used on Snowflake
        raise AssertionError("Snowflake results are read as Arrow batches")


class _DbApiCursor:
    def __init__(self, rows):
        self.rows = list(rows)

    def fetchmany(self, size):
        batch, self.rows = self.rows[:size], self.rows[size:]
        return batch


def test_the_connector_itself_gives_floats_and_nanoseconds_unless_asked():
    """Why the reader asks: the raw Arrow table of a chunk is not what the rows are."""
    raw = as_table(CHUNKS[0], number_to_decimal=False)
    assert str(raw.schema.field("AMOUNT").type) == "double"
    assert str(raw.schema.field("HAPPENED_AT").type) == "timestamp[ns]"
    asked = as_table(CHUNKS[0], number_to_decimal=True, force_microsecond_precision=True)
    assert str(asked.schema.field("AMOUNT").type) == "decimal128(38, 2)"
    assert str(asked.schema.field("HAPPENED_AT").type) == "timestamp[us]"


def test_snowflake_arrow_chunks_give_the_values_fetchmany_gives():
    batches = list(fetch_batches(_SnowflakeCursor(CHUNKS), 2, "snowflake"))

    assert [len(b) for b in batches] == [2, 1, 2], "a chunk is cut into batch_size pieces"
    rows = [row for batch in batches for row in batch]
    assert rows == ROWS
    assert rows == as_rows(CHUNKS[0]) + as_rows(CHUNKS[1]), "the connector's own fetchmany gives the same"
    for got, expected in zip(rows, ROWS, strict=True):
        assert [type(v) for v in got] == [type(v) for v in expected], got


def test_a_nullable_integer_column_stays_int_and_wide_numbers_are_ints_too():
    wide = chunk([Column("ID", "FIXED", [None, 10**30, 1]), Column("N", "FIXED", [None, 1, 2], precision=9)])
    [batch] = fetch_batches(_SnowflakeCursor([wide]), 100, "snowflake")
    assert batch == [(None, None), (10**30, 1), (1, 2)]
    assert type(batch[1][0]) is int and type(batch[2][1]) is int


def test_empty_chunks_yield_nothing():
    no_rows = _chunk([])
    assert list(fetch_batches(_SnowflakeCursor([no_rows, CHUNKS[0], no_rows]), 10, "snowflake")) == [ROWS[:3]]


def test_a_result_without_arrow_chunks_is_read_with_fetchmany():
    class JsonResultCursor(_DbApiCursor):
        def fetch_arrow_batches(self, force_microsecond_precision=False):
            raise NotSupportedError("not an Arrow result")

    assert list(fetch_batches(JsonResultCursor(ROWS), 3, "snowflake")) == [ROWS[:3], ROWS[3:]]


def test_other_databases_are_read_with_fetchmany_in_batch_size_chunks():
    batches = list(fetch_batches(_DbApiCursor([(i,) for i in range(5)]), 2, "postgres"))
    assert batches == [[(0,), (1,)], [(2,), (3,)], [(4,)]]


# --- rendered files ---------------------------------------------------------------------------

CONTEXT = RenderContext("Nulls", "nulls", {}, datetime(2026, 1, 1, tzinfo=UTC))


def _render(batches, folder: Path) -> dict[str, Path]:
    folder.mkdir()
    paths = {fmt: folder / f"out.{fmt}" for fmt in ("csv", "xlsx", "pdf")}
    render_all([open_renderer(fmt, path, COLUMNS, CONTEXT) for fmt, path in paths.items()], batches)
    return paths


def _read(paths: dict[str, Path]) -> dict[str, list]:
    with paths["csv"].open(newline="") as handle:
        csv_rows = list(csv.reader(handle))
    xlsx_rows = list(openpyxl.load_workbook(paths["xlsx"], read_only=True)["Data"].iter_rows(values_only=True))
    pdf_text = [page.extract_text() for page in PdfReader(paths["pdf"]).pages]
    return {"csv": csv_rows, "xlsx": xlsx_rows, "pdf": pdf_text}


def test_snowflake_nulls_render_as_empty_cells_exactly_as_postgres_rows_do(tmp_path):
    snowflake = _read(_render(fetch_batches(_SnowflakeCursor(CHUNKS), 2, "snowflake"), tmp_path / "sf"))
    postgres = _read(_render(fetch_batches(_DbApiCursor(ROWS), 2, "postgres"), tmp_path / "pg"))

    assert snowflake == postgres
    assert snowflake["csv"][1:] == [
        ["1", "", "first", "2026-01-02", "2026-01-02T03:04:05.123456", "12.50"],
        ["2", "7", "", "", "", ""],
        ["3", "-300", "third", "2025-12-31", "1999-12-31T23:59:59", "-0.01"],
        ["4", str(2**40), "fourth", "2026-06-30", "2026-06-30T00:00:00", "1234567890.99"],
        ["5", "", "", "", "", ""],
    ]
    xlsx = snowflake["xlsx"]
    assert xlsx[2] == (2, 7, None, None, None, None) and xlsx[5] == (5, None, None, None, None, None)
    assert xlsx[1][3:] == (datetime(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5, 123000), 12.5)
    text = "\n".join(snowflake["pdf"])
    assert "12.50" in text and "first" in text and "1234567890.99" in text
    for junk in ("nan", "NaT", "None", "7.0"):
        assert junk not in text, junk


def test_pandas_frames_were_the_bug(tmp_path):
    """The old reader (fetch_pandas_batches, then itertuples) gave these cells; the Arrow reader does not."""
    frame = as_table(CHUNKS[1], number_to_decimal=False).to_pandas()
    old_cells = [[str(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    assert old_cells[0][1] == "1099511627776.0" and old_cells[1][1:] == ["nan", "nan", "None", "NaT", "nan"]
    rendered = _read(_render(fetch_batches(_SnowflakeCursor(CHUNKS), 10, "snowflake"), tmp_path / "sf"))
    assert not any(cell in ("nan", "NaT", "None") or cell.endswith(".0") for row in rendered["csv"] for cell in row)


# --- a query on a Snowflake connection ----------------------------------------------------------


def test_the_hook_asks_snowflake_for_decimals_before_it_executes(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_NULLS_SF", json.dumps({"conn_type": "snowflake", "login": "u", "extra": {"account": "a"}})
    )
    events = []

    class Connection:
        _paramstyle = "pyformat"
        _arrow_number_to_decimal = False  # the connector's default

        def cursor(self):
            return cursor

        def close(self):
            events.append("connection closed")

    class Cursor(_SnowflakeCursor):
        description = tuple((name,) for name in COLUMNS)

        def execute(self, statement, params):
            # Result chunks are made at execute, with the connection's setting of that moment.
            self.number_to_decimal = connection._arrow_number_to_decimal
            events.append((statement, params))

        def close(self):
            events.append("cursor closed")

    connection, cursor = Connection(), Cursor(CHUNKS, number_to_decimal=False)
    from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

    monkeypatch.setattr(SnowflakeHook, "get_conn", lambda self: connection)

    with ReportQueryHook("nulls_sf").stream_rows(
        "SELECT * FROM nulls WHERE id > :min_id", {"min_id": 0}, batch_size=2
    ) as (columns, batches):
        paths = _render(batches, tmp_path / "sf")
        assert events == [("SELECT * FROM nulls WHERE id > %(min_id)s", {"min_id": 0})], "bound, never formatted"

    assert columns == COLUMNS
    assert events[1:] == ["cursor closed", "connection closed"]
    with paths["csv"].open(newline="") as handle:
        amounts = [row[-1] for row in csv.reader(handle)][1:]
    assert amounts == ["12.50", "", "-0.01", "1234567890.99", ""]
