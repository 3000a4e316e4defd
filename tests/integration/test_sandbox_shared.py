"""The shared sandbox: one process per user that every Python process finds, across its restarts.

Every test has a home of its own (``JSM_NB_SANDBOX_HOME``) and stops the process it
started (the ``home`` fixture); a login is made once and used from other processes
and after the process stopped and started again.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import filelock
import pytest
import requests

import jsm_nb
from jsm_nb import ConfigError, sandbox
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Sandbox, data, shared
from jsm_nb.sandbox.home import Home, Record

pytestmark = pytest.mark.timeout(120)

AnySandbox = shared.SharedSandbox | Sandbox  # what the HTTP helpers below talk to


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's sandbox home, also ``JSM_NB_SANDBOX_HOME``; its process is stopped after."""
    path = tmp_path / "sandbox"
    monkeypatch.setenv("JSM_NB_SANDBOX_HOME", str(path))
    yield path
    shared.stop(path)


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python process (this environment); fail the test if it fails."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done


def start_cli(home: Path, *options: str) -> None:
    """Start the shared sandbox of ``home`` with ``python -m jsm_nb.sandbox --shared``.

    Its output is captured through pipes: the call returns only if the process,
    which lives on, holds none of them.
    """
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--shared", "--home", str(home), *options]
    subprocess.run(command, check=True, timeout=60, capture_output=True)


def no_longer_serves(home: Path) -> bool:
    """Whether no process serves ``home`` (the one that did has let go of its lock)."""
    running = Home(home).lock("running", 0)
    try:
        running.acquire()
    except filelock.Timeout:
        return False
    running.release()
    return True


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{condition.__name__} still false after {timeout} s"
        time.sleep(0.05)


def sign_in(sb: shared.SharedSandbox, token_path: Path) -> jsm_nb.Config:
    """Sign in to ``sb``'s first site with jsm_nb's own flow; return the config of the login."""
    config = sb.configure(jsm_nb.Config(token_path=token_path, backoff=0.05))
    login = jsm_nb.login(config, prompt=False, auto_capture=False)
    login.submit(sb.approve(login.authorization_url))
    login.choose_site(str(sb.sites[0]["id"]))
    return config


def token_answer(sb: AnySandbox, **fields: str) -> requests.Response:
    """POST a token request with ``sb``'s client credentials and ``fields``."""
    body = {"client_id": sb.client_id, "client_secret": sb.client_secret, **fields}
    return requests.post(f"{sb.auth_url}/oauth/token", json=body, timeout=10)


def raw_sign_in(sb: AnySandbox) -> dict[str, Any]:
    """Consent and exchange the code by hand; return the token answer."""
    query = {
        "audience": "api.atlassian.com",
        "client_id": sb.client_id,
        "scope": "read:me offline_access",
        "redirect_uri": sb.config.redirect_uri,
        "state": "state-1",
        "response_type": "code",
        "prompt": "consent",
    }
    consent = requests.Request("GET", f"{sb.auth_url}/authorize", params=query).prepare().url
    assert consent is not None
    callback = sb.approve(consent)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    answer = token_answer(
        sb, grant_type="authorization_code", code=code, redirect_uri=sb.config.redirect_uri
    )
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def refresh(sb: AnySandbox, refresh_token: str) -> requests.Response:
    return token_answer(sb, grant_type="refresh_token", refresh_token=refresh_token)


def me_status(sb: AnySandbox, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(f"{sb.api_url}/me", headers=headers, timeout=10).status_code


# -- one process for every client ---------------------------------------------------------------


def test_two_clients_at_once_start_one_process(home: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (
        "import pathlib, sys, time\n"
        "from jsm_nb.sandbox import shared\n"
        f"pathlib.Path({str(tmp_path)!r}, 'ready-' + sys.argv[1]).touch()\n"
        f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.005)\n"
        "sb = shared.connect()\n"
        "print(sb.pid, sb.auth_url, sb.api_url)\n"
    )
    clients = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], stdout=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == 2)
    go.touch()
    answers = [client.communicate(timeout=60)[0] for client in clients]
    assert [client.returncode for client in clients] == [0, 0]
    assert answers[0] == answers[1]
    running = shared.find(home)
    assert running is not None
    assert answers[0].split()[0] == str(running.pid)


def test_a_login_made_in_one_process_is_found_by_another(home: Path, tmp_path: Path) -> None:
    sb = shared.connect()
    sign_in(sb, tmp_path / "tokens.json")
    found = python(
        "import jsm_nb\n"
        "from jsm_nb.sandbox import shared\n"
        "sb = shared.connect()\n"
        f"config = sb.configure(jsm_nb.Config(token_path={str(tmp_path / 'tokens.json')!r}))\n"
        "me = jsm_nb.me(session=jsm_nb.session(config))\n"
        "print(sb.pid, me['account_id'][0])\n"
    )
    assert found.stdout.split() == [str(sb.pid), data.ANALYST_ACCOUNT_ID]


