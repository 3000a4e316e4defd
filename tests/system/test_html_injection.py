"""No HTML that jsm_nb or its notebooks produce renders API text as markup (issue 10).

A site's admins name its request types, SLAs, organisations and service desks, its
customers write the summaries, and Atlassian's account pages hold the site's and the
user's names: any of them can be ``<img src=x onerror=...>``, and a notebook that puts
one into the page unescaped runs that script in the analyst's browser, where it can
reach the kernel. A poisoned sandbox (``poison=True``, ``JSM_NB_SANDBOX_POISON=1``)
serves a different payload in each such field (:mod:`jsm_nb.sandbox.data.poison`).

Every notebook in ``notebooks/`` is run against it; then every output drawn as markup
(``text/html``, ``text/markdown``, ``image/svg+xml``) and every HTML value of its
widgets (HTML widgets' ``value``; a ``description`` that allows HTML), as saved in
``metadata.widgets`` and as sent on the way, must hold no payload as markup, and each
field's payload must show, escaped, somewhere: so the check cannot pass by the payloads
never being drawn. Other widget values (a dropdown's labels, a text box's value) are
drawn by ipywidgets as text, never as markup.
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import sandbox_exports, signed_in_session
from notebook_run import NOTEBOOKS, Run, execute

import jsm_nb
from jsm_nb import api, sandbox
from jsm_nb.account import connection_of
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import POISON_VARIABLE
from jsm_nb.sandbox.data import poison

FIELDS = set(poison.PAYLOADS)
MARKUP_TYPES = ("text/html", "text/markdown", "image/svg+xml")
HTML_WIDGETS = {"HTMLModel", "HTMLMathModel"}


@pytest.fixture(scope="module")
def poisoned() -> Iterator[tuple[sandbox.Sandbox, jsm_nb.JsmSession]]:
    """A poisoned sandbox of 400 requests a site, signed in to its first site."""
    with signed_in_session(requests=400, poison=True) as started:
        yield started


def test_the_scan_tells_markup_from_escaped_text() -> None:
    payload = poison.PAYLOADS["request_type"]
    assert poison.markup(f"<td>{payload}</td>") == {"request_type"}
    assert poison.shown(f"<td>{payload}</td>") == set()
    assert poison.markup(f"<td>{html.escape(payload)}</td>") == set()
    assert poison.shown(f"<td>{html.escape(payload)}</td>") == {"request_type"}
    # a handler or a script that calls it is markup however it is written
    assert poison.markup("<b onclick=\"jsmxss('sla')\">x</b>") == {"sla"}
    assert poison.markup("<script>\njsmxss('user')</script>") == {"user"}
    assert poison.markup("<p title=\"jsmxss('user')\">x</p>") == set()  # text in an attribute


def test_pandas_escapes_a_frame_but_not_its_styler() -> None:
    """Why :func:`jsm_nb.styled` exists: ``DataFrame.style`` puts text in as it is."""
    frame = pd.DataFrame({"name": [poison.PAYLOADS["request_type"]]})
    assert poison.shown(frame._repr_html_()) == {"request_type"}
    assert poison.markup(frame._repr_html_()) == set()
    assert poison.markup(frame.style.format("{}").to_html()) == {"request_type"}


def _poisoned_frame() -> pd.DataFrame:
    """A frame with a payload in a cell, a label of each axis and each axis's name."""
    p = poison.PAYLOADS
    index = pd.MultiIndex.from_tuples(
        [("ITH", p["request_type"]), ("HR", "Get IT help")], names=["desk", p["site"]]
    )
    frame = pd.DataFrame({p["sla"]: [0.25, 0.5], "summary": [p["summary"], "ok"]}, index=index)
    frame.columns.name = p["user"]
    return frame


@pytest.mark.parametrize(
    ("formatter", "options"),
    [
        (None, {}),
        ("{:.0%}", {"subset": [poison.PAYLOADS["sla"]]}),
        (None, {"na_rep": "-", "precision": 1}),
    ],
    ids=["plain", "subset", "options"],
)
def test_styled_escapes_every_cell_label_and_name(
    formatter: str | None, options: dict[str, Any]
) -> None:
    page = jsm_nb.styled(_poisoned_frame(), formatter, **options).to_html()
    assert poison.markup(page) == set()
    assert poison.shown(page) == {"request_type", "site", "sla", "summary", "user"}


def test_styled_formats_the_values_it_is_given() -> None:
    page = jsm_nb.styled(_poisoned_frame(), "{:.0%}", subset=[poison.PAYLOADS["sla"]]).to_html()
    assert ">25%<" in page
    assert ">50%<" in page
    series = jsm_nb.styled(pd.Series([0.5], name=poison.PAYLOADS["sla"]), "{:.0%}").to_html()
    assert poison.shown(series) == {"sla"}
    assert ">50%<" in series


def test_a_poisoned_sandbox_serves_each_fields_payload(
    poisoned: tuple[sandbox.Sandbox, jsm_nb.JsmSession],
) -> None:
    sb, s = poisoned
    p = poison.PAYLOADS
    requests = api.customer_requests(session=s, max_rows=5)
    served = {
        "site": api.sites(session=s).name,
        "user": pd.concat([api.me(session=s).name, requests.reporter_display_name]),
        "service_desk": api.service_desks(session=s).project_name,
        "request_type": api.request_types(1, session=s).name,
        "summary": requests.summary,
        "sla": api.sla(requests.issue_key, session=s).sla_name,
        "organization": api.organizations(session=s).name,
    }
    assert set(served) == FIELDS
    for field, texts in served.items():
        assert len(texts) > 0, field
        assert all(text.startswith(f"{p[field]} ") for text in texts), (field, texts.iloc[0])
    assert requests.issue_key.str.fullmatch(r"[A-Z]+-\d+").all()  # keys and ids stay clean
    assert all(site["name"].startswith(p["site"]) for site in sb.sites)


