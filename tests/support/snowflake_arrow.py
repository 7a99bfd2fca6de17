"""Snowflake's Arrow result chunks for tests, decoded by the real connector (fakesnow has no Arrow batches).

fakesnow 0.12.1's cursor has neither ``fetch_arrow_batches`` nor ``fetch_pandas_batches``, and
its result batches cannot give Arrow (``to_arrow`` raises). What Snowflake sends is a chunk in
Arrow IPC form whose fields carry Snowflake's own types in their metadata (``logicalType``,
``precision``, ``scale``), and the connector turns it into Python rows (``fetchmany``) or into
an Arrow table (``fetch_arrow_batches``), with conversions of its own: NUMBER(p,s) with s > 0
becomes float64 unless the connection asked for decimals, timestamps become
``timestamp[ns]`` unless microseconds are forced. This module writes such chunks and decodes
them with the pinned connector's own converters (``ArrowResultBatch``), so the tests see
exactly what those two calls give.

How a chunk is written (the connector's decoders accept every form used here):

* FIXED: int8/16/32/64 of the unscaled value, the narrowest that fits, as Snowflake does per
  chunk; decimal128 when it fits none of them.
* REAL: float64; TEXT: utf8; BOOLEAN: bool; DATE: date32.
* TIMESTAMP_NTZ(s): int64 in units of 10^-s seconds for s <= 7, else a struct of epoch seconds
  and nanosecond fraction (as for the default scale 9).

Not emulated: TIME, BINARY, the time zone types and semi-structured or structured columns.
"""

from __future__ import annotations

import base64
import types
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import pyarrow as pa

_EPOCH = datetime(1970, 1, 1)
_INTS = ((pa.int8(), 2**7), (pa.int16(), 2**15), (pa.int32(), 2**31), (pa.int64(), 2**63))
_TIMESTAMP_STRUCT = pa.struct([pa.field("epoch", pa.int64()), pa.field("fraction", pa.int32())])
_SESSION = types.SimpleNamespace(check_arrow_conversion_error_on_every_column=True)


class Column(NamedTuple):
    """One column of a chunk: its name and Snowflake type, and its values (None for NULL).

    :param name: the column name.
    :param type: FIXED, REAL, TEXT, BOOLEAN, DATE or TIMESTAMP_NTZ.
    :param values: Python values: int or Decimal for FIXED, date, naive datetime, ...
    :param precision: FIXED's precision.
    :param scale: FIXED's scale, TIMESTAMP_NTZ's fractional digits.
    """

    name: str
    type: str
    values: Sequence[Any]
    precision: int = 38
    scale: int = 0


def chunk(columns: Sequence[Column]) -> str:
    """One result chunk as Snowflake sends it: Arrow IPC, base64, Snowflake types in the field metadata.

    :param columns: the chunk's columns, all of one length.
    """
    fields, arrays = [], []
    for column in columns:
        array, metadata = _encode(column)
        fields.append(pa.field(column.name, array.type, metadata={"logicalType": column.type, **metadata}))
        arrays.append(array)
    schema = pa.schema(fields)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(pa.record_batch(arrays, schema=schema))
    return base64.b64encode(sink.getvalue().to_pybytes()).decode()


def as_rows(data: str) -> list[tuple]:
    """What the connector's ``fetchmany`` gives for a chunk: its row converter's tuples.

    :param data: a chunk from :func:`chunk`.
    """
    from snowflake.connector.constants import IterUnit

    return list(_batch(data, number_to_decimal=False).create_iter(iter_unit=IterUnit.ROW_UNIT, connection=_SESSION))


def as_table(data: str, *, number_to_decimal: bool, force_microsecond_precision: bool = False) -> pa.Table:
    """What the connector's ``fetch_arrow_batches`` yields for a chunk: its table converter's Arrow table.

    :param data: a chunk from :func:`chunk`.
    :param number_to_decimal: the connection's ``arrow_number_to_decimal``.
    :param force_microsecond_precision: ``fetch_arrow_batches``' argument of that name.
    """
    return _batch(data, number_to_decimal=number_to_decimal).to_arrow(
        connection=_SESSION, force_microsecond_precision=force_microsecond_precision
    )


