"""Progress bars: labelled in words, counting towards a total when there is one, and
left red, saying so, when a fetch fails or is interrupted.

In a test process tqdm draws its terminal bar on standard error (read with ``capsys``);
in a notebook it is a widget whose label is HTML, checked in a real kernel.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from notebook_run import execute

import jsm_nb
from jsm_nb import api, paging, progress
from jsm_nb.errors import ApiError
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.data import poison

Shared = tuple[Sandbox, jsm_nb.JsmSession]
REQUESTS = "/rest/servicedeskapi/request"


def _lines(drawn: str) -> list[str]:
    """The states a terminal bar went through (tqdm redraws with carriage returns)."""
    return [line.strip() for line in re.split(r"[\r\n]+", drawn) if line.strip()]


@pytest.fixture(scope="module")
def keys(jsm_shared_session: Shared) -> list[str]:
    """Twelve request keys of the shared sandbox."""
    found = api.customer_requests(session=jsm_shared_session[1], max_rows=12, progress=False)
    return list(found.issue_key)


@pytest.mark.parametrize(
    ("helper", "label"),
    [
        (lambda s, keys: api.customer_requests(session=s, max_rows=200), "Customer requests"),
        (lambda s, keys: api.sla(keys, session=s), "SLA cycles of 12 requests"),
        (lambda s, keys: api.comments(keys, session=s), "Comments of 12 requests"),
        (lambda s, keys: api.request_status_history(keys, session=s), "Status changes of 12"),
        (lambda s, keys: api.jql("project = ITH", max_rows=120, session=s), "Issues found by JQL"),
        (lambda s, keys: api.frame(f"request/{keys[0]}/status", limit=1, session=s), "Records"),
    ],
    ids=["requests", "sla", "comments", "status", "jql", "frame"],
)
def test_a_bar_is_labelled_in_words_without_api_text(
    jsm_shared_session: Shared,
    keys: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    helper: Callable[[jsm_nb.JsmSession, list[str]], object],
    label: str,
) -> None:
    monkeypatch.setattr(progress, "interactive", lambda: True)  # as in a notebook
    helper(jsm_shared_session[1], keys)
    drawn = capsys.readouterr().err
    assert drawn, "no bar was drawn"
    for line in _lines(drawn):
        assert line.startswith(label), line
        assert "/rest/" not in line
        assert not any(key in line for key in keys), line  # API text: never in a label


def test_a_per_request_bar_counts_requests_towards_their_number(
    jsm_shared_session: Shared, keys: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    slas = api.sla(keys, session=jsm_shared_session[1], progress=True)
    last = _lines(capsys.readouterr().err)[-1]
    assert "SLA cycles of 12 requests: 100%" in last
    assert " 12/12 " in last
    assert f"rows={len(slas)}" in last


def test_a_listing_bar_counts_rows_and_pages(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    api.customer_requests(session=jsm_shared_session[1], max_rows=200, progress=True)
    last = _lines(capsys.readouterr().err)[-1]
    assert last.startswith("Customer requests: 200 rows")
    assert last.endswith("pages=4]")


def test_a_bar_stopped_by_max_rows_finishes_complete(
    jsm_shared_session: Shared, keys: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    api.sla(keys, session=jsm_shared_session[1], max_rows=5, concurrency=1, progress=True)
    last = _lines(capsys.readouterr().err)[-1]
    done = re.search(r" (\d+)/(\d+) ", last)
    assert done is not None, last
    assert done.group(1) == done.group(2)  # what was asked for is all there: not short
    assert int(done.group(2)) < len(keys)
    assert "100%" in last
    assert "failed" not in last


def test_a_failed_fetch_leaves_its_bar_marked_failed(
    jsm_session_factory: Callable[..., Shared], capsys: pytest.CaptureFixture[str]
) -> None:
    sb, session = jsm_session_factory(requests=600)
    sb.faults.fail(500, every=3, paths=f"*{REQUESTS}")
    with pytest.raises(ApiError):
        paging.fetch(session, REQUESTS, limit=50, concurrency=1, progress=True, label="Requests")
    last = _lines(capsys.readouterr().err)[-1]
    assert last.startswith("Requests: 100 rows")
    assert last.endswith("pages=2, failed]")


def test_an_interrupted_fetch_leaves_its_bar_marked_interrupted(
    jsm_shared_session: Shared, capsys: pytest.CaptureFixture[str]
) -> None:
    pages: list[int] = []

    def into(records: list[dict[str, Any]]) -> None:
        pages.append(len(records))
        if len(pages) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        paging.fetch(jsm_shared_session[1], REQUESTS, limit=50, progress=True, into=into)
    last = _lines(capsys.readouterr().err)[-1]
    assert last.endswith("pages=2, interrupted]")  # the third page never counted


def test_a_bar_is_drawn_from_the_second_step_only(capsys: pytest.CaptureFixture[str]) -> None:
    with progress.bar(True, "Requests", total=5) as counter:
        counter.update(10)
        assert capsys.readouterr().err == ""
        counter.update(10)
    assert _lines(capsys.readouterr().err)[-1].startswith("Requests: 100%")  # 2 of 2 asked
    with progress.bar(True, "Requests") as counter:
        counter.update(10)
    with contextlib.suppress(RuntimeError), progress.bar(True, "Requests") as counter:
        counter.update(10)
        raise RuntimeError
    assert capsys.readouterr().err == ""  # one step: no bar, failed or not
    assert counter.outcome == "failed"


def test_a_label_is_plain_text() -> None:
    assert progress.plain("R&D <b>requests</b> \"x\" 'y'") == "RD brequests/b x y"
    assert progress.Bar(True, poison.PAYLOADS["user"]).label == "scriptjsmxss(user)/script"


# Run in a kernel: a notebook bar with markup in its label, counting, then failing.
NOTEBOOK_BAR = f"""
from jsm_nb import progress
try:
    with progress.bar(True, {poison.PAYLOADS["summary"]!r}, total=4) as counter:
        counter.update(7)
        counter.update(7)
        raise RuntimeError("the third request failed")
except RuntimeError:
    pass
with progress.bar(True, "Customer requests") as counter:
    counter.update(50)
    counter.update(50)
"""


def test_the_notebook_bar_escapes_its_label_and_turns_red_on_failure(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_BAR)])
    path = tmp_path / "bar.ipynb"
    nbformat.write(notebook, path)
    run = execute(path, tmp_path)
    labels = [s["value"] for model, s in run.updates if model == "HTMLModel" and "value" in s]
    assert labels, "the kernel drew no bar"
    assert not [label for label in labels if poison.markup(label)]  # never sent as markup
    texts = " ".join(label.replace("\u2007", " ") for label in labels)
    assert f"{progress.plain(poison.PAYLOADS['summary'])}: " in texts
    bars = [state for model, state in run.widget_states() if model == "FloatProgressModel"]
    assert [bar.get("bar_style") for bar in bars] == ["danger", "success"]
    assert "2/4 " in texts
    assert "rows=14, failed" in texts
