"""Print what the demo run delivered: the run's state and every file with its size and checksum.

  python scripts/demo_summary.py DAG_ID LOG_PATH      (``make demo``, after ``airflow dags test``)

:func:`request_summary` is the same account for one request, from the request store alone:
``scripts/airflow_tasks_test.py`` ends with it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from airflow.models.dagrun import DagRun
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
from hooks.request_store import RequestStoreHook
from request_store import format_trail


def main(dag_id: str, log_path: str) -> int:
    """Read the latest run of a DAG from the metadata database and print its deliveries.

    :param dag_id: the report DAG that ran.
    :param log_path: the run's log file, named when something went wrong.
    """
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(1)).first()
        if run is None:
            print(f"no run of {dag_id} found; see {log_path}", file=sys.stderr)
            return 1
        rows = session.scalars(
            select(XComModel)
            .where(XComModel.dag_id == dag_id, XComModel.run_id == run.run_id)
            .where(XComModel.task_id.in_(["claim", "distribute"]), XComModel.key == "return_value")
            .order_by(XComModel.task_id, XComModel.map_index)
        ).all()
        values = {(row.task_id, row.map_index): XComModel.deserialize_value(row) for row in rows}
    request = values.get(("claim", -1), {})
    deliveries = [d for (task, _), v in sorted(values.items()) if task == "distribute" for d in v or []]
    print()
    print(f"Run {run.run_id} of {dag_id}: {run.state}")
    print(f"Request {request.get('request_id')} with parameters {request.get('parameters')}")
    if not deliveries:
        print(f"nothing was delivered; see {log_path}", file=sys.stderr)
        return 1
    folders = sorted({d["location"].rsplit("/", 1)[0] for d in deliveries})
    print()
    print("Delivered files:")
    for d in deliveries:
        print(file_line(d["format"], d["bytes"], d["sha256"], d["location"]))
    print()
    print(f"The report is in: {', '.join(folders)}")
    print()
    print(format_trail(RequestStoreHook().trail(request["request_id"])))
    print()
    print(f"Read it again with: make trail REQUEST={request['request_id']}")
    return 0 if str(run.state) in ("success", "DagRunState.SUCCESS") else 1


def file_line(fmt: str, size: int, sha256: str, location: str) -> str:
    """One file as the summaries list it: format, size, the start of its checksum, where it is.

    :param fmt: pdf, xlsx or csv.
    :param size: bytes.
    :param sha256: its SHA-256 (hex).
    :param location: its path or URI.
    """
    return f"  {fmt:<5} {size:>8} bytes  sha256 {sha256[:12]}  {location}"


def _folder(location: str) -> str:
    return location.removeprefix("file://").rsplit("/", 1)[0]


def request_summary(trail: dict[str, Any]) -> list[str]:
    """A request in a few lines: id, status and trigger, its last error, where its files went, how to read its trail.

    The files are the delivered ones; for a request that delivered nothing (a tasks test of
    ``generate``), the files its GENERATED move staged.

    :param trail: what :meth:`RequestStoreHook.trail` returned.
    """
    request = trail["request"]
    lines = [
        f"Request {request['request_id']}: {request['status']} "
        f"(report {request['report_id']}, trigger {request['trigger_type']}, attempt {request['attempt']})"
    ]
    if request.get("last_error"):
        lines.append(f"  last error: {request['last_error']}")
    deliveries = trail["deliveries"]
    staged = next(
        (
            (event.get("details") or {}).get("artifacts") or []
            for event in reversed(trail["events"])
            if event.get("new_status") == "GENERATED"
        ),
        [],
    )
    if deliveries:
        lines.append("Delivered files:")
        lines += [file_line(d["format"], d["bytes"], d["sha256"], d["remote_location"]) for d in deliveries]
        lines.append(f"The report is in: {', '.join(sorted({_folder(d['remote_location']) for d in deliveries}))}")
    elif staged:
        lines.append("Staged files (generated, not delivered):")
        lines += [file_line(a["format"], a["bytes"], a["sha256"], a["uri"]) for a in staged]
        lines.append(f"The files are in: {', '.join(sorted({_folder(a['uri']) for a in staged}))}")
    else:
        lines.append("No file was generated.")
    lines.append(f"Read its trail with: make trail REQUEST={request['request_id']}")
    return lines


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
