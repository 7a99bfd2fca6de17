"""`airflow tasks test` that exits non-zero when the task fails.

Airflow's own command prints the failure and still exits 0, so scripts and CI steps cannot
tell a failed task from a good one. This runs the same command and exits 1 unless the task
instance ended in success (or skipped).

    python scripts/airflow_tasks_test.py report__sales_summary generate 2026-06-01 [airflow options]
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str]) -> int:
    """Run ``airflow tasks test`` with ``argv``; 0 when the task succeeded or was skipped, 1 otherwise.

    :param argv: the arguments after ``tasks test`` (dag id, task id, date or run id, options).
    """
    from airflow.cli import cli_parser
    from airflow.cli.commands import task_command

    states: list[str] = []
    run_task = task_command._run_task

    def run_and_record(*args: Any, **kwargs: Any) -> Any:
        # The command keeps the final state only on the task instance it drops: record it here.
        try:
            return run_task(*args, **kwargs)
        finally:
            ti = kwargs.get("ti", args[0] if args else None)
            if ti is not None:
                states.append(str(getattr(ti.state, "value", ti.state)))

    task_command._run_task = run_and_record
    args = cli_parser.get_parser().parse_args(["tasks", "test", *argv])
    args.func(args)
    state = states[-1] if states else "not run"
    if state in ("success", "skipped"):
        return 0
    print(f"airflow tasks test {' '.join(argv)}: task ended {state}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
