"""Faults injected on demand: latency, 429s, 5xx answers and dropped connections.

Each knob adds a rule; a request that matches a rule's target and paths is
counted by that rule, and the rule fires on every ``every``-th match, or on a
seeded random fraction ``rate`` of them, or on every match when neither is
given. The first rule that fires answers the request. Rules apply to the API
server by default; ``target="auth"`` puts them on the token endpoint
(``POST /oauth/token``) instead, ``target="both"`` on both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import functools
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

from .server import Reply, html_reply, json_reply, status_phrase

__all__ = ["Faults", "Target"]

Target = Literal["api", "auth", "both"]

_BURST_LIMIT = "100"  # Atlassian's burst limit is about 100 GETs per second per endpoint


@dataclasses.dataclass
class _Rule:
    reply: Callable[[], Reply]
    every: int | None
    rate: float | None
    paths: tuple[str, ...] | None
    target: Target
    matched: int = 0

    def matches(self, target: Literal["api", "auth"], path: str) -> bool:
        if self.target not in (target, "both"):
            return False
        return self.paths is None or any(fnmatch.fnmatchcase(path, p) for p in self.paths)


def _number(seconds: float) -> str:
    """``1`` for 1.0, ``0.25`` for 0.25: header values without a needless ``.0``."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _rate_limited(retry_after: float | None) -> Reply:
    reset = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=retry_after or 0)
    headers = {
        "X-RateLimit-Limit": _BURST_LIMIT,
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),  # Atlassian's documented format
        "X-RateLimit-NearLimit": "true",
        "RateLimit-Reason": "jira-burst-based",
    }
    if retry_after is not None:
        headers["Retry-After"] = _number(retry_after)
    return json_reply(429, {"code": 429, "message": "Rate limit exceeded."}, headers)


def _failed(status: int, retry_after: float | None) -> Reply:
    headers = {} if retry_after is None else {"Retry-After": _number(retry_after)}
    phrase = status_phrase(status)
    if status == 502:  # what a proxy in front of the gateway answers
        page = f"<html><head><title>{status} {phrase}</title></head><body><center><h1>{status} {phrase}</h1></center></body></html>"  # noqa: E501
        return html_reply(status, page, headers)
    return json_reply(status, {"code": status, "message": phrase}, headers)


def _dropped() -> Reply:
    return Reply(drop=True)


class Faults:
    """The fault knobs of one sandbox; thread safe, changeable while it runs.

    Parameters
    ----------
    seed : int
        Seeds the random choice of ``rate=`` rules.

    Attributes
    ----------
    latency : float
        Seconds added to every API request (0 by default).

    Notes
    -----
    ``paths`` takes shell-style patterns (:mod:`fnmatch`) matched against the
    request path without its query string, e.g. ``"*/rest/servicedeskapi/request"``
    or ``"*/queue/*"``; ``None`` matches every path.

    ``retry_after`` may be a fraction of a second to keep tests fast; the
    header then reads e.g. ``0.2``. Atlassian sends whole seconds, and strict
    parsers (urllib3's ``Retry``) refuse fractions.
    """

    def __init__(self, seed: int = 0) -> None:
        self.latency = 0.0
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def rate_limit(
        self,
        every: int | None = None,
        rate: float | None = None,
        retry_after: float | None = 1,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
    ) -> None:
        """Answer matching requests 429 with Atlassian's rate-limit headers.

        Parameters
        ----------
        every : int, optional
            Fire on every ``every``-th matching request.
        rate : float, optional
            Fire on this seeded random fraction of matching requests.
        retry_after : float or None
            The ``Retry-After`` header in seconds; ``None`` leaves it out, as
            some of Atlassian's 429s do.
        paths : str or iterable of str, optional
            Path patterns to match; all paths by default.
        target : {"api", "auth", "both"}
            The API server, the token endpoint, or both.
        """
        self._add(functools.partial(_rate_limited, retry_after), every, rate, paths, target)

    def fail(
        self,
        status: int = 503,
        every: int | None = None,
        rate: float | None = None,
        retry_after: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
    ) -> None:
        """Answer matching requests with a 5xx status (502 comes as a proxy's HTML page).

        Parameters
        ----------
        status : int
            500-599; 502, 503 and 504 are the ones Atlassian's edge produces.
        retry_after : float, optional
            A ``Retry-After`` header in seconds, as some 503s carry.
        every, rate, paths, target
            As for :meth:`rate_limit`.
        """
        if not 500 <= status <= 599:
            raise ValueError(f"fail() takes a 5xx status, got {status}")
        self._add(functools.partial(_failed, status, retry_after), every, rate, paths, target)

    def drop(
        self,
        every: int | None = None,
        rate: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
    ) -> None:
        """Close the connection of matching requests without answering.

        Parameters
        ----------
        every, rate, paths, target
            As for :meth:`rate_limit`.
        """
        self._add(_dropped, every, rate, paths, target)

    def clear(self) -> None:
        """Remove every rule and set ``latency`` back to 0."""
        with self._lock:
            self._rules.clear()
            self.latency = 0.0

    def apply(self, target: Literal["api", "auth"], path: str) -> Reply | None:
        """Wait out the latency (API only) and return the fault reply, if a rule fires.

        Parameters
        ----------
        target : {"api", "auth"}
            Which server asks.
        path : str
            The request path without its query string.

        Returns
        -------
        Reply or None
            The reply of the first rule that fires, or ``None`` to answer normally.
        """
        if target == "api" and self.latency > 0:
            time.sleep(self.latency)
        with self._lock:
            fired = next(
                (r for r in self._rules if r.matches(target, path) and self._fires(r)), None
            )
        return None if fired is None else fired.reply()

    def _fires(self, rule: _Rule) -> bool:
        rule.matched += 1
        if rule.every is not None:
            return rule.matched % rule.every == 0
        if rule.rate is not None:
            return self._random.random() < rule.rate
        return True

    def _add(
        self,
        reply: Callable[[], Reply],
        every: int | None,
        rate: float | None,
        paths: Iterable[str] | str | None,
        target: Target,
    ) -> None:
        if every is not None and rate is not None:
            raise ValueError("give every= or rate=, not both")
        if every is not None and (not isinstance(every, int) or every < 1):
            raise ValueError(f"every= must be a positive integer, got {every!r}")
        if rate is not None and not 0 < rate <= 1:
            raise ValueError(f"rate= must be in (0, 1], got {rate!r}")
        if target not in ("api", "auth", "both"):
            raise ValueError(f"target= must be 'api', 'auth' or 'both', got {target!r}")
        patterns = None if paths is None else (paths,) if isinstance(paths, str) else tuple(paths)
        with self._lock:
            self._rules.append(_Rule(reply, every, rate, patterns, target))
