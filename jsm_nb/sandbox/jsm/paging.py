"""JSM's paging: ``start``/``limit`` pages with ``isLastPage``, no total, and ``_links``.

``limit`` defaults to :data:`DEFAULT_LIMIT`; each endpoint silently caps it at its own
maximum. Links point at the site's own URL and keep the call's other parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..data import SiteData
from .calls import JSM, Call, Json, Rows, jsm_error

__all__ = ["DEFAULT_LIMIT", "embedded", "page"]

DEFAULT_LIMIT = 50
"""The page size when a call gives no ``limit`` (or Jira search no ``maxResults``)."""


def page(call: Call, rows: Rows[Any], cap: int) -> Json:
    """The page of ``rows`` that the call's ``start`` and ``limit`` ask for.

    Parameters
    ----------
    call : Call
        The call, with its ``start`` and ``limit`` query parameters, if any.
    rows : Rows
        Everything the endpoint lists, in order.
    cap : int
        The endpoint's largest page: a larger ``limit`` is cut to it.

    Returns
    -------
    dict
        JSM's paged body (``size``, ``start``, ``limit``, ``isLastPage``, ``values``,
        ``_links``).

    Raises
    ------
    Refusal
        For a negative ``start``, a ``limit`` below one, or either not an integer.
    """
    start = call.integer("start")
    limit = call.integer("limit")
    start = 0 if start is None else start
    limit = DEFAULT_LIMIT if limit is None else limit
    if start < 0:
        raise jsm_error(
            400,
            "The start parameter must not be negative.",
            "sd.api.paging.start.negative",
            str(start),
        )
    if limit < 1:
        raise jsm_error(
            400,
            "The limit parameter must be greater than zero.",
            "sd.api.paging.limit.invalid",
            str(limit),
        )
    return _body(call.site, call.path, call.query, rows, start, min(limit, cap))


def embedded(site: SiteData, path: str, rows: Rows[Any]) -> Json:
    """A first page nested in another answer (an ``expand``), as Atlassian nests them."""
    return _body(site, path, {}, rows, 0, DEFAULT_LIMIT)


def _body(
    site: SiteData,
    path: str,
    query: Mapping[str, list[str]],
    rows: Rows[Any],
    start: int,
    limit: int,
) -> Json:
    chunk = rows.items[start : start + limit]
    last = start + len(chunk) >= len(rows.items)
    links = {
        "base": site.url + JSM,
        "context": "",
        "self": _link(site, path, query, start, limit),
    }
    if not last:
        links["next"] = _link(site, path, query, start + limit, limit)
    if start > 0:
        links["prev"] = _link(site, path, query, max(0, start - limit), limit)
    return {
        "_expands": [],
        "size": len(chunk),
        "start": start,
        "limit": limit,
        "isLastPage": last,
        "values": [rows.render(item) for item in chunk],
        "_links": links,
    }


def _link(site: SiteData, path: str, query: Mapping[str, list[str]], start: int, limit: int) -> str:
    """The URL of the page at ``start``: the call's other parameters, then ``start``, ``limit``.

    Both are integers of zero or more, which ``urlencode`` would leave as they are.
    """
    kept = [(k, v) for k, values in query.items() if k not in ("start", "limit") for v in values]
    paging = f"start={start}&limit={limit}"
    return f"{site.url}{path}?{urlencode(kept)}&{paging}" if kept else f"{site.url}{path}?{paging}"
