"""The JSM and Jira REST endpoints of the sandbox, answering from :mod:`jsm_nb.sandbox.data`.

The API server hands every call under ``/ex/jira/{cloudid}`` to :func:`dispatch`, after
checking the token against :func:`required_scopes`. Answers take the shapes of Atlassian's
JSM OpenAPI spec and follow Atlassian's paging habits:

- JSM lists page by ``start``/``limit`` with ``isLastPage`` and no total. ``limit`` defaults
  to 50 and each endpoint silently caps it at its own maximum, the ``cap`` column of
  ``_ROUTES`` (the one table of them). ``_links`` point at the site's own URL.
- Jira's enhanced search (``/rest/api/3/search/jql``) pages by an opaque ``nextPageToken``
  with ``isLast`` and no total; ``maxResults`` is capped at :data:`SEARCH_CAP_IDS` when
  only ids or keys are asked for and at :data:`SEARCH_CAP_FIELDS` otherwise, as Jira's
  documentation describes (up to 5,000 for ids, fewer with fields).
- Errors carry Atlassian's bodies: JSM's ``{"errorMessage", "i18nErrorMessage"}`` and
  Jira's ``{"errorMessages", "errors"}``; experimental endpoints answer 412 without the
  ``X-ExperimentalApi: opt-in`` header.

The sandbox has no attachments: ``attachment`` expansions are ignored.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar
from urllib.parse import quote, unquote, urlencode

from . import data
from .data import NOW_MS, PRIORITIES, STATUSES, Desk, Request, SiteData

__all__ = [
    "DEFAULT_LIMIT",
    "SEARCH_CAP_FIELDS",
    "SEARCH_CAP_IDS",
    "dispatch",
    "required_scopes",
]

Json = dict[str, Any]

DEFAULT_LIMIT = 50
SEARCH_CAP_IDS = 5000
"""Most issues one Jira search page holds when only ids (or keys) are asked for."""
SEARCH_CAP_FIELDS = 100
"""Most issues one Jira search page holds when fields are asked for."""

_READ = frozenset({"read:servicedesk-request"})
_WORK = frozenset({"read:jira-work"})
_CUSTOMERS = frozenset({"manage:servicedesk-customer"})
_JSM = "/rest/servicedeskapi"


# --- Calls, answers and refusals ------------------------------------------------------------


class _Refusal(Exception):
    """An error answer: its status and Atlassian's body for it."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def _jsm_error(status: int, message: str, key: str, *parameters: str) -> _Refusal:
    i18n = {"i18nKey": key, "parameters": list(parameters)}
    return _Refusal(status, {"errorMessage": message, "i18nErrorMessage": i18n})


def _jira_error(message: str) -> _Refusal:
    return _Refusal(400, {"errorMessages": [message], "errors": {}})


@dataclass(frozen=True)
class _Call:
    """One call: the site, the path and its parameters, the query and the signed-in user."""

    site: SiteData
    path: str
    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    account_id: str

    def text(self, name: str) -> str | None:
        """A single-value parameter; a blank one counts as absent."""
        values = self.query.get(name)
        return values[0] if values and values[0] else None

    def many(self, name: str) -> list[str]:
        """A multi-value parameter, repeated and/or comma-separated."""
        values = self.query.get(name, [])
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def integer(self, name: str) -> int | None:
        value = self.text(name)
        return None if value is None else _parse_int(name, value)

    def integers(self, name: str) -> list[int]:
        return [_parse_int(name, value) for value in self.many(name)]

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise _bad_parameter(name, value)
        return value.lower() == "true"

    @property
    def me(self) -> int:
        """The signed-in user's index on the site, or -2 when the site does not know them."""
        return self.site.by_account.get(self.account_id, -2)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad_parameter(name, value) from None


def _bad_parameter(name: str, value: str) -> _Refusal:
    return _jsm_error(
        400,
        f"The value '{value}' is not valid for the parameter '{name}'.",
        "sd.api.parameter.invalid",
        name,
        value,
    )


_Item = TypeVar("_Item")


@dataclass(frozen=True)
class _Rows(Generic[_Item]):
    """What a list endpoint answers: its rows in order, and how one row looks on the wire."""

    items: Sequence[_Item]
    render: Callable[[_Item], Json]


@functools.lru_cache(maxsize=256)
def _memo(compute: Callable[..., tuple[int, ...]], *args: Hashable) -> tuple[int, ...]:
    """``compute(*args)``, remembered: filtered listings are computed once, paged many times."""
    return compute(*args)


# --- Paging ---------------------------------------------------------------------------------


def _page(call: _Call, rows: _Rows[Any], cap: int) -> Json:
    """The page of ``rows`` that the call's ``start`` and ``limit`` ask for."""
    start = call.integer("start")
    limit = call.integer("limit")
    start = 0 if start is None else start
    limit = DEFAULT_LIMIT if limit is None else limit
    if start < 0:
        raise _jsm_error(
            400,
            "The start parameter must not be negative.",
            "sd.api.paging.start.negative",
            str(start),
        )
    if limit < 1:
        raise _jsm_error(
            400,
            "The limit parameter must be greater than zero.",
            "sd.api.paging.limit.invalid",
            str(limit),
        )
    return _page_body(call.site, call.path, call.query, rows, start, min(limit, cap))


def _page_body(
    site: SiteData,
    path: str,
    query: Mapping[str, list[str]],
    rows: _Rows[Any],
    start: int,
    limit: int,
) -> Json:
    chunk = rows.items[start : start + limit]
    last = start + len(chunk) >= len(rows.items)
    links = {
        "base": site.url + _JSM,
        "context": "",
        "self": _link(site, path, query, start, limit),
    }
    if not last:
        links["next"] = _link(site, path, query, start + limit, limit)
    if start > 0:
        links["prev"] = _link(site, path, query, max(0, start - limit), limit)
    return {
        "_expands": [],
        "size": len(chunk),
        "start": start,
        "limit": limit,
        "isLastPage": last,
        "values": [rows.render(item) for item in chunk],
        "_links": links,
    }


