"""Fields by name: the catalogue, columns named and typed by schema, SLAs from the search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import jsm_nb
from jsm_nb import api
from jsm_nb.errors import InvalidArgument
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.server import normalise_path

Shared = tuple[Sandbox, jsm_nb.JsmSession]
FIELDS = "/rest/api/3/field"
SEARCH = "/rest/api/3/search/jql"


def requests_made(sb: Any, path: str) -> int:
    """How many requests the sandbox saw to the site path ``path``."""
    return int(sb.stats.requests_per_path[normalise_path(f"/ex/jira/any-site{path}")])


def frame(result: object) -> pd.DataFrame:
    assert isinstance(result, pd.DataFrame)
    return result


def test_fields_lists_the_catalogue_with_ids_and_schemas(jsm_shared_session: Shared) -> None:
    found = frame(api.fields(session=jsm_shared_session[1]))
    by_name = found.set_index("field_id")
    assert by_name.loc["customfield_10021", "name"] == "Time to resolution"
    assert (
        by_name.loc["customfield_10021", "custom_type"] == "com.atlassian.servicedesk:sd-sla-field"
    )
    assert by_name.loc["customfield_10012", "items"] == "sd-customerorganization"
    assert not by_name.loc["summary", "custom"]
    teams = found[found.name == "Team"]
    assert sorted(teams.column) == ["team__customfield_10101", "team__customfield_10102"]
    assert by_name.loc["customfield_10020", "column"] == "time_to_first_response"


def test_the_catalogue_is_fetched_once_per_session(
    jsm_session_factory: Callable[..., Shared],
) -> None:
    sb, session = jsm_session_factory(requests=200)
    api.fields(session=session)
    api.jql("project = HR", fields=["Satisfaction"], session=session)
    api.sla(jql="project = HR", session=session)
    assert requests_made(sb, FIELDS) == 1
    _, other = jsm_session_factory(requests=200)
    api.fields(session=other)
    assert requests_made(sb, FIELDS) == 1  # another sandbox, not this one


def test_ids_alone_of_known_fields_need_no_catalogue(
    jsm_session_factory: Callable[..., Shared],
) -> None:
    sb, session = jsm_session_factory(requests=200)
    api.jql("project = HR", fields=["summary", "status"], session=session)
    assert requests_made(sb, FIELDS) == 0


def test_jql_takes_names_and_types_columns_by_schema(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    wanted = [
        "Customer Request Type",
        "satisfaction",
        "Satisfaction date",
        "Organizations",
        "Request participants",
        "customfield_10101",
        "customfield_10102",
        "Operating system",
    ]
    issues = frame(api.jql("project = ITH", fields=wanted, session=session))
    dtypes = issues.dtypes.astype(str).to_dict()
    assert dtypes == {
        "issue_id": "string",
        "issue_key": "string",
        "request_type_id": "string",
        "request_type": "string",
        "satisfaction": "Int64",
        "satisfaction_comment": "string",
        "satisfaction_date": "datetime64[ms, UTC]",
        "organizations": "object",
        "request_participants": "object",
        "team__customfield_10101": "string",
        "team__customfield_10102": "string",
        "operating_system": "string",
    }
    requests = frame(api.customer_requests("ITH", session=session))
    merged = issues.merge(requests, on="issue_key", suffixes=("", "_jsm"))
    assert len(merged) == len(issues) == len(requests)
    assert (merged.request_type_id == merged.request_type_id_jsm).all()
    assert (merged.operating_system == merged.customfield_10050).all()
    assert issues.satisfaction.dropna().between(1, 5).all()
    assert issues.satisfaction.notna().any()
    assert issues.satisfaction_comment[issues.satisfaction.isna()].isna().all()
    assert all(isinstance(names, list) for names in issues.organizations)
    shared = issues.organizations.map(len) > 0
    assert all(isinstance(n, str) for names in issues.organizations[shared] for n in names)
    assert (
        issues.team__customfield_10101.dropna() == issues.team__customfield_10102.dropna()
    ).all()


def test_participants_are_account_ids(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    issues = frame(api.jql("project = CS", fields="Request participants", session=session))
    some = issues[issues.request_participants.map(len) > 0].head(5)
    assert len(some) > 0
    for key, ids in zip(some.issue_key, some.request_participants, strict=True):
        listed = frame(api.frame(f"request/{key}/participant", session=session))
        assert ids == listed.account_id.tolist()


def test_column_names_do_not_depend_on_the_other_fields(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    alone = frame(api.jql("project = HR", fields="customfield_10102", session=session))
    assert list(alone.columns) == ["issue_id", "issue_key", "team__customfield_10102"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("Team", "customfield_10101"),
        ("No such field", "jsm_nb.fields()"),
    ],
)
def test_an_ambiguous_or_unknown_name_is_refused(
    fields: str, says: str, jsm_shared_session: Shared
) -> None:
    with pytest.raises(InvalidArgument, match=says):
        api.jql("project = HR", fields=fields, session=jsm_shared_session[1])


def test_sla_by_jql_equals_sla_by_keys_row_for_row(
    jsm_session_factory: Callable[..., Shared],
) -> None:
    sb, session = jsm_session_factory(requests=600)
    keys = frame(api.jql("project = ITH", fields="summary", session=session)).issue_key.tolist()
    assert len(keys) > 100  # more than one page of the search
    sb.stats.reset()
    by_jql = frame(api.sla(jql="project = ITH", session=session))
    searched = requests_made(sb, SEARCH)
    assert searched == -(-len(keys) // 100)  # one request per page of 100 issues
    by_keys = frame(api.sla(keys, session=session))
    pd.testing.assert_frame_equal(by_jql, by_keys)
    assert by_jql.attrs["skipped_keys"] == []
    raw = api.sla(jql="project = ITH", raw=True, session=session)
    assert raw == api.sla(keys, raw=True, session=session)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: api.sla(["ITH-1"], jql="project = ITH", session=s),
        lambda s: api.sla(jql="  ", session=s),
        lambda s: api.sla(jql=5, session=s),
        lambda s: api.sla(session=s),
    ],
)
def test_sla_refuses_bad_jql_arguments(
    call: Callable[[jsm_nb.JsmSession], object], jsm_shared_session: Shared
) -> None:
    with pytest.raises(InvalidArgument):
        call(jsm_shared_session[1])


@pytest.mark.parametrize(
    "call",
    [
        lambda s: api.jql("project = HR", fields="Satisfaction", concurrency=0, session=s),
        lambda s: api.jql("project = HR", fields="Satisfaction", raw="yes", session=s),
        lambda s: api.sla(jql="project = HR", max_rows=-1, session=s),
        lambda s: api.sla(jql="project = HR", missing="ignore", session=s),
        lambda s: api.sla(jql="project = HR", progress="no", session=s),
    ],
)
def test_bad_options_are_refused_before_the_catalogue_is_fetched(
    call: Callable[[jsm_nb.JsmSession], object], jsm_session_factory: Callable[..., Shared]
) -> None:
    sb, session = jsm_session_factory(requests=50)
    with pytest.raises(InvalidArgument):
        call(session)
    assert requests_made(sb, FIELDS) == 0


def test_keys_alone_come_5000_a_page(jsm_session_factory: Callable[..., Shared]) -> None:
    sb, session = jsm_session_factory(requests=600)
    everything = frame(api.jql("project = ITH", fields="summary", session=session))
    assert len(everything) > 100
    sb.stats.reset()
    keys = frame(api.jql("project = ITH", fields="key", session=session))
    assert requests_made(sb, SEARCH) == 1
    assert requests_made(sb, FIELDS) == 0
    assert list(keys.columns) == ["issue_id", "issue_key"]
    assert keys.issue_key.tolist() == everything.issue_key.tolist()
    both = frame(api.jql("project = ITH", fields=["id", "key"], session=session))
    assert both.equals(keys)
    comments = frame(api.comments(keys.issue_key.head(3).tolist(), session=session))
    assert set(comments.issue_key) <= set(keys.issue_key.head(3))


def test_the_column_fields_names_is_the_one_jql_gives(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    found = frame(api.fields(session=session))
    wanted = found[found.custom | found.field_id.isin(["resolutiondate", "issuetype"])]
    issues = frame(api.jql("project = ITH", fields=wanted.field_id.tolist(), session=session))
    assert set(wanted.column) <= set(issues.columns)
    assert {"resolution_date", "issue_type"} <= set(wanted.column)