# -- restarts --------------------------------------------------------------------------------------


def test_a_login_outlives_a_stop_and_start_on_the_same_ports(home: Path, tmp_path: Path) -> None:
    first = shared.connect()
    config = sign_in(first, tmp_path / "tokens.json")
    first.stop()
    assert shared.find(home) is None
    assert no_longer_serves(home)
    again = shared.connect()
    assert again.pid != first.pid
    assert (again.auth_url, again.api_url, again.client_id) == (
        first.auth_url,
        first.api_url,
        first.client_id,
    )
    assert again.configure(jsm_nb.Config(token_path=config.token_path, backoff=0.05)) == config
    CONTEXT.forget_sessions(config)
    assert jsm_nb.me(session=jsm_nb.session(config))["account_id"][0] == data.ANALYST_ACCOUNT_ID


def test_rotation_and_the_reuse_leeway_hold_across_a_restart(home: Path) -> None:
    sb = shared.connect()
    first = raw_sign_in(sb)
    second = refresh(sb, first["refresh_token"]).json()
    sb.stop()
    sb = shared.connect()
    assert me_status(sb, second["access_token"]) == 200
    reused = refresh(sb, first["refresh_token"])  # rotated seconds ago: within the leeway
    assert reused.status_code == 200, reused.text
    third = refresh(sb, second["refresh_token"]).json()
    assert len({first["refresh_token"], second["refresh_token"], third["refresh_token"]}) == 3
    assert me_status(sb, third["access_token"]) == 200


def test_a_late_reuse_after_a_restart_revokes_the_family_for_good(home: Path) -> None:
    start_cli(home, "--refresh-reuse-leeway", "0")
    sb = shared.connect()
    first = raw_sign_in(sb)
    bystander = raw_sign_in(sb)
    second = refresh(sb, first["refresh_token"]).json()
    sb.stop()
    start_cli(home, "--refresh-reuse-leeway", "0")
    sb = shared.connect()
    assert refresh(sb, first["refresh_token"]).status_code == 403
    assert refresh(sb, second["refresh_token"]).status_code == 403
    assert me_status(sb, second["access_token"]) == 401
    sb.stop()
    sb = shared.connect()
    assert refresh(sb, second["refresh_token"]).status_code == 403
    assert me_status(sb, bystander["access_token"]) == 200
    assert refresh(sb, bystander["refresh_token"]).status_code == 200


def test_the_command_line_starts_no_second_one(home: Path) -> None:
    sb = shared.connect()
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--shared", "--home", str(home)]
    second = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 1
    assert f"already serves {home} (process {sb.pid})" in second.stdout


