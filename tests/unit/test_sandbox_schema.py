"""The sandbox's JSM answers validate against Atlassian's published JSM OpenAPI schemas.

The spec is Atlassian's JSM Cloud OpenAPI 3.0.1 document, copied into ``tests/data`` so a
fresh clone needs nothing beside it. Each answer is checked against the schema that the
spec gives for its path and status (``ErrorResponse`` for errors the spec does not list);
every schema forbids properties it does not name, so an invented field fails too. Jira's
search is not in the JSM spec: it is checked against the shape of Jira's
``SearchAndReconcileResults`` and ``ErrorCollection``, written out below.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from jsm_nb.sandbox import data, jsm
from jsm_nb.sandbox.data import ANALYST_ACCOUNT_ID, SITES, Request, SiteData
from jsm_nb.sandbox.data.changes import Batch, Changes, apply

SPEC = Path(__file__).parents[1] / "data" / "jsm-servicedesk-openapi.json"
JSM = "/rest/servicedeskapi"
OPT_IN = {"X-ExperimentalApi": "opt-in"}
ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


def json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: ``nullable: true`` becomes a ``null`` type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in node:
        converted["type"] = [node["type"], "null"]
    return converted


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def site() -> SiteData:
    return data.site_data(SITES[0]["id"], seed=11, requests=3000)


def schema_for(spec: dict[str, Any], path: str, status: int) -> dict[str, Any]:
    """The schema the spec gives for ``GET path`` answering ``status``."""
    for template, item in spec["paths"].items():
        if "get" in item and re.fullmatch(re.sub(r"\{\w+\}", "[^/]+", template), path):
            response = item["get"]["responses"].get(str(status))
            if response is None:
                assert status >= 400, f"the spec has no {status} answer for {template}"
                return ERROR
            schema: dict[str, Any] = response["content"]["application/json"]["schema"]
            return schema
    raise AssertionError(f"the spec has no GET {path}")


def assert_valid(spec: dict[str, Any], schema: dict[str, Any], body: object) -> None:
    document = {**json_schema(schema), "components": json_schema(spec["components"])}
    errors = sorted(Draft4Validator(document).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def answers(
    site: SiteData, path: str, query: dict[str, str], headers: dict[str, str], pages: int = 3
) -> Iterator[tuple[int, Any]]:
    """The first ``pages`` answers of ``path``, paging as a client does."""
    start = 0
    for _ in range(pages):
        params = {k: [v] for k, v in query.items()} | {"start": [str(start)]}
        status, body, _ = jsm.dispatch(site, "GET", path, params, headers, ANALYST_ACCOUNT_ID)
        yield status, body
        if status != 200 or "isLastPage" not in body or body["isLastPage"]:
            return
        start += body["size"]


def pick(site: SiteData, wanted: Callable[[Request], bool]) -> str:
    return next(r.key for r in reversed(site.requests) if wanted(r))


def resolution_cycle(site: SiteData, request: Request) -> data.SlaCycle | None:
    return data.slas(site, request)[1].cycle


# Requests that exercise every optional part of the answers.
INTERESTING: dict[str, Callable[[SiteData, Request], bool]] = {
    "paused": lambda s, r: bool((c := resolution_cycle(s, r)) and c.paused),
    "breached and open": lambda s, r: bool(
        (c := resolution_cycle(s, r)) and c.stop is None and c.breached
    ),
    "breached and done": lambda s, r: bool((c := resolution_cycle(s, r)) and c.stop and c.breached),
    "awaiting approval": lambda s, r: r.timeline[-1][0] == data.WAITING_FOR_APPROVAL,
    "declined": lambda s, r: r.timeline[-1][0] == data.DECLINED,
    "with participants": lambda s, r: len(r.participants) > 1,
    "with internal notes": lambda s, r: any(not c.public for c in data.comments(s, r)),
    "email hidden": lambda s, r: s.users[r.reporter].email is None,
}
EXPANDS = ("", "serviceDesk,requestType", "participant,status,sla",
           "comment,comment.renderedBody,action,attachment")  # fmt: skip
PER_REQUEST = ("", "/status", "/sla", "/comment", "/approval", "/participant")


def request_cases() -> Iterator[tuple[str, str, dict[str, str]]]:
    for kind in INTERESTING:
        for suffix in PER_REQUEST:
            yield kind, suffix, {}
        yield kind, "", {"expand": ",".join(EXPANDS)}
        yield kind, "/comment", {"expand": "renderedBody", "public": "false"}


@pytest.mark.parametrize(("kind", "suffix", "query"), list(request_cases()))
def test_per_request_answers_match_the_spec(
    spec: dict[str, Any], site: SiteData, kind: str, suffix: str, query: dict[str, str]
) -> None:
    key = pick(site, lambda r: INTERESTING[kind](site, r))
    path = f"{JSM}/request/{key}{suffix}"
    for status, body in answers(site, path, query, {}):
        assert status == 200
        assert_valid(spec, schema_for(spec, path, status), body)


LISTS = [
    (f"{JSM}/servicedesk", {"limit": "3"}, {}),
    (f"{JSM}/servicedesk/ITH", {}, {}),
    (f"{JSM}/servicedesk/2", {}, {}),
    (f"{JSM}/servicedesk/1/requesttype", {"limit": "4"}, {}),
    (f"{JSM}/servicedesk/HR/requesttype", {"searchQuery": "leave"}, {}),
    (f"{JSM}/requesttype", {"limit": "10"}, OPT_IN),
    *[(f"{JSM}/request", {"limit": "20", "expand": e}, {}) for e in EXPANDS],
    (f"{JSM}/request", {"requestStatus": "OPEN_REQUESTS", "expand": "sla"}, {}),
    (f"{JSM}/request", {"requestOwnership": "APPROVER", "expand": "participant"}, {}),
    (f"{JSM}/servicedesk/1/queue", {"includeCount": "true", "limit": "4"}, {}),
    (f"{JSM}/servicedesk/CS/queue", {}, {}),
    *[(f"{JSM}/servicedesk/1/queue/{q}/issue", {"limit": "25"}, {}) for q in range(1, 7)],
    (f"{JSM}/organization", {"limit": "8"}, {}),
    (f"{JSM}/servicedesk/4/organization", {"limit": "8"}, {}),
    (f"{JSM}/servicedesk/1/customer", {"limit": "40"}, OPT_IN),
    (f"{JSM}/servicedesk/1/customer", {"query": "a"}, OPT_IN),
    (f"{JSM}/servicedesk/1/requesttype/1/field", {}, {}),
    (f"{JSM}/servicedesk/HR/requesttype/9/field", {}, {}),
    (f"{JSM}/servicedesk/1/requesttypegroup", {"limit": "2"}, {}),
    (f"{JSM}/knowledgebase/article", {"query": "password", "limit": "1"}, {}),
    (f"{JSM}/knowledgebase/article", {"query": "no such words"}, {}),
    (f"{JSM}/servicedesk/HR/knowledgebase/article", {"query": "leave", "highlight": "true"}, {}),
    (f"{JSM}/servicedesk/1/queue/3", {"includeCount": "true"}, {}),
    (f"{JSM}/servicedesk/CS/queue/20", {}, {}),
    (f"{JSM}/info", {}, {}),
    (f"{JSM}/organization/1/user", {"limit": "3"}, {}),
]


@pytest.mark.parametrize(("path", "query", "headers"), LISTS)
def test_list_answers_match_the_spec(
    spec: dict[str, Any],
    site: SiteData,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
) -> None:
    for status, body in answers(site, path, query, headers):
        assert status == 200
        assert_valid(spec, schema_for(spec, path, status), body)


ERRORS = [
    (f"{JSM}/request/NOPE-1", {}, {}, 404),
    (f"{JSM}/request/ITH-1/sla", {"limit": "-1"}, {}, 400),
    (f"{JSM}/request", {"requestStatus": "SOMETIMES"}, {}, 400),
    (f"{JSM}/servicedesk/99/queue", {}, {}, 404),
    (f"{JSM}/servicedesk/1/customer", {}, {}, 412),
    (f"{JSM}/requesttype", {}, {}, 412),
    (f"{JSM}/no/such/thing", {}, {}, 404),
    (f"{JSM}/request/ITH-1/feedback", {}, {}, 412),
    (f"{JSM}/request/NOPE-1/feedback", {}, OPT_IN, 404),
    (f"{JSM}/servicedesk/1/requesttype/9/field", {}, {}, 404),
    (f"{JSM}/servicedesk/99/requesttypegroup", {}, {}, 404),
    (f"{JSM}/knowledgebase/article", {}, {}, 400),
    (f"{JSM}/servicedesk/1/knowledgebase/article", {}, {}, 400),
    (f"{JSM}/servicedesk/1/queue/99", {}, {}, 404),
    (f"{JSM}/organization/9999/user", {}, {}, 404),
]


@pytest.mark.parametrize(("path", "query", "headers", "expected"), ERRORS)
def test_error_answers_are_error_responses(
    spec: dict[str, Any],
    site: SiteData,
    path: str,
    query: dict[str, str],
    headers: dict[str, str],
    expected: int,
) -> None:
    params = {k: [v] for k, v in query.items()}
    status, body, _ = jsm.dispatch(site, "GET", path, params, headers, ANALYST_ACCOUNT_ID)
    assert status == expected
    assert_valid(spec, ERROR, body)


SEARCH_RESULTS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["issues", "isLast"],
    "properties": {
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[0-9]+$"},
                    "key": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"},
                    "self": {"type": "string"},
                    "fields": {"type": "object"},
                },
            },
        },
        "nextPageToken": {"type": "string"},
        "isLast": {"type": "boolean"},
    },
}
ERROR_COLLECTION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["errorMessages", "errors"],
    "properties": {
        "errorMessages": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


@pytest.mark.parametrize(
    ("query", "schema"),
    [
        ({"jql": "project = ITH", "maxResults": "500"}, SEARCH_RESULTS),
        ({"jql": "project = CS ORDER BY created ASC", "fields": "*all"}, SEARCH_RESULTS),
        ({"jql": 'status = "In progress"', "fields": "summary,assignee"}, SEARCH_RESULTS),
        ({"jql": "project = ITH OR project = CS"}, ERROR_COLLECTION),
        ({"jql": "ORDER BY created"}, ERROR_COLLECTION),
    ],
)
def test_jira_search_answers_have_jiras_shape(
    site: SiteData, query: dict[str, str], schema: dict[str, Any]
) -> None:
    params = {k: [v] for k, v in query.items()}
    status, body, _ = jsm.dispatch(site, "GET", "/rest/api/3/search/jql", params, {}, "x")
    assert (status == 200) == (schema is SEARCH_RESULTS)
    Draft4Validator(schema).validate(body)


JIRA_SPEC = SPEC.with_name("jira-platform-openapi-subset.json")
JSM_FIELD_VALUES = {
    "customfield_10010": None,  # checked part by part below
    "customfield_10012": {
        "type": "array",
        "items": {"$ref": "#/components/schemas/OrganizationDTO"},
    },
    "customfield_10020": {"$ref": "#/components/schemas/SlaInformationDTO"},
    "customfield_10021": {"$ref": "#/components/schemas/SlaInformationDTO"},
}


@pytest.fixture(scope="module")
def jira_spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(JIRA_SPEC.read_text(encoding="utf-8"))
    return loaded


def search_page(site: SiteData, fields: str, jql: str = "project = ITH") -> list[dict[str, Any]]:
    query = {"jql": [jql], "fields": [fields], "maxResults": ["100"]}
    status, body, _ = jsm.dispatch(site, "GET", "/rest/api/3/search/jql", query, {}, "x")
    assert status == 200, body
    issues: list[dict[str, Any]] = body["issues"]
    return issues


def test_field_catalogue_matches_jiras_spec(site: SiteData, jira_spec: dict[str, Any]) -> None:
    status, body, _ = jsm.dispatch(site, "GET", "/rest/api/3/field", {}, {}, "x")
    assert status == 200
    schema = jira_spec["paths"]["/rest/api/3/field"]["get"]["responses"]["200"]
    assert_valid(jira_spec, schema["content"]["application/json"]["schema"], body)
    plugins = {f["name"]: f["schema"].get("custom") for f in body}
    assert plugins["Time to resolution"] == "com.atlassian.servicedesk:sd-sla-field"
    assert plugins["Request Type"] == "com.atlassian.servicedesk:vp-origin"
    assert plugins["Satisfaction"] == "com.atlassian.servicedesk:sd-request-feedback"
    assert plugins["Organizations"] == "com.atlassian.servicedesk:sd-customer-organizations"
    assert plugins["Request participants"] == "com.atlassian.servicedesk:sd-request-participants"
    assert sorted(f["id"] for f in body if f["name"] == "Team") == [
        "customfield_10101",
        "customfield_10102",
    ]


def test_search_pages_with_every_field_match_jiras_spec(
    site: SiteData, jira_spec: dict[str, Any]
) -> None:
    status, body, _ = jsm.dispatch(
        site,
        "GET",
        "/rest/api/3/search/jql",
        {"jql": ["project = ITH"], "fields": ["*all"]},
        {},
        "x",
    )
    assert status == 200
    schema = jira_spec["paths"]["/rest/api/3/search/jql"]["get"]["responses"]["200"]
    assert_valid(jira_spec, schema["content"]["application/json"]["schema"], body)


def test_jsm_field_values_match_the_jsm_spec(site: SiteData, spec: dict[str, Any]) -> None:
    issues = search_page(site, ",".join(JSM_FIELD_VALUES))
    for issue in issues:
        fields = issue["fields"]
        for field_id, schema in JSM_FIELD_VALUES.items():
            if schema is not None:
                assert_valid(spec, schema, fields[field_id])
        request_type = fields["customfield_10010"]
        assert set(request_type) == {"_links", "requestType", "currentStatus"}
        assert_valid(
            spec, {"$ref": "#/components/schemas/RequestTypeDTO"}, request_type["requestType"]
        )
        status = {"$ref": "#/components/schemas/CustomerRequestStatusDTO"}
        assert_valid(spec, status, request_type["currentStatus"])


def test_sla_fields_hold_the_cycles_of_the_sla_listing(site: SiteData) -> None:
    issues = search_page(site, "customfield_10020,customfield_10021", "project = HR")
    assert issues
    for issue in issues:
        path = f"{JSM}/request/{issue['key']}/sla"
        status, body, _ = jsm.dispatch(site, "GET", path, {}, {}, ANALYST_ACCOUNT_ID)
        assert status == 200
        fields = issue["fields"]
        assert body["values"] == [fields["customfield_10020"], fields["customfield_10021"]]


def test_feedback_answers_match_the_spec_and_the_satisfaction_field(
    site: SiteData, spec: dict[str, Any]
) -> None:
    issues = search_page(site, "customfield_10013", "project = HR")
    assert any(i["fields"]["customfield_10013"] is None for i in issues)
    assert any(i["fields"]["customfield_10013"] is not None for i in issues)
    for issue in issues:
        path = f"{JSM}/request/{issue['key']}/feedback"
        status, body, _ = jsm.dispatch(site, "GET", path, {}, OPT_IN, ANALYST_ACCOUNT_ID)
        assert status == 200
        assert_valid(spec, schema_for(spec, path, status), body)
        satisfaction = issue["fields"]["customfield_10013"] or {}
        assert body == {"type": "csat"} | {
            k: v for k, v in satisfaction.items() if k in ("rating", "comment")
        }


def test_satisfaction_has_a_rating_for_some_resolved_requests_only(site: SiteData) -> None:
    issues = search_page(site, "customfield_10013,customfield_10014,resolutiondate")
    rated = [i["fields"] for i in issues if i["fields"]["customfield_10013"] is not None]
    assert rated
    assert len(rated) < len(issues)
    for fields in rated:
        assert fields["resolutiondate"] is not None
        assert fields["customfield_10014"] is not None
        assert fields["customfield_10013"]["rating"] in range(1, 6)
        assert set(fields["customfield_10013"]) <= {"_links", "rating", "comment"}


def test_satisfaction_comments_follow_the_rating(site: SiteData) -> None:
    praise = {"Great help, thanks!", "Quick and friendly, thank you."}
    complaints = {"Nobody replied for days.", "I had to explain the problem twice."}
    answers = [data.feedback(site, r) for r in site.requests]
    commented = [a for a in answers if a is not None and a.comment is not None]
    assert {a.rating for a in commented} == {1, 2, 3, 4, 5}
    assert not [a for a in commented if a.rating <= 2 and a.comment in praise]
    assert not [a for a in commented if a.rating >= 4 and a.comment in complaints]


COUNT = "/rest/api/3/search/approximate-count"


def count_answer(site: SiteData, body: object) -> tuple[int, Any]:
    """``POST /search/approximate-count`` with ``body`` as JSON."""
    status, answer, _ = jsm.dispatch(
        site, "POST", COUNT, {}, {}, "x", payload=json.dumps(body).encode()
    )
    return status, answer


def test_approximate_counts_match_jiras_spec_and_the_search(
    site: SiteData, jira_spec: dict[str, Any]
) -> None:
    status, body = count_answer(site, {"jql": "project = ITH AND status = Resolved"})
    assert status == 200
    schema = jira_spec["paths"][COUNT]["post"]["responses"]["200"]
    assert_valid(jira_spec, schema["content"]["application/json"]["schema"], body)
    jql = "project = ITH AND status = Resolved"
    found = jsm.dispatch(
        site, "GET", "/rest/api/3/search/jql", {"jql": [jql], "maxResults": ["5000"]}, {}, "x"
    )[1]
    assert found["isLast"]
    assert body["count"] == len(found["issues"]) > 0


@pytest.mark.parametrize(
    "body",
    [{"jql": "ORDER BY created"}, {"jql": 42}, {"jql": "project = ITH", "max": 1}, ["jql"], {}],
)
def test_approximate_count_refusals_are_jiras_errors(site: SiteData, body: object) -> None:
    status, answer = count_answer(site, body)
    assert status == 400
    Draft4Validator(ERROR_COLLECTION).validate(answer)


def test_approximate_count_takes_only_post(site: SiteData) -> None:
    assert jsm.required_scopes("POST", COUNT) == {"read:jira-work"}
    status, _, headers = jsm.dispatch(site, "GET", COUNT, {"jql": ["project = ITH"]}, {}, "x")
    assert status == 405
    assert headers["Allow"] == "POST"


@pytest.fixture(scope="module")
def changed(site: SiteData) -> tuple[SiteData, Changes]:
    """``site`` after one batch of every kind of change."""
    batch = Batch(site.cloudid, 3, updates=20, creates=5, deletes=3, moves=5, resolves=5)
    return apply(site, batch)


def test_changed_requests_answers_match_the_spec(
    spec: dict[str, Any], jira_spec: dict[str, Any], changed: tuple[SiteData, Changes]
) -> None:
    version, made = changed
    touched = [*made.updated, *made.created, *made.moved, *made.resolved]
    for issue in touched:
        for suffix in PER_REQUEST:
            path = f"{JSM}/request/{issue.key}{suffix}"
            for status, body in answers(version, path, {}, {}):
                assert status == 200, body
                assert_valid(spec, schema_for(spec, path, status), body)
        path = f"{JSM}/request/{issue.key}/feedback"
        status, body, _ = jsm.dispatch(version, "GET", path, {}, OPT_IN, ANALYST_ACCOUNT_ID)
        assert status == 200
    for issue in made.deleted:
        path = f"{JSM}/request/{issue.key}"
        status, body, _ = jsm.dispatch(version, "GET", path, {}, {}, ANALYST_ACCOUNT_ID)
        assert status == 404
        assert_valid(spec, ERROR, body)
    keys = ", ".join(issue.key for issue in touched)
    query = {"jql": [f"key in ({keys}) ORDER BY updated DESC"], "fields": ["*all"]}
    status, body, _ = jsm.dispatch(version, "GET", "/rest/api/3/search/jql", query, {}, "x")
    assert status == 200, body
    assert len(body["issues"]) == len(touched)
    schema = jira_spec["paths"]["/rest/api/3/search/jql"]["get"]["responses"]["200"]
    assert_valid(jira_spec, schema["content"]["application/json"]["schema"], body)
    for status, body in answers(version, f"{JSM}/request", {"limit": "50", "expand": "sla"}, {}):
        assert_valid(spec, schema_for(spec, f"{JSM}/request", status), body)
