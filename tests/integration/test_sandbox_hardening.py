"""The sandbox as a server anyone on the machine can reach, over raw sockets.

Bodies are capped instead of trusting ``Content-Length``, connections that send
nothing (or trickle) are cut, consents nobody answers expire and are capped, and
the DEBUG log holds no state, code, challenge or token.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest
import requests

import jsm_nb
from jsm_nb.config import DEFAULT_SCOPES
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Sandbox, Settings, server

WAIT = 5.0  # seconds a test waits for the server, far beyond any shortened timeout
SHORT = 0.3  # the shortened connection timeout
REQUEST_ID = "request_id"


# -- helpers ------------------------------------------------------------------------------------


@contextlib.contextmanager
def connection(url: str) -> Iterator[socket.socket]:
    """A raw TCP connection to the server at ``url``."""
    parts = urlsplit(url)
    with socket.create_connection((str(parts.hostname), int(parts.port or 80)), WAIT) as sock:
        yield sock


def answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response from ``sock``: status, headers and body."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, dict(response.getheaders()), response.read()


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` within ``WAIT`` seconds (EOF or reset)."""
    sock.settimeout(WAIT)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def cut_while_trickling(sock: socket.socket) -> bool:
    """Send a byte at a time, each well within the timeout, for up to ``WAIT`` seconds;
    whether the server hangs up meanwhile."""
    started = time.monotonic()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while time.monotonic() - started < WAIT:
            sock.sendall(b"a")
            if select.select([sock], [], [], SHORT / 6)[0]:
                return closed_by_server(sock)
        return False
    return True


def head(method: str, path: str, *headers: tuple[str, str]) -> bytes:
    """A request's line and headers (keep-alive), up to the blank line that ends them."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def consent_page(sb: Sandbox) -> str:
    """Open a valid consent page; return its request id."""
    query = {
        "audience": "api.atlassian.com",
        "client_id": sb.client_id,
        "scope": " ".join(DEFAULT_SCOPES),
        "redirect_uri": sb.config.redirect_uri,
        "state": "hardening-state",
        "response_type": "code",
        "prompt": "consent",
    }
    page = requests.get(f"{sb.auth_url}/authorize?{urlencode(query)}", timeout=WAIT)
    assert page.status_code == 200, page.text
    marker = f'name="{REQUEST_ID}" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def decide(sb: Sandbox, request_id: str) -> requests.Response:
    """Click Accept on the consent page of ``request_id``."""
    return requests.post(
        f"{sb.auth_url}/authorize/decision",
        data={REQUEST_ID: request_id, "decision": "accept"},
        allow_redirects=False,
        timeout=WAIT,
    )


@pytest.fixture(params=["auth", "api"])
def url(request: pytest.FixtureRequest, sb: Sandbox) -> str:
    """The base URL of each of the sandbox's two servers."""
    return sb.auth_url if request.param == "auth" else sb.api_url


# -- request bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", ["4000000000", "9" * 5000], ids=["4GB", "5000-digits"])
def test_a_huge_content_length_gets_413_at_once_and_the_connection_closes(
    url: str, length: str
) -> None:
    with connection(url) as sock:
        request = head(
            "POST", "/oauth/token", ("Content-Type", "application/json"), ("Content-Length", length)
        )
        sock.sendall(request + b'{"grant_type": "')
        status, headers, body = answer(sock)
        assert status == 413
        assert headers["Connection"] == "close"
        error = json.loads(body)
        assert error["code"] == 413
        assert str(server.MAX_BODY) in error["message"]
        assert closed_by_server(sock)


@pytest.mark.parametrize(("extra", "status"), [(0, 400), (1, 413)])
def test_bodies_up_to_the_cap_reach_the_app(sb: Sandbox, extra: int, status: int) -> None:
    body = b"x" * (server.MAX_BODY + extra)  # not JSON: the token endpoint answers 400
    answered = requests.post(
        f"{sb.auth_url}/oauth/token",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=WAIT,
    )
    assert answered.status_code == status
    if status == 400:
        assert answered.json()["error"] == "invalid_request"


@pytest.mark.parametrize("length", ["-1", "abc", "1_0", "+5", " ", "5, 5", "0x10"])
def test_a_malformed_content_length_gets_400_and_the_connection_closes(
    sb: Sandbox, length: str
) -> None:
    with connection(sb.api_url) as sock:
        sock.sendall(head("POST", "/me", ("Content-Length", length)) + b"12345")
        status, headers, body = answer(sock)
        assert (status, json.loads(body)["code"], headers["Connection"]) == (400, 400, "close")
        assert closed_by_server(sock)


