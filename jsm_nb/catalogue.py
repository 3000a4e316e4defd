"""Jira's field catalogue: fields by name, and the columns their schemas give.

A site's catalogue (``GET /rest/api/3/field``) is fetched once per session and kept on
it. :func:`resolve` turns what an analyst writes ("Time to resolution", "Request Type",
``customfield_10021``) into field ids; :func:`known_columns` names each field's columns
from its name in snake_case, typed by its schema (:func:`frames.schema_columns`). Two
fields whose names give the same column name are told apart by their id
(``team__customfield_10101``), whichever of them a search asks for, so a column's name
never depends on the other fields of the call.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import frames, paging
from .errors import InvalidArgument

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = [
    "FIELDS_PATH",
    "IDENTITY",
    "KEY_PAGE",
    "SELECTORS",
    "SLA_FIELD",
    "Catalogue",
    "Field",
    "catalogue",
    "known_columns",
    "resolve",
]

FIELDS_PATH = "/rest/api/3/field"
SELECTORS = ("*all", "*navigable")
"""Jira's own selectors of many fields, sent as given."""
IDENTITY = ("id", "key")
"""The issue's id and key: every issue has them, outside its ``fields``, sent as given."""
KEY_PAGE = 5000
"""Issues a search page holds when only :data:`IDENTITY` is asked for (fewer with fields)."""
SLA_FIELD = "com.atlassian.servicedesk:sd-sla-field"
"""The plugin key (schema ``custom``) of JSM's SLA fields."""


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of the catalogue: its id, name, and schema (``type``, ``items``, plugin key)."""

    field_id: str
    name: str
    custom: bool
    schema_type: str | None
    items: str | None
    custom_type: str | None
    clause_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """A site's fields, and the name of the (first) column :func:`jsm_nb.jql` gives each."""

    fields: tuple[Field, ...]
    columns: Mapping[str, str]
    records: tuple[Mapping[str, Any], ...] = dataclasses.field(repr=False, default=())

    @classmethod
    def of(cls, records: Iterable[Mapping[str, Any]]) -> Catalogue:
        """The catalogue of ``/rest/api/3/field``'s answer.

        A system field's column is the one :data:`frames.ISSUES` names (``resolution_date``),
        else its id; a custom field's is its name in snake_case (its id if that leaves
        nothing), followed by ``__`` and its id when another field or a fixed column of
        :data:`frames.ISSUES` has that name too.
        """
        kept = tuple(r for r in records if isinstance(r, Mapping) and r.get("id"))
        fields = tuple(_field(r) for r in kept)
        names = {f.field_id: _column(f) for f in fields}
        taken = collections.Counter(c.name for c in frames.ISSUES.columns)
        taken.update(names.values())
        columns = {
            f.field_id: (
                names[f.field_id]
                if not f.custom or taken[names[f.field_id]] == 1
                else f"{names[f.field_id]}__{f.field_id}"
            )
            for f in fields
        }
        return cls(fields, columns, kept)

    @functools.cached_property
    def _by_id(self) -> dict[str, Field]:
        return {f.field_id: f for f in self.fields}

    def by_id(self, field_id: str) -> Field | None:
        """The field with this id, or None."""
        return self._by_id.get(field_id)


def _column(field: Field) -> str:
    """The name of ``field``'s (first) column, before any clash with another is resolved."""
    if not field.custom:
        known = frames.ISSUES.known_fields.get(field.field_id)
        return known[0].name if known else frames.snake_case(field.field_id)
    return frames.snake_case(field.name) or frames.snake_case(field.field_id)


def _field(record: Mapping[str, Any]) -> Field:
    schema = record.get("schema") or {}
    return Field(
        field_id=str(record["id"]),
        name=str(record.get("name") or record["id"]),
        custom=bool(record.get("custom")),
        schema_type=schema.get("type"),
        items=schema.get("items"),
        custom_type=schema.get("custom"),
        clause_names=tuple(str(c) for c in record.get("clauseNames") or ()),
    )


def catalogue(session: JsmSession) -> Catalogue:
    """The session's site's field catalogue: fetched on first use, then kept on the session."""
    found = session.field_catalogue
    if found is None:
        found = session.field_catalogue = Catalogue.of(paging.get_json(session, FIELDS_PATH))
    return found


def resolve(wanted: Sequence[str], fields: Catalogue) -> list[str]:
    """The field ids of ``wanted``: ids, names or JQL clause names (any case), each once.

    Raises
    ------
    InvalidArgument
        A name no field has, or one that several fields share (their ids are named).
    """
    ids: list[str] = []
    for item in wanted:
        found = (
            item
            if item in (*SELECTORS, *IDENTITY) or fields.by_id(item)
            else _by_name(item, fields)
        )
        if found not in ids:
            ids.append(found)
    return ids


def _by_name(name: str, fields: Catalogue) -> str:
    folded = name.strip().casefold()
    for matches in (
        [f for f in fields.fields if f.name.casefold() == folded],
        [f for f in fields.fields if folded in (c.casefold() for c in f.clause_names)],
    ):
        if len(matches) == 1:
            return matches[0].field_id
        if matches:
            named = ", ".join(f"{f.field_id} ({f.schema_type})" for f in matches)
            raise InvalidArgument(
                f"{len(matches)} fields are named {name!r}: {named}; "
                "give the id of the one you mean (see jsm_nb.fields())."
            )
    raise InvalidArgument(
        f"no field has the id or name {name!r} on this site: "
        "jsm_nb.fields() lists every field's id and name."
    )


def known_columns(
    field_ids: Iterable[str], fields: Catalogue, known: Mapping[str, tuple[frames.Column, ...]]
) -> dict[str, tuple[frames.Column, ...]]:
    """The columns of each custom field of ``field_ids`` that ``known`` does not name already.

    Each is typed by the field's schema and named by :attr:`Catalogue.columns`. Fields of
    a schema with no known shape are left out, and so are rich-text fields (a document in
    API 3): their values then decide their column, as system fields' do.
    """
    columns: dict[str, tuple[frames.Column, ...]] = {}
    for field_id in field_ids:
        field = fields.by_id(field_id)
        if field_id in known or field is None or not field.custom or field.schema_type is None:
            continue
        if (field.custom_type or "").endswith(":textarea"):
            continue
        found = frames.schema_columns(fields.columns[field_id], field.schema_type, field.items)
        if found is not None:
            columns[field_id] = found
    return columns
