"""HTTP plumbing shared by the sandbox's two servers.

A server here is an *app*, a function from :class:`Request` to :class:`Reply`,
served by a standard-library ``ThreadingHTTPServer`` on a background thread
(:class:`BackgroundServer`). The handler speaks HTTP/1.1 with keep-alive,
always sends a ``Content-Length``, writes each response in one piece with
``TCP_NODELAY`` (so pooled clients never wait on delayed ACKs) and logs only
to the ``jsm_nb.sandbox`` logger at DEBUG level, each request as its method
and path (query strings carry ``state``, codes and PKCE challenges).
:class:`Stats` holds the counters both apps keep.

Anyone on the machine can reach the servers, so the handler trusts no client:
a body must come with a ``Content-Length`` of at most :data:`MAX_BODY` bytes
(413, 411 or 400 otherwise, then the connection closes), and each request must
arrive whole within the connection timeout of the server starting to wait for
it, however slowly its bytes trickle in: idle keep-alive connections and
slow senders are cut.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import re
import socket
import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson
from requests.structures import CaseInsensitiveDict

from ..redact import redact

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "CONNECTION_TIMEOUT",
    "MAX_BODY",
    "App",
    "BackgroundServer",
    "Reply",
    "Request",
    "Stats",
    "html_reply",
    "json_reply",
    "normalise_path",
    "status_phrase",
]

logger = logging.getLogger("jsm_nb.sandbox")

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"
MAX_BODY = 1 << 20
"""The largest request body the servers read, in bytes (1 MiB); larger ones get 413."""
CONNECTION_TIMEOUT = 30.0
"""Seconds a request may take to arrive whole, from when the server starts waiting for it."""
_DIGITS = re.compile(r"[0-9]+")


@dataclasses.dataclass(frozen=True)
class Request:
    """One HTTP request as an app sees it.

    Attributes
    ----------
    method : str
        ``GET``, ``POST``, ...
    path : str
        The path, percent-decoding left to the app, without the query string.
    query : dict of str to list of str
        The parsed query string (blank values kept).
    headers : mapping of str to str
        The request headers; look-ups ignore case.
    body : bytes
        The request body (empty when there is none).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes = b""


