"""Local (file://) staging through ObjectStoragePath: deterministic key, overwrite on retry, never a partial file."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from report_runtime import staging
from report_runtime.files import is_partial_of
from report_runtime.staging import copy_staged, stage_file

KEY = "sales/2026-11-20/req-1/report.csv"
PLUGINS = Path(__file__).resolve().parents[3] / "plugins"


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "staging"
    monkeypatch.setenv("AIRFLOW__REPORTING__STAGING_ROOT", folder.as_uri())
    return folder


def test_a_retry_overwrites_its_own_artifact_and_leaves_no_temporary_file(root, tmp_path):
    source = tmp_path / "report.csv"
    source.write_bytes(b"first version, longer than the second\n")
    uri = stage_file(source, KEY)
    source.write_bytes(b"second\n")

    assert stage_file(source, KEY) == uri == (root / KEY).as_uri()

    assert (root / KEY).read_bytes() == b"second\n"
    assert [p.name for p in (root / KEY).parent.iterdir()] == ["report.csv"]
    assert copy_staged(uri, tmp_path / "back.csv") == (7, hashlib.sha256(b"second\n").hexdigest())


def test_a_failed_restage_keeps_the_previous_artifact_whole_and_removes_its_temporary_file(root, tmp_path, monkeypatch):
    source = tmp_path / "report.csv"
    source.write_bytes(b"good\n")
    stage_file(source, KEY)
    source.write_bytes(b"the new version that never lands\n")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(staging.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        stage_file(source, KEY)

    assert (root / KEY).read_bytes() == b"good\n"
    assert [p.name for p in (root / KEY).parent.iterdir()] == ["report.csv"]


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from report_runtime.staging import stage_file
stage_file(Path(sys.argv[2]), sys.argv[3])
"""


def test_a_process_killed_mid_copy_leaves_nothing_under_the_final_name(root, tmp_path):
    source = tmp_path / "big.xlsx"
    data = os.urandom(256 * 1024 * 1024)
    source.write_bytes(data)
    key = "sales/2026-11-20/req-kill/big.xlsx"
    folder = root / key.rsplit("/", 1)[0]
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(PLUGINS), str(source), key], env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            partials = list(folder.glob(".big.xlsx.*.partial")) if folder.exists() else []
            if any(p.stat().st_size > 0 for p in partials if p.exists()):
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
        assert child.wait(30) == -signal.SIGKILL, "the staging process was killed during the copy"
    finally:
        if child.poll() is None:
            child.kill()
    assert not (root / key).exists(), "nothing under the final name"
    [leftover] = folder.iterdir()
    assert leftover.name.startswith(f".big.xlsx.{child.pid}.") and is_partial_of(leftover.name, "big.xlsx")

    uri = stage_file(source, key)

    assert copy_staged(uri, tmp_path / "back.xlsx") == (len(data), hashlib.sha256(data).hexdigest())
    assert [p.name for p in folder.iterdir()] == ["big.xlsx"], "the killed try's temporary file is gone"


def test_a_copy_that_differs_from_the_staged_checksum_raises(root, tmp_path):
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n")
    uri = stage_file(source, KEY)

    with pytest.raises(OSError, match="differs from the staged 0000"):
        copy_staged(uri, tmp_path / "back.csv", expect_sha256="0" * 64)
    assert copy_staged(uri, tmp_path / "back.csv", expect_sha256=hashlib.sha256(b"a,b\n").hexdigest())[0] == 4
