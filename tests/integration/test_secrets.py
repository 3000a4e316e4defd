"""Nothing a user can see or share holds an issued token, a code, a verifier or the secret.

One long session against the sandbox, with every logger at DEBUG (jsm_nb, requests,
urllib3, oauthlib, requests_oauthlib): a sign-in with mistakes on the way, refreshes
ahead of expiry and after a 401, every kind of failure (the token endpoint and the
API timing out, cut off, throttled, refusing, a dead grant, a wrong secret), helpers
with a progress bar. Then everything shown is searched for the secrets the sandbox
issued and the client holds, and for any 16 characters in a row of one: the repr
and ``_repr_html_`` of every public object (and of those a user meets: the login
widget, connection, token manager, sandbox), every log line, every exception's
message and formatted traceback with its chained causes, the progress bar's text.
Notebooks are searched the same way by tests/test_notebook_secrets.py.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import requests

import jsm_nb
from jsm_nb import api
from jsm_nb.context import CONTEXT
from jsm_nb.entries import login_entry
from jsm_nb.loopback import CallbackListener
from jsm_nb.sandbox import Sandbox

PIECE = 16  # characters of a secret that count as showing it
SERVICEDESKS = "/rest/servicedeskapi/servicedesk"
LOGGERS = ("jsm_nb", "requests", "urllib3", "oauthlib", "requests_oauthlib")


def shows(text: str, secret: str) -> bool:
    """Whether ``text`` holds ``secret`` or any ``PIECE`` characters of it in a row."""
    size = min(len(secret), PIECE)
    return any(secret[i : i + size] in text for i in range(len(secret) - size + 1))


READER = (
    "import sys, time, duckdb\n"
    "db = duckdb.connect(sys.argv[1], read_only=True)\n"
    "print('open', flush=True)\n"
    "time.sleep(60)\n"
)


class Shown:
    """Everything the scenario made visible: texts, and the objects and errors behind them."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}
        self.objects: dict[str, object] = {}

    def object(self, label: str, value: object) -> None:
        self.objects[label] = value
        self.texts[f"repr({label})"] = repr(value)
        self.texts[f"str({label})"] = str(value)
        for method in ("_repr_html_", "_repr_mimebundle_", "to_html"):
            render = getattr(value, method, None)
            if callable(render):
                self.texts[f"{label}.{method}()"] = str(render())

    def error(self, label: str, call: Callable[[], object], kind: type[Exception]) -> None:
        with pytest.raises(kind) as caught:
            call()
        error = caught.value
        self.object(label, error)
        self.texts[f"traceback({label})"] = "".join(traceback.format_exception(error))
        # ``raise ... from None`` hides the context from tracebacks, not from tools that
        # walk it (error reporters): every exception in the chain counts.
        chain: list[BaseException] = []
        link: BaseException | None = error
        while link is not None and link not in chain:
            chain.append(link)
            link = link.__cause__ or link.__context__
        self.texts[f"chain({label})"] = "\n".join(map(_everything, chain))


