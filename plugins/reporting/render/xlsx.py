"""The XLSX renderer: an Excel workbook written in constant memory, continued on new sheets when large."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import xlsxwriter

from reporting.render.base import RenderContext, Renderer
from reporting.render.cells import cell_text


class XlsxRenderer(Renderer):
    """Excel workbook written in constant-memory mode, split over sheets when large.

    :param path: Destination file.
    :param columns: Column names.
    :param context: Report metadata.
    :param max_rows_per_sheet: Data rows per sheet before continuing on "Data (2)", "Data (3)", ...
    """

    format = "xlsx"
    # Excel's hard limit is 1,048,576 rows per sheet, one of which is the header.
    MAX_ROWS_PER_SHEET: ClassVar[int] = 1_048_575
    # Excel keeps 15 significant digits; larger integers (e.g. bigint ids) would be silently rounded.
    _MAX_EXACT_INT: ClassVar[int] = 10**15 - 1
    _MAX_COLUMN_WIDTH: ClassVar[int] = 60
    _MIN_COLUMN_WIDTH: ClassVar[int] = 10

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        context: RenderContext,
        *,
        max_rows_per_sheet: int = MAX_ROWS_PER_SHEET,
    ) -> None:
        if not 1 <= max_rows_per_sheet <= self.MAX_ROWS_PER_SHEET:
            raise ValueError(f"max_rows_per_sheet must be between 1 and {self.MAX_ROWS_PER_SHEET}")
        super().__init__(path, columns, context)
        self._max_rows_per_sheet = max_rows_per_sheet
        # constant_memory spools row XML to temp files that are only removed by a successful
        # close(); a private directory lets abort() and failed closes clean them up too.
        self._tmpdir = tempfile.TemporaryDirectory(prefix="xlsx-render-")
        self._workbook = xlsxwriter.Workbook(
            str(self.path),
            {
                "constant_memory": True,
                "tmpdir": self._tmpdir.name,
                # Excel cannot store timezones; keep the wall-clock time as delivered by the database.
                "remove_timezone": True,
                "nan_inf_to_errors": True,
            },
        )
        self._header_format = self._workbook.add_format({"bold": True})
        self._date_format = self._workbook.add_format({"num_format": "yyyy-mm-dd"})
        self._datetime_format = self._workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet_count = 0
        self._add_sheet()

    def _add_sheet(self) -> None:
        self._sheet_count += 1
        name = "Data" if self._sheet_count == 1 else f"Data ({self._sheet_count})"
        self._sheet = self._workbook.add_worksheet(name)
        self._sheet_rows = 0
        for col, name in enumerate(self.columns):
            width = min(max(len(name) + 2, self._MIN_COLUMN_WIDTH), self._MAX_COLUMN_WIDTH)
            self._sheet.set_column(col, col, width)
            self._sheet.write_string(0, col, name, self._header_format)
        self._sheet.freeze_panes(1, 0)

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            if self._sheet_rows == self._max_rows_per_sheet:
                self._add_sheet()
            self._sheet_rows += 1
            for col, value in enumerate(row):
                self._write_cell(self._sheet_rows, col, value)

    def _write_cell(self, row: int, col: int, value: Any) -> None:
        # Explicit write_* calls instead of write(): write() would turn "=..." strings into formulas
        # and URL-like strings into hyperlinks, which is both surprising and a formula-injection risk.
        sheet = self._sheet
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, (float, Decimal)) or (isinstance(value, int) and abs(value) <= self._MAX_EXACT_INT):
            sheet.write_number(row, col, float(value))
        elif isinstance(value, date) and value.year >= 1900:
            number_format = self._datetime_format if isinstance(value, datetime) else self._date_format
            sheet.write_datetime(row, col, value, number_format)
        else:
            # Pre-1900 dates have no Excel serial number, so they stay readable as ISO text.
            sheet.write_string(row, col, cell_text(value))

    def _finish(self) -> None:
        try:
            self._workbook.close()
        finally:
            self._tmpdir.cleanup()

    def _release(self) -> None:
        # Closing is the only public way to release the per-sheet temp file handles.
        self._finish()
