"""The sandbox's sites by cloud id: built afresh, or once and then shared."""

from __future__ import annotations

import threading

from .catalogue import SITES
from .generate import generate
from .model import SiteData

__all__ = ["build_site", "site_data"]

_CACHE: dict[tuple[str, int, int], SiteData] = {}
_BUILDING: dict[tuple[str, int, int], threading.Lock] = {}
_LOCK = threading.Lock()


def site_data(cloudid: str, *, seed: int = 0, requests: int = 5000) -> SiteData:
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
    key = (cloudid, seed, requests)
    with _LOCK:
        building = _BUILDING.setdefault(key, threading.Lock())
    with building:  # one build per key; other keys are not held up
        built = _CACHE.get(key)
        if built is None:
            built = _CACHE[key] = generate(site, seed, requests)
    return built


def build_site(cloudid: str, *, seed: int = 0, requests: int = 5000) -> SiteData:
    """The data of one sandbox site, built afresh: what :func:`site_data` caches.

    Parameters
    ----------
    cloudid, seed, requests
        As for :func:`site_data`, which raises the same errors.

    Returns
    -------
    SiteData
        A new object on every call, equal in content for equal arguments.
    """
    return generate(_site(cloudid, requests), seed, requests)


def _site(cloudid: str, requests: int) -> dict[str, str]:
    """The entry of :data:`.SITES` with this cloud id, once the arguments are checked."""
    if requests < 0:
        raise ValueError(f"requests must be zero or more, not {requests}")
    site = next((s for s in SITES if s["id"] == cloudid), None)
    if site is None:
        raise KeyError(f"no sandbox site has cloud id {cloudid!r}")
    return site
