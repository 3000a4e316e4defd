"""Token stores: where logins and pending sign-ins are kept between kernels.

A store is a small JSON document of named entries (``login <key>``,
``pending <key>``, ``site <key>``: :mod:`jsm_nb.entries` gives their shapes).
:class:`FileStore` keeps it in a file that every kernel of the user shares,
replaced atomically (temporary file, fsync, rename), changed only under a lock
that holds across threads and processes. :class:`MemoryStore` keeps it in this
process only ("no cache").

The token file is 0600 in a directory of the user's that is 0700, whatever the
umask. A directory that another user owns or can write to is refused: they could
remove the login, put one of theirs in its place, or plant a file for jsm_nb to
install. Each file in the directory (the token file, its lock, temporary files)
is opened without following a symbolic link or waiting on a FIFO, and used only
when it is a regular file of the user's; temporary files are created new
(``O_EXCL``). A file that does not parse, or holds an entry of the wrong shape,
raises :class:`~jsm_nb.errors.TokenStoreError` and is left as it is; nothing in
that error quotes the file.

A process killed while writing never damages the file, and loses nothing it
had finished writing: each version of the document carries a serial number,
and whoever takes the lock next finishes a write that reached its temporary
file whole (the next serial) and removes any other leftover.

The client secret is never written to a store.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from .entries import EntryError, check_entry
from .errors import TokenStoreError

__all__ = ["FileStore", "MemoryStore", "Store", "atomic_write"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
LOCK_TIMEOUT = 120.0  # seconds; a refresh holds the lock for one HTTP round trip
LOCK_POLL = 0.05  # seconds between tries of a lock another process holds
MAX_FILE_BYTES = 4 * 1024 * 1024  # a token file holds a few kilobytes per app

# Never through a symbolic link, never waiting for a FIFO's other end, not inherited.
_SAFE_OPEN = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
_NOT_OWNER = 0o077  # every permission of the group and of others


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
                check_entry(name, value)
                self._entries[name] = value

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield


class _PathLock:
    """The lock of one token file in this process, shared by every FileStore of it.

    Threads take turns on ``threads``; the thread holding it holds the file lock
    too (which other processes see) and keeps the checked token directory open
    in ``directory`` until its outermost ``lock()`` ends.
    """

    def __init__(self) -> None:
        self.threads = threading.RLock()
        self.directory: int | None = None


_path_locks: dict[Path, _PathLock] = {}
_path_locks_guard = threading.Lock()


def _path_lock(path: Path) -> _PathLock:
    with _path_locks_guard:
        return _path_locks.setdefault(path, _PathLock())


class _NotPrivate(OSError):
    """A file that is not a regular file of this user: a link, a FIFO, another's."""


