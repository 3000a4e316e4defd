"""Faults injected on demand: latency, 429s, 5xx answers, dropped and hanging
connections, cut-off and malformed bodies.

Each knob adds a rule; a request that matches a rule's target and paths is
counted by that rule, and the rule fires on every ``every``-th match, or on a
seeded random fraction ``rate`` of them, or on every match when neither is
given. The first rule that fires answers the request. Rules apply to the API
server by default; ``target="auth"`` puts them on the token endpoint
(``POST /oauth/token``) instead, ``target="both"`` on both.

Most rules answer *instead of* the server: the request is never handled (a
refresh token sent then is not rotated). Rules made with ``answered=True``
(:meth:`Faults.drop`, :meth:`Faults.hang`) and :meth:`Faults.truncate` let the
server handle the request first and spoil only its answer: the way a token
response is lost on the wire after Atlassian has rotated the refresh token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import fnmatch
import functools
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Literal

from .server import App, Reply, Request, html_reply, json_reply, status_phrase

__all__ = ["GARBAGE", "Faults", "Target"]

Target = Literal["api", "auth", "both"]
Clock = Callable[[], float]

_BURST_LIMIT = "100"  # Atlassian's burst limit is about 100 GETs per second per endpoint


@dataclasses.dataclass
class _Rule:
    reply: Callable[[Reply | None], Reply]  # given the server's answer when ``answered``
    every: int | None
    rate: float | None
    paths: tuple[str, ...] | None
    target: Target
    answered: bool = False
    matched: int = 0

    def matches(self, target: Literal["api", "auth"], path: str) -> bool:
        if self.target not in (target, "both"):
            return False
        return self.paths is None or any(fnmatch.fnmatchcase(path, p) for p in self.paths)


def _number(seconds: float) -> str:
    """``1`` for 1.0, ``0.25`` for 0.25: header values without a needless ``.0``."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def _rate_limited(retry_after: float | None, as_date: bool, clock: Clock) -> Reply:
    now = clock()
    reset = dt.datetime.fromtimestamp(now + (retry_after or 0), dt.timezone.utc)
    headers = {
        "X-RateLimit-Limit": _BURST_LIMIT,
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),  # Atlassian's documented format
        "X-RateLimit-NearLimit": "true",
        "RateLimit-Reason": "jira-burst-based",
    }
    if retry_after is not None and as_date:  # RFC 9110's other form: an HTTP date
        headers["Retry-After"] = email.utils.formatdate(now + retry_after, usegmt=True)
    elif retry_after is not None:
        headers["Retry-After"] = _number(retry_after)
    return json_reply(429, {"code": 429, "message": "Rate limit exceeded."}, headers)


def _failed(status: int, retry_after: float | None) -> Reply:
    headers = {} if retry_after is None else {"Retry-After": _number(retry_after)}
    phrase = status_phrase(status)
    if status == 502:  # what a proxy in front of the gateway answers
        page = f"<html><head><title>{status} {phrase}</title></head><body><center><h1>{status} {phrase}</h1></center></body></html>"  # noqa: E501
        return html_reply(status, page, headers)
    return json_reply(status, {"code": status, "message": phrase}, headers)


#: The bodies of :meth:`Faults.garbage`: what a proxy, a captive portal or a broken
#: gateway answers instead of Atlassian's JSON.
GARBAGE = {
    "html": (
        "text/html;charset=UTF-8",
        "<!DOCTYPE html><html><head><title>Sign in to continue</title></head><body>"
        "<h1>Network login required</h1><p>Your session with the corporate proxy has "
        "expired.</p></body></html>",
    ),
    "text": ("text/plain", "upstream connect error or disconnect/reset before headers"),
    "json": ("application/json;charset=UTF-8", '{"size":50,"start":0,"limit":50,"values":[{"issu'),
    "empty": ("application/json;charset=UTF-8", ""),
    "object": ("application/json;charset=UTF-8", '{"status":"ok"}'),
}


def _dropped(answer: Reply | None = None) -> Reply:
    return Reply(drop=True)


def _garbage(kind: str, status: int, answer: Reply | None = None) -> Reply:
    content_type, body = GARBAGE[kind]
    return Reply(status, body.encode(), {"Content-Type": content_type})


