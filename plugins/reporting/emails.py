"""The one e-mail address check, for definitions and requests alike.

It calls ``email-validator`` directly rather than through pydantic's ``EmailStr`` (which uses the
same package): ``EmailStr`` also takes ``"Name <a@example.com>"`` and silently drops the name,
strips surrounding spaces instead of refusing them, and takes 2,048 characters.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from reporting.limits import MAX_EMAIL_CHARS, control_characters, quote


def check_email(address: str) -> str:
    """Check one e-mail address and return it normalized (domain in lower-case ASCII).

    Control characters (NUL, CR, LF, DEL...), bidirectional overrides, display names, quoted
    local parts, IP-address domains and addresses over 254 characters are refused. So are
    non-ASCII local parts: mail goes out through ``smtplib`` without SMTPUTF8, which cannot send
    them; an internationalized domain is returned in its ASCII (punycode) form, as sent.

    :param address: the address as written (``ops@example.com``).
    :raises ValueError: saying what is wrong, quoting a short prefix of the address.
    """
    if not isinstance(address, str):
        raise ValueError(f"{quote(address)} is not an e-mail address (not text)")
    if len(address) > MAX_EMAIL_CHARS:
        raise ValueError(f"{quote(address)} is not an e-mail address: longer than {MAX_EMAIL_CHARS} characters")
    bad = control_characters(address)
    if bad:
        raise ValueError(
            f"{quote(address)} is not an e-mail address: it contains control or direction-changing characters"
            f" ({', '.join(bad)})"
        )
    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(f"{quote(address)} is not a valid e-mail address: {exc}") from None
    return str(checked.ascii_email)
