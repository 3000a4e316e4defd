"""7. SLA breaches of 5,000 requests: one JQL search against one call per request.

A sandbox in its own process, 5,000 customer requests, 50 ms of latency per call and
Atlassian's burst limits on (as by default). Each round builds the same breach table
(per SLA: cycles, breached, share breached) twice, from
``jsm_nb.sla(jql="project in (...)")`` over every desk and from ``jsm_nb.sla(keys)`` with
the keys of the same requests (fetched once beforehand, by ``jql(..., fields="key")``,
and not timed). Both frames must hold the same rows before any time counts. Requests
are counted by :func:`jsm_nb.cost.metered` around each call (the field catalogue the
search looks up included) and checked against each frame's ``attrs["jsm_nb"]``.

``python -m bench.sla_search [--repeat N]``.
"""

from __future__ import annotations

import statistics
import sys

import pandas as pd

import jsm_nb
from bench.report import Line, check, main
from bench.sandbox_process import Running, running
from bench.searches import Measured, in_order, site_query

__all__ = ["REPEAT", "run"]

REPEAT = 2  # a round takes about a minute: key by key is bounded by the burst rate
SIZE = 5_000
LATENCY = 0.05
NAME = "7 SLA by search"
ORDER = ["issue_key", "sla_id", "start_time"]


def breach_table(slas: pd.DataFrame) -> pd.DataFrame:
    """Per SLA: its cycles, how many breached, and the share breached."""
    table = slas.groupby("sla_name").agg(cycles=("breached", "size"), breached=("breached", "sum"))
    table["share"] = table["breached"] / table["cycles"]
    return table


def tabled(slas: pd.DataFrame) -> pd.DataFrame:
    """``slas``, once its breach table is built (the analyst's next step, timed with it)."""
    breach_table(slas)
    return slas


def run(repeat: int = REPEAT) -> list[Line]:
    """Both ways, interleaved, ``repeat`` rounds; lines for the table."""
    with running(SIZE, LATENCY) as sandbox:
        ways = contenders(sandbox)
        for _ in range(repeat):
            for way in ways.values():
                way()
    search, by_key = ways["search"], ways["keys"]
    assert search.frame is not None
    assert by_key.frame is not None
    pd.testing.assert_frame_equal(in_order(search.frame, ORDER), in_order(by_key.frame, ORDER))
    rows = len(search.frame)
    sent = {name: statistics.median(way.requests) for name, way in ways.items()}
    wall = {name: statistics.median(way.seconds) for name, way in ways.items()}
    return [
        Line(NAME, f"{SIZE:,} requests, {LATENCY * 1000:.0f} ms, burst limits on", ""),
        Line(
            NAME,
            'sla(jql="project in (...)"): requests, wall',
            f"{sent['search']:,.0f}, {wall['search']:.2f} s",
        ),
        Line(
            NAME,
            "sla(keys), the same requests: requests, wall",
            f"{sent['keys']:,.0f}, {wall['keys']:.2f} s",
            f"{sent['keys'] / wall['keys']:.0f} requests/s",
        ),
        Line(NAME, "  both frames: SLA cycles (equal rows)", f"{rows:,}"),
        check(NAME, "requests: keys / search", sent["keys"] / sent["search"], 20, at_least=True),
        check(NAME, "wall time: keys / search", wall["keys"] / wall["search"], 10, at_least=True),
    ]


def contenders(sandbox: Running) -> dict[str, Measured]:
    """The search and the key-by-key fetch, each on a session of its own."""
    searching, keyed = jsm_nb.session(sandbox.config), jsm_nb.session(sandbox.config)
    query = site_query(searching)
    keys = list(jsm_nb.jql(query, fields="key", session=keyed, progress=False)["issue_key"])
    if len(keys) != SIZE:
        raise AssertionError(f"the query matched {len(keys)} requests, not {SIZE}")
    return {
        "search": Measured(
            lambda: tabled(jsm_nb.sla(jql=query, session=searching, progress=False)), sandbox
        ),
        "keys": Measured(lambda: tabled(jsm_nb.sla(keys, session=keyed, progress=False)), sandbox),
    }


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
