"""The sandbox's data changes over time: change batches, churn, and what the search sees.

Each kind of change (update, create, delete, move, resolve) shows in the search, the
approximate count and the per-request reads; unchanged issues answer byte for byte the
same before and after a batch; batches are deterministic from their seed. (The shared
sandbox's changes, and their outliving its restart, are tested in test_sandbox_shared.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from helpers import signed_in_session

import jsm_nb
from jsm_nb import sandbox
from jsm_nb.sandbox import Changes, Sandbox, data

pytestmark = pytest.mark.timeout(120)

JSM = "/rest/servicedeskapi"
SEARCH = "/rest/api/3/search/jql"
COUNT = "/rest/api/3/search/approximate-count"
OPT_IN = {"X-ExperimentalApi": "opt-in"}
DETAILS = ("", "/sla", "/comment", "/status", "/approval", "/participant")


@pytest.fixture
def site() -> Iterator[tuple[Sandbox, jsm_nb.JsmSession]]:
    """A sandbox of 300 requests per site, signed in to its first site."""
    with signed_in_session(requests=300) as started:
        yield started


def get(session: jsm_nb.JsmSession, path: str, **params: Any) -> requests.Response:
    return session.get(path, params=params, headers=OPT_IN if path.endswith("feedback") else {})


def ok(session: jsm_nb.JsmSession, path: str, **params: Any) -> Any:
    answer = get(session, path, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def found(session: jsm_nb.JsmSession, jql: str, **params: Any) -> list[str]:
    """The keys a search finds, every page followed."""
    keys: list[str] = []
    token = None
    while True:
        query = {"jql": jql, "fields": "key", "maxResults": 100, **params}
        body = ok(session, SEARCH, **query, **({"nextPageToken": token} if token else {}))
        keys += [issue["key"] for issue in body["issues"]]
        if body["isLast"]:
            return keys
        token = body["nextPageToken"]


def pages(session: jsm_nb.JsmSession, path: str) -> list[Any]:
    """Every value of a JSM list, page after page."""
    values: list[Any] = []
    while True:
        body = ok(session, path, start=len(values), limit=50)
        values += body["values"]
        if body["isLastPage"]:
            return values


def count(session: jsm_nb.JsmSession, jql: str) -> int:
    answer = session.post(COUNT, json={"jql": jql})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["count"])


def raw(session: jsm_nb.JsmSession, key: str) -> dict[str, bytes]:
    """Every per-request read of ``key``, byte for byte."""
    reads = {tail: get(session, f"{JSM}/request/{key}{tail}").content for tail in DETAILS}
    reads["/feedback"] = get(session, f"{JSM}/request/{key}/feedback").content
    reads["bean"] = get(session, SEARCH, jql=f"key = {key}", fields="*all").content
    return reads


def minute(sb: Sandbox, epoch_ms: int) -> str:
    """``epoch_ms`` as JQL's ``yyyy-MM-dd HH:mm`` in the first site's zone."""
    site = data.site_data(str(sb.sites[0]["id"]), requests=300)
    return datetime.fromtimestamp(epoch_ms / 1000, site.tz).strftime("%Y-%m-%d %H:%M")


# -- the batch record ---------------------------------------------------------------------------


def test_a_batch_lists_what_it_changed_at_a_later_minute(site: Any) -> None:
    sb, _ = site
    first = sb.change(updates=3, creates=2, deletes=1, moves=1, resolves=1, seed=5)
    assert isinstance(first, Changes)
    assert first.site == sb.sites[0]["id"]
    assert first.seed == 5
    assert first.at >= data.NOW_MS + data.MINUTE
    assert (len(first.updated), len(first.created), len(first.deleted)) == (3, 2, 1)
    assert (len(first.moved), len(first.resolved)) == (1, 1)
    touched = [c.id for c in (*first.updated, *first.deleted, *first.moved, *first.resolved)]
    assert len(set(touched)) == len(touched)  # one change per issue in a batch
    second = sb.change(updates=1)
    assert second.at >= first.at + data.MINUTE
    assert second.seed != first.seed or second.at != first.at


def test_batches_are_deterministic_from_their_seed() -> None:
    with sandbox.run(requests=300) as one, sandbox.run(requests=300) as other:
        knobs = {"updates": 4, "creates": 2, "deletes": 2, "moves": 2, "resolves": 2}
        assert one.change(**knobs, seed=9) == other.change(**knobs, seed=9)
        assert one.change(updates=3) == other.change(updates=3)  # seeds default alike
        assert one.change(updates=3, seed=1).updated != one.change(updates=3, seed=2).updated


def test_changes_are_per_site(site: Any) -> None:
    sb, session = site
    other = str(sb.sites[1]["id"])
    made = sb.change(creates=1, site=other)
    assert made.site == other
    assert get(session, f"{JSM}/request/{made.created[0].id}").status_code == 404


# -- each kind, as the reads see it -------------------------------------------------------------


def test_an_update_shows_everywhere(site: Any) -> None:
    sb, session = site
    made = sb.change(updates=6, seed=3)
    keys = {c.key for c in made.updated}
    since = found(session, f'project in (ITH, HR, FAC, CS) AND updated >= "{minute(sb, made.at)}"')
    assert set(since) == keys
    for key in keys:
        dto = ok(session, f"{JSM}/request/{key}", expand="status")
        assert dto["currentStatus"]["statusDate"]["epochMillis"] <= made.at
        comments = ok(session, f"{JSM}/request/{key}/comment")["values"]
        statuses = ok(session, f"{JSM}/request/{key}/status")["values"]
        newest = max(
            [c["created"]["epochMillis"] for c in comments]
            + [s["statusDate"]["epochMillis"] for s in statuses]
        )
        assert newest == made.at  # a transition or a comment at the batch time
        bean = ok(session, SEARCH, jql=f"key = {key}", fields="updated")["issues"][0]
        assert bean["fields"]["updated"].startswith(minute(sb, made.at).replace(" ", "T"))


def test_a_resolve_completes_the_resolution_sla(site: Any) -> None:
    sb, session = site
    made = sb.change(resolves=3, seed=4)
    assert len(made.resolved) == 3
    for issue in made.resolved:
        dto = ok(session, f"{JSM}/request/{issue.key}")
        assert dto["currentStatus"]["status"] == "Resolved"
        slas = ok(session, f"{JSM}/request/{issue.key}/sla")["values"]
        resolution = next(s for s in slas if s["name"] == "Time to resolution")
        assert "ongoingCycle" not in resolution
        last = resolution["completedCycles"][-1]
        assert last["stopTime"]["epochMillis"] == made.at
    assert set(found(session, 'status = Resolved AND updated >= "2026-11-01 00:01"')) >= {
        i.key for i in made.resolved
    }


def test_a_created_request_has_the_next_id_and_key(site: Any) -> None:
    sb, session = site
    before = count(session, "project in (ITH, HR, FAC, CS)")
    ids = [int(i["id"]) for i in ok(session, SEARCH, jql="id > 0", maxResults=5000)["issues"]]
    made = sb.change(creates=2, seed=6)
    assert [c.id for c in made.created] == [max(ids) + 1, max(ids) + 2]
    assert count(session, "project in (ITH, HR, FAC, CS)") == before + 2
    for issue in made.created:
        project, number = issue.key.split("-")
        dto = ok(session, f"{JSM}/request/{issue.key}")
        assert dto["issueId"] == str(issue.id)
        assert dto["createdDate"]["epochMillis"] == made.at
        keys = found(session, f"project = {project}")
        assert max(int(k.split("-")[1]) for k in keys) == int(number)
        assert ok(session, f"{JSM}/request/{issue.key}/sla")["values"]  # a live SLA
        assert found(session, f'created >= "{minute(sb, made.at)}" AND project = {project}')


def test_a_deleted_request_is_gone_everywhere(site: Any) -> None:
    sb, session = site
    before = count(session, "project in (ITH, HR, FAC, CS)")
    made = sb.change(deletes=2, seed=7)
    assert count(session, "project in (ITH, HR, FAC, CS)") == before - 2
    listed = {i["id"] for i in ok(session, SEARCH, jql="id > 0", maxResults=5000)["issues"]}
    for issue in made.deleted:
        assert str(issue.id) not in listed
        for wanted in (issue.key, str(issue.id)):
            answer = get(session, f"{JSM}/request/{wanted}")
            assert answer.status_code == 404
            assert answer.json()["i18nErrorMessage"]["i18nKey"] == (
                "sd.customer.request.does.not.exist"
            )
            assert get(session, f"{JSM}/request/{wanted}/sla").status_code == 404
        refused = get(session, SEARCH, jql=f"key = {issue.key}")
        assert refused.status_code == 400
        assert "does not exist" in refused.json()["errorMessages"][0]
    listing = {r["issueKey"] for r in pages(session, f"{JSM}/request")}
    queued = {
        i["key"]
        for q in range(1, 7)
        for i in pages(session, f"{JSM}/servicedesk/1/queue/{q}/issue")
    }
    assert len(listing) == before - 2
    assert queued
    assert not {i.key for i in made.deleted} & (listing | queued)
    # ids after a deleted one are still found by id
    survivor = max(int(i) for i in listed)
    assert ok(session, f"{JSM}/request/{survivor}")["issueId"] == str(survivor)


def test_a_moved_request_has_a_new_key_and_the_old_one_resolves(site: Any) -> None:
    sb, session = site
    made = sb.change(moves=2, seed=8)
    for issue in made.moved:
        assert issue.old_key is not None
        assert issue.old_key.split("-")[0] != issue.key.split("-")[0]
        by_old = ok(session, f"{JSM}/request/{issue.old_key}")
        assert by_old["issueKey"] == issue.key
        assert by_old["issueId"] == str(issue.id)
        assert ok(session, f"{JSM}/request/{issue.id}")["issueKey"] == issue.key
        assert issue.key in found(session, f"project = {issue.key.split('-')[0]}")
        assert issue.key not in found(session, f"project = {issue.old_key.split('-')[0]}")
        assert found(session, f"key = {issue.old_key}") == [issue.key]
        assert ok(session, f"{JSM}/request/{issue.key}/sla")["values"] is not None


# -- what does not change -----------------------------------------------------------------------


def test_unchanged_issues_answer_byte_for_byte_the_same(site: Any) -> None:
    sb, session = site
    keys = found(session, "project = ITH", maxResults=100)[:40]
    before = {key: raw(session, key) for key in keys}
    made = sb.change(updates=10, creates=3, deletes=3, moves=3, resolves=3, seed=12)
    changed = {c.key for c in (*made.updated, *made.moved, *made.resolved, *made.deleted)}
    changed |= {c.old_key for c in made.moved if c.old_key}
    unchanged = [key for key in keys if key not in changed]
    assert len(unchanged) > 20
    for key in unchanged:
        assert raw(session, key) == before[key], key


def test_updated_since_finds_exactly_the_issues_changed_since(site: Any) -> None:
    sb, session = site
    first = sb.change(updates=5, seed=1)
    second = sb.change(updates=4, creates=2, moves=1, resolves=1, seed=2)
    since_second = {c.key for c in (*second.updated, *second.created, *second.moved)}
    since_second |= {c.key for c in second.resolved}
    jql = f'updated >= "{minute(sb, second.at)}" ORDER BY updated ASC, id ASC'
    assert set(found(session, jql)) == since_second
    since_first = since_second | {c.key for c in first.updated} - {c.old_key for c in second.moved}
    assert set(found(session, f'updated >= "{minute(sb, first.at)}"')) >= since_second
    assert set(found(session, f'updated >= "{minute(sb, first.at)}"')) == since_first | {
        c.key for c in second.moved
    }
    assert not found(session, f'updated > "{minute(sb, second.at)}"')
    assert count(session, f'updated < "{minute(sb, first.at)}"') == count(session, "id > 0") - len(
        set(found(session, f'updated >= "{minute(sb, first.at)}"'))
    )


def test_search_orders_by_updated_and_finds_ids_and_keys(site: Any) -> None:
    sb, session = site
    made = sb.change(updates=5, seed=21)
    body = ok(session, SEARCH, jql="project = ITH ORDER BY updated DESC", fields="updated")
    stamps = [i["fields"]["updated"] for i in body["issues"]]
    assert stamps == sorted(stamps, reverse=True)
    ascending = ok(session, SEARCH, jql="id > 0 ORDER BY updated ASC, id ASC", fields="updated")
    assert [i["fields"]["updated"] for i in ascending["issues"]] == sorted(
        i["fields"]["updated"] for i in ascending["issues"]
    )
    ids = sorted(c.id for c in made.updated)
    listed = ok(session, SEARCH, jql=f"id in ({', '.join(map(str, ids))}) ORDER BY id ASC")
    assert [int(i["id"]) for i in listed["issues"]] == ids
    keys = sorted(c.key for c in made.updated)
    listed = ok(session, SEARCH, jql=f"key in ({', '.join(keys)})", fields="key")
    assert sorted(i["key"] for i in listed["issues"]) == keys
    for bad in ("ORDER BY updated ASC, created DESC", "updated = 2026-11-01", "key > ITH-1"):
        refused = get(session, SEARCH, jql=f"id > 0 {bad}" if bad[0] == "O" else bad)
        assert refused.status_code == 400
        assert set(refused.json()) == {"errorMessages", "errors"}


def test_a_page_after_a_change_continues_from_its_offset(site: Any) -> None:
    """Jira's cursor is no snapshot: a page after a change may repeat or skip an issue."""
    sb, session = site
    jql = "project = ITH ORDER BY updated ASC, id ASC"
    first = ok(session, SEARCH, jql=jql, fields="key", maxResults=20)
    sb.change(updates=5, seed=30)
    second = ok(
        session, SEARCH, jql=jql, fields="key", maxResults=20, nextPageToken=first["nextPageToken"]
    )
    fresh = found(session, jql)
    assert [i["key"] for i in second["issues"]] == fresh[20:40]


