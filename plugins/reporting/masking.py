"""Masking credential-looking text (passwords, tokens, ``user:pass@host``) before it reaches a log or a table."""

from __future__ import annotations

import re

# Text that looks like a credential is masked before a message reaches a log table.
_SECRET_PATTERNS = (
    re.compile(r"(?i)(password|passwd|pwd|secret|token|api[_-]?key|authorization)(\s*[=:]\s*)([^\s,;&'\"]+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@/\s]+)(@)"),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._\-]+)"),
)


def mask_secrets(text: str) -> str:
    """Mask credential-looking values (``password=...``, ``user:pass@host``, bearer tokens).

    :param text: any message.
    """
    # Bearer first: "Authorization: Bearer x" would otherwise mask only the word "Bearer".
    text = _SECRET_PATTERNS[2].sub(r"\1***", text)
    text = _SECRET_PATTERNS[0].sub(r"\1\2***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***\3", text)
