"""6. Rate limits: pacing under a burst bucket, and the points the shipped notebooks cost.

Pacing: a sandbox in its own process whose burst bucket allows 20 GETs a second per
endpoint (``--burst 0.2``), 50 ms of latency per call; each client fetches 400 pages of
``/rest/servicedeskapi/request`` (10 rows each) on 8 threads: jsm_nb
(``paging.fetch(..., concurrency=8)``), a plain requests loop that sleeps
``Retry-After`` on a 429, and atlassian-python-api's ``ServiceDesk`` with its
``backoff_and_retry``. For each: the pages served a second, as a share of the
bucket's rate, and the 429s it met.

Points: each notebook in ``notebooks/`` run top to bottom in a fresh kernel against
its own sandbox (Atlassian's limits on, as by default), then the sandbox's
``limits.stats``: the points charged, the requests, the 429s.

``python -m bench.rate_limits``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import requests
from atlassian import ServiceDesk
from nbclient import NotebookClient
from urllib3.util.retry import Retry

import jsm_nb
from bench.report import Line, check, main
from bench.sandbox_process import REQUESTS_PATH, Running, running
from jsm_nb import cost, paging

__all__ = ["REPEAT", "run"]

REPEAT = 1
NAME = "6 rate limits"
PAGES = 400
PAGE_SIZE = 10
SIZE = PAGES * PAGE_SIZE
LATENCY = 0.05
BURST = 0.2  # of Atlassian's 100 GETs a second: 20
RATE = 100 * BURST
THREADS = 8
NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
STATS_CELL = """
import json
from jsm_nb import sandbox
_running = sandbox.default()
_stats = _running.limits.stats.snapshot()
print(json.dumps({"points": _stats["points"], "refusals": _stats["refusals"],
                  "requests": _running.stats.api_requests}))
"""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One client's fetch: the requests it sent, the 429s among them, the seconds it took."""

    sent: int
    throttled: int
    seconds: float

    @property
    def rate(self) -> float:
        """Pages served a second."""
        return (self.sent - self.throttled) / self.seconds


def _timed(fetch: Callable[[], tuple[int, int]]) -> Outcome:
    time.sleep(1.5)  # the server's bucket fills up again between clients
    started = time.perf_counter()
    sent, throttled = fetch()
    return Outcome(sent, throttled, time.perf_counter() - started)


def jsm_nb_fetch(sandbox: Running) -> Outcome:
    """jsm_nb's engine: 8 pages in flight, every request through the app's pacer."""
    session = jsm_nb.session(sandbox.config)

    def throttled() -> int:
        site = session.pacer.snapshot()["sites"].values()
        return sum(b["throttled"] for about in site for b in about["buckets"].values())

    def fetch() -> tuple[int, int]:
        before = throttled()
        with cost.metered() as meter:
            found = paging.fetch(
                session, REQUESTS_PATH, limit=PAGE_SIZE, concurrency=THREADS, progress=False
            )
        assert len(found) == SIZE
        return meter.cost().requests, throttled() - before

    return _timed(fetch)


def _counting(session: requests.Session) -> Callable[[], tuple[int, int]]:
    """Count the answers ``session`` gets, and the 429s among them."""
    counts = {"sent": 0, "throttled": 0}
    lock = threading.Lock()

    def hook(response: requests.Response, **kwargs: Any) -> None:
        with lock:
            counts["sent"] += 1
            counts["throttled"] += response.status_code == 429

    session.hooks["response"].append(hook)
    return lambda: (counts["sent"], counts["throttled"])


def plain_fetch(sandbox: Running) -> Outcome:
    """What an analyst writes with requests and threads: sleep Retry-After on a 429."""
    plain = sandbox.plain_session()
    counted = _counting(plain)
    url = sandbox.base_url + REQUESTS_PATH

    def page(start: int) -> list[Any]:
        while True:
            answer = plain.get(url, params={"start": start, "limit": PAGE_SIZE}, timeout=30)
            if answer.status_code == 429:
                time.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            answer.raise_for_status()
            values: list[Any] = answer.json()["values"]
            return values

    def fetch() -> tuple[int, int]:
        with ThreadPoolExecutor(THREADS) as pool:
            rows = sum(len(values) for values in pool.map(page, range(0, SIZE, PAGE_SIZE)))
        assert rows == SIZE
        return counted()

    return _timed(fetch)


