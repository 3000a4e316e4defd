"""Bad input to ``Login.submit()`` and to the configuration: one table.

Each row sets a scene, then makes one bad call. Every row must get exactly one
error of the expected kind, whose message says what happened and what to do;
the stored login (and chosen site) must be as it was; no authorisation code was
exchanged; no secret (client secret, code, state, PKCE verifier, token) is in
the message or its formatted traceback (chained causes included); and, for the
sign-in rows, following the advice (a fresh Connect) works. A row with no
error expected is a setting jsm_nb repairs, saying so in a warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re
import socket
import stat
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import requests

import jsm_nb
from jsm_nb import AuthorizationError, ConfigError, TokenStoreError, sandbox
from jsm_nb.context import CONTEXT
from jsm_nb.entries import login_entry
from jsm_nb.loopback import CallbackListener
from jsm_nb.sandbox import Sandbox


@dataclasses.dataclass
class Bench:
    """A sandbox, a config signing in to its first site, and a sign-in under way."""

    sb: Sandbox
    config: jsm_nb.Config
    login: jsm_nb.Login
    stack: contextlib.ExitStack

    def landing(self, *, deny: bool = False) -> str:
        """Where the browser lands after Accept (or Deny) on the current consent page."""
        return self.sb.approve(self.login.authorization_url, deny=deny)

    def env(self, **values: str) -> dict[str, str]:
        """An environment naming this sandbox's app, with ``values`` on top."""
        base = {
            "JSM_NB_CLIENT_ID": self.sb.client_id,
            "JSM_NB_CLIENT_SECRET": self.sb.client_secret,
        }
        return {**base, **values}


Prepare = Callable[[Bench], Callable[[], object]]


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    prepare: Prepare  # sets the scene, returns the bad call
    error: type[Exception] | None  # None: repaired, with a warning
    says: str  # what happened (a regular expression)
    todo: str  # what to do (a regular expression)


def paste(mangle: Callable[[str], str]) -> Prepare:
    """Submit the landing address after Accept, mangled."""

    def prepare(b: Bench) -> Callable[[], object]:
        text = mangle(b.landing())
        return lambda: b.login.submit(text)

    return prepare


def typed(text: str) -> Prepare:
    return lambda b: lambda: b.login.submit(text)


def other_host(url: str, netloc: str, scheme: str = "http") -> str:
    parts = urlsplit(url)
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


def reused_code(b: Bench) -> Callable[[], object]:
    landing = b.landing()
    b.login.submit(landing)
    return lambda: b.login.submit(landing)


def expired_code(b: Bench) -> Callable[[], object]:
    b.sb.settings.code_lifetime = 0
    landing = b.landing()
    return lambda: b.login.submit(landing)


def other_apps_landing(b: Bench) -> Callable[[], object]:
    other = b.stack.enter_context(sandbox.run(requests=10))  # same callback URL, another app
    landing = other.approve(jsm_nb.login(other.config).authorization_url)
    return lambda: b.login.submit(landing)


def other_apps_consent_url(b: Bench) -> Callable[[], object]:
    url = b.login.authorization_url.replace(b.sb.client_id, "another-apps-client-id")
    return lambda: b.login.submit(url)


def wrong_secret(b: Bench) -> Callable[[], object]:
    login = jsm_nb.login(b.sb.config_for(client_secret="not-the-secret-" + "x" * 20))
    landing = b.sb.approve(login.authorization_url)
    return lambda: login.submit(landing)


def unknown_site(b: Bench) -> Callable[[], object]:
    config = b.sb.sign_in(site="no-such-site")
    return lambda: jsm_nb.session(config)


def damaged_file(opener: str) -> Prepare:
    def prepare(b: Bench) -> Callable[[], object]:
        b.sb.sign_in()
        b.config.token_path.write_text('{"version": 1, "entries": {"login')  # cut off
        if opener == "session":
            CONTEXT.forget_sessions(b.config)
            return lambda: jsm_nb.session(b.config)
        return lambda: jsm_nb.login(b.config)

    return prepare


def directory_as_token_file(b: Bench) -> Callable[[], object]:
    path = b.config.token_path.parent / "a-directory"
    path.mkdir()
    return lambda: jsm_nb.login(b.sb.config_for(token_path=path))


