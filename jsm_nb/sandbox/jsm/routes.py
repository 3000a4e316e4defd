"""The sandbox's JSM and Jira endpoints: their handlers, the route table, and dispatch.

``_ROUTES`` is the one table of endpoints: path template, handler, the scopes a token
needs, and for list endpoints the cap on ``limit``. :func:`dispatch` finds the route,
answers 404, 405 or 412 where Atlassian does, and pages what list handlers return.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from ..data import (
    Approval,
    Article,
    Comment,
    Desk,
    Queue,
    RequestType,
    SiteData,
    Sla,
    approvals,
    feedback,
    find_articles,
    queue_members,
    request_type_groups,
)
from .calls import JSM, Call, Json, Refusal, Rows, desk_of, jsm_error, memo, request_of
from .dates import jsm_date
from .fields import field_catalogue
from .issues import JIRA_FIELDS, issue_bean
from .listing import customer_requests
from .paging import page
from .search import approximate_count, removed_search, search
from .shapes import (
    approval_dto,
    article_dto,
    avatars,
    comment_rows,
    desk_dto,
    organization_dto,
    participant_rows,
    request_dto,
    request_type_dto,
    request_type_fields,
    sla_rows,
    status_rows,
    user_dto,
)

__all__ = ["dispatch", "required_scopes"]

_READ = frozenset({"read:servicedesk-request"})
_WORK = frozenset({"read:jira-work"})
_CUSTOMERS = frozenset({"manage:servicedesk-customer"})
_GET = frozenset({"GET"})
_POST = frozenset({"POST"})
_GET_POST = frozenset({"GET", "POST"})


def _service_desks(call: Call) -> Rows[Desk]:
    return Rows(call.site.desks, functools.partial(desk_dto, call.site))


def _service_desk(call: Call) -> Json:
    return desk_dto(call.site, desk_of(call))


def _request_types(call: Call, desks: Sequence[Desk]) -> Rows[RequestType]:
    site = call.site
    needle = (call.text("searchQuery") or "").lower()
    group = call.integer("groupId")
    wanted = [
        site.request_types[t]
        for desk in desks
        for t in desk.request_types
        if needle in f"{site.request_types[t].name}\n{site.request_types[t].description}".lower()
        and (group is None or group in site.request_types[t].group_ids)
    ]
    return Rows(wanted, functools.partial(request_type_dto, site))


def _desk_request_types(call: Call) -> Rows[RequestType]:
    return _request_types(call, [desk_of(call)])


def _all_request_types(call: Call) -> Rows[RequestType]:
    ids = call.integers("serviceDeskId")
    return _request_types(call, [d for d in call.site.desks if not ids or d.id in ids])


def _one_request(call: Call) -> Json:
    return request_dto(call.site, request_of(call), frozenset(call.many("expand")))


def _statuses(call: Call) -> Rows[tuple[int, int]]:
    return status_rows(call.site, request_of(call))


def _participants(call: Call) -> Rows[int]:
    return participant_rows(call.site, request_of(call))


def _slas(call: Call) -> Rows[Sla]:
    return sla_rows(call.site, request_of(call))


def _comments(call: Call) -> Rows[Comment]:
    request = request_of(call)
    public = call.flag("public", True)
    internal = call.flag("internal", True)
    rendered = "renderedBody" in call.many("expand")
    return comment_rows(call.site, request, public, internal, rendered)


def _approvals(call: Call) -> Rows[Approval]:
    request = request_of(call)
    found = approvals(call.site, request)
    return Rows(found, lambda approval: approval_dto(call, request, approval))


def _queue_dto(call: Call, desk: Desk, queue: Queue, counted: bool) -> Json:
    """JSM's QueueDTO; ``counted`` adds its number of requests for the signed-in user."""
    site = call.site
    dto: Json = {
        "id": str(queue.id),
        "name": queue.name,
        "jql": queue.jql,
        "fields": list(queue.fields),
        "_links": {"self": f"{site.url}{JSM}/servicedesk/{desk.id}/queue/{queue.id}"},
    }
    if counted:
        dto["issueCount"] = len(memo(queue_members, site, queue, call.account_id))
    return dto


