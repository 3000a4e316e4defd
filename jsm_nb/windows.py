"""A JQL search's size, and its split into disjoint windows of issue ids.

:func:`approximate_count` asks Jira how many issues a JQL matches
(``POST /rest/api/3/search/approximate-count``, one cheap request): the total of the
search's progress bar, and the measure by which a large search is split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ApiError

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = ["COUNT", "approximate_count"]

COUNT = "/rest/api/3/search/approximate-count"


def approximate_count(session: JsmSession, jql: str) -> int:
    """About how many issues ``jql`` matches (Jira's estimate; recent changes may be missing).

    Parameters
    ----------
    session : JsmSession
        The signed-in session.
    jql : str
        A bounded JQL search.

    Returns
    -------
    int
        The estimate, at least 0.

    Raises
    ------
    ApiError
        The count was refused (bad JQL: Jira's message says why), or the answer is
        not Jira's count.
    """
    response = session.post(COUNT, json={"jql": jql})
    if not response.ok:
        raise ApiError.from_response(response)
    try:
        count = response.json().get("count")
    except (ValueError, AttributeError):
        count = None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ApiError(
            response.status_code, "the answer is not Jira's approximate count", "POST", COUNT
        )
    return count
