"""The sandbox's sites by cloud id: built afresh, or once and then shared."""

from __future__ import annotations

import threading

from .catalogue import SITES
from .generate import generate
from .model import SiteData
from .poison import mark

__all__ = ["build_site", "listed_sites", "site_data"]

_CACHE: dict[tuple[str, int, int, bool], SiteData] = {}
_BUILDING: dict[tuple[str, int, int, bool], threading.Lock] = {}
_LOCK = threading.Lock()


def site_data(
    cloudid: str, *, seed: int = 0, requests: int = 5000, poison: bool = False
) -> SiteData:
    """The data of one sandbox site, built on first use and cached.

    Parameters
    ----------
    cloudid : str
        The ``id`` of one of :data:`.SITES`.
    seed : int, default 0
        Seed of every random choice: the same seed gives the same data everywhere.
    requests : int, default 5000
        How many customer requests the site holds, spread over the twelve months before
        :data:`.NOW_MS`.
    poison : bool, default False
        Put a script in front of every name and summary (:mod:`.poison`); the data is
        otherwise the same.

    Returns
    -------
    SiteData
        The same object for the same arguments, safe to share between threads.

    Raises
    ------
    KeyError
        If no sandbox site has ``cloudid``.
    ValueError
        If ``requests`` is negative.
    """
    site = _site(cloudid, requests)
    key = (cloudid, seed, requests, poison)
    with _LOCK:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:  # one build per key; other keys are not held up
        built = _CACHE.get(key)
        if built is None:
            built = _CACHE[key] = generate(site, seed, requests, poison=poison)
    return built


def build_site(
    cloudid: str, *, seed: int = 0, requests: int = 5000, poison: bool = False
) -> SiteData:
    """The data of one sandbox site, built afresh: what :func:`site_data` caches.

    Parameters
    ----------
    cloudid, seed, requests, poison
        As for :func:`site_data`, which raises the same errors.

    Returns
    -------
    SiteData
        A new object on every call, equal in content for equal arguments.
    """
    return generate(_site(cloudid, requests), seed, requests, poison=poison)


def listed_sites(*, poison: bool = False) -> list[dict[str, str]]:
    """:data:`.SITES` as the gateway and the consent page show them; ``poison`` marks names."""
    return [{**site, "name": mark(site["name"], "site", poison)} for site in SITES]


def _site(cloudid: str, requests: int) -> dict[str, str]:
    """The entry of :data:`.SITES` with this cloud id, once the arguments are checked."""
    if requests < 0:
        raise ValueError(f"requests must be zero or more, not {requests}")
    site = next((s for s in SITES if s["id"] == cloudid), None)
    if site is None:
        raise KeyError(f"no sandbox site has cloud id {cloudid!r}")
    return site
