"""The shared sandbox's home: a private directory holding its record, state, log and locks.

``server.json``
    The running process's :class:`Record`: its pid, ports, the app's
    credentials and the admin secret that proves the process is ours.
``state.json``
    The authorisation server's grants and tokens (:class:`~.persist.StateFile`).
``changes.json``
    The change batches made on its sites (:class:`~.persist.ChangesFile`), made again
    by the next process.
``sandbox.log``
    What the process reports (warnings and errors; never a secret).
``connect.lock``
    Held while a client finds or starts the process, and by the process while it stops.
``running.lock``
    Held by the process for as long as it serves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock

from ..errors import ConfigError, JsmError
from .persist import ChangesFile, StateFile, read_json, write_json

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "HOME_VARIABLE",
    "IDLE_VARIABLE",
    "Home",
    "Record",
    "SandboxError",
    "default_idle_timeout",
]

HOME_VARIABLE = "JSM_NB_SANDBOX_HOME"
IDLE_VARIABLE = "JSM_NB_SANDBOX_IDLE"
DEFAULT_IDLE_TIMEOUT = 900.0


class SandboxError(JsmError):
    """The shared sandbox cannot be found or started; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Record:
    """What a running shared sandbox tells its clients (``server.json``)."""

    pid: int
    auth_port: int
    api_port: int
    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    admin_secret: str = dataclasses.field(repr=False)


def default_idle_timeout() -> float:
    """Seconds without a request after which the shared sandbox stops: ``$JSM_NB_SANDBOX_IDLE``.

    Raises
    ------
    jsm_nb.ConfigError
        The variable is set to something other than a number of seconds above 0.
    """
    configured = os.environ.get(IDLE_VARIABLE, "").strip()
    if not configured:
        return DEFAULT_IDLE_TIMEOUT
    try:
        seconds = float(configured)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ConfigError(
            f"{IDLE_VARIABLE} must be a number of seconds above 0, got {configured!r}: "
            f"leave it out for the default ({DEFAULT_IDLE_TIMEOUT:.0f}).",
            variable=IDLE_VARIABLE,
        )
    return seconds


def _default_path() -> Path:
    configured = os.environ.get(HOME_VARIABLE, "").strip()
    if configured:
        return Path(configured)
    import platformdirs

    return platformdirs.user_state_path("jsm_nb", appauthor=False) / "sandbox"


class Home:
    """The shared sandbox's directory, created with mode 0700 when missing.

    Parameters
    ----------
    path : pathlib.Path, optional
        The directory; by default ``$JSM_NB_SANDBOX_HOME``, else ``sandbox`` in
        the user's state directory (``platformdirs``).
    create : bool
        Create the directory when it is missing.

    Raises
    ------
    SandboxError
        The directory belongs to another user.
    FileNotFoundError
        It is missing and ``create`` is false.
    """

    def __init__(self, path: Path | None = None, *, create: bool = True) -> None:
        self.path = (_default_path() if path is None else Path(path)).expanduser().absolute()
        if create:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = self.path.stat()
        if info.st_uid != os.getuid():
            raise SandboxError(
                f"The sandbox directory {self.path} belongs to another user: set "
                f"{HOME_VARIABLE} to a directory of your own."
            )
        if stat.S_IMODE(info.st_mode) != 0o700:
            self.path.chmod(0o700)  # mkdir's mode is filtered by the umask
        self.state = StateFile(self.path / "state.json")
        self.changes = ChangesFile(self.path / "changes.json")
        self.log_path = self.path / "sandbox.log"
        self._record_path = self.path / "server.json"

    def __repr__(self) -> str:
        return f"Home({str(self.path)!r})"

    def lock(self, name: str, timeout: float) -> filelock.FileLock:
        """The lock file ``name.lock`` (``connect`` or ``running``), waiting ``timeout`` s."""
        return filelock.FileLock(
            str(self.path / f"{name}.lock"), timeout=timeout, mode=0o600, thread_local=False
        )

    @contextlib.contextmanager
    def holding(self, name: str, timeout: float, taken: str) -> Iterator[None]:
        """Hold the lock ``name`` in the block; raise ``SandboxError(taken)`` if it stays taken.

        Parameters
        ----------
        name : str
            ``connect`` or ``running``.
        timeout : float
            Seconds to wait for it.
        taken : str
            The error's message: what holds it, and what to do.
        """
        lock = self.lock(name, timeout)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise SandboxError(taken) from None
        try:
            yield
        finally:
            lock.release()

    def read_record(self) -> Record | None:
        """The last process's record, or ``None`` when there is none (or none usable)."""
        document = read_json(self._record_path)
        if document is None:
            return None
        values: dict[str, Any] = {f.name: document.get(f.name) for f in dataclasses.fields(Record)}
        numbers = {"pid", "auth_port", "api_port"}
        if not all(
            type(value) is int if name in numbers else isinstance(value, str)
            for name, value in values.items()
        ):
            return None
        return Record(**values)

    def write_record(self, record: Record) -> None:
        """Replace ``server.json`` with ``record`` (atomically, mode 0600)."""
        write_json(self._record_path, dataclasses.asdict(record))
