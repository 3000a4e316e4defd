"""Checks of the helpers' arguments, made before any request is sent.

Each raises :class:`~jsm_nb.errors.InvalidArgument` saying what was expected.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from .errors import InvalidArgument

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = [
    "as_bool",
    "as_id",
    "choice",
    "flag",
    "jql_text",
    "optional_id",
    "required_id",
    "resolve_session",
    "texts",
]


def resolve_session(session: JsmSession | None) -> JsmSession:
    """``session``, or the signed-in one when it is ``None``; :class:`InvalidArgument` otherwise."""
    from .sessions import JsmSession
    from .sessions import session as default_session

    if session is None:
        return default_session()
    if not isinstance(session, JsmSession):
        raise InvalidArgument(
            f"session must be a JsmSession, got {type(session).__name__}: pass "
            "session=jsm_nb.session(), or leave it out for the signed-in one."
        )
    return session


def texts(value: object, name: str, what: str, *, empty: bool = True) -> list[str]:
    """One text or many, each once, in order; :class:`InvalidArgument` unless all are texts."""
    if isinstance(value, str):
        items: list[object] = [value]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise InvalidArgument(
            f"{name} must be a text or a list of texts ({what}), got {type(value).__name__}."
        )
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidArgument(
                f"{name} must hold only non-empty texts ({what}), got {item!r}: "
                "drop the empty or missing ones (a column's .dropna(), for example)."
            )
    if not items and not empty:
        raise InvalidArgument(f"{name} must name at least one ({what}).")
    return list(dict.fromkeys(str(item) for item in items))


def jql_text(query: object, name: str) -> str:
    """``query`` if it is a JQL search; :class:`InvalidArgument` if it is not."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgument(
            f"{name} must be a JQL search such as 'project = ITH ORDER BY created', got {query!r}."
        )
    return query


def as_id(value: object) -> str | None:
    """An Atlassian id given as a whole number or its digits, as text; ``None`` if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral) and int(value) >= 0:
        return str(int(value))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def required_id(value: object, name: str, example: str) -> str:
    """:func:`as_id` of ``value``; :class:`InvalidArgument` when it is not an id."""
    found = as_id(value)
    if found is None:
        raise InvalidArgument(
            f"{name} must be an id, a whole number or its digits such as {example}, got {value!r}."
        )
    return found


def optional_id(value: object, name: str, example: str) -> str | None:
    """:func:`required_id` of ``value``, or ``None`` when it is ``None``."""
    return None if value is None else required_id(value, name, example)


def choice(choices: Mapping[str, str], value: object, name: str) -> str:
    if isinstance(value, str) and value.lower() in choices:
        return choices[value.lower()]
    raise InvalidArgument(f"{name} must be one of {sorted(choices)}, got {value!r}.")


def as_bool(value: object, name: str) -> bool:
    """``value`` as a bool; :class:`InvalidArgument` unless it is ``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgument(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def flag(value: object, name: str) -> str:
    """A flag as a query parameter's value."""
    return "true" if as_bool(value, name) else "false"


# Each helper has three overloads: raw=False (the default) gives a DataFrame,