def fakesnow_fetch_arrow_batches(chunk_rows: int = 1000):
    """A ``fetch_arrow_batches`` for fakesnow's cursor: its result as Snowflake chunks, decoded by the connector.

    Set it on ``fakesnow.cursor.FakeSnowflakeCursor`` (``monkeypatch.setattr(..., raising=False)``).
    Like the connector, it reads the connection's ``_arrow_number_to_decimal`` (set before
    execute) and takes ``force_microsecond_precision``. Columns are typed from the cursor's
    description (FIXED, REAL, TEXT, BOOLEAN, DATE, TIMESTAMP_NTZ).

    :param chunk_rows: rows per chunk (Snowflake's chunks grow to many thousands of rows).
    """
    from snowflake.connector.constants import FIELD_ID_TO_NAME

    def fetch_arrow_batches(self: Any, force_microsecond_precision: bool = False) -> Iterator[pa.Table]:
        if self._arrow_table is None:
            raise TypeError("No open result set")
        number_to_decimal = bool(getattr(self._conn, "_arrow_number_to_decimal", False))
        described = self.description
        for batch in self._arrow_table.to_batches(max_chunksize=chunk_rows):
            columns = [
                Column(d.name, FIELD_ID_TO_NAME[d.type_code], values.to_pylist(), d.precision or 38, d.scale or 0)
                for d, values in zip(described, batch.columns, strict=True)
            ]
            yield as_table(
                chunk(columns),
                number_to_decimal=number_to_decimal,
                force_microsecond_precision=force_microsecond_precision,
            )

    return fetch_arrow_batches


def _batch(data: str, *, number_to_decimal: bool):
    from snowflake.connector.arrow_context import ArrowConverterContext
    from snowflake.connector.result_batch import ArrowResultBatch

    rows = pa.ipc.open_stream(base64.b64decode(data)).read_all().num_rows
    return ArrowResultBatch.from_data(
        data, rows, ArrowConverterContext({"TIMEZONE": "UTC"}), False, False, [], number_to_decimal
    )


def _encode(column: Column) -> tuple[pa.Array, dict[str, str]]:
    kind, values = column.type, column.values
    if kind == "FIXED":
        unscaled = [None if v is None else int(Decimal(v).scaleb(column.scale)) for v in values]
        widest = max((abs(v) + (v >= 0) for v in unscaled if v is not None), default=0)
        arrow_type = next((t for t, bound in _INTS if widest <= bound), None)
        if arrow_type is None:
            array = pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(38, column.scale))
        else:
            array = pa.array(unscaled, arrow_type)
        return array, {"precision": str(column.precision), "scale": str(column.scale)}
    if kind == "TIMESTAMP_NTZ":
        ticks = [None if v is None else _ticks(v, column.scale) for v in values]
        if column.scale <= 7:
            return pa.array(ticks, pa.int64()), {"scale": str(column.scale)}
        parts = [
            None
            if t is None
            else {"epoch": t // 10**column.scale, "fraction": t % 10**column.scale * 10 ** (9 - column.scale)}
            for t in ticks
        ]
        return pa.array(parts, _TIMESTAMP_STRUCT), {"scale": str(column.scale)}
    simple = {"REAL": pa.float64(), "TEXT": pa.utf8(), "BOOLEAN": pa.bool_(), "DATE": pa.date32()}
    if kind not in simple:
        raise ValueError(f"{column.name}: Snowflake type {kind} is not emulated")
    return pa.array(list(values), simple[kind]), {}


def _ticks(value: datetime | date, scale: int) -> int:
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 10**6 + delta.microseconds
    return micros * 10**scale // 10**6
