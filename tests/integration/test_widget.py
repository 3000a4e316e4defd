"""The login widget, driven without a browser against the sandbox over real HTTP.

Each test sets the text box, clicks the buttons and reads the status line, as a
person would; the sandbox's ``approve()`` plays the person on Atlassian's page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import importlib
import json
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import ipywidgets
import pytest
from helpers import front_end_says

import jsm_nb
from jsm_nb import AuthorizationError, LoginRequired, MemoryStore
from jsm_nb.account import Connection
from jsm_nb.entries import login_entry
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.gateway import USER
from jsm_nb.signin import Login
from jsm_nb.site_choice import Site


def new_login(sb: Sandbox, store: MemoryStore | None = None, **overrides: Any) -> Login:
    """A Login to ``sb`` without loopback capture (the paste-back path)."""
    config = sb.config_for(**overrides)
    return Login(config, MemoryStore() if store is None else store, auto_capture=False)


def connected_login(sb: Sandbox, store: MemoryStore, site: dict[str, str]) -> Login:
    """A Login to ``sb`` that has signed in (through ``submit``) to ``site``."""
    login = new_login(sb, store, site=site["id"])
    login.submit(sb.approve(login.authorization_url))
    return login


def status(panel: Any) -> str:
    """The status line's text."""
    return html.unescape(panel.status.value.split(">", 1)[1].rsplit("<", 1)[0])


def visible(widget: Any) -> bool:
    return widget.layout.display != "none"


