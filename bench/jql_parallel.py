"""8. A JQL search of 20,000 issues with 9 fields: concurrency 4 against concurrency 1.

A sandbox in its own process, 20,000 customer requests, 50 ms of latency per call and
Atlassian's burst limits on (as by default), the app's quota raised
(:data:`bench.sandbox_process.QUOTA`: a fetch costs 20,200 points, and Tier 1's 65,000
would stop the fourth). Each round runs
``jsm_nb.jql("project in (...)", fields=DEFAULT_JQL_FIELDS, concurrency=c)`` over every
desk, ``c`` 4 then 1, each on a session of its own. Both frames must hold the same rows
(in any order) before any time counts. ``python -m bench.jql_parallel [--repeat N]``.
"""

from __future__ import annotations

import math
import statistics
import sys

import pandas as pd

import jsm_nb
from bench.report import Line, check, main
from bench.sandbox_process import Running, running
from bench.searches import Measured, in_order, site_query
from jsm_nb.api import DEFAULT_JQL_FIELDS
from jsm_nb.sandbox.jsm import SEARCH_CAP_FIELDS

__all__ = ["REPEAT", "run"]

REPEAT = 3
SIZE = 20_000
LATENCY = 0.05
WIDE = 4
NAME = "8 JQL in parallel"


def contenders(sandbox: Running) -> dict[int, Measured]:
    """``jql`` at concurrency 4 and 1, each on a session of its own."""
    query = site_query(jsm_nb.session(sandbox.config))

    def at(width: int) -> Measured:
        session = jsm_nb.session(sandbox.config)
        return Measured(
            lambda: jsm_nb.jql(
                query,
                fields=DEFAULT_JQL_FIELDS,
                concurrency=width,
                session=session,
                progress=False,
            ),
            sandbox,
        )

    return {WIDE: at(WIDE), 1: at(1)}


def run(repeat: int = REPEAT) -> list[Line]:
    """Both concurrencies, interleaved, ``repeat`` rounds; lines for the table."""
    with running(SIZE, LATENCY) as sandbox:
        ways = contenders(sandbox)
        for _ in range(repeat):
            for way in ways.values():
                way()
    wide, one = ways[WIDE], ways[1]
    assert wide.frame is not None
    assert one.frame is not None
    if len(one.frame) != SIZE:
        raise AssertionError(f"the search gave {len(one.frame)} issues, not {SIZE}")
    pd.testing.assert_frame_equal(
        in_order(wide.frame, ["issue_id"]), in_order(one.frame, ["issue_id"])
    )
    pages = math.ceil(SIZE / SEARCH_CAP_FIELDS)
    wall = {width: statistics.median(way.seconds) for width, way in ways.items()}
    sent = {width: statistics.median(way.requests) for width, way in ways.items()}
    fields = len(DEFAULT_JQL_FIELDS)
    client_cpu, server_cpu = (statistics.median(spent) for spent in zip(*one.cpu, strict=True))
    return [
        Line(
            NAME,
            f"{SIZE:,} issues, {fields} fields, {pages} pages of {SEARCH_CAP_FIELDS}, "
            f"{LATENCY * 1000:.0f} ms",
            "",
        ),
        Line(
            NAME,
            f"jql(..., concurrency={WIDE}): wall, requests",
            f"{wall[WIDE]:.2f} s, {sent[WIDE]:,.0f}",
        ),
        Line(
            NAME,
            "jql(..., concurrency=1): wall, requests",
            f"{wall[1]:.2f} s, {sent[1]:,.0f}",
            f"{wall[1] / pages * 1000:.0f} ms a page",
        ),
        Line(
            NAME,
            "  CPU of one fetch (concurrency 1): client, sandbox",
            f"{client_cpu:.2f} s, {server_cpu:.2f} s",
        ),
        check(
            NAME, f"speed-up of concurrency {WIDE} over 1", wall[1] / wall[WIDE], 3, at_least=True
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
