"""How long each network failure takes to surface as a clear error, against its bound.

Every fault of the sandbox, on the API and on the token endpoint, met by a
signed-in session with ``max_retries=4`` (jsm_nb's default) and, to keep the run
short, a 2 s timeout and a 0.2 s first backoff (defaults: 30 s and 2 s). Prints
one line per fault: what the caller got, the requests the server saw, the time
it took and the longest it may take. ``python -m bench.failure_times``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import jsm_nb
from jsm_nb import sandbox
from jsm_nb.limits import BACKOFF_CAP
from jsm_nb.retry import LONGEST_WAIT

__all__ = ["bound", "main"]

TIMEOUT = 2.0
BACKOFF = 0.2
RETRIES = 4
PATH = "/rest/servicedeskapi/servicedesk"
HELD = "/rest/servicedeskapi/organization"  # a 429 asking for an hour holds its endpoint


def backoffs(config: jsm_nb.Config, retries: int) -> float:
    """The most ``retries`` backoffs can add up to (jitter x1.3, each capped)."""
    return sum(min(config.backoff * 1.3 * 2**n, BACKOFF_CAP) for n in range(retries))


def bound(kind: str, config: jsm_nb.Config) -> float:
    """The longest a call may take when every try meets the fault ``kind``."""
    if kind == "silent":  # a timeout is retried once
        return 2 * config.timeout + backoffs(config, 1)
    if kind == "refused":  # Retry-After over the wait limit (60 s): raised at once
        return 0.0
    return backoffs(config, config.max_retries)  # 429 without Retry-After, 5xx, drops


FAULTS: list[tuple[str, str, Callable[[Any], None]]] = [
    ("API: silent server", "silent", lambda f: f.hang()),
    ("API: dropped connections", "backoff", lambda f: f.drop()),
    ("API: 429, Retry-After 3600", "held", lambda f: f.rate_limit(retry_after=3600)),
    ("API: 429, no Retry-After", "backoff", lambda f: f.rate_limit(retry_after=None)),
    ("API: 502 (a proxy's page)", "backoff", lambda f: f.fail(502)),
    ("API: 503", "backoff", lambda f: f.fail(503)),
    ("API: 504", "backoff", lambda f: f.fail(504)),
    ("API: cut off halfway", "refused", lambda f: f.truncate()),
    ("token endpoint: silent", "silent", lambda f: f.hang(target="auth")),
    (
        "token endpoint: 429, Retry-After 3600",
        "refused",
        lambda f: f.rate_limit(retry_after=3600, target="auth"),
    ),
    ("token endpoint: 503", "backoff", lambda f: f.fail(503, target="auth")),
]


def _outcome(session: jsm_nb.JsmSession, path: str) -> str:
    try:
        response = session.get(path)
    except jsm_nb.ApiError as error:
        return f"ApiError: {error.error_message[:60]}"
    except jsm_nb.JsmError as error:
        return f"{type(error).__name__}: {str(error)[:60]}"
    if response.ok:
        return "ok"
    return f"ApiError: HTTP {response.status_code}"


def main() -> int:
    """Run every fault once; print one line each. Returns 1 if a bound was exceeded."""
    exceeded = 0
    defaults = jsm_nb.Config()
    print(f"timeout {TIMEOUT} s, first backoff {BACKOFF} s, {RETRIES} retries, waits over")
    print(
        f"{LONGEST_WAIT:.0f} s never slept; with the defaults the bounds are "
        f"{bound('silent', defaults):.0f} s (silent) and {bound('backoff', defaults):.0f} s\n"
    )
    with sandbox.run(requests=100) as sb:
        config = sb.config_for(
            site=sb.sites[0]["id"], timeout=TIMEOUT, backoff=BACKOFF, max_retries=RETRIES
        )
        login = jsm_nb.login(config)
        login.submit(sb.approve(login.authorization_url))
        session = jsm_nb.session(config)
        for label, kind, fault in FAULTS:
            if "token endpoint" in label:  # the next call refreshes first
                token = session.tokens._token or {}
                session.tokens._token = {**token, "expires_at": 0}
            before = sb.stats.snapshot()
            fault(sb.faults)
            started = time.monotonic()
            outcome = _outcome(session, HELD if kind == "held" else PATH)
            took = time.monotonic() - started
            sb.faults.clear()
            after = sb.stats.snapshot()
            seen = (after["api_requests"] - before["api_requests"]) + (
                after["token_requests"] - before["token_requests"]
            )
            limit = bound("refused" if kind == "held" else kind, config)
            over = took > limit + 1.0  # a second of slack for the machine itself
            exceeded += over
            print(
                f"{label:<40} {seen:>2} requests {took:6.2f} s (bound {limit:5.2f} s)"
                f"{'  EXCEEDED' if over else ''}  -> {outcome}"
            )
            assert session.get(PATH).ok  # the login survived
    return 1 if exceeded else 0


if __name__ == "__main__":
    sys.exit(main())
