"""Every helper against the sandbox over HTTP: documented columns and dtypes, empties, options."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import jsm_nb
from jsm_nb import api, frames, progress
from jsm_nb.errors import ApiError
from jsm_nb.sandbox import Sandbox

Shared = tuple[Sandbox, jsm_nb.JsmSession]
Call = Callable[[jsm_nb.JsmSession], Any]
DOCUMENTED = re.compile(r"^\s*- ``(\w+)`` \(([^)]+)\)", re.MULTILINE)

KEYS = ["ITH-1", "CS-2", "HR-3", "FAC-4", "ITH-5"]


def documented(helper: Callable[..., Any]) -> dict[str, str]:
    """The columns and dtypes a helper's docstring lists under Returns, in order."""
    returns = (helper.__doc__ or "").split("Returns\n")[1]
    return dict(DOCUMENTED.findall(returns))


# Each helper, called with a session, for a result that is not empty; True when columns
# beyond the documented ones may follow (request fields, other issue fields).
CALLS: dict[str, tuple[Call, bool]] = {
    "me": (lambda s: api.me(session=s), False),
    "sites": (lambda s: api.sites(session=s), False),
    "service_desks": (lambda s: api.service_desks(session=s), False),
    "request_types": (lambda s: api.request_types("ITH", session=s), False),
    "customer_requests": (lambda s: api.customer_requests(session=s, max_rows=300), True),
    "request_status_history": (lambda s: api.request_status_history(KEYS, session=s), False),
    "sla": (lambda s: api.sla(KEYS, session=s), False),
    "comments": (lambda s: api.comments(KEYS, session=s), False),
    "approvals": (lambda s: api.approvals(_with_approvals(s), session=s), False),
    "queues": (lambda s: api.queues(1, session=s), False),
    "queue_issues": (lambda s: api.queue_issues("ITH", _first_queue(s), session=s), True),
    "organizations": (lambda s: api.organizations(session=s), False),
    "customers": (lambda s: api.customers("CS", session=s), False),
    "jql": (lambda s: api.jql("project = HR", session=s), False),
    "fields": (lambda s: api.fields(session=s), False),
    "feedback": (lambda s: api.feedback(KEYS, session=s), False),
    "participants": (lambda s: api.participants(KEYS, session=s), False),
    "request_type_fields": (lambda s: api.request_type_fields("ITH", 1, session=s), False),
    "request_type_groups": (lambda s: api.request_type_groups("ITH", session=s), False),
    "articles": (lambda s: api.articles("password", session=s), False),
    "queue": (lambda s: api.queue("ITH", 1, session=s), False),
    "info": (lambda s: api.info(session=s), False),
    "organization_users": (lambda s: api.organization_users(1, session=s), False),
}


def _with_approvals(session: jsm_nb.JsmSession) -> list[str]:
    """Keys of requests whose type needs approval (they carry approvals)."""
    requests = api.customer_requests("ITH", session=session, max_rows=200)
    types = api.request_types("ITH", session=session)
    assert isinstance(requests, pd.DataFrame)
    assert isinstance(types, pd.DataFrame)
    approval = types.request_type_id[types.name.str.startswith("Request ")]
    return requests.issue_key[requests.request_type_id.isin(approval)].head(10).tolist()


def _first_queue(session: jsm_nb.JsmSession) -> str:
    queues = api.queues("ITH", session=session)
    assert isinstance(queues, pd.DataFrame)
    return str(queues.queue_id[queues.issue_count > 0].iloc[0])


def assert_typed_as_documented(frame: Any, helper: Callable[..., Any], more: bool) -> None:
    assert isinstance(frame, pd.DataFrame)
    expected = documented(helper)
    got = frame.dtypes.astype(str).to_dict()
    assert list(got)[: len(expected)] == list(expected)
    assert {name: got[name] for name in expected} == expected
    if not more:
        assert len(got) == len(expected)


def test_every_helper_is_tested_and_documented() -> None:
    helpers = {n for n in api.__all__ if callable(getattr(api, n)) and n[0].islower()}
    assert set(CALLS) == helpers - {"frame"}
    for name in CALLS:
        assert documented(getattr(api, name)), name


