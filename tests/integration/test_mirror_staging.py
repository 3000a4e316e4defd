"""A search page staged over issues a sync staged already, against the sandbox over HTTP.

A first sync's pages never meet a staged issue, and are staged without looking for one;
a page that does (a page that came twice) replaces the staged rows of its issues in
every searched table, unless the staged version is the newer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

import jsm_nb
from jsm_nb import catalogue, paging, windows
from jsm_nb.mirrors.layout import layout
from jsm_nb.mirrors.stage import Mirror
from jsm_nb.sandbox import Sandbox

Factory = Callable[..., tuple[Sandbox, jsm_nb.JsmSession]]
SEARCHED = ("issues", "requests", "sla_cycles", "feedback")


def staged(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each searched table's staged rows."""
    counts = connection.execute(
        "SELECT (SELECT count(*) FROM _stage_issues), (SELECT count(*) FROM _stage_requests), "
        "(SELECT count(*) FROM _stage_sla_cycles), (SELECT count(*) FROM _stage_feedback)"
    ).fetchall()[0]
    return dict(zip(SEARCHED, counts, strict=True))


def with_updated(records: list[dict[str, Any]], updated: str) -> list[dict[str, Any]]:
    """``records`` as Jira would give them with another ``updated`` time."""
    return [{**r, "fields": {**r["fields"], "updated": updated}} for r in records]


def test_a_page_staged_again_replaces_its_issues_unless_the_staged_ones_are_newer(
    jsm_session_factory: Factory, tmp_path: Path
) -> None:
    _, session = jsm_session_factory(requests=60)
    shape = layout(catalogue.catalogue(session))
    body = paging.get_json(
        session,
        windows.SEARCH,
        {"jql": "project in (ITH, HR) ORDER BY id", "fields": ",".join(shape.fields)},
    )
    records = body["issues"][:20]
    connection = duckdb.connect(str(tmp_path / "m.duckdb"))
    try:
        mirror = Mirror(connection, shape)
        mirror.create()
        mirror.stage_page(records, None)
        once = staged(connection)
        assert once["issues"] == once["requests"] == len(records)
        assert once["sla_cycles"] > 0

        newer = "2030-01-01T00:00:00.000+0000"
        mirror.stage_page(with_updated(records, newer), None)
        assert staged(connection) == once  # replaced, not added
        mirror.stage_page(with_updated(records[:5], "2000-01-01T00:00:00.000+0000"), None)
        assert staged(connection) == once
        kept = connection.execute(
            "SELECT count(*) FROM _stage_issues WHERE updated = ?::TIMESTAMPTZ",
            ["2030-01-01 00:00:00+00"],
        ).fetchall()[0][0]
        assert kept == len(records)  # the older copy of five of them did not replace them
    finally:
        connection.close()
