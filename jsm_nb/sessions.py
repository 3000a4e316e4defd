"""JsmSession: an authenticated, auto-refreshing requests session for one Jira site.

Built on requests-oauthlib's ``OAuth2Session``, with the token handling owned
here: a :class:`BearerAuth` takes a valid token from the
:class:`~jsm_nb.tokens.TokenManager` (refreshed ahead of expiry, under locks)
and re-sends a request once after a 401 that a refresh can cure.

The bearer token goes only to the configured API origin (scheme, host and port),
judged by :func:`~jsm_nb.origin.origin_of` on the prepared request, as the
connection will read it: when the token is attached (:class:`BearerAuth`), when a
redirect is followed (:meth:`JsmSession.rebuild_auth`), and last in the session's
adapters (:class:`TokenGuardAdapter`) just before a connection is opened, whoever
prepared the request; the 401 retry goes through them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session

from .config import Config
from .context import CONTEXT
from .errors import ApiError, ConfigError, JsmError
from .origin import AmbiguousUrl, Origin, origin_of
from .retry import AtlassianRetry, ThrottleListener
from .store import Store
from .tokens import TokenManager

__all__ = ["BearerAuth", "JsmSession", "Site", "TokenGuardAdapter", "TokenRefused", "session"]

RETRY_STATUSES = (429, 502, 503, 504)


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


def _is_scope_error(response: requests.Response) -> bool:
    return "scope does not match" in response.text


def _no_answer(error: requests.RequestException, timeout: Any) -> str:
    """What went wrong when no (whole) answer arrived, and what to do; never a token."""
    # After its retries urllib3 reports the last failure as the reason of a MaxRetryError,
    # which requests wraps in a ConnectionError whatever that failure was.
    wrapped = error.args[0] if error.args else None
    reason = wrapped.reason if isinstance(wrapped, urllib3.exceptions.MaxRetryError) else error
    if isinstance(reason, (requests.exceptions.SSLError, urllib3.exceptions.SSLError)):
        what = "the secure connection failed: a proxy may be intercepting it"
    elif isinstance(reason, (requests.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError)):
        what = f"no connection within {timeout} s"
    elif isinstance(reason, (requests.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        what = f"no answer within {timeout} s"
    elif isinstance(
        reason,
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError),
    ):
        what = "the answer was cut off"
    elif isinstance(reason, requests.TooManyRedirects):
        what = "too many redirects"
    elif isinstance(reason, urllib3.exceptions.NewConnectionError):
        what = "the connection was refused or the host is unreachable"
    else:
        what = f"the connection failed or was dropped ({type(reason).__name__})"
    return f"{what}. Check the network connection (and any proxy), then try again"


class TokenRefused(JsmError, ValueError):
    """The Atlassian token was not sent: the URL is not on the API origin, or is ambiguous."""


_INSTEAD = "Pass a path such as '/rest/servicedeskapi/request' instead."


def _refusal(api: Origin, url: str) -> TokenRefused | None:
    """Why the token may not go to ``url`` (an error that never holds a token to raise), or
    ``None`` when ``url`` names exactly the API origin ``api``, unambiguously."""
    try:
        target = origin_of(url)
    except AmbiguousUrl as error:
        return TokenRefused(
            f"Refusing to send the Atlassian token: the URL {error.reason}, so it is unclear "
            f"which host would get it. {_INSTEAD}"
        )
    if target != api:
        return TokenRefused(
            f"Refusing to send the Atlassian token to {target}: only {api} receives it. {_INSTEAD}"
        )
    return None


def _require_api_origin(api: Origin, url: str) -> None:
    """Raise :class:`TokenRefused` unless ``url`` names exactly the API origin ``api``."""
    refused = _refusal(api, url)
    if refused is not None:
        raise refused


class BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token; after a 401 that a refresh can cure, refreshes and re-sends once.

    The token is added only when the prepared request names exactly the API
    origin ``api``; anything else raises :class:`TokenRefused`. Only a request
    that carried the token is re-sent: a redirect to another host loses the token
    (:meth:`JsmSession.rebuild_auth`), and that host's 401 must not earn it a
    fresh one.
    """

    def __init__(self, tokens: TokenManager, api: Origin) -> None:
        self.tokens = tokens
        self.api = api

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        _require_api_origin(self.api, request.url or "")
        sent = self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {sent}"

        def retry_once(response: requests.Response, **kwargs: Any) -> requests.Response:
            if response.status_code != 401 or _is_scope_error(response):
                return response
            if response.request.headers.get("Authorization") != f"Bearer {sent}":
                return response  # a redirect's target, which never had the token
            fresh = self.tokens.refresh(stale=sent)
            response.content  # noqa: B018 - read the body so the connection can be reused
            response.close()
            again = response.request.copy()
            again.deregister_hook("response", retry_once)  # type: ignore[no-untyped-call]
            again.headers["Authorization"] = f"Bearer {fresh}"
            assert response.connection is not None  # a guarded adapter (TokenGuardAdapter)
            retried: requests.Response = response.connection.send(again, **kwargs)
            retried.history.append(response)
            retried.request = again
            return retried

        request.register_hook("response", retry_once)  # type: ignore[no-untyped-call]
        return request