@pytest.mark.parametrize("name", sorted(CALLS))
def test_helper_columns_and_dtypes_are_as_documented(name: str, jsm_shared_session: Shared) -> None:
    call, more = CALLS[name]
    frame = call(jsm_shared_session[1])
    assert len(frame) > 0
    assert_typed_as_documented(frame, getattr(api, name), more)


def test_documented_columns_are_the_frames(jsm_shared_session: Shared) -> None:
    """The docstrings and the specs of frames.py say the same."""
    pairs = {
        "service_desks": frames.SERVICE_DESKS,
        "request_types": frames.REQUEST_TYPES,
        "sla": frames.SLA,
        "comments": frames.COMMENTS,
        "approvals": frames.APPROVALS,
        "queues": frames.QUEUES,
        "organizations": frames.ORGANIZATIONS,
        "customers": frames.CUSTOMERS,
        "request_status_history": frames.STATUS_HISTORY,
        "me": frames.ME,
        "sites": frames.SITES,
        "fields": frames.FIELDS,
        "feedback": frames.FEEDBACK,
        "participants": frames.PARTICIPANTS,
        "request_type_fields": frames.REQUEST_TYPE_FIELDS,
        "request_type_groups": frames.REQUEST_TYPE_GROUPS,
        "articles": frames.ARTICLES,
        "queue": frames.QUEUES,
        "info": frames.INFO,
        "organization_users": frames.ORGANIZATION_USERS,
    }
    for name, spec in pairs.items():
        assert documented(getattr(api, name)) == {c.name: c.kind.dtype for c in spec.columns}


