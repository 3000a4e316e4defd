"""JSON records to typed frames: the dtype map, flattening, dynamic field columns."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

from jsm_nb import frames
from jsm_nb.sandbox.gateway import USER

SPECS = [
    getattr(frames, name)
    for name in (
        "ME",
        "SITES",
        "SERVICE_DESKS",
        "REQUEST_TYPES",
        "REQUESTS",
        "STATUS_HISTORY",
        "SLA",
        "COMMENTS",
        "APPROVALS",
        "QUEUES",
        "ORGANIZATIONS",
        "CUSTOMERS",
        "ISSUES",
    )
]


def date(millis: int) -> dict[str, Any]:
    """A JSM date object, with texts that must never be read."""
    return {"epochMillis": millis, "iso8601": "nonsense", "jira": "x", "friendly": "Yesterday"}


def duration(millis: int) -> dict[str, Any]:
    return {"millis": millis, "friendly": "3h 20m"}


REQUEST = {
    "_expands": ["participant", "status"],
    "issueId": 107001,  # a number: ids must still come out as text
    "issueKey": "HELP-1",
    "requestTypeId": "25",
    "serviceDeskId": "10",
    "createdDate": date(1444290120000),
    "reporter": {"accountId": "acc-1", "displayName": "Fred F. User", "emailAddress": "f@x.io"},
    "requestFieldValues": [
        {"fieldId": "summary", "label": "What?", "value": "Request JSD help via REST"},
        {"fieldId": "description", "label": "Why?", "value": "I need a mouse"},
        {"fieldId": "customfield_10010", "label": "Size", "value": {"id": "1", "value": "Large"}},
        {"fieldId": "customfield_10020", "label": "Tags", "value": ["a", "b"]},
        {"fieldId": "status", "label": "A field named like a fixed column", "value": "ignored"},
    ],
    "currentStatus": {
        "status": "Waiting for Support",
        "statusCategory": "NEW",
        "statusDate": date(1444287660000),
    },
    "_links": {"web": "https://example.atlassian.net/servicedesk/customer/portal/10/HELP-1"},
}


@pytest.mark.parametrize("spec", SPECS)
def test_empty_frame_has_the_columns_and_dtypes_of_a_full_one(spec: frames.Spec) -> None:
    empty = frames.to_frame([], spec)
    full = frames.to_frame([REQUEST | SLA_RECORD | {"key": "K-1", "fields": {}}], spec)
    assert len(full) > 0
    always = [c for f in spec.default_fields for c in spec.known_fields[f]]
    expected = {c.name: c.kind.dtype for c in [*spec.columns, *always]}
    assert empty.empty
    assert empty.dtypes.astype(str).to_dict() == expected
    assert full[empty.columns].dtypes.to_dict() == empty.dtypes.to_dict()


def test_request_columns_values_and_dtypes() -> None:
    frame = frames.to_frame([REQUEST], frames.REQUESTS)
    row = frame.iloc[0]
    assert list(frame.columns) == [
        "issue_id",
        "issue_key",
        "service_desk_id",
        "request_type_id",
        "created",
        "reporter_account_id",
        "reporter_display_name",
        "reporter_email_address",
        "status",
        "status_category",
        "status_date",
        "summary",
        "description",
        "customfield_10010",
        "customfield_10020",
    ]
    assert row.issue_id == "107001"
    assert frame.issue_id.dtype == "string"
    assert row.created == pd.Timestamp("2015-10-08T07:42:00Z")
    assert str(frame.created.dtype) == "datetime64[ms, UTC]"
    assert row.summary == "Request JSD help via REST"
    assert row.description == "I need a mouse"
    assert frame.description.dtype == "string"
    assert row.customfield_10010 == "Large"  # a select-list option becomes its value
    assert frame.customfield_10010.dtype == "string"
    assert row.customfield_10020 == ["a", "b"]
    assert frame.customfield_10020.dtype == object
    assert row.status == "Waiting for Support"  # a fixed column wins over a field of its name
    assert row.status_category == "NEW"


def test_the_profile_opens_on_who_and_ends_on_the_avatar() -> None:
    """A notebook's table of me() scrolls sideways: name and email show first, the URL last."""
    frame = frames.to_frame([dict(USER)], frames.ME)
    assert list(frame.columns[:3]) == ["name", "email", "account_id"]
    assert frame.columns[-1] == "picture"
    shown = frame._repr_html_()
    assert shown is not None
    first_cells = re.findall(r"<td>(.*?)</td>", shown)[:2]
    assert first_cells == [USER["name"], USER["email"]]
    assert shown.index(USER["email"]) < shown.index("gravatar")
    assert frame.job_title.iloc[0] == USER["extended_profile"]["job_title"]


