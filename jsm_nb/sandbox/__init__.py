"""The sandbox: a fake Atlassian Cloud on loopback, for trying and testing jsm_nb.

It runs two real HTTP servers, each on a background thread: an authorisation
server after ``auth.atlassian.com`` (consent page, authorisation codes,
rotating refresh tokens) and an API gateway after ``api.atlassian.com``
(bearer tokens, scopes, ``accessible-resources``, ``/me`` and seeded JSM data).

A *poisoned* sandbox (``run(poison=True)``; ``JSM_NB_SANDBOX_POISON=1`` for the
process-wide :func:`default` that notebooks use, or ``python -m jsm_nb.sandbox --poison``)
serves the same data with a script in front of every name and summary an admin or a
customer could write: site, user, service desk, request type, organisation and SLA names,
and request summaries, one payload per field (:mod:`.data.poison`). Run a notebook against
it, and :func:`.data.poison.markup` finds any of them that its HTML outputs or widgets
render as markup::

    JSM_NB_SANDBOX_POISON=1 jupyter nbconvert --to notebook --execute mine.ipynb

Its data changes when asked: :meth:`Sandbox.change` makes a batch of updates, creates,
deletes, moves and resolves on a site, a minute later on the site's clock than the batch
before; ``run(churn=N)`` (``JSM_NB_SANDBOX_CHURN=N`` for :func:`default`, ``--churn N``)
makes ``N`` random changes a minute of wall time, and ``search_lag`` delays what Jira's
search sees (:mod:`.churn`). Requests no change touched read the same before and after.

Examples
--------
>>> from jsm_nb import sandbox
>>> with sandbox.run(access_token_lifetime=60) as sb:  # doctest: +SKIP
...     callback = sb.approve(consent_url)  # play the user: click Accept
...     sb.faults.rate_limit(every=3)       # then every third API call gets a 429
...     sb.limits.quota = 500                # and the app has 500 points an hour
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import string
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from ..config import DEFAULT_REDIRECT_URI, Config
from ..errors import AuthorizationError, ConfigError
from . import browser, data
from .auth import AuthApp, Authority, Client, Settings
from .churn import SiteVersions
from .data.changes import Changed, Changes
from .faults import Faults
from .gateway import GatewayApp, user
from .limits import Limits, Plan
from .server import App, BackgroundServer, Stats

if TYPE_CHECKING:
    from .shared import SharedSandbox

FIRST_SITE = "the first site"  # Sandbox.sign_in's default: the first of its sites

__all__ = [
    "CHURN_VARIABLE",
    "POISON_VARIABLE",
    "Changed",
    "Changes",
    "Faults",
    "Limits",
    "Plan",
    "Sandbox",
    "Settings",
    "Stats",
    "churn_wanted",
    "default",
    "run",
    "sign_in",
]

#: Set to 1 (or true, yes, on), it makes :func:`default` a poisoned sandbox.
POISON_VARIABLE = "JSM_NB_SANDBOX_POISON"
#: A number of changes a minute, it makes :func:`default` a churning sandbox.
CHURN_VARIABLE = "JSM_NB_SANDBOX_CHURN"
QUOTA_VARIABLE = "JSM_NB_SANDBOX_QUOTA"
APP_NAME = "jsm_nb notebook sign-in (sandbox)"


def _client_id() -> str:
    """A random client id shaped like Atlassian's (32 letters and digits)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


