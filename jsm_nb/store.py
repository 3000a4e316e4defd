"""Token stores: where logins and pending sign-ins are kept between kernels.

A store is a small JSON document of named entries (``login <key>``,
``pending <key>``). :class:`FileStore` keeps it in a file that every kernel of
the user shares: mode 0600 in a 0700 directory, replaced atomically (temporary
file, fsync, rename), changed only under a lock that holds across threads and
processes. :class:`MemoryStore` keeps it in this process only ("no cache").

A process killed while writing never damages the file, and loses nothing it
had finished writing: each version of the document carries a serial number,
and whoever takes the lock next finishes a write that reached its temporary
file whole (the next serial) and removes any other leftover.

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
                # The operating system releases the lock of a process that ended, so
                # its holder is alive: deleting the lock file would let two in at once.
                raise TokenStoreError(
                    f"Another Python process using {self.path} has held its lock for over "
                    f"{LOCK_TIMEOUT:.0f} s (Atlassian's sign-in service may be slow to "
                    "answer it). Try again in a minute; if this goes on, restart the other "
                    "kernels that use jsm_nb."
                ) from None
            try:
                self._recover()
                yield
            finally:
                self._file_lock.release()

    def _recover(self) -> None:
        """Finish or remove what a writer killed mid-write left behind (under the lock).

        Holding the lock, no live writer has a temporary file in progress: any there
        was left by a process that died. One holding the next serial, whole, is the
        write that process was about to rename into place: it is finished. Any other
        is an older or torn copy, removed (it may hold tokens).
        """
        leftovers = sorted(self.path.parent.glob(f".{self.path.name}.*.tmp"))
        if not leftovers:
            return
        try:
            serial = self._load()[0]
        except TokenStoreError:
            return  # a damaged file is the user's to look at: leave everything as it is
        for leftover in leftovers:
            try:
                document = self._parse(leftover.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, TokenStoreError):
                document = None
            if document is not None and document[0] == serial + 1:
                os.replace(leftover, self.path)
                _fsync_directory(self.path.parent)
                serial += 1
                log.info("Finished a write to %s that a stopped process had left.", self.path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def read(self, name: str) -> Any:
        return self._load()[1].get(name)

    def write(self, name: str, value: Any) -> None:
        with self.lock():
            serial, entries = self._load()
            if value is None:
                entries.pop(name, None)
            else:
                entries[name] = value
            self._replace({"version": FORMAT_VERSION, "serial": serial + 1, "entries": entries})

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True)
            directory.chmod(0o700)  # mkdir's mode is filtered by the umask

    def _load(self) -> tuple[int, dict[str, Any]]:
        """The document's serial number and entries (0 and none when there is no file)."""
        try:
            with open(self.path, encoding="utf-8") as file:
                self._check_permissions(file.fileno())
                text = file.read()
        except FileNotFoundError:
            return 0, {}
        except OSError as error:
            raise TokenStoreError(
                f"Cannot read the token file {self.path} ({error.strerror}). "
                "Check its permissions, or set JSM_NB_TOKEN_PATH to another file."
            ) from None
        return self._parse(text)

    def _parse(self, text: str) -> tuple[int, dict[str, Any]]:
        try:
            document = json.loads(text)
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown format version {document.get('version')!r}")
            entries = document["entries"]
            if not isinstance(entries, dict):
                raise ValueError("its entries are not a mapping")
            serial = document.get("serial", 0)  # files written before serials: 0
            if not isinstance(serial, int) or isinstance(serial, bool):
                raise ValueError("its serial number is not an integer")
        except (ValueError, AttributeError, KeyError) as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        else:
            return serial, entries
        # Raised here, not in the handler: a JSONDecodeError holds the whole text parsed
        # (tokens included), and "from None" would still keep it as the context.
        raise TokenStoreError(
            f"The token file {self.path} is damaged ({reason}) and was left as it is. "
            "Move it away or delete it, then run jsm_nb.login()."
        )

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
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` survive a crash of the machine."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
