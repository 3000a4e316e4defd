"""The seeded content of the sandbox's three fake Jira Service Management sites.

Everything here is a pure function of ``(cloudid, seed, requests)``: the same arguments give
the same data in every process, whatever the clock says. The sandbox's "now" is the fixed
:data:`NOW_MS` (2026-11-01T00:00Z), the end of the twelve months the requests span.

What filters and ordering need is built eagerly, from one ``random.Random`` seeded by the
site and the seed, as compact records (:class:`Request` is a named tuple of ints and short
strings, its status history ``(status, epoch ms)`` pairs). What only a rendered page needs
(descriptions, extra field values, comments, approvals, SLA cycles) is derived on demand,
the random parts from a small generator keyed by the site and the issue alone, so details
come out the same in whatever order pages are asked for.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import NamedTuple, TypeVar

__all__ = [
    "ANALYST_ACCOUNT_ID",
    "CANCELED",
    "CLOSED",
    "DAY",
    "DECLINED",
    "HOUR",
    "IN_PROGRESS",
    "MINUTE",
    "NOW_MS",
    "PRIORITIES",
    "RESOLVED",
    "SITES",
    "STATUSES",
    "WAITING_FOR_APPROVAL",
    "WAITING_FOR_CUSTOMER",
    "WAITING_FOR_SUPPORT",
    "WINDOW_MS",
    "Approval",
    "Comment",
    "Desk",
    "FieldValue",
    "IssueType",
    "Organization",
    "Priority",
    "Queue",
    "Request",
    "RequestType",
    "SiteData",
    "Sla",
    "SlaCycle",
    "Status",
    "User",
    "approvals",
    "comments",
    "field_values",
    "queue_members",
    "site_data",
    "slas",
]

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NOW_MS = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp() * 1000)
"""The sandbox's fixed "now": requests span the 365 days before it."""
WINDOW_MS = 365 * DAY

ANALYST_ACCOUNT_ID = "63f1c0a2d4e5b60071a8c9e2"
"""The Atlassian account of the sandbox's analyst, an agent on every site.

It reports nothing, but is assigned requests, participates in some and approves others, so
``requestOwnership`` filters and the "Assigned to me" queues have something to show when the
sandbox's signed-in user is this account.
"""

SITES: list[dict[str, str]] = [
    {
        "id": "3f1b6a0e-6d2c-4c8e-9a41-0c5f2b7d9e11",
        "name": "acme-support",
        "url": "https://acme-support.atlassian.net",
        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
    },
    {
        "id": "a7c9e2d4-1b3f-4e6a-8c5d-2f9b0e7a4c63",
        "name": "globex-helpdesk",
        "url": "https://globex-helpdesk.atlassian.net",
        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/koala.png",
    },
    {
        "id": "5e2d8b1c-9f4a-4d7e-b3c6-7a1e0d9f2b85",
        "name": "initech-it",
        "url": "https://initech-it.atlassian.net",
        "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/stapler.png",
    },
]
"""The sites a sandbox token can reach, as ``accessible-resources`` lists them (minus scopes)."""

# Per site: (UTC offset in minutes, the zone that offset belongs to, agents' mail domain).
# Zones without daylight saving, so a fixed offset is exact all year.
_SITE_ZONES = {
    "acme-support": (0, "Etc/UTC", "acme.example"),
    "globex-helpdesk": (600, "Australia/Brisbane", "globex.example"),
    "initech-it": (-420, "America/Phoenix", "initech.example"),
}


# --- Catalogues shared by every site -------------------------------------------------------


class Status(NamedTuple):
    """A workflow status: Jira id, name and JSM status category."""

    id: str
    name: str
    category: str


STATUSES = (
    Status("10010", "Waiting for approval", "NEW"),
    Status("10011", "Waiting for support", "NEW"),
    Status("10012", "In progress", "INDETERMINATE"),
    Status("10013", "Waiting for customer", "INDETERMINATE"),
    Status("10014", "Resolved", "DONE"),
    Status("10015", "Closed", "DONE"),
    Status("10016", "Declined", "DONE"),
    Status("10017", "Canceled", "DONE"),
)
(
    WAITING_FOR_APPROVAL,
    WAITING_FOR_SUPPORT,
    IN_PROGRESS,
    WAITING_FOR_CUSTOMER,
    RESOLVED,
    CLOSED,
    DECLINED,
    CANCELED,
) = range(len(STATUSES))


