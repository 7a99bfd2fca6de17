"""A MIDAS stand-in implementing plugins/hooks/MIDAS_API.md: jobs submitted, polled, downloaded, cancelled."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field

from .documents import make_document
from .server import FakeServer, Request, Response

API_KEY = "midas-key-1"
REPORTS = {"risk_positions": "Risk positions"}
FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}
REGIONS = {"ALL", "EMEA", "AMER", "APAC"}
_JOB = re.compile(r"^/api/v1/jobs/([0-9a-f]+)(/result)?$")


@dataclass
class MidasState:
    """The fake's jobs and behaviour.

    :param polls_until_done: status requests answered RUNNING before a job succeeds.
    :param retry_after: the Retry-After (seconds) sent while a job runs.
    :param fail_next: the next job fails, with ``fail_retryable`` as its error's ``retryable``.
    :param truncate_downloads: results lose their last bytes in transit (status still announces the full size).
    """

    polls_until_done: int = 1
    retry_after: int = 1
    fail_next: bool = False
    fail_retryable: bool = True
    truncate_downloads: bool = False
    jobs: dict[str, dict] = field(default_factory=dict)


def _error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, body)


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(body).encode())


def handler(state: MidasState):
    def handle(request: Request) -> Response:
        if request.headers.get("x-api-key") != API_KEY:
            return _error(401, "UNAUTHENTICATED", "missing or invalid API key")
        if request.path == "/api/v1/jobs" and request.method == "POST":
            if request.headers.get("content-type") != "application/json":
                return _error(400, "INVALID_REQUEST", "a JSON body is required")
            body = json.loads(request.body)
            if body.get("report") not in REPORTS:
                return _error(404, "REPORT_NOT_FOUND", f"no report {body.get('report')!r}")
            if body.get("format") not in FORMATS:
                return _error(400, "INVALID_FORMAT", f"format {body.get('format')!r} is not offered")
            parameters = body.get("parameters") or {}
            if parameters.get("region", "ALL") not in REGIONS:
                return _error(400, "INVALID_PARAMETERS", f"region={parameters['region']} is not a region")
            job_id = uuid.uuid4().hex
            fail, state.fail_next = state.fail_next, False
            document = make_document(body["format"], REPORTS[body["report"]], parameters)
            state.jobs[job_id] = {
                "format": body["format"],
                "document": document,
                "polls": 0,
                "fail": fail,
                "status": "QUEUED",
            }
            return _json(202, {"job_id": job_id, "status": "QUEUED"}, {"Location": f"/api/v1/jobs/{job_id}"})
        match = _JOB.match(request.path)
        job = state.jobs.get(match.group(1)) if match else None
        if job is None:
            return _error(404, "JOB_NOT_FOUND", "no such job")
        job_id, result = match.groups()
        if request.method == "DELETE":
            if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
                return _error(409, "JOB_FINISHED", "the job has finished")
            job["status"] = "CANCELLED"
            return _json(202, {"job_id": job_id, "status": "CANCELLED"})
        if result:
            if job["status"] != "SUCCEEDED":
                return _error(409, "NOT_READY", "the job has not succeeded")
            data = job["document"][:-10] if state.truncate_downloads else job["document"]
            return Response(200, {"Content-Type": FORMATS[job["format"]]}, data)
        if job["status"] in ("QUEUED", "RUNNING"):
            job["polls"] += 1
            if job["polls"] <= state.polls_until_done:
                job["status"] = "RUNNING"
                return _json(
                    200,
                    {"job_id": job_id, "status": "RUNNING", "progress": 50},
                    {"Retry-After": str(state.retry_after)},
                )
            job["status"] = "FAILED" if job["fail"] else "SUCCEEDED"
        body = {"job_id": job_id, "status": job["status"], "progress": 100}
        if job["status"] == "FAILED":
            body["error"] = {
                "code": "WAREHOUSE_BUSY",
                "message": "the warehouse timed out",
                "retryable": state.fail_retryable,
            }
        if job["status"] == "SUCCEEDED":
            data = job["document"]
            body["result"] = {
                "content_type": FORMATS[job["format"]],
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        return _json(200, body)

    return handle


def server(state: MidasState) -> FakeServer:
    """A MIDAS stand-in (not yet started) driven by ``state``."""
    return FakeServer(handler(state))
