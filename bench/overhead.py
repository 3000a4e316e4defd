"""2. Per-call overhead: 2,000 GETs with no latency, a JsmSession against a bare
``requests.Session`` sending the same bearer token.

The endpoint is a small one (the service desks), so the client's own cost is
most of each call. ``python -m bench.overhead [--repeat N]``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import requests

import jsm_nb
from bench.report import Line, check, main, median_times
from bench.sandbox_process import running

__all__ = ["REPEAT", "run"]

REPEAT = 5
CALLS = 2_000
PATH = "/rest/servicedeskapi/servicedesk"
NAME = "2 per-call overhead"


def calls(get: Callable[[], requests.Response]) -> Callable[[], None]:
    """``CALLS`` GETs in a row, each checked."""

    def go() -> None:
        for _ in range(CALLS):
            get().raise_for_status()

    return go


def run(repeat: int = REPEAT) -> list[Line]:
    """Time both sessions, interleaved, ``repeat`` rounds; lines for the table."""
    with running(size=100) as sandbox:
        session = jsm_nb.session(sandbox.config)
        plain = sandbox.plain_session()
        url = sandbox.base_url + PATH
        times = median_times(
            {
                "jsm_nb": calls(lambda: session.get(PATH)),
                "bare": calls(lambda: plain.get(url, timeout=30)),
            },
            repeat,
        )
    per_call = {name: seconds / CALLS * 1e6 for name, seconds in times.items()}
    return [
        Line(
            NAME,
            f"JsmSession, {CALLS:,} GETs",
            f"{times['jsm_nb']:.2f} s",
            f"{per_call['jsm_nb']:.0f} us/call",
        ),
        Line(
            NAME,
            f"bare requests.Session, {CALLS:,} GETs",
            f"{times['bare']:.2f} s",
            f"{per_call['bare']:.0f} us/call",
        ),
        check(
            NAME, "JsmSession / bare Session", times["jsm_nb"] / times["bare"], 1.10, at_least=False
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
