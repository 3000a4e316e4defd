"""JSM's JSON shapes: the DTOs of the spec, rendered from a site's records.

Each function renders one record as JSM's REST API shows it (``_links`` at the site's own
URL, dates in the site's zone); the ``*_rows`` functions give the :class:`.Rows` of a
request's sub-lists, which endpoints page and ``expand`` nests.
"""

from __future__ import annotations

import functools
import html
from urllib.parse import quote

from ..data import (
    STATUSES,
    Approval,
    Article,
    Comment,
    Desk,
    FieldValue,
    Request,
    RequestType,
    SiteData,
    Sla,
    User,
    comments,
    field_values,
    slas,
)
from .calls import JSM, Call, Json, Rows
from .dates import duration, jsm_date
from .paging import embedded

__all__ = [
    "approval_dto",
    "article_dto",
    "avatars",
    "comment_rows",
    "desk_dto",
    "organization_dto",
    "participant_rows",
    "request_dto",
    "request_type_dto",
    "request_type_fields",
    "sla_dto",
    "sla_rows",
    "status_entry",
    "status_rows",
    "user_dto",
]


def avatars(user: User) -> dict[str, str]:
    """The user's avatar URLs, by size, as ``avatarUrls`` lists them."""
    return {
        f"{n}x{n}": f"https://avatar-cdn.atlassian.com/{user.avatar}?s={n}&d=mm"
        for n in (16, 24, 32, 48)
    }


@functools.lru_cache(maxsize=4096)
def user_dto(site: SiteData, index: int) -> Json:
    """JSM's UserDTO (shared between answers: read-only). A hidden email is left out."""
    user = site.users[index]
    rest = f"{site.url}/rest/api/2/user?accountId={quote(user.account_id)}"
    dto: Json = {
        "accountId": user.account_id,
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
        "_links": {"jiraRest": rest, "avatarUrls": avatars(user), "self": rest},
    }
    if user.email is not None:
        dto["emailAddress"] = user.email
    return dto


def desk_dto(site: SiteData, desk: Desk) -> Json:
    """JSM's ServiceDeskDTO."""
    return {
        "id": str(desk.id),
        "projectId": str(desk.project_id),
        "projectName": desk.name,
        "projectKey": desk.key,
        "projectTypeKey": "service_desk",
        "_links": {"self": f"{site.url}{JSM}/servicedesk/{desk.id}"},
    }


