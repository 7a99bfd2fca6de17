"""Temporary names beside a final file, write-then-rename, and the copy that reports what it wrote."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from report_runtime.files import copy_file, is_partial_of, partial_name, remove_leftovers, written_then_renamed


def test_every_try_gets_a_temporary_name_of_its_own():
    names = {partial_name("report.csv") for _ in range(100)}

    assert len(names) == 100
    assert all(n.startswith(f".report.csv.{os.getpid()}.") and n.endswith(".partial") for n in names)
    assert all(is_partial_of(n, "report.csv") for n in names)


@pytest.mark.parametrize(
    "name",
    [
        "report.csv",
        ".report.csv.partial",
        ".report.csv.1.x.123.abcdef01.partial",
        ".other.csv.123.abcdef01.partial",
        ".report.csv.123.abcdef01.partial.bak",
        ".report.csv.pid.abcdef01.partial",
    ],
)
def test_only_its_own_temporary_names_count_as_leftovers_of_a_file(name):
    assert not is_partial_of(name, "report.csv")


def test_leftovers_are_removed_and_a_failing_removal_is_not_an_error():
    removed = []

    def remove(name):
        removed.append(name)
        raise PermissionError(name)

    names = ["report.csv", ".report.csv.7.0123abcd.partial", "other.csv", ".report.csv.8.89abcdef.partial"]
    remove_leftovers(names, "report.csv", remove)

    assert removed == [".report.csv.7.0123abcd.partial", ".report.csv.8.89abcdef.partial"]


def test_copy_file_returns_the_size_and_checksum_of_what_it_wrote(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 5)
    with (tmp_path / "out").open("wb") as sink:
        assert copy_file(io.BytesIO(data), sink) == (len(data), hashlib.sha256(data).hexdigest())
    assert (tmp_path / "out").read_bytes() == data


def test_written_then_renamed_puts_the_file_in_place_and_removes_what_killed_tries_left(tmp_path):
    final = tmp_path / "report.csv"
    leftover = tmp_path / ".report.csv.4242.0badcafe.partial"
    leftover.write_bytes(b"half")
    (tmp_path / "unrelated.txt").write_bytes(b"keep")

    with written_then_renamed(final) as partial:
        assert partial.parent == tmp_path and is_partial_of(partial.name, "report.csv")
        partial.write_bytes(b"whole")

    assert final.read_bytes() == b"whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "unrelated.txt"]


def test_a_failed_write_keeps_the_previous_file_whole_and_leaves_no_temporary_file(tmp_path):
    final = tmp_path / "report.csv"
    final.write_bytes(b"previous")

    with pytest.raises(OSError, match="disk full"), written_then_renamed(final) as partial:
        partial.write_bytes(b"half of the new")
        raise OSError("disk full")

    assert final.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.csv"]