class FileStore:
    """Entries in a JSON file shared by every kernel of this user.

    Parameters
    ----------
    path : path-like
        The token file. Its directory is created with mode 0700 when missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().absolute()
        self._lock = _path_lock(self.path)

    def __repr__(self) -> str:
        return f"FileStore({str(self.path)!r})"

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def read(self, name: str) -> Any:
        return self._load()[1].get(name)

    def write(self, name: str, value: Any) -> None:
        if value is not None:
            check_entry(name, value)
        with self._held() as directory:
            serial, entries = self._load_in(directory)
            if value is None:
                entries.pop(name, None)
            else:
                entries[name] = value
            document = {"version": FORMAT_VERSION, "serial": serial + 1, "entries": entries}
            self._replace(directory, document)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the token file against every other writer (threads and processes)."""
        with self._held():
            yield

    @contextlib.contextmanager
    def _held(self) -> Iterator[int]:
        """Hold the lock; give the token directory (open, checked) to work in."""
        shared = self._lock
        with shared.threads:
            if shared.directory is not None:  # this thread holds it already
                yield shared.directory
                return
            directory = self._open_directory(create=True)
            try:
                with self._file_lock(directory):
                    shared.directory = directory
                    try:
                        self._recover(directory)
                        yield directory
                    finally:
                        shared.directory = None
            finally:
                os.close(directory)

    @contextlib.contextmanager
    def _file_lock(self, directory: int) -> Iterator[None]:
        fd = self._open_lock_file(directory)
        try:
            os.fchmod(fd, 0o600)  # it may have been created through the umask
            self._wait_for_lock(fd)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _open_lock_file(self, directory: int) -> int:
        try:
            return _open_private(directory, self._lock_path.name, os.O_RDWR | os.O_CREAT)
        except OSError as error:
            failure = error.strerror
        raise TokenStoreError(
            f"Cannot lock the token file with {self._lock_path} ({failure}). "
            "Move that file away, or set JSM_NB_TOKEN_PATH to another file."
        )

    def _wait_for_lock(self, fd: int) -> None:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
            time.sleep(LOCK_POLL)
        # The operating system releases the lock of a process that ended, so
        # its holder is alive: deleting the lock file would let two in at once.
        raise TokenStoreError(
            f"Another Python process using {self.path} has held its lock for over "
            f"{LOCK_TIMEOUT:.0f} s (Atlassian's sign-in service may be slow to "
            "answer it). Try again in a minute; if this goes on, restart the other "
            "kernels that use jsm_nb."
        )

    def _open_directory(self, *, create: bool) -> int:
        """The token directory, open and checked: ours, and no one else's to change.

        With ``create``, it is made (0700) when missing; without, a missing one
        raises :class:`FileNotFoundError`.
        """
        directory = self.path.parent
        created = False
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    directory.mkdir(mode=0o700, parents=True)
                    created = True
            # Through links (a linked config directory is fine): what it reaches is checked.
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            if isinstance(error, FileNotFoundError) and not create:
                raise
            failure = error.strerror
        else:
            try:
                self._check_directory(fd, created=created)
            except BaseException:
                os.close(fd)
                raise
            return fd
        raise TokenStoreError(
            f"Cannot open the token directory {directory} ({failure}). "
            "Check its permissions, or set JSM_NB_TOKEN_PATH to another file."
        )

    def _check_directory(self, fd: int, *, created: bool) -> None:
        directory = self.path.parent
        info = os.fstat(fd)
        mode = stat.S_IMODE(info.st_mode)
        if info.st_uid != os.geteuid():
            raise TokenStoreError(
                f"The token directory {directory} belongs to another user (uid "
                f"{info.st_uid}), who could read or replace the logins kept in it. "
                "Set JSM_NB_TOKEN_PATH to a file in a directory of your own."
            )
        if created:
            os.fchmod(fd, 0o700)  # mkdir's mode went through the umask
        elif mode & _OTHERS_WRITE:
            raise TokenStoreError(
                f"The token directory {directory} can be written by other users (mode "
                f"{mode:o}), who could remove the logins kept in it or put files of theirs "
                f"there. Make it yours alone (chmod 700 {directory}), or set "
                "JSM_NB_TOKEN_PATH to a file in a directory only you can write to."
            )
        elif mode & _NOT_OWNER:
            os.fchmod(fd, 0o700)
            log.warning(
                "The token directory %s could be opened by other users (mode %o); "
                "its mode is now 0700.",
                directory,
                mode,
            )

    def _recover(self, directory: int) -> None:
        """Finish or remove what a writer killed mid-write left behind (under the lock).

        Holding the lock, no live writer has a temporary file in progress: any there
        was left by a process that died. One holding the next serial, whole, is the
        write that process was about to rename into place: it is finished. Any other
        is an older or torn copy, removed (it may hold tokens). A file there that
        jsm_nb did not write (a link, a FIFO, another user's, readable by others)
        is removed, never installed.
        """
        prefix = f".{self.path.name}."
        leftovers = sorted(
            name
            for name in os.listdir(directory)
            if name.startswith(prefix) and name.endswith(".tmp")
        )
        if not leftovers:
            return
        try:
            serial = self._load_in(directory)[0]
        except TokenStoreError:
            return  # a damaged file is the user's to look at: leave everything as it is
        for leftover in leftovers:
            if self._leftover_serial(directory, leftover) == serial + 1:
                os.replace(leftover, self.path.name, src_dir_fd=directory, dst_dir_fd=directory)
                _fsync_directory(directory)
                serial += 1
                log.info("Finished a write to %s that a stopped process had left.", self.path)
            else:
                with contextlib.suppress(OSError):  # a directory, say: never installed either
                    os.unlink(leftover, dir_fd=directory)

    def _leftover_serial(self, directory: int, name: str) -> int | None:
        """The serial of the whole document in the temporary file ``name``, if jsm_nb wrote it."""
        try:
            fd = _open_private(directory, name, os.O_RDONLY)
        except _NotPrivate as error:
            failure = error.strerror
        except OSError:
            return None
        else:
            try:
                if stat.S_IMODE(os.fstat(fd).st_mode) & _NOT_OWNER:
                    failure = "others could read or change it"
                else:
                    loaded = _parse_document(_read_at_most(fd, MAX_FILE_BYTES + 1))
                    return None if isinstance(loaded, str) else loaded[0]
            finally:
                os.close(fd)
        log.warning(
            "Removed %s from the token directory: it was not written by jsm_nb (%s).",
            name,
            failure,
        )
        return None

    def _load(self) -> tuple[int, dict[str, Any]]:
        """The document's serial number and entries (0 and none when there is no file)."""
        try:
            directory = self._open_directory(create=False)
        except FileNotFoundError:
            return 0, {}
        try:
            return self._load_in(directory)
        finally:
            os.close(directory)

    def _load_in(self, directory: int) -> tuple[int, dict[str, Any]]:
        data = self._read(directory)
        loaded = (0, {}) if data is None else _parse_document(data)
        del data  # a traceback of the error below keeps no copy of the file
        if isinstance(loaded, str):
            raise TokenStoreError(
                f"The token file {self.path} is damaged ({loaded}) and was left as it is. "
                "Move it away or delete it, then run jsm_nb.login()."
            )
        return loaded

    def _read(self, directory: int) -> bytes | None:
        """The token file's bytes (``None`` when there is none), its mode repaired."""
        try:
            fd = _open_private(directory, self.path.name, os.O_RDONLY)
            try:
                self._check_permissions(fd)
                return _read_at_most(fd, MAX_FILE_BYTES + 1)
            finally:
                os.close(fd)
        except FileNotFoundError:
            return None
        except OSError as error:
            failure = error.strerror
            advice = "Move it away" if isinstance(error, _NotPrivate) else "Check its permissions"
        raise TokenStoreError(
            f"Cannot read the token file {self.path} ({failure}). "
            f"{advice}, or set JSM_NB_TOKEN_PATH to another file."
        )

    def _check_permissions(self, fd: int) -> None:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & _NOT_OWNER:
            os.fchmod(fd, 0o600)
            log.warning(
                "The token file %s could be read by other users (mode %o); "
                "its mode is now 0600. Sign in again if others may have copied it.",
                self.path,
                mode,
            )

    def _replace(self, directory: int, document: dict[str, Any]) -> None:
        """Write ``document`` to a temporary file beside the target and rename it over."""
        data = json.dumps(document, indent=1, allow_nan=False).encode()
        try:
            atomic_write(directory, self.path.name, data)
        except OSError as error:
            failure = error.strerror
        else:
            return
        raise TokenStoreError(
            f"Cannot write the token file {self.path} ({failure}); "
            "the previous file is unchanged. Free some space or fix the "
            "directory's permissions, or set JSM_NB_TOKEN_PATH to another file."
        )


