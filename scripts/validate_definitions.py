"""Check every report definition; print each error as ``<file>: <field path>: <problem>``.

Exit status: 0 when all definitions are valid, 1 when any is not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from report_runtime.schedules import check_schedule
from reporting.loader import load_definitions, reports_dir, sql_dir


def main(argv: list[str] | None = None) -> int:
    """Validate a definitions folder and report the outcome.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=Path, default=None, help="definitions folder (default include/reports)")
    parser.add_argument("--sql", type=Path, default=None, help="SQL folder (default include/sql)")
    args = parser.parse_args(argv)
    # Airflow's own timetable code checks every schedule, so this accepts exactly what the scheduler does.
    result = load_definitions(args.reports or reports_dir(), args.sql or sql_dir(), check_schedule=check_schedule)
    for definition in result.definitions:
        print(f"ok      {definition.dag_id}")
    if result.errors:
        print(result.error_text(), file=sys.stderr)
        print(f"{len(result.errors)} invalid definition file(s), {len(result.definitions)} valid", file=sys.stderr)
        return 1
    print(f"{len(result.definitions)} definition(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
