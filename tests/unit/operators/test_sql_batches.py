"""How the SQL engine reads rows: Arrow frames on Snowflake, fetchmany elsewhere (fakesnow has no Arrow batches)."""

from __future__ import annotations

import pandas as pd

from operators.engines import SqlReportOperator


class _SnowflakeLikeCursor:
    def fetch_pandas_batches(self):
        yield pd.DataFrame({"ID": [1, 2], "LABEL": ["a", "b"]})
        yield pd.DataFrame({"ID": [], "LABEL": []})
        yield pd.DataFrame({"ID": [3], "LABEL": ["c"]})

    def fetchmany(self, size):  # pragma: no cover - must not be used on Snowflake
        raise AssertionError("Snowflake results are read as Arrow batches")


class _DbApiCursor:
    def __init__(self, rows):
        self.rows = list(rows)

    def fetchmany(self, size):
        batch, self.rows = self.rows[:size], self.rows[size:]
        return batch


def test_snowflake_results_are_read_as_frames():
    batches = list(SqlReportOperator._batches(_SnowflakeLikeCursor(), 1000, "snowflake"))
    assert batches == [[(1, "a"), (2, "b")], [(3, "c")]]


def test_other_databases_are_read_with_fetchmany_in_batch_size_chunks():
    batches = list(SqlReportOperator._batches(_DbApiCursor([(i,) for i in range(5)]), 2, "postgres"))
    assert batches == [[(0,), (1,)], [(2,), (3,)], [(4,)]]
