"""The README's "Where things live" table is the map of the tree: every path in it exists, and it is complete."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("claim", "generate", "stage", "distribute", "notify", "finalize")


def _map() -> list[tuple[list[str], str]]:
    """The table's rows: the paths of the first column, and the second column's text."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Where things live\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 2 or cells[0] in ("path", "---"):
            continue
        rows.append((re.findall(r"`([^`]+)`", cells[0]), cells[1]))
    return rows


def _exists(path: str) -> bool:
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def test_the_map_has_rows_and_every_row_names_a_path() -> None:
    rows = _map()
    assert len(rows) > 10
    assert all(paths for paths, _ in rows), [what for paths, what in rows if not paths]


def test_every_path_on_the_map_exists() -> None:
    paths = [path for row_paths, _ in _map() for path in row_paths]
    assert [path for path in paths if not _exists(path)] == []


def test_a_folder_on_the_map_is_written_as_one() -> None:
    folders = [path for paths, _ in _map() for path in paths if (ROOT / path).is_dir()]
    assert folders
    assert [path for path in folders if not path.endswith("/")] == []


def test_every_dag_file_and_plugins_package_is_on_the_map() -> None:
    paths = [path for row_paths, _ in _map() for path in row_paths]
    dags = [f"dags/{p.name}" for p in sorted((ROOT / "dags").glob("*.py"))]
    packages = [f"plugins/{p.name}/" for p in sorted((ROOT / "plugins").iterdir()) if (p / "__init__.py").exists()]
    assert [dag for dag in dags if dag not in paths] == []
    # a package is on the map as itself or through the files of it that are
    assert [package for package in packages if not any(path.startswith(package) for path in paths)] == []


def test_the_map_names_the_file_of_each_stage() -> None:
    stage_rows = {
        match.group(1): paths for paths, what in _map() if (match := re.match(r"\*\*(\w+)\*\*:", what)) is not None
    }
    assert list(stage_rows) == list(STAGES)
    assert all(len(paths) == 1 and _exists(paths[0]) for paths in stage_rows.values()), stage_rows
