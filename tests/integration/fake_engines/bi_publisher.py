"""A BI Publisher REST API stand-in: ``POST /xmlpserver/services/rest/v1/reports/{path}/run``.

Follows Oracle's "REST API for BI Publisher": the report path is one URL-encoded segment, the
request is ``multipart/form-data`` with a ``ReportRequest`` JSON part, and the answer is
``multipart/form-data`` with a ``ReportResponse`` JSON part and a ``ReportOutput`` part that is
the document.
"""

from __future__ import annotations

import base64
import json
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import unquote

from .documents import make_document
from .server import FakeServer, Request, Response

PREFIX = "/xmlpserver/services/rest/v1/reports/"
USER, PASSWORD, TOKEN = "bi_reporter", "bip-secret-1", "bip-token-1"
REPORTS = {"/Finance/Sales Detail.xdo": "Sales detail", "/Shared/Ops/Stock.xdo": "Stock"}
FORMATS = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/plain;charset=UTF-8",
}
ALLOWED_REGIONS = {"ALL", "EMEA", "AMER", "APAC"}


def form_parts(sent: Request | Response) -> dict[str, tuple[str, bytes]]:
    """The multipart parts of a request or a response, by name: (content type, body)."""
    headers = {k.lower(): v for k, v in sent.headers.items()}
    head = f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + sent.body)
    if not message.is_multipart():
        return {}
    return {
        part.get_param("name", header="content-disposition"): (part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


def report_request_of(request: Request) -> dict:
    """The parsed ReportRequest JSON a run request carried."""
    return json.loads(form_parts(request)["ReportRequest"][1])


def report_output_of(response: Response) -> bytes:
    """The document a run answer carried (its ReportOutput part)."""
    return form_parts(response)["ReportOutput"][1]


def _authorised(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    if header == f"Bearer {TOKEN}":
        return True
    if header.startswith("Basic "):
        return base64.b64decode(header[6:]).decode() == f"{USER}:{PASSWORD}"
    return False


def _error(status: int, text: str) -> Response:
    return Response(status, {"Content-Type": "text/plain"}, text.encode())


def handle(request: Request) -> Response:
    if not (request.method == "POST" and request.path.startswith(PREFIX) and request.path.endswith("/run")):
        return _error(404, "Not Found")
    if not _authorised(request):
        return Response(401, {"WWW-Authenticate": 'Basic realm="BI Publisher"'}, b"Unauthorized")
    segment = request.path[len(PREFIX) : -len("/run")]
    if "/" in segment:
        return _error(404, "the report path must be one encoded segment")
    path = unquote(segment)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _error(415, "Unsupported Media Type")
    parts = form_parts(request)
    if "ReportRequest" not in parts or parts["ReportRequest"][0] != "application/json":
        return _error(400, "ReportRequest part (application/json) is required")
    report_request = json.loads(parts["ReportRequest"][1])
    fmt = report_request.get("attributeFormat")
    if path not in REPORTS:
        return _error(404, f"Report not found: {path}")
    if fmt not in FORMATS:
        return _error(400, f"unsupported attributeFormat {fmt!r}")
    items = report_request.get("parameterNameValues", {}).get("listOfParamNameValues", {}).get("item", [])
    values = {item["name"]: item["values"]["item"][0] for item in items}
    if values.get("P_REGION", "ALL") not in ALLOWED_REGIONS:
        return _error(500, f"oracle.xdo.webservice.exception.InvalidParametersException: P_REGION={values['P_REGION']}")
    document = make_document(fmt, REPORTS[path], values)
    boundary = f"Boundary_{uuid.uuid4().hex}"
    body = (
        (
            f"--{boundary}\r\nContent-Type: application/json\r\n"
            'Content-Disposition: form-data; name="ReportResponse"\r\n\r\n'
            + json.dumps({"reportContentType": FORMATS[fmt]})
            + f"\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f'Content-Disposition: form-data; filename="xmlp{uuid.uuid4().int % 10**12}tmp"; size={len(document)}; '
            f'name="ReportOutput"\r\n\r\n'
        ).encode()
        + document
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return Response(200, {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body)


def server() -> FakeServer:
    """A BI Publisher stand-in (not yet started)."""
    return FakeServer(handle)