def request_type_dto(site: SiteData, request_type: RequestType) -> Json:
    """JSM's RequestTypeDTO, with its icon's URLs."""
    desk = site.desks[request_type.desk]
    icon = (
        f"{site.url}/rest/api/2/universal_avatar/view/type/SD_REQTYPE/avatar/{request_type.icon_id}"
    )
    sizes = {"48x48": "large", "24x24": "small", "16x16": "xsmall", "32x32": "medium"}
    return {
        "_expands": [],
        "id": str(request_type.id),
        "_links": {"self": f"{site.url}{JSM}/servicedesk/{desk.id}/requesttype/{request_type.id}"},
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


def request_type_fields(desk: Desk) -> Json:
    """JSM's CustomerRequestCreateMetaDTO of a desk's request types: the portal's fields."""
    fields: list[Json] = [
        _type_field("summary", "What do you need?", {"type": "string", "system": "summary"}),
        _type_field(
            "description", "Tell us more", {"type": "string", "system": "description"}, False
        ),
    ]
    for spec in desk.fields:
        custom_id = int(spec.field_id.removeprefix("customfield_"))
        plugin = "select" if spec.select else "textfield"
        schema: Json = {
            "type": "option" if spec.select else "string",
            "custom": f"com.atlassian.jira.plugin.system.customfieldtypes:{plugin}",
            "customId": custom_id,
        }
        field = _type_field(spec.field_id, spec.label, schema, False)
        if spec.select:
            field["validValues"] = [
                {"value": str(10_100 + n), "label": choice, "children": []}
                for n, choice in enumerate(spec.choices)
            ]
        fields.append(field)
    return {
        "requestTypeFields": fields,
        "canRaiseOnBehalfOf": True,
        "canAddRequestParticipants": True,
    }


def _type_field(field_id: str, name: str, schema: Json, required: bool = True) -> Json:
    return {
        "fieldId": field_id,
        "name": name,
        "description": "",
        "required": required,
        "defaultValues": [],
        "validValues": [],
        "presetValues": [],
        "jiraSchema": schema,
        "visible": True,
    }


def article_dto(site: SiteData, article: Article) -> Json:
    """JSM's ArticleDTO of a Confluence page."""
    source = {"type": "confluence", "pageId": str(article.page_id), "spaceKey": article.space_key}
    return {
        "title": article.title,
        "excerpt": article.excerpt,
        "source": source,
        "content": {"iframeSrc": f"{site.url}{JSM}/knowledgebase/article/view/{article.page_id}"},
    }


def status_entry(site: SiteData, status: int, since: int) -> Json:
    """JSM's CustomerRequestStatusDTO of ``status``, entered at ``since``."""
    return {
        "status": STATUSES[status].name,
        "statusCategory": STATUSES[status].category,
        "statusDate": jsm_date(site, since),
    }


def _field_value(site: SiteData, value: FieldValue) -> Json:
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


def sla_dto(site: SiteData, request: Request, sla: Sla) -> Json:
    """JSM's SlaInformationDTO: the same in ``/request/{key}/sla`` and in an SLA field."""
    dto: Json = {
        "id": str(sla.id),
        "name": sla.name,
        "_links": {"self": f"{site.url}{JSM}/request/{request.issue_id}/sla/{sla.id}"},
        "completedCycles": [],
        "slaDisplayFormat": "NEW_SLA_FORMAT",
    }
    cycle = sla.cycle
    if cycle is None:
        return dto
    timing: Json = {
        "startTime": jsm_date(site, cycle.start),
        "breached": cycle.breached,
        "goalDuration": duration(cycle.goal),
        "elapsedTime": duration(cycle.elapsed),
        "remainingTime": duration(cycle.remaining),
    }
    if cycle.breach_time is not None:
        timing["breachTime"] = jsm_date(site, cycle.breach_time)
    if cycle.stop is not None:
        timing["stopTime"] = jsm_date(site, cycle.stop)
        dto["completedCycles"] = [timing]
    else:
        timing["paused"] = cycle.paused
        timing["withinCalendarHours"] = cycle.within_calendar_hours
        dto["ongoingCycle"] = timing
    return dto


def _comment_dto(site: SiteData, request: Request, comment: Comment, rendered: bool) -> Json:
    dto: Json = {
        "_expands": ["attachment", "renderedBody"],
        "id": str(comment.id),
        "body": comment.body,
        "public": comment.public,
        "author": user_dto(site, comment.author),
        "created": jsm_date(site, comment.created),
        "_links": {"self": f"{site.url}{JSM}/request/{request.issue_id}/comment/{comment.id}"},
    }
    if rendered:
        dto["renderedBody"] = {"html": f"<p>{html.escape(comment.body)}</p>"}
    return dto


def approval_dto(call: Call, request: Request, approval: Approval) -> Json:
    """JSM's ApprovalDTO; only a pending approver may answer it."""
    site = call.site
    dto: Json = {
        "id": str(approval.id),
        "name": approval.name,
        "finalDecision": approval.decision,
        "canAnswerApproval": approval.decision == "pending" and call.me in request.approvers,
        "approvers": [
            {"approver": user_dto(site, user), "approverDecision": decision}
            for user, decision in approval.approvers
        ],
        "createdDate": jsm_date(site, approval.created),
        "_links": {"self": f"{site.url}{JSM}/request/{request.issue_id}/approval/{approval.id}"},
    }
    if approval.completed is not None:
        dto["completedDate"] = jsm_date(site, approval.completed)
    return dto


def organization_dto(site: SiteData, index: int) -> Json:
    """JSM's OrganizationDTO of the site's organisation at ``index``."""
    org = site.organizations[index]
    return {
        "id": str(org.id),
        "name": org.name,
        "uuid": org.uuid,
        "created": jsm_date(site, org.created),
        "scimManaged": False,
        "_links": {"self": f"{site.url}{JSM}/organization/{org.id}"},
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


def request_dto(site: SiteData, request: Request, expand: frozenset[str]) -> Json:
    """JSM's CustomerRequestDTO, with the expansions asked for."""
    desk = site.desks[request.desk]
    here = f"{JSM}/request/{request.issue_id}"
    dto: Json = {
        "_expands": list(_REQUEST_EXPANDS),
        "issueId": str(request.issue_id),
        "issueKey": request.key,
        "requestTypeId": str(site.request_types[request.request_type].id),
        "serviceDeskId": str(desk.id),
        "createdDate": jsm_date(site, request.created),
        "reporter": user_dto(site, request.reporter),
        "requestFieldValues": [_field_value(site, v) for v in field_values(site, request)],
        "currentStatus": status_entry(site, *request.timeline[-1]),
        "_links": {
            "jiraRest": f"{site.url}/rest/api/2/issue/{request.issue_id}",
            "web": f"{site.url}/servicedesk/customer/portal/{desk.id}/{request.key}",
            "agent": f"{site.url}/browse/{request.key}",
            "self": f"{site.url}{here}",
        },
    }
    if "serviceDesk" in expand:
        dto["serviceDesk"] = desk_dto(site, desk)
    if "requestType" in expand:
        dto["requestType"] = request_type_dto(site, site.request_types[request.request_type])
    if "participant" in expand:
        dto["participants"] = embedded(site, f"{here}/participant", participant_rows(site, request))
    if "status" in expand:
        dto["status"] = embedded(site, f"{here}/status", status_rows(site, request))
    if "sla" in expand:
        dto["sla"] = embedded(site, f"{here}/sla", sla_rows(site, request))
    if "comment" in expand:
        rows = comment_rows(site, request, True, True, "comment.renderedBody" in expand)
        dto["comments"] = embedded(site, f"{here}/comment", rows)
    if "action" in expand:
        dto["actions"] = {action: {"allowed": True} for action in _ACTIONS}
    return dto


def participant_rows(site: SiteData, request: Request) -> Rows[int]:
    """The request's participants, as UserDTOs."""
    return Rows(request.participants, functools.partial(user_dto, site))


def status_rows(site: SiteData, request: Request) -> Rows[tuple[int, int]]:
    """The status history, most recent (current) first, as JSM lists it."""
    return Rows(request.timeline[::-1], lambda entry: status_entry(site, *entry))


def sla_rows(site: SiteData, request: Request) -> Rows[Sla]:
    """The request's SLAs, as SlaInformationDTOs."""
    return Rows(slas(site, request), functools.partial(sla_dto, site, request))


def comment_rows(
    site: SiteData, request: Request, public: bool, internal: bool, rendered: bool
) -> Rows[Comment]:
    """The request's public and/or internal comments; ``rendered`` adds their HTML."""
    wanted = [c for c in comments(site, request) if (public if c.public else internal)]
    return Rows(wanted, lambda comment: _comment_dto(site, request, comment, rendered))
