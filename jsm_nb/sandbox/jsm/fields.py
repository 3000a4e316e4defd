"""Jira's field catalogue (``GET /rest/api/3/field``) and JSM's custom fields' values.

:func:`custom_fields` renders each custom field of the catalogue as Jira's search shows it:
an SLA field holds the SlaInformationDTO of ``/request/{key}/sla`` (the same cycles), the
request type field ``requestType`` and ``currentStatus`` with the request's links,
satisfaction its ``rating`` (and ``comment``), organisations and participants lists.
"""

from __future__ import annotations

from collections.abc import Callable

from ..data import FIELDS, Request, SiteData, feedback, field_values, slas, team
from ..data.fields import (
    FIRST_RESPONSE_FIELD,
    ORGANIZATIONS_FIELD,
    PARTICIPANTS_FIELD,
    REQUEST_TYPE_FIELD,
    RESOLUTION_FIELD,
    SATISFACTION_DATE_FIELD,
    SATISFACTION_FIELD,
    TEAM_OPTION_FIELD,
    TEAM_TEXT_FIELD,
    TEAMS,
    JiraField,
)
from .calls import JSM, Call, Json
from .dates import jira_time
from .shapes import organization_dto, request_type_dto, sla_dto, status_entry

__all__ = ["JiraUser", "custom_fields", "field_catalogue"]

JiraUser = Callable[[SiteData, int, str], Json | None]
"""Renders a user index as Jira's user bean, for API ``"2"`` or ``"3"``."""


def _details(field: JiraField) -> Json:
    """Jira's FieldDetails of ``field``."""
    schema: Json = {"type": field.type}
    if field.items is not None:
        schema["items"] = field.items
    if field.plugin is None:
        schema["system"] = field.id
    else:
        schema["custom"] = field.plugin
        schema["customId"] = int(field.id.removeprefix("customfield_"))
    clauses = [field.id] if field.plugin is None else [f"cf[{schema['customId']}]", field.name]
    return {
        "id": field.id,
        "key": field.id,
        "name": field.name,
        "custom": field.custom,
        "orderable": field.orderable,
        "navigable": True,
        "searchable": field.searchable,
        "clauseNames": [*clauses, *field.clause_names],
        "schema": schema,
    }


def field_catalogue(call: Call) -> list[Json]:
    """``GET /rest/api/3/field``: every field of the site, not paged."""
    return [_details(field) for field in FIELDS]


def _request_links(site: SiteData, request: Request) -> Json:
    desk = site.desks[request.desk]
    return {
        "jiraRest": f"{site.url}/rest/api/2/issue/{request.issue_id}",
        "web": f"{site.url}/servicedesk/customer/portal/{desk.id}/{request.key}",
        "agent": f"{site.url}/browse/{request.key}",
        "self": f"{site.url}{JSM}/request/{request.issue_id}",
    }


def _request_type(site: SiteData, request: Request, api: str) -> Json:
    return {
        "_links": _request_links(site, request),
        "requestType": request_type_dto(site, site.request_types[request.request_type]),
        "currentStatus": status_entry(site, *request.timeline[-1]),
    }


def _sla(which: int) -> Callable[[SiteData, Request, str], Json]:
    def render(site: SiteData, request: Request, api: str) -> Json:
        return sla_dto(site, request, slas(site, request)[which])

    return render


def _satisfaction(site: SiteData, request: Request, api: str) -> Json | None:
    found = feedback(site, request)
    if found is None:
        return None
    value: Json = {
        "_links": {"self": f"{site.url}{JSM}/request/{request.issue_id}/feedback"},
        "rating": found.rating,
    }
    if found.comment is not None:
        value["comment"] = {"body": found.comment}
    return value


def _satisfaction_date(site: SiteData, request: Request, api: str) -> str | None:
    found = feedback(site, request)
    return None if found is None else jira_time(site, found.when)


def _organizations(site: SiteData, request: Request, api: str) -> list[Json]:
    return [] if request.org < 0 else [organization_dto(site, request.org)]


def _team_text(site: SiteData, request: Request, api: str) -> str | None:
    found = team(site, request)
    return None if found is None else TEAMS[found]


def _team_option(site: SiteData, request: Request, api: str) -> Json | None:
    found = team(site, request)
    return None if found is None else _option(site, str(10_200 + found), TEAMS[found], api)


def _option(site: SiteData, option_id: str, value: str, api: str) -> Json:
    return {
        "self": f"{site.url}/rest/api/{api}/customFieldOption/{option_id}",
        "value": value,
        "id": option_id,
    }


def _portal(field_id: str) -> Callable[[SiteData, Request, str], object]:
    def render(site: SiteData, request: Request, api: str) -> object:
        for value in field_values(site, request):
            if value.field_id == field_id:
                if value.option_id is None:
                    return value.value
                return _option(site, value.option_id, value.value, api)
        return None

    return render


def custom_fields(jira_user: JiraUser) -> dict[str, Callable[[SiteData, Request, str], object]]:
    """Each custom field's renderer, in catalogue order; users rendered by ``jira_user``."""

    def participants(site: SiteData, request: Request, api: str) -> list[Json | None]:
        return [jira_user(site, user, api) for user in request.participants]

    known: dict[str, Callable[[SiteData, Request, str], object]] = {
        REQUEST_TYPE_FIELD: _request_type,
        PARTICIPANTS_FIELD: participants,
        ORGANIZATIONS_FIELD: _organizations,
        SATISFACTION_FIELD: _satisfaction,
        SATISFACTION_DATE_FIELD: _satisfaction_date,
        FIRST_RESPONSE_FIELD: _sla(0),
        RESOLUTION_FIELD: _sla(1),
        TEAM_TEXT_FIELD: _team_text,
        TEAM_OPTION_FIELD: _team_option,
    }
    return {f.id: known.get(f.id) or _portal(f.id) for f in FIELDS if f.custom}
