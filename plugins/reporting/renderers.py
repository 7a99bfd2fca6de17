"""Streaming writers that turn DB-API row batches into PDF, XLSX and CSV report files.

Every renderer consumes rows batch by batch and never holds more than the
current batch, so one query result can feed all formats in a single pass
(see :func:`render_all`).
"""

from __future__ import annotations

import abc
import bisect
import csv
import hashlib
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from itertools import accumulate
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import xlsxwriter
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import getFont

from reporting.pdf_writer import PageContent, Rgb, StreamingPdfWriter

log = logging.getLogger(__name__)
_BLACK: Rgb = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RenderContext:
    """Report-level metadata shown alongside the data.

    :param title: Human-readable report title.
    :param report_id: Identifier printed in the PDF footer.
    :param parameters: Parameters the report was run with, listed on the PDF first page.
    :param generated_at: Timezone-aware generation timestamp.
    """

    title: str
    report_id: str
    parameters: Mapping[str, Any]
    generated_at: datetime

    def __post_init__(self) -> None:
        if self.generated_at.utcoffset() is None:
            raise ValueError("generated_at must be timezone-aware")


@dataclass(frozen=True)
class RenderResult:
    """Description of a fully written report file.

    :param path: Location of the file.
    :param format: One of :data:`FORMATS`.
    :param rows: Number of data rows written, header excluded.
    :param bytes: File size in bytes.
    :param sha256: Hex SHA-256 digest of the file contents.
    """

    path: Path
    format: str
    rows: int
    bytes: int
    sha256: str


