"""Living within Atlassian's rate limits: pace requests, stop on a spent quota, retry well.

Atlassian applies three limits at once to an OAuth 2.0 (3LO) app (enforced since
March 2026): an hourly *points quota* (Tier 1: one pool for every site and user of
the app; Tier 2: a pool per site), a *burst* token bucket per site, endpoint and
method, and a per-issue limit on writes. This module is the mechanism a session
uses to respect them; it sends nothing itself.

- :class:`Pacer` (one per app and process, :meth:`jsm_nb.context.Context.pacer`,
  shared by every thread) holds a client-side token bucket per (site, endpoint template, method)
  (:func:`jsm_nb.endpoints.endpoint`) and the known state of each quota pool.
  :meth:`Pacer.acquire` is called before each request: it waits for a token, a
  ``Retry-After`` or a spent quota to come back, or raises
  :class:`~jsm_nb.errors.RateLimited`. :meth:`Pacer.observe` is called after each
  answer: it learns from the headers (:mod:`jsm_nb.ratelimit_headers`; the
  enforced ones are acted on, the ``Beta-`` ones only shown) and returns a
  :class:`Verdict`.
- :func:`backoff` and :func:`wait_until`: Atlassian's retry advice, and waiting
  out a reset with a countdown. :mod:`jsm_nb.cost` counts what a fetch cost.

Pacing (why it converges)
-------------------------
Each bucket's rate follows AIMD (additive increase, multiplicative decrease), as
TCP's congestion control does. After every window of :data:`WINDOW` seconds
without a warning the rate grows by a = :data:`INCREASE` requests per second; on
a warning it is multiplied by b = :data:`BACKOFF_ON_429` (a burst 429, or a 503
asking to wait) or :data:`BACKOFF_ON_NEAR_LIMIT` (``X-RateLimit-NearLimit``, or
``X-RateLimit-Remaining`` under 20 % of ``X-RateLimit-Limit``), at most once a
window. The classic argument (Chiu and Jain, 1989): against a server of fixed
capacity C, the rate climbs linearly until it reaches C, then drops to bC, so it
oscillates in [bC, C] and never runs away. When n flows share C, an increase
adds the same a to each, which leaves their differences unchanged, and a
decrease multiplies every rate, and so every difference, by b < 1: the
differences shrink geometrically, and the flows converge to the fair share C/n.
Every thread of a process draws on the same bucket, so they are one flow: they
cannot starve one another, and their sum, not each one, is what is paced.

Two refinements keep a lone process off the wall entirely. The rate never
exceeds a ceiling: :data:`SAFETY` times the lower of Atlassian's published rate
for the endpoint and the ``X-RateLimit-Limit`` it answers with. And the early
warnings (NearLimit, a low Remaining) arrive while the server's bucket still
holds a fifth of its capacity, so the decrease happens before a 429 would. A
client-side bucket never holds more tokens than the server said remain.

Quota
-----
A quota 429 (``RateLimit-Reason: jira-quota-*``, or no known reason and a wait
longer than :data:`LONG_RETRY_AFTER`) stops every request to the pool until its
reset: for ``global`` every site of the app, for ``tenant`` that site. The reset
is the latest of ``Retry-After``, ``X-RateLimit-Reset`` and the quota's ``t=``
(never cut short); with none of them, the top of the next UTC hour, when
Atlassian resets quotas. :meth:`Pacer.acquire` waits a short stop out (up to
``wait_limit``, 60 s by default) and raises :class:`~jsm_nb.errors.RateLimited`
for a longer one unless told to wait. While the quota is low (Atlassian sends
``r=`` only when about 20 % or less is left) the pool's remaining points are
spread until the reset: the points each answer cost (given to
:meth:`Pacer.observe`) are paid back at ``r / t`` points per second, so the pool,
shared by every user of the app, lasts until it resets rather than stopping
everyone for the rest of the hour.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from .endpoints import documented_rate, endpoint, issue_of
from .errors import RateLimited
from .ratelimit_headers import Entry, Pool, RateHeaders, RateInfo, read_headers

__all__ = [
    "BACKOFF_CAP",
    "IDEMPOTENT_METHODS",
    "MAX_RETRIES",
    "WAIT_LIMIT",
    "Bucket",
    "Clock",
    "Pacer",
    "QuotaState",
    "Verdict",
    "backoff",
    "wait_until",
]

# --- Atlassian's numbers ------------------------------------------------------------------------

#: Retries of one request at most, each after ``Retry-After`` or :func:`backoff`.
MAX_RETRIES = 4
#: The first backoff wait (seconds) when Atlassian sends no ``Retry-After``: 2, 4, 8, 16 s.
FIRST_BACKOFF = 2.0
#: No backoff wait is longer than this (seconds).
BACKOFF_CAP = 30.0
#: Only these methods are retried (RFC 9110's idempotent methods).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
#: Seconds a spent quota is waited out before :class:`~jsm_nb.errors.RateLimited` is raised.
WAIT_LIMIT = 60.0
#: A 429 without a known reason asking for a longer wait (seconds) is taken for a quota.
LONG_RETRY_AFTER = 60.0

# --- the pacing policy (see the module's docstring) ----------------------------------------------

#: The rate never exceeds this share of the lower of the published and the announced limit.
SAFETY = 0.95
#: Seconds of one AIMD window: at most one increase and one decrease per window.
WINDOW = 1.0
#: Requests per second added after a window without a warning (AIMD's a).
INCREASE = 1.0
#: The rate is multiplied by this on a burst 429 or a 503 with ``Retry-After`` (AIMD's b).
BACKOFF_ON_429 = 0.5
#: ... and by this on an early warning (NearLimit, a low Remaining).
BACKOFF_ON_NEAR_LIMIT = 0.75
#: No bucket's rate falls below this (requests per second).
MIN_RATE = 1.0
#: A client-side bucket holds at most this many seconds of its rate (at least one token).
BURST_SECONDS = 0.25
_EPSILON = 1e-9  # tokens or seconds: rounding errors below this are no wait

Countdown = Callable[[float], None]


# --- clocks -------------------------------------------------------------------------------------


class Clock(Protocol):
    """What the pacer needs of time; tests pass a simulated one."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (deadlines)."""

    def time(self) -> float:
        """Seconds since the epoch on this machine's wall clock (dates shown to people)."""

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""