class TokenGuardAdapter(HTTPAdapter):
    """An adapter that sends an ``Authorization`` header only to the API origin.

    The last check before a connection opens, on the final prepared request: it
    holds for requests prepared elsewhere or changed after they were prepared,
    for redirects and for the 401 retry. Its retries (urllib3's) stay on the
    connection pool of the request's own host.
    """

    def __init__(self, api: Origin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = api

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if "Authorization" in request.headers:
            _require_api_origin(self.api, request.url or "")
        return super().send(request, *args, **kwargs)


class JsmSession(OAuth2Session):  # type: ignore[misc]
    """A requests session for one Jira site, signed in through OAuth 2.0 (3LO).

    Relative paths go to the site through Atlassian's gateway:
    ``s.get("/rest/servicedeskapi/servicedesk")`` requests
    ``{api_url}/ex/jira/{cloudid}/rest/servicedeskapi/servicedesk``. Absolute URLs
    are accepted only on the API origin, so the token never reaches another host
    (not even a site URL from ``_links``), redirects included; a URL that parsers
    could read as naming different hosts is refused (:class:`TokenRefused`).

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
        self.api_origin = origin_of(config.api_url)
        self.auth = BearerAuth(tokens, self.api_origin)
        retry = AtlassianRetry(
            total=config.max_retries,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=config.backoff,
            raise_on_status=False,
            listeners=self.throttle_listeners,
        )
        for prefix in ("https://", "http://"):  # redirects off the API origin use these
            self.mount(prefix, TokenGuardAdapter(self.api_origin))
        self.mount(
            f"{self.api_url}/",
            TokenGuardAdapter(self.api_origin, pool_maxsize=16, max_retries=retry),
        )

    def __repr__(self) -> str:
        site = self.site.name if self.site else None
        return f"<JsmSession site={site!r} api_url={self.api_url!r}>"

    @property
    def base_url(self) -> str:
        """``{api_url}/ex/jira/{cloudid}``: where relative paths go."""
        if self.site is None:
            raise ConfigError("This session has no site yet; use jsm_nb.session() to open one.")
        return f"{self.api_url}/ex/jira/{self.site.id}"

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        """Send a request to the API host; relative paths go to the site.

        OAuth2Session's own token handling is bypassed: it has no refresh leeway or
        lock, logs tokens, and refuses the sandbox's loopback http.
        """
        kwargs.pop("withhold_token", None)
        kwargs.setdefault("timeout", self.config.timeout)
        resolved = self._resolve(url)
        try:
            return requests.Session.request(self, method, resolved, *args, **kwargs)
        except requests.RequestException as error:
            failure = error
        # Raised here, not in the handler: requests' exception holds the request sent, with
        # the bearer token in its headers. The chain keeps urllib3's error, which does not.
        message = _no_answer(failure, kwargs["timeout"])
        cause = failure.args[0] if failure.args else None
        raise ApiError(0, message, method.upper(), urlsplit(resolved).path) from (
            cause if isinstance(cause, urllib3.exceptions.HTTPError) else None
        )

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        """On a redirect, keep the token only when the target is the API origin itself."""
        if _refusal(self.api_origin, prepared_request.url or "") is not None:
            prepared_request.headers.pop("Authorization", None)

    def accessible_sites(self) -> list[Site]:
        """The sites this login covers, from ``/oauth/token/accessible-resources``."""
        response = self.get(f"{self.api_url}/oauth/token/accessible-resources")
        if not response.ok:
            raise ApiError.from_response(response)
        return [Site.from_resource(resource) for resource in response.json()]

    def _resolve(self, url: str) -> str:
        """``url`` made absolute; one off the API origin is refused before anything is sent."""
        if url.startswith("/"):
            return self.base_url + url
        _require_api_origin(self.api_origin, url)
        return url

    def _repr_html_(self) -> str:
        """Who is connected to which site, for notebooks (escaped; never a token)."""
        from .account import connection_html

        return connection_html(self)


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
    config = CONTEXT.config(config)
    store = CONTEXT.store(config) if store is None else store
    return CONTEXT.session(config, store, lambda: _open(config, store))


def _open(config: Config, store: Store) -> JsmSession:
    """A new session of ``config``'s login in ``store``, on its chosen site."""
    tokens = TokenManager(config, store)
    tokens.access_token()  # raises LoginRequired before any request is made
    opened = JsmSession(config, tokens)
    try:
        opened.site = choose_site(
            opened.accessible_sites(), config.site or store.read(_site_entry(config))
        )
    except BaseException:
        opened.close()
        raise
    return opened


def _site_entry(config: Config) -> str:
    return f"site {config.store_key}"


def remember_site(config: Config, store: Store, site: Site) -> None:
    """Make ``site`` the one that :func:`session` opens when ``JSM_NB_SITE`` is not set."""
    store.write(_site_entry(config), site.id)
    CONTEXT.forget_sessions(config)
