"""The fixed facts every sandbox site shares: its clock, the sites, and the workflow.

The sandbox's "now" is the fixed :data:`NOW_MS`; the workflow's statuses, the priorities
(with their SLA goals) and the Jira issue types behind request types are the same on every
site.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

__all__ = [
    "ANALYST_ACCOUNT_ID",
    "CANCELED",
    "CLOSED",
    "DAY",
    "DECLINED",
    "FIRST_ISSUE_ID",
    "HOUR",
    "IN_PROGRESS",
    "ISSUE_TYPES",
    "MINUTE",
    "NOW_MS",
    "PRIORITIES",
    "RESOLVED",
    "SITES",
    "SITE_ZONES",
    "STATUSES",
    "WAITING_FOR_APPROVAL",
    "WAITING_FOR_CUSTOMER",
    "WAITING_FOR_SUPPORT",
    "WINDOW_MS",
    "IssueType",
    "Priority",
    "Status",
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
SITE_ZONES = {
    "acme-support": (0, "Etc/UTC", "acme.example"),
    "globex-helpdesk": (600, "Australia/Brisbane", "globex.example"),
    "initech-it": (-420, "America/Phoenix", "initech.example"),
}

FIRST_ISSUE_ID = 10_001
"""The Jira issue id of a site's first request; the others follow in creation order."""


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


ISSUE_TYPES = {
    "service": IssueType("10003", "Service Request", "Requests for help or a service.", 10553),
    "incident": IssueType("10004", "Incident", "Unplanned interruptions to a service.", 10570),
    "approval": IssueType(
        "10005", "Service Request with Approvals", "Requests that need an approval.", 10551
    ),
}
"""The issue types behind request types, by the kind a desk catalogue names."""
