"""Real PDF, XLSX and CSV documents for the fake engines to return."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import xlsxwriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

COLUMNS = ("region", "product", "units")


def rows_for(parameters: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """A few rows that show which parameters the engine received."""
    region = parameters.get("Region") or parameters.get("region") or parameters.get("P_REGION") or "ALL"
    return [(region, f"product-{i}", i * 10) for i in range(1, 6)]


def make_document(fmt: str, title: str, parameters: Mapping[str, str]) -> bytes:
    """The bytes of a small report in ``fmt`` (pdf, xlsx or csv) titled ``title``.

    :param fmt: pdf, xlsx or csv.
    :param title: printed in the document.
    :param parameters: listed in the document and used for its rows.
    """
    rows = rows_for(parameters)
    buffer = io.BytesIO()
    if fmt == "pdf":
        pdf = canvas.Canvas(buffer, pagesize=A4)
        pdf.drawString(72, 800, title)
        pdf.drawString(72, 780, ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())))
        for i, row in enumerate(rows):
            pdf.drawString(72, 750 - 16 * i, "  ".join(map(str, row)))
        pdf.showPage()
        pdf.save()
    elif fmt == "xlsx":
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = workbook.add_worksheet("Report")
        sheet.write_row(0, 0, COLUMNS)
        for i, row in enumerate(rows, start=1):
            sheet.write_row(i, 0, row)
        workbook.close()
    elif fmt == "csv":
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
        return text.getvalue().encode("utf-8")
    else:
        raise ValueError(fmt)
    return buffer.getvalue()
