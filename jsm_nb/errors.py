"""Exceptions raised by jsm_nb.

Every message says what happened and what to do next. No message, repr or
attribute of these exceptions ever holds a token, an authorisation code or the
client secret.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import requests

__all__ = [
    "ApiError",
    "AuthorizationError",
    "ConfigError",
    "InvalidArgument",
    "JsmError",
    "LoginRequired",
    "MirrorBusy",
    "MirrorMismatch",
    "RateLimited",
    "TokenRefused",
    "TokenStoreError",
]


TRACEBACK_HINT = "(jsm_nb.show_traceback() shows where this came from.)"


class JsmError(Exception):
    """Base class of every error raised by jsm_nb.

    In IPython (a notebook, or the terminal shell) a JsmError shows as its message and
    one line on how to see the full traceback, instead of pages of jsm_nb's internals:
    the message already says what happened and what to do. Elsewhere it is an ordinary
    exception.
    """

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error (its traceback protocol)."""
        return [f"{type(self).__name__}: {self}", TRACEBACK_HINT]


class InvalidArgument(JsmError, ValueError):
    """A helper was given an argument it cannot use; the message says which and why.

    It is also a ``ValueError``, so ``except ValueError`` keeps working.
    """


class ConfigError(JsmError):
    """A setting is missing or malformed; the message names the variable to set."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class LoginRequired(JsmError):
    """There is no usable login: no stored tokens, or the grant is dead.

    The grant dies when its refresh token expired, was revoked, or was reused
    after Atlassian's leeway. The only cure is a new consent: run
    ``jsm_nb.login()``.
    """

    def __init__(self, reason: str = "no stored login was found") -> None:
        super().__init__(f"Sign-in needed: {reason}. Run jsm_nb.login() to connect again.")
        self.reason = reason


class AuthorizationError(JsmError):
    """The sign-in itself failed for a reason that a new consent does not cure.

    Examples: a pasted address whose ``state`` does not match, a refused
    consent, wrong client credentials. ``setting`` names the configuration
    variable to fix, when one applies.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class TokenRefused(JsmError, ValueError):
    """The Atlassian token was not sent: the URL is not on the API origin, or is ambiguous.

    It is also a ``ValueError``. The message names only origins, never a token.
    """


class TokenStoreError(JsmError):
    """The token file cannot be read or written (damaged, unreadable, no space)."""


class MirrorBusy(JsmError):
    """A mirror is in use elsewhere: another sync is writing it, or another process has it
    open; the message says which, and what to do."""


class MirrorMismatch(JsmError):
    """A sync was asked to keep a mirror of another query (or site, or fields) than the one
    it holds; the message names both, and how to go on."""


class ApiError(JsmError):
    """Atlassian answered an API call with an error.

    Attributes
    ----------
    status : int
        The HTTP status code (0 when no response arrived).
    error_message : str
        Atlassian's ``errorMessage`` (or ``message``), or a short description.
    method, path : str
        The request's method and path (without the query string).
    """

    def __init__(self, status: int, error_message: str, method: str, path: str) -> None:
        self.status = status
        self.error_message = error_message
        self.method = method
        self.path = path
        if status == 0:
            super().__init__(f"{method} {path} got no answer: {error_message}")
        else:
            super().__init__(f"{method} {path} failed with HTTP {status}: {error_message}")

    @classmethod
    def from_response(cls, response: requests.Response) -> ApiError:
        """Build the error for an unsuccessful ``response``, reading Atlassian's error body.

        Understands JSM's ``{"errorMessage": ...}``, Jira's ``{"errorMessages": [...]}``,
        the gateway's ``{"message": ...}`` and non-JSON pages (a proxy's HTML error).
        """
        request = response.request
        method = request.method or "GET"
        path = urlsplit(request.url or "").path
        return cls(response.status_code, _error_text(response), method, path)


