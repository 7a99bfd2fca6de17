"""SQL Server Reporting Services: render a report through URL access, NTLM or Basic authentication."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from hooks.http_engine import CHUNK, HttpEngineHook
from reporting.render import RenderResult


def render_url(
    base: str, report_path: str, format_name: str, parameters: Mapping[str, str], server_path: str = "/ReportServer"
) -> str:
    """The URL-access address that renders one report: ``/ReportServer?/<path>&<p>=<v>&rs:Format=...``.

    :param base: the server root (``https://ssrs.example.com``).
    :param report_path: the report's folder path (``/Finance/Inventory``).
    :param format_name: the rendering extension (PDF, EXCELOPENXML, CSV).
    :param parameters: values by report parameter name.
    :param server_path: the report server's virtual directory.
    """
    # The report path is the query's first item and keeps its slashes; values are percent-encoded
    # so a parameter value can never add a URL-access command of its own.
    items = [quote(report_path, safe="/")]
    items += [f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in parameters.items()]
    items += ["rs:Command=Render", f"rs:Format={quote(format_name, safe='')}"]
    return f"{base}{server_path}?{'&'.join(items)}"


class SsrsHook(HttpEngineHook):
    """Renders SSRS reports; NTLM (``DOMAIN\\user`` in ``login``) unless the extra says ``auth_type: basic``.

    Connection: ``host`` (``https://ssrs.example.com``), ``login``, ``password``; extra
    ``report_server_path`` when the virtual directory is not ``/ReportServer``.

    :param ssrs_conn_id: the Airflow connection.
    :param timeout: seconds to wait for the rendering to answer.
    """

    engine = "ssrs"
    conn_name_attr = "ssrs_conn_id"
    default_conn_name = "ssrs_default"
    conn_type = "ssrs"
    hook_name = "SQL Server Reporting Services"
    # SSRS reports these with HTTP 500; they are about the request, so retrying cannot help.
    permanent_error_markers = (
        "rsItemNotFound",
        "rsInvalidReportParameter",
        "rsUnknownReportParameter",
        "rsReportParameterValueNotSet",
        "rsReportParameterTypeMismatch",
        "rsParameterTypeMismatch",
        "rsAccessDenied",
        "rsInvalidItemPath",
    )

    def __init__(self, ssrs_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ssrs_conn_id = ssrs_conn_id or self.default_conn_name

    def _base_url(self, conn: Any) -> str:
        # URL access lives under the report server's virtual directory.
        server_path: str = conn.extra_dejson.get("report_server_path", "/ReportServer")
        return super()._base_url(conn) + server_path

    def configure_session(self, session: requests.Session, conn: Any) -> None:
        if conn.extra_dejson.get("auth_type", "ntlm").lower() == "basic":
            session.auth = (conn.login or "", conn.password or "")
        else:
            from requests_ntlm import HttpNtlmAuth

            session.auth = HttpNtlmAuth(conn.login or "", conn.password or "")

    def render(
        self, report_path: str, format_name: str, parameters: Mapping[str, str], dest: Path, fmt: str
    ) -> RenderResult:
        """Render one report in one format and write it to ``dest``.

        :param report_path: the report's folder path.
        :param format_name: the rendering extension.
        :param parameters: values by report parameter name.
        :param dest: the local file to write.
        :param fmt: the report format (pdf, xlsx, csv) the document must be.
        """
        with self.get_conn() as session:
            # base_url already ends with the report server's virtual directory.
            url = render_url(self.base_url, report_path, format_name, parameters, server_path="")
            response = self.send(session, "GET", url, stream=True)
            with response:
                return self.save_document(response.iter_content(CHUNK), dest, fmt)