def test_missing_values_are_na_whatever_the_kind() -> None:
    sparse = {"issueKey": "HELP-2", "currentStatus": None}
    frame = frames.to_frame([REQUEST, sparse], frames.REQUESTS)
    row = frame.iloc[1]
    assert row.issue_key == "HELP-2"
    for column in ("issue_id", "reporter_display_name", "status", "summary", "customfield_10010"):
        assert row[column] is pd.NA
    assert row.created is pd.NaT
    assert row.status_date is pd.NaT
    assert frame.customfield_10020.iloc[1] is None


def test_a_non_object_where_an_object_belongs_gives_na() -> None:
    odd = {"issueKey": "HELP-3", "reporter": ["not", "an", "object"], "createdDate": "text"}
    row = frames.to_frame([odd], frames.REQUESTS).iloc[0]
    assert row.reporter_display_name is pd.NA
    assert row.created is pd.NaT


SLA_RECORD = {
    "issueKey": "HELP-1",
    "id": "10030",
    "name": "Time to first response",
    "completedCycles": [
        {
            "startTime": date(1444362323000),
            "stopTime": date(1444362743000),
            "breachTime": date(1444362623000),
            "breached": True,
            "goalDuration": duration(4 * 3600_000),
            "elapsedTime": duration(5 * 3600_000),
            "remainingTime": duration(-3600_000),
        }
    ],
    "ongoingCycle": {
        "startTime": date(1444479323000),
        "breachTime": date(1444493723000),
        "breached": False,
        "paused": True,
        "withinCalendarHours": False,
        "goalDuration": duration(4 * 3600_000),
        "elapsedTime": duration(0),
        "remainingTime": duration(4 * 3600_000),
    },
}


def test_sla_gives_one_row_per_cycle_with_goal_elapsed_remaining() -> None:
    no_cycles = {"issueKey": "HELP-2", "id": "1", "name": "x", "completedCycles": []}
    frame = frames.to_frame([SLA_RECORD, no_cycles], frames.SLA)
    assert frame.ongoing.tolist() == [False, True]
    assert frame.breached.tolist() == [True, False]
    assert frame.paused.isna().tolist() == [True, False]
    assert frame.paused.iloc[1]
    assert frame.goal.tolist() == [pd.Timedelta(hours=4)] * 2
    assert frame.remaining.iloc[0] == pd.Timedelta(hours=-1)
    assert frame.elapsed.iloc[1] == pd.Timedelta(0)  # zero is a value, not a missing one
    assert frame.stop_time.iloc[1] is pd.NaT
    assert (frame.sla_name == "Time to first response").all()
    assert (frame.issue_key == "HELP-1").all()
    assert str(frame.goal.dtype) == "timedelta64[ms]"
    assert frame.breached.dtype == "boolean"


ISSUE = {
    "id": "10001",
    "key": "ITH-1",
    "self": "https://example.atlassian.net/rest/api/3/issue/10001",
    "fields": {
        "summary": "My keyboard is broken",
        "status": {"name": "In progress", "statusCategory": {"key": "indeterminate"}},
        "issuetype": {"name": "IT Help"},
        "reporter": {"accountId": "acc-1", "displayName": "Fred"},
        "created": "2015-11-09T14:17:13.000+0700",
        "duedate": "2015-11-11",
        "customfield_10001": 3,
        "labels": ["a", "b"],
    },
}


def test_issue_fields_expand_to_their_columns_and_others_keep_their_id() -> None:
    frame = frames.to_frame([ISSUE], frames.ISSUES)
    row = frame.iloc[0]
    assert row.issue_key == "ITH-1"
    assert row.status == "In progress"
    assert row.status_category == "indeterminate"
    assert row.issue_type == "IT Help"
    assert row.reporter_display_name == "Fred"
    assert row.created == pd.Timestamp("2015-11-09T07:17:13Z")
    assert row.due_date == pd.Timestamp("2015-11-11T00:00:00Z")
    assert frame.customfield_10001.dtype == "Int64"
    assert row.labels == ["a", "b"]


@pytest.mark.parametrize("spec", [frames.REQUESTS, frames.SLA, frames.ISSUES])
def test_a_frame_built_page_by_page_is_the_frame_built_at_once(spec: frames.Spec) -> None:
    plain = REQUEST | {"issueKey": "HELP-2", "requestFieldValues": []}
    late = REQUEST | {  # a field first seen on the last page, of another kind than before
        "issueKey": "HELP-3",
        "requestFieldValues": [{"fieldId": "customfield_10030", "value": 7}],
    }
    records = [REQUEST, plain, SLA_RECORD | {"fields": {"labels": ["x"]}}, late, ISSUE]
    builder = frames.FrameBuilder(spec, fields=["customfield_1"])
    for page in ([], records[:2], records[2:3], [], records[3:]):
        builder.add(page)
    at_once = frames.to_frame(records, spec, fields=["customfield_1"])
    pd.testing.assert_frame_equal(builder.frame(), at_once)
    assert builder.rows == len(at_once)


