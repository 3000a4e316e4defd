"""The helpers' types, as a type checker sees them: mypy, strict, on tests/typing_contract.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_helpers_return_types_follow_raw(tmp_path: Path) -> None:
    """A frame by default, Records with raw=True, either for a bool; bad calls refused."""
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy"),
            str(ROOT / "tests" / "typing_contract.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
