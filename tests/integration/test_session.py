"""JsmSession: refresh and rotation, retries, where the token may go, what never leaks."""

from __future__ import annotations

import contextlib
import dataclasses
import http.server
import threading
import time
from collections.abc import Iterator

import pytest

import jsm_nb
from jsm_nb import AuthorizationError, LoginRequired, cost
from jsm_nb.entries import login_entry
from jsm_nb.sandbox import Sandbox

SERVICEDESKS = "/rest/servicedeskapi/servicedesk"


def _stored(config: jsm_nb.Config) -> dict[str, object]:
    token = jsm_nb.FileStore(config.token_path).read(login_entry(config))
    assert isinstance(token, dict)
    return token


def test_relative_paths_go_through_the_gateway_to_the_chosen_site(
    sb: Sandbox, signed_in: jsm_nb.Config
) -> None:
    s = jsm_nb.session(signed_in)
    response = s.get(SERVICEDESKS)
    assert response.url.startswith(f"{sb.api_url}/ex/jira/{sb.sites[0]['id']}/rest/")
    assert s.site is not None
    assert s.site.name == sb.sites[0]["name"]
    assert jsm_nb.session(signed_in) is s  # one session per configuration


def test_several_sites_and_none_chosen_lists_them(sb: Sandbox) -> None:
    config = sb.sign_in(site=None)
    with pytest.raises(jsm_nb.ConfigError, match="JSM_NB_SITE") as caught:
        jsm_nb.session(config)
    for site in sb.sites:
        assert site["name"] in str(caught.value)


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Records the Authorization header of every request; redirects when asked to."""

    seen: list[str | None]
    redirect_to: str | None = None
    status: int = 200

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        if self.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
        else:
            self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str | None], type[_Recorder]]]:
    handler = type("Handler", (_Recorder,), {"seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen, handler
    server.shutdown()
    server.server_close()


def test_the_token_never_goes_to_another_host(
    sb: Sandbox, signed_in: jsm_nb.Config, recorder
) -> None:  # type: ignore[no-untyped-def]
    url, seen, _ = recorder
    s = jsm_nb.session(signed_in)
    links = s.get(SERVICEDESKS).json()["_links"]
    for target in (f"{url}/rest/x", f"{links['base']}/rest/servicedeskapi/servicedesk"):
        with pytest.raises(ValueError, match="Refusing to send the Atlassian token"):
            s.get(target)
    assert seen == []


def test_a_redirect_to_another_host_loses_the_token(
    sb: Sandbox, signed_in: jsm_nb.Config, recorder
) -> None:  # type: ignore[no-untyped-def]
    target, seen, _ = recorder
    redirecting = type("Redirecting", (_Recorder,), {"seen": [], "redirect_to": f"{target}/landed"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = f"http://127.0.0.1:{server.server_address[1]}"
        response = _session_on(signed_in, api).get(f"{api}/start")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status_code == 200
    assert str(redirecting.seen[0]).startswith("Bearer ")
    assert seen == [None]


def _session_on(config: jsm_nb.Config, api: str) -> jsm_nb.JsmSession:
    """A session of ``config``'s login whose API host is ``api`` (a stand-in server)."""
    return jsm_nb.JsmSession(
        dataclasses.replace(config, api_url=api), jsm_nb.session(config).tokens
    )


@contextlib.contextmanager
def _serving(handler: type[_Recorder]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _redirecting_api() -> type[_Recorder]:
    """A handler to serve as a session's API host: it records the Authorization header and
    redirects (set ``redirect_to``)."""
    return type("Redirecting", (_Recorder,), {"seen": []})


def test_a_redirect_target_answering_401_gets_no_token_and_causes_no_refresh(
    sb: Sandbox, signed_in: jsm_nb.Config
) -> None:
    refusing = type("Refusing", (_Recorder,), {"seen": [], "status": 401})
    with _serving(refusing) as target:
        redirecting = _redirecting_api()
        redirecting.redirect_to = f"{target}/landed"
        with _serving(redirecting) as api:
            response = _session_on(signed_in, api).get(f"{api}/start")
    assert response.status_code == 401
    assert str(redirecting.seen[0]).startswith("Bearer ")
    assert refusing.seen == [None]  # its 401 did not earn it a fresh token
    assert sb.stats.refreshes == 0


@pytest.mark.parametrize("target", ["another port", "another spelling", "https"])
def test_a_redirect_off_the_exact_api_origin_loses_the_token(
    sb: Sandbox, signed_in: jsm_nb.Config, target: str
) -> None:
    landing = type("Landing", (_Recorder,), {"seen": []})
    with _serving(landing) as other:
        redirecting = _redirecting_api()
        with _serving(redirecting) as api:
            port, api_port = other.rsplit(":", 1)[1], api.rsplit(":", 1)[1]
            redirecting.redirect_to = {
                "another port": f"http://127.0.0.1:{port}/landed",  # same host, other service
                "another spelling": f"http://localhost:{api_port}/landed",  # same socket
                "https": f"https://127.0.0.1:{api_port}/landed",  # another scheme
            }[target]
            with contextlib.suppress(jsm_nb.ApiError):  # https to a plain http server fails
                _session_on(signed_in, api).get(f"{api}/start")
    assert str(redirecting.seen[0]).startswith("Bearer ")
    assert all(seen is None for seen in landing.seen + redirecting.seen[1:])


def test_access_token_is_refreshed_ahead_of_expiry_and_rotated(sb: Sandbox) -> None:
    sb.settings.access_token_lifetime = 2
    config = sb.sign_in()
    first = _stored(config)
    s = jsm_nb.session(config)
    assert s.get(SERVICEDESKS).ok
    assert sb.stats.refreshes == 0
    time.sleep(1.2)  # within the leeway (half the 2 s lifetime)
    assert s.get(SERVICEDESKS).ok
    second = _stored(config)
    assert sb.stats.refreshes == 1
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]


