"""Exceptions raised by jsm_nb.

Every message says what happened and what to do next. No message, repr or
attribute of these exceptions ever holds a token, an authorisation code or the
client secret.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthorizationError",
    "ConfigError",
    "JsmError",
    "LoginRequired",
    "TokenStoreError",
]


class JsmError(Exception):
    """Base class of every error raised by jsm_nb."""


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


class TokenStoreError(JsmError):
    """The token file cannot be read or written (damaged, unreadable, no space)."""


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
        super().__init__(f"{method} {path} failed with HTTP {status}: {error_message}")
