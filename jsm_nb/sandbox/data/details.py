"""The parts of a request derived on demand: portal field values, comments, SLAs, approvals.

Only a rendered page needs them, so they are not stored. Their random parts come from a
small generator keyed by the site and the issue alone, so details come out the same in
whatever order pages are asked for. Queue membership is derived here too.

A request's details are a function of the request alone, never of the site's clock: what
runs on (an ongoing SLA cycle, a feedback's time) is timed as of :func:`as_of`, the later
of :data:`.NOW_MS` and the request's own ``updated``. So a request that a change batch left
alone answers exactly as before it, and an incremental mirror can equal a fresh full fetch;
a changed request's ongoing cycles are timed as of its change.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

from .catalogue import (
    CANCELED,
    DAY,
    DECLINED,
    IN_PROGRESS,
    NOW_MS,
    PRIORITIES,
    RESOLVED,
    WAITING_FOR_CUSTOMER,
    WAITING_FOR_SUPPORT,
)
from .fields import TEAMS
from .model import Queue, Request, SiteData
from .poison import mark
from .words import (
    COMMENT_OPENERS,
    DESCRIPTION_EXTRA,
    DESCRIPTION_WHEN,
    DESCRIPTION_WHO,
    INTERNAL_NOTES,
    STEP_COMMENTS,
)

__all__ = [
    "Approval",
    "Comment",
    "Feedback",
    "FieldValue",
    "Sla",
    "SlaCycle",
    "approvals",
    "as_of",
    "comments",
    "feedback",
    "field_values",
    "queue_members",
    "slas",
    "team",
]

_T_ = TypeVar("_T_")
_MASK = (1 << 64) - 1


class _Draws:
    """A splitmix64 generator: much cheaper to seed than ``random.Random``.

    Details are drawn from one per request and purpose, keyed by the site's salt and the
    issue id, so they come out the same whatever is rendered first. Small draws share one
    64-bit word (the bias is below one in a million).
    """

    __slots__ = ("pool", "state")

    def __init__(self, site: SiteData, request: Request, purpose: int) -> None:
        self.state = (site.salt ^ (request.issue_id << 8) ^ purpose) & _MASK
        self.pool = 0

    def below(self, bound: int) -> int:
        """An integer in ``range(bound)``."""
        if self.pool < bound << 20:
            self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
            mixed = ((self.state ^ (self.state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            mixed = ((mixed ^ (mixed >> 27)) * 0x94D049BB133111EB) & _MASK
            self.pool = mixed ^ (mixed >> 31)
        self.pool, value = divmod(self.pool, bound)
        return value

    def pick(self, items: Sequence[_T_]) -> _T_:
        return items[self.below(len(items))]


_FIELDS, _COMMENTS, _APPROVALS, _FEEDBACK, _TEAM = range(5)


class FieldValue(NamedTuple):
    """One entry of a request's ``requestFieldValues``; ``option_id`` for select lists."""

    field_id: str
    label: str
    value: str
    option_id: str | None
    html: str | None


def field_values(site: SiteData, request: Request) -> tuple[FieldValue, ...]:
    """The portal fields a customer filled in: summary, description and two desk fields.

    Parameters
    ----------
    site : SiteData
        The site the request belongs to.
    request : Request
        The request.

    Returns
    -------
    tuple of FieldValue
        In portal order; the description carries its rendered HTML.
    """
    draw = _Draws(site, request, _FIELDS)
    reporter = site.users[request.reporter].display_name.split()[0]
    need = request.summary.rstrip(".?!")
    body = (
        f"{draw.pick(COMMENT_OPENERS)} team, {need[0].lower()}{need[1:]}. "
        f"It started {draw.pick(DESCRIPTION_WHEN)} and affects {draw.pick(DESCRIPTION_WHO)}. "
        f"{draw.pick(DESCRIPTION_EXTRA)}"
    )
    description = f"{body}\n\nThanks, {reporter}"
    html = f"<p>{body}</p><p>Thanks, {reporter}</p>"
    values = [
        FieldValue("summary", "What do you need?", request.summary, None, None),
        FieldValue("description", "Tell us more", description, None, html),
    ]
    for spec in site.desks[request.desk].fields:
        choice = draw.below(len(spec.choices))
        option = str(10_100 + choice) if spec.select else None
        values.append(FieldValue(spec.field_id, spec.label, spec.choices[choice], option, None))
    return tuple(values)


class Comment(NamedTuple):
    """A comment; ``author`` is a user index, ``public`` False for internal notes."""

    id: int
    author: int
    created: int
    public: bool
    body: str


def as_of(request: Request) -> int:
    """The moment a request's running details are timed at: ``max(NOW_MS, updated)``."""
    return max(NOW_MS, request.updated)


