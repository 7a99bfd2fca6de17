"""Streaming writers that turn DB-API row batches into PDF, XLSX and CSV report files."""

from __future__ import annotations

from reporting.render.base import FORMATS, RenderContext, Renderer, RenderResult, open_renderer, render_all
from reporting.render.csv import CsvRenderer
from reporting.render.pdf import PdfRenderer
from reporting.render.xlsx import XlsxRenderer

__all__ = [
    "FORMATS",
    "CsvRenderer",
    "PdfRenderer",
    "RenderContext",
    "RenderResult",
    "Renderer",
    "XlsxRenderer",
    "open_renderer",
    "render_all",
]
