"""A damaged token file: one clear TokenStoreError, no secret shown, the file kept as it is.

Each row damages a real token file (written by a sign-in to the sandbox, so it holds
real tokens, a PKCE verifier and a ``state``) in one way, and each public entry point
that a user reaches it through must raise :class:`~jsm_nb.TokenStoreError`: its
message says what to do, and neither it, its arguments, its chain of causes nor the
formatted traceback (locals of jsm_nb's frames included) holds any of the secrets in
the file. The file is left byte for byte as it was, for the user to look at.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import jsm_nb
from jsm_nb import FileStore, TokenStoreError, sandbox
from jsm_nb.entries import IN_FLIGHT, login_entry
from jsm_nb.flow import AuthorizationFlow
from jsm_nb.tokens import TokenManager

PIECE = 16  # characters of a secret that count as showing it
HUGE = 8 * 1024 * 1024  # bytes: far more than any token file holds


@dataclasses.dataclass(frozen=True)
class Base:
    """The undamaged token file of a sign-in, and the names of its entries."""

    raw: bytes
    document: dict[str, Any]
    login: str
    pending: str
    site: str
    secrets: frozenset[str]

    @property
    def refresh_token(self) -> str:
        return str(self.document["entries"][self.login]["refresh_token"])


@pytest.fixture(scope="module")
def signed_in_file() -> Iterator[tuple[sandbox.Sandbox, Base]]:
    with sandbox.run() as sb:
        config = sb.sign_in(site=None)
        FileStore(config.token_path).write(f"site {config.store_key}", sb.sites[0]["id"])
        raw = config.token_path.read_bytes()
        document = json.loads(raw)
        entries = document["entries"]
        login = login_entry(config)
        pending = f"pending {config.store_key}"
        found = {entries[login]["access_token"], entries[login]["refresh_token"], sb.client_secret}
        found.update(p[k] for p in entries[pending] for k in ("state", "code_verifier"))
        found.update(*sb.secrets().values())
        site = f"site {config.store_key}"
        yield sb, Base(raw, document, login, pending, site, frozenset(found))


def edited(change: Callable[[dict[str, Any], Base], object]) -> Callable[[Base], bytes]:
    """Damage made by ``change`` to a copy of the document (which it edits in place)."""

    def make(base: Base) -> bytes:
        document = copy.deepcopy(base.document)
        change(document, base)
        return json.dumps(document, indent=1).encode()  # NaN and Infinity as JSON never has

    return make


def in_login(field: str, value: object) -> Callable[[Base], bytes]:
    return edited(lambda d, b: d["entries"][b.login].__setitem__(field, value))


def without(field: str) -> Callable[[Base], bytes]:
    return edited(lambda d, b: d["entries"][b.login].pop(field))


def in_pending(field: str, value: object) -> Callable[[Base], bytes]:
    return edited(lambda d, b: d["entries"][b.pending][0].__setitem__(field, value))


def entry(name: str, value: object) -> Callable[[Base], bytes]:
    return edited(lambda d, b: d["entries"].__setitem__(getattr(b, name), value))


def top(field: str, value: object) -> Callable[[Base], bytes]:
    return edited(lambda d, b: d.__setitem__(field, value))


def in_refresh_token(piece: bytes) -> Callable[[Base], bytes]:
    """The file with ``piece`` put in the middle of the refresh token."""

    def make(base: Base) -> bytes:
        token = base.refresh_token.encode()
        return base.raw.replace(token, token[:20] + piece + token[20:])

    return make


def deeply_nested(base: Base) -> bytes:
    document = copy.deepcopy(base.document)
    document["entries"]["deep"] = "DEEP"
    text = json.dumps(document, indent=1)
    return text.replace('"DEEP"', "[" * 100_000 + "]" * 100_000).encode()


DAMAGE: dict[str, Callable[[Base], bytes]] = {
    "a byte that is not UTF-8": in_refresh_token(b"\xff"),
    "a UTF-8 byte order mark": lambda b: b"\xef\xbb\xbf" + b.raw,
    "NUL bytes in a token": in_refresh_token(b"\x00\x00"),
    "zeros over the whole file (a crash)": lambda b: bytes(len(b.raw)),
    "cut off halfway": lambda b: b.raw[: len(b.raw) // 2],
    "empty": lambda b: b"",
    "nested 100,000 lists deep": deeply_nested,
    "far larger than a token file": lambda b: b.raw + b" " * HUGE,
    "a JSON list": lambda b: b"[" + b.raw + b"]",
    "no version": edited(lambda d, b: d.pop("version")),
    "version 2": top("version", 2),
    "version true": top("version", True),
    "version as text": top("version", "1"),
    "no entries": edited(lambda d, b: d.pop("entries")),
    "entries a list": edited(lambda d, b: d.__setitem__("entries", list(d["entries"].items()))),
    "serial as text": top("serial", "4"),
    "serial false": top("serial", False),
    "serial negative": top("serial", -1),
    "serial a huge float": top("serial", 1e300),
    "login without expires_at": without("expires_at"),
    "login without access_token": without("access_token"),
    "login without obtained_at": without("obtained_at"),
    "access_token a number": in_login("access_token", 12345),
    "refresh_token a list": in_login("refresh_token", ["a", "b"]),
    "expires_at as text": in_login("expires_at", "tomorrow"),
    "expires_at NaN": in_login("expires_at", math.nan),
    "expires_at Infinity": in_login("expires_at", math.inf),
    "expires_at with 400 digits": in_login("expires_at", 10**400),
    "expires_at true": in_login("expires_at", True),
    "expires_in as text": in_login("expires_in", "3600"),
    "write-ahead record as text": in_login(IN_FLIGHT, "yesterday"),
    "login a list": entry("login", ["access_token"]),
    "dead login not text": entry("login", {"dead": 1}),
    "pending a mapping": entry("pending", {"state": "x"}),
    "pending sign-in without state": edited(lambda d, b: d["entries"][b.pending][0].pop("state")),
    "pending sign-in as text": entry("pending", ["state"]),
    "pending created_at as text": in_pending("created_at", "now"),
    "pending code_verifier null": in_pending("code_verifier", None),
    "site a mapping": entry("site", {"id": "x"}),
}


def _session(config: jsm_nb.Config) -> object:
    return jsm_nb.session(config)


def _access_token(config: jsm_nb.Config) -> object:
    return TokenManager(config, FileStore(config.token_path)).access_token()


def _flow(config: jsm_nb.Config) -> object:
    return AuthorizationFlow(config, FileStore(config.token_path))


def _read(config: jsm_nb.Config) -> object:
    return FileStore(config.token_path).read(login_entry(config))


ENTRY_POINTS: dict[str, Callable[[jsm_nb.Config], object]] = {
    "jsm_nb.session": _session,
    "TokenManager.access_token": _access_token,
    "AuthorizationFlow": _flow,
    "FileStore.read": _read,
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception behind it (causes and contexts), each once."""
    seen: set[int] = set()
    waiting = [error]
    while waiting:
        current = waiting.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        waiting += [e for e in (current.__cause__, current.__context__) if e is not None]


