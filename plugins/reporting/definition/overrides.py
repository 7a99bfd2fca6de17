"""What a request's own distribution may add to, or replace in, a report's targets."""

from __future__ import annotations

from pydantic import Field, field_validator

from reporting.definition.base import DefinitionModel, EmailDomain, safe_directory
from reporting.definition.targets import TargetType


class OverridePolicy(DefinitionModel):
    """What a request's own distribution (``conf.distribution``) may do; nothing by default.

    :param allowed_types: target types a request may add (empty: no overrides at all).
    :param allow_replace: a request may replace the definition's targets instead of adding to them.
    :param allowed_conn_ids: connections an added s3/sftp/smb/email target may use.
    :param allowed_hosts: when given, the host of each such connection must be one of these.
    :param allowed_email_domains: domains every added e-mail recipient must belong to.
    :param allowed_paths: directories an added local target must lie under.
    :param max_targets: the most targets a request may add.
    """

    allowed_types: list[TargetType] = Field(default_factory=list)
    allow_replace: bool = False
    allowed_conn_ids: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)
    allowed_email_domains: list[EmailDomain] = Field(default_factory=list)
    allowed_paths: list[str] = Field(default_factory=list)
    max_targets: int = Field(default=5, ge=1, le=50)

    @field_validator("allowed_paths")
    @classmethod
    def _absolute_paths(cls, values: list[str]) -> list[str]:
        for value in values:
            safe_directory(value, absolute=True)
        return [value.rstrip("/") or "/" for value in values]

    @field_validator("allowed_hosts")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [value.lower() for value in values]
