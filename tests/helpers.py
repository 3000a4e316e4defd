"""Helpers the tests share that are not fixtures (those are in ``conftest.py``)."""

from __future__ import annotations

import contextlib
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import jsm_nb
from jsm_nb import sandbox
from jsm_nb.context import CONTEXT
from jsm_nb.mirrors import TABLES
from jsm_nb.sandbox import Sandbox

_ONE_PER_ISSUE = ("issues", "requests", "feedback")  # the mirror's tables of a row per issue


@contextlib.contextmanager
def signed_in_session(
    config: dict[str, Any] | None = None, **knobs: Any
) -> Iterator[tuple[Sandbox, jsm_nb.JsmSession]]:
    """A sandbox started with ``knobs``, signed in to its first site, and a session of it.

    ``config`` overrides fields of the sandbox's config; backoff without ``Retry-After``
    starts at 0.05 s unless it says otherwise, so tests of 5xx answers stay quick.
    """
    with sandbox.run(**knobs) as running:
        signed_in = running.sign_in(**{"backoff": 0.05, **(config or {})})
        try:
            yield running, jsm_nb.session(signed_in)
        finally:
            CONTEXT.forget_sessions(signed_in)


def sandbox_exports(process: subprocess.Popen[str]) -> dict[str, str]:
    """The ``export NAME=value`` lines ``python -m jsm_nb.sandbox`` prints first."""
    assert process.stdout is not None
    exports = {}
    for line in process.stdout:
        if not line.startswith("export "):
            break
        name, _, value = shlex.split(line)[1].partition("=")
        exports[name] = value
    return exports


def front_end_says(panel: Any, kind: str) -> None:
    """Deliver what the Connect link's front end sends to the kernel: ``ready`` when a
    view of it appears, ``opened`` when it is clicked (the path a comm message takes)."""
    message = {"content": {"data": {"method": "custom", "content": {"kind": kind}}}, "buffers": []}
    panel.connect._handle_msg(message)


def mirror_tables(path: Path) -> dict[str, pd.DataFrame]:
    """Every table of the mirror at ``path`` but ``sync_runs`` (which records each run)."""
    return {name: jsm_nb.mirror_frame(name, path) for name in TABLES if name != "sync_runs"}


def assert_same_mirror(left: Path, right: Path) -> None:
    """The two mirrors hold the same rows, in the same dtypes, table by table."""
    for name, frame in mirror_tables(left).items():
        pd.testing.assert_frame_equal(frame, jsm_nb.mirror_frame(name, right), obj=name)


def assert_no_duplicates(path: Path) -> None:
    """Each issue has one row in the tables of a row per issue, no table repeats a row,
    and nothing is left staged."""
    for name, frame in mirror_tables(path).items():
        if name in _ONE_PER_ISSUE:
            assert frame["issue_id"].is_unique, f"{name}: an issue id twice"
        assert not frame.astype(str).duplicated().any(), f"{name}: a row twice"
    with duckdb.connect(str(path), read_only=True) as reading:
        assert reading.sql("SELECT count(*) FROM _stage_issues").fetchall() == [(0,)]
