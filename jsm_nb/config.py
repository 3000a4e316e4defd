"""Configuration: arguments, else environment variables, else a ``.env`` file.

``Config`` is immutable and never shows the client secret in its repr. A
missing or malformed setting raises :class:`~jsm_nb.errors.ConfigError` naming
the environment variable to set.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .origin import AmbiguousUrl, origin_of

__all__ = ["Config", "is_loopback_url"]

DEFAULT_SCOPES = (
    "read:me",
    "read:servicedesk-request",
    "read:jira-work",
    "read:jira-user",
    "manage:servicedesk-customer",
    "offline_access",
)
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"  # why not 127.0.0.1: see loopback.py
DEFAULT_AUTH_URL = "https://auth.atlassian.com"
DEFAULT_API_URL = "https://api.atlassian.com"

# field name -> environment variable
ENV_VARS = {
    "client_id": "JSM_NB_CLIENT_ID",
    "client_secret": "JSM_NB_CLIENT_SECRET",
    "redirect_uri": "JSM_NB_REDIRECT_URI",
    "scopes": "JSM_NB_SCOPES",
    "auth_url": "JSM_NB_AUTH_URL",
    "api_url": "JSM_NB_API_URL",
    "token_path": "JSM_NB_TOKEN_PATH",
    "site": "JSM_NB_SITE",
}


def default_token_path() -> Path:
    """The token file in the user's config directory (``platformdirs``)."""
    import platformdirs

    return platformdirs.user_config_path("jsm_nb", appauthor=False) / "tokens.json"


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost``, 127.0.0.0/8, ``::1``).

    Read as the connection reads it (:func:`~jsm_nb.origin.origin_of`): a URL that
    parsers could read as naming different hosts, such as ``http://evil\\@localhost``,
    is not loopback.
    """
    try:
        return origin_of(url).is_loopback
    except AmbiguousUrl:
        return False


_EXAMPLES = {
    "JSM_NB_REDIRECT_URI": DEFAULT_REDIRECT_URI,
    "JSM_NB_AUTH_URL": DEFAULT_AUTH_URL,
    "JSM_NB_API_URL": DEFAULT_API_URL,
}


def _check_url(url: str, variable: str) -> str:
    """Return ``url`` without a trailing slash, or raise naming ``variable``."""
    try:
        origin = origin_of(url)
    except AmbiguousUrl as error:
        raise ConfigError(
            f"{variable} must be an absolute URL that names its host plainly, but the URL "
            f"{error.reason}: set it to one such as {_EXAMPLES[variable]}.",
            variable=variable,
        ) from None
    if origin.scheme == "http" and not origin.is_loopback:
        raise ConfigError(
            f"{variable} uses plain http on a host that is not this machine ({origin.host}); "
            f"use https, or set {variable} to a loopback address.",
            variable=variable,
        )
    return url.rstrip("/")


@dataclasses.dataclass(frozen=True)
class Config:
    """Settings for one Atlassian OAuth 2.0 (3LO) app.

    Parameters
    ----------
    client_id, client_secret : str, optional
        The app's credentials from Atlassian's developer console. With no
        ``client_id`` the built-in sandbox is used (``sandbox`` is then true).
    redirect_uri : str
        The callback URL registered for the app.
    scopes : tuple of str
        The scopes to ask for; ``offline_access`` yields a refresh token.
    auth_url, api_url : str
        Atlassian's authorisation server and API gateway.
    token_path : pathlib.Path
        The token file, shared by every kernel of this user.
    site : str, optional
        Which site to use: its name, URL or cloud id. ``None`` picks the only one.
    refresh_leeway : float
        Seconds before expiry at which an access token is refreshed.
    timeout : float
        Seconds to wait for a connection or for a response.
    max_retries : int
        Retries of an idempotent request after a 429, 502-504 or a dropped connection.
    backoff : float
        The first wait (seconds) of the exponential backoff when Atlassian sends no
        ``Retry-After``.
    wait_limit : float
        Seconds of a rate-limit stop (a spent quota, a long ``Retry-After``) that are
        waited out; a longer stop raises :class:`~jsm_nb.errors.RateLimited`, unless
        the helper is given ``wait=True``.
    sandbox : bool
        Whether this configuration talks to jsm_nb's sandbox (a fake Atlassian Cloud on
        this machine) instead of Atlassian. True whenever no client id is given: the
        sandbox then lends its app's credentials and URLs, and every other setting here
        is kept (:meth:`jsm_nb.context.Context.config`).
    """

    client_id: str | None = None
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL
    token_path: Path = dataclasses.field(default_factory=default_token_path)
    site: str | None = None
    refresh_leeway: float = 60.0
    timeout: float = 30.0
    max_retries: int = 4
    backoff: float = 2.0
    wait_limit: float = 60.0
    sandbox: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.client_id is not None and not self.client_id.strip():
            set_(self, "client_id", None)
        if self.client_id is None:
            set_(self, "sandbox", True)
        if self.client_id is not None and not self.client_secret:
            raise ConfigError(
                "JSM_NB_CLIENT_ID is set but the client secret is missing: "
                "set JSM_NB_CLIENT_SECRET to the app's secret from Atlassian's developer console.",
                variable="JSM_NB_CLIENT_SECRET",
            )
        set_(self, "redirect_uri", _check_url(self.redirect_uri, "JSM_NB_REDIRECT_URI"))
        set_(self, "auth_url", _check_url(self.auth_url, "JSM_NB_AUTH_URL"))
        set_(self, "api_url", _check_url(self.api_url, "JSM_NB_API_URL"))
        raw: object = self.scopes  # a space-separated string is accepted too
        scopes = tuple(raw.split() if isinstance(raw, str) else self.scopes)
        if not scopes:
            raise ConfigError(
                "JSM_NB_SCOPES is empty: list the scopes to ask for.", variable="JSM_NB_SCOPES"
            )
        set_(self, "scopes", tuple(scopes))
        set_(self, "token_path", Path(self.token_path).expanduser())
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name in ("refresh_leeway", "timeout", "backoff", "max_retries", "wait_limit"):
            value = float(getattr(self, name))
            # A timeout of 0 would make every request fail at once, saying it timed out.
            if value < 0 or (name == "timeout" and value == 0):
                least = "more than 0" if name == "timeout" else "0 or more"
                raise ConfigError(
                    f"Config.{name} must be {least}, got {getattr(self, name)!r}: leave it out "
                    f"for the default ({defaults[name]})."
                )

    @property
    def uses_sandbox(self) -> bool:
        """Whether jsm_nb's sandbox stands in for Atlassian (the same as ``sandbox``)."""
        return self.sandbox

    @property
    def store_key(self) -> str:
        """The key of this app's logins in the token file: auth host, API host and client id.

        A login is used only with the API host it was made for: a ``.env`` that points
        ``JSM_NB_API_URL`` elsewhere finds no login to send there.
        """
        return f"{self.auth_url} {self.api_url} {self.client_id}"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        dotenv: str | os.PathLike[str] | None = ".env",
        **overrides: Any,
    ) -> Config:
        """Build a Config from arguments, else the environment, else a ``.env`` file.

        Parameters
        ----------
        env : mapping, optional
            The environment to read; ``os.environ`` by default.
        dotenv : path-like, optional
            A ``.env`` file read for variables the environment lacks
            (``None`` skips it). Relative paths are taken from the working directory.
        **overrides
            Field values that win over both.

        Returns
        -------
        Config

        Raises
        ------
        ConfigError
            A setting is missing or malformed; the message names the variable.
        """
        values: dict[str, Any] = {}
        sources: list[Mapping[str, str | None]] = [os.environ if env is None else env]
        if dotenv is not None and Path(dotenv).is_file():
            from dotenv import dotenv_values

            sources.append(dotenv_values(dotenv))
        for field, variable in ENV_VARS.items():
            for source in sources:
                value = source.get(variable)
                if value is not None and value.strip():
                    values[field] = value.strip()
                    break
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"Config has no setting {sorted(unknown)}")
        return cls(**values)
