"""The one e-mail address check, for definitions and requests alike.

It calls ``email-validator`` directly rather than through pydantic's ``EmailStr`` (which uses the
same package): ``EmailStr`` also takes ``"Name <a@example.com>"`` and silently drops the name,
strips surrounding spaces instead of refusing them, and takes 2,048 characters.
"""

from __future__ import annotations

from functools import lru_cache

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from reporting.limits import MAX_EMAIL_CHARS, control_characters, quote

PRIVATE_USE_TLDS = frozenset({"local", "test"})
"""Special-use top-level domains accepted all the same: company mail hosts live under ``.local``,
test systems under ``.test``. The other special-use names (``localhost``, ``invalid``, ``onion``,
``arpa``) stay refused."""


def check_email(address: str) -> str:
    """Check one e-mail address and return it normalized (domain in lower-case ASCII).

    Control characters (NUL, CR, LF, DEL...), bidirectional overrides, display names, quoted
    local parts, IP-address domains and addresses over 254 characters are refused. So are
    non-ASCII local parts: mail goes out through ``smtplib`` without SMTPUTF8, which cannot send
    them; an internationalized domain is returned in its ASCII (punycode) form, as sent.
    Domains under ``.local`` and ``.test`` (:data:`PRIVATE_USE_TLDS`) are accepted.

    :param address: the address as written (``ops@example.com``).
    :raises ValueError: saying what is wrong, quoting a short prefix of the address.
    """
    try:
        return _checked_text(address) if isinstance(address, str) else _checked(address)
    except _Refused as exc:
        raise ValueError(f"{quote(address)} {exc}") from None


def check_email_domain(domain: str) -> str:
    """Check the domain of an e-mail address (``example.com``) and return it in lower-case ASCII.

    The domain is held to exactly the rules of :func:`check_email`.

    :param domain: the domain as written.
    :raises ValueError: saying what is wrong, quoting a short prefix of the domain.
    """
    if not isinstance(domain, str) or not domain or "@" in domain:
        raise ValueError(f"{quote(domain)} is not an e-mail domain (write it without a user, as example.com)")
    try:
        return _checked(f"postmaster@{domain}").rpartition("@")[2]
    except _Refused as exc:
        raise ValueError(f"{quote(domain)} is not an e-mail domain: {exc.reason}") from None


class _Refused(ValueError):
    """What is wrong with an address, without the address."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(text)
        self.reason = reason


@lru_cache(maxsize=4096)
def _checked_text(address: str) -> str:
    # The same few addresses recur across a folder of definitions; the check is pure.
    return _checked(address)


def _checked(address: str) -> str:
    if not isinstance(address, str):
        raise _Refused("is not an e-mail address (not text)", "not text")
    if len(address) > MAX_EMAIL_CHARS:
        reason = f"longer than {MAX_EMAIL_CHARS} characters"
        raise _Refused(f"is not an e-mail address: {reason}", reason)
    bad = control_characters(address)
    if bad:
        reason = f"it contains control or direction-changing characters ({', '.join(bad)})"
        raise _Refused(f"is not an e-mail address: {reason}", reason)
    try:
        try:
            checked = _validate(address)
        except EmailNotValidError:
            private = _private_use(address)
            if private is None:
                raise
            checked = private
    except EmailNotValidError as exc:
        raise _Refused(f"is not a valid e-mail address: {exc}", str(exc)) from None
    return str(checked.ascii_email)


def _validate(address: str) -> ValidatedEmail:
    return validate_email(address, check_deliverability=False, allow_smtputf8=False)


def _private_use(address: str) -> ValidatedEmail | None:
    """The address checked with its ``.local``/``.test`` top-level label swapped for a neutral one.

    email-validator refuses special-use names through a module-wide list; changing that list would
    change every other user of the package in the process, so the one label is swapped instead,
    for one of the same length (the length checks stay exact), and put back in the result.
    """
    if address.count("@") != 1:
        return None
    local, domain = address.split("@")
    head, dot, tld = domain.rpartition(".")
    if not head or not dot or tld.lower() not in PRIVATE_USE_TLDS:
        return None
    neutral = "x" * len(tld)
    checked = _validate(f"{local}@{head}.{neutral}")
    ascii_domain = f"{checked.ascii_domain.removesuffix(neutral)}{tld.lower()}"
    domain_form = f"{checked.domain.removesuffix(neutral)}{tld.lower()}"
    checked.ascii_domain = ascii_domain
    checked.domain = domain_form
    checked.ascii_email = f"{checked.local_part}@{ascii_domain}"
    checked.normalized = f"{checked.local_part}@{domain_form}"
    return checked
