"""Atlassian's rate limits met end to end: the sandbox enforcing them over HTTP, jsm_nb pacing.

The quota's hour is scaled down to seconds (``Limits.hour_seconds``), and the sandbox's
clock is set (``settings.clock_offset``) so that each test starts just after the top of
one of its hours: a reset then comes when the test expects it, however slow the machine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from helpers import signed_in_session

import jsm_nb
from jsm_nb import RateLimited, api, cost, paging
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Limits, Sandbox
from jsm_nb.sandbox.data import poison
from jsm_nb.sandbox.server import normalise_path

REQUESTS = "/rest/servicedeskapi/request"
QUOTA_REASON = "jira-quota-global-based"
BURST_REASON = "jira-burst-based"
ROWS = 600  # customer requests of the first site: 12 pages of 50, 51 points each
Started = tuple[Sandbox, jsm_nb.JsmSession]


@contextlib.contextmanager
def limited(
    config: dict[str, Any] | None = None, requests: int = ROWS, **knobs: Any
) -> Iterator[Started]:
    """A signed-in sandbox with ``Limits(**knobs)``; stops longer than 0.5 s raise."""
    settings = {"wait_limit": 0.5, **(config or {})}
    with signed_in_session(settings, limits=Limits(**knobs), requests=requests) as started:
        yield started


def begin_hour(sb: Sandbox, hour: float, past: float = 0.2) -> float:
    """Set the sandbox's clock ``past`` seconds after the top of one of its ``hour``-long
    hours; return when (on this machine's clock) that hour ends."""
    now = time.time()
    top = math.ceil(now / hour) * hour
    sb.settings.clock_offset = top - now + past
    return now + hour - past


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.05)


def requests_to(sb: Sandbox, path: str = REQUESTS) -> int:
    """The requests the sandbox saw to the site path ``path``."""
    return int(sb.stats.requests_per_path[normalise_path(f"/ex/jira/any-site{path}")])


def reference(
    sb: Sandbox, session: jsm_nb.JsmSession, concurrency: int = paging.DEFAULT_CONCURRENCY
) -> tuple[list[str], int]:
    """Every request key, fetched with the limits off, and the requests that took."""
    sb.limits.enabled = False
    before = requests_to(sb)
    found = api.customer_requests(session=session, progress=False, concurrency=concurrency)
    keys = list(found.issue_key)
    sb.limits.enabled = True
    return keys, requests_to(sb) - before


# -- the quota ----------------------------------------------------------------------------------


def test_a_fetch_larger_than_the_quota_stops_then_the_same_call_resumes_after_the_reset() -> None:
    with limited(quota=400, hour_seconds=5) as (sb, session):
        whole, fresh = reference(sb, session)
        assert len(whole) == ROWS == len(set(whole))
        ends = begin_hour(sb, 5)
        with pytest.raises(RateLimited) as raised:
            api.customer_requests(session=session, progress=False)
        error = raised.value
        assert error.pool == "global"
        assert error.app == sb.client_id
        assert abs(error.reset_at.timestamp() - ends) <= 1.5
        local, utc = error.reset_at.astimezone(), error.reset_at.astimezone(dt.timezone.utc)
        assert f"until {local:%H:%M:%S}" in str(error)
        assert (f"({utc:%H:%M:%S} UTC)" in str(error)) == (local.utcoffset() != dt.timedelta(0))
        assert "wait=True" in str(error)
        refused = sb.limits.stats.refusals[QUOTA_REASON]
        assert refused <= paging.DEFAULT_CONCURRENCY  # those in flight at most; none retried
        before = requests_to(sb)
        sleep_until(error.reset_at.timestamp())
        again = api.customer_requests(session=session, progress=False)
        assert list(again.issue_key) == whole  # no row lost, none repeated
        assert requests_to(sb) - before < fresh
        assert sb.limits.stats.refusals[QUOTA_REASON] == refused
        assert CONTEXT.partials.kept(session) == 0  # the call ended: nothing is kept


def test_with_wait_true_the_fetch_sleeps_through_the_reset_on_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with limited(quota=400, hour_seconds=4) as (sb, session):
        whole, _ = reference(sb, session)
        ends = begin_hour(sb, 4)
        frame = api.customer_requests(session=session, progress=False, wait=True)
        assert time.time() >= ends  # the reset was not cut short
        assert list(frame.issue_key) == whole
        cost = frame.attrs["jsm_nb"]
        assert cost["waits"] >= 1
        # r=0 on the last answer stops the pool before any 429, or those in flight get one
        assert sb.limits.stats.refusals[QUOTA_REASON] <= paging.DEFAULT_CONCURRENCY
        told = capsys.readouterr().err
        assert "waiting" in told
        assert "for Atlassian's rate limit" in told
        assert "Customer requests: resuming" in told


