"""``GET /request``: the signed-in user's view of the customer requests, filtered.

The call's filters are checked and normalised into a :class:`_RequestFilter`, so equal
filters share one cached listing, which pages then slice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..data import Request, SiteData, approvals
from .calls import Call, Rows, bad_parameter, desk_named, jsm_error, memo
from .shapes import request_dto

__all__ = ["customer_requests"]


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


def customer_requests(call: Call) -> Rows[int]:
    """``/request``: the signed-in user's view of the customer requests, newest activity first.

    An agent sees every request: without ``requestOwnership`` (or with ``ALL_REQUESTS``) the
    list holds them all, and ``ALL_ORGANIZATIONS`` means every organisation. A customer's
    default is the spec's: their own requests, those they take part in and their
    organisations'. Listed ownerships are alternatives; the other filters all apply.

    Parameters
    ----------
    call : Call
        The call, with its filters (``requestOwnership``, ``requestStatus``,
        ``approvalStatus``, ``serviceDeskId``, ``requestTypeId``, ``organizationId``,
        ``searchTerm``) and ``expand``.

    Returns
    -------
    Rows
        The matching requests, rendered as CustomerRequestDTOs with the expansions asked for.

    Raises
    ------
    Refusal
        JSM's 400 for a bad filter value, or 404 for an unknown desk, request type or
        organisation.
    """
    site = call.site
    expand = frozenset(call.many("expand"))
    return Rows(
        memo(_matching_requests, site, _request_filter(call)),
        lambda i: request_dto(site, site.requests[i], expand),
    )


def _request_filter(call: Call) -> _RequestFilter:
    site = call.site
    ownership = frozenset(call.many("requestOwnership"))
    for value in ownership - _OWNERSHIP:
        raise bad_parameter("requestOwnership", value)
    ownership -= {"ALL_REQUESTS"}
    caller = site.users[call.me] if call.me >= 0 else None
    if not ownership and caller is not None and not caller.agent:
        ownership = _CUSTOMER_VIEW
    status = call.text("requestStatus") or "ALL_REQUESTS"
    if status not in _REQUEST_STATUS:
        raise bad_parameter("requestStatus", status)
    approval_status = call.text("approvalStatus")
    if approval_status is not None and (
        approval_status not in _APPROVAL_STATUS or "APPROVER" not in ownership
    ):
        raise bad_parameter("approvalStatus", approval_status)
    desk_id, type_id, org_id = (
        call.integer(n) for n in ("serviceDeskId", "requestTypeId", "organizationId")
    )
    if type_id is not None and desk_id is None:
        raise jsm_error(
            400,
            "The requestTypeId parameter needs serviceDeskId too.",
            "sd.api.request.list.requesttype.without.servicedesk",
        )
    if "ORGANIZATION" in ownership and org_id is None:
        raise jsm_error(
            400,
            "requestOwnership=ORGANIZATION needs an organizationId.",
            "sd.api.request.list.organization.missing",
        )
    desk = None if desk_id is None else desk_named(site, str(desk_id))
    request_type = None
    if desk is not None and type_id is not None:
        request_type = next(
            (t for t in desk.request_types if site.request_types[t].id == type_id), None
        )
        if request_type is None:
            raise jsm_error(
                404,
                f"The request type {type_id} does not exist in this service desk.",
                "sd.request.type.not.found",
                str(type_id),
            )
    org = None
    if org_id is not None:
        org = next((k for k, o in enumerate(site.organizations) if o.id == org_id), None)
        if org is None:
            raise jsm_error(
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
        decisions = approvals(site, request) if "APPROVER" in found.ownership else ()
        pending = any(a.decision == "pending" for a in decisions)
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

    pool = site.live if found.desk is None else site.desk_requests[found.desk]
    hits = [i for i in pool if matches(site.requests[i])]
    hits.sort(key=lambda i: (site.requests[i].updated, i), reverse=True)
    return tuple(hits)
