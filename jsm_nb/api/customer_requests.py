"""Helpers about customer requests: the listing, and what each request holds (by key)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, overload

import pandas as pd

from .. import frames
from ..arguments import (
    choice,
    flag,
    optional_id,
    texts,
)
from ..errors import InvalidArgument
from .reads import (
    JSM,
    Keys,
    Options,
    PerRequest,
    Records,
    Result,
    ServiceDesk,
    desk_id,
    listing,
    per_key_objects,
    request_path,
)
from .search import sla_by_jql

if TYPE_CHECKING:
    from typing_extensions import Unpack


_STATUS = {"open": "OPEN_REQUESTS", "closed": "CLOSED_REQUESTS", "all": "ALL_REQUESTS"}
_OWNERSHIP = {
    "owned": "OWNED_REQUESTS",
    "participated": "PARTICIPATED_REQUESTS",
    "organization": "ORGANIZATION",
    "all_organizations": "ALL_ORGANIZATIONS",
    "approver": "APPROVER",
}

__all__ = [
    "approvals",
    "comments",
    "customer_requests",
    "feedback",
    "participants",
    "request_status_history",
    "sla",
]

# Each helper has three overloads: raw=False (the default) gives a DataFrame,
# raw=True the Records, and a raw known only as a bool either.


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
    ownerships = [choice(_OWNERSHIP, o, "ownership") for o in owners]
    if request_type is not None and service_desk is None:
        raise InvalidArgument("request_type needs service_desk too: pass the desk it belongs to.")
    if "ORGANIZATION" in ownerships and organization is None:
        raise InvalidArgument(
            'ownership="organization" needs organization too: pass the organisation\'s id.'
        )
    params = {
        "requestTypeId": optional_id(request_type, "request_type", "12 (jsm_nb.request_types())"),
        "organizationId": optional_id(organization, "organization", "3 (jsm_nb.organizations())"),
        "requestStatus": choice(_STATUS, status, "status"),
        "requestOwnership": ownerships,
        "searchTerm": search,
        "expand": ",".join(texts(expand, "expand", "such as 'sla'")) or None,
        # last: looking a desk up by project key is a request, made once the rest is checked
        "serviceDeskId": None if service_desk is None else desk_id(service_desk, options),
    }
    path = f"{JSM}/request"
    return listing(frames.REQUESTS, "Customer requests", path, params, raw=raw, **options)


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
    path = request_path("status")
    return listing(frames.STATUS_HISTORY, "Status changes", path, keys=keys, raw=raw, **options)


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
        path = request_path("sla")
        return listing(frames.SLA, "SLA cycles", path, keys=keys, raw=raw, **options)
    if keys is not None:
        raise InvalidArgument("sla() takes request keys or jql=, not both: drop one of them.")
    return sla_by_jql(jql, raw, options)


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
    params = {"public": flag(public, "public"), "internal": flag(internal, "internal")}
    path = request_path("comment")
    return listing(frames.COMMENTS, "Comments", path, params, keys=keys, raw=raw, **options)


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
    path = request_path("approval")
    return listing(frames.APPROVALS, "Approvals", path, keys=keys, raw=raw, **options)


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
    path = request_path("feedback")
    return per_key_objects(
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
    path = request_path("participant")
    return listing(frames.PARTICIPANTS, "Participants", path, keys=keys, raw=raw, **options)
