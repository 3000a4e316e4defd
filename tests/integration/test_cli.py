"""``python -m jsm_nb login`` and ``Login.interactive``: signing in from a terminal.

The command runs in a child process configured (through ``JSM_NB_*`` variables) for
the test's sandbox; the test plays the user with ``sb.approve()`` and pipes the
address into the command's standard input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import jsm_nb
from jsm_nb import Config, FileStore, LoginRequired, MemoryStore
from jsm_nb.config import ENV_VARS
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.gateway import USER
from jsm_nb.signin import Login


@pytest.fixture
def config(sb: Sandbox, tmp_path: Path) -> Config:
    return sb.config_for(token_path=tmp_path / "tokens.json")


def run_cli(
    config: Config, *args: str, stdin: str = "", cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m jsm_nb ARGS`` for ``config`` with ``stdin`` piped in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSM_NB_")}
    for field in ("client_id", "client_secret", "auth_url", "api_url", "redirect_uri"):
        env[ENV_VARS[field]] = str(getattr(config, field))
    env[ENV_VARS["token_path"]] = str(config.token_path)
    return subprocess.run(
        [sys.executable, "-m", "jsm_nb", *args],
        input=stdin,
        env=env,
        cwd=cwd,  # no .env file there
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def pending_consent(config: Config) -> str:
    """The consent URL of the sign-in pending in ``config``'s token file (the CLI resumes it)."""
    return Login(config, FileStore(config.token_path)).authorization_url


def test_login_reads_the_address_and_the_site_from_a_pipe(
    sb: Sandbox, config: Config, tmp_path: Path
) -> None:
    url = pending_consent(config)
    landing = sb.approve(url)
    done = run_cli(config, "login", stdin=f"{landing}\n2\n", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert url in done.stdout  # the page to open was printed
    assert "several sites" in done.stdout
    connection = Login(config, FileStore(config.token_path)).connection()
    assert connection is not None
    assert connection.site == connection.sites[1]
    assert f"Connected as {USER['name']} <{USER['email']}>" in done.stdout
    assert f"Site: {connection.sites[1].name}" in done.stdout


def test_a_mistake_is_explained_and_the_end_of_input_fails(config: Config, tmp_path: Path) -> None:
    done = run_cli(config, "login", stdin="no idea what to paste\n", cwd=tmp_path)
    assert done.returncode == 1
    assert "That is not a sign-in address" in done.stdout
    assert "the input ended" in done.stderr
    assert Login(config, FileStore(config.token_path)).connection() is None


def test_already_signed_in_says_so_and_logout_forgets(
    sb: Sandbox, config: Config, tmp_path: Path
) -> None:
    signing_in = Login(config, FileStore(config.token_path))
    signing_in.submit(sb.approve(signing_in.authorization_url))
    again = run_cli(config, "login", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Already signed in." in again.stdout
    assert "--switch" in again.stdout
    unchosen = run_cli(config, "status", cwd=tmp_path)
    assert "Site: none chosen yet" in unchosen.stdout
    signing_in.choose_site("acme-support")
    status = run_cli(config, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("Connected as Riley Chen")
    assert "Service desks: 4: ITH (" in status.stdout
    out = run_cli(config, "logout", cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "Signed out.")
    with pytest.raises(LoginRequired):
        jsm_nb.session(config, FileStore(config.token_path))
    again = run_cli(config, "logout", cwd=tmp_path)
    assert (again.returncode, again.stdout.strip()) == (0, "Nobody was signed in: nothing to do.")
    nobody = run_cli(config, "status", cwd=tmp_path)
    assert nobody.returncode == 1
    assert nobody.stdout.startswith("Nobody is signed in: run python -m jsm_nb login")


Answer = str | Callable[[], str]


class Terminal:
    """Stands in for a person at a terminal: answers prompts in turn, keeps what was shown.

    An answer may be a callable, called when its prompt comes (to accept a consent
    page that exists only by then). After the last answer the input ends.
    """

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.lines: list[str] = []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        answer = self.answers.pop(0)
        return answer() if callable(answer) else answer

    def say(self, line: str) -> None:
        self.lines.append(line)


def test_interactive_asks_again_after_a_mistake_with_the_new_consent_page(sb: Sandbox) -> None:
    login = Login(sb.config_for(site=sb.sites[0]["id"]), MemoryStore())
    first_url = login.authorization_url
    accepted: list[str] = []

    def accept() -> str:
        accepted.append(login.authorization_url)
        return sb.approve(accepted[-1])

    terminal = Terminal(lambda: sb.approve(login.authorization_url, deny=True), accept)
    connection = login.interactive(ask=terminal.ask, say=terminal.say)
    assert connection is not None
    assert terminal.lines[2].strip() == first_url
    assert any(line.startswith("Access was declined") for line in terminal.lines)
    assert accepted != [first_url]
    assert f"Open this new consent page: {accepted[0]}" in terminal.lines
    assert terminal.lines[-3:] == connection.lines()
    assert len(terminal.prompts) == 2


def test_interactive_asks_for_a_site_until_the_answer_is_one(sb: Sandbox) -> None:
    login = Login(sb.config, MemoryStore())
    terminal = Terminal(lambda: sb.approve(login.authorization_url), "7", "first", " 3 ")
    connection = login.interactive(ask=terminal.ask, say=terminal.say)
    assert connection is not None
    assert connection.site == connection.sites[2]
    assert terminal.prompts[-2:] == ["Type a number from 1 to 3: "] * 2


def test_interactive_switch_signs_in_again(sb: Sandbox) -> None:
    store = MemoryStore()
    login = Login(sb.config_for(site=sb.sites[0]["id"]), store)
    login.submit(sb.approve(login.authorization_url))
    terminal = Terminal(lambda: sb.approve(login.authorization_url))
    assert login.interactive(ask=terminal.ask, say=terminal.say) is not None
    assert terminal.prompts == []  # signed in already: nothing asked
    login.interactive(switch=True, ask=terminal.ask, say=terminal.say)
    assert len(terminal.prompts) == 1
    assert sb.stats.codes_exchanged == 2


def test_login_prompts_at_a_terminal(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    config = sb.config_for(site=sb.sites[0]["id"])
    pending = Login(config, MemoryStore())
    store = pending.store
    terminal = Terminal(lambda: sb.approve(pending.authorization_url))
    monkeypatch.setattr("builtins.input", terminal.ask)
    jsm_nb.login(config, store, prompt=True)
    assert jsm_nb.session(config, store).site is not None
    assert len(terminal.prompts) == 1