@dataclasses.dataclass(frozen=True)
class Reply:
    """What an app answers: a status, headers and a body, or a dropped connection.

    Attributes
    ----------
    status : int
        The HTTP status code.
    body : bytes
        The response body; its length becomes ``Content-Length``.
    headers : dict of str to str
        Extra response headers (``Content-Type`` among them).
    drop : bool
        Close the connection without answering at all.
    cut : bool
        Send the status, the headers and only the first half of the body (with the
        whole body's ``Content-Length``), then close the connection.
    value : object
        The JSON value ``body`` encodes, when it was built from one (:func:`json_reply`),
        so that a reader (the limits, counting its objects) need not decode it again;
        ``None`` when not known. Shared with the app: read it, do not change it.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    drop: bool = False
    cut: bool = False
    value: object = dataclasses.field(default=None, compare=False, repr=False)


App = Callable[[Request], Reply]


def json_reply(status: int, body: object, headers: Mapping[str, str] | None = None) -> Reply:
    """A JSON reply (compact, UTF-8) with Atlassian's ``Content-Type``.

    ``body=None`` gives an empty body without a ``Content-Type``, as for 204. Encoded by
    orjson (a search page of 100 issues in a tenth of the standard library's time); what
    orjson refuses (an integer beyond 64 bits, a key that is not a text) by the standard
    library, which writes the same JSON.
    """
    if body is None:
        return Reply(status, b"", dict(headers or {}))
    try:
        data = orjson.dumps(body)
    except TypeError:
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(status, data, {"Content-Type": JSON_TYPE, **(headers or {})}, value=body)


def html_reply(status: int, page: str, headers: Mapping[str, str] | None = None) -> Reply:
    """An HTML reply; ``page`` must already be escaped where needed."""
    return Reply(status, page.encode(), {"Content-Type": HTML_TYPE, **(headers or {})})


_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-\d+")
_CLOUD_ID = re.compile(r"(/ex/[^/]+/)[^/]+")


def normalise_path(path: str) -> str:
    """The path with its variable parts replaced, for counting requests per endpoint.

    Cloud ids become ``{cloudid}``, numeric ids ``{id}`` (an API version such as
    the ``3`` of ``/rest/api/3`` stays) and issue keys ``{key}``.

    Examples
    --------
    >>> normalise_path("/ex/jira/1a2b/rest/servicedeskapi/request/ITSM-12/sla")
    '/ex/jira/{cloudid}/rest/servicedeskapi/request/{key}/sla'
    >>> normalise_path("/ex/jira/1a2b/rest/api/3/search/jql")
    '/ex/jira/{cloudid}/rest/api/3/search/jql'
    >>> normalise_path("/ex/jira/1a2b/rest/servicedeskapi/servicedesk/3/queue")
    '/ex/jira/{cloudid}/rest/servicedeskapi/servicedesk/{id}/queue'
    """
    parts = _CLOUD_ID.sub(r"\1{cloudid}", path, count=1).split("/")
    for i, part in enumerate(parts):
        if part.isdigit() and parts[i - 1] != "api":
            parts[i] = "{id}"
        elif _ISSUE_KEY.fullmatch(part):
            parts[i] = "{key}"
    return "/".join(parts)


@dataclasses.dataclass
class Stats:
    """Counters kept by the sandbox's servers; thread safe, resettable.

    Attributes
    ----------
    refreshes : int
        Refresh-token grants answered with new tokens.
    rejected_refreshes : int
        Refresh-token grants answered ``invalid_grant``.
    reused_refreshes : int
        Refresh-token grants that sent an already rotated refresh token within the
        reuse leeway (answered with new tokens, and counted in ``refreshes`` too).
    revoked_families : int
        Grants (token families) revoked, whatever the reason: a refresh token
        reused after the leeway, a reused authorisation code, ``revoke_all()``.
    codes_exchanged : int
        Authorisation codes exchanged for tokens.
    token_requests : int
        Every ``POST /oauth/token``, answered or not.
    api_requests : int
        Every request to the API server, answered or not.
    requests_per_path : collections.Counter
        Requests to either server by normalised path, e.g.
        ``/ex/jira/{cloudid}/rest/servicedeskapi/request/{key}/sla``.
    """

    refreshes: int = 0
    rejected_refreshes: int = 0
    reused_refreshes: int = 0
    revoked_families: int = 0
    codes_exchanged: int = 0
    token_requests: int = 0
    api_requests: int = 0
    requests_per_path: Counter[str] = dataclasses.field(default_factory=Counter)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def add(self, counter: str, n: int = 1) -> None:
        """Add ``n`` to the integer counter named ``counter``."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + n)

    def request(self, path: str, counter: str | None = None) -> None:
        """Count one request to ``path`` in ``requests_per_path`` and, if given, in ``counter``."""
        key = normalise_path(path)
        with self._lock:
            self.requests_per_path[key] += 1
            if counter is not None:
                setattr(self, counter, getattr(self, counter) + 1)

    def snapshot(self) -> dict[str, Any]:
        """All counters as a plain dict (``requests_per_path`` as a plain dict too)."""
        with self._lock:
            values = {
                f.name: getattr(self, f.name)
                for f in dataclasses.fields(self)
                if not f.name.startswith("_")
            }
            values["requests_per_path"] = dict(self.requests_per_path)
        return values

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            for f in dataclasses.fields(self):
                if f.name != "requests_per_path" and not f.name.startswith("_"):
                    setattr(self, f.name, 0)
            self.requests_per_path.clear()


class _DeadlineReader(io.RawIOBase):
    """A connection's incoming bytes, every read given only the time left to ``deadline``.

    ``deadline`` (``time.monotonic`` seconds) is set when the server starts waiting
    for a request: a request that has not arrived whole by then raises
    ``TimeoutError``, however many bytes it sent on the way. Writes keep the
    socket's ``timeout``.
    """

    def __init__(self, connection: socket.socket, timeout: float) -> None:
        super().__init__()
        self._connection = connection
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive within the connection timeout")
        self._connection.settimeout(left)
        try:
            return self._connection.recv_into(buffer)
        finally:
            self._connection.settimeout(self.timeout)


class _Refused(Exception):
    """A request the handler answers itself, without reading its body or calling the app.

    The answer closes the connection: where the unread body ends is unknown.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        body = {"code": status, "message": message}
        self.reply = json_reply(status, body, {"Connection": "close"})


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a :class:`Request`, and the app's :class:`Reply` back."""

    protocol_version = "HTTP/1.1"
    server_version = "jsm-nb-sandbox"
    sys_version = ""
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write, flushed per request
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # replaced by a reader that holds each request to its deadline
        self._incoming = _DeadlineReader(self.connection, self.server.connection_timeout())
        self.rfile = io.BufferedReader(self._incoming)

    def handle_one_request(self) -> None:
        self._incoming.timeout = self.server.connection_timeout()
        self._incoming.deadline = time.monotonic() + self._incoming.timeout
        super().handle_one_request()

    def _serve(self) -> None:
        try:
            body = self.rfile.read(self._body_length())
        except _Refused as refused:
            self._write(refused.reply)  # its Connection: close ends the keep-alive loop
            return
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers=CaseInsensitiveDict(self.headers.items()),
            body=body,
        )
        try:
            reply = self.server.app(request)
        except Exception:
            logger.exception("sandbox error answering %s %s", self.command, url.path)
            reply = json_reply(500, {"code": 500, "message": "Internal Server Error"})
        if reply.drop:
            self.close_connection = True
            return
        self._write(reply)

    def _body_length(self) -> int:
        """The announced body length, checked; raises :class:`_Refused` if it can't be read."""
        if "Transfer-Encoding" in self.headers:
            raise _Refused(
                411,
                "Length Required: send the body with a Content-Length, not a Transfer-Encoding.",
            )
        lengths = set(self.headers.get_all("Content-Length") or ["0"])
        if len(lengths) != 1 or not _DIGITS.fullmatch(length := lengths.pop()):
            raise _Refused(
                400, "Bad Request: Content-Length must be one number of bytes (digits only)."
            )
        digits = length.lstrip("0") or "0"  # thousands of digits are too many for int()
        if len(digits) > len(str(MAX_BODY)) or int(digits) > MAX_BODY:
            raise _Refused(
                413, f"Payload Too Large: a request body may hold at most {MAX_BODY} bytes."
            )
        return int(digits)

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.cut:
            self.close_connection = True
            self.wfile.write(reply.body[: len(reply.body) // 2])
            return
        self.wfile.write(reply.body)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the server's clock, which may run ahead of or behind this one."""
        return super().date_time_string(self.server.clock() if timestamp is None else timestamp)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log the request's method and path: its query string may carry secrets."""
        method, _, rest = self.requestline.partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        status = code.value if isinstance(code, HTTPStatus) else code
        logger.debug("%s %s %s %s", self.address_string(), method, path, status)

    def log_message(self, format: str, *args: Any) -> None:
        # Errors about malformed requests quote the request line: redacted.
        logger.debug("%s %s", self.address_string(), redact(format % args))


class _HTTPServer(ThreadingHTTPServer):
    """A threading server that knows its app and closes open connections on exit."""

    daemon_threads = True
    request_queue_size = 128  # bursts of new connections from concurrent clients

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        clock: Callable[[], float],
        connection_timeout: Callable[[], float],
    ) -> None:
        self.app = app
        self.clock = clock
        self.connection_timeout = connection_timeout
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]  # type: ignore[assignment]

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        with self._open_lock:
            still_open = list(self._open)
        for connection in still_open:  # wake the handler threads blocked on keep-alive reads
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-response are routine (dropped-connection faults, timeouts).
        logger.debug("connection error from %s", client_address, exc_info=True)


class BackgroundServer:
    """Serve an app on ``127.0.0.1`` from a background thread.

    Parameters
    ----------
    app : callable
        Maps each :class:`Request` to a :class:`Reply`; called from many threads.
    port : int
        The port to bind; 0 picks a free one.
    name : str
        The thread's name, for debugging.
    clock : callable
        The server's wall clock, for its ``Date`` headers; ``time.time`` by default.
    connection_timeout : callable
        Seconds each request may take to arrive whole, asked each time the server
        starts waiting for one (so it may change while serving); a connection that
        overruns it is closed. :data:`CONNECTION_TIMEOUT` by default.
    """

    def __init__(
        self,
        app: App,
        port: int = 0,
        name: str = "jsm-nb-sandbox",
        clock: Callable[[], float] = time.time,
        connection_timeout: Callable[[], float] = lambda: CONNECTION_TIMEOUT,
    ) -> None:
        self._server = _HTTPServer(("127.0.0.1", port), app, clock, connection_timeout)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # close() waits for the loop to notice: keep it short
            name=name,
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def status_phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (``"Service Unavailable"`` for 503)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
