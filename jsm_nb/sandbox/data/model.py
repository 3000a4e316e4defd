"""The records a sandbox site holds: users, organisations, desks, queues and requests.

Requests are compact (:class:`Request` is a named tuple of ints and short strings) so that a
site of a hundred thousand of them stays small; :class:`SiteData` holds them all, with the
indexes that lookups need.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import timezone
from typing import NamedTuple

from .catalogue import FIRST_ISSUE_ID, NOW_MS, STATUSES, IssueType, Status
from .desks import FieldSpec

__all__ = ["Desk", "Organization", "Queue", "Request", "RequestType", "SiteData", "User"]


@dataclass(frozen=True)
class User:
    """An Atlassian account: an agent (licensed user) or a portal customer."""

    account_id: str
    display_name: str
    email: str | None
    time_zone: str
    active: bool
    agent: bool
    avatar: str


@dataclass(frozen=True)
class Organization:
    """A JSM customer organisation; ``members`` are user indices."""

    id: int
    name: str
    uuid: str
    created: int
    members: tuple[int, ...]


@dataclass(frozen=True)
class RequestType:
    """A request type of one service desk (``desk`` is the desk's index)."""

    id: int
    desk: int
    name: str
    description: str
    group_ids: tuple[int, ...]
    icon_id: int
    issue_type: IssueType
    approval: bool
    weight: float = field(repr=False)
    summaries: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class Desk:
    """A service desk and the project behind it; ``agents`` are user indices."""

    index: int
    id: int
    project_id: int
    key: str
    name: str
    business_hours: bool
    agents: tuple[int, ...]
    request_types: tuple[int, ...]
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class Queue:
    """An agent queue; ``kind`` names its rule in :func:`queue_members`."""

    id: int
    desk: int
    name: str
    jql: str
    fields: tuple[str, ...]
    kind: str


class Request(NamedTuple):
    """A customer request, compactly.

    ``timeline`` is the status history, oldest first, as ``(status index, epoch ms)``.
    User fields are indices into :attr:`SiteData.users` (``assignee`` is -1 for nobody);
    ``org`` is an index into :attr:`SiteData.organizations`, or -1.

    Seeded requests leave the last two fields at their defaults; a change (:mod:`.changes`)
    sets them. ``touched`` is the time of the latest change that is not a transition (a
    comment, a move), 0 if none; ``notes`` holds the request's comments as
    ``(id, author, epoch ms, public, body)`` once a change has added one (None: derived,
    :func:`.details.comments`).
    """

    position: int
    issue_id: int
    key: str
    desk: int
    request_type: int
    priority: int
    reporter: int
    assignee: int
    org: int
    summary: str
    timeline: tuple[tuple[int, int], ...]
    participants: tuple[int, ...]
    approvers: tuple[int, ...]
    touched: int = 0
    notes: tuple[tuple[int, int, int, bool, str], ...] | None = None

    @property
    def created(self) -> int:
        """Creation time, epoch ms."""
        return self.timeline[0][1]

    @property
    def updated(self) -> int:
        """Time of the latest activity (no comment is later), epoch ms."""
        return max(self.timeline[-1][1], self.touched)

    @property
    def status(self) -> Status:
        """The current status."""
        return STATUSES[self.timeline[-1][0]]

    @property
    def resolved(self) -> int | None:
        """When the request first reached a DONE status; None while it is open."""
        return next((t for s, t in self.timeline if STATUSES[s].category == "DONE"), None)


@dataclass(frozen=True, eq=False)
class SiteData:
    """Everything one fake site holds. Hashable by identity, so it can key caches.

    ``tz`` is the site's zone (agents see every date in it), ``utc_offset`` its offset in
    minutes and ``time_zone`` its name. ``poisoned`` sites carry a script in every name and
    summary (:mod:`.poison`).

    ``requests`` holds every request the site ever had, at ``issue id - FIRST_ISSUE_ID``;
    those in ``gone`` were deleted (:attr:`live` are the others, and ``desk_requests`` and
    ``by_key`` know only those). ``by_key`` maps the keys a request had before a move too.
    ``now`` is the site's clock (epoch ms), ``version`` the number of change batches made,
    ``key_numbers`` the last key number used per desk.
    """

    cloudid: str
    name: str
    url: str
    salt: int
    utc_offset: int
    tz: timezone
    time_zone: str
    seed: int
    poisoned: bool
    users: tuple[User, ...]
    organizations: tuple[Organization, ...]
    desks: tuple[Desk, ...]
    request_types: tuple[RequestType, ...]
    queues: tuple[Queue, ...]
    requests: tuple[Request, ...]
    desk_requests: tuple[tuple[int, ...], ...]
    by_key: dict[str, int] = field(repr=False)
    by_account: dict[str, int] = field(repr=False)
    key_numbers: tuple[int, ...] = ()
    now: int = NOW_MS
    version: int = 0
    gone: frozenset[int] = frozenset()

    @functools.cached_property
    def live(self) -> tuple[int, ...]:
        """Positions of the requests not deleted, in issue id order."""
        if not self.gone:
            return tuple(range(len(self.requests)))
        return tuple(i for i in range(len(self.requests)) if i not in self.gone)

    def request(self, id_or_key: str) -> Request | None:
        """The request with this issue id or key (any case), or None."""
        if id_or_key.isdigit():
            position = int(id_or_key) - FIRST_ISSUE_ID
            if position in self.gone or not 0 <= position < len(self.requests):
                return None
            return self.requests[position]
        found = self.by_key.get(id_or_key.upper())
        return None if found is None else self.requests[found]

    def desk(self, id_or_key: str) -> Desk | None:
        """The service desk with this id or project key (any case), or None."""
        wanted = id_or_key.upper()
        return next((d for d in self.desks if wanted in (str(d.id), d.key)), None)