def test_a_partial_fetch_resumes_only_its_own_call_and_dies_with_its_session() -> None:
    with limited(quota=400, hour_seconds=5) as (sb, session):
        whole, _ = reference(sb, session)
        begin_hour(sb, 5)
        with pytest.raises(RateLimited) as raised:
            api.customer_requests(session=session, progress=False)
        assert CONTEXT.partials.kept(session) == 1
        sleep_until(raised.value.reset_at.timestamp())
        other = api.customer_requests(session=session, max_rows=120, progress=False)
        assert list(other.issue_key) == whole[:120]  # another call: nothing of the first's
        raw = api.customer_requests(session=session, max_rows=120, raw=True)
        assert [r["issueKey"] for r in raw] == whole[:120]  # nor of the frame's
        assert CONTEXT.partials.kept(session) == 1  # the first call is still kept
        CONTEXT.forget_sessions(session.config)  # signing out, or in again
        assert CONTEXT.partials.kept(session) == 0


def test_a_fetch_failing_midway_keeps_its_rows_for_the_same_call() -> None:
    with limited(requests=ROWS) as (sb, session):
        whole, fresh = reference(sb, session, concurrency=1)
        sb.faults.fail(500, every=9, paths=f"*{REQUESTS}")
        with pytest.raises(jsm_nb.ApiError):
            api.customer_requests(session=session, progress=False, concurrency=1)
        sb.faults.clear()
        before = requests_to(sb)
        again = api.customer_requests(session=session, progress=False, concurrency=1)
        assert list(again.issue_key) == whole
        assert requests_to(sb) - before == fresh - 8  # the 8 pages before the failure are kept


# -- the burst limit ------------------------------------------------------------------------------


def test_eight_threads_on_one_burst_bucket_meet_no_429() -> None:
    with limited(burst_scale=0.4, requests=ROWS) as (sb, session):  # GET: 40 a second
        sb.faults.latency = 0.02
        keys = list(api.customer_requests(session=session, max_rows=96, progress=False).issue_key)
        expected = api.sla(keys, session=session, concurrency=1, progress=False)
        sb.limits.stats.reset()
        frames: list[Any] = [None] * 8
        failures: list[BaseException] = []

        def fetch(n: int) -> None:
            try:
                frames[n] = api.sla(keys[n::8], session=session, concurrency=1, progress=False)
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=fetch, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert sum(len(f) for f in frames) == len(expected)
        assert sorted(k for f in frames for k in f.issue_key) == sorted(expected.issue_key)
        stats = sb.limits.stats
        assert stats.refusals.get(BURST_REASON, 0) == 0
        assert sum(stats.refusals.values()) == 0


# -- 429s of every shape ---------------------------------------------------------------------------

