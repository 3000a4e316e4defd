"""What the search benchmarks share: the JQL of a whole site and one fetch, measured."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

import jsm_nb
from bench.sandbox_process import Running
from jsm_nb import cost

__all__ = ["Measured", "in_order", "site_query"]


def site_query(session: jsm_nb.JsmSession) -> str:
    """JQL matching every request of the site: ``project in (...)`` over every desk."""
    desks = jsm_nb.service_desks(session=session, progress=False)
    return f"project in ({', '.join(desks['project_key'])})"


def in_order(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame``'s rows sorted by ``columns``, whatever order the fetch gave them in."""
    ordered: pd.DataFrame = frame.sort_values(columns, kind="stable").reset_index(drop=True)
    return ordered


class Measured:
    """One way of fetching a frame, called once a round: its last frame, and per round
    the requests it sent, its wall time and the CPU time of the client and the sandbox."""

    def __init__(self, fetch: Callable[[], pd.DataFrame], sandbox: Running) -> None:
        self.fetch = fetch
        self.sandbox = sandbox
        self.frame: pd.DataFrame | None = None
        self.requests: list[int] = []
        self.seconds: list[float] = []
        self.cpu: list[tuple[float, float]] = []

    def __call__(self) -> None:
        client, server = time.process_time(), self.sandbox.cpu_seconds()
        started = time.perf_counter()
        with cost.metered() as meter:
            found = self.fetch()
        self.seconds.append(time.perf_counter() - started)
        self.cpu.append((time.process_time() - client, self.sandbox.cpu_seconds() - server))
        sent = meter.cost().requests
        if found.attrs["jsm_nb"]["requests"] > sent:
            raise AssertionError("the frame counts more requests than were sent")
        self.requests.append(sent)
        self.frame = found
