"""A first run as the README gives it: the connect notebook, then a new process finds the login."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from notebook_run import NOTEBOOKS, execute

CONNECT = next(path for path in NOTEBOOKS if path.name == "01_connect.ipynb")


def _status(config_home: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSM_NB_") or "SANDBOX" in k}
    env.update(XDG_CONFIG_HOME=str(config_home), **settings)
    return subprocess.run(
        [sys.executable, "-m", "jsm_nb", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_new_process_finds_the_sandbox_login_that_the_connect_notebook_made(
    tmp_path: Path,
) -> None:
    shutil.copy(CONNECT, tmp_path)
    execute(tmp_path / CONNECT.name, tmp_path)
    found = _status(tmp_path / "config")
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[0] == "Connected as Riley Chen <riley.chen@analytics.example>"
    assert lines[1] == "Site: acme-support (https://acme-support.atlassian.net)"
    assert lines[3].startswith("Service desks: 4: ITH (")
    other = _status(tmp_path / "config", JSM_NB_SITE="globex-helpdesk")
    assert other.returncode == 0, other.stderr
    assert "Site: globex-helpdesk (https://globex-helpdesk.atlassian.net)" in other.stdout


def test_nobody_is_signed_in_on_a_new_machine(tmp_path: Path) -> None:
    nobody = _status(tmp_path / "config")
    assert nobody.returncode == 1
    assert "Nobody is signed in: run python -m jsm_nb login" in nobody.stdout
