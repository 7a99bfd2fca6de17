"""MIDAS, the in-house report engine: submit a job, poll it, download its result (contract in MIDAS_API.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from hooks.http_engine import CHUNK, HttpEngineHook, JobStatus
from reporting.engine_errors import EngineJobFailed, EngineResponseError, EngineTransferError, parse_retry_after
from reporting.render import RenderResult

JOBS = "/api/v1/jobs"


@dataclass(frozen=True)
class JobState(JobStatus):
    """Where one MIDAS job stands: QUEUED, RUNNING or SUCCEEDED (FAILED and CANCELLED raise instead).

    :param result: the result's ``content_type``, ``bytes`` and ``sha256`` once SUCCEEDED.
    """

    result: dict[str, Any] | None = None


def job_state(job_id: str, body: Mapping[str, Any], retry_after_header: str | None) -> JobState:
    """Read a job status reply; FAILED or CANCELLED raise, retryable as MIDAS says.

    :param job_id: the job's id (for the message).
    :param body: the status JSON.
    :param retry_after_header: the reply's Retry-After header.
    """
    status = str(body.get("status", ""))
    if status in ("FAILED", "CANCELLED"):
        error = body.get("error") or {}
        detail = f"{error.get('code', status)}: {error.get('message', 'no reason given')}"
        raise EngineJobFailed(
            "midas", f"job {job_id} {status.lower()}: {detail}", retryable=bool(error.get("retryable"))
        )
    if status not in ("QUEUED", "RUNNING", "SUCCEEDED"):
        raise EngineResponseError("midas", f"job {job_id} has an unknown status {status!r}")
    return JobState(
        status, done=status == "SUCCEEDED", retry_after=parse_retry_after(retry_after_header), result=body.get("result")
    )


class MidasHook(HttpEngineHook):
    """Runs MIDAS report jobs with an API key (the connection's password).

    Connection: ``host`` (``https://midas.example.com``), ``password`` = the API key, extra
    ``api_key_header`` when it is not ``X-API-Key``.

    :param midas_conn_id: the Airflow connection.
    :param timeout: seconds to wait for one HTTP response.
    """

    engine = "midas"
    conn_name_attr = "midas_conn_id"
    default_conn_name = "midas_default"
    conn_type = "midas"
    hook_name = "MIDAS"

    def __init__(self, midas_conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.midas_conn_id = midas_conn_id or self.default_conn_name

    @staticmethod
    def _headers(conn: Any) -> dict[str, str]:
        return {conn.extra_dejson.get("api_key_header", "X-API-Key"): conn.password or "", "Accept": "application/json"}

    def configure_session(self, session: requests.Session, conn: Any) -> None:
        session.headers.update(self._headers(conn))

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        with self.get_conn() as session:
            return self.send(session, method, self.base_url + path, **kwargs)

    def submit(self, report: str, format_name: str, parameters: Mapping[str, str]) -> str:
        """Submit one job; return its id.

        :param report: the MIDAS report name.
        :param format_name: MIDAS's format name.
        :param parameters: values by MIDAS parameter name.
        """
        response = self._call(
            "POST", JOBS, json={"report": report, "format": format_name, "parameters": dict(parameters)}
        )
        job_id: str | None = response.json().get("job_id") if response.status_code == 202 else None
        if not job_id:
            raise EngineResponseError("midas", f"job submission answered {response.status_code} without a job_id")
        return job_id

    def get_job(self, job_id: str) -> JobState:
        """Where one job stands.

        :param job_id: the job's id.
        """
        response = self._call("GET", f"{JOBS}/{job_id}")
        return job_state(job_id, response.json(), response.headers.get("Retry-After"))

    def cancel(self, job_id: str) -> None:
        """Ask MIDAS to stop a job (a finished job is left as it is).

        :param job_id: the job's id.
        """
        with self.get_conn() as session:
            response = session.delete(self.base_url + f"{JOBS}/{job_id}", timeout=self.timeout)
        if response.status_code not in (202, 409):
            raise self.http_error(response, "DELETE", f"{JOBS}/{job_id}")

    def download(self, job_id: str, dest: Path, fmt: str) -> RenderResult:
        """Download a finished job's document and check it against the size and SHA-256 MIDAS announced.

        :param job_id: the job's id.
        :param dest: the local file to write.
        :param fmt: the report format the document must be.
        """
        expected = self.get_job(job_id).result or {}
        response = self._call("GET", f"{JOBS}/{job_id}/result", stream=True)
        with response:
            result = self.save_document(response.iter_content(CHUNK), dest, fmt)
        if expected.get("sha256") and (result.sha256, result.bytes) != (
            expected["sha256"],
            expected.get("bytes", result.bytes),
        ):
            dest.unlink(missing_ok=True)
            raise EngineTransferError(
                "midas", f"job {job_id}: the download ({result.bytes} bytes) does not match the announced result"
            )
        return result

    async def aget_job(self, client: Any, job_id: str) -> JobState:
        """:meth:`get_job` without blocking, for the trigger.

        :param client: an ``httpx.AsyncClient``.
        :param job_id: the job's id.
        """
        conn = await self.aget_connection(self.midas_conn_id)
        response = await self.asend(
            client, "GET", self._base_url(conn) + f"{JOBS}/{job_id}", headers=self._headers(conn)
        )
        return job_state(job_id, response.json(), response.headers.get("Retry-After"))

    async def acancel(self, client: Any, job_id: str) -> None:
        """:meth:`cancel` without blocking, for the trigger's ``on_kill``.

        :param client: an ``httpx.AsyncClient``.
        :param job_id: the job's id.
        """
        conn = await self.aget_connection(self.midas_conn_id)
        response = await client.delete(
            self._base_url(conn) + f"{JOBS}/{job_id}", headers=self._headers(conn), timeout=self.timeout
        )
        if response.status_code not in (202, 409):
            raise self.http_error(response, "DELETE", f"{JOBS}/{job_id}")