SHAPES = {
    "an unknown reason": {"reason": "jira-cost-based"},
    "the gateway's, without Retry-After": {"gateway_429": True},
    "an HTML body": {"html_429": True},
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_short_burst_429_of_any_shape_is_waited_out_and_retried(shape: str) -> None:
    busy = {"GET /rest/servicedeskapi/request/{key}/sla": 2}  # fewer than the first requests
    with limited({"wait_limit": 60}, burst_overrides=busy, **SHAPES[shape]) as (sb, session):
        keys = list(api.customer_requests(session=session, max_rows=6, progress=False).issue_key)
        sb.limits.enabled = False
        expected = api.sla(keys, session=session, concurrency=1, progress=False)
        sb.limits.enabled = True
        sb.limits.stats.reset()
        sb.faults.latency = 0.1  # the first four leave before any answer tells of the limit
        frame = api.sla(keys, session=session, concurrency=4, progress=False)
        assert list(frame.issue_key) == list(expected.issue_key)
        assert sum(sb.limits.stats.refusals.values()) >= 1  # met, and handled
        assert frame.attrs["jsm_nb"]["retries"] >= 1


def spend_the_quota(sb: Sandbox, session: jsm_nb.JsmSession) -> None:
    """Spend the app's quota as another user of the app would, out of this process's sight."""
    url = f"{session.base_url}{REQUESTS}"
    token = {"Authorization": f"Bearer {session.tokens.access_token()}"}
    while requests.get(url, headers=token, timeout=10).status_code != 429:
        pass
    sb.limits.stats.reset()


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_long_quota_429_of_any_shape_stops_without_burning_requests(shape: str) -> None:
    with limited(quota=200, hour_seconds=600, **SHAPES[shape]) as (sb, session):
        ends = begin_hour(sb, 600)
        spend_the_quota(sb, session)
        with pytest.raises(RateLimited) as raised:
            api.customer_requests(session=session, progress=False, concurrency=1)
        assert sum(sb.limits.stats.refusals.values()) == 1  # never retried
        assert abs(raised.value.reset_at.timestamp() - ends) <= 1.5
        before = sb.stats.api_requests
        with pytest.raises(RateLimited):  # every path of the pool waits for the reset
            api.service_desks(session=session, progress=False)
        assert sb.stats.api_requests == before


# -- what it costs ----------------------------------------------------------------------------


def test_every_frame_carries_its_cost_and_usage_shows_the_pools_and_buckets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with limited(quota=720, requests=ROWS) as (sb, session):
        sb.limits.stats.reset()
        before = sb.stats.api_requests
        frame = api.customer_requests(session=session, progress=True, concurrency=1)
        cost = frame.attrs["jsm_nb"]
        assert cost["requests"] == sb.stats.api_requests - before == 12
        assert cost["points"] == sb.limits.stats.points == 12 * 51  # Atlassian's formula
        assert cost["retries"] == 0
        bar = capsys.readouterr().err
        assert "requests=12" in bar
        assert "quota left=108 until" in bar  # under a fifth left: Atlassian says how much
        usage = jsm_nb.usage(session)
        quota = usage.quota.iloc[0]
        assert (quota["pool"], quota["limit"], quota["remaining"]) == ("global", 720, 108)
        bucket = usage.buckets.set_index("endpoint").loc["GET /rest/servicedeskapi/request"]
        assert bucket["sent"] == 12
        assert bucket["server_limit"] == 100


def test_usage_escapes_what_the_api_says() -> None:
    with signed_in_session(poison=True) as (sb, session):
        api.service_desks(session=session, progress=False)
        shown = jsm_nb.usage(session)._repr_html_()
        assert sb.sites[0]["name"] not in shown  # a site name carries a script
        assert not poison.markup(shown)


# -- a second process ------------------------------------------------------------------------

SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys
    import jsm_nb
    config = jsm_nb.Config(**json.loads(sys.argv[1]))
    session = jsm_nb.session(config)
    old = session.tokens.access_token()
    print("ready", flush=True)
    sys.stdin.readline()  # the other process refreshes meanwhile
    frame = jsm_nb.service_desks(session=session, progress=False)
    statuses = [session.get("/rest/servicedeskapi/servicedesk").status_code for _ in range(5)]
    print(json.dumps({
        "rows": len(frame), "statuses": statuses,
        "fresh": session.tokens.access_token() != old,
    }), flush=True)
    """
)


def test_a_second_process_with_the_old_access_token_gets_a_fresh_one_and_fails_no_call() -> None:
    with signed_in_session() as (sb, session):
        fields = ("client_id", "client_secret", "auth_url", "api_url", "site", "redirect_uri")
        config = {name: getattr(session.config, name) for name in fields}
        config["token_path"] = str(session.config.token_path)
        command = [sys.executable, "-c", SECOND_PROCESS, json.dumps(config)]
        with subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as other:
            assert other.stdin is not None
            assert other.stdout is not None
            assert other.stdout.readline().strip() == "ready"
            session.tokens.refresh(stale=session.tokens.access_token())
            sb.settings.old_access_token_grace = 0  # the old token is dead at once
            other.stdin.write("go\n")
            other.stdin.flush()
            said = json.loads(other.stdout.readline())
            assert other.wait(timeout=60) == 0
        assert said == {"rows": 4, "statuses": [200] * 5, "fresh": True}
        assert sb.stats.refreshes == 1  # it took the other process's token, not a new one
        assert sb.stats.revoked_families == 0


def test_a_fetch_that_stops_ends_the_waits_of_its_other_threads() -> None:
    """With ``wait=True`` a thread may be sleeping through a reset half an hour away when
    another page fails: the fetch raises at once, not after the reset."""

    class Listing:
        def get(self, path: str, params: dict[str, Any], headers: Any = None) -> Any:
            if params["start"] == 0:  # the first page: the real page size is 10
                return _page(0, 10, last=False)
            if params["start"] == 10:
                time.sleep(0.2)  # the others are waiting by now
                raise jsm_nb.ApiError(500, "boom", "GET", path)
            meter = cost.current()
            assert meter is not None
            for left in range(1800, 0, -1):  # a stop half an hour long, as the pacer waits
                meter.tick(left)
                time.sleep(0.01)
            return _page(params["start"], 10, last=False)

    started = time.monotonic()
    with pytest.raises(jsm_nb.ApiError, match="boom"):
        paging.fetch(Listing(), REQUESTS, limit=10, concurrency=4, wait=True)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5  # not the 18 s of the other threads' waits


def _page(start: int, size: int, *, last: bool) -> Any:
    response = requests.Response()
    response.status_code = 200
    values = [{"n": n} for n in range(start, start + size)]
    body = {"start": start, "size": size, "isLastPage": last, "values": values}
    response._content = json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    return response
