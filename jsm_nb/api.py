"""The analyst's helpers: one call, one typed DataFrame, however many pages it takes.

Each helper is its path, its paging style and its frame (:mod:`jsm_nb.frames`),
run by the one pagination engine (:mod:`jsm_nb.paging`). Every helper takes
these keyword options (:class:`Options`; :func:`me` and :func:`sites`, one
request each, take only ``session`` and ``raw``):

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
    Return the JSON records (a list of dicts) instead of a DataFrame; the
    per-request helpers add the request's key to each as ``issueKey``.
wait : bool
    When Atlassian's quota is spent (or a limit asks for a long wait), sleep
    until it resets, with a countdown, instead of raising
    :class:`~jsm_nb.errors.RateLimited`.

A service desk can be given by id (``1`` or ``"1"``) or project key (``"ITH"``).
Per-request helpers take one request key or many, fetch them concurrently and
return one frame with an ``issue_key`` column. Any failure raises
:class:`~jsm_nb.errors.ApiError`; no helper returns part of an answer. A call
stopped by :class:`~jsm_nb.errors.RateLimited` (or a failure) keeps what it fetched
in the process: the same call made again resumes where it stopped.

Every frame carries what it cost in ``frame.attrs["jsm_nb"]``: ``requests`` sent,
``points`` of Atlassian's quota (estimated by its formula), ``retries`` and
``waits`` (seconds waited for rate limits).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import pandas as pd

from . import cost, frames, paging
from .errors import InvalidArgument

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .sessions import JsmSession

__all__ = [
    "DEFAULT_JQL_FIELDS",
    "Options",
    "approvals",
    "comments",
    "customer_requests",
    "customers",
    "frame",
    "jql",
    "me",
    "organizations",
    "queue_issues",
    "queues",
    "request_status_history",
    "request_types",
    "service_desks",
    "sites",
    "sla",
]

Record = dict[str, Any]
Result = pd.DataFrame | list[Record]
Keys = str | Iterable[str]
ServiceDesk = int | str

JSM = "/rest/servicedeskapi"
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


class Single(TypedDict, total=False):
    """The options of a helper that makes one request."""

    session: JsmSession | None
    raw: bool


class Options(Single, total=False):
    """The options every paged helper takes (see the module's docstring)."""

    concurrency: int
    max_rows: int | None
    progress: bool | None
    wait: bool


def _session(session: JsmSession | None) -> JsmSession:
    if session is not None:
        return session
    from .sessions import session as default_session

    return default_session()


def _listing(
    spec: frames.Spec | None,
    label: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    keys: Keys | None = None,
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
) -> Result:
    """Every record of one paged listing (one per key, given ``keys``), as ``spec``'s frame.

    With ``raw``, the records; with no ``spec``, a frame whose columns follow the
    records (:func:`frames.infer_spec`). A frame of a known ``spec`` is built
    page by page as they arrive, so the pages' JSON is never all held at once.
    ``label`` says what is fetched, for the progress bar ("Comments"; with keys,
    "Comments of 12 requests"): words of ours, never API text. The frame's
    ``attrs["jsm_nb"]`` is what it cost.
    """
    unique = None if keys is None else _unique(keys)
    if unique is not None:
        label = f"{label} of {len(unique):,} request{'' if len(unique) == 1 else 's'}"
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
    }
    opened = _session(session)
    with cost.metered() as spent:
        if raw or spec is None:
            records = paging.fetch(opened, path, params, **options)
        else:
            kind = ("frame", id(spec), tuple(fields))  # specs are constants of frames
            builder = paging.collect(
                opened,
                path,
                params,
                sink=lambda: frames.FrameBuilder(spec, fields),
                kind=kind,
                **options,
            )
    if raw:
        return records
    if spec is None:
        built = frames.to_frame(records, frames.infer_spec(records), fields)
    else:
        built = builder.frame()
    built.attrs["jsm_nb"] = spent.cost().as_attrs()
    return built


