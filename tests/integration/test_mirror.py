"""jsm_nb.sync() and the mirror it keeps, against the sandbox over HTTP.

A mirror is checked against the helpers: what the sync keeps in each table is what the
helpers give for the same query (rows and dtypes), and what a sync stopped half-way
leaves is finished by the next sync into the same mirror as one sync in one go.
"""

from __future__ import annotations

import importlib
import itertools
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import requests
from helpers import assert_no_duplicates, assert_same_mirror

import jsm_nb
from jsm_nb import paging, windows
from jsm_nb.context import CONTEXT
from jsm_nb.mirrors import TABLES
from jsm_nb.mirrors.stage import VERSION, Mirror, Window
from jsm_nb.mirrors.sync import OVERLAP
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.limits import Limits

QUERY = "project in (ITH, HR)"
syncing = importlib.import_module("jsm_nb.mirrors.sync")  # jsm_nb.mirrors.sync is the function
Factory = Callable[..., tuple[Sandbox, jsm_nb.JsmSession]]


def table(path: Path, name: str) -> pd.DataFrame:
    return jsm_nb.mirror_frame(name, path)


@pytest.fixture
def sandbox_session(jsm_session_factory: Factory) -> tuple[Sandbox, jsm_nb.JsmSession]:
    return jsm_session_factory(requests=600)


