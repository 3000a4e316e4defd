"""One sync of a mirror: what changed since the last, then deletions, then details.

A sync goes through four phases, each committed as it goes (:mod:`.stage`):

1. **Issues.** The first sync searches the whole query; later ones only
   ``(<query>) AND updated >= "<watermark - OVERLAP>"``: the watermark is the newest
   ``updated`` the mirror holds, and :data:`OVERLAP` covers JQL's minute precision and the
   search's lag behind writes (seconds to minutes). Dates in JQL are in the user's time
   zone (``/rest/api/3/myself``, asked on every sync at the same time as its counts). The
   search is split into windows of issue ids, fetched ``concurrency`` at a time, each page
   committed with its window's checkpoint (its last id: pages come in id order).
2. **Deletions and moves** (a *full check*). The query's full list of ids, 5,000 a page,
   shows which mirrored issues were deleted or moved out of the query (they leave), and
   which it lacks (fetched by id). It costs one request per 5,000 issues, but the
   points of one object per issue (Atlassian counts each id), so it runs only when
   needed: with ``full_check=True``; when the query changed; when the last full check is
   older than :data:`FULL_CHECK_AGE`; or when Jira's approximate count of the query's
   issues up to the mirror's highest id differs from the mirror's count (one cheap
   request on every sync, sent with the time zone's). New issues have higher ids (and
   the search finds them), so they never trigger it. Whether it runs is decided and
   committed with the plan; when the counts matched but the search found older issues
   moved into the query, as many others left, and the list runs after the search. The
   list is cut into windows of ids by the ids the mirror holds, a page each, and its
   windows are fetched in one pool with the search's, each page committed with its
   window's checkpoint. An issue the search staged is never taken for deleted: it may
   have come into the query after the list passed it.
3. **Details.** The per-request tables that ``what`` names, fetched request by request
   for the issues the sync fetched (for every issue, when a table is new to ``what``).
4. **Publish**: one transaction.

A sync stopped by a quota (:class:`~jsm_nb.errors.RateLimited`), a failure, a kill or an
interruption leaves its committed pages staged; the next sync of the same query, fields
and ``what`` goes on from there (another sync starts afresh).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import math
import os
import sys
import threading
import time
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import api, arguments, catalogue, cost, frames, paging, windows
from .. import progress as progress_bar
from ..errors import ApiError, InvalidArgument, JsmError, MirrorMismatch
from . import files
from .layout import Layout, layout
from .report import Estimate, SyncReport
from .schema import DETAILS, SEARCHED
from .stage import Mirror, Plan, Window

if TYPE_CHECKING:
    import duckdb

    from ..sessions import JsmSession

__all__ = ["FULL_CHECK_AGE", "OVERLAP", "sync"]

OVERLAP = dt.timedelta(minutes=10)
"""How far before the watermark a sync's search starts again."""
FULL_CHECK_AGE = dt.timedelta(hours=24)
"""A sync lists every id when the last full check is older than this."""
DEFAULT_QUOTA = 65_000
"""Points per hour of an app of Atlassian's tier 1, when its headers have not said."""
_UNKNOWN_ZONE = dt.timedelta(hours=14)  # more overlap when the user's time zone is unknown
_BY_ID = 100  # ids a search of issues the mirror lacks asks for at once
_LISTED = catalogue.KEY_PAGE * 9 // 10  # the mirror's ids a window of the id list is cut
# for: a page of ids, with room for issues the query gained since the search
_PAGE = paging.DEFAULT_LIMIT
_DETAIL_POINTS = 4  # an estimate of a per-request listing's points: 1, plus about 3 objects
_MYSELF = "/rest/api/3/myself"


