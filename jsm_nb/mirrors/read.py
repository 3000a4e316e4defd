"""Reading a mirror: :func:`mirror` (a DuckDB connection), :func:`mirror_frame` (a table
as a typed DataFrame) and :func:`mirror_export` (every table as Parquet)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import arguments
from ..errors import InvalidArgument
from . import files
from .schema import DETAILS, FIELDS, SEARCHED, SYNC_RUNS, order_by, portable, to_frame

if TYPE_CHECKING:
    import duckdb

    from ..sessions import JsmSession

__all__ = ["TABLES", "mirror", "mirror_export", "mirror_frame"]

TABLES = (*SEARCHED, *DETAILS, FIELDS.name, SYNC_RUNS.name)
"""The mirror's tables, as :func:`mirror_frame` and :func:`mirror_export` name them."""


def _path(path: str | os.PathLike[str] | None, session: JsmSession | None) -> Path:
    found = (
        Path(path) if path is not None else files.default_path(arguments.resolve_session(session))
    )
    if not found.exists():
        raise InvalidArgument(
            f"there is no mirror at {found} yet: jsm_nb.sync('project = ITH') makes one."
        )
    return found


def mirror(
    path: str | os.PathLike[str] | None = None,
    *,
    session: JsmSession | None = None,
    read_only: bool = True,
) -> duckdb.DuckDBPyConnection:
    """The mirror, as a DuckDB connection: plain SQL over its tables, offline.

    Parameters
    ----------
    path : str or path, optional
        The mirror's file; by default the signed-in site's (as :func:`jsm_nb.sync`).
    session : JsmSession, optional
        The session whose site's mirror to open, when ``path`` is not given.
    read_only : bool
        ``True`` (the default) gives a connection of its own in which the mirror is
        attached read-only, as the default database: a sync in this kernel pauses it
        while it writes, so it sees the mirror before a sync or after it, never half-way.
        ``False`` opens the file itself for writing (your own tables beside the
        mirror's); a sync then waits until it is closed.

    Returns
    -------
    duckdb.DuckDBPyConnection
        ``db.sql("select status, count(*) from issues group by 1").df()``. Timestamps are
        in UTC.

    Raises
    ------
    MirrorBusy
        A sync in another process is writing the mirror.
    """
    found = _path(path, session)
    if not read_only:
        return files.open_writer(found, 0)
    return files.reader(found)


def _table(table: object) -> str:
    if not isinstance(table, str) or table not in TABLES:
        raise InvalidArgument(f"the mirror's tables are {', '.join(TABLES)}; not {table!r}.")
    return table


def _select(table: str) -> str:
    return f'SELECT * FROM "{table}" ORDER BY {order_by(table)}'


def mirror_frame(
    table: str,
    path: str | os.PathLike[str] | None = None,
    *,
    session: JsmSession | None = None,
) -> pd.DataFrame:
    """One table of the mirror as a DataFrame, with the helpers' dtypes.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`: ``issues``, ``requests``, ``sla_cycles``, ``feedback``,
        ``comments``, ``status_history``, ``approvals``, ``fields`` or ``sync_runs``.
    path, session
        As for :func:`mirror`.

    Returns
    -------
    pandas.DataFrame
        The helper's columns (``issue_id`` first, for the per-issue tables), in issue id
        order: ``mirror_frame("sla_cycles")`` has :func:`jsm_nb.sla`'s columns and dtypes.
    """
    name = _table(table)
    connection = files.reader(_path(path, session))
    try:
        return to_frame(connection.sql(_select(name)))
    finally:
        connection.close()


def mirror_export(
    directory: str | os.PathLike[str],
    path: str | os.PathLike[str] | None = None,
    *,
    tables: Iterable[str] = TABLES,
    session: JsmSession | None = None,
) -> list[Path]:
    """Write tables of the mirror as Parquet files, one per table, for any other engine.

    Parameters
    ----------
    directory : str or path
        Where to write them (made if missing); ``<table>.parquet`` each, replaced.
        Durations are whole milliseconds there, their columns named ``<column>_ms``
        (``goal_ms``): Parquet has no negative intervals.
    path, session
        As for :func:`mirror`.
    tables : iterable of str
        Which tables; every one by default.

    Returns
    -------
    list of Path
        The files written, in the order of ``tables``.
    """
    names = [_table(t) for t in arguments.texts(tables, "tables", "table names such as 'issues'")]
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    connection = files.reader(_path(path, session))
    written = []
    try:
        for name in names:
            out = target / f"{name}.parquet"
            quoted = str(out).replace("'", "''")
            rows = connection.sql(_select(name))
            copied = f"SELECT {portable(rows)} FROM ({_select(name)})"
            connection.execute(f"COPY ({copied}) TO '{quoted}' (FORMAT parquet)")
            written.append(out)
    finally:
        connection.close()
    return written
