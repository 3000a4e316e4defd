"""Loopback auto-capture: catch the browser's return from Atlassian's consent page.

When the app's callback URL points at this machine (``http://localhost:8765/callback``)
and the browser runs on the same machine as the kernel, the browser's return after
Accept can reach a small HTTP listener instead of a "cannot connect" page, and the
sign-in completes without pasting anything.

The listener binds the loopback interface only, on the callback URL's port, from a
background thread (the kernel never blocks). It answers only the callback path and
only a request whose ``state`` is the one the notebook waits for; it stops after one
successful sign-in, or when no callback has arrived for ``timeout`` seconds. Pasting
the address stays available throughout, and is the way in whenever the port cannot
be bound or nothing arrives.
"""

from __future__ import annotations

import html
import http.server
import logging
import os
import secrets
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from urllib.parse import parse_qs, urlsplit

from .config import is_loopback_url

__all__ = ["CAPTURE_TIMEOUT", "CallbackListener", "listen", "should_capture"]

log = logging.getLogger(__name__)

CAPTURE_TIMEOUT = 300.0  # seconds without a callback after which the listener stops
CONNECTION_TIMEOUT = 10.0  # seconds a connection may stay silent (browsers pre-connect)
POLL_INTERVAL = 0.1  # seconds between checks for a stop or the deadline
CLOSE_TIMEOUT = 5.0  # seconds to wait for a closed listener's thread (a callback in flight)

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

Handler = Callable[[str], str | None]
"""Completes a sign-in from a callback's query string; returns ``None`` on success,
else the sentence to show the user."""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>jsm_nb sign-in</title></head>
<body style="font-family: sans-serif; margin: 3em;"><h1>{title}</h1><p>{text}</p></body></html>
"""


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


def _page(title: str, text: str) -> bytes:
    return _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()


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

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds the code and state: log the method only.
        log.debug("loopback listener answered a %s request", self.command)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    timeout = POLL_INTERVAL  # handle_request() returns after this long without a request
    # On Windows SO_REUSEADDR would let this socket share a port another program holds.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, address: tuple[str, int], listener: CallbackListener) -> None:
        self.listener = listener
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (socket.getfqdn), which can be slow.
        socketserver.TCPServer.server_bind(self)


class CallbackListener:
    """Listens once, on the loopback interface, for the browser's return to the callback URL.

    Parameters
    ----------
    redirect_uri : str
        The app's loopback callback URL; its port is bound on ``127.0.0.1``
        (``::1`` when the URL names it).
    expected_state : callable
        Returns the ``state`` of the sign-in being waited for; a callback carrying
        any other is refused with a page that says so.
    on_callback : callable
        Completes the sign-in from the callback's query string (run on the
        listener's thread); returns ``None`` on success, else the sentence to show.
    timeout : float
        Seconds without a callback after which the listener stops.

    Raises
    ------
    OSError
        The port cannot be bound (another program uses it, or it needs privileges).
    """

    def __init__(
        self,
        redirect_uri: str,
        expected_state: Callable[[], str],
        on_callback: Handler,
        timeout: float = CAPTURE_TIMEOUT,
    ) -> None:
        parts = urlsplit(redirect_uri)
        host = parts.hostname if parts.hostname and parts.hostname != "localhost" else "127.0.0.1"
        self.path = parts.path or "/"
        self.timeout = timeout
        self._expected_state = expected_state
        self._on_callback = on_callback
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + timeout
        self._stop = threading.Event()
        self._server = _Server((host, parts.port or 80), self)
        self._thread = threading.Thread(target=self._serve, name="jsm-nb-loopback", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<CallbackListener address={self.address} active={self.active}>"

    @property
    def address(self) -> tuple[str, int]:
        """The bound address: the loopback host and the callback URL's port."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def active(self) -> bool:
        """Whether the listener still waits for the browser."""
        return self._thread.is_alive() and not self._stop.is_set()

    def close(self, wait: bool = True) -> None:
        """Stop listening; with ``wait``, wait (a few seconds at most) until the port is free."""
        self._stop.set()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join(CLOSE_TIMEOUT)

    def answer(self, path: str, query: str) -> tuple[int, bytes]:
        """The status and page for a GET of ``path?query``; completes the sign-in on a match."""
        if path != self.path:
            return 404, _page("Not found", "This is jsm_nb's sign-in listener.")
        states = parse_qs(query).get("state", [])
        with self._lock:
            if self._stop.is_set():
                return 410, _page("Sign-in closed", "Go back to the notebook.")
            if len(states) != 1 or not secrets.compare_digest(
                states[0].encode(), self._expected_state().encode()
            ):
                return 400, _page(
                    "This is not the sign-in your notebook is waiting for",
                    "Go back to the notebook and click Connect to Jira again.",
                )
            problem = self._on_callback(query)
            if problem is not None:
                self._deadline = time.monotonic() + self.timeout
                return 400, _page("Sign-in failed", f"{problem} Go back to the notebook.")
            self._stop.set()
        return 200, _page(
            "Signed in to Jira", "You can close this tab and go back to the notebook."
        )

    def _serve(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                self._server.handle_request()
        finally:
            self._stop.set()
            self._server.server_close()


_listeners: dict[tuple[str, int], CallbackListener] = {}
_listeners_lock = threading.Lock()


def listen(
    redirect_uri: str,
    expected_state: Callable[[], str],
    on_callback: Handler,
    timeout: float = CAPTURE_TIMEOUT,
) -> CallbackListener | None:
    """Start a :class:`CallbackListener`, replacing this process's earlier one on that port.

    Re-running a notebook cell thus moves the listener to the newest sign-in.

    Parameters
    ----------
    redirect_uri, expected_state, on_callback, timeout
        As for :class:`CallbackListener`.

    Returns
    -------
    CallbackListener or None
        ``None`` when the port cannot be bound: pasting the address is the way in then.
    """
    parts = urlsplit(redirect_uri)
    key = (parts.hostname or "", parts.port or 80)
    with _listeners_lock:
        previous = _listeners.pop(key, None)
    if previous is not None:
        previous.close()  # outside the lock: its thread may be completing a sign-in
    try:
        listener = CallbackListener(redirect_uri, expected_state, on_callback, timeout)
    except OSError as error:
        log.debug("cannot listen on %s:%s (%s)", *key, error.strerror)
        return None
    with _listeners_lock:
        _listeners[key] = listener
    return listener