def test_two_different_content_lengths_get_400(sb: Sandbox) -> None:
    with connection(sb.api_url) as sock:
        request = head("POST", "/me", ("Content-Length", "5"), ("Content-Length", "3"))
        sock.sendall(request + b"12345")
        assert answer(sock)[0] == 400


@pytest.mark.parametrize("coding", ["chunked", "gzip, chunked", "gzip", "identity"])
def test_a_transfer_encoding_gets_411(sb: Sandbox, coding: str) -> None:
    with connection(sb.api_url) as sock:
        sock.sendall(
            head("POST", "/me", ("Transfer-Encoding", coding)) + b"5\r\nhello\r\n0\r\n\r\n"
        )
        status, headers, body = answer(sock)
        assert (status, json.loads(body)["code"], headers["Connection"]) == (411, 411, "close")


# -- connection timeouts ------------------------------------------------------------------------


@pytest.mark.parametrize("first_request", [False, True], ids=["fresh", "kept-alive"])
def test_an_idle_connection_is_closed_after_the_timeout(
    sb: Sandbox, url: str, first_request: bool
) -> None:
    sb.settings.connection_timeout = SHORT
    with connection(url) as sock:
        if first_request:
            sock.sendall(head("GET", "/nowhere"))
            assert answer(sock)[0] in (401, 404)
        assert closed_by_server(sock)


@pytest.mark.parametrize(
    "start",
    [
        b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        head("POST", "/me", ("Content-Length", "99999")),
    ],
    ids=["headers", "body"],
)
def test_a_request_trickling_in_is_cut(sb: Sandbox, start: bytes) -> None:
    sb.settings.connection_timeout = SHORT
    with connection(sb.api_url) as sock:
        sock.sendall(start)
        assert cut_while_trickling(sock)


def test_requests_spaced_within_the_timeout_keep_the_connection(sb: Sandbox) -> None:
    sb.settings.connection_timeout = 0.5
    with connection(sb.api_url) as sock:
        statuses = []
        for _ in range(3):  # 0.9 s in all: the timeout is per request, not per connection
            sock.sendall(head("GET", "/me"))
            statuses.append(answer(sock)[0])
            time.sleep(0.3)
        assert statuses == [401, 401, 401]


# -- consents -----------------------------------------------------------------------------------


def test_an_unanswered_consent_expires(sb: Sandbox) -> None:
    request_id = consent_page(sb)
    sb.settings.consent_lifetime = 0
    decided = decide(sb, request_id)
    assert decided.status_code == 400
    assert "expired" in decided.text
    assert "sign in again" in decided.text


def test_a_consent_answered_in_time_still_works(sb: Sandbox) -> None:
    sb.settings.consent_lifetime = 60
    assert decide(sb, consent_page(sb)).status_code == 302


def test_pending_consents_are_capped_dropping_the_oldest(sb: Sandbox) -> None:
    sb.settings.max_pending_consents = 2
    oldest, *newer = [consent_page(sb) for _ in range(3)]
    assert decide(sb, oldest).status_code == 400
    assert [decide(sb, request_id).status_code for request_id in newer] == [302, 302]


@pytest.mark.parametrize("knob", ["max_pending_consents", "connection_timeout"])
def test_settings_refuse_a_cap_or_timeout_of_0(knob: str) -> None:
    with pytest.raises(ValueError, match=knob):
        Settings(**{knob: 0})


# -- the DEBUG log ------------------------------------------------------------------------------


def test_the_debug_log_holds_no_state_code_challenge_or_token(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="jsm_nb.sandbox")
    config = sb.sign_in()  # consent with state and a PKCE challenge, the code exchange
    session = jsm_nb.session(config)
    try:
        session.tokens.refresh(stale=session.tokens.access_token())
        assert session.get("/rest/servicedeskapi/servicedesk").ok
        assert sb.stats.refreshes == 1
    finally:
        CONTEXT.forget_sessions(config)
    # a request line too malformed to parse (an unencoded space) is logged as an error
    made_up = {"state": "made-up-state-0123456789", "code_challenge": "made-up-challenge-0123456"}
    with connection(sb.auth_url) as sock:
        sock.sendall(f"GET /authorize?{urlencode(made_up)}&x=a b HTTP/1.1\r\n\r\n".encode())
        assert answer(sock)[0] == 400

    issued = sb.secrets()
    assert all(issued[kind] for kind in ("state", "code_challenge", "code", "refresh_token"))
    log = "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("jsm_nb.sandbox")
    )
    for line in ("GET /authorize", "POST /authorize/decision", "POST /oauth/token", "GET /ex/"):
        assert line in log, line
    assert "Bad request syntax" in log
    leaks = [
        f"{kind} {value[:6]}..."
        for kind, values in {**issued, "made up": set(made_up.values())}.items()
        for value in values
        if value in log
    ]
    assert not leaks, leaks
