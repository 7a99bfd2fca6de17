"""Print what the demo run delivered: the run's state and every file with its size and checksum."""

from __future__ import annotations

import sys
from pathlib import Path

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
        print(f"  {d['format']:<5} {d['bytes']:>8} bytes  sha256 {d['sha256'][:12]}  {d['location']}")
    print()
    print(f"The report is in: {', '.join(folders)}")
    print()
    print(format_trail(RequestStoreHook().trail(request["request_id"])))
    print()
    print(f"Read it again with: make trail REQUEST={request['request_id']}")
    return 0 if str(run.state) in ("success", "DagRunState.SUCCESS") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
