"""The bearer token goes only to the API origin, whichever way a request is sent.

A recording server on another loopback port stands for a host that must never get
the token. Tricky URLs (ones that parsers read differently, look-alike hosts, other
ports and schemes) are sent through every path of a session: ``get``, ``request``,
``send`` of a prepared request, redirects and the refresh-and-retry after a 401.
The recorder must never see an ``Authorization`` header, and a login is used only
with the API host it was made for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

import jsm_nb
from jsm_nb import LoginRequired
from jsm_nb.auth import TokenGuardAdapter
from jsm_nb.entries import login_entry
from jsm_nb.errors import TokenRefused
from jsm_nb.sandbox import Sandbox
from jsm_nb.store import FileStore

REFUSED = "Refusing to send the Atlassian token"


class Recorder:
    """A loopback HTTP server that records every request and answers ``status`` with JSON.

    With ``redirect_to`` set, it answers 302 to that address instead.
    """

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self.status = 200
        self.redirect_to: str | None = None
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self) -> None:
                recorder.requests.append((self.command, self.path, dict(self.headers.items())))
                if recorder.redirect_to is not None:
                    self.send_response(302)
                    self.send_header("Location", recorder.redirect_to)
                    body = b""
                else:
                    self.send_response(recorder.status)
                    self.send_header("Content-Type", "application/json")
                    body = json.dumps([]).encode()
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = answer

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def authorizations(self) -> list[str]:
        """Every ``Authorization`` header received (any spelling of its name)."""
        return [
            value
            for _, _, headers in self.requests
            for name, value in headers.items()
            if name.lower() == "authorization"
        ]

    def reset(self) -> None:
        self.requests.clear()
        self.status = 200
        self.redirect_to = None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def shared_recorder() -> Iterator[Recorder]:
    server = Recorder()
    yield server
    server.close()


@pytest.fixture
def recorder(shared_recorder: Recorder) -> Iterator[Recorder]:
    shared_recorder.reset()
    yield shared_recorder
    shared_recorder.reset()


@pytest.fixture
def api(
    jsm_shared_session: tuple[Sandbox, jsm_nb.JsmSession],
) -> tuple[Sandbox, jsm_nb.JsmSession]:
    return jsm_shared_session


# {api}: the API's host and port; {ap}: its port; {other}, {op}: the recorder's.
# Each row: an id, the URL, and whether the request goes to the API (else it is refused).
TRICKY = [
    ("backslash before @", "http://{other}\\@{api}/x", False),
    ("backslash and text before @", "http://{other}\\x@{api}/x", False),
    ("backslash after the API host", "http://{api}\\@{other}/x", False),
    ("two backslashes before @", "http://{other}\\\\@{api}/x", False),
    ("@ in the path", "http://{api}/x@{other}/y", True),
    ("@ in the query", "http://{api}/x?@{other}/", True),
    ("@ in the fragment", "http://{api}/x#@{other}/", True),
    ("userinfo before the API host", "http://user@{api}/x", False),
    ("user and password before the API host", "http://user:pw@{api}/x", False),
    ("the other host as userinfo", "http://{other}@{api}/x", False),
    ("the API host as userinfo", "http://{api}@{other}/x", False),
    ("%40 in the authority", "http://{other}%40{api}/x", False),
    ("%5C in the authority", "http://{other}%5C@{api}/x", False),
    ("%2F in the authority", "http://{other}%2F@{api}/x", False),
    ("percent-encoded host", "http://%31%32%37.0.0.1:{ap}/x", False),
    ("tab in the host", "http://127.0.0.1:{op}\t@{api}/x", False),
    ("tab after the port", "http://127.0.0.1:{ap}\t/x", False),
    ("CR LF in the host", "http://127.0.0.1:{ap}\r\nX-Injected: 1\r\n/x", False),
    ("NUL in the host", "http://127.0.0.1:{op}\x00@{api}/x", False),
    ("IPv4-mapped IPv6, API port", "http://[::ffff:127.0.0.1]:{ap}/x", False),
    ("IPv4-mapped IPv6, other port", "http://[::ffff:127.0.0.1]:{op}/x", False),
    ("IPv6 loopback", "http://[::1]:{op}/x", False),
    ("hexadecimal IPv4", "http://0x7f.1:{op}/x", False),
    ("short IPv4", "http://127.1:{ap}/x", False),
    ("decimal IPv4", "http://2130706433:{op}/x", False),
    ("octal IPv4", "http://0177.0.0.1:{ap}/x", False),
    ("trailing dot", "http://127.0.0.1.:{ap}/x", False),
    ("localhost with a trailing dot", "http://localhost.:{op}/x", False),
    ("uppercase scheme, other host", "HTTP://{other}/x", False),
    ("uppercase scheme, API host", "HTTP://{api}/x", True),
    ("one slash and a backslash", "http:/\\{other}/x", False),
    ("two backslashes", "http:\\\\{other}/x", False),
    ("no slashes", "http:{other}/x", False),
    ("three slashes", "http:///{other}/x", False),
    ("leading space", " http://{other}/x", False),
    ("same host, other port", "http://127.0.0.1:{op}/x", False),
    ("same port, other spelling", "http://localhost:{ap}/x", False),
    ("https instead of http", "https://{api}/x", False),
    ("two ports", "http://{api}:{op}/x", False),
    ("empty port", "http://127.0.0.1:/x", False),
    ("port with a leading zero", "http://127.0.0.1:0{ap}/x", False),
    ("full-width digits", "http://\uff11\uff12\uff17.0.0.1:{op}/x", False),
    ("full-width colon", "http://127.0.0.1\uff1a{op}/x", False),
    ("full-width dot", "http://127\uff0e0\uff0e0\uff0e1:{op}/x", False),
    ("look-alike letters", "http://l\u03bfcalhost:{op}/x", False),
    ("punycode", "http://xn--lcalhost-9zf:{op}/x", False),
]


def _fill(template: str, sb: Sandbox, recorder: Recorder) -> str:
    api = sb.api_url.split("//", 1)[1]
    return template.format(
        api=api, ap=api.rsplit(":", 1)[1], other=f"127.0.0.1:{recorder.port}", op=recorder.port
    )


def _failure(call: Callable[[], object]) -> Exception | None:
    """What ``call`` raised (``None`` when it returned)."""
    try:
        call()
    except Exception as error:
        return error
    return None


def _prepared_and_sent(s: jsm_nb.JsmSession, url: str) -> requests.Response:
    response: requests.Response = s.send(s.prepare_request(requests.Request("GET", url)))
    return response


_ROWS = pytest.mark.parametrize(
    ("template", "to_api"), [row[1:] for row in TRICKY], ids=[row[0] for row in TRICKY]
)


@pytest.mark.parametrize("how", ["get", "request"])
@_ROWS
def test_a_tricky_url_is_refused_unless_it_plainly_names_the_api_origin(
    api: tuple[Sandbox, jsm_nb.JsmSession],
    recorder: Recorder,
    how: str,
    template: str,
    to_api: bool,
) -> None:
    sb, s = api
    url = _fill(template, sb, recorder)
    before = sb.stats.api_requests
    call = {"get": lambda: s.get(url), "request": lambda: s.request("GET", url)}[how]
    refusal = _failure(call)
    assert recorder.authorizations() == []  # above all
    assert recorder.requests == []
    if to_api:
        assert refusal is None
        assert sb.stats.api_requests == before + 1
    else:
        assert isinstance(refusal, TokenRefused)
        assert isinstance(refusal, ValueError)  # as it was: `except ValueError` still works
        assert REFUSED in str(refusal)
        assert s.tokens.access_token() not in str(refusal)
        assert sb.stats.api_requests == before


@_ROWS
def test_a_tricky_url_prepared_and_sent_reaches_the_api_or_nothing(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder, template: str, to_api: bool
) -> None:
    """``send`` checks the URL that requests prepared: requests refuses some tricky URLs
    itself (InvalidURL) and rewrites others into plain ones (``%31`` to ``1``, a
    backslash to ``%5C`` in the path); whatever it makes of them, only the API gets it."""
    sb, s = api
    url = _fill(template, sb, recorder)
    before = sb.stats.api_requests
    refusal = _failure(lambda: _prepared_and_sent(s, url))
    assert recorder.authorizations() == []  # above all
    assert recorder.requests == []
    reached_api = sb.stats.api_requests - before
    if to_api or reached_api:
        assert (refusal, reached_api) == (None, 1)
    else:
        assert isinstance(refusal, ValueError)  # TokenRefused, or requests' InvalidURL
        assert s.tokens.access_token() not in str(refusal)


def test_a_path_that_looks_like_a_host_goes_to_the_site(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder
) -> None:
    _, s = api
    response = s.get(f"//127.0.0.1:{recorder.port}/x")
    assert recorder.requests == []
    assert response.url.startswith(f"{s.base_url}//127.0.0.1:")


def _refused_everywhere(recorder: Recorder, calls: dict[str, Callable[[], object]]) -> None:
    """Make each call; the recorder gets no token, and each call raises the refusal."""
    failures = {name: _failure(call) for name, call in calls.items()}
    assert recorder.authorizations() == []  # above all
    assert recorder.requests == []
    for name, failure in failures.items():
        assert isinstance(failure, ValueError), name
        assert REFUSED in str(failure), name


def test_a_request_prepared_for_another_host_is_refused_and_its_401_earns_no_refresh(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder
) -> None:
    sb, s = api
    recorder.status = 401  # were the token sent, the retry would refresh it and send the new one
    refreshes = sb.stats.refreshes
    elsewhere = f"{recorder.url}/x"
    _refused_everywhere(
        recorder,
        {
            "prepare_request, then send": lambda: s.send(
                s.prepare_request(requests.Request("GET", elsewhere))
            ),
            "the session's auth in plain requests": lambda: requests.get(
                elsewhere, auth=s.auth, timeout=5
            ),
        },
    )
    assert sb.stats.refreshes == refreshes


def test_a_prepared_request_moved_to_another_host_is_refused(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder
) -> None:
    _, s = api

    def moved(url: str) -> Callable[[], object]:
        prepared = s.prepare_request(requests.Request("GET", f"{s.base_url}/rest/api/3/myself"))
        assert prepared.headers["Authorization"].startswith("Bearer ")
        prepared.prepare_url(url, None)
        return lambda: s.send(prepared)

    _refused_everywhere(
        recorder,
        {
            "to the other host": moved(f"{recorder.url}/x"),
            "to a backslash trick": moved(f"http://127.0.0.1:{recorder.port}\\@{s.api_url[7:]}/x"),
        },
    )


def test_an_authorization_header_of_its_own_goes_to_no_other_host(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder
) -> None:
    _, s = api
    token = s.tokens.access_token()
    elsewhere = requests.Request(
        "GET", f"{recorder.url}/x", headers={"Authorization": f"Bearer {token}"}
    ).prepare()
    refusal = _failure(lambda: s.send(elsewhere))
    assert recorder.authorizations() == []
    assert REFUSED in str(refusal)
    assert token not in str(refusal)


def _session_with_api(s: jsm_nb.JsmSession, api_url: str) -> jsm_nb.JsmSession:
    """A session of ``s``'s login whose API host is ``api_url`` (a stand-in that redirects)."""
    return jsm_nb.JsmSession(dataclasses.replace(s.config, api_url=api_url), s.tokens)


