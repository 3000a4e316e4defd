"""The sign-in flow against the sandbox over real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

import jsm_nb
from jsm_nb import AuthorizationError, LoginRequired
from jsm_nb.entries import login_entry
from jsm_nb.flow import PENDING_TTL
from jsm_nb.sandbox import Sandbox


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _stored(config: jsm_nb.Config) -> object:
    return jsm_nb.FileStore(config.token_path).read(login_entry(config))


def test_consent_url_has_atlassians_seven_parameters_and_pkce(sb: Sandbox) -> None:
    url = jsm_nb.login(sb.config).authorization_url
    assert url.startswith(f"{sb.auth_url}/authorize?")
    query = _query(url)
    assert {
        k: query[k] for k in ("audience", "client_id", "redirect_uri", "response_type", "prompt")
    } == {
        "audience": "api.atlassian.com",
        "client_id": sb.client_id,
        "redirect_uri": sb.config.redirect_uri,
        "response_type": "code",
        "prompt": "consent",
    }
    assert query["scope"].split() == list(sb.config.scopes)
    assert len(query["state"]) >= 22  # 128 bits in base64url
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43


def test_whole_flow_stores_tokens_and_opens_a_session(sb: Sandbox) -> None:
    config = sb.config_for(site=sb.sites[0]["id"])
    login = jsm_nb.login(config)
    landing = sb.approve(login.authorization_url)
    assert _query(landing)["state"] == _query(login.authorization_url)["state"]
    login.submit(landing)
    stored = _stored(config)
    assert isinstance(stored, dict)
    assert {"access_token", "refresh_token", "expires_at"} <= stored.keys()
    response = jsm_nb.session(config).get("/rest/servicedeskapi/servicedesk")
    assert response.status_code == 200
    assert response.json()["values"]
    assert sb.stats.codes_exchanged == 1


def test_each_sign_in_gets_a_fresh_state(sb: Sandbox) -> None:
    login = jsm_nb.login(sb.config)
    first = _query(login.authorization_url)["state"]
    second = _query(login.restart())["state"]
    assert first != second


def test_rerunning_the_cell_resumes_the_pending_sign_in(sb: Sandbox) -> None:
    first = jsm_nb.login(sb.config).authorization_url
    assert jsm_nb.login(sb.config).authorization_url == first


def test_pending_sign_in_survives_a_kernel_restart(sb: Sandbox) -> None:
    first = jsm_nb.login(sb.config).authorization_url
    config = {
        f: str(getattr(sb.config, f))
        for f in ("client_id", "client_secret", "auth_url", "api_url", "token_path", "redirect_uri")
    }
    script = (
        "import json, sys, jsm_nb\n"
        "config = jsm_nb.Config(**json.loads(sys.argv[1]))\n"
        "print(jsm_nb.login(config).authorization_url)\n"
    )
    other_kernel = subprocess.run(
        [sys.executable, "-c", script, json.dumps(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert other_kernel.stdout.strip() == first
    jsm_nb.login(sb.config).submit(sb.approve(other_kernel.stdout.strip()))
    assert isinstance(_stored(sb.config), dict)


def test_an_older_tab_can_still_complete_its_sign_in(sb: Sandbox) -> None:
    login = jsm_nb.login(sb.config)
    old_url = login.authorization_url
    login.restart()
    login.submit(sb.approve(old_url))
    assert isinstance(_stored(sb.config), dict)


def test_expired_pending_sign_in_is_refused(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    login = jsm_nb.login(sb.config)
    landing = sb.approve(login.authorization_url)
    import time

    later = time.time() + PENDING_TTL + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(AuthorizationError, match="older sign-in"):
        login.submit(landing)


@pytest.mark.parametrize("form", ["query", "question-mark", "quoted", "padded"])
def test_paste_accepts_the_query_string_and_trims_quotes(sb: Sandbox, form: str) -> None:
    login = jsm_nb.login(sb.config)
    landing = sb.approve(login.authorization_url)
    query = urlsplit(landing).query
    text = {
        "query": query,
        "question-mark": "?" + query,
        "quoted": f'"{landing}"',
        "padded": f"  \n{landing}\t ",
    }[form]
    login.submit(text)
    assert isinstance(_stored(sb.config), dict)


def test_session_without_login_says_run_login(sb: Sandbox) -> None:
    with pytest.raises(LoginRequired, match=r"jsm_nb\.login\(\)"):
        jsm_nb.session(sb.config)


def test_sandbox_and_real_logins_never_mix(sb: Sandbox, signed_in: jsm_nb.Config) -> None:
    real = jsm_nb.Config(client_id="real-app", client_secret="s", token_path=signed_in.token_path)
    with pytest.raises(LoginRequired):
        jsm_nb.session(real)


def test_an_address_cut_short_in_its_state_says_so_and_the_whole_one_still_works(
    sb: Sandbox,
) -> None:
    login = jsm_nb.login(sb.config)
    landing = sb.approve(login.authorization_url)
    assert landing.index("state=") > landing.index("code=")  # Atlassian's order: state last
    with pytest.raises(AuthorizationError, match="looks cut short") as raised:
        login.submit(landing[:-4])
    assert "older sign-in" not in str(raised.value)
    login.submit(landing)  # nothing was used up: the whole address signs in
    assert isinstance(_stored(sb.config), dict)


@pytest.mark.parametrize(
    ("cut", "says"),
    [
        (lambda url: url.split("&state=")[0], "has no state.*cut short"),
        (lambda url: url.split("code=")[0] + "state=" + _query(url)["state"], "has no code"),
    ],
    ids=["before the state", "without the code"],
)
def test_an_address_missing_a_part_keeps_the_sign_in_for_the_whole_one(
    sb: Sandbox, cut: Callable[[str], str], says: str
) -> None:
    login = jsm_nb.login(sb.config)
    landing = sb.approve(login.authorization_url)
    with pytest.raises(AuthorizationError, match=says):
        login.submit(cut(landing))
    login.submit(landing)
    assert isinstance(_stored(sb.config), dict)


def test_the_advice_to_start_over_fits_the_front_end(sb: Sandbox) -> None:
    login = jsm_nb.Login(sb.config_for(site=sb.sites[0]["id"]), jsm_nb.MemoryStore())
    url = login.authorization_url
    older = sb.approve(url).replace("state=", "state=x")
    lines: list[str] = []
    answers = [older, sb.approve(url)]
    login.interactive(ask=lambda prompt: answers.pop(0), say=lines.append)
    said = "\n".join(lines)
    assert "older sign-in (or was used already): open the consent page again." in said
    assert f"The consent page is still: {url}" in lines
    assert "click Connect" not in said
    with pytest.raises(AuthorizationError, match=r"older sign-in.*: click Connect again"):
        login.submit(older)  # the notebook widget's words again, after the terminal