class Sandbox:
    """A running sandbox: both servers, the app's credentials, knobs and counters.

    Start one with :func:`run` and stop it with :meth:`close` or a ``with`` block.

    Parameters
    ----------
    access_token_lifetime, refresh_reuse_leeway, code_lifetime : float
        Seconds; see :class:`Settings` (they stay changeable as ``settings``).
    requests : int
        How many JSM requests each seeded site holds.
    seed : int
        Seeds the data, the site order and the random faults.
    redirect_uris : sequence of str
        The app's registered callback URLs; the first goes into ``config``.
    auth_port, api_port : int
        Ports to bind on 127.0.0.1; 0 picks free ones.
    poison : bool
        Put a script in front of every name and summary (see the module's docstring):
        for checking that what shows API text escapes it.
    limits : Limits, optional
        The rate limits; Atlassian's by default. Its ``wall_clock``, when None, becomes
        the sandbox's (:meth:`wall_time`).
    credentials : tuple of str, optional
        The app's client id and secret; new random ones by default.
    wrap : callable, optional
        Called with each server's app and its name (``"auth"``, ``"api"``); serves
        what it returns instead (to add routes in front of the sandbox's).
    churn : int
        Random changes made on each site per minute of wall time (mostly updates, some
        creates, few deletes and moves), lazily before a request is served; 0 for none.
    search_lag : float
        Seconds after a change before Jira's search and approximate count see it
        (``/request/{key}`` and the other reads see it at once).

    Attributes
    ----------
    auth_url, api_url : str
        ``http://127.0.0.1:PORT`` of the authorisation server and the API gateway.
    client_id, client_secret : str
        The sandbox app's credentials (the secret is new on every run).
    config : jsm_nb.Config
        A Config for this sandbox, its token file in a temporary directory
        that :meth:`close` removes.
    settings : Settings
        Token, code and consent lifetimes, the refresh-token reuse leeway, the
        cap on pending consents and the connection timeout.
    faults : Faults
        Latency, 429s, 5xx answers, dropped and hanging connections, cut-off and
        malformed bodies on demand.
    limits : Limits
        Atlassian's points quota, burst and per-issue write limits, with their headers
        and counters (``limits.stats``); changeable while the sandbox runs.
    stats : Stats
        Counters of what the servers saw.
    poison : bool
        Whether its names and summaries carry scripts.
    versions : SiteVersions
        The sites' data version by version: ``churn`` and ``search_lag`` are
        changeable there, ``batches()`` and ``history()`` say what changed.
    """

    def __init__(
        self,
        *,
        access_token_lifetime: float = 3600,
        refresh_reuse_leeway: float = 600,
        code_lifetime: float = 600,
        requests: int = 5000,
        seed: int = 0,
        redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
        auth_port: int = 0,
        api_port: int = 0,
        poison: bool = False,
        limits: Limits | None = None,
        credentials: tuple[str, str] | None = None,
        wrap: Callable[[App, str], App] | None = None,
        churn: int = 0,
        search_lag: float = 0.0,
    ) -> None:
        if not redirect_uris:
            raise ValueError("the sandbox app needs at least one redirect URI")
        self.settings = Settings(access_token_lifetime, refresh_reuse_leeway, code_lifetime)
        self.faults = Faults(seed, clock=self.wall_time)
        self.limits = Limits() if limits is None else limits
        if self.limits.wall_clock is None:
            self.limits.wall_clock = self.wall_time
        self.stats = Stats()
        self.client_id, self.client_secret = credentials or (
            _client_id(),
            secrets.token_urlsafe(48),
        )
        client = Client(self.client_id, self.client_secret, APP_NAME, tuple(redirect_uris))
        self._authority = Authority(client, self.settings, self.stats)
        self.poison = poison
        self.versions = SiteVersions(
            seed=seed,
            requests=requests,
            poison=poison,
            clock=self.wall_time,
            churn=churn,
            search_lag=search_lag,
        )
        self._gateway = GatewayApp(
            self._authority,
            self.faults,
            self.stats,
            self.limits,
            self.versions,
            seed=seed,
            poison=poison,
        )
        auth_app = AuthApp(
            self._authority,
            self.faults,
            self.stats,
            user=user(poison=poison),
            sites=data.listed_sites(poison=poison),
        )
        served = wrap or (lambda app, name: app)
        self._closed = False
        self._auth = BackgroundServer(
            served(self.faults.wrap(auth_app, "auth"), "auth"),
            auth_port,
            "jsm-nb-sandbox-auth",
            self.wall_time,
            self._connection_timeout,
        )
        try:
            self._api = BackgroundServer(
                served(self.faults.wrap(self._gateway, "api"), "api"),
                api_port,
                "jsm-nb-sandbox-api",
                self.wall_time,
                self._connection_timeout,
            )
        except OSError:
            self._auth.close()
            raise
        self.auth_url = self._auth.url
        self.api_url = self._api.url
        self._directory = Path(tempfile.mkdtemp(prefix="jsm_nb_sandbox_"))
        self.config = Config(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=redirect_uris[0],
            auth_url=self.auth_url,
            api_url=self.api_url,
            token_path=self._directory / "tokens.json",
            sandbox=True,
        )

    def __repr__(self) -> str:
        return f"<Sandbox auth_url={self.auth_url} api_url={self.api_url}>"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def authority(self) -> Authority:
        """The authorisation server's state and rules (grants, tokens; ``snapshot()``)."""
        return self._authority

    @property
    def sites(self) -> list[dict[str, Any]]:
        """The sites as ``accessible-resources`` lists them for a grant of ``config.scopes``."""
        return self._gateway.resources(self.config.scopes)

    def wall_time(self) -> float:
        """The sandbox's clock: this machine's plus ``settings.clock_offset``."""
        return time.time() + self.settings.clock_offset

    def _connection_timeout(self) -> float:
        return self.settings.connection_timeout

    def secrets(self) -> dict[str, set[str]]:
        """Every secret of this sandbox by kind, for tests that look for leaks.

        ``client_secret``, and every ``code``, ``state``, ``code_challenge``,
        ``access_token`` and ``refresh_token`` the authorisation server has issued
        or seen. (PKCE verifiers never reach it: they are in the client's store.)
        """
        return {"client_secret": {self.client_secret}, **self._authority.secrets()}

    def configure(self, config: Config) -> Config:
        """``config`` pointed at this sandbox: its app's credentials and URLs, the rest kept."""
        return pointed_at(self, config)

    def config_for(self, **overrides: Any) -> Config:
        """This sandbox's :attr:`config` with some fields replaced (e.g. ``token_path``)."""
        return dataclasses.replace(self.config, **overrides)

    def sign_in(self, *, site: str | None = FIRST_SITE, **overrides: Any) -> Config:
        """Sign in through jsm_nb's own flow, playing the user; return the config that holds it.

        Parameters
        ----------
        site : str or None
            ``config.site`` of the returned config: the first of :attr:`sites` by
            default (its cloud id); ``None`` chooses none.
        **overrides
            Other fields of :attr:`config` to replace (``scopes``, ``token_path``, ...).

        Returns
        -------
        jsm_nb.Config
            The configuration whose token file now holds the login.
        """
        from ..signin import login

        chosen = str(self.sites[0]["id"]) if site is FIRST_SITE else site
        config = self.config_for(site=chosen, **overrides)
        signing_in = login(config, prompt=False, auto_capture=False)
        signing_in.submit(self.approve(signing_in.authorization_url))
        return config

    def approve(self, authorization_url: str, *, deny: bool = False) -> str:
        """Play the user: open the consent page and click Accept (or Deny).

        See :func:`jsm_nb.sandbox.browser.approve`, which this calls with :attr:`auth_url`.
        """
        return browser.approve(self.auth_url, authorization_url, deny=deny)

    def change(
        self,
        *,
        updates: int = 0,
        creates: int = 0,
        deletes: int = 0,
        moves: int = 0,
        resolves: int = 0,
        seed: int | None = None,
        site: str | None = None,
    ) -> Changes:
        """Change a site's data: one batch of changes, a minute after the last on its clock.

        Parameters
        ----------
        updates : int
            Requests that take their next workflow step (with its comment), or get a
            comment; their ``updated`` becomes the batch's time.
        creates : int
            New requests, with the next issue ids and their desks' next keys.
        deletes : int
            Requests deleted: gone from every read, their ids and keys 404.
        moves : int
            Requests moved to another desk: a new key there, the same id; the old key
            still names them.
        resolves : int
            Open requests resolved, which stops their resolution SLA.
        seed : int, optional
            Seed of the batch's choices; by default the site's number of batches so far,
            so that equal sandboxes make equal batches.
        site : str, optional
            The site's cloud id; the first of :attr:`sites` by default.

        Returns
        -------
        Changes
            The issues changed, per kind, and the batch's time (``at``, epoch ms).
        """
        counts = {"updates": updates, "creates": creates, "deletes": deletes}
        counts |= {"moves": moves, "resolves": resolves}
        return self.versions.change(
            str(self.sites[0]["id"]) if site is None else site, counts, seed
        )

    def history(self) -> list[Changes]:
        """What every change batch so far changed (churn's included), oldest first."""
        return self.versions.history()

    def revoke_all(self) -> None:
        """Revoke every grant, as when the user removes the app from their Atlassian account."""
        self._authority.revoke_all()

    def close(self) -> None:
        """Stop both servers and remove the token directory; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.faults.clear()  # let hanging requests go
        self._api.close()
        self._auth.close()
        shutil.rmtree(self._directory, ignore_errors=True)


def run(
    *,
    access_token_lifetime: float = 3600,
    refresh_reuse_leeway: float = 600,
    code_lifetime: float = 600,
    requests: int = 5000,
    seed: int = 0,
    redirect_uris: Sequence[str] = (DEFAULT_REDIRECT_URI,),
    auth_port: int = 0,
    api_port: int = 0,
    poison: bool = False,
    limits: Limits | None = None,
    churn: int = 0,
    search_lag: float = 0.0,
) -> Sandbox:
    """Start a sandbox; use it in a ``with`` block (or call ``close()``) to stop it.

    Parameters are those of :class:`Sandbox`.

    Returns
    -------
    Sandbox
        Already serving.
    """
    return Sandbox(
        access_token_lifetime=access_token_lifetime,
        refresh_reuse_leeway=refresh_reuse_leeway,
        code_lifetime=code_lifetime,
        requests=requests,
        seed=seed,
        redirect_uris=redirect_uris,
        auth_port=auth_port,
        api_port=api_port,
        poison=poison,
        limits=limits,
        churn=churn,
        search_lag=search_lag,
    )


_TRUE = frozenset({"1", "true", "yes", "on"})


class _App(Protocol):
    client_id: str
    client_secret: str
    auth_url: str
    api_url: str


def pointed_at(sandbox: _App, config: Config) -> Config:
    """``config`` with ``sandbox``'s app credentials and URLs, every other setting kept."""
    return dataclasses.replace(
        config,
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        auth_url=sandbox.auth_url,
        api_url=sandbox.api_url,
        sandbox=True,
    )


