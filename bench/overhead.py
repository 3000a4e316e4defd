"""2. Per-call overhead: 2,000 GETs in a row, a JsmSession against a bare
``requests.Session`` sending the same bearer token: the client's CPU time per call.

The endpoint is a small one (the service desks), so the client's own cost is
most of each call. The sandbox answers in 11 ms, so that both clients send under
Atlassian's burst rate of 100 GETs a second and jsm_nb's pacer (95 a second) never
has to wait: a client that sleeps between calls spends more CPU on each, its caches
cold, and the comparison would measure that. ``python -m bench.overhead [--repeat N]``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import requests

import jsm_nb
from bench.report import Line, check, main, median_times
from bench.sandbox_process import running

__all__ = ["REPEAT", "run"]

REPEAT = 3
CALLS = 2_000
LATENCY = 0.011  # seconds: 90 calls a second at most, under the pacer's 95
PATH = "/rest/servicedeskapi/servicedesk"
NAME = "2 per-call overhead"


def calls(get: Callable[[], requests.Response]) -> Callable[[], None]:
    """``CALLS`` GETs in a row, each checked."""

    def go() -> None:
        for _ in range(CALLS):
            get().raise_for_status()

    return go


def run(repeat: int = REPEAT) -> list[Line]:
    """CPU-time both sessions, interleaved, ``repeat`` rounds; lines for the table."""
    with running(size=100, latency=LATENCY) as sandbox:
        session = jsm_nb.session(sandbox.config)
        plain = sandbox.plain_session()
        url = sandbox.base_url + PATH
        times = median_times(
            {
                "jsm_nb": calls(lambda: session.get(PATH)),
                "bare": calls(lambda: plain.get(url, timeout=30)),
            },
            repeat,
            clock=time.process_time,
        )
    per_call = {name: seconds / CALLS * 1e6 for name, seconds in times.items()}
    return [
        Line(
            NAME,
            f"JsmSession, {CALLS:,} GETs: client CPU",
            f"{times['jsm_nb']:.2f} s",
            f"{per_call['jsm_nb']:.0f} us/call",
        ),
        Line(
            NAME,
            f"bare requests.Session, {CALLS:,} GETs: client CPU",
            f"{times['bare']:.2f} s",
            f"{per_call['bare']:.0f} us/call",
        ),
        check(
            NAME, "JsmSession / bare Session", times["jsm_nb"] / times["bare"], 1.10, at_least=False
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
