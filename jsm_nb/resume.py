"""Fetches that a rate limit (or a failure) interrupted, kept so that the same call resumes.

A helper stopped by :class:`~jsm_nb.errors.RateLimited` must not lose what it
fetched. The pagination engine (:func:`jsm_nb.paging.collect`) therefore saves a
:class:`Partial` here when a fetch stops with an :class:`~jsm_nb.errors.ApiError`
(a spent quota, a long ``Retry-After``, the network gone) or a
``KeyboardInterrupt`` after some records were delivered: what holds them (the
records, or the helper's :class:`~jsm_nb.frames.FrameBuilder`), how many, and
where the listing goes on (:class:`Offset`, :class:`Cursor` or :class:`KeysDone`).
The same call made again takes it and goes on from there: no row is fetched twice,
none is lost. A fetch that ends takes its partial away.

A partial is keyed by the session object and everything that makes the call what it
is (:func:`key`): path, parameters, keys, page style, page size, ``max_rows`` and
the kind of holder. Another login is another session, and never sees it; closing a
session (signing out, in, or choosing another site) drops its partials. At most
:data:`MAX_PARTIALS` are kept, the oldest dropped first. They live in the process
(:attr:`jsm_nb.context.Context.partials`), never on disk.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from .cost import Cost

__all__ = ["MAX_PARTIALS", "Cursor", "KeysDone", "Offset", "Partial", "Partials", "Position", "key"]

#: Interrupted fetches kept at most, per process.
MAX_PARTIALS = 16


@dataclasses.dataclass(frozen=True)
class Offset:
    """A JSM listing goes on at row ``start``, in pages of ``step`` rows (the server's cap)."""

    start: int
    step: int


@dataclasses.dataclass(frozen=True)
class Cursor:
    """A Jira listing goes on with the page of ``token`` (``nextPageToken``)."""

    token: str


@dataclasses.dataclass(frozen=True)
class KeysDone:
    """A per-key listing goes on with the key after the first ``done``."""

    done: int


Position = Offset | Cursor | KeysDone


@dataclasses.dataclass(frozen=True)
class Partial:
    """What an interrupted fetch had: its holder of records, and where it goes on.

    Attributes
    ----------
    sink : object
        What holds the records delivered so far (a list, a frame builder).
    rows, steps : int
        The records delivered, and the pages (or keys) they came in.
    position : Offset, Cursor or KeysDone
        Where the listing goes on.
    cost : Cost
        What the interrupted calls cost, counted again when the fetch ends.
    """

    sink: Any
    rows: int
    steps: int
    position: Position
    cost: Cost


def _frozen(value: Any) -> Hashable:
    """``value`` (parameters: strings, numbers, lists, mappings) as a hashable value."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value if isinstance(value, Hashable) else repr(value)


def key(
    session: object,
    path: str,
    params: Mapping[str, Any],
    *,
    keys: Sequence[str] | None,
    style: str,
    limit: int,
    max_rows: int | None,
    kind: Hashable,
) -> tuple[Hashable, ...]:
    """What makes a fetch the same call: the session (its app, site and login) and the rest."""
    frozen_keys = None if keys is None else tuple(keys)
    return (session, path, _frozen(params), frozen_keys, style, limit, max_rows, kind)


class Partials:
    """The interrupted fetches of this process; thread safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: collections.OrderedDict[tuple[Hashable, ...], Partial] = (
            collections.OrderedDict()
        )

    def __repr__(self) -> str:
        return f"<Partials {len(self)} kept>"

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def kept(self, session: object) -> int:
        """How many interrupted fetches of ``session`` are kept."""
        with self._lock:
            return sum(1 for k in self._kept if k[0] is session)

    def take(self, found: tuple[Hashable, ...]) -> Partial | None:
        """The partial of the call ``found``, removed from the store; ``None`` if none."""
        with self._lock:
            return self._kept.pop(found, None)

    def save(self, found: tuple[Hashable, ...], partial: Partial) -> None:
        """Keep ``partial`` for the call ``found``, dropping the oldest beyond the cap."""
        with self._lock:
            self._kept[found] = partial
            self._kept.move_to_end(found)
            while len(self._kept) > MAX_PARTIALS:
                self._kept.popitem(last=False)

    def forget(self, session: object) -> None:
        """Drop the partials of ``session`` (it is being closed)."""
        with self._lock:
            for found in [k for k in self._kept if k[0] is session]:
                del self._kept[found]

    def clear(self) -> None:
        """Drop every partial."""
        with self._lock:
            self._kept.clear()
