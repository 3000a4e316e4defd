"""The sandbox's API gateway, faults, counters and ways to run it, over real HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from helpers import sandbox_exports

import jsm_nb
from jsm_nb import Config, sandbox
from jsm_nb.config import DEFAULT_SCOPES
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Sandbox

RESOURCES = "/oauth/token/accessible-resources"
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}


def access_token(sb: Sandbox, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
    """Sign in over HTTP (consent, Accept, code exchange) and return the access token."""
    query = {
        "audience": "api.atlassian.com",
        "client_id": sb.client_id,
        "scope": " ".join(scopes),
        "redirect_uri": sb.config.redirect_uri,
        "state": "s",
        "response_type": "code",
        "prompt": "consent",
    }
    landing = sb.approve(f"{sb.auth_url}/authorize?{urlencode(query)}")
    body = {
        "grant_type": "authorization_code",
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "code": parse_qs(urlsplit(landing).query)["code"][0],
        "redirect_uri": sb.config.redirect_uri,
    }
    answer = requests.post(f"{sb.auth_url}/oauth/token", json=body, timeout=10)
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
def api(jsm_sandbox: Sandbox) -> Iterator[requests.Session]:
    """A keep-alive session on the sandbox's API with a token for the default scopes."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token(jsm_sandbox)}"
    yield session
    session.close()


def jira(sb: Sandbox, path: str, site: int = 0) -> str:
    return f"{sb.api_url}/ex/jira/{sb.sites[site]['id']}{path}"


