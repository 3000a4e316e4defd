"""9. The mirror: a first sync of 20,000 requests, re-syncs, and the report notebook's fetch.

An in-process sandbox (:func:`jsm_nb.sandbox.run`, for its ``change`` and its own
accounting of points), 20,000 customer requests on its first site (every site holds
``requests=``; only the first is mirrored), 50 ms of latency per call, Atlassian's 2026
limits on: burst buckets as by default, the hourly quota raised to 1,000,000 points so
that one run fits (the first sync alone is a third of Tier 1's 65,000, the notebook's
fetch more than all of it). Points are the sandbox's (``sb.limits.stats``), requests
what jsm_nb sent (:func:`jsm_nb.cost.metered`). In one run, each once:

a. the first sync of ``project in (...)`` over every desk (issues, requests, SLA cycles,
   satisfaction: all from the search);
b. a re-sync after a batch of changes touching 1% of the issues (updates, creates,
   deletes, moves, resolves; ``full_check`` left to the sync);
c. a re-sync with nothing changed;
d. the same with ``full_check=True``;
e. what notebooks/02_service_desk_report.ipynb fetches, with the helpers, as analysts do;

and a mirror that also keeps ``comments``: its first sync and its re-sync after the same
batch. The mirrors' DuckDB file sizes are printed too (for docs/SYNC.md).
``python -m bench.sync [--repeat N]`` (rounds each start a new sandbox).
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import jsm_nb
from bench.report import Line, check, main
from bench.searches import site_query
from jsm_nb import cost, sandbox
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.limits import Limits

__all__ = ["REPEAT", "run"]

REPEAT = 1  # a round takes about six minutes: the comments' first sync is a request an issue
SIZE = 20_000
LATENCY = 0.05
QUOTA = 1_000_000
NAME = "9 mirror sync"
CHANGES = {"updates": 150, "creates": 20, "deletes": 10, "moves": 10, "resolves": 10}
"""One batch touching 1% of the issues (200 of 20,000), by kind."""
POINTS_PER_ISSUE = 1.05
RESYNC_SHARE = 0.05
MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Spent:
    """What one step cost: requests sent, the sandbox's points, wall seconds."""

    requests: int
    points: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.requests:,} requests, {self.points:,} points, {self.seconds:.2f} s"


def spent(sb: Sandbox, step: Callable[[], object]) -> tuple[Spent, object]:
    """Run ``step``, and what it cost by the sandbox's points and jsm_nb's meter."""
    points = sb.limits.stats.snapshot()["points"]
    started = time.perf_counter()
    with cost.metered() as meter:
        result = step()
    seconds = time.perf_counter() - started
    used = sb.limits.stats.snapshot()["points"] - points
    return Spent(meter.cost().requests, used, seconds), result


def notebook_fetch(session: jsm_nb.JsmSession) -> dict[str, pd.DataFrame]:
    """Every fetch of the report notebook's cells, as it makes them (sign-in left out)."""
    desks = jsm_nb.service_desks(session=session, progress=False)
    types = pd.concat(
        [
            jsm_nb.request_types(desk, session=session, progress=False)
            for desk in desks.service_desk_id
        ]
    )
    requests = jsm_nb.customer_requests(session=session, progress=False)
    since = requests.created.min().strftime("%Y-%m-%d")
    year = f'project in ({", ".join(desks.project_key)}) AND created >= "{since}"'
    issues = jsm_nb.jql(
        year,
        fields=["project", "priority", "created", "resolutiondate"],
        session=session,
        progress=False,
    )
    slas = jsm_nb.sla(jql=year, session=session, progress=False)
    csat_fields = ["project", "Request Type", "resolutiondate", "Satisfaction"]
    csat = jsm_nb.jql(year, fields=csat_fields, session=session, progress=False)
    organizations = jsm_nb.organizations(session=session, progress=False)
    shared = [
        jsm_nb.customer_requests(organization=str(org), session=session, progress=False)
        for org in organizations["organization_id"]
    ]
    return {
        "types": types,
        "requests": requests,
        "issues": issues,
        "slas": slas,
        "csat": csat,
        "shared": pd.concat(shared),
    }


@dataclasses.dataclass(frozen=True)
class Round:
    """One round's figures."""

    first: Spent
    changed: Spent
    changed_full_check: bool
    still: Spent
    checked: Spent
    notebook: Spent
    comments_first: Spent
    comments_changed: Spent
    issues: int
    comment_rows: int
    changed_issues: int
    size_mib: float
    size_comments_mib: float


