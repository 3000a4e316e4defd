"""The analyst's helpers: one call, one typed DataFrame, however many pages it takes.

Each helper is its path, its paging style and its frame (:mod:`jsm_nb.frames`),
run by the one pagination engine (:mod:`jsm_nb.paging`). Every helper takes
these keyword options (:class:`Options`; :func:`me`, :func:`sites`, :func:`info`,
:func:`queue` and :func:`request_type_fields`, one request each, take only
``session`` and ``raw``):

session : JsmSession, optional
    The signed-in session; ``jsm_nb.session()`` by default.
concurrency : int
    Pages (or keys) fetched at once, at most; 4 by default. However many there
    are, the session keeps them under Atlassian's burst rate for the endpoint.
max_rows : int, optional
    Stop after this many rows.
progress : bool, optional
    Show a progress bar for fetches of more than one page; by default only in
    a notebook or a terminal.
raw : bool
    Return the JSON records (:class:`Records`, a list of dicts) instead of a
    DataFrame; the per-request helpers add the request's key to each as
    ``issueKey``. Type checkers see ``raw=True`` give :class:`Records` and the
    default a ``pandas.DataFrame``.

wait : bool
    When Atlassian's quota is spent (or a limit asks for a long wait), sleep
    until it resets, with a countdown, instead of raising
    :class:`~jsm_nb.errors.RateLimited`.
A service desk can be given by id (``1`` or ``"1"``) or project key (``"ITH"``).
Per-request helpers take one request key or many, fetch them concurrently and
return one frame with an ``issue_key`` column; they also take (:class:`PerRequest`):

missing : {"raise", "skip"}
    What a key whose request does not exist (or is hidden from the user) does:
    ``"raise"`` (the default) raises :class:`~jsm_nb.errors.ApiError` (404)
    naming every such key, once all are fetched; ``"skip"`` returns the others.
    The result's ``attrs["skipped_keys"]`` lists the keys left out, empty when
    none are (a frame's :attr:`~pandas.DataFrame.attrs`, or :attr:`Records.attrs`).

An argument a helper cannot use raises :class:`~jsm_nb.errors.InvalidArgument`
before any request is sent. Any failure of the API raises
:class:`~jsm_nb.errors.ApiError`; no helper returns part of an answer unasked. A
call stopped by :class:`~jsm_nb.errors.RateLimited` (or a failure) keeps what it
fetched in the process: the same call made again resumes where it stopped.

Every frame carries what it cost in ``frame.attrs["jsm_nb"]``: ``requests`` sent,
``points`` of Atlassian's quota (estimated by its formula), ``retries`` and
``waits`` (seconds waited for rate limits).
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload
from urllib.parse import quote

import numpy as np
import pandas as pd

from . import catalogue, cost, frames, paging, windows
from . import progress as progress_bar
from .errors import ApiError, InvalidArgument

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .sessions import JsmSession

__all__ = [
    "DEFAULT_JQL_FIELDS",
    "Options",
    "PerRequest",
    "Records",
    "Single",
    "approvals",
    "articles",
    "comments",
    "customer_requests",
    "customers",
    "feedback",
    "fields",
    "frame",
    "info",
    "jql",
    "me",
    "organization_users",
    "organizations",
    "participants",
    "queue",
    "queue_issues",
    "queues",
    "request_status_history",
    "request_type_fields",
    "request_type_groups",
    "request_types",
    "service_desks",
    "sites",
    "sla",
]

Record = dict[str, Any]
Keys = str | Iterable[str]
ServiceDesk = int | str
Missing = Literal["raise", "skip"]

JSM = "/rest/servicedeskapi"
SEARCH = "/rest/api/3/search/jql"
DEFAULT_JQL_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "priority",
    "reporter",
    "assignee",
    "created",
    "updated",
    "resolutiondate",
)
_STATUS = {"open": "OPEN_REQUESTS", "closed": "CLOSED_REQUESTS", "all": "ALL_REQUESTS"}
_OWNERSHIP = {
    "owned": "OWNED_REQUESTS",
    "participated": "PARTICIPATED_REQUESTS",
    "organization": "ORGANIZATION",
    "all_organizations": "ALL_ORGANIZATIONS",
    "approver": "APPROVER",
}
_MISSING = {"raise": "raise", "skip": "skip"}
_PROJECT_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LISTING_PATH = re.compile(r"[A-Za-z0-9_~.-]+(/[A-Za-z0-9_~.-]+)*/?")
_SHOWN_KEYS = 20  # missing keys named in an error's message; the rest are counted


class Records(list[Record]):
    """The JSON records of ``raw=True``: a list of dicts, with ``attrs`` as a frame has.

    ``attrs`` holds what :attr:`pandas.DataFrame.attrs` holds for the same call
    (``skipped_keys`` for the per-request helpers), so code that reads it works
    whatever ``raw`` is.
    """

    def __init__(self, records: Iterable[Record] = ()) -> None:
        super().__init__(records)
        self.attrs: dict[str, Any] = {}


Result = pd.DataFrame | Records


class Single(TypedDict, total=False):
    """The options of a helper that makes one request (besides ``raw``)."""

    session: JsmSession | None


class Options(Single, total=False):
    """The options every paged helper takes, besides ``raw`` (see the module's docstring)."""

    concurrency: int
    max_rows: int | None
    progress: bool | None
    wait: bool


class PerRequest(Options, total=False):
    """The options of the per-request helpers: :class:`Options` and ``missing``."""

    missing: Missing


def resolve_session(session: JsmSession | None) -> JsmSession:
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


def _listing(
    spec: frames.Spec | None,
    label: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    keys: Keys | None = None,
    missing: Missing = "raise",
    cursor: bool = False,
    experimental: bool = False,
    limit: int = paging.DEFAULT_LIMIT,
    fields: Sequence[str] = (),
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    wait: bool = False,
    count: str | None = None,
) -> Result:
    """Every record of one paged listing (one per key of ``keys``), as ``spec``'s frame.

    With ``raw``, the records; with no ``spec``, a frame whose columns follow the
    records (:func:`frames.infer_spec`). A frame of a known ``spec`` is built
    page by page as they arrive, so the pages' JSON is never all held at once.
    ``label`` says what is fetched, for the progress bar ("Comments"; with keys,
    "Comments of 12 requests"): words of ours, never API text. A ``path`` with
    a ``{key}`` placeholder is fetched once per key of ``keys``; keys whose
    request does not exist raise :class:`ApiError` once all keys are fetched,
    or with ``missing="skip"`` are left out, and listed in the result's
    ``attrs["skipped_keys"]`` (empty when none are). With ``count``, the JQL of a
    search, its approximate count is asked for first, the progress bar's total; a
    large search is then split into windows of ids fetched at once
    (:func:`windows.plan`, :func:`windows.search`). The result's ``attrs["jsm_nb"]``
    is what it cost.
    """
    paging.check_options(concurrency=concurrency, max_rows=max_rows, limit=limit)
    raw = _bool(raw, "raw")
    if progress is not None:
        progress = _bool(progress, "progress")
    wait = _bool(wait, "wait")
    skip = _choice(_MISSING, missing, "missing") == "skip"
    per_key = "{key}" in path  # keys=None is then a bad argument, not "no keys"
    unique = texts(keys, "keys", "request keys such as 'ITH-42'") if per_key else None
    opened = resolve_session(session)
    if unique is not None:
        label = f"{label} of {len(unique):,} request{'' if len(unique) == 1 else 's'}"
    skipped: list[str] = []
    options: paging.FetchOptions = {
        "keys": unique,
        "cursor": cursor,
        "experimental": experimental,
        "limit": limit,
        "concurrency": concurrency,
        "max_rows": max_rows,
        "progress": progress,
        "label": label,
        "wait": wait,
        "on_missing": None if unique is None else skipped.append,
    }
    result: Result
    split = None
    with cost.metered() as spent:
        if count is not None:
            total = options["total"] = windows.approximate_count(opened, count)
            split = windows.plan(
                count, total, limit=limit, concurrency=concurrency, max_rows=max_rows
            )
        if split is not None:
            records = windows.search(
                opened,
                split[0],
                descending=split[1],
                fields=str(dict(params or {})["fields"]),
                count=total,
                limit=limit,
                concurrency=concurrency,
                progress=progress,
                label=label,
                wait=wait,
            )
            if not raw and spec is not None:
                built = frames.FrameBuilder(spec, fields)
                built.add(records)
        elif raw or spec is None:
            records = paging.fetch(opened, path, params, **options)
        else:
            kind = ("frame", id(spec), tuple(fields))  # specs are constants of frames
            built = paging.collect(
                opened,
                path,
                params,
                sink=lambda: frames.FrameBuilder(spec, fields),
                kind=kind,
                **options,
            )
    if skipped and not skip:
        raise _missing_keys(path, skipped, len(unique or ()))
    if raw:
        result = Records(records)
    elif spec is None:
        result = frames.to_frame(records, frames.infer_spec(records), fields)
    else:
        result = built.frame()
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    if unique is not None:
        result.attrs["skipped_keys"] = skipped
    return result


def _missing_keys(path: str, missing: list[str], asked: int) -> ApiError:
    """The error for requests whose listing does not exist: how many, which, what to do."""
    named = ", ".join(missing[:_SHOWN_KEYS])
    more = len(missing) - _SHOWN_KEYS
    if more > 0:
        named += f" and {more:,} more"
    message = (
        f"{len(missing):,} of {asked:,} requests do not exist or you cannot see them: {named}. "
        'Correct or drop these keys, or pass missing="skip" to get the others '
        '(the result\'s attrs["skipped_keys"] then lists the keys left out).'
    )
    return ApiError(404, message, "GET", path)


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


def _request_path(listing: str) -> str:
    return f"{JSM}/request/{{key}}/{listing}"


def _object(
    spec: frames.Spec,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    session: JsmSession | None = None,
    raw: bool = False,
    gateway: bool = False,
) -> Result:
    """One unpaged answer (an object, or a list of them), as ``spec``'s frame.

    ``path`` is on the site (``/rest/servicedeskapi/info``), or with ``gateway``
    on the API host itself (``/me``). The result's ``attrs["jsm_nb"]`` is what it cost.
    """
    raw = _bool(raw, "raw")
    opened = resolve_session(session)
    with cost.metered() as spent:
        body = paging.get_json(opened, f"{opened.api_url}{path}" if gateway else path, params)
    records = body if isinstance(body, list) else [body]
    result: Result = Records(records) if raw else frames.to_frame(records, spec)
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    return result


def _per_key_objects(
    spec: frames.Spec,
    label: str,
    path: str,
    keys: Keys,
    *,
    experimental: bool = False,
    missing: Missing = "raise",
    session: JsmSession | None = None,
    concurrency: int = paging.DEFAULT_CONCURRENCY,
    max_rows: int | None = None,
    progress: bool | None = None,
    raw: bool = False,
    wait: bool = False,
) -> Result:
    """One unpaged object per key of ``keys`` (``path`` has ``{key}``), as :func:`_listing` gives.

    Each record gets its key as ``issueKey``; keys whose request does not exist raise
    once all are fetched, or with ``missing="skip"`` are left out and listed in
    ``attrs["skipped_keys"]``.
    """
    paging.check_options(concurrency=concurrency, max_rows=max_rows)
    raw = _bool(raw, "raw")
    if progress is not None:
        progress = _bool(progress, "progress")
    skip = _choice(_MISSING, missing, "missing") == "skip"
    unique = texts(keys, "keys", "request keys such as 'ITH-42'")
    opened = resolve_session(session)
    wanted = unique if max_rows is None else unique[:max_rows]

    def one(key: str) -> Record | None:
        try:
            body = paging.get_json(
                opened, path.format(key=quote(key, safe="")), experimental=experimental
            )
        except ApiError as error:
            if error.status != 404:
                raise
            return None
        return {**body, "issueKey": key}

    records: list[Record] = []
    skipped: list[str] = []
    label = f"{label} of {len(wanted):,} request{'' if len(wanted) == 1 else 's'}"
    with (
        cost.metered(wait=_bool(wait, "wait")) as spent,
        progress_bar.bar(progress, label, len(wanted)) as bar,
        contextlib.closing(paging.ordered_map(one, wanted, concurrency)) as found,
    ):
        for key, record in zip(wanted, found, strict=True):
            if record is None:
                skipped.append(key)
            else:
                records.append(record)
            bar.update(1)
    if skipped and not skip:
        raise _missing_keys(path, skipped, len(wanted))
    result: Result = Records(records) if raw else frames.to_frame(records, spec)
    result.attrs["jsm_nb"] = spent.cost().as_attrs()
    result.attrs["skipped_keys"] = skipped
    return result


def _id(value: object) -> str | None:
    """An Atlassian id given as a whole number or its digits, as text; ``None`` if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral) and int(value) >= 0:
        return str(int(value))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    return None


def _required_id(value: object, name: str, example: str) -> str:
    """:func:`_id` of ``value``; :class:`InvalidArgument` when it is not an id."""
    found = _id(value)
    if found is None:
        raise InvalidArgument(
            f"{name} must be an id, a whole number or its digits such as {example}, got {value!r}."
        )
    return found


def _optional_id(value: object, name: str, example: str) -> str | None:
    """:func:`_required_id` of ``value``, or ``None`` when it is ``None``."""
    return None if value is None else _required_id(value, name, example)


def _desk(service_desk: ServiceDesk, options: Options) -> str:
    """The id of a service desk given by id or project key; sets ``options["session"]``.

    The options are checked first, so that a bad one fails before the lookup's request.
    """
    wanted = _id(service_desk)
    if wanted is None and not (
        isinstance(service_desk, str) and _PROJECT_KEY.fullmatch(service_desk)
    ):
        raise InvalidArgument(
            "service_desk must be a service desk's id (such as 1) or project key "
            f"(such as 'ITH'), got {service_desk!r}; jsm_nb.service_desks() lists them."
        )
    paging.check_options(
        concurrency=options.get("concurrency", paging.DEFAULT_CONCURRENCY),
        max_rows=options.get("max_rows"),
    )
    options["session"] = session = resolve_session(options.get("session"))
    if wanted is not None:
        return wanted
    for desk in paging.fetch(session, f"{JSM}/servicedesk", label="Service desks"):
        if str(desk.get("projectKey", "")).upper() == str(service_desk).upper():
            return str(desk["id"])
    raise InvalidArgument(
        f"No service desk has the project key {service_desk!r}; "
        "jsm_nb.service_desks() lists the ones you can see."
    )


def _choice(choices: Mapping[str, str], value: object, name: str) -> str:
    if isinstance(value, str) and value.lower() in choices:
        return choices[value.lower()]
    raise InvalidArgument(f"{name} must be one of {sorted(choices)}, got {value!r}.")


def _bool(value: object, name: str) -> bool:
    """``value`` as a bool; :class:`InvalidArgument` unless it is ``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgument(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _flag(value: object, name: str) -> str:
    """A flag as a query parameter's value."""
    return "true" if _bool(value, name) else "false"


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
    return _object(frames.ME, "/me", session=options.get("session"), raw=raw, gateway=True)


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
    return _object(frames.SITES, path, session=options.get("session"), raw=raw, gateway=True)


@overload
def service_desks(*, raw: Literal[False] = False, **options: Unpack[Options]) -> pd.DataFrame: ...
@overload
def service_desks(*, raw: Literal[True], **options: Unpack[Options]) -> Records: ...
@overload
def service_desks(*, raw: bool = False, **options: Unpack[Options]) -> Result: ...
def service_desks(*, raw: bool = False, **options: Unpack[Options]) -> Result:
    """The service desks the user can see.

    Returns
    -------
    pandas.DataFrame
        One row per service desk:

        - ``service_desk_id`` (string)
        - ``project_id`` (string)
        - ``project_key`` (string): such as ``ITH``
        - ``project_name`` (string)
        - ``project_type_key`` (string): ``service_desk``
    """
    path = f"{JSM}/servicedesk"
    return _listing(frames.SERVICE_DESKS, "Service desks", path, raw=raw, **options)


@overload
def request_types(
    service_desk: ServiceDesk, *, raw: Literal[False] = False, **options: Unpack[Options]
) -> pd.DataFrame: ...
@overload
def request_types(
    service_desk: ServiceDesk, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def request_types(
    service_desk: ServiceDesk, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def request_types(
    service_desk: ServiceDesk, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """A service desk's request types.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.

    Returns
    -------
    pandas.DataFrame
        One row per request type:

        - ``request_type_id`` (string)
        - ``service_desk_id`` (string)
        - ``name`` (string)
        - ``description`` (string)
        - ``help_text`` (string)
        - ``issue_type_id`` (string)
        - ``portal_id`` (string)
        - ``group_ids`` (object): the list of the request type groups' ids
    """
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/requesttype"
    return _listing(frames.REQUEST_TYPES, "Request types", path, raw=raw, **options)


@overload
def customer_requests(
    service_desk: ServiceDesk | None = None,
    *,
    request_type: int | str | None = None,
    organization: int | str | None = None,
    status: str = "all",
    ownership: str | Iterable[str] | None = None,
    search: str | None = None,
    expand: str | Iterable[str] = (),
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def customer_requests(
    service_desk: ServiceDesk | None = None,
    *,
    request_type: int | str | None = None,
    organization: int | str | None = None,
    status: str = "all",
    ownership: str | Iterable[str] | None = None,
    search: str | None = None,
    expand: str | Iterable[str] = (),
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def customer_requests(
    service_desk: ServiceDesk | None = None,
    *,
    request_type: int | str | None = None,
    organization: int | str | None = None,
    status: str = "all",
    ownership: str | Iterable[str] | None = None,
    search: str | None = None,
    expand: str | Iterable[str] = (),
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def customer_requests(
    service_desk: ServiceDesk | None = None,
    *,
    request_type: int | str | None = None,
    organization: int | str | None = None,
    status: str = "all",
    ownership: str | Iterable[str] | None = None,
    search: str | None = None,
    expand: str | Iterable[str] = (),
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """Customer requests the user can see (``GET /rest/servicedeskapi/request``).

    This is the user's view (requests they raised, take part in, approve, or
    that belong to their organisations), not a search: for a whole project use
    :func:`jql`.

    Parameters
    ----------
    service_desk : int or str, optional
        Only this service desk's requests (id or project key).
    request_type : int or str, optional
        Only requests of this request type (its id; needs ``service_desk``).
    organization : int or str, optional
        Only requests shared with this organisation (its id, see :func:`organizations`).
    status : {"all", "open", "closed"}
        Only open or only closed requests.
    ownership : str or iterable of str, optional
        Any of ``"owned"``, ``"participated"``, ``"organization"`` (needs
        ``organization``), ``"all_organizations"`` and ``"approver"``;
        Atlassian's default is the first two and ``"all_organizations"``.
    search : str, optional
        Only requests whose summary matches.
    expand : str or iterable of str
        Atlassian's ``expand`` values (``"sla"``, ``"participant"``, ...); the
        expanded data is in the records of ``raw=True``.

    Returns
    -------
    pandas.DataFrame
        One row per request, in Atlassian's order:

        - ``issue_id`` (string)
        - ``issue_key`` (string): such as ``ITH-42``
        - ``service_desk_id`` (string)
        - ``request_type_id`` (string)
        - ``created`` (datetime64[ms, UTC])
        - ``reporter_account_id`` (string)
        - ``reporter_display_name`` (string)
        - ``reporter_email_address`` (string): missing when hidden
        - ``status`` (string): the current status, such as ``In progress``
        - ``status_category`` (string): ``NEW``, ``INDETERMINATE`` or ``DONE``
        - ``status_date`` (datetime64[ms, UTC]): when the request got its status
        - ``summary`` (string)
        - ``description`` (string)

        then one column per other request field, named by its id
        (``customfield_10050``, ...): text, numbers and flags typed as such,
        select-list options as their value, anything else as objects.
    """
    owners = () if ownership is None else texts(ownership, "ownership", "such as 'owned'")
    ownerships = [_choice(_OWNERSHIP, o, "ownership") for o in owners]
    if request_type is not None and service_desk is None:
        raise InvalidArgument("request_type needs service_desk too: pass the desk it belongs to.")
    if "ORGANIZATION" in ownerships and organization is None:
        raise InvalidArgument(
            'ownership="organization" needs organization too: pass the organisation\'s id.'
        )
    params = {
        "requestTypeId": _optional_id(request_type, "request_type", "12 (jsm_nb.request_types())"),
        "organizationId": _optional_id(organization, "organization", "3 (jsm_nb.organizations())"),
        "requestStatus": _choice(_STATUS, status, "status"),
        "requestOwnership": ownerships,
        "searchTerm": search,
        "expand": ",".join(texts(expand, "expand", "such as 'sla'")) or None,
        # last: looking a desk up by project key is a request, made once the rest is checked
        "serviceDeskId": None if service_desk is None else _desk(service_desk, options),
    }
    path = f"{JSM}/request"
    return _listing(frames.REQUESTS, "Customer requests", path, params, raw=raw, **options)


@overload
def request_status_history(
    keys: Keys, *, raw: Literal[False] = False, **options: Unpack[PerRequest]
) -> pd.DataFrame: ...
@overload
def request_status_history(
    keys: Keys, *, raw: Literal[True], **options: Unpack[PerRequest]
) -> Records: ...
@overload
def request_status_history(
    keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]
) -> Result: ...
def request_status_history(
    keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]
) -> Result:
    """The statuses requests went through.

    Parameters
    ----------
    keys : str or iterable of str
        One request key (``"ITH-42"``) or many.

    Returns
    -------
    pandas.DataFrame
        One row per status change:

        - ``issue_key`` (string)
        - ``status`` (string)
        - ``status_category`` (string): ``NEW``, ``INDETERMINATE`` or ``DONE``
        - ``status_date`` (datetime64[ms, UTC]): when the request entered the status
    """
    path = _request_path("status")
    return _listing(frames.STATUS_HISTORY, "Status changes", path, keys=keys, raw=raw, **options)


@overload
def sla(
    keys: Keys | None = None,
    *,
    jql: str | None = None,
    raw: Literal[False] = False,
    **options: Unpack[PerRequest],
) -> pd.DataFrame: ...
@overload
def sla(
    keys: Keys | None = None,
    *,
    jql: str | None = None,
    raw: Literal[True],
    **options: Unpack[PerRequest],
) -> Records: ...
@overload
def sla(
    keys: Keys | None = None,
    *,
    jql: str | None = None,
    raw: bool = False,
    **options: Unpack[PerRequest],
) -> Result: ...
def sla(
    keys: Keys | None = None,
    *,
    jql: str | None = None,
    raw: bool = False,
    **options: Unpack[PerRequest],
) -> Result:
    """The SLA cycles of requests: given by key, or found by a JQL search.

    Parameters
    ----------
    keys : str or iterable of str, optional
        One request key or many: one request (or more) per key.
    jql : str, optional
        Instead of ``keys``, a JQL search such as ``"project = ITH"``: the SLAs come
        from the search's pages (JSM's SLA fields), a few requests for a whole
        project; ``max_rows`` then counts requests, and ``missing`` does not apply.

    Returns
    -------
    pandas.DataFrame
        One row per SLA cycle: each SLA's completed cycles, then its ongoing one
        (the same rows, whether by ``keys`` or by ``jql``):

        - ``issue_key`` (string)
        - ``sla_id`` (string)
        - ``sla_name`` (string): such as ``Time to resolution``
        - ``ongoing`` (boolean): whether the cycle is still running
        - ``breached`` (boolean)
        - ``paused`` (boolean): for ongoing cycles only
        - ``within_calendar_hours`` (boolean): for ongoing cycles only
        - ``goal`` (timedelta64[ms])
        - ``elapsed`` (timedelta64[ms])
        - ``remaining`` (timedelta64[ms]): negative once breached
        - ``start_time`` (datetime64[ms, UTC])
        - ``stop_time`` (datetime64[ms, UTC]): for completed cycles only
        - ``breach_time`` (datetime64[ms, UTC]): when the goal is (or was) missed
    """
    if keys is None and jql is None:
        raise InvalidArgument(
            "sla() needs request keys such as 'ITH-42', or jql= such as 'project = ITH'."
        )
    if jql is None:
        path = _request_path("sla")
        return _listing(frames.SLA, "SLA cycles", path, keys=keys, raw=raw, **options)
    if keys is not None:
        raise InvalidArgument("sla() takes request keys or jql=, not both: drop one of them.")
    query = jql_text(jql, "jql")
    _choice(_MISSING, options.get("missing", "raise"), "missing")
    session = options["session"] = _session_for_search(raw, options)
    ids = [
        f.field_id
        for f in catalogue.catalogue(session).fields
        if f.custom_type == catalogue.SLA_FIELD
    ]
    params = {"jql": query, "fields": ",".join(["key", *ids])}
    spec = frames.sla_of_issues(ids)
    result = _listing(
        spec,
        "SLA cycles found by JQL",
        SEARCH,
        params,
        cursor=True,
        raw=raw,
        count=query,
        **options,
    )
    if isinstance(result, Records):  # raw: the SLA records, as by keys, with the same attrs
        slas = Records(frames.issue_slas(result, ids))
        slas.attrs.update(result.attrs)
        result = slas
    result.attrs["skipped_keys"] = []
    return result


@overload
def comments(
    keys: Keys,
    *,
    public: bool = True,
    internal: bool = True,
    raw: Literal[False] = False,
    **options: Unpack[PerRequest],
) -> pd.DataFrame: ...
@overload
def comments(
    keys: Keys,
    *,
    public: bool = True,
    internal: bool = True,
    raw: Literal[True],
    **options: Unpack[PerRequest],
) -> Records: ...
@overload
def comments(
    keys: Keys,
    *,
    public: bool = True,
    internal: bool = True,
    raw: bool = False,
    **options: Unpack[PerRequest],
) -> Result: ...
def comments(
    keys: Keys,
    *,
    public: bool = True,
    internal: bool = True,
    raw: bool = False,
    **options: Unpack[PerRequest],
) -> Result:
    """The comments on requests.

    Parameters
    ----------
    keys : str or iterable of str
        One request key or many.
    public, internal : bool
        Whether to include public comments, and internal ones (agents only).

    Returns
    -------
    pandas.DataFrame
        One row per comment:

        - ``issue_key`` (string)
        - ``comment_id`` (string)
        - ``public`` (boolean): whether the customer sees it
        - ``body`` (string)
        - ``created`` (datetime64[ms, UTC])
        - ``author_account_id`` (string)
        - ``author_display_name`` (string)
    """
    params = {"public": _flag(public, "public"), "internal": _flag(internal, "internal")}
    path = _request_path("comment")
    return _listing(frames.COMMENTS, "Comments", path, params, keys=keys, raw=raw, **options)


@overload
def approvals(
    keys: Keys, *, raw: Literal[False] = False, **options: Unpack[PerRequest]
) -> pd.DataFrame: ...
@overload
def approvals(keys: Keys, *, raw: Literal[True], **options: Unpack[PerRequest]) -> Records: ...
@overload
def approvals(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result: ...
def approvals(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result:
    """The approvals of requests.

    Parameters
    ----------
    keys : str or iterable of str
        One request key or many.

    Returns
    -------
    pandas.DataFrame
        One row per approval:

        - ``issue_key`` (string)
        - ``approval_id`` (string)
        - ``name`` (string)
        - ``final_decision`` (string): ``approved``, ``declined`` or ``pending``
        - ``can_answer_approval`` (boolean): whether the user may decide it
        - ``created`` (datetime64[ms, UTC])
        - ``completed`` (datetime64[ms, UTC]): when it was decided
        - ``approvers`` (object): Atlassian's list of ``{"approver", "approverDecision"}``
    """
    path = _request_path("approval")
    return _listing(frames.APPROVALS, "Approvals", path, keys=keys, raw=raw, **options)


@overload
def queues(
    service_desk: ServiceDesk,
    *,
    include_count: bool = True,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def queues(
    service_desk: ServiceDesk,
    *,
    include_count: bool = True,
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def queues(
    service_desk: ServiceDesk,
    *,
    include_count: bool = True,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def queues(
    service_desk: ServiceDesk,
    *,
    include_count: bool = True,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """A service desk's queues.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    include_count : bool
        Ask for each queue's number of requests.

    Returns
    -------
    pandas.DataFrame
        One row per queue:

        - ``queue_id`` (string)
        - ``name`` (string)
        - ``jql`` (string): the queue's filter
        - ``fields`` (object): the list of field ids the queue shows
        - ``issue_count`` (Int64): missing unless ``include_count``
    """
    params = {"includeCount": _flag(include_count, "include_count")}
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/queue"
    return _listing(frames.QUEUES, "Queues", path, params, raw=raw, **options)


@overload
def queue_issues(
    service_desk: ServiceDesk,
    queue: int | str,
    *,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def queue_issues(
    service_desk: ServiceDesk, queue: int | str, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def queue_issues(
    service_desk: ServiceDesk, queue: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def queue_issues(
    service_desk: ServiceDesk, queue: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """The requests in a queue, as Jira issues with the queue's fields.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    queue : int or str
        The queue's id (see :func:`queues`).

    Returns
    -------
    pandas.DataFrame
        One row per issue, in the queue's order, with the columns that
        :func:`jql` gives for the fields the queue shows:

        - ``issue_id`` (string)
        - ``issue_key`` (string)
    """
    queue_id = _required_id(queue, "queue", "5 (see jsm_nb.queues())")
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/queue/{queue_id}/issue"
    return _listing(frames.ISSUES, "Queue issues", path, raw=raw, **options)


@overload
def organizations(
    service_desk: ServiceDesk | None = None,
    *,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """Customer organisations: all of them, or those of one service desk.

    Parameters
    ----------
    service_desk : int or str, optional
        The service desk's id or project key.

    Returns
    -------
    pandas.DataFrame
        One row per organisation:

        - ``organization_id`` (string)
        - ``name`` (string)
        - ``uuid`` (string)
        - ``scim_managed`` (boolean)
        - ``created`` (datetime64[ms, UTC])
    """
    desk = "" if service_desk is None else f"/servicedesk/{_desk(service_desk, options)}"
    path = f"{JSM}{desk}/organization"
    return _listing(frames.ORGANIZATIONS, "Organisations", path, raw=raw, **options)


@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """A service desk's customers (an experimental JSM endpoint).

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    query : str, optional
        Only customers whose name or email address matches.

    Returns
    -------
    pandas.DataFrame
        One row per customer:

        - ``account_id`` (string)
        - ``display_name`` (string)
        - ``email_address`` (string)
        - ``active`` (boolean)
        - ``time_zone`` (string)
    """
    params = {"query": query}
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/customer"
    return _listing(
        frames.CUSTOMERS, "Customers", path, params, experimental=True, raw=raw, **options
    )


@overload
def feedback(
    keys: Keys, *, raw: Literal[False] = False, **options: Unpack[PerRequest]
) -> pd.DataFrame: ...
@overload
def feedback(keys: Keys, *, raw: Literal[True], **options: Unpack[PerRequest]) -> Records: ...
@overload
def feedback(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result: ...
def feedback(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result:
    """The customers' satisfaction (CSAT) answers to requests (an experimental JSM endpoint).

    The same ratings as the ``Satisfaction`` field of :func:`jql`, one request per key;
    for a whole project, ``jql(..., fields=[..., "Satisfaction"])`` takes a few requests.

    Parameters
    ----------
    keys : str or iterable of str
        One request key or many.

    Returns
    -------
    pandas.DataFrame
        One row per request:

        - ``issue_key`` (string)
        - ``rating`` (Int64): 1 to 5; missing when the customer has not answered
        - ``comment`` (string): the customer's comment, if any
    """
    path = _request_path("feedback")
    return _per_key_objects(
        frames.FEEDBACK, "Feedback", path, keys, experimental=True, raw=raw, **options
    )


@overload
def participants(
    keys: Keys, *, raw: Literal[False] = False, **options: Unpack[PerRequest]
) -> pd.DataFrame: ...
@overload
def participants(keys: Keys, *, raw: Literal[True], **options: Unpack[PerRequest]) -> Records: ...
@overload
def participants(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result: ...
def participants(keys: Keys, *, raw: bool = False, **options: Unpack[PerRequest]) -> Result:
    """The participants of requests: the people they are shared with.

    Parameters
    ----------
    keys : str or iterable of str
        One request key or many.

    Returns
    -------
    pandas.DataFrame
        One row per participant of each request:

        - ``issue_key`` (string)
        - ``account_id`` (string)
        - ``display_name`` (string)
        - ``email_address`` (string): missing when hidden
        - ``active`` (boolean)
        - ``time_zone`` (string)
    """
    path = _request_path("participant")
    return _listing(frames.PARTICIPANTS, "Participants", path, keys=keys, raw=raw, **options)


@overload
def request_type_fields(
    service_desk: ServiceDesk,
    request_type: int | str,
    *,
    raw: Literal[False] = False,
    **options: Unpack[Single],
) -> pd.DataFrame: ...
@overload
def request_type_fields(
    service_desk: ServiceDesk,
    request_type: int | str,
    *,
    raw: Literal[True],
    **options: Unpack[Single],
) -> Records: ...
@overload
def request_type_fields(
    service_desk: ServiceDesk,
    request_type: int | str,
    *,
    raw: bool = False,
    **options: Unpack[Single],
) -> Result: ...
def request_type_fields(
    service_desk: ServiceDesk,
    request_type: int | str,
    *,
    raw: bool = False,
    **options: Unpack[Single],
) -> Result:
    """The fields a request type's portal form asks for.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    request_type : int or str
        The request type's id (see :func:`request_types`).

    Returns
    -------
    pandas.DataFrame
        One row per field, in the form's order (``raw=True`` gives Atlassian's one
        record, with ``canRaiseOnBehalfOf`` and ``canAddRequestParticipants``):

        - ``field_id`` (string): such as ``summary`` or ``customfield_10050``
        - ``name`` (string): the form's label
        - ``description`` (string)
        - ``required`` (boolean)
        - ``visible`` (boolean)
        - ``schema_type`` (string): such as ``string`` or ``option``
        - ``items`` (string): for lists, what they hold
        - ``system`` (string): a system field's name
        - ``custom_type`` (string): a custom field's plugin key
        - ``valid_values`` (object): Atlassian's list of ``{"value", "label", "children"}``
        - ``default_values`` (object): the same, for the defaults
    """
    type_id = _required_id(request_type, "request_type", "12 (see jsm_nb.request_types())")
    raw = _bool(raw, "raw")  # checked before a project key's lookup
    found: Options = {"session": options.get("session")}
    path = f"{JSM}/servicedesk/{_desk(service_desk, found)}/requesttype/{type_id}/field"
    return _object(frames.REQUEST_TYPE_FIELDS, path, session=found["session"], raw=raw)


@overload
def request_type_groups(
    service_desk: ServiceDesk, *, raw: Literal[False] = False, **options: Unpack[Options]
) -> pd.DataFrame: ...
@overload
def request_type_groups(
    service_desk: ServiceDesk, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def request_type_groups(
    service_desk: ServiceDesk, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def request_type_groups(
    service_desk: ServiceDesk, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """A service desk's request type groups: the portal's sections.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.

    Returns
    -------
    pandas.DataFrame
        One row per group (:func:`request_types` gives each type's ``group_ids``):

        - ``group_id`` (string)
        - ``name`` (string)
    """
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/requesttypegroup"
    return _listing(frames.REQUEST_TYPE_GROUPS, "Request type groups", path, raw=raw, **options)


@overload
def articles(
    query: str,
    service_desk: ServiceDesk | None = None,
    *,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def articles(
    query: str,
    service_desk: ServiceDesk | None = None,
    *,
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def articles(
    query: str,
    service_desk: ServiceDesk | None = None,
    *,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def articles(
    query: str,
    service_desk: ServiceDesk | None = None,
    *,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """Knowledge base articles found by a search: of every service desk, or of one.

    Parameters
    ----------
    query : str
        The words to search for (Atlassian requires them), such as ``"password"``.
    service_desk : int or str, optional
        Only this service desk's knowledge base (id or project key).

    Returns
    -------
    pandas.DataFrame
        One row per article, in Atlassian's order:

        - ``title`` (string)
        - ``excerpt`` (string): the part that matches
        - ``source_type`` (string): ``confluence``
        - ``page_id`` (string): the Confluence page's id
        - ``space_key`` (string): its Confluence space
        - ``iframe_src`` (string): the URL of the article's body
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgument(
            f"query must be the words to search the knowledge base for, such as 'password', "
            f"got {query!r}."
        )
    desk = "" if service_desk is None else f"/servicedesk/{_desk(service_desk, options)}"
    path = f"{JSM}{desk}/knowledgebase/article"
    params = {"query": query}
    return _listing(frames.ARTICLES, "Articles", path, params, raw=raw, **options)


@overload
def queue(
    service_desk: ServiceDesk,
    queue_id: int | str,
    *,
    include_count: bool = True,
    raw: Literal[False] = False,
    **options: Unpack[Single],
) -> pd.DataFrame: ...
@overload
def queue(
    service_desk: ServiceDesk,
    queue_id: int | str,
    *,
    include_count: bool = True,
    raw: Literal[True],
    **options: Unpack[Single],
) -> Records: ...
@overload
def queue(
    service_desk: ServiceDesk,
    queue_id: int | str,
    *,
    include_count: bool = True,
    raw: bool = False,
    **options: Unpack[Single],
) -> Result: ...
def queue(
    service_desk: ServiceDesk,
    queue_id: int | str,
    *,
    include_count: bool = True,
    raw: bool = False,
    **options: Unpack[Single],
) -> Result:
    """One queue of a service desk.

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    queue_id : int or str
        The queue's id (see :func:`queues`).
    include_count : bool
        Ask for the queue's number of requests.

    Returns
    -------
    pandas.DataFrame
        One row, as :func:`queues` gives it:

        - ``queue_id`` (string)
        - ``name`` (string)
        - ``jql`` (string): the queue's filter
        - ``fields`` (object): the list of field ids the queue shows
        - ``issue_count`` (Int64): missing unless ``include_count``
    """
    wanted = _required_id(queue_id, "queue_id", "5 (see jsm_nb.queues())")
    params = {"includeCount": _flag(include_count, "include_count")}
    raw = _bool(raw, "raw")  # checked before a project key's lookup
    found: Options = {"session": options.get("session")}
    path = f"{JSM}/servicedesk/{_desk(service_desk, found)}/queue/{wanted}"
    return _object(frames.QUEUES, path, params, session=found["session"], raw=raw)


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
    return _object(frames.INFO, f"{JSM}/info", session=options.get("session"), raw=raw)


@overload
def organization_users(
    organization: int | str, *, raw: Literal[False] = False, **options: Unpack[Options]
) -> pd.DataFrame: ...
@overload
def organization_users(
    organization: int | str, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def organization_users(
    organization: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def organization_users(
    organization: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """The members of a customer organisation.

    Parameters
    ----------
    organization : int or str
        The organisation's id (see :func:`organizations`).

    Returns
    -------
    pandas.DataFrame
        One row per member:

        - ``account_id`` (string)
        - ``display_name`` (string)
        - ``email_address`` (string): missing when hidden
        - ``active`` (boolean)
        - ``time_zone`` (string)
    """
    wanted = _required_id(organization, "organization", "3 (see jsm_nb.organizations())")
    path = f"{JSM}/organization/{wanted}/user"
    return _listing(frames.ORGANIZATION_USERS, "Organisation members", path, raw=raw, **options)


@overload
def jql(
    query: str,
    *,
    fields: str | Sequence[str] = DEFAULT_JQL_FIELDS,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def jql(
    query: str,
    *,
    fields: str | Sequence[str] = DEFAULT_JQL_FIELDS,
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def jql(
    query: str,
    *,
    fields: str | Sequence[str] = DEFAULT_JQL_FIELDS,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def jql(
    query: str,
    *,
    fields: str | Sequence[str] = DEFAULT_JQL_FIELDS,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """Issues found by a JQL search (``/rest/api/3/search/jql``, paged by its cursor).

    The search's approximate count is asked for first (one request): the progress
    bar's total. A large search (more than :data:`windows.PARALLEL_PAGES` pages) with
    ``concurrency`` above 1, no ``max_rows`` and no ORDER BY, or ORDER BY ``id``
    alone, is split into disjoint windows of issue ids fetched ``concurrency`` at a
    time (:mod:`jsm_nb.windows`): its issues then come in id order (descending with
    ``ORDER BY id DESC``), each once. A JQL ordered by anything else is fetched page
    after page, in its order.

    Parameters
    ----------
    query : str
        The JQL, such as ``"project = ITH AND created >= -30d ORDER BY created"``.
    fields : str or sequence of str
        The fields to fetch (at least one), by id (``customfield_10021``) or by
        name (``"Time to resolution"``, any case; see :func:`fields`); each
        becomes one or more columns.

    Returns
    -------
    pandas.DataFrame
        One row per issue: ``issue_id`` and ``issue_key``, then the fields'
        columns (other fields get a column named by their id):

        - ``issue_id`` (string)
        - ``issue_key`` (string)
        - ``summary`` (string)
        - ``status`` (string)
        - ``status_category`` (string): ``new``, ``indeterminate`` or ``done``
        - ``issue_type`` (string)
        - ``priority`` (string)
        - ``reporter_account_id`` (string)
        - ``reporter_display_name`` (string)
        - ``assignee_account_id`` (string)
        - ``assignee_display_name`` (string)
        - ``created`` (datetime64[ms, UTC])
        - ``updated`` (datetime64[ms, UTC])
        - ``resolution_date`` (datetime64[ms, UTC])

        Fields ``resolution``, ``project`` and ``creator`` give ``resolution``,
        ``project_key`` and ``creator_account_id``/``creator_display_name``;
        ``duedate`` gives ``due_date``. Custom fields' columns are named from
        the field's name in snake_case and typed by its schema
        (:func:`jsm_nb.frames.schema_columns`): ``Request Type`` gives
        ``request_type_id`` and ``request_type``, ``Satisfaction`` gives
        ``satisfaction`` (Int64) and ``satisfaction_comment``, ``Organizations``
        a list of names, ``Request participants`` a list of account ids.

        ``fields="key"`` (or ``"id"``, or both) gives only ``issue_id`` and
        ``issue_key``, 5,000 issues a page: the keys of a whole project, for the
        per-request helpers, in a request or two.
    """
    query = jql_text(query, "query")
    wanted = texts(fields, "fields", "field ids such as 'summary'", empty=False)
    session = options["session"] = _session_for_search(raw, options)
    spec = frames.ISSUES
    known = spec.known_fields
    if any(f not in known and f not in catalogue.IDENTITY for f in wanted):
        found = catalogue.catalogue(session)
        wanted = catalogue.resolve(wanted, found)
        many = any(f in catalogue.SELECTORS for f in wanted)
        named = [f.field_id for f in found.fields] if many else wanted
        extra = catalogue.known_columns(named, found, known)
        spec = dataclasses.replace(spec, known_fields={**known, **extra})
    params = {"jql": query, "fields": ",".join(wanted)}
    keys_only = all(f in catalogue.IDENTITY for f in wanted)
    return _listing(
        spec,
        "Issues found by JQL",
        SEARCH,
        params,
        cursor=True,
        limit=catalogue.KEY_PAGE if keys_only else paging.DEFAULT_LIMIT,
        fields=[f for f in wanted if f not in (*catalogue.SELECTORS, *catalogue.IDENTITY)],
        raw=raw,
        count=query,
        **options,
    )


def _session_for_search(raw: object, options: Options) -> JsmSession:
    """The session of a search that may need the field catalogue, its options checked first.

    The catalogue is a request of its own, so the options of the search that follows
    are checked before it is sent.
    """
    paging.check_options(
        concurrency=options.get("concurrency", paging.DEFAULT_CONCURRENCY),
        max_rows=options.get("max_rows"),
    )
    _bool(raw, "raw")
    if options.get("progress") is not None:
        _bool(options.get("progress"), "progress")
    return resolve_session(options.get("session"))


def jql_text(query: object, name: str) -> str:
    """``query`` if it is a JQL search; :class:`InvalidArgument` if it is not."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidArgument(
            f"{name} must be a JQL search such as 'project = ITH ORDER BY created', got {query!r}."
        )
    return query


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
    raw = _bool(raw, "raw")
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
    return _listing(
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