def _unique(keys: Keys) -> list[str]:
    """One key or many, each once, in order."""
    return list(dict.fromkeys([keys] if isinstance(keys, str) else keys))


def _request_path(listing: str) -> str:
    return f"{JSM}/request/{{key}}/{listing}"


def _single(spec: frames.Spec, path: str, session: JsmSession | None, raw: bool) -> Result:
    """One unpaged answer of the API host (an object or a list of them), as a frame."""
    opened = _session(session)
    with cost.metered() as spent:
        body = paging.get_json(opened, f"{opened.api_url}{path}")
    records = body if isinstance(body, list) else [body]
    if raw:
        return records
    built = frames.to_frame(records, spec)
    built.attrs["jsm_nb"] = spent.cost().as_attrs()
    return built


def _desk(service_desk: ServiceDesk, options: Options) -> str:
    """The id of a service desk given by id or project key; sets ``options["session"]``."""
    options["session"] = session = _session(options.get("session"))
    wanted = str(service_desk)
    if wanted.isdigit():
        return wanted
    for desk in paging.fetch(session, f"{JSM}/servicedesk", label="Service desks"):
        if str(desk.get("projectKey", "")).upper() == wanted.upper():
            return str(desk["id"])
    raise InvalidArgument(
        f"No service desk has the project key {service_desk!r}; "
        "jsm_nb.service_desks() lists the ones you can see."
    )


def _choice(choices: Mapping[str, str], value: str, name: str) -> str:
    try:
        return choices[value.lower()]
    except KeyError:
        raise InvalidArgument(f"{name} must be one of {sorted(choices)}, got {value!r}") from None


def _flag(value: bool) -> str:
    return "true" if value else "false"


def me(**options: Unpack[Single]) -> Result:
    """The signed-in user's Atlassian profile (``GET /me``).

    Returns
    -------
    pandas.DataFrame
        One row:

        - ``account_id`` (string): the user's Atlassian account id
        - ``account_type`` (string): ``atlassian``, ``app`` or ``customer``
        - ``account_status`` (string): ``active``, ``inactive`` or ``closed``
        - ``name`` (string)
        - ``nickname`` (string)
        - ``email`` (string)
        - ``picture`` (string): the avatar's URL
        - ``zoneinfo`` (string): the user's time zone
        - ``locale`` (string)
        - ``job_title`` (string)
        - ``organization`` (string)
        - ``department`` (string)
        - ``location`` (string)
    """
    return _single(frames.ME, "/me", options.get("session"), options.get("raw", False))


def sites(**options: Unpack[Single]) -> Result:
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
    return _single(frames.SITES, path, options.get("session"), options.get("raw", False))


def service_desks(**options: Unpack[Options]) -> Result:
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
    return _listing(frames.SERVICE_DESKS, "Service desks", f"{JSM}/servicedesk", **options)


def request_types(service_desk: ServiceDesk, **options: Unpack[Options]) -> Result:
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
    desk = _desk(service_desk, options)
    path = f"{JSM}/servicedesk/{desk}/requesttype"
    return _listing(frames.REQUEST_TYPES, "Request types", path, **options)