class Priority(NamedTuple):
    """A Jira priority with its SLA goals and the typical pace of work at that priority."""

    id: str
    name: str
    weight: float
    response_goal: int
    resolution_goal: int
    response_mean: int
    work_mean: int


PRIORITIES = (
    Priority("1", "Highest", 0.05, 1 * HOUR, 8 * HOUR, 20 * MINUTE, 3 * HOUR),
    Priority("2", "High", 0.15, 2 * HOUR, 24 * HOUR, 35 * MINUTE, 8 * HOUR),
    Priority("3", "Medium", 0.60, 4 * HOUR, 72 * HOUR, 70 * MINUTE, 22 * HOUR),
    Priority("4", "Low", 0.20, 8 * HOUR, 120 * HOUR, 150 * MINUTE, 40 * HOUR),
)


class IssueType(NamedTuple):
    """The Jira issue type behind a request type."""

    id: str
    name: str
    description: str
    avatar_id: int


_ISSUE_TYPES = {
    "service": IssueType("10003", "Service Request", "Requests for help or a service.", 10553),
    "incident": IssueType("10004", "Incident", "Unplanned interruptions to a service.", 10570),
    "approval": IssueType(
        "10005", "Service Request with Approvals", "Requests that need an approval.", 10551
    ),
}


class _FieldSpec(NamedTuple):
    field_id: str
    label: str
    choices: tuple[str, ...]
    select: bool


class _TypeSpec(NamedTuple):
    name: str
    description: str
    issue_type: str
    group: int
    weight: float
    summaries: tuple[str, ...]
    approval: bool = False


class _DeskSpec(NamedTuple):
    key: str
    name: str
    weight: float
    business_hours: bool
    groups: tuple[str, ...]
    fields: tuple[_FieldSpec, ...]
    queues: tuple[str, ...]
    types: tuple[_TypeSpec, ...]


_ALL_QUEUES = ("open", "mine", "unassigned", "waiting", "breached", "recent")
_T = _TypeSpec
_F = _FieldSpec

