"""The CSV renderer: UTF-8 text with a header row."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reporting.render.base import RenderContext, Renderer
from reporting.render.cells import cell_text


class CsvRenderer(Renderer):
    """UTF-8 CSV with a header row.

    :param path: Destination file.
    :param columns: Column names.
    :param context: Report metadata (not written to CSV).
    """

    format = "csv"

    def __init__(self, path: Path, columns: Sequence[str], context: RenderContext) -> None:
        super().__init__(path, columns, context)
        self._file = self.path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.columns)

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self._writer.writerows([cell_text(value) for value in row] for row in rows)

    def _finish(self) -> None:
        self._file.close()

    def _release(self) -> None:
        self._file.close()
