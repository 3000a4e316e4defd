"""The site's Jira field catalogue, as ``GET /rest/api/3/field`` lists it.

Jira's system fields, JSM's own custom fields with the plugin keys and schema types
Atlassian gives them (SLAs, request type, satisfaction, organisations, participants), the
desks' portal fields, and two custom fields that share the name "Team", as sites often
have. Field ids are the same on every site.
"""

from __future__ import annotations

from typing import NamedTuple

from .desks import DESKS

__all__ = [
    "FIELDS",
    "FIRST_RESPONSE_FIELD",
    "ORGANIZATIONS_FIELD",
    "PARTICIPANTS_FIELD",
    "REQUEST_TYPE_FIELD",
    "RESOLUTION_FIELD",
    "SATISFACTION_DATE_FIELD",
    "SATISFACTION_FIELD",
    "TEAMS",
    "TEAM_OPTION_FIELD",
    "TEAM_TEXT_FIELD",
    "JiraField",
]

_SD = "com.atlassian.servicedesk"
_CF = "com.atlassian.jira.plugin.system.customfieldtypes"


class JiraField(NamedTuple):
    """One field of the catalogue; ``plugin`` is a custom field's type key, else None.

    ``clause_names`` are extra JQL names besides the field's name and ``cf[N]``.
    """

    id: str
    name: str
    type: str
    items: str | None = None
    plugin: str | None = None
    orderable: bool = True
    searchable: bool = True
    clause_names: tuple[str, ...] = ()

    @property
    def custom(self) -> bool:
        """Whether the field is a custom field."""
        return self.plugin is not None


REQUEST_TYPE_FIELD = "customfield_10010"
PARTICIPANTS_FIELD = "customfield_10011"
ORGANIZATIONS_FIELD = "customfield_10012"
SATISFACTION_FIELD = "customfield_10013"
SATISFACTION_DATE_FIELD = "customfield_10014"
FIRST_RESPONSE_FIELD = "customfield_10020"
RESOLUTION_FIELD = "customfield_10021"
TEAM_TEXT_FIELD = "customfield_10101"
TEAM_OPTION_FIELD = "customfield_10102"
TEAMS = ("Platform", "Workplace", "Field support", "Customer care")
"""The options of the select-list "Team" field (its text twin names the same teams)."""

_F = JiraField
_SYSTEM = (
    _F("summary", "Summary", "string"),
    _F("issuetype", "Issue Type", "issuetype", clause_names=("type",)),
    _F("project", "Project", "project", orderable=False),
    _F("status", "Status", "status", orderable=False),
    _F("priority", "Priority", "priority"),
    _F("reporter", "Reporter", "user"),
    _F("assignee", "Assignee", "user"),
    _F("created", "Created", "datetime", orderable=False, clause_names=("createdDate",)),
    _F("updated", "Updated", "datetime", orderable=False, clause_names=("updatedDate",)),
    _F("resolutiondate", "Resolved", "datetime", orderable=False, clause_names=("resolved",)),
    _F("resolution", "Resolution", "resolution"),
    _F("description", "Description", "string"),
    _F("duedate", "Due date", "date", clause_names=("due",)),
    _F("labels", "Labels", "array", "string"),
)
_JSM = (
    _F(
        REQUEST_TYPE_FIELD,
        "Request Type",
        "sd-customerrequesttype",
        plugin=f"{_SD}:vp-origin",
        clause_names=("Customer Request Type",),
    ),
    _F(
        PARTICIPANTS_FIELD,
        "Request participants",
        "array",
        "user",
        plugin=f"{_SD}:sd-request-participants",
    ),
    _F(
        ORGANIZATIONS_FIELD,
        "Organizations",
        "array",
        "sd-customerorganization",
        plugin=f"{_SD}:sd-customer-organizations",
    ),
    _F(SATISFACTION_FIELD, "Satisfaction", "sd-feedback", plugin=f"{_SD}:sd-request-feedback"),
    _F(
        SATISFACTION_DATE_FIELD,
        "Satisfaction date",
        "datetime",
        plugin=f"{_SD}:sd-request-feedback-date",
    ),
    _F(
        FIRST_RESPONSE_FIELD,
        "Time to first response",
        "sd-servicelevelagreement",
        plugin=f"{_SD}:sd-sla-field",
    ),
    _F(
        RESOLUTION_FIELD,
        "Time to resolution",
        "sd-servicelevelagreement",
        plugin=f"{_SD}:sd-sla-field",
    ),
    _F(TEAM_TEXT_FIELD, "Team", "string", plugin=f"{_CF}:textfield"),
    _F(TEAM_OPTION_FIELD, "Team", "option", plugin=f"{_CF}:select"),
)
_PORTAL = tuple(
    _F(
        spec.field_id,
        spec.label,
        "option" if spec.select else "string",
        plugin=f"{_CF}:select" if spec.select else f"{_CF}:textfield",
    )
    for desk in DESKS
    for spec in desk.fields
)

FIELDS: tuple[JiraField, ...] = _SYSTEM + _JSM + _PORTAL
"""Every field of a site, in the order ``/rest/api/3/field`` lists them."""