def customer_requests(
    service_desk: ServiceDesk | None = None,
    *,
    request_type: int | str | None = None,
    organization: int | str | None = None,
    status: str = "all",
    ownership: str | Iterable[str] | None = None,
    search: str | None = None,
    expand: Iterable[str] = (),
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
        Only requests of this request type (needs ``service_desk``).
    organization : int or str, optional
        Only requests shared with this organisation (its id, see :func:`organizations`).
    status : {"all", "open", "closed"}
        Only open or only closed requests.
    ownership : str or iterable of str, optional
        Any of ``"owned"``, ``"participated"``, ``"organization"``,
        ``"all_organizations"`` and ``"approver"``; Atlassian's default is the
        first two and ``"all_organizations"``.
    search : str, optional
        Only requests whose summary matches.
    expand : iterable of str
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
    owners = [ownership] if isinstance(ownership, str) else ownership or ()
    params = {
        "serviceDeskId": None if service_desk is None else _desk(service_desk, options),
        "requestTypeId": request_type,
        "organizationId": organization,
        "requestStatus": _choice(_STATUS, status, "status"),
        "requestOwnership": [_choice(_OWNERSHIP, o, "ownership") for o in owners],
        "searchTerm": search,
        "expand": ",".join(expand) or None,
    }
    return _listing(frames.REQUESTS, "Customer requests", f"{JSM}/request", params, **options)


def request_status_history(keys: Keys, **options: Unpack[Options]) -> Result:
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
    return _listing(frames.STATUS_HISTORY, "Status changes", path, keys=keys, **options)


def sla(keys: Keys, **options: Unpack[Options]) -> Result:
    """The SLA cycles of requests.

    Parameters
    ----------
    keys : str or iterable of str
        One request key or many.

    Returns
    -------
    pandas.DataFrame
        One row per SLA cycle: each SLA's completed cycles, then its ongoing one:

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
    return _listing(frames.SLA, "SLA cycles", _request_path("sla"), keys=keys, **options)


def comments(
    keys: Keys, *, public: bool = True, internal: bool = True, **options: Unpack[Options]
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
    params = {"public": _flag(public), "internal": _flag(internal)}
    path = _request_path("comment")
    return _listing(frames.COMMENTS, "Comments", path, params, keys=keys, **options)


def approvals(keys: Keys, **options: Unpack[Options]) -> Result:
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
    return _listing(frames.APPROVALS, "Approvals", path, keys=keys, **options)


def queues(
    service_desk: ServiceDesk, *, include_count: bool = True, **options: Unpack[Options]
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
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/queue"
    params = {"includeCount": _flag(include_count)}
    return _listing(frames.QUEUES, "Queues", path, params, **options)


def queue_issues(service_desk: ServiceDesk, queue: int | str, **options: Unpack[Options]) -> Result:
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
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/queue/{queue}/issue"
    return _listing(frames.ISSUES, "Queue issues", path, **options)


def organizations(service_desk: ServiceDesk | None = None, **options: Unpack[Options]) -> Result:
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
    return _listing(frames.ORGANIZATIONS, "Organisations", path, **options)


def customers(
    service_desk: ServiceDesk, *, query: str | None = None, **options: Unpack[Options]
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
    path = f"{JSM}/servicedesk/{_desk(service_desk, options)}/customer"
    params = {"query": query}
    return _listing(frames.CUSTOMERS, "Customers", path, params, experimental=True, **options)


def jql(
    query: str, *, fields: Sequence[str] = DEFAULT_JQL_FIELDS, **options: Unpack[Options]
) -> Result:
    """Issues found by a JQL search (``/rest/api/3/search/jql``, paged by its cursor).

    Parameters
    ----------
    query : str
        The JQL, such as ``"project = ITH AND created >= -30d ORDER BY created"``.
    fields : sequence of str
        The fields to fetch; each becomes one or more columns.

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
        ``duedate`` gives ``due_date``.
    """
    params = {"jql": query, "fields": ",".join(fields)}
    path = "/rest/api/3/search/jql"
    return _listing(
        frames.ISSUES, "Issues found by JQL", path, params, cursor=True, fields=fields, **options
    )


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
        or the same without ``/rest/servicedeskapi/``.
    **params
        Query parameters; ``limit`` sets the page size to ask for.

    Returns
    -------
    pandas.DataFrame
        Nested objects flattened into ``parent_child`` snake_case columns; JSM
        dates and durations typed; lists kept as objects. An empty listing
        gives an empty frame with no columns.
    """
    full = path if path.startswith("/") else f"{JSM}/{path}"
    limit = int(params.pop("limit", paging.DEFAULT_LIMIT))
    return _listing(
        None,
        "Records",
        full,
        params,
        limit=limit,
        session=session,
        concurrency=concurrency,
        max_rows=max_rows,
        progress=progress,
        raw=raw,
        wait=wait,
    )
