"""A PDF file written object by object as its pages are finished, so memory stays flat as pages grow.

reportlab's canvas keeps every finished page until ``save()`` and then formats the whole document
in memory before writing it, so a long report held its whole file (and more) at the end. This
writer appends each page's compressed content stream and page object to the file as soon as the
page is done and keeps only 8 bytes per object (its offset, for the cross-reference table written
last). The ``/Pages`` tree is written at the end; its kids are numbered arithmetically, so no list
of pages is kept either.

It writes what a table report needs and nothing more: pages of one size, standard Type 1 fonts
(never embedded) in WinAnsi encoding (cp1252), filled rectangles, text and an information
dictionary. Output is deterministic: the same pages and metadata give the same bytes.
"""

from __future__ import annotations

import hashlib
import zlib
from array import array
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
# Fixed object numbers; pages follow as (content stream, page) pairs from _FIRST_PAGE_OBJECT on.
_CATALOG, _PAGES, _INFO, _RESOURCES = 1, 2, 3, 4
_FIRST_FONT_OBJECT = 5
# Literal strings must escape these three; control characters never reach here (callers replace them).
_LITERAL_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)"})
# Kids written per line of the /Pages object, so a long document never builds one huge string.
_KIDS_PER_LINE = 1000

Rgb = tuple[float, float, float]


def _number(value: float) -> str:
    """A coordinate or size in the shortest exact-enough form (two decimals, trailing zeros dropped).

    :param value: the number.
    """
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _rgb(color: Rgb) -> str:
    # three decimals: 1/255 steps are 0.004 apart
    return " ".join(f"{channel:.3f}".rstrip("0").rstrip(".") or "0" for channel in color)


def _text_string(text: str) -> bytes:
    """A PDF text string (for the information dictionary): UTF-16BE with its byte-order mark, as hex.

    :param text: any text.
    """
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _pdf_date(moment: datetime) -> bytes:
    """A PDF date string such as ``(D:20240501063000+00'00')``.

    :param moment: a timezone-aware time.
    """
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return f"(D:{moment:%Y%m%d%H%M%S}{sign}{hours:02d}'{minutes:02d}')".encode("ascii")


class PageContent:
    """The drawing of one page, kept as content-stream operators until the page is added.

    Filled rectangles are painted first and all text after them, so text is never covered by a
    later row's background and the page needs a single text object.

    :param fonts: base font name -> resource name (``Helvetica`` -> ``F1``), from the writer.
    """

    def __init__(self, fonts: Mapping[str, str]) -> None:
        self._fonts = fonts
        self._graphics: list[str] = []
        self._text: list[str] = []
        self._font: tuple[str, float] | None = None
        self._fill: Rgb | None = None

    def fill_rect(self, x: float, y: float, width: float, height: float, color: Rgb) -> None:
        """Paint a rectangle without a border.

        :param x: left edge, in points from the page's left.
        :param y: bottom edge, in points from the page's bottom.
        :param width: width in points.
        :param height: height in points.
        :param color: fill colour as (red, green, blue), each 0 to 1.
        """
        self._graphics.append(f"{_rgb(color)} rg {_number(x)} {_number(y)} {_number(width)} {_number(height)} re f\n")

    def text(self, x: float, y: float, text: str, font: str, size: float, color: Rgb = (0.0, 0.0, 0.0)) -> None:
        """Draw one line of text.

        :param x: left end of the baseline.
        :param y: baseline height.
        :param text: text every character of which is in cp1252, without control characters.
        :param font: a base font name the writer was given, e.g. ``Helvetica``.
        :param size: font size in points.
        :param color: text colour as (red, green, blue), each 0 to 1.
        """
        # Font and colour belong to the graphics state, which carries over from one text to the
        # next, so they are only written when they change.
        if self._font != (font, size):
            self._text.append(f"/{self._fonts[font]} {_number(size)} Tf\n")
            self._font = (font, size)
        if self._fill != color:
            self._text.append(f"{_rgb(color)} rg\n")
            self._fill = color
        self._text.append(f"1 0 0 1 {_number(x)} {_number(y)} Tm ({text.translate(_LITERAL_ESCAPES)}) Tj\n")

    def to_bytes(self) -> bytes:
        """The page's content stream, uncompressed."""
        return "".join(["q\n", *self._graphics, "BT\n", *self._text, "ET\nQ\n"]).encode("cp1252")


