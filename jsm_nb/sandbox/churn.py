"""The sites' data over time: a version per site, change batches, churn and the search's lag.

:class:`SiteVersions` holds the current :class:`~.data.SiteData` of each site, the seeded
one until a change. :meth:`SiteVersions.change` makes a batch (:mod:`.data.changes`) and
swaps the site's version under a lock, so a request is served from one version, whole.
Each site has its own clock (``SiteData.now``): every batch happens a minute after the one
before, so ``updated`` strictly grows from batch to batch and minute-precision JQL tells
them apart. What a request shows depends on the request alone, never on that clock
(:mod:`.data.details`): a request no batch touched reads the same in every version.

*Churn* (``churn=N``) makes a batch of ``N`` changes, mostly updates, some creates, few
deletes and moves (:func:`.data.changes.mix`), for every minute of wall time since the
sandbox started: lazily, the batches due since the last are made before a request is
served. A *search lag* (``search_lag`` seconds) makes Jira's search and approximate count
see a version only that long after it was made, as Jira's index trails its database;
``/request/{key}`` and the other reads see it at once.

Batches are deterministic from their arguments and seed (the seed defaults to the site's
number of batches so far), so :meth:`SiteVersions.replay` of :meth:`SiteVersions.batches`
rebuilds the same versions: that is how the shared sandbox keeps its changes across a
restart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping

from . import data, jsm
from .data.changes import Batch, Changes, apply, mix

__all__ = ["SiteVersions"]

_CHURN_MINUTE = 60.0  # seconds of wall time per churn batch


class SiteVersions:
    """Every site's current version, its change batches, churn and the search's lag.

    Parameters
    ----------
    seed, requests : int
        Passed to :func:`.data.site_data`: the seed and the number of requests per site.
    poison : bool
        Passed to :func:`.data.site_data` too.
    clock : callable
        Wall time in seconds (the sandbox's ``wall_time``), for churn and the lag.
    churn : int
        Changes per minute of wall time on each site; 0 for none.
    search_lag : float
        Seconds before the search sees a version.
    """

    def __init__(
        self,
        *,
        seed: int,
        requests: int,
        poison: bool,
        clock: Callable[[], float],
        churn: int = 0,
        search_lag: float = 0.0,
    ) -> None:
        if churn < 0 or search_lag < 0:
            raise ValueError(
                f"churn and search_lag must be zero or more, not {churn}, {search_lag}"
            )
        self._seed = seed
        self._requests = requests
        self._poison = poison
        self._clock = clock
        self.churn = churn
        self.search_lag = search_lag
        self._started = clock()
        self._lock = threading.RLock()
        self._current: dict[str, data.SiteData] = {}
        # per site, (wall time made, version) from the newest the search sees, oldest first
        self._made: dict[str, list[tuple[float, data.SiteData]]] = {}
        self._churned: dict[str, int] = {}
        self._batches: list[Batch] = []
        self._history: list[Changes] = []
        self._listeners: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<SiteVersions batches={len(self._batches)} churn={self.churn}>"

    def current(self, cloudid: str) -> data.SiteData:
        """The site's version now, once the churn batches due are made."""
        with self._lock:
            self._churn(cloudid)
            return self._version(cloudid)

    def searched(self, cloudid: str) -> data.SiteData:
        """The version Jira's search sees: the newest made ``search_lag`` seconds ago."""
        with self._lock:
            self._churn(cloudid)
            version = self._version(cloudid)
            made = self._made.get(cloudid)
            if not self.search_lag or not made:
                return version
            horizon = self._clock() - self.search_lag
            return next(v for when, v in reversed(made) if when <= horizon)

    def change(self, cloudid: str, counts: Mapping[str, int], seed: int | None = None) -> Changes:
        """Make one batch of changes on a site, a minute after its last; tell the listeners.

        Parameters
        ----------
        cloudid : str
            The site's cloud id.
        counts : Mapping of str to int
            How many changes of each kind (``updates``, ``creates``, ``deletes``,
            ``moves``, ``resolves``: :mod:`.data.changes`); zero or more, none by default.
        seed : int, optional
            Seed of the batch's choices; the site's number of batches so far by default.

        Returns
        -------
        Changes
            What changed, and when on the site's clock.

        Raises
        ------
        KeyError
            No site has ``cloudid``.
        ValueError
            A count is negative.
        TypeError
            ``counts`` names something else.
        """
        with self._lock:
            self._churn(cloudid)
            chosen = self._version(cloudid).version if seed is None else seed
            batch = Batch(cloudid, chosen, **counts)
            changes = self._apply(batch)
        for listener in self._listeners:
            listener()
        return changes

    def replay(self, batches: Iterable[Batch]) -> None:
        """Make ``batches`` again, in order (those a previous process made)."""
        with self._lock:
            for batch in batches:
                self._apply(batch)

    def batches(self) -> list[Batch]:
        """Every batch made so far, oldest first."""
        with self._lock:
            return list(self._batches)

    def history(self) -> list[Changes]:
        """What every batch made so far changed, oldest first."""
        with self._lock:
            return list(self._history)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every batch (churn's included)."""
        self._listeners.append(listener)

    def _version(self, cloudid: str) -> data.SiteData:
        found = self._current.get(cloudid)
        if found is None:
            found = data.site_data(
                cloudid, seed=self._seed, requests=self._requests, poison=self._poison
            )
            self._current[cloudid] = found
        return found

    def _apply(self, batch: Batch) -> Changes:
        before = self._version(batch.site)
        version, changes = apply(before, batch)
        self._current[batch.site] = version
        made = self._made.setdefault(batch.site, [(float("-inf"), before)])
        made.append((self._clock(), version))
        horizon = self._clock() - self.search_lag
        while len(made) > 1 and made[1][0] <= horizon:
            del made[0]  # a newer version is visible to the search already
        self._batches.append(batch)
        self._history.append(changes)
        jsm.forget_versions()
        return changes

    def _churn(self, cloudid: str) -> None:
        """Make the churn batches due on ``cloudid`` since the last one."""
        if not self.churn:
            return
        due = int((self._clock() - self._started) // _CHURN_MINUTE)
        made = False
        while self._churned.get(cloudid, 0) < due:
            self._churned[cloudid] = self._churned.get(cloudid, 0) + 1
            seed = self._version(cloudid).version
            self._apply(Batch(cloudid, seed, **mix(seed, self.churn)))
            made = True
        if made:
            for listener in self._listeners:
                listener()
