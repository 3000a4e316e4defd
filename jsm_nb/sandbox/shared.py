"""The user's shared sandbox: one process that every kernel, notebook and script finds.

:func:`connect` finds the process serving the sandbox's home directory, or
starts one, under a file lock, so that two kernels starting at once get one
process. It keeps its ports, app credentials, grants and tokens across its
restarts, so a login made once works in a restarted kernel, another notebook
or ``python -m jsm_nb``, and still after the process stopped when idle
(:mod:`.daemon`). What answers on the recorded ports is trusted only once it
proves that it knows the admin secret of ``server.json`` (:mod:`.home`).

Examples
--------
>>> from jsm_nb.sandbox import shared
>>> sb = shared.connect()                               # doctest: +SKIP
>>> login = jsm_nb.login(sb.configure(jsm_nb.Config()))  # doctest: +SKIP
>>> sb.stop()  # the logins stay saved for its next start  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hmac
import http.client
import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import filelock

from ..config import Config
from . import browser, churn_wanted, pointed_at, poison_wanted, quota_wanted
from .daemon import ADMIN_HEADER, CHALLENGE_HEADER, START_TIMEOUT, launch, proof
from .data.changes import KINDS, Changes
from .home import Home, Record, SandboxError, default_idle_timeout

__all__ = ["SandboxError", "SharedSandbox", "connect", "find", "stop"]

POISONED = "poisoned"  # the home, inside the usual one, of the poisoned sandbox
CONNECT_WAIT = 120.0  # seconds to wait for another client that is starting the process
STOP_TIMEOUT = 30.0  # seconds the process may take to stop
ANSWER_TIMEOUT = 5.0  # seconds for each answer of the process's admin routes
_NO_ANSWER = (OSError, http.client.HTTPException, ValueError)  # what _call raises


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def _call(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any]:
    """One request to an admin route on ``port``: the status and the JSON body (or ``None``).

    ``body``, when not None, is sent as JSON.

    Raises
    ------
    OSError, http.client.HTTPException, ValueError
        No answer, or not one of HTTP and JSON.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT)
    try:
        sent = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=sent, headers=headers)
        answer = connection.getresponse()
        body = answer.read()
    finally:
        connection.close()
    return answer.status, json.loads(body) if body else None


def _proves(record: Record, role: str) -> bool:
    """Whether the server on ``record``'s ``role`` port is that record's process."""
    port = record.auth_port if role == "auth" else record.api_port
    nonce = secrets.token_urlsafe(24)
    try:
        status, body = _call(port, "GET", "/_sandbox/health", {CHALLENGE_HEADER: nonce})
    except _NO_ANSWER:
        return False
    if status != 200 or not isinstance(body, dict):
        return False
    expected = proof(record.admin_secret, nonce, role, record.pid, record.client_id)
    claimed = {"pid": record.pid, "client_id": record.client_id, "role": role}
    return all(body.get(name) == value for name, value in claimed.items()) and hmac.compare_digest(
        str(body.get("proof", "")).encode(), expected.encode()
    )


