"""What every test run gets, the notebooks under nbval included: a home of its own.

The run's token file, mirrors, shared sandbox and other per-user files live in a
temporary directory (``XDG_CONFIG_HOME``, ``XDG_STATE_HOME``, ``XDG_DATA_HOME`` and
``JSM_NB_SANDBOX_HOME`` point into it, and every kernel and subprocess inherits them), so
no test reads or changes the user's own login, mirrors or sandbox. Every shared sandbox
started there is stopped at the end, even one a test left running; unless set already,
``JSM_NB_SANDBOX_IDLE`` is 120 s, so one that escapes stops soon by itself, and
``JSM_NB_SANDBOX_QUOTA`` gives its app room for every notebook of the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_HOME_VARIABLES = ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "JSM_NB_SANDBOX_HOME")
_run_home: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _run_home
    _run_home = Path(tempfile.mkdtemp(prefix="jsm_nb_tests_"))
    for variable in _HOME_VARIABLES:
        os.environ[variable] = str(_run_home / variable.lower())
    os.environ.setdefault("JSM_NB_SANDBOX_IDLE", "120")
    # Every notebook runs several times in one run (nbval, the secret and markup scans), all
    # as one app of one shared sandbox: more than one analyst's hour of Atlassian's quota.
    os.environ.setdefault("JSM_NB_SANDBOX_QUOTA", "2000000")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _run_home is None:
        return
    from jsm_nb.sandbox import shared

    for record in _run_home.rglob("server.json"):
        shared.stop(record.parent)
    shutil.rmtree(_run_home, ignore_errors=True)
