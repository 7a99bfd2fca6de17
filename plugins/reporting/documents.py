"""Checks on documents downloaded from a report engine: the first bytes must be the promised format."""

from __future__ import annotations

# Leading bytes of each document type; an HTML login or error page sent with 200 fails this check.
_MAGIC = {"pdf": (b"%PDF-",), "xlsx": (b"PK\x03\x04",)}
_MARKUP = (b"<!doctype", b"<html", b"<?xml")


def check_document(fmt: str, head: bytes) -> None:
    """Refuse a download whose first bytes are not a document of the expected format.

    :param fmt: pdf, xlsx or csv.
    :param head: the first bytes received (at least 8 when the file is that long).
    :raises ValueError: naming what was expected and what came instead.
    """
    if not head:
        raise ValueError(f"the engine returned an empty {fmt} document")
    magic = _MAGIC.get(fmt)
    if magic is not None and not head.startswith(magic):
        raise ValueError(f"the engine's {fmt} document starts with {head[:16]!r}, not {magic[0]!r}")
    if fmt == "csv" and head.lstrip().lower().startswith(_MARKUP):
        raise ValueError(f"the engine returned markup, not CSV: {head[:16]!r}")
