"""Oracle BI Publisher (OBIEE): run a report through the REST API and keep its ReportOutput part."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from hooks.http_engine import CHUNK, HttpEngineHook
from reporting.engine_errors import EngineResponseError, EngineTransferError
from reporting.multipart import MultipartError, MultipartTruncated, boundary_of, copy_part
from reporting.render import RenderResult

RUN_PATH = "/xmlpserver/services/rest/v1/reports/{path}/run"


def report_request(
    format_name: str,
    parameters: Mapping[str, str],
    *,
    template: str | None = None,
    locale: str | None = None,
    by_pass_cache: bool = True,
) -> dict[str, Any]:
    """The ``ReportRequest`` JSON of one run.

    :param format_name: BI Publisher's output format (``attributeFormat``: pdf, xlsx, csv...).
    :param parameters: parameter values by BI Publisher parameter name.
    :param template: the layout template (``attributeTemplate``).
    :param locale: the output locale (``attributeLocale``).
    :param by_pass_cache: ask for fresh data rather than a cached document.
    """
    request: dict[str, Any] = {"attributeFormat": format_name, "byPassCache": by_pass_cache, "flattenXML": False}
    if template:
        request["attributeTemplate"] = template
    if locale:
        request["attributeLocale"] = locale
    if parameters:
        request["parameterNameValues"] = {
            "listOfParamNameValues": {
                "item": [{"name": name, "values": {"item": [value]}} for name, value in parameters.items()]
            }
        }
    return request


class BiPublisherHook(HttpEngineHook):
    """Runs BI Publisher reports; Basic auth, or a bearer token when the connection's extra says ``auth_type: bearer``.

    Connection: ``host`` (``https://bi.example.com``), ``login``/``password`` (the token goes in
    ``password`` for bearer auth).

    :param bi_publisher_conn_id: the Airflow connection.
    :param timeout: seconds to wait for the (synchronous) run to answer.
    """

    engine = "obiee"
    conn_name_attr = "bi_publisher_conn_id"
    default_conn_name = "bi_publisher_default"
    conn_type = "bi_publisher"
    hook_name = "Oracle BI Publisher"
    # BI Publisher answers 500 for these; retrying cannot help.
    permanent_error_markers = ("InvalidParametersException", "AccessDeniedException", "ReportNotFound")

    def __init__(self, bi_publisher_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bi_publisher_conn_id = bi_publisher_conn_id or self.default_conn_name

    def configure_session(self, session: requests.Session, conn: Any) -> None:
        if conn.extra_dejson.get("auth_type", "basic").lower() == "bearer":
            session.headers["Authorization"] = f"Bearer {conn.password}"
        else:
            session.auth = (conn.login or "", conn.password or "")

    def run_report(
        self,
        report_path: str,
        format_name: str,
        parameters: Mapping[str, str],
        dest: Path,
        fmt: str,
        *,
        template: str | None = None,
        locale: str | None = None,
        by_pass_cache: bool = True,
    ) -> RenderResult:
        """Run one report in one format and write the document to ``dest``.

        :param report_path: the catalog path (``/Finance/Sales Detail.xdo``).
        :param format_name: BI Publisher's format name.
        :param parameters: values by BI Publisher parameter name.
        :param dest: the local file to write.
        :param fmt: the report format (pdf, xlsx, csv) the document must be.
        :param template: the layout template.
        :param locale: the output locale.
        :param by_pass_cache: ask for fresh data.
        """
        body = report_request(format_name, parameters, template=template, locale=locale, by_pass_cache=by_pass_cache)
        with self.get_conn() as session:
            # The whole path is one URL segment: its slashes are encoded too.
            url = self.base_url + RUN_PATH.format(path=quote(report_path, safe=""))
            response = self.send(
                session,
                "POST",
                url,
                stream=True,
                files={"ReportRequest": (None, json.dumps(body), "application/json")},
                headers={"Accept": "multipart/form-data"},
            )
            with response:
                try:
                    boundary = boundary_of(response.headers.get("Content-Type", ""))
                except MultipartError as exc:
                    raise EngineResponseError(self.engine, f"run of {report_path}: {exc}") from None
                extract = partial(copy_part, boundary=boundary, name="ReportOutput")
                try:
                    return self.save_document(
                        response.iter_content(CHUNK), dest, fmt, write=lambda chunks, sink: extract(chunks, sink=sink)
                    )
                except MultipartTruncated as exc:
                    dest.unlink(missing_ok=True)
                    raise EngineTransferError(self.engine, f"run of {report_path}: {exc}") from None
                except MultipartError as exc:
                    dest.unlink(missing_ok=True)
                    raise EngineResponseError(self.engine, f"run of {report_path}: {exc}") from None
