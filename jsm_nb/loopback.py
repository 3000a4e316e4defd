"""Loopback auto-capture: catch the browser's return from Atlassian's consent page.

When the app's callback URL points at this machine (``http://localhost:8765/callback``)
and the browser runs on the same machine as the kernel, the browser's return after
Accept can reach a small HTTP listener instead of a "cannot connect" page, and the
sign-in completes without pasting anything.

The listener binds the callback URL's port on the loopback interface only, from a
background thread (the kernel never blocks). For ``localhost`` it binds every loopback
address the name can mean, ``127.0.0.1`` and ``::1`` (a browser picks either, and
Chromium tries ``::1`` first): if another program holds any of them, it binds none and
auto-capture is off, since that program, not this notebook, may receive the browser's
return. It answers only the callback path and only a ``state`` it was given (the
sign-ins its notebook offered); it stops after one successful sign-in, or when no
callback has arrived for ``timeout`` seconds. Pasting the address stays available
throughout, and is the way in whenever the port cannot be bound or nothing arrives.

The default callback URL names ``localhost``, not the IP literal ``127.0.0.1`` that
RFC 8252 (sections 7.3, 8.3) recommends: whether Atlassian's developer console accepts
an ``http://127.0.0.1`` callback is unconfirmed (reports disagree), and ``localhost`` is
what Atlassian's pages and most integrations register. Binding every loopback address
of ``localhost`` (or none) gives it the literal's protection. An app registered with
``http://127.0.0.1:PORT/callback`` works as well: set ``JSM_NB_REDIRECT_URI`` to it,
and the listener binds that address alone.
"""

from __future__ import annotations

import errno
import html
import http.server
import ipaddress
import logging
import os
import secrets
import select
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from .config import is_loopback_url

__all__ = [
    "CAPTURE_TIMEOUT",
    "CallbackListener",
    "CaptureUnavailable",
    "listen",
    "loopback_addresses",
    "should_capture",
]

log = logging.getLogger(__name__)

CAPTURE_TIMEOUT = 300.0  # seconds without a callback after which the listener stops
CONNECTION_TIMEOUT = 10.0  # seconds a connection may stay silent (browsers pre-connect)
POLL_INTERVAL = 0.1  # seconds between checks for a stop or the deadline
CLOSE_TIMEOUT = 5.0  # seconds to wait for a closed listener to free its port

# Set where the kernel runs on another machine than the browser (a hub, a hosted
# service). There, ``localhost`` in the browser is not the kernel's machine, and on a
# shared host another user's process must not be offered the callback.
REMOTE_INDICATORS = (
    "JUPYTERHUB_SERVICE_PREFIX",
    "JUPYTERHUB_API_URL",
    "BINDER_SERVICE_HOST",
    "COLAB_RELEASE_TAG",
    "KAGGLE_KERNEL_RUN_TYPE",
)

# What ``localhost`` can mean to a browser, whichever of them this process's lookup
# names (here /etc/hosts may list 127.0.0.1 alone): a browser may resolve the name
# itself, and some try ::1 first.
LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")

# Binding these fails because the address does not exist here (no IPv6 loopback):
# then no other program can hold it either, and a browser cannot connect to it.
_ABSENT = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}

Handler = Callable[[str], str | None]
"""Completes a sign-in from a callback's query string; returns ``None`` on success,
else the sentence to show the user."""