def _command_line(pid: int) -> list[str]:
    """The arguments ``pid`` was started with (empty when unknown, as off Linux)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode("utf-8", "replace").split("\0")


class SharedSandbox:
    """A handle on the running shared sandbox (from :func:`connect` or :func:`find`).

    Attributes
    ----------
    home : pathlib.Path
        Its directory.
    pid : int
        Its process id.
    auth_url, api_url : str
        ``http://127.0.0.1:PORT`` of its authorisation server and API gateway.
    client_id, client_secret : str
        Its app's credentials (the same across its restarts).
    """

    def __init__(self, home: Home, record: Record) -> None:
        self._home = home
        self._record = record
        self.home = home.path
        self.pid = record.pid
        self.auth_url = _url(record.auth_port)
        self.api_url = _url(record.api_port)
        self.client_id = record.client_id
        self.client_secret = record.client_secret

    @property
    def poison(self) -> bool:
        """Whether its names and summaries carry script (``$JSM_NB_SANDBOX_POISON``)."""
        return self.home.name == POISONED

    def __repr__(self) -> str:
        return f"<SharedSandbox auth_url={self.auth_url} api_url={self.api_url} pid={self.pid}>"

    def configure(self, config: Config) -> Config:
        """``config`` pointed at this sandbox: its credentials and URLs, every other field kept.

        Parameters
        ----------
        config : jsm_nb.Config
            The caller's settings (token file, site, scopes, timeouts, ...).

        Returns
        -------
        jsm_nb.Config
        """
        return pointed_at(self, config)

    @property
    def config(self) -> Config:
        """A :class:`jsm_nb.Config` of this sandbox, with the default token file and settings."""
        return self.configure(Config())

    def secrets(self) -> dict[str, set[str]]:
        """Every secret the process issued or holds, by kind (as :meth:`Sandbox.secrets`).

        For tests that look for leaks; asked over its admin route, with the admin secret.
        """
        status, body = _call(
            self._record.auth_port,
            "GET",
            "/_sandbox/secrets",
            {ADMIN_HEADER: self._record.admin_secret},
        )
        if status != 200 or not isinstance(body, dict):
            raise SandboxError(f"The shared sandbox did not give its secrets (HTTP {status}).")
        return {str(kind): set(found) for kind, found in body.items()}

    def approve(self, authorization_url: str, *, deny: bool = False) -> str:
        """Play the user: open the consent page and click Accept (or Deny).

        See :func:`jsm_nb.sandbox.browser.approve`, which this calls with :attr:`auth_url`.
        """
        return browser.approve(self.auth_url, authorization_url, deny=deny)

    def change(
        self,
        *,
        updates: int = 0,
        creates: int = 0,
        deletes: int = 0,
        moves: int = 0,
        resolves: int = 0,
        seed: int | None = None,
        site: str | None = None,
    ) -> Changes:
        """Change a site's data, as :meth:`Sandbox.change` does, in the shared process.

        Asked over its admin route, with the admin secret. The batch is saved in the
        home and made again when the process starts after an idle stop.

        Raises
        ------
        SandboxError
            The process does not answer (it stops when idle) or refused the arguments.
        """
        arguments: dict[str, int | str | None] = {"site": site, "seed": seed}
        counts = (updates, creates, deletes, moves, resolves)
        arguments |= dict(zip(KINDS, counts, strict=True))
        headers = {ADMIN_HEADER: self._record.admin_secret, "Content-Type": "application/json"}
        try:
            status, body = _call(
                self._record.auth_port, "POST", "/_sandbox/change", headers, arguments
            )
        except _NO_ANSWER:
            status, body = 0, None
        if status != 200 or not isinstance(body, dict):
            why = body.get("message") if isinstance(body, dict) else "no answer"
            raise SandboxError(
                f"The shared sandbox at {self.auth_url} made no change (HTTP {status}: {why}); "
                "if it stopped when idle, call connect() again."
            )
        return Changes.from_json(body)

    @property
    def sites(self) -> list[dict[str, Any]]:
        """The sites as ``accessible-resources`` lists them for a grant of the default scopes.

        Raises
        ------
        SandboxError
            The process no longer runs (it stops when idle): connect again.
        """
        try:
            status, body = _call(self._record.auth_port, "GET", "/_sandbox/sites", {})
        except _NO_ANSWER:
            status, body = 0, None
        if status != 200 or not isinstance(body, list):
            raise SandboxError(
                f"The shared sandbox at {self.auth_url} does not answer (it stops when idle): "
                "call connect() again."
            )
        return body

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop the process and wait until it has; its logins stay saved for its next start.

        The request goes only to a process that proved it is this one. One that
        does not take it is sent SIGTERM, once its command line shows it is this
        home's shared sandbox (Linux only). Nothing happens when another process
        has replaced this one since.

        Raises
        ------
        SandboxError
            It still runs after ``timeout`` seconds.
        """
        if self._home.read_record() != self._record:
            return  # stopped already, and a newer one may serve the home
        if not self._ask_to_stop() and self._is_our_process():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        running = self._home.lock("running", 0)
        deadline = time.monotonic() + timeout
        while self._home.read_record() == self._record:
            with contextlib.suppress(filelock.Timeout), running.acquire():
                return
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"The shared sandbox (process {self.pid}) did not stop within "
                    f"{timeout:.0f} s; end that process, then connect again."
                )
            time.sleep(0.05)

    def _ask_to_stop(self) -> bool:
        """Ask the process to stop, once it has proved it is ours: whether it agreed."""
        if not _proves(self._record, "auth"):
            return False
        try:
            headers = {ADMIN_HEADER: self._record.admin_secret}
            return _call(self._record.auth_port, "POST", "/_sandbox/stop", headers)[0] == 202
        except _NO_ANSWER:
            return False

    def _is_our_process(self) -> bool:
        arguments = _command_line(self.pid)
        home = arguments.index("--home") + 1 if "--home" in arguments else 0
        return (
            "jsm_nb.sandbox" in arguments
            and "--shared" in arguments
            and 0 < home < len(arguments)
            and Path(arguments[home]).absolute() == self.home
        )


