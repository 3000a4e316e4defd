"""The seeded generator: a site's users, organisations, desks, queues and requests.

Everything is drawn from one ``random.Random`` seeded by the site and the seed, in a fixed
order, so the same arguments give the same site in every process, whatever the clock says.
Requests are created over the twelve months before :data:`.NOW_MS`, busiest in the site's
working hours, and walked through the workflow to the state they are in at that "now".
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TypeVar

from .catalogue import (
    ANALYST_ACCOUNT_ID,
    CANCELED,
    CLOSED,
    DAY,
    DECLINED,
    FIRST_ISSUE_ID,
    HOUR,
    IN_PROGRESS,
    ISSUE_TYPES,
    NOW_MS,
    PRIORITIES,
    RESOLVED,
    SITE_ZONES,
    WAITING_FOR_APPROVAL,
    WAITING_FOR_CUSTOMER,
    WAITING_FOR_SUPPORT,
    WINDOW_MS,
    Priority,
)
from .desks import DESK_AGENTS, DESKS, QUEUE_FIELDS, QUEUE_RULES
from .model import Desk, Organization, Queue, Request, RequestType, SiteData, User
from .poison import mark
from .words import FIRST_NAMES, LAST_NAMES, ORG_NAMES, TIME_ZONES

__all__ = ["generate"]

_AGENTS_PER_SITE = 12
_CUSTOMERS_PER_SITE = 300
_ORGANIZATIONS_PER_SITE = 20
# fmt: off
_WEEKDAY_WEIGHT = (1.0, 1.05, 1.0, 0.95, 0.85, 0.18, 0.12)
_HOUR_WEIGHT = (
    0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.35, 0.8, 1.15, 1.2, 1.1,
    0.75, 0.95, 1.05, 1.0, 0.9, 0.6, 0.3, 0.2, 0.15, 0.12, 0.08, 0.05,
)
# fmt: on


def generate(site: Mapping[str, str], seed: int, count: int, *, poison: bool = False) -> SiteData:
    """Build the data of one sandbox site from its seed.

    Parameters
    ----------
    site : Mapping of str to str
        One of :data:`.SITES`.
    seed : int
        Seed of every random choice.
    count : int
        How many customer requests to create; zero or more.
    poison : bool
        Put a script in front of the site's, users', organisations', desks' and request
        types' names and of the summaries (:func:`.poison.mark`); nothing else changes.

    Returns
    -------
    SiteData
        A new object on every call, equal in content for equal arguments.
    """
    rng = random.Random(f"jsm-sandbox:{site['id']}:{seed}")
    offset, zone, domain = SITE_ZONES[site["name"]]
    users, organizations = _directory(rng, domain, poison)
    desks, request_types = _desks(poison)
    requests = _requests(rng, count, offset, users, organizations, desks, request_types)
    per_desk: list[list[int]] = [[] for _ in desks]
    for request in requests:
        per_desk[request.desk].append(request.position)
    return SiteData(
        cloudid=site["id"],
        name=mark(site["name"], "site", poison),
        url=site["url"],
        salt=rng.getrandbits(64),
        utc_offset=offset,
        tz=timezone(timedelta(minutes=offset)),
        time_zone=zone,
        seed=seed,
        poisoned=poison,
        users=users,
        organizations=organizations,
        desks=desks,
        request_types=request_types,
        queues=_queues(desks),
        requests=requests,
        desk_requests=tuple(tuple(rows) for rows in per_desk),
        by_key={r.key: r.position for r in requests},
        by_account={u.account_id: i for i, u in enumerate(users)},
        key_numbers=tuple(len(rows) for rows in per_desk),
    )


def _directory(
    rng: random.Random, domain: str, poison: bool
) -> tuple[tuple[User, ...], tuple[Organization, ...]]:
    """Agents (the analyst first), then customers; and the organisations customers belong to."""
    org_names = sorted(rng.sample(ORG_NAMES, _ORGANIZATIONS_PER_SITE))
    org_weights = [1 / (k + 1) ** 0.6 for k in range(len(org_names))]
    members: list[list[int]] = [[] for _ in org_names]
    names = rng.sample(
        [(first, last) for first in FIRST_NAMES for last in LAST_NAMES],
        _AGENTS_PER_SITE - 1 + _CUSTOMERS_PER_SITE,
    )
    users = [
        User(
            ANALYST_ACCOUNT_ID,
            mark("Riley Chen", "user", poison),
            "riley.chen@analytics.example",
            "Europe/London",
            active=True,
            agent=True,
            avatar="4a1f0c9e8b7d6a5f4e3d2c1b0a998877",
        )
    ]
    for first, last in names:
        agent = len(users) < _AGENTS_PER_SITE
        handle = f"{first}.{last}".lower().replace("'", "")
        if agent:
            account_id = f"{rng.getrandbits(96):024x}"
            email: str | None = f"{handle}@{domain}"
        else:
            account_id = f"712020:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
            org = rng.choices(range(len(org_names)), org_weights)[0]
            if rng.random() < 0.82:
                members[org].append(len(users))
                mail_domain = _mail_domain(org_names[org])
            else:
                mail_domain = "mail.example"
            email = None if rng.random() < 0.05 else f"{handle}@{mail_domain}"
        users.append(
            User(
                account_id,
                mark(f"{first} {last}", "user", poison),
                email,
                rng.choice(TIME_ZONES),
                active=agent or rng.random() > 0.03,
                agent=agent,
                avatar=f"{rng.getrandbits(128):032x}",
            )
        )
    organizations = tuple(
        Organization(
            id=k + 1,
            name=mark(name, "organization", poison),
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            created=NOW_MS - WINDOW_MS - rng.randrange(30, 900) * DAY,
            members=tuple(members[k]),
        )
        for k, name in enumerate(org_names)
    )
    return tuple(users), organizations


def _mail_domain(org_name: str) -> str:
    return "".join(c for c in org_name.split()[0].lower() if c.isalpha()) + ".example"


def _desks(poison: bool) -> tuple[tuple[Desk, ...], tuple[RequestType, ...]]:
    """The service desks and their request types, with site-wide ids."""
    desks: list[Desk] = []
    types: list[RequestType] = []
    group_base = 1
    for index, spec in enumerate(DESKS):
        first_type = len(types)
        for spec_type in spec.types:
            types.append(
                RequestType(
                    id=len(types) + 1,
                    desk=index,
                    name=mark(spec_type.name, "request_type", poison),
                    description=spec_type.description,
                    group_ids=(group_base + spec_type.group,),
                    icon_id=10_500 + len(types),
                    issue_type=ISSUE_TYPES[spec_type.issue_type],
                    approval=spec_type.approval,
                    weight=spec_type.weight,
                    summaries=tuple(mark(s, "summary", poison) for s in spec_type.summaries),
                )
            )
        group_base += len(spec.groups)
        desks.append(
            Desk(
                index=index,
                id=index + 1,
                project_id=10_001 + index,
                key=spec.key,
                name=mark(spec.name, "service_desk", poison),
                business_hours=spec.business_hours,
                agents=DESK_AGENTS[spec.key],
                request_types=tuple(range(first_type, len(types))),
                fields=spec.fields,
            )
        )
    return tuple(desks), tuple(types)


def _queues(desks: tuple[Desk, ...]) -> tuple[Queue, ...]:
    queues: list[Queue] = []
    for desk, spec in zip(desks, DESKS, strict=True):
        for kind in spec.queues:
            name, jql = QUEUE_RULES[kind]
            queues.append(
                Queue(
                    len(queues) + 1,
                    desk.index,
                    name,
                    f"project = {desk.key} AND {jql}",
                    QUEUE_FIELDS,
                    kind,
                )
            )
    return tuple(queues)


def _creation_times(rng: random.Random, count: int, utc_offset: int) -> list[int]:
    """``count`` creation times over the window, busiest on weekday working hours (local)."""
    start = NOW_MS - WINDOW_MS
    slots = WINDOW_MS // HOUR
    cumulative: list[float] = []
    total = 0.0
    for slot in range(slots):
        local = datetime.fromtimestamp((start + slot * HOUR) / 1000 + utc_offset * 60, timezone.utc)
        weight = _WEEKDAY_WEIGHT[local.weekday()] * _HOUR_WEIGHT[local.hour]
        weight *= 0.8 + 0.4 * slot / slots  # the service grows over the year
        if (local.month, local.day) >= (12, 23) or (local.month, local.day) <= (1, 2):
            weight *= 0.3
        elif local.month == 8:
            weight *= 0.8
        total += weight
        cumulative.append(total)
    chosen = rng.choices(range(slots), cum_weights=cumulative, k=count)
    return sorted(start + slot * HOUR + rng.randrange(HOUR) for slot in chosen)


def _requests(
    rng: random.Random,
    count: int,
    utc_offset: int,
    users: tuple[User, ...],
    organizations: tuple[Organization, ...],
    desks: tuple[Desk, ...],
    request_types: tuple[RequestType, ...],
) -> tuple[Request, ...]:
    """The requests, in creation order; what can be drawn in bulk is drawn in bulk."""
    created = _creation_times(rng, count, utc_offset)
    desk_of = rng.choices(range(len(desks)), [spec.weight for spec in DESKS], k=count)
    type_of = [
        iter(rng.choices(d.request_types, [request_types[t].weight for t in d.request_types],
                         k=desk_of.count(d.index)))
        for d in desks
    ]  # fmt: skip
    priority_of = rng.choices(range(len(PRIORITIES)), [p.weight for p in PRIORITIES], k=count)
    customers = list(range(_AGENTS_PER_SITE, len(users)))
    rng.shuffle(customers)
    reporter_of = rng.choices(
        customers, [1 / (r + 1) ** 0.7 for r in range(len(customers))], k=count
    )
    home = {member: k for k, org in enumerate(organizations) for member in org.members}
    approvers_pool = (0, *range(_AGENTS_PER_SITE, _AGENTS_PER_SITE + 15))
    uniform = rng.random
    numbers = [0] * len(desks)
    requests: list[Request] = []
    for index in range(count):
        desk = desks[desk_of[index]]
        request_type = request_types[next(type_of[desk.index])]
        timeline = _timeline(uniform, created[index], PRIORITIES[priority_of[index]],
                             request_type.approval)  # fmt: skip
        reporter = reporter_of[index]
        org = home.get(reporter, -1)
        if org >= 0 and uniform() > (0.95 if desk.key == "CS" else 0.6):
            org = -1
        untouched = timeline[-1][0] in _UNTOUCHED
        numbers[desk.index] += 1
        requests.append(
            Request(
                index,
                FIRST_ISSUE_ID + index,
                f"{desk.key}-{numbers[desk.index]}",
                desk.index,
                request_type.id - 1,
                priority_of[index],
                reporter,
                -1 if untouched and uniform() < 0.55 else _pick(uniform, desk.agents),
                org,
                _pick(uniform, request_type.summaries),
                timeline,
                _participants(uniform, reporter, organizations[org] if org >= 0 else None),
                _approvers(uniform, approvers_pool) if request_type.approval else (),
            )
        )
    return tuple(requests)


_T_ = TypeVar("_T_")
_UNTOUCHED = frozenset((WAITING_FOR_APPROVAL, WAITING_FOR_SUPPORT, DECLINED, CANCELED))


def _pick(uniform: Callable[[], float], items: Sequence[_T_]) -> _T_:
    """``random.choice`` without its overhead (this runs a million times at 100k requests)."""
    return items[int(uniform() * len(items))]


def _wait(uniform: Callable[[], float], mean: float) -> int:
    """An exponentially distributed wait, in ms."""
    return int(-math.log(1.0 - uniform()) * mean)


def _timeline(
    uniform: Callable[[], float], created: int, priority: Priority, approval: bool
) -> tuple[tuple[int, int], ...]:
    """Walk a request through the workflow until it is done or reaches the sandbox's now.

    A minority of requests are neglected (waits several to many times the usual), which
    gives the site a realistic backlog and a share of breached SLAs.
    """
    draw = uniform()
    neglect = 1 if draw < 0.85 else 4 if draw < 0.95 else 40
    events = []
    now = created
    if approval:
        events.append((WAITING_FOR_APPROVAL, now))
        now += _wait(uniform, 10 * HOUR * neglect)
        if now >= NOW_MS:
            return tuple(events)
        if uniform() < 0.12:
            events.append((DECLINED, now))
            return tuple(events)
    events.append((WAITING_FOR_SUPPORT, now))
    if uniform() < 0.04:
        now += _wait(uniform, DAY)
        if now < NOW_MS:
            events.append((CANCELED, now))
        return tuple(events)
    now += _wait(uniform, priority.response_mean * (6 if uniform() < 0.1 else 1))
    for rounds in range(4):
        if now >= NOW_MS:
            break
        events.append((IN_PROGRESS, now))
        now += _wait(uniform, priority.work_mean * neglect)
        if now >= NOW_MS:
            break
        if rounds == 3 or uniform() >= 0.3:
            events.append((RESOLVED, now))
            now += 2 * DAY + _wait(uniform, 3 * DAY)
            if now < NOW_MS and uniform() < 0.7:
                events.append((CLOSED, now))
            break
        events.append((WAITING_FOR_CUSTOMER, now))
        now += _wait(uniform, 20 * HOUR * (8 if uniform() < 0.15 else 1))
    return tuple(events)


def _participants(
    uniform: Callable[[], float], reporter: int, org: Organization | None
) -> tuple[int, ...]:
    """Mostly nobody; sometimes the analyst; sometimes colleagues of the reporter."""
    draw = uniform()
    if draw < 0.015:
        return (0,)
    if draw >= 0.09:
        return ()
    pool = [m for m in org.members if m != reporter] if org else []
    pool = pool or [m for m in range(_AGENTS_PER_SITE, _AGENTS_PER_SITE + 40) if m != reporter]
    first = _pick(uniform, pool)
    second = _pick(uniform, pool)
    return (first,) if draw < 0.06 or second == first else (first, second)


def _approvers(uniform: Callable[[], float], pool: tuple[int, ...]) -> tuple[int, ...]:
    first = _pick(uniform, pool)
    second = _pick(uniform, pool)
    return (first,) if uniform() < 0.7 or second == first else (first, second)
