"""The pagination engine: first against a scripted server, then the sandbox over HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
import requests

import jsm_nb
from jsm_nb import cost, paging
from jsm_nb.errors import ApiError
from jsm_nb.sandbox.server import normalise_path

# --- A scripted JSM listing, for what a real server cannot be made to do --------------------


def answer(body: Any, status: int = 200) -> requests.Response:
    """A JSON response to a GET of ``/x``."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    response.request = requests.Request("GET", "https://api.example/x").prepare()
    return response


class Listing:
    """A paged listing of ``rows`` rows whose page size is ``cap(start)`` at most."""

    def __init__(self, rows: int, cap: Callable[[int], int] = lambda start: 1000) -> None:
        self.rows = [{"n": n} for n in range(rows)]
        self.cap = cap
        self.asked: list[tuple[int, int]] = []
        self.lock = threading.Lock()

    def get(self, path: str, params: dict[str, Any], headers: Any = None) -> requests.Response:
        start, limit = params["start"], params["limit"]
        with self.lock:
            self.asked.append((start, limit))
        size = min(limit, self.cap(start))
        values = self.rows[start : start + size]
        last = start + size >= len(self.rows)
        return answer(
            {
                "start": start,
                "limit": size,
                "size": len(values),
                "isLastPage": last,
                "values": values,
            }
        )


def numbers(records: list[dict[str, Any]]) -> list[int]:
    return [r["n"] for r in records]


def test_a_capped_limit_is_seen_on_the_first_page_and_used_after_it() -> None:
    listing = Listing(100, cap=lambda start: 7)
    records = paging.fetch(listing, "/x", limit=50, concurrency=4)  # type: ignore[arg-type]
    assert numbers(records) == list(range(100))
    assert listing.asked[0] == (0, 50)
    assert {limit for _, limit in listing.asked[1:]} == {7}
    assert sorted(start for start, _ in listing.asked[1:])[:14] == list(range(7, 105, 7))


def test_a_page_size_that_changes_midway_loses_and_repeats_nothing() -> None:
    listing = Listing(300, cap=lambda start: 20 if start < 100 else 15)
    records = paging.fetch(listing, "/x", limit=20, concurrency=4)  # type: ignore[arg-type]
    assert numbers(records) == list(range(300))


def test_exactly_one_page_is_one_request() -> None:
    listing = Listing(30)
    records = paging.fetch(listing, "/x", limit=50, concurrency=4)  # type: ignore[arg-type]
    assert numbers(records) == list(range(30))
    assert listing.asked == [(0, 50)]


def test_a_full_last_page_ends_with_an_empty_last_one() -> None:
    listing = Listing(100)
    listing.get = _never_last(listing.get)  # type: ignore[method-assign]
    records = paging.fetch(listing, "/x", limit=50, concurrency=1)  # type: ignore[arg-type]
    assert numbers(records) == list(range(100))
    assert listing.asked == [(0, 50), (50, 50), (100, 50)]


