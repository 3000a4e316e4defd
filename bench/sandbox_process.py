"""The sandbox in a process of its own, already signed in.

On a 2-core machine the sandbox and the client would otherwise share one
interpreter (and its GIL): every benchmark that talks HTTP starts
``python -m jsm_nb.sandbox --sign-in`` and reads the exports it prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import requests

import jsm_nb
from jsm_nb import Config

__all__ = ["Running", "running"]

PAGE_SIZE = 50  # the sandbox's (and Atlassian's) cap for /rest/servicedeskapi/request
REQUESTS_PATH = "/rest/servicedeskapi/request"
QUOTA = 10_000_000
"""The app's points an hour in a benchmark's sandbox: these benchmarks time fetches, and
Tier 1's 65,000 would stop them (a 20,000-request fetch costs about 20,400 points), after
which jsm_nb waits for the hourly reset. ``bench.rate_limits`` measures the limits themselves."""


@dataclasses.dataclass(frozen=True)
class Running:
    """A signed-in sandbox: its exports, jsm_nb's config and what plain clients need."""

    pid: int
    exports: dict[str, str]
    config: Config
    base_url: str  # {api_url}/ex/jira/{cloudid}: where site paths go
    token: str  # the bearer token of the login, for the plain clients

    def plain_session(self) -> requests.Session:
        """A bare ``requests.Session`` sending the same bearer token as jsm_nb."""
        plain = requests.Session()
        plain.headers["Authorization"] = f"Bearer {self.token}"
        return plain

    def cpu_seconds(self) -> float:
        """CPU time the sandbox process has used so far (Linux's ``/proc``; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _exports(lines: Iterator[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        if not line.startswith("export "):
            return found
        name, _, value = shlex.split(line)[1].partition("=")
        found[name] = value
    raise RuntimeError("the sandbox stopped before printing its exports")


@contextlib.contextmanager
def running(
    size: int, latency: float = 0.0, burst: float = 1.0, quota: int = QUOTA
) -> Iterator[Running]:
    """Start a sandbox of ``size`` customer requests and ``latency`` seconds per call, its
    burst rates scaled by ``burst`` (0.2: 20 GETs a second per endpoint), its app given
    ``quota`` points an hour (:data:`QUOTA` by default).

    The site's data are built (the first call) before this yields.
    """
    command = [sys.executable, "-m", "jsm_nb.sandbox", "--sign-in"]
    command += ["--requests", str(size), "--latency", str(latency), "--burst", str(burst)]
    command += ["--quota", str(quota)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            exports = _exports(iter(process.stdout))
            config = Config.from_env(exports, dotenv=None)
            session = jsm_nb.session(config)
            session.get(REQUESTS_PATH, params={"limit": 1}).raise_for_status()  # build the data
            yield Running(
                process.pid, exports, config, session.base_url, session.tokens.access_token()
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
