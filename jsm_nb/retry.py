"""Retries of the token endpoint: urllib3's ``Retry`` with Atlassian's backoff.

:class:`AtlassianRetry` waits ``Retry-After`` when given, else backs off
exponentially with jitter, capped (:func:`jsm_nb.limits.backoff`). The token
endpoint (:mod:`jsm_nb.oauth`) uses it, and says which answers it retries; API
requests are retried by :mod:`jsm_nb.pacing`, which says which of theirs. Two rules
keep a notebook from freezing, whatever the server or the clocks say:

- ``Retry-After`` as an HTTP date is measured against the answer's own ``Date``
  header, not this machine's clock, so a clock minutes ahead or behind the
  server's neither stretches the wait nor hammers the server.
- A wait longer than :data:`LONGEST_WAIT` is not waited out: the answer is
  handed back at once (the token endpoint runs under the token store's lock).
- A timeout is retried once, not ``max_retries`` times: a server that accepts and
  goes silent costs at most two timeouts (plus one backoff), not five.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from urllib3.exceptions import MaxRetryError, ResponseError
from urllib3.exceptions import TimeoutError as Timeout
from urllib3.util.retry import Retry

from .limits import backoff
from .ratelimit_headers import retry_after

if TYPE_CHECKING:
    from typing_extensions import Self
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

__all__ = ["LONGEST_WAIT", "AtlassianRetry"]

LONGEST_WAIT = 60.0  # seconds; a longer Retry-After is handed back to the caller, not slept


class AtlassianRetry(Retry):
    """urllib3's Retry with Atlassian's backoff.

    Waits ``Retry-After`` when given, else :func:`jsm_nb.limits.backoff`
    (``backoff * 2**(n-1)`` seconds with jitter x0.7-1.3, capped at 30 s). An
    answer that asks for more than :data:`LONGEST_WAIT` seconds is not retried.
    """

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
        """Wait before the next try.

        A dropped connection (no response) is retried at once the first time: it is
        most often a keep-alive connection the server had closed.
        """
        if response is None:
            wait = self.get_backoff_time() if len(self.history) > 1 else 0.0
        else:
            asked = self.get_retry_after(response)
            wait = self.get_backoff_time() if asked is None else asked
        if wait > 0:
            time.sleep(wait)
