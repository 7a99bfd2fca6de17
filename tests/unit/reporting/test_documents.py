"""Downloaded documents are checked by their first bytes: a login page is never taken for a PDF."""

from __future__ import annotations

import pytest

from reporting.documents import check_document


@pytest.mark.parametrize(
    ("fmt", "head", "other"),
    [("pdf", b"%PDF-1.4\n", "xlsx"), ("xlsx", b"PK\x03\x04\x14\x00", "pdf"), ("csv", b"region,units\r\nEMEA,1", "pdf")],
)
def test_a_document_passes_as_its_own_kind_only(fmt, head, other):
    assert check_document(fmt, head) is None
    with pytest.raises(ValueError, match=f"the engine's {other} document starts with"):
        check_document(other, head)


@pytest.mark.parametrize(
    ("fmt", "head", "problem"),
    [
        ("pdf", b"<html>sign in</html>", "not b'%PDF-'"),
        ("xlsx", b"%PDF-1.4", "not b'PK\\x03\\x04'"),
        ("csv", b"  <!DOCTYPE html><html>", "markup, not CSV"),
        ("csv", b"", "empty csv document"),
    ],
)
def test_documents_of_the_wrong_kind_are_refused(fmt, head, problem):
    with pytest.raises(ValueError) as refused:
        check_document(fmt, head)
    assert problem in str(refused.value)