def _embedded(site: SiteData, path: str, rows: _Rows[Any]) -> Json:
    """A first page nested in another answer (an ``expand``), as Atlassian nests them."""
    return _page_body(site, path, {}, rows, 0, DEFAULT_LIMIT)


def _link(site: SiteData, path: str, query: Mapping[str, list[str]], start: int, limit: int) -> str:
    kept = [(k, v) for k, values in query.items() if k not in ("start", "limit") for v in values]
    return f"{site.url}{path}?{urlencode([*kept, ('start', start), ('limit', limit)])}"


# --- Wire formats ---------------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@functools.lru_cache(maxsize=64)
def _offset(site: SiteData) -> str:
    hours, minutes = divmod(abs(site.utc_offset), 60)
    return f"{'-' if site.utc_offset < 0 else '+'}{hours:02d}{minutes:02d}"


def _local(site: SiteData, epoch_ms: int) -> tuple[int, int]:
    """The day number (since 1970-01-01) and second of that day, in the site's zone."""
    return divmod(epoch_ms // 1000 + site.utc_offset * 60, 86_400)


@functools.lru_cache(maxsize=8192)
def _day(site: SiteData, day: int) -> tuple[str, str]:
    """A local day as ISO text and as a person reads it next to the sandbox's now."""
    date = _EPOCH + timedelta(days=day)
    days_ago = _local(site, NOW_MS)[0] - day
    if days_ago == 0:
        friendly = "Today"
    elif days_ago == 1:
        friendly = "Yesterday"
    elif 1 < days_ago < 7:
        friendly = _DAYS[date.weekday()]
    else:
        friendly = f"{date.day:02d}/{_MONTHS[date.month - 1]}/{date.year % 100:02d}"
    return date.isoformat(), friendly


def _stamp(site: SiteData, epoch_ms: int) -> tuple[str, str, int]:
    """ISO date and time without zone, the friendly day, and the hour."""
    day, second = _local(site, epoch_ms)
    iso_day, friendly = _day(site, day)
    hour, rest = divmod(second, 3600)
    return f"{iso_day}T{hour:02d}:{rest // 60:02d}:{rest % 60:02d}", friendly, hour


def _jira_time(site: SiteData, epoch_ms: int) -> str:
    """Jira's timestamp: ISO 8601 with milliseconds, in the site's zone."""
    return f"{_stamp(site, epoch_ms)[0]}.{epoch_ms % 1000:03d}{_offset(site)}"


def _date(site: SiteData, epoch_ms: int) -> Json:
    """JSM's date object; ``friendly`` is relative to the sandbox's now, as a person reads it."""
    stamp, friendly, hour = _stamp(site, epoch_ms)
    offset = _offset(site)
    clock = f"{(hour % 12) or 12}:{stamp[14:16]} {'AM' if hour < 12 else 'PM'}"
    return {
        "iso8601": f"{stamp}{offset}",
        "jira": f"{stamp}.{epoch_ms % 1000:03d}{offset}",
        "friendly": f"{friendly} {clock}",
        "epochMillis": epoch_ms,
    }


def _duration(millis: int) -> Json:
    hours, minutes = divmod(abs(millis) // data.MINUTE, 60)
    sign = "-" if millis < 0 else ""
    return {
        "millis": millis,
        "friendly": f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h",
    }


def _avatars(user: data.User) -> dict[str, str]:
    return {
        f"{n}x{n}": f"https://avatar-cdn.atlassian.com/{user.avatar}?s={n}&d=mm"
        for n in (16, 24, 32, 48)
    }


@functools.lru_cache(maxsize=4096)
def _user(site: SiteData, index: int) -> Json:
    """JSM's UserDTO (shared between answers: read-only). A hidden email is left out."""
    user = site.users[index]
    rest = f"{site.url}/rest/api/2/user?accountId={quote(user.account_id)}"
    dto: Json = {
        "accountId": user.account_id,
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "_links": {"jiraRest": rest, "avatarUrls": _avatars(user), "self": rest},
    }
    if user.email is not None:
        dto["emailAddress"] = user.email
    return dto


def _desk_dto(site: SiteData, desk: Desk) -> Json:
    return {
        "id": str(desk.id),
        "projectId": str(desk.project_id),
        "projectName": desk.name,
        "projectKey": desk.key,
        "projectTypeKey": "service_desk",
        "_links": {"self": f"{site.url}{_JSM}/servicedesk/{desk.id}"},
    }


def _request_type_dto(site: SiteData, request_type: data.RequestType) -> Json:
    desk = site.desks[request_type.desk]
    icon = (
        f"{site.url}/rest/api/2/universal_avatar/view/type/SD_REQTYPE/avatar/{request_type.icon_id}"
    )
    sizes = {"48x48": "large", "24x24": "small", "16x16": "xsmall", "32x32": "medium"}
    return {
        "_expands": [],
        "id": str(request_type.id),
        "_links": {"self": f"{site.url}{_JSM}/servicedesk/{desk.id}/requesttype/{request_type.id}"},
        "name": request_type.name,
        "description": request_type.description,
        "issueTypeId": request_type.issue_type.id,
        "serviceDeskId": str(desk.id),
        "portalId": str(desk.id),
        "groupIds": [str(g) for g in request_type.group_ids],
        "icon": {
            "id": str(request_type.icon_id),
            "_links": {"iconUrls": {k: f"{icon}?size={v}" for k, v in sizes.items()}},
        },
        "restrictionStatus": "OPEN",
    }


def _status_entry(site: SiteData, status: int, since: int) -> Json:
    return {
        "status": STATUSES[status].name,
        "statusCategory": STATUSES[status].category,
        "statusDate": _date(site, since),
    }


def _field_value(site: SiteData, value: data.FieldValue) -> Json:
    entry: Json = {"fieldId": value.field_id, "label": value.label, "value": value.value}
    if value.option_id is not None:
        entry["value"] = {
            "self": f"{site.url}/rest/api/2/customFieldOption/{value.option_id}",
            "value": value.value,
            "id": value.option_id,
        }
    if value.html is not None:
        entry["renderedValue"] = {"html": value.html}
    return entry


def _sla_dto(site: SiteData, request: Request, sla: data.Sla) -> Json:
    dto: Json = {
        "id": str(sla.id),
        "name": sla.name,
        "_links": {"self": f"{site.url}{_JSM}/request/{request.issue_id}/sla/{sla.id}"},
        "completedCycles": [],
        "slaDisplayFormat": "NEW_SLA_FORMAT",
    }
    cycle = sla.cycle
    if cycle is None:
        return dto
    timing: Json = {
        "startTime": _date(site, cycle.start),
        "breached": cycle.breached,
        "goalDuration": _duration(cycle.goal),
        "elapsedTime": _duration(cycle.elapsed),
        "remainingTime": _duration(cycle.remaining),
    }
    if cycle.breach_time is not None:
        timing["breachTime"] = _date(site, cycle.breach_time)
    if cycle.stop is not None:
        dto["completedCycles"] = [{**timing, "stopTime": _date(site, cycle.stop)}]
    else:
        dto["ongoingCycle"] = {
            **timing,
            "paused": cycle.paused,
            "withinCalendarHours": cycle.within_calendar_hours,
        }
    return dto


def _comment_dto(site: SiteData, request: Request, comment: data.Comment, rendered: bool) -> Json:
    dto: Json = {
        "_expands": ["attachment", "renderedBody"],
        "id": str(comment.id),
        "body": comment.body,
        "public": comment.public,
        "author": _user(site, comment.author),
        "created": _date(site, comment.created),
        "_links": {"self": f"{site.url}{_JSM}/request/{request.issue_id}/comment/{comment.id}"},
    }
    if rendered:
        dto["renderedBody"] = {"html": f"<p>{html.escape(comment.body)}</p>"}
    return dto


def _approval_dto(call: _Call, request: Request, approval: data.Approval) -> Json:
    site = call.site
    dto: Json = {
        "id": str(approval.id),
        "name": approval.name,
        "finalDecision": approval.decision,
        "canAnswerApproval": approval.decision == "pending" and call.me in request.approvers,
        "approvers": [
            {"approver": _user(site, user), "approverDecision": decision}
            for user, decision in approval.approvers
        ],
        "createdDate": _date(site, approval.created),
        "_links": {"self": f"{site.url}{_JSM}/request/{request.issue_id}/approval/{approval.id}"},
    }
    if approval.completed is not None:
        dto["completedDate"] = _date(site, approval.completed)
    return dto


def _organization_dto(site: SiteData, index: int) -> Json:
    org = site.organizations[index]
    return {
        "id": str(org.id),
        "name": org.name,
        "uuid": org.uuid,
        "created": _date(site, org.created),
        "scimManaged": False,
        "_links": {"self": f"{site.url}{_JSM}/organization/{org.id}"},
    }


_REQUEST_EXPANDS = (
    "participant",
    "status",
    "sla",
    "requestType",
    "serviceDesk",
    "attachment",
    "action",
    "comment",
)
_ACTIONS = ("addAttachment", "addComment", "addParticipant", "removeParticipant")


def _request_dto(site: SiteData, request: Request, expand: frozenset[str]) -> Json:
    """JSM's CustomerRequestDTO, with the expansions asked for."""
    desk = site.desks[request.desk]
    here = f"{_JSM}/request/{request.issue_id}"
    dto: Json = {
        "_expands": list(_REQUEST_EXPANDS),
        "issueId": str(request.issue_id),
        "issueKey": request.key,
        "requestTypeId": str(site.request_types[request.request_type].id),
        "serviceDeskId": str(desk.id),
        "createdDate": _date(site, request.created),
        "reporter": _user(site, request.reporter),
        "requestFieldValues": [_field_value(site, v) for v in data.field_values(site, request)],
        "currentStatus": _status_entry(site, *request.timeline[-1]),
        "_links": {
            "jiraRest": f"{site.url}/rest/api/2/issue/{request.issue_id}",
            "web": f"{site.url}/servicedesk/customer/portal/{desk.id}/{request.key}",
            "agent": f"{site.url}/browse/{request.key}",
            "self": f"{site.url}{here}",
        },
    }
    if "serviceDesk" in expand:
        dto["serviceDesk"] = _desk_dto(site, desk)
    if "requestType" in expand:
        dto["requestType"] = _request_type_dto(site, site.request_types[request.request_type])
    if "participant" in expand:
        dto["participants"] = _embedded(
            site, f"{here}/participant", _participant_rows(site, request)
        )
    if "status" in expand:
        dto["status"] = _embedded(site, f"{here}/status", _status_rows(site, request))
    if "sla" in expand:
        dto["sla"] = _embedded(site, f"{here}/sla", _sla_rows(site, request))
    if "comment" in expand:
        rows = _comment_rows(site, request, True, True, "comment.renderedBody" in expand)
        dto["comments"] = _embedded(site, f"{here}/comment", rows)
    if "action" in expand:
        dto["actions"] = {action: {"allowed": True} for action in _ACTIONS}
    return dto


def _participant_rows(site: SiteData, request: Request) -> _Rows[int]:
    return _Rows(request.participants, functools.partial(_user, site))


def _status_rows(site: SiteData, request: Request) -> _Rows[tuple[int, int]]:
    """The status history, most recent (current) first, as JSM lists it."""
    return _Rows(request.timeline[::-1], lambda entry: _status_entry(site, *entry))


def _sla_rows(site: SiteData, request: Request) -> _Rows[data.Sla]:
    return _Rows(data.slas(site, request), functools.partial(_sla_dto, site, request))


def _comment_rows(
    site: SiteData, request: Request, public: bool, internal: bool, rendered: bool
) -> _Rows[data.Comment]:
    wanted = [c for c in data.comments(site, request) if (public if c.public else internal)]
    return _Rows(wanted, lambda comment: _comment_dto(site, request, comment, rendered))


# --- Jira issues ----------------------------------------------------------------------------

_CATEGORIES = {
    "NEW": (2, "new", "blue-gray", "To Do"),
    "INDETERMINATE": (4, "indeterminate", "yellow", "In Progress"),
    "DONE": (3, "done", "green", "Done"),
}


def _jira_user(site: SiteData, index: int, api: str) -> Json | None:
    if index < 0:
        return None
    user = site.users[index]
    bean: Json = {
        "self": f"{site.url}/rest/api/{api}/user?accountId={quote(user.account_id)}",
        "accountId": user.account_id,
        "avatarUrls": _avatars(user),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "accountType": "atlassian" if user.agent else "customer",
    }
    if user.email is not None:
        bean["emailAddress"] = user.email
    return bean


def _jira_status(site: SiteData, request: Request, api: str) -> Json:
    status = request.status
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
    issue_type = site.request_types[request.request_type].issue_type
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
    priority = PRIORITIES[request.priority]
    return {
        "self": f"{site.url}/rest/api/{api}/priority/{priority.id}",
        "iconUrl": f"{site.url}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def _jira_resolution(site: SiteData, request: Request, api: str) -> Json | None:
    if request.resolved is None:
        return None
    done = request.timeline[-1][0] in (data.RESOLVED, data.CLOSED)
    resolution_id, name = ("10000", "Done") if done else ("10001", "Won't Do")
    return {
        "self": f"{site.url}/rest/api/{api}/resolution/{resolution_id}",
        "id": resolution_id,
        "description": "Work has been completed." if done else "This will not be worked on.",
        "name": name,
    }


def _jira_description(site: SiteData, request: Request, api: str) -> object:
    """Plain text in API 2; in API 3 an Atlassian Document Format document."""
    text = data.field_values(site, request)[1].value
    if api == "2":
        return text
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": part}]}
        for part in text.split("\n\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def _jira_created(site: SiteData, request: Request, api: str) -> str:
    return _jira_time(site, request.created)


def _jira_updated(site: SiteData, request: Request, api: str) -> str:
    return _jira_time(site, request.updated)


def _jira_resolved(site: SiteData, request: Request, api: str) -> str | None:
    return None if request.resolved is None else _jira_time(site, request.resolved)


_JIRA_FIELDS: dict[str, Callable[[SiteData, Request, str], object]] = {
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
}
"""Jira fields the sandbox knows, in the order an issue bean lists them."""


def _issue_bean(site: SiteData, request: Request, fields: Sequence[str], api: str) -> Json:
    return {
        "id": str(request.issue_id),
        "key": request.key,
        "self": f"{site.url}/rest/api/{api}/issue/{request.issue_id}",
        "fields": {name: _JIRA_FIELDS[name](site, request, api) for name in fields},
    }


# --- Looking things up ----------------------------------------------------------------------


def _desk(call: _Call) -> Desk:
    return _desk_named(call.site, call.params["serviceDeskId"])


def _desk_named(site: SiteData, id_or_key: str) -> Desk:
    desk = site.desk(id_or_key)
    if desk is None:
        raise _jsm_error(
            404,
            "The Service Desk you are trying to view does not exist.",
            "sd.agent.servicedesk.error.servicedesk.missing",
            id_or_key,
        )
    return desk


def _request(call: _Call) -> Request:
    wanted = call.params["issueIdOrKey"]
    request = call.site.request(wanted)
    if request is None:
        raise _jsm_error(
            404,
            f"The request '{wanted}' does not exist or you cannot see it.",
            "sd.customer.request.does.not.exist",
            wanted,
        )
    return request


# --- JSM endpoints --------------------------------------------------------------------------


def _service_desks(call: _Call) -> _Rows[Desk]:
    return _Rows(call.site.desks, functools.partial(_desk_dto, call.site))


def _service_desk(call: _Call) -> Json:
    return _desk_dto(call.site, _desk(call))


def _request_types(call: _Call, desks: Sequence[Desk]) -> _Rows[data.RequestType]:
    site = call.site
    search = (call.text("searchQuery") or "").lower()
    group = call.integer("groupId")
    wanted = [
        site.request_types[t]
        for desk in desks
        for t in desk.request_types
        if search in f"{site.request_types[t].name}\n{site.request_types[t].description}".lower()
        and (group is None or group in site.request_types[t].group_ids)
    ]
    return _Rows(wanted, functools.partial(_request_type_dto, site))


def _desk_request_types(call: _Call) -> _Rows[data.RequestType]:
    return _request_types(call, [_desk(call)])


def _all_request_types(call: _Call) -> _Rows[data.RequestType]:
    ids = call.integers("serviceDeskId")
    return _request_types(call, [d for d in call.site.desks if not ids or d.id in ids])


@dataclass(frozen=True)
class _RequestFilter:
    """The filters of one ``/request`` listing, normalised, so equal filters share a cache."""

    me: int
    caller_is_agent: bool
    ownership: frozenset[str]
    status: str
    approval_status: str | None
    desk: int | None
    request_type: int | None
    org: int | None
    terms: tuple[str, ...]


_OWNERSHIP = frozenset(
    (
        "OWNED_REQUESTS",
        "PARTICIPATED_REQUESTS",
        "ORGANIZATION",
        "ALL_ORGANIZATIONS",
        "APPROVER",
        "ALL_REQUESTS",
    )
)
_REQUEST_STATUS = {
    "ALL_REQUESTS": ("NEW", "INDETERMINATE", "DONE"),
    "OPEN_REQUESTS": ("NEW", "INDETERMINATE"),
    "CLOSED_REQUESTS": ("DONE",),
}
_APPROVAL_STATUS = ("MY_PENDING_APPROVAL", "MY_HISTORY_APPROVAL")
_CUSTOMER_VIEW = frozenset(("OWNED_REQUESTS", "PARTICIPATED_REQUESTS", "ALL_ORGANIZATIONS"))


def _requests(call: _Call) -> _Rows[int]:
    """``/request``: the signed-in user's view of the customer requests, newest activity first.

    An agent sees every request: without ``requestOwnership`` (or with ``ALL_REQUESTS``) the
    list holds them all, and ``ALL_ORGANIZATIONS`` means every organisation. A customer's
    default is the spec's: their own requests, those they take part in and their
    organisations'. Listed ownerships are alternatives; the other filters all apply.
    """
    site = call.site
    expand = frozenset(call.many("expand"))
    return _Rows(
        _memo(_matching_requests, site, _request_filter(call)),
        lambda i: _request_dto(site, site.requests[i], expand),
    )


def _request_filter(call: _Call) -> _RequestFilter:
    site = call.site
    ownership = frozenset(call.many("requestOwnership"))
    for value in ownership - _OWNERSHIP:
        raise _bad_parameter("requestOwnership", value)
    ownership -= {"ALL_REQUESTS"}
    caller = site.users[call.me] if call.me >= 0 else None
    if not ownership and caller is not None and not caller.agent:
        ownership = _CUSTOMER_VIEW
    status = call.text("requestStatus") or "ALL_REQUESTS"
    if status not in _REQUEST_STATUS:
        raise _bad_parameter("requestStatus", status)
    approval_status = call.text("approvalStatus")
    if approval_status is not None and (
        approval_status not in _APPROVAL_STATUS or "APPROVER" not in ownership
    ):
        raise _bad_parameter("approvalStatus", approval_status)
    desk_id, type_id, org_id = (
        call.integer(n) for n in ("serviceDeskId", "requestTypeId", "organizationId")
    )
    if type_id is not None and desk_id is None:
        raise _jsm_error(
            400,
            "The requestTypeId parameter needs serviceDeskId too.",
            "sd.api.request.list.requesttype.without.servicedesk",
        )
    if "ORGANIZATION" in ownership and org_id is None:
        raise _jsm_error(
            400,
            "requestOwnership=ORGANIZATION needs an organizationId.",
            "sd.api.request.list.organization.missing",
        )
    desk = None if desk_id is None else _desk_named(site, str(desk_id))
    request_type = None
    if desk is not None and type_id is not None:
        request_type = next(
            (t for t in desk.request_types if site.request_types[t].id == type_id), None
        )
        if request_type is None:
            raise _jsm_error(
                404,
                f"The request type {type_id} does not exist in this service desk.",
                "sd.request.type.not.found",
                str(type_id),
            )
    org = None
    if org_id is not None:
        org = next((k for k, o in enumerate(site.organizations) if o.id == org_id), None)
        if org is None:
            raise _jsm_error(
                404,
                f"The organization {org_id} does not exist.",
                "sd.organization.not.found",
                str(org_id),
            )
    terms = tuple(t.strip("*").lower() for t in (call.text("searchTerm") or "").split())
    return _RequestFilter(
        me=call.me,
        caller_is_agent=caller is None or caller.agent,
        ownership=ownership,
        status=status,
        approval_status=approval_status,
        desk=None if desk is None else desk.index,
        request_type=request_type,
        org=org,
        terms=tuple(t for t in terms if t),
    )


def _matching_requests(site: SiteData, found: _RequestFilter) -> tuple[int, ...]:
    me = found.me
    my_orgs = frozenset(
        k for k, org in enumerate(site.organizations) if found.caller_is_agent or me in org.members
    )
    categories = _REQUEST_STATUS[found.status]

    def owned(request: Request) -> bool:
        if not found.ownership:
            return True
        approvals = data.approvals(site, request) if "APPROVER" in found.ownership else ()
        pending = any(a.decision == "pending" for a in approvals)
        return (
            ("OWNED_REQUESTS" in found.ownership and request.reporter == me)
            or ("PARTICIPATED_REQUESTS" in found.ownership and me in request.participants)
            or ("ORGANIZATION" in found.ownership and request.org == found.org)
            or ("ALL_ORGANIZATIONS" in found.ownership and request.org in my_orgs)
            or (
                "APPROVER" in found.ownership
                and me in request.approvers
                and (
                    found.approval_status is None
                    or pending == (found.approval_status == "MY_PENDING_APPROVAL")
                )
            )
        )

    def matches(request: Request) -> bool:
        if found.request_type is not None and request.request_type != found.request_type:
            return False
        if found.org is not None and request.org != found.org:
            return False
        if request.status.category not in categories:
            return False
        if found.terms:
            words = re.findall(r"\w+", request.summary.lower())
            if not all(any(w.startswith(t) for w in words) for t in found.terms):
                return False
        return owned(request)

    pool = range(len(site.requests)) if found.desk is None else site.desk_requests[found.desk]
    hits = [i for i in pool if matches(site.requests[i])]
    hits.sort(key=lambda i: (site.requests[i].updated, i), reverse=True)
    return tuple(hits)


def _one_request(call: _Call) -> Json:
    return _request_dto(call.site, _request(call), frozenset(call.many("expand")))


def _statuses(call: _Call) -> _Rows[tuple[int, int]]:
    return _status_rows(call.site, _request(call))


def _participants(call: _Call) -> _Rows[int]:
    return _participant_rows(call.site, _request(call))


def _slas(call: _Call) -> _Rows[data.Sla]:
    return _sla_rows(call.site, _request(call))


def _comments(call: _Call) -> _Rows[data.Comment]:
    request = _request(call)
    public = call.flag("public", True)
    internal = call.flag("internal", True)
    rendered = "renderedBody" in call.many("expand")
    return _comment_rows(call.site, request, public, internal, rendered)


def _approvals(call: _Call) -> _Rows[data.Approval]:
    request = _request(call)
    approvals = data.approvals(call.site, request)
    return _Rows(approvals, lambda approval: _approval_dto(call, request, approval))


def _queues(call: _Call) -> _Rows[data.Queue]:
    site = call.site
    desk = _desk(call)
    counted = call.flag("includeCount", False)

    def render(queue: data.Queue) -> Json:
        dto: Json = {
            "id": str(queue.id),
            "name": queue.name,
            "jql": queue.jql,
            "fields": list(queue.fields),
            "_links": {"self": f"{site.url}{_JSM}/servicedesk/{desk.id}/queue/{queue.id}"},
        }
        if counted:
            dto["issueCount"] = len(_memo(data.queue_members, site, queue, call.account_id))
        return dto

    return _Rows([q for q in site.queues if q.desk == desk.index], render)


def _queue_issues(call: _Call) -> _Rows[int]:
    """A queue's requests as Jira issue beans (API 2 shapes), with the queue's fields only."""
    site = call.site
    desk = _desk(call)
    wanted = call.params["queueId"]
    queue = next((q for q in site.queues if q.desk == desk.index and str(q.id) == wanted), None)
    if queue is None:
        raise _jsm_error(
            404,
            f"The queue {wanted} does not exist in this service desk.",
            "sd.queue.not.found",
            wanted,
        )
    fields = [f for f in _JIRA_FIELDS if f in queue.fields]
    return _Rows(
        _memo(data.queue_members, site, queue, call.account_id),
        lambda i: _issue_bean(site, site.requests[i], fields, "2"),
    )


def _organization_rows(call: _Call, pool: Sequence[int]) -> _Rows[int]:
    site = call.site
    account = call.text("accountId")
    member = None if account is None else site.by_account.get(account, -2)
    wanted = [k for k in pool if member is None or member in site.organizations[k].members]
    return _Rows(wanted, functools.partial(_organization_dto, site))


def _organizations(call: _Call) -> _Rows[int]:
    return _organization_rows(call, range(len(call.site.organizations)))


def _desk_organizations(call: _Call) -> _Rows[int]:
    return _organization_rows(call, _memo(_organizations_of, call.site, _desk(call).index))


def _organizations_of(site: SiteData, desk: int) -> tuple[int, ...]:
    """The organisations a desk serves: those its requests were shared with."""
    return tuple(sorted({site.requests[i].org for i in site.desk_requests[desk]} - {-1}))


def _customers(call: _Call) -> _Rows[int]:
    site = call.site
    query = (call.text("query") or "").lower()
    pool = _memo(_customers_of, site, _desk(call).index)
    wanted = [
        u
        for u in pool
        if query in f"{site.users[u].display_name}\n{site.users[u].email or ''}".lower()
    ]
    return _Rows(wanted, functools.partial(_user, site))


def _customers_of(site: SiteData, desk: int) -> tuple[int, ...]:
    """A desk's customers (those who raised requests there), by display name."""
    users = {site.requests[i].reporter for i in site.desk_requests[desk]}
    return tuple(
        sorted(users, key=lambda u: (site.users[u].display_name, site.users[u].account_id))
    )


# --- Jira search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Jql:
    """The sandbox's JQL subset, parsed: ``project``, ``status``, ``created`` and ORDER BY."""

    desks: frozenset[int] | None
    statuses: frozenset[int] | None
    created_from: int | None
    created_before: int | None
    descending: bool


_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<op>!=|>=|<=|[=<>(),~])|(?P<word>[^\s"'=!<>(),~]+))"""
)
_SUBSET = (
    "the sandbox's JQL supports project (= or in), status (= or in) and created (>=, >, <=, <)"
    " clauses joined by AND, and ORDER BY created"
)
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """``(kind, text, position)`` for each token; strings come unquoted."""
    found = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None:
            raise _jira_error(
                f"Error in the JQL Query: The character '{text[position]}' is a "
                f"reserved JQL character. (line 1, character {position + 1})"
            )
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append((kind, value, match.start(kind)))
        position = match.end()
    return found


class _JqlParser:
    """A recursive-descent parser of the sandbox's JQL subset."""

    def __init__(self, site: SiteData, text: str) -> None:
        self.site = site
        self.tokens = _tokens(text)
        self.at = 0

    def parse(self) -> _Jql:
        desks: frozenset[int] | None = None
        statuses: frozenset[int] | None = None
        low: int | None = None
        high: int | None = None
        while self.tokens[self.at :] and not self._keyword("order"):
            if self.at:
                self._expect_keyword("and")
            name, position = self._take("a field name")
            name = name.lower()
            if name == "project":
                values = self._values(name)
                desks = self._intersect(desks, {self._project(v) for v in values})
            elif name == "status":
                values = self._values(name)
                statuses = self._intersect(statuses, {self._status(v) for v in values})
            elif name in ("created", "createddate"):
                operator, where = self._take("an operator")
                if operator not in (">=", ">", "<=", "<"):
                    raise self._unsupported(operator, where)
                moment = self._date(self._take("a date")[0])
                if operator in (">=", ">"):
                    low = max(low or 0, moment + (operator == ">"))
                else:
                    limit = moment + (operator == "<=")
                    high = limit if high is None else min(high, limit)
            else:
                raise self._unsupported(name, position)
        descending = True
        if self.tokens[self.at :]:
            self._expect_keyword("order")
            self._expect_keyword("by")
            field, position = self._take("a field name")
            if field.lower() != "created":
                raise self._unsupported(field, position)
            if self.tokens[self.at :]:
                direction, position = self._take("ASC or DESC")
                if direction.lower() not in ("asc", "desc"):
                    raise self._unsupported(direction, position)
                descending = direction.lower() == "desc"
            if self.tokens[self.at :]:
                raise self._unsupported(*self._take("the end of the query"))
        if desks is None and statuses is None and low is None and high is None:
            raise _jira_error(
                "Unbounded JQL queries are not allowed here. "
                "Please add a search restriction to your query."
            )
        return _Jql(desks, statuses, low, high, descending)

    def _take(self, expected: str) -> tuple[str, int]:
        if not self.tokens[self.at :]:
            raise _jira_error(
                f"Error in the JQL Query: Expecting {expected} but reached the end of the query."
            )
        _, value, position = self.tokens[self.at]
        self.at += 1
        return value, position

    def _keyword(self, word: str) -> bool:
        kind, value, _ = self.tokens[self.at]
        return kind == "word" and value.lower() == word

    def _expect_keyword(self, word: str) -> None:
        value, position = self._take(f"'{word.upper()}'")
        if value.lower() != word:
            raise self._unsupported(value, position)

    def _values(self, name: str) -> list[str]:
        operator, position = self._take("an operator")
        if operator == "=":
            return [self._take("a value")[0]]
        if operator.lower() != "in":
            raise self._unsupported(operator, position)
        values = []
        self._expect_symbol("(")
        while True:
            values.append(self._take(f"a value for {name}")[0])
            separator, position = self._take("',' or ')'")
            if separator == ")":
                return values
            if separator != ",":
                raise self._unsupported(separator, position)

    def _expect_symbol(self, symbol: str) -> None:
        value, position = self._take(f"'{symbol}'")
        if value != symbol:
            raise self._unsupported(value, position)

    @staticmethod
    def _intersect(old: frozenset[int] | None, new: set[int]) -> frozenset[int]:
        return frozenset(new) if old is None else old & new

    def _project(self, value: str) -> int:
        wanted = value.upper()
        for desk in self.site.desks:
            if wanted in (desk.key, str(desk.project_id), desk.name.upper()):
                return desk.index
        raise _jira_error(f"The value '{value}' does not exist for the field 'project'.")

    @staticmethod
    def _status(value: str) -> int:
        for index, status in enumerate(STATUSES):
            if value.lower() in (status.name.lower(), status.id):
                return index
        raise _jira_error(f"The value '{value}' does not exist for the field 'status'.")

    def _date(self, value: str) -> int:
        for pattern in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value, pattern).replace(tzinfo=self.site.tz)
            except ValueError:
                continue
            return int(moment.timestamp() * 1000)
        raise _jira_error(
            f"Date value '{value}' for field 'created' is invalid. Valid formats include: "
            "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
            "format e.g. '-5d', '4w 2d'."
        )

    @staticmethod
    def _unsupported(token: str, position: int) -> _Refusal:
        return _jira_error(
            f"Error in the JQL Query: {_SUBSET}; got '{token}'. (line 1, character {position + 1})"
        )


def _jql_matches(site: SiteData, query: _Jql) -> tuple[int, ...]:
    if query.desks is None:
        pool: Sequence[int] = range(len(site.requests))
    else:
        pool = sorted(i for d in query.desks for i in site.desk_requests[d])
    low = query.created_from if query.created_from is not None else -1
    high = query.created_before if query.created_before is not None else NOW_MS + 1
    hits = [
        i
        for i in pool
        if low <= site.requests[i].created < high
        and (query.statuses is None or site.requests[i].timeline[-1][0] in query.statuses)
    ]
    return tuple(reversed(hits)) if query.descending else tuple(hits)


def _page_token(offset: int, jql: str) -> str:
    raw = f"{offset}:{zlib.crc32(jql.encode()):08x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _token_offset(token: str | None, jql: str) -> int:
    if token is None:
        return 0
    try:
        offset, fingerprint = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).split(b":")
        if int(fingerprint, 16) == zlib.crc32(jql.encode()) and int(offset) >= 0:
            return int(offset)
    except (ValueError, binascii.Error):
        pass
    raise _jira_error(f"The nextPageToken '{token}' is invalid or belongs to another query.")


def _search(call: _Call) -> Json:
    """Jira's enhanced search, ``GET /rest/api/3/search/jql``.

    Without ``fields`` (or with only ``id``) issues are ``{"id"}`` objects; otherwise issue
    beans with the known fields asked for (``*all`` or ``*navigable`` for all of them).
    Without ORDER BY the newest issues come first.
    """
    site = call.site
    jql = call.text("jql") or ""
    query = _JqlParser(site, jql).parse()
    names = call.many("fields")
    everything = bool({"*all", "*navigable"} & set(names))
    fields = [f for f in _JIRA_FIELDS if everything or f in names]
    ids_only = not fields and "key" not in names
    cap = SEARCH_CAP_IDS if not fields else SEARCH_CAP_FIELDS
    wanted = call.integer("maxResults")
    if wanted is not None and wanted < 1:
        raise _jira_error("The maxResults parameter must be greater than 0.")
    size = min(DEFAULT_LIMIT if wanted is None else wanted, cap)
    offset = _token_offset(call.text("nextPageToken"), jql)
    matches = _memo(_jql_matches, site, query)
    chunk = matches[offset : offset + size]
    issues = [
        {"id": str(site.requests[i].issue_id)}
        if ids_only
        else _issue_bean(site, site.requests[i], fields, "3")
        for i in chunk
    ]
    answer: Json = {"issues": issues, "isLast": offset + size >= len(matches)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _page_token(offset + size, jql)
    return answer


# --- Routing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    """One endpoint: path template, handler, scopes, and for lists the cap on ``limit``."""

    template: str
    handler: Callable[[_Call], Any]
    scopes: frozenset[str]
    cap: int | None = None
    experimental: bool = False

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template))


# fmt: off
_ROUTES = (
    # template                                           handler               scopes      cap
    _Route(f"{_JSM}/servicedesk",                          _service_desks,       _READ,      100),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}",        _service_desk,        _READ),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}/requesttype", _desk_request_types, _READ, 100),
    _Route(f"{_JSM}/requesttype",                          _all_request_types,   _READ,      100,
           experimental=True),
    _Route(f"{_JSM}/request",                              _requests,            _READ,      50),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}",             _one_request,         _READ),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}/status",      _statuses,            _READ,      100),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}/participant", _participants,        _READ,      50),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}/comment",     _comments,            _READ,      100),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}/approval",    _approvals,           _READ,      50),
    _Route(f"{_JSM}/request/{{issueIdOrKey}}/sla",         _slas,                _WORK,      100),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}/queue",  _queues,              _WORK,      50),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}/queue/{{queueId}}/issue", _queue_issues, _WORK,
           50),
    _Route(f"{_JSM}/organization",                         _organizations,       _CUSTOMERS, 50),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}/organization", _desk_organizations, _CUSTOMERS,
           50),
    _Route(f"{_JSM}/servicedesk/{{serviceDeskId}}/customer", _customers,         _CUSTOMERS, 50,
           experimental=True),
    _Route("/rest/api/3/search/jql",                       _search,              _WORK),
)
# fmt: on


