"""Atlassian's rate limits: reading the headers, pacing, the quota stop, retries, cost.

Pure logic with a simulated clock: no sockets, no real sleeps. The AIMD tests run
8 clients against a simulated server's token bucket of 20 requests per second for
a simulated minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import heapq
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3.util.retry import RequestHistory

from jsm_nb import limits
from jsm_nb.context import Context
from jsm_nb.cost import Cost, estimate_points
from jsm_nb.endpoints import documented_rate, endpoint
from jsm_nb.errors import ApiError, RateLimited
from jsm_nb.limits import Pacer, Verdict
from jsm_nb.ratelimit_headers import Entry, RateInfo, parse_time, read_headers, retry_after
from jsm_nb.retry import AtlassianRetry

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 26, 15, 30, tzinfo=UTC)  # the simulated wall clock at 0 s
SITE, OTHER_SITE = "3f1c2a4e-1111-2222-3333-444455556666", "9d8c7b6a-aaaa-bbbb-cccc-ddddeeeeffff"
REQUESTS = "/rest/servicedeskapi/request"
SLA = "/rest/servicedeskapi/request/ITH-1/sla"


class FakeClock:
    """Simulated time: ``sleep`` moves it on at once; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return START.timestamp() + self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pacer(clock: FakeClock) -> Pacer:
    return Pacer("client-id-123", clock=clock)


def server_date(clock: FakeClock) -> str:
    return email.utils.formatdate(clock.time(), usegmt=True)


# --- reading the headers ------------------------------------------------------------------------


def test_both_prefixes_and_the_structured_form_are_read() -> None:
    info = read_headers(
        {
            "X-RateLimit-Limit": "350",
            "X-RateLimit-Remaining": "12",
            "X-RateLimit-NearLimit": "true",
            "X-RateLimit-Reset": "2026-03-26T16:00Z",
            "Retry-After": "5",
            "RateLimit-Reason": "jira-burst-based",
            "RateLimit-Policy": '"global-app-quota";q=65000;w=3600',
            "RateLimit": '"global-app-quota";t=200;r=5000',
        },
        now=START.timestamp(),
    ).enforced
    assert (info.limit, info.remaining, info.near_limit) == (350, 12, True)
    assert info.reset_at == dt.datetime(2026, 3, 26, 16, 0, tzinfo=UTC)
    assert info.reset_in == 1800
    assert (info.retry_after, info.reason) == (5.0, "jira-burst-based")
    assert info.entries == (Entry("global-app-quota", 65000, 3600, 5000, 200),)
    assert info.entry("global") == info.entries[0]
    assert info.entry("tenant") is None


def test_beta_headers_alone_fill_only_the_beta_family() -> None:
    headers = read_headers(
        {
            "Beta-RateLimit-Policy": '"tenant-app-quota";q=100000;w=3600',
            "Beta-RateLimit": '"tenant-app-quota";r=40;t=60',
            "Beta-Retry-After": "60",
            "X-Beta-RateLimit-Limit": "100000",
            "X-Beta-RateLimit-Remaining": "40",
            "X-Beta-RateLimit-Reset": "2026-03-26T16:00:00Z",
            "X-Beta-RateLimit-NearLimit": "true",
            "X-Beta-RateLimit-Reason": "jira-quota-tenant-based",
        }
    )
    assert headers.enforced == RateInfo()
    beta = headers.beta
    assert (beta.limit, beta.remaining, beta.near_limit, beta.retry_after) == (100000, 40, True, 60)
    assert beta.reason == "jira-quota-tenant-based"
    assert beta.entries == (Entry("tenant-app-quota", 100000, 3600, 40, 60),)


def test_enforced_and_beta_headers_together_are_kept_apart() -> None:
    headers = read_headers(
        {
            "X-RateLimit-Limit": "400",
            "X-RateLimit-Remaining": "399",
            "X-Beta-RateLimit-Limit": "65000",
            "X-Beta-RateLimit-Remaining": "10",
            "RateLimit": '"jira-burst-based";r=399;t=1',
            "Beta-RateLimit": '"global-app-quota";r=0;t=100',
        }
    )
    assert (headers.enforced.limit, headers.enforced.remaining) == (400, 399)
    assert (headers.beta.limit, headers.beta.remaining) == (65000, 10)
    assert headers.enforced.entry("global") is None
    assert headers.beta.entry("global") == Entry("global-app-quota", remaining=0, reset=100)


def test_a_limit_without_its_policy_and_entries_in_any_order() -> None:
    info = read_headers(
        {
            "RateLimit-Policy": '"jira-burst-based";q=100;w=1, "global-app-quota";q=65000;w=3600',
            "RateLimit": '"global-app-quota";r=0;t=120, "tenant-app-quota";t=300;r=9,'
            ' "jira-burst-based";r=2;t=1',
        }
    ).enforced
    assert [e.name for e in info.entries] == [
        "jira-burst-based",
        "global-app-quota",
        "tenant-app-quota",
    ]
    assert info.entry("global") == Entry("global-app-quota", 65000, 3600, 0, 120)
    assert info.entry("tenant") == Entry("tenant-app-quota", None, None, 9, 300)
    assert (info.burst_limit, info.burst_remaining, info.near) == (100, 2, True)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-ratelimit-limit": "350", "x-ratelimit-remaining": "7", "ratelimit-reason": "JIRA-X"},
        {"X-RATELIMIT-LIMIT": "350", "X-RATELIMIT-REMAINING": "7", "RATELIMIT-REASON": "jira-x"},
        {"X-Ratelimit-Limit": "350", "x-RateLimit-remaining": "7", "Ratelimit-Reason": "Jira-X"},
    ],
)
def test_header_names_are_read_in_any_case(headers: dict[str, str]) -> None:
    info = read_headers(headers).enforced
    assert (info.limit, info.remaining, info.reason) == (350, 7, "jira-x")


