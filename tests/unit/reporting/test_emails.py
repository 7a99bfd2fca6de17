"""One e-mail address check: email-validator's syntax, no control or direction-changing characters."""

from __future__ import annotations

import time

import pytest

from reporting.emails import check_email


@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("ops@example.com", "ops@example.com"),
        ("first.last+reports@sub.example.co.uk", "first.last+reports@sub.example.co.uk"),
        ("Ops@Example.COM", "Ops@example.com"),  # the domain is case-insensitive, the local part is not
        ("a@bücher.de", "a@xn--bcher-kva.de"),  # sent as ASCII, as smtplib must
    ],
)
def test_a_valid_address_comes_back_normalized(address: str, normalized: str) -> None:
    assert check_email(address) == normalized


@pytest.mark.parametrize(
    ("address", "shown", "reason"),
    [
        ("a\x7fb@example.com", "'a\\x7fb@example.com'", "(U+007F)"),
        ("a\x00@example.com", "'a\\x00@example.com'", "(U+0000)"),
        ("a@example.com\r\nBcc: x@example.org", "'a@example.com\\r\\nBcc: x@example.org'", "(U+000A, U+000D)"),
        ("a@example.com\t", "'a@example.com\\t'", "(U+0009)"),
        ("\u202emoc.elpmaxe@a", "'\\u202emoc.elpmaxe@a'", "(U+202E)"),
        ("a\u2066@example.com", "'a\\u2066@example.com'", "(U+2066)"),
        ("a\x85@example.com", "'a\\x85@example.com'", "(U+0085)"),
    ],
)
def test_control_and_direction_changing_characters_are_refused_by_name(address: str, shown: str, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_email(address)
    assert str(caught.value) == (
        f"{shown} is not an e-mail address: it contains control or direction-changing characters {reason}"
    )


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("John <a@example.com>", "A display name and angle brackets"),
        (" a@example.com", "invalid characters before the @-sign: SPACE"),
        ('"a b"@example.com', "Quoting the part before the @-sign is not allowed"),
        ("a@[192.0.2.1]", "A bracketed IP address after the @-sign is not allowed"),
        ("a@example", "It should have a period"),
        ("a@b@example.com", "invalid characters: '@'"),
        ("a,b@example.com", "invalid characters before the @-sign: ','"),
        ("", "must have an @-sign"),
        ("ä@example.com", "Internationalized characters before the @-sign are not supported"),
        ("a\u200b@example.com", "ZERO WIDTH SPACE"),
        ("a@exa\u200bmple.com", "ZERO WIDTH SPACE"),
        ("a@localhost", "should have a period"),
        ("a@corp.local", "special-use or reserved name"),
        ("spy@evil.test", "special-use or reserved name"),
    ],
)
def test_what_is_not_one_plain_address_is_refused(address: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not a valid e-mail address: ") as caught:
        check_email(address)
    assert reason in str(caught.value)


def test_an_address_over_254_characters_is_refused_before_parsing_quoting_a_prefix() -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError) as caught:
        check_email("x" * 2_000_000 + "@example.com")
    assert time.perf_counter() - started < 0.5
    assert str(caught.value) == (
        "'" + "x" * 60 + "…' (2,000,012 chars) is not an e-mail address: longer than 254 characters"
    )
    assert check_email("x" * 64 + "@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 57 + ".com")


@pytest.mark.parametrize("value", [None, 42, ["a@example.com"], {"to": "a@example.com"}])
def test_a_value_that_is_not_text_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match=r"is not an e-mail address \(not text\)"):
        check_email(value)  # type: ignore[arg-type]
