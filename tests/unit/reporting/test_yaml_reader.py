"""Reading a definition file within bounds: each hostile file is refused fast, naming the field."""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from reporting import limits, yaml_reader
from reporting.yaml_reader import YamlBoundsError, YamlReadError, read_definition_yaml

REPORTS = Path(__file__).resolve().parents[3] / "include" / "reports"

BOMB = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)


Write = Callable[[str | bytes], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a definition file (text or bytes) and return its path."""

    def _write(text: str | bytes) -> Path:
        path = tmp_path / "report.yaml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return path

    return _write


def refused(path: Path) -> YamlReadError:
    """Read a file that must be refused, within 2 s and 20 MiB; return the error."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(YamlReadError) as caught:
            read_definition_yaml(path)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20 * 1024 * 1024
    message = str(caught.value)
    assert "\n" not in message and len(message) <= 600
    return caught.value


# --- what is read is what PyYAML's safe loader reads ---------------------------------------------


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.yaml")), ids=lambda p: p.name)
def test_the_sample_definitions_read_exactly_as_the_safe_loader_reads_them(path: Path) -> None:
    assert read_definition_yaml(path) == yaml.load(path.read_bytes(), Loader=yaml.SafeLoader)


def test_an_empty_file_is_none_and_a_list_is_a_list(write: Write) -> None:
    assert read_definition_yaml(write("")) is None
    assert read_definition_yaml(write("- 1\n- two\n")) == [1, "two"]


def test_merge_keys_may_override_the_merged_values(write: Write) -> None:
    text = "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\n"
    assert read_definition_yaml(write(text)) == {"base": {"a": 1, "b": 2}, "x": {"a": 3, "b": 2}}


def test_a_quoted_nan_is_a_string_and_a_shared_anchor_is_fine(write: Write) -> None:
    text = "a: '.nan'\nregions: &r [EMEA, APAC]\nb: *r\nc: *r\n"
    assert read_definition_yaml(write(text)) == {
        "a": ".nan",
        "regions": ["EMEA", "APAC"],
        "b": ["EMEA", "APAC"],
        "c": ["EMEA", "APAC"],
    }


def test_the_same_key_in_two_mappings_is_not_a_duplicate(write: Write) -> None:
    assert read_definition_yaml(write("a: {k: 1}\nb: {k: 2}\nc: [{k: 1}, {k: 2}]\n"))["c"] == [{"k": 1}, {"k": 2}]


# --- size ----------------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(write: Write) -> None:
    path = write("")
    with path.open("r+b") as handle:
        handle.truncate(10**9)  # sparse: a gigabyte that costs nothing on disk
    error = refused(path)
    assert isinstance(error, YamlBoundsError)
    assert str(error) == "the file is 1,000,000,000 bytes; a definition may be at most 262,144 bytes (256 KiB)"


def test_a_file_of_exactly_the_limit_is_read(write: Write) -> None:
    text = "a: " + "x" * (limits.MAX_DEFINITION_BYTES - 4) + "\n"
    assert len(text) == limits.MAX_DEFINITION_BYTES
    assert len(read_definition_yaml(write(text))["a"]) == limits.MAX_DEFINITION_BYTES - 4


def test_a_file_that_grows_after_the_size_check_is_read_only_one_byte_past_the_limit(
    write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("a: " + "x" * 10**6)
    real_fstat, real_read = os.fstat, os.read
    asked: list[int] = []

    def small_fstat(fd: int) -> os.stat_result:
        info = real_fstat(fd)
        return os.stat_result((info.st_mode, *info[1:6], 10, *info[7:]))

    def counting_read(fd: int, size: int) -> bytes:
        asked.append(size)
        return real_read(fd, size)

    class GrowingFileOs:
        """The os module as the reader sees it: the file was 10 bytes when it was checked."""

        fstat = staticmethod(small_fstat)
        read = staticmethod(counting_read)

        def __getattr__(self, name: str) -> object:
            return getattr(os, name)

    monkeypatch.setattr(yaml_reader, "os", GrowingFileOs())
    error = refused(path)
    assert str(error) == "the file is more than 262,144 bytes; a definition may be at most 262,144 bytes (256 KiB)"
    assert sum(asked) <= limits.MAX_DEFINITION_BYTES + 1


def test_a_missing_file_keeps_the_usual_message(tmp_path: Path) -> None:
    assert str(refused(tmp_path / "gone.yaml")) == "cannot be read: No such file or directory"


def test_a_fifo_or_a_folder_is_refused_without_waiting(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    (tmp_path / "folder.yaml").mkdir()
    assert str(refused(fifo)) == "cannot be read: not a regular file"
    assert str(refused(tmp_path / "folder.yaml")) == "cannot be read: not a regular file"


# --- nodes, aliases, depth ------------------------------------------------------------------------------


def test_a_file_with_too_many_nodes_is_refused(write: Write) -> None:
    error = refused(write("[" + "1, " * 30_000 + "1]"))
    assert isinstance(error, YamlBoundsError)
    assert str(error) == "[19999]: the file passes 20,000 YAML nodes (values, lists and mappings) here: the limit"


def test_too_many_nodes_name_the_field_they_are_in(write: Write) -> None:
    text = "id: many\nparameters:\n" + "".join(f"  p{i}: {{}}\n" for i in range(20_000))
    error = refused(write(text))
    assert str(error).startswith("parameters.p9997: the file passes 20,000 YAML nodes")


def test_an_alias_bomb_is_refused_in_milliseconds_naming_the_alias(write: Write) -> None:
    started = time.perf_counter()
    error = refused(write(BOMB))
    assert time.perf_counter() - started < 0.5
    assert isinstance(error, YamlBoundsError)
    assert str(error) == "e[1]: the alias *d expands the document past 20,000 nodes (the limit; an alias bomb?)"


def test_many_aliases_of_one_small_anchor_count_too(write: Write) -> None:
    text = "values: &v [a, b, c, d, e, f, g, h, i]\nparameters:\n" + "".join(
        f"  p{i}: {{allowed_values: *v}}\n" for i in range(3_000)
    )
    error = refused(write(text))
    assert "expands the document past 20,000 nodes" in str(error)
    assert str(error).startswith("parameters.p")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("[" * 100_000 + "]" * 100_000, "[0][0][0]"),  # crashes libyaml's composer with a segfault
        ("- " * 100_000 + "x\n", "[0][0][0]"),
        ("{a: " * 60_000, "a.a.a"),
        ("".join(" " * i + f"k{i}:\n" for i in range(60)), "k0.k1.k2"),
    ],
    ids=["flow lists", "block lists", "flow mappings", "block mappings"],
)
def test_nesting_deeper_than_the_limit_is_refused(write: Write, text: str, path: str) -> None:
    error = refused(write(text))
    assert isinstance(error, YamlBoundsError)
    assert str(error).startswith(path)
    assert str(error).endswith(": nested more than 50 levels deep (the limit)")


def test_aliases_that_nest_past_the_depth_limit_are_refused(write: Write) -> None:
    text = "l0: &l0 [x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 60))
    error = refused(write(text))
    assert str(error) == "l49[0]: the alias *l48 nests the document more than 50 levels deep (the limit)"


def test_a_recursive_alias_is_refused(write: Write) -> None:
    error = refused(write("a: &a [1, *a]\n"))
    assert str(error) == "a[1]: the alias *a refers to a node that contains it (a recursive structure)"


# --- numbers ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("retry:\n  backoff_multiplier: .nan\n", "retry.backoff_multiplier: .nan is not a finite number"),
        ("retry: {engine: {max: -.inf}}\n", "retry.engine.max: -.inf is not a finite number"),
        ("x: [1, 2, 1.0e+999]\n", "x[2]: 1.0e+999 is not a finite number"),
        ("x: !!float nan\n", "x: nan is not a finite number"),
        ('x: !!float "+.INF"\n', "x: +.INF is not a finite number"),
        ("- a\n- .NaN\n", "[1]: .NaN is not a finite number"),
        ("x: [-.Inf]\n", "x[0]: -.Inf is not a finite number"),
        ("x: {y: 1_0.5E+999}\n", "x.y: 1_0.5E+999 is not a finite number"),
        ("? .inf\n: key\n", "['.inf']: .inf is not a finite number"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_field(write: Write, text: str, message: str) -> None:
    error = refused(write(text))
    assert isinstance(error, YamlBoundsError)
    assert str(error) == message + " (NaN and infinity are refused)"


@pytest.mark.parametrize(
    "number",
    ["9" * 6_000, "0x" + "f" * 200_000, "1:" * 100_000 + "1", "1" * 150 + ".5"],
    ids=["decimal", "hex", "base 60", "float"],
)
def test_a_number_written_too_long_is_refused_fast(write: Write, number: str) -> None:
    error = refused(write(f"retries: {number}\n"))
    assert str(error) == f"retries: a number written in {len(number):,} characters; at most 100"


# --- duplicate keys -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "id: a\nparameters:\n  region: {type: string}\n  region: {type: integer}\n",
            "parameters.region: the key is given twice in one mapping (lines 3 and 4)",
        ),
        ("x: {a: 1, a: 2}\n", "x.a: the key is given twice in one mapping (lines 1 and 1)"),
        ("x: {yes: 1, true: 2}\n", "x.true: the key is given twice in one mapping (lines 1 and 1)"),
        ("x: {1: a, 0x1: b}\n", "x.0x1: the key is given twice in one mapping (lines 1 and 1)"),
        ("- {a: 1}\n- {a: 2, b: {c: 1, c: 2}}\n", "[1].b.c: the key is given twice in one mapping (lines 2 and 2)"),
        ("'a b': 1\n\"a b\": 2\n", "['a b']: the key is given twice in one mapping (lines 1 and 2)"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it(write: Write, text: str, message: str) -> None:
    assert str(refused(write(text))) == message + "; YAML would keep only the last"


def test_a_long_duplicate_key_is_quoted_short(write: Write) -> None:
    key = "k" * 1_000
    message = str(refused(write(f"{key}: 1\n{key}: 2\n")))
    assert message.startswith("['" + "k" * 60 + "…' (1,000 chars)]: the key is given twice")


# --- not YAML -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a: [", 'not valid YAML: while parsing a flow node did not find expected node content in "report.yaml"'),
        (b"a: *nope\n", 'not valid YAML: found undefined alias in "report.yaml", line 1, column 4'),
        (b"a: 1\n---\nb: 2\n", "not valid YAML: expected a single document in the stream"),
        (b"a: \xff\xfe", "not valid YAML: unacceptable character #x00ff: invalid leading UTF-8 octet"),
        (b"a: \x01", "not valid YAML: unacceptable character #x0001: control characters are not allowed"),
        (b"a: !!python/object:os.system x\n", "not valid YAML: could not determine a constructor for the tag"),
        (b"? [1, 2]\n: x\n", "not valid YAML: while constructing a mapping"),
    ],
)
def test_invalid_yaml_keeps_the_usual_one_line_message(write: Write, content: bytes, expected: str) -> None:
    error = refused(write(content))
    assert not isinstance(error, YamlBoundsError)
    assert str(error).startswith(expected)


def test_a_long_yaml_error_is_cut_to_one_short_line(write: Write) -> None:
    error = refused(write("a: !" + "t" * 100_000 + " x\n"))
    assert str(error).startswith("not valid YAML: ")
    assert len(str(error)) <= 500