def test_a_repeated_header_counts_as_one_list() -> None:
    pairs = [
        ("RateLimit", '"global-app-quota";r=10;t=60'),
        ("ratelimit", '"tenant-app-quota";r=5;t=60'),
        ("X-RateLimit-Limit", "350"),
        ("X-RateLimit-Limit", "350"),
    ]
    info = read_headers(pairs).enforced
    assert [e.name for e in info.entries] == ["global-app-quota", "tenant-app-quota"]
    assert info.limit == 350


GARBAGE = {
    "X-RateLimit-Limit": "lots",
    "X-RateLimit-Remaining": "-3",
    "X-RateLimit-NearLimit": "perhaps",
    "X-RateLimit-Reset": "tomorrow-ish",
    "Retry-After": "soon",
    "RateLimit-Reason": "Bearer eyJhbGciOi.secret",
    "RateLimit-Policy": ';;;==,"unterminated;q=abc',
    "RateLimit": '"global-app-quota";r=NaN;t=inf;q=-1, ,;',
}


def test_garbage_values_read_as_absent() -> None:
    info = read_headers(GARBAGE).enforced
    assert dataclasses.replace(info, entries=()) == RateInfo()
    assert all(
        (e.quota, e.window, e.remaining, e.reset) == (None, None, None, None) for e in info.entries
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-26T16:00Z", "2026-03-26T16:00:00+00:00"),
        ("2026-03-26T16:00:00Z", "2026-03-26T16:00:00+00:00"),
        ("2026-03-26T16:00:30.250Z", "2026-03-26T16:00:30.250000+00:00"),
        ("2026-03-26t16:00z", "2026-03-26T16:00:00+00:00"),
        ("2026-03-26T17:00+01:00", "2026-03-26T16:00:00+00:00"),
        ("2026-03-26T11:30:00-0430", "2026-03-26T16:00:00+00:00"),
        ("2026-03-26T16:00", "2026-03-26T16:00:00+00:00"),  # no zone: UTC
        ("2026-03-26 16:00:00 UTC", "2026-03-26T16:00:00+00:00"),
        ("Thu, 26 Mar 2026 16:00:00 GMT", "2026-03-26T16:00:00+00:00"),
        ("1774540800", "2026-03-26T16:00:00+00:00"),
        ("2026-13-45T99:00Z", None),
        ("16:00", None),
        ("", None),
        (None, None),
    ],
)
def test_reset_times_in_their_formats(value: str | None, expected: str | None) -> None:
    parsed = parse_time(value)
    assert (parsed.isoformat() if parsed else None) == expected


def test_relative_times_are_read_against_the_servers_date() -> None:
    server = START + dt.timedelta(minutes=10)  # the server's clock is 10 minutes ahead
    headers = {
        "Date": email.utils.format_datetime(server, usegmt=True),
        "Retry-After": email.utils.format_datetime(server + dt.timedelta(seconds=30), usegmt=True),
        "X-RateLimit-Reset": (server + dt.timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    info = read_headers(headers, now=START.timestamp()).enforced
    assert (info.retry_after, info.reset_in) == (30, 90)
    assert retry_after(headers, now=START.timestamp()) == 30


def test_the_gateways_own_429_is_recognised() -> None:
    headers = read_headers({"X-Failure-Category": "FAILURE CLIENT RATE LIMITED"})
    assert headers.gateway_limited
    assert not read_headers({"X-Failure-Category": "FAILURE CLIENT TIMEOUT"}).gateway_limited


# --- endpoint templates -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (SLA, "/rest/servicedeskapi/request/{key}/sla"),
        ("/rest/servicedeskapi/request/ITH-2/sla", "/rest/servicedeskapi/request/{key}/sla"),
        ("/rest/servicedeskapi/request/ith-2/sla/", "/rest/servicedeskapi/request/{key}/sla"),
        ("/rest/servicedeskapi/request/10042/comment", "/rest/servicedeskapi/request/{id}/comment"),
        (
            "/rest/servicedeskapi/servicedesk/3/queue/12/issue?start=50&limit=50",
            "/rest/servicedeskapi/servicedesk/{id}/queue/{id}/issue",
        ),
        ("/rest/api/3/issue/ABC-123/changelog", "/rest/api/3/issue/{key}/changelog"),
        ("/rest/api/2/search/jql", "/rest/api/2/search/jql"),
        ("/rest/agile/1.0/board/7/sprint", "/rest/agile/1.0/board/{id}/sprint"),
        (
            f"https://api.atlassian.com/ex/jira/{SITE}/rest/servicedeskapi/request/ITH-9",
            "/rest/servicedeskapi/request/{key}",
        ),
        (f"/ex/jira/{SITE}/rest/servicedeskapi/servicedesk", "/rest/servicedeskapi/servicedesk"),
        (f"/rest/servicedeskapi/knowledgebase/{SITE}", "/rest/servicedeskapi/knowledgebase/{id}"),
        ("/rest/api/3/user/5b10ac8d82e05b22cc7d4ef5/x", "/rest/api/3/user/{id}/x"),
        (
            "/rest/api/3/user/557058%3Af58131cb-b67d-43c7-b30d-6b58d40bd077",
            "/rest/api/3/user/{id}",
        ),
        ("/rest/servicedeskapi/organization/5/user", "/rest/servicedeskapi/organization/{id}/user"),
        ("/rest/api/3/search/approximate-count", "/rest/api/3/search/approximate-count"),
    ],
)
def test_paths_become_their_endpoint_template(path: str, template: str) -> None:
    assert endpoint(path) == template