StopReason = Literal["signed_in", "timeout", "closed"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>jsm_nb sign-in</title></head>
<body style="font-family: sans-serif; margin: 3em;"><h1>{title}</h1><p>{text}</p></body></html>
"""


class CaptureUnavailable(Exception):
    """The callback URL's port cannot be listened on; the message says why, in a sentence."""


def should_capture(redirect_uri: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether to listen for the browser's return on ``redirect_uri``.

    Parameters
    ----------
    redirect_uri : str
        The app's callback URL.
    environ : mapping, optional
        The environment to inspect; ``os.environ`` by default.

    Returns
    -------
    bool
        True when the callback URL is a loopback address and nothing says the
        kernel runs on another machine than the browser (JupyterHub, Binder, Colab, ...).
    """
    environ = os.environ if environ is None else environ
    return is_loopback_url(redirect_uri) and not any(environ.get(v) for v in REMOTE_INDICATORS)


def loopback_addresses(host: str, port: int) -> list[str]:
    """The addresses to bind for a callback URL's ``host``: each one a browser may use.

    Parameters
    ----------
    host : str
        The callback URL's host: ``localhost`` or a loopback IP literal.
    port : int
        The callback URL's port (for the name lookup).

    Returns
    -------
    list of str
        For an IP literal, itself. For ``localhost``, ``127.0.0.1`` and ``::1`` and
        every other loopback address the system resolves it to (addresses off the
        loopback interface are left out: they would listen on a network).
    """
    if host != "localhost":
        return [host]
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        resolved = []
    found = [str(info[4][0]) for info in resolved]
    loopback = [a for a in found if ipaddress.ip_address(a.split("%")[0]).is_loopback]
    return list(dict.fromkeys([*LOCALHOST_ADDRESSES, *loopback]))


def _page(title: str, text: str) -> bytes:
    return _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()


def _shown(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _unavailable(where: str, error: OSError) -> CaptureUnavailable:
    cannot = "so this notebook cannot pick the answer up by itself."
    if error.errno == errno.EADDRINUSE:
        return CaptureUnavailable(
            f"Another program on this computer already listens on {where} (perhaps another "
            f"notebook waiting for its sign-in), {cannot} Your browser may send the answer "
            "to that program: if you do not know it, stop it before you click Connect to Jira."
        )
    if error.errno == errno.EACCES:
        return CaptureUnavailable(f"Listening on {where} needs administrator rights, {cannot}")
    reason = error.strerror or type(error).__name__
    return CaptureUnavailable(f"Listening on {where} failed ({reason}), {cannot}")


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = CONNECTION_TIMEOUT

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        status, page = self.server.listener.answer(url.path, url.query)
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        self.wfile.write(page)

    # The request line holds the code and the state: none of these logs it.

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("loopback listener answered a %s request with %s", self.command, code)

    def log_error(self, format: str, *args: object) -> None:
        # e.g. "Request timed out: %r" (a browser's idle pre-connection), or
        # "code %d, message %s" whose message may quote the request line.
        log.debug("loopback listener dropped a connection (%s)", format.split("%")[0].strip(" :,"))

    def log_message(self, format: str, *args: object) -> None:
        log.debug("loopback listener: %s", format.split("%")[0].strip(" :,"))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    timeout = 0  # handle_request() only when select() says a connection waits
    # Never SO_REUSEPORT (it would let another socket share the port). SO_REUSEADDR
    # lets Linux and macOS rebind over connections in TIME_WAIT but never lets two
    # sockets listen on one address; on Windows it would, so there the port is bound
    # for this socket alone (SO_EXCLUSIVEADDRUSE).
    allow_reuse_address = sys.platform != "win32"
    allow_reuse_port = False

    def __init__(self, address: tuple[str, int], listener: CallbackListener) -> None:
        self.listener = listener
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        if sys.platform == "win32":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver prints a traceback to stderr, i.e. into the notebook.
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # a browser that went away, a connection reset
            log.debug("loopback listener lost a connection (%s)", type(error).__name__)
        else:
            log.warning(
                "jsm_nb's sign-in listener failed to answer a request (%s); pasting the "
                "address still works.",
                type(error).__name__,
            )


class CallbackListener:
    """Listens, on the loopback interface, for the browser's return to the callback URL.

    Parameters
    ----------
    redirect_uri : str
        The app's loopback callback URL; its port is bound on each address of
        :func:`loopback_addresses` (all of them, or none).
    state : str
        The ``state`` of the sign-in it is started for; :meth:`expect` adds others.
        A callback carrying any other is refused with a page that says so.
    on_callback : callable
        Completes the sign-in from the callback's query string (run on a request
        thread); returns ``None`` on success, else the sentence to show.
    timeout : float
        Seconds without a callback (or :meth:`extend`) after which the listener stops.
    on_stop : callable, optional
        Called once, with the reason, from the listener's thread when it stops.

    Raises
    ------
    CaptureUnavailable
        An address cannot be bound (another program holds it, or it needs privileges).
    """

    def __init__(
        self,
        redirect_uri: str,
        state: str,
        on_callback: Handler,
        timeout: float = CAPTURE_TIMEOUT,
        on_stop: Callable[[StopReason], None] | None = None,
    ) -> None:
        parts = urlsplit(redirect_uri)
        port = parts.port or 80
        self.path = parts.path or "/"
        self.timeout = timeout
        self.stop_reason: StopReason | None = None
        self.stopped_at: float | None = None  # time.time() when it stopped
        self._states = [state]
        self._states_lock = threading.Lock()
        self._on_callback = on_callback
        self._on_stop = on_stop
        self._lock = threading.Lock()  # one callback at a time
        self._deadline = time.monotonic() + timeout
        self._stop = threading.Event()
        self._released = threading.Event()
        self._servers = self._bind(loopback_addresses(parts.hostname or "", port), port)
        self._thread = threading.Thread(target=self._serve, name="jsm-nb-loopback", daemon=True)
        self._thread.start()

    def _bind(self, addresses: list[str], port: int) -> list[_Server]:
        servers: list[_Server] = []
        try:
            for address in addresses:
                try:
                    servers.append(_Server((address, port), self))
                except OSError as error:
                    if error.errno not in _ABSENT:
                        raise _unavailable(_shown(address, port), error) from None
            if not servers:
                raise CaptureUnavailable(
                    f"This computer has none of the addresses {', '.join(addresses)}, so "
                    "this notebook cannot pick the answer up by itself."
                )
        except CaptureUnavailable:
            for server in servers:
                server.server_close()
            raise
        return servers

    def __repr__(self) -> str:
        return f"<CallbackListener addresses={self.addresses} active={self.active}>"

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The bound addresses: each loopback host with the callback URL's port."""
        return [(str(s.server_address[0]), int(s.server_address[1])) for s in self._servers]

    @property
    def active(self) -> bool:
        """Whether the listener still waits for the browser."""
        return self._thread.is_alive() and not self._stop.is_set()

    def expect(self, state: str) -> None:
        """Also accept callbacks for ``state`` (a sign-in its notebook offered since)."""
        with self._states_lock:
            if state not in self._states:
                self._states.append(state)

    def extend(self) -> None:
        """Wait ``timeout`` seconds more from now (the consent page was just opened)."""
        self._deadline = time.monotonic() + self.timeout

    def close(self, wait: bool = True) -> None:
        """Stop listening; with ``wait``, wait (a few seconds at most) until the port is free."""
        self._stop.set()
        if wait and threading.current_thread() is not self._thread:
            self._released.wait(CLOSE_TIMEOUT)

    def answer(self, path: str, query: str) -> tuple[int, bytes]:
        """The status and page for a GET of ``path?query``; completes the sign-in on a match."""
        if path != self.path:
            return 404, _page("Not found", "This is jsm_nb's sign-in listener.")
        given = parse_qs(query).get("state", [])
        with self._lock:
            if self._stop.is_set():
                return 410, _page("Sign-in closed", "Go back to the notebook.")
            if len(given) != 1 or not self._expects(given[0]):
                return 400, _page(
                    "This is not the sign-in your notebook is waiting for",
                    "Go back to the notebook and click Connect to Jira again.",
                )
            problem = self._on_callback(query)
            if problem is not None:
                self.extend()
                return 400, _page("Sign-in failed", f"{problem} Go back to the notebook.")
            self.stop_reason = "signed_in"
            self._stop.set()
        return 200, _page(
            "Signed in to Jira", "You can close this tab and go back to the notebook."
        )

    def _expects(self, state: str) -> bool:
        with self._states_lock:
            states = list(self._states)
        matches = [secrets.compare_digest(state.encode(), s.encode()) for s in states]
        return any(matches)

    def _serve(self) -> None:
        sockets = {server.socket: server for server in self._servers}
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                ready, _, _ = select.select(list(sockets), [], [], POLL_INTERVAL)
                for sock in ready:
                    sockets[sock].handle_request()
        finally:
            if self.stop_reason is None:
                self.stop_reason = "closed" if self._stop.is_set() else "timeout"
            self._stop.set()
            for server in self._servers:
                server.server_close()
            self.stopped_at = time.time()
            self._released.set()
            if self._on_stop is not None:
                self._on_stop(self.stop_reason)


_listeners: dict[tuple[str, int], CallbackListener] = {}
_listeners_lock = threading.Lock()


def listen(
    redirect_uri: str,
    state: str,
    on_callback: Handler,
    timeout: float = CAPTURE_TIMEOUT,
    on_stop: Callable[[StopReason], None] | None = None,
) -> CallbackListener:
    """Start a :class:`CallbackListener`, replacing this process's earlier one on that port.

    Re-running a notebook cell thus moves the listener to the newest sign-in.

    Parameters
    ----------
    redirect_uri, state, on_callback, timeout, on_stop
        As for :class:`CallbackListener`.

    Returns
    -------
    CallbackListener

    Raises
    ------
    CaptureUnavailable
        The port cannot be bound on every address: pasting the address is the way in then.
    """
    parts = urlsplit(redirect_uri)
    key = (parts.hostname or "", parts.port or 80)
    with _listeners_lock:
        previous = _listeners.pop(key, None)
    if previous is not None:
        previous.close()  # outside the lock: its thread may be completing a sign-in
    try:
        listener = CallbackListener(redirect_uri, state, on_callback, timeout, on_stop)
    except CaptureUnavailable as error:
        log.debug("no loopback listener on %s:%s: %s", *key, error)
        raise
    with _listeners_lock:
        _listeners[key] = listener
    return listener
