"""JsmSession: an authenticated, auto-refreshing requests session for one Jira site.

A ``requests.Session`` whose auth (:class:`~jsm_nb.auth.BearerAuth`) takes a valid
token from the :class:`~jsm_nb.tokens.TokenManager` (refreshed ahead of expiry,
under locks) and re-sends a request once after a 401 that a refresh can cure; the
token goes only to the API origin (:mod:`jsm_nb.auth`). Every request to the API
host is paced by the app's :class:`~jsm_nb.limits.Pacer` and retried as Atlassian
advises (:mod:`jsm_nb.pacing`).

requests-oauthlib's ``OAuth2Session`` is jsm_nb's OAuth layer, held behind one
small adapter, :class:`~jsm_nb.oauth.TokenEndpoint`: the code exchange and the
refresh. Its per-request token handling is not used, for reasons that are each a
requirement here: it adds the token to any URL before the request is prepared
(the token must be judged on the prepared request), refreshes only once the
expiry has passed (no leeway, no reaction to a 401), takes no lock (Atlassian's
rotation then revokes the grant when two kernels refresh), and logs whole tokens
at DEBUG.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import urllib3

from .account import connection_html
from .auth import BearerAuth, TokenGuardAdapter, may_carry_token, require_api_origin
from .config import Config
from .context import CONTEXT
from .errors import ApiError, ConfigError
from .origin import origin_of
from .pacing import PacingAdapter
from .site_choice import Site, choose_site, chosen_site
from .store import Store
from .tokens import TokenManager

if TYPE_CHECKING:
    from .catalogue import Catalogue

__all__ = ["JsmSession", "session"]


def _no_answer(error: requests.RequestException, timeout: Any) -> str:
    """What went wrong when no (whole) answer arrived, and what to do; never a token."""
    # urllib3 reports a failure as the reason of a MaxRetryError (it retries nothing itself,
    # jsm_nb.pacing does), which requests wraps in a ConnectionError whatever it was.
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


class JsmSession(requests.Session):
    """A requests session for one Jira site, signed in through OAuth 2.0 (3LO).

    Relative paths go to the site through Atlassian's gateway:
    ``s.get("/rest/servicedeskapi/servicedesk")`` requests
    ``{api_url}/ex/jira/{cloudid}/rest/servicedeskapi/servicedesk``. Absolute URLs
    are accepted only on the API origin, so the token never reaches another host
    (not even a site URL from ``_links``), redirects included; a URL that parsers
    could read as naming different hosts is refused (:class:`TokenRefused`).

    Requests to the API host go through the app's :class:`~jsm_nb.limits.Pacer`
    (:attr:`pacer`): paced under Atlassian's burst limits, stopped while a quota is
    spent, retried as :mod:`jsm_nb.pacing` says.

    Use :func:`jsm_nb.session` to get one.
    """

    def __init__(self, config: Config, tokens: TokenManager, site: Site | None = None) -> None:
        super().__init__()
        self.config = config
        self.api_url = config.api_url
        self.pacer = CONTEXT.pacer(config.client_id)
        self.site = site
        self.tokens = tokens
        self.field_catalogue: Catalogue | None = None  # the site's fields, fetched on first use
        self.api_origin = origin_of(config.api_url)
        self.auth = BearerAuth(tokens, self.api_origin)
        for prefix in ("https://", "http://"):  # redirects off the API origin use these
            self.mount(prefix, TokenGuardAdapter(self.api_origin))
        self.mount(
            f"{self.api_url}/",
            PacingAdapter(self.api_origin, self.pacer, config, pool_maxsize=16),
        )

    def __repr__(self) -> str:
        site = self.site.name if self.site else None
        return f"<JsmSession site={site!r} api_url={self.api_url!r}>"

    @property
    def site(self) -> Site | None:
        """The site that relative paths go to."""
        return self._site

    @site.setter
    def site(self, site: Site | None) -> None:
        self._site = site
        if site is not None:  # named in RateLimited's messages and jsm_nb.usage()
            self.pacer.name_site(site.id, site.name)

    @property
    def base_url(self) -> str:
        """``{api_url}/ex/jira/{cloudid}``: where relative paths go."""
        if self.site is None:
            raise ConfigError("This session has no site yet; use jsm_nb.session() to open one.")
        return f"{self.api_url}/ex/jira/{self.site.id}"

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """Send a request to the API host; relative paths go to the site."""
        method = method.decode() if isinstance(method, bytes) else method
        kwargs.setdefault("timeout", self.config.timeout)
        resolved = self._resolve(url.decode() if isinstance(url, bytes) else url)
        try:
            return super().request(method, resolved, *args, **kwargs)
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
        if not may_carry_token(self.api_origin, prepared_request.url or ""):
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
        require_api_origin(self.api_origin, url)
        return url

    def _repr_html_(self) -> str:
        """Who is connected to which site, for notebooks (escaped; never a token)."""
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
        opened.site = choose_site(opened.accessible_sites(), chosen_site(config, store))
    except BaseException:
        opened.close()
        raise
    return opened
