"""Staging storage: where generated artifacts wait for delivery (file:// locally, s3:// in production).

``[reporting] staging_root`` (``AIRFLOW__REPORTING__STAGING_ROOT``) names it. Local and other
fsspec roots go through ``airflow.sdk.ObjectStoragePath``. An ``s3://[conn_id@]bucket/prefix``
root goes through the amazon provider's S3Hook on that connection (default ``aws_default``):
ObjectStoragePath needs s3fs for S3, and no s3fs release resolves with the pinned
boto3/botocore, so the hook does the same job with the same URIs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from airflow.sdk import ObjectStoragePath, conf

STAGING_SECTION = "reporting"
STAGING_OPTION = "staging_root"
_CHUNK = 1024 * 1024


def staging_root_uri() -> str:
    """The configured staging root; defaults to ``file://$AIRFLOW_HOME/reporting-staging``."""
    configured = conf.get(STAGING_SECTION, STAGING_OPTION, fallback=None)
    if configured:
        return configured.rstrip("/")
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().resolve()
    return (home / "reporting-staging").as_uri()


@dataclass(frozen=True)
class S3Location:
    """An ``s3://[conn_id@]bucket/key`` URI, split.

    :param conn_id: the Airflow AWS connection.
    :param bucket: the bucket.
    :param key: the object key (or key prefix).
    """

    conn_id: str
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """Split an S3 URI; the connection defaults to ``aws_default``.

        :param uri: ``s3://[conn_id@]bucket/key``.
        """
        parts = urlsplit(uri)
        return cls(parts.username or "aws_default", parts.hostname or "", parts.path.lstrip("/"))

    def uri(self) -> str:
        """The URI again, with the connection in it so readers use the same one."""
        return f"s3://{self.conn_id}@{self.bucket}/{self.key}"

    def hook(self):
        """An S3Hook on this location's connection."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.conn_id)


def stage_file(local: Path, key: str) -> str:
    """Copy a finished local file to ``<staging root>/<key>`` and return its URI.

    The key is deterministic per (report, run date, request, file), so a retry overwrites
    its own artifact and nothing else.

    :param local: the rendered file.
    :param key: the staging key from :func:`reporting.naming.staging_key`.
    """
    root = staging_root_uri()
    if root.startswith("s3://"):
        base = S3Location.parse(root)
        target = S3Location(base.conn_id, base.bucket, f"{base.key}/{key}".lstrip("/"))
        target.hook().load_file(str(local), key=target.key, bucket_name=target.bucket, replace=True)
        return target.uri()
    path = ObjectStoragePath(root) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    with local.open("rb") as source, path.open("wb") as sink:
        shutil.copyfileobj(source, sink, _CHUNK)
    return str(path)


class _HashingWriter:
    """A file wrapper that counts and hashes what passes through it."""

    def __init__(self, sink: BinaryIO) -> None:
        self.sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.digest.update(chunk)
        self.size += len(chunk)
        return self.sink.write(chunk)


def copy_staged(uri: str, sink_path: Path) -> tuple[int, str]:
    """Copy a staged artifact to a local file, returning (bytes, sha256) of what was written.

    :param uri: the artifact's staging URI.
    :param sink_path: the local file to write.
    """
    with sink_path.open("wb") as sink:
        writer = _HashingWriter(sink)
        if uri.startswith("s3://"):
            location = S3Location.parse(uri)
            location.hook().get_key(location.key, location.bucket).download_fileobj(writer)
        else:
            with ObjectStoragePath(uri).open("rb") as source:
                while chunk := source.read(_CHUNK):
                    writer.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    return writer.size, writer.digest.hexdigest()
