"""Read one definition file as YAML within bounds: size, nodes, alias expansion, depth and finite numbers.

The file is checked in one streaming pass over the parser's events before anything is built, so
an alias bomb, a file nested a hundred thousand levels deep (which crashes libyaml's composer)
or a list of a million items is refused in milliseconds, holding no more than the file itself.
Only then is it loaded, with the safe loader. The same pass refuses a key given twice in one
mapping (YAML would silently keep the last) and a NaN or infinite number, naming the field.
"""

from __future__ import annotations

import io
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import Node, ScalarNode
from yaml.resolver import Resolver

from reporting.limits import (
    MAX_ALIAS_EXPANSION,
    MAX_DEFINITION_BYTES,
    MAX_NUMBER_CHARS,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    quote,
)

try:  # the C parser is ~10x faster; parse time is paid by every DAG-processor cycle
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_FLOAT_TAG = "tag:yaml.org,2002:float"
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# The first character of every plain scalar YAML 1.1 may resolve to an integer or a float.
_NUMBER_START = frozenset("-+.0123456789")
# The first characters of every plain scalar YAML 1.1 may resolve to something other than a string.
_RESOLVED_START = frozenset(Resolver.yaml_implicit_resolvers) | {""}
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_\-]{1,60}")
_MESSAGE_CHARS = 500
_PATH_CHARS = 120


class YamlReadError(ValueError):
    """A definition file cannot be read or is not valid YAML; the message is one line."""


class YamlBoundsError(YamlReadError):
    """A definition file passes a bound (size, nodes, aliases, depth) or holds a NaN or infinity."""


def read_definition_yaml(path: Path | str) -> Any:
    """Read and load one definition file, refusing it the moment it passes a bound.

    :param path: the YAML file.
    :raises YamlBoundsError: the file is too large, has too many nodes, aliases that expand to too
        many, nesting too deep, or a NaN or infinite number.
    :raises YamlReadError: the file cannot be read, is not valid YAML, or gives a key twice.
    """
    path = Path(path)
    data = _read_bounded(path)
    try:
        _check_events(_named_stream(data, path.name))
        return yaml.load(_named_stream(data, path.name), Loader=_Loader)
    except YamlReadError:
        raise
    except yaml.YAMLError as exc:
        raise YamlReadError(_one_line(f"not valid YAML: {exc}")) from None
    except Exception as exc:  # the constructors raise plain errors too (on a 5,000-digit integer)
        raise YamlReadError(_one_line(f"not valid YAML: {exc}")) from None