class SystemClock:
    """The real clocks and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


# --- retries ------------------------------------------------------------------------------------


def backoff(
    attempt: int,
    *,
    first: float = FIRST_BACKOFF,
    jitter: Callable[[float, float], float] | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` when Atlassian sends no ``Retry-After``.

    Parameters
    ----------
    attempt : int
        1 for the first retry: 2, 4, 8, 16 s by default, each times a jitter
        factor in [0.7, 1.3], never more than :data:`BACKOFF_CAP`.
    first : float
        The first wait.
    jitter : callable, optional
        ``jitter(0.7, 1.3)`` draws the factor; ``random.uniform`` by default.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    factor = (jitter or random.uniform)(0.7, 1.3)
    return float(min(first * 2 ** (attempt - 1) * factor, BACKOFF_CAP))


def _next_top_of_hour(now: float) -> float:
    """Seconds until the next top of the hour (UTC), when Atlassian resets its quotas."""
    return 3600.0 - now % 3600.0


# --- buckets and pools --------------------------------------------------------------------------


@dataclasses.dataclass
class Bucket:
    """The client-side token bucket of one (site, endpoint template, method), paced by AIMD.

    Not thread safe by itself: :class:`Pacer` holds its lock around every use.
    """

    documented: float
    rate: float
    ceiling: float
    tokens: float
    refilled_at: float
    held_until: float = 0.0
    hold_reason: str | None = None
    window_start: float = 0.0
    decreased_at: float = -math.inf
    server_limit: int | None = None
    server_remaining: int | None = None
    sent: int = 0
    throttled: int = 0

    @classmethod
    def fresh(cls, documented: float, now: float) -> Bucket:
        """A bucket at Atlassian's published rate (times :data:`SAFETY`), full."""
        rate = max(MIN_RATE, documented * SAFETY)
        return cls(documented, rate, rate, max(1.0, rate * BURST_SECONDS), now, window_start=now)

    @property
    def capacity(self) -> float:
        return max(1.0, self.rate * BURST_SECONDS)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.refilled_at)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.refilled_at = max(self.refilled_at, now)

    def take(self, now: float) -> float:
        """Take a token and return 0, or return the seconds until one may be taken.

        The caller checks :attr:`held_until` first.
        """
        self._refill(now)
        if self.tokens >= 1.0 - _EPSILON:  # a wait of 1e-18 s would not move a clock
            self.tokens = max(0.0, self.tokens - 1.0)
            self.sent += 1
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def hold(self, until: float, reason: str | None) -> None:
        """Send nothing before ``until``; then one request, then the rate."""
        if until > self.held_until:
            self.held_until, self.hold_reason = until, reason
            self.tokens, self.refilled_at = 1.0, until

    def saw(self, info: RateInfo) -> None:
        """Keep the server's last ``X-RateLimit-Limit`` and ``-Remaining``, for display."""
        if info.limit is not None:
            self.server_limit = info.limit
        if info.remaining is not None:
            self.server_remaining = info.remaining

    def learn(self, limit: float | None, remaining: float | None, now: float) -> None:
        """Take in the server's burst limit (the ceiling) and what it says remains."""
        self._refill(now)
        if limit:
            self.ceiling = max(MIN_RATE, min(self.documented, limit) * SAFETY)
            self.rate = min(self.rate, self.ceiling)
        if remaining is not None:
            self.tokens = min(self.tokens, remaining, self.capacity)

    def decrease(self, now: float, factor: float) -> None:
        """Multiplicative decrease, at most once per window."""
        if now - self.decreased_at < WINDOW:
            return
        self._refill(now)
        self.rate = max(MIN_RATE, self.rate * factor)
        self.tokens = min(self.tokens, self.capacity)
        self.decreased_at = self.window_start = now

    def succeed(self, now: float) -> None:
        """A success: after a whole window without a decrease, additive increase."""
        if now - self.window_start >= WINDOW:
            self._refill(now)
            self.rate = min(self.ceiling, self.rate + INCREASE)
            self.window_start = now

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "rate": round(self.rate, 3),
            "ceiling": round(self.ceiling, 3),
            "held_for": round(max(0.0, self.held_until - now), 3),
            "server_limit": self.server_limit,
            "server_remaining": self.server_remaining,
            "sent": self.sent,
            "throttled": self.throttled,
        }


