"""The loopback listener: real HTTP requests to it, with a stand-in sign-in or the sandbox."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from jsm_nb import MemoryStore, sandbox
from jsm_nb.loopback import CallbackListener, listen, should_capture
from jsm_nb.signin import Login

STATE = "s" * 43


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def can_bind(port: int) -> bool:
    """Whether a new listener could bind ``port`` (as the loopback listener does, it
    ignores the TIME_WAIT of connections just closed)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until_inactive(listener: CallbackListener) -> None:
    deadline = time.monotonic() + 10
    while listener.active and time.monotonic() < deadline:
        time.sleep(0.05)


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
    listener = listen(callback_uri, lambda: STATE, recorder, timeout)
    assert listener is not None
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
        assert listener.address == ("127.0.0.1", port)
        assert listener.active


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
    assert can_bind(listener.address[1])


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
    with listening(callback_uri, Recorder(), timeout=0.2) as listener:
        wait_until_inactive(listener)
        assert not listener.active
        assert can_bind(listener.address[1])


def test_a_busy_port_gives_no_listener(callback_uri: str, port: int) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        assert listen(callback_uri, lambda: STATE, Recorder()) is None


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


def test_a_busy_port_falls_back_to_pasting(
    capture_sandbox: sandbox.Sandbox, callback_uri: str, port: int
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        login = capturing_login(capture_sandbox, callback_uri)
        panel = login.widget
        assert panel.listener is None
        assert "Another program uses the port" in panel.hint.value
        panel.paste.value = capture_sandbox.approve(login.authorization_url)
        panel.submit_button.click()
        assert "Connected." in panel.status.value
