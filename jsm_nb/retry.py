"""Retries after Atlassian's 429s, 5xx answers and dropped connections.

:class:`AtlassianRetry` is urllib3's ``Retry`` with Atlassian's advice: wait
``Retry-After`` when given, else back off exponentially with jitter, capped.
Both the API session and the token endpoint use it. Three rules keep a notebook
from freezing, whatever the server or the clocks say:

- ``Retry-After`` as an HTTP date is measured against the answer's own ``Date``
  header, not this machine's clock, so a clock minutes ahead or behind the
  server's neither stretches the wait nor hammers the server.
- A wait longer than :data:`LONGEST_WAIT` is not waited out: the answer is
  handed back at once (and raised as :class:`~jsm_nb.errors.ApiError`, which
  says how long Atlassian asks to wait).
- A timeout is retried once, not ``max_retries`` times: a server that accepts and
  goes silent costs at most two timeouts (plus one backoff), not five.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.exceptions import TimeoutError as Timeout
from urllib3.util.retry import Retry

from .limits import BACKOFF_CAP, backoff
from .ratelimit_headers import retry_after

if TYPE_CHECKING:
    from typing_extensions import Self
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = ["BACKOFF_CAP", "LONGEST_WAIT", "AtlassianRetry", "ThrottleListener", "retry_after"]

LONGEST_WAIT = 60.0  # seconds; a longer Retry-After is handed back to the caller, not slept
ThrottleListener = Callable[[float], None]


class AtlassianRetry(Retry):
    """urllib3's Retry with Atlassian's backoff, telling listeners about each wait.

    Waits ``Retry-After`` when given, else :func:`jsm_nb.limits.backoff`
    (``backoff * 2**(n-1)`` seconds with jitter x0.7-1.3, capped at 30 s). Each
    wait the server asked for (429, 5xx) is reported to ``listeners``, so that
    callers can slow down. An answer that
    asks for more than :data:`LONGEST_WAIT` seconds is not retried.
    """

    def __init__(self, *args: Any, listeners: list[ThrottleListener] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.listeners = [] if listeners is None else listeners

    def new(self, **kw: Any) -> AtlassianRetry:
        retry = super().new(**kw)
        retry.listeners = self.listeners
        return retry

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        """Count one more try; refuse to retry an answer that asks for a wait too long,
        or a second timeout."""
        wait = None if response is None else retry_after(response.headers)
        if wait is not None and wait > LONGEST_WAIT:
            reason = ResponseError(f"the server asked to wait {wait:.0f} s")
            raise MaxRetryError(_pool, url, reason)  # type: ignore[arg-type]
        if isinstance(error, Timeout) and any(
            isinstance(earlier.error, Timeout) for earlier in self.history
        ):
            raise MaxRetryError(_pool, url, error) from error  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)

    def get_backoff_time(self) -> float:
        attempts = len(self.history)
        return 0.0 if attempts == 0 else backoff(attempts, first=self.backoff_factor)

    def get_retry_after(self, response: Any) -> float | None:
        """Seconds from ``Retry-After`` (a date against the answer's ``Date``), if any."""
        return retry_after(response.headers)

    def parse_retry_after(self, retry_after: str) -> float:
        """Seconds from a ``Retry-After`` value; a malformed value means the usual backoff."""
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return super().parse_retry_after(retry_after)
            except Exception:  # an unparseable header must not fail the request
                return self.get_backoff_time()

    def sleep(self, response: Any = None) -> None:
        """Wait before the next try; tell the listeners when the server asked for it.

        A dropped connection (no response) is retried at once the first time: it is
        most often a keep-alive connection the server had closed.
        """
        if response is None:
            wait = self.get_backoff_time() if len(self.history) > 1 else 0.0
        else:
            asked = self.get_retry_after(response)
            wait = self.get_backoff_time() if asked is None else asked
            for listener in list(self.listeners):
                listener(wait)
        if wait > 0:
            time.sleep(wait)