class StreamingPdfWriter:
    """Writes a PDF page by page to a file that is only opened when the first page is added.

    :param path: destination file; overwritten.
    :param page_size: (width, height) of every page, in points.
    :param fonts: base names of the standard Type 1 fonts the pages use, e.g. ``("Helvetica",)``.
    :param title: document title (information dictionary).
    :param created_at: creation time, timezone-aware (information dictionary).
    :param producer: the producing program's name.
    """

    def __init__(
        self,
        path: Path,
        *,
        page_size: tuple[float, float],
        fonts: Sequence[str],
        title: str,
        created_at: datetime,
        producer: str = "reporting",
    ) -> None:
        if not fonts:
            raise ValueError("A PDF needs at least one font")
        self.path = Path(path)
        self._page_size = page_size
        self._font_names = tuple(fonts)
        self.fonts = {name: f"F{index}" for index, name in enumerate(self._font_names, start=1)}
        self._first_page_object = _FIRST_FONT_OBJECT + len(self._font_names)
        self._title = title
        self._created_at = created_at
        self._producer = producer
        self._file: BinaryIO | None = None
        self._offsets = array("Q")
        self._position = 0
        self.pages = 0

    def new_page(self) -> PageContent:
        """An empty page to draw on; nothing is written until :meth:`add_page`."""
        return PageContent(self.fonts)

    def add_page(self, page: PageContent) -> None:
        """Compress a finished page and append it to the file.

        :param page: the page's drawing.
        """
        self._open()
        content = self._first_page_object + 2 * self.pages
        data = zlib.compress(page.to_bytes())
        self._object(content, b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(data), data))
        width, height = (_number(side) for side in self._page_size)
        self._object(
            content + 1,
            f"<< /Type /Page /Parent {_PAGES} 0 R /MediaBox [0 0 {width} {height}] "
            f"/Resources {_RESOURCES} 0 R /Contents {content} 0 R >>".encode("ascii"),
        )
        self.pages += 1

    def close(self) -> None:
        """Write the page tree, the cross-reference table and the trailer; close the file."""
        if not self.pages:
            raise ValueError(f"{self.path}: a PDF needs at least one page")
        self._begin_object(_PAGES)
        self._write(b"<< /Type /Pages /Count %d /Kids [" % self.pages)
        for start in range(0, self.pages, _KIDS_PER_LINE):
            stop = min(start + _KIDS_PER_LINE, self.pages)
            kids = " ".join(f"{self._first_page_object + 2 * i + 1} 0 R" for i in range(start, stop))
            self._write(b"\n" + kids.encode("ascii"))
        self._write(b"\n] >>\nendobj\n")
        self._write_xref_and_trailer()
        self._close_file()

    def abort(self) -> None:
        """Close the file, if open, without finishing it (the caller removes it)."""
        self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()

    def _open(self) -> None:
        if self._file is not None:
            return
        self._file = self.path.open("wb")
        self._write(_HEADER)
        self._object(_CATALOG, b"<< /Type /Catalog /Pages %d 0 R >>" % _PAGES)
        self._object(
            _INFO,
            b"<< /Title "
            + _text_string(self._title)
            + b" /Producer "
            + _text_string(self._producer)
            + b" /CreationDate "
            + _pdf_date(self._created_at)
            + b" >>",
        )
        fonts = " ".join(f"/{self.fonts[name]} {_FIRST_FONT_OBJECT + i} 0 R" for i, name in enumerate(self._font_names))
        self._object(_RESOURCES, f"<< /Font << {fonts} >> /ProcSet [/PDF /Text] >>".encode("ascii"))
        for index, name in enumerate(self._font_names):
            self._object(
                _FIRST_FONT_OBJECT + index,
                f"<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>".encode("ascii"),
            )

    def _write(self, data: bytes) -> None:
        if self._file is None:
            raise RuntimeError(f"{self.path}: nothing is written before the first page is added")
        self._file.write(data)
        self._position += len(data)

    def _begin_object(self, number: int) -> None:
        # Object numbers are dense, 1..n; the page tree (2) is the only one written out of order.
        missing = number - len(self._offsets)
        if missing > 0:
            self._offsets.extend([0] * missing)
        self._offsets[number - 1] = self._position
        self._write(b"%d 0 obj\n" % number)

    def _object(self, number: int, body: bytes) -> None:
        self._begin_object(number)
        self._write(body + b"\nendobj\n")

    def _write_xref_and_trailer(self) -> None:
        xref = self._position
        count = len(self._offsets) + 1
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % count)
        for offset in self._offsets:
            self._write(b"%010d 00000 n \n" % offset)
        # A stable /ID (readers use it to tell files apart) from what the file is of.
        digest = (
            hashlib.md5(
                f"{self._title}|{self._created_at.isoformat()}|{self.pages}|{self._position}".encode(),
                usedforsecurity=False,
            )
            .hexdigest()
            .upper()
            .encode("ascii")
        )
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n"
            % (count, _CATALOG, _INFO, digest, digest, xref)
        )
