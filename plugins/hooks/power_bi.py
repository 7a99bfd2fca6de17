"""Power BI: export a paginated report with the Export To File API (Azure AD client-credentials token)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from hooks.http_engine import CHUNK, HttpEngineHook, JobStatus
from reporting.engine_errors import EngineJobFailed, EngineResponseError, parse_retry_after
from reporting.render import RenderResult

AUTHORITY = "https://login.microsoftonline.com"
API_URL = "https://api.powerbi.com"
SCOPE = "https://analysis.windows.net/powerbi/api/.default"
REPORT_PATH = "/v1.0/myorg/groups/{group}/reports/{report}"
# A token is renewed this long before Azure AD says it expires.
_TOKEN_MARGIN = 120


def export_body(format_name: str, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The ExportTo request body of a paginated report.

    :param format_name: the export format (PDF, XLSX, CSV...).
    :param parameters: values by report parameter name.
    """
    return {
        "format": format_name,
        "paginatedReportConfiguration": {
            "parameterValues": [{"name": name, "value": value} for name, value in parameters.items()]
        },
    }


@dataclass(frozen=True)
class ExportState(JobStatus):
    """Where one export stands: NotStarted, Running or Succeeded (Failed raises instead).

    :param percent: percentComplete.
    """

    percent: int = 0


def export_state(export_id: str, body: Mapping[str, Any], retry_after_header: str | None) -> ExportState:
    """Read an export status reply; a Failed export raises, retryable only when the service sent Retry-After.

    :param export_id: the export's id (for the message).
    :param body: the Export JSON.
    :param retry_after_header: the reply's Retry-After header.
    """
    status = str(body.get("status", ""))
    retry_after = parse_retry_after(retry_after_header)
    if status == "Failed":
        error = body.get("error") or {}
        detail = error.get("message") or error.get("code") or "no reason given"
        raise EngineJobFailed(
            "powerbi",
            f"export {export_id} failed: {detail}",
            retryable=retry_after is not None,
            retry_after=retry_after,
        )
    if status not in ("NotStarted", "Running", "Succeeded"):
        raise EngineResponseError("powerbi", f"export {export_id} has an unknown status {status!r}")
    return ExportState(
        status, done=status == "Succeeded", retry_after=retry_after, percent=int(body.get("percentComplete") or 0)
    )


