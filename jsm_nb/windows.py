"""A JQL search's size, and its split into disjoint windows of issue ids.

:func:`approximate_count` asks Jira how many issues a JQL matches
(``POST /rest/api/3/search/approximate-count``, one cheap request): the total of the
search's progress bar, and the measure by which a large search is split.

A parallel search (:func:`search`) splits a JQL into windows of issue ids,
``(<jql>) AND id >= a AND id < b ORDER BY id``, between the lowest and the highest
id it matches, about a page of issues each, and fetches the windows ``concurrency``
at a time (each request paced by the session, as every request is). The windows are
disjoint and cover every id, so no issue is missed or found twice; their issues are
joined in id order. Only a JQL without ORDER BY, or ordered by ``id`` alone, is
split (:func:`id_order`): its issues then come in id order (ascending unless it
says DESC). Issues that change while the search runs: an issue's id never changes,
so an update never moves an issue from one window to another; the issues are deduped
by id all the same (a cursor over a listing that changes may give one twice); an
issue created, deleted or changed to match or not while the search runs may or may
not be found, as in a sequential search. A split search stopped by an
:class:`~jsm_nb.errors.ApiError` (or an interruption) keeps the windows it got, and
each stopped window keeps its pages (:mod:`jsm_nb.resume`): the same call made again
finds the same windows (the same count and edge ids) and goes on from there.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import cost, paging
from . import progress as progress_bar
from .answers import json_body
from .context import CONTEXT
from .errors import ApiError
from .resume import KeysDone, Partial, key

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = [
    "COUNT",
    "PARALLEL_PAGES",
    "SEARCH",
    "Window",
    "approximate_count",
    "edge_id",
    "id_order",
    "plan",
    "search",
    "split",
    "windows_of",
    "without_order",
]

COUNT = "/rest/api/3/search/approximate-count"
SEARCH = "/rest/api/3/search/jql"
PARALLEL_PAGES = 3
"""A search of more pages than this (by its approximate count) is split, when it can be."""
MAX_WINDOWS = 1000
"""The most windows a search is split into."""
_ORDER_BY = re.compile(r"\border\s+by\b(?P<keys>[^\"']*)$", re.IGNORECASE)
_BY_ID = re.compile(r"\s*id(?:\s+(?P<direction>asc|desc))?\s*", re.IGNORECASE)

Record = dict[str, Any]


def approximate_count(session: JsmSession, jql: str) -> int:
    """About how many issues ``jql`` matches (Jira's estimate; recent changes may be missing).

    Parameters
    ----------
    session : JsmSession
        The signed-in session.
    jql : str
        A bounded JQL search.

    Returns
    -------
    int
        The estimate, at least 0.

    Raises
    ------
    ApiError
        The count was refused (bad JQL: Jira's message says why), or the answer is
        not Jira's count.
    """
    response = session.post(COUNT, json={"jql": jql})
    if not response.ok:
        raise ApiError.from_response(response)
    try:
        count = json_body(response).get("count")
    except (ValueError, AttributeError):
        count = None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ApiError(
            response.status_code, "the answer is not Jira's approximate count", "POST", COUNT
        )
    return count


def id_order(jql: str) -> tuple[str, bool] | None:
    """``jql`` without its ORDER BY, and whether its order is id descending; ``None`` when
    it is ordered by anything but ``id`` (a split search could not keep that order).

    A JQL without ORDER BY is given id ascending, the order of its windows.
    """
    found = _ORDER_BY.search(jql)
    if found is None:
        return jql.strip(), False
    by_id = _BY_ID.fullmatch(found.group("keys"))
    if by_id is None:
        return None
    direction = (by_id.group("direction") or "asc").lower()
    return jql[: found.start()].strip(), direction == "desc"


def without_order(jql: str) -> str:
    """``jql`` without its ORDER BY clause, if it has one."""
    found = _ORDER_BY.search(jql)
    return (jql if found is None else jql[: found.start()]).strip()


def plan(
    jql: str, count: int, *, limit: int, concurrency: int, max_rows: int | None
) -> tuple[str, bool] | None:
    """How to split ``jql`` (:func:`id_order`'s answer), or ``None`` to search it page after
    page: when ``concurrency`` is 1, ``max_rows`` is given, its ``count`` of issues is
    :data:`PARALLEL_PAGES` pages of ``limit`` or fewer, or its ORDER BY is not by id."""
    if concurrency < 2 or max_rows is not None or count <= PARALLEL_PAGES * limit:
        return None
    return id_order(jql)


@dataclass(frozen=True)
class Window:
    """The issues of a search whose id is in ``[low, high)``; ``None`` is no bound."""

    low: int | None
    high: int | None

    def jql(self, where: str, descending: bool) -> str:
        """The window's JQL: ``where`` and the id range, ordered by id."""
        bounds = [] if self.low is None else [f"id >= {self.low}"]
        bounds += [] if self.high is None else [f"id < {self.high}"]
        order = "DESC" if descending else "ASC"
        return " AND ".join([f"({where})", *bounds]) + f" ORDER BY id {order}"


def split(low: int, high: int, count: int, page: int) -> list[Window]:
    """Disjoint windows covering every id, in id order: one per ``page`` of ``count``
    issues (at most :data:`MAX_WINDOWS`), their edges spread evenly over ``[low, high]``.

    The first window has no lower bound and the last no upper one, so that an issue
    outside ``[low, high]`` (created since they were found) is in one all the same.
    """
    windows = max(1, min(MAX_WINDOWS, math.ceil(count / page), high - low + 1))
    width = (high - low + 1) / windows
    edges: list[int | None] = [low + round(n * width) for n in range(1, windows)]
    return [Window(a, b) for a, b in itertools.pairwise([None, *edges, None])]


def edge_id(session: JsmSession, where: str, order: str) -> int | None:
    """The lowest (``ASC``) or highest (``DESC``) issue id ``where`` matches; None if none."""
    body = paging.get_json(
        session,
        SEARCH,
        {"jql": f"({where}) ORDER BY id {order}", "fields": "id", "maxResults": 1},
    )
    issues = body.get("issues") if isinstance(body, dict) else None
    if not issues:
        return None
    try:
        return int(issues[0]["id"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(
            200, "a search answered an issue without a numeric id", "GET", SEARCH
        ) from None


def windows_of(session: JsmSession, where: str, count: int, page: int) -> list[Window]:
    """The windows :func:`split` gives the ids ``where`` matches, between its lowest and
    highest (two requests of one id each, sent at once); empty when it matches none."""
    low, high = paging.at_once(
        lambda: edge_id(session, where, "ASC"), lambda: edge_id(session, where, "DESC")
    )
    if low is None or high is None:
        return []
    return split(min(low, high), max(low, high), count, page)


def search(
    session: JsmSession,
    where: str,
    *,
    descending: bool,
    fields: str,
    count: int,
    limit: int,
    concurrency: int,
    progress: bool | None,
    label: str,
    wait: bool = False,
) -> list[Record]:
    """Every issue ``where`` matches, fetched window by window, ``concurrency`` windows at
    a time, in id order (descending if ``descending``), each once.

    Parameters
    ----------
    session : JsmSession
        The signed-in session; it paces every request.
    where : str
        The JQL without ORDER BY (:func:`id_order`).
    descending : bool
        Give the issues in descending id order.
    fields : str
        The search's ``fields`` parameter.
    count : int
        The search's approximate count: it sizes the windows, and is the bar's total.
    limit : int
        The page size to ask for.
    concurrency : int
        Windows fetched at once, at most.
    progress, label, wait
        As for :func:`jsm_nb.paging.fetch`.

    Returns
    -------
    list of dict
        The issues' records.
    """
    windows = windows_of(session, where, count, limit)
    if not windows:
        return []
    if descending:
        windows.reverse()
    edges = [(window.low, window.high) for window in windows]
    found = key(
        session,
        SEARCH,
        {"jql": where, "fields": fields, "windows": edges},
        keys=None,
        style="windows",
        limit=limit,
        max_rows=None,
        kind=("windows", descending),
    )
    partial = CONTEXT.partials.take(found)
    done: dict[int, list[Record]] = {} if partial is None else partial.sink

    def attempt(at: int) -> tuple[int, list[Record] | None, ApiError | None]:
        params = {"jql": windows[at].jql(where, descending), "fields": fields}
        try:
            got = paging.fetch(
                session,
                SEARCH,
                params,
                cursor=True,
                limit=limit,
                concurrency=1,
                progress=False,
                label=label,
                wait=wait,
            )
        except ApiError as error:  # the window keeps its pages for the same call again
            return at, None, error
        return at, got, None

    seen: set[str] = set()
    failure: ApiError | None = None
    with (
        cost.metered(wait=wait) as meter,
        progress_bar.bar(progress, label, count, "rows", of_rows=True) as bar,
    ):
        if partial is not None:
            meter.add(partial.cost)
        for at in sorted(done):
            done[at] = _ordered(done[at], descending, seen)
            bar.update(len(done[at]))
        # After a failure no window is started, and those under way are finished and kept.
        left = (at for at in range(len(windows)) if at not in done and failure is None)
        try:
            for at, got, error in paging.ordered_map(attempt, left, concurrency, ordered=False):
                if got is None:
                    failure = failure or error
                    continue
                done[at] = _ordered(got, descending, seen)
                bar.update(len(done[at]))
            if failure is not None:
                raise failure
        except (ApiError, KeyboardInterrupt):
            rows = sum(len(got) for got in done.values())
            kept = Partial(done, rows, len(done), KeysDone(len(done)), meter.cost())
            CONTEXT.partials.save(found, kept)
            raise
    return [record for at in sorted(done) for record in done[at]]


def _ordered(found: Sequence[Record], descending: bool, seen: set[str]) -> list[Record]:
    """A window's records in id order, without those of ids in ``seen`` (which gets theirs)."""
    fresh = []
    for record in sorted(found, key=lambda r: int(r["id"]), reverse=descending):
        if record["id"] not in seen:
            seen.add(record["id"])
            fresh.append(record)
    return fresh
