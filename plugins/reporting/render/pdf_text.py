"""Text in the PDF's standard fonts: what they can encode, how wide it is, and cutting it to fit."""

from __future__ import annotations

import bisect
from itertools import accumulate

from reportlab.pdfbase.pdfmetrics import getFont

REGULAR = "Helvetica"
BOLD = "Helvetica-Bold"
_ELLIPSIS = "…"
# The narrowest Helvetica glyph (quotesingle) is 0.191 em, so no more characters than
# width / (size * 0.19) can ever be visible; cutting there first keeps huge cells cheap.
_NARROWEST_GLYPH_EM = 0.19
_CONTROL_CHARS = dict.fromkeys([*range(0x20), 0x7F], " ")
# reportlab's stringWidth is pure Python (with float formatting) and dominated PDF render time;
# for single-byte cp1252 text a lookup in the font's own width table gives the same result.
_GLYPH_WIDTHS: dict[str, list[int]] = {font: getFont(font).widths for font in (REGULAR, BOLD)}


def pdf_safe(text: str) -> str:
    """Restrict text to what the standard Type 1 fonts can encode (WinAnsi, i.e. cp1252).

    :param text: Any text.
    """
    return text.translate(_CONTROL_CHARS).encode("cp1252", "replace").decode("cp1252")


def max_visible_chars(width: float, size: float) -> int:
    """Upper bound of characters that can fit in ``width`` points; one more never fits.

    :param width: Available width in points.
    :param size: Font size in points.
    """
    return int(max(width, 0) / (size * _NARROWEST_GLYPH_EM)) + 1


def text_width(text: str, font: str, size: float) -> float:
    """Width in points of Helvetica-safe text.

    :param text: Text already passed through :func:`pdf_safe`.
    :param font: One of the PDF renderer's fonts.
    :param size: Font size in points.
    """
    return sum(map(_GLYPH_WIDTHS[font].__getitem__, text.encode("cp1252"))) * size / 1000


def fit_text(text: str, font: str, size: float, max_width: float) -> str:
    """Truncate text with an ellipsis so that it is at most ``max_width`` wide.

    :param text: Text already passed through :func:`pdf_safe`.
    :param font: One of the PDF renderer's fonts.
    :param size: Font size in points.
    :param max_width: Available width in points.
    """
    text = text[: max_visible_chars(max_width, size)]
    # prefix_widths[n - 1] is the width of text[:n], in thousandths of the font size.
    prefix_widths = list(accumulate(map(_GLYPH_WIDTHS[font].__getitem__, text.encode("cp1252"))))
    if not prefix_widths or prefix_widths[-1] * size / 1000 <= max_width:
        return text
    budget = (max_width - text_width(_ELLIPSIS, font, size)) * 1000 / size
    return text[: bisect.bisect_right(prefix_widths, budget)].rstrip() + _ELLIPSIS
