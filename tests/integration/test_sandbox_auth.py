"""The sandbox's authorisation server, over real HTTP: consent, codes, tokens, rotation."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from jsm_nb import AuthorizationError
from jsm_nb.config import DEFAULT_SCOPES
from jsm_nb.sandbox import Sandbox, run

REDIRECT = "http://localhost:8765/callback"
OTHER_REDIRECT = "http://127.0.0.1:9000/done"
INVALID_REFRESH = {
    "error": "invalid_grant",
    "error_description": "Unknown or invalid refresh token.",
}


# -- helpers ------------------------------------------------------------------------------------


def consent_url(sb: Sandbox, **params: str | None) -> str:
    """A valid consent URL for ``sb``; ``params`` override its parameters, ``None`` drops one."""
    query: dict[str, str | None] = {
        "audience": "api.atlassian.com",
        "client_id": sb.client_id,
        "scope": " ".join(DEFAULT_SCOPES),
        "redirect_uri": sb.config.redirect_uri,
        "state": "state-123",
        "response_type": "code",
        "prompt": "consent",
        **params,
    }
    kept = {name: value for name, value in query.items() if value is not None}
    return f"{sb.auth_url}/authorize?{urlencode(kept)}"


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url``, one value each."""
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def post_token(sb: Sandbox, body: dict[str, str], *, form: bool = False) -> requests.Response:
    """POST ``body`` to the token endpoint as JSON (or form-encoded)."""
    url = f"{sb.auth_url}/oauth/token"
    if form:
        return requests.post(url, data=body, timeout=10)
    return requests.post(url, json=body, timeout=10)


def exchange(sb: Sandbox, code: str, *, form: bool = False, **fields: str) -> requests.Response:
    """Exchange ``code``; ``fields`` override or add body fields."""
    body = {
        "grant_type": "authorization_code",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "code": code,
        "redirect_uri": sb.config.redirect_uri,
        **fields,
    }
    return post_token(sb, body, form=form)


def refresh(sb: Sandbox, refresh_token: str) -> requests.Response:
    """Use ``refresh_token`` once."""
    body = {
        "grant_type": "refresh_token",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "refresh_token": refresh_token,
    }
    return post_token(sb, body)


def code_for(sb: Sandbox, **params: str | None) -> str:
    """Consent (click Accept) and return the authorisation code."""
    return query_of(sb.approve(consent_url(sb, **params)))["code"]


