"""The one pagination engine: every page of a JSM or Jira listing, in order.

Two styles of paging exist:

* JSM's ``start``/``limit``/``isLastPage`` (:func:`fetch`). Each endpoint caps
  ``limit`` silently, so the first page is fetched alone: when it holds fewer
  rows than asked and is not the last, its size is the real page size. Later
  pages are then fetched ahead, ``concurrency`` at a time, and used in order;
  a page of another size than expected makes the engine start again from the
  first row it has not got, so no row is ever missed or repeated. Page URLs
  are built from ``start``/``limit``, never taken from ``_links``.
* Jira's ``nextPageToken`` cursor (``fetch(..., cursor=True)``), necessarily one
  page after another.

Pacing is not the engine's: every request goes through the app's
:class:`~jsm_nb.limits.Pacer` in the session (:mod:`jsm_nb.pacing`), shared by
every thread, which keeps the requests of all fetches under each endpoint's burst
rate and retries what Atlassian advises. ``concurrency`` only bounds the requests
in flight, so that latency is hidden.

Any failure raises: no helper ever returns a partial result (except, when fetching per
key, the one asked for with ``on_missing``: the keys whose listing does not exist are
left out). A fetch that stops
with an :class:`~jsm_nb.errors.ApiError` (a spent quota's
:class:`~jsm_nb.errors.RateLimited`, the network gone) or an interruption keeps
what it got in the process (:mod:`jsm_nb.resume`), and the same call made again
resumes from there: nothing is fetched twice, nothing lost. With ``wait=True`` a
spent quota is slept through instead, counted down on the progress bar.
"""

from __future__ import annotations

import collections
import contextlib
import numbers
import sys
from collections.abc import Callable, Generator, Hashable, Iterable, Mapping, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar
from urllib.parse import quote

from . import cost
from . import progress as progress_bar
from .answers import json_body
from .context import CONTEXT
from .errors import ApiError, InvalidArgument
from .resume import Cursor, KeysDone, Offset, Partial, Position, key

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .sessions import JsmSession

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LIMIT",
    "FetchOptions",
    "Sink",
    "at_once",
    "check_options",
    "collect",
    "cost_status",
    "fetch",
    "get_json",
    "ordered_map",
]

Record = dict[str, Any]
Params = Mapping[str, Any]
T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")
B = TypeVar("B")

DEFAULT_CONCURRENCY = 4
DEFAULT_LIMIT = 100  # asked for; each endpoint caps it at its own, unpublished maximum
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}


def get_json(
    session: JsmSession, path: str, params: Params | None = None, *, experimental: bool = False
) -> Any:
    """GET ``path`` and return its JSON body.

    Parameters
    ----------
    session : JsmSession
        The signed-in session (it retries throttled and failed GETs itself).
    path : str
        A site path such as ``/rest/servicedeskapi/servicedesk``, or a URL on the API host.
    params : mapping, optional
        The query parameters; a list value is sent as a repeated parameter.
    experimental : bool
        Send ``X-ExperimentalApi: opt-in``, which JSM's experimental endpoints require.

    Raises
    ------
    ApiError
        The answer was not a success, or not JSON.
    """
    headers = EXPERIMENTAL if experimental else None
    response = session.get(path, params=params, headers=headers)
    if not response.ok:
        raise ApiError.from_response(response)
    try:
        return json_body(response)
    except ValueError:  # a proxy's page, or a body cut short
        raise ApiError(
            response.status_code,
            "the answer is not Atlassian's JSON (cut short, or a proxy's page)",
            "GET",
            path,
        ) from None


_CONCURRENCY_ADVICE = (
    f"pass 1 to fetch one page at a time, or leave it out for {DEFAULT_CONCURRENCY}."
)


