"""The sandbox's seeded JSM data and its JSM/Jira endpoints, called without HTTP."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jsm_nb.sandbox import data, jsm
from jsm_nb.sandbox.data import ANALYST_ACCOUNT_ID, SITES, SiteData
from jsm_nb.sandbox.data.changes import Batch, apply
from jsm_nb.sandbox.server import json_reply

JSM = "/rest/servicedeskapi"
OPT_IN = {"X-ExperimentalApi": "opt-in"}


@pytest.fixture(scope="module")
def site() -> SiteData:
    return data.site_data(SITES[0]["id"])


def call(
    site: SiteData,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    account_id: str = ANALYST_ACCOUNT_ID,
    **query: str | int | list[str],
) -> tuple[int, Any]:
    """``GET path`` on ``site``; the status and the body."""
    params = {
        k: [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in query.items()
    }
    status, body, _ = jsm.dispatch(site, "GET", path, params, headers or {}, account_id)
    assert isinstance(body, dict)
    return status, body


def collect(
    site: SiteData,
    path: str,
    id_key: str = "id",
    account_id: str = ANALYST_ACCOUNT_ID,
    **query: str | int | list[str],
) -> list[str]:
    """Every row's id, paging with ``start += size`` until ``isLastPage``."""
    seen: list[str] = []
    start = 0
    while True:
        status, page = call(site, path, account_id=account_id, start=start, **query)
        assert status == 200, page
        values = page["values"]
        assert page["size"] == len(values) <= page["limit"]
        seen += [str(v[id_key]) for v in values]
        if page["isLastPage"]:
            return seen
        assert values, "a page short of the end must not be empty"
        start += len(values)


def open_request(site: SiteData) -> data.Request:
    return next(r for r in site.requests if r.status.category != "DONE")


# --- Paging -----------------------------------------------------------------------------------


def test_paging_through_requests_collects_every_request_once(site: SiteData) -> None:
    keys = collect(site, f"{JSM}/request", "issueKey", limit=37)
    assert len(keys) == len(set(keys)) == len(site.requests)


@pytest.mark.parametrize(
    ("path", "id_key", "expected"),
    [
        (f"{JSM}/servicedesk", "id", lambda s: len(s.desks)),
        (f"{JSM}/servicedesk/ITH/requesttype", "id", lambda s: len(s.desks[0].request_types)),
        (f"{JSM}/servicedesk/1/queue", "id", lambda s: sum(q.desk == 0 for q in s.queues)),
        (f"{JSM}/organization", "id", lambda s: len(s.organizations)),
        (f"{JSM}/servicedesk/4/organization", "id",
         lambda s: len({r.org for r in s.requests if r.desk == 3} - {-1})),
        (f"{JSM}/servicedesk/1/queue/1/issue", "key",
         lambda s: sum(r.desk == 0 and r.status.category != "DONE" for r in s.requests)),
    ],
)  # fmt: skip
def test_paging_collects_each_row_once(
    site: SiteData, path: str, id_key: str, expected: Callable[[SiteData], int]
) -> None:
    for limit in (1, 3, 50):
        rows = collect(site, path, id_key, limit=limit)
        assert len(rows) == len(set(rows)) == expected(site)


def test_paging_links_point_at_the_site_and_exist_only_when_there_is_a_page(
    site: SiteData,
) -> None:
    status, first = call(site, f"{JSM}/request", limit=10, requestStatus="CLOSED_REQUESTS")
    assert status == 200
    links = first["_links"]
    assert links["base"] == f"{site.url}{JSM}"
    assert "prev" not in links
    following = urlsplit(links["next"])
    assert f"{following.scheme}://{following.netloc}" == site.url
    assert parse_qs(following.query) == {
        "requestStatus": ["CLOSED_REQUESTS"],
        "start": ["10"],
        "limit": ["10"],
    }
    _, second = call(site, f"{JSM}/request", start=10, limit=10, requestStatus="CLOSED_REQUESTS")
    assert parse_qs(urlsplit(second["_links"]["prev"]).query)["start"] == ["0"]
    _, last = call(site, f"{JSM}/servicedesk", start=2)
    assert last["isLastPage"] is True
    assert "next" not in last["_links"]
    assert all("api.atlassian.com" not in str(v) for v in links.values())


