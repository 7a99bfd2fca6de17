"""Distribution targets: where a report's files are delivered (local folder, S3, SFTP, SMB, e-mail)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import Field, field_validator

from reporting.conflicts import OnConflict
from reporting.definition.base import CONN_ID, DefinitionModel, EmailAddress, ReportFormat, matching, safe_directory
from reporting.durations import Duration
from reporting.limits import control_characters, quote
from reporting.naming import env_default_problems, expand_env

_TARGET_NAME = r"^[A-Za-z0-9_.\-]{1,100}$"
_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_SMB_SHARE = re.compile(r"^[A-Za-z0-9_.$\- ]{1,80}$")


class LocalTarget(DefinitionModel):
    """Deliver into a local or mounted (NAS/NFS) directory.

    :param name: the target's key in delivery records; defaults to ``local_<index>``.
    :param path: an absolute directory; created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    :param on_conflict: when the file name holds another request's delivered file: ``unique`` (deliver
        under a tagged name beside it), ``replace`` (write over it, noted in both trails) or ``fail``.
    """

    type: Literal["local"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    path: str = Field(min_length=1)
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)
    on_conflict: OnConflict = OnConflict.UNIQUE

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]

    @property
    def conn_id(self) -> None:
        """Local folders need no connection."""
        return None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        # Checked on the raw text: the ${VAR} form is resolved on the worker that delivers. Its
        # defaults are written here, so they are checked here like the rest of the text.
        if not value.startswith(("/", "${")) or "\x00" in value:
            raise ValueError("must be an absolute directory path (it may start with ${VAR} or ${VAR:-default})")
        if control_characters(value):
            raise ValueError(f"must not contain control characters ({', '.join(control_characters(value))})")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        problems = env_default_problems(value)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    def resolved_path(self, environ: Mapping[str, str]) -> str:
        """The directory with ``${VAR}``/``${VAR:-default}`` read from an environment.

        :param environ: the environment of the process that delivers (``os.environ``).
        """
        path = expand_env(self.path, environ)
        if not path.startswith("/") or ".." in path.split("/") or "\x00" in path:
            raise ValueError(f"target path {quote(self.path)} resolves to {quote(path)}, not a safe absolute directory")
        return path


class S3Target(DefinitionModel):
    """Write each artifact to an S3 key; the object's metadata carries its SHA-256.

    :param name: the target's key in delivery records; defaults to ``s3_<index>``.
    :param conn_id: the Airflow AWS connection.
    :param bucket: the bucket.
    :param key: the object-key template; ``/`` separates segments, each sanitised.
    :param formats: deliver only these formats (default: all the report's formats).
    :param on_conflict: when the file name holds another request's delivered file: ``unique`` (deliver
        under a tagged name beside it), ``replace`` (write over it, noted in both trails) or ``fail``.
    """

    type: Literal["s3"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="aws_default", pattern=CONN_ID)
    bucket: str
    key: str = "{report_id}/{run_date}/{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)
    on_conflict: OnConflict = OnConflict.UNIQUE

    @field_validator("bucket")
    @classmethod
    def _valid_bucket(cls, value: str) -> str:
        if not _S3_BUCKET.match(value) or ".." in value:
            raise ValueError("is not a valid S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
        return value

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("key", self.key, "key")]


class SftpTarget(DefinitionModel):
    """Upload each artifact over SFTP to a temporary name, then rename it into place.

    :param name: the target's key in delivery records; defaults to ``sftp_<index>``.
    :param conn_id: the Airflow SSH/SFTP connection.
    :param directory: the absolute remote directory; created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    :param on_conflict: when the file name holds another request's delivered file: ``unique`` (deliver
        under a tagged name beside it), ``replace`` (write over it, noted in both trails) or ``fail``.
    """

    type: Literal["sftp"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="sftp_default", pattern=CONN_ID)
    directory: str = Field(min_length=1)
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)
    on_conflict: OnConflict = OnConflict.UNIQUE

    @field_validator("directory")
    @classmethod
    def _absolute(cls, value: str) -> str:
        return safe_directory(value, absolute=True)

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]


class SmbTarget(DefinitionModel):
    """Write each artifact to an SMB/NAS share under a temporary name, then rename it into place.

    :param name: the target's key in delivery records; defaults to ``smb_<index>``.
    :param conn_id: the Airflow Samba connection.
    :param share: the share name.
    :param directory: the directory inside the share (``""`` for its root); created if missing.
    :param filename: the file-name template.
    :param formats: deliver only these formats (default: all the report's formats).
    :param on_conflict: when the file name holds another request's delivered file: ``unique`` (deliver
        under a tagged name beside it), ``replace`` (write over it, noted in both trails) or ``fail``.
    """

    type: Literal["smb"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="samba_default", pattern=CONN_ID)
    share: str
    directory: str = ""
    filename: str = "{report_id}_{run_date}.{format}"
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)
    on_conflict: OnConflict = OnConflict.UNIQUE

    @field_validator("share")
    @classmethod
    def _valid_share(cls, value: str) -> str:
        return matching(_SMB_SHARE, value, "is not a valid share name (letters, digits, space, '_', '.', '$', '-')")

    @field_validator("directory")
    @classmethod
    def _relative(cls, value: str) -> str:
        return safe_directory(value.strip("/") if value == "/" else value, absolute=False)

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("filename", self.filename, "filename")]


class EmailTarget(DefinitionModel):
    """Send the artifacts in one message: attached, or as links when too big (or asked to).

    :param name: the target's key in delivery records; defaults to ``email_<index>``.
    :param conn_id: the Airflow SMTP connection.
    :param to: recipients.
    :param cc: copy recipients.
    :param bcc: blind-copy recipients.
    :param subject: the subject template (one line; control characters are refused).
    :param body: the HTML body template (values are HTML-escaped).
    :param mode: ``attach`` the files, or send a ``link`` to each.
    :param max_attachment_bytes: above this total size, links are sent instead of attachments.
    :param link_expiry: how long a presigned link stays valid.
    :param formats: send only these formats (default: all the report's formats).
    """

    type: Literal["email"]
    name: str | None = Field(default=None, pattern=_TARGET_NAME)
    conn_id: str = Field(default="smtp_default", pattern=CONN_ID)
    to: list[EmailAddress] = Field(min_length=1, max_length=100)
    cc: list[EmailAddress] = Field(default_factory=list, max_length=100)
    bcc: list[EmailAddress] = Field(default_factory=list, max_length=100)
    subject: str = Field(default="{title} {run_date}", min_length=1, max_length=500)
    body: str = "<p>{title} for {run_date} (request {request_id}).</p>"
    mode: Literal["attach", "link"] = "attach"
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)
    link_expiry: Duration = timedelta(days=7)
    formats: list[ReportFormat] | None = Field(default=None, min_length=1)

    @field_validator("link_expiry")
    @classmethod
    def _expiry_in_range(cls, value: timedelta) -> timedelta:
        # S3 presigned URLs made with SigV4 are valid for at most 7 days.
        if not timedelta(minutes=1) <= value <= timedelta(days=7):
            raise ValueError("must be between 1 minute and 7 days")
        return value

    def templates(self) -> list[tuple[str, str, str]]:
        """``(field, template, kind)`` of every template this target renders."""
        return [("subject", self.subject, "header"), ("body", self.body, "text")]

    def recipients(self) -> list[str]:
        """Every address the message goes to."""
        return [*self.to, *self.cc, *self.bcc]


Target = Annotated[LocalTarget | S3Target | SftpTarget | SmbTarget | EmailTarget, Field(discriminator="type")]
TargetType = Literal["local", "s3", "sftp", "smb", "email"]