def test_requested_fields_have_columns_even_when_no_issue_came_back() -> None:
    frame = frames.to_frame([], frames.ISSUES, fields=["summary", "status", "customfield_1"])
    assert list(frame.columns) == [
        "issue_id",
        "issue_key",
        "summary",
        "status",
        "status_category",
        "customfield_1",
    ]
    assert frame.status.dtype == "string"


def test_100000_records_build_column_by_column() -> None:
    records = [REQUEST | {"issueKey": f"HELP-{i}"} for i in range(100_000)]
    frame = frames.to_frame(records, frames.REQUESTS)
    assert len(frame) == 100_000
    assert frame.issue_key.iloc[-1] == "HELP-99999"
    assert frame.created.notna().all()


def test_infer_spec_flattens_types_and_skips_links() -> None:
    records = [
        {
            "id": 7,
            "name": "Acme",
            "created": date(1444290120000),
            "waited": duration(60_000),
            "active": True,
            "score": 1,
            "owner": {"displayName": "Fred", "accountId": "a"},
            "tags": ["x"],
            "_links": {"self": "https://example.atlassian.net/x"},
        },
        {"id": 8, "name": None, "score": 1.5, "mixed": "text"},
        {"mixed": 3},
    ]
    frame = frames.to_frame(records, frames.infer_spec(records))
    assert frame.dtypes.astype(str).to_dict() == {
        "id": "Int64",
        "name": "string",
        "created": "datetime64[ms, UTC]",
        "waited": "timedelta64[ms]",
        "active": "boolean",
        "score": "Float64",
        "owner_display_name": "string",
        "owner_account_id": "string",
        "tags": "object",
        "mixed": "object",
    }
    assert frame.created.iloc[0] == pd.Timestamp(1444290120000, unit="ms", tz="UTC")
    assert frame.waited.iloc[0] == pd.Timedelta(minutes=1)
    assert frame.owner_display_name.iloc[0] == "Fred"
    assert frame.name.isna().tolist() == [False, True, True]


def test_infer_spec_of_nothing_is_an_empty_frame() -> None:
    frame = frames.to_frame([], frames.infer_spec([]))
    assert frame.shape == (0, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("issueKey", "issue_key"),
        ("customfield_10010", "customfield_10010"),
        ("requestFieldValues", "request_field_values"),
        ("16x16", "16x16"),
        ("Story Points", "story_points"),
    ],
)
def test_snake_case(name: str, expected: str) -> None:
    assert frames.snake_case(name) == expected


def test_the_dtype_map_names_every_kind_once() -> None:
    assert set(frames.KINDS) == {
        "string",
        "date",
        "iso_date",
        "duration",
        "flag",
        "count",
        "number",
        "object",
    }
    for kind in frames.KINDS.values():
        assert str(pd.Series(kind.convert([None]), dtype=None).dtype) == kind.dtype


def test_schema_columns_type_custom_fields_by_their_schema() -> None:
    records = [
        {
            "request_type": {"requestType": {"id": "7", "name": "Get IT help"}},
            "satisfaction": {"rating": 4, "comment": {"body": "Thanks"}},
            "participants": [{"accountId": "a1"}, {"accountId": "a2"}],
            "organizations": [{"id": "3", "name": "Acme"}],
            "team": {"value": "Platform", "id": "10200"},
            "owner": {"accountId": "a9", "displayName": "Ann"},
            "when": "2026-10-01T10:00:00.000+0000",
            "points": 3,
        },
        {"participants": [], "organizations": [], "satisfaction": None},
    ]
    schemas = {
        "request_type": ("sd-customerrequesttype", None),
        "satisfaction": ("sd-feedback", None),
        "participants": ("array", "user"),
        "organizations": ("array", "sd-customerorganization"),
        "team": ("option", None),
        "owner": ("user", None),
        "when": ("datetime", None),
        "points": ("number", None),
    }
    spec_columns: tuple[frames.Column, ...] = ()
    for name, (schema_type, items) in schemas.items():
        found = frames.schema_columns(name, schema_type, items)
        assert found is not None
        spec_columns += tuple(frames.Column(c.name, (name, *c.path), c.kind, c.each) for c in found)
    frame = frames.to_frame(records, frames.Spec(spec_columns))
    assert frame.dtypes.astype(str).to_dict() == {
        "request_type_id": "string",
        "request_type": "string",
        "satisfaction": "Int64",
        "satisfaction_comment": "string",
        "participants": "object",
        "organizations": "object",
        "team": "string",
        "owner_account_id": "string",
        "owner_display_name": "string",
        "when": "datetime64[ms, UTC]",
        "points": "Float64",
    }
    first = frame.iloc[0]
    assert (first.request_type_id, first.request_type) == ("7", "Get IT help")
    assert (first.satisfaction, first.satisfaction_comment) == (4, "Thanks")
    assert first.participants == ["a1", "a2"]
    assert first.organizations == ["Acme"]
    assert first.team == "Platform"
    assert frame.participants[1] == []
    assert frame.satisfaction.isna()[1]
    assert frames.schema_columns("rank", "any", None) is None
