"""The shared sandbox's process: one per user, found by every kernel, stopping when idle.

:func:`launch` starts the process (``python -m jsm_nb.sandbox --shared``) in
the background, in a session of its own, and returns once it serves or has
failed. The process (:func:`serve_detached`, then :func:`serve`) runs a
:class:`~jsm_nb.sandbox.Sandbox` whose app credentials, grants and tokens are
loaded from its home's ``state.json`` and saved there after every change, on
the ports it had last time when they are free, so that the auth URL, and with
it the key of the logins in the token file, stays the same.

Both servers also answer ``/_sandbox/`` (:class:`Admin`):

``GET /_sandbox/health``
    With ``X-Sandbox-Challenge: NONCE``: the process's ``pid``, ``client_id``,
    the server's ``role`` (``auth`` or ``api``) and ``proof``, their HMAC-SHA256
    with the nonce under the admin secret (:func:`proof`). A client that read the
    secret in ``server.json`` tells our process from anything else on the port
    without ever sending the secret.
``POST /_sandbox/stop``
    With ``X-Sandbox-Admin: SECRET``: stop. The secret goes only to a process
    that has just proved itself.
``GET /_sandbox/sites``
    The sites, as :attr:`Sandbox.sites` (public data: no secret needed).
``POST /_sandbox/change``
    With ``X-Sandbox-Admin: SECRET`` and a JSON body of :meth:`Sandbox.change`'s
    arguments (``site`` a cloud id): make that change batch, answer what it changed
    (:meth:`.Changes.to_json`). Every batch, churn's too, is saved in the home's
    ``changes.json`` and made again when the next process starts, so the data the
    clients mirrored outlives an idle stop.

The process stops after ``idle_timeout`` seconds without a request, on
``/_sandbox/stop`` and on SIGTERM. It stops holding the home's ``connect.lock``,
so that a client finds it either serving or gone, never half stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

import filelock

from . import Sandbox
from .home import Home, Record
from .server import App, Reply, Request, json_reply

__all__ = [
    "ADMIN_HEADER",
    "CHALLENGE_HEADER",
    "START_TIMEOUT",
    "Admin",
    "launch",
    "proof",
    "serve",
    "serve_detached",
]

CHALLENGE_HEADER = "X-Sandbox-Challenge"
ADMIN_HEADER = "X-Sandbox-Admin"
READY = b"ready"
START_TIMEOUT = 60.0  # seconds the process may take to start, on a loaded machine
RUNNING_WAIT = 10.0  # seconds a new process waits for the one before it to finish stopping
STOP_WAIT = 30.0  # seconds a stopping process waits for a client to finish connecting

log = logging.getLogger("jsm_nb.sandbox")


def proof(secret: str, nonce: str, role: str, pid: int, client_id: str) -> str:
    """The HMAC-SHA256 (hex) under ``secret`` by which a server answers a health challenge."""
    message = "\n".join([nonce, role, str(pid), client_id]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Admin:
    """The ``/_sandbox/`` routes of both servers, and how long they have been idle.

    Parameters
    ----------
    secret : str
        The admin secret, which ``/_sandbox/stop`` needs and health answers prove.

    Attributes
    ----------
    sandbox : Sandbox or None
        The sandbox served; the routes answer 503 until it is set.
    stop_requested : threading.Event
        Set by ``/_sandbox/stop`` (and by SIGTERM in :func:`serve`).
    """

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self.sandbox: Sandbox | None = None
        self.stop_requested = threading.Event()
        self._lock = threading.Lock()
        self._busy = 0
        self._last = time.monotonic()

    def __repr__(self) -> str:
        return f"<Admin idle_for={self.idle_for():.1f}>"

    def wrap(self, app: App, role: str) -> App:
        """``app`` behind the ``/_sandbox/`` routes, each request counted as activity."""

        def served(request: Request) -> Reply:
            with self._serving():
                if request.path.startswith("/_sandbox/"):
                    return self._answer(request, role)
                return app(request)

        return served

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is being answered."""
        with self._lock:
            return 0.0 if self._busy else time.monotonic() - self._last

    @contextlib.contextmanager
    def _serving(self) -> Iterator[None]:
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._last = time.monotonic()

    def _answer(self, request: Request, role: str) -> Reply:
        sandbox = self.sandbox
        route = (request.method, request.path)
        if route not in _ROUTES:
            return json_reply(404, {"code": 404, "message": "Not Found"})
        if sandbox is None:
            return json_reply(503, {"code": 503, "message": "Starting"})
        if route == ("GET", "/_sandbox/sites"):
            return json_reply(200, sandbox.sites)
        if route == ("GET", "/_sandbox/health"):
            nonce = request.headers.get(CHALLENGE_HEADER, "")
            if not nonce:
                return json_reply(400, {"code": 400, "message": f"{CHALLENGE_HEADER} is missing"})
            pid, client_id = os.getpid(), sandbox.client_id
            signed = proof(self._secret, nonce, role, pid, client_id)
            answer = {"pid": pid, "client_id": client_id, "role": role, "proof": signed}
            return json_reply(200, answer)
        given = request.headers.get(ADMIN_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            return json_reply(403, {"code": 403, "message": "Forbidden"})
        if route == ("GET", "/_sandbox/secrets"):
            return json_reply(
                200, {kind: sorted(found) for kind, found in sandbox.secrets().items()}
            )
        if route == ("POST", "/_sandbox/change"):
            return _change(sandbox, request.body)
        self.stop_requested.set()  # the one route left: POST /_sandbox/stop
        return json_reply(202, {"stopping": True})


_ROUTES = {
    ("GET", "/_sandbox/health"),
    ("POST", "/_sandbox/stop"),
    ("GET", "/_sandbox/sites"),
    ("GET", "/_sandbox/secrets"),  # for tests that look for leaks; needs the admin secret
    ("POST", "/_sandbox/change"),
}
_CHANGE_ARGUMENTS = frozenset(("updates", "creates", "deletes", "moves", "resolves", "seed"))


def _change(sandbox: Sandbox, body: bytes) -> Reply:
    """``POST /_sandbox/change``: one change batch, its arguments the JSON ``body``."""
    try:
        arguments = json.loads(body or b"{}")
        if not isinstance(arguments, dict) or set(arguments) - _CHANGE_ARGUMENTS - {"site"}:
            raise TypeError(f"unknown arguments in {sorted(arguments)}")
        site = arguments.pop("site", None)
        if not (site is None or isinstance(site, str)) or not all(
            type(value) is int or (name == "seed" and value is None)
            for name, value in arguments.items()
        ):
            raise TypeError("site is a cloud id, the others whole numbers")
        changes = sandbox.change(site=site, **arguments)
    except (ValueError, TypeError, KeyError) as error:
        return json_reply(400, {"code": 400, "message": f"Not a change batch: {error}"})
    return json_reply(200, changes.to_json())


def _port(url: str) -> int:
    return urlsplit(url).port or 0


def _open(previous: Record | None, **options: Any) -> Sandbox:
    """A sandbox on ``previous``'s ports if they are free, else on the auth port only, else any."""
    wanted = (previous.auth_port, previous.api_port) if previous else (0, 0)
    *preferred, fallback = dict.fromkeys([wanted, (wanted[0], 0), (0, 0)])
    for auth_port, api_port in preferred:
        with contextlib.suppress(OSError):
            return Sandbox(auth_port=auth_port, api_port=api_port, **options)
        log.warning("Ports %d and %d are not both free: the sandbox moves.", auth_port, api_port)
    return Sandbox(auth_port=fallback[0], api_port=fallback[1], **options)


def _serve_until_stopped(sandbox: Sandbox, home: Home, admin: Admin, idle_timeout: float) -> None:
    """Wait for a stop request or ``idle_timeout`` s without requests, then close ``sandbox``."""

    def done() -> bool:
        return admin.stop_requested.is_set() or admin.idle_for() >= idle_timeout

    connecting = home.lock("connect", STOP_WAIT)
    while True:
        admin.stop_requested.wait(min(1.0, idle_timeout / 4))
        if not done():
            continue
        try:
            connecting.acquire()
        except filelock.Timeout:
            continue
        try:
            if done():  # a client that just connected has made it busy again
                sandbox.close()
                return
        finally:
            connecting.release()


def serve(home: Home, *, idle_timeout: float, ready: Callable[[], None], **options: Any) -> None:
    """Serve the shared sandbox of ``home`` until it is stopped or idle.

    Parameters
    ----------
    home : Home
        Where its record, state and locks are.
    idle_timeout : float
        Seconds without a request after which it stops.
    ready : callable
        Called once it serves and its record is written.
    **options
        Passed to :class:`Sandbox` (``access_token_lifetime``, ``refresh_reuse_leeway``,
        ``requests``, ``seed``, ``poison``, ``churn``, ``search_lag``).

    Raises
    ------
    SandboxError
        Another process serves ``home``.
    """
    taken = (
        f"Another shared sandbox serves {home.path}: stop it (jsm_nb.sandbox.shared.stop()) "
        "before starting one."
    )
    with home.holding("running", RUNNING_WAIT, taken):
        os.chdir(home.path)  # hold no directory of the caller's
        admin_secret = secrets.token_urlsafe(32)
        admin = Admin(admin_secret)
        signal.signal(signal.SIGTERM, lambda signum, frame: admin.stop_requested.set())
        saved = home.state.load()
        credentials = (saved.client_id, saved.client_secret) if saved else None
        with _open(home.read_record(), credentials=credentials, wrap=admin.wrap, **options) as sb:
            if saved is not None:
                sb.authority.restore(saved.authority)
            home.state.save(sb.authority)
            sb.authority.on_change(lambda: home.state.save(sb.authority))
            try:
                sb.versions.replay(home.changes.load())
            except (KeyError, ValueError):
                log.warning("%s holds a change this sandbox cannot make: the rest are left out.",
                            home.changes.path)  # fmt: skip
            sb.versions.on_change(lambda: home.changes.save(sb.versions.batches()))
            admin.sandbox = sb
            record = Record(
                os.getpid(),
                _port(sb.auth_url),
                _port(sb.api_url),
                sb.client_id,
                sb.client_secret,
                admin_secret,
            )
            home.write_record(record)
            ready()
            _serve_until_stopped(sb, home, admin, idle_timeout)


def launch(home: Home, arguments: Sequence[str], *, timeout: float) -> bool:
    """Start ``python -m jsm_nb.sandbox *arguments`` as the shared sandbox; wait until it serves.

    A shell starts it in the background and exits at once, so that the process
    is nobody's child (no zombie, no caller waiting on it) and in a session of
    its own. Its standard input is ``/dev/null`` and its output goes to the
    home's log file: it holds none of the caller's streams. It tells that it
    serves through a pipe that only it holds.

    Parameters
    ----------
    home : Home
        Its home, where the log file is.
    arguments : sequence of str
        Its arguments after ``python -m jsm_nb.sandbox`` (``--shared`` and the rest).
    timeout : float
        Seconds to wait for it.

    Returns
    -------
    bool
        True once it serves, False if it ended before.

    Raises
    ------
    TimeoutError
        It neither serves nor ended within ``timeout`` seconds.
    OSError, subprocess.SubprocessError
        It could not be started.
    """
    read_end, write_end = os.pipe()
    process = [sys.executable, "-m", "jsm_nb.sandbox", *arguments, "--ready-fd", str(write_end)]
    log = os.open(home.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        subprocess.run(  # noqa: S603 (this interpreter, our module)
            ["/bin/sh", "-c", '"$@" &', "sh", *process],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            pass_fds=(write_end,),
            start_new_session=True,
            check=True,
            timeout=timeout,
        )
    finally:
        os.close(log)
        os.close(write_end)
    try:
        readable, _, _ = select.select([read_end], [], [], timeout)
        if not readable:
            raise TimeoutError(f"the shared sandbox did not start within {timeout:.0f} s")
        return os.read(read_end, len(READY)) == READY
    finally:
        os.close(read_end)


def serve_detached(home: Home, ready_fd: int, *, idle_timeout: float, **options: Any) -> int:
    """The process :func:`launch` starts: :func:`serve`, telling ``ready_fd`` once it serves.

    Returns
    -------
    int
        The exit status: 0 after a stop, 1 after an error (logged).
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")

    def ready() -> None:
        os.write(ready_fd, READY)
        os.close(ready_fd)

    try:
        serve(home, idle_timeout=idle_timeout, ready=ready, **options)
    except Exception:
        log.exception("The shared sandbox in %s stopped on an error.", home.path)
        return 1
    return 0