def loose_permissions(b: Bench) -> Callable[[], object]:
    config = b.sb.sign_in()
    config.token_path.chmod(0o644)
    CONTEXT.forget_sessions(config)
    return lambda: jsm_nb.session(config)


def config(**env: str) -> Prepare:
    return lambda b: lambda: jsm_nb.Config.from_env(env=b.env(**env), dotenv=None)


def config_args(**fields: Any) -> Prepare:
    return lambda b: lambda: b.sb.config_for(**fields)


CONNECT_AGAIN = "click Connect again"
PASTE_AGAIN = "Copy the whole address.*paste it again"
COPY = "(?i)copy (only )?the (whole )?address|paste (it|the whole address)"
NOT_CALLBACK = ("not this app's callback", "paste the address you land on.*JSM_NB_REDIRECT_URI")

CASES = [
    # -- what is pasted -----------------------------------------------------------------------
    Case("garbage", typed("just-some-text"), AuthorizationError, "not a sign-in address", COPY),
    Case("words", typed("hello world"), AuthorizationError, "not a sign-in address", COPY),
    Case("empty", typed(""), AuthorizationError, "Nothing was pasted", COPY),
    Case("blank", typed("   \n\t  "), AuthorizationError, "Nothing was pasted", COPY),
    Case(
        "unicode text",
        typed("ログインしました ✓"),
        AuthorizationError,
        "not a sign-in address",
        COPY,
    ),
    Case("huge", typed("x" * 100_000), AuthorizationError, "not a sign-in address", COPY),
    Case(
        "huge address",
        paste(lambda url: url + "&pad=" + "a" * 9000),
        AuthorizationError,
        "not a sign-in address",
        COPY,
    ),
    Case(
        "the code alone",
        paste(lambda url: url.split("code=")[1].split("&")[0]),
        AuthorizationError,
        "not a sign-in address",
        COPY,
    ),
    Case(
        "the consent URL",
        lambda b: lambda: b.login.submit(b.login.authorization_url),
        AuthorizationError,
        "consent page's address",
        "Open it, click Accept, then paste",
    ),
    Case(
        "another app's consent URL",
        other_apps_consent_url,
        AuthorizationError,
        "consent page's address",
        "Open it, click Accept",
    ),
    Case(
        "fragment instead of query",
        paste(lambda url: url.replace("?", "#")),
        AuthorizationError,
        "not a sign-in address",
        COPY,
    ),
    # -- state -----------------------------------------------------------------------------
    Case(
        "wrong state",
        paste(lambda url: url.replace("state=", "state=x")),
        AuthorizationError,
        "older sign-in",
        CONNECT_AGAIN,
    ),
    Case(
        "missing state",
        paste(lambda url: re.sub(r"&?state=[^&]*", "", url)),
        AuthorizationError,
        "no state",
        CONNECT_AGAIN,
    ),
    Case(
        "cut short in the state",
        paste(lambda url: url[:-4]),
        AuthorizationError,
        "looks cut short",
        PASTE_AGAIN,
    ),
    Case(
        "cut short before the state",
        paste(lambda url: url.split("&state=")[0]),
        AuthorizationError,
        "no state.*cut short",
        PASTE_AGAIN,
    ),
    Case(
        "repeated state",
        paste(lambda url: url + "&state=abc"),
        AuthorizationError,
        "repeats state",
        "paste it exactly as the browser shows it",
    ),
    Case(
        "unicode state",
        paste(lambda url: url.replace("state=", "state=" + quote("ßtäte✓"))),
        AuthorizationError,
        "older sign-in",
        CONNECT_AGAIN,
    ),
    Case(
        "control characters in the state",
        paste(lambda url: url.replace("state=", "state=%00%1b")),
        AuthorizationError,
        "older sign-in",
        CONNECT_AGAIN,
    ),
    Case(
        "another app's answer",
        other_apps_landing,
        AuthorizationError,
        "older sign-in",
        CONNECT_AGAIN,
    ),
    # -- code ------------------------------------------------------------------------------
    Case(
        "no code",
        paste(lambda url: url.replace("code=", "cod=")),
        AuthorizationError,
        "has no code",
        PASTE_AGAIN,
    ),
    Case(
        "empty code",
        paste(lambda url: re.sub(r"code=[^&]*", "code=", url)),
        AuthorizationError,
        "has no code",
        PASTE_AGAIN,
    ),
    Case(
        "repeated code",
        paste(lambda url: url + "&code=abc"),
        AuthorizationError,
        "repeats code",
        "paste it exactly",
    ),
    Case("reused code", reused_code, AuthorizationError, "used already", CONNECT_AGAIN),
    Case(
        "expired code",
        expired_code,
        AuthorizationError,
        "already used or has expired",
        CONNECT_AGAIN,
    ),
    Case(
        "access denied",
        paste(lambda url: url),  # the landing after Deny, see prepare below
        AuthorizationError,
        "declined",
        "click Connect again and choose Accept",
    ),
    Case(
        "another error, with markup",
        paste(
            lambda url: re.sub(
                r"code=[^&]*", "error=server_error&error_description=%3Cb%3Eoops", url
            )
        ),
        AuthorizationError,
        "refused the sign-in",
        "Check the app's settings.*then click Connect again",
    ),
    # -- where the address points ---------------------------------------------------------------
    Case(
        "another callback path",
        paste(lambda url: url.replace("/callback", "/other")),
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "another port",
        paste(lambda url: url.replace("localhost:8765", "localhost:9999")),
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "plain http elsewhere",
        paste(lambda url: other_host(url, "notebooks.example.com")),
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "https elsewhere",
        paste(lambda url: other_host(url, "evil.example", "https")),
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "user-info trick",
        paste(lambda url: other_host(url, "localhost:8765@evil.example")),
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "look-alike host",
        paste(lambda url: url.replace("localhost", "l\u043ecalhost")),  # a Cyrillic o
        AuthorizationError,
        *NOT_CALLBACK,
    ),
    Case(
        "wrong client secret",
        wrong_secret,
        AuthorizationError,
        "rejected the app's credentials",
        "Check JSM_NB_CLIENT_ID and JSM_NB_CLIENT_SECRET",
    ),
    # -- configuration ---------------------------------------------------------------------
    Case(
        "missing client secret",
        config(JSM_NB_CLIENT_SECRET=""),
        ConfigError,
        "client secret is missing",
        "set JSM_NB_CLIENT_SECRET",
    ),
    Case(
        "http API off this machine",
        config(JSM_NB_API_URL="http://api.example.com"),
        ConfigError,
        "JSM_NB_API_URL uses plain http",
        "use https, or set JSM_NB_API_URL to a loopback address",
    ),
    Case(
        "http auth server off this machine",
        config(JSM_NB_AUTH_URL="http://10.0.0.5:8080"),
        ConfigError,
        "JSM_NB_AUTH_URL uses plain http",
        "use https",
    ),
    Case(
        "http callback off this machine",
        config(JSM_NB_REDIRECT_URI="http://notebooks.example.com/callback"),
        ConfigError,
        "JSM_NB_REDIRECT_URI uses plain http",
        "use https",
    ),
    Case(
        "not a URL",
        config(JSM_NB_AUTH_URL="auth.atlassian.com"),
        ConfigError,
        "JSM_NB_AUTH_URL must be an absolute URL",
        r"set it to one such as https://auth\.atlassian\.com",
    ),
    Case(
        "ftp URL",
        config(JSM_NB_API_URL="ftp://api.atlassian.com"),
        ConfigError,
        "JSM_NB_API_URL must be an absolute URL",
        "set it to one such as",
    ),
    Case(
        "no scopes",
        config_args(scopes=()),
        ConfigError,
        "JSM_NB_SCOPES is empty",
        "list the scopes",
    ),
    Case(
        "zero timeout",
        config_args(timeout=0),
        ConfigError,
        "timeout must be more than 0",
        "leave it out for the default",
    ),
    Case(
        "negative retries",
        config_args(max_retries=-1),
        ConfigError,
        "max_retries must be 0 or more",
        "leave it out for the default",
    ),
    Case("unknown site", unknown_site, ConfigError, "names no site", "Set JSM_NB_SITE"),
    # -- the token file --------------------------------------------------------------------
    Case(
        "damaged token file, opening a session",
        damaged_file("session"),
        TokenStoreError,
        "is damaged",
        r"Move it away or delete it, then run jsm_nb\.login\(\)",
    ),
    Case(
        "damaged token file, signing in",
        damaged_file("login"),
        TokenStoreError,
        "is damaged",
        r"Move it away or delete it, then run jsm_nb\.login\(\)",
    ),
    Case(
        "a directory as token file",
        directory_as_token_file,
        TokenStoreError,
        "Cannot read the token file",
        "set JSM_NB_TOKEN_PATH to another file",
    ),
    Case(
        "token file readable by others",
        loose_permissions,
        None,
        "could be read by other users.*its mode is now 0600",
        "Sign in again if others may have copied it",
    ),
]


