"""Atlassian's rate limits as enforced since 2 March 2026, with the headers that tell of them.

Sources: developer.atlassian.com/cloud/jira/platform/rate-limiting (points, tiers, the burst
table, per-issue writes, headers), .../build-an-app-that-respects-rate-limits, the partners'
forum thread "2026 point-based rate limits" (headers as seen on the wire, beta prefixes) and
Atlassian's status page of 22 April 2026 (the gateway's own 429). Every knob of :class:`Limits`
defaults to Atlassian's number; they stay changeable while the sandbox runs.

The gateway hands :meth:`Limits.serve` every call under ``/ex/jira/{cloudid}`` that carries a
live token for a known site. Three limits apply at once, checked in this order; the first that
refuses answers 429 and the call is not handled (nor charged):

1. **Points quota.** One pool per app (tier 1: all sites share it, 65,000 points) or one per
   site (tier 2: :class:`Plan`, by edition and users, capped at 500,000). Pools refill at the
   top of each hour of the sandbox's wall clock (``hour_seconds`` shortens the hour); once a
   pool is spent, *every* call it pays for is refused until then (``RateLimit-Reason:
   jira-quota-global-based`` or ``jira-quota-tenant-based``, ``Retry-After`` the seconds to the
   reset). A call is admitted while its pool has points left and charged after it is answered,
   so the last one may overdraw the pool.
2. **Burst.** A token bucket per site, endpoint (path template) and method, holding one
   second's worth of requests and refilling continuously: GET and POST 100/s, PUT, DELETE (and
   PATCH, which Atlassian's table leaves out) 50/s, with Atlassian's published overrides
   (:data:`BURST_OVERRIDES`). An empty bucket refuses with ``jira-burst-based`` and
   ``Retry-After: 1``.
3. **Per-issue writes.** At most 20 writes to one issue in any 2 s and 100 in any 30 s
   (``jira-per-issue-on-write``). A write is any method but GET/HEAD/OPTIONS on a path whose
   issue segment (``/issue/{key}``, ``/request/{key}``) names an issue by key or id; a key and an
   id of the same issue count apart.

**Cost of a call** (charged to the quota): a write costs 1 point, whatever it touches. A read
costs 1 point plus, for each object it returns, 2 for an identity object (any object with an
``accountId``: a user, customer, participant, organisation member) and 1 for any other (an
issue, request, comment, SLA record, status, organisation...). The objects returned are the
entries of the answer's ``values`` (JSM's pages) or ``issues`` (Jira's search), else the answer
itself; nested objects (an expanded request's SLAs) are not counted, as Atlassian publishes no
rule for them, and an error answer costs 1. Atlassian's examples hold: one issue costs 2, a
page of 8 group members 17.

**Headers.** Every answer carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` of its
burst bucket (tokens left, truthfully: that many more calls at once will not be refused by
it), ``RateLimit-Policy: "global-app-quota";q=65000;w=3600`` (``tenant-app-quota`` for tier 2)
and ``RateLimit: "global-app-quota";t=SECONDS_TO_RESET``, with ``r=POINTS_LEFT`` only when
under 20% of the pool is left; ``X-RateLimit-NearLimit: true`` when under 20% of the pool or of
the bucket is left. A 429 adds ``Retry-After`` (whole seconds), ``X-RateLimit-Reset`` (an ISO
time, ``2026-03-26T16:00Z``, seconds added when the reset is not on the minute) and
``RateLimit-Reason``; a quota 429's ``X-RateLimit-Limit`` is the pool's size and its
``Remaining`` 0, as Atlassian's are. The body is Jira's
``{"errorMessages": ["The request has been rate-limited."], "errors": {}}``.

**Modes**, for clients' tests: ``headers="beta"`` reports the quota only with the ``Beta-`` and
``X-Beta-`` prefixes and, as during Atlassian's beta, does not enforce it (an answer that would
have been refused comes anyway, carrying ``X-Beta-RateLimit-Reason``, ``Beta-Retry-After`` and
``X-Beta-RateLimit-Reset``); bursts and writes stay enforced. ``headers="both"`` enforces and
sends every header in both forms. ``gateway_429`` answers every refusal as Atlassian's gateway
does (``X-Failure-Category: FAILURE CLIENT RATE LIMITED``, ``X-RateLimit-Limit``,
``-Remaining: 0``, ``X-RateLimit-Reset`` and no ``Retry-After``); ``html_429`` sends an HTML
page instead of JSON; ``reason`` replaces ``RateLimit-Reason`` (e.g. with the undocumented
``jira-cost-based``).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import json
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .server import Reply, Request, html_reply, json_reply, normalise_path

__all__ = [
    "BURST_OVERRIDES",
    "BURST_RATES",
    "ISSUE_WRITE_WINDOWS",
    "TIER_1_QUOTA",
    "HeaderMode",
    "LimitStats",
    "Limits",
    "Plan",
    "request_cost",
]

Clock = Callable[[], float]
HeaderMode = Literal["enforced", "beta", "both"]

TIER_1_QUOTA = 65_000
"""Points per hour of a tier 1 app, shared by all its sites."""
_PLANS = {  # edition: (points per hour, more points per user)
    "free": (65_000, 0),
    "standard": (100_000, 10),
    "premium": (130_000, 20),
    "enterprise": (150_000, 30),
}
_QUOTA_CAP = 500_000

BURST_RATES: Mapping[str, float] = {
    "GET": 100,
    "POST": 100,
    "PUT": 50,
    "DELETE": 50,
    "PATCH": 50,
}
"""Requests per second per site, endpoint and method (PATCH is not in Atlassian's table)."""
BURST_OVERRIDES: Mapping[str, float] = {
    "GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/customer": 5,
    "GET /rest/api/3/issue/{issueIdOrKey}": 150,
    "GET /rest/api/3/issue/{issueIdOrKey}/changelog": 200,
    "POST /rest/api/3/search/approximate-count": 150,
}
"""Atlassian's published exceptions to :data:`BURST_RATES`, as ``"METHOD /template"``."""
ISSUE_WRITE_WINDOWS: tuple[tuple[int, float], ...] = ((20, 2.0), (100, 30.0))
"""At most ``n`` writes to one issue in any ``seconds``, for each ``(n, seconds)``."""

_NEAR = 0.2  # "under 20% left" makes NearLimit true and RateLimit carry r=
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_JIRA = re.compile(r"/ex/jira/([^/]+)(/.*)?")
_ISSUE = re.compile(
    r"/rest/(?:api/[23]|servicedeskapi)/(?:issue|request)/([A-Za-z][A-Za-z0-9_]*-\d+|\d+)(?:/.*)?"
)
_BODY = {"errorMessages": ["The request has been rate-limited."], "errors": {}}
_PAGE = (
    "<!DOCTYPE html><html><head><title>429 Too Many Requests</title></head><body>"
    "<h1>Too Many Requests</h1><p>The request has been rate-limited.</p></body></html>"
)
_GATEWAY_CATEGORY = "FAILURE CLIENT RATE LIMITED"


@dataclasses.dataclass(frozen=True)
class Plan:
    """A site's Jira plan, which sizes its pool under tier 2.

    Attributes
    ----------
    edition : {"free", "standard", "premium", "enterprise"}
        Free: 65,000 points; Standard 100,000 + 10 per user; Premium 130,000 + 20 per user;
        Enterprise 150,000 + 30 per user; never more than 500,000.
    users : int
        The site's licensed users.
    """

    edition: str = "free"
    users: int = 0

    def __post_init__(self) -> None:
        if self.edition not in _PLANS:
            raise ValueError(f"edition must be one of {sorted(_PLANS)}, got {self.edition!r}")
        if self.users < 0:
            raise ValueError(f"users must not be negative, got {self.users}")

    @property
    def quota(self) -> int:
        """Points per hour of the site's own pool."""
        base, per_user = _PLANS[self.edition]
        return min(base + per_user * self.users, _QUOTA_CAP)


@dataclasses.dataclass
class LimitStats:
    """What the limits saw; thread safe, resettable.

    Attributes
    ----------
    points : int
        Points charged in all, over all pools and hours.
    points_per_path : collections.Counter
        Points charged by normalised path, e.g. ``/ex/jira/{cloudid}/rest/servicedeskapi/request``.
    refusals : collections.Counter
        429s answered, by their reason (``jira-burst-based``, ...; the real one when
        ``Limits.reason`` replaces it on the wire).
    largest_burst : dict
        Per bucket, ``(cloud id, method, normalised path)``, the most calls it saw within one
        second, refused ones included.
    """

    points: int = 0
    points_per_path: Counter[str] = dataclasses.field(default_factory=Counter)
    refusals: Counter[str] = dataclasses.field(default_factory=Counter)
    largest_burst: dict[tuple[str, str, str], int] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(
        default_factory=threading.Lock, repr=False, compare=False
    )

    def charge(self, path: str, points: int) -> None:
        """Count ``points`` charged for a call to ``path``."""
        with self._lock:
            self.points += points
            self.points_per_path[normalise_path(path)] += points

    def refuse(self, reason: str) -> None:
        """Count one 429 for ``reason``."""
        with self._lock:
            self.refusals[reason] += 1

    def burst(self, bucket: tuple[str, str, str], calls: int) -> None:
        """Note that ``bucket`` saw ``calls`` calls within the last second."""
        with self._lock:
            self.largest_burst[bucket] = max(calls, self.largest_burst.get(bucket, 0))

    def snapshot(self) -> dict[str, Any]:
        """Every counter as a plain dict."""
        with self._lock:
            return {
                "points": self.points,
                "points_per_path": dict(self.points_per_path),
                "refusals": dict(self.refusals),
                "largest_burst": dict(self.largest_burst),
            }

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self.points = 0
            self.points_per_path.clear()
            self.refusals.clear()
            self.largest_burst.clear()


def request_cost(method: str, reply: Reply) -> int:
    """The points a call costs: 1 for a write; 1, +1 per object, +2 per identity object, for a read.

    Parameters
    ----------
    method : str
        The call's HTTP method.
    reply : Reply
        Its answer; only a 2xx JSON answer returns objects.

    Returns
    -------
    int
        The points, by the rules in this module's docstring.
    """
    if method.upper() not in _READS:
        return 1
    return 1 + sum(
        2 if isinstance(item, dict) and "accountId" in item else 1 for item in _objects(reply)
    )


def _objects(reply: Reply) -> Sequence[Any]:
    """The objects an answer returns: its ``values`` or ``issues``, else itself.

    The value the body was encoded from is read when the reply has it (a JSON array is a
    list or a tuple there), else the body is decoded.
    """
    content_type = reply.headers.get("Content-Type", "")
    if not 200 <= reply.status < 300 or not reply.body or "json" not in content_type:
        return []
    body = reply.value
    if body is None:
        try:
            body = json.loads(reply.body)
        except ValueError:
            return []
    if isinstance(body, list | tuple):
        return body
    if not isinstance(body, dict):
        return []
    for key in ("values", "issues"):
        if isinstance(items := body.get(key), list | tuple):
            return items
    return [body]


@dataclasses.dataclass
class _Bucket:
    tokens: float
    checked: float
    calls: collections.deque[float] = dataclasses.field(default_factory=collections.deque)


@dataclasses.dataclass(frozen=True)
class _Refusal:
    reason: str
    retry_after: int
    reset: float  # wall-clock time
    headers: dict[str, str]  # of the scope that refused (quota or burst)
    quota: bool


@dataclasses.dataclass(frozen=True)
class _Pass:
    """What :meth:`Limits._admit` found: the call's pool, bucket and any refusal."""

    pool: str
    policy: str
    size: int
    left: int  # points left in the pool when the call came
    reset: float
    burst: dict[str, str]
    spent: bool  # no points left: refused, or in beta mode only told
    refusal: _Refusal | None = None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _iso(moment: float) -> str:
    """An ISO time in UTC to the minute as Atlassian writes it, finer when needed."""
    when = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    if when.microsecond:
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    return when.strftime("%Y-%m-%dT%H:%M:%SZ" if when.second else "%Y-%m-%dT%H:%MZ")


def _beta(name: str) -> str:
    """The beta twin of a header: ``X-Beta-RateLimit-...``, ``Beta-RateLimit...``."""
    if name.startswith("X-RateLimit-"):
        return "X-Beta-" + name[2:]
    if name == "RateLimit-Reason":
        return "X-Beta-RateLimit-Reason"
    return "Beta-" + name


@functools.lru_cache(maxsize=256)
def _template_pattern(template: str) -> re.Pattern[str]:
    method, _, path = template.partition(" ")
    return re.compile(re.escape(method) + " " + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)))