@dataclasses.dataclass(frozen=True)
class QuotaState:
    """What is known of a quota pool, for display.

    Attributes
    ----------
    pool : {"global", "tenant"} or None
        Which pool the site's requests draw on, when the headers said.
    policy : str or None
        Its name, such as ``global-app-quota``.
    limit, window : float or None
        Its size in points, and its window in seconds (``q=``, ``w=``).
    remaining : float or None
        Points left, when Atlassian said (only when about 20 % or less is left).
    reset_at : datetime or None
        When it resets (UTC; this machine's clock).
    spent_until : datetime or None
        While the pool is spent: when requests may resume.
    reason : str or None
        The reason of the last quota 429.
    pace : float or None
        Points per second the pool's remaining points are spread at, while low.
    beta : RateInfo or None
        The last ``Beta-`` headers seen for the site (informational).
    """

    pool: Pool | None = None
    policy: str | None = None
    limit: float | None = None
    window: float | None = None
    remaining: float | None = None
    reset_at: dt.datetime | None = None
    spent_until: dt.datetime | None = None
    reason: str | None = None
    pace: float | None = None
    beta: RateInfo | None = None


@dataclasses.dataclass
class _Pool:
    """A quota pool: the app's global one, or a site's."""

    kind: Pool
    policy: str | None = None
    limit: float | None = None
    window: float | None = None
    remaining: float | None = None
    reset_deadline: float | None = None  # monotonic
    reset_at: dt.datetime | None = None
    spent_deadline: float = 0.0  # monotonic
    spent_at: dt.datetime | None = None  # spent until this time
    reason: str | None = None
    pace: float | None = None  # points per second, while low
    paid_until: float = 0.0  # monotonic: the points charged so far are paid back then

    def learn(self, entry: Entry, now: float, wall: float) -> None:
        """Take in one answer's entry for this pool."""
        self.policy = entry.name or self.policy
        self.limit = entry.quota if entry.quota is not None else self.limit
        self.window = entry.window if entry.window is not None else self.window
        self.remaining = entry.remaining
        if entry.reset is not None:
            self.reset_deadline = now + entry.reset
            self.reset_at = _utc(wall + entry.reset)
        self.pace = None
        if entry.remaining is not None and entry.reset:
            self.pace = entry.remaining / entry.reset
        if entry.remaining == 0 and entry.reset:
            self.spend(now + entry.reset, _utc(wall + entry.reset), entry.name)

    def spend(self, deadline: float, when: dt.datetime, reason: str | None) -> None:
        """The pool is spent until ``deadline`` (``when`` on this machine's clock)."""
        if deadline > self.spent_deadline:
            self.spent_deadline, self.spent_at = deadline, when
        self.reason = reason

    def charge(self, points: float, now: float) -> None:
        """Count an answer's points against the pace, while the pool is low."""
        if self.pace and self.reset_deadline and now < self.reset_deadline:
            self.paid_until = max(self.paid_until, now) + points / self.pace

    def pacing_wait(self, now: float) -> float:
        """Seconds until the points charged so far are paid back (0 when not pacing)."""
        if not self.pace or not self.reset_deadline or now >= self.reset_deadline:
            return 0.0
        return max(0.0, min(self.paid_until, self.reset_deadline) - now)

    def state(self, now: float, beta: RateInfo | None) -> QuotaState:
        spent = self.spent_at if now < self.spent_deadline else None
        return QuotaState(
            pool=self.kind if self.policy or spent else None,
            policy=self.policy,
            limit=self.limit,
            window=self.window,
            remaining=self.remaining,
            reset_at=self.reset_at,
            spent_until=spent,
            reason=self.reason,
            pace=self.pace if self.reset_deadline and now < self.reset_deadline else None,
            beta=beta,
        )


