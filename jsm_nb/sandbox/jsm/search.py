"""Jira's enhanced search, ``GET /rest/api/3/search/jql``: cursor paging over JQL matches.

Pages follow an opaque ``nextPageToken`` with ``isLast`` and no total. ``maxResults`` is
capped at :data:`SEARCH_CAP_IDS` when only ids or keys are asked for and at
:data:`SEARCH_CAP_FIELDS` otherwise, as Jira's documentation describes (up to 5,000 for
ids, fewer with fields). A token is bound to its query: another query refuses it.

A token holds an offset into the query's matches, not a snapshot of them, as Jira's cursor
is no snapshot either: when the data changes between two pages (:mod:`..churn`), the next
page is the fresh matches from that offset, so an issue that moved ahead of it in the
order is skipped and one that moved behind it comes again. ``ORDER BY id`` with
``id > N`` resumes safely; ``ORDER BY updated`` over changing data may repeat or skip.

The old search, ``/rest/api/{2,3}/search`` and ``/search/id``, was shut down in 2025: it
answers 410 Gone with Jira's body, as Jira has since (:func:`removed_search`).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib

from .calls import Call, Json, Refusal, jira_error, memo
from .issues import JIRA_FIELDS, issue_bean
from .jql import jql_matches, parse_jql
from .paging import DEFAULT_LIMIT

__all__ = [
    "REMOVED_SEARCH",
    "SEARCH_CAP_FIELDS",
    "SEARCH_CAP_IDS",
    "approximate_count",
    "removed_search",
    "search",
]

SEARCH_CAP_IDS = 5000
"""Most issues one Jira search page holds when only ids (or keys) are asked for."""
SEARCH_CAP_FIELDS = 100
"""Most issues one Jira search page holds when fields are asked for."""
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
"""The message of Jira's 410 for the old search endpoints, word for word."""


def search(call: Call) -> Json:
    """Jira's enhanced search, ``GET /rest/api/3/search/jql``.

    Without ``fields`` (or with only ``id``) issues are ``{"id"}`` objects; otherwise issue
    beans with the known fields asked for (``*all`` or ``*navigable`` for all of them).
    Without ORDER BY the newest issues come first.

    Parameters
    ----------
    call : Call
        The call: ``jql``, ``fields``, ``maxResults`` and ``nextPageToken``.

    Returns
    -------
    dict
        ``issues`` and ``isLast``, and ``nextPageToken`` unless this is the last page.

    Raises
    ------
    Refusal
        Jira's 400 for bad JQL, a ``maxResults`` below one, or a foreign page token.
    """
    site = call.site
    jql = call.text("jql") or ""
    query = parse_jql(site, jql)
    names = call.many("fields")
    everything = bool({"*all", "*navigable"} & set(names))
    fields = [f for f in JIRA_FIELDS if everything or f in names]
    ids_only = not fields and "key" not in names
    cap = SEARCH_CAP_IDS if not fields else SEARCH_CAP_FIELDS
    wanted = call.integer("maxResults")
    if wanted is not None and wanted < 1:
        raise jira_error("The maxResults parameter must be greater than 0.")
    size = min(DEFAULT_LIMIT if wanted is None else wanted, cap)
    offset = _token_offset(call.text("nextPageToken"), jql)
    matches = memo(jql_matches, site, query)
    chunk = matches[offset : offset + size]
    issues = [
        {"id": str(site.requests[i].issue_id)}
        if ids_only
        else issue_bean(site, site.requests[i], fields, "3")
        for i in chunk
    ]
    answer: Json = {"issues": issues, "isLast": offset + size >= len(matches)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _page_token(offset + size, jql)
    return answer


def approximate_count(call: Call) -> Json:
    """Jira's ``POST /rest/api/3/search/approximate-count``: how many issues a JQL matches.

    The body is ``{"jql": ...}`` (no other member); the JQL must be bounded, as for the
    search. The sandbox's count is exact, which Jira's need not be.

    Parameters
    ----------
    call : Call
        The call, its body JSON.

    Returns
    -------
    dict
        ``{"count": N}``.

    Raises
    ------
    Refusal
        Jira's 400 for a body that is not ``{"jql": text}``, or for bad JQL.
    """
    try:
        body = json.loads(call.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise jira_error("The request body is not valid JSON.") from None
    if not isinstance(body, dict) or set(body) - {"jql"}:
        raise jira_error("The request body must be an object with only the member 'jql'.")
    jql = body.get("jql", "")
    if not isinstance(jql, str):
        raise jira_error("The member 'jql' must be a string.")
    return {"count": len(memo(jql_matches, call.site, parse_jql(call.site, jql)))}


def _page_token(offset: int, jql: str) -> str:
    raw = f"{offset}:{zlib.crc32(jql.encode()):08x}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _token_offset(token: str | None, jql: str) -> int:
    if token is None:
        return 0
    try:
        offset, fingerprint = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).split(b":")
        if int(fingerprint, 16) == zlib.crc32(jql.encode()) and int(offset) >= 0:
            return int(offset)
    except (ValueError, binascii.Error):
        pass
    raise jira_error(f"The nextPageToken '{token}' is invalid or belongs to another query.")


def removed_search(call: Call) -> Json:
    """The old ``/rest/api/{2,3}/search`` (and ``/search/id``): always 410 Gone.

    Raises
    ------
    Refusal
        Jira's 410 with :data:`REMOVED_SEARCH`, whatever the call asks.
    """
    raise Refusal(410, {"errorMessages": [REMOVED_SEARCH], "errors": {}})