class _CountingRetry(Retry):
    """urllib3's Retry, counting the 429s it retries (atlassian-python-api retries in it,
    out of sight of requests' hooks)."""

    seen = 0
    lock = threading.Lock()

    def increment(self, *args: Any, **kwargs: Any) -> Any:
        response = kwargs.get("response")
        if response is not None and response.status == 429:
            with _CountingRetry.lock:
                _CountingRetry.seen += 1
        return super().increment(*args, **kwargs)


def atlassian_fetch(sandbox: Running) -> Outcome:
    """atlassian-python-api's ServiceDesk, with its backoff_and_retry, on 8 threads."""
    plain = sandbox.plain_session()
    counted = _counting(plain)
    desk = ServiceDesk(url=sandbox.base_url, session=plain, cloud=True, backoff_and_retry=True)
    adapter = plain.get_adapter(sandbox.base_url)
    retry = adapter.max_retries.new()  # type: ignore[attr-defined]
    retry.__class__ = _CountingRetry
    adapter.max_retries = retry  # type: ignore[attr-defined]
    _CountingRetry.seen = 0
    path = REQUESTS_PATH.lstrip("/")

    def page(start: int) -> list[Any]:
        found = desk.get(path, params={"start": start, "limit": PAGE_SIZE})
        assert isinstance(found, dict)
        values: list[Any] = found["values"]
        return values

    def fetch() -> tuple[int, int]:
        with ThreadPoolExecutor(THREADS) as pool:
            rows = sum(len(values) for values in pool.map(page, range(0, SIZE, PAGE_SIZE)))
        assert rows == SIZE
        sent, throttled = counted()
        return sent + _CountingRetry.seen, throttled + _CountingRetry.seen

    return _timed(fetch)


def notebook_cost(path: Path) -> dict[str, Any]:
    """Run the notebook ``path`` in a fresh kernel on its own sandbox; what it cost."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(STATS_CELL))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSM_NB_")}
    with tempfile.TemporaryDirectory() as workdir:  # away from any .env
        env["JSM_NB_TOKEN_PATH"] = str(Path(workdir) / "tokens.json")
        client = NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": workdir}}
        )
        client.execute(env=env)
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    found: dict[str, Any] = json.loads(printed.strip().splitlines()[-1])
    return found


def run(repeat: int = REPEAT) -> list[Line]:
    """Each client once per round (the last round's figures); then each notebook's cost."""
    outcomes: dict[str, Outcome] = {}
    with running(SIZE, LATENCY, BURST) as sandbox:
        for _ in range(repeat):
            outcomes["jsm_nb"] = jsm_nb_fetch(sandbox)
            outcomes["requests"] = plain_fetch(sandbox)
            outcomes["atlassian"] = atlassian_fetch(sandbox)
    names = {
        "jsm_nb": f"jsm_nb paging.fetch, concurrency {THREADS}",
        "requests": f"plain requests, {THREADS} threads, sleeping Retry-After",
        "atlassian": f"atlassian-python-api, {THREADS} threads, backoff_and_retry",
    }
    lines = [Line(NAME, f"bucket: {RATE:.0f} GET/s, {LATENCY * 1000:.0f} ms, {PAGES} pages", "")]
    for key, outcome in outcomes.items():
        lines.append(
            Line(
                NAME,
                names[key],
                f"{outcome.rate:.1f} pages/s",
                f"{outcome.rate / RATE:.2f}x",
                "",
                None,
            )
        )
        lines.append(
            Line(NAME, "  429s met, requests sent", f"{outcome.throttled}, {outcome.sent}")
        )
    ours = outcomes["jsm_nb"]
    lines.append(check(NAME, "jsm_nb pages/s / bucket rate", ours.rate / RATE, 0.9, at_least=True))
    lines.append(Line(NAME, "jsm_nb 429s", str(ours.throttled), "", "0", ours.throttled == 0))
    for path in NOTEBOOKS:
        spent = notebook_cost(path)
        refused = sum(spent["refusals"].values())
        lines.append(
            Line(
                NAME,
                f"notebook {path.name}: points, requests, 429s",
                f"{spent['points']:,}, {spent['requests']:,}, {refused}",
            )
        )
    return lines


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