@dataclasses.dataclass
class Limits:
    """The rate limits of one sandbox: knobs, buckets, pools and :attr:`stats`; thread safe.

    Every knob defaults to Atlassian's number and may be changed while the sandbox runs.

    Attributes
    ----------
    enabled : bool
        Enforce and report the limits (on by default, as at Atlassian).
    tier : {1, 2}
        Tier 1: one pool for all sites. Tier 2: a pool per site, sized by ``plans``.
    quota : int, optional
        Points per hour of every pool, in place of Atlassian's (65,000 for tier 1; the
        site's :class:`Plan` for tier 2).
    plans : dict of str to Plan
        Tier 2's plans by cloud id; a site not listed is on Free.
    hour_seconds : float
        The length of the quota's "hour": 10 shows a reset every 10 s. Pools refill when
        the sandbox's wall clock passes a multiple of it (the top of each UTC hour).
    burst : dict of str to float
        Requests per second by method; a method not listed is not burst-limited.
    burst_overrides : dict of str to float
        Rates for ``"METHOD /template"`` (``{name}`` matches one path segment).
    burst_scale : float
        Multiplies every burst rate: 0.1 allows a tenth of Atlassian's.
    issue_writes : tuple of (int, float)
        At most ``n`` writes to one issue in any ``seconds``, for each ``(n, seconds)``.
    headers : {"enforced", "beta", "both"}
        Which headers report the quota, and whether it is enforced; see the module's notes.
    gateway_429, html_429 : bool
        Refuse as Atlassian's gateway does (no ``Retry-After``); send 429 bodies as HTML.
    reason : str, optional
        Sent as every 429's ``RateLimit-Reason`` in place of the real one.
    clock : callable, optional
        Monotonic seconds for buckets and write windows; ``time.monotonic`` when None.
    wall_clock : callable, optional
        Epoch seconds for the quota's hours and ``X-RateLimit-Reset``; the sandbox sets its
        own (``Sandbox.wall_time``) when None, and ``time.time`` serves outside one.
    stats : LimitStats
        Points per path, 429s per reason, the largest burst per bucket.
    """

    enabled: bool = True
    tier: Literal[1, 2] = 1
    quota: int | None = None
    plans: dict[str, Plan] = dataclasses.field(default_factory=dict)
    hour_seconds: float = 3600
    burst: dict[str, float] = dataclasses.field(default_factory=lambda: dict(BURST_RATES))
    burst_overrides: dict[str, float] = dataclasses.field(
        default_factory=lambda: dict(BURST_OVERRIDES)
    )
    burst_scale: float = 1.0
    issue_writes: tuple[tuple[int, float], ...] = ISSUE_WRITE_WINDOWS
    headers: HeaderMode = "enforced"
    gateway_429: bool = False
    html_429: bool = False
    reason: str | None = None
    clock: Clock | None = dataclasses.field(default=None, repr=False, compare=False)
    wall_clock: Clock | None = dataclasses.field(default=None, repr=False, compare=False)
    stats: LimitStats = dataclasses.field(
        default_factory=LimitStats, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.tier not in (1, 2):
            raise ValueError(f"tier must be 1 or 2, got {self.tier!r}")
        if self.quota is not None and self.quota < 1:
            raise ValueError(f"quota must be at least 1 point, got {self.quota}")
        for name in ("hour_seconds", "burst_scale"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be greater than 0, got {getattr(self, name)!r}")
        if self.headers not in ("enforced", "beta", "both"):
            raise ValueError(f"headers must be 'enforced', 'beta' or 'both', got {self.headers!r}")
        self._lock = threading.Lock()
        self._hour = -1  # the index of the hour the pools were filled in
        self._spent: dict[str, int] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self._writes: dict[tuple[str, str], collections.deque[float]] = {}

    def reset(self) -> None:
        """Refill every pool and bucket and forget every write, as at a new hour."""
        with self._lock:
            self._spent.clear()
            self._buckets.clear()
            self._writes.clear()

    def serve(self, request: Request, answer: Callable[[], Reply]) -> Reply:
        """Answer a call under ``/ex/jira/{cloudid}`` within the limits.

        Parameters
        ----------
        request : Request
            The call, from a live token to a known site.
        answer : callable
            Handles the call; called only when no limit refuses it.

        Returns
        -------
        Reply
            The 429 of the limit that refused, or ``answer()``'s reply; either carries the
            rate-limit headers.
        """
        found = _JIRA.fullmatch(request.path)
        if not self.enabled or found is None:
            return answer()
        tenant, method = found.group(1), request.method.upper()
        with self._lock:
            admitted = self._admit(tenant, method, request.path, found.group(2) or "/")
        if admitted.refusal is not None:
            self.stats.refuse(admitted.refusal.reason)
            return self._refuse(admitted, admitted.refusal)
        reply = answer()
        points = request_cost(method, reply)
        with self._lock:
            spent = self._spent.get(admitted.pool, 0) + points
            self._spent[admitted.pool] = spent
        self.stats.charge(request.path, points)
        headers = self._mix(self._quota_headers(admitted, admitted.size - spent), admitted.burst)
        if admitted.spent:  # what the quota would have refused, told as the beta did
            told = self._told(self._quota_refusal(admitted))
            headers |= {_beta(name): value for name, value in told.items()}
        return dataclasses.replace(reply, headers={**reply.headers, **headers})

    # -- admission -------------------------------------------------------------------------

    def _admit(self, tenant: str, method: str, path: str, product: str) -> _Pass:
        """Decide on one call (under the lock): its pool, bucket and any refusal."""
        now = (self.wall_clock or time.time)()
        admitted = self._pool(tenant, now)
        if admitted.left <= 0 and self.headers != "beta":
            return dataclasses.replace(admitted, refusal=self._quota_refusal(admitted))
        monotonic = (self.clock or time.monotonic)()
        rate = self._rate(method, product)
        bucket = None if rate is None else self._bucket((tenant, method, path), rate, monotonic)
        limit = {} if rate is None else {"X-RateLimit-Limit": _number(rate)}
        if bucket is not None and bucket.tokens < 1:
            refused = limit | {"X-RateLimit-Remaining": "0"}
            refusal = _Refusal("jira-burst-based", 1, now + 1, refused, quota=False)
            return dataclasses.replace(admitted, refusal=refusal)
        issue = None if method in _READS else _ISSUE.fullmatch(product)
        wait = None if issue is None else self._issue_wait((tenant, issue[1].upper()), monotonic)
        if wait is not None:
            left = {} if bucket is None else {"X-RateLimit-Remaining": str(int(bucket.tokens))}
            refusal = _Refusal(
                "jira-per-issue-on-write", wait, now + wait, limit | left, quota=False
            )
            return dataclasses.replace(admitted, refusal=refusal)
        if bucket is None or rate is None:
            return admitted
        bucket.tokens -= 1
        burst = limit | {"X-RateLimit-Remaining": str(int(bucket.tokens))}
        if bucket.tokens < _NEAR * rate:
            burst["X-RateLimit-NearLimit"] = "true"
        return dataclasses.replace(admitted, burst=burst)

    def _pool(self, tenant: str, now: float) -> _Pass:
        """The pool that pays for a call to ``tenant``, refilled if a new hour has begun."""
        hour = math.floor(now / self.hour_seconds)
        if hour != self._hour:
            self._hour = hour
            self._spent.clear()
        if self.tier == 1:
            pool, policy, size = "app", "global-app-quota", self.quota or TIER_1_QUOTA
        else:
            size = self.quota or self.plans.get(tenant, Plan()).quota
            pool, policy = tenant, "tenant-app-quota"
        left = size - self._spent.get(pool, 0)
        reset = (hour + 1) * self.hour_seconds
        return _Pass(pool, policy, size, left, reset, {}, spent=left <= 0)

    def _bucket(self, key: tuple[str, str, str], rate: float, now: float) -> _Bucket:
        """The bucket of ``(tenant, method, path)``, refilled to ``now`` and this call noted."""
        key = (key[0], key[1], normalise_path(key[2]))
        bucket = self._buckets.setdefault(key, _Bucket(rate, now))
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.checked) * rate)
        bucket.checked = now
        bucket.calls.append(now)
        while bucket.calls[0] <= now - 1:
            bucket.calls.popleft()
        self.stats.burst(key, len(bucket.calls))
        return bucket

    def _rate(self, method: str, product: str) -> float | None:
        """The burst rate of ``method product``, or None when it has none."""
        call = f"{method} {product}"
        for template, rate in self.burst_overrides.items():
            if _template_pattern(template).fullmatch(call):
                return rate * self.burst_scale
        base = self.burst.get(method)
        return None if base is None else base * self.burst_scale

    def _issue_wait(self, issue: tuple[str, str], now: float) -> int | None:
        """Seconds until one more write to ``issue`` fits every window, else record it."""
        writes = self._writes.setdefault(issue, collections.deque())
        longest = max((seconds for _, seconds in self.issue_writes), default=0.0)
        while writes and writes[0] <= now - longest:
            writes.popleft()
        waits = []
        for count, seconds in self.issue_writes:
            recent = [moment for moment in writes if moment > now - seconds]
            if len(recent) >= count:
                waits.append(recent[len(recent) - count] + seconds - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        writes.append(now)
        return None

    # -- answers ---------------------------------------------------------------------------

    def _quota_refusal(self, admitted: _Pass) -> _Refusal:
        now = (self.wall_clock or time.time)()
        wait = max(1, math.ceil(admitted.reset - now))
        reason = "jira-quota-global-based" if self.tier == 1 else "jira-quota-tenant-based"
        limits = {"X-RateLimit-Limit": str(admitted.size), "X-RateLimit-Remaining": "0"}
        return _Refusal(reason, wait, admitted.reset, limits, quota=True)

    def _quota_headers(self, admitted: _Pass, left: int) -> dict[str, str]:
        now = (self.wall_clock or time.time)()
        seconds = max(1, math.ceil(admitted.reset - now))
        left = max(0, left)
        near = left < _NEAR * admitted.size
        remaining = f";r={left}" if near else ""
        policy, window = admitted.policy, _number(self.hour_seconds)
        headers = {
            "RateLimit-Policy": f'"{policy}";q={admitted.size};w={window}',
            "RateLimit": f'"{policy}"{remaining};t={seconds}',
        }
        if near:
            headers["X-RateLimit-NearLimit"] = "true"
        return headers

    def _mix(self, quota: dict[str, str], burst: dict[str, str]) -> dict[str, str]:
        """The quota's and the burst's headers, named as the header mode says."""
        if self.headers == "beta":
            return {**burst, **{_beta(name): value for name, value in quota.items()}}
        headers = {**burst, **quota}
        if self.headers == "both":
            headers |= {_beta(name): value for name, value in headers.items()}
        return headers

    def _told(self, refusal: _Refusal) -> dict[str, str]:
        """What a 429 of ``refusal`` says: its scope's limit, the wait, the reset, the reason."""
        return {
            **refusal.headers,
            "Retry-After": str(refusal.retry_after),
            "X-RateLimit-Reset": _iso(refusal.reset),
            "RateLimit-Reason": self.reason or refusal.reason,
        }

    def _refuse(self, admitted: _Pass, refusal: _Refusal) -> Reply:
        if self.gateway_429:  # the gateway's own 429: no Retry-After, no reason
            headers = {
                "X-Failure-Category": _GATEWAY_CATEGORY,
                **refusal.headers,
                "X-RateLimit-Reset": _iso(refusal.reset),
            }
            body: object = {"code": 429, "message": "Too Many Requests"}
        else:
            quota = self._quota_headers(admitted, 0 if refusal.quota else admitted.left)
            told = self._told(refusal)
            headers = self._mix(quota | told, {}) if refusal.quota else self._mix(quota, told)
            body = _BODY
        if self.html_429:
            return html_reply(429, _PAGE, headers)
        return json_reply(429, body, headers)
