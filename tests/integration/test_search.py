"""Jira search: the approximate count, the progress bar's total it gives, and the
parallel search over windows of issue ids."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pandas.testing as pd_testing
import pytest

import jsm_nb
from jsm_nb import api, windows
from jsm_nb.errors import ApiError
from jsm_nb.sandbox import Sandbox, data
from jsm_nb.sandbox.data import Request, SiteData
from jsm_nb.sandbox.jsm import search as sandbox_search

Shared = tuple[Sandbox, jsm_nb.JsmSession]
COUNT = "/rest/api/3/search/approximate-count"


def _lines(drawn: str) -> list[str]:
    """The states a terminal bar went through (tqdm redraws with carriage returns)."""
    return [line.strip() for line in re.split(r"[\r\n]+", drawn) if line.strip()]


def _counts(sb: Sandbox) -> int:
    """The approximate counts the sandbox has answered."""
    return sum(n for path, n in sb.stats.requests_per_path.items() if path.endswith(COUNT))


def test_the_approximate_count_is_the_number_of_issues_found(jsm_shared_session: Shared) -> None:
    session = jsm_shared_session[1]
    jql = "project = ITH AND status = Resolved"
    found = api.jql(jql, fields="key", session=session, progress=False)
    assert windows.approximate_count(session, jql) == len(found) > 0


def test_an_approximate_count_of_bad_jql_says_why(jsm_shared_session: Shared) -> None:
    with pytest.raises(ApiError, match="Unbounded JQL") as raised:
        windows.approximate_count(jsm_shared_session[1], "ORDER BY created")
    assert raised.value.status == 400


def test_a_search_bar_counts_issues_towards_the_approximate_count(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    sb, session = jsm_shared_session
    before = _counts(sb)
    found = api.jql("project = ITH", session=session, concurrency=1, progress=True)
    assert _counts(sb) == before + 1
    last = _lines(capsys.readouterr().err)[-1]
    assert "Issues found by JQL: 100%" in last, last
    assert f" {len(found)}/{len(found)} " in last, last
    assert found.attrs["jsm_nb"]["requests"] == 1 + -(-len(found) // 100)  # count + pages


def test_an_sla_search_bar_has_the_count_as_its_total(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    sb, session = jsm_shared_session
    before = _counts(sb)
    api.sla(jql="project = ITH", session=session, concurrency=1, progress=True)
    assert _counts(sb) == before + 1
    issues = windows.approximate_count(session, "project = ITH")
    last = _lines(capsys.readouterr().err)[-1]
    assert f" {issues}/{issues} " in last, last


def test_a_bar_stopped_by_max_rows_counts_towards_max_rows(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    api.jql("project = ITH", session=jsm_shared_session[1], max_rows=150, progress=True)
    last = _lines(capsys.readouterr().err)[-1]
    assert " 150/150 " in last, last
    assert "100%" in last, last


SEARCH_PATH = "/rest/api/3/search/jql"


def _searches(sb: Sandbox) -> int:
    """The search pages the sandbox has answered."""
    return sum(n for path, n in sb.stats.requests_per_path.items() if path.endswith(SEARCH_PATH))


@pytest.mark.parametrize(
    ("jql", "fields"),
    [
        ("project = ITH ORDER BY id", "key"),
        ("project = ITH ORDER BY id DESC", api.DEFAULT_JQL_FIELDS),
        ("project = ITH AND status in (Resolved, Closed)", "summary"),
    ],
    ids=["keys", "fields-desc", "no-order-by"],
)
def test_a_parallel_search_finds_the_sequential_searchs_issues_in_order(
    jsm_shared_session: Shared, jql: str, fields: str
) -> None:
    sb, session = jsm_shared_session
    ordered = jql if "ORDER BY" in jql else f"{jql} ORDER BY id"
    sequential = api.jql(ordered, fields=fields, session=session, concurrency=1, progress=False)
    before = _searches(sb)
    parallel = api.jql(jql, fields=fields, session=session, concurrency=4, progress=False)
    windowed = _searches(sb) - before
    assert list(parallel.issue_id) == list(sequential.issue_id)
    pd_testing.assert_frame_equal(parallel, sequential)
    assert parallel.issue_id.is_unique
    if fields != "key":  # 100 issues a page: split into windows (the two edge ids, then each)
        assert windowed >= -(-len(sequential) // 100) + 2


def test_capped_pages_in_a_parallel_search_lose_no_issue(
    jsm_shared_session: Shared, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = jsm_shared_session[1]
    sequential = api.jql("project = ITH ORDER BY id", session=session, concurrency=1)
    monkeypatch.setattr(sandbox_search, "SEARCH_CAP_FIELDS", 7)  # each window: many pages
    parallel = api.jql("project = ITH", session=session, concurrency=4, progress=False)
    assert list(parallel.issue_id) == list(sequential.issue_id)


def test_a_parallel_search_while_issues_change_finds_each_issue_once(
    jsm_session_factory: Callable[..., Shared], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, session = jsm_session_factory(requests=900)  # a site of its own: its data is changed
    jql = "project = ITH ORDER BY id"
    sequential = api.jql(jql, fields="status", session=session, concurrency=1)
    original = sandbox_search.jql_matches
    changed: list[tuple[SiteData, tuple[Request, ...]]] = []

    def matches_while_changing(site: SiteData, query: Any) -> tuple[int, ...]:
        """Before each search page: a few more issues updated (a later status)."""
        if not changed:
            changed.append((site, site.requests))
        done = len(changed) * 25
        requests = list(site.requests)
        for i in range(done, min(done + 25, len(requests))):
            request = requests[i]
            later = (len(data.STATUSES) - 1, request.timeline[-1][1] + 1)
            requests[i] = request._replace(timeline=(*request.timeline, later))
        changed.append((site, tuple(requests)))
        object.__setattr__(site, "requests", tuple(requests))
        return original(site, query)

    monkeypatch.setattr(sandbox_search, "jql_matches", matches_while_changing)
    try:
        parallel = api.jql(jql, fields="status", session=session, concurrency=4, progress=False)
    finally:
        if changed:
            object.__setattr__(changed[0][0], "requests", changed[0][1])
    assert len(changed) > 5  # the issues changed between the pages
    assert list(parallel.issue_id) == list(sequential.issue_id)
    assert parallel.issue_id.is_unique
    assert (parallel.status != sequential.status).any()  # the changes were seen


def test_a_search_ordered_by_another_field_runs_page_after_page(
    jsm_shared_session: Shared,
) -> None:
    sb, session = jsm_shared_session
    jql = "project = ITH ORDER BY created ASC"
    sequential = api.jql(jql, session=session, concurrency=1, progress=False)
    before = _searches(sb)
    found = api.jql(jql, session=session, concurrency=4, progress=False)
    assert _searches(sb) - before == -(-len(sequential) // 100)  # the pages, nothing more
    assert list(found.issue_id) == list(sequential.issue_id)
    assert list(found.created) == sorted(found.created)


QUOTED = 'summary ~ "order by id" AND project = ITH'


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = ITH", ("project = ITH", False)),
        ("project = ITH order by ID", ("project = ITH", False)),
        ("project = ITH ORDER BY id DESC", ("project = ITH", True)),
        ("project = ITH ORDER BY created", None),
        ("project = ITH ORDER BY id, created", None),
        (QUOTED, (QUOTED, False)),  # ORDER BY in a string is no ORDER BY
    ],
)
def test_only_a_jql_ordered_by_id_or_not_at_all_is_split(
    jql: str, expected: tuple[str, bool] | None
) -> None:
    assert windows.id_order(jql) == expected


@pytest.mark.parametrize(
    ("low", "high", "count"), [(10001, 10999, 412), (5, 5, 900), (1, 3, 10**6)]
)
def test_windows_cover_every_id_once(low: int, high: int, count: int) -> None:
    found = windows.split(low, high, count, 100)
    assert found[0].low is None
    assert found[-1].high is None
    assert all(a.high == b.low for a, b in itertools.pairwise(found))
    assert len(found) == min(-(-count // 100), high - low + 1)


def test_a_parallel_sla_search_finds_the_sequential_searchs_cycles(
    jsm_shared_session: Shared,
) -> None:
    sb, session = jsm_shared_session
    jql = "project = ITH ORDER BY id"
    sequential = api.sla(jql=jql, session=session, concurrency=1, progress=False)
    before = _searches(sb)
    parallel = api.sla(jql=jql, session=session, concurrency=4, progress=False)
    assert _searches(sb) - before > -(-sequential.issue_key.nunique() // 100)  # windows
    pd_testing.assert_frame_equal(parallel, sequential)


def test_a_stopped_parallel_search_goes_on_from_its_windows(
    jsm_session_factory: Callable[..., Shared], monkeypatch: pytest.MonkeyPatch
) -> None:
    sb, session = jsm_session_factory(requests=2000, config={"max_retries": 0})
    jql = "project = ITH ORDER BY id"
    before = _searches(sb)
    whole = api.jql(jql, session=session, concurrency=4, progress=False)
    pages = _searches(sb) - before  # the two edges' and the windows'
    assert pages > 8
    original = sandbox_search.memo
    answered = []

    def answered_then_failing(compute: Any, *args: Any) -> tuple[int, ...]:
        """Counts and search pages answered until a few windows are done, then failures."""
        answered.append(args)
        if len(answered) == 6:  # the count, the two edges, three windows' pages
            sb.faults.fail(500, paths=f"*{SEARCH_PATH}")
        return original(compute, *args)

    monkeypatch.setattr(sandbox_search, "memo", answered_then_failing)
    with pytest.raises(ApiError):
        api.jql(jql, session=session, concurrency=4, progress=False)
    sb.faults.clear()
    resumed = api.jql(jql, session=session, concurrency=4, progress=False)
    pd_testing.assert_frame_equal(resumed, whole)
    # Counted and the edges found again, but no window's page fetched twice.
    assert len(answered) == 1 + pages + 3
    assert resumed.attrs["jsm_nb"]["requests"] >= whole.attrs["jsm_nb"]["requests"]
