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

from .customer_requests import (
    approvals,
    comments,
    customer_requests,
    feedback,
    participants,
    request_status_history,
    sla,
)
from .desks import (
    articles,
    queue,
    queue_issues,
    queues,
    request_type_fields,
    request_type_groups,
    request_types,
    service_desks,
)
from .people import customers, organization_users, organizations
from .reads import Options, PerRequest, Records, Single
from .search import DEFAULT_JQL_FIELDS, jql
from .site import fields, frame, info, me, sites

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