def _open_private(directory: int, name: str, flags: int) -> int:
    """Open ``name`` in ``directory`` if it is a regular file of this user's.

    Never through a symbolic link, never waiting on a FIFO. With ``os.O_CREAT`` in
    ``flags``, a missing file is created with mode 0600 (less what the umask takes).

    Raises
    ------
    _NotPrivate
        ``name`` is a link, not a regular file, or another user's.
    OSError
        It cannot be opened (:class:`FileNotFoundError` when missing).
    """
    try:
        fd = os.open(name, flags | _SAFE_OPEN, 0o600, dir_fd=directory)
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        failure = "it is a symbolic link, which jsm_nb does not follow"
    else:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid():
            return fd
        os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            failure = "it is not a regular file"
        else:
            failure = f"it belongs to another user (uid {info.st_uid})"
    raise _NotPrivate(errno.EPERM, failure)


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class _NotJson(ValueError):
    """NaN or Infinity, which json.loads would take though JSON has neither."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(name)


def _parse_document(data: bytes) -> tuple[int, dict[str, Any]] | str:
    """The serial number and entries of a token file's ``data``, or what is wrong with it.

    What is wrong is said without quoting ``data``: it is shown in an error.
    """
    if len(data) > MAX_FILE_BYTES:
        return f"it is over {MAX_FILE_BYTES // 2**20} MiB, far more than a token file holds"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:  # its msg is one of json's, quoting nothing
        return f"{error.msg.removesuffix(' at')} at line {error.lineno} column {error.colno}"
    except _NotJson:
        return "it holds NaN or Infinity, which JSON does not allow"
    except RecursionError:
        return "it nests deeper than a token file does"
    except ValueError:  # an integer of thousands of digits, say
        return "it holds a value Python cannot read, such as a number thousands of digits long"
    if not isinstance(document, dict):
        return "it is not a JSON object"
    version = document.get("version")
    if type(version) is not int:
        return "it has no format version"
    if version != FORMAT_VERSION:
        return f"its format version is {version}, which only a newer jsm_nb can read"
    entries = document.get("entries")
    if not isinstance(entries, dict):
        return "its entries are not a mapping"
    serial = document.get("serial", 0)  # files written before serials: 0
    if type(serial) is not int or serial < 0:
        return "its serial number is not a whole number of 0 or more"
    for name, value in entries.items():
        try:
            check_entry(name, value)
        except EntryError as error:
            return str(error)
    return serial, entries


def atomic_write(directory: int, name: str, data: bytes) -> None:
    """Replace ``name`` in ``directory`` by a file holding ``data``, all or nothing."""
    temporary = f".{name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE_OPEN  # a new file, or nothing
    fd = os.open(temporary, flags, 0o600, dir_fd=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(fd, 0o600)  # created through the umask
            file.write(data)
            file.flush()
            os.fsync(fd)
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=directory)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: int) -> None:
    """Make a rename in ``directory`` (an open descriptor) survive a crash of the machine."""
    os.fsync(directory)
