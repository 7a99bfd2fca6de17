"""Credentials are masked before a message reaches a log or a table."""

from __future__ import annotations

import pytest

from reporting.masking import mask_secrets


@pytest.mark.parametrize(
    "text",
    [
        "connect postgresql://bi:hunter2@db:5432/x failed",
        "login failed: password=hunter2",
        "Authorization: Bearer hunter2",
        "api_key: hunter2",
    ],
)
def test_credentials_are_masked(text):
    masked = mask_secrets(text)
    assert "hunter2" not in masked and "***" in masked
