"""JsmSession: an authenticated, auto-refreshing requests session for one Jira site.

Built on requests-oauthlib's ``OAuth2Session``, with the token handling owned
here: a :class:`BearerAuth` takes a valid token from the
:class:`~jsm_nb.tokens.TokenManager` (refreshed ahead of expiry, under locks)
and re-sends a request once after a 401 that a refresh can cure. The bearer
token is only ever sent to the configured API host.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3.util.retry import Retry

from .config import Config
from .defaults import default_store, resolve_config
from .errors import ApiError, ConfigError
from .store import Store
from .tokens import TokenManager

__all__ = ["BearerAuth", "JsmSession", "Site", "session"]

BACKOFF_CAP = 30.0  # seconds, Atlassian's advice
RETRY_STATUSES = (429, 502, 503, 504)
ThrottleListener = Callable[[float], None]


@dataclass(frozen=True)
class Site:
    """A Jira site the grant covers (one entry of ``accessible-resources``)."""

    id: str
    name: str
    url: str
    scopes: tuple[str, ...] = ()

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> Site:
        return cls(
            id=str(resource["id"]),
            name=str(resource.get("name", "")),
            url=str(resource.get("url", "")).rstrip("/"),
            scopes=tuple(resource.get("scopes", ())),
        )

    def matches(self, wanted: str) -> bool:
        """Whether ``wanted`` is this site's cloud id, name, URL or host name."""
        wanted = wanted.strip().rstrip("/").lower()
        host = urlsplit(self.url).hostname or ""
        return wanted in {self.id.lower(), self.name.lower(), self.url.lower(), host.lower()}


def choose_site(sites: list[Site], wanted: str | None) -> Site:
    """Pick the site named by ``wanted`` (id, name or URL), else the only one.

    Raises
    ------
    ConfigError
        No site matches, the grant covers none, or several and none was named.
    """
    listing = ", ".join(f"{s.name} ({s.url})" for s in sites)
    if not sites:
        raise ConfigError(
            "The login covers no Jira site. Run jsm_nb.login() and grant access to a site.",
            variable="JSM_NB_SITE",
        )
    if wanted:
        for site in sites:
            if site.matches(wanted):
                return site
        raise ConfigError(
            f"No site {wanted!r} in this login; it covers: {listing}. "
            "Set JSM_NB_SITE to one of them.",
            variable="JSM_NB_SITE",
        )
    if len(sites) > 1:
        raise ConfigError(
            f"This login covers several sites: {listing}. Set JSM_NB_SITE to the one to use "
            "(its name, URL or cloud id).",
            variable="JSM_NB_SITE",
        )
    return sites[0]