def find(home: Path | None = None) -> SharedSandbox | None:
    """The running shared sandbox of ``home``, or ``None``; never starts one.

    Parameters
    ----------
    home : pathlib.Path, optional
        Its directory; by default ``$JSM_NB_SANDBOX_HOME``, else ``sandbox`` in the
        user's state directory.
    """
    where = _existing(home)
    return None if where is None else _found(where)


def stop(home: Path | None = None, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the shared sandbox of ``home`` if one runs, even one that does not answer.

    Never starts one; see :meth:`SharedSandbox.stop`.

    Parameters
    ----------
    home : pathlib.Path, optional
        Its directory; the default is that of :func:`connect`.
    timeout : float
        Seconds to wait for it to stop.
    """
    where = _existing(home)
    record = None if where is None else where.read_record()
    if where is not None and record is not None:
        SharedSandbox(where, record).stop(timeout)


def _existing(home: Path | None) -> Home | None:
    try:
        return Home(home, create=False)
    except FileNotFoundError:
        return None


def _found(home: Home) -> SharedSandbox | None:
    record = home.read_record()
    if record is None or not (_proves(record, "auth") and _proves(record, "api")):
        return None
    return SharedSandbox(home, record)


def connect(home: Path | None = None) -> SharedSandbox:
    """The user's shared sandbox: the running one, else one started now.

    Parameters
    ----------
    home : pathlib.Path, optional
        Its directory; by default ``$JSM_NB_SANDBOX_HOME``, else ``sandbox`` in the
        user's state directory (created with mode 0700). A poisoned sandbox
        (``$JSM_NB_SANDBOX_POISON``) is another process, in ``poisoned`` inside it.

    Returns
    -------
    SharedSandbox
        Serving. A started process stops after ``$JSM_NB_SANDBOX_IDLE`` seconds
        (900 by default) without a request; connect again then. One started here makes
        ``$JSM_NB_SANDBOX_CHURN`` random changes a minute (none by default); a running
        one keeps the churn it was started with.

    Raises
    ------
    SandboxError
        The process could not be started (its log file says why), or another
        client has been starting it for too long.
    jsm_nb.ConfigError
        ``JSM_NB_SANDBOX_IDLE`` is not a number of seconds, or ``JSM_NB_SANDBOX_CHURN`` or
        ``JSM_NB_SANDBOX_QUOTA`` not a whole number.
    """
    poisoned = poison_wanted()
    churn = churn_wanted()
    quota = quota_wanted()
    where = Home(Home(home).path / POISONED) if poisoned else Home(home)
    idle_timeout = default_idle_timeout()
    taken = (
        f"Another Python process has been starting the shared sandbox in {where.path} for "
        f"over {CONNECT_WAIT:.0f} s; try again, or look at {where.log_path}."
    )
    with where.holding("connect", CONNECT_WAIT, taken):
        found = _found(where)
        if found is None:
            _start(where, idle_timeout, poisoned, churn, quota)
            found = _found(where)
    if found is None:
        raise SandboxError(
            f"The shared sandbox started but does not answer; {where.log_path} may say why."
        )
    return found


def _start(home: Home, idle_timeout: float, poisoned: bool, churn: int, quota: int | None) -> None:
    """Start the process and wait until it serves (see :func:`.daemon.launch`)."""
    arguments = ["--shared", "--home", str(home.path), "--idle-timeout", repr(idle_timeout)]
    if poisoned:
        arguments.append("--poison")
    if churn:
        arguments += ["--churn", str(churn)]
    if quota is not None:
        arguments += ["--quota", str(quota)]
    try:
        served = launch(home, arguments, timeout=START_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxError(
            f"The shared sandbox did not start ({error}); {home.log_path} may say why."
        ) from None
    if not served:
        raise SandboxError(
            f"The shared sandbox did not start; {home.log_path} says why. Fix that, or set "
            "JSM_NB_CLIENT_ID to use a real Atlassian app."
        )
