"""What every door of the end-to-end suite checks: the request's trail and the delivered files."""

from __future__ import annotations

import hashlib
from pathlib import Path

SALES = "report__sales_summary"
FORMATS = {"pdf", "xlsx", "csv"}
# the report the suite writes with an every-minute cron (tests/e2e/conftest.py)
EVERY_MINUTE_ID = "e2e_every_minute"
HAPPY_PATH = ["PENDING", "IN_PROGRESS", "GENERATED", "DISTRIBUTED", "COMPLETED"]


def assert_completed(store, request_id: str, output: Path | dict[str, Path], trigger_type: str) -> dict:
    """The request went PENDING -> ... -> COMPLETED and each format's file is in the folder as recorded.

    :param store: the request store hook.
    :param request_id: the request.
    :param output: the report's delivery folder, or each target's folder by target key.
    :param trigger_type: the trigger type the request must carry.
    """
    trail = store.trail(request_id)
    request = trail["request"]
    assert request is not None, f"request {request_id} not in the store"
    assert request["status"] == "COMPLETED", trail
    assert request["trigger_type"] == trigger_type
    statuses = [e["new_status"] for e in trail["events"] if e.get("new_status")]
    assert [s for s in HAPPY_PATH if s in statuses] == HAPPY_PATH, statuses
    assert trail["errors"] == []
    deliveries = trail["deliveries"]
    folders = output if isinstance(output, dict) else {"reports_share": output}
    assert {(d["target_key"], d["format"]) for d in deliveries} == {(k, f) for k in folders for f in FORMATS}
    for delivery in deliveries:
        path = Path(delivery["remote_location"].removeprefix("file://"))
        assert path.parent == folders[delivery["target_key"]], delivery
        assert hashlib.sha256(path.read_bytes()).hexdigest() == delivery["sha256"]
        assert path.stat().st_size == delivery["bytes"] > 0
    return trail
