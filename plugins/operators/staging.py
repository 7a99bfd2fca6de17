"""Staging storage: where generated artifacts wait for delivery (file:// locally, s3:// in production)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from airflow.sdk import ObjectStoragePath, conf

STAGING_SECTION = "reporting"
STAGING_OPTION = "staging_root"
_CHUNK = 1024 * 1024


def staging_root() -> ObjectStoragePath:
    """The staging root: ``[reporting] staging_root`` (``AIRFLOW__REPORTING__STAGING_ROOT``).

    Defaults to ``file://$AIRFLOW_HOME/reporting-staging``.
    """
    configured = conf.get(STAGING_SECTION, STAGING_OPTION, fallback=None)
    if not configured:
        home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser().resolve()
        configured = (home / "reporting-staging").as_uri()
    return ObjectStoragePath(configured)


def stage_file(local: Path, key: str) -> str:
    """Copy a finished local file to ``<staging root>/<key>`` and return its URI.

    The key is deterministic per (report, run date, request, file), so a retry overwrites
    its own artifact and nothing else.

    :param local: the rendered file.
    :param key: the staging key from :func:`reporting.naming.staging_key`.
    """
    target = staging_root() / key
    target.parent.mkdir(parents=True, exist_ok=True)
    with local.open("rb") as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, _CHUNK)
    return str(target)


def copy_staged(uri: str, sink_path: Path) -> tuple[int, str]:
    """Copy a staged artifact to a local file, returning (bytes, sha256) of what was written.

    :param uri: the artifact's staging URI.
    :param sink_path: the local file to write.
    """
    digest = hashlib.sha256()
    size = 0
    with ObjectStoragePath(uri).open("rb") as source, sink_path.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            sink.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    return size, digest.hexdigest()
