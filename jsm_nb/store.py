"""Token stores: where logins and pending sign-ins are kept between kernels.

A store is a small JSON document of named entries (``login <key>``,
``pending <key>``). :class:`FileStore` keeps it in a file that every kernel of
the user shares: mode 0600 in a 0700 directory, replaced atomically (temporary
file, fsync, rename), changed only under a lock that holds across threads and
processes. :class:`MemoryStore` keeps it in this process only ("no cache").

The client secret is never written to a store.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import filelock

from .errors import TokenStoreError

__all__ = ["FileStore", "MemoryStore", "Store"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
LOCK_TIMEOUT = 120.0  # seconds; a refresh holds the lock for one HTTP round trip


class Store(Protocol):
    """What the login flow and the token manager need from a store."""

    def read(self, name: str) -> Any:
        """The entry ``name``, or ``None`` when there is none."""

    def write(self, name: str, value: Any) -> None:
        """Set the entry ``name`` (``None`` removes it)."""

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold off every other writer, in this process and in others."""


class MemoryStore:
    """Entries kept in this process only; nothing touches the disk."""

    def __init__(self) -> None:
        self._entries: dict[str, Any] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"MemoryStore(entries={sorted(self._entries)})"

    def read(self, name: str) -> Any:
        with self._lock:
            return self._entries.get(name)

    def write(self, name: str, value: Any) -> None:
        with self._lock:
            if value is None:
                self._entries.pop(name, None)
            else:
                self._entries[name] = value

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


# One thread lock per token file, shared by every FileStore of this process.
_thread_locks: dict[Path, threading.RLock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(path: Path) -> threading.RLock:
    with _thread_locks_guard:
        return _thread_locks.setdefault(path, threading.RLock())


class FileStore:
    """Entries in a JSON file shared by every kernel of this user.

    Parameters
    ----------
    path : path-like
        The token file. Its directory is created with mode 0700 when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._thread_lock = _thread_lock(self.path)
        self._file_lock = filelock.FileLock(
            str(self.path) + ".lock", timeout=LOCK_TIMEOUT, mode=0o600, thread_local=False
        )

    def __repr__(self) -> str:
        return f"FileStore({str(self.path)!r})"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the token file against every other writer (threads and processes)."""
        with self._thread_lock:
            self._ensure_directory()
            try:
                self._file_lock.acquire()
            except filelock.Timeout:
                raise TokenStoreError(
                    f"Another process has held the lock on {self.path} for over "
                    f"{LOCK_TIMEOUT:.0f} s. If no other kernel is signing in, "
                    f"delete {self._file_lock.lock_file} and try again."
                ) from None
            try:
                yield
            finally:
                self._file_lock.release()

    def read(self, name: str) -> Any:
        return self._load().get(name)

    def write(self, name: str, value: Any) -> None:
        with self.lock():
            entries = self._load()
            if value is None:
                entries.pop(name, None)
            else:
                entries[name] = value
            self._replace({"version": FORMAT_VERSION, "entries": entries})

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
            directory.chmod(0o700)  # mkdir's mode is filtered by the umask

    def _load(self) -> dict[str, Any]:
        try:
            with open(self.path, encoding="utf-8") as file:
                self._check_permissions(file.fileno())
                text = file.read()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise TokenStoreError(
                f"Cannot read the token file {self.path} ({error.strerror}). "
                "Check its permissions, or set JSM_NB_TOKEN_PATH to another file."
            ) from None
        return self._parse(text)

    def _parse(self, text: str) -> dict[str, Any]:
        try:
            document = json.loads(text)
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {document.get('version')!r}")
            entries = document["entries"]
            if not isinstance(entries, dict):
                raise ValueError("its entries are not a mapping")
        except (ValueError, AttributeError, KeyError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise TokenStoreError(
                f"The token file {self.path} is damaged ({reason}) and was left as it is. "
                "Move it away or delete it, then run jsm_nb.login()."
            ) from None
        return entries

    def _check_permissions(self, fd: int) -> None:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, 0o600)
            log.warning(
                "The token file %s could be read by other users (mode %o); "
                "its mode is now 0600. Sign in again if others may have copied it.",
                self.path,
                mode,
            )

    def _replace(self, document: dict[str, Any]) -> None:
        """Write ``document`` to a temporary file beside the target and rename it over."""
        try:
            _atomic_write(self.path, json.dumps(document, indent=1).encode())
        except OSError as error:
            raise TokenStoreError(
                f"Cannot write the token file {self.path} ({error.strerror}); "
                "the previous file is unchanged. Free some space or fix the "
                "directory's permissions, or set JSM_NB_TOKEN_PATH to another file."
            ) from None


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:  # mkstemp creates it with mode 0600
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
