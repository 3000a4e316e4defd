"""Jira's issue beans, as the enhanced search (API 3) and queue listings (API 2) show them.

:data:`JIRA_FIELDS` knows how to render each field the sandbox has; a bean holds the fields
asked for, in that table's order. Only the ``self`` URLs and the description (plain text in
API 2, Atlassian Document Format in API 3) differ between the versions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from urllib.parse import quote

from ..data import CLOSED, PRIORITIES, RESOLVED, STATUSES, Request, SiteData, field_values
from .calls import Json
from .dates import jira_time
from .fields import custom_fields
from .shapes import avatars

__all__ = ["JIRA_FIELDS", "issue_bean"]

_CATEGORIES = {
    "NEW": (2, "new", "blue-gray", "To Do"),
    "INDETERMINATE": (4, "indeterminate", "yellow", "In Progress"),
    "DONE": (3, "done", "green", "Done"),
}


@functools.lru_cache(maxsize=4096)
def _jira_user(site: SiteData, index: int, api: str) -> Json | None:
    """Jira's user bean (shared between answers: read-only); ``None`` for nobody (-1)."""
    if index < 0:
        return None
    user = site.users[index]
    bean: Json = {
        "self": f"{site.url}/rest/api/{api}/user?accountId={quote(user.account_id)}",
        "accountId": user.account_id,
        "avatarUrls": avatars(user),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "accountType": "atlassian" if user.agent else "customer",
    }
    if user.email is not None:
        bean["emailAddress"] = user.email
    return bean


def _jira_status(site: SiteData, request: Request, api: str) -> Json:
    return _status_bean(site, request.timeline[-1][0], api)


@functools.lru_cache(maxsize=1024)
def _status_bean(site: SiteData, index: int, api: str) -> Json:
    """Jira's status bean of ``STATUSES[index]`` (shared between answers: read-only)."""
    status = STATUSES[index]
    category_id, key, colour, name = _CATEGORIES[status.category]
    return {
        "self": f"{site.url}/rest/api/{api}/status/{status.id}",
        "description": "",
        "iconUrl": f"{site.url}/",
        "name": status.name,
        "id": status.id,
        "statusCategory": {
            "self": f"{site.url}/rest/api/{api}/statuscategory/{category_id}",
            "id": category_id,
            "key": key,
            "colorName": colour,
            "name": name,
        },
    }


def _jira_issue_type(site: SiteData, request: Request, api: str) -> Json:
    return _issue_type_bean(site, request.request_type, api)


@functools.lru_cache(maxsize=1024)
def _issue_type_bean(site: SiteData, request_type: int, api: str) -> Json:
    """Jira's issue type bean of a request type (shared between answers: read-only)."""
    issue_type = site.request_types[request_type].issue_type
    return {
        "self": f"{site.url}/rest/api/{api}/issuetype/{issue_type.id}",
        "id": issue_type.id,
        "description": issue_type.description,
        "iconUrl": f"{site.url}/rest/api/2/universal_avatar/view/type/issuetype/avatar/"
        f"{issue_type.avatar_id}?size=medium",
        "name": issue_type.name,
        "subtask": False,
        "avatarId": issue_type.avatar_id,
        "hierarchyLevel": 0,
    }


def _jira_project(site: SiteData, request: Request, api: str) -> Json:
    desk = site.desks[request.desk]
    return {
        "self": f"{site.url}/rest/api/{api}/project/{desk.project_id}",
        "id": str(desk.project_id),
        "key": desk.key,
        "name": desk.name,
        "projectTypeKey": "service_desk",
        "simplified": False,
    }


def _jira_priority(site: SiteData, request: Request, api: str) -> Json:
    return _priority_bean(site, request.priority, api)


@functools.lru_cache(maxsize=256)
def _priority_bean(site: SiteData, index: int, api: str) -> Json:
    """Jira's priority bean of ``PRIORITIES[index]`` (shared between answers: read-only)."""
    priority = PRIORITIES[index]
    return {
        "self": f"{site.url}/rest/api/{api}/priority/{priority.id}",
        "iconUrl": f"{site.url}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def _jira_resolution(site: SiteData, request: Request, api: str) -> Json | None:
    if request.resolved is None:
        return None
    done = request.timeline[-1][0] in (RESOLVED, CLOSED)
    resolution_id, name = ("10000", "Done") if done else ("10001", "Won't Do")
    return {
        "self": f"{site.url}/rest/api/{api}/resolution/{resolution_id}",
        "id": resolution_id,
        "description": "Work has been completed." if done else "This will not be worked on.",
        "name": name,
    }


def _jira_description(site: SiteData, request: Request, api: str) -> object:
    """Plain text in API 2; in API 3 an Atlassian Document Format document."""
    text = field_values(site, request)[1].value
    if api == "2":
        return text
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": part}]}
        for part in text.split("\n\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _jira_created(site: SiteData, request: Request, api: str) -> str:
    return jira_time(site, request.created)


def _jira_updated(site: SiteData, request: Request, api: str) -> str:
    return jira_time(site, request.updated)


def _jira_resolved(site: SiteData, request: Request, api: str) -> str | None:
    resolved = request.resolved
    return None if resolved is None else jira_time(site, resolved)


JIRA_FIELDS: dict[str, Callable[[SiteData, Request, str], object]] = {
    "summary": lambda site, request, api: request.summary,
    "issuetype": _jira_issue_type,
    "project": _jira_project,
    "status": _jira_status,
    "priority": _jira_priority,
    "reporter": lambda site, request, api: _jira_user(site, request.reporter, api),
    "assignee": lambda site, request, api: _jira_user(site, request.assignee, api),
    "created": _jira_created,
    "updated": _jira_updated,
    "resolutiondate": _jira_resolved,
    "resolution": _jira_resolution,
    "description": _jira_description,
    **custom_fields(_jira_user),
}
"""Jira fields the sandbox knows (system, then custom), in the order an issue bean lists them."""


def issue_bean(site: SiteData, request: Request, fields: Sequence[str], api: str) -> Json:
    """A Jira issue bean of ``request`` with ``fields`` (names of :data:`JIRA_FIELDS`).

    Parameters
    ----------
    site, request : SiteData, Request
        The issue to show, and the site whose URL and zone it is shown in.
    fields : Sequence of str
        The fields to include, in the order to list them.
    api : str
        The Jira REST API version whose shapes to use: ``"2"`` or ``"3"``.

    Returns
    -------
    dict
        The bean: ``id``, ``key``, ``self`` and ``fields``.
    """
    return {
        "id": str(request.issue_id),
        "key": request.key,
        "self": f"{site.url}/rest/api/{api}/issue/{request.issue_id}",
        "fields": {name: JIRA_FIELDS[name](site, request, api) for name in fields},
    }
