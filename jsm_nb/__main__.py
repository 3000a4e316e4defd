"""``python -m jsm_nb``: sign in or out from a shell.

``python -m jsm_nb login`` prints Atlassian's consent page and reads the address
the browser was sent back to (typed, pasted or piped in); ``--switch`` signs in
again when someone is signed in already. ``python -m jsm_nb logout`` forgets the
stored login.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import JsmError
from .signin import login

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after ``python -m jsm_nb``; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        0 on success, 1 when signing in failed or the input ended first.
    """
    args = _parser().parse_args(argv)
    try:
        signing_in = login(prompt=False)
        if args.command == "logout":
            signing_in.sign_out()
            print("Signed out.")
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
