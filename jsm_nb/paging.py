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

The session retries a 429 or 503 itself, honouring ``Retry-After``; it tells
the engine of each wait, and the engine then halves its concurrency and holds
back new requests until the wait is over. Any failure raises: no helper ever
returns a partial result, except the one asked for when fetching per key, which
skips the keys whose listing does not exist (``on_missing``).
"""

from __future__ import annotations

import collections
import contextlib
import numbers
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from . import progress as progress_bar
from .errors import ApiError, InvalidArgument

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_LIMIT",
    "Throttle",
    "check_options",
    "fetch",
    "get_json",
    "ordered_map",
]

Record = dict[str, Any]
Params = Mapping[str, Any]
T = TypeVar("T")
R = TypeVar("R")

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
        return response.json()
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


class Throttle:
    """The concurrency of one fetch, lowered each time the session is throttled.

    Register it in ``session.throttle_listeners`` (see :meth:`listening`); the
    session calls it with the seconds it waits after a 429 or 503.

    Parameters
    ----------
    width : int
        The number of requests in flight at most, at the start (at least 1).

    Raises
    ------
    InvalidArgument
        ``width`` is not a whole number of at least 1.
    """

    def __init__(self, width: int) -> None:
        _whole("concurrency", width, 1, _CONCURRENCY_ADVICE)
        self.width = int(width)
        self._resume_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, wait: float) -> None:
        """The session was throttled and waits ``wait`` seconds: halve the width, pause."""
        with self._lock:
            self.width = max(1, self.width // 2)
            self._resume_at = max(self._resume_at, time.monotonic() + wait)

    def hold(self) -> None:
        """Sleep until the last wait the session announced is over."""
        delay = self._resume_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    @contextlib.contextmanager
    def listening(self, session: JsmSession) -> Iterator[Throttle]:
        """Hear the session's throttle waits for the duration of the ``with`` block."""
        session.throttle_listeners.append(self)
        try:
            yield self
        finally:
            session.throttle_listeners.remove(self)


_END: Any = object()  # the end of ``items`` in ordered_map


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], throttle: Throttle
) -> Generator[R, None, None]:
    """``fn`` of each item, computed ``throttle.width`` at a time, yielded in order.

    Items are taken from ``items`` only as room frees up, so ``items`` may be
    endless. The first exception raised by ``fn`` (in order) is raised here.
    Closing the iterator early cancels what has not started and waits for what has.
    """
    if throttle.width == 1:  # one at a time: no thread needed
        for item in items:
            throttle.hold()
            yield fn(item)
        return
    pending: collections.deque[Future[R]] = collections.deque()
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=throttle.width, thread_name_prefix="jsm_nb")
    try:
        while True:
            while len(pending) < throttle.width:
                item = next(source, _END)
                if item is _END:
                    break
                throttle.hold()
                pending.append(pool.submit(fn, item))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
    throttle: Throttle,
    experimental: bool,
) -> Generator[list[Record], None, None]:
    """Every JSM page's values up to row ``stop``, fetched ahead as ``throttle`` allows."""
    start, step, probing = 0, min(limit, stop), True
    while True:
        # A run fetches pages of ``step`` rows from ``start``; the first run is one
        # page alone, to learn the endpoint's real page size before fetching ahead.
        starts = [start] if probing else range(start, stop, step)

        def page(at: int, size: int = step) -> tuple[list[Record], bool]:
            return _offset_page(session, path, params, at, size, experimental)

        with contextlib.closing(ordered_map(page, starts, throttle)) as pages:
            for values, is_last in pages:
                yield values
                start += len(values)
                if is_last or start >= stop:
                    return
                if not values:
                    raise ApiError(
                        200, f"an empty page at start={start} is not the last", "GET", path
                    )
                if len(values) != step:  # capped by the server: start again with its size
                    step = len(values)
                    break
        probing = False


