"""The process's jsm_nb state, in one place: :data:`CONTEXT`.

What :func:`jsm_nb.session` and :func:`jsm_nb.login` use when the caller names no
configuration or store lives here and nowhere else: the default token stores (one
object per token file, so that every session of a file shares its thread lock), the
open sessions (one per configuration and store), the rate-limit state of each app (one
:class:`~jsm_nb.limits.Pacer` per client id, shared by every session and thread), the
fetches a rate limit or a failure interrupted (:class:`~jsm_nb.resume.Partials`, so
that the same call made again resumes), the open readers of each mirror (which a
sync detaches while it writes), and the sandbox backend that stands in for
Atlassian when no client id is configured. :meth:`Context.reset` forgets all of it
(tests use it instead of reaching into module globals).

The sandbox is reached through one seam, and only from :meth:`Context.config`: the
``jsm_nb.backends`` entry point named ``sandbox``, which jsm_nb's own sandbox package
registers (``pyproject.toml``). The core never imports the sandbox; the sandbox
depends on the core.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .config import Config
from .errors import ConfigError
from .limits import Pacer
from .resume import Partials
from .store import FileStore, Store

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = ["BACKEND_GROUP", "CONTEXT", "Context", "SandboxBackend", "reset"]

BACKEND_GROUP = "jsm_nb.backends"


class SandboxBackend(Protocol):
    """What the core needs of a sandbox: to point a configuration at it."""

    def configure(self, config: Config) -> Config:
        """``config`` with the sandbox app's client id, secret and URLs; the rest kept."""
        ...


def _load_sandbox() -> SandboxBackend:
    """Start (or reach) the sandbox through its entry point."""
    from importlib.metadata import entry_points  # slow to import: only when first needed

    found = entry_points(group=BACKEND_GROUP, name="sandbox")
    if not found:
        raise ConfigError(
            "No client id is configured and jsm_nb's sandbox is not installed "
            "(its entry point is missing): set JSM_NB_CLIENT_ID and JSM_NB_CLIENT_SECRET, "
            'or reinstall jsm_nb (pip install -e ".").',
            variable="JSM_NB_CLIENT_ID",
        )
    connect: Callable[[], SandboxBackend] = next(iter(found)).load()
    return connect()


class Context:
    """The process state of jsm_nb: stores, sessions, pacers, partial fetches, the sandbox.

    Every method is thread safe. Use the process's one instance, :data:`CONTEXT`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[Path, FileStore] = {}
        self._sessions: dict[tuple[Config, int], JsmSession] = {}
        self._pacers: dict[str | None, Pacer] = {}
        self._sandbox: SandboxBackend | None = None
        self._readers: dict[Path, weakref.WeakSet[Any]] = {}
        self.partials = Partials()
        """The fetches interrupted in this process, kept for the same call to resume."""

    def __repr__(self) -> str:
        return (
            f"<Context stores={len(self._stores)} sessions={len(self._sessions)} "
            f"pacers={len(self._pacers)} sandbox={self._sandbox is not None}>"
        )

    def pacer(self, app: str | None) -> Pacer:
        """The rate-limit state of the app with client id ``app``: one per process,
        shared by every session and thread (Atlassian's limits are the app's)."""
        with self._lock:
            if app not in self._pacers:
                self._pacers[app] = Pacer(app)
            return self._pacers[app]

    def config(self, config: Config | None = None) -> Config:
        """The configuration to use: ``config``, else ``Config.from_env()``.

        A sandbox configuration (no client id) is pointed at the sandbox, which is
        started on first use; every other setting of ``config`` is kept.
        """
        config = Config.from_env() if config is None else config
        if config.sandbox and config.client_id is None:
            return self.sandbox().configure(config)
        return config

    def sandbox(self) -> SandboxBackend:
        """The sandbox that stands in for Atlassian, reached (or started) on first use."""
        with self._lock:
            if self._sandbox is None:
                self._sandbox = _load_sandbox()
            return self._sandbox

    def mirror_readers(self, path: Path) -> weakref.WeakSet[Any]:
        """The connections to the mirror at ``path`` that :func:`jsm_nb.mirror` opened in
        this process and that are still in use: a sync detaches them while it writes."""
        with self._lock:
            return self._readers.setdefault(path, weakref.WeakSet())

    def store(self, config: Config) -> FileStore:
        """The token file of ``config``: one store object per file in this process."""
        with self._lock:
            return self._stores.setdefault(config.token_path, FileStore(config.token_path))

    def session(
        self, config: Config, store: Store, open_session: Callable[[], JsmSession]
    ) -> JsmSession:
        """The open session of ``config`` and ``store``, opened with ``open_session`` if none.

        Two threads that both open one keep the first; the other's is closed.
        """
        key = (config, id(store))
        with self._lock:
            existing = self._sessions.get(key)
        if existing is not None:
            return existing
        opened = open_session()
        with self._lock:
            kept = self._sessions.setdefault(key, opened)
        if kept is not opened:
            opened.close()
        return kept

    def forget_sessions(self, config: Config) -> None:
        """Close this process's open sessions of ``config`` (after a sign-in, sign-out or
        site choice), so that the next :func:`jsm_nb.session` opens a fresh one."""
        with self._lock:
            dropped = [self._sessions.pop(k) for k in list(self._sessions) if k[0] == config]
        for session in dropped:
            self.partials.forget(session)
            session.close()

    def reset(self) -> None:
        """Forget everything: close the sessions and the mirrors' readers; drop the stores,
        the pacers, the partial fetches and the sandbox handle.

        A shared sandbox process is not stopped (other kernels may use it); it stops by
        itself when idle.
        """
        with self._lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            self._stores.clear()
            self._pacers.clear()
            self._sandbox = None
            readers = [reader for found in self._readers.values() for reader in list(found)]
            self._readers.clear()
        self.partials.clear()
        for session in sessions:
            session.close()
        for reader in readers:
            reader.close()


CONTEXT = Context()
"""The one :class:`Context` of this process."""


def reset() -> None:
    """Forget this process's jsm_nb state (:meth:`Context.reset` of :data:`CONTEXT`)."""
    CONTEXT.reset()
