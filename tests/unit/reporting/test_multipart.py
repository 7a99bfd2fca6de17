"""The streaming multipart reader keeps exactly the named part, whatever the chunking."""

from __future__ import annotations

import io
import os

import pytest

from reporting.multipart import MultipartError, MultipartTruncated, boundary_of, copy_part

BOUNDARY = b"Boundary_4_543972006_1465550732053"


def _body(document: bytes, preamble: bytes = b"") -> bytes:
    return (
        preamble + b"--" + BOUNDARY + b"\r\nContent-Type: application/json\r\n"
        b'Content-Disposition: form-data; name="ReportResponse"\r\n\r\n{"reportContentType":"application/pdf"}\r\n'
        b"--" + BOUNDARY + b"\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: form-data; filename="xmlp1tmp"; size=9; name="ReportOutput"\r\n\r\n'
        + document
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )


def _chunks(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.mark.parametrize("size", [1, 2, 7, 37, 64 * 1024])
def test_the_named_part_is_copied_exactly_for_any_chunk_size(size):
    # Bytes that look like line breaks and a partial boundary must survive untouched.
    document = b"%PDF-1.7\r\n" + os.urandom(5000) + b"\r\n--Boundary_4\r\n" + b"\r\n"
    sink = io.BytesIO()

    headers = copy_part(_chunks(_body(document), size), BOUNDARY, "ReportOutput", sink)

    assert sink.getvalue() == document
    assert headers["content-type"] == "application/octet-stream"


def test_an_empty_part_and_a_preamble_are_handled():
    sink = io.BytesIO()

    copy_part(_chunks(_body(b"", preamble=b"ignored preamble\r\n"), 5), BOUNDARY, "ReportOutput", sink)

    assert sink.getvalue() == b""


def test_a_missing_part_is_an_error():
    with pytest.raises(MultipartError, match="no part named 'Report'"):
        copy_part([_body(b"x")], BOUNDARY, "Report", io.BytesIO())


def test_a_body_cut_short_is_an_error():
    with pytest.raises(MultipartTruncated, match="ends before its closing boundary"):
        copy_part([_body(b"%PDF-1.7 data")[:-30]], BOUNDARY, "ReportOutput", io.BytesIO())


def test_boundary_comes_from_the_content_type():
    assert boundary_of('multipart/form-data; boundary="abc 1"') == b"abc 1"
    assert boundary_of("multipart/form-data;boundary=Boundary_1") == b"Boundary_1"
    with pytest.raises(MultipartError, match="expected a multipart response"):
        boundary_of("text/html")
    with pytest.raises(MultipartError, match="names no boundary"):
        boundary_of("multipart/form-data")
