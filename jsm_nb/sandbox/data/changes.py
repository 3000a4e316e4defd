"""Change batches: a site's data as it changes over time, one new immutable version a batch.

A :class:`Batch` says how many changes of each kind to make and from which seed;
:func:`apply` makes them at one moment, a minute after the site's clock (``SiteData.now``,
:data:`.NOW_MS` before the first batch), and gives the new :class:`SiteData` (the old one
is left as it was) and the :class:`Changes` it made. The same batch on the same version
makes the same changes in every process, so a list of batches replays to the same data.

The kinds, each on issues no other change of the batch touches:

``update``
    An open request takes its next step in the workflow (and its step's comment); one
    already done gets a comment. Either way ``updated`` becomes the batch's time.
``create``
    A new request with the next issue id and its desk's next key number, created then.
``delete``
    The request disappears from every read; its id and keys answer 404.
``move``
    To another desk and project: a new key there (a request type of that desk alike in
    needing approval), the same issue id; the old key still names it, as Jira redirects
    moved keys.
``resolve``
    A request that has reached support, and is not done, is resolved: its resolution SLA
    stops then.

Every change first fixes the request's comments as they were (``Request.notes``), so what
was said before stays said, word for word.
"""

from __future__ import annotations

import bisect
import dataclasses
import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from .catalogue import (
    CLOSED,
    DECLINED,
    FIRST_ISSUE_ID,
    IN_PROGRESS,
    MINUTE,
    PRIORITIES,
    RESOLVED,
    STATUSES,
    WAITING_FOR_APPROVAL,
    WAITING_FOR_CUSTOMER,
    WAITING_FOR_SUPPORT,
)
from .desks import DESKS
from .details import comments
from .model import Request, SiteData
from .words import COMMENT_OPENERS, FOLLOW_UPS, INTERNAL_NOTES, STEP_COMMENTS

__all__ = ["KINDS", "Batch", "Changed", "Changes", "apply", "mix"]

KINDS = ("updates", "creates", "deletes", "moves", "resolves")
"""The kinds of change, as :class:`Batch` counts them."""

