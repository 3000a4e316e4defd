"""Fixtures shared by the tests: a fresh sandbox, and a login already made in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
    """The sandbox's config after a completed sign-in (tokens in its token file)."""
    login = jsm_nb.login(sb.config)
    login.submit(sb.approve(login.authorization_url))
    return sb.config