def _queues(call: Call) -> Rows[Queue]:
    desk = desk_of(call)
    counted = call.flag("includeCount", False)
    return Rows(
        [q for q in call.site.queues if q.desk == desk.index],
        lambda queue: _queue_dto(call, desk, queue, counted),
    )


def _queue_of(call: Call, desk: Desk) -> Queue:
    """The desk's queue that the call's ``queueId`` names; else JSM's 404."""
    wanted = call.params["queueId"]
    queue = next(
        (q for q in call.site.queues if q.desk == desk.index and str(q.id) == wanted), None
    )
    if queue is None:
        raise jsm_error(
            404,
            f"The queue {wanted} does not exist in this service desk.",
            "sd.queue.not.found",
            wanted,
        )
    return queue


def _queue(call: Call) -> Json:
    desk = desk_of(call)
    return _queue_dto(call, desk, _queue_of(call, desk), call.flag("includeCount", False))


def _queue_issues(call: Call) -> Rows[int]:
    """A queue's requests as Jira issue beans (API 2 shapes), with the queue's fields only."""
    site = call.site
    queue = _queue_of(call, desk_of(call))
    fields = [f for f in JIRA_FIELDS if f in queue.fields]
    return Rows(
        memo(queue_members, site, queue, call.account_id),
        lambda i: issue_bean(site, site.requests[i], fields, "2"),
    )


def _feedback(call: Call) -> Json:
    """The request's CSAT answer: what its Satisfaction field holds, or no rating yet."""
    found = feedback(call.site, request_of(call))
    dto: Json = {"type": "csat"}
    if found is not None:
        dto["rating"] = found.rating
        if found.comment is not None:
            dto["comment"] = {"body": found.comment}
    return dto


def _request_type_fields(call: Call) -> Json:
    desk = desk_of(call)
    wanted = call.params["requestTypeId"]
    found = next(
        (t for t in desk.request_types if str(call.site.request_types[t].id) == wanted), None
    )
    if found is None:
        raise jsm_error(
            404,
            f"The request type {wanted} does not exist in this service desk.",
            "sd.request.type.not.found",
            wanted,
        )
    return request_type_fields(desk)


def _request_type_groups(call: Call) -> Rows[tuple[int, str]]:
    groups = request_type_groups(call.site, desk_of(call))
    return Rows(groups, lambda group: {"id": str(group[0]), "name": group[1]})


def _articles_of(call: Call, desks: Sequence[Desk]) -> Rows[Article]:
    query = call.text("query")
    if query is None:
        raise jsm_error(
            400,
            "The query parameter is required to search the knowledge base.",
            "sd.api.knowledgebase.query.missing",
        )
    call.flag("highlight", False)
    return Rows(find_articles(tuple(desks), query), functools.partial(article_dto, call.site))


def _articles(call: Call) -> Rows[Article]:
    return _articles_of(call, call.site.desks)


def _desk_articles(call: Call) -> Rows[Article]:
    return _articles_of(call, [desk_of(call)])


_BUILD_MS = 1_790_000_000_000  # the sandbox's build date (2026-09-21)


def _info(call: Call) -> Json:
    """JSM's SoftwareInfoDTO of the site."""
    site = call.site
    return {
        "version": "10.3.0",
        "platformVersion": "1001.0.0-SNAPSHOT",
        "buildDate": jsm_date(site, _BUILD_MS),
        "buildChangeSet": "4f1c2b7e",
        "isLicensedForUse": True,
        "_links": {"self": site.url},
    }


def _myself(call: Call) -> Json:
    """Jira's User bean of the signed-in user; their ``timeZone`` is the site's, the zone
    JQL's dates are read in."""
    site = call.site
    user = site.users[site.by_account[call.account_id]]
    return {
        "self": f"{site.url}/rest/api/3/user?accountId={quote(user.account_id)}",
        "accountId": user.account_id,
        "accountType": "atlassian",
        "emailAddress": user.email,
        "avatarUrls": avatars(user),
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": site.time_zone,
        "locale": "en_GB",
    }