def test_a_first_sync_keeps_what_the_helpers_give_for_the_query(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    _, session = sandbox_session
    path = tmp_path / "m.duckdb"
    report = jsm_nb.sync(QUERY, what=["comments"], path=path, session=session, progress=False)

    found = jsm_nb.jql(QUERY, session=session, progress=False)
    issues = table(path, "issues")
    assert sorted(issues["issue_id"]) == sorted(found["issue_id"])
    assert issues["issue_id"].is_unique
    assert report.first
    assert report.added == len(found)
    assert report.deleted == 0
    by_id = found.set_index("issue_id").loc[issues["issue_id"]]
    for column in ("issue_key", "summary", "status", "created", "updated", "resolution_date"):
        assert list(issues[column]) == list(by_id[column]), column
        assert issues[column].dtype == found[column].dtype, column

    cycles = table(path, "sla_cycles")
    expected = jsm_nb.sla(jql=QUERY, session=session, progress=False)
    order = ["issue_key", "sla_id", "ongoing", "start_time"]
    pd.testing.assert_frame_equal(
        cycles.drop(columns="issue_id").sort_values(order).reset_index(drop=True),
        expected.sort_values(order).reset_index(drop=True),
    )
    comments = table(path, "comments")
    keys = sorted(found["issue_key"])[:25]
    expected_comments = jsm_nb.comments(keys, session=session, progress=False)
    pd.testing.assert_frame_equal(
        comments[comments["issue_key"].isin(keys)]
        .drop(columns="issue_id")
        .sort_values(["issue_key", "comment_id"])
        .reset_index(drop=True),
        expected_comments.sort_values(["issue_key", "comment_id"]).reset_index(drop=True),
    )
    requests = table(path, "requests").set_index("issue_id")
    searched = jsm_nb.jql(
        QUERY, fields=["Request Type", "Organizations"], session=session, progress=False
    ).set_index("issue_id")
    assert list(requests["request_type"]) == list(searched.loc[requests.index, "request_type"])
    assert list(requests["organizations"]) == list(searched.loc[requests.index, "organizations"])
    rated = table(path, "feedback")
    assert rated["rating"].dtype == "Int64"
    assert rated["rating"].notna().all()
    assert report.rows["issues"] == len(found)


def test_a_first_sync_costs_about_a_point_per_issue(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    sb, session = sandbox_session
    before = sb.limits.stats.snapshot()["points"]
    report = jsm_nb.sync(QUERY, path=tmp_path / "m.duckdb", session=session, progress=False)
    charged = sb.limits.stats.snapshot()["points"] - before
    assert charged <= report.points <= charged + 2  # jsm_nb counts the count's POST as a read
    assert charged <= 1.05 * report.added + 40  # the search's pages, the count, the catalogue
    assert report.estimate is not None
    assert report.estimate.issues == report.added


def _after_the_quota_resets(sb: Sandbox, session: jsm_nb.JsmSession) -> jsm_nb.JsmSession:
    """A session of a new hour: the sandbox's quota refilled (and raised), and a pacer
    that no longer counts the old hour's pool as spent."""
    sb.limits.quota = 1_000_000
    sb.limits.reset()
    CONTEXT.reset()  # the pacer saw the pool spent until the top of the hour
    return jsm_nb.session(session.config)


def _staged_issues(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as halfway:
        return int(halfway.sql("SELECT count(*) FROM _stage_issues").fetchall()[0][0])


def test_a_sync_stopped_by_the_quota_goes_on_where_it_stopped(
    jsm_session_factory: Factory, tmp_path: Path
) -> None:
    sb, session = jsm_session_factory(requests=600, limits=Limits(quota=400))
    stopped, whole = tmp_path / "stopped.duckdb", tmp_path / "whole.duckdb"
    with pytest.raises(jsm_nb.RateLimited):
        jsm_nb.sync(QUERY, what=["comments"], path=stopped, session=session, progress=False)
    assert _staged_issues(stopped) > 0
    assert table(stopped, "issues").empty
    session = _after_the_quota_resets(sb, session)
    report = jsm_nb.sync(path=stopped, session=session, progress=False)
    assert report.resumed
    jsm_nb.sync(QUERY, what=["comments"], path=whole, session=session, progress=False)
    assert_same_mirror(stopped, whole)
    runs = table(stopped, "sync_runs")
    assert list(runs["outcome"]) == ["stopped: RateLimited", "completed"]
    assert runs["resumed_run"].tolist()[1] == runs["run_id"].tolist()[0]


def test_an_incremental_sync_stopped_by_the_quota_goes_on_where_it_stopped(
    jsm_session_factory: Factory, tmp_path: Path
) -> None:
    sb, session = jsm_session_factory(requests=300)
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, what=["comments"], path=path, session=session, progress=False)
    before = table(path, "issues")
    sb.change(updates=40, creates=5, deletes=3, moves=2, resolves=5)
    sb.limits.quota = 60  # the next hour's pool: the changes' page and the id list, not more
    sb.limits.reset()
    with pytest.raises(jsm_nb.RateLimited):  # one request at a time: the changes' page first
        jsm_nb.sync(path=path, session=session, progress=False, concurrency=1)
    assert _staged_issues(path) > 0
    pd.testing.assert_frame_equal(table(path, "issues"), before)  # nothing published yet
    session = _after_the_quota_resets(sb, session)
    report = jsm_nb.sync(path=path, session=session, progress=False)
    assert report.resumed
    assert not report.first
    jsm_nb.sync(QUERY, what=["comments"], path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)
    assert_no_duplicates(path)
    runs = table(path, "sync_runs")
    assert list(runs["outcome"]) == ["completed", "stopped: RateLimited", "completed"]


def test_a_sync_with_nothing_changed_costs_a_few_requests(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    """The user's time zone, the changed issues' count, one page of the overlap's issues
    (those updated in the OVERLAP before the watermark: searched again, but their comments
    not fetched again, since they did not change), and the query's count, which matches
    the mirror's: no id list."""
    sb, session = sandbox_session
    path = tmp_path / "m.duckdb"
    jsm_nb.sync(QUERY, what=["comments"], path=path, session=session, progress=False)
    issues = table(path, "issues")
    overlap = int((issues["updated"] >= issues["updated"].max() - OVERLAP).sum())
    assert 0 < overlap <= 100  # one page
    for _ in range(2):  # right after the first sync, and after one that changed nothing
        before = sb.stats.snapshot()["requests_per_path"]
        report = jsm_nb.sync(path=path, session=session, progress=False)
        after = sb.stats.snapshot()["requests_per_path"]
        made = {p.split("/rest/")[-1]: n - before.get(p, 0) for p, n in after.items()}
        assert {p: n for p, n in made.items() if n} == {
            "api/3/myself": 1,
            "api/3/search/approximate-count": 2,  # the query's (with myself), the changed ones'
            "api/3/search/jql": 1,  # the overlap's page; no id list
        }
        assert not report.full_check
        assert report.requests == 4
        assert (report.added, report.updated, report.deleted) == (0, 0, 0)


def test_a_reader_open_in_the_kernel_sees_the_mirror_before_and_after_a_sync(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    _, session = sandbox_session
    path = tmp_path / "m.duckdb"
    jsm_nb.sync("project = ITH", path=path, session=session, progress=False)
    db = jsm_nb.mirror(path)
    first = db.sql("SELECT count(*) FROM issues").fetchall()[0][0]
    jsm_nb.sync(
        "project in (ITH, HR)", path=path, session=session, progress=False, change_query=True
    )
    assert db.sql("SELECT count(*) FROM issues").fetchall()[0][0] > first
    with pytest.raises(duckdb.Error):
        db.execute("CREATE TABLE mine (a INTEGER)")  # read-only
    db.close()


def test_another_query_is_refused_unless_asked_for(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    _, session = sandbox_session
    path = tmp_path / "m.duckdb"
    jsm_nb.sync("project = ITH", path=path, session=session, progress=False)
    with pytest.raises(jsm_nb.MirrorMismatch, match="change_query=True"):
        jsm_nb.sync("project = HR", path=path, session=session, progress=False)
    with pytest.raises(jsm_nb.MirrorMismatch, match="other fields"):
        jsm_nb.sync(fields=["Asset tag"], path=path, session=session, progress=False)
    report = jsm_nb.sync("project = HR", path=path, session=session, change_query=True)
    assert report.full_check
    fresh = tmp_path / "fresh.duckdb"
    jsm_nb.sync("project = HR", path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)


def test_bad_arguments_are_refused_before_any_request(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    sb, session = sandbox_session
    before = sb.stats.snapshot()
    with pytest.raises(jsm_nb.InvalidArgument, match="'comments'"):
        jsm_nb.sync(QUERY, what=["comment"], path=tmp_path / "m.duckdb", session=session)
    with pytest.raises(jsm_nb.InvalidArgument, match="JQL"):
        jsm_nb.sync("  ", path=tmp_path / "m.duckdb", session=session)
    with pytest.raises(jsm_nb.InvalidArgument, match="is new"):
        jsm_nb.sync(path=tmp_path / "m.duckdb", session=session)
    with pytest.raises(jsm_nb.InvalidArgument, match="no mirror"):
        jsm_nb.mirror(tmp_path / "none.duckdb")
    with pytest.raises(jsm_nb.InvalidArgument, match="tables are"):
        jsm_nb.mirror_frame("issue", tmp_path / "m.duckdb")
    assert sb.stats.snapshot() == before


def test_the_default_mirror_is_private_to_its_user(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession],
) -> None:
    _, session = sandbox_session
    report = jsm_nb.sync("project = ITH", session=session, progress=False)
    assert report.path.parent.stat().st_mode & 0o777 == 0o700
    assert jsm_nb.mirror_frame("issues", session=session).shape[0] == report.added


def test_the_mirror_exports_every_table_as_parquet(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    _, session = sandbox_session
    path = tmp_path / "m.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    written = jsm_nb.mirror_export(tmp_path / "out", path)
    assert [p.name for p in written] == [f"{name}.parquet" for name in TABLES]
    with duckdb.connect() as reading:
        for name in TABLES:
            rows = reading.read_parquet(str(tmp_path / "out" / f"{name}.parquet"))
            assert len(rows.fetchall()) == len(table(path, name)), name


def test_an_issue_deleted_between_the_id_list_and_its_fetch_leaves_the_mirror(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Jira refuses a search by ids naming one that no longer exists (400): the sync finds
    which, and goes on without it."""
    sb, session = sandbox_session
    path = tmp_path / "m.duckdb"
    jsm_nb.sync("project = ITH", path=path, session=session, progress=False)
    gone: list[str] = []
    finish_list = Mirror.finish_list

    def delete_one_of_hr_once_listed(self: Mirror) -> None:
        finish_list(self)
        while not gone:  # until the sandbox deletes an HR issue, not yet mirrored
            changes = sb.change(deletes=1)
            gone.extend(str(c.id) for c in changes.deleted if c.key.startswith("HR-"))

    monkeypatch.setattr(Mirror, "finish_list", delete_one_of_hr_once_listed)
    report = jsm_nb.sync(QUERY, path=path, session=session, progress=False, change_query=True)
    monkeypatch.undo()
    assert report.full_check
    assert gone[0] not in set(table(path, "issues")["issue_id"])
    fresh = tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    deleted_ith = set(table(path, "issues")["issue_id"]) - set(table(fresh, "issues")["issue_id"])
    jsm_nb.sync(path=path, session=session, progress=False, full_check=True)
    assert deleted_ith.isdisjoint(table(path, "issues")["issue_id"])
    assert_same_mirror(path, fresh)


def test_the_id_list_goes_by_windows_and_a_cut_off_one_goes_on_where_it_stopped(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full check lists the ids in windows cut by the ids the mirror holds, several at
    a time; cut off by a dropped network, the next sync lists each window from past the
    ids it staged."""
    sb, session = sandbox_session
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    monkeypatch.setattr(syncing, "_LISTED", 40)  # windows of 40 ids, not 4,500
    sb.change(updates=5, creates=3, deletes=3, moves=3, seed=1)
    staged: list[int] = []
    stage_listed = Mirror.stage_listed
    one_at_a_time = threading.Lock()  # the windows' threads stage their pages

    def cut_off_after_three_pages(self: Mirror, window: int, ids: list[str]) -> None:
        with one_at_a_time:
            if len(staged) == 3:
                raise requests.ConnectionError("the network dropped")
            stage_listed(self, window, ids)
            staged.append(window)

    monkeypatch.setattr(Mirror, "stage_listed", cut_off_after_three_pages)
    with pytest.raises(requests.ConnectionError):
        jsm_nb.sync(path=path, session=session, progress=False, full_check=True)
    monkeypatch.setattr(Mirror, "stage_listed", stage_listed)
    with duckdb.connect(str(path), read_only=True) as db:
        rows = db.sql("SELECT * FROM _sync_list_windows ORDER BY window_id").fetchall()
    found = [Window(*row) for row in rows]
    assert len(found) >= len(table(path, "issues")) // 40
    edges = [(w.low, w.high) for w in found]
    assert edges[0][0] is None  # every id is in one window
    assert edges[-1][1] is None
    assert all(a[1] == b[0] for a, b in itertools.pairwise(edges))
    assert sorted(w.window for w in found if w.after is not None) == sorted(staged)
    asked: list[str] = []
    fetch = syncing._Sync._fetch

    def noted(self: Any, jql: str, fields: str, limit: int, into: Any) -> None:
        if fields == "id":
            asked.append(jql)
        fetch(self, jql, fields, limit, into)

    monkeypatch.setattr(syncing._Sync, "_fetch", noted)
    report = jsm_nb.sync(path=path, session=session, progress=False)
    assert report.resumed
    assert report.full_check
    assert report.deleted >= 3
    assert sorted(asked) == sorted(w.jql(QUERY) for w in found)  # from past their checkpoints
    assert all(f"id > {w.after}" in w.jql(QUERY) for w in found if w.after is not None)
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)
    assert_no_duplicates(path)
    runs = table(path, "sync_runs")
    assert list(runs["outcome"]) == ["completed", "stopped: ConnectionError", "completed"]


def test_a_mirror_of_the_first_layout_syncs_its_stopped_sync_anew(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A mirror of layout 1 (the id list's checkpoint was ``_sync.list_after``) with a sync
    it stopped: the next sync brings it to this layout and starts that sync again."""
    sb, session = sandbox_session
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    sb.change(updates=5, creates=3, deletes=3, seed=2)

    def cut_off(self: Mirror, records: object, window: object) -> None:
        raise requests.ConnectionError("the network dropped")

    monkeypatch.setattr(Mirror, "stage_page", cut_off)
    with pytest.raises(requests.ConnectionError):
        jsm_nb.sync(path=path, session=session, progress=False)
    monkeypatch.undo()
    with duckdb.connect(str(path)) as db:
        db.execute("ALTER TABLE _sync ADD COLUMN list_after BIGINT")
        db.execute("UPDATE _mirror SET version = 1")
    report = jsm_nb.sync(path=path, session=session, progress=False)
    assert not report.resumed
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.sql("SELECT version FROM _mirror").fetchall() == [(VERSION,)]
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)


def test_an_issue_the_search_found_and_the_id_list_missed_stays(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search and the id list run at once: an issue moved into the query after the
    list passed its id is found by the search, and is not taken for deleted."""
    sb, session = sandbox_session
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    mirrored = set(table(path, "issues")["issue_id"])
    moved_in: list[str] = []
    for seed in itertools.count():  # until the sandbox moves an issue into the query
        moves = sb.change(moves=2, seed=seed).moved
        moved_in = [str(c.id) for c in moves if c.key.startswith(("ITH-", "HR-"))]
        moved_in = [i for i in moved_in if i not in mirrored]
        if moved_in:
            break
    stage_listed = Mirror.stage_listed

    def before_the_move(self: Mirror, window: int, ids: list[str]) -> None:
        stage_listed(self, window, [i for i in ids if i not in moved_in])

    monkeypatch.setattr(Mirror, "stage_listed", before_the_move)
    report = jsm_nb.sync(path=path, session=session, progress=False, full_check=True)
    monkeypatch.undo()
    assert report.full_check
    assert set(moved_in) <= set(table(path, "issues")["issue_id"])
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)


def test_a_sync_that_finds_another_time_zone_counts_again_in_it(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    """The count of what changed goes with the time zone's request, its date written in
    the zone the last sync found; a sync that finds the user in another zone counts again
    in it, and searches in it."""
    sb, session = sandbox_session
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    users_zone = paging.get_json(session, "/rest/api/3/myself")["timeZone"]
    elsewhere = "Pacific/Kiritimati" if users_zone != "Pacific/Kiritimati" else "Pacific/Niue"
    with duckdb.connect(str(path)) as db:
        assert db.sql("SELECT time_zone FROM _mirror").fetchall() == [(users_zone,)]
        db.execute("UPDATE _mirror SET time_zone = ?", [elsewhere])  # as if the user moved
    sb.change(updates=5, creates=2, seed=3)
    before = sb.stats.snapshot()["requests_per_path"]
    jsm_nb.sync(path=path, session=session, progress=False)
    after = sb.stats.snapshot()["requests_per_path"]
    counts = sum(n - before.get(p, 0) for p, n in after.items() if p.endswith("approximate-count"))
    assert counts == 3  # the full check's, and what changed: in the old zone, then the user's
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.sql("SELECT time_zone FROM _mirror").fetchall() == [(users_zone,)]
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)


def test_a_loss_hidden_by_an_issue_moved_into_the_query_is_found(
    sandbox_session: tuple[Sandbox, jsm_nb.JsmSession], tmp_path: Path
) -> None:
    """The count that decides the full check (the query's issues up to the mirror's highest
    id) matches the mirror's when an older issue moved into the query as another left it:
    the search finds the one that came, so the sync lists every id after all."""
    sb, session = sandbox_session
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    jsm_nb.sync(QUERY, path=path, session=session, progress=False)
    mirrored = table(path, "issues")["issue_id"].astype(int)
    older = f"({QUERY}) AND id <= {mirrored.max()}"
    sb.change(deletes=3, seed=1)
    for seed in range(2, 200):  # moves, until as many older issues came in as left
        if windows.approximate_count(session, older) == len(mirrored):
            break
        sb.change(moves=1, seed=seed)
    assert windows.approximate_count(session, older) == len(mirrored)
    now = set(jsm_nb.jql(older, session=session, progress=False)["issue_id"])
    assert now != {str(i) for i in mirrored}  # issues did leave: the count hides it
    report = jsm_nb.sync(path=path, session=session, progress=False)
    assert report.full_check
    jsm_nb.sync(QUERY, path=fresh, session=session, progress=False)
    assert_same_mirror(path, fresh)
