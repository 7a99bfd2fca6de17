"""Twenty hostile report definitions, each derived from the sample and wrong in one way, with the line it must get.

Used by tests/dags/test_hostile_definitions.py and by bench/parse_definitions.py (``make validate``
over 1,000 good definitions and these 20). Each file's id is its file name, so the only problem
of each is the one it was made with.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from itertools import product
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[2] / "include" / "reports" / "sales_summary.yaml"

_PARAMETERS = """parameters:
  region:
    type: string
    default: ALL
    allowed_values: [ALL, EMEA, AMER, APAC]
    description: Sales region, or ALL
  start_date:
    type: date
    default: "2026-01-01"
    description: First sale date included
"""
_FILENAME = 'filename: "{report_id}_{params[region]}_{run_date}.{format}"'
_PATH = "path: ${REPORTING_OUTPUT_DIR:-/tmp/reporting-output}/sales_summary"


def _swap(old: str, new: str) -> Callable[[str], str]:
    def change(text: str) -> str:
        assert old in text, old
        return text.replace(old, new)

    return change


def _alias_bomb(text: str) -> str:
    levels = ["      - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"      - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "    allowed_values:\n" + "\n".join(levels) + "\n"
    return _swap("    allowed_values: [ALL, EMEA, AMER, APAC]\n", bomb)(text)


def _many_parameters(text: str) -> str:
    # 50,000 three-character names in flow style, each a key with a null value: 200 KB, under the size bound
    names = product(string.ascii_letters, string.ascii_letters + string.digits, string.ascii_letters + string.digits)
    flow = ",".join("".join(next(names)) for _ in range(50_000))
    return _swap(_PARAMETERS, f"parameters: {{{flow}}}\n")(text)


def _deep(text: str) -> str:
    return _swap("tags: [sales, sample]", "tags: " + "[" * 100 + "x" + "]" * 100)(text)


CHANGES: dict[str, tuple[Callable[[str], str], str]] = {
    "huge_duration": (
        _swap("retry_delay: 1s", "retry_delay: 99999999999d"),
        "retry.retry_delay: '99999999999d' is longer than 365 days",
    ),
    "huge_width": (
        _swap(_FILENAME, 'filename: "{report_id:>1999999999}.{format}"'),
        "distribution[0].filename: template '{report_id:>1999999999}.{format}': '{report_id:>1999999999}' at"
        " character 1: format specs are not allowed",
    ),
    "nested_placeholder": (
        _swap(_FILENAME, 'filename: "{report_id:{title.__class__.__name__[0]}}"'),
        "distribution[0].filename: template",
    ),
    "alias_bomb": (_alias_bomb, "parameters.region.allowed_values["),
    "many_parameters": (_many_parameters, "parameters.c"),
    "big_file": (
        _swap("description: |\n", "description: |\n  " + "x" * (300 * 1024) + "\n"),
        "a definition may be at most 262,144 bytes (256 KiB)",
    ),
    "nan": (_swap("backoff_multiplier: 2.0", "backoff_multiplier: .nan"), "retry.backoff_multiplier: .nan is not"),
    "infinite": (_swap("priority: 5", "priority: -.inf"), "priority: -.inf is not a finite number"),
    "zero_step": (_swap('cron: "0 6 * * 1-5"', 'cron: "*/0 * * * *"'), "schedule.cron: '*/0 * * * *'"),
    "never_fires": (_swap('cron: "0 6 * * 1-5"', 'cron: "0 6 31 2 *"'), "schedule.cron: '0 6 31 2 *' never fires"),
    "del_email": (
        _swap("emails: [bi-team@example.com]", 'emails: ["bi\\x7fteam@example.com"]'),
        "notifications.emails[0]: 'bi\\x7fteam@example.com' is not an e-mail address",
    ),
    "env_default": (
        _swap(_PATH, "path: ${REPORTING_OUTPUT_DIR:-/tmp/x/..}"),
        "distribution[0].path: the default of ${REPORTING_OUTPUT_DIR} ('/tmp/x/..') must not contain '..'",
    ),
    "long_name": (
        _swap(_FILENAME, 'filename: "' + "n" * 300 + '.{format}"'),
        "distribution[0].filename: template 'nnnn",
    ),
    "many_allowed": (
        _swap("allowed_values: [ALL, EMEA, AMER, APAC]", f"allowed_values: [{', '.join(map(str, range(1_001)))}]"),
        "parameters.region.allowed_values: list should have at most 1000 items",
    ),
    "over_200_parameters": (
        _swap(_PARAMETERS, "parameters:\n" + "".join(f"  p{i}: {{}}\n" for i in range(201))),
        "parameters: declares 201 parameters; a definition may declare at most 200",
    ),
    "deep": (_deep, "tags[0][0][0]"),
    "twice": (_swap("owner: bi-team", "owner: bi-team\nowner: somebody"), "owner: the key is given twice"),
    "other_id": (_swap("id: other_id", "id: sales_summary"), "id: 'sales_summary' differs from the file name"),
    "long_number": (_swap("batch_size: 500", "batch_size: " + "9" * 200), "engine.batch_size: a number written in"),
    "huge_key": (
        # an explicit key: a plain one may be at most 1,024 characters in YAML
        _swap("priority: 5", "priority: 5\n? " + "k" * 100_000 + "\n: 1"),
        "['" + "k" * 40 + "…' (100,000 chars)]: extra inputs are not permitted",
    ),
}
"""By file stem: how the sample is changed, and a fragment of the one error line the file must get."""


def hostile_definitions() -> dict[str, tuple[str, str]]:
    """By file stem: the text of each hostile definition and a fragment of its error line."""
    sample = SAMPLE.read_text()
    cases = {}
    for name, (change, fragment) in CHANGES.items():
        own = sample.replace("id: sales_summary", f"id: {name}")
        cases[name] = (change(own), fragment)
    return cases


def write_hostile(folder: Path) -> dict[str, str]:
    """Write the 20 hostile definitions into a folder; return the error fragment each must get, by file name.

    :param folder: where to write them.
    """
    expected = {}
    for name, (text, fragment) in hostile_definitions().items():
        (folder / f"{name}.yaml").write_text(text)
        expected[f"{name}.yaml"] = fragment
    return expected