def test_requests_of_one_template_share_a_bucket_and_no_other(pacer: Pacer) -> None:
    for path in (SLA, "/rest/servicedeskapi/request/ITH-2/sla", f"/ex/jira/{SITE}{SLA}"):
        pacer.acquire(SITE, "GET", path)
    pacer.acquire(SITE, "POST", SLA)
    pacer.acquire(OTHER_SITE, "GET", SLA)
    site = pacer.snapshot()["sites"][SITE]["buckets"]
    assert {key: bucket["sent"] for key, bucket in site.items()} == {
        "GET /rest/servicedeskapi/request/{key}/sla": 3,
        "POST /rest/servicedeskapi/request/{key}/sla": 1,
    }
    assert list(pacer.snapshot()["sites"][OTHER_SITE]["buckets"]) == [
        "GET /rest/servicedeskapi/request/{key}/sla"
    ]


# --- pacing -------------------------------------------------------------------------------------

CUSTOMERS = "/rest/servicedeskapi/servicedesk/3/customer"  # Atlassian publishes 5/s for it


def test_below_the_rate_acquire_returns_at_once(pacer: Pacer, clock: FakeClock) -> None:
    for _ in range(20):
        pacer.acquire(SITE, "GET", CUSTOMERS)
        clock.now += 0.25  # 4 a second, under the 5/s x 0.95 allowed
    assert clock.slept == []


def test_above_the_rate_acquire_waits_for_each_token(pacer: Pacer, clock: FakeClock) -> None:
    rate = 5 * limits.SAFETY
    for _ in range(40):
        pacer.acquire(SITE, "GET", CUSTOMERS)
    # A quarter second's worth of tokens to start with (1.1875), then one every 1/rate
    # seconds: never sooner, never later.
    assert clock.now == pytest.approx((40 - rate / 4) / rate)
    assert max(clock.slept) <= 1 / rate + 1e-9


def test_an_announced_limit_lowers_the_rate(pacer: Pacer, clock: FakeClock) -> None:
    pacer.observe(SITE, "GET", REQUESTS, 200, {"X-RateLimit-Limit": "10"})
    bucket = pacer.snapshot()["sites"][SITE]["buckets"][f"GET {REQUESTS}"]
    assert bucket["ceiling"] == bucket["rate"] == 10 * limits.SAFETY
    start = clock.now
    for _ in range(100):
        pacer.acquire(SITE, "GET", REQUESTS)
    assert clock.now - start == pytest.approx((100 - 2.375) / 9.5, rel=0.02)


def test_the_bucket_never_holds_more_than_the_server_says_remain(
    pacer: Pacer, clock: FakeClock
) -> None:
    pacer.observe(SITE, "GET", REQUESTS, 200, {"X-RateLimit-Remaining": "2"})
    for _ in range(3):  # a full bucket would hold 23; the server has 2 left
        pacer.acquire(SITE, "GET", REQUESTS)
    assert clock.now == pytest.approx(1 / (100 * limits.SAFETY))


def _rate(pacer: Pacer, path: str = REQUESTS, site: str = SITE, method: str = "GET") -> float:
    """The bucket's rate (to the snapshot's 3 decimals); Atlassian's published rate until used."""
    buckets = pacer.snapshot()["sites"].get(site, {}).get("buckets", {})
    published = {"rate": documented_rate(method, endpoint(path)) * limits.SAFETY}
    return float(buckets.get(f"{method} {endpoint(path)}", published)["rate"])


def near(value: float) -> Any:
    return pytest.approx(value, abs=1e-3)


