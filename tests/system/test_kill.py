"""A process killed (SIGKILL) in the middle of a refresh, or of writing the token file.

Afterwards the token file always loads, nothing is left beside it, and the next
process goes on without a new sign-in. The one case where that cannot be: the
kill came after Atlassian had replaced the refresh token and before the new one
was saved, *and* the next refresh comes after Atlassian's ten-minute reuse
leeway. Then the next process raises LoginRequired saying so.

The sandbox plays "after the leeway" by setting its leeway to 0 once the victim
is dead. Victims are forked from a forkserver that has jsm_nb imported, so that
each costs milliseconds, not a Python start-up.

Figures (``-m slow``, ``-s`` shows them): ``python -m pytest tests/test_kill.py -m slow -s``.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import stat
import time
from collections.abc import Callable, Iterator
from multiprocessing.context import ForkServerContext
from typing import Any

import pytest
import requests

import jsm_nb
from jsm_nb import FileStore, LoginRequired
from jsm_nb.entries import IN_FLIGHT, login_entry
from jsm_nb.sandbox import Sandbox
from jsm_nb.tokens import TokenManager

pytestmark = pytest.mark.skipif(
    "forkserver" not in multiprocessing.get_all_start_methods(), reason="POSIX only (SIGKILL)"
)

RESOURCES = "/oauth/token/accessible-resources"
ATLASSIAN_LEEWAY = 600.0
READY_TIMEOUT = 60.0  # seconds; the first victim waits for the forkserver to import jsm_nb


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["jsm_nb.tokens", "jsm_nb.store", "jsm_nb.oauth", "requests"])
    return context


# -- the victim (runs in a forked process) -------------------------------------------------------


def _pause(ready: Any) -> None:
    ready.set()
    time.sleep(3600)  # until the test kills it


def _on_call(owner: Any, name: str, nth: int, before: bool, ready: Any) -> None:
    """Pause the victim at the ``nth`` call of ``owner.name`` (before or after it)."""
    original = getattr(owner, name)
    calls = 0

    def hooked(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == nth and before:
            _pause(ready)
        result = original(*args, **kwargs)
        if calls == nth and not before:
            _pause(ready)
        return result

    setattr(owner, name, hooked)


def _victim(config: jsm_nb.Config, point: str | None, ready: Any) -> None:
    """Refresh the login once, pausing forever at ``point``; or, with none, refresh in a loop."""
    from jsm_nb import oauth, store

    tokens = TokenManager(config, FileStore(config.token_path))
    token = tokens.access_token()
    if point is None:
        ready.set()
        while True:
            token = tokens.refresh(stale=token)
    # A refresh writes the store twice: the write-ahead (1st), then the new tokens (2nd).
    hooks: dict[str, Callable[[], None]] = {
        "announcing": lambda: _on_call(os, "replace", 1, True, ready),
        "announced": lambda: _on_call(oauth.TokenEndpoint, "refresh", 1, True, ready),
        "rotated": lambda: None,  # the sandbox holds the answer: the test watches its counter
        "received": lambda: _on_call(oauth.TokenEndpoint, "refresh", 1, False, ready),
        "written": lambda: _on_call(os, "replace", 2, True, ready),
        "renamed": lambda: _on_call(store, "_fsync_directory", 2, True, ready),
    }
    hooks[point]()
    tokens.refresh(stale=token)
    _pause(ready)


# -- the next kernel ---------------------------------------------------------------------------


def _next_kernel(sb: Sandbox, config: jsm_nb.Config) -> str:
    """What a fresh kernel gets: "continued" (a token the API takes), or the LoginRequired."""
    store = FileStore(config.token_path)
    store.read(login_entry(config))  # the file loads
    try:
        token = TokenManager(config, store).access_token()
    except LoginRequired as error:
        return f"LoginRequired: {error}"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(sb.api_url + RESOURCES, headers=headers, timeout=10).status_code == 200
    return "continued"


def _leftovers(config: jsm_nb.Config) -> list[str]:
    return [p.name for p in config.token_path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def victim_sandbox() -> Iterator[tuple[Sandbox, jsm_nb.Config]]:
    with jsm_nb.sandbox.run(requests=100) as sb:
        yield sb, sb.sign_in()


# -- one kill at each point of a refresh ----------------------------------------------------------

POINTS = {  # point -> what the next kernel gets (within the leeway, after it)
    "announcing": ("continued", "continued"),  # killed writing the write-ahead record
    "announced": ("continued", "continued"),  # recorded, not sent: the token was not replaced
    "rotated": ("continued", "LoginRequired"),  # Atlassian replaced it; the answer never came
    "received": ("continued", "LoginRequired"),  # the answer came; killed before writing it
    "written": ("continued", "continued"),  # new tokens whole in the temporary file
    "renamed": ("continued", "continued"),  # renamed into place, directory not yet synced
}


@pytest.mark.parametrize("late", [False, True], ids=["within-leeway", "after-leeway"])
@pytest.mark.parametrize("point", list(POINTS))
def test_a_kill_at_each_point_of_a_refresh(
    forkserver: ForkServerContext,
    victim_sandbox: tuple[Sandbox, jsm_nb.Config],
    point: str,
    late: bool,
) -> None:
    sb, config = victim_sandbox
    if point == "rotated":
        sb.faults.hang(target="auth", answered=True)
    ready = forkserver.Event()
    victim = forkserver.Process(target=_victim, args=(config, point, ready), daemon=True)
    victim.start()
    try:
        if point == "rotated":
            deadline = time.monotonic() + READY_TIMEOUT
            while sb.stats.refreshes == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
        else:
            assert ready.wait(READY_TIMEOUT), "the victim never reached its point"
    finally:
        victim.kill()
        victim.join(10)
    assert victim.exitcode == -9
    sb.faults.clear()
    refreshes = sb.stats.refreshes
    assert refreshes == (0 if point in ("announcing", "announced") else 1)
    if late:
        sb.settings.refresh_reuse_leeway = 0

    outcome = _next_kernel(sb, config)

    assert outcome.split(":")[0] == POINTS[point][late]
    assert _leftovers(config) == []  # finished or removed, never left holding tokens
    assert stat.S_IMODE(config.token_path.stat().st_mode) == 0o600
    assert sb.stats.codes_exchanged == 1  # nobody signed in again
    if outcome == "continued":
        assert sb.stats.revoked_families == 0
    else:  # says what happened and what to do
        assert "never finished" in outcome
        assert "jsm_nb.login()" in outcome
    if point in ("written", "renamed"):
        assert sb.stats.refreshes == refreshes  # the new tokens were kept: no refresh needed
    if point in ("rotated", "received") and not late:
        assert sb.stats.reused_refreshes == 1  # saved by Atlassian's leeway, once


# -- kills at random moments, many in a row -------------------------------------------------------


def kill_rounds(
    context: ForkServerContext, sb: Sandbox, config: jsm_nb.Config, rounds: int, *, late: bool
) -> collections.Counter[str]:
    """Kill a process that refreshes in a loop at random moments, ``rounds`` times.

    Returns counts: ``continued`` / ``lost`` (what the next kernel got),
    ``in_flight`` (a refresh had been announced and not saved), ``finished_write``
    (a whole temporary file was there, which the next kernel put in place),
    ``reused`` (refresh tokens Atlassian took a second time within its leeway),
    ``revoked`` (token families revoked).
    """
    rng = random.Random(rounds)
    counts: collections.Counter[str] = collections.Counter()
    store = FileStore(config.token_path)
    for _ in range(rounds):
        sb.settings.refresh_reuse_leeway = ATLASSIAN_LEEWAY
        ready = context.Event()
        victim = context.Process(target=_victim, args=(config, None, ready), daemon=True)
        victim.start()
        assert ready.wait(READY_TIMEOUT)
        time.sleep(rng.uniform(0, 0.05))  # a few refreshes' worth
        victim.kill()
        victim.join(10)
        counts["kills"] += 1
        entry = store.read(login_entry(config))
        counts["in_flight"] += IN_FLIGHT in entry
        counts["finished_write"] += bool(_leftovers(config))
        if late:
            sb.settings.refresh_reuse_leeway = 0
        outcome = _next_kernel(sb, config)
        assert outcome == "continued" or "never finished" in outcome, outcome
        assert _leftovers(config) == []
        if outcome != "continued":
            counts["lost"] += 1
            sb.sign_in()  # the analyst signs in again
        else:
            counts["continued"] += 1
    stats = sb.stats.snapshot()
    counts["reused"] = stats["reused_refreshes"]
    counts["revoked"] = stats["revoked_families"]
    counts["refreshes"] = stats["refreshes"]
    return counts


def _report(label: str, counts: collections.Counter[str]) -> None:
    print(f"\n{label}: " + ", ".join(f"{key}={value}" for key, value in sorted(counts.items())))


def test_kills_at_random_moments_never_damage_the_store(
    forkserver: ForkServerContext, victim_sandbox: tuple[Sandbox, jsm_nb.Config]
) -> None:
    sb, config = victim_sandbox
    within = kill_rounds(forkserver, sb, config, 10, late=False)
    _report("10 random kills, next kernel within the leeway", within)
    assert within["continued"] == within["kills"]
    assert within["revoked"] == 0
    sb.stats.reset()
    after = kill_rounds(forkserver, sb, config, 10, late=True)
    _report("10 random kills, next kernel after the leeway", after)
    assert after["continued"] + after["lost"] == after["kills"]  # lost ones said why
    assert within["in_flight"] + after["in_flight"] > 0  # the kills did land mid-refresh


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("late", [False, True], ids=["within-leeway", "after-leeway"])
def test_many_random_kills_figures(
    forkserver: ForkServerContext, victim_sandbox: tuple[Sandbox, jsm_nb.Config], late: bool
) -> None:
    sb, config = victim_sandbox
    counts = kill_rounds(forkserver, sb, config, 500, late=late)
    _report(f"500 random kills, next kernel {'after' if late else 'within'} the leeway", counts)
    if not late:
        assert counts["continued"] == counts["kills"]
        assert counts["revoked"] == 0
