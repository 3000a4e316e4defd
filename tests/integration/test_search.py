"""Jira search: the approximate count, the progress bar's total it gives, and the
parallel search over windows of issue ids."""

from __future__ import annotations

import re

import pytest

import jsm_nb
from jsm_nb import api, windows
from jsm_nb.errors import ApiError
from jsm_nb.sandbox import Sandbox

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
