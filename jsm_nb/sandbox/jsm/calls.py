"""What every handler works with: the call, the rows it answers, and its refusals.

A handler gets a :class:`Call` and answers a JSON-able body, or for a list endpoint the
:class:`Rows` that :mod:`.paging` pages; when it cannot answer it raises a :class:`Refusal`
carrying Atlassian's error body (JSM's or Jira's shape).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..data import Desk, Request, SiteData

__all__ = [
    "JSM",
    "Call",
    "Json",
    "Refusal",
    "Rows",
    "bad_parameter",
    "desk_named",
    "desk_of",
    "jira_error",
    "jsm_error",
    "memo",
    "request_of",
]

Json = dict[str, Any]

JSM = "/rest/servicedeskapi"
"""Where JSM's REST API lives on a site."""


class Refusal(Exception):
    """An error answer: its status and Atlassian's body for it."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def jsm_error(status: int, message: str, key: str, *parameters: str) -> Refusal:
    """A refusal with JSM's body: the message, and its i18n key with ``parameters``."""
    i18n = {"i18nKey": key, "parameters": list(parameters)}
    return Refusal(status, {"errorMessage": message, "i18nErrorMessage": i18n})


def jira_error(message: str) -> Refusal:
    """A 400 refusal with Jira's body: ``message`` alone in ``errorMessages``."""
    return Refusal(400, {"errorMessages": [message], "errors": {}})


def bad_parameter(name: str, value: str) -> Refusal:
    """JSM's 400 for a query parameter whose value it does not accept."""
    return jsm_error(
        400,
        f"The value '{value}' is not valid for the parameter '{name}'.",
        "sd.api.parameter.invalid",
        name,
        value,
    )


@dataclass(frozen=True)
class Call:
    """One call: the site, the path and its parameters, the query, the signed-in user and
    the request body (empty for a GET)."""

    site: SiteData
    path: str
    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    account_id: str
    body: bytes = b""

    def text(self, name: str) -> str | None:
        """A single-value parameter; a blank one counts as absent."""
        values = self.query.get(name)
        return values[0] if values and values[0] else None

    def many(self, name: str) -> list[str]:
        """A multi-value parameter, repeated and/or comma-separated."""
        values = self.query.get(name, [])
        return [part.strip() for value in values for part in value.split(",") if part.strip()]

    def integer(self, name: str) -> int | None:
        """A single-value integer parameter, or None when absent."""
        value = self.text(name)
        return None if value is None else _parse_int(name, value)

    def integers(self, name: str) -> list[int]:
        """A multi-value integer parameter."""
        return [_parse_int(name, value) for value in self.many(name)]

    def flag(self, name: str, default: bool) -> bool:
        """A ``true``/``false`` parameter (any case), or ``default`` when absent."""
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise bad_parameter(name, value)
        return value.lower() == "true"

    @property
    def me(self) -> int:
        """The signed-in user's index on the site, or -2 when the site does not know them."""
        return self.site.by_account.get(self.account_id, -2)


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise bad_parameter(name, value) from None


_Item = TypeVar("_Item")


@dataclass(frozen=True)
class Rows(Generic[_Item]):
    """What a list endpoint answers: its rows in order, and how one row looks on the wire."""

    items: Sequence[_Item]
    render: Callable[[_Item], Json]


@functools.lru_cache(maxsize=256)
def memo(compute: Callable[..., tuple[int, ...]], *args: Hashable) -> tuple[int, ...]:
    """``compute(*args)``, remembered: filtered listings are computed once, paged many times."""
    return compute(*args)


def desk_of(call: Call) -> Desk:
    """The service desk the call's ``serviceDeskId`` path parameter names; else a 404."""
    return desk_named(call.site, call.params["serviceDeskId"])


def desk_named(site: SiteData, id_or_key: str) -> Desk:
    """The service desk with this id or project key; else JSM's 404 for a missing desk."""
    desk = site.desk(id_or_key)
    if desk is None:
        raise jsm_error(
            404,
            "The Service Desk you are trying to view does not exist.",
            "sd.agent.servicedesk.error.servicedesk.missing",
            id_or_key,
        )
    return desk


def request_of(call: Call) -> Request:
    """The request the call's ``issueIdOrKey`` path parameter names; else a 404."""
    wanted = call.params["issueIdOrKey"]
    request = call.site.request(wanted)
    if request is None:
        raise jsm_error(
            404,
            f"The request '{wanted}' does not exist or you cannot see it.",
            "sd.customer.request.does.not.exist",
            wanted,
        )
    return request
