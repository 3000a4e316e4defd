"""The seeded content of the sandbox's three fake Jira Service Management sites.

A seeded site is a pure function of ``(cloudid, seed, requests, poison)``: the same
arguments give the same data in every process, whatever the clock says. Its "now" is
:data:`NOW_MS` (2026-11-01T00:00Z), the end of the twelve months the requests span. Change
batches (:mod:`.changes`) make new versions of a site, each a pure function of the one
before and the batch, a minute later on the site's clock (``SiteData.now``).

What filters and ordering need is built eagerly, from one ``random.Random`` seeded by the
site and the seed, as compact records (:class:`Request` is a named tuple of ints and short
strings, its status history ``(status, epoch ms)`` pairs). What only a rendered page needs
(descriptions, extra field values, comments, approvals, SLA cycles) is derived on demand,
the random parts from a small generator keyed by the site and the issue alone, so details
come out the same in whatever order pages are asked for.

The modules, one job each: :mod:`.catalogue` (the clock, the sites, the workflow),
:mod:`.desks` (the desk catalogue), :mod:`.words` (names and phrases), :mod:`.model` (the
records), :mod:`.generate` (the seeded generator), :mod:`.details` (what is derived on
demand), :mod:`.articles` (the knowledge base, request type groups), :mod:`.sites` (sites
by cloud id, cached), :mod:`.changes` (change batches) and :mod:`.poison` (the scripts a
poisoned site carries in its names, and the scan that finds them in HTML).
"""

from .articles import ARTICLES, Article, find_articles, request_type_groups
from .catalogue import (
    ANALYST_ACCOUNT_ID,
    CANCELED,
    CLOSED,
    DAY,
    DECLINED,
    FIRST_ISSUE_ID,
    HOUR,
    IN_PROGRESS,
    MINUTE,
    NOW_MS,
    PRIORITIES,
    RESOLVED,
    SITES,
    STATUSES,
    WAITING_FOR_APPROVAL,
    WAITING_FOR_CUSTOMER,
    WAITING_FOR_SUPPORT,
    WINDOW_MS,
    IssueType,
    Priority,
    Status,
)
from .details import (
    Approval,
    Comment,
    Feedback,
    FieldValue,
    Sla,
    SlaCycle,
    approvals,
    comments,
    feedback,
    field_values,
    queue_members,
    slas,
    team,
)
from .fields import FIELDS, JiraField
from .model import Desk, Organization, Queue, Request, RequestType, SiteData, User
from .sites import build_site, listed_sites, site_data

__all__ = [
    "ANALYST_ACCOUNT_ID",
    "ARTICLES",
    "CANCELED",
    "CLOSED",
    "DAY",
    "DECLINED",
    "FIELDS",
    "FIRST_ISSUE_ID",
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
    "Article",
    "Comment",
    "Desk",
    "Feedback",
    "FieldValue",
    "IssueType",
    "JiraField",
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
    "build_site",
    "comments",
    "feedback",
    "field_values",
    "find_articles",
    "listed_sites",
    "queue_members",
    "request_type_groups",
    "site_data",
    "slas",
    "team",
]