_NEXT = {
    WAITING_FOR_APPROVAL: ((WAITING_FOR_SUPPORT, 0.85), (DECLINED, 0.15)),
    WAITING_FOR_SUPPORT: ((IN_PROGRESS, 1.0),),
    IN_PROGRESS: ((RESOLVED, 0.6), (WAITING_FOR_CUSTOMER, 0.4)),
    WAITING_FOR_CUSTOMER: ((IN_PROGRESS, 1.0),),
    RESOLVED: ((CLOSED, 1.0),),
}
_RESOLVABLE = frozenset((WAITING_FOR_SUPPORT, IN_PROGRESS, WAITING_FOR_CUSTOMER))
_OPEN = frozenset(k for k, status in enumerate(STATUSES) if status.category != "DONE")
_CHURN_MIX = (("updates", 0.72), ("creates", 0.15), ("resolves", 0.07), ("deletes", 0.03),
              ("moves", 0.03))  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Batch:
    """How many changes of each kind to make on one site, and the seed of their choices."""

    site: str
    seed: int
    updates: int = 0
    creates: int = 0
    deletes: int = 0
    moves: int = 0
    resolves: int = 0

    def __post_init__(self) -> None:
        for kind in KINDS:
            if getattr(self, kind) < 0:
                raise ValueError(f"{kind} must be zero or more, not {getattr(self, kind)}")

    def to_json(self) -> dict[str, Any]:
        """The batch as a JSON object (what the shared sandbox saves)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Batch:
        """The batch :meth:`to_json` wrote; ``TypeError`` or ``ValueError`` if it is not one."""
        values = {f.name: document[f.name] for f in dataclasses.fields(cls)}
        if not isinstance(values["site"], str) or not all(
            type(values[name]) is int for name in ("seed", *KINDS)
        ):
            raise TypeError(f"not a change batch: {document!r}")
        return cls(**values)


class Changed(NamedTuple):
    """An issue a batch changed: its id and key; for a move, also the key it had."""

    id: int
    key: str
    old_key: str | None = None


@dataclasses.dataclass(frozen=True)
class Changes:
    """What one batch changed, per kind, and when (``at``, epoch ms on the site's clock)."""

    site: str
    seed: int
    at: int
    updated: tuple[Changed, ...] = ()
    created: tuple[Changed, ...] = ()
    deleted: tuple[Changed, ...] = ()
    moved: tuple[Changed, ...] = ()
    resolved: tuple[Changed, ...] = ()

    @property
    def size(self) -> int:
        """How many issues the batch changed."""
        return sum(len(getattr(self, f)) for f in _CHANGED)

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (what the shared sandbox's admin route answers)."""
        return {
            "site": self.site,
            "seed": self.seed,
            "at": self.at,
            **{f: [list(c) for c in getattr(self, f)] for f in _CHANGED},
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Changes:
        """The record :meth:`to_json` wrote."""
        return cls(
            str(document["site"]),
            int(document["seed"]),
            int(document["at"]),
            **{f: tuple(Changed(*c) for c in document[f]) for f in _CHANGED},
        )


_CHANGED = ("updated", "created", "deleted", "moved", "resolved")


def mix(seed: int, count: int) -> dict[str, int]:
    """``count`` changes split as churn does: mostly updates, some creates, few of the rest."""
    rng = random.Random(f"jsm-sandbox-churn:{seed}")
    kinds = rng.choices([k for k, _ in _CHURN_MIX], [w for _, w in _CHURN_MIX], k=count)
    return {kind: kinds.count(kind) for kind in KINDS}


def apply(site: SiteData, batch: Batch) -> tuple[SiteData, Changes]:
    """Make ``batch``'s changes on ``site`` a minute after its clock.

    Parameters
    ----------
    site : SiteData
        The version to change; it is not modified.
    batch : Batch
        What to change. When fewer issues qualify than it asks for, fewer change.

    Returns
    -------
    tuple of SiteData and Changes
        The new version (its ``now`` the batch's time) and what changed.
    """
    return _Editor(site, batch).run()


class _Editor:
    """One batch being made: the new version's parts, edited in place, then frozen."""

    def __init__(self, site: SiteData, batch: Batch) -> None:
        self.site = site
        self.at = site.now + MINUTE
        self.rng = random.Random(f"jsm-sandbox-change:{site.cloudid}:{site.seed}:{batch.seed}")
        self.batch = batch
        self.requests = list(site.requests)
        self.desk_requests = [list(rows) for rows in site.desk_requests]
        self.by_key = dict(site.by_key)
        self.numbers = list(site.key_numbers)
        self.gone = set(site.gone)
        self.taken: set[int] = set()

    def run(self) -> tuple[SiteData, Changes]:
        batch = self.batch
        live = self.site.live
        deleted = [self._delete(i) for i in self._choose(live, batch.deletes)]
        moved = [self._move(i) for i in self._choose(live, batch.moves)]
        resolvable = self._in(live, _RESOLVABLE, batch.resolves)
        resolved = [self._resolve(i) for i in self._choose(resolvable, batch.resolves)]
        opened = self._in(live, _OPEN, batch.updates)
        chosen = self._choose(opened, batch.updates - batch.updates // 5)
        updated = [self._update(i) for i in chosen + self._choose(live, batch.updates // 5)]
        created = [self._create() for _ in range(batch.creates)]
        version = dataclasses.replace(
            self.site,
            requests=tuple(self.requests),
            desk_requests=tuple(tuple(rows) for rows in self.desk_requests),
            by_key=self.by_key,
            key_numbers=tuple(self.numbers),
            now=self.at,
            version=self.site.version + 1,
            gone=frozenset(self.gone),
        )
        changes = Changes(
            self.site.cloudid,
            batch.seed,
            self.at,
            tuple(sorted(updated)),
            tuple(created),
            tuple(sorted(deleted)),
            tuple(sorted(moved)),
            tuple(sorted(resolved)),
        )
        return version, changes

    def _in(self, pool: Sequence[int], statuses: frozenset[int], wanted: int) -> Sequence[int]:
        """The positions of ``pool`` whose request is in one of ``statuses`` (if ``wanted``)."""
        requests = self.requests
        return [i for i in pool if requests[i].timeline[-1][0] in statuses] if wanted else ()

    def _choose(self, pool: Sequence[int], count: int) -> list[int]:
        """Up to ``count`` positions of ``pool`` no other change of the batch has taken."""
        if not count:
            return []
        drawn = self.rng.sample(pool, min(len(pool), count + len(self.taken)))
        chosen = sorted([i for i in drawn if i not in self.taken][:count])
        self.taken.update(chosen)
        return chosen

    def _fixed(self, position: int) -> Request:
        """The request at ``position`` with its comments fixed as they are now."""
        request = self.requests[position]
        if request.notes is None:
            notes = tuple(
                (c.id, c.author, c.created, c.public, c.body) for c in comments(self.site, request)
            )
            request = request._replace(notes=notes)
        return request

    def _commented(self, request: Request, author: int, public: bool, body: str) -> Request:
        notes = request.notes or ()
        note = (request.issue_id * 100 + len(notes), author, self.at, public, body)
        return request._replace(notes=(*notes, note))

    def _agent(self, request: Request) -> int:
        if request.assignee >= 0:
            return request.assignee
        return self.rng.choice(self.site.desks[request.desk].agents)

    def _delete(self, position: int) -> Changed:
        request = self.requests[position]
        self.gone.add(position)
        self.desk_requests[request.desk].remove(position)
        for key in [k for k, p in self.by_key.items() if p == position]:
            del self.by_key[key]
        return Changed(request.issue_id, request.key)

    def _move(self, position: int) -> Changed:
        request = self._fixed(position)
        site = self.site
        desk = self.rng.choice([d for d in site.desks if d.index != request.desk])
        approval = site.request_types[request.request_type].approval
        alike = [t for t in desk.request_types if site.request_types[t].approval == approval]
        self.numbers[desk.index] += 1
        key = f"{desk.key}-{self.numbers[desk.index]}"
        self.desk_requests[request.desk].remove(position)
        bisect.insort(self.desk_requests[desk.index], position)
        self.by_key[key] = position
        self.requests[position] = request._replace(
            key=key,
            desk=desk.index,
            request_type=self.rng.choice(alike or list(desk.request_types)),
            touched=self.at,
        )
        return Changed(request.issue_id, key, request.key)

    def _step(self, request: Request, status: int) -> Request:
        """``request`` moved on to ``status`` at the batch's time, with the step's comment."""
        before = request.timeline[-1][0]
        assignee = request.assignee
        if status == IN_PROGRESS and assignee < 0:
            assignee = self._agent(request)
        request = request._replace(
            timeline=(*request.timeline, (status, self.at)), assignee=assignee
        )
        step = STEP_COMMENTS.get((before, status))
        if step is None:
            return request
        first_name = self.site.users[request.reporter].display_name.split()[0]
        greeting = f"{self.rng.choice(COMMENT_OPENERS)} {first_name},"
        author = self._agent(request) if step[0] == "agent" else request.reporter
        return self._commented(request, author, True, step[1].format(greeting=greeting))

    def _resolve(self, position: int) -> Changed:
        request = self._step(self._fixed(position), RESOLVED)
        self.requests[position] = request
        return Changed(request.issue_id, request.key)

    def _update(self, position: int) -> Changed:
        request = self._fixed(position)
        steps = _NEXT.get(request.timeline[-1][0])
        rng = self.rng
        if steps is not None and rng.random() < 0.7:
            statuses, weights = zip(*steps, strict=True)
            request = self._step(request, rng.choices(statuses, weights)[0])
        elif rng.random() < 0.5:
            body = rng.choice(FOLLOW_UPS)
            request = self._commented(request, request.reporter, True, body)
            request = request._replace(touched=self.at)
        else:
            body = rng.choice(INTERNAL_NOTES)
            request = self._commented(request, self._agent(request), False, body)
            request = request._replace(touched=self.at)
        self.requests[position] = request
        return Changed(request.issue_id, request.key)

    def _create(self) -> Changed:
        site, rng = self.site, self.rng
        desk = site.desks[rng.choices(range(len(site.desks)), [d.weight for d in DESKS])[0]]
        types = [site.request_types[t] for t in desk.request_types]
        request_type = rng.choices(types, [t.weight for t in types])[0]
        priority = rng.choices(range(len(PRIORITIES)), [p.weight for p in PRIORITIES])[0]
        customers = [i for i, user in enumerate(site.users) if not user.agent]
        reporter = rng.choice(customers)
        org = next((k for k, o in enumerate(site.organizations) if reporter in o.members), -1)
        first = WAITING_FOR_APPROVAL if request_type.approval else WAITING_FOR_SUPPORT
        self.numbers[desk.index] += 1
        position = len(self.requests)
        key = f"{desk.key}-{self.numbers[desk.index]}"
        approvers = (0, rng.choice(customers[:15])) if request_type.approval else ()
        request = Request(
            position,
            FIRST_ISSUE_ID + position,
            key,
            desk.index,
            request_type.id - 1,
            priority,
            reporter,
            -1,
            org,
            rng.choice(request_type.summaries),
            ((first, self.at),),
            (),
            approvers[: 1 + (rng.random() < 0.3)],
            notes=(),
        )
        self.requests.append(request)
        self.desk_requests[desk.index].append(position)
        self.by_key[key] = position
        return Changed(request.issue_id, key)
