"""Timing and the results table shared by the benchmarks."""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

__all__ = ["Benchmark", "Line", "check", "main", "median_times", "table"]


@dataclasses.dataclass(frozen=True)
class Line:
    """One row of the table: a measured value, and for a target its ratio and verdict."""

    benchmark: str
    subject: str
    value: str
    ratio: str = ""
    target: str = ""
    met: bool | None = None


class Benchmark(Protocol):
    """A benchmark module: its default number of rounds and its ``run``."""

    __name__: str
    REPEAT: int

    def run(self, repeat: int) -> list[Line]: ...


def check(benchmark: str, subject: str, ratio: float, target: float, *, at_least: bool) -> Line:
    """A line comparing ``ratio`` with ``target`` (``>=`` when ``at_least``, else ``<=``)."""
    met = ratio >= target if at_least else ratio <= target
    sign = ">=" if at_least else "<="
    return Line(benchmark, subject, "", f"{ratio:.2f}x", f"{sign} {target:.2f}x", met)


def median_times(
    contenders: Mapping[str, Callable[[], object]],
    repeat: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """The median time of each contender, run in turn ``repeat`` rounds (interleaved), on
    ``clock`` (wall time; ``time.process_time`` for this process's CPU time).

    Interleaving spreads any slow spell of the machine over every contender.
    """
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, contender in contenders.items():
            started = clock()
            contender()
            times[name].append(clock() - started)
    return {name: statistics.median(found) for name, found in times.items()}


def table(lines: Iterable[Line]) -> str:
    """The lines as a Markdown table (readable as it is in a terminal)."""
    header = ("benchmark", "what", "median", "ratio", "target", "met")
    rows = [
        (
            line.benchmark,
            line.subject,
            line.value,
            line.ratio,
            line.target,
            "" if line.met is None else "yes" if line.met else "**no**",
        )
        for line in lines
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def show(row: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([show(header), rule, *map(show, rows)])


def machine() -> str:
    """One line about where the table was measured."""
    import os

    load = os.getloadavg()[0]
    return (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {load:.1f}"
    )


def main(benchmarks: Sequence[Benchmark], description: str) -> None:
    """Parse ``--repeat``, run ``benchmarks`` in turn and print their table."""
    spec = sys.modules["__main__"].__spec__
    module = spec.name.removesuffix(".__main__") if spec else "bench"
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--repeat", type=int, help="rounds of each (default: each one's own)")
    args = parser.parse_args()
    lines: list[Line] = []
    for benchmark in benchmarks:
        repeat = args.repeat or benchmark.REPEAT
        print(f"{benchmark.__name__}: {repeat} rounds ...", file=sys.stderr, flush=True)
        lines += benchmark.run(repeat)
    print(f"\n{machine()}\n")
    print(table(sorted(lines, key=lambda line: line.benchmark)))  # by number, each in order
