"""The PDF renderer: a paged table written page by page as rows arrive, its header on every page."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any, ClassVar

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit

from reporting.render.base import RenderContext, Renderer
from reporting.render.cells import cell_text, is_number
from reporting.render.pdf_text import BOLD, REGULAR, fit_text, max_visible_chars, pdf_safe, text_width
from reporting.render.pdf_writer import PageContent, Rgb, StreamingPdfWriter

_BLACK: Rgb = (0.0, 0.0, 0.0)


class PdfRenderer(Renderer):
    """Paged PDF table written to the file page by page as rows arrive, header repeated on each page.

    :param path: Destination file.
    :param columns: Column names; more than 6 columns switch to landscape.
    :param context: Report metadata printed on the first page and in the footer.
    :param rows_per_page: Upper bound on data rows per page; ``None`` fills each page.
    """

    format = "pdf"
    _FONT: ClassVar[str] = REGULAR
    _BOLD_FONT: ClassVar[str] = BOLD
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
        # Replaced by a fresh page at each page start; nothing is written until the page is added.
        self._content: PageContent = self._writer.new_page()
        # Fixed from the first batch (see _start_table); empty until then.
        self._widths: list[float] = []
        self._numeric: list[bool] = []
        self._lefts: list[float] = []
        self._page = 0
        self._y = 0.0
        self._rows_on_page = 0
        self._page_capacity = 0

    def _write_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if not self._widths:
            self._start_table(rows)
        for row in rows:
            if self._rows_on_page == self._page_capacity:
                self._end_page()
                self._start_page()
            fill = self._ZEBRA_FILL if self._rows_on_page % 2 else None
            self._draw_row(row, self._FONT, fill)
            self._rows_on_page += 1

    def _finish(self) -> None:
        if not self._widths:
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
            texts = [cell_text(row[index]) for row in sample]
            widest = max([self._measure(name, self._BOLD_FONT)] + [self._measure(text, self._FONT) for text in texts])
            natural.append(min(max(widest + 2 * self._CELL_PADDING, self._MIN_COLUMN_WIDTH), self._MAX_COLUMN_WIDTH))
        scale = self._usable_width / sum(natural)
        # A numeric column's header is right-aligned over its right-aligned figures.
        self._numeric = [
            bool(sample) and all(row[i] is None or is_number(row[i]) for row in sample)
            for i in range(len(self.columns))
        ]
        self._widths = [width * scale for width in natural]
        self._lefts = list(accumulate(self._widths[:-1], initial=self._MARGIN))
        self._start_page()

    def _measure(self, text: str, font: str) -> float:
        """Width of ``text`` as drawn in a table cell, capped just above the widest column.

        :param text: Cell text.
        :param font: Font name.
        """
        clipped = pdf_safe(text)[: max_visible_chars(self._MAX_COLUMN_WIDTH, self._TABLE_SIZE)]
        return text_width(clipped, font, self._TABLE_SIZE)

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
            self._page_width - self._MARGIN,
            baseline,
            f"Page {self._page}",
            *footer,
            align_right=True,
            color=self._FOOTER_COLOR,
        )
        self._writer.add_page(self._content)

    def _draw_title_block(self) -> None:
        context = self.context
        self._y -= self._TITLE_SIZE
        self._draw_text(self._MARGIN, self._y, context.title, self._BOLD_FONT, self._TITLE_SIZE, self._usable_width)
        self._y -= self._META_SIZE / 2

        pairs = ", ".join(f"{key}={cell_text(value)}" for key, value in context.parameters.items())
        parameters = pdf_safe(f"Parameters: {pairs or 'none'}")
        lines = simpleSplit(parameters, self._FONT, self._META_SIZE, self._usable_width)
        if len(lines) > self._MAX_PARAMETER_LINES:
            lines = lines[: self._MAX_PARAMETER_LINES]
            lines[-1] += " …"
        lines.append(f"Generated: {context.generated_at.isoformat()}")
        for line in lines:
            self._y -= self._META_SIZE * 1.4
            self._draw_text(self._MARGIN, self._y, line, self._FONT, self._META_SIZE, self._usable_width)
        self._y -= self._META_SIZE * 1.5

    def _draw_row(self, values: Sequence[Any], font: str, fill: Rgb | None, right_aligned: Sequence[bool] = ()) -> None:
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
            text = cell_text(value)
            if is_number(value) or (index < len(right_aligned) and right_aligned[index]):
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
        fitted = fit_text(pdf_safe(text), font, size, max_width)
        if align_right:
            x -= text_width(fitted, font, size)
        self._content.text(x, y, fitted, font, size, color)
