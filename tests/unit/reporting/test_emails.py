"""One e-mail address check: email-validator's syntax, no control or direction-changing characters."""

from __future__ import annotations

import time

import pytest

from reporting.emails import check_email, check_email_domain


@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("ops@example.com", "ops@example.com"),
        ("first.last+reports@sub.example.co.uk", "first.last+reports@sub.example.co.uk"),
        ("Ops@Example.COM", "Ops@example.com"),  # the domain is case-insensitive, the local part is not
        ("a@bücher.de", "a@xn--bcher-kva.de"),  # sent as ASCII, as smtplib must
        # special-use names companies and tests use: .local for internal mail hosts, .test for tests
        ("ops@corp.local", "ops@corp.local"),
        ("Ops@Mail.Corp.LOCAL", "Ops@mail.corp.local"),
        ("a@bücher.local", "a@xn--bcher-kva.local"),
        ("spy@evil.test", "spy@evil.test"),
    ],
)
def test_a_valid_address_comes_back_normalized(address: str, normalized: str) -> None:
    assert check_email(address) == normalized


@pytest.mark.parametrize(
    ("address", "shown", "reason"),
    [
        ("a\x7fb@example.com", "'a\\x7fb@example.com'", "(U+007F)"),
        ("a\x7fb@corp.local", "'a\\x7fb@corp.local'", "(U+007F)"),
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
        ("a@local", "should have a period"),
        ("a@x.invalid", "special-use or reserved name"),
        ("a@x.onion", "special-use or reserved name"),
        ("a@.local", "period immediately after the @-sign"),
        ("a b@corp.local", "invalid characters before the @-sign: SPACE"),
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


@pytest.mark.parametrize(
    ("domain", "normalized"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("corp.local", "corp.local"),
    ],
)
def test_a_valid_domain_comes_back_normalized(domain: str, normalized: str) -> None:
    assert check_email_domain(domain) == normalized


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        ("a@example.com", "write it without a user"),
        ("", "write it without a user"),
        ("localhost", "should have a period"),
        ("exa mple.com", "contains invalid characters: SPACE"),
        ("exa\x7fmple.com", "control or direction-changing characters (U+007F)"),
        ("x.invalid", "special-use or reserved name"),
    ],
)
def test_a_domain_is_held_to_the_address_rules(domain: str, reason: str) -> None:
    with pytest.raises(ValueError, match="is not an e-mail domain") as caught:
        check_email_domain(domain)
    assert reason in str(caught.value)
    assert "postmaster" not in str(caught.value)
