"""4. Start-up: ``python -c "import jsm_nb"`` against ``python -c "import pandas, requests"``,
as whole processes, run in turn (and ``python -c pass`` for the interpreter alone).

``python -X importtime -c "import jsm_nb"`` shows what the import pulls in.
``python -m bench.startup [--repeat N]``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from bench.report import Line, check, main, median_times

__all__ = ["REPEAT", "run"]

REPEAT = 21
NAME = "4 start-up"
CODES = {
    "jsm_nb": "import jsm_nb",
    "pandas, requests": "import pandas, requests",
    "interpreter": "pass",
    "sign-in side": "import jsm_nb; jsm_nb.Login",  # what jsm_nb.login() loads on first use
}
LAZY = ("ipywidgets", "tqdm", "jsm_nb.sandbox", "IPython")


def process(code: str) -> Callable[[], None]:
    """A fresh ``python -c code``, waited for."""

    def start() -> None:
        subprocess.run([sys.executable, "-c", code], check=True)

    return start


def loaded_lazily() -> list[str]:
    """Which of :data:`LAZY` ``import jsm_nb`` loads (none should be)."""
    probe = f"import sys, jsm_nb; print(*[m for m in {LAZY!r} if m in sys.modules])"
    answer = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return answer.stdout.split()


def run(repeat: int = REPEAT) -> list[Line]:
    """Time the three processes, interleaved, ``repeat`` rounds; lines for the table."""
    times = median_times({name: process(code) for name, code in CODES.items()}, repeat)
    base = times["interpreter"]
    loaded = loaded_lazily()
    return [
        *(
            Line(NAME, f'python -c "{code}"', f"{times[name] * 1000:.0f} ms")
            for name, code in CODES.items()
        ),
        Line(
            NAME,
            "imports alone (minus the interpreter)",
            f"{(times['jsm_nb'] - base) * 1000:.0f} ms",
            f"{(times['jsm_nb'] - base) / (times['pandas, requests'] - base):.2f}x pandas+requests",
        ),
        Line(
            NAME,
            "  with the sign-in side loaded too (jsm_nb.Login)",
            "",
            f"{times['sign-in side'] / times['pandas, requests']:.2f}x pandas+requests",
        ),
        Line(NAME, f"loaded by import jsm_nb, of {', '.join(LAZY)}", ", ".join(loaded) or "none"),
        check(
            NAME,
            "jsm_nb / pandas+requests",
            times["jsm_nb"] / times["pandas, requests"],
            1.15,
            at_least=False,
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
