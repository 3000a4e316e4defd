"""Helpers about the signed-in user and the site, and one for any other JSM listing.

Who the user is, which sites the login covers, JSM's version, Jira's field catalogue.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from .. import catalogue, frames, paging
from ..arguments import (
    as_bool,
    resolve_session,
)
from ..errors import InvalidArgument
from .reads import (
    JSM,
    Records,
    Result,
    Single,
    listing,
    one_object,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..sessions import JsmSession

_LISTING_PATH = re.compile(r"[A-Za-z0-9_~.-]+(/[A-Za-z0-9_~.-]+)*/?")

__all__ = ["fields", "frame", "info", "me", "sites"]

# Each helper has three overloads: raw=False (the default) gives a DataFrame,
# raw=True the Records, and a raw known only as a bool either.


@overload
def me(*, raw: Literal[False] = False, **options: Unpack[Single]) -> pd.DataFrame: ...
@overload
def me(*, raw: Literal[True], **options: Unpack[Single]) -> Records: ...
@overload
def me(*, raw: bool = False, **options: Unpack[Single]) -> Result: ...
def me(*, raw: bool = False, **options: Unpack[Single]) -> Result:
    """The signed-in user's Atlassian profile (``GET /me``).

    Returns
    -------
    pandas.DataFrame
        One row, who the user is first and the avatar's URL last:

        - ``name`` (string)
        - ``email`` (string)
        - ``account_id`` (string): the user's Atlassian account id
        - ``account_type`` (string): ``atlassian``, ``app`` or ``customer``
        - ``account_status`` (string): ``active``, ``inactive`` or ``closed``
        - ``nickname`` (string)
        - ``job_title`` (string)
        - ``department`` (string)
        - ``organization`` (string)
        - ``location`` (string)
        - ``zoneinfo`` (string): the user's time zone
        - ``locale`` (string)
        - ``picture`` (string): the avatar's URL
    """
    return one_object(frames.ME, "/me", session=options.get("session"), raw=raw, gateway=True)


@overload
def sites(*, raw: Literal[False] = False, **options: Unpack[Single]) -> pd.DataFrame: ...
@overload
def sites(*, raw: Literal[True], **options: Unpack[Single]) -> Records: ...
@overload
def sites(*, raw: bool = False, **options: Unpack[Single]) -> Result: ...
def sites(*, raw: bool = False, **options: Unpack[Single]) -> Result:
    """The Jira sites this login covers (``GET /oauth/token/accessible-resources``).

    Returns
    -------
    pandas.DataFrame
        One row per site:

        - ``site_id`` (string): the cloud id
        - ``name`` (string)
        - ``url`` (string)
        - ``scopes`` (object): the list of scopes granted on the site
        - ``avatar_url`` (string)
    """
    path = "/oauth/token/accessible-resources"
    return one_object(frames.SITES, path, session=options.get("session"), raw=raw, gateway=True)


@overload
def info(*, raw: Literal[False] = False, **options: Unpack[Single]) -> pd.DataFrame: ...
@overload
def info(*, raw: Literal[True], **options: Unpack[Single]) -> Records: ...
@overload
def info(*, raw: bool = False, **options: Unpack[Single]) -> Result: ...
def info(*, raw: bool = False, **options: Unpack[Single]) -> Result:
    """The site's Jira Service Management version (``GET /rest/servicedeskapi/info``).

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``version`` (string): such as ``10.3.0``
        - ``platform_version`` (string): the Jira platform's
        - ``build_date`` (datetime64[ms, UTC])
        - ``build_change_set`` (string)
        - ``licensed_for_use`` (boolean)
        - ``url`` (string): the site's URL
    """
    return one_object(frames.INFO, f"{JSM}/info", session=options.get("session"), raw=raw)


@overload
def fields(*, raw: Literal[False] = False, **options: Unpack[Single]) -> pd.DataFrame: ...
@overload
def fields(*, raw: Literal[True], **options: Unpack[Single]) -> Records: ...
@overload
def fields(*, raw: bool = False, **options: Unpack[Single]) -> Result: ...
def fields(*, raw: bool = False, **options: Unpack[Single]) -> Result:
    """The site's Jira fields (``/rest/api/3/field``), fetched once per session.

    :func:`jql` takes a field by its id or its name; its columns are named from
    the field's name in snake_case (``column`` here), with the field's id after
    two underscores when fields share a name (``team__customfield_10101``).

    Returns
    -------
    pandas.DataFrame
        One row per field:

        - ``field_id`` (string): such as ``summary`` or ``customfield_10021``
        - ``name`` (string): such as ``Time to resolution``
        - ``custom`` (boolean): whether it is a custom field
        - ``schema_type`` (string): such as ``string``, ``option``, ``user`` or
          ``sd-servicelevelagreement``
        - ``items`` (string): for lists, what they hold
        - ``custom_type`` (string): a custom field's plugin key, such as
          ``com.atlassian.servicedesk:sd-sla-field``
        - ``column`` (string): the name :func:`jql` gives its column(s)
    """
    raw = as_bool(raw, "raw")
    found = catalogue.catalogue(resolve_session(options.get("session")))
    if raw:
        return Records(dict(r) for r in found.records)
    rows = [{**dataclasses.asdict(f), "column": found.columns[f.field_id]} for f in found.fields]
    return frames.to_frame(rows, frames.FIELDS)


@overload
def frame(
    path: str,
    *,
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: Literal[False] = False,
    **params: Any,
) -> pd.DataFrame: ...
@overload
def frame(
    path: str,
    *,
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: Literal[True],
    **params: Any,
) -> Records: ...
@overload
def frame(
    path: str,
    *,
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    **params: Any,
) -> Result: ...
def frame(
    path: str,
    *,
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    wait: bool = False,
    **params: Any,
) -> Result:
    """Any other paged JSM listing, as a frame whose columns follow the records.

    Parameters
    ----------
    path : str
        The listing's path: ``/rest/servicedeskapi/request/ITH-1/participant``,
        or the same without ``/rest/servicedeskapi/``; no query string.
    **params
        Query parameters; ``limit`` sets the page size to ask for.

    Returns
    -------
    pandas.DataFrame
        Nested objects flattened into ``parent_child`` snake_case columns; JSM
        dates and durations typed; lists kept as objects. An empty listing
        gives an empty frame with no columns.
    """
    limit = params.pop("limit", paging.DEFAULT_LIMIT)
    return listing(
        None,
        "Records",
        _jsm_path(path),
        params,
        limit=limit,
        session=session,
        concurrency=concurrency,
        max_rows=max_rows,
        progress=progress,
        raw=raw,
        wait=wait,
    )


def _jsm_path(path: object) -> str:
    """The full path of a JSM listing given with or without ``/rest/servicedeskapi/``."""
    tail = path.removeprefix(f"{JSM}/") if isinstance(path, str) else ""
    if not _LISTING_PATH.fullmatch(tail) or {".", ".."} & set(tail.split("/")):
        raise InvalidArgument(
            "path must be a JSM listing's path, such as 'request/ITH-1/participant' or "
            f"'{JSM}/request/ITH-1/participant', got {path!r}: query parameters go as "
            "keyword arguments, and Jira's issues come from jsm_nb.jql()."
        )
    return f"{JSM}/{tail}"
