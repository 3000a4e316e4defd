"""The mirror's file: its tables, a sync's staged work, and the one transaction that
publishes it.

A sync never writes the tables readers see until its end. What it fetches goes, page by
page, into staging tables (``_stage_<table>``, the same columns), each page in a
transaction with the checkpoint it reaches (``_sync``, and the windows of ids of the search
and of the id list, ``_sync_windows`` and ``_sync_list_windows``): a sync killed,
cut off or stopped by a quota keeps every page it committed, and the next sync of the same
query goes on from the checkpoints, never fetching a committed page again. At the end,
:meth:`Mirror.publish` moves the staged rows into the tables, removes the deleted issues,
records the run in ``sync_runs`` and clears the staging, in one transaction: readers see
the mirror before the sync or after it. Rows are replaced by issue id (an issue's rows in
every table at once), and an issue's staged version is dropped if the mirror already holds
a newer one (the search is eventually consistent: a page may be behind).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from .schema import DETAILS, FIELDS, SYNC_RUNS, Table, rows_of

if TYPE_CHECKING:
    import duckdb

    from .layout import Layout

__all__ = ["Counts", "Mirror", "Plan", "Window"]

VERSION = 2
"""The version of the mirror's layout of tables (2: the id list goes by windows of ids, and
the user's time zone is kept)."""
_META = Table(
    "_mirror",
    (
        ("version", "BIGINT"),
        ("site_id", "VARCHAR"),
        ("site_url", "VARCHAR"),
        ("query", "VARCHAR"),
        ("fields", "JSON"),
        ("what", "JSON"),
        ("created", "TIMESTAMPTZ"),
        ("full_check", "TIMESTAMPTZ"),
        ("time_zone", "VARCHAR"),
    ),
)
_PLAN = Table(
    "_sync",
    (
        ("query", "VARCHAR"),
        ("fields", "JSON"),
        ("what", "JSON"),
        ("since", "TIMESTAMPTZ"),
        ("time_zone", "VARCHAR"),
        ("full_check", "BOOLEAN"),
        ("counted", "BIGINT"),
        ("listed", "BOOLEAN"),
        ("started", "TIMESTAMPTZ"),
        ("total", "BIGINT"),
    ),
)
_WINDOWS = Table(
    "_sync_windows",
    (
        ("window_id", "BIGINT"),
        ("low_id", "BIGINT"),
        ("high_id", "BIGINT"),
        ("after_id", "BIGINT"),
        ("done", "BOOLEAN"),
    ),
)
# No done column: the list's end (``_sync.listed``) marks every window done.
_LIST_WINDOWS = Table("_sync_list_windows", _WINDOWS.columns[:-1])
_IDS = (("issue_id", "VARCHAR"),)
_LISTED = Table("_stage_listed", _IDS)
_DELETED = Table("_stage_deleted", _IDS)
_DONE = Table("_stage_done", (("detail", "VARCHAR"), *_IDS))
_STAGING = (_PLAN, _WINDOWS, _LIST_WINDOWS, _LISTED, _DELETED, _DONE)
_OWN_TABLES = (FIELDS, SYNC_RUNS, _META, *_STAGING)


