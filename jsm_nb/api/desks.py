"""Helpers about service desks: the desks, request types and their forms, queues, articles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import pandas as pd

from .. import frames
from ..arguments import (
    as_bool,
    flag,
    required_id,
)
from ..errors import InvalidArgument
from .reads import (
    JSM,
    Options,
    Records,
    Result,
    ServiceDesk,
    Single,
    desk_id,
    listing,
    one_object,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack


__all__ = [
    "articles",
    "queue",
    "queue_issues",
    "queues",
    "request_type_fields",
    "request_type_groups",
    "request_types",
    "service_desks",
]

# Each helper has three overloads: raw=False (the default) gives a DataFrame,
# raw=True the Records, and a raw known only as a bool either.


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
    return listing(frames.SERVICE_DESKS, "Service desks", path, raw=raw, **options)


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
    path = f"{JSM}/servicedesk/{desk_id(service_desk, options)}/requesttype"
    return listing(frames.REQUEST_TYPES, "Request types", path, raw=raw, **options)


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
    type_id = required_id(request_type, "request_type", "12 (see jsm_nb.request_types())")
    raw = as_bool(raw, "raw")  # checked before a project key's lookup
    found: Options = {"session": options.get("session")}
    path = f"{JSM}/servicedesk/{desk_id(service_desk, found)}/requesttype/{type_id}/field"
    return one_object(frames.REQUEST_TYPE_FIELDS, path, session=found["session"], raw=raw)


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
    path = f"{JSM}/servicedesk/{desk_id(service_desk, options)}/requesttypegroup"
    return listing(frames.REQUEST_TYPE_GROUPS, "Request type groups", path, raw=raw, **options)


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
    params = {"includeCount": flag(include_count, "include_count")}
    path = f"{JSM}/servicedesk/{desk_id(service_desk, options)}/queue"
    return listing(frames.QUEUES, "Queues", path, params, raw=raw, **options)


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
    wanted = required_id(queue_id, "queue_id", "5 (see jsm_nb.queues())")
    params = {"includeCount": flag(include_count, "include_count")}
    raw = as_bool(raw, "raw")  # checked before a project key's lookup
    found: Options = {"session": options.get("session")}
    path = f"{JSM}/servicedesk/{desk_id(service_desk, found)}/queue/{wanted}"
    return one_object(frames.QUEUES, path, params, session=found["session"], raw=raw)


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
    queue_id = required_id(queue, "queue", "5 (see jsm_nb.queues())")
    path = f"{JSM}/servicedesk/{desk_id(service_desk, options)}/queue/{queue_id}/issue"
    return listing(frames.ISSUES, "Queue issues", path, raw=raw, **options)


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
    desk = "" if service_desk is None else f"/servicedesk/{desk_id(service_desk, options)}"
    path = f"{JSM}{desk}/knowledgebase/article"
    params = {"query": query}
    return listing(frames.ARTICLES, "Articles", path, params, raw=raw, **options)
