"""Request store commands: apply the schema to a connection, or print a request's trail.

  python scripts/request_store.py schema [--conn CONN_ID]
  python scripts/request_store.py trail REQUEST_ID [--conn CONN_ID]

The connection is an ordinary Airflow connection (sqlite, postgres or snowflake), for
example from ``AIRFLOW_CONN_<ID>`` in the environment. Default: reporting_request_store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from hooks.request_store import RequestStoreHook


def _short(details: dict, limit: int = 110) -> str:
    # Lists (artifact records, recipients) are summarised by count so each event stays on one line.
    text = ", ".join(
        f"{k}={len(v)} items" if isinstance(v, list) and len(v) > 1 and isinstance(v[0], dict) else f"{k}={v}"
        for k, v in details.items()
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_trail(trail: dict) -> str:
    """Render a request's trail for people: the request, then every event, error and delivery in order.

    :param trail: what :meth:`RequestStoreHook.trail` returned.
    """
    request = trail["request"]
    if request is None:
        return "no such request"
    lines = [
        f"Request {request['request_id']}  report {request['report_id']}  status {request['status']}"
        f"  attempt {request['attempt']}  trigger {request['trigger_type']}  by {request['requested_by']}",
        f"  parameters {request['parameters']}",
        f"  requested {request['requested_at']}  processed {request['processed_at']}"
        f"  completed {request['completed_at']}",
        "",
        "Events:",
    ]
    for event in trail["events"]:
        move = f"{event['old_status'] or '-'} -> {event['new_status']}" if event["new_status"] else ""
        where = f"{event['component']} {event['task_id'] or ''}".strip()
        try_no = f" try {event['try_number']}" if event["try_number"] else ""
        details = f"  {_short(event['details'])}" if event["details"] else ""
        lines.append(f"  {event['event_timestamp']}  {event['event_type']:<13} {move:<27} {where}{try_no}{details}")
    if trail["errors"]:
        lines += ["", "Errors:"]
        for error in trail["errors"]:
            retry = "a retry may help" if error["retry_eligible"] else "a retry will not help"
            lines.append(
                f"  {error['created_at']}  {error['component']} {error['error_code']} {error['error_class']}"
                f" after {error['retry_count']} retries ({retry}): {error['message']}"
            )
    if trail["deliveries"]:
        lines += ["", "Deliveries:"]
        notes = _replacements(trail["events"])
        for delivery in trail["deliveries"]:
            note = notes.get((delivery["remote_location"], delivery["target_key"], delivery["format"]), "")
            lines.append(
                f"  {delivery['delivered_at']}  {delivery['target_key']} {delivery['format']}"
                f" {delivery['bytes']} bytes sha256 {delivery['sha256'][:12]}  {delivery['remote_location']}{note}"
            )
    return "\n".join(lines)


def _replacements(events: list[dict]) -> dict[tuple[object, ...], str]:
    """(location, target, format) -> what the REPLACED rows say about this request's delivery there.

    A file another request wrote over no longer matches its recorded SHA-256; the trail says so
    next to the delivery, not only among the events.
    """
    notes: dict[tuple[object, ...], str] = {}
    for event in events:
        details = event["details"]
        if event["event_type"] != "REPLACED" or not isinstance(details, dict):
            continue
        where = (details.get("location"), details.get("target"), details.get("format"))
        if "replaced_by" in details:
            notes[where] = (
                f"  REPLACED by request {details['replaced_by']} at {event['event_timestamp']}"
                " (the file there is no longer this one)"
            )
        elif "replaces" in details:
            notes[where] = f"  (wrote over request {details['replaces']}'s file, sha256 {str(details['sha256'])[:12]})"
    return notes


def main(argv: list[str] | None = None) -> int:
    """Run one command.

    :param argv: command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["schema", "trail"])
    parser.add_argument("request_id", nargs="?")
    parser.add_argument("--conn", default=RequestStoreHook.default_conn_name, help="the Airflow connection id")
    args = parser.parse_args(argv)
    hook = RequestStoreHook(request_store_conn_id=args.conn)
    if args.command == "schema":
        count = hook.apply_schema()
        print(f"request store schema applied to {args.conn} ({hook.dialect}): {count} statements")
        return 0
    if not args.request_id:
        parser.error("trail needs a REQUEST_ID")
    trail = hook.trail(args.request_id)
    print(format_trail(trail))
    return 0 if trail["request"] else 1


if __name__ == "__main__":
    sys.exit(main())