def _route(path: str) -> tuple[_Route, dict[str, str]] | None:
    for route in _ROUTES:
        match = route.pattern.fullmatch(path)
        if match:
            return route, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def required_scopes(method: str, path: str) -> frozenset[str]:
    """The OAuth scopes of which a token needs at least one to call ``method path``.

    Parameters
    ----------
    method : str
        The HTTP method. The sandbox only reads: other methods need the write scope of
        the API family (and :func:`dispatch` then answers 405).
    path : str
        The path after ``/ex/jira/{cloudid}``, starting with ``/rest/``.

    Returns
    -------
    frozenset of str
        For an unknown path, the read scope of its API family, so that a valid token
        reaches :func:`dispatch` and its 404.
    """
    jsm = path.startswith(f"{_JSM}/") or path == _JSM
    if method.upper() != "GET":
        return frozenset({"write:servicedesk-request" if jsm else "write:jira-work"})
    found = _route(path)
    if found is not None:
        return found[0].scopes
    return _READ if jsm else _WORK


def dispatch(
    site: SiteData,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Mapping[str, str],
    account_id: str,
) -> tuple[int, object, dict[str, str]]:
    """Answer one JSM or Jira REST call on ``site`` as Atlassian would.

    Parameters
    ----------
    site : SiteData
        The site the call's cloud id names.
    method : str
        The HTTP method; every endpoint is GET.
    path : str
        The path after ``/ex/jira/{cloudid}``, starting with ``/rest/``.
    query : dict of str to list of str
        The query string, parsed (``urllib.parse.parse_qs`` shape).
    headers : Mapping of str to str
        The request headers (any case); only ``X-ExperimentalApi`` matters.
    account_id : str
        The signed-in user's account id.

    Returns
    -------
    tuple
        The HTTP status, a JSON-able body, and headers to add to the answer.
    """
    found = _route(path)
    if found is None:
        body = _jsm_error(
            404, f"No API endpoint matches {method} {path}.", "sd.api.endpoint.not.found", path
        ).body
        return 404, body, {}
    route, params = found
    if method.upper() != "GET":
        body = _jsm_error(
            405,
            f"The method {method} is not allowed on {path}.",
            "sd.api.method.not.allowed",
            method,
        ).body
        return 405, body, {"Allow": "GET"}
    opted_in = any(
        name.lower() == "x-experimentalapi" and value.strip().lower() == "opt-in"
        for name, value in headers.items()
    )
    if route.experimental and not opted_in:
        body = _jsm_error(
            412,
            "This API is experimental. Experimental APIs are not guaranteed to be stable within "
            "the preview period. You must set the header 'X-ExperimentalApi: opt-in' to opt "
            "into using this API.",
            "sd.api.experimental.optin.required",
        ).body
        return 412, body, {}
    call = _Call(site, path, params, query, account_id)
    try:
        answer = route.handler(call)
        body = answer if route.cap is None else _page(call, answer, route.cap)
    except _Refusal as refusal:
        return refusal.status, refusal.body, {}
    return 200, body, {}