def test_pages_carry_no_total(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/request")
    assert set(page) == {"_expands", "size", "start", "limit", "isLastPage", "values", "_links"}


@pytest.mark.parametrize(
    ("path", "cap", "headers"),
    [
        (f"{JSM}/request", 50, None),
        (f"{JSM}/servicedesk/1/queue/1/issue", 50, None),
        (f"{JSM}/servicedesk/ITH/customer", 50, OPT_IN),
        (f"{JSM}/organization", 50, None),
        (f"{JSM}/servicedesk", 100, None),
    ],
)
def test_a_limit_above_the_endpoints_maximum_is_silently_capped(
    site: SiteData, path: str, cap: int, headers: dict[str, str] | None
) -> None:
    status, page = call(site, path, headers=headers, limit=1000)
    assert status == 200
    assert page["limit"] == cap
    assert page["size"] <= cap
    if page["size"] == cap:
        assert page["isLastPage"] is False


def test_a_first_page_cut_by_the_cap_shows_the_capped_signature(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/request", limit=200)
    assert (page["size"], page["limit"], page["isLastPage"]) == (50, 50, False)


def test_the_default_limit_is_fifty(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/request")
    assert page["limit"] == 50


@pytest.mark.parametrize(
    ("name", "value"), [("start", "-1"), ("limit", "-5"), ("limit", "0"), ("start", "ten")]
)
def test_bad_paging_parameters_are_refused(site: SiteData, name: str, value: str) -> None:
    status, body = call(site, f"{JSM}/request", **{name: value})
    assert status == 400
    assert set(body) == {"errorMessage", "i18nErrorMessage"}
    assert set(body["i18nErrorMessage"]) == {"i18nKey", "parameters"}


def test_ordering_is_stable_between_calls(site: SiteData) -> None:
    assert call(site, f"{JSM}/request", start=100) == call(site, f"{JSM}/request", start=100)


# --- /request filters and expansions ----------------------------------------------------------


def test_request_status_filters_partition_all_requests(site: SiteData) -> None:
    open_keys = collect(site, f"{JSM}/request", "issueKey", requestStatus="OPEN_REQUESTS")
    closed = collect(site, f"{JSM}/request", "issueKey", requestStatus="CLOSED_REQUESTS")
    assert open_keys
    assert not set(open_keys) & set(closed)
    assert len(open_keys) + len(closed) == len(site.requests)
    assert len(open_keys) == sum(r.status.category != "DONE" for r in site.requests)


def test_requests_come_newest_activity_first(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/request", expand="status")
    latest = [v["status"]["values"][0]["statusDate"]["epochMillis"] for v in page["values"]]
    assert latest == sorted(latest, reverse=True)


def test_requests_filter_by_service_desk_and_request_type(site: SiteData) -> None:
    keys = collect(site, f"{JSM}/request", "issueKey", serviceDeskId=2)
    assert keys
    assert all(k.startswith("HR-") for k in keys)
    request_type = site.request_types[site.desks[1].request_types[0]]
    of_type = collect(
        site, f"{JSM}/request", "issueKey", serviceDeskId=2, requestTypeId=request_type.id
    )
    assert 0 < len(of_type) < len(keys)
    assert len(of_type) == sum(r.request_type == request_type.id - 1 for r in site.requests)


def test_a_request_type_filter_needs_its_service_desk(site: SiteData) -> None:
    assert call(site, f"{JSM}/request", requestTypeId=1)[0] == 400
    assert call(site, f"{JSM}/request", serviceDeskId=2, requestTypeId=1)[0] == 404
    assert call(site, f"{JSM}/request", serviceDeskId=99)[0] == 404


def test_search_term_matches_words_of_the_summary(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/request", searchTerm="VPN", limit=50)
    summaries = [v["requestFieldValues"][0]["value"] for v in page["values"]]
    assert summaries
    assert all("vpn" in s.lower() for s in summaries)


def test_organization_filter(site: SiteData) -> None:
    org = site.organizations[0]
    keys = collect(site, f"{JSM}/request", "issueKey", organizationId=org.id)
    assert len(keys) == sum(r.org == 0 for r in site.requests) > 0
    same = collect(
        site, f"{JSM}/request", "issueKey", organizationId=org.id, requestOwnership="ORGANIZATION"
    )
    assert same == keys
    assert call(site, f"{JSM}/request", requestOwnership="ORGANIZATION")[0] == 400
    assert call(site, f"{JSM}/request", organizationId=999)[0] == 404


def test_request_ownership_is_the_signed_in_users_view(site: SiteData) -> None:
    me = site.by_account[ANALYST_ACCOUNT_ID]
    participated = collect(
        site, f"{JSM}/request", "issueKey", requestOwnership="PARTICIPATED_REQUESTS"
    )
    assert len(participated) == sum(me in r.participants for r in site.requests) > 0
    assert collect(site, f"{JSM}/request", "issueKey", requestOwnership="OWNED_REQUESTS") == []
    approver = collect(site, f"{JSM}/request", "issueKey", requestOwnership="APPROVER")
    assert len(approver) == sum(me in r.approvers for r in site.requests) > 0
    both = collect(
        site,
        f"{JSM}/request",
        "issueKey",
        requestOwnership=["PARTICIPATED_REQUESTS", "APPROVER"],
    )
    assert set(both) == set(participated) | set(approver)
    everything = collect(site, f"{JSM}/request", "issueKey", requestOwnership="ALL_REQUESTS")
    assert len(everything) == len(site.requests)


def test_a_customer_sees_their_own_requests(site: SiteData) -> None:
    reporter = site.requests[0].reporter
    customer = site.users[reporter].account_id
    status, page = call(
        site, f"{JSM}/request", account_id=customer, requestOwnership="OWNED_REQUESTS", limit=50
    )
    assert status == 200
    mine = sum(r.reporter == reporter for r in site.requests)
    assert page["size"] == min(mine, 50)


def test_a_customers_default_view_is_theirs_and_their_organisations(site: SiteData) -> None:
    reporter = next(r.reporter for r in site.requests if r.org >= 0)
    orgs = {k for k, o in enumerate(site.organizations) if reporter in o.members}
    keys = collect(site, f"{JSM}/request", "issueKey", account_id=site.users[reporter].account_id)
    expected = {
        r.key
        for r in site.requests
        if r.reporter == reporter or reporter in r.participants or r.org in orgs
    }
    assert set(keys) == expected
    assert len(expected) < len(site.requests)


@pytest.mark.parametrize(
    ("name", "value"),
    [("requestOwnership", "EVERYTHING"), ("requestStatus", "SOME"), ("serviceDeskId", "x")],
)
def test_bad_request_filters_are_refused(site: SiteData, name: str, value: str) -> None:
    status, body = call(site, f"{JSM}/request", **{name: value})
    assert status == 400
    assert value in str(body["errorMessage"])


def test_expansions_add_their_parts(site: SiteData) -> None:
    key = open_request(site).key
    _, plain = call(site, f"{JSM}/request/{key}")
    expand = "participant,status,sla,requestType,serviceDesk,action,comment"
    _, full = call(site, f"{JSM}/request/{key}", expand=expand)
    added = set(full) - set(plain)
    expected = {"participants", "status", "sla", "requestType", "serviceDesk", "actions"}
    assert added == expected | {"comments"}
    assert full["currentStatus"] == full["status"]["values"][0]


def test_a_request_is_found_by_key_in_any_case_and_by_id(site: SiteData) -> None:
    request = site.requests[42]
    by_key = call(site, f"{JSM}/request/{request.key.lower()}")
    by_id = call(site, f"{JSM}/request/{request.issue_id}")
    assert by_key == by_id
    assert by_key[1]["issueKey"] == request.key


# --- Per-request lists ------------------------------------------------------------------------


def test_status_history_is_most_recent_first(site: SiteData) -> None:
    request = next(r for r in site.requests if len(r.timeline) >= 4)
    _, page = call(site, f"{JSM}/request/{request.key}/status")
    names = [v["status"] for v in page["values"]]
    assert names == [data.STATUSES[s].name for s, _ in reversed(request.timeline)]
    categories = {v["statusCategory"] for v in page["values"]}
    assert categories <= {"NEW", "INDETERMINATE", "DONE"}


def test_comments_filter_public_and_internal(site: SiteData) -> None:
    request = next(r for r in site.requests if any(not c.public for c in data.comments(site, r)))
    path = f"{JSM}/request/{request.key}/comment"
    everything = collect(site, path)
    public = collect(site, path, internal="false")
    internal = collect(site, path, public="false")
    assert public
    assert internal
    assert sorted(public + internal) == sorted(everything)
    assert collect(site, path, public="false", internal="false") == []
    assert call(site, path, public="maybe")[0] == 400


def test_sla_cycles_cover_breached_paused_and_completed(site: SiteData) -> None:
    seen: Counter[str] = Counter()
    for request in site.requests[-600:]:
        _, page = call(site, f"{JSM}/request/{request.key}/sla")
        for sla in page["values"]:
            assert sla["name"] in ("Time to first response", "Time to resolution")
            for cycle in sla["completedCycles"]:
                seen["completed"] += 1
                assert cycle["stopTime"]["epochMillis"] >= cycle["startTime"]["epochMillis"]
            ongoing = sla.get("ongoingCycle")
            if ongoing:
                seen["ongoing"] += 1
                seen["paused"] += ongoing["paused"]
                if ongoing["breached"]:
                    seen["breached"] += 1
                    assert ongoing["remainingTime"]["millis"] < 0
                    assert ongoing["remainingTime"]["friendly"].startswith("-")
    assert all(seen[k] > 0 for k in ("completed", "ongoing", "paused", "breached")), seen


def test_approvals_show_decisions(site: SiteData) -> None:
    decisions: Counter[str] = Counter()
    for request in (r for r in site.requests if r.approvers):
        _, page = call(site, f"{JSM}/request/{request.key}/approval")
        decisions.update(v["finalDecision"] for v in page["values"])
    assert set(decisions) == {"approved", "declined", "pending"}
    no_approval = next(r for r in site.requests if not r.approvers)
    _, page = call(site, f"{JSM}/request/{no_approval.key}/approval")
    assert page["values"] == []


def test_queues_count_and_list_their_requests(site: SiteData) -> None:
    _, queues = call(site, f"{JSM}/servicedesk/ITH/queue", includeCount="true")
    for queue in queues["values"]:
        issues = collect(site, f"{JSM}/servicedesk/ITH/queue/{queue['id']}/issue", "key")
        assert len(issues) == queue["issueCount"]
    _, uncounted = call(site, f"{JSM}/servicedesk/ITH/queue")
    assert all("issueCount" not in q for q in uncounted["values"])


def test_queue_issues_are_jira_beans_with_the_queues_fields(site: SiteData) -> None:
    _, page = call(site, f"{JSM}/servicedesk/1/queue/1/issue", limit=5)
    for issue in page["values"]:
        assert set(issue) == {"id", "key", "self", "fields"}
        assert set(issue["fields"]) == {
            "issuetype", "summary", "reporter", "assignee", "status", "priority", "created"
        }  # fmt: skip
        assert issue["fields"]["created"][10] == "T"
        assert issue["fields"]["status"]["statusCategory"]["key"] != "done"


def test_assigned_to_me_depends_on_who_asks(site: SiteData) -> None:
    mine = next(q for q in site.queues if q.kind == "mine" and q.desk == 0)
    path = f"{JSM}/servicedesk/1/queue/{mine.id}/issue"
    assert collect(site, path, "key")
    _, nobody = call(site, path, account_id="unknown-account")
    assert nobody["values"] == []


def test_desk_customers_and_their_query(site: SiteData) -> None:
    path = f"{JSM}/servicedesk/1/customer"
    status, _ = call(site, path)
    assert status == 412
    everyone = []
    start = 0
    while True:
        _, page = call(site, path, headers=OPT_IN, start=start)
        everyone += [v["accountId"] for v in page["values"]]
        if page["isLastPage"]:
            break
        start += page["size"]
    reporters = {site.users[r.reporter].account_id for r in site.requests if r.desk == 0}
    assert sorted(everyone) == sorted(reporters)
    name = site.users[site.requests[0].reporter].display_name
    _, found = call(site, path, headers={"x-experimentalapi": "opt-in"}, query=name.split()[1])
    assert name in [v["displayName"] for v in found["values"]]


def test_organizations_filter_by_member(site: SiteData) -> None:
    member = site.organizations[0].members[0]
    account = site.users[member].account_id
    _, page = call(site, f"{JSM}/organization", accountId=account)
    assert [v["id"] for v in page["values"]] == [str(site.organizations[0].id)]


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        f"{JSM}/nothing-here",
        f"{JSM}/request/NOPE-1",
        f"{JSM}/request/99999999/sla",
        f"{JSM}/servicedesk/77",
        f"{JSM}/servicedesk/ITH/queue/999/issue",
        "/rest/api/3/issue/ITH-1",
    ],
)
def test_unknown_things_are_404_with_atlassians_body(site: SiteData, path: str) -> None:
    status, body = call(site, path)
    assert status == 404
    assert isinstance(body["errorMessage"], str)
    assert isinstance(body["i18nErrorMessage"]["i18nKey"], str)
    assert isinstance(body["i18nErrorMessage"]["parameters"], list)


@pytest.mark.parametrize("path", [f"{JSM}/servicedesk/1/customer", f"{JSM}/requesttype"])
def test_experimental_endpoints_need_the_opt_in_header(site: SiteData, path: str) -> None:
    status, body = call(site, path)
    assert status == 412
    assert "X-ExperimentalApi: opt-in" in str(body["errorMessage"])
    assert call(site, path, headers={"X-ExperimentalApi": "opt-in"})[0] == 200


def test_only_get_is_allowed(site: SiteData) -> None:
    status, _, headers = jsm.dispatch(site, "POST", f"{JSM}/request", {}, {}, ANALYST_ACCOUNT_ID)
    assert status == 405
    assert headers == {"Allow": "GET"}


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", f"{JSM}/request", "read:servicedesk-request"),
        ("GET", f"{JSM}/request/ITH-1/comment", "read:servicedesk-request"),
        ("GET", f"{JSM}/request/ITH-1/sla", "read:jira-work"),
        ("GET", f"{JSM}/servicedesk/1/queue", "read:jira-work"),
        ("GET", f"{JSM}/servicedesk/1/queue/3/issue", "read:jira-work"),
        ("GET", "/rest/api/3/search/jql", "read:jira-work"),
        ("GET", f"{JSM}/organization", "manage:servicedesk-customer"),
        ("GET", f"{JSM}/servicedesk/1/customer", "manage:servicedesk-customer"),
        ("GET", f"{JSM}/unknown", "read:servicedesk-request"),
        ("POST", f"{JSM}/request", "write:servicedesk-request"),
    ],
)
def test_required_scopes(method: str, path: str, scope: str) -> None:
    assert jsm.required_scopes(method, path) == frozenset({scope})


# --- Jira search ------------------------------------------------------------------------------

SEARCH = "/rest/api/3/search/jql"


def search_all(site: SiteData, jql: str, **query: str | int) -> list[Any]:
    """Every issue of a search, following ``nextPageToken`` until ``isLast``."""
    issues: list[Any] = []
    token: dict[str, str] = {}
    while True:
        status, page = call(site, SEARCH, jql=jql, **query, **token)
        assert status == 200, page
        issues += page["issues"]
        if page["isLast"]:
            assert "nextPageToken" not in page
            return issues
        token = {"nextPageToken": str(page["nextPageToken"])}


def test_search_cursor_collects_every_match_once(site: SiteData) -> None:
    jql = 'project in (ITH, hr) AND created >= "2026-03-01" ORDER BY created ASC'
    issues = search_all(site, jql, maxResults=333)
    ids = [i["id"] for i in issues]
    assert len(ids) == len(set(ids))
    start = int(datetime(2026, 3, 1, tzinfo=site.tz).timestamp() * 1000)
    expected = [str(r.issue_id) for r in site.requests if r.desk in (0, 1) and r.created >= start]
    assert ids == expected
    assert all(set(i) == {"id"} for i in issues)


def test_search_with_fields_returns_beans_and_caps_the_page(site: SiteData) -> None:
    status, page = call(site, SEARCH, jql="project = ITH", fields="summary,status", maxResults=1000)
    assert status == 200
    issues = page["issues"]
    assert len(issues) == jsm.SEARCH_CAP_FIELDS
    assert set(issues[0]) == {"id", "key", "self", "fields"}
    assert set(issues[0]["fields"]) == {"summary", "status"}
    _, ids = call(site, SEARCH, jql="project = ITH", maxResults=10_000)
    assert len(ids["issues"]) == min(jsm.SEARCH_CAP_IDS, len(site.desk_requests[0]))


def test_search_orders_newest_first_by_default_and_filters_status(site: SiteData) -> None:
    issues = search_all(site, 'project = CS AND status = "Waiting for customer"', fields="*all")
    assert issues
    created = [i["fields"]["created"] for i in issues]
    assert created == sorted(created, reverse=True)
    assert {i["fields"]["status"]["name"] for i in issues} == {"Waiting for customer"}
    assert issues[0]["fields"]["description"]["type"] == "doc"


@pytest.mark.parametrize(
    "jql",
    [
        "",
        "ORDER BY created DESC",
        "project = NOPE",
        "assignee = currentUser()",
        "project = ITH OR project = HR",
        'status = "Nonsense"',
        "created >= yesterday",
        "project = ITH ORDER BY priority",
        "project = (",
        "project = ITH AND",
    ],
)
def test_jql_outside_the_subset_is_refused_with_jiras_body(site: SiteData, jql: str) -> None:
    status, body = call(site, SEARCH, jql=jql)
    assert status == 400
    assert set(body) == {"errorMessages", "errors"}
    assert body["errors"] == {}
    assert len(body["errorMessages"]) == 1


@pytest.fixture(scope="module")
def churned(site: SiteData) -> SiteData:
    """``site`` after a batch that deletes, moves and creates requests."""
    return apply(site, Batch(site.cloudid, 5, updates=20, creates=30, deletes=40, moves=40))[0]


@pytest.mark.parametrize(
    "bounds",
    [
        "id >= 10500 AND id < 10620",
        "id > 9000 AND id <= 10003",
        "id >= 99999",
        "id = 10777",
        "id in ({0}, {1}, {2}) AND id < {1}",
        "key in ({3}, {4}) AND id >= {1}",
    ],
)
@pytest.mark.parametrize("desks", ["project in (ITH, HR) AND ", ""])
@pytest.mark.parametrize("changed", [False, True])
def test_an_id_range_finds_what_a_filter_of_every_request_finds(
    site: SiteData, churned: SiteData, bounds: str, desks: str, changed: bool
) -> None:
    version = churned if changed else site
    live = [version.requests[i] for i in version.live]
    ids = [live[at].issue_id for at in (100, 200, 300)]
    named = bounds.format(*ids, live[50].key, live[250].key)
    query = jsm.jql.parse_jql(version, f"{desks}{named} ORDER BY id")
    every = [
        r.position
        for r in version.requests
        if r.position not in version.gone
        and (query.desks is None or r.desk in query.desks)
        and (query.issues is None or r.issue_id in query.issues)
        and (query.id_from is None or r.issue_id >= query.id_from)
        and (query.id_before is None or r.issue_id < query.id_before)
    ]
    assert jsm.jql.jql_matches(version, query) == tuple(every)


def test_a_page_token_from_another_query_is_refused(site: SiteData) -> None:
    _, page = call(site, SEARCH, jql="project = ITH", maxResults=5)
    token = str(page["nextPageToken"])
    assert call(site, SEARCH, jql="project = HR", nextPageToken=token)[0] == 400
    assert call(site, SEARCH, jql="project = ITH", nextPageToken="garbage")[0] == 400


# --- The data ---------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data_and_another_seed_does_not() -> None:
    cloudid = SITES[1]["id"]
    first = data.build_site(cloudid, seed=7, requests=800)
    again = data.build_site(cloudid, seed=7, requests=800)
    other = data.build_site(cloudid, seed=8, requests=800)
    assert first.requests == again.requests
    assert first.users == again.users
    assert first.requests != other.requests
    page = call(first, f"{JSM}/request", expand="sla,comment,status,participant")
    assert page == call(again, f"{JSM}/request", expand="sla,comment,status,participant")
    assert data.site_data(cloudid, seed=7, requests=800) is data.site_data(
        cloudid, seed=7, requests=800
    )


def test_sites_differ_and_answer_in_their_own_zone() -> None:
    first, second = (data.site_data(s["id"], requests=300) for s in SITES[:2])
    assert first.requests != second.requests
    _, page = call(second, f"{JSM}/request/{second.requests[0].key}")
    created = page["createdDate"]
    assert created["iso8601"].endswith("+1000")
    assert created["jira"][19] == "."


def test_requests_span_the_year_before_the_fixed_now(site: SiteData) -> None:
    created = [r.created for r in site.requests]
    assert created == sorted(created)
    assert data.NOW_MS - 366 * data.DAY < created[0] < created[-1] < data.NOW_MS
    weekdays = Counter(datetime.fromtimestamp(t / 1000, site.tz).weekday() for t in created)
    assert weekdays[1] > 3 * weekdays[6]


def test_building_in_threads_gives_one_site() -> None:
    built: list[SiteData] = []
    threads = [
        threading.Thread(target=lambda: built.append(data.site_data(SITES[2]["id"], seed=3)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(s) for s in built}) == 1


def test_a_hundred_thousand_requests_build_and_page() -> None:
    big = data.site_data(SITES[2]["id"], requests=100_000)
    assert len(big.requests) == 100_000
    status, page = call(big, f"{JSM}/request", start=99_990, expand="sla")
    assert status == 200
    assert page["size"] == 10
    assert page["isLastPage"] is True


def test_bad_site_arguments_are_refused() -> None:
    with pytest.raises(KeyError):
        data.site_data("no-such-cloud")
    with pytest.raises(ValueError, match="zero or more"):
        data.site_data(SITES[0]["id"], requests=-1)


@pytest.mark.parametrize(
    "body",
    [
        {"summary": 'Café ☕ \u2028 "quoted" \\ \x01', "votes": 3, "ratio": 0.1, "tags": ("a",)},
        {"big": 123456789012345678901234567890},  # beyond 64 bits: orjson refuses it
        {7: "a key that is not a text"},  # orjson refuses it too
    ],
)
def test_a_json_reply_is_compact_utf8_json_of_its_body(body: dict[Any, Any]) -> None:
    reply = json_reply(200, body)
    expected = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(reply.body) == json.loads(expected)
    assert reply.body.decode("utf-8") == expected
    assert reply.value is body
