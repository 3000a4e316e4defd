"""1. Fetch-all: 20,000 customer requests, 50 a page, 50 ms of latency per call.

jsm_nb (default settings, and concurrency 1) against a plain requests loop and
atlassian-python-api's ``ServiceDesk``, all against one sandbox in its own
process. ``python -m bench.fetch_all [--repeat N]``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from atlassian import ServiceDesk

import jsm_nb
from bench.report import Line, check, main, median_times
from bench.sandbox_process import PAGE_SIZE, REQUESTS_PATH, Running, running
from jsm_nb.paging import DEFAULT_CONCURRENCY

__all__ = ["REPEAT", "run"]

REPEAT = 3
SIZE = 20_000
LATENCY = 0.05
NAME = "1 fetch-all"

Page = dict[str, Any]


def offset_loop(get_page: Callable[[int], Page]) -> list[Any]:
    """Every record of a JSM listing, one page after another: ``start += size`` to the last."""
    records: list[Any] = []
    start = 0
    while True:
        page = get_page(start)
        records += page["values"]
        if page["isLastPage"]:
            return records
        start += page["size"]


def plain_loop(sandbox: Running) -> Callable[[], list[Any]]:
    """What an analyst writes with requests alone."""
    plain = sandbox.plain_session()
    url = sandbox.base_url + REQUESTS_PATH

    def get_page(start: int) -> Page:
        response = plain.get(url, params={"start": start, "limit": PAGE_SIZE}, timeout=30)
        response.raise_for_status()
        page: Page = response.json()
        return page

    return lambda: offset_loop(get_page)


def service_desk(sandbox: Running) -> ServiceDesk:
    """atlassian-python-api's client on the gateway URL, given a session with the same token."""
    return ServiceDesk(url=sandbox.base_url, session=sandbox.plain_session(), cloud=True)


def atlassian_loop(sandbox: Running) -> Callable[[], list[Any]]:
    """atlassian-python-api: ``ServiceDesk.get`` paged as its ``get_service_desks`` pages.

    Its ``get_my_customer_requests()`` takes no ``start`` and returns the first page
    only, so the pages are walked with the library's own ``get``.
    """
    desk = service_desk(sandbox)
    path = REQUESTS_PATH.lstrip("/")

    def get_page(start: int) -> Page:
        page = desk.get(path, params={"start": start, "limit": PAGE_SIZE})
        assert page is not None
        return page

    return lambda: offset_loop(get_page)


def jsm_nb_fetch(sandbox: Running, **options: Any) -> Callable[[], object]:
    """``jsm_nb.customer_requests()``: every page and the typed frame."""
    session = jsm_nb.session(sandbox.config)
    return lambda: jsm_nb.customer_requests(session=session, progress=False, **options)


def metered(
    contender: Callable[[], object], sandbox: Running, cpu: list[tuple[float, float]]
) -> Callable[[], None]:
    """``contender``, noting the CPU seconds it and the sandbox spend on each call in ``cpu``."""

    def go() -> None:
        client, server = time.process_time(), sandbox.cpu_seconds()
        contender()
        cpu.append((time.process_time() - client, sandbox.cpu_seconds() - server))

    return go


def run(repeat: int = REPEAT) -> list[Line]:
    """Time the four clients, interleaved, ``repeat`` rounds; lines for the table."""
    pages = math.ceil(SIZE / PAGE_SIZE)
    width = DEFAULT_CONCURRENCY
    cpu: list[tuple[float, float]] = []
    with running(SIZE, LATENCY) as sandbox:
        first_only = len(service_desk(sandbox).get_my_customer_requests() or ())  # type: ignore[no-untyped-call]
        times = median_times(
            {
                "jsm_nb": metered(jsm_nb_fetch(sandbox), sandbox, cpu),
                "concurrency 1": jsm_nb_fetch(sandbox, concurrency=1),
                "requests": plain_loop(sandbox),
                "atlassian": atlassian_loop(sandbox),
            },
            repeat,
        )
    ideal, ideal_one = pages / width * LATENCY, pages * LATENCY
    client_cpu, server_cpu = (statistics.median(spent) for spent in zip(*cpu, strict=True))
    return [
        Line(NAME, f"ideal: {pages} pages / {width} x {LATENCY * 1000:.0f} ms", f"{ideal:.2f} s"),
        Line(NAME, f"jsm_nb default (concurrency {width})", f"{times['jsm_nb']:.2f} s"),
        Line(
            NAME,
            "  CPU of one jsm_nb fetch: client, sandbox",
            f"{client_cpu:.2f} s, {server_cpu:.2f} s",
        ),
        Line(
            NAME,
            "jsm_nb concurrency=1",
            f"{times['concurrency 1']:.2f} s",
            f"{times['concurrency 1'] / ideal_one:.2f}x its ideal ({ideal_one:.0f} s)",
        ),
        Line(NAME, "plain requests loop", f"{times['requests']:.2f} s"),
        Line(
            NAME,
            "atlassian-python-api ServiceDesk.get loop",
            f"{times['atlassian']:.2f} s",
            f"get_my_customer_requests(): {first_only} rows",
        ),
        check(NAME, "jsm_nb default / ideal", times["jsm_nb"] / ideal, 1.3, at_least=False),
        check(
            NAME,
            "speed-up of jsm_nb over the plain loop",
            times["requests"] / times["jsm_nb"],
            3.5,
            at_least=True,
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
