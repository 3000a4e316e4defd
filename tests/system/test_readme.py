"""Every code block of the README runs as written, on a machine where nobody signed in yet."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)
BLOCKS = [(language, code) for language, code in BLOCK.findall(README)]


def test_the_python_blocks_run_in_order_in_a_fresh_process(tmp_path: Path) -> None:
    python = [code for language, code in BLOCKS if language == "python"]
    assert len(python) >= 3
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSM_NB_") or "SANDBOX" in k}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # nobody has signed in here
    for number, code in enumerate(python, 1):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"README python block {number} failed:\n{done.stderr}"
    assert "requests;" in done.stdout or "service desks" in done.stdout


def test_the_quick_start_test_command_is_what_ci_runs() -> None:
    quick_start = README[README.index("## Quick start") :]
    (bash,) = [code for language, code in BLOCK.findall(quick_start)[:1] if language == "bash"]
    install_and_run, test_command = bash.strip().splitlines()
    assert test_command == "python -m pytest"
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert install_and_run.startswith('pip install -e ".[dev]" && jupyter execute ')
    assert install_and_run.endswith("&& python -m jsm_nb status")  # as tests/system/test_first_run
