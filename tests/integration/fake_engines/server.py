"""A small threaded HTTP/1.1 server on 127.0.0.1 that records every request and can be told to fail."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """One request as the server saw it.

    :param method: the HTTP method.
    :param path: the path, still percent-encoded.
    :param query: the raw query string.
    :param headers: the headers, names in lower case.
    :param body: the body bytes.
    :param connection: per-connection state (NTLM handshakes live on one connection).
    :param user: who the server authenticated for this request, once it has.
    :param response: what the server answered, once it has (tests compare delivered bytes with it).
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    connection: dict = field(default_factory=dict, repr=False)
    user: str | None = None
    response: Response | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class Response:
    """An answer; with ``stall`` set, the body stops half way for that many seconds (a download that hangs)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    stall: float = 0.0


@dataclass
class Fault:
    """A scripted failure: the next ``times`` requests matching ``path_contains`` get this answer.

    :param delay: seconds to wait before answering (longer than the client's timeout = a timeout).
    """

    path_contains: str
    status: int = 503
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    times: int = 1
    delay: float = 0.0
    method: str | None = None
    stall: float = 0.0


Handler = Callable[[Request], Response]


class FakeServer:
    """Serve ``handler`` on a random local port in a background thread.

    :param handler: turns a request into a response.
    :param authenticate: answers a request that is not (yet) authenticated with its challenge, and
        an authenticated one with None; it runs before scripted faults, so a fault reaches only a
        client that has logged in, as on a real server.
    """

    def __init__(self, handler: Handler, authenticate: Callable[[Request], Response | None] | None = None) -> None:
        self.handler = handler
        self.authenticate = authenticate
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.state: dict = {}

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parts.query,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    self.state,
                )
                response = server._answer(request)
                self.send_response(response.status)
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                try:
                    if response.stall:
                        half = len(response.body) // 2
                        self.wfile.write(response.body[:half])
                        self.wfile.flush()
                        time.sleep(response.stall)
                        self.wfile.write(response.body[half:])
                    else:
                        self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_DELETE = _serve

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, path_contains: str, status: int = 503, **kwargs) -> Fault:
        """Script a failure for the next matching request(s).

        :param path_contains: a piece of the path (and query) the request must have.
        :param status: the status to answer with.
        """
        fault = Fault(path_contains, status, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def _answer(self, request: Request) -> Response:
        challenge = self.authenticate(request) if self.authenticate is not None else None
        if challenge is not None:
            with self._lock:
                self.requests.append(request)
            request.response = challenge
            return challenge
        with self._lock:
            self.requests.append(request)
            target = f"{request.path}?{request.query}"
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.times > 0 and f.path_contains in target and (f.method in (None, request.method))
                ),
                None,
            )
            if fault is not None:
                fault.times -= 1
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            request.response = Response(fault.status, dict(fault.headers), fault.body, fault.stall)
        else:
            request.response = self.handler(request)
        return request.response

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
