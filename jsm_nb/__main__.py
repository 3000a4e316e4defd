"""``python -m jsm_nb``: sign in or out from a shell.

``python -m jsm_nb login`` prints Atlassian's consent page and reads the address
the browser was sent back to (typed, pasted or piped in); ``--switch`` signs in
again when someone is signed in already. ``python -m jsm_nb logout`` forgets the
stored login. ``python -m jsm_nb status`` says who is signed in, to which site, and
which service desks it holds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .api import service_desks
from .errors import JsmError
from .sessions import session
from .signin import Login, login

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jsm_nb",
        description="Sign in to Jira Service Management Cloud (OAuth 2.0, 3LO). "
        "Settings come from JSM_NB_* environment variables or a .env file.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    sign_in = commands.add_parser("login", help="sign in: open the page shown, paste the address")
    sign_in.add_argument(
        "--switch", action="store_true", help="sign in again even if someone is signed in"
    )
    commands.add_parser("logout", help="forget the stored login of this app")
    commands.add_parser("status", help="who is signed in, to which site, and its service desks")
    return parser


def _status(signing_in: Login) -> int:
    """Print who is connected where and what the site holds; 1 when nobody is signed in."""
    connection = signing_in.connection()
    if connection is None:
        print(
            "Nobody is signed in: run python -m jsm_nb login (or open notebooks/01_connect.ipynb)."
        )
        return 1
    for line in connection.lines():
        print(line)
    if connection.site is None:
        return 0
    opened = session(signing_in.config, signing_in.store)
    desks = service_desks(session=opened, progress=False, raw=True)
    names = ", ".join(f"{desk['projectKey']} ({desk['projectName']})" for desk in desks)
    print(f"Service desks: {len(desks)}: {names}")
    print(
        'Next: jsm_nb.customer_requests(service_desk="KEY") in a notebook, or open '
        "notebooks/02_service_desk_report.ipynb."
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``python -m jsm_nb``; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, 1 when signing in failed, the input ended first, or (``status``)
        nobody is signed in.
    """
    args = _parser().parse_args(argv)
    try:
        signing_in = login(prompt=False)
        if args.command == "logout":
            signed_out = signing_in.sign_out()
            print("Signed out." if signed_out else "Nobody was signed in: nothing to do.")
        elif args.command == "status":
            return _status(signing_in)
        else:
            signing_in.interactive(switch=args.switch)
    except JsmError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except EOFError:
        print("error: the input ended before the sign-in was finished.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
