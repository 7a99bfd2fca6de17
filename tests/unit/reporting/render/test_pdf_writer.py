"""Tests for the streaming PDF writer: the files it writes are read back with pypdf and checked byte by byte."""

from __future__ import annotations

import re
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from reporting.render.pdf_writer import StreamingPdfWriter

CREATED = datetime(2026, 11, 20, 6, 30, tzinfo=timezone(timedelta(hours=-5)))


def _write(path: Path, pages: int, title: str = "Ledger") -> StreamingPdfWriter:
    writer = StreamingPdfWriter(
        path, page_size=(595.28, 841.89), fonts=("Helvetica", "Helvetica-Bold"), title=title, created_at=CREATED
    )
    for number in range(1, pages + 1):
        page = writer.new_page()
        page.fill_rect(36, 700, 523.28, 14, (0.851, 0.851, 0.851))
        page.text(39, 704, f"Heading {number}", "Helvetica-Bold", 8)
        page.text(39, 690, r"(parens) and \backslash, café €", "Helvetica", 8, (0.4, 0.4, 0.4))
        writer.add_page(page)
    writer.close()
    return writer


def test_pages_text_and_metadata_read_back(tmp_path: Path) -> None:
    path = tmp_path / "out.pdf"

    _write(path, 3, title="Relevé (Q4) \\ 東京")

    reader = PdfReader(path, strict=True)
    assert len(reader.pages) == 3
    assert reader.metadata.title == "Relevé (Q4) \\ 東京"
    assert reader.metadata.creation_date == CREATED
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        assert f"Heading {number}" in text
        assert r"(parens) and \backslash, café €" in text
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((595.28, 841.89))
        assert page["/Resources"]["/Font"]["/F2"]["/BaseFont"] == "/Helvetica-Bold"


def test_cross_reference_table_points_at_every_object(tmp_path: Path) -> None:
    path = tmp_path / "xref.pdf"
    _write(path, 5)
    data = path.read_bytes()

    startxref = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))
    assert data[startxref:].startswith(b"xref\n0 ")
    count = int(re.match(rb"xref\n0 (\d+)\n", data[startxref:]).group(1))
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf]) \n", data[startxref:])
    assert len(entries) == count
    assert entries[0] == (b"0000000000", b"65535", b"f")
    for number, (offset, _, kind) in enumerate(entries[1:], start=1):
        assert kind == b"n"
        assert data[int(offset) :].startswith(b"%d 0 obj\n" % number), f"object {number}"
    assert re.search(rb"/Size %d " % count, data)


def test_page_contents_are_compressed_streams_of_the_stated_length(tmp_path: Path) -> None:
    path = tmp_path / "streams.pdf"
    _write(path, 2)
    data = path.read_bytes()

    streams = re.findall(rb"<< /Length (\d+) /Filter /FlateDecode >>\nstream\n", data)
    assert len(streams) == 2
    for match in re.finditer(rb"<< /Length (\d+) /Filter /FlateDecode >>\nstream\n", data):
        length = int(match.group(1))
        body = data[match.end() : match.end() + length]
        assert data[match.end() + length :].startswith(b"\nendstream")
        assert b"BT\n" in zlib.decompress(body)


def test_the_same_pages_give_the_same_bytes(tmp_path: Path) -> None:
    _write(tmp_path / "a.pdf", 4)
    _write(tmp_path / "b.pdf", 4)

    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_the_file_is_opened_with_the_first_page_and_abort_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "lazy.pdf"
    writer = StreamingPdfWriter(path, page_size=(100, 100), fonts=("Helvetica",), title="t", created_at=CREATED)
    assert not path.exists()

    writer.add_page(writer.new_page())
    assert path.exists()
    writer.abort()
    # abort flushed and closed the handle: what was written is on disk, and the caller removes it
    assert path.read_bytes().startswith(b"%PDF-1.4\n")
    assert writer._file.closed


def test_a_document_without_pages_is_refused(tmp_path: Path) -> None:
    writer = StreamingPdfWriter(
        tmp_path / "none.pdf", page_size=(100, 100), fonts=("Helvetica",), title="t", created_at=CREATED
    )

    with pytest.raises(ValueError, match=r"none\.pdf: a PDF needs at least one page"):
        writer.close()
