"""The network misbehaving, over real HTTP against the sandbox's faults.

Timeouts (a server that accepts and goes silent), dropped connections, 429s
with and without Retry-After (and one asking for an hour), 502/503/504, answers
cut off halfway, bodies that are not Atlassian's JSON, a proxy's HTML page: on
the API and on the token endpoint. Each gets bounded retries, then a clear
ApiError (or JsmError for the sign-in service); none waits past its timeout
(the bounds below are behaviour checks with a wide margin, not benchmarks); a
multi-page fetch raises rather than return part of the rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import urllib3

import jsm_nb
from jsm_nb import ApiError, JsmError, LoginRequired, RateLimited, api, cost
from jsm_nb.entries import IN_FLIGHT, login_entry
from jsm_nb.sandbox import Sandbox

SERVICEDESKS = "/rest/servicedeskapi/servicedesk"
REQUESTS = "*/rest/servicedeskapi/request"
TIMEOUT = 1.0  # seconds: the timeout of the sessions that meet a silent server
MARGIN = 5.0  # seconds of slack in "returned within its timeout" checks (a loaded CI machine)
Factory = Callable[..., tuple[Sandbox, jsm_nb.JsmSession]]


@pytest.fixture
def quick(jsm_session_factory: Factory) -> tuple[Sandbox, jsm_nb.JsmSession]:
    """A signed-in session with 2 retries and 0.05 s of first backoff."""
    return jsm_session_factory(requests=300, config={"max_retries": 2, "backoff": 0.05})


@pytest.fixture
def impatient(jsm_session_factory: Factory) -> tuple[Sandbox, jsm_nb.JsmSession]:
    """``quick`` with a 1 s timeout, for a server that goes silent."""
    return jsm_session_factory(
        requests=300, config={"timeout": TIMEOUT, "max_retries": 2, "backoff": 0.05}
    )


@pytest.fixture
def timed() -> Callable[[Callable[[], object]], tuple[Any, float]]:
    """Run a call; return what it returned (or raised) and the seconds it took."""

    def run(call: Callable[[], object]) -> tuple[Any, float]:
        started = time.monotonic()
        try:
            result: Any = call()
        except Exception as error:
            result = error
        return result, time.monotonic() - started

    return run


def _bound(session: jsm_nb.JsmSession) -> float:
    """The longest a request may take when the server is silent: two timeouts (a timeout
    is retried once), and every backoff."""
    config = session.config
    backoffs = sum(config.backoff * 1.3 * 2**n for n in range(config.max_retries))
    return 2 * config.timeout + backoffs


# -- the API -----------------------------------------------------------------------------------


def test_a_silent_server_is_a_clear_error_within_the_timeout(impatient: Any, timed: Any) -> None:
    sb, s = impatient
    sb.faults.hang()
    before = sb.stats.api_requests
    error, took = timed(lambda: s.get(SERVICEDESKS))
    assert isinstance(error, ApiError)
    assert error.status == 0
    assert f"no answer within {TIMEOUT} s" in str(error)
    assert "Check the network" in str(error)
    assert sb.stats.api_requests - before == 2  # a timeout is retried once, then given up
    assert took < _bound(s) + MARGIN


def test_a_silent_server_once_is_retried(impatient: Any) -> None:
    sb, s = impatient
    sb.faults.hang(every=2)
    assert all(s.get(SERVICEDESKS).ok for _ in range(4))


def test_dropped_connections_every_time_are_a_clear_error(quick: Any) -> None:
    sb, s = quick
    sb.faults.drop()
    before = sb.stats.api_requests
    with pytest.raises(ApiError, match="dropped") as caught:
        s.get(SERVICEDESKS)
    assert caught.value.status == 0
    assert sb.stats.api_requests - before == 3


def test_a_429_asking_for_an_hour_is_not_waited_out(quick: Any, timed: Any) -> None:
    sb, s = quick
    sb.faults.rate_limit(retry_after=3600)
    before = sb.stats.api_requests
    error, took = timed(lambda: s.get(SERVICEDESKS))
    assert isinstance(error, RateLimited)
    assert sb.stats.api_requests - before == 1
    assert took < MARGIN
    assert "in 60 min 0 s" in str(error)
    assert "wait=True" in str(error)
    sb.faults.clear()
    before = sb.stats.api_requests
    with pytest.raises(RateLimited):  # the endpoint waits out its hour, sending nothing
        s.get(SERVICEDESKS)
    assert sb.stats.api_requests == before
    assert s.get(REQUESTS.lstrip("*")).ok  # another endpoint is not held


def test_429s_without_retry_after_back_off_a_bounded_number_of_times(quick: Any) -> None:
    sb, s = quick
    sb.faults.rate_limit(retry_after=None)
    before = sb.stats.api_requests
    with cost.metered() as meter:
        response = s.get(SERVICEDESKS)
    waits = meter.throttle_waits
    assert response.status_code == 429
    assert sb.stats.api_requests - before == 3
    assert len(waits) == 2
    assert all(0 < wait <= 30 for wait in waits)  # exponential backoff, capped
    assert "try again in a minute" in str(ApiError.from_response(response))


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried_then_reported(quick: Any, status: int) -> None:
    sb, s = quick
    sb.faults.fail(status, every=2)
    assert all(s.get(SERVICEDESKS).ok for _ in range(3))
    sb.faults.clear()
    sb.faults.fail(status)
    before = sb.stats.api_requests
    response = s.get(SERVICEDESKS)
    assert (response.status_code, sb.stats.api_requests - before) == (status, 3)
    message = str(ApiError.from_response(response))
    assert f"HTTP {status}" in message
    if status == 502:  # a proxy's HTML page
        assert "text/html answer, not Atlassian's JSON" in message


def test_an_answer_cut_off_halfway_is_a_clear_error(quick: Any) -> None:
    sb, s = quick
    sb.faults.truncate()
    with pytest.raises(ApiError, match="the answer was cut off") as caught:
        s.get(SERVICEDESKS)
    assert caught.value.status == 0


# -- a multi-page fetch never returns part of the rows --------------------------------------------

MIDWAY = {  # fault on the third page of customer requests (50 rows a page)
    "hang": lambda f: f.hang(every=3, paths=REQUESTS),
    "drop": lambda f: f.drop(every=3, paths=REQUESTS),
    "cut off": lambda f: f.truncate(every=3, paths=REQUESTS),
    "429 for an hour": lambda f: f.rate_limit(every=3, retry_after=3600, paths=REQUESTS),
    "503": lambda f: f.fail(503, every=3, paths=REQUESTS),
}


@pytest.mark.parametrize("fault", list(MIDWAY))
def test_a_fetch_failing_midway_raises_instead_of_returning_part(
    jsm_session_factory: Factory, fault: str
) -> None:
    sb, s = jsm_session_factory(
        requests=300, config={"timeout": TIMEOUT, "max_retries": 0, "backoff": 0.01}
    )
    whole = api.customer_requests(session=s, progress=False, concurrency=1)
    assert len(whole) > 150
    MIDWAY[fault](sb.faults)
    with pytest.raises(ApiError):
        api.customer_requests(session=s, progress=False, concurrency=1)


@pytest.mark.parametrize("kind", ["html", "json", "empty", "object"])
def test_a_page_that_is_not_atlassians_json_raises_api_error(
    jsm_session_factory: Factory, kind: str
) -> None:
    sb, s = jsm_session_factory(requests=300, config={"max_retries": 0})
    sb.faults.garbage(kind, every=3, paths=REQUESTS)
    with pytest.raises(ApiError):
        api.customer_requests(session=s, progress=False, concurrency=1)


# -- the token endpoint ------------------------------------------------------------------------


@pytest.fixture
def expiring(impatient: Any) -> tuple[Sandbox, jsm_nb.JsmSession]:
    """``impatient``, with its access token about to be refreshed at the next call."""
    sb, s = impatient
    s.tokens._token = {**s.tokens._token, "expires_at": time.time()}  # type: ignore[dict-item]
    return sb, s


def _stored(s: jsm_nb.JsmSession) -> dict[str, Any]:
    token = s.tokens.store.read(login_entry(s.config))
    assert isinstance(token, dict)
    return token


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (lambda f: f.hang(target="auth"), "Could not reach Atlassian's sign-in service"),
        (lambda f: f.drop(target="auth"), "Could not reach Atlassian's sign-in service"),
        (lambda f: f.rate_limit(retry_after=3600, target="auth"), "HTTP 429 without a token"),
        (lambda f: f.rate_limit(retry_after=None, target="auth"), "HTTP 429 without a token"),
        (lambda f: f.fail(503, target="auth"), "HTTP 503 without a token"),
        (lambda f: f.fail(502, target="auth"), "text/html answer"),
        (lambda f: f.garbage("html", target="auth"), "a proxy may be in the way"),
        (lambda f: f.garbage("object", target="auth"), "HTTP 200 without a token"),
        (lambda f: f.truncate(target="auth"), "Could not reach Atlassian's sign-in service"),
    ],
    ids=["hang", "drop", "429-hour", "429", "503", "502-html", "html-200", "object", "cut-off"],
)
def test_a_failing_token_endpoint_is_a_clear_error_and_the_login_survives(
    expiring: Any, timed: Any, fault: Callable[[Any], None], says: str
) -> None:
    sb, s = expiring
    fault(sb.faults)
    error, took = timed(lambda: s.get(SERVICEDESKS))
    assert isinstance(error, JsmError)
    assert not isinstance(error, LoginRequired)
    assert says in str(error)
    assert took < _bound(s) + MARGIN
    sb.faults.clear()
    assert s.get(SERVICEDESKS).ok  # the next call signs nobody in again
    assert sb.stats.codes_exchanged == 1
    assert sb.stats.revoked_families == 0
    assert IN_FLIGHT not in _stored(s)


@pytest.mark.parametrize("late", [False, True], ids=["within-leeway", "after-leeway"])
@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_a_token_answer_lost_after_rotation(expiring: Any, fault: str, late: bool) -> None:
    """Atlassian replaced the refresh token, and its answer never arrived whole."""
    sb, s = expiring
    if fault == "drop":
        sb.faults.drop(target="auth", answered=True)
    else:
        sb.faults.truncate(target="auth")
    with pytest.raises(JsmError, match="Could not reach"):
        s.get(SERVICEDESKS)
    assert sb.stats.refreshes == 1
    assert IN_FLIGHT in _stored(s)  # the store knows a refresh never finished
    sb.faults.clear()
    if late:  # the next call comes after Atlassian's ten-minute leeway
        sb.settings.refresh_reuse_leeway = 0
        with pytest.raises(LoginRequired, match=r"never finished.*jsm_nb\.login\(\)"):
            s.get(SERVICEDESKS)
    else:
        assert s.get(SERVICEDESKS).ok
        assert sb.stats.reused_refreshes == 1


def test_the_code_exchange_answer_lost_asks_to_connect_again(sb: Sandbox) -> None:
    login = jsm_nb.login(sb.config)
    landing = sb.approve(login.authorization_url)
    sb.faults.drop(target="auth", answered=True)
    with pytest.raises(JsmError, match="Could not reach"):
        login.submit(landing)
    sb.faults.clear()
    with pytest.raises(jsm_nb.AuthorizationError, match="click Connect again"):
        login.submit(landing)
    login.submit(sb.approve(login.authorization_url))
    assert jsm_nb.session(sb.config_for(site=sb.sites[0]["id"])).get(SERVICEDESKS).ok


def test_requests_never_goes_around_the_session(impatient: Any) -> None:
    """No requests exception escapes a JsmSession: each is an ApiError with status 0,
    caused by urllib3's error (requests' would hold the request, and its token)."""
    sb, s = impatient
    sb.faults.hang()
    with pytest.raises(ApiError) as caught:
        s.get(SERVICEDESKS)
    chain: list[BaseException] = []
    link: BaseException | None = caught.value
    while link is not None:
        chain.append(link)
        link = link.__cause__ or link.__context__
    assert isinstance(chain[1], urllib3.exceptions.MaxRetryError)
    assert not [e for e in chain if isinstance(e, requests.RequestException)]