class AtlassianRetry(Retry):
    """urllib3's Retry with Atlassian's backoff, telling listeners about each wait.

    Waits ``Retry-After`` when given, else ``backoff * 2**(n-1)`` seconds with
    jitter x0.7-1.3, capped at 30 s. Each wait the server asked for (429, 5xx)
    is reported to ``listeners``, so that callers can slow down.
    """

    def __init__(self, *args: Any, listeners: list[ThrottleListener] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.listeners = [] if listeners is None else listeners

    def new(self, **kw: Any) -> AtlassianRetry:
        retry = super().new(**kw)
        retry.listeners = self.listeners
        return retry

    def get_backoff_time(self) -> float:
        attempts = len(self.history)
        if attempts == 0:
            return 0.0
        wait = self.backoff_factor * 2 ** (attempts - 1) * random.uniform(0.7, 1.3)
        return float(min(wait, BACKOFF_CAP))

    def parse_retry_after(self, retry_after: str) -> float:
        """Seconds from ``Retry-After``; a malformed value means the usual backoff."""
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return super().parse_retry_after(retry_after)
            except Exception:  # an unparseable header must not fail the request
                return self.get_backoff_time()

    def sleep(self, response: Any = None) -> None:
        """Wait before the next try; tell the listeners when the server asked for it.

        A dropped connection (no response) is retried at once the first time: it is
        most often a keep-alive connection the server had closed.
        """
        if response is None:
            wait = self.get_backoff_time() if len(self.history) > 1 else 0.0
        else:
            retry_after = self.get_retry_after(response)
            wait = self.get_backoff_time() if retry_after is None else retry_after
            for listener in list(self.listeners):
                listener(wait)
        if wait > 0:
            time.sleep(wait)


def _is_scope_error(response: requests.Response) -> bool:
    return "scope does not match" in response.text


class BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token; after a 401 that a refresh can cure, refreshes and re-sends once."""

    def __init__(self, tokens: TokenManager) -> None:
        self.tokens = tokens

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        sent = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {sent}"

        def retry_once(response: requests.Response, **kwargs: Any) -> requests.Response:
            if response.status_code != 401 or _is_scope_error(response):
                return response
            fresh = self.tokens.refresh(stale=sent)
            response.content  # noqa: B018 - read the body so the connection can be reused
            response.close()
            again = response.request.copy()
            again.deregister_hook("response", retry_once)  # type: ignore[no-untyped-call]
            again.headers["Authorization"] = f"Bearer {fresh}"
            assert response.connection is not None
            retried: requests.Response = response.connection.send(again, **kwargs)
            retried.history.append(response)
            retried.request = again
            return retried

        request.register_hook("response", retry_once)  # type: ignore[no-untyped-call]
        return request


class JsmSession(OAuth2Session):  # type: ignore[misc]
    """A requests session for one Jira site, signed in through OAuth 2.0 (3LO).

    Relative paths go to the site through Atlassian's gateway:
    ``s.get("/rest/servicedeskapi/servicedesk")`` requests
    ``{api_url}/ex/jira/{cloudid}/rest/servicedeskapi/servicedesk``. Absolute URLs
    are accepted only on the API host, so the token never reaches another host
    (not even a site URL from ``_links``), redirects included.

    Idempotent requests are retried after 429, 502, 503, 504 and dropped
    connections, honouring ``Retry-After``; each wait is reported to the
    callables in ``throttle_listeners``.

    Use :func:`jsm_nb.session` to get one.
    """

    def __init__(self, config: Config, tokens: TokenManager, site: Site | None = None) -> None:
        super().__init__(client_id=config.client_id)
        self.config = config
        self.api_url = config.api_url
        self.site = site
        self.tokens = tokens
        self.throttle_listeners: list[ThrottleListener] = []
        self.auth = BearerAuth(tokens)
        retry = AtlassianRetry(
            total=config.max_retries,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=config.backoff,
            raise_on_status=False,
            listeners=self.throttle_listeners,
        )
        self.mount(f"{self.api_url}/", HTTPAdapter(pool_maxsize=16, max_retries=retry))

    def __repr__(self) -> str:
        site = self.site.name if self.site else None
        return f"<JsmSession site={site!r} api_url={self.api_url!r}>"

    @property
    def base_url(self) -> str:
        """``{api_url}/ex/jira/{cloudid}``: where relative paths go."""
        if self.site is None:
            raise ConfigError("This session has no site yet; use jsm_nb.session() to open one.")
        return f"{self.api_url}/ex/jira/{self.site.id}"

    def request(
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request to the API host; relative paths go to the site.

        OAuth2Session's own token handling is bypassed: it has no refresh leeway or
        lock, logs tokens, and refuses the sandbox's loopback http.
        """
        kwargs.pop("withhold_token", None)
        kwargs.setdefault("timeout", self.config.timeout)
        return requests.Session.request(self, method, self._resolve(url), *args, **kwargs)

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        """On a redirect, keep the token only when the target is the API host itself."""
        if not self._on_api_host(prepared_request.url or ""):
            prepared_request.headers.pop("Authorization", None)

    def accessible_sites(self) -> list[Site]:
        """The sites this login covers, from ``/oauth/token/accessible-resources``."""
        response = self.get(f"{self.api_url}/oauth/token/accessible-resources")
        if not response.ok:
            raise ApiError.from_response(response)
        return [Site.from_resource(resource) for resource in response.json()]

    def _resolve(self, url: str) -> str:
        if url.startswith("/"):
            return self.base_url + url
        if not self._on_api_host(url):
            host = urlsplit(url).hostname
            raise ValueError(
                f"Refusing to send the Atlassian token to {host!r}: only {self.api_url} "
                "receives it. Pass a path such as '/rest/servicedeskapi/request' instead."
            )
        return url

    def _on_api_host(self, url: str) -> bool:
        target, api = urlsplit(url), urlsplit(self.api_url)
        return (target.scheme, target.hostname, target.port) == (api.scheme, api.hostname, api.port)

    def _repr_html_(self) -> str:
        """Who is connected to which site, for notebooks (escaped; never a token)."""
        from .account import connection_html

        return connection_html(self)


_sessions: dict[tuple[Config, int], JsmSession] = {}
_sessions_lock = threading.Lock()


def session(config: Config | None = None, store: Store | None = None) -> JsmSession:
    """The signed-in session for the configured site, ready for API calls.

    Parameters
    ----------
    config : Config, optional
        The app's settings; ``Config.from_env()`` by default. With no client id,
        the built-in sandbox is used.
    store : Store, optional
        Where the login is kept; the token file of ``config`` by default.

    Returns
    -------
    JsmSession
        The same session for the same settings and store, within this process.

    Raises
    ------
    LoginRequired
        Nobody has signed in yet, or the login is dead: run ``jsm_nb.login()``.
    ConfigError
        The login covers several sites and ``JSM_NB_SITE`` names none of them.
    """
    config = resolve_config(config)
    store = default_store(config) if store is None else store
    key = (config, id(store))
    with _sessions_lock:
        existing = _sessions.get(key)
    if existing is not None:
        return existing
    tokens = TokenManager(config, store)
    tokens.access_token()  # raises LoginRequired before any request is made
    opened = JsmSession(config, tokens)
    opened.site = choose_site(
        opened.accessible_sites(), config.site or store.read(_site_entry(config))
    )
    with _sessions_lock:
        return _sessions.setdefault(key, opened)


def _site_entry(config: Config) -> str:
    return f"site {config.store_key}"


def remember_site(config: Config, store: Store, site: Site) -> None:
    """Make ``site`` the one that :func:`session` opens when ``JSM_NB_SITE`` is not set."""
    store.write(_site_entry(config), site.id)
    forget_sessions(config)


def forget_sessions(config: Config) -> None:
    """Drop this process's open sessions of ``config`` (after a new sign-in or sign-out)."""
    with _sessions_lock:
        for key in [key for key in _sessions if key[0] == config]:
            _sessions.pop(key).close()