def test_an_unpoisoned_sandbox_serves_the_same_data_without_payloads() -> None:
    plain = sandbox.data.build_site(sandbox.data.SITES[0]["id"], requests=200)
    marked = sandbox.data.build_site(sandbox.data.SITES[0]["id"], requests=200, poison=True)
    assert [r.key for r in plain.requests] == [r.key for r in marked.requests]
    assert [r.timeline for r in plain.requests] == [r.timeline for r in marked.requests]
    assert [poison.mark(r.summary, "summary", True) for r in plain.requests] == [
        r.summary for r in marked.requests
    ]
    assert not any("jsmxss" in u.display_name for u in plain.users)


def test_the_session_and_its_connection_escape_names(
    poisoned: tuple[sandbox.Sandbox, jsm_nb.JsmSession],
) -> None:
    _, s = poisoned
    for page in (s._repr_html_(), connection_of(s).to_html()):
        assert poison.markup(page) == set()
        assert poison.shown(page) == {"site", "user"}


def test_every_helpers_frame_escapes_api_text(
    poisoned: tuple[sandbox.Sandbox, jsm_nb.JsmSession],
) -> None:
    _, s = poisoned
    requests = api.customer_requests(session=s, max_rows=5)
    frames = [
        api.me(session=s),
        api.sites(session=s),
        api.service_desks(session=s),
        api.request_types(1, session=s),
        requests,
        api.sla(requests.issue_key, session=s),
        api.organizations(session=s),
        api.comments(requests.issue_key, session=s),
        api.jql("project = ITH", fields=["summary", "project"], max_rows=5, session=s),
        api.frame("servicedesk", session=s),
    ]
    shown: set[str] = set()
    for frame in frames:
        page = frame._repr_html_()
        assert page is not None
        assert poison.markup(page) == set()
        shown |= poison.shown(page)
    assert shown == FIELDS


def test_the_default_sandbox_is_poisoned_by_its_environment_variable() -> None:
    probe = (
        "from jsm_nb import sandbox; sb = sandbox.default(); print(sb.poison, sb.sites[0]['name'])"
    )
    for value, poisoned in (("1", True), ("yes", True), ("0", False), ("", False)):
        env = {**os.environ, POISON_VARIABLE: value}
        printed = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert printed.startswith(str(poisoned)), printed
        assert (poison.PAYLOADS["site"] in printed) is poisoned


def test_python_m_jsm_nb_sandbox_poison_serves_payloads() -> None:
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--requests", "50", "--sign-in", "--poison"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        config = jsm_nb.Config.from_env(sandbox_exports(process), dotenv=None)
        try:
            me = api.me(session=jsm_nb.session(config))
        finally:
            CONTEXT.forget_sessions(config)
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert me.name[0] == f"{poison.PAYLOADS['user']} Riley Chen"


# -- the notebooks ---------------------------------------------------------------------------


def _markup_outputs(run: Run) -> Iterator[tuple[str, str]]:
    """``(where, markup)`` of every output that a notebook draws as markup."""
    for number, cell in enumerate(run.notebook.cells):
        for output in cell.get("outputs", ()):
            for mime in MARKUP_TYPES:
                page = output.get("data", {}).get(mime)
                if page is not None:
                    text = page if isinstance(page, str) else "".join(page)
                    yield f"cell {number} {mime}", text


def _widget_markup(model: str, state: dict[str, Any]) -> Iterator[str]:
    """The values of one widget state that the browser draws as markup."""
    if model in HTML_WIDGETS and isinstance(state.get("value"), str):
        yield state["value"]
    if state.get("description_allow_html") and isinstance(state.get("description"), str):
        yield state["description"]


def _every_markup(run: Run) -> Iterator[tuple[str, str]]:
    yield from _markup_outputs(run)
    for model, state in run.widget_states():
        for page in _widget_markup(model, state):
            yield f"saved {model}", page
    for model, state in run.updates:
        for page in _widget_markup(model, state):
            yield f"sent {model}", page


@pytest.fixture(scope="module")
def poisoned_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every notebook, run against a poisoned default sandbox, each in its own kernel."""
    runs = {}
    for path in NOTEBOOKS:
        workdir = tmp_path_factory.mktemp(path.stem)
        shutil.copy(path, workdir)  # away from any .env beside the notebooks
        runs[path.name] = execute(workdir / path.name, workdir, env={POISON_VARIABLE: "1"})
    return runs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_notebook_draws_no_payload_as_markup(poisoned_runs: dict[str, Run], path: Path) -> None:
    run = poisoned_runs[path.name]
    found = {where: poison.markup(page) for where, page in _every_markup(run)}
    assert found, f"{path.name} drew nothing as markup: nothing was checked"
    unsafe = {where: fields for where, fields in found.items() if fields}
    assert not unsafe, f"{path.name} renders API text as markup: {unsafe}"


def test_the_notebooks_show_every_payload_escaped(poisoned_runs: dict[str, Run]) -> None:
    shown: set[str] = set()
    for run in poisoned_runs.values():
        for _, page in _every_markup(run):
            shown |= poison.shown(page)
    assert shown == FIELDS, f"never shown: {sorted(FIELDS - shown)}"
    widgets = {
        field
        for run in poisoned_runs.values()
        for _, state in run.widget_states()
        for field in poison.shown(str(state.get("value", "")))
    }
    assert {"site", "user"} <= widgets  # the login widget's account line was checked too