def _cursor_pages(
    session: JsmSession, path: str, params: Params, *, limit: int, stop: int
) -> Generator[list[Record], None, None]:
    """Every page of a Jira ``nextPageToken`` listing (``/rest/api/3/search/jql``)."""
    token: str | None = None
    while True:
        cursor = {"nextPageToken": token} if token else {}
        body = get_json(session, path, {**params, **cursor, "maxResults": min(limit, stop)})
        yield list(body.get("issues") or ())
        token = body.get("nextPageToken")
        if body.get("isLast", True) or not token:
            return


def _collect(
    chunks: Generator[list[Record], None, None],
    into: Callable[[list[Record]], object],
    *,
    max_rows: int | None,
    progress: bool | None,
    label: str,
    total: int | None,
) -> None:
    """Give ``into`` the records of ``chunks``, at most ``max_rows``, counted on a progress bar.

    ``total`` is the number of chunks, when known (one per key); the bar then counts
    chunks, else rows. A failure or an interruption leaves the bar marked as such.
    """
    rows = 0
    with contextlib.closing(chunks), progress_bar.bar(progress, label, total) as bar:
        for chunk in chunks:
            if max_rows is not None and rows + len(chunk) > max_rows:
                chunk = chunk[: max_rows - rows]
            into(chunk)
            rows += len(chunk)
            bar.update(len(chunk))
            if max_rows is not None and rows >= max_rows:
                break


def fetch(
    session: JsmSession,
    path: str,
    params: Params | None = None,
    *,
    keys: Sequence[str] | None = None,
    cursor: bool = False,
    experimental: bool = False,
    limit: int = DEFAULT_LIMIT,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    label: str = "Records",
    into: Callable[[list[Record]], object] | None = None,
    on_missing: Callable[[str], object] | None = None,
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
        JSM pages (or keys) fetched at once; halved each time Atlassian throttles.
    max_rows : int, optional
        Stop after this many records.
    progress : bool, optional
        Show a progress bar when there is more than one page (or key): ``None``
        in interactive sessions only. With ``keys``, it counts the keys done.
    label : str
        The bar's label, in words ("Customer requests"): never text from the API,
        such as a key or a name.
    into : callable, optional
        Given each page's records (each key's, with ``keys``) in order, as they
        arrive, instead of their being returned: a
        :class:`~jsm_nb.frames.FrameBuilder`'s ``add`` keeps only what its
        frame needs.
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
    ApiError
        A page failed (after the session's retries): nothing is returned.
    InvalidArgument
        ``concurrency``, ``limit`` or ``max_rows`` is not a number it can use
        (:func:`check_options`); nothing is sent.
    """
    check_options(concurrency=concurrency, max_rows=max_rows, limit=limit)
    stop = sys.maxsize if max_rows is None else max_rows
    records: list[Record] = []
    if stop <= 0:
        return records
    params = dict(params or {})
    throttle = Throttle(concurrency)

    def pages(at: str, throttle: Throttle = throttle) -> Generator[list[Record], None, None]:
        if cursor:
            return _cursor_pages(session, at, params, limit=limit, stop=stop)
        return _offset_pages(
            session,
            at,
            params,
            limit=limit,
            stop=stop,
            throttle=throttle,
            experimental=experimental,
        )

    def records_of(key: str) -> list[Record] | None:
        """The key's records; ``None`` when its listing does not exist and ``on_missing`` is set."""
        found = pages(path.format(key=quote(key, safe="")), Throttle(1))
        try:
            return [{**record, "issueKey": key} for page in found for record in page]
        except ApiError as error:
            if on_missing is None or error.status != 404:
                raise
            return None

    def per_key(keys: Sequence[str]) -> Generator[list[Record], None, None]:
        """Each key's records in order; a missing key's are none, once told to ``on_missing``."""
        with contextlib.closing(ordered_map(records_of, keys, throttle)) as found:
            for key, records in zip(keys, found, strict=True):
                if records is None and on_missing is not None:
                    on_missing(key)
                yield records or []

    chunks = pages(path) if keys is None else per_key(keys)
    with throttle.listening(session):
        _collect(
            chunks,
            into or records.extend,
            max_rows=max_rows,
            progress=progress,
            label=label,
            total=None if keys is None else len(keys),
        )
    return records