def sync(
    query: str | None = None,
    *,
    what: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
    path: str | os.PathLike[str] | None = None,
    full_check: bool | None = None,
    change_query: bool = False,
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    progress: bool | None = None,
    wait: bool = False,
    timeout: float = 600.0,
) -> SyncReport:
    """Bring the local mirror of a JQL query's issues up to date: the first call pulls
    everything, later calls only what changed.

    Parameters
    ----------
    query : str, optional
        A bounded JQL search, such as ``"project in (ITH, HR)"``; by default the query
        the mirror already holds. Its ORDER BY, if any, is ignored.
    what : iterable of str, optional
        Per-request tables to keep in step besides the searched ones (``issues``,
        ``requests``, ``sla_cycles``, ``feedback``, which cost nothing more):
        ``"comments"``, ``"status_history"``, ``"approvals"``; each costs a request per
        changed issue. By default those the mirror already keeps (none for a new one).
        A table added later is filled for every issue; one left out is emptied.
    fields : iterable of str, optional
        More Jira fields for the ``issues`` table, by name or id, as :func:`jsm_nb.jql`
        takes them; by default those the mirror already keeps.
    path : str or path, optional
        The mirror's DuckDB file; by default one per site and app in the user's data
        directory.
    full_check : bool, optional
        ``True`` lists every id of the query to find deleted and moved issues, ``False``
        never does; by default a sync does when it is needed (see :mod:`jsm_nb.mirrors.sync`).
    change_query : bool
        Let a mirror of another query (or other fields) take this one. Issues both queries
        hold are kept unless they changed, those only the old one holds leave, and the
        rest are fetched (a change of fields fetches everything again). Without it such
        a sync raises :class:`~jsm_nb.errors.MirrorMismatch`.
    session : JsmSession, optional
        The signed-in session; ``jsm_nb.session()`` by default.
    concurrency : int
        Search windows (or requests) fetched at once, under Atlassian's rate limits.
    progress : bool, optional
        Show a bar for each phase; by default only in a notebook or a terminal.
    wait : bool
        When Atlassian's quota is spent, sleep until it resets (counting down) and go
        on, instead of raising :class:`~jsm_nb.errors.RateLimited`.
    timeout : float
        Seconds to wait for another process's sync of the same mirror (or a reader
        that holds it) before raising :class:`~jsm_nb.errors.MirrorBusy`.

    Returns
    -------
    SyncReport
        What changed, what it cost, and the tables' sizes.

    Raises
    ------
    RateLimited
        The quota ran out (without ``wait``): what was fetched is kept, and the next
        ``sync()`` goes on from there.
    MirrorMismatch
        The mirror holds another query or other fields, and ``change_query`` is false.
    MirrorBusy
        Another sync of the mirror still ran (or a reader held it) after ``timeout``.
    """
    opened = arguments.resolve_session(session)
    paging.check_options(concurrency=concurrency, max_rows=None)
    target = Path(path) if path is not None else files.default_path(opened)
    options = _Options(
        query=None if query is None else _query(query),
        what=None if what is None else _what(what),
        fields=None
        if fields is None
        else tuple(arguments.texts(fields, "fields", "field names or ids")),
        full_check=full_check,
        change_query=change_query,
        concurrency=concurrency,
        progress=progress,
        wait=wait,
    )
    with files.writing(target, timeout, _notice), files.readers_detached(target):
        connection = files.open_writer(target, timeout)
        try:
            return _Sync(opened, connection, target, options).run()
        finally:
            connection.close()


def _query(query: object) -> str:
    return windows.without_order(arguments.jql_text(query, "query"))


