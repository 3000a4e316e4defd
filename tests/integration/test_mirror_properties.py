"""Properties of jsm_nb.sync(): whatever changed in between, a sync leaves the mirror as a
fresh full fetch would make it.

Hypothesis draws sequences of change batches (updates, creates, deletes, moves across
projects, SLA cycles completing, each with its seed) with syncs between them, all into one
mirror; after each sync the mirror must equal a first sync into a new file, table by table,
and no table may hold an issue twice. The sandbox is small (a few hundred requests) so an
example takes a second or two.

The runs are derandomized, so CI is deterministic. To search harder locally, raise the
examples: ``JSM_NB_TEST_EXAMPLES=200 python -m pytest tests/integration/test_mirror_properties.py``
(``derandomize`` stays on: set ``JSM_NB_TEST_RANDOM=1`` too for new draws each run).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
from helpers import assert_no_duplicates, assert_same_mirror, mirror_tables, signed_in_session
from hypothesis import HealthCheck, given, settings

import jsm_nb
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.data.changes import Changes

QUERY = "project in (ITH, HR)"
QUERIED = ("ITH-", "HR-")  # the projects of QUERY, as key prefixes (the others: FAC, CS)
DETAILS = ["approvals", "comments", "status_history"]


def _examples(default: int) -> int:
    return int(os.environ.get("JSM_NB_TEST_EXAMPLES", default))


def _settings(examples: int) -> settings:
    return settings(
        max_examples=_examples(examples),
        deadline=None,
        derandomize=not os.environ.get("JSM_NB_TEST_RANDOM"),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


batches = st.fixed_dictionaries(
    {
        "updates": st.integers(0, 6),
        "creates": st.integers(0, 3),
        "deletes": st.integers(0, 3),
        "moves": st.integers(0, 3),
        "resolves": st.integers(0, 3),
        "seed": st.integers(0, 2**16),
    }
)
# Each step: the batches made before a sync (none: a sync with nothing new).
steps = st.lists(st.lists(batches, max_size=3), min_size=1, max_size=4)


def _sync(path: Path, session: jsm_nb.JsmSession, what: Sequence[str] | None) -> Any:
    return jsm_nb.sync(QUERY, what=what, path=path, session=session, progress=False)


def _check(
    path: Path,
    session: jsm_nb.JsmSession,
    what: Sequence[str] | None,
    made: Sequence[Changes],
    fresh: Path,
) -> None:
    """The mirror at ``path`` is a fresh one, holds no issue twice, and keeps no issue
    under a key it left (a moved issue keeps its id under its new key, or leaves)."""
    fresh.unlink(missing_ok=True)
    _sync(fresh, session, what)
    assert_same_mirror(path, fresh)
    assert_no_duplicates(path)
    keys = {
        name: set(frame["issue_key"].dropna())
        for name, frame in mirror_tables(path).items()
        if "issue_key" in frame.columns
    }
    issues = jsm_nb.mirror_frame("issues", path).set_index("issue_id")["issue_key"]
    moves = [c for batch in made for c in batch.moved]
    deleted = {c.id for batch in made for c in batch.deleted}
    for change in moves:
        for name, held in keys.items():
            assert change.old_key not in held, f"{name} keeps {change.old_key}, moved"
    for change in {c.id: c for c in moves}.values():  # each issue's last move
        if change.id in deleted:
            continue
        if change.key.startswith(QUERIED):
            assert issues.get(str(change.id)) == change.key
        else:
            assert str(change.id) not in issues.index  # moved out of the query
    assert not deleted & set(issues.index.astype(int))


def _run(
    sb: Sandbox, session: jsm_nb.JsmSession, plan: list[list[dict[str, int]]], what: Any
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path, fresh = Path(directory) / "m.duckdb", Path(directory) / "fresh.duckdb"
        _sync(path, session, what)
        made: list[Changes] = []
        for step in plan:
            for batch in step:
                made.append(sb.change(**batch))
            _sync(path, session, None)  # no arguments: what the mirror keeps
            _check(path, session, what, made, fresh)


@_settings(examples=5)
@given(plan=steps)
def test_a_sync_after_any_changes_gives_a_fresh_mirror(plan: list[list[dict[str, int]]]) -> None:
    with signed_in_session(requests=300) as (sb, session):
        _run(sb, session, plan, None)


@_settings(examples=3)
@given(plan=st.lists(st.lists(batches, max_size=2), min_size=1, max_size=2))
def test_a_sync_with_per_request_tables_gives_a_fresh_mirror(
    plan: list[list[dict[str, int]]],
) -> None:
    with signed_in_session(requests=40) as (sb, session):
        _run(sb, session, plan, DETAILS)


LAG = 120.0  # seconds the search trails the data


@_settings(examples=3)
@given(
    plan=st.lists(
        st.tuples(st.lists(batches, min_size=1, max_size=2), st.floats(0, LAG)),
        min_size=1,
        max_size=3,
    )
)
def test_a_sync_after_the_search_caught_up_gives_a_fresh_mirror(
    plan: list[tuple[list[dict[str, int]], float]],
) -> None:
    """Syncs while the search does not see the newest changes yet, then one after."""
    with (
        signed_in_session(requests=300, search_lag=LAG) as (sb, session),
        tempfile.TemporaryDirectory() as directory,
    ):
        path, fresh = Path(directory) / "m.duckdb", Path(directory) / "fresh.duckdb"
        _sync(path, session, None)
        made: list[Changes] = []
        for step, waited in plan:
            made.extend(sb.change(**batch) for batch in step)
            sb.settings.clock_offset += waited  # the sandbox's wall clock moves on
            _sync(path, session, None)
            assert_no_duplicates(path)
        sb.settings.clock_offset += LAG + 1
        _sync(path, session, None)
        _check(path, session, None, made, fresh)
