"""What every BI engine hook shares: base URL, HTTP calls that raise classified engine errors, document downloads."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from urllib3.exceptions import ReadTimeoutError

from reporting.documents import check_document
from reporting.engine_errors import (
    EngineConnectionError,
    EngineHttpError,
    EngineResponseError,
    EngineTimeout,
    parse_retry_after,
)
from reporting.render import RenderResult

CHUNK = 1024 * 1024
_TAGS = re.compile(r"<[^>]+>")


class _HttpAnswer(Protocol):
    """A response of requests or httpx, as far as checking its status goes."""

    @property
    def status_code(self) -> int: ...


_Answer = TypeVar("_Answer", bound=_HttpAnswer)


@dataclass(frozen=True)
class JobStatus:
    """Where one asynchronous engine job stands (a MIDAS job, a Power BI export).

    :param status: the engine's own word for it.
    :param done: whether the document is ready to download.
    :param retry_after: seconds the engine asks us to wait before asking again.
    """

    status: str
    done: bool
    retry_after: float | None


def base_url(host: str | None, port: int | None, extra: dict[str, Any]) -> str:
    """The engine's root URL from a connection: ``host`` as a full URL, or host + port + ``extra.scheme``.

    :param host: the connection's host (``https://bi.example.com`` or ``bi.example.com``).
    :param port: the connection's port, if any.
    :param extra: the connection's extra (``scheme`` defaults to https).
    """
    if not host:
        raise ValueError("the connection has no host")
    if "://" not in host:
        host = f"{extra.get('scheme', 'https')}://{host}"
    parts = urlsplit(host)
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def error_detail(content_type: str, body: bytes) -> str:
    """A short, readable explanation from an error response body (JSON message, or text without markup).

    :param content_type: the response's Content-Type.
    :param body: the first bytes of the body.
    """
    text = body[:4000].decode("utf-8", "replace")
    if "json" in content_type.lower():
        import json

        try:
            data = json.loads(text)
        except ValueError:
            return text[:300]
        found = _json_message(data)
        if found:
            return found[:300]
    return " ".join(_TAGS.sub(" ", text).split())[:300]


def _json_message(data: Any) -> str:
    if isinstance(data, dict):
        for key in ("error_description", "message", "detail", "error"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = data.get("code")
                return f"{code}: {value}" if isinstance(code, str) and key != "error_description" else value
            if isinstance(value, dict):
                nested = _json_message(value)
                if nested:
                    return nested
    return ""


class HttpEngineHook(BaseHook):
    """Base of the BI engine hooks: stateless, credentials read from the Airflow connection on each call.

    Each engine names its connection attribute after itself (``ssrs_conn_id``, ...), as the
    providers do, so ``getattr(hook, hook.conn_name_attr)`` gives the connection id.
    :meth:`get_conn` returns a ``requests`` session carrying the engine's authentication and
    sets :attr:`base_url`, as ``HttpHook`` does.

    :param timeout: seconds to wait for one HTTP response.
    """

    engine: ClassVar[str] = ""
    conn_name_attr: ClassVar[str]
    default_conn_name: ClassVar[str]
    # 500 bodies that carry one of these texts report a permanent problem (unknown report, bad parameter).
    permanent_error_markers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, timeout: float = 300.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self.base_url = ""

    def get_conn_id(self) -> str:
        """The engine's Airflow connection id."""
        conn_id: str = getattr(self, self.conn_name_attr)
        return conn_id

    def get_conn(self) -> requests.Session:
        """A session authenticated as the connection says; sets :attr:`base_url` from the connection.

        The caller closes the session (``with hook.get_conn() as session: ...``).
        """
        conn = self.get_connection(self.get_conn_id())
        self.base_url = self._base_url(conn)
        session = requests.Session()
        try:
            self.configure_session(session, conn)
        except BaseException:
            session.close()
            raise
        return session

    def configure_session(self, session: requests.Session, conn: Any) -> None:
        """Give a new session the engine's authentication (credentials, headers) from its connection.

        :param session: the new session.
        :param conn: the engine's Airflow connection.
        """

    def _base_url(self, conn: Any) -> str:
        return base_url(conn.host, conn.port, conn.extra_dejson)

    def send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; raise :class:`EngineTimeout`, :class:`EngineConnectionError` or :class:`EngineHttpError`.

        :param session: the session carrying the engine's authentication.
        :param method: the HTTP method.
        :param url: the full URL.
        :param stream: leave the body unread (for downloads).
        :param kwargs: passed to :meth:`requests.Session.request`.
        """
        try:
            response = session.request(method, url, timeout=self.timeout, stream=stream, **kwargs)
        except requests.Timeout as exc:
            raise self._timeout(method, url) from exc
        except requests.ConnectionError as exc:
            raise self._unreachable(url, exc) from exc
        return self._checked(response, method, url)

    def _timeout(self, method: str, url: str) -> EngineTimeout:
        return EngineTimeout(self.engine, f"no answer to {method} {urlsplit(url).path} within {self.timeout:g} s")

    def _unreachable(self, url: str, exc: Exception) -> EngineConnectionError:
        parts = urlsplit(url)
        return EngineConnectionError(
            self.engine, f"cannot reach {parts.hostname}:{parts.port or ''} ({type(exc).__name__})"
        )

    def _checked(self, response: _Answer, method: str, url: str) -> _Answer:
        if response.status_code >= 400:
            raise self.http_error(response, method, urlsplit(url).path)
        return response

    def http_error(self, response: Any, method: str, path: str) -> EngineHttpError:
        """The classified error of a failed response (requests or httpx).

        :param response: the response with a 4xx/5xx status.
        :param method: the request's method.
        :param path: the request's path.
        """
        body = response.content[:4000]
        detail = error_detail(response.headers.get("Content-Type", ""), body)
        retryable = None
        if response.status_code >= 500 and any(m.encode() in body for m in self.permanent_error_markers):
            retryable = False
        return EngineHttpError(
            self.engine,
            response.status_code,
            method,
            path,
            detail,
            retryable=retryable,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    async def asend(self, client: Any, method: str, url: str, **kwargs: Any) -> Any:
        """The asynchronous :meth:`send` for triggers, on an ``httpx.AsyncClient``.

        :param client: the client.
        :param method: the HTTP method.
        :param url: the full URL.
        :param kwargs: passed to ``client.request``.
        """
        import httpx

        try:
            response = await client.request(method, url, timeout=self.timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise self._timeout(method, url) from exc
        except httpx.TransportError as exc:
            raise self._unreachable(url, exc) from exc
        return self._checked(response, method, url)

    def save_document(
        self,
        chunks: Iterator[bytes],
        dest: Path,
        fmt: str,
        write: Callable[[Iterator[bytes], BinaryIO], Any] | None = None,
    ) -> RenderResult:
        """Stream a document to ``dest``, check it is the format asked for, and describe it.

        :param chunks: the body, chunk by chunk.
        :param dest: the local file to write.
        :param fmt: pdf, xlsx or csv.
        :param write: copies the chunks into the file (default: as they come); BI Publisher
            passes a multipart extractor here.
        """
        try:
            with dest.open("wb") as sink:
                if write is None:
                    for chunk in chunks:
                        sink.write(chunk)
                else:
                    write(chunks, sink)
        except requests.RequestException as exc:
            dest.unlink(missing_ok=True)
            # requests re-raises a read timeout inside iter_content as a ConnectionError around urllib3's error.
            if isinstance(exc, requests.Timeout) or any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
                raise EngineTimeout(self.engine, f"the {fmt} download stalled for {self.timeout:g} s") from exc
            raise EngineConnectionError(self.engine, f"the {fmt} download broke off ({type(exc).__name__})") from exc
        digest = hashlib.sha256()
        size = 0
        with dest.open("rb") as handle:
            head = handle.read(64)
            handle.seek(0)
            while block := handle.read(CHUNK):
                digest.update(block)
                size += len(block)
        try:
            check_document(fmt, head)
        except ValueError as exc:
            dest.unlink(missing_ok=True)
            raise EngineResponseError(self.engine, str(exc)) from None
        # Engines do not say how many rows a document holds.
        return RenderResult(path=dest, format=fmt, rows=None, bytes=size, sha256=digest.hexdigest())
