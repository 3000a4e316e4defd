"""What a fetch cost: requests, Atlassian's points (estimated), retries, seconds waited.

:func:`metered` opens a :class:`Meter` for a block of code: every request the
session sends in it (in any thread the block's fetch starts, see
:func:`jsm_nb.paging.ordered_map`) is counted on it and on the meters around it.
A meter also says how its requests wait for a spent quota (``wait``, ``countdown``).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal

from .endpoints import endpoint

__all__ = [
    "IDENTITY_SEGMENTS",
    "READ_POSTS",
    "Cancelled",
    "Cost",
    "Meter",
    "context_with",
    "current",
    "estimate_points",
    "metered",
    "objects_of",
    "records_of",
]


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

    def as_attrs(self) -> dict[str, float]:
        """The cost as ``DataFrame.attrs["jsm_nb"]`` holds it (plain numbers)."""
        return {
            "requests": self.requests,
            "points": self.points,
            "retries": self.retries,
            "waits": round(self.waited, 3),
        }


Countdown = Callable[[float], None]


class Cancelled(Exception):
    """The fetch a wait belongs to has stopped (failed, or interrupted): stop waiting."""


class Meter:
    """What the requests of a block cost, and how they wait; thread safe.

    Use :func:`metered` to open one. Counts go to this meter and to every meter
    around it (its ``parent``).

    Parameters
    ----------
    parent : Meter, optional
        The meter around this one.
    wait : bool, optional
        Sleep until a spent quota resets instead of raising
        :class:`~jsm_nb.errors.RateLimited`; ``None`` takes the parent's (else ``False``).
    countdown : callable, optional
        Called with the seconds left while a stop is waited out; ``None`` takes the
        parent's.

    Attributes
    ----------
    throttle_waits : list of float
        The wait before each retry after an answer (a 429, a 502-504): ``Retry-After``
        or the backoff.
    """

    def __init__(
        self,
        parent: Meter | None = None,
        *,
        wait: bool | None = None,
        countdown: Countdown | None = None,
    ) -> None:
        self.parent = parent
        self._wait = wait
        self._countdown = countdown
        self._lock = threading.Lock()
        self._cost = Cost()
        self._cancelled = False
        self.throttle_waits: list[float] = []

    def __repr__(self) -> str:
        return f"<Meter {self.cost()}>"

    @property
    def wait(self) -> bool:
        """Whether a long stop is slept through rather than raised."""
        if self._wait is not None:
            return self._wait
        return self.parent.wait if self.parent is not None else False

    @property
    def countdown(self) -> Countdown | None:
        """What is told the seconds left while a stop is waited out, if anything."""
        if self._countdown is not None:
            return self._countdown
        return self.parent.countdown if self.parent is not None else None

    @countdown.setter
    def countdown(self, countdown: Countdown | None) -> None:
        self._countdown = countdown

    def cancel(self) -> None:
        """The block has stopped: waits still going on in its threads end at their next
        :meth:`tick` (within a second), raising :class:`Cancelled`."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        """Whether this meter, or one around it, was cancelled."""
        return self._cancelled or (self.parent is not None and self.parent.cancelled)

    def tick(self, left: float) -> None:
        """A stop is being waited out, ``left`` seconds more: tell the countdown.

        Raises
        ------
        Cancelled
            The block has stopped meanwhile.
        """
        if self.cancelled:
            raise Cancelled("the fetch this wait belongs to has stopped")
        countdown = self.countdown
        if countdown is not None:
            countdown(left)

    def cost(self) -> Cost:
        """What was counted so far."""
        with self._lock:
            return self._cost

    def add(self, cost: Cost, throttle_wait: float | None = None) -> None:
        """Count ``cost`` here and in every meter around this one."""
        meter: Meter | None = self
        while meter is not None:
            with meter._lock:
                meter._cost = meter._cost + cost
                if throttle_wait is not None:
                    meter.throttle_waits.append(throttle_wait)
            meter = meter.parent


_CURRENT: contextvars.ContextVar[Meter | None] = contextvars.ContextVar(
    "jsm_nb_meter", default=None
)


def current() -> Meter | None:
    """The innermost meter open in this context, if any."""
    return _CURRENT.get()


def context_with(meter: Meter) -> contextvars.Context:
    """A copy of this context whose current meter is ``meter``: where a task that another
    thread runs for this one counts its requests (``context.run(task)``)."""
    context = contextvars.copy_context()
    context.run(_CURRENT.set, meter)
    return context


@contextlib.contextmanager
def metered(*, wait: bool | None = None, countdown: Countdown | None = None) -> Iterator[Meter]:
    """Count the cost of the requests sent in the ``with`` block on a new :class:`Meter`.

    Parameters
    ----------
    wait, countdown
        As for :class:`Meter`.

    Examples
    --------
    >>> with metered() as meter:  # doctest: +SKIP
    ...     session.get("/rest/servicedeskapi/servicedesk")
    >>> meter.cost().requests  # doctest: +SKIP
    1
    """
    meter = Meter(_CURRENT.get(), wait=wait, countdown=countdown)
    token = _CURRENT.set(meter)
    try:
        yield meter
    finally:
        _CURRENT.reset(token)


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


def records_of(body: Any) -> list[Any]:
    """The objects a JSON answer returns, for :func:`estimate_points`: a JSM page's
    ``values``, a search's ``issues``, a list's items, else the object itself."""
    if isinstance(body, list):
        return body
    if not isinstance(body, dict):
        return []
    for key in ("values", "issues"):
        if isinstance(body.get(key), list):
            found: list[Any] = body[key]
            return found
    return [body]