def _whole(name: str, value: object, least: int, advice: str) -> None:
    """Raise :class:`InvalidArgument` unless ``value`` is a whole number of at least ``least``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < least:
        raise InvalidArgument(
            f"{name} must be a whole number of at least {least}, got {value!r}: {advice}"
        )


def check_options(
    *,
    concurrency: object = DEFAULT_CONCURRENCY,
    max_rows: object = None,
    limit: object = DEFAULT_LIMIT,
) -> None:
    """Raise :class:`InvalidArgument` for options :func:`fetch` cannot use, before any request.

    ``concurrency`` and ``limit`` must be whole numbers of at least 1; ``max_rows``
    ``None`` or a whole number of at least 0.
    """
    _whole("concurrency", concurrency, 1, _CONCURRENCY_ADVICE)
    if max_rows is not None:
        _whole("max_rows", max_rows, 0, "pass the most rows you want, or None for all of them.")
    _whole(
        "limit", limit, 1, f"pass the page size to ask for, or leave it out for {DEFAULT_LIMIT}."
    )


def _page_values(body: Any, path: str) -> tuple[list[Record], bool]:
    """The values of a JSM page and whether it is the last; raises unless it is one."""
    if not isinstance(body, dict) or not isinstance(body.get("isLastPage"), bool):
        raise ApiError(200, "the answer is not a JSM page (no isLastPage)", "GET", path)
    return list(body.get("values") or ()), body["isLastPage"]


_END: Any = object()  # the end of ``items`` in ordered_map


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], width: int, *, ordered: bool = True
) -> Generator[R, None, None]:
    """``fn`` of each item, computed ``width`` at a time, yielded in order (or, when not
    ``ordered``, as each is done, so that a slow item never holds the others' room).

    Items are taken from ``items`` only as room frees up, so ``items`` may be
    endless. The first exception raised by ``fn`` (in the order yielded) is raised
    here. Closing the iterator early (or an exception) cancels what has not started, ends
    the rate-limit waits of what has (:meth:`~jsm_nb.cost.Meter.cancel`) and waits
    for it. Each ``fn`` runs in a copy of the caller's context, so the caller's
    :class:`~jsm_nb.cost.Meter` counts its requests.
    """
    if width < 1:
        raise ValueError(f"concurrency must be at least 1, got {width}")
    if width == 1:  # one at a time: no thread needed
        for item in items:
            yield fn(item)
        return
    pending: collections.deque[Future[R]] = collections.deque()
    source = iter(items)
    tasks = cost.Meter(cost.current())  # counts on the caller's meter; ends the tasks' waits
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="jsm_nb")
    try:
        while True:
            while len(pending) < width:
                item = next(source, _END)
                if item is _END:
                    break
                pending.append(pool.submit(cost.context_with(tasks).run, fn, item))
            if not pending:
                return
            if ordered:
                task = pending.popleft()
            else:
                futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                task = next(task for task in pending if task.done())
                pending.remove(task)
            yield task.result()
    finally:
        tasks.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def at_once(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """``first()`` and ``second()``, run at the same time (two requests in one round
    trip), as :func:`ordered_map` runs them: in the caller's context, and the first
    exception raised."""
    answers: list[Any] = list(ordered_map(lambda ask: ask(), (first, second), 2))
    return answers[0], answers[1]


Chunk = tuple[list[Record], Position]  # records, and where the listing goes on after them


def _offset_page(
    session: JsmSession, path: str, params: Params, start: int, limit: int, experimental: bool
) -> tuple[list[Record], bool]:
    """One JSM page: its values and whether it is the last."""
    body = get_json(
        session, path, {**params, "start": start, "limit": limit}, experimental=experimental
    )
    return _page_values(body, path)


def _offset_pages(
    session: JsmSession,
    path: str,
    params: Params,
    *,
    limit: int,
    stop: int,
    width: int,
    experimental: bool,
    resume: Offset | None = None,
) -> Generator[Chunk, None, None]:
    """Every JSM page's values up to row ``stop``, fetched ``width`` at a time, each with
    where the listing goes on; from ``resume`` on, when given."""
    if resume is None:
        start, step, probing = 0, min(limit, stop), True
    else:  # the page size is known already
        start, step, probing = resume.start, resume.step, False
    while True:
        # A run fetches pages of ``step`` rows from ``start``; the first run is one
        # page alone, to learn the endpoint's real page size before fetching ahead.
        starts = [start] if probing else range(start, stop, step)

        def page(at: int, size: int = step) -> tuple[list[Record], bool]:
            return _offset_page(session, path, params, at, size, experimental)

        with contextlib.closing(ordered_map(page, starts, width)) as pages:
            for values, is_last in pages:
                start += len(values)
                capped = len(values) != step and not is_last and start < stop
                yield values, Offset(start, len(values) if capped and values else step)
                if is_last or start >= stop:
                    return
                if not values:
                    raise ApiError(
                        200, f"an empty page at start={start} is not the last", "GET", path
                    )
                if capped:  # capped by the server: start again with its size
                    step = len(values)
                    break
        probing = False


def _cursor_pages(
    session: JsmSession,
    path: str,
    params: Params,
    *,
    limit: int,
    stop: int,
    resume: Cursor | None = None,
) -> Generator[Chunk, None, None]:
    """Every page of a Jira ``nextPageToken`` listing (``/rest/api/3/search/jql``), each
    with the token of the next; from ``resume``'s page on, when given."""
    token: str | None = None if resume is None else resume.token
    while True:
        cursor = {"nextPageToken": token} if token else {}
        body = get_json(session, path, {**params, **cursor, "maxResults": min(limit, stop)})
        token = body.get("nextPageToken")
        yield list(body.get("issues") or ()), Cursor(str(token or ""))
        if body.get("isLast", True) or not token:
            return


class Sink(Protocol):
    """What a fetch's records go to, a page (or a key) at a time, such as a
    :class:`~jsm_nb.frames.FrameBuilder`."""

    def add(self, records: list[Record]) -> None:
        """Take the next records."""


class _Records:
    """The records of a fetch, kept as they are."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, records: list[Record]) -> None:
        self.records.extend(records)


class _Calls:
    """The records of a fetch, each page given to a callable."""

    def __init__(self, into: Callable[[list[Record]], object]) -> None:
        self.into = into

    def add(self, records: list[Record]) -> None:
        self.into(records)


S = TypeVar("S", bound=Sink)


def cost_status(session: JsmSession, meter: cost.Meter) -> Callable[[], str]:
    """The bar's status: the requests made; the quota left and its reset, when known."""
    pacer = getattr(session, "pacer", None)
    site = getattr(getattr(session, "site", None), "id", None)

    def status() -> str:
        made = f"requests={meter.cost().requests:,}"
        quota = None if pacer is None or site is None else pacer.quota(site)
        if quota is None or quota.remaining is None:
            return made
        left = f"quota left={quota.remaining:,.0f}"
        if quota.reset_at is not None:
            left += f" until {quota.reset_at.astimezone():%H:%M}"
        return f"{made}, {left}"

    return status


def _deliver(
    chunks: Iterable[Chunk],
    sink: Sink,
    bar: progress_bar.Bar,
    state: dict[str, Any],
    max_rows: int | None,
) -> None:
    """Give ``sink`` the records of ``chunks``, at most ``max_rows`` in all, counting them
    in ``state`` (rows, steps, position) and on ``bar``; ``state["delivering"]`` is true
    while a chunk is half given."""
    for chunk, position in chunks:
        rows = state["rows"]
        if max_rows is not None and rows + len(chunk) > max_rows:
            chunk = chunk[: max_rows - rows]
        state["delivering"] = True
        sink.add(chunk)
        state.update(rows=rows + len(chunk), steps=state["steps"] + 1, position=position)
        state["delivering"] = False
        bar.update(len(chunk))
        if max_rows is not None and state["rows"] >= max_rows:
            break


class FetchOptions(TypedDict, total=False):
    """The options of :func:`fetch` and :func:`collect` (see :func:`fetch`)."""

    keys: Sequence[str] | None
    cursor: bool
    experimental: bool
    limit: int
    concurrency: int
    max_rows: int | None
    progress: bool | None
    label: str
    total: int | None
    wait: bool
    on_missing: Callable[[str], object] | None


def collect(
    session: JsmSession,
    path: str,
    params: Params | None = None,
    *,
    sink: Callable[[], S],
    kind: Hashable,
    **options: Unpack[FetchOptions],
) -> S:
    """Every record of a paged listing, in the server's order, given to a new ``sink()``.

    A call interrupted before (by :class:`~jsm_nb.errors.RateLimited`, another
    :class:`~jsm_nb.errors.ApiError`, or ``KeyboardInterrupt``) is resumed: the same
    call (same session, path, parameters, keys, page style, ``limit``, ``max_rows``
    and ``kind``) gets the interrupted call's sink back, with the rest of the records
    added. Parameters are those of :func:`fetch`, and:

    Parameters
    ----------
    sink : callable
        Makes the object the records go to (its ``add`` is given each page's, in order).
    kind : hashable
        What the sink makes of the records, so that a call resumes only a call of
        its own kind (``("frame", spec, fields)``).

    Returns
    -------
    Sink
        The sink, with every record added.
    """
    keys, cursor = options.get("keys"), options.get("cursor", False)
    limit, max_rows = options.get("limit", DEFAULT_LIMIT), options.get("max_rows")
    concurrency = options.get("concurrency", DEFAULT_CONCURRENCY)
    experimental, wait = options.get("experimental", False), options.get("wait", False)
    progress, label = options.get("progress"), options.get("label", "Records")
    on_missing, rows_total = options.get("on_missing"), options.get("total")
    check_options(concurrency=concurrency, max_rows=max_rows, limit=limit)
    stop = sys.maxsize if max_rows is None else max_rows
    params = dict(params or {})
    style = "keys" if keys is not None else "cursor" if cursor else "offset"
    found = key(
        session, path, params, keys=keys, style=style, limit=limit, max_rows=max_rows, kind=kind
    )
    partial = CONTEXT.partials.take(found)
    into: S = sink() if partial is None else partial.sink
    if stop <= 0:
        return into
    position = None if partial is None else partial.position
    earlier = cost.Cost() if partial is None else partial.cost

    def pages(at: str, width: int, resume: Position | None) -> Generator[Chunk, None, None]:
        if cursor:
            cursor_at = resume if isinstance(resume, Cursor) else None
            return _cursor_pages(session, at, params, limit=limit, stop=stop, resume=cursor_at)
        offset_at = resume if isinstance(resume, Offset) else None
        return _offset_pages(
            session,
            at,
            params,
            limit=limit,
            stop=stop,
            width=width,
            experimental=experimental,
            resume=offset_at,
        )

    def records_of(item: str) -> list[Record] | None:
        """The key's records; ``None`` when its listing does not exist and ``on_missing`` is set."""
        found_pages = pages(path.format(key=quote(item, safe="")), 1, None)
        try:
            return [{**record, "issueKey": item} for page, _ in found_pages for record in page]
        except ApiError as error:
            if on_missing is None or error.status != 404:
                raise
            return None

    def per_key(done: int) -> Generator[Chunk, None, None]:
        assert keys is not None
        chunks = ordered_map(records_of, keys[done:], concurrency)
        with contextlib.closing(chunks):
            for n, (item, records) in enumerate(zip(keys[done:], chunks, strict=True), done + 1):
                if records is None:
                    assert on_missing is not None
                    on_missing(item)  # a request deleted, mistyped or hidden from the user
                yield records or [], KeysDone(n)

    done = position.done if isinstance(position, KeysDone) else 0
    chunks = pages(path, concurrency, position) if keys is None else per_key(done)
    state: dict[str, Any] = {
        "rows": 0 if partial is None else partial.rows,
        "steps": 0 if partial is None else partial.steps,
        "position": position,
        "delivering": False,
    }
    with cost.metered(wait=wait) as meter:
        meter.add(earlier)
        total = len(keys) if keys is not None else rows_total
        if total is not None and max_rows is not None:
            total = min(total, max_rows)
        with (
            contextlib.closing(chunks),
            progress_bar.bar(
                progress,
                label,
                total,
                "rows" if keys is None else "requests",
                of_rows=keys is None,
                status=cost_status(session, meter),
                announce=wait,
            ) as bar,
        ):
            bar.resume(state["rows"], state["steps"])
            meter.countdown = bar.countdown
            try:
                _deliver(chunks, into, bar, state, max_rows)
            except (ApiError, KeyboardInterrupt):
                if state["position"] is not None and not state["delivering"]:
                    partial = Partial(
                        into, state["rows"], state["steps"], state["position"], meter.cost()
                    )
                    CONTEXT.partials.save(found, partial)
                raise
    return into


def fetch(
    session: JsmSession,
    path: str,
    params: Params | None = None,
    *,
    into: Callable[[list[Record]], object] | None = None,
    **options: Unpack[FetchOptions],
) -> list[Record]:
    """Every record of a paged listing, in the server's order.

    Parameters
    ----------
    session : JsmSession
        The signed-in session.
    path : str
        The listing's path, such as ``/rest/servicedeskapi/request``.
    params : mapping, optional
        Query parameters besides the paging ones.
    into : callable, optional
        Given each page's records (each key's, with ``keys``) in order, as they
        arrive, instead of their being returned.
    keys : sequence of str, optional
        Fetch one listing per key instead: ``path`` has a ``{key}`` placeholder
        (``/rest/servicedeskapi/request/{key}/sla``), the keys are fetched
        ``concurrency`` at a time, each one's pages in turn, and every record is
        given its key as ``issueKey``.
    cursor : bool
        Page with Jira's ``nextPageToken`` (its ``issues``) instead of JSM's
        ``start``/``limit`` (its ``values``).
    experimental : bool
        Send ``X-ExperimentalApi: opt-in``.
    limit : int
        The page size to ask for; the server may cap it.
    concurrency : int
        JSM pages (or keys) fetched at once, at most: the session paces them all
        under the endpoint's rate.
    max_rows : int, optional
        Stop after this many records.
    progress : bool, optional
        Show a progress bar when there is more than one page (or key): ``None``
        in interactive sessions only. With ``keys``, it counts the keys done.
    label : str
        The bar's label, in words ("Customer requests"): never text from the API,
        such as a key or a name.
    total : int, optional
        Without ``keys``: the rows expected (an estimate, such as a search's
        approximate count), which the bar counts towards.
    wait : bool
        When a spent quota (or a long ``Retry-After``) stops the fetch, sleep until
        it resets, counting down, instead of raising
        :class:`~jsm_nb.errors.RateLimited`.
    on_missing : callable, optional
        With ``keys``: given each key whose listing does not exist (HTTP 404: a
        request deleted, mistyped or hidden from the user), in order, and the
        other keys fetched; without it, the first such key raises.

    Returns
    -------
    list of dict
        Empty when ``into`` is given.

    Raises
    ------
    RateLimited
        A rate limit stops requests for longer than ``Config.wait_limit``: what was
        fetched is kept, and the same call made after the reset goes on from there.
    ApiError
        A page failed (after the session's retries): nothing is returned (what was
        fetched is kept for the same call, as for ``RateLimited``).
    InvalidArgument
        ``concurrency``, ``limit`` or ``max_rows`` is not a number it can use
        (:func:`check_options`); nothing is sent.
    """
    if into is not None:  # the same callable given again resumes
        collect(session, path, params, sink=lambda: _Calls(into), kind=("into", into), **options)
        return []
    return collect(session, path, params, sink=_Records, kind="records", **options).records