def _never_last(get: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
    """Only an empty page says it is the last (some endpoints do that)."""

    def get_never_last(path: str, params: dict[str, Any], headers: Any = None) -> requests.Response:
        body = get(path, params, headers).json()
        return answer(body | {"isLastPage": not body["values"]})

    return get_never_last


def test_an_empty_page_that_is_not_the_last_raises_instead_of_looping() -> None:
    listing = Listing(10, cap=lambda start: 5 if start < 5 else 0)
    with pytest.raises(ApiError, match="empty page"):
        paging.fetch(listing, "/x", limit=5, concurrency=2)  # type: ignore[arg-type]


def test_max_rows_stops_early_and_asks_no_more_than_needed() -> None:
    listing = Listing(1000)
    records = paging.fetch(listing, "/x", limit=10, concurrency=4, max_rows=35)  # type: ignore[arg-type]
    assert numbers(records) == list(range(35))
    assert all(start < 35 for start, _ in listing.asked)
    assert paging.fetch(listing, "/x", max_rows=0) == []  # type: ignore[arg-type]


def test_into_is_given_each_page_as_it_comes_and_nothing_is_returned() -> None:
    pages: list[list[int]] = []
    listing = Listing(95, cap=lambda start: 10)
    kept = paging.fetch(
        listing,  # type: ignore[arg-type]
        "/x",
        limit=10,
        concurrency=3,
        max_rows=64,
        into=lambda page: pages.append(numbers(page)),
    )
    assert kept == []
    assert pages == [list(range(n, min(n + 10, 64))) for n in range(0, 64, 10)]


def test_a_failing_page_raises_and_nothing_is_returned() -> None:
    listing = Listing(100, cap=lambda start: 10)
    good = listing.get

    def get(path: str, params: dict[str, Any], headers: Any = None) -> requests.Response:
        if params["start"] == 50:
            return answer({"errorMessage": "boom"}, status=500)
        return good(path, params, headers)

    listing.get = get  # type: ignore[method-assign]
    with pytest.raises(ApiError):
        paging.fetch(listing, "/x", limit=10, concurrency=4)  # type: ignore[arg-type]


# --- The ordered, bounded map ----------------------------------------------------------------


class InFlight:
    """Work that notes how many items were running when each one started."""

    def __init__(self, on_start: Callable[[int], object] = lambda n: None) -> None:
        self.on_start = on_start
        self.running = 0
        self.at_start: dict[int, int] = {}
        self.lock = threading.Lock()

    def __call__(self, n: int) -> int:
        with self.lock:
            self.running += 1
            self.at_start[n] = self.running
        self.on_start(n)
        time.sleep(0.001 * (1 + n % 5))
        with self.lock:
            self.running -= 1
        return n


def test_ordered_map_keeps_order_and_never_exceeds_its_width() -> None:
    work = InFlight()
    assert list(paging.ordered_map(work, range(60), 4)) == list(range(60))
    assert 1 < max(work.at_start.values()) <= 4


def test_ordered_map_takes_items_only_as_room_frees_up() -> None:
    taken: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            taken.append(n)
            yield n
            n += 1

    results = paging.ordered_map(lambda n: n, endless(), 3)
    assert [next(results) for _ in range(5)] == [0, 1, 2, 3, 4]
    results.close()
    assert len(taken) <= 5 + 3


def test_ordered_map_raises_the_first_failure_in_order() -> None:
    def work(n: int) -> int:
        if n in (3, 7):
            raise ValueError(n)
        return n

    seen: list[int] = []
    with pytest.raises(ValueError, match="3"):
        seen.extend(paging.ordered_map(work, range(10), 4))
    assert seen == [0, 1, 2]


def test_ordered_map_not_ordered_yields_each_as_it_is_done() -> None:
    last_done = threading.Event()

    def work(n: int) -> int:
        if n == 0:  # done only once the last is: it must not hold the others' room
            last_done.wait(10)
        if n == 3:
            last_done.set()
        return n

    found = list(paging.ordered_map(work, range(4), 2, ordered=False))
    assert found[:2] == [1, 2]  # yielded while the first was still under way
    assert sorted(found) == [0, 1, 2, 3]


def test_ordered_map_needs_a_width_of_one_at_least() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(paging.ordered_map(lambda n: n, range(3), 0))


def test_ordered_map_runs_each_item_in_the_callers_context() -> None:
    seen: list[object] = []
    with cost.metered() as meter:
        list(paging.ordered_map(lambda n: seen.append(cost.current()), range(8), 4))
    assert {found.parent for found in seen} == {meter}  # one meter for the tasks, on the fetch's

    def one_request(n: int) -> None:
        current = cost.current()
        assert current is not None
        current.add(cost.Cost(requests=1))

    with cost.metered() as meter:
        list(paging.ordered_map(one_request, range(8), 4))
    assert meter.cost().requests == 8  # every thread's requests count on the fetch's meter


# --- Against the sandbox, over HTTP ---------------------------------------------------------

REQUESTS = "/rest/servicedeskapi/request"
SEARCH = "/rest/api/3/search/jql"
Factory = Callable[..., tuple[Any, jsm_nb.JsmSession]]


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["issueKey"] for r in records]


@pytest.fixture
def small(jsm_session_factory: Factory) -> tuple[Any, jsm_nb.JsmSession]:
    """A sandbox of 600 requests per site: 12 pages of /request at its cap of 50."""
    return jsm_session_factory(requests=600)


@pytest.fixture
def expected(small: tuple[Any, jsm_nb.JsmSession]) -> list[str]:
    """The keys of /request fetched one page at a time, the reference order."""
    sb, session = small
    found = keys(paging.fetch(session, REQUESTS, concurrency=1))
    sb.stats.reset()
    return found


def requests_made(sb: Any, path: str = REQUESTS) -> int:
    """How many requests the sandbox saw to the site path ``path``."""
    return int(sb.stats.requests_per_path[normalise_path(f"/ex/jira/any-site{path}")])