# fmt: off
_DESKS = (
    _DeskSpec(
        "ITH", "IT Help", 0.45, False,
        ("Common requests", "Hardware and access", "Report a problem"),
        (
            _F("customfield_10050", "Operating system",
               ("Windows 11", "macOS 15", "macOS 14", "Ubuntu 24.04", "iOS", "Android"), True),
            _F("customfield_10051", "Asset tag", tuple(f"LT-{n:05d}" for n in range(40)), False),
        ),
        _ALL_QUEUES,
        (
            _T("Get IT help", "Ask for help with software, email or anything IT.",
               "service", 0, 0.30,
               ("Outlook keeps asking for my password", "Can't open shared Excel workbook",
                "Teams camera not detected", "Need Adobe Acrobat Pro licence",
                "Printer on 3rd floor shows offline", "Calendar invites not syncing to phone",
                "Laptop very slow after update", "OneDrive stuck on 'processing changes'")),
            _T("Fix an account problem", "Locked out, password expired or MFA trouble.",
               "service", 0, 0.18,
               ("Account locked after password change", "MFA prompt never arrives",
                "Password expired while on leave", "Can't sign in to Salesforce",
                "New phone, need to move authenticator")),
            _T("Request a new laptop", "Replacement or new-starter laptops; your manager approves.",
               "approval", 1, 0.08,
               ("Replacement laptop: battery swelling", "Laptop for new starter in Finance",
                "Upgrade to 32 GB laptop for data work", "Cracked screen, need loan laptop"),
               approval=True),
            _T("Request admin access", "Temporary local admin or elevated access; needs approval.",
               "approval", 1, 0.07,
               ("Local admin to install Python tooling", "Admin access to Jira project settings",
                "Temporary admin for driver install", "Access to production read replica"),
               approval=True),
            _T("Set up VPN", "Get the VPN client installed and working.", "service", 1, 0.10,
               ("VPN disconnects every few minutes", "Install VPN client on new laptop",
                "VPN works at home but not at hotel", "Split tunnelling for video calls")),
            _T("Get a guest wifi account", "Wifi access for visitors.", "service", 0, 0.07,
               ("Guest wifi for auditors next week", "Wifi voucher for visiting client",
                "Guest network password not working")),
            _T("Report a system problem", "Something is broken for several people.",
               "incident", 2, 0.20,
               ("Email delivery delayed for everyone", "Shared drive unavailable",
                "SSO login page returns error 500", "Office wifi dropping in meeting rooms",
                "Payroll system very slow", "Intranet search returns nothing")),
        ),
    ),
    _DeskSpec(
        "HR", "HR Services", 0.15, True, ("People changes", "Pay and leave", "Questions"),
        (
            _F("customfield_10060", "Department",
               ("Finance", "Sales", "Engineering", "Operations", "Marketing", "Legal"), True),
            _F("customfield_10061", "Employee ID", tuple(f"E{n:06d}" for n in range(60)), False),
        ),
        ("open", "mine", "unassigned", "waiting", "recent"),
        (
            _T("Onboard new employees", "Start onboarding for a new hire; needs approval.",
               "approval", 0, 0.16,
               ("Onboarding: new account executive", "Onboarding: two graduate engineers",
                "Onboarding: contractor for 6 months", "New starter in Legal on Monday"),
               approval=True),
            _T("Offboard employees", "Leavers: equipment, access and final pay.",
               "service", 0, 0.10,
               ("Leaver: last day Friday", "Offboarding for fixed-term contract end",
                "Remove access for departing manager")),
            _T("Request time off", "Leave outside the usual allowance; your manager approves.",
               "approval", 1, 0.18,
               ("Unpaid leave in December", "Parental leave dates", "Compassionate leave",
                "Sabbatical request"),
               approval=True),
            _T("Ask a pay question", "Payslips, expenses and deductions.", "service", 1, 0.22,
               ("Overtime missing from payslip", "Tax code looks wrong",
                "Expense claim not reimbursed", "Pension contribution change")),
            _T("Update personal details", "Address, bank account or emergency contact.",
               "service", 0, 0.14,
               ("Change of address", "New bank details for salary", "Update emergency contact",
                "Legal name change")),
            _T("Ask an HR question", "Policies, benefits and anything else.", "service", 2, 0.20,
               ("Hybrid working policy question", "How do I enrol in the cycle scheme?",
                "Training budget for conference", "Probation review process")),
        ),
    ),
    _DeskSpec(
        "FAC", "Facilities", 0.10, True, ("Workplace", "Building issues"),
        (
            _F("customfield_10070", "Building",
               ("North Tower", "South Tower", "Riverside", "Warehouse"), True),
            _F("customfield_10071", "Floor and room",
               tuple(f"Floor {f}, room {f}{r:02d}" for f in range(1, 7) for r in range(1, 6)),
               False),
        ),
        ("open", "unassigned", "waiting", "breached"),
        (
            _T("Report a building issue", "Heating, lighting, leaks and doors.",
               "incident", 1, 0.35,
               ("Air conditioning not working", "Water leak near kitchen",
                "Lights flickering in open plan", "Door badge reader broken",
                "Lift out of service")),
            _T("Request a desk move", "Move desks or change a team's area.", "service", 0, 0.20,
               ("Move team of 6 to 4th floor", "Standing desk request", "Monitor arm for desk")),
            _T("Book a meeting room setup", "Furniture and AV for events.", "service", 0, 0.20,
               ("Town hall setup for 120 people", "Board room AV check",
                "Catering for client workshop")),
            _T("Report a cleaning issue", "Spills, bins and washrooms.", "service", 1, 0.15,
               ("Bins not emptied", "Spill in reception", "Washroom out of supplies")),
            _T("Request parking access", "A parking permit; needs approval.", "approval", 0, 0.10,
               ("Parking permit for new starter", "Accessible parking space", "EV charger access"),
               approval=True),
        ),
    ),
    _DeskSpec(
        "CS", "Customer Support", 0.30, False, ("Product help", "Billing"),
        (
            _F("customfield_10080", "Product",
               ("Web app", "Mobile app", "Public API", "Reporting add-on"), True),
            _F("customfield_10081", "Order number", tuple(f"SO-{n:06d}" for n in range(80)), False),
        ),
        _ALL_QUEUES,
        (
            _T("Report a bug", "Something in the product does not work as it should.",
               "incident", 0, 0.28,
               ("Export to CSV drops the last row", "Dashboard widgets fail to load",
                "Mobile app crashes on login", "API returns 500 for large pages",
                "Time zone wrong on scheduled reports", "Search ignores accented characters")),
            _T("Ask a product question", "How do I do something in the product?",
               "service", 0, 0.25,
               ("How to set up SSO for our team?", "Can we change the fiscal year start?",
                "Bulk import users from CSV", "Where do I find the audit log?")),
            _T("Billing enquiry", "Invoices, payment methods and plans.", "service", 1, 0.18,
               ("Invoice shows wrong VAT number", "Switch to annual billing",
                "Card payment declined", "Need a copy of last year's invoices")),
            _T("Request a refund", "Refunds need approval from the billing lead.",
               "approval", 1, 0.07,
               ("Refund for duplicate charge", "Refund unused seats", "Refund after downgrade"),
               approval=True),
            _T("Account access problem", "Can't sign in, or need an owner changed.",
               "service", 0, 0.14,
               ("Account owner left the company", "Password reset email not received",
                "Locked out after too many attempts")),
            _T("Feature request", "Tell us what the product should do next.", "service", 0, 0.08,
               ("Dark mode for the web app", "Webhook on status change",
                "Custom fields on reports", "Export dashboards to PDF")),
        ),
    ),
)

