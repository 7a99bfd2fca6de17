"""A Power BI stand-in: Azure AD's client-credentials token endpoint and the Export To File API.

Follows the published REST API: ``POST /{tenant}/oauth2/v2.0/token``;
``POST /v1.0/myorg/groups/{group}/reports/{report}/ExportTo`` answers 202 with an Export;
``GET .../exports/{id}`` answers 202 + ``Retry-After`` while the export runs and 200 when it has
Succeeded or Failed; ``GET .../exports/{id}/file`` returns the file.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .documents import make_document
from .server import FakeServer, Request, Response

TENANT = "9f8e7d6c-0000-4000-8000-00000000aaaa"
CLIENT_ID = "app-client-id-1"
CLIENT_SECRET = "pbi-client-secret-1"
SCOPE = "https://analysis.windows.net/powerbi/api/.default"
GROUP = "f089354e-8366-4e18-aea3-4cb4a3a50b48"
REPORT = "cb5d4fbb-4e5b-4d5b-8f5e-6b3e6f1c0a11"
FORMATS = {"PDF": "pdf", "XLSX": "xlsx", "CSV": "csv"}
REGIONS = {"ALL", "EMEA", "AMER", "APAC"}
_REPORT_PATH = re.compile(r"^/v1\.0/myorg/groups/([^/]+)/reports/([^/]+)/(ExportTo|exports/([^/]+)(/file)?)$")


@dataclass
class PowerBiState:
    """What the fake service knows, and how it is told to behave.

    :param polls_until_done: status requests answered "Running" before an export succeeds.
    :param retry_after: the Retry-After (seconds) sent while an export runs.
    :param fail_next: the next export fails; with ``fail_retry_after`` set, its status carries Retry-After.
    """

    polls_until_done: int = 1
    retry_after: int = 1
    fail_next: bool = False
    fail_retry_after: int | None = None
    tokens: list[str] = field(default_factory=list)
    exports: dict[str, dict] = field(default_factory=dict)


def _json(status: int, body: dict, headers: dict | None = None) -> Response:
    return Response(
        status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body).encode()
    )


def _api_error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def handler(state: PowerBiState):
    def token(request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode()))
        if request.headers.get("content-type") != "application/x-www-form-urlencoded":
            return _json(400, {"error": "invalid_request", "error_description": "AADSTS900144: form body expected"})
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            return _json(400, {"error": "invalid_request", "error_description": "AADSTS70011: invalid scope or grant"})
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return _json(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
            )
        issued = f"eyJ0eXAi.{uuid.uuid4().hex}"
        state.tokens.append(issued)
        return _json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": issued})

    def handle(request: Request) -> Response:
        if request.method == "POST" and request.path == f"/{TENANT}/oauth2/v2.0/token":
            return token(request)
        match = _REPORT_PATH.match(request.path)
        if not match:
            return _api_error(404, "NotFound", "no such API")
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in state.tokens:
            return Response(
                401, {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com"'}, b""
            )
        group, report, action, export_id, file = match.groups()
        if (group, report) != (GROUP, REPORT):
            return _api_error(404, "ItemNotFound", f"Report {report} is not found in group {group}")
        if action == "ExportTo":
            if request.method != "POST" or request.headers.get("content-type") != "application/json":
                return _api_error(400, "InvalidRequest", "a JSON POST is required")
            body = json.loads(request.body)
            if body.get("format") not in FORMATS:
                return _api_error(400, "InvalidRequest", f"format {body.get('format')!r} is not supported")
            # A paginated report's export needs paginatedReportConfiguration (formatSettings and
            # parameterValues); a Power BI (.pbix) report's would be powerBIReportConfiguration.
            configuration = body.get("paginatedReportConfiguration")
            if not isinstance(configuration, dict) or not isinstance(configuration.get("parameterValues", []), list):
                return _api_error(
                    400, "InvalidRequest", "paginatedReportConfiguration is required for a paginated report"
                )
            values = {p["name"]: p["value"] for p in configuration.get("parameterValues", [])}
            if values.get("Region", "ALL") not in REGIONS:
                return _api_error(400, "InvalidParameterValue", f"Region={values['Region']} is not a valid value")
            new_id = uuid.uuid4().hex
            fail, state.fail_next = state.fail_next, False
            state.exports[new_id] = {"format": body["format"], "values": values, "polls": 0, "fail": fail}
            return _json(202, {"id": new_id, "reportId": REPORT, "status": "NotStarted", "percentComplete": 0})
        export = state.exports.get(export_id)
        if export is None or request.method != "GET":
            return _api_error(404, "ExportNotFound", f"export {export_id} not found")
        if file:
            if export.get("status") != "Succeeded":
                return _api_error(404, "ExportFileNotFound", f"export {export_id} has no file (not Succeeded)")
            fmt = FORMATS[export["format"]]
            return Response(
                200,
                {"Content-Type": "application/octet-stream"},
                make_document(fmt, "Power BI report", export["values"]),
            )
        export["polls"] += 1
        base = {"id": export_id, "reportId": REPORT, "resourceFileExtension": f".{FORMATS[export['format']]}"}
        if export["polls"] <= state.polls_until_done:
            return _json(
                202, {**base, "status": "Running", "percentComplete": 50}, {"Retry-After": str(state.retry_after)}
            )
        if export["fail"]:
            headers = {} if state.fail_retry_after is None else {"Retry-After": str(state.fail_retry_after)}
            return _json(
                200,
                {
                    **base,
                    "status": "Failed",
                    "percentComplete": 0,
                    "error": {"code": "ExportFailed", "message": "capacity overloaded"},
                },
                headers,
            )
        export["status"] = "Succeeded"
        return _json(200, {**base, "status": "Succeeded", "percentComplete": 100})

    return handle


def server(state: PowerBiState) -> FakeServer:
    """A Power BI stand-in (not yet started) driven by ``state``."""
    return FakeServer(handler(state))
