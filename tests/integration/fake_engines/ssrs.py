"""An SSRS report server stand-in for URL access: ``GET /ReportServer?/<path>&<param>=<value>&rs:Format=...``.

Authentication is NTLM (a real challenge/response handshake on one keep-alive connection,
checked by pyspnego against ``NTLM_USER_FILE``) or Basic. Errors come as SSRS writes them: an
HTML page naming the ``rs...`` error code.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl, unquote

import spnego

from .documents import make_document
from .server import FakeServer, Request, Response

DOMAIN, USER, PASSWORD = "CORP", "reporter", "ssrs-secret-1"
REPORTS = {"/Finance/Inventory": "Inventory", "/Finance/Stock Levels": "Stock levels"}
FORMATS = {
    "PDF": ("pdf", "application/pdf"),
    "EXCELOPENXML": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "CSV": ("csv", "text/csv"),
}
PARAMETERS = {"Region": {"ALL", "EMEA", "AMER", "APAC"}, "AsOf": None}


def user_file(folder) -> str:
    """Write the NTLM credential store the server checks against; returns its path."""
    path = folder / "ntlm-users.txt"
    path.write_text(f"{DOMAIN}:{USER}:{PASSWORD}\n")
    return str(path)


def _rs_error(status: int, code: str, text: str) -> Response:
    page = (
        f"<html><head><title>SQL Server Reporting Services</title></head><body><h1>Reporting Services Error</h1>"
        f"<ul><li>{text} ({code})</li></ul></body></html>"
    )
    return Response(status, {"Content-Type": "text/html; charset=utf-8"}, page.encode())


def parse_url_access(query: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Split a URL-access query into (report path, report parameters, rs: commands)."""
    first, _, rest = query.partition("&")
    items = parse_qsl(rest, keep_blank_values=True)
    return (
        unquote(first),
        {k: v for k, v in items if not k.startswith("rs:")},
        {k: v for k, v in items if k.startswith("rs:")},
    )


def _ntlm(request: Request) -> Response | None:
    """None when the connection is authenticated; otherwise the 401 that continues the handshake."""
    state = request.connection
    header = request.headers.get("authorization", "")
    if state.get("user"):
        return None
    if not header.startswith("NTLM "):
        return Response(401, {"WWW-Authenticate": "NTLM"}, b"")
    token = base64.b64decode(header[5:])
    context = state.get("ntlm")
    if context is None:
        context = state["ntlm"] = spnego.server(protocol="ntlm")
    try:
        out = context.step(token)
    except spnego.exceptions.SpnegoError:
        state.pop("ntlm", None)
        return Response(401, {"WWW-Authenticate": "NTLM"}, b"")
    if not context.complete:
        return Response(401, {"WWW-Authenticate": "NTLM " + base64.b64encode(out).decode()}, b"")
    state["user"] = context.client_principal
    return None


def _basic(request: Request) -> Response | None:
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    if request.headers.get("authorization") == expected:
        return None
    return Response(401, {"WWW-Authenticate": 'Basic realm="ssrs"'}, b"")


def handler():
    """The request handler of an authenticated connection (see :func:`server` for the login)."""

    def handle(request: Request) -> Response:
        request.user = request.connection.get("user") or USER
        if request.method != "GET" or request.path != "/ReportServer":
            return Response(404, {"Content-Type": "text/plain"}, b"Not Found")
        path, parameters, commands = parse_url_access(request.query)
        if path not in REPORTS:
            return _rs_error(404, "rsItemNotFound", f"The item '{path}' cannot be found.")
        if commands.get("rs:Format") not in FORMATS:
            return _rs_error(400, "rsRenderingExtensionNotFound", "The rendering extension is not valid.")
        for name, value in parameters.items():
            if name not in PARAMETERS:
                return _rs_error(500, "rsUnknownReportParameter", f"The report parameter '{name}' does not exist.")
            allowed = PARAMETERS[name]
            if allowed is not None and value not in allowed:
                return _rs_error(
                    500,
                    "rsInvalidReportParameter",
                    f"The value provided for the report parameter '{name}' is not valid.",
                )
        fmt, content_type = FORMATS[commands["rs:Format"]]
        return Response(200, {"Content-Type": content_type}, make_document(fmt, REPORTS[path], parameters))

    return handle


def server(auth: str = "ntlm") -> FakeServer:
    """An SSRS stand-in (not yet started).

    :param auth: ntlm or basic.
    """
    return FakeServer(handler(), authenticate=_ntlm if auth == "ntlm" else _basic)
