"""What a mirror's search asks for, and how its pages become the searched tables' rows.

One search page gives four tables (:data:`.schema.SEARCHED`):

- ``issues``: the issue's id and key and its Jira fields (:data:`ISSUE_FIELDS`, and the
  ``fields`` the mirror was asked to keep, by name or id), named and typed as
  :func:`jsm_nb.jql` names and types them;
- ``requests``: the JSM fields of the request (request type, organisations,
  participants), found in the catalogue by their plugin keys, so their columns keep
  their names whatever the site calls the fields;
- ``sla_cycles``: the SLA fields' cycles, the rows of :func:`jsm_nb.sla`;
- ``feedback``: the Satisfaction field's rating and comment, the rows of
  :func:`jsm_nb.feedback` (a request not rated has none).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd

from .. import catalogue, frames
from .schema import Table, rows_of, table_of

__all__ = ["ISSUE_FIELDS", "Layout", "layout"]

ISSUE_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "priority",
    "project",
    "reporter",
    "assignee",
    "created",
    "updated",
    "resolution",
    "resolutiondate",
)
"""The Jira fields every mirror's ``issues`` table keeps."""
_SERVICEDESK = "com.atlassian.servicedesk:"
_REQUEST_FIELDS = {  # plugin key -> the name its columns are given in ``requests``
    _SERVICEDESK + "vp-origin": "request_type",
    _SERVICEDESK + "sd-customer-organizations": "organizations",
    _SERVICEDESK + "sd-request-participants": "request_participants",
}
_FEEDBACK_FIELD = _SERVICEDESK + "sd-request-feedback"
_JSM_KEYS = (*_REQUEST_FIELDS, _FEEDBACK_FIELD, catalogue.SLA_FIELD)

Record = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Layout:
    """A mirror's search: the fields it asks for, and the searched tables' columns.

    Attributes
    ----------
    fields : tuple of str
        The field ids of the search's ``fields`` parameter.
    issues, requests, sla_cycles, feedback : Table
        The searched tables.
    """

    fields: tuple[str, ...]
    issues: Table
    requests: Table
    sla_cycles: Table
    feedback: Table
    _spec: frames.Spec = dataclasses.field(repr=False)
    _sla_ids: tuple[str, ...] = dataclasses.field(repr=False)

    @property
    def tables(self) -> tuple[Table, ...]:
        """The searched tables, in :data:`.schema.SEARCHED`'s order."""
        return (self.issues, self.requests, self.sla_cycles, self.feedback)

    def rows(self, records: Sequence[Record]) -> dict[str, pd.DataFrame]:
        """The rows a search page's ``records`` give each searched table, by its name,
        ready for DuckDB (:func:`.schema.rows_of`)."""
        built = frames.to_frame(records, self._spec, self.fields)
        found = {table.name: rows_of(built, table) for table in (self.issues, self.requests)}
        ids = dict(zip(built["issue_key"], built["issue_id"], strict=True))
        cycles = frames.to_frame(records, frames.sla_of_issues(self._sla_ids))
        cycles.insert(0, "issue_id", cycles["issue_key"].map(ids).astype("string"))
        found["sla_cycles"] = rows_of(cycles, self.sla_cycles)
        rated = built[built["rating"].notna()] if "rating" in built else built.iloc[:0]
        found["feedback"] = rows_of(rated, self.feedback)
        return found


def layout(fields: catalogue.Catalogue, wanted: Sequence[str] = ()) -> Layout:
    """The layout of a mirror of a site with catalogue ``fields`` that keeps ``wanted``
    fields (names or ids, as :func:`jsm_nb.jql` takes them) besides :data:`ISSUE_FIELDS`.

    Raises
    ------
    InvalidArgument
        A name no field has, or one several share (as :func:`jsm_nb.jql`).
    """
    jsm = [f for f in fields.fields if f.custom_type in _JSM_KEYS]
    extra = [f for f in catalogue.resolve(wanted, fields) if f not in (*ISSUE_FIELDS, "id", "key")]
    known = dict(frames.ISSUES.known_fields)
    issue_columns = list(frames.ISSUES.columns)
    for field_id in ISSUE_FIELDS:
        issue_columns += known[field_id]
    chosen = catalogue.known_columns(extra, fields, known)
    listed = {
        fields.columns[f]
        for f in extra
        if (found := fields.by_id(f)) is not None and found.schema_type == "array"
    }
    for field_id in extra:
        issue_columns += chosen.get(field_id) or (
            frames.Column(
                fields.columns.get(field_id, frames.snake_case(field_id)), (), frames.OBJECT
            ),
        )
    jsm_known: dict[str, tuple[frames.Column, ...]] = {}
    request_columns: list[frames.Column] = list(frames.ISSUES.columns)
    sla_ids: list[str] = []
    rated = False
    for field in jsm:
        if field.custom_type == catalogue.SLA_FIELD:
            sla_ids.append(field.field_id)
        elif field.custom_type == _FEEDBACK_FIELD and not rated:
            rated = True
            jsm_known[field.field_id] = frames.columns(
                frames.COUNT, rating="rating"
            ) + frames.columns(frames.STRING, comment="comment.body")
        elif (name := _REQUEST_FIELDS.get(field.custom_type or "")) and not any(
            c.name.startswith(name) for c in request_columns
        ):
            made = frames.schema_columns(name, field.schema_type or "", field.items) or ()
            jsm_known[field.field_id] = made
            request_columns += made
    spec = dataclasses.replace(frames.ISSUES, known_fields={**known, **chosen, **jsm_known})
    asked = (*ISSUE_FIELDS, *extra, *jsm_known, *sla_ids)
    return Layout(
        fields=asked,
        issues=table_of("issues", issue_columns, listed=listed),
        requests=table_of(
            "requests",
            request_columns,
            listed={c.name for c in request_columns if c.kind is frames.OBJECT},
        ),
        sla_cycles=table_of("sla_cycles", frames.SLA.columns),
        feedback=table_of("feedback", frames.FEEDBACK.columns),
        _spec=spec,
        _sla_ids=tuple(sla_ids),
    )
