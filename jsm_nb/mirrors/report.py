"""What a sync did: :class:`SyncReport`, shown as a few lines in a notebook."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping
from pathlib import Path

__all__ = ["Estimate", "SyncReport"]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """What a first pull will cost, before it starts.

    Attributes
    ----------
    issues : int
        Issues the query matches (Jira's approximate count).
    points : int
        Points of Atlassian's hourly quota it needs, by Atlassian's cost formula.
    quota : int
        The size of the hourly pool it draws on (65,000 for an app of tier 1, unless
        Atlassian's headers said another).
    """

    issues: int
    points: int
    quota: int

    @property
    def hours(self) -> float:
        """Hours of the whole quota the pull needs."""
        return self.points / self.quota

    def __str__(self) -> str:
        return (
            f"a first pull of about {self.issues:,} issues costs about {self.points:,} points: "
            f"{self.hours:.2f} hours of the {self.quota:,}-point hourly quota"
        )


@dataclasses.dataclass(frozen=True)
class SyncReport:
    """What one :func:`jsm_nb.sync` did.

    Attributes
    ----------
    path : Path
        The mirror's file.
    query : str
        The JQL it mirrors.
    first : bool
        Whether this was the mirror's first pull (everything, not what changed).
    resumed : bool
        Whether it went on from a sync that had stopped.
    full_check : bool
        Whether it listed every id of the query to find deleted and moved issues.
    added, updated, deleted : int
        Issues new to the mirror, changed in it, and gone from it.
    fetched : int
        Issues fetched (added, updated, and those the overlap fetched again unchanged).
    requests, points : int
        Requests sent and points of Atlassian's quota they cost (estimated by its formula).
    seconds : float
        How long the sync took.
    rows : mapping of str to int
        Each table's rows after the sync.
    estimate : Estimate, optional
        For a first pull, what it was expected to cost.
    """

    path: Path
    query: str
    first: bool
    resumed: bool
    full_check: bool
    added: int
    updated: int
    deleted: int
    fetched: int
    requests: int
    points: int
    seconds: float
    rows: Mapping[str, int]
    estimate: Estimate | None = None

    def _lines(self) -> list[str]:
        kind = "first sync" if self.first else "sync"
        lines = [
            f"{kind.capitalize()} of {self.query!r}{' (resumed)' if self.resumed else ''}: "
            f"{self.added:,} issues added, {self.updated:,} updated, {self.deleted:,} deleted",
            f"{self.requests:,} requests, {self.points:,} points, {self.seconds:.1f} s"
            + ("; every id checked for deletions" if self.full_check else ""),
            "rows: " + ", ".join(f"{name} {count:,}" for name, count in self.rows.items()),
            f"mirror: {self.path}",
        ]
        if self.estimate is not None:
            lines.insert(2, f"estimate: {self.estimate}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        """A few lines of escaped text (the query and the path are the user's)."""
        body = "<br>".join(html.escape(line) for line in self._lines())
        return f"<div class='jsm-nb-sync'>{body}</div>"