def test_sandbox_capped_limit_is_detected(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    records = paging.fetch(session, REQUESTS, limit=500, concurrency=4)
    assert keys(records) == expected
    assert len(expected) == 600 == len(set(expected))
    assert 12 <= requests_made(sb) <= 12 + 3  # + at most concurrency - 1 fetched past the end


def test_sandbox_exactly_one_page_is_one_request(small: tuple[Any, jsm_nb.JsmSession]) -> None:
    sb, session = small
    desks = paging.fetch(session, "/rest/servicedeskapi/servicedesk")
    assert [d["projectKey"] for d in desks] == ["ITH", "HR", "FAC", "CS"]
    assert requests_made(sb, "/rest/servicedeskapi/servicedesk") == 1


@pytest.mark.parametrize("concurrency", [2, 4, 8])
def test_sandbox_concurrency_keeps_order_without_duplicates(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str], concurrency: int
) -> None:
    sb, session = small
    sb.faults.latency = 0.005
    assert keys(paging.fetch(session, REQUESTS, concurrency=concurrency)) == expected


def test_sandbox_429_midway_is_waited_out_and_slows_that_endpoint(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    sb.faults.rate_limit(every=6, retry_after=1, paths="*/servicedeskapi/request")
    with cost.metered() as meter:
        records = paging.fetch(session, REQUESTS, concurrency=4)
    assert keys(records) == expected
    assert requests_made(sb) > 12  # the 429s were answered, and retried
    assert meter.throttle_waits
    assert set(meter.throttle_waits) == {1.0}  # Retry-After, as sent
    assert meter.cost().retries == len(meter.throttle_waits)
    buckets = session.pacer.snapshot()["sites"][session.site.id]["buckets"]  # type: ignore[union-attr]
    assert buckets["GET /rest/servicedeskapi/request"]["rate"] < 95  # AIMD's decrease
    assert buckets["GET /rest/servicedeskapi/request"]["throttled"] == len(meter.throttle_waits)


def test_sandbox_503_midway_is_retried(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    sb.faults.fail(status=503, every=5, paths="*/servicedeskapi/request")
    with cost.metered() as meter:
        assert keys(paging.fetch(session, REQUESTS, concurrency=4)) == expected
    assert meter.throttle_waits  # backoff without Retry-After


def test_sandbox_dropped_connections_are_retried(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    sb.faults.drop(every=4, paths="*/servicedeskapi/request")
    assert keys(paging.fetch(session, REQUESTS, concurrency=4)) == expected


def test_sandbox_failure_midway_raises_never_a_partial_result(
    small: tuple[Any, jsm_nb.JsmSession],
) -> None:
    sb, session = small
    sb.faults.fail(status=500, every=5, paths="*/servicedeskapi/request")
    with pytest.raises(ApiError) as raised:
        paging.fetch(session, REQUESTS, concurrency=4)
    assert raised.value.status == 500
    assert requests_made(sb) >= 5


def test_sandbox_max_rows_stops_early(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    records = paging.fetch(session, REQUESTS, concurrency=4, max_rows=120)
    assert keys(records) == expected[:120]
    assert requests_made(sb) <= 1 + 3  # the first page, then the pages up to row 120


def test_sandbox_jql_cursor_pages_through_every_issue(small: tuple[Any, jsm_nb.JsmSession]) -> None:
    sb, session = small
    params = {"jql": "project = ITH ORDER BY created ASC", "fields": "summary,created"}
    issues = paging.fetch(session, SEARCH, params, cursor=True, limit=40)
    found = [i["key"] for i in issues]
    assert len(found) == len(set(found)) > 40
    assert all(key.startswith("ITH-") for key in found)
    created = [i["fields"]["created"] for i in issues]
    assert requests_made(sb, SEARCH) == -(-len(found) // 40)
    assert created == sorted(created, key=pd.Timestamp)


def test_sandbox_jql_max_rows_stops_the_cursor(small: tuple[Any, jsm_nb.JsmSession]) -> None:
    sb, session = small
    params = {"jql": "project = ITH", "fields": "summary"}
    issues = paging.fetch(session, SEARCH, params, cursor=True, max_rows=30)
    assert len(issues) == 30
    assert requests_made(sb, SEARCH) == 1


def test_sandbox_many_keys_keep_their_order(
    small: tuple[Any, jsm_nb.JsmSession], expected: list[str]
) -> None:
    sb, session = small
    wanted = expected[::7]
    records = paging.fetch(session, REQUESTS + "/{key}/status", keys=wanted, concurrency=6)
    seen = list(dict.fromkeys(keys(records)))
    assert seen == wanted
    assert requests_made(sb, REQUESTS + "/ITH-1/status") == len(wanted)