def sign_in(site: str | None = None, config: Config | None = None) -> Config:
    """Sign in to the default sandbox with nobody at the keyboard: click Accept, pick a site.

    What a person does with :func:`jsm_nb.login` in a notebook, played headlessly, so
    that scripts, CI and a first look at jsm_nb need no browser. Nothing happens when
    someone is signed in already (except the site choice).

    Parameters
    ----------
    site : str, optional
        The site :func:`jsm_nb.session` should open (name, URL or cloud id); the
        first of the sandbox's by default.
    config : jsm_nb.Config, optional
        Settings to keep (token file, scopes, ...); ``Config.from_env()`` by default.
        It must be a sandbox configuration (no client id).

    Returns
    -------
    jsm_nb.Config
        The configuration, pointed at the sandbox, that holds the login.
    """
    from ..context import CONTEXT
    from ..signin import login

    resolved = CONTEXT.config(config)
    if not resolved.sandbox:
        raise AuthorizationError(
            "jsm_nb.sandbox.sign_in() signs in to the sandbox only, and JSM_NB_CLIENT_ID names "
            "a real app: sign in with jsm_nb.login() instead.",
            setting="JSM_NB_CLIENT_ID",
        )
    signing_in = login(resolved, prompt=False, auto_capture=False)
    if signing_in.connection() is None:
        signing_in.submit(default().approve(signing_in.authorization_url))
    if not resolved.site:
        signing_in.choose_site(site or str(default().sites[0]["id"]))
    return resolved


