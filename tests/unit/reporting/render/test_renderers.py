"""Tests for the streaming PDF/XLSX/CSV renderers: every test reads back the file it wrote."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from reporting.render import (
    FORMATS,
    CsvRenderer,
    PdfRenderer,
    RenderContext,
    Renderer,
    RenderResult,
    XlsxRenderer,
    open_renderer,
    render_all,
)

GENERATED_AT = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)


@pytest.fixture
def context() -> RenderContext:
    return RenderContext(
        title="Monthly Sales",
        report_id="sales_monthly",
        parameters={"region": "EMEA", "limit": 10},
        generated_at=GENERATED_AT,
    )


def assert_result_matches_file(result: RenderResult, path: Path, fmt: str, rows: int) -> None:
    data = path.read_bytes()
    assert result == RenderResult(path, fmt, rows, len(data), hashlib.sha256(data).hexdigest())


def pdf_pages(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def numbered_rows(count: int, width: int = 4) -> list[tuple[str, ...]]:
    """Rows whose cells are unique, fixed-width ids such as "r0041c2" (so no id is a substring of another)."""
    return [tuple(f"r{row:04d}c{col}" for col in range(width)) for row in range(1, count + 1)]


def batched(rows: Sequence[Sequence[Any]], size: int) -> Iterator[Sequence[Sequence[Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class CountingBatches:
    """Iterable of batches that records how often it was iterated."""

    def __init__(self, batches: list[list[tuple[Any, ...]]]) -> None:
        self.batches = batches
        self.iterations = 0

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        self.iterations += 1
        yield from self.batches


# --- CSV -------------------------------------------------------------------------------------------------------


def test_csv_writes_header_and_formatted_cells(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "out.csv"
    columns = ["id", "name", "amount", "day", "seen_at", "active", "note"]
    rows = [
        (1, "Zoë", Decimal("12.50"), date(2024, 1, 31), datetime(2024, 1, 31, 8, 5, tzinfo=UTC), True, None),
        (2, 'He said "hi", then left', Decimal("1E+3"), None, datetime(2024, 2, 1, 23, 59, 59), False, "line1\nline2"),
        (3, None, Decimal("0E-10"), date(1850, 7, 4), None, None, 2.5),
    ]

    renderer = CsvRenderer(path, columns, context)
    renderer.write_batch(rows[:2])
    renderer.write_batch(rows[2:])
    result = renderer.close()

    with path.open(encoding="utf-8", newline="") as file:
        assert list(csv.reader(file)) == [
            columns,
            ["1", "Zoë", "12.50", "2024-01-31", "2024-01-31T08:05:00+00:00", "true", ""],
            ["2", 'He said "hi", then left', "1000", "", "2024-02-01T23:59:59", "false", "line1\nline2"],
            ["3", "", "0.0000000000", "1850-07-04", "", "", "2.5"],
        ]
    assert_result_matches_file(result, path, "csv", 3)


def test_csv_without_rows_has_only_the_header(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "empty.csv"

    with CsvRenderer(path, ["a", "b"], context) as renderer:
        renderer.write_batch([])

    assert path.read_bytes() == b"a,b\r\n"
    assert_result_matches_file(renderer.close(), path, "csv", 0)


# --- XLSX ------------------------------------------------------------------------------------------------------


def test_xlsx_round_trips_values_and_types(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "out.xlsx"
    columns = ["int", "float", "decimal", "day", "moment", "empty", "text", "flag", "big_id", "ancient"]
    rows = [
        (
            7,
            2.5,
            Decimal("12.50"),
            date(2024, 1, 31),
            datetime(2024, 1, 31, 8, 5, tzinfo=timezone(timedelta(hours=2))),
            None,
            "=1+1",
            True,
            12345678901234567890,
            date(1850, 7, 4),
        ),
    ]

    with XlsxRenderer(path, columns, context) as renderer:
        renderer.write_batch(rows)
    result = renderer.close()

    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Data"]
    sheet = workbook["Data"]
    header, values = list(sheet.iter_rows(values_only=True))
    assert list(header) == columns
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert list(values) == [
        7,
        2.5,
        12.5,
        datetime(2024, 1, 31),
        datetime(2024, 1, 31, 8, 5),  # wall-clock time kept, timezone dropped
        None,
        "=1+1",
        True,
        "12345678901234567890",  # beyond Excel's 15 significant digits
        "1850-07-04",  # before Excel's epoch
    ]
    assert isinstance(values[0], int)
    assert sheet["G2"].data_type == "s"  # a string, never a formula
    assert sheet["D2"].is_date and sheet["E2"].is_date
    assert_result_matches_file(result, path, "xlsx", 1)


def test_xlsx_continues_on_new_sheets_with_their_own_header(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "split.xlsx"
    rows = numbered_rows(7, width=2)

    renderer = XlsxRenderer(path, ["a", "b"], context, max_rows_per_sheet=3)
    for batch in batched(rows, 2):
        renderer.write_batch(batch)
    result = renderer.close()

    workbook = openpyxl.load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["Data", "Data (2)", "Data (3)"]
    sheets = [list(workbook[name].iter_rows(values_only=True)) for name in workbook.sheetnames]
    assert [sheet[0] for sheet in sheets] == [("a", "b")] * 3
    assert [sheet[1:] for sheet in sheets] == [rows[0:3], rows[3:6], rows[6:7]]
    assert result.rows == 7


@pytest.mark.parametrize("max_rows", [0, 1_048_576])
def test_xlsx_rejects_sheet_sizes_excel_cannot_hold(tmp_path: Path, context: RenderContext, max_rows: int) -> None:
    with pytest.raises(ValueError, match="max_rows_per_sheet"):
        XlsxRenderer(tmp_path / "x.xlsx", ["a"], context, max_rows_per_sheet=max_rows)


# --- PDF -------------------------------------------------------------------------------------------------------


def test_pdf_pages_repeat_the_header_and_number_the_footer(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "out.pdf"
    columns = ["alpha", "beta", "gamma", "delta"]
    rows = numbered_rows(120)

    renderer = PdfRenderer(path, columns, context, rows_per_page=40)
    for batch in batched(rows, 25):
        renderer.write_batch(batch)
    result = renderer.close()

    reader = PdfReader(path)
    assert len(reader.pages) == 3
    assert reader.metadata.title == "Monthly Sales"
    box = reader.pages[0].mediabox
    assert box.width < box.height  # portrait for up to 6 columns

    first, second, third = pdf_pages(path)
    for expected in ("Monthly Sales", "Parameters: region=EMEA, limit=10", "Generated: 2024-05-01T06:30:00+00:00"):
        assert expected in first
    assert "Parameters:" not in second
    for name in columns:
        assert name in second
    assert "r0041c0" in second and "r0080c3" in second
    assert "r0040c0" not in second and "r0081c0" not in second
    assert "r0001c0" in first and "r0120c3" in third
    for number, text in enumerate((first, second, third), start=1):
        assert f"Page {number}" in text
        assert "sales_monthly" in text
    assert_result_matches_file(result, path, "pdf", 120)


@pytest.mark.parametrize("rows_per_page", [None, 10_000])
def test_pdf_fills_pages_by_height_and_loses_no_row(
    tmp_path: Path, context: RenderContext, rows_per_page: int | None
) -> None:
    path = tmp_path / "auto.pdf"
    rows = numbered_rows(150, width=3)

    with PdfRenderer(path, ["a", "b", "c"], context, rows_per_page=rows_per_page) as renderer:
        renderer.write_batch(rows)

    pages = pdf_pages(path)
    assert len(pages) > 1
    text = "\n".join(pages)
    for row in rows:
        assert text.count(row[0]) == 1


def test_pdf_without_rows_still_has_title_header_and_notice(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "empty.pdf"

    with PdfRenderer(path, ["alpha", "beta"], context) as renderer:
        renderer.write_batch([])

    (page,) = pdf_pages(path)
    for expected in ("Monthly Sales", "Parameters:", "Generated:", "alpha", "beta", "No rows.", "Page 1"):
        assert expected in page
    assert renderer.close().rows == 0


def test_pdf_with_more_than_six_columns_is_landscape(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "wide.pdf"
    columns = [f"col{index}" for index in range(7)]

    with PdfRenderer(path, columns, context) as renderer:
        renderer.write_batch(numbered_rows(3, width=7))

    box = PdfReader(path).pages[0].mediabox
    assert box.width > box.height
    assert all(name in pdf_pages(path)[0] for name in columns)


def test_pdf_truncates_long_cells_with_an_ellipsis(tmp_path: Path, context: RenderContext) -> None:
    path = tmp_path / "long.pdf"
    long_value = "start-" + "x" * 200_000

    with PdfRenderer(path, ["id", "payload"], context) as renderer:
        renderer.write_batch([(1, long_value), (2, "short")])

    (page,) = pdf_pages(path)
    assert "start-x" in page and "…" in page and "short" in page
    assert "x" * 300 not in page


def test_pdf_replaces_characters_helvetica_cannot_encode(tmp_path: Path) -> None:
    path = tmp_path / "unicode.pdf"
    context = RenderContext("Отчёт 報告", "rid", {"city": "東京"}, GENERATED_AT)

    with PdfRenderer(path, ["name", "note"], context) as renderer:
        renderer.write_batch([("日本語", "Café € ok"), ("tab\there", None)])

    (page,) = pdf_pages(path)
    assert "????? ??" in page
    assert "city=??" in page
    assert "???" in page and "Café € ok" in page and "tab here" in page


# --- render_all / open_renderer / lifecycle -------------------------------------------------------------------


def test_render_all_feeds_every_format_from_one_pass(tmp_path: Path, context: RenderContext) -> None:
    columns = ["id", "label"]
    batches = CountingBatches([[(1, "one"), (2, "two")], [(3, "three")]])
    renderers = [open_renderer(fmt, tmp_path / f"report.{fmt}", columns, context) for fmt in FORMATS]

    results = render_all(renderers, batches)

    assert batches.iterations == 1
    assert [result.format for result in results] == list(FORMATS)
    for result in results:
        assert_result_matches_file(result, result.path, result.format, 3)
    pdf, xlsx, csv_ = (result.path for result in results)
    assert "three" in pdf_pages(pdf)[0]
    assert list(openpyxl.load_workbook(xlsx)["Data"].iter_rows(values_only=True))[-1] == (3, "three")
    assert csv_.read_text(encoding="utf-8").splitlines()[-1] == "3,three"


def test_render_all_removes_every_partial_file_when_the_batches_fail(tmp_path: Path, context: RenderContext) -> None:
    def failing_batches() -> Iterator[list[tuple[Any, ...]]]:
        yield [(1, "one")]
        raise ConnectionError("cursor lost")

    renderers = [open_renderer(fmt, tmp_path / f"report.{fmt}", ["id", "label"], context) for fmt in FORMATS]

    with pytest.raises(ConnectionError, match="cursor lost"):
        render_all(renderers, failing_batches())

    assert list(tmp_path.iterdir()) == []


def test_render_all_aborts_already_closed_files_when_a_later_close_fails(
    tmp_path: Path, context: RenderContext
) -> None:
    csv_renderer = CsvRenderer(tmp_path / "a.csv", ["id"], context)
    doomed = PdfRenderer(tmp_path / "missing-dir" / "b.pdf", ["id"], context)

    with pytest.raises(OSError):
        render_all([csv_renderer, doomed], [[(1,)]])

    assert list(tmp_path.iterdir()) == []


def test_open_renderer_is_case_insensitive(tmp_path: Path, context: RenderContext) -> None:
    renderer = open_renderer("PDF", tmp_path / "r.pdf", ["a"], context, rows_per_page=5)

    assert isinstance(renderer, PdfRenderer)
    assert renderer.close().format == "pdf"


def test_open_renderer_rejects_unknown_formats(tmp_path: Path, context: RenderContext) -> None:
    with pytest.raises(ValueError, match=r"'docx'.*pdf, xlsx, csv"):
        open_renderer("docx", tmp_path / "r.docx", ["a"], context)


def test_every_report_format_has_its_renderer(tmp_path: Path, context: RenderContext) -> None:
    renderers = {fmt: open_renderer(fmt, tmp_path / f"r.{fmt}", ["a"], context) for fmt in FORMATS}
    for renderer in renderers.values():
        renderer.abort()

    assert {fmt: type(r) for fmt, r in renderers.items()} == {
        "pdf": PdfRenderer,
        "xlsx": XlsxRenderer,
        "csv": CsvRenderer,
    }


def test_a_renderer_for_a_format_reports_cannot_name_is_refused() -> None:
    with pytest.raises(TypeError, match="'docx', which is not one of pdf, xlsx, csv"):

        class DocxRenderer(Renderer):
            format = "docx"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_exception_inside_the_with_block_leaves_no_file(tmp_path: Path, context: RenderContext, fmt: str) -> None:
    path = tmp_path / f"partial.{fmt}"

    with pytest.raises(KeyError), open_renderer(fmt, path, ["a"], context) as renderer:
        renderer.write_batch([(1,)])
        raise KeyError("boom")

    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="aborted"):
        renderer.close()


def test_rows_must_match_the_columns(tmp_path: Path, context: RenderContext) -> None:
    with (
        CsvRenderer(tmp_path / "r.csv", ["a", "b"], context) as renderer,
        pytest.raises(ValueError, match="1 values but the report has 2 columns"),
    ):
        renderer.write_batch([(1, 2), (3,)])

    assert renderer.close().rows == 0


def test_writing_after_close_is_refused(tmp_path: Path, context: RenderContext) -> None:
    renderer = CsvRenderer(tmp_path / "r.csv", ["a"], context)
    renderer.close()

    with pytest.raises(RuntimeError, match="already finished"):
        renderer.write_batch([(1,)])


def test_context_requires_an_aware_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        RenderContext("t", "r", {}, datetime(2024, 1, 1))
