"""Run the sandbox in the foreground: ``python -m jsm_nb.sandbox``.

Prints ``export`` lines for a shell (or a ``.env`` file) that point jsm_nb at
the sandbox, then serves until Ctrl-C (or SIGTERM).

``--latency 0.05`` delays every API answer by 50 ms (``Faults.latency``).
``--quota 500 --hour 10`` gives the app 500 points of rate-limit quota every 10 seconds,
so a reset shows; ``--burst 0.1`` allows a tenth of Atlassian's burst rates, and
``--no-limits`` turns the limits off, for benchmarks (``Limits``).
``--sign-in`` plays the user once before printing: the exported token file then
already holds a login to the first site, so scripts (``bench/``) need no browser.
``--poison`` puts a script in front of every name and summary the sandbox serves
(``Sandbox(poison=True)``), to check that a notebook shows them escaped.
``--churn 20`` makes 20 random changes to each site's data per minute (``Sandbox(churn=20)``;
mostly updates, some creates, few deletes and moves), and ``--search-lag 5`` lets Jira's
search see a change only 5 seconds after it was made.

``--shared`` instead starts the user's shared sandbox in the background, the one
every kernel finds (:mod:`jsm_nb.sandbox.shared`), and returns once it serves;
it stops by itself after ``--idle-timeout`` seconds without a request.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ..config import ENV_VARS
from . import Limits, Sandbox, run
from .home import HOME_VARIABLE, IDLE_VARIABLE, Home, default_idle_timeout

_EXPORTED = ("client_id", "client_secret", "auth_url", "api_url", "token_path")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _changes(text: str) -> int:
    """``--churn``'s value: a whole number of zero or more."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"a whole number of changes a minute, not {text!r}")
    return int(text)


def _sign_in(sb: Sandbox) -> None:
    """Sign in to ``sb``'s first site through jsm_nb's own flow, clicking Accept headlessly."""
    from ..signin import login

    login(sb.sign_in(site=None), prompt=False, auto_capture=False).choose_site(
        str(sb.sites[0]["id"])
    )


def _shared(args: argparse.Namespace, arguments: list[str]) -> int:
    """Start the shared sandbox (``launch``), or be it (``--ready-fd``, given by ``launch``)."""
    from .daemon import START_TIMEOUT, launch, serve_detached
    from .shared import find

    home = Home(args.home)
    if args.ready_fd is None:
        running = find(home.path)
        if running is not None:
            print(f"A shared sandbox already serves {home.path} (process {running.pid}).")
            return 1
        if launch(home, arguments, timeout=START_TIMEOUT):
            return 0
        print(f"The shared sandbox did not start; {home.log_path} says why.", file=sys.stderr)
        return 1
    return serve_detached(
        home,
        args.ready_fd,
        idle_timeout=default_idle_timeout() if args.idle_timeout is None else args.idle_timeout,
        access_token_lifetime=args.access_token_lifetime,
        refresh_reuse_leeway=args.refresh_reuse_leeway,
        requests=args.requests,
        seed=args.seed,
        poison=args.poison,
        churn=args.churn,
        search_lag=args.search_lag,
        limits=Limits(quota=args.quota, hour_seconds=args.hour),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, start the sandbox, print the exports, serve until stopped.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m jsm_nb.sandbox",
        description="Run jsm_nb's fake Atlassian Cloud (auth server and API gateway) on loopback.",
    )
    parser.add_argument("--auth-port", type=int, default=0, help="auth server port (default: free)")
    parser.add_argument("--api-port", type=int, default=0, help="API gateway port (default: free)")
    parser.add_argument(
        "--access-token-lifetime", type=float, default=3600, help="seconds (default: 3600)"
    )
    parser.add_argument(
        "--requests", type=int, default=5000, help="JSM requests per site (default: 5000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="data seed (default: 0)")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to each API answer (default: 0)"
    )
    parser.add_argument(
        "--quota", type=int, default=None, help="rate-limit points per hour (default: 65000)"
    )
    parser.add_argument(
        "--hour", type=float, default=3600, help="seconds in the quota's hour (default: 3600)"
    )
    parser.add_argument(
        "--burst", type=float, default=1.0, help="scale of the burst rates (default: 1)"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="neither enforce nor report rate limits"
    )
    parser.add_argument(
        "--sign-in",
        action="store_true",
        help="sign in to the first site before printing, so the token file holds a login",
    )
    parser.add_argument(
        "--poison",
        action="store_true",
        help="put a script in every name and summary, to check that notebooks escape them",
    )
    parser.add_argument(
        "--churn",
        type=_changes,
        default=0,
        help="random changes to each site's data per minute of wall time (default: 0)",
    )
    parser.add_argument(
        "--search-lag",
        type=float,
        default=0.0,
        help="seconds before Jira's search sees a change (default: 0)",
    )
    shared = parser.add_argument_group(
        "shared sandbox",
        "with --shared, only --access-token-lifetime, --requests, --seed, --churn and "
        "--search-lag apply besides these",
    )
    shared.add_argument(
        "--shared",
        action="store_true",
        help="start the user's shared sandbox in the background; return once it serves",
    )
    shared.add_argument(
        "--home",
        type=Path,
        help=f"its directory (default: ${HOME_VARIABLE}, else one in the user's state directory)",
    )
    shared.add_argument(
        "--idle-timeout",
        type=float,
        help=f"seconds without a request before it stops (default: ${IDLE_VARIABLE}, else 900)",
    )
    shared.add_argument(
        "--refresh-reuse-leeway",
        type=float,
        default=600,
        help="seconds a rotated refresh token stays usable (default: 600)",
    )
    shared.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.shared:
        if args.sign_in or args.latency or args.auth_port or args.api_port:
            parser.error("--shared does not take --sign-in, --latency or ports")
        return _shared(args, sys.argv[1:] if argv is None else list(argv))
    if args.home or args.idle_timeout is not None or args.ready_fd is not None:
        parser.error("--home and --idle-timeout go with --shared")
    try:
        limits = Limits(
            enabled=not args.no_limits,
            quota=args.quota,
            hour_seconds=args.hour,
            burst_scale=args.burst,
        )
    except ValueError as error:
        parser.error(str(error))
    signal.signal(signal.SIGTERM, _interrupt)
    with run(
        auth_port=args.auth_port,
        api_port=args.api_port,
        access_token_lifetime=args.access_token_lifetime,
        refresh_reuse_leeway=args.refresh_reuse_leeway,
        requests=args.requests,
        seed=args.seed,
        poison=args.poison,
        limits=limits,
        churn=args.churn,
        search_lag=args.search_lag,
    ) as sb:
        sb.faults.latency = args.latency
        if args.sign_in:
            _sign_in(sb)
        for field in _EXPORTED:
            value = str(getattr(sb.config, field))
            print(f"export {ENV_VARS[field]}={shlex.quote(value)}")
        print("# jsm_nb sandbox running; Ctrl-C stops it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