def test_aimd_decreases_on_a_warning_once_a_window_and_increases_after_quiet_ones(
    pacer: Pacer, clock: FakeClock
) -> None:
    pacer.observe(SITE, "GET", REQUESTS, 200, {"X-RateLimit-Limit": "20"})
    assert _rate(pacer) == near(19)
    warning = {
        "X-RateLimit-Limit": "20",
        "X-RateLimit-Remaining": "15",
        "X-RateLimit-NearLimit": "1",
    }
    pacer.observe(SITE, "GET", REQUESTS, 200, warning)
    pacer.observe(SITE, "GET", REQUESTS, 200, warning)  # the same window: no second decrease
    assert _rate(pacer) == near(19 * limits.BACKOFF_ON_NEAR_LIMIT)
    clock.now += 1.0
    low = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "3"}  # under a fifth left
    pacer.observe(SITE, "GET", REQUESTS, 200, low)
    assert _rate(pacer) == near(19 * limits.BACKOFF_ON_NEAR_LIMIT**2)
    before = _rate(pacer)
    for _ in range(3):
        clock.now += 1.0
        pacer.observe(SITE, "GET", REQUESTS, 200, {"X-RateLimit-Remaining": "18"})
    assert _rate(pacer) == near(before + 3 * limits.INCREASE)
    for _ in range(30):
        clock.now += 1.0
        pacer.observe(SITE, "GET", REQUESTS, 200, {})
    assert _rate(pacer) == near(19)  # never above the ceiling


def test_beta_warnings_are_informational(pacer: Pacer) -> None:
    before = _rate(pacer)
    beta = {
        "X-Beta-RateLimit-NearLimit": "true",
        "X-Beta-RateLimit-Limit": "5",
        "Beta-RateLimit": '"global-app-quota";r=0;t=900',
    }
    pacer.observe(SITE, "GET", REQUESTS, 200, beta)
    assert _rate(pacer) == before
    pacer.acquire(OTHER_SITE, "GET", REQUESTS)  # no quota stop
    quota = pacer.quota(SITE)
    assert quota.beta is not None
    assert quota.beta.near_limit
    assert quota.spent_until is None


def test_a_burst_429_slows_that_endpoint_only(pacer: Pacer, clock: FakeClock) -> None:
    for path in (REQUESTS, SLA):
        pacer.acquire(SITE, "GET", path)
    burst = {"Retry-After": "3", "RateLimit-Reason": "jira-burst-based", "X-RateLimit-Limit": "40"}
    assert pacer.observe(SITE, "GET", SLA, 429, burst) == Verdict.retry_after(3, "jira-burst-based")
    assert _rate(pacer, SLA) == near(40 * limits.SAFETY * limits.BACKOFF_ON_429)
    assert _rate(pacer, REQUESTS) == near(100 * limits.SAFETY)
    pacer.acquire(SITE, "GET", REQUESTS)
    assert clock.slept == []
    pacer.acquire(SITE, "GET", "/rest/servicedeskapi/request/ITH-7/sla")
    assert clock.now == 3  # Retry-After, not cut short, not stretched


# --- AIMD against a simulated server --------------------------------------------------------------


class SimulatedServer:
    """Atlassian's burst bucket: ``rate`` requests per second, ``capacity`` at most."""

    def __init__(self, rate: float = 20, capacity: float = 20, *, limit_headers: bool = True):
        self.rate, self.capacity, self.tokens, self.at = rate, capacity, capacity, 0.0
        self.limit_headers = limit_headers

    def answer(self, now: float) -> tuple[int, dict[str, str]]:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        served = self.tokens >= 1
        self.tokens -= served
        left = int(self.tokens)
        headers = {"X-RateLimit-NearLimit": str(left < 0.2 * self.capacity).lower()}
        if self.limit_headers:
            headers |= {
                "X-RateLimit-Limit": str(int(self.rate)),
                "X-RateLimit-Remaining": str(left),
            }
        if not served:
            headers |= {"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"}
        return (200 if served else 429), headers


def simulate(
    server: SimulatedServer, processes: int, threads: int, *, seconds: float = 60.0
) -> list[tuple[float, int, int]]:
    """``processes`` pacers of ``threads`` clients each, requesting as fast as their pacer lets
    them, 100 ms a round trip; returns (time, process, status) of every answer."""
    clock = FakeClock()
    pacers = [Pacer("app", clock=clock) for _ in range(processes)]
    events: list[tuple[float, int, str, int, Any]] = []
    answers: list[tuple[float, int, int]] = []
    for n in range(processes * threads):
        heapq.heappush(events, (0.0, n, "acquire", n % processes, None))
    order = processes * threads
    while events:
        now, _, step, process, answer = heapq.heappop(events)
        if now > seconds:
            break
        clock.now = now
        pacer = pacers[process]
        if step == "acquire":
            wait = pacer.try_acquire(SITE, "GET", REQUESTS)
            step, later, answer = ("arrive", 0.05, None) if wait == 0 else ("acquire", wait, None)
        elif step == "arrive":
            step, later, answer = "answer", 0.05, server.answer(now)
        else:
            status, headers = answer
            pacer.observe(SITE, "GET", REQUESTS, status, headers)
            answers.append((now, process, status))
            step, later, answer = "acquire", 0.0, None
        order += 1
        heapq.heappush(events, (now + later, order, step, process, answer))
    return answers


def served(answers: list[tuple[float, int, int]], since: float, process: int | None = None) -> int:
    return sum(
        1 for at, p, status in answers if at >= since and status == 200 and process in (None, p)
    )


def throttled(answers: list[tuple[float, int, int]], since: float = 0.0) -> int:
    return sum(1 for at, _, status in answers if at >= since and status == 429)