@pytest.fixture
def bench(sb: Sandbox) -> Iterator[Bench]:
    config = sb.config_for(site=sb.sites[0]["id"])
    with contextlib.ExitStack() as stack:
        yield Bench(sb, config, jsm_nb.login(config, auto_capture=False), stack)


def _kept(b: Bench) -> tuple[object, object]:
    """The stored login and chosen site: what a failure must leave as it was."""
    path = b.config.token_path
    if not path.is_file() or path.read_text().startswith('{"version": 1, "entries": {"login'):
        return path.is_file() and path.read_bytes(), None  # no file, or the damaged one
    store = jsm_nb.FileStore(path)
    return store.read(login_entry(b.config)), store.read(f"site {b.config.store_key}")


def _secrets(b: Bench, text: str) -> set[str]:
    """Every secret there is: the sandbox's, the verifiers and tokens stored, and any
    code or state in ``text`` (what was pasted)."""
    found = set().union(*b.sb.secrets().values())
    path = b.config.token_path
    with contextlib.suppress(jsm_nb.JsmError):
        if path.is_file():
            store = jsm_nb.FileStore(path)
            for pending in store.read(f"pending {b.config.store_key}") or []:
                found.update((pending["state"], pending["code_verifier"]))
            login = store.read(login_entry(b.config)) or {}
            found.update(v for k, v in login.items() if k.endswith("_token"))
    found.update(re.findall(r"(?:code|state)=([^&#\s]{8,})", text))
    return {secret for secret in found if len(secret) >= 8}


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 25
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_gets_one_clear_error_and_stores_nothing(
    bench: Bench, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    if case.id == "access denied":
        landing = bench.landing(deny=True)
        bad = lambda: bench.login.submit(landing)  # noqa: E731
    else:
        bad = case.prepare(bench)
    kept = _kept(bench)
    exchanged = bench.sb.stats.codes_exchanged

    if case.error is None:
        with caplog.at_level(logging.WARNING, logger="jsm_nb"):
            bad()
        message = shown = caplog.text
    else:
        with pytest.raises(case.error) as caught:
            bad()
        assert not isinstance(caught.value, jsm_nb.LoginRequired)  # nobody is sent round again
        message = str(caught.value)
        shown = message + "".join(traceback.format_exception(caught.value))

    assert re.search(case.says, message), message
    assert re.search(case.todo, message), message
    assert _kept(bench) == kept
    assert bench.sb.stats.codes_exchanged == exchanged
    leaked = [s[:6] + "..." for s in _secrets(bench, shown) if s in shown]
    assert not leaked, f"secrets in the message or traceback: {leaked}"
    if case.error is None:
        assert stat.S_IMODE(Path(bench.config.token_path).stat().st_mode) == 0o600
    if case.error is AuthorizationError and "JSM_NB_" not in message:
        # the advice works: Connect again, Accept, paste
        bench.sb.settings.code_lifetime = 600
        bench.login.submit(bench.landing())
        assert jsm_nb.FileStore(bench.config.token_path).read(login_entry(bench.config))


def test_the_loopback_listener_refuses_a_non_ascii_state_with_its_page() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queries: list[str] = []
    listener = CallbackListener(
        f"http://127.0.0.1:{port}/callback", "s" * 43, queries.append, timeout=10
    )
    try:
        answer = requests.get(
            f"http://127.0.0.1:{port}/callback?code=abc&state={quote('ßtäte')}", timeout=10
        )
    finally:
        listener.close()
    assert answer.status_code == 400
    assert queries == []