def one_round(directory: Path) -> Round:
    """A new sandbox, both mirrors, every step once."""
    limits = Limits(quota=QUOTA)
    with sandbox.run(requests=SIZE, limits=limits) as sb:
        sb.faults.latency = LATENCY
        session = jsm_nb.session(sb.sign_in())
        query = site_query(session)
        plain, with_comments = directory / "plain.duckdb", directory / "comments.duckdb"

        def sync(
            path: Path,
            query: str | None = None,
            what: list[str] | None = None,
            full_check: bool | None = None,
        ) -> jsm_nb.SyncReport:
            return jsm_nb.sync(
                query, what=what, path=path, full_check=full_check, session=session, progress=False
            )

        first, report = spent(sb, lambda: sync(plain, query=query))
        assert isinstance(report, jsm_nb.SyncReport)
        if report.rows["issues"] != SIZE:
            raise AssertionError(f"the first sync mirrored {report.rows['issues']} issues")
        size = plain.stat().st_size / MIB
        comments_first, report = spent(
            sb, lambda: sync(with_comments, query=query, what=["comments"])
        )
        assert isinstance(report, jsm_nb.SyncReport)
        size_comments = with_comments.stat().st_size / MIB
        comment_rows = report.rows["comments"]
        sb.change(
            updates=CHANGES["updates"],
            creates=CHANGES["creates"],
            deletes=CHANGES["deletes"],
            moves=CHANGES["moves"],
            resolves=CHANGES["resolves"],
        )
        changed, report = spent(sb, lambda: sync(plain))
        assert isinstance(report, jsm_nb.SyncReport)
        changed_full_check = report.full_check
        changed_issues = report.added + report.updated + report.deleted
        comments_changed, _ = spent(sb, lambda: sync(with_comments))
        still, _ = spent(sb, lambda: sync(plain))
        checked, _ = spent(sb, lambda: sync(plain, full_check=True))
        notebook, _ = spent(sb, lambda: notebook_fetch(session))
        return Round(
            first,
            changed,
            changed_full_check,
            still,
            checked,
            notebook,
            comments_first,
            comments_changed,
            SIZE,
            comment_rows,
            changed_issues,
            size,
            size_comments,
        )


def changed_note(last: Round) -> str:
    """How many issues the 1% re-sync changed, and whether it listed every id."""
    checked = "yes" if last.changed_full_check else "no"
    return f"{last.changed_issues} issues; full check: {checked}"


def median(rounds: list[Round], pick: Callable[[Round], Spent]) -> Spent:
    """The median requests, points and seconds of one step over the rounds."""
    found = [pick(r) for r in rounds]
    return Spent(
        round(statistics.median(s.requests for s in found)),
        round(statistics.median(s.points for s in found)),
        statistics.median(s.seconds for s in found),
    )


def run(repeat: int = REPEAT) -> list[Line]:
    """``repeat`` rounds, each in a new sandbox; lines for the table."""
    rounds = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="jsm_nb_bench_sync_") as directory:
            rounds.append(one_round(Path(directory)))
    last = rounds[-1]
    first, changed = median(rounds, lambda r: r.first), median(rounds, lambda r: r.changed)
    still, checked = median(rounds, lambda r: r.still), median(rounds, lambda r: r.checked)
    notebook = median(rounds, lambda r: r.notebook)
    c_first = median(rounds, lambda r: r.comments_first)
    c_changed = median(rounds, lambda r: r.comments_changed)
    batch = sum(CHANGES.values())
    per_issue = (c_first.requests - first.requests) / SIZE
    points_per_issue = (c_first.points - first.points) / SIZE
    return [
        Line(NAME, f"{SIZE:,} requests, {LATENCY * 1000:.0f} ms, burst limits on", ""),
        Line(NAME, "a. first sync", str(first)),
        Line(
            NAME,
            f"b. re-sync after {batch} changes (1%)",
            str(changed),
            changed_note(last),
        ),
        Line(NAME, "c. re-sync, nothing changed", str(still)),
        Line(NAME, "d. re-sync, full_check=True", str(checked)),
        Line(NAME, "e. the report notebook's fetch, helpers", str(notebook)),
        Line(
            NAME,
            "comments: first sync",
            str(c_first),
            f"{per_issue:.2f} requests, {points_per_issue:.2f} points more an issue",
        ),
        Line(NAME, "comments: re-sync after the 1% batch", str(c_changed)),
        Line(
            NAME,
            "DuckDB file after the first sync: plain, with comments",
            f"{last.size_mib:.1f} MiB, {last.size_comments_mib:.1f} MiB",
            f"{last.comment_rows:,} comments",
        ),
        check(
            NAME,
            "a. points per issue mirrored",
            first.points / SIZE,
            POINTS_PER_ISSUE,
            at_least=False,
        ),
        check(
            NAME,
            "b. requests: re-sync / first",
            changed.requests / first.requests,
            RESYNC_SHARE,
            at_least=False,
        ),
        check(
            NAME,
            "b. time: re-sync / first",
            changed.seconds / first.seconds,
            RESYNC_SHARE,
            at_least=False,
        ),
        Line(
            NAME,
            "c. requests, nothing changed",
            "",
            str(still.requests),
            "<= 5",
            still.requests <= 5,
        ),
        check(
            NAME,
            "e. points: notebook / first sync",
            notebook.points / first.points,
            1,
            at_least=True,
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