# -- bearer tokens and scopes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer made-up", "Basic dXNlcjpwYXNz", "bearer  "]
)
@pytest.mark.parametrize("path", [RESOURCES, "/me", "/ex/jira/x/rest/servicedeskapi/request", "/x"])
def test_every_route_needs_a_live_bearer_token(
    jsm_sandbox: Sandbox, authorization: str | None, path: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = requests.get(jsm_sandbox.api_url + path, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert answer.json() == UNAUTHORIZED


def test_accessible_resources_lists_every_site_in_no_sorted_order(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    sites = api.get(jsm_sandbox.api_url + RESOURCES, timeout=10).json()
    assert len(sites) >= 2
    assert sites == jsm_sandbox.sites
    assert [s["name"] for s in sites] != sorted(s["name"] for s in sites)
    for site in sites:
        assert set(site) == {"id", "name", "url", "scopes", "avatarUrl"}
        assert site["url"] == f"https://{site['name']}.atlassian.net"
        assert "read:servicedesk-request" in site["scopes"]
        assert "offline_access" not in site["scopes"]
    with sandbox.run(seed=0) as same_seed:
        assert [s["id"] for s in same_seed.sites] == [s["id"] for s in sites]


def test_me_answers_the_notes_fields_with_read_me_only(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    me = api.get(jsm_sandbox.api_url + "/me", timeout=10).json()
    assert set(me) == {
        "account_type",
        "account_id",
        "email",
        "name",
        "picture",
        "account_status",
        "nickname",
        "zoneinfo",
        "locale",
        "extended_profile",
    }
    assert set(me["extended_profile"]) == {"job_title", "organization", "department", "location"}
    assert (me["account_type"], me["account_status"]) == ("atlassian", "active")
    without = access_token(jsm_sandbox, ("read:servicedesk-request",))
    answer = requests.get(
        jsm_sandbox.api_url + "/me", headers={"Authorization": f"Bearer {without}"}, timeout=10
    )
    assert (answer.status_code, answer.json()) == (401, SCOPE_MISMATCH)


def test_product_call_without_its_scope_is_401_scope_mismatch(jsm_sandbox: Sandbox) -> None:
    token = access_token(jsm_sandbox, ("read:me", "offline_access"))
    answer = requests.get(
        jira(jsm_sandbox, "/rest/servicedeskapi/request"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert (answer.status_code, answer.json()) == (401, SCOPE_MISMATCH)


# -- the product routes -------------------------------------------------------------------------


def test_product_calls_reach_the_sites_jsm_data(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    for site in range(len(jsm_sandbox.sites)):
        answer = api.get(jira(jsm_sandbox, "/rest/servicedeskapi/servicedesk", site), timeout=30)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
        assert answer.json()["values"]


def test_unknown_cloud_id_is_a_json_404(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    answer = api.get(f"{jsm_sandbox.api_url}/ex/jira/nope/rest/servicedeskapi/request", timeout=10)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert answer.json()["code"] == 404


@pytest.mark.parametrize("path", ["/rest/other/1", "/", "/rest/servicedeskapi/no-such-thing"])
def test_unknown_product_path_is_404_with_jsms_error_body(
    jsm_sandbox: Sandbox, api: requests.Session, path: str
) -> None:
    answer = api.get(jira(jsm_sandbox, path), timeout=10)
    assert answer.status_code == 404
    body = answer.json()
    assert body["errorMessage"]
    assert set(body["i18nErrorMessage"]) == {"i18nKey", "parameters"}


# -- faults -------------------------------------------------------------------------------------


def statuses(sb: Sandbox, api: requests.Session, n: int, path: str = RESOURCES) -> list[int]:
    return [api.get(sb.api_url + path, timeout=10).status_code for _ in range(n)]


def test_latency_is_added_to_every_api_request(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    jsm_sandbox.faults.latency = 0.2
    started = time.monotonic()
    assert statuses(jsm_sandbox, api, 2) == [200, 200]
    assert time.monotonic() - started >= 0.4
    jsm_sandbox.faults.clear()
    assert jsm_sandbox.faults.latency == 0


def test_rate_limit_every_nth_request_with_atlassians_headers(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    jsm_sandbox.faults.rate_limit(every=2, retry_after=0.5)
    assert statuses(jsm_sandbox, api, 3) == [200, 429, 200]
    answer = api.get(jsm_sandbox.api_url + RESOURCES, timeout=10)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "0.5"
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert int(answer.headers["X-RateLimit-Limit"]) > 0
    assert answer.headers["X-RateLimit-NearLimit"] == "true"
    assert answer.headers["RateLimit-Reason"]
    assert time.strptime(answer.headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%MZ")


def test_rate_limit_without_retry_after(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    jsm_sandbox.faults.rate_limit(retry_after=None)
    answer = api.get(jsm_sandbox.api_url + RESOURCES, timeout=10)
    assert answer.status_code == 429
    assert "Retry-After" not in answer.headers
    assert "X-RateLimit-Reset" in answer.headers


def test_rate_picks_a_seeded_fraction(api: requests.Session, jsm_sandbox: Sandbox) -> None:
    jsm_sandbox.faults.rate_limit(rate=0.5)
    first = statuses(jsm_sandbox, api, 40)
    assert 5 < first.count(429) < 35
    with sandbox.run() as again:
        token = access_token(again)
        again.faults.rate_limit(rate=0.5)
        with requests.Session() as other:
            other.headers["Authorization"] = f"Bearer {token}"
            assert statuses(again, other, 40) == first


def test_faults_only_hit_matching_paths(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    jsm_sandbox.faults.fail(503, paths=["*/servicedeskapi/request"])
    assert statuses(jsm_sandbox, api, 1) == [200]
    assert api.get(jira(jsm_sandbox, "/rest/servicedeskapi/request"), timeout=10).status_code == 503


@pytest.mark.parametrize("status", [503, 504, 500])
def test_fail_answers_json_with_optional_retry_after(
    jsm_sandbox: Sandbox, api: requests.Session, status: int
) -> None:
    jsm_sandbox.faults.fail(status, retry_after=3)
    answer = api.get(jsm_sandbox.api_url + RESOURCES, timeout=10)
    assert answer.status_code == status
    assert answer.json()["code"] == status
    assert answer.headers["Retry-After"] == "3"


def test_502_comes_as_a_proxys_html_page(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    jsm_sandbox.faults.fail(502, every=1)
    answer = api.get(jsm_sandbox.api_url + RESOURCES, timeout=10)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in answer.text
    assert "Retry-After" not in answer.headers


def test_drop_closes_the_connection_without_an_answer(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    jsm_sandbox.faults.drop(every=2)
    assert statuses(jsm_sandbox, api, 1) == [200]
    with pytest.raises(requests.ConnectionError):
        api.get(jsm_sandbox.api_url + RESOURCES, timeout=10)
    assert statuses(jsm_sandbox, api, 1) == [200]


def test_first_firing_rule_wins_and_clear_removes_all(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    jsm_sandbox.faults.fail(503, every=3)
    jsm_sandbox.faults.rate_limit(every=2)
    assert statuses(jsm_sandbox, api, 6) == [200, 429, 503, 200, 429, 503]
    jsm_sandbox.faults.clear()
    assert statuses(jsm_sandbox, api, 3) == [200] * 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.rate_limit(every=0), "every="),
        (lambda f: f.rate_limit(rate=1.5), "rate="),
        (lambda f: f.rate_limit(every=2, rate=0.5), "not both"),
        (lambda f: f.drop(target="everywhere"), "target="),
        (lambda f: f.fail(404), "5xx"),
    ],
)
def test_bad_fault_arguments_are_refused(jsm_sandbox: Sandbox, call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call(jsm_sandbox.faults)


# -- counters, connections, lifecycle -----------------------------------------------------------


def test_api_requests_are_counted_per_normalised_path(
    jsm_sandbox: Sandbox, api: requests.Session
) -> None:
    jsm_sandbox.stats.reset()
    jsm_sandbox.faults.rate_limit(every=2)
    statuses(jsm_sandbox, api, 2)
    api.get(jira(jsm_sandbox, "/rest/servicedeskapi/request/ABC-12/sla"), timeout=10)
    api.get(jira(jsm_sandbox, "/rest/servicedeskapi/servicedesk/7/queue", site=1), timeout=10)
    api.get(jira(jsm_sandbox, "/rest/api/3/search/jql?jql=x"), timeout=10)
    stats = jsm_sandbox.stats.snapshot()
    assert stats["api_requests"] == 5
    assert stats["requests_per_path"] == {
        RESOURCES: 2,
        "/ex/jira/{cloudid}/rest/servicedeskapi/request/{key}/sla": 1,
        "/ex/jira/{cloudid}/rest/servicedeskapi/servicedesk/{id}/queue": 1,
        "/ex/jira/{cloudid}/rest/api/3/search/jql": 1,
    }


def test_connections_are_kept_alive(jsm_sandbox: Sandbox, api: requests.Session) -> None:
    answers = [api.get(jsm_sandbox.api_url + RESOURCES, timeout=10) for _ in range(50)]
    assert all(a.status_code == 200 and "Content-Length" in a.headers for a in answers)
    pools = api.get_adapter(jsm_sandbox.api_url).poolmanager.pools
    keys = pools.keys()  # the container refuses plain iteration
    assert sum(pools[key].num_connections for key in keys) == 1


def test_closing_stops_both_servers_and_removes_the_token_directory() -> None:
    session = requests.Session()
    with sandbox.run() as sb:
        session.headers["Authorization"] = f"Bearer {access_token(sb)}"
        assert statuses(sb, session, 1) == [200]  # leaves a pooled keep-alive connection
        directory = sb.config.token_path.parent
        assert directory.is_dir()
    assert not directory.exists()
    with pytest.raises(requests.ConnectionError):
        session.get(sb.api_url + RESOURCES, timeout=5)
    session.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.auth_url + "/authorize", timeout=5)
    sb.close()  # twice is fine


def test_default_is_one_shared_running_sandbox() -> None:
    first = sandbox.default()
    assert sandbox.default() is first
    assert requests.get(first.api_url + RESOURCES, timeout=10).status_code == 401


def test_config_and_config_for(jsm_sandbox: Sandbox, tmp_path: Path) -> None:
    config = jsm_sandbox.config
    assert (config.client_id, config.client_secret) == (
        jsm_sandbox.client_id,
        jsm_sandbox.client_secret,
    )
    assert (config.auth_url, config.api_url) == (jsm_sandbox.auth_url, jsm_sandbox.api_url)
    assert config.redirect_uri == "http://localhost:8765/callback"
    assert jsm_sandbox.client_secret not in repr(jsm_sandbox)
    other = jsm_sandbox.config_for(token_path=tmp_path / "t.json")
    assert other.token_path == tmp_path / "t.json"
    assert other.client_id == config.client_id


def test_pytest_fixtures_give_a_sandbox_and_its_config(
    jsm_sandbox: Sandbox, jsm_sandbox_config: Config
) -> None:
    assert jsm_sandbox_config == jsm_sandbox.config
    assert jsm_sandbox_config.token_path.parent.is_dir()


def test_command_line_prints_exports_and_serves_until_stopped() -> None:
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--requests", "50"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        exports = sandbox_exports(process)
        try:
            assert set(exports) == {
                "JSM_NB_CLIENT_ID",
                "JSM_NB_CLIENT_SECRET",
                "JSM_NB_AUTH_URL",
                "JSM_NB_API_URL",
                "JSM_NB_TOKEN_PATH",
            }
            config = Config.from_env(exports, dotenv=None)
            answer = requests.get(config.api_url + RESOURCES, timeout=10)
            assert (answer.status_code, answer.json()) == (401, UNAUTHORIZED)
            assert requests.get(config.auth_url + "/authorize", timeout=10).status_code == 400
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert not config.token_path.parent.exists()


def test_command_line_can_sign_in_and_add_latency() -> None:
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--requests", "50"]
    command += ["--sign-in", "--latency", "0.2"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            config = Config.from_env(sandbox_exports(process), dotenv=None)
            session = jsm_nb.session(config)  # the token file already holds a login
            started = time.monotonic()
            answer = session.get("/rest/servicedeskapi/servicedesk")
            assert answer.status_code == 200
            assert time.monotonic() - started >= 0.2
        finally:
            CONTEXT.forget_sessions(config)
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
