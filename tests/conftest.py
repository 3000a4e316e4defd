"""Fixtures shared by the tests: a fresh sandbox, and a login already made in it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import jsm_nb
from jsm_nb import sandbox
from jsm_nb.context import CONTEXT
from jsm_nb.sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    """A fresh sandbox for one test."""
    with sandbox.run() as running:
        yield running


@pytest.fixture
def signed_in(sb: Sandbox) -> jsm_nb.Config:
    """The config of a completed sign-in to the sandbox's first site."""
    return sb.sign_in()


@contextlib.contextmanager
def signed_in_session(
    config: dict[str, Any] | None = None, **knobs: Any
) -> Iterator[tuple[Sandbox, jsm_nb.JsmSession]]:
    """A sandbox started with ``knobs``, signed in to its first site, and a session of it.

    ``config`` overrides fields of the sandbox's config; backoff without ``Retry-After``
    starts at 0.05 s unless it says otherwise, so tests of 5xx answers stay quick.
    """
    with sandbox.run(**knobs) as running:
        signed_in = running.sign_in(**{"backoff": 0.05, **(config or {})})
        try:
            yield running, jsm_nb.session(signed_in)
        finally:
            CONTEXT.forget_sessions(signed_in)


@pytest.fixture
def jsm_session_factory() -> Iterator[Callable[..., tuple[Sandbox, jsm_nb.JsmSession]]]:
    """Start sandboxes (``requests=``, ... and ``config=`` overrides), each signed in.

    Each call returns ``(sandbox, session)``; all are stopped after the test.
    """
    with contextlib.ExitStack() as stack:
        yield lambda **knobs: stack.enter_context(signed_in_session(**knobs))


@pytest.fixture(scope="module")
def jsm_shared_session() -> Iterator[tuple[Sandbox, jsm_nb.JsmSession]]:
    """One signed-in sandbox (1,000 requests per site) shared by a module's read-only tests."""
    with signed_in_session(requests=1000) as started:
        yield started


def front_end_says(panel: Any, kind: str) -> None:
    """Deliver what the Connect link's front end sends to the kernel: ``ready`` when a
    view of it appears, ``opened`` when it is clicked (the path a comm message takes)."""
    message = {"content": {"data": {"method": "custom", "content": {"kind": kind}}}, "buffers": []}
    panel.connect._handle_msg(message)
