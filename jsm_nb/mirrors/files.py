"""Where a mirror lives, and who may open it when.

A mirror is one DuckDB file, by default one per site and app in the user's data
directory (platformdirs): ``<data>/jsm_nb/mirrors/<site host>-<cloud id>/<app>.duckdb``,
in a directory only its owner can read (0700), since it holds the site's requests.

DuckDB lets one process write a file, or many read it, never both. So:

- a sync holds the file for writing only while it runs, under a lock file beside it
  (:func:`writing`), so two kernels' syncs of one mirror run one after the other;
- :func:`jsm_nb.mirror` gives readers a connection of their own in which the file is
  attached read-only (:func:`reader`); a sync in the same process detaches them while it
  writes and attaches them again after (:func:`readers_detached`), so they see the mirror
  before the sync or after it, never half-way;
- a reader in another process keeps the file from being written: a sync then waits up
  to its ``timeout``, and says which process holds it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import filelock
import platformdirs

from ..context import CONTEXT
from ..errors import InvalidArgument, MirrorBusy

if TYPE_CHECKING:
    import duckdb

    from ..sessions import JsmSession

__all__ = ["ALIAS", "default_path", "open_writer", "reader", "readers_detached", "writing"]

ALIAS = "mirror"
"""The name the mirror's file is attached under in a reader's connection."""
_POLL = 0.2  # seconds between tries to open a file another process holds
_HOLDER = re.compile(r"\(PID (\d+)\)")


def default_path(session: JsmSession) -> Path:
    """The default mirror file of ``session``'s site and app."""
    site = session.site
    if site is None:
        raise InvalidArgument(
            "the session has no site: choose one in jsm_nb.login(), or give path=."
        )
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", site.url.split("://")[-1]) or "site"
    app = hashlib.sha256((session.config.client_id or "").encode()).hexdigest()[:16]
    return platformdirs.user_data_path("jsm_nb") / "mirrors" / f"{host}-{site.id}" / f"{app}.duckdb"


def _private_directory(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _holder_path(path: Path) -> Path:
    return path.with_name(path.name + ".sync")


def _holder(path: Path) -> str:
    """Who holds the mirror for a sync, as its sync recorded: "process 12, since 10:02"."""
    try:
        found = json.loads(_holder_path(path).read_text())
        return f"process {int(found['pid'])}, since {found['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def writing(path: Path, timeout: float, waiting: Callable[[str], None]) -> Iterator[None]:
    """Hold the mirror at ``path`` for one sync: wait (up to ``timeout`` seconds, telling
    ``waiting`` why) while another process's sync holds it.

    Raises
    ------
    MirrorBusy
        Another sync still held it after ``timeout`` seconds.
    """
    _private_directory(path)
    lock = filelock.FileLock(path.with_name(path.name + ".lock"), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        who = _holder(path)
        waiting(f"waiting for the sync of this mirror in {who}")
        try:
            lock.acquire(timeout=timeout)
        except filelock.Timeout:
            raise MirrorBusy(
                f"another sync of this mirror ({who}) is still running after {timeout:g} s: "
                "let it finish, then call jsm_nb.sync() again (it goes on from there)."
            ) from None
    try:
        started = dt.datetime.now().astimezone().strftime("%H:%M")
        _holder_path(path).write_text(json.dumps({"pid": os.getpid(), "started": started}))
        yield
    finally:
        with contextlib.suppress(OSError):
            _holder_path(path).unlink()
        lock.release()


def open_writer(path: Path, timeout: float) -> duckdb.DuckDBPyConnection:
    """The mirror at ``path`` opened for writing (created if new), its time zone UTC.

    Raises
    ------
    MirrorBusy
        Another process still had it open (to read it) after ``timeout`` seconds.
    """
    import duckdb

    _private_directory(path)
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = duckdb.connect(str(path))
        except duckdb.ResourceInUseException:
            raise MirrorBusy(
                f"the mirror {path} is open in this kernel by a connection jsm_nb did not "
                "open: close it (db.close()), or open the mirror with jsm_nb.mirror(), "
                "which a sync can pause."
            ) from None
        except duckdb.IOException as error:
            holder = _HOLDER.search(str(error))
            if time.monotonic() < deadline:
                time.sleep(_POLL)
                continue
            who = f"process {holder.group(1)}" if holder else "another process"
            raise MirrorBusy(
                f"the mirror {path} is open in {who} (a jsm_nb.mirror() reader, say): "
                "close it there (db.close()), then call jsm_nb.sync() again."
            ) from None
        connection.execute("SET TimeZone = 'UTC'")
        return connection


def _attach(connection: duckdb.DuckDBPyConnection, path: Path) -> None:
    quoted = str(path).replace("'", "''")
    connection.execute(f"ATTACH '{quoted}' AS {ALIAS} (READ_ONLY)")
    connection.execute(f"USE {ALIAS}")


def reader(path: Path) -> duckdb.DuckDBPyConnection:
    """A new connection of its own in which the mirror at ``path`` is attached read-only
    and is the default database, its time zone UTC; registered for :func:`readers_detached`.

    Raises
    ------
    MirrorBusy
        A sync in another process is writing it.
    """
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    try:
        _attach(connection, path)
    except duckdb.IOException:
        connection.close()
        who = _holder(path)
        raise MirrorBusy(
            f"a sync of this mirror is running ({who}): open it when the sync has ended."
        ) from None
    CONTEXT.mirror_readers(path).add(connection)
    return connection


@contextlib.contextmanager
def readers_detached(path: Path) -> Iterator[None]:
    """This process's readers of ``path`` detached from it for the ``with`` block, then
    attached again (those closed meanwhile are forgotten)."""
    import duckdb

    readers = list(CONTEXT.mirror_readers(path))
    detached: list[duckdb.DuckDBPyConnection] = []
    for connection in readers:
        try:
            connection.execute("USE memory")
            connection.execute(f"DETACH {ALIAS}")
        except duckdb.ConnectionException:  # closed by its owner meanwhile
            continue
        except duckdb.Error:
            for earlier in detached:
                _attach(earlier, path)
            raise MirrorBusy(
                "a jsm_nb.mirror() connection in this kernel is in the middle of a "
                "transaction: commit it (or close it), then call jsm_nb.sync() again."
            ) from None
        detached.append(connection)
    try:
        yield
    finally:
        for connection in detached:
            _attach(connection, path)
