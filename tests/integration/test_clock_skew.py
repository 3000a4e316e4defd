"""This machine's clock minutes ahead of, or behind, Atlassian's; and clocks that jump.

Atlassian says how long a token lives (``expires_in``), never until when, and
jsm_nb dates its tokens by this machine's clock alone: a clock that is merely
wrong changes nothing. What Atlassian does date is ``Retry-After``, which may be
an HTTP date: jsm_nb measures it against the answer's own ``Date``. A clock that
jumps (a laptop waking up, NTP stepping) costs at most one refresh.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

import jsm_nb
from jsm_nb import cost
from jsm_nb.sandbox import Sandbox

SERVICEDESKS = "/rest/servicedeskapi/servicedesk"
SKEWS = [-300.0, 300.0]  # seconds the server's clock is ahead of this one


@pytest.mark.parametrize("skew", SKEWS)
def test_a_skewed_clock_needs_no_extra_refresh(sb: Sandbox, skew: float) -> None:
    sb.settings.clock_offset = skew
    sb.settings.access_token_lifetime = 300  # shorter than the skew, longer than the test
    s = jsm_nb.session(sb.sign_in())
    assert all(s.get(SERVICEDESKS).ok for _ in range(30))
    assert jsm_nb.api.service_desks(session=s, progress=False).shape[0] > 0
    assert sb.stats.refreshes == 0


@pytest.mark.parametrize("skew", SKEWS)
def test_retry_after_as_a_date_is_read_against_the_servers_clock(sb: Sandbox, skew: float) -> None:
    sb.settings.clock_offset = skew
    s = jsm_nb.session(sb.sign_in())
    sb.faults.rate_limit(every=2, retry_after=2, as_date=True)
    started = time.monotonic()
    with cost.metered() as meter:
        assert all(s.get(SERVICEDESKS).ok for _ in range(2))
    waits = meter.throttle_waits
    # Read against this machine's clock the date would mean 2 s + skew: ten minutes of
    # waiting (or a refused retry) ahead, an immediate retry behind.
    assert len(waits) == 1
    assert 1 <= waits[0] <= 3
    assert time.monotonic() - started < 30


def _jump(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


def test_a_clock_jumping_ahead_costs_one_refresh(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = jsm_nb.session(sb.sign_in())
    assert s.get(SERVICEDESKS).ok
    _jump(monkeypatch, 2 * 3600)  # the laptop slept for two hours (Atlassian's tokens: 1 h)
    assert all(s.get(SERVICEDESKS).ok for _ in range(20))
    assert sb.stats.refreshes == 1


def test_a_clock_jumping_back_is_caught_by_the_401(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb.settings.access_token_lifetime = 1
    s = jsm_nb.session(sb.sign_in())
    _jump(monkeypatch, -3600)  # NTP stepped the clock back an hour: the token looks young
    time.sleep(1.1)  # ... but Atlassian has let it expire
    responses: list[Any] = [s.get(SERVICEDESKS) for _ in range(5)]
    assert all(r.ok for r in responses)
    assert [r.status_code for r in responses[0].history] == [401]  # refreshed once, re-sent
    assert sb.stats.refreshes == 1
    assert sb.stats.rejected_refreshes == sb.stats.revoked_families == 0
