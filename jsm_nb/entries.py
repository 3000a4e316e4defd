"""The token store's entries: their shapes, checked whenever a store is loaded or written.

A store holds named entries; the first word of a name is its kind:

``login <key>``
    An app's login: its :class:`Tokens`, or a :class:`DeadLogin` once Atlassian
    has refused its refresh token.
``pending <key>``
    The app's sign-ins begun and not yet finished: a list of :class:`PendingSignIn`.
``site <key>``
    The id of the site that :func:`jsm_nb.session` opens for the app (text).

Entries of other kinds are kept as they are. So whoever reads an entry can trust
its shape: a store refuses a file that holds an entry of another shape, and never
writes one. What :func:`check_entry` says is wrong never quotes the entry: an
error message built from it holds no token.
"""

from __future__ import annotations

import math
import typing
from typing import TYPE_CHECKING, Any, TypedDict

if TYPE_CHECKING:
    from .config import Config

__all__ = [
    "IN_FLIGHT",
    "DeadLogin",
    "EntryError",
    "PendingSignIn",
    "Tokens",
    "check_entry",
    "legacy_login_entry",
    "login_entry",
    "pending_entry",
    "site_entry",
]

IN_FLIGHT = "refreshing_since"  # in a login entry: when a refresh was sent, until it is saved


class _IssuedTokens(TypedDict):
    access_token: str
    expires_at: float  # seconds since the epoch
    obtained_at: float  # seconds since the epoch


class Tokens(_IssuedTokens, total=False):
    """A live login: the token endpoint's answer, with when it was obtained and expires.

    Other fields of the answer (``scope``, ``token_type``) are kept as they came.
    """

    refresh_token: str
    expires_in: float  # seconds
    refreshing_since: float  # the write-ahead record of a refresh sent and not yet saved


class DeadLogin(TypedDict):
    """A login whose grant Atlassian refused: why, for the next kernel's error."""

    dead: str


class PendingSignIn(TypedDict):
    """A sign-in begun: what its answer must carry (``state``) and prove (the verifier)."""

    state: str
    code_verifier: str
    created_at: float  # seconds since the epoch


class EntryError(ValueError):
    """An entry does not have the shape of its kind (the message never quotes it)."""


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond any float
        return False


def _is_text(value: object) -> bool:
    return isinstance(value, str)


_TESTS = {str: (_is_text, "text"), float: (_is_number, "a finite number")}
_FIELDS = {  # each shape's fields: how to tell a value of the field's type, and its name
    shape: {field: _TESTS[kind] for field, kind in typing.get_type_hints(shape).items()}
    for shape in (Tokens, DeadLogin, PendingSignIn)
}


def _check_fields(value: object, shape: Any, what: str) -> None:
    """Raise :class:`EntryError` unless ``value`` is a mapping of the TypedDict ``shape``."""
    if not isinstance(value, dict):
        raise EntryError(f"{what} is not a mapping")
    missing = sorted(shape.__required_keys__ - value.keys())
    if missing:
        raise EntryError(f"{what} has no {missing[0]}")
    for field, (is_kind, described) in _FIELDS[shape].items():
        if field in value and not is_kind(value[field]):
            raise EntryError(f"the field {field} of {what} is not {described}")


def check_entry(name: str, value: object) -> None:
    """Check that ``value`` has the shape of the entry ``name``'s kind.

    Parameters
    ----------
    name : str
        The entry's name (``login <key>``, ``pending <key>``, ``site <key>``, or
        another, which is not checked).
    value : object
        The entry, as JSON gives it.

    Raises
    ------
    EntryError
        ``value`` has another shape; the message names the kind and the field, never
        a value.
    """
    kind = name.partition(" ")[0]
    if kind == "login":
        dead = isinstance(value, dict) and "dead" in value
        _check_fields(value, DeadLogin if dead else Tokens, "a login entry")
    elif kind == "pending":
        if not isinstance(value, list):
            raise EntryError("a pending sign-ins entry is not a list")
        for pending in value:
            _check_fields(pending, PendingSignIn, "a pending sign-in")
    elif kind == "site" and not isinstance(value, str):
        raise EntryError("a site entry is not text")


def login_entry(config: Config) -> str:
    """The name of the entry holding the login of ``config``'s app, for its API host only."""
    return f"login {config.store_key}"


def legacy_login_entry(config: Config) -> str:
    """Where a login was kept before logins were bound to an API host (never used now)."""
    return f"login {config.auth_url} {config.client_id}"


def pending_entry(config: Config) -> str:
    """The name of the entry holding ``config``'s app's pending sign-ins."""
    return f"pending {config.store_key}"


def site_entry(config: Config) -> str:
    """The name of the entry holding the site :func:`jsm_nb.session` opens for the app."""
    return f"site {config.store_key}"