_FIRST_NAMES = (
    "Aisha", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kavya", "Liam", "Mei", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tara",
    "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chloe", "Diego",
    "Emeka", "Freya", "Gabriel", "Hana", "Ivan", "Julia", "Kofi", "Lucia", "Mateo", "Noor",
    "Olga", "Pedro", "Rahul", "Sofia", "Tomas", "Uma", "Viktor", "Yara",
)
_LAST_NAMES = (
    "Abbott", "Bauer", "Castillo", "Dubois", "Eriksen", "Fernandes", "Gallagher", "Haddad",
    "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov",
    "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Walsh", "Xu", "Yilmaz",
    "Zhang", "Andersen", "Brennan", "Costa", "Devlin", "Esposito", "Fischer", "Gupta",
    "Hughes", "Iqbal", "Kaur", "Lopez", "Murphy", "Nowak", "O'Brien", "Patel", "Reyes",
    "Santos", "Thompson", "Vasquez", "Weber", "Young",
)
_ORG_NAMES = (
    "Northwind Traders", "Blue Harbor Logistics", "Cedar & Pine Legal", "Summit Dental Group",
    "Brightline Energy", "Kestrel Analytics", "Maple Street Bakery", "Orion Freight",
    "Harbourview Hotels", "Quarry Lane Architects", "Silverleaf Insurance", "Tidewater Marine",
    "Redwood Clinics", "Lumen Schools Trust", "Granite Peak Outdoor", "Copperfield Media",
    "Everfresh Foods", "Atlas Robotics", "Pioneer Credit Union", "Juniper Fashion",
    "Halcyon Travel", "Ironbridge Engineering", "Meadowbrook Farms", "Nimbus Cloud Hosting",
)
_TIME_ZONES = (
    "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York", "America/Chicago",
    "America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney", "Asia/Kolkata",
    "Asia/Singapore", "Asia/Tokyo", "Africa/Johannesburg",
)
_COMMENT_OPENERS = ("Hi", "Hello", "Morning")
_DESCRIPTION_WHEN = (
    "this morning", "yesterday afternoon", "after the last update", "on Monday",
    "a few days ago", "when I came back from leave",
)
_DESCRIPTION_WHO = (
    "just me", "my whole team", "a customer demo tomorrow", "three people in my team",
    "our month-end close",
)
_DESCRIPTION_EXTRA = (
    "I've already tried restarting.", "Screenshots available on request.",
    "This is blocking my work today.", "Not urgent, but it would be great to sort this week.",
    "My manager is aware.", "Happy to jump on a call.",
)
_INTERNAL_NOTES = (
    "Checked the logs, nothing obvious yet.", "Escalated to second line for a look.",
    "Vendor ticket raised, waiting on them.", "Same issue as last month, see linked KB.",
)
# Public comments at workflow steps: (from, to) -> (author, text).
_STEP_COMMENTS = {
    (WAITING_FOR_SUPPORT, IN_PROGRESS):
        ("agent", "{greeting} thanks for getting in touch. I'm looking into this now."),
    (IN_PROGRESS, WAITING_FOR_CUSTOMER):
        ("agent", "{greeting} could you send a screenshot and tell us when this last worked?"),
    (WAITING_FOR_CUSTOMER, IN_PROGRESS):
        ("customer", "Here are the details you asked for. Let me know if you need more."),
    (IN_PROGRESS, RESOLVED):
        ("agent", "This should be sorted now. Reply here if it comes back and we'll reopen it."),
    (WAITING_FOR_SUPPORT, CANCELED): ("customer", "No longer needed, thanks."),
    (WAITING_FOR_APPROVAL, DECLINED): ("agent", "Sorry, this request was not approved."),
}
_WEEKDAY_WEIGHT = (1.0, 1.05, 1.0, 0.95, 0.85, 0.18, 0.12)
_HOUR_WEIGHT = (
    0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.35, 0.8, 1.15, 1.2, 1.1,
    0.75, 0.95, 1.05, 1.0, 0.9, 0.6, 0.3, 0.2, 0.15, 0.12, 0.08, 0.05,
)
_QUEUE_FIELDS = (
    "issuetype", "issuekey", "summary", "reporter", "assignee", "status", "priority", "created",
)
_QUEUE_RULES = {
    "open": ("All open", "resolution = Unresolved ORDER BY created ASC"),
    "mine": ("Assigned to me",
             "assignee = currentUser() AND resolution = Unresolved ORDER BY created ASC"),
    "unassigned": ("Unassigned",
                   "assignee is EMPTY AND resolution = Unresolved ORDER BY created ASC"),
    "waiting": ("Waiting for customer", 'status = "Waiting for customer" ORDER BY created ASC'),
    "breached": ("SLA breached", '"Time to resolution" = breached() AND resolution = Unresolved'
                 " ORDER BY created ASC"),
    "recent": ("Resolved in the last 7 days", "resolved >= -7d ORDER BY created DESC"),
}
# Desk agents by desk key, as user indices (0 is the analyst).
_DESK_AGENTS = {"ITH": (0, 1, 2, 3, 4), "HR": (5, 6), "FAC": (7, 8, 1), "CS": (0, 9, 10, 11)}
# fmt: on

