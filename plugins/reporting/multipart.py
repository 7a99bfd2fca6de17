"""A streaming reader for multipart bodies: copy one named part to a file without holding the body in memory.

BI Publisher answers a run request with ``multipart/form-data`` whose ``ReportOutput`` part is
the document; documents reach hundreds of megabytes, so the body is never buffered whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

_NAME = re.compile(r'(?i)(?:^|;)\s*name\s*=\s*"?([^";]+)"?')
_BOUNDARY = re.compile(r'(?i)boundary\s*=\s*"?([^";]+)"?')
_MAX_HEADER_BYTES = 16 * 1024


class MultipartError(ValueError):
    """The body is not the multipart document its Content-Type announced, or lacks the wanted part."""


class MultipartTruncated(MultipartError):
    """The body ended before its closing boundary: the transfer broke off, the engine's answer was whole."""


def boundary_of(content_type: str) -> bytes:
    """The boundary of a ``multipart/*`` Content-Type header.

    :param content_type: the header's value.
    """
    if not content_type.lower().startswith("multipart/"):
        raise MultipartError(f"expected a multipart response, got Content-Type {content_type!r}")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise MultipartError(f"Content-Type {content_type!r} names no boundary")
    return match.group(1).strip().encode("latin-1")


def _part_headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    return headers


def _part_name(headers: dict[str, str]) -> str | None:
    match = _NAME.search(headers.get("content-disposition", ""))
    return match.group(1) if match else None


def copy_part(chunks: Iterable[bytes], boundary: bytes, name: str, sink: BinaryIO) -> dict[str, str]:
    """Copy the body of the part called ``name`` to ``sink``, streaming; return that part's headers.

    :param chunks: the response body, in chunks of any size.
    :param boundary: the boundary from the Content-Type header.
    :param name: the form-data name of the part to keep.
    :param sink: where that part's bytes are written.
    :raises MultipartError: when the body is malformed or has no such part.
    """
    delimiter = b"\r\n--" + boundary
    # The first delimiter may come without the leading CRLF; adding one makes every delimiter alike.
    buffer = b"\r\n"
    in_headers = False
    keeping = False
    found: dict[str, str] | None = None
    source = iter(chunks)
    while True:
        if in_headers:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                headers = _part_headers(buffer[:end])
                buffer = buffer[end + 4 :]
                if found is None and _part_name(headers) == name:
                    found, keeping = headers, True
                in_headers = False
                continue
            if len(buffer) > _MAX_HEADER_BYTES:
                raise MultipartError("a part's headers exceed 16 KiB")
        else:
            at = buffer.find(delimiter)
            # Two bytes after the delimiter tell the closing one ("--") from the next part's.
            if at >= 0 and len(buffer) >= at + len(delimiter) + 2:
                if keeping:
                    sink.write(buffer[:at])
                    keeping = False
                buffer = buffer[at + len(delimiter) :]
                if buffer.startswith(b"--"):
                    break
                in_headers = True
                continue
            if at < 0:
                # Keep a tail that might be the start of a delimiter split across chunks.
                safe = max(len(buffer) - len(delimiter) + 1, 0)
                if keeping:
                    sink.write(buffer[:safe])
                buffer = buffer[safe:]
        chunk = _next(source)
        if chunk is None:
            raise MultipartTruncated("the multipart body ends before its closing boundary")
        buffer += chunk
    if found is None:
        raise MultipartError(f"the multipart body has no part named {name!r}")
    return found


def _next(source: Iterator[bytes]) -> bytes | None:
    for chunk in source:
        if chunk:
            return chunk
    return None
