"""The loopback listener: real HTTP requests to it, with a stand-in sign-in or the sandbox."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import requests
from helpers import front_end_says

from jsm_nb import MemoryStore, loopback, sandbox
from jsm_nb.loopback import (
    CallbackListener,
    CaptureUnavailable,
    listen,
    loopback_addresses,
    should_capture,
)
from jsm_nb.signin import Login

STATE = "s" * 43
OTHER_STATE = "o" * 43


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = _has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not IPV6, reason="this machine has no IPv6 loopback (::1)")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def can_bind(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a new listener could bind ``host:port`` (as the loopback listener does, it
    ignores the TIME_WAIT of connections just closed)."""
    with socket.socket(_family(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A port that nothing uses on 127.0.0.1, nor on ::1 where this machine has it."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if not IPV6 or can_bind(port, "::1"):
            return port


@contextlib.contextmanager
def holding(host: str, port: int) -> Iterator[socket.socket]:
    """Another program (another user's, say) listening on ``host:port``."""
    with socket.socket(_family(host)) as holder:
        holder.bind((host, port))
        holder.listen()
        yield holder


def nothing_reached(holder: socket.socket) -> bool:
    """Whether no connection waits on ``holder`` (nothing was sent to it)."""
    holder.setblocking(False)
    try:
        connection, _ = holder.accept()
    except BlockingIOError:
        return True
    connection.close()
    return False


def wait_until(condition: Callable[[], object], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_until_inactive(listener: CallbackListener) -> None:
    wait_until(lambda: not listener.active)


class Recorder:
    """Stands in for a Login: records each query; answers with the queued problems."""

    def __init__(self, *problems: str | None) -> None:
        self.queries: list[str] = []
        self.problems = list(problems)

    def __call__(self, query: str) -> str | None:
        self.queries.append(query)
        return self.problems.pop(0) if self.problems else None


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def callback_uri(port: int) -> str:
    return f"http://127.0.0.1:{port}/callback"


@contextlib.contextmanager
def listening(
    callback_uri: str, recorder: Recorder, timeout: float = 60
) -> Iterator[CallbackListener]:
    listener = listen(callback_uri, STATE, recorder, timeout)
    try:
        yield listener
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("uri", "environ", "expected"),
    [
        ("http://localhost:8765/callback", {}, True),
        ("http://127.0.0.1:9000/cb", {"HOME": "/home/a"}, True),
        ("http://[::1]:9000/cb", {}, True),
        ("http://localhost:8765/callback", {"JUPYTERHUB_SERVICE_PREFIX": "/user/a/"}, False),
        ("http://localhost:8765/callback", {"COLAB_RELEASE_TAG": "release"}, False),
        ("https://notebooks.example.com/callback", {}, False),
    ],
)
def test_should_capture_only_loopback_callbacks_on_a_local_kernel(
    uri: str, environ: dict[str, str], expected: bool
) -> None:
    assert should_capture(uri, environ) is expected


def test_listens_on_the_loopback_interface_only(callback_uri: str, port: int) -> None:
    with listening(callback_uri, Recorder()) as listener:
        assert listener.addresses == [("127.0.0.1", port)]
        assert listener.active


@needs_ipv6
def test_a_localhost_callback_listens_on_every_loopback_address(port: int) -> None:
    """A browser may send ``localhost`` to ``::1`` (Chromium tries it first) or to
    ``127.0.0.1``: both are this listener's, and no other socket can share either."""
    recorder = Recorder()
    with listening(f"http://localhost:{port}/callback", recorder) as listener:
        assert not can_bind(port, "::1")
        assert not can_bind(port, "127.0.0.1")
        assert sorted(listener.addresses) == [("127.0.0.1", port), ("::1", port)]
        for server in listener._servers:
            assert not server.socket.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        answer = requests.get(f"http://[::1]:{port}/callback?code=abc&state={STATE}", timeout=10)
        assert answer.status_code == 200
        assert recorder.queries == [f"code=abc&state={STATE}"]


def test_localhost_means_both_loopback_addresses_and_never_another_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[object]:
        assert host == "localhost"
        found = ["192.168.1.5", "127.0.1.1", "fe80::1%eth0", "::1"]
        return [(None, None, None, "", (address, port)) for address in found]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert loopback_addresses("localhost", 8765) == ["127.0.0.1", "::1", "127.0.1.1"]
    assert loopback_addresses("127.0.0.1", 8765) == ["127.0.0.1"]
    assert loopback_addresses("::1", 8765) == ["::1"]


def test_a_matching_callback_completes_and_stops_the_listener(callback_uri: str) -> None:
    recorder = Recorder()
    with listening(callback_uri, recorder) as listener:
        query = f"code=abc&state={STATE}"
        answer = requests.get(f"{callback_uri}?{query}", timeout=10)
        assert answer.status_code == 200
        assert "You can close this tab" in answer.text
        assert recorder.queries == [query]
        wait_until_inactive(listener)
        assert not listener.active
    assert can_bind(listener.addresses[0][1])


@pytest.mark.parametrize(
    "query", ["code=abc&state=another", "code=abc", f"code=abc&state={STATE}&state={STATE}"]
)
def test_a_callback_for_another_sign_in_is_refused_and_listening_goes_on(
    callback_uri: str, query: str
) -> None:
    recorder = Recorder()
    with listening(callback_uri, recorder) as listener:
        answer = requests.get(f"{callback_uri}?{query}", timeout=10)
        assert answer.status_code == 400
        assert "not the sign-in your notebook is waiting for" in answer.text
        assert recorder.queries == []
        assert listener.active


def test_only_the_states_the_listener_was_given_are_accepted(callback_uri: str) -> None:
    recorder = Recorder()
    with listening(callback_uri, recorder) as listener:
        refused = requests.get(f"{callback_uri}?code=abc&state={OTHER_STATE}", timeout=10)
        assert refused.status_code == 400
        listener.expect(OTHER_STATE)  # a sign-in the notebook offered since
        accepted = requests.get(f"{callback_uri}?code=abc&state={OTHER_STATE}", timeout=10)
        assert accepted.status_code == 200
        assert recorder.queries == [f"code=abc&state={OTHER_STATE}"]


def test_other_paths_are_not_found(callback_uri: str, port: int) -> None:
    recorder = Recorder()
    with listening(callback_uri, recorder) as listener:
        favicon = f"http://127.0.0.1:{port}/favicon.ico"
        assert requests.get(favicon, timeout=10).status_code == 404
        assert recorder.queries == []
        assert listener.active


def test_a_failed_sign_in_shows_its_sentence_escaped_and_keeps_listening(callback_uri: str) -> None:
    recorder = Recorder("Access was <declined>.")
    with listening(callback_uri, recorder) as listener:
        refused = requests.get(f"{callback_uri}?error=access_denied&state={STATE}", timeout=10)
        assert refused.status_code == 400
        assert "Access was &lt;declined&gt;." in refused.text
        assert listener.active
        accepted = requests.get(f"{callback_uri}?code=abc&state={STATE}", timeout=10)
        assert accepted.status_code == 200
        assert len(recorder.queries) == 2


def test_the_listener_stops_after_its_timeout_and_frees_the_port(callback_uri: str) -> None:
    stops: list[str] = []
    listener = listen(callback_uri, STATE, Recorder(), timeout=0.2, on_stop=stops.append)
    wait_until_inactive(listener)
    assert not listener.active
    wait_until(lambda: stops)
    assert stops == ["timeout"]
    assert listener.stopped_at is not None
    assert can_bind(listener.addresses[0][1])


def test_a_silent_connection_ends_without_a_traceback(
    callback_uri: str, port: int, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A browser's pre-connection that never sends a request times out quietly."""
    monkeypatch.setattr(loopback._RequestHandler, "timeout", 0.2)
    recorder = Recorder()
    with listening(callback_uri, recorder) as listener:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            assert idle.recv(1) == b""  # the listener hung up after its connection timeout
        answer = requests.get(f"{callback_uri}?code=abc&state={STATE}", timeout=10)
        assert answer.status_code == 200
        wait_until_inactive(listener)
    errors = capfd.readouterr().err
    assert "Traceback" not in errors
    assert "Error" not in errors


def test_a_busy_port_gives_no_listener(callback_uri: str, port: int) -> None:
    with holding("127.0.0.1", port), pytest.raises(CaptureUnavailable, match="already listens"):
        listen(callback_uri, STATE, Recorder())


@pytest.mark.parametrize("held", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_one_held_localhost_address_and_the_listener_binds_none(port: int, held: str) -> None:
    with holding(held, port), pytest.raises(CaptureUnavailable, match=re.escape(f":{port}")):
        listen(f"http://localhost:{port}/callback", STATE, Recorder())
    assert can_bind(port, "127.0.0.1")
    assert can_bind(port, "::1") or not IPV6


def test_listening_again_on_a_port_replaces_the_earlier_listener(callback_uri: str) -> None:
    first, second = Recorder(), Recorder()
    with listening(callback_uri, first) as old, listening(callback_uri, second) as new:
        assert not old.active
        assert new.active
        assert requests.get(f"{callback_uri}?code=x&state={STATE}", timeout=10).ok
        assert (first.queries, len(second.queries)) == ([], 1)


# -- with the sandbox: the widget completes the sign-in from the browser's return -------------


@pytest.fixture
def capture_sandbox(callback_uri: str) -> Iterator[sandbox.Sandbox]:
    with sandbox.run(redirect_uris=(callback_uri,)) as running:
        yield running


def capturing_login(sb: sandbox.Sandbox, callback_uri: str) -> Login:
    config = sb.config_for(redirect_uri=callback_uri, site=sb.sites[0]["id"])
    return Login(config, MemoryStore(), auto_capture=True)


def test_the_browser_return_signs_in_without_pasting(
    capture_sandbox: sandbox.Sandbox, callback_uri: str
) -> None:
    login = capturing_login(capture_sandbox, callback_uri)
    panel = login.widget
    assert panel.listener is not None
    assert panel.listener.active
    assert "picks the answer up by itself" in panel.hint.value
    landing = capture_sandbox.approve(login.authorization_url)
    answer = requests.get(landing, timeout=30)  # what the browser does after Accept
    assert answer.status_code == 200
    assert "You can close this tab" in answer.text
    assert "Connected." in panel.status.value
    assert capture_sandbox.sites[0]["name"] in panel.account.value
    wait_until_inactive(panel.listener)
    assert not panel.listener.active
    assert login.connection() is not None


def test_a_declined_consent_through_the_listener_shows_its_sentence_and_waits_again(
    capture_sandbox: sandbox.Sandbox, callback_uri: str
) -> None:
    login = capturing_login(capture_sandbox, callback_uri)
    panel = login.widget
    declined = requests.get(capture_sandbox.approve(login.authorization_url, deny=True), timeout=30)
    assert declined.status_code == 400
    assert "Access was declined" in declined.text
    assert "Access was declined" in panel.status.value
    assert panel.listener.active  # the flow restarted: the new consent can come back here
    accepted = requests.get(capture_sandbox.approve(login.authorization_url), timeout=30)
    assert accepted.status_code == 200
    assert login.connection() is not None


def test_a_sign_in_the_widget_never_offered_is_refused_by_the_listener(
    capture_sandbox: sandbox.Sandbox, callback_uri: str
) -> None:
    login = capturing_login(capture_sandbox, callback_uri)
    panel = login.widget
    login.restart()  # in code, behind the widget's back: its link still shows the first
    landing = capture_sandbox.approve(login.authorization_url)
    refused = requests.get(landing, timeout=30)
    assert refused.status_code == 400
    assert "not the sign-in your notebook is waiting for" in refused.text
    assert login.connection() is None
    assert panel.listener.active
    panel.paste.value = landing  # pasting it works: the sign-in is this kernel's
    assert "Connected." in panel.status.value


def test_a_busy_port_falls_back_to_pasting(
    capture_sandbox: sandbox.Sandbox, callback_uri: str, port: int
) -> None:
    with holding("127.0.0.1", port) as holder:
        login = capturing_login(capture_sandbox, callback_uri)
        panel = login.widget
        assert panel.listener is None
        assert "already listens on 127.0.0.1:" in panel.hint.value
        panel.paste.value = capture_sandbox.approve(login.authorization_url)
        panel.submit_button.click()
        assert "Connected." in panel.status.value
        assert nothing_reached(holder)


@pytest.mark.parametrize("held", ["127.0.0.1", pytest.param("::1", marks=needs_ipv6)])
def test_a_held_localhost_address_turns_capture_off_and_pasting_signs_in(
    port: int, held: str
) -> None:
    """Another user holding ``[::1]:port`` (or ``127.0.0.1:port``) before the sign-in
    starts: the notebook does not claim to pick the answer up, says why, and sends
    nothing there; pasting completes the sign-in."""
    callback = f"http://localhost:{port}/callback"
    with sandbox.run(redirect_uris=(callback,)) as sb, holding(held, port) as holder:
        login = capturing_login(sb, callback)
        panel = login.widget
        assert panel.listener is None
        hint = panel.hint.value
        assert "picks the answer up by itself" not in hint
        shown = f"[{held}]:{port}" if ":" in held else f"{held}:{port}"
        assert f"already listens on {shown}" in hint
        assert "Pasting works all the same." in hint
        assert can_bind(port, "127.0.0.1") == (held != "127.0.0.1")  # none of it is bound
        panel.paste.value = sb.approve(login.authorization_url)
        assert "Connected." in panel.status.value
        assert login.connection() is not None
        assert nothing_reached(holder)


def test_the_hint_says_when_capture_stopped_and_a_click_on_connect_resumes_it(
    capture_sandbox: sandbox.Sandbox, callback_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loopback, "CAPTURE_TIMEOUT", 0.3)
    login = capturing_login(capture_sandbox, callback_uri)
    panel = login.widget
    first = panel.listener
    wait_until_inactive(first)
    wait_until(lambda: "stopped waiting" in panel.hint.value)
    stopped = time.strftime("%H:%M", time.localtime(first.stopped_at))
    assert f"stopped waiting for the answer at {stopped}" in panel.hint.value
    assert "Pasting still works" in panel.hint.value
    assert "picks the answer up by itself" not in panel.hint.value
    monkeypatch.setattr(loopback, "CAPTURE_TIMEOUT", 60)
    front_end_says(panel, "opened")  # Connect to Jira clicked again
    assert panel.listener is not first
    assert panel.listener.active
    assert "picks the answer up by itself" in panel.hint.value
    accepted = requests.get(capture_sandbox.approve(login.authorization_url), timeout=30)
    assert accepted.status_code == 200
    assert login.connection() is not None