def _utc(epoch: float) -> dt.datetime:
    """``epoch`` as a UTC datetime, rounded up to the second: a time shown is never early."""
    return dt.datetime.fromtimestamp(math.ceil(epoch), dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class _Stop:
    """What stops a request for longer than a token's wait (see :class:`RateLimited`)."""

    pool: Literal["global", "tenant", "endpoint", "issue"]
    reason: str | None
    spent: bool = True  # False: a low quota being spread out
    until: float | None = None  # monotonic: when it ends, if later than the wait


@dataclasses.dataclass
class _Site:
    pool: _Pool = dataclasses.field(default_factory=lambda: _Pool("tenant"))
    name: str | None = None
    buckets: dict[tuple[str, str], Bucket] = dataclasses.field(default_factory=dict)
    issue_holds: dict[str, float] = dataclasses.field(default_factory=dict)
    beta: RateInfo | None = None


# --- verdicts -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What to do with an answer, from :meth:`Pacer.observe`.

    Attributes
    ----------
    action : {"ok", "retry", "quota"}
        ``ok``: hand the answer back (a success, or an error not to retry).
        ``retry``: call :meth:`Pacer.acquire` again (it waits ``wait`` out) and
        resend. ``quota``: the pool is spent; do not resend: :meth:`Pacer.acquire`
        waits a short stop out, and raises :class:`~jsm_nb.errors.RateLimited` otherwise.
    wait : float
        Seconds before the retry (``retry``) or until the reset (``quota``).
    reset_at : datetime or None
        When the quota comes back (``quota``).
    pool : {"global", "tenant"} or None
        The spent pool (``quota``).
    reason : str or None
        Atlassian's ``RateLimit-Reason``, when it gave one.
    """

    action: Literal["ok", "retry", "quota"]
    wait: float = 0.0
    reset_at: dt.datetime | None = None
    pool: Pool | None = None
    reason: str | None = None

    @classmethod
    def ok(cls) -> Verdict:
        return cls("ok")

    @classmethod
    def retry_after(cls, seconds: float, reason: str | None = None) -> Verdict:
        return cls("retry", wait=seconds, reason=reason)

    @classmethod
    def quota_exhausted(
        cls, reset_at: dt.datetime, pool: Pool, reason: str | None, wait: float
    ) -> Verdict:
        return cls("quota", wait=wait, reset_at=reset_at, pool=pool, reason=reason)


_QUOTA_REASONS: dict[str, Pool] = {
    "jira-quota-global-based": "global",
    "jira-quota-tenant-based": "tenant",
}
_BURST_REASON = "jira-burst-based"
_PER_ISSUE_REASON = "jira-per-issue-on-write"
_GATEWAY_REASON = "gateway-rate-limited"
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_GATEWAY_PREFIX = re.compile(r"^/ex/jira/[^/]+")  # named in RateLimited by the site instead
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# --- the pacer ----------------------------------------------------------------------------------


class Pacer:
    """The rate-limit state of one app in this process, shared by every thread.

    Call :meth:`acquire` before each request and :meth:`observe` after each answer.

    Parameters
    ----------
    app : str, optional
        The app's client id: it names the app in :class:`~jsm_nb.errors.RateLimited`.
    wait_limit : float
        A stop (a spent quota, a long ``Retry-After``) ending within this many
        seconds is waited out; a longer one raises
        :class:`~jsm_nb.errors.RateLimited` (unless ``wait=True``).
    clock : Clock
        The clocks and sleep (tests pass a simulated one).
    """

    def __init__(
        self, app: str | None = None, *, wait_limit: float = WAIT_LIMIT, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.app = app
        self.wait_limit = wait_limit
        self.clock = clock
        self._lock = threading.Lock()
        self._global = _Pool("global")
        self._sites: dict[str | None, _Site] = {}

    def __repr__(self) -> str:
        return f"<Pacer app={self.app!r} sites={len(self._sites)}>"

    def _site(self, site: str | None) -> _Site:
        return self._sites.setdefault(site, _Site())

    def _pools(self, site: str | None, place: _Site) -> tuple[_Pool, ...]:
        """The quota pools a request to ``site`` draws on: none off a site (``/me``)."""
        return () if site is None else (self._global, place.pool)

    def _bucket(self, site: str | None, method: str, path: str, now: float) -> Bucket:
        template = endpoint(path)
        buckets = self._site(site).buckets
        key = (method.upper(), template)
        if key not in buckets:
            buckets[key] = Bucket.fresh(documented_rate(method, template), now)
        return buckets[key]

    def name_site(self, site: str, name: str) -> None:
        """Give ``site`` (a cloud id) a name to show in messages and :meth:`snapshot`."""
        with self._lock:
            self._site(site).name = name

    def _label(self, site: str | None) -> str:
        name = self._sites[site].name if site in self._sites else None
        return f"{name} ({site})" if name else str(site)

    # -- before a request

    def _next(self, site: str | None, method: str, path: str) -> tuple[float, _Stop | None]:
        """Take a token and return 0; or return the seconds to wait, and what stops
        the request when it is more than a token's wait."""
        now = self.clock.monotonic()
        place = self._site(site)
        pools = self._pools(site, place)
        for pool in pools:
            if now < pool.spent_deadline:
                return pool.spent_deadline - now, _Stop(pool.kind, pool.reason)
        for pool in pools:
            wait = pool.pacing_wait(now)
            if wait > 0:
                return wait, _Stop(pool.kind, pool.policy, spent=False, until=pool.reset_deadline)
        if method.upper() not in _READ_METHODS:
            held = place.issue_holds.get(issue_of(path) or "", 0.0)
            if now < held:
                return held - now, _Stop("issue", _PER_ISSUE_REASON)
        bucket = self._bucket(site, method, path, now)
        if now < bucket.held_until:
            return bucket.held_until - now, _Stop("endpoint", bucket.hold_reason)
        return bucket.take(now), None

    def try_acquire(self, site: str | None, method: str, path: str) -> float:
        """Take a token without blocking: 0 when taken, else the seconds to wait first.

        Never raises: a spent quota's wait is returned as it is.
        """
        with self._lock:
            return self._next(site, method, path)[0]

    def acquire(
        self,
        site: str | None,
        method: str,
        path: str,
        *,
        wait: bool = False,
        countdown: Countdown | None = None,
        wait_limit: float | None = None,
    ) -> None:
        """Block until a request to ``path`` may be sent, or raise.

        Returns at once while requests stay under their endpoint's rate. Otherwise
        waits for the bucket's next token, a ``Retry-After``, a low quota's pacing,
        or a spent quota's reset: never longer than needed, never shorter. A stop
        longer than ``wait_limit`` seconds raises instead, unless ``wait`` is true.

        Parameters
        ----------
        site : str or None
            The site's cloud id; ``None`` for the API host's own paths (``/me``), which
            draw on no quota.
        method, path : str
            The request's method and path (or URL).
        wait : bool
            Wait however long Atlassian asks, instead of raising.
        countdown : callable, optional
            Called with the seconds left while a stop (not a token) is waited out.
        wait_limit : float, optional
            This request's wait limit, in place of the pacer's ``wait_limit``.

        Raises
        ------
        RateLimited
            Nothing may be sent to ``path`` for more than ``wait_limit`` seconds:
            its pool's quota is spent (or nearly, and spread out more slowly), or
            Atlassian asked this endpoint (or this issue's writes) to wait that long.
        """
        limit = self.wait_limit if wait_limit is None else wait_limit
        while True:
            with self._lock:
                delay, stop = self._next(site, method, path)
                if delay <= 0:
                    return
                if stop is not None and delay > limit and not wait:
                    raise self._refusal(stop, delay, site, method, path)
            _sleep_for(delay, self.clock, countdown if stop else None)

    def _refusal(
        self, stop: _Stop, delay: float, site: str | None, method: str, path: str
    ) -> RateLimited:
        now = self.clock.monotonic()
        left = delay if stop.until is None else max(delay, stop.until - now)
        return RateLimited(
            reset_at=_utc(self.clock.time() + left),
            pool=stop.pool,
            reason=stop.reason,
            retry_after=left,
            app=self.app,
            site=None if stop.pool == "global" else self._label(site),
            method=method.upper(),
            path=_GATEWAY_PREFIX.sub("", urlsplit(path).path),
            spent=stop.spent,
        )

    # -- after an answer

    def observe(
        self,
        site: str | None,
        method: str,
        path: str,
        status: int,
        headers: Any,
        *,
        points: float = 1.0,
        attempt: int = 1,
        retries: int = MAX_RETRIES,
        first_backoff: float = FIRST_BACKOFF,
    ) -> Verdict:
        """Learn from an answer; say what to do with it.

        Parameters
        ----------
        site, method, path : str
            As given to :meth:`acquire`.
        status : int
            The answer's HTTP status.
        headers : mapping
            The answer's headers.
        points : float
            The points the answer cost (see :func:`jsm_nb.cost.estimate_points`), counted while
            the pool's quota is low.
        attempt : int
            Which try of the request this answer is (1 for the first): a retry is
            offered for ``attempt <= retries`` of idempotent methods only.
        retries : int
            Retries of one request at most (:data:`MAX_RETRIES`, Atlassian's advice).
        first_backoff : float
            The first backoff wait when Atlassian sends no ``Retry-After``.

        Returns
        -------
        Verdict
            ``retry`` for a burst or unknown 429, or a 502-504 (after
            ``Retry-After``, else :func:`backoff`); ``quota`` when a pool is spent
            (every request to it is then stopped until the reset); else ``ok``.
        """
        wall = self.clock.time()
        info = read_headers(headers, now=wall)
        enforced = info.enforced
        with self._lock:
            now = self.clock.monotonic()
            place = self._site(site)
            bucket = self._bucket(site, method, path, now)
            place.beta = info.beta if info.beta != RateInfo() else place.beta
            for pool in self._pools(site, place):
                entry = enforced.entry(pool.kind)
                if entry is not None:
                    pool.learn(entry, now, wall)
                pool.charge(points, now)
            wait = backoff(attempt, first=first_backoff)  # when Atlassian says nothing
            if status == 429:
                verdict = self._throttled(info, place, bucket, path, now, wall, wait)
            else:
                verdict = self._answered(info, bucket, status, now, wait)
            if verdict.action == "retry" and not _retryable(method, attempt, retries):
                verdict = Verdict.ok()
            return verdict

    def _answered(
        self, info: RateHeaders, bucket: Bucket, status: int, now: float, backoff_wait: float
    ) -> Verdict:
        """A non-429 answer: learn the burst limit, adjust the rate."""
        enforced = info.enforced
        bucket.saw(enforced)
        bucket.learn(enforced.burst_limit, enforced.burst_remaining, now)
        if status in _RETRY_STATUSES:
            wait = enforced.retry_after
            if wait is not None:  # the server asks for time: it is overloaded
                bucket.decrease(now, BACKOFF_ON_429)
            wait = backoff_wait if wait is None else wait
            bucket.hold(now + wait, f"HTTP {status}")
            return Verdict.retry_after(wait)
        if enforced.near:
            bucket.decrease(now, BACKOFF_ON_NEAR_LIMIT)
        elif 200 <= status < 400:
            bucket.succeed(now)
        return Verdict.ok()

    def _throttled(
        self,
        info: RateHeaders,
        place: _Site,
        bucket: Bucket,
        path: str,
        now: float,
        wall: float,
        backoff_wait: float,
    ) -> Verdict:
        """A 429: a spent quota, a burst, a per-issue write limit, or a reason not known."""
        enforced = info.enforced
        reason = enforced.reason or (_GATEWAY_REASON if info.gateway_limited else None)
        bucket.throttled += 1
        pool: Pool | None = _QUOTA_REASONS.get(reason or "")
        wait = enforced.retry_after
        if wait is None and enforced.reset_in:  # the gateway's 429 says when, not how long
            wait = enforced.reset_in
        known = reason in (_BURST_REASON, _PER_ISSUE_REASON)
        if pool is None and not known and wait is not None and wait > LONG_RETRY_AFTER:
            pool = _spent_pool(enforced)  # no burst bucket waits that long: a quota
        if pool is not None:
            return self._spend(pool, enforced, place, reason, now, wall)
        wait = backoff_wait if wait is None else wait
        issue = issue_of(path) if reason == _PER_ISSUE_REASON else None
        if issue is not None:
            place.issue_holds[issue] = max(place.issue_holds.get(issue, 0.0), now + wait)
        else:
            bucket.saw(enforced)
            bucket.learn(enforced.limit, None, now)
            bucket.decrease(now, BACKOFF_ON_429)
            bucket.hold(now + wait, reason)
        return Verdict.retry_after(wait, reason)

    def _spend(
        self,
        kind: Pool,
        enforced: RateInfo,
        place: _Site,
        reason: str | None,
        now: float,
        wall: float,
    ) -> Verdict:
        """Stop every request to the pool until the latest reset any header gives."""
        entry = enforced.entry(kind)
        candidates = [enforced.retry_after, enforced.reset_in, entry.reset if entry else None]
        known = [seconds for seconds in candidates if seconds is not None]
        wait = max(known) if known else _next_top_of_hour(wall)
        pool = self._global if kind == "global" else place.pool
        if enforced.limit is not None:  # on a quota 429, X-RateLimit-* describe the quota
            pool.limit, pool.remaining = enforced.limit, enforced.remaining
        when = _utc(wall + wait)
        pool.spend(now + wait, when, reason)
        return Verdict.quota_exhausted(when, kind, reason, wait)

    def pacing(self, site: str | None) -> bool:
        """Whether a pool of ``site`` is low and being spread out, so that :meth:`observe`
        needs each answer's points."""
        with self._lock:
            now = self.clock.monotonic()
            place = self._site(site)
            return any(pool.pacing_wait(now) > 0 or pool.pace for pool in self._pools(site, place))

    # -- for display

    def quota(self, site: str | None) -> QuotaState:
        """What is known of the quota pool ``site``'s requests draw on."""
        with self._lock:
            return self._quota(self._site(site), self.clock.monotonic())

    def _quota(self, place: _Site, now: float) -> QuotaState:
        tenant = place.pool.state(now, place.beta)
        overall = self._global.state(now, place.beta)
        if overall.spent_until and not tenant.spent_until:
            return overall
        return tenant if tenant.pool else overall

    def snapshot(self) -> dict[str, Any]:
        """Plain data of every pool and bucket, for :func:`jsm_nb.usage` and the like."""
        with self._lock:
            now = self.clock.monotonic()
            return {
                "app": self.app,
                "global": dataclasses.asdict(self._global.state(now, None)),
                "sites": {
                    site: {
                        "name": place.name,
                        "quota": dataclasses.asdict(self._quota(place, now)),
                        "buckets": {
                            f"{method} {template}": bucket.describe(now)
                            for (method, template), bucket in place.buckets.items()
                        },
                    }
                    for site, place in self._sites.items()
                    if site is not None
                },
            }


def _spent_pool(enforced: RateInfo) -> Pool:
    """Which pool a 429 without a known reason spent: the one whose ``r=`` is 0, else the site's."""
    kinds: tuple[Pool, ...] = ("global", "tenant")
    for kind in kinds:
        entry = enforced.entry(kind)
        if entry is not None and entry.remaining == 0:
            return kind
    return "tenant"


def _retryable(method: str, attempt: int, retries: int) -> bool:
    return method.upper() in IDEMPOTENT_METHODS and attempt <= retries


# --- waiting ------------------------------------------------------------------------------------

STEP = 1.0  # seconds between two countdown reports


def _sleep_for(seconds: float, clock: Clock, countdown: Countdown | None) -> None:
    """Sleep ``seconds`` in steps of :data:`STEP`, reporting the seconds left; never less."""
    deadline = clock.monotonic() + seconds
    while (left := deadline - clock.monotonic()) > _EPSILON:
        if countdown is not None:
            countdown(left)
        clock.sleep(min(STEP, left))
    if countdown is not None:
        countdown(0.0)


def wait_until(
    reset_at: dt.datetime, *, countdown: Countdown | None = None, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Sleep until ``reset_at``, in small steps, reporting the seconds left.

    Parameters
    ----------
    reset_at : datetime
        When to wake (timezone-aware), such as a :class:`~jsm_nb.errors.RateLimited`'s.
    countdown : callable, optional
        Called with the seconds left before each step and with 0 at the end.
    clock : Clock
        The clocks and sleep. The wait is measured on the monotonic clock: a wall
        clock set back or forward meanwhile neither cuts it short nor stretches it.
    """
    if reset_at.tzinfo is None:
        raise ValueError("reset_at must be timezone-aware")
    _sleep_for(max(0.0, reset_at.timestamp() - clock.time()), clock, countdown)