class RateLimited(ApiError):
    """Atlassian's rate limits stop requests until a known time, later than jsm_nb waits.

    Raised before anything is sent: retrying would only burn requests (a spent
    quota denies every request until its reset). The message says when requests
    may resume (local time, and UTC when that differs), for which app and pool, and
    what to do. It
    names the app by its client id, never by a token or secret.

    Attributes
    ----------
    reset_at : datetime.datetime
        When requests may resume (timezone-aware).
    pool : str
        What is stopped: ``"global"`` (the app's hourly quota, one pool for every
        site: Atlassian's Tier 1), ``"tenant"`` (one site's hourly quota),
        ``"endpoint"`` (one endpoint's burst limit asked for a long wait) or
        ``"issue"`` (writes to one issue).
    reason : str or None
        Atlassian's ``RateLimit-Reason`` (or the quota's policy name), when known.
    retry_after : float
        Seconds from the moment of the error until ``reset_at``.
    app, site : str or None
        The app's client id and the site (name and cloud id), when known.
    spent : bool
        ``False`` when a quota is not spent yet but nearly, and what is left is
        spread out until its reset more slowly than jsm_nb waits for one request.
    """

    def __init__(
        self,
        *,
        reset_at: dt.datetime,
        pool: str,
        reason: str | None,
        retry_after: float,
        app: str | None = None,
        site: str | None = None,
        method: str = "GET",
        path: str = "",
        spent: bool = True,
    ) -> None:
        if reset_at.tzinfo is None:
            raise ValueError("reset_at must be timezone-aware")
        self.reset_at = reset_at
        self.pool = pool
        self.reason = reason
        self.retry_after = retry_after
        self.app = app
        self.site = site
        self.spent = spent
        super().__init__(429, "", method, path)
        self.error_message = _rate_limited_text(self)
        self.args = (self.error_message,)


def _rate_limited_text(error: RateLimited) -> str:
    """The two lines of a :class:`RateLimited`: what stops, until when, what to do."""
    app = f"app {error.app}" if error.app else "this app"
    site = error.site or "(unknown)"
    what = {
        "global": f"the hourly quota of {app} (its global pool, shared by every site)",
        "tenant": f"the hourly quota of {app} on site {site} (the site's own pool)",
        "issue": f"writes by {app} to the issue of {error.path} on site {site}",
    }.get(error.pool, f"{error.method} {error.path} by {app} on site {site}")
    if error.pool not in ("global", "tenant"):
        state = "is rate-limited"
    else:
        state = "is spent" if error.spent else "is nearly spent, and what is left is spread out"
    why = f" [{error.reason}]" if error.reason else ""
    local = error.reset_at.astimezone()
    utc = error.reset_at.astimezone(dt.timezone.utc)
    day = "" if local.date() == dt.datetime.now(local.tzinfo).date() else f"{local:%Y-%m-%d} "
    also = "" if local.utcoffset() == dt.timedelta(0) else f" ({utc:%H:%M:%S} UTC)"
    return (
        f"Atlassian's rate limit: {what} {state}{why}; nothing more is sent until"
        f" {day}{local:%H:%M:%S %Z}{also}, in {_duration(error.retry_after)}.\n"
        f"Re-run after {local:%H:%M:%S}, or pass wait=True to sleep until then with a countdown."
    )


def _duration(seconds: float) -> str:
    """``"31 min 5 s"``, ``"45 s"``: a wait in words."""
    whole = max(0, round(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


_SCOPE_ADVICE = (
    " (the app lacks a scope this call needs: add it to JSM_NB_SCOPES and to the app"
    " in Atlassian's developer console, then run jsm_nb.login())"
)


def _error_text(response: requests.Response) -> str:
    """Atlassian's error message in ``response`` (or a short description of the body),
    with how long Atlassian asks to wait when it says so."""
    wait = (response.headers.get("Retry-After") or "").strip()[:40]
    text = _body_text(response)
    if wait.replace(".", "", 1).isdigit():
        text += f" (Atlassian asks to wait {wait} s before trying again)"
    elif wait:
        text += f" (Atlassian asks to wait until {wait} before trying again)"
    elif response.status_code == 429 or response.status_code >= 500:
        text += " (try again in a minute)"
    return text


def _body_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        return f"{response.reason or 'error'} (a {kind} answer, not Atlassian's JSON)"
    if isinstance(body, dict):
        messages = [body.get("errorMessage"), body.get("message"), *body.get("errorMessages", [])]
        messages += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        text = "; ".join(str(m) for m in messages if m)
        if text:
            if "scope does not match" in text:
                text += _SCOPE_ADVICE
            return text
    return response.reason or "error"


def show_traceback() -> None:
    """Print the full traceback of the last error raised in this IPython session.

    A :class:`JsmError` shows in a notebook as its message alone; this prints where
    it came from, for a bug report. Outside IPython, tracebacks are printed in full
    anyway.
    """
    import traceback

    error = getattr(sys, "last_value", None)
    if error is None:
        print("No error has been raised in this session yet.")
        return
    traceback.print_exception(type(error), error, error.__traceback__)
