"""Staging storage: where generated artifacts wait for delivery (file:// locally, s3:// in production).

``[reporting] staging_root`` (``AIRFLOW__REPORTING__STAGING_ROOT``) names it. Every root goes
through ``airflow.sdk.ObjectStoragePath``: ``file://`` through fsspec's local filesystem, and
``s3://[conn_id@]bucket/prefix`` through the amazon provider's fsspec integration (s3fs) on that
Airflow connection (``aws_default`` when the URI names none). A staged artifact's URI keeps the
connection in it (``s3://conn_id@bucket/key``), so readers use the same one.

Writes never leave a partial file under the final key: on a local root the bytes go to a
temporary name beside it, are flushed to disk and renamed into place; on S3 a PUT (single or
multipart) becomes visible only once complete, and a failed multipart upload is aborted.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from airflow.sdk import ObjectStoragePath, conf

from report_runtime.files import copy_file, written_then_renamed

STAGING_SECTION = "reporting"
STAGING_OPTION = "staging_root"
DEFAULT_S3_CONN_ID = "aws_default"
_LOCAL_PROTOCOLS = frozenset({"file", "local"})
_S3_PROTOCOLS = frozenset({"s3", "s3a", "s3n"})
# S3 uploads: parts of 8 MiB, 4 in flight, so an upload holds about 32 MiB whatever the file's
# size (s3fs's own default reads up to 100 MiB into memory for one PUT). A file under two parts
# goes up in one PUT. S3 allows 10,000 parts, so a larger file gets larger parts.
_PART_SIZE = 8 * 1024 * 1024
_PARTS_IN_FLIGHT = 4
_MAX_PARTS = 10_000


def staging_root_uri() -> str:
    """The configured staging root; defaults to ``file://$AIRFLOW_HOME/reporting-staging``."""
    configured = conf.get(STAGING_SECTION, STAGING_OPTION, fallback=None)
    if configured:
        return configured.rstrip("/")
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().resolve()
    return (home / "reporting-staging").as_uri()


def staged_path(uri: str) -> ObjectStoragePath:
    """An ObjectStoragePath for a staging URI (the root or an artifact's).

    The connection comes from the URI's user part (``s3://conn_id@bucket/key``); an S3 URI
    without one uses ``aws_default``.

    :param uri: ``file:///...`` or ``s3://[conn_id@]bucket/key`` (or another fsspec URI).
    """
    path = ObjectStoragePath(uri)
    if path.conn_id is None and path.protocol in _S3_PROTOCOLS:
        path = ObjectStoragePath(uri, conn_id=DEFAULT_S3_CONN_ID)
    return path


def stage_file(local: Path, key: str) -> str:
    """Copy a finished local file to ``<staging root>/<key>`` and return its URI.

    The key is deterministic per (report, run date, request, file), so a retry overwrites
    its own artifact and nothing else.

    :param local: the rendered file.
    :param key: the staging key from :func:`reporting.naming.staging_key`.
    """
    target = staged_path(staging_root_uri()) / key
    size = local.stat().st_size
    if target.protocol in _LOCAL_PROTOCOLS:
        _write_local(local, Path(target.path))
    else:
        # put_file: one PUT, or a multipart upload that is completed only when every part is
        # in (and aborted when one fails); either way the object appears whole or not at all.
        target.fs.put_file(
            str(local),
            target.path,
            chunksize=max(_PART_SIZE, math.ceil(size / _MAX_PARTS)),
            max_concurrency=_PARTS_IN_FLIGHT,
        )
    stored = target.stat().st_size
    if stored != size:
        raise OSError(f"{target}: staged {stored} bytes, the rendered file has {size}")
    return str(target)


def _write_local(local: Path, target: Path) -> None:
    """Write to a temporary name beside the final one, flush it to disk, then rename it into place.

    A crash or an error mid-copy leaves at most the hidden temporary file, never a partial file
    under the final name (a failed re-stage keeps the previous artifact whole).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with written_then_renamed(target) as partial, local.open("rb") as source, partial.open("wb") as sink:
        copy_file(source, sink)


def copy_staged(uri: str, sink_path: Path, *, expect_sha256: str | None = None) -> tuple[int, str]:
    """Copy a staged artifact to a local file, returning (bytes, sha256) of what was written.

    :param uri: the artifact's staging URI.
    :param sink_path: the local file to write.
    :param expect_sha256: the artifact's checksum; a copy that differs raises ``OSError``.
    """
    # block_size bounds s3fs's read-ahead (50 MiB by default); local files ignore it.
    with sink_path.open("wb") as sink, staged_path(uri).open("rb", block_size=_PART_SIZE) as source:
        size, digest = copy_file(source, sink)
    if expect_sha256 is not None and digest != expect_sha256:
        raise OSError(f"{uri}: copied sha256 {digest} differs from the staged {expect_sha256}")
    return size, digest


def presigned_url(uri: str, expires_in: int) -> str:
    """A URL that downloads a staged S3 artifact without credentials, valid for ``expires_in`` seconds.

    :param uri: the artifact's ``s3://`` staging URI.
    :param expires_in: seconds the URL stays valid.
    """
    url: str = staged_path(uri).sign(expiration=expires_in)
    return url


def is_s3(uri: str) -> bool:
    """Whether a staging URI is on S3 (where links can be presigned URLs)."""
    return uri.split("://", 1)[0] in _S3_PROTOCOLS