@dataclasses.dataclass(frozen=True)
class Window:
    """A range of issue ids ``[low, high)`` a sync's search or its id list goes through
    (``None``: no bound), the last id it staged (``after``) and whether it is done."""

    window: int
    low: int | None
    high: int | None
    after: int | None = None
    done: bool = False

    def jql(self, where: str) -> str:
        """The JQL of what is left of the window: ``where``, from past ``after`` (else from
        ``low``) to ``high``, in id order."""
        bounds = [f"({where})"]
        if self.after is not None:
            bounds.append(f"id > {self.after}")
        elif self.low is not None:
            bounds.append(f"id >= {self.low}")
        if self.high is not None:
            bounds.append(f"id < {self.high}")
        return " AND ".join(bounds) + " ORDER BY id ASC"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A sync under way, as committed: what it mirrors, from when (and the time zone its
    JQL's dates are in), whether it lists every id, how far it got, and about how many
    issues its search finds (``total``, Jira's approximate count)."""

    query: str
    fields: tuple[str, ...]
    what: tuple[str, ...]
    since: dt.datetime | None
    time_zone: str | None
    full_check: bool
    counted: int | None  # Jira's count of the query's issues up to the mirror's highest id
    listed: bool
    started: dt.datetime
    total: int


@dataclasses.dataclass(frozen=True)
class Counts:
    """What a published sync changed in the mirror."""

    added: int
    updated: int
    deleted: int
    fetched: int


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(json.loads(value)) if isinstance(value, str) else tuple(value or ())


def _only_row(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, Any] | None:
    """The one row of ``table`` (``_mirror``, ``_sync``) by column, its ``fields`` and
    ``what`` decoded; None when the table is missing or empty."""
    exists = connection.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchall()
    if not exists[0][0]:
        return None
    relation = connection.execute(f'SELECT * FROM "{table}"')
    names = [d[0] for d in relation.description]
    rows = relation.fetchall()
    if not rows:
        return None
    found = dict(zip(names, rows[0], strict=True))
    found["fields"], found["what"] = _tuple(found["fields"]), _tuple(found["what"])
    return found


class Mirror:
    """One mirror file opened for writing, and the tables of its layout.

    Every method is thread safe (the search's windows stage their pages from several
    threads); each write is one transaction.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, layout: Layout) -> None:
        self.connection = connection
        self.layout = layout
        self._lock = threading.Lock()
        self.tables: dict[str, Table] = {t.name: t for t in layout.tables}
        self.tables.update({name: detail.table for name, detail in DETAILS.items()})

    # -- what the file holds ---------------------------------------------------------

    def _one(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        found = self.connection.execute(sql, parameters).fetchall()
        return found[0][0] if found else None

    def _ids(self, sql: str, parameters: Sequence[Any] = ()) -> set[str]:
        return {row[0] for row in self.connection.execute(sql, parameters).fetchall()}

    @staticmethod
    def meta_of(connection: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
        """The mirror's row of ``_mirror`` (what it holds), or None for a new file."""
        return _only_row(connection, "_mirror")

    def issue_columns(self) -> tuple[str, ...]:
        """The ``issues`` table's columns in the file (empty before its first sync)."""
        rows = self.connection.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'issues' AND table_schema = 'main' ORDER BY ordinal_position"
        ).fetchall()
        return tuple(r[0] for r in rows)

    def create(self, *, replace_searched: bool = False) -> None:
        """Create the tables that are missing (``replace_searched``: the searched tables
        anew, emptied, for a mirror whose fields changed). A file of an older layout is
        brought to this one: the plan of a sync it stopped is dropped (that sync starts
        again), its published tables are kept."""
        tables = {t.name for t in self.tables.values()} | {t.name for t in _OWN_TABLES}
        tables |= {f"_stage_{name}" for name in self.tables}
        made = self._ids("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
        found = self.meta_of(self.connection)
        if made >= tables and not replace_searched and found and found["version"] == VERSION:
            return  # all there
        with self._lock, self._transaction():
            if found is not None and found["version"] < VERSION:
                self.connection.execute("DROP TABLE IF EXISTS _sync")
                self.connection.execute(
                    "ALTER TABLE _mirror ADD COLUMN IF NOT EXISTS time_zone VARCHAR"
                )
                self.connection.execute("UPDATE _mirror SET version = ?", [VERSION])
            for table in self.tables.values():
                if replace_searched and table.name in {t.name for t in self.layout.tables}:
                    self.connection.execute(f'DROP TABLE IF EXISTS "{table.name}"')
                    self.connection.execute(f'DROP TABLE IF EXISTS "_stage_{table.name}"')
                self.connection.execute(table.ddl())
                self.connection.execute(table.ddl(f"_stage_{table.name}"))
            for table in _OWN_TABLES:
                self.connection.execute(table.ddl())

    def set_meta(
        self, site_id: str, site_url: str, query: str, fields: Sequence[str], what: Sequence[str]
    ) -> None:
        """Record what the mirror holds (its first sync, or a query changed on purpose)."""
        with self._lock, self._transaction():
            kept = self.connection.execute("SELECT created, time_zone FROM _mirror").fetchall()
            created, time_zone = kept[0] if kept else (None, None)
            self.connection.execute("DELETE FROM _mirror")
            self.connection.execute(
                "INSERT INTO _mirror VALUES (?, ?, ?, ?, ?, ?, COALESCE(?, now()), NULL, ?)",
                [
                    VERSION,
                    site_id,
                    site_url,
                    query,
                    json.dumps(list(fields)),
                    json.dumps(list(what)),
                    created,
                    time_zone,
                ],
            )

    def mirrored(self) -> tuple[int, int | None]:
        """How many issues the mirror holds, and the highest id among them."""
        count, highest = self.connection.execute(
            "SELECT count(*), max(CAST(issue_id AS BIGINT)) FROM issues"
        ).fetchall()[0]
        return int(count), None if highest is None else int(highest)

    def watermark(self) -> dt.datetime | None:
        """The newest ``updated`` the mirror holds: where the next sync's search starts
        (less an overlap)."""
        found: dt.datetime | None = self._one("SELECT max(updated) FROM issues")
        return found

    @staticmethod
    def stopped_of(connection: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
        """What a sync that stopped before its end was asked for (its ``query``, ``fields``
        and ``what``, among the rest of its plan), or None."""
        return _only_row(connection, "_sync")

    # -- a sync under way ----------------------------------------------------------

    def plan(self) -> tuple[Plan | None, list[Window], list[Window]]:
        """The sync under way (a stopped one), the windows of its search and those of its
        id list; ``None`` and none if there is none."""
        found = _only_row(self.connection, "_sync")
        if found is None:
            return None, [], []
        return Plan(**found), self._windows(_WINDOWS), self._windows(_LIST_WINDOWS)

    def _windows(self, table: Table) -> list[Window]:
        rows = self.connection.execute(f"SELECT * FROM {table.name} ORDER BY window_id")
        return [Window(*row) for row in rows.fetchall()]

    def _insert_windows(self, table: Table, windows: Iterable[Window]) -> None:
        for w in windows:
            row = [w.window, w.low, w.high, w.after, w.done][: len(table.columns)]
            marks = ", ".join("?" * len(row))
            self.connection.execute(f"INSERT INTO {table.name} VALUES ({marks})", row)

    def begin(self, plan: Plan, windows: Iterable[Window], listing: Iterable[Window]) -> None:
        """Start a new sync: forget any staged work, then commit ``plan``, its search's
        ``windows`` and its id list's (``listing``), and keep its time zone as the user's."""
        with self._lock, self._transaction():
            self._clear_staging()
            self.connection.execute(
                "INSERT INTO _sync VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    plan.query,
                    json.dumps(list(plan.fields)),
                    json.dumps(list(plan.what)),
                    plan.since,
                    plan.time_zone,
                    plan.full_check,
                    plan.counted,
                    plan.listed,
                    plan.started,
                    plan.total,
                ],
            )
            self._insert_windows(_WINDOWS, windows)
            self._insert_windows(_LIST_WINDOWS, listing)
            self.connection.execute("UPDATE _mirror SET time_zone = ?", [plan.time_zone])

    def last_run_id(self) -> int | None:
        """The id of the last run in ``sync_runs``, if any."""
        found = self._one("SELECT max(run_id) FROM sync_runs")
        return None if found is None else int(found)

    def window_done(self, window: int) -> None:
        """Commit that the search went through ``window``."""
        with self._lock, self._transaction():
            self.connection.execute(
                "UPDATE _sync_windows SET done = true WHERE window_id = ?", [window]
            )

    def row_counts(self) -> dict[str, int]:
        """Each table's rows (the searched, per-request and ``fields`` tables)."""
        names = [*self.tables, "fields"]
        counts = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
        found = self.connection.execute(f"SELECT {counts}").fetchall()[0]
        return {name: int(count) for name, count in zip(names, found, strict=True)}

    def stage_page(self, records: Sequence[dict[str, Any]], window: int | None) -> None:
        """Stage one search page's issues in every searched table, and move ``window``'s
        checkpoint past them, in one transaction."""
        if not records:
            return
        rows = self.layout.rows(records)
        after = max(int(r["id"]) for r in records)
        with self._lock, self._transaction():
            self._stage_rows(rows)
            if window is not None:
                self.connection.execute(
                    "UPDATE _sync_windows SET after_id = greatest(COALESCE(after_id, ?), ?) "
                    "WHERE window_id = ?",
                    [after, after, window],
                )

    def _stage_rows(self, rows: Mapping[str, pd.DataFrame]) -> None:
        """Stage a page's rows: an issue staged already (a page that came twice, or a
        stopped sync's) is replaced, unless the staged version is newer."""
        issues = rows["issues"]
        ids = issues["issue_id"].tolist()
        if not self._ids(
            "SELECT issue_id FROM _stage_issues WHERE issue_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids],
        ):  # as on every page of a first sync: nothing to replace
            for name, frame in rows.items():
                self._insert_staged(self.tables[name], frame)
            return
        self.connection.register("_page", issues[["issue_id", "updated"]])
        try:
            newer = self._ids(
                "SELECT p.issue_id FROM _page p JOIN _stage_issues s USING (issue_id) "
                "WHERE s.updated > p.updated"
            )
        finally:
            self.connection.unregister("_page")
        ids = [i for i in ids if i not in newer]
        for name, frame in rows.items():
            self._replace_staged(self.tables[name], ids, frame[frame["issue_id"].isin(ids)])

    def _replace_staged(self, table: Table, ids: Sequence[str], rows: pd.DataFrame) -> None:
        self.connection.execute(
            f'DELETE FROM "_stage_{table.name}" WHERE issue_id IN (SELECT unnest(?::VARCHAR[]))',
            [list(ids)],
        )
        self._insert_staged(table, rows)

    def _insert_staged(self, table: Table, rows: pd.DataFrame) -> None:
        """Append ``rows`` (:func:`.schema.rows_of`'s, in the table's column order) to
        ``table``'s staging."""
        if len(rows):
            self.connection.from_df(rows).insert_into(f"_stage_{table.name}")

    # -- the full list of ids ------------------------------------------------------

    def id_edges(self, most: int) -> list[int]:
        """The ids that cut the issues mirrored, in id order, into runs of at most ``most``
        of about one size (none for ``most`` or fewer issues): the edges of the id list's
        windows."""
        count = int(self._one("SELECT count(*) FROM issues"))
        runs = math.ceil(count / most)
        starts = [round(n * count / runs) for n in range(1, runs)]  # each run's first, by rank
        rows = self.connection.execute(
            "SELECT id FROM (SELECT CAST(issue_id AS BIGINT) AS id, "
            "row_number() OVER (ORDER BY id) - 1 AS rank FROM issues) "
            "WHERE list_contains(?, rank) ORDER BY id",
            [starts],
        ).fetchall()
        return [int(row[0]) for row in rows]

    def masked_loss(self, counted: int) -> bool:
        """Whether Jira's count of the query's issues up to the mirror's highest id
        (``counted``, which matched the mirror's) hid issues that left: it differs from the
        mirror's count with the older issues the search staged that the mirror lacks
        (moved into the query), so as many others left it."""
        expected = self._one(
            "SELECT (SELECT count(*) FROM issues) + (SELECT count(*) FROM _stage_issues "
            "WHERE issue_id NOT IN (SELECT issue_id FROM issues) AND CAST(issue_id AS BIGINT) "
            "<= (SELECT max(CAST(issue_id AS BIGINT)) FROM issues))"
        )
        return int(expected) != counted

    def begin_list(self, windows: Iterable[Window]) -> None:
        """Commit that this sync makes a full check after all, and its id list's windows."""
        with self._lock, self._transaction():
            self.connection.execute("UPDATE _sync SET full_check = true")
            self._insert_windows(_LIST_WINDOWS, windows)

    def stage_listed(self, window: int, ids: Sequence[str]) -> None:
        """Stage a page of the id list's ``window``, and move its checkpoint past it."""
        if not ids:
            return
        with self._lock, self._transaction():
            self.connection.execute(
                "INSERT INTO _stage_listed SELECT unnest(?::VARCHAR[])", [list(ids)]
            )
            self.connection.execute(
                "UPDATE _sync_list_windows SET after_id = ? WHERE window_id = ?",
                [max(int(i) for i in ids), window],
            )

    def finish_list(self) -> None:
        """Commit the id list done, and stage as deleted the issues mirrored that it lacks
        (gone, or moved out of the query), unless the search staged them: the list and
        the search run at once, so an issue the search found and the list did not may have
        come into the query after the list passed it (one deleted after the search leaves
        at the next sync, whose count then differs)."""
        with self._lock, self._transaction():
            self.connection.execute("UPDATE _sync SET listed = true")
            self.connection.execute(
                "INSERT INTO _stage_deleted SELECT issue_id FROM issues "
                "WHERE issue_id NOT IN (SELECT issue_id FROM _stage_listed) "
                "AND issue_id NOT IN (SELECT issue_id FROM _stage_issues)"
            )

    def stage_gone(self, ids: Sequence[str]) -> None:
        """Stage ``ids`` as deleted: listed, then gone before they were fetched."""
        with self._lock, self._transaction():
            self.connection.execute(
                "INSERT INTO _stage_deleted SELECT unnest(?::VARCHAR[])", [list(ids)]
            )

    def missing(self) -> list[str]:
        """The listed ids neither mirrored, staged nor gone: issues to fetch by id."""
        return sorted(
            self._ids(
                "SELECT issue_id FROM _stage_listed EXCEPT SELECT issue_id FROM issues "
                "EXCEPT SELECT issue_id FROM _stage_issues "
                "EXCEPT SELECT issue_id FROM _stage_deleted"
            ),
            key=int,
        )

    def details_due(self, detail: str, backfill: bool) -> list[tuple[str, str]]:
        """The (id, key) of each issue whose ``detail`` rows are to fetch: the staged
        issues not done yet, nor deleted, nor published already as they are staged (the
        overlap's issues that did not change: a comment, an approval or a step changes an
        issue's ``updated``); with ``backfill`` (a table new to the mirror), every issue."""
        if backfill:
            staged = "SELECT issue_id, issue_key FROM _stage_issues "
            staged += "UNION SELECT issue_id, issue_key FROM issues"
        else:
            staged = (
                "SELECT issue_id, issue_key FROM _stage_issues AS s WHERE NOT EXISTS "
                "(SELECT 1 FROM issues AS i WHERE i.issue_id = s.issue_id "
                "AND i.updated = s.updated)"
            )
        rows = self.connection.execute(
            f"SELECT issue_id, issue_key FROM ({staged}) "
            "WHERE issue_id NOT IN (SELECT issue_id FROM _stage_deleted) "
            "AND issue_id NOT IN (SELECT issue_id FROM _stage_done WHERE detail = ?)",
            [detail],
        ).fetchall()
        newest = {issue_id: key for issue_id, key in rows}
        return sorted(newest.items(), key=lambda item: int(item[0]))

    def stage_details(self, detail: str, issue_id: str, frame: pd.DataFrame | None) -> None:
        """Stage one issue's ``detail`` rows (``None``: it has no request any more, so it
        leaves the mirror), and mark it done, in one transaction."""
        with self._lock, self._transaction():
            if frame is None:
                self.connection.execute("INSERT INTO _stage_deleted VALUES (?)", [issue_id])
            else:
                table = self.tables[detail]
                self._replace_staged(table, [issue_id], rows_of(frame, table))
            self.connection.execute("INSERT INTO _stage_done VALUES (?, ?)", [detail, issue_id])

    # -- the end of a sync ---------------------------------------------------------

    def publish(
        self,
        run: Mapping[str, Any],
        fields: pd.DataFrame,
        what: Sequence[str],
        dropped: Sequence[str],
    ) -> Counts:
        """Move the staged work into the tables, record ``run`` in ``sync_runs``, clear the
        staging: one transaction. ``dropped`` names per-request tables no longer kept,
        emptied; ``fields`` is the catalogue."""
        searched = [t.name for t in self.layout.tables]
        sql = self.connection.execute
        with self._lock, self._transaction():
            sql(
                "DELETE FROM _stage_issues s USING issues i "
                "WHERE s.issue_id = i.issue_id AND s.updated < i.updated"
            )
            sql("DELETE FROM _stage_issues WHERE issue_id IN (SELECT issue_id FROM _stage_deleted)")
            added, updated, fetched, deleted = sql(
                "SELECT (SELECT count(*) FROM _stage_issues "
                "WHERE issue_id NOT IN (SELECT issue_id FROM issues)), "
                "(SELECT count(*) FROM _stage_issues s JOIN issues i USING (issue_id) "
                "WHERE s.updated > i.updated), (SELECT count(*) FROM _stage_issues), "
                "(SELECT count(*) FROM issues "
                "WHERE issue_id IN (SELECT issue_id FROM _stage_deleted))"
            ).fetchall()[0]
            for name in searched:
                sql(
                    f'DELETE FROM "{name}" WHERE issue_id IN '
                    "(SELECT issue_id FROM _stage_issues UNION SELECT issue_id FROM _stage_deleted)"
                )
                sql(
                    f'INSERT INTO "{name}" BY NAME SELECT * FROM "_stage_{name}" '
                    "WHERE issue_id IN (SELECT issue_id FROM _stage_issues)"
                )
            for name in DETAILS:
                if name in dropped:
                    sql(f'DELETE FROM "{name}"')
                    continue
                if name not in what:  # never kept (or emptied when dropped): nothing to move
                    continue
                sql(
                    f'DELETE FROM "{name}" WHERE issue_id IN (SELECT issue_id FROM _stage_deleted '
                    "UNION SELECT issue_id FROM _stage_done WHERE detail = ?)",
                    [name],
                )
                sql(
                    f'INSERT INTO "{name}" BY NAME SELECT * FROM "_stage_{name}" '
                    "WHERE issue_id NOT IN (SELECT issue_id FROM _stage_deleted)"
                )
            self._replace_fields(fields)
            full_check = self._one("SELECT full_check FROM _sync")
            sql(  # a first sync searched the whole query: as good as a full check
                "UPDATE _mirror SET what = ?, full_check = CASE WHEN ? OR "
                "(SELECT since IS NULL FROM _sync) THEN now() ELSE full_check END",
                [json.dumps(list(what)), bool(full_check)],
            )
            counts = Counts(int(added), int(updated), int(deleted), int(fetched))
            self._record(
                {
                    **run,
                    "full_check": bool(full_check),
                    "issues_added": counts.added,
                    "issues_updated": counts.updated,
                    "issues_deleted": counts.deleted,
                    "issues_fetched": counts.fetched,
                    "watermark": self.watermark(),
                    "outcome": "completed",
                }
            )
            self._clear_staging()
        return counts

    def record_stop(self, run: Mapping[str, Any]) -> None:
        """Record a run that stopped before its end (its staged work is kept)."""
        with self._lock, self._transaction():
            self._record({**run, "full_check": self._one("SELECT full_check FROM _sync")})

    def last_full_check(self) -> dt.datetime | None:
        """When a sync last listed every id of the query."""
        found: dt.datetime | None = self._one("SELECT full_check FROM _mirror")
        return found

    def _record(self, run: Mapping[str, Any]) -> None:
        row = {name: run.get(name) for name in SYNC_RUNS.names}
        row["run_id"] = (self.last_run_id() or 0) + 1
        frame = pd.DataFrame([row])
        self.connection.register("_run", frame)
        try:
            self.connection.execute("INSERT INTO sync_runs BY NAME SELECT * FROM _run")
        finally:
            self.connection.unregister("_run")

    def _replace_fields(self, fields: pd.DataFrame) -> None:
        self.connection.execute("DELETE FROM fields")
        self.connection.register("_fields", rows_of(fields, FIELDS))
        try:
            self.connection.execute("INSERT INTO fields BY NAME SELECT * FROM _fields")
        finally:
            self.connection.unregister("_fields")

    def _clear_staging(self) -> None:
        for name in self.tables:
            self.connection.execute(f'DELETE FROM "_stage_{name}"')
        for table in _STAGING:
            self.connection.execute(f"DELETE FROM {table.name}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self.connection)


class _Transaction:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN TRANSACTION")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
