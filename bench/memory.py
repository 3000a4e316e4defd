"""5. Memory: the peak RSS of a fetch-all of 100,000 customer requests, against the
frame's own deep memory size.

The sandbox runs in one process and the fetch in another, fresh one (this
module with ``--child``), so the peak resident size is the client's alone: the
interpreter, its libraries and the fetch. ``python -m bench.memory [--repeat N]``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.report import Line, check, main
from bench.sandbox_process import running

__all__ = ["REPEAT", "run"]

REPEAT = 3
SIZE = 100_000
NAME = "5 memory"
MB = 1e6


def _memory(field: str) -> int:
    """A size from Linux's ``/proc/self/status`` in bytes: ``VmRSS`` now, ``VmHWM`` the peak.

    Not ``getrusage``: its ``ru_maxrss`` survives ``exec``, so a child started by a big
    parent (``python -m bench`` after the DataFrame benchmark) would report the parent's.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024  # kB
    raise LookupError(field)


def child() -> None:
    """Sign in from the environment, fetch every request as a frame, print the figures."""
    import jsm_nb

    session = jsm_nb.session()  # Config.from_env(): the exports of the sandbox
    before = _memory("VmRSS")
    started = time.perf_counter()
    frame = jsm_nb.customer_requests(session=session, progress=False)
    assert not isinstance(frame, list)
    figures = {
        "rows": len(frame),
        "seconds": time.perf_counter() - started,
        "before": before,
        "peak": _memory("VmHWM"),
        "deep": int(frame.memory_usage(deep=True).sum()),
    }
    print(json.dumps(figures))


def _measure(exports: dict[str, str]) -> dict[str, float]:
    root = Path(__file__).resolve().parents[1]
    answer = subprocess.run(
        [sys.executable, "-m", "bench.memory", "--child"],
        env={**os.environ, **exports},
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(answer.stdout.splitlines()[-1])
    return figures


def run(repeat: int = REPEAT) -> list[Line]:
    """Fetch in ``repeat`` fresh processes; lines with the median figures."""
    with running(SIZE) as sandbox:
        runs = [_measure(sandbox.exports) for _ in range(repeat)]
    median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    growth = median["peak"] - median["before"]
    rows = f"{median['rows']:,.0f} rows"
    return [
        Line(NAME, f"frame's deep memory ({rows})", f"{median['deep'] / MB:.0f} MB"),
        Line(NAME, "client peak RSS (whole process)", f"{median['peak'] / MB:.0f} MB"),
        Line(
            NAME,
            "  of which the fetch (peak - RSS before it)",
            f"{growth / MB:.0f} MB",
            f"{growth / median['deep']:.2f}x the frame",
        ),
        Line(NAME, "  time of the fetch (no latency)", f"{median['seconds']:.1f} s"),
        check(
            NAME, "peak RSS / frame deep size", median["peak"] / median["deep"], 3.0, at_least=False
        ),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["--child"]:
        child()
    else:
        main([sys.modules[__name__]], __doc__ or "")
