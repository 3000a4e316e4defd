"""Helpers over Jira's search (``/rest/api/3/search/jql``): issues, and SLA cycles found by JQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, overload

import pandas as pd

from .. import catalogue, frames, paging
from ..arguments import (
    choice,
    jql_text,
    texts,
)
from .reads import (
    MISSING,
    Options,
    PerRequest,
    Records,
    Result,
    listing,
    session_before_lookup,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack


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

__all__ = ["DEFAULT_JQL_FIELDS", "SEARCH", "jql", "sla_by_jql"]

# Each helper has three overloads: raw=False (the default) gives a DataFrame,
# raw=True the Records, and a raw known only as a bool either.


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
    session = session_before_lookup(options, raw)
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
    return listing(
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


def sla_by_jql(jql: object, raw: bool, options: PerRequest) -> Result:
    """:func:`jsm_nb.sla` of the requests a JQL search finds, from the search's pages.

    JSM's SLA fields (``com.atlassian.servicedesk:sd-sla-field``, from the site's field
    catalogue) are fetched with the issues, 100 a page, and unfolded into the rows that
    ``sla(keys)`` gives.
    """
    query = jql_text(jql, "jql")
    choice(MISSING, options.get("missing", "raise"), "missing")
    session = session_before_lookup(options, raw)
    ids = [
        f.field_id
        for f in catalogue.catalogue(session).fields
        if f.custom_type == catalogue.SLA_FIELD
    ]
    params = {"jql": query, "fields": ",".join(["key", *ids])}
    spec = frames.sla_of_issues(ids)
    result = listing(
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
