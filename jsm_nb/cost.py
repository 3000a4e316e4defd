"""What a fetch cost: requests, Atlassian's points (estimated), retries, seconds waited."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from .endpoints import endpoint

__all__ = ["IDENTITY_SEGMENTS", "READ_POSTS", "Cost", "estimate_points", "objects_of"]


@dataclasses.dataclass(frozen=True)
class Cost:
    """What a fetch cost: requests, estimated points, retries, seconds waited.

    A plain value (safe in ``DataFrame.attrs``); ``a.add(b)`` (or ``a + b``) is their sum.
    """

    requests: int = 0
    points: int = 0
    retries: int = 0
    waited: float = 0.0

    def add(self, other: Cost) -> Cost:
        """The sum of this cost and ``other``."""
        return Cost(
            self.requests + other.requests,
            self.points + other.points,
            self.retries + other.retries,
            self.waited + other.waited,
        )

    __add__ = add


#: Methods that cost 1 point flat (Atlassian: writes cost 1)...
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: ... except these POST endpoints, which read (their cost as reads is an inference).
READ_POSTS = frozenset(
    {
        "/rest/api/3/search/jql",
        "/rest/api/3/search/approximate-count",
        "/rest/api/3/issue/bulkfetch",
        "/rest/api/3/changelog/bulkfetch",
    }
)
#: Endpoints whose records are identity objects (2 points each), by the last literal segment of
#: their template: users, customers, organisation members, participants, groups, roles,
#: permissions. Every other record counts as a core object (1 point).
IDENTITY_SEGMENTS = frozenset(
    {
        "user",
        "users",
        "customer",
        "participant",
        "member",
        "members",
        "myself",
        "group",
        "groups",
        "role",
        "roles",
        "permissions",
        "mypermissions",
    }
)
#: Trailing segments that name an action on the collection before them (``/user/search``).
_ACTIONS = frozenset({"search", "bulk", "picker", "query"})


def objects_of(path: str) -> Literal["core", "identity"]:
    """Whether an endpoint's records are core or identity objects (see :func:`estimate_points`)."""
    literals = [s for s in endpoint(path).split("/") if s and not s.startswith("{")]
    while len(literals) > 1 and literals[-1] in _ACTIONS:
        literals.pop()
    return "identity" if literals and literals[-1] in IDENTITY_SEGMENTS else "core"


def estimate_points(method: str, path: str, records: Sequence[Any] | None) -> int:
    """The points an answer cost, by Atlassian's formula.

    Atlassian: 1 point per request, plus 1 per core object (issues, projects,
    attachments; any object not listed counts 1), plus 2 per identity object
    (users, groups, project roles, permissions); a write (POST, PUT, PATCH,
    DELETE) costs 1 flat. ``GET /rest/api/3/issue/ABC-123`` is 2; a page of 8
    group members, 17.

    Inferred, as Atlassian publishes no per-endpoint table: a page costs 1 plus
    its records (a search page of N issues about 1 + N); requests, comments, SLA
    records, attachments, approvals, queues, organisations are core objects;
    customers, organisation members, request participants (and users, groups,
    roles, permissions) are identity objects, recognised by the endpoint's last
    segment (:data:`IDENTITY_SEGMENTS`); objects nested in a record are not
    counted; the POST endpoints that read (:data:`READ_POSTS`) cost as reads.

    Parameters
    ----------
    method, path : str
        The request's method and path.
    records : sequence, optional
        The objects the answer held: a page's values, or ``[body]`` for one object.
    """
    method = method.upper()
    if method in WRITE_METHODS and not (method == "POST" and endpoint(path) in READ_POSTS):
        return 1
    each = 2 if objects_of(path) == "identity" else 1
    return 1 + each * len(records or ())