EMPTY: dict[str, Call] = {
    "customer_requests": lambda s: api.customer_requests(search="zzzqqq", session=s),
    "request_status_history": lambda s: api.request_status_history([], session=s),
    "sla": lambda s: api.sla([], session=s),
    "comments": lambda s: api.comments("ITH-1", public=False, internal=False, session=s),
    "approvals": lambda s: api.approvals([], session=s),
    "customers": lambda s: api.customers("CS", query="zzzqqq", session=s),
    "jql": lambda s: api.jql('project = HR AND created >= "2030-01-01"', session=s),
    "feedback": lambda s: api.feedback([], session=s),
    "participants": lambda s: api.participants([], session=s),
    "articles": lambda s: api.articles("zzzqqq", session=s),
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_an_empty_result_has_the_documented_columns(name: str, jsm_shared_session: Shared) -> None:
    frame = EMPTY[name](jsm_shared_session[1])
    assert len(frame) == 0
    assert_typed_as_documented(frame, getattr(api, name), more=False)


def test_values_are_typed(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    requests = api.customer_requests("ITH", session=session)
    assert isinstance(requests, pd.DataFrame)
    assert requests.created.dt.tz is not None
    assert requests.created.min() >= pd.Timestamp("2025-11-01", tz="UTC")
    assert set(requests.status_category) <= {"NEW", "INDETERMINATE", "DONE"}
    assert requests.summary.notna().all()
    assert requests.issue_key.str.startswith("ITH-").all()
    assert requests.customfield_10050.dtype == "string"  # a select list: the option's value
    slas = api.sla(requests.issue_key.head(40), session=session)
    assert isinstance(slas, pd.DataFrame)
    assert (slas.goal > pd.Timedelta(0)).all()
    breached = slas[slas.breached & ~slas.ongoing]
    assert (breached.elapsed > breached.goal).all()


def test_service_desk_by_project_key_or_id(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    by_key = api.request_types("hr", session=session)
    by_id = api.request_types(2, session=session)
    pd.testing.assert_frame_equal(by_key, by_id)
    with pytest.raises(ValueError, match="NOPE"):
        api.queues("NOPE", session=session)


def test_customer_request_filters(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    closed = api.customer_requests("FAC", status="closed", session=session)
    assert isinstance(closed, pd.DataFrame)
    assert set(closed.status_category) == {"DONE"}
    assert set(closed.service_desk_id) == {"3"}
    types = api.request_types("FAC", session=session)
    assert isinstance(types, pd.DataFrame)
    wanted = types.request_type_id.iloc[0]
    one_type = api.customer_requests("FAC", request_type=wanted, session=session)
    assert isinstance(one_type, pd.DataFrame)
    assert set(one_type.request_type_id) == {wanted}
    with pytest.raises(ValueError, match="status"):
        api.customer_requests(status="pending", session=session)


def test_requests_of_an_organization(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    orgs = api.organizations(session=session)
    assert isinstance(orgs, pd.DataFrame)
    shared = [
        api.customer_requests(organization=org, session=session, raw=True)
        for org in orgs.organization_id
    ]
    everything = api.customer_requests(session=session, raw=True)
    sizes = [len(records) for records in shared]
    assert 0 < sum(sizes) < len(everything)


def test_many_keys_come_back_in_order_in_one_frame(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    requests = api.customer_requests(session=session, max_rows=400)
    assert isinstance(requests, pd.DataFrame)
    keys = requests.issue_key.tolist()[::-1]
    history = api.request_status_history(keys + keys[:5], session=session, concurrency=8)
    assert isinstance(history, pd.DataFrame)
    assert history.issue_key.unique().tolist() == keys  # in the keys' order, each once
    latest = history.groupby("issue_key", sort=False).status.first()
    assert latest.to_dict() == dict(zip(requests.issue_key, requests.status, strict=True))


def test_one_key_or_many(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    one = api.comments("ITH-1", session=session)
    many = api.comments(["ITH-1"], session=session)
    pd.testing.assert_frame_equal(one, many)


PER_REQUEST = {
    "sla": api.sla,
    "comments": api.comments,
    "approvals": api.approvals,
    "request_status_history": api.request_status_history,
}
GONE = ["ITH-999999", "NOPE-1", "CS-0"]  # no such requests: the sandbox answers JSM's 404
WITH_GONE = ["ITH-1", "ITH-999999", "CS-2", "NOPE-1", "HR-3", "CS-0"]


@pytest.mark.parametrize("name", sorted(PER_REQUEST))
def test_unknown_requests_raise_naming_every_one(name: str, jsm_shared_session: Shared) -> None:
    with pytest.raises(ApiError) as raised:
        PER_REQUEST[name](WITH_GONE, session=jsm_shared_session[1], concurrency=3)
    error = raised.value
    assert error.status == 404
    assert error.path.endswith("/request/{key}/" + _listing_of(name))
    assert "3 of 6 requests do not exist or you cannot see them: ITH-999999, NOPE-1, CS-0." in (
        str(error)
    )
    assert 'pass missing="skip" to get the others' in str(error)
    assert "ITH-1," not in str(error)


def _listing_of(name: str) -> str:
    return {"request_status_history": "status", "comments": "comment", "approvals": "approval"}.get(
        name, name
    )


@pytest.mark.parametrize("name", sorted(PER_REQUEST))
def test_missing_skip_returns_the_others_and_names_the_skipped(
    name: str, jsm_shared_session: Shared
) -> None:
    session = jsm_shared_session[1]
    helper = PER_REQUEST[name]
    found = [key for key in WITH_GONE if key not in GONE]
    skipping = helper(WITH_GONE, session=session, missing="skip", concurrency=3)
    alone = helper(found, session=session)
    pd.testing.assert_frame_equal(skipping, alone)
    assert skipping.attrs["skipped_keys"] == GONE
    assert alone.attrs["skipped_keys"] == []
    records = helper(WITH_GONE, session=session, missing="skip", raw=True)
    assert isinstance(records, api.Records)
    assert records == helper(found, session=session, raw=True)
    assert records.attrs["skipped_keys"] == GONE


def test_many_unknown_requests_are_counted_beyond_the_first_twenty(
    jsm_shared_session: Shared,
) -> None:
    gone = [f"ITH-{900000 + n}" for n in range(25)]
    with pytest.raises(ApiError, match=r"25 of 26 requests .*ITH-900019 and 5 more\.") as raised:
        api.sla(["ITH-1", *gone], session=jsm_shared_session[1], concurrency=8)
    assert "ITH-900020" not in str(raised.value)
    everyone = api.sla(["ITH-1", *gone], session=jsm_shared_session[1], missing="skip")
    assert everyone.attrs["skipped_keys"] == gone
    assert set(everyone.issue_key) == {"ITH-1"}


def test_only_a_missing_request_is_skipped(jsm_session_factory: Callable[..., Any]) -> None:
    """Another failure (here a 500 for every try) still raises with missing="skip"."""
    sb, session = jsm_session_factory()
    sb.faults.fail(500, every=1)
    with pytest.raises(ApiError) as raised:
        api.sla(["ITH-1", "ITH-999999"], session=session, missing="skip")
    assert raised.value.status == 500


def test_jql_cursor_and_fields(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    issues = api.jql("project = CS ORDER BY created ASC", session=session)
    requests = api.customer_requests("CS", session=session)
    assert isinstance(issues, pd.DataFrame)
    assert isinstance(requests, pd.DataFrame)
    assert len(issues) > 100  # more than one page of the search
    assert sorted(issues.issue_key) == sorted(requests.issue_key)
    assert issues.created.is_monotonic_increasing
    done = issues.status_category == "done"
    assert issues.resolution_date[done].notna().all()
    few = api.jql("project = CS", fields=["summary", "resolution"], session=session, max_rows=7)
    assert isinstance(few, pd.DataFrame)
    assert list(few.columns) == ["issue_id", "issue_key", "summary", "resolution"]
    assert len(few) == 7


def test_max_rows_and_raw(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    records = api.customer_requests(session=session, max_rows=75, raw=True)
    assert isinstance(records, list)
    assert len(records) == 75
    assert isinstance(records[0]["createdDate"], dict)
    frame = api.customer_requests(session=session, max_rows=75)
    assert isinstance(frame, pd.DataFrame)
    assert frame.issue_key.tolist() == [r["issueKey"] for r in records]
    slas = api.sla(KEYS, session=session, raw=True)
    assert {r["issueKey"] for r in slas} == set(KEYS)


def test_frame_follows_any_listing(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    participants = api.frame("request/ITH-2/participant", session=session)
    desks = api.frame("/rest/servicedeskapi/servicedesk", session=session, limit=2)
    assert isinstance(participants, pd.DataFrame)
    assert isinstance(desks, pd.DataFrame)
    assert list(desks.columns) == [
        "id",
        "project_id",
        "project_name",
        "project_key",
        "project_type_key",
    ]
    assert desks.project_key.tolist() == ["ITH", "HR", "FAC", "CS"]
    statuses = api.frame("request/ITH-2/status", session=session)
    assert isinstance(statuses, pd.DataFrame)
    assert str(statuses.status_date.dtype) == "datetime64[ms, UTC]"


def test_the_default_session_is_used_when_none_is_given(
    jsm_shared_session: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("jsm_nb.sessions.session", lambda: jsm_shared_session[1])
    frame = api.service_desks()
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 4


def test_progress_bar_only_for_more_than_one_page(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    session = jsm_shared_session[1]
    api.customer_requests(session=session, max_rows=200, progress=True)
    drawn = capsys.readouterr().err
    assert "rows" in drawn
    assert "pages=4" in drawn
    api.service_desks(session=session, progress=True)
    api.customer_requests(session=session, max_rows=200, progress=False)
    api.customer_requests(session=session, max_rows=200)  # not interactive: no bar
    assert capsys.readouterr().err == ""


def test_interactive_means_a_kernel_or_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    assert progress.interactive()
    monkeypatch.setattr("sys.stderr", None)
    assert not progress.interactive()


def test_no_answer_at_all_is_an_api_error(jsm_session_factory: Callable[..., Any]) -> None:
    sb, session = jsm_session_factory()
    sb.faults.drop(every=1)
    with pytest.raises(ApiError, match="got no answer") as caught:
        api.service_desks(session=session)
    assert caught.value.status == 0
    tries = [n for path, n in sb.stats.requests_per_path.items() if path.endswith("/servicedesk")]
    assert tries == [1 + session.config.max_retries]