def sign_in(sb: Sandbox, **params: str | None) -> dict[str, Any]:
    """Consent, exchange the code and return the token answer."""
    answer = exchange(sb, code_for(sb, **params))
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def api_status(sb: Sandbox, access_token: str) -> int:
    """The status of ``accessible-resources`` with ``access_token``."""
    answer = requests.get(
        f"{sb.api_url}/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    return answer.status_code


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A sandbox with two registered callbacks and no refresh-token leeway."""
    with run(redirect_uris=(REDIRECT, OTHER_REDIRECT), refresh_reuse_leeway=0) as sandbox:
        yield sandbox


# -- the consent page ----------------------------------------------------------------------------


def test_consent_page_shows_app_scopes_sites_and_both_buttons(jsm_sandbox: Sandbox) -> None:
    page = requests.get(consent_url(jsm_sandbox), timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    for scope in DEFAULT_SCOPES:
        assert f"<code>{scope}</code>" in page.text
    for site in jsm_sandbox.sites:
        assert site["name"] in page.text
    assert "jsm_nb" in page.text
    assert re.search(r'<button[^>]*id="accept"[^>]*>Accept</button>', page.text)
    assert re.search(r'<button[^>]*id="deny"[^>]*>Deny</button>', page.text)
    assert 'action="/authorize/decision"' in page.text


def test_consent_page_escapes_what_it_shows(jsm_sandbox: Sandbox) -> None:
    page = requests.get(consent_url(jsm_sandbox, scope="read:me <script>x</script>"), timeout=10)
    assert "<script>" not in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("audience", None),
        ("audience", "api.example.com"),
        ("client_id", None),
        ("client_id", "someone-else"),
        ("scope", None),
        ("scope", "   "),
        ("redirect_uri", None),
        ("redirect_uri", "http://localhost:8765/elsewhere"),
        ("state", None),
        ("response_type", None),
        ("response_type", "token"),
        ("prompt", None),
        ("prompt", "none"),
        ("code_challenge_method", "S512"),
    ],
)
def test_bad_consent_request_gets_an_error_page_naming_the_parameter(
    jsm_sandbox: Sandbox, name: str, value: str | None
) -> None:
    extra = {"code_challenge": s256("v" * 43)} if name == "code_challenge_method" else {}
    url = consent_url(jsm_sandbox, **{name: value}, **extra)
    page = requests.get(url, timeout=10, allow_redirects=False)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")
    assert name in page.text
    with pytest.raises(AuthorizationError, match=name):
        jsm_sandbox.approve(url)


def test_challenge_method_without_challenge_is_refused(jsm_sandbox: Sandbox) -> None:
    url = consent_url(jsm_sandbox, code_challenge_method="S256")
    with pytest.raises(AuthorizationError, match="without code_challenge"):
        jsm_sandbox.approve(url)


def test_approve_refuses_a_url_of_another_server(jsm_sandbox: Sandbox) -> None:
    url = consent_url(jsm_sandbox).replace(jsm_sandbox.auth_url, "https://auth.atlassian.com")
    with pytest.raises(AuthorizationError, match="not this sandbox's consent URL"):
        jsm_sandbox.approve(url)


def test_accept_redirects_to_the_callback_with_code_and_state(jsm_sandbox: Sandbox) -> None:
    landing = jsm_sandbox.approve(consent_url(jsm_sandbox, state="a b&c"))
    assert landing.startswith(REDIRECT + "?")
    query = query_of(landing)
    assert query["state"] == "a b&c"
    assert len(query["code"]) >= 20


def test_deny_redirects_with_access_denied(jsm_sandbox: Sandbox) -> None:
    landing = jsm_sandbox.approve(consent_url(jsm_sandbox), deny=True)
    query = query_of(landing)
    assert landing.startswith(REDIRECT + "?")
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"] == "state-123"
    assert "code" not in query


def test_a_consent_can_be_answered_once(jsm_sandbox: Sandbox) -> None:
    page = requests.get(consent_url(jsm_sandbox), timeout=10).text
    match = re.search(r'name="request_id" value="([^"]+)"', page)
    assert match
    decision = {"request_id": match.group(1), "decision": "accept"}
    url = f"{jsm_sandbox.auth_url}/authorize/decision"
    first = requests.post(url, data=decision, allow_redirects=False, timeout=10)
    again = requests.post(url, data=decision, allow_redirects=False, timeout=10)
    unknown = requests.post(
        url, data={**decision, "request_id": "nope"}, allow_redirects=False, timeout=10
    )
    assert first.status_code == 302
    assert (again.status_code, unknown.status_code) == (400, 400)


# -- exchanging the code ------------------------------------------------------------------------


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_code_exchange_answers_like_atlassian(jsm_sandbox: Sandbox, form: bool) -> None:
    answer = exchange(jsm_sandbox, code_for(jsm_sandbox), form=form)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert answer.headers["Cache-Control"] == "no-store"
    tokens = answer.json()
    assert set(tokens) == {"access_token", "expires_in", "scope", "refresh_token", "token_type"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"].split() == list(DEFAULT_SCOPES)
    assert len(tokens["access_token"]) >= 100
    assert tokens["access_token"] != tokens["refresh_token"]
    assert jsm_sandbox.stats.codes_exchanged == 1


def test_no_refresh_token_without_offline_access(jsm_sandbox: Sandbox) -> None:
    tokens = sign_in(jsm_sandbox, scope="read:me read:servicedesk-request")
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "read:me read:servicedesk-request"


def test_reused_code_is_refused_and_revokes_what_it_gave(sb: Sandbox) -> None:
    code = code_for(sb)
    tokens = exchange(sb, code).json()
    again = exchange(sb, code)
    assert again.status_code == 403
    assert again.json()["error"] == "invalid_grant"
    assert api_status(sb, tokens["access_token"]) == 401
    assert refresh(sb, tokens["refresh_token"]).json() == INVALID_REFRESH
    assert sb.stats.revoked_families == 1


def test_unknown_code_or_other_redirect_uri_is_invalid_grant(sb: Sandbox) -> None:
    unknown = exchange(sb, "made-up")
    elsewhere = exchange(sb, code_for(sb), redirect_uri=OTHER_REDIRECT)
    for answer, description in [
        (unknown, "Invalid authorization code"),
        (elsewhere, "redirect_uri"),
    ]:
        assert answer.status_code == 403
        assert answer.json()["error"] == "invalid_grant"
        assert description in answer.json()["error_description"]


def test_code_expires(sb: Sandbox) -> None:
    code = code_for(sb)
    sb.settings.code_lifetime = 0
    answer = exchange(sb, code)
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Authorization code has expired",
    }


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_pkce_verifier_is_checked_when_a_challenge_was_sent(sb: Sandbox, method: str) -> None:
    verifier = "v3r1f13r-" + "x" * 40
    challenge = s256(verifier) if method == "S256" else verifier
    pkce = {"code_challenge": challenge, "code_challenge_method": method}
    missing = exchange(sb, code_for(sb, **pkce))
    wrong = exchange(sb, code_for(sb, **pkce), code_verifier="y" * 50)
    right = exchange(sb, code_for(sb, **pkce), code_verifier=verifier)
    assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
    assert missing.json()["error"] == wrong.json()["error"] == "invalid_grant"


def test_verifier_without_a_challenge_is_ignored(jsm_sandbox: Sandbox) -> None:
    answer = exchange(jsm_sandbox, code_for(jsm_sandbox), code_verifier="z" * 43)
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "credentials", [{"client_secret": "wrong"}, {"client_id": "other"}, {"client_secret": ""}]
)
def test_wrong_client_credentials_are_401_access_denied(
    jsm_sandbox: Sandbox, credentials: dict[str, str]
) -> None:
    code = code_for(jsm_sandbox)
    answer = exchange(jsm_sandbox, code, **credentials)
    assert answer.status_code == 401
    assert answer.json() == {"error": "access_denied", "error_description": "Unauthorized"}
    assert exchange(jsm_sandbox, code).status_code == 200  # the code was not spent


def test_malformed_token_requests_are_400(jsm_sandbox: Sandbox) -> None:
    url = f"{jsm_sandbox.auth_url}/oauth/token"
    not_json = requests.post(
        url, data="{", headers={"Content-Type": "application/json"}, timeout=10
    )
    wrong_type = requests.post(url, data="x", headers={"Content-Type": "text/plain"}, timeout=10)
    no_grant = post_token(jsm_sandbox, {"client_id": jsm_sandbox.client_id})
    other_grant = post_token(jsm_sandbox, {"grant_type": "client_credentials"})
    no_code = exchange(jsm_sandbox, "")
    assert [r.status_code for r in (not_json, wrong_type, no_grant, other_grant, no_code)] == [
        400
    ] * 5
    errors = [r.json()["error"] for r in (not_json, wrong_type, no_grant, other_grant, no_code)]
    assert errors == [
        "invalid_request",
        "invalid_request",
        "invalid_request",
        "unsupported_grant_type",
        "invalid_request",
    ]


# -- refresh tokens -----------------------------------------------------------------------------


def test_refresh_rotates_and_old_access_tokens_live_on(jsm_sandbox: Sandbox) -> None:
    first = sign_in(jsm_sandbox)
    second = refresh(jsm_sandbox, first["refresh_token"]).json()
    third = refresh(jsm_sandbox, second["refresh_token"]).json()
    tokens = {first["refresh_token"], second["refresh_token"], third["refresh_token"]}
    assert len(tokens) == 3
    assert second["scope"] == first["scope"]
    for access_token in (first["access_token"], second["access_token"], third["access_token"]):
        assert api_status(jsm_sandbox, access_token) == 200
    assert jsm_sandbox.stats.refreshes == 2


def test_reuse_within_the_leeway_still_works(jsm_sandbox: Sandbox) -> None:
    first = sign_in(jsm_sandbox)
    assert refresh(jsm_sandbox, first["refresh_token"]).status_code == 200
    again = refresh(jsm_sandbox, first["refresh_token"])
    assert again.status_code == 200
    assert api_status(jsm_sandbox, again.json()["access_token"]) == 200
    assert jsm_sandbox.stats.revoked_families == 0


def test_reuse_after_the_leeway_revokes_the_whole_family(sb: Sandbox) -> None:
    first = sign_in(sb)
    bystander = sign_in(sb)  # another grant must not suffer
    second = refresh(sb, first["refresh_token"]).json()
    stale = refresh(sb, first["refresh_token"])
    assert stale.status_code == 403
    assert stale.json() == INVALID_REFRESH
    assert refresh(sb, second["refresh_token"]).json() == INVALID_REFRESH
    assert api_status(sb, first["access_token"]) == 401
    assert api_status(sb, second["access_token"]) == 401
    assert api_status(sb, bystander["access_token"]) == 200
    assert refresh(sb, bystander["refresh_token"]).status_code == 200
    stats = sb.stats.snapshot()
    assert (stats["refreshes"], stats["rejected_refreshes"], stats["revoked_families"]) == (2, 2, 1)


def test_small_leeway_allows_reuse_then_revokes(sb: Sandbox) -> None:
    sb.settings.refresh_reuse_leeway = 0.3
    first = sign_in(sb)
    refresh(sb, first["refresh_token"])
    assert refresh(sb, first["refresh_token"]).status_code == 200
    sb.settings.refresh_reuse_leeway = 0
    assert refresh(sb, first["refresh_token"]).status_code == 403


def test_unknown_refresh_token_is_invalid_grant(jsm_sandbox: Sandbox) -> None:
    answer = refresh(jsm_sandbox, "not-a-token")
    assert answer.status_code == 403
    assert answer.json() == INVALID_REFRESH
    assert jsm_sandbox.stats.rejected_refreshes == 1


def test_expired_access_token_gets_401(jsm_sandbox: Sandbox) -> None:
    tokens = sign_in(jsm_sandbox)
    jsm_sandbox.settings.access_token_lifetime = 0
    assert api_status(jsm_sandbox, tokens["access_token"]) == 401
    jsm_sandbox.settings.access_token_lifetime = 3600
    fresh = refresh(jsm_sandbox, tokens["refresh_token"]).json()
    assert api_status(jsm_sandbox, fresh["access_token"]) == 200


def test_revoke_all_kills_every_grant(jsm_sandbox: Sandbox) -> None:
    grants = [sign_in(jsm_sandbox), sign_in(jsm_sandbox)]
    jsm_sandbox.revoke_all()
    for tokens in grants:
        assert api_status(jsm_sandbox, tokens["access_token"]) == 401
        assert refresh(jsm_sandbox, tokens["refresh_token"]).json() == INVALID_REFRESH
    assert jsm_sandbox.stats.revoked_families == 2
    assert api_status(jsm_sandbox, sign_in(jsm_sandbox)["access_token"]) == 200


# -- faults and counters on the token endpoint --------------------------------------------------


def test_auth_faults_hit_the_token_endpoint_only(jsm_sandbox: Sandbox) -> None:
    tokens = sign_in(jsm_sandbox)
    jsm_sandbox.faults.rate_limit(target="auth", retry_after=2)
    limited = refresh(jsm_sandbox, tokens["refresh_token"])
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert api_status(jsm_sandbox, tokens["access_token"]) == 200  # the API is untouched
    assert jsm_sandbox.approve(consent_url(jsm_sandbox))  # so is the consent page
    jsm_sandbox.faults.clear()
    jsm_sandbox.faults.fail(503, target="both", paths="/oauth/token")
    assert refresh(jsm_sandbox, tokens["refresh_token"]).status_code == 503
    jsm_sandbox.faults.clear()
    assert refresh(jsm_sandbox, tokens["refresh_token"]).status_code == 200


def test_token_requests_are_counted(jsm_sandbox: Sandbox) -> None:
    tokens = sign_in(jsm_sandbox)
    refresh(jsm_sandbox, tokens["refresh_token"])
    refresh(jsm_sandbox, "nope")
    stats = jsm_sandbox.stats.snapshot()
    assert stats["token_requests"] == 3
    assert stats["codes_exchanged"] == 1
    assert stats["requests_per_path"]["/oauth/token"] == 3
    assert stats["requests_per_path"]["/authorize"] == 1
    jsm_sandbox.stats.reset()
    assert jsm_sandbox.stats.snapshot() == {
        "refreshes": 0,
        "rejected_refreshes": 0,
        "reused_refreshes": 0,
        "revoked_families": 0,
        "codes_exchanged": 0,
        "token_requests": 0,
        "api_requests": 0,
        "requests_per_path": {},
    }