def comments(site: SiteData, request: Request) -> tuple[Comment, ...]:
    """The request's comments, oldest first.

    Public comments mark the workflow's steps (an agent's first response, a question to the
    customer and its answer, the resolution); internal notes fall between them. Once a
    change has commented, the request holds its comments (``notes``).

    Parameters
    ----------
    site : SiteData
        The site the request belongs to.
    request : Request
        The request.

    Returns
    -------
    tuple of Comment
        Ordered by creation time; none is later than ``request.updated``.
    """
    if request.notes is not None:
        return tuple(Comment(*note) for note in request.notes)
    draw = _Draws(site, request, _COMMENTS)
    desk = site.desks[request.desk]
    authors = {
        "agent": request.assignee if request.assignee >= 0 else draw.pick(desk.agents),
        "customer": request.reporter,
    }
    first_name = site.users[request.reporter].display_name.split()[0]
    greeting = f"{draw.pick(COMMENT_OPENERS)} {first_name},"
    found: list[tuple[int, int, bool, str]] = []
    for (before, _), (status, when) in itertools.pairwise(request.timeline):
        step = STEP_COMMENTS.get((before, status))
        if step is not None:
            found.append((when, authors[step[0]], True, step[1].format(greeting=greeting)))
    started = next((t for s, t in request.timeline if s == IN_PROGRESS), None)
    if started is not None and request.updated > started + 1:
        for _ in range(draw.pick((0, 0, 1, 1, 2))):
            when = started + 1 + draw.below(request.updated - started - 1)
            found.append((when, draw.pick(desk.agents), False, draw.pick(INTERNAL_NOTES)))
    found.sort()
    return tuple(
        Comment(request.issue_id * 100 + k, author, when, public, body)
        for k, (when, author, public, body) in enumerate(found)
    )


class SlaCycle(NamedTuple):
    """One SLA cycle; ``stop`` is None while it runs, ``breach_time`` None while paused."""

    start: int
    stop: int | None
    goal: int
    elapsed: int
    breach_time: int | None
    paused: bool
    within_calendar_hours: bool

    @property
    def remaining(self) -> int:
        """Goal minus elapsed time: negative once breached."""
        return self.goal - self.elapsed

    @property
    def breached(self) -> bool:
        """Whether the elapsed time went past the goal."""
        return self.elapsed > self.goal


class Sla(NamedTuple):
    """An SLA metric of a request; ``cycle`` is None before the SLA starts."""

    id: int
    name: str
    cycle: SlaCycle | None


def slas(site: SiteData, request: Request) -> tuple[Sla, Sla]:
    """The request's two SLAs, "Time to first response" and "Time to resolution".

    Both start when the request reaches "Waiting for support" (after any approval). The
    first stops at the first move out of it; the second pauses while waiting for the
    customer and stops when the request is resolved or cancelled. Time is wall-clock;
    ongoing cycles are timed, and desks on business hours report ``withinCalendarHours``,
    as of :func:`as_of`.

    Parameters
    ----------
    site : SiteData
        The site the request belongs to.
    request : Request
        The request.

    Returns
    -------
    tuple of Sla
        The first response SLA, then the resolution SLA.
    """
    desk = site.desks[request.desk]
    local_now = datetime.fromtimestamp(as_of(request) / 1000, site.tz)
    within = not desk.business_hours or (local_now.weekday() < 5 and 9 <= local_now.hour < 17)
    first_id = 10_030 + 10 * desk.index
    goal = PRIORITIES[request.priority].response_goal
    poison = site.poisoned
    return (
        Sla(
            first_id,
            mark("Time to first response", "sla", poison),
            _cycle(request, goal, _RESPONDED, within),
        ),
        Sla(
            first_id + 1,
            mark("Time to resolution", "sla", poison),
            _resolution_cycle(request, within),
        ),
    )


_RESPONDED = {IN_PROGRESS: False, RESOLVED: False, CANCELED: False}
_RESOLVED = {RESOLVED: False, CANCELED: False, WAITING_FOR_CUSTOMER: True}


def _resolution_cycle(request: Request, within: bool) -> SlaCycle | None:
    goal = PRIORITIES[request.priority].resolution_goal
    return _cycle(request, goal, _RESOLVED, within)