def _everything(error: BaseException) -> str:
    """An exception as a tool that pickles or walks it would see it: its message, its
    arguments, its attributes, and what requests' exceptions hold (the request sent)."""
    parts = [type(error).__name__, str(error), repr(error.args), repr(vars(error))]
    for value in vars(error).values():
        for name in ("headers", "body", "url", "text"):
            with contextlib.suppress(Exception):
                parts.append(
                    repr(dict(getattr(value, name)) if name == "headers" else getattr(value, name))
                )
    return " ".join(parts)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _scenario(sb: Sandbox, shown: Shown, capsys: pytest.CaptureFixture[str]) -> None:
    sb.settings.access_token_lifetime = 1
    config = sb.config_for(site=sb.sites[0]["id"], timeout=2.0, max_retries=1, backoff=0.01)
    shown.object("config", config)
    login = jsm_nb.login(config, auto_capture=False)
    events: list[object] = []
    login.on_event(events.append)
    widget = login.widget
    landing = sb.approve(login.authorization_url)
    shown.error(
        "wrong state", lambda: login.submit(landing.replace("state=", "state=x")), Exception
    )
    login.submit(sb.approve(login.authorization_url))
    shown.object("login", login)
    shown.object("widget", widget)
    for part in ("status", "account", "hint", "paste"):
        shown.texts[f"widget.{part}"] = str(getattr(widget, part).value)
    shown.object("connection", login.connection())
    shown.object("events", events)
    for event in events:
        shown.object(f"event {event}", event)

    s = jsm_nb.session(config)
    shown.object("session", s)
    shown.object("session vars", vars(s))
    shown.object("tokens", s.tokens)
    shown.object("auth", s.auth)
    shown.object("site", s.site)
    shown.object("store", s.tokens.store)
    time.sleep(0.6)  # within the leeway: the next call refreshes ahead of expiry
    assert s.get(SERVICEDESKS).ok
    revoked = {**s.tokens._token, "access_token": "revoked", "expires_at": time.time() + 60}  # type: ignore[dict-item]
    s.tokens.store.write(login_entry(config), revoked)
    s.tokens._token = None
    assert [r.status_code for r in s.get(SERVICEDESKS).history] == [401]  # refreshed, re-sent

    frames = {
        "me": api.me(session=s),
        "sites": api.sites(session=s),
        "requests": api.customer_requests(session=s, max_rows=150, progress=True),
        "comments, raw": api.comments("ITH-1", session=s, raw=True),
    }
    for name, frame in frames.items():
        shown.object(f"frame {name}", frame)
    shown.texts["progress bar"] = capsys.readouterr().err
    assert "rows" in shown.texts["progress bar"]

    memory = jsm_nb.MemoryStore()
    other = jsm_nb.login(config, memory, auto_capture=False)
    other.submit(sb.approve(other.authorization_url))
    shown.object("memory store", memory)

    # the API failing
    sb.faults.hang()
    shown.error("api timeout", lambda: s.get(SERVICEDESKS), jsm_nb.ApiError)
    sb.faults.clear()
    sb.faults.truncate()
    shown.error("api cut off", lambda: s.get(SERVICEDESKS), jsm_nb.ApiError)
    sb.faults.clear()
    for status in (502, 503):
        sb.faults.fail(status)
        response = s.get(SERVICEDESKS)
        shown.object(f"api {status}", jsm_nb.ApiError.from_response(response))
        sb.faults.clear()
    sb.faults.rate_limit(retry_after=3600)  # holds its endpoint for an hour: another one
    held = "/rest/servicedeskapi/organization"
    shown.error("api 429 for an hour", lambda: s.get(held), jsm_nb.RateLimited)
    sb.faults.clear()
    shown.error("api endpoint held", lambda: s.get(held), jsm_nb.RateLimited)
    shown.object("usage", jsm_nb.usage(s))
    shown.texts["usage html"] = jsm_nb.usage(s)._repr_html_()
    mirrored = config.token_path.with_name("mirror.duckdb")
    shown.object("sync report", jsm_nb.sync("project = ITH", path=mirrored, session=s))
    holder = subprocess.Popen(  # another kernel reading the mirror
        [sys.executable, "-c", READER, str(mirrored)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"
        shown.error(
            "mirror busy",
            lambda: jsm_nb.sync(path=mirrored, session=s, timeout=0),
            jsm_nb.MirrorBusy,
        )
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipe
    with jsm_nb.mirror(mirrored) as reading:
        shown.texts["mirror issues"] = reading.sql("SELECT * FROM issues LIMIT 5").df().to_html()
    shown.error(
        "mirror of another query",
        lambda: jsm_nb.sync("project = HR", path=mirrored, session=s),
        jsm_nb.MirrorMismatch,
    )
    shown.error("api failing midway", lambda: _midway(sb, s), jsm_nb.ApiError)
    sb.faults.clear()
    bad_status = lambda: api.customer_requests(session=s, status="sometimes")  # noqa: E731
    shown.error("bad argument", bad_status, jsm_nb.InvalidArgument)
    shown.error("another host", lambda: s.get("https://elsewhere.example/x"), jsm_nb.TokenRefused)

    # the token endpoint failing
    def refresh() -> object:
        s.tokens._token = {**s.tokens._token, "expires_at": 0}  # type: ignore[dict-item]
        return s.get(SERVICEDESKS)

    for fault in ("hang", "truncate", "garbage", "drop"):
        getattr(sb.faults, fault)(target="auth")
        shown.error(f"token endpoint {fault}", refresh, jsm_nb.JsmError)
        sb.faults.clear()
    sb.faults.truncate(target="auth")  # an answer lost after the token was replaced
    shown.error("token answer lost", refresh, jsm_nb.JsmError)
    sb.faults.clear()
    wrong = sb.config_for(**{**vars(config), "client_secret": "x" + sb.client_secret})
    CONTEXT.forget_sessions(config)
    time.sleep(1.1)
    shown.error("wrong secret", lambda: jsm_nb.session(wrong), jsm_nb.AuthorizationError)
    sb.revoke_all()
    shown.error("dead grant", refresh, jsm_nb.LoginRequired)
    shown.error("dead grant, next kernel", lambda: jsm_nb.session(config), jsm_nb.LoginRequired)

    shown.error("no secret", lambda: jsm_nb.Config(client_id=sb.client_id), jsm_nb.ConfigError)
    damaged = config.token_path.with_name("damaged.json")
    damaged.write_text(config.token_path.read_text()[:-20])  # a token file cut short
    shown.error("damaged", lambda: jsm_nb.FileStore(damaged).read("x"), jsm_nb.TokenStoreError)
    damaged.unlink()

    shown.object("sandbox", sb)
    for part in ("settings", "faults", "stats"):
        shown.object(f"sandbox {part}", getattr(sb, part))


def _midway(sb: Sandbox, s: jsm_nb.JsmSession) -> object:
    sb.faults.truncate(every=2, paths="*/servicedeskapi/request")  # page 2 is cut off
    return api.customer_requests(session=s, progress=False, concurrency=1)


def _secrets(sb: Sandbox, config_paths: list[Any]) -> dict[str, str]:
    """Secret value -> its kind: what the sandbox issued, and verifiers the client made."""
    issued = sb.secrets()
    kinds = ("client_secret", "code", "state", "code_challenge", "access_token", "refresh_token")
    found = {value: kind for kind in kinds for value in issued[kind]}
    for path in config_paths:
        entries = jsm_nb.FileStore(path)._load()[1]
        for name, entry in entries.items():
            if name.startswith("pending"):
                found.update({p["code_verifier"]: "code_verifier" for p in entry})
    return found


def _is_protocol(cls: type) -> bool:
    """Whether ``cls`` is a typing Protocol (an interface: it has no instances to show)."""
    return bool(getattr(cls, "_is_protocol", False))


def test_no_secret_in_anything_a_user_can_see(
    sb: Sandbox, debug_logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = Shown()
    _scenario(sb, shown, capsys)
    shown.texts["log"] = debug_logs.text
    secrets = _secrets(sb, [sb.config.token_path])

    # The scenario did what it says: tokens were issued and rotated, and logged (redacted).
    kinds = list(secrets.values())
    assert kinds.count("access_token") >= 5
    assert kinds.count("refresh_token") >= 5
    assert "code_verifier" in kinds
    assert "code" in kinds
    log = debug_logs.text
    for line in ("Obtained token", "Prepared refresh token", "Request body was", "HTTP/1.1"):
        assert line in log, line
    assert "<redacted>" in log
    loggers = {record.name.split(".")[0] for record in debug_logs.records}
    assert {"jsm_nb", "urllib3", "requests_oauthlib"} <= loggers
    classes = [getattr(jsm_nb, name) for name in jsm_nb.__all__]
    public = {c.__name__ for c in classes if inspect.isclass(c) and not _is_protocol(c)}
    seen = {type(value).__name__ for value in shown.objects.values()}
    assert public <= seen, f"public classes not shown: {public - seen}"

    leaks = [
        f"{secrets[secret]} {secret[:6]}... in {where}"
        for where, text in shown.texts.items()
        for secret in secrets
        if shows(text, secret)
    ]
    assert not leaks, "\n".join(leaks)


def test_a_users_own_handler_on_oauth_loggers_sees_redacted_lines(sb: Sandbox) -> None:
    """Handlers put straight on requests-oauthlib's loggers (not the root's) see no token."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("requests_oauthlib.oauth2_session", "oauthlib")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        sb.settings.access_token_lifetime = 1
        config = sb.sign_in()
        time.sleep(0.6)
        assert jsm_nb.session(config).get(SERVICEDESKS).ok
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    text = "\n".join(lines)
    assert "Obtained token" in text
    secrets = _secrets(sb, [config.token_path])
    assert not [kind for secret, kind in secrets.items() if shows(text, secret)]


def test_the_loopback_page_keeps_the_address_out_of_referers_and_caches() -> None:
    """The page the browser lands on holds the code in its address (RFC 9700 4.2, 4.3)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "a-code-that-must-not-travel"
    listener = CallbackListener(
        f"http://127.0.0.1:{port}/callback", "s" * 43, lambda query: None, timeout=10
    )
    try:
        page = requests.get(
            f"http://127.0.0.1:{port}/callback?code={code}&state={'s' * 43}", timeout=10
        )
    finally:
        listener.close()
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page.headers["Cache-Control"]
    assert code not in page.text
