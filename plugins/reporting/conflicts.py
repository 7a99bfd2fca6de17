"""A delivery whose file name another request already holds: the ``on_conflict`` policies and the names they try.

Two requests for the same report, parameters and day render the same file name. A target's
``on_conflict`` decides what the later one does when the delivery log records that name for a
different request: ``unique`` writes beside it under a name with the request's tag, ``fail``
refuses, ``replace`` writes over it and says so in both requests' trails. A retry of the same
request always finds the name it took before, whatever the policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

MAX_COMPONENT_BYTES = 255
"""The longest file name (one path component, one key segment) in UTF-8 bytes that file systems accept."""

MAX_UNIQUE_NAMES = 10
"""How many tagged names ``unique`` tries after the rendered one before it gives up."""

_TAG_HEX = 8
_LONGEST_EXTENSION = 16


class OnConflict(StrEnum):
    """What a target does when its file name holds another request's delivered file."""

    UNIQUE = "unique"
    """Deliver under the name with ``__<request tag>`` before the extension; the earlier file stays."""
    REPLACE = "replace"
    """Write over the earlier file, recording the replacement in both requests' trails."""
    FAIL = "fail"
    """Refuse: the delivery fails (no retry), naming the location and the other request."""


class Action(StrEnum):
    """What a delivery does with a location, given who holds it (see :func:`decide`)."""

    WRITE = "write"
    """The location is this request's: write (or, on a retry, rewrite) it."""
    NEXT = "next"
    """Another request holds it: try the next unique name."""
    FAIL = "fail"
    """Another request holds it and the policy refuses to touch it."""
    TAKE_OVER = "take_over"
    """Take the location from its holder, then write it."""
    WAIT = "wait"
    """Another request is writing it right now: wait until it is recorded, then replace it."""


@dataclass(frozen=True)
class Holder:
    """Who holds a delivery location now (the request store's claim).

    :param request_id: the request whose file is (or is being) written there.
    :param delivered: the holder's delivery is recorded, so its SHA-256 stands for the file.
    :param expired: the holder claimed it but never recorded a delivery, and its lease (the
        longest its task may run) is over: that try is dead.
    """

    request_id: str
    delivered: bool
    expired: bool


def decide(holder: Holder, request_id: str, policy: OnConflict) -> Action:
    """What a request's delivery does with a location another request may hold.

    :param holder: who holds the location.
    :param request_id: the request delivering now.
    :param policy: the target's ``on_conflict``.
    """
    if holder.request_id == request_id:
        return Action.WRITE
    if not holder.delivered and holder.expired:
        # A try that died mid-write recorded nothing there, so no recorded checksum can break.
        return Action.TAKE_OVER
    if policy is OnConflict.UNIQUE:
        return Action.NEXT
    if policy is OnConflict.FAIL:
        return Action.FAIL
    return Action.TAKE_OVER if holder.delivered else Action.WAIT


def request_tag(request_id: str) -> str:
    """The short, fixed-length tag of a request in unique names: the first hex digits of its SHA-256.

    :param request_id: the request's id.
    """
    return hashlib.sha256(request_id.encode("utf-8")).hexdigest()[:_TAG_HEX]


def unique_name(name: str, request_id: str, attempt: int = 1) -> str:
    """``name`` with ``__<tag>`` (``__<tag>_<attempt>`` after the first) before its extension, at most 255 bytes.

    ``sales_EMEA_2026-11-23.csv`` becomes ``sales_EMEA_2026-11-23__1a2b3c4d.csv``; the same
    request always gets the same name, and a name too long is shortened before the tag.

    :param name: the rendered file name (one path component).
    :param request_id: the request's id.
    :param attempt: 1 for the first tagged name; higher when that one is taken too.
    """
    stem, extension = _split_extension(name)
    suffix = f"__{request_tag(request_id)}" + (f"_{attempt}" if attempt > 1 else "")
    room = MAX_COMPONENT_BYTES - len((suffix + extension).encode("utf-8"))
    return _truncated(stem, room) + suffix + extension


def unique_key(key: str, request_id: str, attempt: int = 1) -> str:
    """An object key whose last segment is :func:`unique_name` of the key's.

    :param key: the rendered object key (``/`` separates segments).
    :param request_id: the request's id.
    :param attempt: 1 for the first tagged key; higher when that one is taken too.
    """
    head, slash, last = key.rpartition("/")
    return head + slash + unique_name(last, request_id, attempt)


def candidates(name: str, request_id: str, policy: OnConflict, *, key: bool = False) -> Iterator[str]:
    """The names a delivery tries in order: the rendered one, then (``unique`` only) the tagged ones.

    :param name: the rendered file name or object key.
    :param request_id: the request's id.
    :param policy: the target's ``on_conflict``.
    :param key: ``name`` is an object key (the tag goes into its last segment).
    """
    yield name
    if policy is OnConflict.UNIQUE:
        tagged = unique_key if key else unique_name
        for attempt in range(1, MAX_UNIQUE_NAMES + 1):
            yield tagged(name, request_id, attempt)


def location_key(target_type: str, location: str) -> str:
    """The key of a delivery location in the request store: the SHA-256 of its text.

    SMB shares compare names without regard to case, so ``Sales.csv`` and ``sales.csv`` there
    are one file and one key.

    :param target_type: ``local``, ``s3``, ``sftp`` or ``smb``.
    :param location: the location as the delivery log records it (a path or URL).
    """
    text = location.casefold() if target_type == "smb" else location
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or not extension or len(extension.encode("utf-8")) > _LONGEST_EXTENSION:
        return name, ""
    return stem, dot + extension


def _truncated(text: str, max_bytes: int) -> str:
    # Cut on a character boundary: a half UTF-8 sequence would be a broken name.
    return text.encode("utf-8")[: max(max_bytes, 0)].decode("utf-8", errors="ignore")
