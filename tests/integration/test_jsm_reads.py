"""The JSM reads analysts use beside requests: CSAT, participants, forms, groups, the
knowledge base, one queue, the site's version and organisations' members, over HTTP."""

from __future__ import annotations

import pandas as pd
import pytest

import jsm_nb
from jsm_nb import api
from jsm_nb.errors import ApiError, InvalidArgument
from jsm_nb.sandbox import Sandbox

Shared = tuple[Sandbox, jsm_nb.JsmSession]


def _frame(result: object) -> pd.DataFrame:
    assert isinstance(result, pd.DataFrame)
    return result


def test_feedback_agrees_with_the_satisfaction_field(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    searched = _frame(
        api.jql("project = HR", fields=["Satisfaction"], max_rows=60, session=session)
    )
    keys = searched.issue_key.tolist()
    answers = _frame(api.feedback(keys, session=session))
    assert answers.issue_key.tolist() == keys
    assert answers.dtypes.astype(str).to_dict() == {
        "issue_key": "string",
        "rating": "Int64",
        "comment": "string",
    }
    both = answers.merge(searched, on="issue_key")
    assert len(both) == len(keys)
    assert both.rating.notna().any()
    assert both.rating.isna().any()  # some requests have no answer, and say so
    pd.testing.assert_series_equal(both.rating, both.satisfaction, check_names=False)
    pd.testing.assert_series_equal(both.comment, both.satisfaction_comment, check_names=False)


def test_feedback_is_experimental_and_the_helper_opts_in(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    refused = session.get("/rest/servicedeskapi/request/ITH-1/feedback")
    assert refused.status_code == 412
    opted = session.get(
        "/rest/servicedeskapi/request/ITH-1/feedback", headers={"X-ExperimentalApi": "opt-in"}
    )
    assert opted.status_code == 200
    assert len(_frame(api.feedback("ITH-1", session=session))) == 1


def test_feedback_raw_records_and_missing_keys(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    records = api.feedback(["HR-1", "HR-404404"], missing="skip", raw=True, session=session)
    assert isinstance(records, api.Records)
    assert [r["issueKey"] for r in records] == ["HR-1"]
    assert records[0]["type"] == "csat"
    assert records.attrs["skipped_keys"] == ["HR-404404"]
    with pytest.raises(ApiError, match="HR-404404") as raised:
        api.feedback(["HR-1", "HR-404404"], session=session)
    assert raised.value.status == 404
    assert len(_frame(api.feedback(["HR-1", "HR-2", "HR-3"], max_rows=2, session=session))) == 2


def test_participants_are_those_of_the_request(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    records = api.customer_requests(session=session, expand="participant", max_rows=100, raw=True)
    expected = {
        r["issueKey"]: [p["accountId"] for p in r["participants"]["values"]] for r in records
    }
    shared = [k for k, people in expected.items() if people][:10]
    assert shared
    found = _frame(api.participants(shared, session=session))
    assert found.email_address.dtype == "string"
    got = found.groupby("issue_key", sort=False).account_id.apply(list).to_dict()
    assert got == {k: expected[k] for k in shared}
    raw = api.participants(shared[0], raw=True, session=session)
    assert {r["issueKey"] for r in raw} == {shared[0]}
    assert all("accountId" in r for r in raw)


def test_request_type_fields_are_the_portal_form(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    types = _frame(api.request_types("ITH", session=session))
    form = _frame(api.request_type_fields("ITH", types.request_type_id.iloc[0], session=session))
    assert form.field_id.tolist()[:2] == ["summary", "description"]
    assert form.required.tolist()[0] is True
    select = form[form.schema_type == "option"]
    assert len(select) == 1
    assert all(v["label"] for v in select.valid_values.iloc[0])
    meta = api.request_type_fields(1, types.request_type_id.iloc[0], raw=True, session=session)
    assert len(meta) == 1
    assert "canRaiseOnBehalfOf" in meta[0]
    other_desk = _frame(api.request_types("HR", session=session)).request_type_id.iloc[0]
    with pytest.raises(ApiError) as raised:
        api.request_type_fields("ITH", other_desk, session=session)
    assert raised.value.status == 404
    with pytest.raises(InvalidArgument, match="request_type"):
        api.request_type_fields("ITH", "first", session=session)


def test_request_type_groups_hold_the_request_types(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    groups = _frame(api.request_type_groups("HR", session=session))
    assert groups.dtypes.astype(str).to_dict() == {"group_id": "string", "name": "string"}
    types = _frame(api.request_types("HR", session=session))
    used = {g for ids in types.group_ids for g in ids}
    assert used <= set(groups.group_id)
    assert len(_frame(api.request_type_groups(2, max_rows=1, session=session))) == 1


def test_articles_are_found_by_query_everywhere_or_in_one_desk(
    jsm_shared_session: Shared,
) -> None:
    session = jsm_shared_session[1]
    everywhere = _frame(api.articles("password", session=session))
    in_ith = _frame(api.articles("password", "ITH", session=session))
    assert 0 < len(in_ith) < len(everywhere)
    assert set(in_ith.page_id) < set(everywhere.page_id)
    matched = everywhere.title.str.contains(
        "password", case=False
    ) | everywhere.excerpt.str.contains("password", case=False)
    assert matched.all()
    assert set(everywhere.source_type) == {"confluence"}
    assert len(_frame(api.articles("zzzqqq", session=session))) == 0
    raw = api.articles("vpn", service_desk=1, raw=True, session=session)
    assert raw
    assert all(r["source"]["type"] == "confluence" for r in raw)
    for query in ("", "  ", None):
        with pytest.raises(InvalidArgument, match="query"):
            api.articles(query, session=session)  # type: ignore[arg-type]


def test_one_queue_is_its_row_of_the_listing(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    listing = _frame(api.queues("ITH", session=session))
    for queue_id in listing.queue_id:
        one = _frame(api.queue("ITH", queue_id, session=session))
        expected = listing[listing.queue_id == queue_id].reset_index(drop=True)
        pd.testing.assert_frame_equal(one, expected)
    uncounted = _frame(api.queue(1, listing.queue_id.iloc[0], include_count=False, session=session))
    assert uncounted.issue_count.isna().all()
    raw = api.queue("ITH", listing.queue_id.iloc[0], raw=True, session=session)
    assert raw[0]["id"] == listing.queue_id.iloc[0]
    with pytest.raises(ApiError) as raised:
        api.queue("ITH", 999, session=session)
    assert raised.value.status == 404


def test_info_is_one_row(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    found = _frame(api.info(session=session))
    assert len(found) == 1
    assert found.version.iloc[0]
    assert found.build_date.dt.tz is not None
    assert found.licensed_for_use.iloc[0]
    assert api.info(raw=True, session=session)[0]["version"] == found.version.iloc[0]


def test_organization_users_are_its_members(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    orgs = _frame(api.organizations(session=session))
    sizes = {}
    for org in orgs.organization_id:
        members = _frame(api.organization_users(org, session=session))
        assert members.account_id.is_unique
        sizes[org] = len(members)
    assert sum(sizes.values()) > 0
    org = max(sizes, key=lambda k: sizes[k])
    raw = api.organization_users(int(org), raw=True, session=session)
    assert len(raw) == sizes[org]
    assert all("accountId" in r for r in raw)
    with pytest.raises(ApiError) as raised:
        api.organization_users(987654, session=session)
    assert raised.value.status == 404