def _organization_users(call: Call) -> Rows[int]:
    site = call.site
    wanted = call.params["organizationId"]
    org = next((o for o in site.organizations if str(o.id) == wanted), None)
    if org is None:
        raise jsm_error(
            404, f"The organization {wanted} does not exist.", "sd.organization.not.found", wanted
        )
    return Rows(org.members, functools.partial(user_dto, site))


def _organization_rows(call: Call, pool: Sequence[int]) -> Rows[int]:
    site = call.site
    account = call.text("accountId")
    member = None if account is None else site.by_account.get(account, -2)
    wanted = [k for k in pool if member is None or member in site.organizations[k].members]
    return Rows(wanted, functools.partial(organization_dto, site))


def _organizations(call: Call) -> Rows[int]:
    return _organization_rows(call, range(len(call.site.organizations)))


def _desk_organizations(call: Call) -> Rows[int]:
    return _organization_rows(call, memo(_organizations_of, call.site, desk_of(call).index))


def _organizations_of(site: SiteData, desk: int) -> tuple[int, ...]:
    """The organisations a desk serves: those its requests were shared with."""
    return tuple(sorted({site.requests[i].org for i in site.desk_requests[desk]} - {-1}))


def _customers(call: Call) -> Rows[int]:
    site = call.site
    query = (call.text("query") or "").lower()
    pool = memo(_customers_of, site, desk_of(call).index)
    wanted = [
        u
        for u in pool
        if query in f"{site.users[u].display_name}\n{site.users[u].email or ''}".lower()
    ]
    return Rows(wanted, functools.partial(user_dto, site))


def _customers_of(site: SiteData, desk: int) -> tuple[int, ...]:
    """A desk's customers (those who raised requests there), by display name."""
    users = {site.requests[i].reporter for i in site.desk_requests[desk]}
    return tuple(
        sorted(users, key=lambda u: (site.users[u].display_name, site.users[u].account_id))
    )


@dataclass(frozen=True)
class _Route:
    """One endpoint: path template, handler, scopes, for lists the cap on ``limit``, methods."""

    template: str
    handler: Callable[[Call], Any]
    scopes: frozenset[str]
    cap: int | None = None
    experimental: bool = False
    methods: frozenset[str] = _GET

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template))