def poison_wanted() -> bool:
    """Whether ``$JSM_NB_SANDBOX_POISON`` asks for a poisoned sandbox (1, true, yes or on)."""
    return os.environ.get(POISON_VARIABLE, "").strip().lower() in _TRUE


def churn_wanted() -> int:
    """The changes a minute ``$JSM_NB_SANDBOX_CHURN`` asks of the shared sandbox (0: none).

    Raises
    ------
    jsm_nb.ConfigError
        The variable is set to something other than a whole number of zero or more.
    """
    return _whole(CHURN_VARIABLE, "changes a minute") or 0


def quota_wanted() -> int | None:
    """The points an hour ``$JSM_NB_SANDBOX_QUOTA`` gives the shared sandbox's app (None:
    Atlassian's 65,000). A test run that runs every notebook several times sets it higher.

    Raises
    ------
    jsm_nb.ConfigError
        The variable is set to something other than a whole number.
    """
    return _whole(QUOTA_VARIABLE, "points an hour")


def _whole(variable: str, what: str) -> int | None:
    configured = os.environ.get(variable, "").strip()
    if not configured:
        return None
    if not configured.isdigit():
        raise ConfigError(
            f"{variable} must be a whole number of {what}, got {configured!r}: "
            "leave it out for the default.",
            variable=variable,
        )
    return int(configured)


def default() -> SharedSandbox:
    """The sandbox jsm_nb uses when no client id is configured: the user's shared one.

    Every kernel, notebook and ``python -m jsm_nb`` of this user reaches the same
    background process (:mod:`jsm_nb.sandbox.shared`), started on first use and
    stopped by itself when idle, so a login made in one is found by the others. It
    is poisoned (``Sandbox(poison=True)``) when ``$JSM_NB_SANDBOX_POISON`` is 1,
    true, yes or on. Every call in a process returns the same object.
    """
    from ..context import CONTEXT

    return CONTEXT.sandbox()  # type: ignore[return-value]  # this package's entry point