def test_eight_threads_stay_under_the_servers_bucket_at_90_percent_of_it() -> None:
    answers = simulate(SimulatedServer(rate=20), processes=1, threads=8)
    # The first answer's X-RateLimit-Limit sets the ceiling: no 429 at all after it.
    assert throttled(answers) == 0
    assert served(answers, since=10) >= 0.9 * 20 * 50


def test_without_announced_limits_near_limit_warnings_alone_converge() -> None:
    answers = simulate(SimulatedServer(rate=20, limit_headers=False), processes=1, threads=8)
    first = min(at for at, _, status in answers if status == 429)
    assert first < 1  # Atlassian's published 100/s is too fast for this server...
    assert throttled(answers, since=10) == 0  # ... until the rate has come down
    assert served(answers, since=10) >= 0.9 * 20 * 50


def test_two_processes_sharing_a_bucket_converge_to_fair_shares() -> None:
    answers = simulate(SimulatedServer(rate=20), processes=2, threads=4)
    shares = [served(answers, since=20, process=p) for p in (0, 1)]
    assert sum(shares) >= 0.9 * 20 * 40
    assert min(shares) >= 0.8 * max(shares)
    assert throttled(answers, since=10) == 0


# --- the quota stop -----------------------------------------------------------------------------


def quota_429(pool: str = "global", retry: float = 1800, **more: str) -> dict[str, str]:
    return {
        "Retry-After": str(retry),
        "X-RateLimit-Limit": "65000",
        "X-RateLimit-Remaining": "0",
        "RateLimit-Reason": f"jira-quota-{pool}-based",
        **more,
    }


def test_a_global_quota_429_stops_every_endpoint_of_every_site(
    pacer: Pacer, clock: FakeClock
) -> None:
    verdict = pacer.observe(SITE, "GET", REQUESTS, 429, quota_429())
    assert verdict == Verdict.quota_exhausted(
        START + dt.timedelta(seconds=1800), "global", "jira-quota-global-based", 1800
    )
    for site, method, path in [
        (SITE, "GET", REQUESTS),
        (SITE, "GET", SLA),
        (SITE, "POST", "/rest/servicedeskapi/request/ITH-1/comment"),
        (OTHER_SITE, "GET", "/rest/api/3/search/jql"),
    ]:
        with pytest.raises(RateLimited) as raised:
            pacer.acquire(site, method, path)
        assert raised.value.pool == "global"
        assert raised.value.reset_at == START + dt.timedelta(seconds=1800)
        assert isinstance(raised.value, ApiError)
        assert raised.value.status == 429
    assert pacer.try_acquire(OTHER_SITE, "GET", REQUESTS) == 1800  # nothing was sent
    assert clock.slept == []
    quota = pacer.quota(OTHER_SITE)
    assert (quota.pool, quota.limit, quota.remaining) == ("global", 65000, 0)


def test_a_tenant_quota_429_stops_that_site_only(pacer: Pacer) -> None:
    pacer.name_site(SITE, "ith")
    verdict = pacer.observe(SITE, "GET", REQUESTS, 429, quota_429("tenant", 600))
    assert (verdict.action, verdict.pool) == ("quota", "tenant")
    with pytest.raises(RateLimited) as raised:
        pacer.acquire(SITE, "GET", SLA)
    assert (raised.value.pool, raised.value.site) == ("tenant", f"ith ({SITE})")
    pacer.acquire(OTHER_SITE, "GET", SLA)
    assert pacer.quota(SITE).spent_until == START + dt.timedelta(seconds=600)
    assert pacer.quota(OTHER_SITE).spent_until is None


def test_a_quota_429_is_never_retried(pacer: Pacer) -> None:
    for attempt in (1, 2):
        assert pacer.observe(SITE, "GET", REQUESTS, 429, quota_429(), attempt=attempt).action == (
            "quota"
        )


def test_a_short_stop_is_waited_out_to_the_second(pacer: Pacer, clock: FakeClock) -> None:
    clock.now = 0.4
    verdict = pacer.observe(SITE, "GET", REQUESTS, 429, quota_429(retry=42))
    assert verdict.reset_at == START + dt.timedelta(seconds=43)  # shown rounded up, never early
    reports: list[float] = []
    pacer.acquire(OTHER_SITE, "GET", SLA, countdown=reports.append)
    assert clock.now == pytest.approx(42.4)
    assert reports[0] == 42
    assert reports[-1] == 0
    assert reports == sorted(reports, reverse=True)


def test_wait_true_sleeps_through_a_long_stop_with_a_countdown(
    pacer: Pacer, clock: FakeClock
) -> None:
    pacer.observe(SITE, "GET", REQUESTS, 429, quota_429(retry=1800))
    reports: list[float] = []
    pacer.acquire(SITE, "GET", REQUESTS, wait=True, countdown=reports.append)
    assert clock.now == pytest.approx(1800)
    assert max(clock.slept) <= limits.STEP
    assert len(reports) == 1801