# fmt: off
_ROUTES = (
    # template                                           handler               scopes      cap
    _Route(f"{JSM}/servicedesk",                          _service_desks,       _READ,      100),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}",        _service_desk,        _READ),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/requesttype", _desk_request_types, _READ, 100),
    _Route(f"{JSM}/requesttype",                          _all_request_types,   _READ,      100,
           experimental=True),
    _Route(f"{JSM}/request",                              customer_requests,    _READ,      50),
    _Route(f"{JSM}/request/{{issueIdOrKey}}",             _one_request,         _READ),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/status",      _statuses,            _READ,      100),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/participant", _participants,        _READ,      50),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/comment",     _comments,            _READ,      100),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/approval",    _approvals,           _READ,      50),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/sla",         _slas,                _WORK,      100),
    _Route(f"{JSM}/request/{{issueIdOrKey}}/feedback",    _feedback,            _READ,
           experimental=True),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/requesttype/{{requestTypeId}}/field",
           _request_type_fields, _READ),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/requesttypegroup", _request_type_groups, _READ,
           50),
    _Route(f"{JSM}/knowledgebase/article",                _articles,            _READ,      50),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/knowledgebase/article", _desk_articles, _READ,
           50),
    _Route(f"{JSM}/info",                                 _info,                _READ),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/queue",  _queues,              _WORK,      50),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/queue/{{queueId}}", _queue, _WORK),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/queue/{{queueId}}/issue", _queue_issues, _WORK,
           50),
    _Route(f"{JSM}/organization",                         _organizations,       _CUSTOMERS, 50),
    _Route(f"{JSM}/organization/{{organizationId}}/user", _organization_users, _CUSTOMERS, 50),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/organization", _desk_organizations, _CUSTOMERS,
           50),
    _Route(f"{JSM}/servicedesk/{{serviceDeskId}}/customer", _customers,         _CUSTOMERS, 50,
           experimental=True),
    _Route("/rest/api/3/search/jql",                       search,               _WORK),
    _Route("/rest/api/3/search/approximate-count",         approximate_count,    _WORK,
           methods=_POST),
    _Route("/rest/api/3/field",                            field_catalogue,      _WORK),
    _Route("/rest/api/3/myself",                           _myself,              _WORK),
    *(
        _Route(f"/rest/api/{version}/search{tail}", removed_search, _WORK, methods=_GET_POST)
        for version in (2, 3)
        for tail in ("", "/id")
    ),
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
        The HTTP method. The sandbox only reads: a method an endpoint does not take
        needs the write scope of the API family (and :func:`dispatch` then answers 405).
    path : str
        The path after ``/ex/jira/{cloudid}``, starting with ``/rest/``.

    Returns
    -------
    frozenset of str
        For an unknown path, the read scope of its API family, so that a valid token
        reaches :func:`dispatch` and its 404.
    """
    jsm = path.startswith(f"{JSM}/") or path == JSM
    found = _route(path)
    if found is not None and method.upper() in found[0].methods:
        return found[0].scopes
    if method.upper() != "GET":
        return frozenset({"write:servicedesk-request" if jsm else "write:jira-work"})
    return _READ if jsm else _WORK


def dispatch(
    site: SiteData,
    method: str,
    path: str,
    query: dict[str, list[str]],
    headers: Mapping[str, str],
    account_id: str,
    *,
    payload: bytes = b"",
) -> tuple[int, object, dict[str, str]]:
    """Answer one JSM or Jira REST call on ``site`` as Atlassian would.

    Parameters
    ----------
    site : SiteData
        The site the call's cloud id names.
    method : str
        The HTTP method; every endpoint takes GET but the approximate count (POST),
        the removed search POST too.
    path : str
        The path after ``/ex/jira/{cloudid}``, starting with ``/rest/``.
    query : dict of str to list of str
        The query string, parsed (``urllib.parse.parse_qs`` shape).
    headers : Mapping of str to str
        The request headers (any case); only ``X-ExperimentalApi`` matters.
    account_id : str
        The signed-in user's account id.
    payload : bytes
        The request body (JSON for the POST endpoints).

    Returns
    -------
    tuple
        The HTTP status, a JSON-able body, and headers to add to the answer.
    """
    found = _route(path)
    if found is None:
        body = jsm_error(
            404, f"No API endpoint matches {method} {path}.", "sd.api.endpoint.not.found", path
        ).body
        return 404, body, {}
    route, params = found
    if method.upper() not in route.methods:
        body = jsm_error(
            405,
            f"The method {method} is not allowed on {path}.",
            "sd.api.method.not.allowed",
            method,
        ).body
        return 405, body, {"Allow": ", ".join(sorted(route.methods))}
    opted_in = any(
        name.lower() == "x-experimentalapi" and value.strip().lower() == "opt-in"
        for name, value in headers.items()
    )
    if route.experimental and not opted_in:
        body = jsm_error(
            412,
            "This API is experimental. Experimental APIs are not guaranteed to be stable within "
            "the preview period. You must set the header 'X-ExperimentalApi: opt-in' to opt "
            "into using this API.",
            "sd.api.experimental.optin.required",
        ).body
        return 412, body, {}
    call = Call(site, path, params, query, account_id, payload)
    try:
        answer = route.handler(call)
        body = answer if route.cap is None else page(call, answer, route.cap)
    except Refusal as refusal:
        return refusal.status, refusal.body, {}
    return 200, body, {}