def with_query(url: str, **changes: str | None) -> str:
    """``url`` with query parameters replaced (``None`` removes one)."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    kept = {k: v for k, v in query.items() if v is not None}
    return parts._replace(query=urlencode(kept)).geturl()


@pytest.fixture
def first_site(sb: Sandbox) -> dict[str, str]:
    return dict(sb.sites[0])


def challenge_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code_challenge"][0]


def test_connect_opens_the_consent_page_in_a_new_tab(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = new_login(sb)
    link = login.widget.connect
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(link, "_send", lambda message, buffers=None: sent.append(message))
    front_end_says(login.widget, "ready")  # a view of the link appears
    url = login.authorization_url
    assert sent == [{"method": "custom", "content": {"kind": "url", "url": url}}]
    assert link.label == "Connect to Jira"
    assert 'link.target = "_blank"' in link._esm
    assert 'link.rel = "noopener noreferrer"' in link._esm
    assert "iframe" not in link._esm
    assert login.widget.paste.placeholder == "paste the address you were sent back to"


def test_no_sign_in_secret_is_in_the_state_saved_with_the_notebook(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    """What Jupyter saves as widget state holds no state, PKCE challenge or code: not
    while the sign-in waits, nor after a mistaken paste, nor once signed in."""
    login = new_login(sb, site=first_site["id"])
    panel = login.widget
    secrets = {login.state, challenge_of(login.authorization_url)}
    mistaken = with_query(sb.approve(login.authorization_url), state="x" * 43)
    panel.paste.value = mistaken
    assert "older sign-in" in status(panel)
    assert panel.paste.value == ""
    landing = sb.approve(login.authorization_url)
    secrets |= {parse_qs(urlsplit(url).query)["code"][0] for url in (mistaken, landing)}
    panel.paste.value = landing
    assert status(panel) == "Connected."
    secrets |= {login.state, challenge_of(login.authorization_url)}  # the next sign-in's
    panel.switch_button.click()  # which the sign-in box now offers
    saved = json.dumps(ipywidgets.Widget.get_manager_state())
    assert panel.model_id in saved
    leaked = [secret[:6] + "..." for secret in secrets if secret in saved]
    assert not leaked, f"widget state holds sign-in secrets: {leaked}"


def test_labels_are_shown_in_full(sb: Sandbox) -> None:
    panel = new_login(sb).widget
    assert panel.site_picker.style.description_width == "initial"
    for button in (panel.sign_out_button, panel.switch_button, panel.submit_button):
        assert button.layout.width == "auto", button.description


def test_the_sandbox_says_so_in_a_banner(sb: Sandbox) -> None:
    assert "Sandbox" in new_login(sb).widget.banner.value


def test_paste_and_submit_shows_who_is_connected_where_and_until_when(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    login = new_login(sb, site=first_site["id"])
    panel = login.widget
    assert visible(panel.sign_in_box)
    assert not visible(panel.signed_in_box)
    landing = sb.approve(login.authorization_url)
    panel.paste.value = f"  '{landing}'\n"  # as copied: quotes and whitespace around it
    panel.submit_button.click()
    assert status(panel) == "Connected."
    account = html.unescape(panel.account.value)
    assert USER["name"] in account
    assert USER["email"] in account
    assert first_site["name"] in account
    expiry = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    assert "Login expires" in account
    assert expiry in account
    assert visible(panel.signed_in_box)
    assert not visible(panel.sign_in_box)
    assert not visible(panel.site_picker)  # JSM_NB_SITE names the site
    assert panel.paste.value == ""


def test_enter_alone_submits(sb: Sandbox, first_site: dict[str, str]) -> None:
    login = new_login(sb, site=first_site["id"])
    login.widget.paste.value = sb.approve(login.authorization_url)  # what Enter sends
    assert status(login.widget) == "Connected."
    assert login.connection() is not None


def test_submit_after_enter_does_not_submit_the_same_address_twice(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    login = new_login(sb, site=first_site["id"])
    login.widget.paste.value = sb.approve(login.authorization_url)
    login.widget.paste.value = "typed again"  # the Enter of a second paste ...
    login.widget.submit_button.click()  # ... and its click: one submission, one sentence
    assert "not a sign-in address" in status(login.widget)
    assert sb.stats.codes_exchanged == 1


def _wrong_state(sb: Sandbox, login: Login) -> str:
    return with_query(sb.approve(login.authorization_url), state="x" * 43)


def _missing_state(sb: Sandbox, login: Login) -> str:
    return with_query(sb.approve(login.authorization_url), state=None)


def _declined(sb: Sandbox, login: Login) -> str:
    return sb.approve(login.authorization_url, deny=True)


def _reused_code(sb: Sandbox, login: Login) -> str:
    other = new_login(sb)
    used = sb.approve(other.authorization_url)
    other.submit(used)
    return with_query(used, state=login.state)  # a live state, a code already exchanged


def _another_callback(sb: Sandbox, login: Login) -> str:
    landing = sb.approve(login.authorization_url)
    return urlsplit(landing)._replace(netloc="localhost:9", path="/other").geturl()


def _consent_page(sb: Sandbox, login: Login) -> str:
    return login.authorization_url


def _garbage(sb: Sandbox, login: Login) -> str:
    return "I clicked Accept and it said it worked"


MISTAKES = {
    "wrong state": (_wrong_state, "belongs to an older sign-in"),
    "state cut short": (lambda sb, login: sb.approve(login.authorization_url)[:-4], "cut short"),
    "missing state": (_missing_state, "has no state"),
    "access_denied": (_declined, "Access was declined"),
    "reused code": (_reused_code, "already used or has expired"),
    "another callback": (_another_callback, "is not this app's callback"),
    "consent page": (_consent_page, "This is the consent page's address"),
    "garbage": (_garbage, "That is not a sign-in address"),
    "nothing": (lambda sb, login: "  ", "Nothing was pasted"),
}


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_each_mistake_shows_its_own_sentence(sb: Sandbox, mistake: str) -> None:
    make_text, sentence = MISTAKES[mistake]
    login = new_login(sb)
    panel = login.widget
    panel.paste.value = make_text(sb, login)
    panel.submit_button.click()
    assert sentence in status(panel)
    assert "color:#ae2e24" in panel.status.value
    assert login.connection() is None
    assert panel.connect.url == login.authorization_url


@pytest.mark.parametrize("mistake", MISTAKES, ids=str)
def test_submit_raises_the_error_that_the_widget_shows(sb: Sandbox, mistake: str) -> None:
    make_text, sentence = MISTAKES[mistake]
    login = new_login(sb)
    panel = login.widget
    with pytest.raises(AuthorizationError, match=sentence) as raised:
        login.submit(make_text(sb, login))
    assert status(panel) == str(raised.value)


def test_a_login_covering_several_sites_offers_a_picker(sb: Sandbox) -> None:
    store = MemoryStore()
    login = new_login(sb, store)
    panel = login.widget
    panel.paste.value = sb.approve(login.authorization_url)
    assert status(panel) == "Connected. Pick the site to use."
    assert visible(panel.site_picker)
    offered = sorted(label for label, _ in panel.site_picker.options)
    assert offered == sorted(f"{s['name']} ({s['url']})" for s in sb.sites)
    assert panel.site_picker.value is None
    with pytest.raises(jsm_nb.ConfigError, match="several sites"):
        jsm_nb.session(login.config, store)
    chosen: Site = panel.site_picker.options[1][1]
    panel.site_picker.value = chosen
    assert status(panel) == f"jsm_nb.session() now opens {chosen.name}."
    assert chosen.name in panel.account.value
    assert jsm_nb.session(login.config, store).site == chosen


def test_a_mistyped_jsm_nb_site_shows_the_picker_and_says_what_to_do(sb: Sandbox) -> None:
    store = MemoryStore()
    login = new_login(sb, store, site="acme-suport")
    panel = login.widget
    panel.paste.value = sb.approve(login.authorization_url)
    assert visible(panel.site_picker)
    assert sorted(label for label, _ in panel.site_picker.options) == sorted(
        f"{s['name']} ({s['url']})" for s in sb.sites
    )
    with pytest.raises(jsm_nb.ConfigError) as raised:
        jsm_nb.session(login.config, store)
    message = str(raised.value)
    assert "JSM_NB_SITE is 'acme-suport', which names no site of this login" in message
    assert "acme-support (https://acme-support.atlassian.net)" in message
    assert "choose_site" in message


def test_sign_out_forgets_the_login(sb: Sandbox, first_site: dict[str, str]) -> None:
    store = MemoryStore()
    login = new_login(sb, store, site=first_site["id"])
    panel = login.widget
    panel.paste.value = sb.approve(login.authorization_url)
    assert jsm_nb.session(login.config, store).site is not None
    panel.sign_out_button.click()
    assert status(panel).startswith("Signed out")
    assert visible(panel.sign_in_box)
    assert not visible(panel.signed_in_box)
    assert store.read(login_entry(login.config)) is None
    with pytest.raises(LoginRequired):
        jsm_nb.session(login.config, store)


def test_already_signed_in_says_so_and_offers_to_switch(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    store = MemoryStore()
    connected_login(sb, store, first_site)
    again = new_login(sb, store, site=first_site["id"])  # the cell run again later
    panel = again.widget
    assert status(panel) == f"Already signed in as {USER['name']}: Switch account to use another."
    assert not visible(panel.sign_in_box)
    panel.switch_button.click()
    assert visible(panel.sign_in_box)
    assert panel.switch_button.description == "Cancel"
    panel.paste.value = sb.approve(again.authorization_url)
    assert status(panel) == "Connected."
    assert not visible(panel.sign_in_box)
    assert panel.switch_button.description == "Switch account"
    assert sb.stats.codes_exchanged == 2


def test_switching_account_in_the_widget_that_signed_in(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    login = new_login(sb, site=first_site["id"])
    panel = login.widget
    panel.paste.value = sb.approve(login.authorization_url)
    panel.switch_button.click()
    panel.paste.value = sb.approve(login.authorization_url)  # a fresh consent, not the used one
    assert status(panel) == "Connected."
    assert sb.stats.codes_exchanged == 2


def test_cancelling_a_switch_keeps_the_account(sb: Sandbox, first_site: dict[str, str]) -> None:
    panel = connected_login(sb, MemoryStore(), first_site).widget
    panel.switch_button.click()
    panel.switch_button.click()
    assert not visible(panel.sign_in_box)
    assert USER["email"] in panel.account.value


def test_rerunning_the_cell_keeps_the_pending_sign_in(sb: Sandbox) -> None:
    store = MemoryStore()
    before = new_login(sb, store)
    url = before.authorization_url  # the tab opened from the first run
    after = new_login(sb, store)  # the cell run again
    assert after.authorization_url == url
    after.widget.paste.value = sb.approve(url)
    assert status(after.widget).startswith("Connected.")


def test_the_widget_follows_a_sign_in_made_in_code(sb: Sandbox) -> None:
    login = new_login(sb)
    panel = login.widget
    login.submit(sb.approve(login.authorization_url))  # e.g. the notebook's sandbox cell
    assert status(panel).startswith("Connected.")
    assert visible(panel.signed_in_box)


def test_a_notebook_displays_the_login_as_its_widget(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    login = new_login(sb)
    assert login._repr_mimebundle_() == {"text/plain": repr(login)}  # not in a kernel
    module = importlib.import_module("jsm_nb.signin")
    monkeypatch.setattr(module, "_in_kernel", lambda: True)
    bundle = login._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == login.widget.model_id
    assert bundle["text/plain"] == repr(login)


def test_ipywidgets_is_imported_only_when_the_widget_is_shown() -> None:
    code = (
        "import sys, jsm_nb, jsm_nb.signin\n"
        "assert 'ipywidgets' not in sys.modules, 'imported at start'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_session_shows_who_is_connected_to_which_site_and_no_token(
    sb: Sandbox, first_site: dict[str, str]
) -> None:
    store = MemoryStore()
    login = connected_login(sb, store, first_site)
    shown = jsm_nb.session(login.config, store)._repr_html_()
    assert USER["name"] in shown
    assert first_site["name"] in shown
    token = store.read(login_entry(login.config))
    assert token["access_token"] not in shown
    assert token["refresh_token"] not in shown


def test_connections_are_escaped_in_html() -> None:
    site = Site(id="1", name="<b>acme</b>", url="https://acme.atlassian.net")
    connection = Connection(
        name="<script>alert(1)</script>",
        email="a&b@example.com",
        site=site,
        sites=(site,),
        expires=dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.timezone.utc),
        renews=True,
    )
    shown = connection.to_html()
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    assert "&lt;b&gt;acme&lt;/b&gt;" in shown
    assert "a&amp;b@example.com" in shown
    assert "2030-01-02 03:04 UTC" in shown
    short = dataclasses.replace(connection, renews=False)
    assert "no refresh token" in short.to_html()
