"""The JSM and Jira REST endpoints of the sandbox, answering from :mod:`jsm_nb.sandbox.data`.

The API server hands every call under ``/ex/jira/{cloudid}`` to :func:`dispatch`, after
checking the token against :func:`required_scopes`. Answers take the shapes of Atlassian's
JSM OpenAPI spec and follow Atlassian's paging habits:

- JSM lists page by ``start``/``limit`` with ``isLastPage`` and no total. ``limit`` defaults
  to 50 and each endpoint silently caps it at its own maximum, the ``cap`` column of the
  route table in :mod:`.routes` (the one table of them). ``_links`` point at the site's
  own URL.
- Jira's enhanced search (``/rest/api/3/search/jql``) pages by an opaque ``nextPageToken``
  with ``isLast`` and no total; ``maxResults`` is capped at :data:`SEARCH_CAP_IDS` when
  only ids or keys are asked for and at :data:`SEARCH_CAP_FIELDS` otherwise, as Jira's
  documentation describes (up to 5,000 for ids, fewer with fields).
- Errors carry Atlassian's bodies: JSM's ``{"errorMessage", "i18nErrorMessage"}`` and
  Jira's ``{"errorMessages", "errors"}``; experimental endpoints answer 412 without the
  ``X-ExperimentalApi: opt-in`` header.

The sandbox has no attachments: ``attachment`` expansions are ignored.

The modules, one job each: :mod:`.calls` (the call, its rows and refusals), :mod:`.paging`
(JSM's pages), :mod:`.dates` (times on the wire), :mod:`.shapes` (JSM's DTOs),
:mod:`.issues` (Jira's issue beans), :mod:`.jql` (the JQL subset), :mod:`.search` (Jira's
search), :mod:`.listing` (``/request`` and its filters) and :mod:`.routes` (the other
handlers, the route table and :func:`dispatch`).
"""

from .calls import memo
from .paging import DEFAULT_LIMIT
from .routes import dispatch, required_scopes
from .search import SEARCH_CAP_FIELDS, SEARCH_CAP_IDS
from .shapes import user_dto

__all__ = [
    "DEFAULT_LIMIT",
    "SEARCH_CAP_FIELDS",
    "SEARCH_CAP_IDS",
    "dispatch",
    "forget_versions",
    "required_scopes",
]


def forget_versions() -> None:
    """Empty the caches keyed by a site's version, so replaced versions can be freed.

    Called when a change replaces a version (:mod:`..churn`); the other versions' cached
    listings are computed again on their next use.
    """
    memo.cache_clear()
    user_dto.cache_clear()
