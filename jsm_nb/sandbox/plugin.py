"""pytest plugin: test notebooks and code against a fresh jsm_nb sandbox.

Installed with jsm_nb (entry point ``pytest11``), so every test suite in an
environment with jsm_nb can ask for these fixtures:

``jsm_sandbox``
    A :class:`jsm_nb.sandbox.Sandbox` started for the test and stopped after
    it: a fake Atlassian authorisation server and API gateway on loopback,
    with seeded JSM data. Its knobs (``faults``, ``settings``, ``revoke_all()``)
    and counters (``stats``) are the test's to use.
``jsm_sandbox_config``
    The :class:`jsm_nb.Config` of that sandbox: its client credentials and
    URLs, and a token file in a temporary directory removed after the test.

Example::

    def test_sign_in_and_count(jsm_sandbox, jsm_sandbox_config):
        # ... run your code with jsm_sandbox_config; when it shows a consent URL,
        # play the user with jsm_sandbox.approve(url) and hand back the callback URL.
        assert jsm_sandbox.stats.codes_exchanged == 1

The sandbox is imported only when a test asks for a fixture, so the plugin
costs nothing to suites that do not use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from jsm_nb import Config
    from jsm_nb.sandbox import Sandbox


@pytest.fixture
def jsm_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox for one test, stopped (and its token directory removed) after it."""
    from jsm_nb import sandbox

    with sandbox.run() as sb:
        yield sb


@pytest.fixture
def jsm_sandbox_config(jsm_sandbox: Sandbox) -> Config:
    """The :class:`jsm_nb.Config` of the test's sandbox (credentials, URLs, token file)."""
    return jsm_sandbox.config