def _shown(error: BaseException) -> str:
    """Everything an error can show: each exception's message, repr, arguments and
    attributes, and the traceback with jsm_nb's frames' locals (below the test's own)."""
    parts = [text for e in _chain(error) for text in (str(e), repr(e), repr(e.args), repr(vars(e)))]
    parts += traceback.format_exception(error)
    below_the_test = error.__traceback__ and error.__traceback__.tb_next
    frames = traceback.TracebackException(
        type(error), error, below_the_test, capture_locals=True
    ).format()
    return "".join(parts) + "".join(frames)


def _pieces(secret: str) -> set[str]:
    size = min(len(secret), PIECE)
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def test_the_table_is_big_enough() -> None:
    assert len(DAMAGE) >= 15


def test_the_undamaged_file_opens_through_every_entry_point(
    signed_in_file: tuple[sandbox.Sandbox, Base], tmp_path: Path
) -> None:
    sb, base = signed_in_file
    for name, open_it in ENTRY_POINTS.items():
        path = tmp_path / name / "tokens.json"
        path.parent.mkdir(mode=0o700)
        path.write_bytes(base.raw)
        path.chmod(0o600)
        assert open_it(sb.config_for(token_path=path)) is not None, name


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_gets_one_clear_error_that_shows_no_secret_and_keeps_the_file(
    signed_in_file: tuple[sandbox.Sandbox, Base], tmp_path: Path, damage: str, entry_point: str
) -> None:
    sb, base = signed_in_file
    damaged = DAMAGE[damage](base)
    assert damaged != base.raw
    path = tmp_path / "tokens.json"
    path.write_bytes(damaged)
    path.chmod(0o600)
    config = sb.config_for(token_path=path)

    with pytest.raises(TokenStoreError) as caught:
        ENTRY_POINTS[entry_point](config)

    message = str(caught.value)
    assert re.search(r"The token file .* is damaged \(.+\) and was left as it is\.", message)
    assert "Move it away or delete it, then run jsm_nb.login()." in message
    shown = _shown(caught.value)
    leaked = [s[:6] + "..." for s in base.secrets if any(p in shown for p in _pieces(s))]
    assert not leaked, f"secrets shown: {leaked}"
    assert path.read_bytes() == damaged
    assert {p.name for p in tmp_path.iterdir()} <= {"tokens.json", "tokens.json.lock"}
    assert os.stat(path).st_mode & 0o777 == 0o600
