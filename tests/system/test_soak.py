"""Soak: processes x threads calling the helpers on one token file, with 1 s access tokens.

The sandbox gives access tokens of 1 s and no reuse leeway at all: any refresh
made with a refresh token another kernel has already rotated revokes the whole
login at once. Every worker process signs in through the shared token file only.
Counted: helper calls, failures, and the sandbox's refreshes, rejected refreshes
and revoked token families. Target: no failure, no rejection, no revocation.

The default suite runs a short soak; ``python -m pytest tests/test_soak.py -m slow -s``
runs the 4 processes x 8 threads x 60 s one and prints its figures.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jsm_nb
from jsm_nb import api
from jsm_nb.sandbox import Limits, Sandbox

Call = Callable[[jsm_nb.JsmSession], object]


def _calls(s: jsm_nb.JsmSession) -> list[tuple[str, Call]]:
    """What an analyst's notebook does, one call each: every kind of helper."""
    desks = api.service_desks(session=s, progress=False)
    desk, project = str(desks.service_desk_id.iloc[0]), str(desks.project_key.iloc[0])
    keys = list(api.customer_requests(session=s, max_rows=5, progress=False).issue_key)
    return [
        ("me", lambda s: api.me(session=s)),
        ("sites", lambda s: api.sites(session=s)),
        ("service_desks", lambda s: api.service_desks(session=s, progress=False)),
        (
            "customer_requests",
            lambda s: api.customer_requests(session=s, max_rows=120, progress=False),
        ),
        ("request_types", lambda s: api.request_types(desk, session=s, progress=False)),
        ("queues", lambda s: api.queues(desk, session=s, progress=False)),
        ("sla", lambda s: api.sla(keys[:3], session=s, progress=False)),
        ("comments", lambda s: api.comments(keys[:2], session=s, progress=False)),
        ("jql", lambda s: api.jql(f"project = {project}", max_rows=60, session=s, progress=False)),
    ]


def soak_worker(config: jsm_nb.Config, seconds: float, threads: int, results: Any) -> None:
    """Call the helpers from ``threads`` threads for ``seconds``; put the counts on ``results``."""
    s = jsm_nb.session(config)
    calls = _calls(s)
    counts: collections.Counter[str] = collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(offset: int) -> None:
        turn = offset
        while time.monotonic() < deadline:
            name, call = calls[turn % len(calls)]
            turn += 1
            try:
                call(s)
                failed = None
            except Exception as error:
                failed = f"{name}: {type(error).__name__}: {error}"
            with lock:
                counts["calls"] += 1
                if failed is not None:
                    counts["failures"] += 1
                    errors.append(failed)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    results.put((dict(counts), errors[:5]))


def soak(
    sb: Sandbox, config: jsm_nb.Config, *, processes: int, threads: int, seconds: float
) -> tuple[collections.Counter[str], list[str]]:
    """Run ``processes`` worker processes (this one among them) and add up their counts."""
    sb.settings.access_token_lifetime = 1
    sb.settings.refresh_reuse_leeway = 0
    sb.stats.reset()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    others = [
        context.Process(target=soak_worker, args=(config, seconds, threads, results))
        for _ in range(processes - 1)
    ]
    for worker in others:
        worker.start()
    soak_worker(config, seconds, threads, results)
    for worker in others:
        worker.join(seconds + 120)
        assert worker.exitcode == 0
    totals: collections.Counter[str] = collections.Counter()
    errors: list[str] = []
    for _ in range(processes):
        counts, some = results.get(timeout=30)
        totals.update(counts)
        errors += some
    stats = sb.stats.snapshot()
    for counter in ("refreshes", "rejected_refreshes", "revoked_families", "api_requests"):
        totals[counter] = stats[counter]
    totals["failures"] += 0  # listed even when there were none
    return totals, errors


def _check(config: jsm_nb.Config, totals: collections.Counter[str], errors: list[str]) -> None:
    assert totals["failures"] == 0, errors
    assert totals["rejected_refreshes"] == 0
    assert totals["revoked_families"] == 0
    assert stat.S_IMODE(Path(config.token_path).stat().st_mode) == 0o600
    assert json.loads(Path(config.token_path).read_text())["version"] == 1


def _report(label: str, totals: collections.Counter[str]) -> None:
    print(f"\n{label}: " + ", ".join(f"{key}={value}" for key, value in sorted(totals.items())))


def test_short_soak_loses_no_login_and_fails_no_call() -> None:
    """3 processes x 8 threads x 20 s sharing one token file: the default suite's version."""
    # Logins are what a soak tests: 24 threads would spend Atlassian's hourly points in seconds.
    with jsm_nb.sandbox.run(requests=300, limits=Limits(enabled=False)) as sb:
        config = sb.sign_in()
        totals, errors = soak(sb, config, processes=3, threads=8, seconds=20)
        _report("short soak (3 processes x 8 threads x 20 s, 1 s tokens, no leeway)", totals)
        _check(config, totals, errors)
        assert totals["refreshes"] >= 10  # the tokens really did rotate all along
        assert totals["calls"] >= 50


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_soak_four_processes_eight_threads_a_minute() -> None:
    with jsm_nb.sandbox.run(requests=1000, limits=Limits(enabled=False)) as sb:
        config = sb.sign_in()
        totals, errors = soak(sb, config, processes=4, threads=8, seconds=60)
        _report("soak (4 processes x 8 threads x 60 s, 1 s tokens, no leeway)", totals)
        _check(config, totals, errors)
        assert totals["refreshes"] >= 30
