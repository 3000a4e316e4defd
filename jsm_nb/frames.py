"""JSON records to typed DataFrames: the one dtype map of jsm_nb.

Every helper describes its frame as data, a :class:`Spec`: the columns, each a
snake_case name, a path into the record and a :class:`Kind` from :data:`KINDS`.
:func:`to_frame` builds each column straight from a list of values (no row by
row work), so a frame of 100,000 requests is built in well under a second.
A :class:`FrameBuilder` does the same a page at a time, as a fetch goes, so
that the pages' JSON need not be kept until the end.

The dtype map
-------------
========== ====================== =====================================================
kind       dtype                  from
========== ====================== =====================================================
string     ``string``             text and ids (ids given as numbers become text too)
date       ``datetime64[ms, UTC]``  a JSM date object, by its ``epochMillis``
iso_date   ``datetime64[ms, UTC]``  an ISO 8601 text (Jira issue fields)
duration   ``timedelta64[ms]``    a JSM duration object, by its ``millis``
flag       ``boolean``            true / false
count      ``Int64``              whole numbers
number     ``Float64``            other numbers
object     ``object``             lists and objects, as Atlassian sends them
========== ====================== =====================================================

Missing values are ``<NA>`` / ``NaT`` whatever the kind. JSM's localised
``friendly`` texts are never read.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "APPROVALS",
    "ARTICLES",
    "COMMENTS",
    "CUSTOMERS",
    "FEEDBACK",
    "FIELDS",
    "INFO",
    "ISSUES",
    "KINDS",
    "ME",
    "ORGANIZATIONS",
    "ORGANIZATION_USERS",
    "PARTICIPANTS",
    "QUEUES",
    "REQUESTS",
    "REQUEST_TYPES",
    "REQUEST_TYPE_FIELDS",
    "REQUEST_TYPE_GROUPS",
    "SERVICE_DESKS",
    "SITES",
    "SLA",
    "STATUS_HISTORY",
    "Column",
    "FrameBuilder",
    "Kind",
    "Spec",
    "columns",
    "infer_spec",
    "issue_slas",
    "schema_columns",
    "sla_of_issues",
    "snake_case",
    "to_frame",
]

Record = dict[str, Any]
Values = list[Any]


def _floats(values: Values) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``values`` as floats, NaN where missing."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _text(values: Values) -> Any:
    return pd.array(values, dtype="string")


def _date(values: Values) -> Any:
    return pd.to_datetime(_floats(values), unit="ms", utc=True).as_unit("ms")


def _iso_date(values: Values) -> Any:
    return pd.to_datetime(values, utc=True, format="ISO8601").as_unit("ms")


def _duration(values: Values) -> Any:
    return pd.to_timedelta(_floats(values), unit="ms").as_unit("ms")


def _flag(values: Values) -> Any:
    return pd.array(values, dtype="boolean")


def _count(values: Values) -> Any:
    return pd.array(values, dtype="Int64")


def _number(values: Values) -> Any:
    return pd.array(values, dtype="Float64")


def _object(values: Values) -> Any:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


@dataclasses.dataclass(frozen=True)
class Kind:
    """How one kind of JSON value becomes a typed column.

    Attributes
    ----------
    name : str
        The kind's name in :data:`KINDS`.
    dtype : str
        The pandas dtype of its columns.
    convert : callable
        Turns a list of JSON values into an array of ``dtype``.
    key : tuple of str
        For a JSM object, the key of the one value in it that ``convert`` takes
        (a date's ``epochMillis``); it is picked as the records arrive.
    """

    name: str
    dtype: str
    convert: Callable[[Values], Any] = dataclasses.field(repr=False)
    key: tuple[str, ...] = ()


STRING = Kind("string", "string", _text)
DATE = Kind("date", "datetime64[ms, UTC]", _date, ("epochMillis",))
ISO_DATE = Kind("iso_date", "datetime64[ms, UTC]", _iso_date)
DURATION = Kind("duration", "timedelta64[ms]", _duration, ("millis",))
FLAG = Kind("flag", "boolean", _flag)
COUNT = Kind("count", "Int64", _count)
NUMBER = Kind("number", "Float64", _number)
OBJECT = Kind("object", "object", _object)

#: The dtype map: every column of every frame has one of these kinds.
KINDS: Mapping[str, Kind] = {
    k.name: k for k in (STRING, DATE, ISO_DATE, DURATION, FLAG, COUNT, NUMBER, OBJECT)
}


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its name, where its values are in a record, and their kind.

    ``each``, for a list at ``path``, is the path of the value kept from each of its
    items: a list of users becomes a list of their account ids.
    """

    name: str
    path: tuple[str, ...]
    kind: Kind
    each: tuple[str, ...] = ()

    def pluck(self, records: Sequence[Any]) -> Values:
        """This column's value in each record, as its kind's ``convert`` takes them."""
        values = _pluck(records, self.path + self.kind.key)
        if not self.each:
            return values
        return [v if not isinstance(v, list) else _pluck(v, self.each) for v in values]


def columns(kind: Kind, **paths: str) -> tuple[Column, ...]:
    """Columns of one kind, ``name="dotted.path"`` each."""
    return tuple(
        Column(name, tuple(path.split(".")) if path else (), kind) for name, path in paths.items()
    )


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a helper's frame looks like.

    Attributes
    ----------
    columns : tuple of Column
        The fixed columns, in order.
    rows : callable, optional
        Turns the API's records into the frame's rows first (one SLA record
        holds several cycles, for example).
    fields : callable, optional
        Gives each row's values by field id (the last of a field id given twice);
        every field id then becomes a column of its own after the fixed ones, in
        the order they are first found.
    known_fields : mapping
        Field ids whose columns are known, such as a Jira issue's ``status``
        (its name and category). Other fields get one column named by their id,
        of the kind their values have; select-list options (objects with a
        ``value``) become their value.
    default_fields : tuple of str
        Field ids whose columns are there even when no row has them.
    """

    columns: tuple[Column, ...]
    rows: Callable[[list[Record]], list[Record]] | None = None
    fields: Callable[[Record], Mapping[str, Any]] | None = None
    known_fields: Mapping[str, tuple[Column, ...]] = dataclasses.field(default_factory=dict)
    default_fields: tuple[str, ...] = ()


def _pluck(records: Sequence[Any], path: tuple[str, ...]) -> Values:
    """The value at ``path`` in each record (``None`` where any step is missing)."""
    values = list(records)
    for key in path:
        try:
            values = [None if v is None else v.get(key) for v in values]
        except AttributeError:  # a step that is not an object: rare, so checked only then
            values = [v.get(key) if isinstance(v, dict) else None for v in values]
    return values


def to_frame(records: Sequence[Record], spec: Spec, fields: Iterable[str] = ()) -> pd.DataFrame:
    """Build the typed frame of ``records``.

    Parameters
    ----------
    records : sequence of dict
        The JSON records, as the API sent them.
    spec : Spec
        The frame's columns.
    fields : iterable of str
        Field ids whose columns must be there even when no record has them
        (the fields a JQL search asked for).

    Returns
    -------
    pandas.DataFrame
        The fixed columns, then one or more per field id; the same columns
        and dtypes when ``records`` is empty.
    """
    builder = FrameBuilder(spec, fields)
    builder.add(records)
    return builder.frame()


class FrameBuilder:
    """The frame of :func:`to_frame`, built from records given a page at a time.

    :meth:`add` keeps only the values the frame needs (a date's
    ``epochMillis``, not its four forms), so the records can be dropped as
    soon as they are added: a fetch then holds its frame's values, never all
    of its JSON. :meth:`frame` types the columns at the end, from every value.

    Parameters
    ----------
    spec : Spec
        The frame's columns.
    fields : iterable of str
        Field ids whose columns must be there even when no record has them.
    """

    def __init__(self, spec: Spec, fields: Iterable[str] = ()) -> None:
        self.spec = spec
        self.fields = tuple(fields)
        self.rows = 0
        self._columns: dict[str, Values] = {c.name: [] for c in spec.columns}
        self._found: dict[str, Values] = {}  # field id -> its value in every row so far

    def add(self, records: Sequence[Record]) -> None:
        """Take the values of some more records (the next page)."""
        rows = self.spec.rows(list(records)) if self.spec.rows else records
        for column in self.spec.columns:
            self._columns[column.name] += column.pluck(rows)
        if self.spec.fields is not None:
            self._add_fields(rows, self.spec.fields)
        self.rows += len(rows)

    def _add_fields(
        self, rows: Sequence[Record], by_id: Callable[[Record], Mapping[str, Any]]
    ) -> None:
        """Each field id's value in ``rows`` (``None`` where a row lacks the field), a
        column at a time; a field id new in ``rows`` gets ``None`` in the rows before."""
        found = self._found
        values = [by_id(row) for row in rows]
        for field_id in dict.fromkeys(itertools.chain.from_iterable(values)):
            if field_id not in found:
                found[field_id] = [None] * self.rows
        for field_id, column in found.items():
            column += [row.get(field_id) for row in values]

    def frame(self) -> pd.DataFrame:
        """The typed frame of every record added."""
        spec = self.spec
        data = {c.name: c.kind.convert(self._columns[c.name]) for c in spec.columns}
        if spec.fields is not None:
            found = self._found
            for field_id in dict.fromkeys([*spec.default_fields, *self.fields, *found]):
                values = found.get(field_id) or [None] * self.rows
                for column in spec.known_fields.get(field_id) or _field_column(field_id, values):
                    if column.name not in data:  # a fixed column of the same name wins
                        data[column.name] = column.kind.convert(column.pluck(values))
        frame: pd.DataFrame = pd.DataFrame(data, index=pd.RangeIndex(self.rows))
        return frame


def _field_column(field_id: str, values: Values) -> tuple[Column]:
    """The column of a field of no known shape."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, dict) and "value" in v for v in present):
        return (Column(snake_case(field_id), ("value",), _kind_of(_pluck(present, ("value",)))),)
    return (Column(snake_case(field_id), (), _kind_of(present)),)


def snake_case(name: str) -> str:
    """``"issueKey"`` -> ``"issue_key"``; other characters than letters and digits become ``_``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


#: A Jira field schema's ``items`` -> the value kept from each item of its lists.
_ITEM_VALUE: Mapping[str, tuple[str, ...]] = {
    "user": ("accountId",),
    "option": ("value",),
    "sd-customerorganization": ("name",),
    "version": ("name",),
    "component": ("name",),
}


def schema_columns(name: str, schema_type: str, items: str | None) -> tuple[Column, ...] | None:
    """The columns of a Jira field named ``name`` (snake_case), typed by its schema.

    ============================ ==================================================
    schema ``type``              columns
    ============================ ==================================================
    ``string``                   ``{name}`` (string)
    ``number``                   ``{name}`` (Float64)
    ``date``, ``datetime``       ``{name}`` (datetime64[ms, UTC])
    ``option``                   ``{name}`` (string): the option's value
    ``user``                     ``{name}_account_id``, ``{name}_display_name``
    ``array``                    ``{name}`` (object): a list; of users their
                                 account ids, of options their values, of
                                 organisations their names
    ``sd-customerrequesttype``   ``{name}_id``, ``{name}`` (string): the request type
    ``sd-feedback``              ``{name}`` (Int64): the rating; ``{name}_comment``
    ``sd-servicelevelagreement`` ``{name}`` (object): Atlassian's SLA object
                                 (``jsm_nb.sla(jql=...)`` gives its cycles as rows)
    ============================ ==================================================

    Returns None for other schemas: their values then decide their column.
    """
    if schema_type == "array":
        return (Column(name, (), OBJECT, _ITEM_VALUE.get(items or "", ())),)
    if schema_type == "user":
        return _user(name)
    if schema_type == "sd-customerrequesttype":
        return columns(STRING, **{f"{name}_id": "requestType.id", name: "requestType.name"})
    if schema_type == "sd-feedback":
        return columns(COUNT, **{name: "rating"}) + columns(
            STRING, **{f"{name}_comment": "comment.body"}
        )
    simple = {
        "string": (STRING, ""),
        "number": (NUMBER, ""),
        "date": (ISO_DATE, ""),
        "datetime": (ISO_DATE, ""),
        "option": (STRING, "value"),
        "sd-servicelevelagreement": (OBJECT, ""),
    }.get(schema_type)
    return None if simple is None else columns(simple[0], **{name: simple[1]})


_KIND_OF_TYPE: Mapping[type, Kind] = {bool: FLAG, int: COUNT, float: NUMBER, str: STRING}


def _kind_of_value(value: Any) -> Kind:
    if isinstance(value, dict):
        return DATE if "epochMillis" in value else DURATION if "millis" in value else OBJECT
    return _KIND_OF_TYPE.get(type(value), OBJECT)


def _merged(kinds: set[Kind]) -> Kind:
    """The one kind that holds values of all ``kinds``."""
    if kinds == {COUNT, NUMBER}:
        return NUMBER
    return next(iter(kinds)) if len(kinds) == 1 else OBJECT


def _kind_of(values: Values) -> Kind:
    types = set(map(type, values)) - {type(None)}
    kinds = {_KIND_OF_TYPE.get(t, OBJECT) for t in types - {dict}}
    if dict in types:
        kinds.update(_kind_of_value(v) for v in values if isinstance(v, dict))
    return _merged(kinds)


_SKIPPED = frozenset({"_links", "_expands", "self"})


def infer_spec(records: Iterable[Record]) -> Spec:
    """A spec for records of unknown shape (:func:`jsm_nb.frame`).

    Nested objects are flattened into ``parent_child`` snake_case columns, JSM
    date and duration objects become one typed column each, lists stay
    objects, and ``_links``, ``_expands`` and ``self`` are left out.
    """
    kinds: dict[tuple[str, ...], set[Kind]] = {}

    def walk(record: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in record.items():
            if key in _SKIPPED:
                continue
            path = (*prefix, key)
            kind = _kind_of_value(value)
            if kind is OBJECT and isinstance(value, dict):
                walk(value, path)
            else:
                found = kinds.setdefault(path, set())
                if value is not None:
                    found.add(kind)

    for record in records:
        walk(record, ())
    return Spec(
        tuple(
            Column("_".join(snake_case(p) for p in path), path, _merged(found))
            for path, found in kinds.items()
        )
    )


# The frames of the helpers in jsm_nb.api.


def _sla_cycles(records: list[Record]) -> list[Record]:
    """One row per SLA cycle: the completed ones, then the ongoing one."""
    rows: list[Record] = []
    for sla in records:
        about = {
            "issueKey": sla.get("issueKey"),
            "slaId": sla.get("id"),
            "slaName": sla.get("name"),
        }
        rows += [{**about, **cycle, "ongoing": False} for cycle in sla.get("completedCycles") or ()]
        if sla.get("ongoingCycle"):
            rows.append({**about, **sla["ongoingCycle"], "ongoing": True})
    return rows


def issue_slas(issues: Iterable[Record], field_ids: Sequence[str]) -> list[Record]:
    """The SLA objects of Jira issues' SLA fields ``field_ids``, each with ``issueKey``.

    They are the records of ``/request/{key}/sla``, issue by issue, field by field.
    """
    found: list[Record] = []
    for issue in issues:
        values = issue.get("fields") or {}
        for field_id in field_ids:
            sla = values.get(field_id)
            if isinstance(sla, dict):
                found.append({**sla, "issueKey": issue.get("key")})
    return found


def sla_of_issues(field_ids: Sequence[str]) -> Spec:
    """:data:`SLA`'s frame from Jira issues whose SLA fields are ``field_ids``, in that order.

    The rows are those :data:`SLA` gives for the same requests' ``/request/{key}/sla``.
    """
    return dataclasses.replace(SLA, rows=lambda issues: _sla_cycles(issue_slas(issues, field_ids)))


def _request_fields(record: Record) -> dict[str, Any]:
    return {f.get("fieldId"): f.get("value") for f in record.get("requestFieldValues") or ()}


def _issue_fields(record: Record) -> Mapping[str, Any]:
    fields: dict[str, Any] = record.get("fields") or {}
    return fields


def _user(name: str, path: str = "") -> tuple[Column, ...]:
    """``{name}_account_id`` and ``{name}_display_name`` of the user object at ``path``."""
    at = f"{path}." if path else ""
    return columns(
        STRING,
        **{f"{name}_account_id": f"{at}accountId", f"{name}_display_name": f"{at}displayName"},
    )


_ISSUE_KEY = columns(STRING, issue_key="issueKey")

# Who the user is first, so that a notebook's (scrolling) table opens on it; the
# avatar's long URL last.
ME = Spec(
    columns(
        STRING,
        name="name",
        email="email",
        account_id="account_id",
        account_type="account_type",
        account_status="account_status",
        nickname="nickname",
        job_title="extended_profile.job_title",
        department="extended_profile.department",
        organization="extended_profile.organization",
        location="extended_profile.location",
        zoneinfo="zoneinfo",
        locale="locale",
        picture="picture",
    )
)
SITES = Spec(
    columns(STRING, site_id="id", name="name", url="url")
    + columns(OBJECT, scopes="scopes")
    + columns(STRING, avatar_url="avatarUrl")
)
SERVICE_DESKS = Spec(
    columns(
        STRING,
        service_desk_id="id",
        project_id="projectId",
        project_key="projectKey",
        project_name="projectName",
        project_type_key="projectTypeKey",
    )
)
REQUEST_TYPES = Spec(
    columns(
        STRING,
        request_type_id="id",
        service_desk_id="serviceDeskId",
        name="name",
        description="description",
        help_text="helpText",
        issue_type_id="issueTypeId",
        portal_id="portalId",
    )
    + columns(OBJECT, group_ids="groupIds")
)
REQUESTS = Spec(
    columns(
        STRING,
        issue_id="issueId",
        issue_key="issueKey",
        service_desk_id="serviceDeskId",
        request_type_id="requestTypeId",
    )
    + columns(DATE, created="createdDate")
    + _user("reporter", "reporter")
    + columns(STRING, reporter_email_address="reporter.emailAddress")
    + columns(STRING, status="currentStatus.status", status_category="currentStatus.statusCategory")
    + columns(DATE, status_date="currentStatus.statusDate"),
    fields=_request_fields,
    known_fields={
        "summary": columns(STRING, summary=""),
        "description": columns(STRING, description=""),
    },
    default_fields=("summary", "description"),
)
STATUS_HISTORY = Spec(
    _ISSUE_KEY
    + columns(STRING, status="status", status_category="statusCategory")
    + columns(DATE, status_date="statusDate")
)
SLA = Spec(
    _ISSUE_KEY
    + columns(STRING, sla_id="slaId", sla_name="slaName")
    + columns(FLAG, ongoing="ongoing", breached="breached", paused="paused")
    + columns(FLAG, within_calendar_hours="withinCalendarHours")
    + columns(DURATION, goal="goalDuration", elapsed="elapsedTime", remaining="remainingTime")
    + columns(DATE, start_time="startTime", stop_time="stopTime", breach_time="breachTime"),
    rows=_sla_cycles,
)
COMMENTS = Spec(
    _ISSUE_KEY
    + columns(STRING, comment_id="id")
    + columns(FLAG, public="public")
    + columns(STRING, body="body")
    + columns(DATE, created="created")
    + _user("author", "author")
)
APPROVALS = Spec(
    _ISSUE_KEY
    + columns(STRING, approval_id="id", name="name", final_decision="finalDecision")
    + columns(FLAG, can_answer_approval="canAnswerApproval")
    + columns(DATE, created="createdDate", completed="completedDate")
    + columns(OBJECT, approvers="approvers")
)
QUEUES = Spec(
    columns(STRING, queue_id="id", name="name", jql="jql")
    + columns(OBJECT, fields="fields")
    + columns(COUNT, issue_count="issueCount")
)
ORGANIZATIONS = Spec(
    columns(STRING, organization_id="id", name="name", uuid="uuid")
    + columns(FLAG, scim_managed="scimManaged")
    + columns(DATE, created="created")
)
# A JSM UserDTO: the columns of every listing of people.
_IDENTITY = (
    columns(
        STRING,
        account_id="accountId",
        display_name="displayName",
        email_address="emailAddress",
    )
    + columns(FLAG, active="active")
    + columns(STRING, time_zone="timeZone")
)
CUSTOMERS = Spec(_IDENTITY)
PARTICIPANTS = Spec(_ISSUE_KEY + _IDENTITY)
ORGANIZATION_USERS = Spec(_IDENTITY)
FEEDBACK = Spec(
    _ISSUE_KEY + columns(COUNT, rating="rating") + columns(STRING, comment="comment.body")
)


def _request_type_fields(records: list[Record]) -> list[Record]:
    """One row per field of each CustomerRequestCreateMetaDTO."""
    return [field for record in records for field in record.get("requestTypeFields") or ()]


REQUEST_TYPE_FIELDS = Spec(
    columns(STRING, field_id="fieldId", name="name", description="description")
    + columns(FLAG, required="required", visible="visible")
    + columns(
        STRING,
        schema_type="jiraSchema.type",
        items="jiraSchema.items",
        system="jiraSchema.system",
        custom_type="jiraSchema.custom",
    )
    + columns(OBJECT, valid_values="validValues", default_values="defaultValues"),
    rows=_request_type_fields,
)
REQUEST_TYPE_GROUPS = Spec(columns(STRING, group_id="id", name="name"))
ARTICLES = Spec(
    columns(
        STRING,
        title="title",
        excerpt="excerpt",
        source_type="source.type",
        page_id="source.pageId",
        space_key="source.spaceKey",
        iframe_src="content.iframeSrc",
    )
)
INFO = Spec(
    columns(STRING, version="version", platform_version="platformVersion")
    + columns(DATE, build_date="buildDate")
    + columns(STRING, build_change_set="buildChangeSet")
    + columns(FLAG, licensed_for_use="isLicensedForUse")
    + columns(STRING, url="_links.self")
)
FIELDS = Spec(
    columns(STRING, field_id="field_id", name="name")
    + columns(FLAG, custom="custom")
    + columns(
        STRING, schema_type="schema_type", items="items", custom_type="custom_type", column="column"
    )
)
ISSUES = Spec(
    columns(STRING, issue_id="id", issue_key="key"),
    fields=_issue_fields,
    known_fields={
        "summary": columns(STRING, summary=""),
        "status": columns(STRING, status="name", status_category="statusCategory.key"),
        "issuetype": columns(STRING, issue_type="name"),
        "priority": columns(STRING, priority="name"),
        "resolution": columns(STRING, resolution="name"),
        "project": columns(STRING, project_key="key"),
        "reporter": _user("reporter"),
        "assignee": _user("assignee"),
        "creator": _user("creator"),
        "created": columns(ISO_DATE, created=""),
        "updated": columns(ISO_DATE, updated=""),
        "resolutiondate": columns(ISO_DATE, resolution_date=""),
        "duedate": columns(ISO_DATE, due_date=""),
    },
)