@pytest.fixture
def redirecting_api() -> Iterator[Recorder]:
    """A second recorder, used as a session's API host: it redirects (set ``redirect_to``)."""
    server = Recorder()
    yield server
    server.close()


REDIRECTS = [
    ("plain", "{other}/landed"),
    ("backslash before @", "http://127.0.0.1:{op}\\@{api}/landed"),
    ("API host as userinfo", "http://{api}@127.0.0.1:{op}/landed"),
    ("%40 in the authority", "http://127.0.0.1:{op}%40{api}/landed"),
    ("uppercase scheme", "HTTP://127.0.0.1:{op}/landed"),
    ("same port, other spelling", "http://localhost:{op}/landed"),
    ("protocol-relative", "//127.0.0.1:{op}/landed"),
]


@pytest.mark.parametrize("location", [r[1] for r in REDIRECTS], ids=[r[0] for r in REDIRECTS])
def test_a_redirect_off_the_api_origin_loses_the_token(
    api: tuple[Sandbox, jsm_nb.JsmSession],
    recorder: Recorder,
    redirecting_api: Recorder,
    location: str,
) -> None:
    _, s = api
    moved = _session_with_api(s, redirecting_api.url)
    redirecting_api.redirect_to = location.format(
        other=recorder.url, op=recorder.port, api=redirecting_api.url[7:]
    )
    with contextlib.suppress(jsm_nb.ApiError, ValueError):  # no parser makes sense of some
        moved.get(f"{redirecting_api.url}/start")
    assert redirecting_api.authorizations()[0].startswith("Bearer ")
    assert recorder.authorizations() == []
    assert redirecting_api.authorizations()[1:] == []