def _read_bounded(path: Path) -> bytes:
    # Non-blocking, so a FIFO planted as a definition is refused rather than waited on.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise YamlReadError(f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise YamlReadError("cannot be read: not a regular file")
        if info.st_size > MAX_DEFINITION_BYTES:
            raise YamlBoundsError(_too_large(f"{info.st_size:,} bytes"))
        chunks: list[bytes] = []
        total = 0
        # The file may grow after the size check: read one byte past the bound, never more.
        while total <= MAX_DEFINITION_BYTES:
            chunk = os.read(fd, MAX_DEFINITION_BYTES + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > MAX_DEFINITION_BYTES:
            raise YamlBoundsError(_too_large(f"more than {MAX_DEFINITION_BYTES:,} bytes"))
        return b"".join(chunks)
    except OSError as exc:
        raise YamlReadError(f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _too_large(size: str) -> str:
    limit = MAX_DEFINITION_BYTES
    return f"the file is {size}; a definition may be at most {limit:,} bytes ({limit // 1024} KiB)"


def _named_stream(data: bytes, name: str) -> io.BytesIO:
    # The parser names its input in error marks; a bare byte string would say "<byte string>".
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


@dataclass(slots=True)
class _Frame:
    """One open list or mapping while streaming the events."""

    mapping: bool
    anchor: str | None
    start: int  # the expanded node count before this node
    items: int = 0  # child nodes seen; in a mapping, even positions are keys
    height: int = 0  # the deepest nesting below this node
    key: str | None = None  # the current key as written (in a mapping); shown by _where() only
    key_is_alias: bool = False
    keys: dict[Any, int] | None = None  # key -> the line it was first given on (made on the first key)

    @property
    def expects_key(self) -> bool:
        return self.mapping and self.items % 2 == 0


@dataclass(frozen=True, slots=True)
class _Anchor:
    size: int  # nodes, expanded
    height: int  # nesting levels, expanded


_SCALAR = _Anchor(1, 0)


class _EventCheck:
    """The streaming checks, fed one parser event at a time."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0
        self.expanded = 0
        # typed here: PyYAML's own resolve() carries no annotations
        self.resolve: Callable[[type[Node], str, tuple[bool, bool]], str] = Resolver().resolve
        self.constructor = SafeConstructor()

    def feed(self, event: Event) -> None:
        if isinstance(event, ScalarEvent):
            # The hot path (most events): count, and check only what may be a key or a number.
            self._count()
            parent = self.stack[-1] if self.stack else None
            is_key = parent is not None and parent.mapping and parent.items % 2 == 0
            if is_key or event.tag is not None or (event.implicit[0] and _may_be_unsafe_number(event.value)):
                self._scalar(event, parent, is_key)
            if event.anchor is not None:
                self.anchors[event.anchor] = _SCALAR
            if parent is not None:
                parent.items += 1
        elif isinstance(event, MappingStartEvent | SequenceStartEvent):
            self._count()
            if len(self.stack) + 1 > MAX_YAML_DEPTH:
                raise YamlBoundsError(f"{self._where()}: nested more than {MAX_YAML_DEPTH} levels deep (the limit)")
            self.stack.append(_Frame(isinstance(event, MappingStartEvent), event.anchor, self.expanded - 1))
        elif isinstance(event, MappingEndEvent | SequenceEndEvent):
            frame = self.stack.pop()
            self._node_end(_Anchor(self.expanded - frame.start, frame.height + 1), frame.anchor)
        elif isinstance(event, AliasEvent):
            self._alias(event)

    def _count(self) -> None:
        self.nodes += 1
        self.expanded += 1
        if self.nodes > MAX_YAML_NODES:
            raise YamlBoundsError(
                f"{self._where()}: the file passes {MAX_YAML_NODES:,} YAML nodes (values, lists and mappings) here:"
                " the limit"
            )
        if self.expanded > MAX_ALIAS_EXPANSION:
            self._too_many(None)

    def _node_end(self, node: _Anchor, anchor: str | None) -> None:
        if anchor is not None:
            self.anchors[anchor] = node
        if self.stack:
            parent = self.stack[-1]
            parent.height = max(parent.height, node.height)
            parent.items += 1

    def _alias(self, event: AliasEvent) -> None:
        name = event.anchor or ""
        if any(frame.anchor == name for frame in self.stack):
            raise YamlBoundsError(
                f"{self._where()}: the alias *{_short(name)} refers to a node that contains it (a recursive structure)"
            )
        # An undefined alias is left to the loader, which names it.
        target = self.anchors.get(name, _SCALAR)
        if self.stack and self.stack[-1].expects_key:
            self.stack[-1].key, self.stack[-1].key_is_alias = name, True
        self.expanded += target.size
        if self.expanded > MAX_ALIAS_EXPANSION:
            self._too_many(name)
        if len(self.stack) + target.height > MAX_YAML_DEPTH:
            raise YamlBoundsError(
                f"{self._where()}: the alias *{_short(name)} nests the document more than {MAX_YAML_DEPTH} levels deep"
                " (the limit)"
            )
        self._node_end(target, None)

    def _too_many(self, alias: str | None) -> NoReturn:
        where = self._where()
        if alias is None:
            raise YamlBoundsError(
                f"{where}: with its aliases expanded, the document has more than {MAX_ALIAS_EXPANSION:,} nodes"
                " (the limit)"
            )
        raise YamlBoundsError(
            f"{where}: the alias *{_short(alias)} expands the document past {MAX_ALIAS_EXPANSION:,} nodes"
            " (the limit; an alias bomb?)"
        )

    def _scalar(self, event: ScalarEvent, parent: _Frame | None, is_key: bool) -> None:
        value = event.value
        tag = event.tag
        if tag in (None, "!"):
            if not event.implicit[0]:
                tag = _STR_TAG  # a quoted scalar is always a string
            elif value[:1] in _RESOLVED_START:
                tag = self.resolve(ScalarNode, value, (True, False))
            elif is_key:
                tag = _STR_TAG  # no implicit type starts with this character
            else:
                return  # a plain value that cannot be a number: nothing to check
        if parent is not None and is_key:
            self._key(parent, tag, value, event)
        if tag in (_INT_TAG, _FLOAT_TAG) and len(value) > MAX_NUMBER_CHARS:
            # "1:2:3:..." (base 60) costs quadratic time to build; 0x... has no digit limit
            raise YamlBoundsError(
                f"{self._where()}: a number written in {len(value):,} characters; at most {MAX_NUMBER_CHARS}"
            )
        if tag == _FLOAT_TAG:
            number = self._construct(tag, value)
            if isinstance(number, float) and not math.isfinite(number):
                raise YamlBoundsError(
                    f"{self._where()}: {_short(value)} is not a finite number (NaN and infinity are refused)"
                )

    def _key(self, parent: _Frame, tag: str, value: str, event: ScalarEvent) -> None:
        parent.key, parent.key_is_alias = value, False
        if tag == _MERGE_TAG:
            return  # merged keys are meant to be overridden
        key: Any = value if tag == _STR_TAG else self._construct(tag, value)
        line = event.start_mark.line + 1 if event.start_mark else 0
        try:
            if parent.keys is None:
                parent.keys = {}
            first = parent.keys.get(key)
        except TypeError:  # an unhashable key: the loader refuses it
            return
        if first is not None:
            raise YamlReadError(
                f"{self._where()}: the key is given twice in one mapping (lines {first} and {line}); "
                "YAML would keep only the last"
            )
        parent.keys[key] = line

    def _construct(self, tag: str, value: str) -> Any:
        constructor = self.constructor.yaml_constructors.get(tag)
        if constructor is None:
            return (tag, value)
        try:
            return constructor(self.constructor, ScalarNode(tag, value))
        except Exception:  # a malformed value is left to the loader, which names it
            return (tag, value)

    def _where(self) -> str:
        parts: list[str] = []
        for frame in self.stack:
            if frame.mapping:
                if frame.key is not None:
                    parts.append(_path_part(frame.key, frame.key_is_alias))
            else:
                parts.append(f"[{frame.items}]")
        text = "".join(parts).removeprefix(".")
        if len(text) > _PATH_CHARS:
            text = f"{text[: _PATH_CHARS // 2]}…{text[-_PATH_CHARS // 2 :]}"
        return text or "(top level)"


def _may_be_unsafe_number(value: str) -> bool:
    """Whether a plain scalar may read as a number too long to build, infinite, or NaN.

    Finite short numbers ("5", "2.5", "1_000") are the common case and need no resolving; an
    infinity needs an exponent ("1.0e+999") or is spelled ".inf"/".nan" (with an optional sign).
    """
    if value[:1] not in _NUMBER_START:
        return False
    return len(value) > MAX_NUMBER_CHARS or "e" in value or "E" in value or value.lstrip("+-")[:1] == "."


def _path_part(key: str, alias: bool) -> str:
    if alias:
        return f"[*{_short(key)}]"
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{quote(key)}]"


def _short(text: str) -> str:
    return text if len(text) <= 60 else quote(text)


def _check_events(stream: io.BytesIO) -> None:
    check = _EventCheck()
    loader = _Loader(stream)
    try:
        # get_event() answers None once the stream has ended
        while (event := loader.get_event()) is not None:
            check.feed(event)
    finally:
        loader.dispose()