# -- churn ---------------------------------------------------------------------------------------


def test_churn_changes_the_data_each_minute_of_wall_time() -> None:
    with signed_in_session(requests=300, churn=6) as (sb, session):
        jql = 'updated >= "2026-11-01 00:01"'
        assert count(session, jql) == 0
        sb.settings.clock_offset += 150  # two and a half minutes pass
        assert count(session, jql) > 0
        assert [len(batch.updated) > 0 for batch in sb.history()] == [True, True]
        assert all(batch.size == 6 for batch in sb.history())


def test_a_search_lag_delays_what_the_search_sees_only() -> None:
    with signed_in_session(requests=300, search_lag=30) as (sb, session):
        made = sb.change(creates=1, updates=2)
        jql = f'updated >= "{minute(sb, made.at)}"'
        assert get(session, f"{JSM}/request/{made.created[0].key}").status_code == 200
        assert count(session, jql) == 0
        assert not found(session, jql)
        sb.settings.clock_offset += 31
        assert count(session, jql) == 3
        assert set(found(session, jql)) == {c.key for c in (*made.created, *made.updated)}


def test_the_command_line_takes_churn_and_a_search_lag() -> None:
    from jsm_nb.sandbox.__main__ import main

    with pytest.raises(SystemExit) as refused:
        main(["--churn", "lots"])
    assert refused.value.code == 2


def test_churn_is_off_by_default_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from jsm_nb.sandbox import churn_wanted

    assert churn_wanted() == 0
    monkeypatch.setenv("JSM_NB_SANDBOX_CHURN", "12")
    assert churn_wanted() == 12
    monkeypatch.setenv("JSM_NB_SANDBOX_CHURN", "lots")
    with pytest.raises(jsm_nb.ConfigError, match="JSM_NB_SANDBOX_CHURN"):
        churn_wanted()