def _cycle(request: Request, goal: int, rules: dict[int, bool], within: bool) -> SlaCycle | None:
    """Time an SLA over the request's timeline.

    ``rules`` maps a status to False if reaching it stops the clock, True if it pauses it.
    """
    timeline = request.timeline
    now = as_of(request)
    begin = next((k for k, (s, _) in enumerate(timeline) if s == WAITING_FOR_SUPPORT), None)
    if begin is None:
        return None
    elapsed = 0
    breach_time = None
    stop = None
    paused = False
    for k in range(begin, len(timeline)):
        status, since = timeline[k]
        if rules.get(status) is False:
            stop = since
            break
        until = timeline[k + 1][1] if k + 1 < len(timeline) else now
        paused = rules.get(status) is True
        if not paused:
            if breach_time is None and elapsed + until - since > goal:
                breach_time = since + goal - elapsed
            elapsed += until - since
    running_paused = paused and stop is None
    if breach_time is None and not running_paused:
        breach_time = (now if stop is None else stop) + goal - elapsed
    start = timeline[begin][1]
    return SlaCycle(start, stop, goal, elapsed, breach_time, running_paused, within)


class Approval(NamedTuple):
    """An approval on a request; ``approvers`` pairs user indices with their decisions."""

    id: int
    name: str
    created: int
    completed: int | None
    decision: str
    approvers: tuple[tuple[int, str], ...]


def approvals(site: SiteData, request: Request) -> tuple[Approval, ...]:
    """The request's approvals: one for request types that need approval, else none.

    Parameters
    ----------
    site : SiteData
        The site the request belongs to.
    request : Request
        The request.

    Returns
    -------
    tuple of Approval
        Empty, or the one approval; one approver decides, the others stay pending.
    """
    if not request.approvers:
        return ()
    after = request.timeline[1] if len(request.timeline) > 1 else None
    if after is None:
        decision, completed = "pending", None
    else:
        decision = "declined" if after[0] == DECLINED else "approved"
        completed = after[1]
    decider = _Draws(site, request, _APPROVALS).pick(request.approvers)
    votes = tuple((user, decision if user == decider else "pending") for user in request.approvers)
    return (
        Approval(request.issue_id, "Manager approval", request.created, completed, decision, votes),
    )


def queue_members(site: SiteData, queue: Queue, account_id: str) -> tuple[int, ...]:
    """Indices of the requests in ``queue``, in the queue's order.

    Parameters
    ----------
    site : SiteData
        The site the queue belongs to.
    queue : Queue
        The queue.
    account_id : str
        The signed-in user, for "Assigned to me".

    Returns
    -------
    tuple of int
        Indices into ``site.requests``.
    """
    me = site.by_account.get(account_id, -2)
    week_ago = site.now - 7 * DAY
    rules: dict[str, Callable[[Request], bool]] = {
        "open": lambda r: r.status.category != "DONE",
        "mine": lambda r: r.assignee == me and r.status.category != "DONE",
        "unassigned": lambda r: r.assignee == -1 and r.status.category != "DONE",
        "waiting": lambda r: r.timeline[-1][0] == WAITING_FOR_CUSTOMER,
        "breached": lambda r: r.status.category != "DONE" and _breached(r),
        "recent": lambda r: (r.resolved or 0) >= week_ago,
    }
    rule = rules[queue.kind]
    members = [i for i in site.desk_requests[queue.desk] if rule(site.requests[i])]
    return tuple(reversed(members)) if queue.kind == "recent" else tuple(members)


def _breached(request: Request) -> bool:
    cycle = _resolution_cycle(request, within=True)
    return cycle is not None and cycle.breached


class Feedback(NamedTuple):
    """A customer's satisfaction rating (1 to 5), their comment if any, and when (epoch ms)."""

    rating: int
    comment: str | None
    when: int


_RATINGS = (1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5, 5)
# What customers write beside a rating, by rating: the words follow the score.
_FEEDBACK_COMMENTS = {
    1: ("Nobody replied for days.", "I had to explain the problem twice."),
    2: ("I had to explain the problem twice.", "Sorted in the end, but it took a while."),
    3: ("Sorted in the end, but it took a while.", "Fine, nothing special."),
    4: ("Quick and friendly, thank you.", "Good help, a bit slow to start."),
    5: ("Great help, thanks!", "Quick and friendly, thank you."),
}


def feedback(site: SiteData, request: Request) -> Feedback | None:
    """The satisfaction survey's answer: given for about two resolved requests in three."""
    if request.resolved is None:
        return None
    draw = _Draws(site, request, _FEEDBACK)
    if draw.below(3) == 0:
        return None
    rating = draw.pick(_RATINGS)
    comment = draw.pick(_FEEDBACK_COMMENTS[rating])
    when = min(request.resolved + draw.below(DAY), as_of(request))
    return Feedback(rating, comment if draw.below(2) else None, when)


def team(site: SiteData, request: Request) -> int | None:
    """The team the request is with (an index into ``TEAMS``), or None for three in ten."""
    draw = _Draws(site, request, _TEAM)
    return None if draw.below(10) < 3 else draw.below(len(TEAMS))