_AGENTS_PER_SITE = 12
_CUSTOMERS_PER_SITE = 300
_ORGANIZATIONS_PER_SITE = 20
_FIRST_ISSUE_ID = 10_001


# --- The records a site holds ---------------------------------------------------------------


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
    fields: tuple[_FieldSpec, ...]


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

    @property
    def created(self) -> int:
        """Creation time, epoch ms."""
        return self.timeline[0][1]

    @property
    def updated(self) -> int:
        """Time of the latest activity (no comment is later), epoch ms."""
        return self.timeline[-1][1]

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
    minutes and ``time_zone`` its name.
    """

    cloudid: str
    name: str
    url: str
    salt: int
    utc_offset: int
    tz: timezone
    time_zone: str
    seed: int
    users: tuple[User, ...]
    organizations: tuple[Organization, ...]
    desks: tuple[Desk, ...]
    request_types: tuple[RequestType, ...]
    queues: tuple[Queue, ...]
    requests: tuple[Request, ...]
    desk_requests: tuple[tuple[int, ...], ...]
    by_key: dict[str, int] = field(repr=False)
    by_account: dict[str, int] = field(repr=False)

    def request(self, id_or_key: str) -> Request | None:
        """The request with this issue id or key (any case), or None."""
        if id_or_key.isdigit():
            position = int(id_or_key) - _FIRST_ISSUE_ID
            return self.requests[position] if 0 <= position < len(self.requests) else None
        found = self.by_key.get(id_or_key.upper())
        return None if found is None else self.requests[found]

    def desk(self, id_or_key: str) -> Desk | None:
        """The service desk with this id or project key (any case), or None."""
        wanted = id_or_key.upper()
        return next((d for d in self.desks if wanted in (str(d.id), d.key)), None)


# --- Building a site ------------------------------------------------------------------------

_CACHE: dict[tuple[str, int, int], SiteData] = {}
_BUILDING: dict[tuple[str, int, int], threading.Lock] = {}
_LOCK = threading.Lock()


def site_data(cloudid: str, *, seed: int = 0, requests: int = 5000) -> SiteData:
    """The data of one sandbox site, built on first use and cached.

    Parameters
    ----------
    cloudid : str
        The ``id`` of one of :data:`SITES`.
    seed : int, default 0
        Seed of every random choice: the same seed gives the same data everywhere.
    requests : int, default 5000
        How many customer requests the site holds, spread over the twelve months before
        :data:`NOW_MS`.

    Returns
    -------
    SiteData
        The same object for the same arguments, safe to share between threads.

    Raises
    ------
    KeyError
        If no sandbox site has ``cloudid``.
    ValueError
        If ``requests`` is negative.
    """
    if requests < 0:
        raise ValueError(f"requests must be zero or more, not {requests}")
    site = next((s for s in SITES if s["id"] == cloudid), None)
    if site is None:
        raise KeyError(f"no sandbox site has cloud id {cloudid!r}")
    key = (cloudid, seed, requests)
    with _LOCK:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:  # one build per key; other keys are not held up
        built = _CACHE.get(key)
        if built is None:
            built = _CACHE[key] = _build(site, seed, requests)
    return built


def _build(site: dict[str, str], seed: int, count: int) -> SiteData:
    rng = random.Random(f"jsm-sandbox:{site['id']}:{seed}")
    offset, zone, domain = _SITE_ZONES[site["name"]]
    users, organizations = _directory(rng, domain)
    desks, request_types = _desks()
    requests = _requests(rng, count, offset, users, organizations, desks, request_types)
    per_desk: list[list[int]] = [[] for _ in desks]
    for request in requests:
        per_desk[request.desk].append(request.position)
    return SiteData(
        cloudid=site["id"],
        name=site["name"],
        url=site["url"],
        salt=rng.getrandbits(64),
        utc_offset=offset,
        tz=timezone(timedelta(minutes=offset)),
        time_zone=zone,
        seed=seed,
        users=users,
        organizations=organizations,
        desks=desks,
        request_types=request_types,
        queues=_queues(desks),
        requests=requests,
        desk_requests=tuple(tuple(rows) for rows in per_desk),
        by_key={r.key: r.position for r in requests},
        by_account={u.account_id: i for i, u in enumerate(users)},
    )


def _directory(
    rng: random.Random, domain: str
) -> tuple[tuple[User, ...], tuple[Organization, ...]]:
    """Agents (the analyst first), then customers; and the organisations customers belong to."""
    org_names = sorted(rng.sample(_ORG_NAMES, _ORGANIZATIONS_PER_SITE))
    org_weights = [1 / (k + 1) ** 0.6 for k in range(len(org_names))]
    members: list[list[int]] = [[] for _ in org_names]
    names = rng.sample(
        [(first, last) for first in _FIRST_NAMES for last in _LAST_NAMES],
        _AGENTS_PER_SITE - 1 + _CUSTOMERS_PER_SITE,
    )
    users = [
        User(
            ANALYST_ACCOUNT_ID,
            "Riley Chen",
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
                f"{first} {last}",
                email,
                rng.choice(_TIME_ZONES),
                active=agent or rng.random() > 0.03,
                agent=agent,
                avatar=f"{rng.getrandbits(128):032x}",
            )
        )
    organizations = tuple(
        Organization(
            id=k + 1,
            name=name,
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            created=NOW_MS - WINDOW_MS - rng.randrange(30, 900) * DAY,
            members=tuple(members[k]),
        )
        for k, name in enumerate(org_names)
    )
    return tuple(users), organizations


def _mail_domain(org_name: str) -> str:
    return "".join(c for c in org_name.split()[0].lower() if c.isalpha()) + ".example"


def _desks() -> tuple[tuple[Desk, ...], tuple[RequestType, ...]]:
    """The service desks and their request types, with site-wide ids."""
    desks: list[Desk] = []
    types: list[RequestType] = []
    group_base = 1
    for index, spec in enumerate(_DESKS):
        first_type = len(types)
        for spec_type in spec.types:
            types.append(
                RequestType(
                    id=len(types) + 1,
                    desk=index,
                    name=spec_type.name,
                    description=spec_type.description,
                    group_ids=(group_base + spec_type.group,),
                    icon_id=10_500 + len(types),
                    issue_type=_ISSUE_TYPES[spec_type.issue_type],
                    approval=spec_type.approval,
                    weight=spec_type.weight,
                    summaries=spec_type.summaries,
                )
            )
        group_base += len(spec.groups)
        desks.append(
            Desk(
                index=index,
                id=index + 1,
                project_id=10_001 + index,
                key=spec.key,
                name=spec.name,
                business_hours=spec.business_hours,
                agents=_DESK_AGENTS[spec.key],
                request_types=tuple(range(first_type, len(types))),
                fields=spec.fields,
            )
        )
    return tuple(desks), tuple(types)


def _queues(desks: tuple[Desk, ...]) -> tuple[Queue, ...]:
    queues: list[Queue] = []
    for desk, spec in zip(desks, _DESKS, strict=True):
        for kind in spec.queues:
            name, jql = _QUEUE_RULES[kind]
            queues.append(
                Queue(
                    len(queues) + 1,
                    desk.index,
                    name,
                    f"project = {desk.key} AND {jql}",
                    _QUEUE_FIELDS,
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
    desk_of = rng.choices(range(len(desks)), [spec.weight for spec in _DESKS], k=count)
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
                _FIRST_ISSUE_ID + index,
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


# --- Details derived on demand --------------------------------------------------------------


_MASK = (1 << 64) - 1


class _Draws:
    """A splitmix64 generator: much cheaper to seed than ``random.Random``.

    Details are drawn from one per request and purpose, keyed by the site's salt and the
    issue id, so they come out the same whatever is rendered first. Small draws share one
    64-bit word (the bias is below one in a million).
    """

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


_FIELDS, _COMMENTS, _APPROVALS = range(3)


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
    description = (
        f"{draw.pick(_COMMENT_OPENERS)} team, {need[0].lower()}{need[1:]}. "
        f"It started {draw.pick(_DESCRIPTION_WHEN)} and affects {draw.pick(_DESCRIPTION_WHO)}. "
        f"{draw.pick(_DESCRIPTION_EXTRA)}\n\nThanks, {reporter}"
    )
    html = "".join(f"<p>{part}</p>" for part in description.split("\n\n"))
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


def comments(site: SiteData, request: Request) -> tuple[Comment, ...]:
    """The request's comments, oldest first.

    Public comments mark the workflow's steps (an agent's first response, a question to the
    customer and its answer, the resolution); internal notes fall between them.

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
    draw = _Draws(site, request, _COMMENTS)
    desk = site.desks[request.desk]
    authors = {
        "agent": request.assignee if request.assignee >= 0 else draw.pick(desk.agents),
        "customer": request.reporter,
    }
    first_name = site.users[request.reporter].display_name.split()[0]
    greeting = f"{draw.pick(_COMMENT_OPENERS)} {first_name},"
    found: list[tuple[int, int, bool, str]] = []
    for (before, _), (status, when) in itertools.pairwise(request.timeline):
        step = _STEP_COMMENTS.get((before, status))
        if step is not None:
            found.append((when, authors[step[0]], True, step[1].format(greeting=greeting)))
    started = next((t for s, t in request.timeline if s == IN_PROGRESS), None)
    if started is not None and request.updated > started + 1:
        for _ in range(draw.pick((0, 0, 1, 1, 2))):
            when = started + 1 + draw.below(request.updated - started - 1)
            found.append((when, draw.pick(desk.agents), False, draw.pick(_INTERNAL_NOTES)))
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
    desks on business hours report ``withinCalendarHours`` for the sandbox's now.

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
    local_now = datetime.fromtimestamp(NOW_MS / 1000, site.tz)
    within = not desk.business_hours or (local_now.weekday() < 5 and 9 <= local_now.hour < 17)
    first_id = 10_030 + 10 * desk.index
    goal = PRIORITIES[request.priority].response_goal
    return (
        Sla(first_id, "Time to first response", _cycle(request, goal, _RESPONDED, within)),
        Sla(first_id + 1, "Time to resolution", _resolution_cycle(request, within)),
    )


_RESPONDED = {IN_PROGRESS: False, CANCELED: False}
_RESOLVED = {RESOLVED: False, CANCELED: False, WAITING_FOR_CUSTOMER: True}


def _resolution_cycle(request: Request, within: bool) -> SlaCycle | None:
    goal = PRIORITIES[request.priority].resolution_goal
    return _cycle(request, goal, _RESOLVED, within)


def _cycle(request: Request, goal: int, rules: dict[int, bool], within: bool) -> SlaCycle | None:
    """Time an SLA over the request's timeline.

    ``rules`` maps a status to False if reaching it stops the clock, True if it pauses it.
    """
    timeline = request.timeline
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
        until = timeline[k + 1][1] if k + 1 < len(timeline) else NOW_MS
        paused = rules.get(status) is True
        if not paused:
            if breach_time is None and elapsed + until - since > goal:
                breach_time = since + goal - elapsed
            elapsed += until - since
    running_paused = paused and stop is None
    if breach_time is None and not running_paused:
        breach_time = (NOW_MS if stop is None else stop) + goal - elapsed
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
    week_ago = NOW_MS - 7 * DAY
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