def test_a_rejected_token_is_refreshed_once_and_the_request_resent(
    sb: Sandbox, signed_in: jsm_nb.Config
) -> None:
    s = jsm_nb.session(signed_in)
    store = jsm_nb.FileStore(signed_in.token_path)
    token = _stored(signed_in)
    store.write(login_entry(signed_in), {**token, "access_token": "revoked-elsewhere"})
    s.tokens._token = None  # as a new kernel would: read the store
    response = s.get(SERVICEDESKS)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert sb.stats.refreshes == 1


def test_a_scope_error_is_not_refreshed(sb: Sandbox) -> None:
    config = sb.sign_in(scopes=("read:me", "offline_access"))
    response = jsm_nb.session(config).get(SERVICEDESKS)
    assert response.status_code == 401
    assert sb.stats.refreshes == 0
    error = jsm_nb.ApiError.from_response(response)
    assert "JSM_NB_SCOPES" in str(error)


def test_a_dead_grant_raises_login_required_everywhere(sb: Sandbox) -> None:
    sb.settings.access_token_lifetime = 1
    config = sb.sign_in()
    s = jsm_nb.session(config)
    sb.revoke_all()
    time.sleep(1.1)
    with pytest.raises(LoginRequired, match=r"Run jsm_nb\.login\(\)") as caught:
        s.get(SERVICEDESKS)
    assert "invalid_grant" in str(caught.value)
    with pytest.raises(LoginRequired, match="can no longer be used"):
        jsm_nb.session(config.__class__(**{**config.__dict__, "timeout": 5.0}))
    assert sb.stats.rejected_refreshes == 1  # the other kernel did not try the dead token again


def test_wrong_secret_at_refresh_is_not_login_required(sb: Sandbox) -> None:
    sb.settings.access_token_lifetime = 1
    config = sb.sign_in()
    time.sleep(1.1)
    wrong = config.__class__(**{**config.__dict__, "client_secret": "rotated-in-console"})
    with pytest.raises(AuthorizationError, match="JSM_NB_CLIENT_SECRET") as caught:
        jsm_nb.session(wrong)
    assert not isinstance(caught.value, LoginRequired)
    assert "refresh_token" in _stored(config)  # the login is kept


def test_429_503_and_dropped_connections_are_retried(sb: Sandbox, signed_in: jsm_nb.Config) -> None:
    s = jsm_nb.session(signed_in)
    with cost.metered() as meter:
        sb.faults.rate_limit(every=2, retry_after=1)
        assert all(s.get(SERVICEDESKS).ok for _ in range(4))
        sb.faults.clear()
        sb.faults.fail(status=503, every=2, retry_after=0)
        assert all(s.get(SERVICEDESKS).ok for _ in range(4))
        sb.faults.clear()
        sb.faults.drop(every=2)
        assert all(s.get(SERVICEDESKS).ok for _ in range(4))
    # every second request was refused: 3 times in each run of 4 calls
    assert meter.throttle_waits == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]  # drops are not throttling
    assert meter.cost().retries == 9
    assert meter.cost().requests == 3 * 7
    assert sb.stats.requests_per_path  # the sandbox saw them all


def test_retries_are_bounded(sb: Sandbox, signed_in: jsm_nb.Config) -> None:
    config = signed_in.__class__(**{**signed_in.__dict__, "max_retries": 2, "backoff": 0.01})
    s = jsm_nb.session(config)
    sb.faults.fail(status=503, every=1)
    before = sb.stats.api_requests
    response = s.get(SERVICEDESKS)
    assert response.status_code == 503
    assert sb.stats.api_requests - before == 3
    with pytest.raises(jsm_nb.ApiError, match="HTTP 503"):
        raise jsm_nb.ApiError.from_response(response)