def _cut(answer: Reply | None) -> Reply:
    assert answer is not None
    return dataclasses.replace(answer, cut=True)


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

    def __init__(self, seed: int = 0, clock: Clock = time.time) -> None:
        self.latency = 0.0
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._clock = clock
        self._released = threading.Event()  # set by clear(): every hanging request lets go

    def rate_limit(
        self,
        every: int | None = None,
        rate: float | None = None,
        retry_after: float | None = 1,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
        *,
        as_date: bool = False,
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
        as_date : bool
            Send ``Retry-After`` as an HTTP date, ``retry_after`` seconds after the
            sandbox's clock (see ``Settings.clock_offset``), instead of seconds.
        """
        reply = functools.partial(_rate_limited, retry_after, as_date, self._clock)
        self._add(lambda _: reply(), every, rate, paths, target)

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
        reply = functools.partial(_failed, status, retry_after)
        self._add(lambda _: reply(), every, rate, paths, target)

    def drop(
        self,
        every: int | None = None,
        rate: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
        *,
        answered: bool = False,
    ) -> None:
        """Close the connection of matching requests without answering.

        Parameters
        ----------
        every, rate, paths, target
            As for :meth:`rate_limit`.
        answered : bool
            Handle the request first (a refresh token is rotated, a code used up)
            and drop only its answer.
        """
        self._add(_dropped, every, rate, paths, target, answered=answered)

    def hang(
        self,
        seconds: float | None = None,
        every: int | None = None,
        rate: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
        *,
        answered: bool = False,
    ) -> None:
        """Hold matching requests without answering, then close the connection.

        A server that accepted the connection and went silent: only the client's
        read timeout ends the wait.

        Parameters
        ----------
        seconds : float, optional
            How long to hold each request; by default until :meth:`clear` (or the
            sandbox stops).
        every, rate, paths, target
            As for :meth:`rate_limit`.
        answered : bool
            Handle the request first and withhold only its answer.
        """
        if seconds is not None and seconds < 0:
            raise ValueError(f"seconds= must not be negative, got {seconds!r}")

        def held(answer: Reply | None) -> Reply:
            with self._lock:
                released = self._released
            released.wait(seconds)
            return Reply(drop=True)

        self._add(held, every, rate, paths, target, answered=answered)

    def truncate(
        self,
        every: int | None = None,
        rate: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
    ) -> None:
        """Send the server's real answer cut off halfway through its body.

        The headers (and ``Content-Length``) are the whole answer's; the
        connection closes after half the body, as when a connection breaks.

        Parameters
        ----------
        every, rate, paths, target
            As for :meth:`rate_limit`.
        """
        self._add(_cut, every, rate, paths, target, answered=True)

    def garbage(
        self,
        kind: str = "html",
        status: int = 200,
        every: int | None = None,
        rate: float | None = None,
        paths: Iterable[str] | str | None = None,
        target: Target = "api",
    ) -> None:
        """Answer matching requests with a body that is not Atlassian's JSON.

        Parameters
        ----------
        kind : {"html", "text", "json", "empty", "object"}
            A proxy's HTML sign-in page, a plain-text gateway error, JSON cut off
            (with a ``Content-Length`` that matches what is sent), no body at all, or
            a JSON object without any of the fields expected; see :data:`GARBAGE`.
        status : int
            The status to answer with; 200 by default, as a captive portal does.
        every, rate, paths, target
            As for :meth:`rate_limit`.
        """
        if kind not in GARBAGE:
            raise ValueError(f"kind= must be one of {sorted(GARBAGE)}, got {kind!r}")
        self._add(functools.partial(_garbage, kind, status), every, rate, paths, target)

    def clear(self) -> None:
        """Remove every rule, set ``latency`` back to 0 and let hanging requests go."""
        with self._lock:
            self._rules.clear()
            self.latency = 0.0
            self._released.set()
            self._released = threading.Event()

    def wrap(self, app: App, target: Literal["api", "auth"]) -> App:
        """``app`` with the ``answered`` rules of ``target`` applied to its answers.

        For ``"auth"`` only the token endpoint (``POST /oauth/token``) is affected.
        """

        def wrapped(request: Request) -> Reply:
            answer = app(request)
            if target == "auth" and (request.method, request.path) != ("POST", "/oauth/token"):
                return answer
            return self.spoil(target, request.path, answer)

        return wrapped

    def spoil(self, target: Literal["api", "auth"], path: str, answer: Reply) -> Reply:
        """The server's ``answer``, spoiled by the first ``answered`` rule that fires."""
        return self._fire(target, path, answered=True, answer=answer) or answer

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
        return self._fire(target, path, answered=False, answer=None)

    def _fire(
        self, target: Literal["api", "auth"], path: str, *, answered: bool, answer: Reply | None
    ) -> Reply | None:
        with self._lock:
            fired = next(
                (
                    r
                    for r in self._rules
                    if r.answered == answered and r.matches(target, path) and self._fires(r)
                ),
                None,
            )
        return None if fired is None else fired.reply(answer)

    def _fires(self, rule: _Rule) -> bool:
        rule.matched += 1
        if rule.every is not None:
            return rule.matched % rule.every == 0
        if rule.rate is not None:
            return self._random.random() < rule.rate
        return True

    def _add(
        self,
        reply: Callable[[Reply | None], Reply],
        every: int | None,
        rate: float | None,
        paths: Iterable[str] | str | None,
        target: Target,
        *,
        answered: bool = False,
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
            self._rules.append(_Rule(reply, every, rate, patterns, target, answered))