def test_a_401_from_a_redirect_target_is_not_retried_with_the_token(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder, redirecting_api: Recorder
) -> None:
    sb, s = api
    moved = _session_with_api(s, redirecting_api.url)
    redirecting_api.redirect_to = f"{recorder.url}/landed"
    recorder.status = 401
    refreshes = sb.stats.refreshes
    response = moved.get(f"{redirecting_api.url}/start")
    assert response.status_code == 401
    assert len(recorder.requests) == 1
    assert recorder.authorizations() == []
    assert sb.stats.refreshes == refreshes


def test_the_401_retry_is_sent_through_the_guard(
    api: tuple[Sandbox, jsm_nb.JsmSession], recorder: Recorder
) -> None:
    _, s = api
    store = FileStore(s.config.token_path)
    entry = login_entry(s.config)
    store.write(entry, {**store.read(entry), "access_token": "revoked-elsewhere"})
    s.tokens._token = None  # as a new kernel would: read the store
    response = s.get("/rest/servicedeskapi/servicedesk")
    assert [r.status_code for r in response.history] == [401]
    assert response.ok
    assert isinstance(response.connection, TokenGuardAdapter)  # the retry's last check
    assert recorder.requests == []


# -- a login is used only with the API host it was made for --------------------------


def test_a_login_is_not_used_with_another_api_host(
    signed_in: jsm_nb.Config, recorder: Recorder
) -> None:
    jsm_nb.session(signed_in)  # the login works with its own API host
    elsewhere = dataclasses.replace(signed_in, api_url=recorder.url)
    refusal = _failure(lambda: jsm_nb.session(elsewhere))
    assert recorder.authorizations() == []  # above all
    assert recorder.requests == []
    assert isinstance(refusal, LoginRequired)
    assert "no stored login was found for this app and API host" in str(refusal)


def test_a_login_stored_without_its_api_host_is_not_used(
    signed_in: jsm_nb.Config, recorder: Recorder
) -> None:
    store = FileStore(signed_in.token_path)
    with store.lock():
        login: Any = store.read(login_entry(signed_in))
        store.write(login_entry(signed_in), None)
        store.write(f"login {signed_in.auth_url} {signed_in.client_id}", login)  # older format
    for config in (dataclasses.replace(signed_in, api_url=recorder.url), signed_in):
        refusal = _failure(functools.partial(jsm_nb.session, config))
        assert recorder.authorizations() == []  # above all
        assert isinstance(refusal, LoginRequired)
        assert "not bound to an API host" in str(refusal)
        assert login["access_token"] not in str(refusal)
    assert recorder.requests == []