class PowerBiHook(HttpEngineHook):
    """Exports Power BI paginated reports as a service principal.

    Connection: ``login`` = the app's client id, ``password`` = its client secret, extra
    ``tenant_id`` (required), ``authority`` and ``api_url`` (the public cloud's by default).

    :param powerbi_conn_id: the Airflow connection.
    :param timeout: seconds to wait for one HTTP response.
    """

    engine = "powerbi"
    conn_name_attr = "powerbi_conn_id"
    default_conn_name = "powerbi_default"
    conn_type = "powerbi"
    hook_name = "Power BI"

    def __init__(self, powerbi_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.powerbi_conn_id = powerbi_conn_id or self.default_conn_name
        # Azure AD throttles token requests; one hook's calls (every format of a task) share a
        # token until shortly before it expires. Nothing else is kept between calls.
        self._token: tuple[str, float] | None = None

    @staticmethod
    def _token_request(conn: Any) -> tuple[str, dict[str, str]]:
        extra = conn.extra_dejson
        tenant = extra.get("tenant_id")
        if not tenant:
            raise EngineResponseError("powerbi", f"connection {conn.conn_id!r} has no extra.tenant_id")
        url = f"{extra.get('authority', AUTHORITY).rstrip('/')}/{tenant}/oauth2/v2.0/token"
        return url, {
            "grant_type": "client_credentials",
            "client_id": conn.login or "",
            "client_secret": conn.password or "",
            "scope": extra.get("scope", SCOPE),
        }

    @staticmethod
    def _report_url(base: str, workspace_id: str, report_id: str) -> str:
        return base + REPORT_PATH.format(group=workspace_id, report=report_id)

    def _token_from(self, body: Mapping[str, Any]) -> tuple[str, float]:
        token = body.get("access_token")
        if not token:
            raise EngineResponseError("powerbi", "the token endpoint answered without an access_token")
        from airflow.sdk.log import mask_secret

        mask_secret(token)  # a bearer token is a credential: never in a task log
        return token, time.time() + float(body.get("expires_in", 3600)) - _TOKEN_MARGIN

    def get_token(self) -> str:
        """An access token for the Power BI REST API (client-credentials grant), reused while it is valid."""
        if self._token is None or self._token[1] <= time.time():
            conn = self.get_connection(self.powerbi_conn_id)
            url, form = self._token_request(conn)
            with requests.Session() as session:
                self._token = self._token_from(self.send(session, "POST", url, data=form).json())
        return self._token[0]

    def _base_url(self, conn: Any) -> str:
        # The API's root is Power BI's (or the connection's sovereign cloud's), not the connection's host.
        api_url: str = conn.extra_dejson.get("api_url", API_URL)
        return api_url.rstrip("/")

    def configure_session(self, session: requests.Session, conn: Any) -> None:
        session.headers["Authorization"] = f"Bearer {self.get_token()}"

    def start_export(self, workspace_id: str, report_id: str, format_name: str, parameters: Mapping[str, str]) -> str:
        """Start one export; return its id.

        :param workspace_id: the workspace (group) id.
        :param report_id: the report id.
        :param format_name: the export format.
        :param parameters: values by report parameter name.
        """
        with self.get_conn() as session:
            url = self._report_url(self.base_url, workspace_id, report_id) + "/ExportTo"
            response = self.send(session, "POST", url, json=export_body(format_name, parameters))
        if response.status_code != 202 or "id" not in response.json():
            raise EngineResponseError("powerbi", f"ExportTo answered {response.status_code} without an export id")
        export_id: str = response.json()["id"]
        return export_id

    def download(self, workspace_id: str, report_id: str, export_id: str, dest: Path, fmt: str) -> RenderResult:
        """Download a finished export's file.

        :param workspace_id: the workspace (group) id.
        :param report_id: the report id.
        :param export_id: the export id.
        :param dest: the local file to write.
        :param fmt: the report format the file must be.
        """
        with self.get_conn() as session:
            url = self._report_url(self.base_url, workspace_id, report_id) + f"/exports/{export_id}/file"
            with self.send(session, "GET", url, stream=True) as response:
                return self.save_document(response.iter_content(CHUNK), dest, fmt)

    # --- asynchronous, for the trigger ------------------------------------------------------

    async def aget_token(self, client: Any) -> str:
        """:meth:`get_token` without blocking: the same token, reused while it is valid.

        :param client: an ``httpx.AsyncClient``.
        """
        if self._token is None or self._token[1] <= time.time():
            conn = await self.aget_connection(self.powerbi_conn_id)
            url, form = self._token_request(conn)
            response = await self.asend(client, "POST", url, data=form)
            self._token = self._token_from(response.json())
        return self._token[0]

    async def aget_export(
        self, client: Any, token: str, workspace_id: str, report_id: str, export_id: str
    ) -> ExportState:
        """Where one export stands, asked without blocking (the trigger polls with it).

        :param client: an ``httpx.AsyncClient``.
        :param token: a token from :meth:`aget_token`.
        :param workspace_id: the workspace (group) id.
        :param report_id: the report id.
        :param export_id: the export id.
        """
        conn = await self.aget_connection(self.powerbi_conn_id)
        url = self._report_url(self._base_url(conn), workspace_id, report_id) + f"/exports/{export_id}"
        response = await self.asend(client, "GET", url, headers={"Authorization": f"Bearer {token}"})
        return export_state(export_id, response.json(), response.headers.get("Retry-After"))
