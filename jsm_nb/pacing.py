"""Every API request through the app's :class:`~jsm_nb.limits.Pacer`, and Atlassian's retries.

:class:`PacingAdapter` is the session's adapter for the API host. Its ``send`` is
the last step before the connection: for each try of a request it calls
:meth:`Pacer.acquire <jsm_nb.limits.Pacer.acquire>` (wait for the endpoint's
budget, a ``Retry-After`` or a spent quota; or raise
:class:`~jsm_nb.errors.RateLimited`), sends (through
:class:`~jsm_nb.auth.TokenGuardAdapter`'s check), then gives the answer to
:meth:`Pacer.observe <jsm_nb.limits.Pacer.observe>`, which learns from its headers
and says whether to retry. Redirects and the re-send after a 401 come through it
too. What each request cost is counted on the open :class:`~jsm_nb.cost.Meter`.

What is retried (the one place that says so for API requests; the token endpoint's
rules are in :mod:`jsm_nb.oauth`):

- **Answers**, for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE), at
  most ``Config.max_retries`` times (4, Atlassian's advice): a 429 of a burst
  limit, of per-issue writes or of a reason not known, and a 502, 503 or 504.
  Each retry waits ``Retry-After`` (the minimum, never cut short; an HTTP date is
  read against the answer's ``Date``), else 2, 4, 8, 16 s (``Config.backoff``
  doubled) with jitter x0.7-1.3. A wait longer than ``Config.wait_limit`` (60 s)
  raises :class:`~jsm_nb.errors.RateLimited` instead, unless the fetch waits
  (``wait=True``).
- **A quota 429 is never retried**: every request to its pool stops until the
  reset. A reset within ``Config.wait_limit`` is waited out and the request sent
  again once the pool is back; a later one raises ``RateLimited``.
- **No answer**: a connection that could not be opened (any method: nothing was
  sent) or that dropped (idempotent methods), at once the first time, then with
  the backoff; a timeout once only, so a silent server costs two timeouts.
- Everything else (a 4xx, a 500, a POST's 429) is handed back as it is.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from urllib3.util.retry import Retry

from .answers import json_body
from .auth import TokenGuardAdapter
from .config import Config
from .cost import Cost, Meter, current, estimate_points, records_of
from .limits import IDEMPOTENT_METHODS, Pacer, backoff
from .origin import Origin

__all__ = ["PacingAdapter", "site_of"]

_SITE_PATH = re.compile(r"/ex/jira/([^/]+)(?:/|$)")
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError)
_NOT_SENT = (urllib3.exceptions.NewConnectionError,)
_NOT_RETRIED = (requests.exceptions.SSLError, urllib3.exceptions.SSLError)


def site_of(url: str) -> str | None:
    """The cloud id of the site a gateway URL goes to; ``None`` for the API host's own paths."""
    found = _SITE_PATH.match(urlsplit(url).path)
    return found.group(1) if found else None


def _reason(error: requests.RequestException) -> BaseException:
    """urllib3's failure inside requests' exception (a ``MaxRetryError``'s reason)."""
    wrapped = error.args[0] if error.args else None
    if isinstance(wrapped, urllib3.exceptions.MaxRetryError) and wrapped.reason is not None:
        return wrapped.reason
    return wrapped if isinstance(wrapped, BaseException) else error


def _points(method: str, url: str, response: requests.Response, unread: bool) -> int:
    """The points the answer cost by Atlassian's formula (1 for an error, or when the body
    is ``unread``: streamed, or nobody counts)."""
    if unread or not 200 <= response.status_code < 300:
        return 1
    if "json" not in response.headers.get("Content-Type", ""):
        return estimate_points(method, url, None)
    try:
        body = json_body(response)
    except ValueError:
        body = None
    return estimate_points(method, url, records_of(body))


class PacingAdapter(TokenGuardAdapter):
    """The API host's adapter: paced by ``pacer``, retried as the module says.

    Parameters
    ----------
    api : Origin
        The API origin, the only one that gets the token.
    pacer : Pacer
        The app's rate-limit state (:meth:`jsm_nb.context.Context.pacer`).
    config : Config
        ``max_retries``, ``backoff`` and ``wait_limit``.
    **kwargs
        For ``requests.adapters.HTTPAdapter`` (``pool_maxsize``).
    """

    def __init__(self, api: Origin, pacer: Pacer, config: Config, **kwargs: Any) -> None:
        # urllib3 retries nothing itself: every failure comes back here, as a MaxRetryError.
        super().__init__(api, max_retries=Retry(0, raise_on_status=False), **kwargs)
        self.pacer = pacer
        self.retries = config.max_retries
        self.first_backoff = config.backoff
        self.wait_limit = config.wait_limit

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        method, url = (request.method or "GET").upper(), request.url or ""
        site, meter = site_of(url), current()
        idempotent = method in IDEMPOTENT_METHODS
        sends = timeouts = 0
        while True:
            self._acquire(site, method, url, meter)
            sends += 1
            try:
                response = super().send(request, *args, **kwargs)
            except requests.RequestException as error:
                reason = _reason(error)
                timeouts += isinstance(error, _TIMEOUTS) or isinstance(reason, _TIMEOUTS)
                retried = not isinstance(error, _NOT_RETRIED) and not isinstance(
                    reason, _NOT_RETRIED
                )
                retried &= idempotent or isinstance(reason, _NOT_SENT)
                _count(meter, Cost(requests=1))
                if not retried or sends > self.retries or timeouts > 1:
                    raise
                _count(meter, Cost(retries=1))
                # The first failure is most often a keep-alive connection the server closed.
                if sends > 1:
                    self._sleep(backoff(sends - 1, first=self.first_backoff), meter)
                continue
            counted = meter is not None or self.pacer.pacing(site)  # else no need to read
            streamed = bool(kwargs.get("stream")) or not counted
            points = _points(method, url, response, streamed)
            verdict = self.pacer.observe(
                site,
                method,
                url,
                response.status_code,
                response.headers,
                points=points,
                attempt=sends,
                retries=self.retries,
                first_backoff=self.first_backoff,
            )
            _count(meter, Cost(requests=1, points=points))
            if verdict.action == "ok" or not idempotent or sends > self.retries:
                return response
            response.content  # noqa: B018 - read the body so the connection can be reused
            response.close()
            _count(meter, Cost(retries=1), verdict.wait if verdict.action == "retry" else None)

    def _acquire(self, site: str | None, method: str, url: str, meter: Meter | None) -> None:
        """Wait until the pacer lets the request go (or raise), counting the wait."""
        clock = self.pacer.clock
        started = clock.monotonic()
        self.pacer.acquire(
            site,
            method,
            url,
            wait=meter.wait if meter else False,
            countdown=meter.tick if meter else None,
            wait_limit=self.wait_limit,
        )
        _count(meter, Cost(waited=clock.monotonic() - started))

    def _sleep(self, seconds: float, meter: Meter | None) -> None:
        time.sleep(seconds)
        _count(meter, Cost(waited=seconds))


def _count(meter: Meter | None, spent: Cost, throttle_wait: float | None = None) -> None:
    if meter is not None:
        meter.add(spent, throttle_wait)
