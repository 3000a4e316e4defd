"""The sandbox enforces Atlassian's 2026 rate limits and sends their headers, over real HTTP.

Buckets and the quota's hours run on clocks the tests hold (``Limits.clock`` and
``wall_clock``), so refills and resets happen when a test says, not when the machine is slow.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from helpers import signed_in_session

import jsm_nb
from jsm_nb import Config
from jsm_nb.config import DEFAULT_SCOPES
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Limits, Plan, Sandbox
from jsm_nb.sandbox.limits import request_cost
from jsm_nb.sandbox.server import Reply, Request, json_reply, normalise_path

JSM = "/rest/servicedeskapi"
OPT_IN = {"X-ExperimentalApi": "opt-in"}
HOUR_START = 1_800_000_000.0  # a multiple of 3600 and of 2: the top of an hour, UTC
QUOTA_REASON = "jira-quota-global-based"
REMOVED = {
    "errorMessages": [
        "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
        "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
    ],
    "errors": {},
}


class Clock:
    """A clock that moves only when told."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    """A sandbox with its limits on held clocks, and a plain HTTP session with a token."""

    sb: Sandbox
    session: jsm_nb.JsmSession
    http: requests.Session
    wall: Clock
    monotonic: Clock

    def url(self, path: str, site: int = 0) -> str:
        return f"{self.sb.api_url}/ex/jira/{self.sb.sites[site]['id']}{path}"

    def get(self, path: str, site: int = 0, **kwargs: Any) -> requests.Response:
        return self.http.get(self.url(path, site), timeout=10, **kwargs)

    def post(self, path: str, site: int = 0) -> requests.Response:
        return self.http.post(self.url(path, site), json={}, timeout=10)


@contextlib.contextmanager
def limited(
    wall: float = HOUR_START + 0.5,
    config: dict[str, Any] | None = None,
    sandbox: dict[str, Any] | None = None,
    **knobs: Any,
) -> Iterator[Api]:
    """A signed-in sandbox (``sandbox`` knobs, ``config`` overrides) with ``Limits(**knobs)``.

    The limits run on held clocks: the wall clock at ``wall``, the monotonic one at 1000.
    """
    wall_clock, monotonic = Clock(wall), Clock(1000.0)
    limits = Limits(clock=monotonic, wall_clock=wall_clock, **knobs)
    started = signed_in_session(config, limits=limits, **(sandbox or {}))
    with started as (sb, session), requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {session.tokens.access_token()}"
        yield Api(sb, session, http, wall_clock, monotonic)


def iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def desk_path(api: Api, tail: str = "") -> str:
    desk = api.get(f"{JSM}/servicedesk").json()["values"][0]["id"]
    return f"{JSM}/servicedesk/{desk}{tail}"


# -- the points quota -----------------------------------------------------------------------------


def test_a_spent_quota_refuses_every_path_on_every_site_until_the_reset() -> None:
    with limited(quota=120, hour_seconds=2) as api:
        for _ in range(3):  # 51 points each: admitted while points are left, the last overdraws
            assert api.get(f"{JSM}/request", params={"limit": 50}).status_code == 200
        paths = [f"{JSM}/request", f"{JSM}/servicedesk", "/rest/api/3/search/jql", "/rest/x"]
        refused = [api.get(path, site) for path in paths for site in (0, 1)]
        refused.append(api.post(f"{JSM}/request/ITH-1/comment"))
        for answer in refused:
            assert answer.status_code == 429
            assert answer.headers["RateLimit-Reason"] == QUOTA_REASON
            assert answer.headers["Retry-After"] == "2"  # 1.5 s to the top of the 2-s hour
            assert answer.headers["X-RateLimit-Reset"] == iso(HOUR_START + 2)
            assert answer.headers["X-RateLimit-Limit"] == "120"
            assert answer.headers["X-RateLimit-Remaining"] == "0"
            assert answer.headers["RateLimit"] == '"global-app-quota";r=0;t=2'
            assert answer.json() == {
                "errorMessages": ["The request has been rate-limited."],
                "errors": {},
            }
        api.wall.now = HOUR_START + 1.999
        assert api.get(f"{JSM}/servicedesk").status_code == 429
        api.wall.now = HOUR_START + 2
        again = api.get(f"{JSM}/request", site=1)
        assert again.status_code == 200
        assert again.headers["RateLimit"] == '"global-app-quota";t=2'
        stats = api.sb.limits.stats
        assert stats.refusals == {QUOTA_REASON: len(refused) + 1}
        assert stats.points == 3 * 51 + 51


def test_each_page_costs_one_point_and_one_per_object_two_per_identity_object() -> None:
    with limited() as api:
        key = api.get(f"{JSM}/request", params={"limit": 1}).json()["values"][0]["issueKey"]
        customers = desk_path(api, "/customer")
        stats = api.sb.limits.stats
        stats.reset()

        def charged(path: str) -> int:
            return stats.points_per_path[normalise_path(f"/ex/jira/site{path}")]

        def values(path: str) -> int:
            return len(api.get(path, headers=OPT_IN).json()["values"])

        assert api.get(f"{JSM}/request", params={"limit": 7}).ok
        assert charged(f"{JSM}/request") == 1 + 7
        assert api.get(customers, params={"limit": 4}, headers=OPT_IN).ok
        assert charged(customers) == 1 + 2 * 4  # customers are identity objects
        assert api.get(f"{JSM}/request/{key}").ok
        assert charged(f"{JSM}/request/{key}") == 1 + 1
        participants = values(f"{JSM}/request/{key}/participant")
        assert charged(f"{JSM}/request/{key}/participant") == 1 + 2 * participants
        slas = values(f"{JSM}/request/{key}/sla")
        assert slas
        assert charged(f"{JSM}/request/{key}/sla") == 1 + slas
        search = {"jql": "project = ITH", "maxResults": 9}
        assert len(api.get("/rest/api/3/search/jql", params=search).json()["issues"]) == 9
        assert charged("/rest/api/3/search/jql") == 1 + 9
        assert api.get(f"{JSM}/servicedesk/999999").status_code == 404
        assert charged(f"{JSM}/servicedesk/999999") == 1  # an error answer returns no objects
        assert api.post(f"{JSM}/request/{key}/comment").status_code == 401  # no write scope
        assert charged(f"{JSM}/request/{key}/comment") == 1  # a write costs 1, whatever it does
        assert (
            stats.points
            == sum(stats.points_per_path.values())
            == 8 + 9 + 2 + (1 + 2 * participants) + (1 + slas) + 10 + 1 + 1
        )
        assert request_cost("GET", json_reply(200, {"accountId": "a"})) == 1 + 2
        assert request_cost("DELETE", json_reply(200, {"values": [{}, {}]})) == 1


def test_tier_2_gives_each_site_its_own_pool_sized_by_its_plan() -> None:
    assert Plan().quota == 65_000
    assert Plan("free", 9).quota == 65_000
    assert Plan("standard", 100).quota == 101_000
    assert Plan("premium", 1000).quota == 150_000
    assert Plan("enterprise", 20_000).quota == 500_000  # the cap
    with limited(tier=2) as api:
        api.sb.limits.plans[str(api.sb.sites[0]["id"])] = Plan("standard", 50)
        first, second = api.get(f"{JSM}/servicedesk"), api.get(f"{JSM}/servicedesk", site=1)
        assert first.headers["RateLimit-Policy"] == '"tenant-app-quota";q=100500;w=3600'
        assert second.headers["RateLimit-Policy"] == '"tenant-app-quota";q=65000;w=3600'
        api.sb.limits.quota = 30
        while api.get(f"{JSM}/request", params={"limit": 10}).status_code == 200:
            pass
        refused = api.get(f"{JSM}/servicedesk")
        assert refused.headers["RateLimit-Reason"] == "jira-quota-tenant-based"
        other = api.get(f"{JSM}/request", site=1, params={"limit": 10})
        assert other.status_code == 200  # the other site's pool is untouched
        assert other.headers["RateLimit"] == '"tenant-app-quota";t=3600'  # 19 of 30 left


# -- burst limits ---------------------------------------------------------------------------------


def test_an_empty_bucket_refuses_with_retry_after_one_second() -> None:
    with limited(burst={"GET": 3}) as api:
        first = api.get(f"{JSM}/request")
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == (
            "3",
            "2",
        )
        assert [api.get(f"{JSM}/request").status_code for _ in range(2)] == [200, 200]
        refused = api.get(f"{JSM}/request")  # Remaining said 2 more: truthfully, no more
        assert refused.status_code == 429
        assert refused.headers["RateLimit-Reason"] == "jira-burst-based"
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Reset"] == iso(HOUR_START + 1).replace("Z", ".500Z")
        assert api.get(f"{JSM}/servicedesk").status_code == 200  # a bucket per endpoint
        assert api.get(f"{JSM}/request", site=1).status_code == 200  # and per site
        api.monotonic.now += 0.34  # a third of a second refills one token of three
        assert api.get(f"{JSM}/request").headers["X-RateLimit-Remaining"] == "0"
        site = str(api.sb.sites[0]["id"])
        bucket = (site, "GET", "/ex/jira/{cloudid}/rest/servicedeskapi/request")
        assert api.sb.limits.stats.largest_burst[bucket] == 5
        assert api.sb.limits.stats.refusals == {"jira-burst-based": 1}
        api.monotonic.now += 1
        assert api.get(f"{JSM}/request").headers["X-RateLimit-Remaining"] == "2"


def test_the_customer_endpoint_bursts_at_five_per_second() -> None:
    with limited() as api:
        customers, organizations = desk_path(api, "/customer"), desk_path(api, "/organization")
        answers = [api.get(customers, headers=OPT_IN) for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert answers[0].headers["X-RateLimit-Limit"] == "5"
        assert answers[-1].headers["RateLimit-Reason"] == "jira-burst-based"
        assert api.get(organizations).headers["X-RateLimit-Limit"] == "100"


# -- per-issue writes -----------------------------------------------------------------------------


def test_writes_to_one_issue_are_limited_per_2_and_per_30_seconds() -> None:
    monotonic = Clock(0.0)
    limits = Limits(clock=monotonic, wall_clock=Clock(HOUR_START))
    answered = []

    def write(path: str, method: str = "PUT") -> Reply:
        def answer() -> Reply:
            answered.append(path)
            return json_reply(204, None)

        return limits.serve(Request(method, f"/ex/jira/site{path}", {}, {}), answer)

    for second in range(0, 10, 2):  # 20 writes every 2 s: 100 in 8 s
        assert [write("/rest/api/3/issue/ABC-1").status for _ in range(20)] == [204] * 20
        refused = write("/rest/api/3/issue/ABC-1/comment", "POST")
        assert refused.status == 429
        assert refused.headers["RateLimit-Reason"] == "jira-per-issue-on-write"
        # the 2-s window frees in 2 s; at 8 s the 30-s one is full too, until 30 s
        assert refused.headers["Retry-After"] == ("22" if second == 8 else "2")
        assert write("/rest/api/3/issue/ABC-2").status == 204  # another issue
        assert write("/rest/api/3/issue/ABC-1", "GET").status == 204  # reads are not writes
        monotonic.now += 2
    refused = write("/rest/servicedeskapi/request/abc-1/comment", "POST")  # the same issue
    assert refused.headers["Retry-After"] == "20"
    assert len(answered) == 5 * 22
    monotonic.now = 30  # the writes at 0 s have left the 30-s window
    assert write("/rest/api/3/issue/ABC-1").status == 204
    assert write("/rest/api/3/issue/bulkfetch", "POST").status == 204  # not an issue
    assert limits.stats.refusals == {"jira-per-issue-on-write": 6}


def test_writes_over_http_count_per_issue() -> None:
    scopes = {"scopes": (*DEFAULT_SCOPES, "write:servicedesk-request")}
    with limited(config=scopes) as api:
        statuses = [api.post(f"{JSM}/request/ITH-1/comment").status_code for _ in range(21)]
        assert statuses == [405] * 20 + [429]
        assert api.post(f"{JSM}/request/ITH-2/comment").status_code == 405


# -- headers --------------------------------------------------------------------------------------


def test_every_answer_carries_the_headers_with_r_and_near_limit_under_20_percent() -> None:
    with limited(quota=100, wall=HOUR_START + 3400.2) as api:
        first = api.get(f"{JSM}/request", params={"limit": 5})  # 6 points: 94 left
        assert first.headers["X-RateLimit-Limit"] == "100"
        assert first.headers["X-RateLimit-Remaining"] == "99"
        assert first.headers["RateLimit-Policy"] == '"global-app-quota";q=100;w=3600'
        assert first.headers["RateLimit"] == '"global-app-quota";t=200'
        assert "X-RateLimit-NearLimit" not in first.headers
        assert "Retry-After" not in first.headers
        assert "RateLimit-Reason" not in first.headers
        gone = api.get("/rest/api/3/search")  # 1 point: 93 left
        assert gone.status_code == 410
        assert gone.headers["RateLimit"] == '"global-app-quota";t=200'
        api.get(f"{JSM}/request", params={"limit": 50})  # 51 points: 42 left
        near = api.get(f"{JSM}/request", params={"limit": 25})  # 26 points: 16 left
        assert near.headers["RateLimit"] == '"global-app-quota";r=16;t=200'
        assert near.headers["X-RateLimit-NearLimit"] == "true"
        assert near.headers["X-RateLimit-Remaining"] == "97"


def test_a_nearly_empty_bucket_is_near_its_limit() -> None:
    with limited(burst={"GET": 10}) as api:
        answers = [api.get(f"{JSM}/servicedesk") for _ in range(9)]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers[-2:]] == ["2", "1"]
        assert "X-RateLimit-NearLimit" not in answers[-2].headers
        assert answers[-1].headers["X-RateLimit-NearLimit"] == "true"


def test_beta_mode_tells_of_the_quota_with_beta_prefixes_only_and_does_not_enforce_it() -> None:
    with limited(quota=10, headers="beta") as api:
        first = api.get(f"{JSM}/request", params={"limit": 20})
        assert first.headers["Beta-RateLimit-Policy"] == '"global-app-quota";q=10;w=3600'
        assert first.headers["Beta-RateLimit"] == '"global-app-quota";r=0;t=3600'
        assert first.headers["X-Beta-RateLimit-NearLimit"] == "true"
        assert first.headers["X-RateLimit-Limit"] == "100"  # the burst: enforced, as it is
        for name in ("RateLimit-Policy", "RateLimit", "X-RateLimit-NearLimit"):
            assert name not in first.headers
        spent = api.get(f"{JSM}/request")
        assert spent.status_code == 200
        assert spent.headers["X-Beta-RateLimit-Reason"] == QUOTA_REASON
        assert spent.headers["Beta-Retry-After"] == "3600"
        assert spent.headers["X-Beta-RateLimit-Reset"] == "2027-01-15T09:00Z"
        assert "Retry-After" not in spent.headers
        assert "RateLimit-Reason" not in spent.headers
        assert not api.sb.limits.stats.refusals


def test_both_mode_enforces_and_sends_every_header_in_both_forms() -> None:
    with limited(quota=10, headers="both") as api:
        first = api.get(f"{JSM}/request", params={"limit": 20})
        for name in ("RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining"):
            beta = "X-Beta-" + name[2:] if name.startswith("X-") else "Beta-" + name
            assert first.headers[beta] == first.headers[name]
        refused = api.get(f"{JSM}/request")
        assert refused.status_code == 429
        assert refused.headers["RateLimit-Reason"] == QUOTA_REASON
        assert refused.headers["X-Beta-RateLimit-Reason"] == QUOTA_REASON
        assert refused.headers["Retry-After"] == refused.headers["Beta-Retry-After"] == "3600"
        assert refused.headers["X-Beta-RateLimit-Reset"] == refused.headers["X-RateLimit-Reset"]


def test_the_gateway_refuses_without_retry_after() -> None:
    with limited(quota=5, gateway_429=True) as api:
        api.get(f"{JSM}/request")
        refused = api.get(f"{JSM}/request")
        assert refused.status_code == 429
        assert refused.headers["X-Failure-Category"] == "FAILURE CLIENT RATE LIMITED"
        assert refused.headers["X-RateLimit-Reset"] == "2027-01-15T09:00Z"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        for name in ("Retry-After", "RateLimit-Reason", "RateLimit", "RateLimit-Policy"):
            assert name not in refused.headers


def test_a_429_can_come_as_html_with_a_reason_no_client_knows() -> None:
    with limited(burst={"GET": 1}, html_429=True, reason="jira-cost-based") as api:
        api.get(f"{JSM}/request")
        refused = api.get(f"{JSM}/request")
        assert refused.status_code == 429
        assert refused.headers["Content-Type"].startswith("text/html")
        assert refused.text.startswith("<!DOCTYPE html>")
        with pytest.raises(requests.JSONDecodeError):
            refused.json()
        assert refused.headers["RateLimit-Reason"] == "jira-cost-based"
        assert refused.headers["Retry-After"] == "1"
        assert api.sb.limits.stats.refusals == {"jira-burst-based": 1}  # the real reason


def test_limits_can_be_switched_off() -> None:
    with limited(quota=1, enabled=False) as api:
        answers = [api.get(f"{JSM}/request") for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3
        assert not {"X-RateLimit-Limit", "RateLimit"} & set(answers[-1].headers)
        assert api.sb.limits.stats.points == 0


def test_a_real_clock_refills_the_pool_at_the_top_of_the_scaled_hour() -> None:
    limits = Limits(quota=3, hour_seconds=1)
    with signed_in_session(limits=limits) as (sb, session), requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {session.tokens.access_token()}"
        url = f"{sb.api_url}/ex/jira/{sb.sites[0]['id']}{JSM}/request"
        started = sb.wall_time()
        refused = next(a for a in (http.get(url, timeout=10) for _ in range(10)) if not a.ok)
        assert refused.status_code == 429
        utc = refused.headers["X-RateLimit-Reset"].replace("Z", "+00:00")  # for Python 3.10
        reset = dt.datetime.fromisoformat(utc).timestamp()
        assert started < reset <= sb.wall_time() + 1  # the next top of a 1-s "hour"
        time.sleep(max(0.0, reset - sb.wall_time()) + 0.01)
        assert http.get(url, timeout=10).status_code == 200


# -- Jira search in 2026 --------------------------------------------------------------------------


def test_the_old_search_is_gone() -> None:
    with limited() as api:
        for version in (2, 3):
            for path in (f"/rest/api/{version}/search", f"/rest/api/{version}/search/id"):
                for method in ("GET", "POST"):
                    query = {"jql": "project = ITH"}
                    answer = api.http.request(method, api.url(path), params=query, timeout=10)
                    assert (answer.status_code, answer.json()) == (410, REMOVED)


def test_search_serves_5000_ids_a_page_and_no_token_on_the_last() -> None:
    with limited(sandbox={"requests": 5001}) as api:
        query = {"jql": 'created >= "2025-01-01"', "maxResults": 6000}
        first = api.get("/rest/api/3/search/jql", params={**query, "fields": "id"}).json()
        assert len(first["issues"]) == 5000
        assert first["isLast"] is False
        after = {**query, "nextPageToken": first["nextPageToken"]}
        last = api.get("/rest/api/3/search/jql", params=after).json()
        assert len(last["issues"]) == 1
        assert last["isLast"] is True
        assert "nextPageToken" not in last
        keys = api.get("/rest/api/3/search/jql", params={**query, "fields": "key"}).json()
        assert len(keys["issues"]) == 5000
        fields = api.get("/rest/api/3/search/jql", params={**query, "fields": "summary"}).json()
        assert len(fields["issues"]) == 100


# -- the old access token after a refresh ---------------------------------------------------------


def test_the_old_access_token_dies_after_the_grace_that_follows_a_refresh() -> None:
    with signed_in_session() as (sb, session):
        old = session.tokens.access_token()
        new = session.tokens.refresh(stale=old)
        assert new != old

        def me(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return requests.get(f"{sb.api_url}/me", headers=headers, timeout=10).status_code

        assert (me(old), me(new)) == (200, 200)  # within the 600-s grace
        sb.settings.old_access_token_grace = 0
        assert (me(old), me(new)) == (401, 200)  # long before its expires_in of 3600 s


# -- the command line -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "policy", "burst"),
    [
        (
            ["--quota", "500", "--hour", "10", "--burst", "0.5"],
            '"global-app-quota";q=500;w=10',
            "50",
        ),
        (["--no-limits"], None, None),
    ],
)
def test_command_line_flags_set_quota_hour_and_burst(
    flags: list[str], policy: str | None, burst: str | None
) -> None:
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--requests", "50", "--sign-in", *flags]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        lines = itertools.takewhile(lambda line: line.startswith("export "), process.stdout)
        exports = dict(shlex.split(line)[1].split("=", 1) for line in lines)
        config = Config.from_env(exports, dotenv=None)
        try:
            answer = jsm_nb.session(config).get(f"{JSM}/servicedesk")
            assert answer.headers.get("RateLimit-Policy") == policy
            assert answer.headers.get("X-RateLimit-Limit") == burst
        finally:
            CONTEXT.forget_sessions(config)
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
