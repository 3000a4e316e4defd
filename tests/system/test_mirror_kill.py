"""jsm_nb.sync() killed (SIGKILL) at random moments, many times over, then finished; and
two syncs of one mirror from two processes at once.

A victim process syncs the mirror and is killed after a seeded random delay, again and
again, until one finishes. After every kill the mirror opens, its published tables hold
the mirror before the sync or after it (never a half-way state), the watermark is the
newest ``updated`` they hold, and nothing a victim committed to the staging is fetched
again by the next: no issue-search page answers an issue already staged, no page of the
id list an id already listed, and no issue's comments are fetched twice once staged. The
finished mirror equals a fresh sync into a new file. The first sync is killed over and
over, then the sandbox changes and each incremental sync is killed too, until the kills
add up. Each kill comes a seeded random delay after the victim starts its sync, or after
it reaches a phase drawn at random (the search's windows, and the id list's of a full
check with them; the comments; the publishing), so that every phase is hit.

Victims are forked from a forkserver that has jsm_nb and DuckDB imported, so each costs
milliseconds; they reach the sandbox in the test process over HTTP on loopback. Each
records the phase it is in (a hook on the sync's phases), so that the report says where
the kills landed; the publishing transaction is held a few milliseconds open (before its
COMMIT), and each page of issues or ids a few milliseconds before it is staged, so that
kills land there too. (The hooks name the sync's private phase methods: a test that fails
with an AttributeError in its victims wants them renamed here.)

Figures (``-s`` shows them; ``-m slow`` runs 100 kills):
``python -m pytest tests/system/test_mirror_kill.py -s``.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
import json
import multiprocessing
import random
import re
import threading
import time
from collections.abc import Iterator
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

import duckdb
import pytest
from helpers import assert_no_duplicates, assert_same_mirror

import jsm_nb
from jsm_nb import paging, windows
from jsm_nb.context import CONTEXT
from jsm_nb.mirrors import TABLES
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.server import App, Reply, Request

pytestmark = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="POSIX only (SIGKILL)"
)

QUERY = "project in (ITH, HR)"
WHAT = ("comments",)
REQUESTS = 520  # per site: about 315 issues in QUERY, so the first sync's search has windows
CONCURRENCY = paging.DEFAULT_CONCURRENCY
LISTED = 30  # the mirror's ids a window of the id list is cut for: so it has several
# A kill's phase, each in turn in a shuffled order ("any": from the start), and the
# longest a victim runs on in it before the kill (seconds). A first sync's victims are not
# let run to the publishing, which would end the first sync at once:
FIRST_TARGETS = ("plan", "any", "search", "details")
TARGETS = ("plan", "any", "any", "search", "search", "details", "publish")
LONGEST = {"any": 1.0, "plan": 0.05, "search": 0.2, "details": 0.3, "publish": 0.04}
_HOLDS = {  # the victims' slow steps, so that kills land there too: method -> seconds
    "_replace_fields": 0.03,  # in the publishing transaction, before its COMMIT
    "stage_listed": 0.05,  # each page of the id list (one a window) before it is staged
    "stage_page": 0.03,  # each page of issues before it is staged
}
READY_TIMEOUT = 60.0  # the first victim waits for the forkserver to import jsm_nb
PHASES = ("plan", "search", "by id", "details", "publish", "done")
_HOOKED = {  # the sync's phase methods -> the phase each starts
    "_search": "search",  # and the id list of a full check, at the same time
    "_fetch_missing": "by id",
    "_details": "details",
}
_COMMENTS = re.compile(r"/request/(?P<issue>[^/]+)/comment$")


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "jsm_nb.mirrors.sync", "duckdb", "pandas"])
    return context


class Answered:
    """What the sandbox answered, in order: the issue ids of each issue-search page, and of
    each page of the id list (not the one-id look-ups of a window's edges), and the issue
    of each comments listing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pages: list[frozenset[str]] = []
        self.listed: list[frozenset[str]] = []
        self.comments: list[str] = []

    def wrap(self, app: App, name: str) -> App:
        """The sandbox's ``wrap=``: the API server's answers are noted."""
        if name != "api":
            return app

        def noted(request: Request) -> Reply:
            reply = app(request)
            if reply.status == 200 and not reply.drop:
                self._note(request, reply)
            return reply

        return noted

    def _note(self, request: Request, reply: Reply) -> None:
        found = _COMMENTS.search(request.path)
        if found:
            with self._lock:
                self.comments.append(found["issue"])
            return
        if not request.path.endswith(windows.SEARCH):
            return
        asked: dict[str, Any] = {k: v[-1] for k, v in request.query.items()}
        if request.body:
            asked |= json.loads(request.body)
        ids_only = asked.get("fields") in ("id", ["id"])
        if ids_only and int(asked.get("maxResults", 0)) == 1:
            return  # a window's edge
        ids = frozenset(str(issue["id"]) for issue in json.loads(reply.body)["issues"])
        with self._lock:
            (self.listed if ids_only else self.pages).append(ids)

    def mark(self) -> tuple[int, int, int]:
        with self._lock:
            return len(self.pages), len(self.listed), len(self.comments)

    def since(self, mark: tuple[int, int, int]) -> Since:
        with self._lock:
            return Since(self.pages[mark[0] :], self.listed[mark[1] :], self.comments[mark[2] :])


@dataclasses.dataclass(frozen=True)
class Since:
    """What the sandbox answered since a mark (as :class:`Answered` keeps it)."""

    pages: list[frozenset[str]]
    listed: list[frozenset[str]]
    comments: list[str]


@dataclasses.dataclass
class Victims:
    sb: Sandbox
    config: jsm_nb.Config
    session: jsm_nb.JsmSession
    answered: Answered


@pytest.fixture
def victims() -> Iterator[Victims]:
    answered = Answered()
    with Sandbox(requests=REQUESTS, wrap=answered.wrap) as sb:
        config = sb.sign_in()
        try:
            yield Victims(sb, config, jsm_nb.session(config), answered)
        finally:
            CONTEXT.forget_sessions(config)


# -- the victim (runs in a forked process) -------------------------------------------------------


def _victim(
    config: jsm_nb.Config,
    path: Path,
    timeout: float,
    phase: Any,
    ready: Any,
    told: Any,
) -> None:
    """Sync the mirror at ``path``, keeping ``phase`` at the index of the phase it is in;
    put what it ended with (``"done"``, or the error) in ``told``."""
    from jsm_nb.mirrors import stage

    syncing = importlib.import_module("jsm_nb.mirrors.sync")  # the name is the function's

    def entering(name: str, method: Any) -> Any:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            phase.value = PHASES.index(name)
            return method(*args, **kwargs)

        return hooked

    for method, name in _HOOKED.items():
        setattr(syncing._Sync, method, entering(name, getattr(syncing._Sync, method)))
    syncing._LISTED = LISTED
    stage.Mirror.publish = entering("publish", stage.Mirror.publish)  # type: ignore[method-assign]
    for name, seconds in _HOLDS.items():
        setattr(stage.Mirror, name, _held(getattr(stage.Mirror, name), seconds))
    session = jsm_nb.session(config)
    ready.set()
    try:
        jsm_nb.sync(QUERY, what=WHAT, path=path, session=session, progress=False, timeout=timeout)
    except jsm_nb.JsmError as error:
        told.put(f"{type(error).__name__}: {error}")
        return
    phase.value = PHASES.index("done")
    told.put("done")


def _held(method: Any, seconds: float) -> Any:
    def held(*args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return method(*args, **kwargs)

    return held


@dataclasses.dataclass
class Started:
    process: Any
    phase: Any
    told: Any


def _start(
    context: ForkServerContext, victims: Victims, path: Path, timeout: float = 600.0
) -> Started:
    phase, ready, told = context.Value("i", 0), context.Event(), context.Queue()
    process = context.Process(
        target=_victim, args=(victims.config, path, timeout, phase, ready, told), daemon=True
    )
    process.start()
    deadline = time.monotonic() + READY_TIMEOUT
    while not ready.wait(0.05):
        assert process.is_alive(), "the victim died before its sync"
        assert time.monotonic() < deadline, "the victim never started its sync"
    return Started(process, phase, told)


# -- what the mirror holds after a kill --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Published:
    """The published tables' rows (a digest per table), and the newest ``updated``."""

    digest: tuple[tuple[str, int, int | None], ...]
    watermark: Any


NOTHING = Published(tuple((name, 0, None) for name in TABLES if name != "sync_runs"), None)
"""A mirror before its first sync (its tables not yet made, or empty)."""


def _digest(db: duckdb.DuckDBPyConnection, name: str) -> tuple[str, int, int | None]:
    """The table ``name``'s rows, and the sum of their hashes."""
    sql = f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{name}" t'  # noqa: S608 (one of TABLES)
    count, hashed = db.sql(sql).fetchall()[0]
    return name, int(count), hashed


def _published(path: Path) -> Published:
    """What the mirror at ``path`` publishes, read as a user's reader would (a table not yet
    created reads as empty); the watermark the last completed run recorded must be the
    newest ``updated`` of the issues."""
    db = jsm_nb.mirror(path)
    try:
        made = {r[0] for r in db.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "issues" not in made:
            return NOTHING
        digest = tuple(_digest(db, name) for name in TABLES if name != "sync_runs")
        newest = db.sql("SELECT max(updated) FROM issues").fetchall()[0][0]
        recorded = db.sql(
            "SELECT watermark FROM sync_runs WHERE outcome = 'completed' "
            "ORDER BY run_id DESC LIMIT 1"
        ).fetchall()
    finally:
        db.close()
    assert (recorded[0][0] if recorded else None) == newest, "the watermark is not the data's"
    return Published(digest, newest)


@dataclasses.dataclass(frozen=True)
class Staged:
    """The issue ids staged, those the id list staged, and those whose comments are."""

    issues: frozenset[str] = frozenset()
    listed: frozenset[str] = frozenset()
    comments: frozenset[str] = frozenset()


def _staged(path: Path) -> Staged:
    with duckdb.connect(str(path), read_only=True) as db:
        made = {r[0] for r in db.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "_stage_done" not in made:
            return Staged()

        def ids(table: str) -> frozenset[str]:
            return frozenset(r[0] for r in db.sql(f"SELECT issue_id FROM {table}").fetchall())  # noqa: S608

        return Staged(ids("_stage_issues"), ids("_stage_listed"), ids("_stage_done"))


@dataclasses.dataclass
class Tally:
    kills: int = 0
    phases: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    delays: list[float] = dataclasses.field(default_factory=list)
    pages: int = 0  # issue-search pages answered
    listed: int = 0  # pages of the id list answered
    refetched_pages: int = 0  # pages all of whose issues an earlier page of the sync answered
    refetched_comments: int = 0


def _sync_killed(
    context: ForkServerContext,
    victims: Victims,
    path: Path,
    rng: random.Random,
    tally: Tally,
    before: Published,
    targets: tuple[str, ...],
    most: int,
) -> Published:
    """Sync ``path``, killing the victims at random moments until one finishes (or ``most``
    are killed, and the next is let finish); check the mirror after each kill; return what
    it publishes at the end."""
    states: list[Published] = []
    seen_ids: set[str] = set()
    seen_comments: set[str] = set()
    staged = Staged()
    aims = ["search"]  # the first victim's: it alone searches (the others go on from it)
    while True:
        mark = victims.answered.mark()
        victim = _start(context, victims, path)
        aims = aims or rng.sample(targets, len(targets))  # each target in turn, shuffled
        aim = aims.pop()
        target, delay = PHASES.index(aim) if aim in PHASES else 0, rng.uniform(0, LONGEST[aim])
        while victim.phase.value < target and victim.process.is_alive():
            time.sleep(0.001)
        victim.process.join(delay if len(states) < most else None)
        phase = PHASES[victim.phase.value]
        victim.process.kill()  # (if it has not finished)
        victim.process.join(10)
        assert victim.process.exitcode in (0, -9)
        killed = victim.process.exitcode == -9
        answered = victims.answered.since(mark)
        for page in answered.pages:  # nothing staged before the victim started is fetched again
            assert not page & staged.issues, "a staged issue fetched again"
            tally.refetched_pages += bool(page) and page <= seen_ids
            seen_ids |= page
        for page in answered.listed:
            assert not page & staged.listed, "a listed id listed again"
        assert not set(answered.comments) & staged.comments, "staged comments fetched again"
        tally.refetched_comments += len(set(answered.comments) & seen_comments)
        seen_comments |= set(answered.comments)
        tally.pages += len(answered.pages)
        tally.listed += len(answered.listed)
        if not killed:
            assert victim.told.get(timeout=10) == "done"
            break
        tally.kills += 1
        tally.phases[phase] += 1
        tally.delays.append(delay)
        states.append(_published(path))
        if states[-1] != before:  # killed after its COMMIT: the next victim syncs anew
            seen_ids, seen_comments = set(), set()
        staged = _staged(path)
    final = _published(path)
    for state in states:
        assert state in (before, final), "a kill left the mirror half-published"
    return final


def _report(label: str, tally: Tally) -> None:
    delays = sorted(tally.delays)
    print(
        f"\n{label}: {tally.kills} kills, by phase {dict(tally.phases)}; delays "
        f"{delays[0]:.3f}..{delays[-1]:.3f} s (median {delays[len(delays) // 2]:.3f}); "
        f"{tally.pages} issue-search pages, {tally.refetched_pages} of them again, "
        f"{tally.refetched_comments} comment listings again; {tally.listed} pages of id lists"
    )


def _kill_runs(
    context: ForkServerContext, victims: Victims, tmp_path: Path, kills: int, seed: int
) -> Tally:
    """The first sync killed until it finishes, then changes and incremental syncs killed,
    until ``kills`` kills; the mirror checked against a fresh sync after the first sync
    and at the end."""
    rng = random.Random(seed)
    print(f"\nseed {seed}")
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    tally = Tally()
    clean = victims.answered.mark()
    jsm_nb.sync(QUERY, what=WHAT, path=fresh, session=victims.session, progress=False)
    first_pages = len(victims.answered.since(clean).pages)
    state = _sync_killed(context, victims, path, rng, tally, NOTHING, FIRST_TARGETS, kills // 2)
    assert tally.pages <= first_pages + CONCURRENCY * tally.kills
    _report(f"first sync ({first_pages} pages in one go)", tally)
    assert_same_mirror(path, fresh)
    rounds = 0
    while tally.kills < kills:
        rounds += 1
        updates = 150 if rounds == 1 else 12  # the first: a search of two pages, one window
        victims.sb.change(updates=updates, creates=2, deletes=1, moves=1, resolves=2, seed=rounds)
        state = _sync_killed(
            context, victims, path, rng, tally, state, TARGETS, kills - tally.kills
        )
    _report(f"with {rounds} incremental syncs after it, in all", tally)
    fresh.unlink()
    jsm_nb.sync(QUERY, what=WHAT, path=fresh, session=victims.session, progress=False)
    assert_same_mirror(path, fresh)
    assert_no_duplicates(path)
    # What a kill loses: a page in flight per window; the listings in flight, and the one
    # being staged.
    assert tally.refetched_pages <= CONCURRENCY * tally.kills
    assert tally.refetched_comments <= (CONCURRENCY + 1) * tally.kills
    return tally


def test_a_sync_killed_at_random_moments_finishes_into_a_fresh_mirror(
    forkserver: ForkServerContext, victims: Victims, tmp_path: Path
) -> None:
    tally = _kill_runs(forkserver, victims, tmp_path, kills=24, seed=14)
    assert set(tally.phases) >= {"plan", "search", "details", "publish"}


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_hundred_random_kills(
    forkserver: ForkServerContext, victims: Victims, tmp_path: Path
) -> None:
    tally = _kill_runs(forkserver, victims, tmp_path, kills=100, seed=15)
    assert set(tally.phases) >= {"plan", "search", "details", "publish"}


# -- two syncs at once ----------------------------------------------------------------------------


def test_two_processes_syncing_one_mirror_take_turns(
    forkserver: ForkServerContext, victims: Victims, tmp_path: Path
) -> None:
    """A second sync waits for the first; one with a short timeout says who holds it."""
    path, fresh = tmp_path / "m.duckdb", tmp_path / "fresh.duckdb"
    first = _start(forkserver, victims, path)
    deadline = time.monotonic() + READY_TIMEOUT
    while first.phase.value < PHASES.index("search") and time.monotonic() < deadline:
        time.sleep(0.005)  # until the first holds the mirror
    waiting = _start(forkserver, victims, path)
    hasty = _start(forkserver, victims, path, timeout=0.1)
    said = hasty.told.get(timeout=30)
    assert said.startswith("MirrorBusy"), said
    assert f"process {first.process.pid}" in said
    assert first.phase.value < PHASES.index("done")  # it was still the first's
    for started in (first, waiting):
        assert started.told.get(timeout=60) == "done"
        started.process.join(10)
        assert started.process.exitcode == 0
    jsm_nb.sync(QUERY, what=WHAT, path=fresh, session=victims.session, progress=False)
    assert_same_mirror(path, fresh)
    assert_no_duplicates(path)
    runs = jsm_nb.mirror_frame("sync_runs", path)
    assert list(runs["outcome"]) == ["completed", "completed"]