def test_the_latest_of_retry_after_reset_and_t_is_the_reset(pacer: Pacer, clock: FakeClock) -> None:
    reset = (START + dt.timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%MZ")
    extra = {"Date": server_date(clock), "X-RateLimit-Reset": reset}
    headers = quota_429(retry=300, RateLimit='"global-app-quota";r=0;t=1200', **extra)
    assert pacer.observe(SITE, "GET", REQUESTS, 429, headers).wait == 1200
    later = Pacer(clock=clock)
    headers = quota_429(retry=300, RateLimit='"global-app-quota";r=0;t=120', **extra)
    assert later.observe(SITE, "GET", REQUESTS, 429, headers).wait == 600


def test_a_quota_429_saying_nothing_of_time_lasts_until_the_top_of_the_hour(
    pacer: Pacer,
) -> None:
    verdict = pacer.observe(
        SITE, "GET", REQUESTS, 429, {"RateLimit-Reason": "jira-quota-global-based"}
    )
    assert verdict.reset_at == dt.datetime(2026, 3, 26, 16, 0, tzinfo=UTC)


def test_r_0_with_the_policy_gone_stops_the_pool_before_a_429(pacer: Pacer) -> None:
    pacer.observe(
        SITE,
        "GET",
        REQUESTS,
        200,
        {
            "RateLimit-Policy": '"global-app-quota";q=65000;w=3600',
            "RateLimit": '"global-app-quota";t=900',
        },
    )
    assert pacer.observe(
        SITE, "GET", REQUESTS, 200, {"RateLimit": '"global-app-quota";r=0;t=900'}
    ) == (Verdict.ok())
    quota = pacer.quota(OTHER_SITE)
    assert (quota.pool, quota.limit, quota.remaining) == ("global", 65000, 0)
    with pytest.raises(RateLimited) as raised:
        pacer.acquire(OTHER_SITE, "GET", REQUESTS)
    assert raised.value.retry_after == 900


def test_a_low_quota_is_spread_until_its_reset(pacer: Pacer, clock: FakeClock) -> None:
    low = {"RateLimit": '"tenant-app-quota";r=100;t=100'}  # 1 point a second
    pacer.observe(SITE, "GET", REQUESTS, 200, low, points=10)
    pacer.acquire(SITE, "GET", REQUESTS)
    assert clock.now == pytest.approx(10)
    pacer.acquire(OTHER_SITE, "GET", REQUESTS)  # another site's pool is not low
    assert clock.now == pytest.approx(10)
    pacer.observe(
        SITE, "GET", REQUESTS, 200, {"RateLimit": '"tenant-app-quota";r=45;t=90'}, points=51
    )
    with pytest.raises(RateLimited) as raised:  # 102 s for the next request: not waited
        pacer.acquire(SITE, "GET", REQUESTS)
    assert not raised.value.spent
    assert raised.value.retry_after == pytest.approx(90)
    assert "nearly spent" in str(raised.value)


# --- unknown reasons, the gateway, per-issue writes ---------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "4", "RateLimit-Reason": "jira-cost-based"}, ("retry", 4.0, None)),
        ({"Retry-After": "4"}, ("retry", 4.0, None)),
        ({"Retry-After": "1847", "RateLimit-Reason": "jira-cost-based"}, ("quota", 1847, "tenant")),
        ({"Retry-After": "1847"}, ("quota", 1847, "tenant")),
        ({"Retry-After": "900", "RateLimit": '"global-app-quota";r=0'}, ("quota", 900, "global")),
        ({"Retry-After": "1847", "RateLimit-Reason": "jira-burst-based"}, ("retry", 1847, None)),
    ],
)
def test_429s_without_a_known_reason_wait_then_retry_or_stop_when_long(
    pacer: Pacer, headers: dict[str, str], expected: tuple[str, float, str | None]
) -> None:
    verdict = pacer.observe(SITE, "GET", REQUESTS, 429, headers)
    assert (verdict.action, verdict.wait, verdict.pool) == expected


def test_a_burst_429_asking_for_an_hour_is_not_waited_silently(pacer: Pacer) -> None:
    pacer.observe(
        SITE, "GET", SLA, 429, {"Retry-After": "3600", "RateLimit-Reason": "jira-burst-based"}
    )
    with pytest.raises(RateLimited) as raised:
        pacer.acquire(SITE, "GET", SLA)
    assert raised.value.pool == "endpoint"
    pacer.acquire(SITE, "GET", REQUESTS)


def test_a_429_without_retry_after_backs_off(pacer: Pacer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits.random, "uniform", lambda low, high: 1.0)
    assert pacer.observe(SITE, "GET", REQUESTS, 429, {}, attempt=3) == Verdict.retry_after(8)


