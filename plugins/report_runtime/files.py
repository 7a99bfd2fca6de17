"""File helpers the stages share: temporary names beside a final one, write-then-rename, checksummed copies."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

CHUNK = 1024 * 1024
_TOKEN_BYTES = 4


def partial_name(final_name: str) -> str:
    """A hidden temporary name beside ``final_name``, new on every call: ``.<final>.<pid>.<token>.partial``.

    The process id and a random token make it unique per try, so two tries writing the same
    file at once never write into one temporary file.

    :param final_name: the file name the temporary file is renamed to.
    """
    return f".{final_name}.{os.getpid()}.{secrets.token_hex(_TOKEN_BYTES)}.partial"


def is_partial_of(name: str, final_name: str) -> bool:
    """Whether ``name`` is a temporary name :func:`partial_name` gave for ``final_name``.

    :param name: a file name found beside the final one.
    :param final_name: the final file name.
    """
    pattern = rf"\.{re.escape(final_name)}\.\d+\.[0-9a-f]{{{2 * _TOKEN_BYTES}}}\.partial"
    return re.fullmatch(pattern, name) is not None


def remove_leftovers(names: Iterable[str], final_name: str, remove: Callable[[str], Any]) -> None:
    """Remove the temporary files that earlier tries left beside ``final_name``.

    A try killed mid-write cannot clean up after itself; the try that put the file in place does.

    :param names: the names in the final file's folder.
    :param final_name: the final file name.
    :param remove: removes one of those names.
    """
    for name in names:
        # A leftover that stays is litter, not a failed delivery.
        if is_partial_of(name, final_name):
            with contextlib.suppress(Exception):
                remove(name)


def copy_file(source: BinaryIO, sink: BinaryIO) -> tuple[int, str]:
    """Copy ``source`` into ``sink`` and flush it to disk; return (bytes, sha256) of what was written.

    :param source: a file open for reading.
    :param sink: a local file open for writing.
    """
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        sink.write(chunk)
    sink.flush()
    os.fsync(sink.fileno())
    return size, digest.hexdigest()


@contextmanager
def written_then_renamed(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; once the block succeeds, it is renamed onto ``final``.

    A crash or an error mid-write never leaves a partial file under the final name (a failed
    rewrite keeps the previous file whole); the temporary file is removed either way, and once
    the file is in place the leftovers of earlier killed tries go too.

    :param final: the local file to write.
    """
    partial = final.parent / partial_name(final.name)
    try:
        yield partial
        partial.replace(final)
    finally:
        partial.unlink(missing_ok=True)
    remove_leftovers((p.name for p in final.parent.iterdir()), final.name, lambda name: (final.parent / name).unlink())
