"""Fixtures shared by the tests: a fresh sandbox, and a login already made in it.

The tests are in three folders: ``unit`` (no sockets: a test there that opens one
fails), ``integration`` (the sandbox over real HTTP on loopback) and ``system``
(notebooks in kernels, the browser, soak and kill runs).
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator

import pytest
from helpers import signed_in_session

import jsm_nb
from jsm_nb import sandbox
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


@pytest.fixture(autouse=True)
def _no_sockets_in_unit_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit test that opens a network connection or listens fails at once."""
    if "unit" not in request.path.parts:
        return

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a unit test opened a socket: it belongs in tests/integration")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refused)