class Renderer(abc.ABC):
    """Base class for streaming report writers; as a context manager it closes on success, aborts on error.

    :param path: Destination file; overwritten if it exists.
    :param columns: Column names, one per value in every row.
    :param context: Report metadata.
    """

    format: ClassVar[str]

    def __init__(self, path: Path, columns: Sequence[str], context: RenderContext) -> None:
        if not columns:
            raise ValueError("A report needs at least one column")
        self.path = Path(path)
        self.columns = tuple(str(column) for column in columns)
        self.context = context
        self._rows = 0
        self._finished = False
        self._result: RenderResult | None = None

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def write_batch(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows to the file.

        :param rows: Row tuples as returned by a DB-API cursor, one value per column.
        """
        if self._finished:
            raise RuntimeError(f"{self.format} renderer for {self.path} is already finished")
        width = len(self.columns)
        for row in rows:
            if len(row) != width:
                raise ValueError(f"Row has {len(row)} values but the report has {width} columns: {row!r}")
        self._write_rows(rows)
        self._rows += len(rows)

    def close(self) -> RenderResult:
        """Finish the file (removing it if that fails) and describe it; later calls return the same result."""
        if self._result is not None:
            return self._result
        if self._finished:
            raise RuntimeError(f"{self.format} renderer for {self.path} was aborted")
        self._finished = True
        try:
            self._finish()
            size, digest = _size_and_sha256(self.path)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        self._result = RenderResult(self.path, self.format, self._rows, size, digest)
        return self._result

    def abort(self) -> None:
        """Release open handles and delete the file, finished or not."""
        if not self._finished:
            self._finished = True
            try:
                self._release()
            except Exception:
                # abort() runs while another error propagates; a failed release must not replace it.
                log.warning("Could not release %s renderer for %s", self.format, self.path, exc_info=True)
        self._result = None
        self.path.unlink(missing_ok=True)

    @abc.abstractmethod
    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        """Write already validated rows.

        :param rows: Rows whose length matches the column count.
        """

    @abc.abstractmethod
    def _finish(self) -> None:
        """Flush everything to ``self.path`` and release all handles."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Release all handles without needing a usable file afterwards."""


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
        self._writer.writerows([_cell_text(value) for value in row] for row in rows)

    def _finish(self) -> None:
        self._file.close()

    def _release(self) -> None:
        self._file.close()


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
        elif isinstance(value, (float, Decimal)) or (
            isinstance(value, int) and abs(value) <= self._MAX_EXACT_INT
        ):
            sheet.write_number(row, col, float(value))
        elif isinstance(value, date) and value.year >= 1900:
            number_format = self._datetime_format if isinstance(value, datetime) else self._date_format
            sheet.write_datetime(row, col, value, number_format)
        else:
            # Pre-1900 dates have no Excel serial number, so they stay readable as ISO text.
            sheet.write_string(row, col, _cell_text(value))

    def _finish(self) -> None:
        try:
            self._workbook.close()
        finally:
            self._tmpdir.cleanup()

    def _release(self) -> None:
        # Closing is the only public way to release the per-sheet temp file handles.
        self._finish()


class PdfRenderer(Renderer):
    """Paged PDF table written to the file page by page as rows arrive, header repeated on each page.

    :param path: Destination file.
    :param columns: Column names; more than 6 columns switch to landscape.
    :param context: Report metadata printed on the first page and in the footer.
    :param rows_per_page: Upper bound on data rows per page; ``None`` fills each page.
    """

    format = "pdf"
    _FONT: ClassVar[str] = "Helvetica"
    _BOLD_FONT: ClassVar[str] = "Helvetica-Bold"
    _TITLE_SIZE: ClassVar[float] = 16
    _META_SIZE: ClassVar[float] = 9
    _TABLE_SIZE: ClassVar[float] = 8
    _FOOTER_SIZE: ClassVar[float] = 8
    _MARGIN: ClassVar[float] = 36
    _ROW_HEIGHT: ClassVar[float] = 14
    _BASELINE_OFFSET: ClassVar[float] = 4
    _CELL_PADDING: ClassVar[float] = 3
    _MIN_COLUMN_WIDTH: ClassVar[float] = 36
    _MAX_COLUMN_WIDTH: ClassVar[float] = 250
    _MAX_PARAMETER_LINES: ClassVar[int] = 6
    _LANDSCAPE_ABOVE_COLUMNS: ClassVar[int] = 6
    _HEADER_FILL: ClassVar[Rgb] = (0.851, 0.851, 0.851)  # #D9D9D9
    _ZEBRA_FILL: ClassVar[Rgb] = (0.949, 0.949, 0.949)  # #F2F2F2
    _FOOTER_COLOR: ClassVar[Rgb] = (0.4, 0.4, 0.4)  # #666666

    def __init__(
        self,
        path: Path,
        columns: Sequence[str],
        context: RenderContext,
        *,
        rows_per_page: int | None = None,
    ) -> None:
        if rows_per_page is not None and rows_per_page < 1:
            raise ValueError("rows_per_page must be at least 1")
        super().__init__(path, columns, context)
        self._rows_per_page = rows_per_page
        pagesize = landscape(A4) if len(self.columns) > self._LANDSCAPE_ABOVE_COLUMNS else A4
        self._page_width, self._page_height = pagesize
        self._usable_width = self._page_width - 2 * self._MARGIN
        # Pages go to the file as they are finished (see pdf_writer), so memory holds one page at a
        # time however many rows arrive. The file is opened with the first finished page.
        self._writer = StreamingPdfWriter(
            self.path,
            page_size=(self._page_width, self._page_height),
            fonts=(self._FONT, self._BOLD_FONT),
            title=context.title,
            created_at=context.generated_at,
        )
        self._content: PageContent | None = None
        self._widths: list[float] | None = None
        self._numeric: list[bool] = []
        self._lefts: list[float] = []
        self._page = 0
        self._y = 0.0
        self._rows_on_page = 0
        self._page_capacity = 0

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self._widths is None:
            self._start_table(rows)
        for row in rows:
            if self._rows_on_page == self._page_capacity:
                self._end_page()
                self._start_page()
            fill = self._ZEBRA_FILL if self._rows_on_page % 2 else None
            self._draw_row(row, self._FONT, fill)
            self._rows_on_page += 1

    def _finish(self) -> None:
        if self._widths is None:
            self._start_table(())
            left = self._MARGIN + self._CELL_PADDING
            baseline = self._y - self._ROW_HEIGHT + self._BASELINE_OFFSET
            self._draw_text(left, baseline, "No rows.", self._FONT, self._TABLE_SIZE, self._usable_width)
        self._end_page()
        self._writer.close()

    def _release(self) -> None:
        self._writer.abort()

    def _start_table(self, sample: Sequence[Sequence[Any]]) -> None:
        """Fix the column widths for the whole document from the header and a sample, then open page 1.

        :param sample: Rows whose values size the columns together with the header.
        """
        natural = []
        for index, name in enumerate(self.columns):
            texts = [_cell_text(row[index]) for row in sample]
            widest = max([self._measure(name, self._BOLD_FONT)] + [self._measure(text, self._FONT) for text in texts])
            natural.append(min(max(widest + 2 * self._CELL_PADDING, self._MIN_COLUMN_WIDTH), self._MAX_COLUMN_WIDTH))
        scale = self._usable_width / sum(natural)
        # A numeric column's header is right-aligned over its right-aligned figures.
        self._numeric = [
            bool(sample) and all(row[i] is None or _is_number(row[i]) for row in sample) for i in range(len(self.columns))
        ]
        self._widths = [width * scale for width in natural]
        self._lefts = list(accumulate(self._widths[:-1], initial=self._MARGIN))
        self._start_page()

    def _measure(self, text: str, font: str) -> float:
        """Width of ``text`` as drawn in a table cell, capped just above the widest column.

        :param text: Cell text.
        :param font: Font name.
        """
        clipped = _pdf_safe(text)[: _max_visible_chars(self._MAX_COLUMN_WIDTH, self._TABLE_SIZE)]
        return _text_width(clipped, font, self._TABLE_SIZE)

    def _start_page(self) -> None:
        self._page += 1
        self._content = self._writer.new_page()
        self._y = self._page_height - self._MARGIN
        if self._page == 1:
            self._draw_title_block()
        self._draw_row(self.columns, self._BOLD_FONT, self._HEADER_FILL, right_aligned=self._numeric)
        fits = int((self._y - self._MARGIN) // self._ROW_HEIGHT)
        self._page_capacity = fits if self._rows_per_page is None else min(self._rows_per_page, fits)
        self._rows_on_page = 0

    def _end_page(self) -> None:
        baseline = self._MARGIN / 2
        half = self._usable_width / 2
        footer = (self._FONT, self._FOOTER_SIZE, half)
        self._draw_text(self._MARGIN, baseline, self.context.report_id, *footer, color=self._FOOTER_COLOR)
        self._draw_text(
            self._page_width - self._MARGIN, baseline, f"Page {self._page}", *footer,
            align_right=True, color=self._FOOTER_COLOR,
        )
        self._writer.add_page(self._content)
        self._content = None

    def _draw_title_block(self) -> None:
        context = self.context
        self._y -= self._TITLE_SIZE
        self._draw_text(self._MARGIN, self._y, context.title, self._BOLD_FONT, self._TITLE_SIZE, self._usable_width)
        self._y -= self._META_SIZE / 2

        pairs = ", ".join(f"{key}={_cell_text(value)}" for key, value in context.parameters.items())
        parameters = _pdf_safe(f"Parameters: {pairs or 'none'}")
        lines = simpleSplit(parameters, self._FONT, self._META_SIZE, self._usable_width)
        if len(lines) > self._MAX_PARAMETER_LINES:
            lines = lines[: self._MAX_PARAMETER_LINES]
            lines[-1] += " …"
        lines.append(f"Generated: {context.generated_at.isoformat()}")
        for line in lines:
            self._y -= self._META_SIZE * 1.4
            self._draw_text(self._MARGIN, self._y, line, self._FONT, self._META_SIZE, self._usable_width)
        self._y -= self._META_SIZE * 1.5

    def _draw_row(
        self, values: Sequence[Any], font: str, fill: Rgb | None, right_aligned: Sequence[bool] = ()
    ) -> None:
        """Draw one table row below ``self._y`` and move ``self._y`` past it.

        :param values: One value per column.
        :param font: Font for every cell.
        :param fill: Background colour, or ``None`` for none.
        :param right_aligned: Columns to right-align whatever their values (numbers always are).
        """
        bottom = self._y - self._ROW_HEIGHT
        if fill is not None:
            self._content.fill_rect(self._MARGIN, bottom, self._usable_width, self._ROW_HEIGHT, fill)
        baseline = bottom + self._BASELINE_OFFSET
        for index, (value, left, width) in enumerate(zip(values, self._lefts, self._widths, strict=True)):
            text_width = width - 2 * self._CELL_PADDING
            text = _cell_text(value)
            if _is_number(value) or (index < len(right_aligned) and right_aligned[index]):
                right = left + width - self._CELL_PADDING
                self._draw_text(right, baseline, text, font, self._TABLE_SIZE, text_width, align_right=True)
            else:
                self._draw_text(left + self._CELL_PADDING, baseline, text, font, self._TABLE_SIZE, text_width)
        self._y = bottom

    def _draw_text(
        self,
        x: float,
        y: float,
        text: str,
        font: str,
        size: float,
        max_width: float,
        *,
        align_right: bool = False,
        color: Rgb = _BLACK,
    ) -> None:
        """Draw text that is Helvetica-safe and truncated with an ellipsis to ``max_width``.

        :param x: Left edge, or right edge when ``align_right``.
        :param y: Baseline.
        :param text: Any text; unencodable characters become "?".
        :param font: Font name.
        :param size: Font size in points.
        :param max_width: Available width in points.
        :param align_right: Whether ``x`` is the right edge.
        :param color: Text colour as (red, green, blue).
        """
        fitted = _fit_text(_pdf_safe(text), font, size, max_width)
        if align_right:
            x -= _text_width(fitted, font, size)
        self._content.text(x, y, fitted, font, size, color)


_ELLIPSIS = "…"
# The narrowest Helvetica glyph (quotesingle) is 0.191 em, so no more characters than
# width / (size * 0.19) can ever be visible; cutting there first keeps huge cells cheap.
_NARROWEST_GLYPH_EM = 0.19
_CONTROL_CHARS = dict.fromkeys([*range(0x20), 0x7F], " ")
# reportlab's stringWidth is pure Python (with float formatting) and dominated PDF render time;
# for single-byte cp1252 text a lookup in the font's own width table gives the same result.
_GLYPH_WIDTHS = {font: getFont(font).widths for font in (PdfRenderer._FONT, PdfRenderer._BOLD_FONT)}


def _cell_text(value: Any) -> str:
    """Text form of a database value, as used in CSV cells and PDF tables.

    :param value: Any value from a DB-API row.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        # Fixed-point notation: str() would give exponents such as "0E-10" or "1E+3".
        return format(value, "f")
    return str(value)


def _is_number(value: Any) -> bool:
    """Whether a value is numeric and therefore right-aligned in the PDF.

    :param value: Any value from a DB-API row.
    """
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _pdf_safe(text: str) -> str:
    """Restrict text to what the standard Type 1 fonts can encode (WinAnsi, i.e. cp1252).

    :param text: Any text.
    """
    return text.translate(_CONTROL_CHARS).encode("cp1252", "replace").decode("cp1252")


def _max_visible_chars(width: float, size: float) -> int:
    """Upper bound of characters that can fit in ``width`` points; one more never fits.

    :param width: Available width in points.
    :param size: Font size in points.
    """
    return int(max(width, 0) / (size * _NARROWEST_GLYPH_EM)) + 1


def _text_width(text: str, font: str, size: float) -> float:
    """Width in points of Helvetica-safe text.

    :param text: Text already passed through :func:`_pdf_safe`.
    :param font: One of the PDF renderer's fonts.
    :param size: Font size in points.
    """
    return sum(map(_GLYPH_WIDTHS[font].__getitem__, text.encode("cp1252"))) * size / 1000


def _fit_text(text: str, font: str, size: float, max_width: float) -> str:
    """Truncate text with an ellipsis so that it is at most ``max_width`` wide.

    :param text: Text already passed through :func:`_pdf_safe`.
    :param font: One of the PDF renderer's fonts.
    :param size: Font size in points.
    :param max_width: Available width in points.
    """
    text = text[: _max_visible_chars(max_width, size)]
    # prefix_widths[n - 1] is the width of text[:n], in thousandths of the font size.
    prefix_widths = list(accumulate(map(_GLYPH_WIDTHS[font].__getitem__, text.encode("cp1252"))))
    if not prefix_widths or prefix_widths[-1] * size / 1000 <= max_width:
        return text
    budget = (max_width - _text_width(_ELLIPSIS, font, size)) * 1000 / size
    return text[: bisect.bisect_right(prefix_widths, budget)].rstrip() + _ELLIPSIS


def _size_and_sha256(path: Path) -> tuple[int, str]:
    """Size and SHA-256 hex digest of a file, read in chunks.

    :param path: File to inspect.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


_RENDERERS: dict[str, type[Renderer]] = {cls.format: cls for cls in (PdfRenderer, XlsxRenderer, CsvRenderer)}
FORMATS: tuple[str, ...] = tuple(_RENDERERS)


def open_renderer(fmt: str, path: Path, columns: Sequence[str], context: RenderContext, **options: Any) -> Renderer:
    """Create the renderer for a format name.

    :param fmt: Format name, case-insensitive; one of :data:`FORMATS`.
    :param path: Destination file.
    :param columns: Column names.
    :param context: Report metadata.
    :param options: Format-specific keyword arguments, e.g. ``rows_per_page`` for PDF.
    """
    try:
        renderer_class = _RENDERERS[fmt.lower()]
    except KeyError:
        raise ValueError(f"Unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}") from None
    return renderer_class(path, columns, context, **options)


def render_all(renderers: Sequence[Renderer], batches: Iterable[Sequence[Sequence[Any]]]) -> list[RenderResult]:
    """Feed every renderer from one pass over the batches; on any failure abort all (finished files too) and re-raise.

    :param renderers: Renderers to feed; results keep this order.
    :param batches: Row batches, e.g. successive ``cursor.fetchmany()`` results.
    """
    try:
        for batch in batches:
            for renderer in renderers:
                renderer.write_batch(batch)
        return [renderer.close() for renderer in renderers]
    except BaseException:
        for renderer in renderers:
            renderer.abort()
        raise