def _what(what: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(arguments.texts(what, "what", "per-request tables such as 'comments'"))
    unknown = [name for name in chosen if name not in DETAILS]
    if unknown:
        known = ", ".join(repr(name) for name in DETAILS)
        also = f" ({', '.join(SEARCHED)} always come from the search)"
        raise InvalidArgument(f"what= takes {known}{also}; not {', '.join(map(repr, unknown))}.")
    return tuple(sorted(chosen))


def _where(query: str, since: dt.datetime | None, time_zone: str | None) -> str:
    """The JQL of the issues a sync searches: the query's, or those changed since ``since``,
    written in the user's ``time_zone`` (earlier, when the zone is unknown: early enough
    for every zone)."""
    if since is None:
        return f"({query})"
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(str(time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone, since = dt.timezone.utc, since - _UNKNOWN_ZONE
    return f'({query}) AND updated >= "{since.astimezone(zone):%Y-%m-%d %H:%M}"'


def _notice(text: str) -> None:
    """Tell a watching user what a sync is doing before a long wait or pull."""
    if progress_bar.interactive():
        print(f"jsm_nb.sync: {text}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class _Options:
    query: str | None
    what: tuple[str, ...] | None
    fields: tuple[str, ...] | None
    full_check: bool | None
    change_query: bool
    concurrency: int
    progress: bool | None
    wait: bool


class _Counter:
    """A phase's progress bar, updated from the search's threads."""

    def __init__(self, bar: progress_bar.Bar) -> None:
        self.bar = bar
        self._lock = threading.Lock()

    def update(self, rows: int) -> None:
        with self._lock:
            self.bar.update(rows)


@dataclasses.dataclass(frozen=True)
class _Walk:
    """A search cut into windows of ids: what each window asks, and where its pages go."""

    windows: Sequence[Window]
    where: str
    fields: str
    limit: int
    stage: Callable[[int, list[dict[str, Any]]], None]  # a window's page, and its checkpoint
    done: Callable[[int], None] | None  # commits a window done (else it is asked again on
    # resumption, from past its checkpoint: one request that finds nothing more)
    label: str
    total: int | None


class _Sync:
    """One sync of the mirror at ``path``, opened for writing as ``connection``."""

    def __init__(
        self,
        session: JsmSession,
        connection: duckdb.DuckDBPyConnection,
        path: Path,
        options: _Options,
    ) -> None:
        self.session = session
        self.connection = connection
        self.path = path
        self.options = options
        self.started = dt.datetime.now(dt.timezone.utc)
        self.clock = time.monotonic()
        self.resumed_run: int | None = None

    def run(self) -> SyncReport:
        with cost.metered(wait=self.options.wait) as self.meter:
            meta = Mirror.meta_of(self.connection)
            stopped = Mirror.stopped_of(self.connection)
            # What is not given is what a stopped sync was asked for, else what the mirror keeps.
            before = stopped or meta or {}
            query = self.options.query or before.get("query")
            if query is None:
                raise InvalidArgument(
                    "this mirror is new: give the JQL it keeps, such as "
                    "jsm_nb.sync('project in (ITH, HR)')."
                )
            fields = catalogue.catalogue(self.session)
            kept_fields = self._kept(self.options.fields, before, "fields")
            what = self._kept(self.options.what, before, "what")
            shape = layout(fields, kept_fields)
            self.mirror = Mirror(self.connection, shape)
            refetch = self._check_meta(meta, query, shape)
            self.mirror.create(replace_searched=refetch)
            if meta is None or refetch or meta["query"] != query:
                kept_what = meta["what"] if meta else ()  # changed by the publishing only
                self.mirror.set_meta(
                    self._site_id(), self._site_url(), query, kept_fields, kept_what
                )
            plan, found, listing = self.mirror.plan()
            resumed = plan is not None and (plan.query, plan.fields, plan.what) == (
                query,
                kept_fields,
                what,
            )
            estimate = None
            self.resumed_run = self.mirror.last_run_id() if resumed else None
            if plan is None or not resumed:
                plan, found, listing, estimate = self._begin(query, kept_fields, what, meta)
            try:
                plan = self._search(plan, found, listing)
                if plan.full_check:
                    self._fetch_missing(plan)
                self._details(plan, meta)
            except (JsmError, KeyboardInterrupt, OSError) as stop:
                self._record_stop(plan, stop)
                raise
            kept = set(meta["what"]) if meta else set()
            counts = self.mirror.publish(
                self._run_row(plan),
                api.fields(session=self.session),
                what,
                dropped=sorted(kept - set(what)),
            )
        return SyncReport(
            path=self.path,
            query=query,
            first=plan.since is None,
            resumed=resumed,
            full_check=plan.full_check,
            added=counts.added,
            updated=counts.updated,
            deleted=counts.deleted,
            fetched=counts.fetched,
            requests=self.meter.cost().requests,
            points=self.meter.cost().points,
            seconds=time.monotonic() - self.clock,
            rows=self.mirror.row_counts(),
            estimate=estimate,
        )

    # -- what the mirror holds -------------------------------------------------------

    @staticmethod
    def _kept(given: tuple[str, ...] | None, before: dict[str, Any], name: str) -> tuple[str, ...]:
        return given if given is not None else tuple(before.get(name) or ())

    def _site_id(self) -> str:
        return self.session.site.id if self.session.site else ""

    def _site_url(self) -> str:
        return self.session.site.url if self.session.site else ""

    def _check_meta(self, meta: dict[str, Any] | None, query: str, shape: Layout) -> bool:
        """Whether the searched tables must be fetched anew (the fields changed); raises
        :class:`MirrorMismatch` for another site, or another query without ``change_query``."""
        if meta is None:
            return False
        if meta["site_id"] != self._site_id():
            raise MirrorMismatch(
                f"the mirror {self.path} holds the site {meta['site_url']}, not "
                f"{self._site_url()}: give another path= for this site."
            )
        columns = self.mirror.issue_columns()
        refetch = bool(columns) and columns != shape.issues.names
        if (refetch or meta["query"] != query) and not self.options.change_query:
            what = "other fields" if meta["query"] == query else f"the query {meta['query']!r}"
            raise MirrorMismatch(
                f"the mirror {self.path} holds {what}: call jsm_nb.sync() with no query to "
                "keep it, pass change_query=True to make it this query's, or give another path=."
            )
        return refetch

    # -- the phases ------------------------------------------------------------------

    def _time_zone(self) -> str | None:
        """The user's time zone, in which Jira reads JQL's dates (``None`` if it says none)."""
        body = paging.get_json(self.session, _MYSELF)
        name = body.get("timeZone") if isinstance(body, dict) else None
        return name if isinstance(name, str) else None

    def _begin(
        self,
        query: str,
        fields: tuple[str, ...],
        what: tuple[str, ...],
        meta: dict[str, Any] | None,
    ) -> tuple[Plan, list[Window], list[Window], Estimate | None]:
        """Plan a new sync: from when, whether with a full check, in which windows (the
        search's, and the id list's); commit the plan.

        Its first requests go at once: the user's time zone, the count that decides the
        full check, and the count of the issues to search, its dates in the zone the last
        sync found (counted again, in the rare sync that finds another)."""
        watermark = self.mirror.watermark()
        since = None if watermark is None else watermark - OVERLAP
        asked = self.options.full_check
        if meta is not None and meta["query"] != query:
            asked = True
        elif since is None:
            asked = False  # a first sync searches the whole query
        elif asked is None and self._stale():
            asked = True
        known = meta.get("time_zone") if meta else None
        guess = _where(query, since, known) if since is None or known else None

        def counted() -> int | None:
            return None if guess is None else windows.approximate_count(self.session, guess)

        mirrored, highest = self.mirror.mirrored()  # read here: DuckDB stays on this thread

        def older() -> int | None:
            return self._older_issues(query, highest) if asked is None else None

        (zone, total), counted_older = paging.at_once(
            lambda: paging.at_once(self._time_zone, counted), older
        )
        full = asked if counted_older is None else counted_older != mirrored
        where = _where(query, since, zone)
        if total is None or where != guess:
            total = windows.approximate_count(self.session, where)
        plan = Plan(
            query=query,
            fields=fields,
            what=what,
            since=since,
            time_zone=zone,
            full_check=bool(full),
            counted=counted_older,
            listed=False,
            started=self.started,
            total=total,
        )
        estimate = None
        if since is None:
            estimate = self._estimate(total, what)
            _notice(str(estimate))
        found = self._windows(where, total)
        listing = self._list_windows() if full else []
        self.mirror.begin(plan, found, listing)
        return plan, found, listing, estimate

    def _stale(self) -> bool:
        """Whether the last full check is older than :data:`FULL_CHECK_AGE` (or none)."""
        last = self.mirror.last_full_check()
        return last is None or self.started - last > FULL_CHECK_AGE

    def _older_issues(self, query: str, highest: int | None) -> int:
        """Jira's count of the query's issues up to the mirror's ``highest`` id. Against the
        mirror's count it shows issues deleted or moved out of the query (and older issues
        moved into it, which the search finds: :meth:`.Mirror.masked_loss`). Issues created
        since have higher ids."""
        return windows.approximate_count(self.session, f"({query}) AND id <= {highest}")

    def _estimate(self, count: int, what: Sequence[str]) -> Estimate:
        pages = math.ceil(count / _PAGE)
        points = count + pages + count * _DETAIL_POINTS * len(what)
        pacer = getattr(self.session, "pacer", None)
        quota = None if pacer is None else pacer.quota(self._site_id()).limit
        return Estimate(count, points, int(quota or DEFAULT_QUOTA))

    def _windows(self, where: str, count: int) -> list[Window]:
        """The search's windows of ids: one page of issues each (one window for a small
        search, or one at a time)."""
        if count <= windows.PARALLEL_PAGES * _PAGE or self.options.concurrency < 2:
            return [Window(0, None, None)]
        found = windows.windows_of(self.session, where, count, _PAGE) or [
            windows.Window(None, None)
        ]
        return [Window(n, w.low, w.high) for n, w in enumerate(found)]

    def _bar(self, label: str, total: int | None, unit: str = "rows") -> Any:
        return progress_bar.bar(
            self.options.progress,
            label,
            total,
            unit,
            of_rows=unit == "rows",
            status=paging.cost_status(self.session, self.meter),
            announce=self.options.wait,
        )

    def _fetch(
        self, jql: str, fields: str, limit: int, into: Callable[[list[dict[str, Any]]], object]
    ) -> None:
        paging.fetch(
            self.session,
            windows.SEARCH,
            {"jql": jql, "fields": fields},
            cursor=True,
            limit=limit,
            concurrency=1,
            progress=False,
            wait=self.options.wait,
            into=into,
        )

    def _list_windows(self) -> list[Window]:
        """The id list's windows: cut by the ids the mirror holds, a page each (one window
        when they are fetched one at a time)."""
        edges = self.mirror.id_edges(_LISTED) if self.options.concurrency > 1 else []
        pairs = itertools.pairwise([None, *edges, None])
        return [Window(n, low, high) for n, (low, high) in enumerate(pairs)]

    def _search(self, plan: Plan, found: Sequence[Window], listing: Sequence[Window]) -> Plan:
        """Phases 1 and 2 at once: the issues the query has (or that changed), and with a
        full check every id of the query, 5,000 a page, to find what left it; window by
        window, ``concurrency`` windows at a time. The plan, with a full check after all
        when the search shows that the count which decided against it hid a loss."""
        walks = [
            _Walk(
                found,
                _where(plan.query, plan.since, plan.time_zone),
                ",".join(self.mirror.layout.fields),
                _PAGE,
                lambda window, records: self.mirror.stage_page(records, window),
                self.mirror.window_done,
                "Mirror sync: issues",
                plan.total,
            )
        ]
        if plan.full_check and not plan.listed:
            walks.append(self._list_walk(plan, listing))
        self._walk(walks)
        # An older issue moved into the query may have hidden a loss from the count.
        if not plan.full_check and plan.counted and self.mirror.masked_loss(plan.counted):
            listing = self._list_windows()
            self.mirror.begin_list(listing)
            plan = dataclasses.replace(plan, full_check=True)
            self._walk([self._list_walk(plan, listing)])
        if plan.full_check and not plan.listed:
            self.mirror.finish_list()
        return plan

    def _list_walk(self, plan: Plan, listing: Sequence[Window]) -> _Walk:
        return _Walk(
            listing,
            plan.query,
            "id",
            catalogue.KEY_PAGE,
            lambda window, records: self.mirror.stage_listed(
                window, [str(r["id"]) for r in records]
            ),
            None,  # the id list's end commits it all done
            "Mirror sync: every issue id",
            None,
        )

    def _walk(self, walks: Sequence[_Walk]) -> None:
        """The windows not done of every walk, in one pool of ``concurrency``: each page
        staged with its window's checkpoint, then the window committed done (when its walk
        says how)."""
        with contextlib.ExitStack() as bars:
            left: list[tuple[_Walk, _Counter, Window]] = []
            for walk in walks:
                windows_left = [w for w in walk.windows if not w.done]
                if windows_left:
                    counter = _Counter(bars.enter_context(self._bar(walk.label, walk.total)))
                    left += [(walk, counter, window) for window in windows_left]

            def one(item: tuple[_Walk, _Counter, Window]) -> None:
                walk, counter, window = item

                def page(records: list[dict[str, Any]]) -> None:
                    walk.stage(window.window, records)
                    counter.update(len(records))

                self._fetch(window.jql(walk.where), walk.fields, walk.limit, page)
                if walk.done is not None:
                    walk.done(window.window)

            # Each window keeps its own pages: take each as it is done, so none waits.
            for _ in paging.ordered_map(one, left, self.options.concurrency, ordered=False):
                pass

    def _fetch_missing(self, plan: Plan) -> None:
        """Phase 2: the listed issues the mirror lacks, by id."""
        missing = self.mirror.missing()
        if not missing:
            return
        with self._bar("Mirror sync: issues new to the mirror", len(missing)) as bar:
            for at in range(0, len(missing), _BY_ID):
                self._fetch_ids(plan.query, missing[at : at + _BY_ID], bar.update)

    def _fetch_ids(self, query: str, ids: Sequence[str], counted: Callable[[int], None]) -> None:
        """The issues ``ids``, by id. Jira refuses (400) a search naming an issue that does
        not exist: those deleted since they were listed are found by halving, and leave."""

        def page(records: list[dict[str, Any]]) -> None:
            self.mirror.stage_page(records, None)
            counted(len(records))

        jql = f"({query}) AND id in ({', '.join(ids)}) ORDER BY id ASC"
        try:
            self._fetch(jql, ",".join(self.mirror.layout.fields), _PAGE, page)
        except ApiError as error:
            if error.status != 400:
                raise
            if len(ids) == 1:
                self.mirror.stage_gone(ids)
                return
            half = len(ids) // 2
            self._fetch_ids(query, ids[:half], counted)
            self._fetch_ids(query, ids[half:], counted)

    def _details(self, plan: Plan, meta: dict[str, Any] | None) -> None:
        """Phase 3: the per-request tables of ``what``, for the issues that need them."""
        before = set(meta["what"]) if meta else set()
        for name in plan.what:
            due = self.mirror.details_due(name, backfill=name not in before)
            if due:
                self._detail(name, due)

    def _detail(self, name: str, due: Sequence[tuple[str, str]]) -> None:
        """One per-request table's rows for the issues ``due`` (id, key), request by request,
        each committed as it comes."""
        detail = DETAILS[name]
        gone: set[str] = set()
        order = iter(due)
        with self._bar(f"Mirror sync: {detail.label.lower()}", len(due), "requests") as bar:

            def took(records: list[dict[str, Any]]) -> None:
                issue_id, key = next(order)  # the keys' records come in the keys' order
                frame = None
                if issue_id not in gone:
                    frame = frames.to_frame(records, detail.spec)
                    frame["issue_key"] = pd.Series([key] * len(frame), dtype="string")
                    frame.insert(0, "issue_id", pd.Series([issue_id] * len(frame), dtype="string"))
                self.mirror.stage_details(name, issue_id, frame)
                bar.update(1)

            paging.fetch(
                self.session,
                detail.path,
                detail.params,
                keys=[issue_id for issue_id, _ in due],
                concurrency=self.options.concurrency,
                progress=False,
                wait=self.options.wait,
                on_missing=gone.add,
                into=took,
            )

    # -- the record of the run -------------------------------------------------------

    def _run_row(self, plan: Plan) -> dict[str, Any]:
        spent = self.meter.cost()
        return {
            "query": plan.query,
            "started": self.started,
            "finished": dt.datetime.now(dt.timezone.utc),
            "resumed_run": self.resumed_run,
            "since": plan.since,
            "requests": spent.requests,
            "points": spent.points,
            "duration": dt.timedelta(seconds=time.monotonic() - self.clock),
        }

    def _record_stop(self, plan: Plan, stop: BaseException) -> None:
        outcome = (
            "interrupted"
            if isinstance(stop, KeyboardInterrupt)
            else f"stopped: {type(stop).__name__}"
        )
        row = {**self._run_row(plan), "outcome": outcome}
        with contextlib.suppress(Exception):  # the stop's own error is the one to raise
            self.mirror.record_stop(row)