def test_it_stops_by_itself_when_idle_and_starts_again_on_the_same_ports(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JSM_NB_SANDBOX_IDLE", "1")
    first = shared.connect()
    wait_until(lambda: no_longer_serves(home))
    assert shared.find(home) is None
    monkeypatch.setenv("JSM_NB_SANDBOX_IDLE", "60")
    again = shared.connect()
    assert again.pid != first.pid
    assert (again.auth_url, again.client_id) == (first.auth_url, first.client_id)


def test_starting_it_does_not_hold_the_callers_output(home: Path) -> None:
    code = "from jsm_nb.sandbox import shared\nprint(shared.connect().pid)\n"
    caller = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = caller.communicate(timeout=30)  # returns at the caller's exit, not the sandbox's
    assert caller.returncode == 0, err
    running = shared.find(home)
    assert running is not None
    assert out.split() == [str(running.pid)]


def test_saved_times_are_read_on_the_wall_clock() -> None:
    with sandbox.run() as before:
        tokens = raw_sign_in(before)
        saved = before.authority.snapshot()
        credentials = (before.client_id, before.client_secret)
    for hours, alive in ((-2, False), (+2, True)):  # saved 2 h ago; or "2 h from now"
        with Sandbox(credentials=credentials) as after:
            after.authority.restore(saved, wall_clock=lambda h=hours: time.time() - h * 3600)
            status = me_status(after, tokens["access_token"])
            assert status == (200 if alive else 401)
            after.settings.access_token_lifetime = 0  # expires every token issued until now
            assert me_status(after, tokens["access_token"]) == 401
            assert refresh(after, tokens["refresh_token"]).status_code == 200


# -- trust ----------------------------------------------------------------------------------------


def impostor(port: int, role: str, claimed: dict[str, object], seen: list[str]) -> Any:
    """A server on ``port`` that answers like the shared sandbox, without its secret."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(json.dumps(dict(self.headers.items())))
            body = json.dumps({**claimed, "role": role, "proof": "0" * 64}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_server_that_cannot_prove_it_is_ours_is_never_used(home: Path) -> None:
    sb = shared.connect()
    record = Home(home).read_record()
    assert record is not None
    sb.stop()
    claimed = {"pid": sb.pid, "client_id": sb.client_id}
    seen: list[str] = []
    impostors = [
        impostor(record.auth_port, "auth", claimed, seen),
        impostor(record.api_port, "api", claimed, seen),
    ]
    try:
        assert shared.find(home) is None
        sb.stop()  # the handle of the stopped process asks nobody to stop
        again = shared.connect()
    finally:
        for server in impostors:
            server.shutdown()
            server.server_close()
    assert again.auth_url != sb.auth_url  # its port was taken: the new process moved
    assert again.client_id == sb.client_id
    assert seen, "the impostors were never asked"
    assert not [headers for headers in seen if record.admin_secret in headers]


def test_only_the_admin_secret_stops_it(home: Path) -> None:
    sb = shared.connect()
    for headers in ({}, {"X-Sandbox-Admin": "a-guess"}):
        answer = requests.post(f"{sb.auth_url}/_sandbox/stop", headers=headers, timeout=10)
        assert answer.status_code == 403
    still = shared.find(home)
    assert still is not None
    assert still.pid == sb.pid


def test_stop_signals_only_a_process_that_is_this_homes_sandbox(home: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        record = Record(bystander.pid, 9, 9, "client", "secret", "admin")
        Home(home).write_record(record)
        shared.SharedSandbox(Home(home), record).stop(timeout=1)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    (home / "server.json").unlink()  # its ports are not for the real one
    shared.connect()
    real = Home(home).read_record()
    assert real is not None
    wrong_secret = dataclasses.replace(real, admin_secret="not-the-secret")
    Home(home).write_record(wrong_secret)
    shared.SharedSandbox(Home(home), wrong_secret).stop(timeout=10)  # refused: SIGTERM instead
    assert no_longer_serves(home)


def test_its_files_are_private_and_its_secrets_stay_out_of_reprs(home: Path) -> None:
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    sb = shared.connect()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for name in ("server.json", "state.json", "sandbox.log"):
        assert stat.S_IMODE((home / name).stat().st_mode) == 0o600, name
    record = Home(home).read_record()
    assert record is not None
    for shown in (repr(sb), repr(sb.config), repr(record), repr(Home(home).state.load())):
        assert sb.client_secret not in shown
        assert record.admin_secret not in shown


def test_a_malformed_idle_timeout_is_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JSM_NB_SANDBOX_IDLE", "soon")
    with pytest.raises(ConfigError, match="JSM_NB_SANDBOX_IDLE") as caught:
        shared.connect()
    assert caught.value.variable == "JSM_NB_SANDBOX_IDLE"
    assert not (home / "server.json").exists()


def test_the_shared_sandbox_changes_and_keeps_its_changes_across_a_restart(home: Path) -> None:
    sb = shared.connect(home)
    made = sb.change(updates=3, creates=1, deletes=1, moves=1, seed=4)
    assert isinstance(made, sandbox.Changes)
    assert (len(made.created), len(made.deleted), len(made.moved)) == (1, 1, 1)
    config = sign_in(sb, home.parent / "tokens.json")
    jsm = "/rest/servicedeskapi/request"
    created, deleted, moved = made.created[0], made.deleted[0], made.moved[0]
    try:
        session = jsm_nb.session(config)
        assert session.get(f"{jsm}/{created.key}").status_code == 200
        assert session.get(f"{jsm}/{deleted.key}").status_code == 404
    finally:
        CONTEXT.forget_sessions(config)
    sb.stop()
    again = shared.connect(home)
    assert again.pid != sb.pid
    try:
        session = jsm_nb.session(config)
        assert session.get(f"{jsm}/{created.key}").json()["issueId"] == str(created.id)
        assert session.get(f"{jsm}/{deleted.id}").status_code == 404
        assert session.get(f"{jsm}/{moved.old_key}").json()["issueKey"] == moved.key
    finally:
        CONTEXT.forget_sessions(config)
    later = again.change(updates=1)
    assert later.at == made.at + data.MINUTE  # the site's clock goes on from the replay
    saved = json.loads((home / "changes.json").read_text())
    assert [batch["seed"] for batch in saved["batches"]] == [4, 1]


def test_the_shared_change_route_needs_the_admin_secret_and_good_arguments(home: Path) -> None:
    sb = shared.connect(home)
    refused = requests.post(f"{sb.auth_url}/_sandbox/change", json={}, timeout=10)
    assert refused.status_code == 403
    with pytest.raises(shared.SandboxError, match="made no change"):
        sb.change(updates=-1)
    with pytest.raises(shared.SandboxError, match="made no change"):
        sb.change(site="no-such-site")
