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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from hooks.request_store import RequestStoreHook
from reporting.limits import control_characters, quote
from reporting.request import RequestInvalid, parse_request

# How much of one value the trail prints: a malformed row can hold megabytes in one column.
_SHOWN_CHARS = 300


def _shown(value: Any, limit: int = _SHOWN_CHARS) -> str:
    """A stored value as the trail prints it: plain text as it is, anything odd quoted, never longer than ``limit``.

    :param value: any value a column held.
    :param limit: the most characters shown.
    """
    if isinstance(value, str) and not control_characters(value):
        return value if len(value) <= limit else value[:limit] + f"… ({len(value):,} chars)"
    if isinstance(value, str):
        # Control characters (escape sequences, line breaks) would act on the terminal: shown escaped.
        return quote(value, limit)
    text = str(value) if isinstance(value, int | float | bool | type(None)) else repr(value)
    if len(text) > limit or control_characters(text):
        return quote(value, limit)
    return text


def _short(details: Any, limit: int = 110) -> str:
    if not isinstance(details, dict):
        return _shown(details, limit)
    # Lists (artifact records, recipients) are summarised by count so each event stays on one line.
    text = ", ".join(
        f"{k}={len(v)} items" if isinstance(v, list) and len(v) > 1 and isinstance(v[0], dict) else f"{k}={v}"
        for k, v in details.items()
    )
    text = _shown(text, 10 * limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def request_problems(request: dict[str, Any]) -> list[str]:
    """What keeps a stored request from being a valid request document (a hand-written worktable row), if anything.

    Checked for shape only (no definition is read): the parameters' names are taken as they are.

    :param request: the request's row, as the store reads it.
    """
    parameters = request.get("parameters")
    names = [k for k in parameters if isinstance(k, str)] if isinstance(parameters, dict) else []
    document = {
        "request_id": request.get("request_id"),
        "report_id": request.get("report_id"),
        "parameters": parameters,
        "distribution": request.get("distribution_overrides"),
        "priority": request.get("priority"),
        "requested_by": request.get("requested_by"),
    }
    try:
        parse_request(document, parameter_names=names, source="worktable")
    except RequestInvalid as exc:
        return exc.problems
    return []


def format_trail(trail: dict) -> str:
    """Render a request's trail for people: the request, then every event, error and delivery in order.

    Any stored request is shown, however malformed: odd values are quoted and shortened, and a row
    that is not a valid request says why.

    :param trail: what :meth:`RequestStoreHook.trail` returned.
    """
    request = trail["request"]
    if request is None:
        return "no such request"
    lines = [
        f"Request {_shown(request['request_id'])}  report {_shown(request['report_id'])}"
        f"  status {_shown(request['status'])}  attempt {_shown(request['attempt'])}"
        f"  trigger {_shown(request['trigger_type'])}  by {_shown(request['requested_by'])}",
        f"  parameters {_shown(request['parameters'])}",
    ]
    if request.get("distribution_overrides") is not None:
        lines.append(f"  distribution {_shown(request['distribution_overrides'])}")
    lines.append(
        f"  requested {request['requested_at']}  processed {request['processed_at']}"
        f"  completed {request['completed_at']}"
    )
    if request.get("last_error"):
        lines.append(f"  last error {_shown(request['last_error'], 1000)}")
    problems = request_problems(request)
    if problems:
        lines.append(f"  not a valid request: {_shown('; '.join(problems), 1000)}")
    lines += ["", "Events:"]
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
                f" after {error['retry_count']} retries ({retry}): {_shown(error['message'], 2000)}"
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