def test_the_gateways_429_waits_until_its_reset(pacer: Pacer, clock: FakeClock) -> None:
    headers = {
        "X-Failure-Category": "FAILURE CLIENT RATE LIMITED",
        "X-Ratelimit-Limit": "360000",
        "X-Ratelimit-Remaining": "0",
        "Date": server_date(clock),
        "X-RateLimit-Reset": (START + dt.timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert pacer.observe(SITE, "GET", REQUESTS, 429, headers) == Verdict.retry_after(
        40, "gateway-rate-limited"
    )
    headers["X-RateLimit-Reset"] = (START + dt.timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%MZ")
    verdict = Pacer(clock=clock).observe(SITE, "GET", REQUESTS, 429, headers)
    assert (verdict.action, verdict.wait) == ("quota", 1200)


def test_a_per_issue_429_spaces_out_writes_to_that_issue(pacer: Pacer, clock: FakeClock) -> None:
    comment = "/rest/servicedeskapi/request/ITH-1/comment"
    per_issue = {"Retry-After": "2", "RateLimit-Reason": "jira-per-issue-on-write"}
    assert pacer.observe(SITE, "POST", comment, 429, per_issue).action == "ok"  # POST: not retried
    pacer.acquire(SITE, "POST", "/rest/servicedeskapi/request/ITH-2/comment")
    pacer.acquire(SITE, "GET", SLA)
    assert clock.now == 0
    pacer.acquire(SITE, "PUT", "/rest/api/3/issue/ITH-1")
    assert clock.now == 2


# --- retries ------------------------------------------------------------------------------------


def test_backoff_is_2_4_8_16_seconds_with_jitter() -> None:
    assert [limits.backoff(n, jitter=lambda low, high: 1.0) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert [limits.backoff(n, jitter=min) for n in (1, 2, 3, 4)] == [1.4, 2.8, 5.6, 11.2]
    assert [limits.backoff(n, jitter=max) for n in (1, 2, 3, 4)] == [2.6, 5.2, 10.4, 20.8]
    assert limits.backoff(6, jitter=max) == limits.BACKOFF_CAP
    assert all(1.4 <= limits.backoff(1) <= 2.6 for _ in range(200))
    with pytest.raises(ValueError, match="from 1"):
        limits.backoff(0)


def test_the_sessions_retry_backs_off_by_the_same_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits.random, "uniform", lambda low, high: high)
    retry = AtlassianRetry(total=4, backoff_factor=2.0)
    waits = []
    for _ in range(4):
        retry = retry.new(history=(*retry.history, RequestHistory("GET", "/", None, 429, None)))
        waits.append(retry.get_backoff_time())
    assert waits == [limits.backoff(n, jitter=max) for n in (1, 2, 3, 4)]


def test_retries_are_for_idempotent_methods_four_times(pacer: Pacer) -> None:
    burst = {"Retry-After": "1", "RateLimit-Reason": "jira-burst-based"}
    assert pacer.observe(SITE, "GET", REQUESTS, 429, burst, attempt=4).action == "retry"
    assert pacer.observe(SITE, "GET", REQUESTS, 429, burst, attempt=5).action == "ok"
    assert pacer.observe(SITE, "POST", REQUESTS, 429, burst).action == "ok"
    assert pacer.observe(SITE, "PUT", REQUESTS, 429, burst).action == "retry"


def test_a_503_with_retry_after_is_waited_and_slows_the_endpoint(
    pacer: Pacer, clock: FakeClock
) -> None:
    before = _rate(pacer)
    assert pacer.observe(SITE, "GET", REQUESTS, 503, {"Retry-After": "7"}) == Verdict.retry_after(7)
    assert _rate(pacer) == near(before * limits.BACKOFF_ON_429)
    pacer.acquire(SITE, "GET", REQUESTS)
    assert clock.now == 7


def test_garbage_retry_after_means_the_usual_backoff(pacer: Pacer) -> None:
    verdict = pacer.observe(SITE, "GET", REQUESTS, 503, {"Retry-After": "inf"}, attempt=1)
    assert verdict.action == "retry"
    assert 1.4 <= verdict.wait <= 2.6


# --- RateLimited ----------------------------------------------------------------------------------


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is New York's (EDT on 26 March 2026: UTC-4)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is needed to set the local time zone")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("new_york")
def test_rate_limited_says_when_in_local_time_and_utc_which_pool_and_what_to_do(
    pacer: Pacer,
) -> None:
    headers = quota_429(retry=1800, Authorization="Bearer eyJtoken-that-must-not-leak")
    pacer.observe(SITE, "GET", REQUESTS, 429, headers)
    with pytest.raises(RateLimited) as raised:
        pacer.acquire(OTHER_SITE, "GET", SLA)
    error = raised.value
    text = str(error)
    assert 2 <= len(text.splitlines()) <= 3
    assert "12:00:00 EDT (16:00:00 UTC)" in text
    assert "in 30 min 0 s" in text
    assert "app client-id-123" in text
    assert "global pool, shared by every site" in text
    assert "Re-run after 12:00:00, or pass wait=True" in text
    assert "eyJ" not in text
    assert "eyJ" not in repr(error.args)
    assert (error.reset_at, error.pool, error.reason, error.retry_after) == (
        dt.datetime(2026, 3, 26, 16, 0, tzinfo=UTC),
        "global",
        "jira-quota-global-based",
        1800,
    )


def test_a_reason_that_is_not_a_short_name_is_not_repeated(pacer: Pacer) -> None:
    pacer.observe(
        SITE, "GET", REQUESTS, 429, {"Retry-After": "600", "RateLimit-Reason": "<b>x</b> y"}
    )
    with pytest.raises(RateLimited) as raised:
        pacer.acquire(SITE, "GET", REQUESTS)
    assert raised.value.reason is None
    assert "<b>" not in str(raised.value)
    assert "site 3f1c2a4e" in str(raised.value)


@pytest.mark.parametrize(
    ("zone", "shown"), [("UTC", "14:00:00 UTC, in"), ("Asia/Tokyo", "23:00:00 JST (14:00:00 UTC)")]
)
def test_rate_limited_says_the_reset_once_in_utc_and_also_in_utc_elsewhere(
    zone: str, shown: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        reset = dt.datetime(2026, 3, 26, 14, 0, tzinfo=UTC)
        error = RateLimited(reset_at=reset, pool="global", reason=None, retry_after=60)
        assert shown in str(error)
        assert str(error).count("UTC") == 1
    finally:
        monkeypatch.undo()
        time.tzset()


def test_rate_limited_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        RateLimited(reset_at=dt.datetime(2026, 3, 26), pool="global", reason=None, retry_after=1)


# --- waiting ------------------------------------------------------------------------------------


def test_wait_until_sleeps_in_steps_to_the_reset_and_counts_down(clock: FakeClock) -> None:
    reports: list[float] = []
    limits.wait_until(START + dt.timedelta(seconds=5.5), countdown=reports.append, clock=clock)
    assert reports == [5.5, 4.5, 3.5, 2.5, 1.5, 0.5, 0.0]
    assert clock.now == pytest.approx(5.5)


def test_wait_until_is_not_cut_short_by_the_wall_clock_jumping(clock: FakeClock) -> None:
    class Jumping(FakeClock):
        def time(self) -> float:
            return super().time() + (0 if self.now == 0 else 3600)  # set forward an hour

    jumping = Jumping()
    limits.wait_until(START + dt.timedelta(seconds=30), clock=jumping)
    assert jumping.now == pytest.approx(30)
    limits.wait_until(START - dt.timedelta(seconds=30), clock=clock)
    assert clock.slept == []
    with pytest.raises(ValueError, match="aware"):
        limits.wait_until(dt.datetime(2026, 3, 26), clock=clock)


# --- cost ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "records", "points"),
    [
        ("GET", "/rest/api/3/issue/ABC-123", [{"key": "ABC-123"}], 2),  # Atlassian's examples
        ("GET", "/rest/api/3/group/member", [{}] * 8, 17),
        ("POST", "/rest/api/3/issue", [{}], 1),
        ("GET", "/rest/servicedeskapi/request", [{}] * 50, 51),
        ("GET", SLA, [{}] * 3, 4),
        ("GET", "/rest/servicedeskapi/request/ITH-1/comment", [{}] * 10, 11),
        ("GET", "/rest/servicedeskapi/request/ITH-1/attachment", [{}] * 2, 3),
        ("GET", "/rest/servicedeskapi/servicedesk/3/customer", [{}] * 10, 21),
        ("GET", "/rest/servicedeskapi/organization/5/user", [{}] * 4, 9),
        ("GET", "/rest/servicedeskapi/request/ITH-1/participant", [{}] * 2, 5),
        ("GET", "/rest/api/3/user/search", [{}] * 3, 7),
        ("POST", "/rest/api/3/search/jql", [{}] * 100, 101),
        ("DELETE", "/rest/servicedeskapi/request/ITH-1/participant", None, 1),
        ("GET", "/rest/servicedeskapi/servicedesk", [], 1),
    ],
)
def test_points_are_estimated_by_atlassians_formula(
    method: str, path: str, records: list[Any] | None, points: int
) -> None:
    assert estimate_points(method, path, records) == points


def test_costs_add_up_and_stay_plain_values() -> None:
    total = Cost(requests=1, points=51) + Cost(requests=2, points=3, retries=1, waited=1.5)
    assert total == Cost(requests=3, points=54, retries=1, waited=1.5)
    assert total.add(Cost()) == total
    assert json.loads(json.dumps(dataclasses.asdict(total)))["points"] == 54


# --- the registry and the snapshot --------------------------------------------------------------


def test_one_pacer_per_app_for_every_thread() -> None:
    context = Context()
    seen: list[Pacer] = []
    threads = [
        threading.Thread(target=lambda: seen.append(context.pacer("app-a"))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(found is context.pacer("app-a") for found in seen)
    assert context.pacer("app-b") is not context.pacer("app-a")
    context.reset()
    assert context.pacer("app-a") not in seen  # reset forgets them


def test_the_snapshot_is_plain_data(pacer: Pacer) -> None:
    pacer.name_site(SITE, "ith")
    pacer.observe(
        SITE,
        "GET",
        SLA,
        200,
        {
            "X-RateLimit-Limit": "350",
            "X-RateLimit-Remaining": "349",
            "RateLimit-Policy": '"tenant-app-quota";q=100000;w=3600',
            "RateLimit": '"tenant-app-quota";r=15000;t=600',
        },
    )
    snapshot = pacer.snapshot()
    assert json.loads(json.dumps(snapshot, default=str))["app"] == "client-id-123"
    site = snapshot["sites"][SITE]
    assert site["name"] == "ith"
    assert site["quota"]["pool"] == "tenant"
    assert (site["quota"]["limit"], site["quota"]["remaining"]) == (100000, 15000)
    assert site["quota"]["reset_at"] == START + dt.timedelta(seconds=600)
    assert site["buckets"]["GET /rest/servicedeskapi/request/{key}/sla"]["server_remaining"] == 349
