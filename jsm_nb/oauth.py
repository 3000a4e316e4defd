"""Atlassian's token endpoint: exchange a code, refresh a token.

Both calls go through requests-oauthlib's ``OAuth2Session`` with the client
credentials in the body, as Atlassian documents. Its answers are mapped to
jsm_nb's errors before oauthlib parses them, so that a wrong client secret, a
dead grant and an outage each read as what they are.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session

from . import redact
from .config import Config
from .errors import AuthorizationError, JsmError
from .retry import AtlassianRetry

__all__ = ["InvalidGrant", "TokenEndpoint"]

redact.install()

_CREDENTIAL_ERRORS = {"access_denied", "invalid_client", "unauthorized_client"}
_INSECURE_TRANSPORT = "OAUTHLIB_INSECURE_TRANSPORT"
_transport_lock = threading.Lock()


class InvalidGrant(Exception):
    """Atlassian answered ``invalid_grant``: the code or refresh token is dead."""


@contextlib.contextmanager
def _loopback_http_allowed(url: str) -> Iterator[None]:
    """Let oauthlib talk plain http to ``url`` for the duration of one call.

    oauthlib refuses plain http unless ``OAUTHLIB_INSECURE_TRANSPORT`` is set.
    :class:`~jsm_nb.config.Config` accepts plain http only on loopback hosts
    (the sandbox), so the switch is set for those calls alone and put back after.
    """
    if not url.startswith("http://"):
        yield
        return
    with _transport_lock:
        previous = os.environ.get(_INSECURE_TRANSPORT)
        os.environ[_INSECURE_TRANSPORT] = "1"
        try:
            yield
        finally:
            if previous is None:
                del os.environ[_INSECURE_TRANSPORT]
            else:
                os.environ[_INSECURE_TRANSPORT] = previous


def _check_answer(response: requests.Response) -> requests.Response:
    """Raise jsm_nb's error for an unsuccessful token answer; pass a good one on."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.ok and isinstance(body, dict) and body.get("access_token"):
        return response
    error = body.get("error") if isinstance(body, dict) else None
    if error == "invalid_grant":
        raise InvalidGrant(str(body.get("error_description") or "invalid_grant"))
    if error in _CREDENTIAL_ERRORS or response.status_code == 401:
        raise AuthorizationError(
            "Atlassian rejected the app's credentials (client id or secret). "
            "Check JSM_NB_CLIENT_ID and JSM_NB_CLIENT_SECRET against the app in "
            "Atlassian's developer console.",
            setting="JSM_NB_CLIENT_SECRET",
        )
    if error:
        raise AuthorizationError(
            f"Atlassian's token endpoint refused the request ({error}). "
            "Check JSM_NB_REDIRECT_URI and JSM_NB_SCOPES against the app's settings."
        )
    kind = response.headers.get("Content-Type", "no content type").split(";")[0][:60]
    what = "" if body is not None else f" (a {kind} answer, not Atlassian's JSON)"
    raise JsmError(
        f"Atlassian's sign-in service answered HTTP {response.status_code} without a "
        f"token{what}. It may be down or overloaded, or a proxy may be in the way: try again "
        "in a minute."
    )


class TokenEndpoint:
    """Calls to ``{auth_url}/oauth/token`` for one app.

    Parameters
    ----------
    config : Config
        The app's settings (client id and secret, redirect URI, auth host).
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = f"{config.auth_url}/oauth/token"

    def __repr__(self) -> str:
        return f"TokenEndpoint({self.url!r}, client_id={self.config.client_id!r})"

    def exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        """Trade an authorisation code for tokens.

        Raises
        ------
        InvalidGrant
            The code was already used, has expired, or the verifier does not match.
        AuthorizationError
            The client credentials are wrong.
        """
        return self._call(
            lambda http: http.fetch_token(
                self.url,
                code=code,
                code_verifier=code_verifier,
                client_secret=self.config.client_secret,
                include_client_id=True,
                timeout=self.config.timeout,
            )
        )

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Trade a refresh token for new tokens (Atlassian rotates the refresh token).

        Raises
        ------
        InvalidGrant
            The refresh token expired, was revoked, or was reused after the leeway.
        AuthorizationError
            The client credentials are wrong.
        """
        return self._call(
            lambda http: http.refresh_token(
                self.url,
                refresh_token=refresh_token,
                client_id=self.config.client_id,
                client_secret=self.config.client_secret,
                timeout=self.config.timeout,
            )
        )

    def _call(self, call: Any) -> dict[str, Any]:
        http = OAuth2Session(client_id=self.config.client_id, redirect_uri=self.config.redirect_uri)
        # Only answers that say nothing was done (429, 503) and failed connections are
        # retried: re-sending a refresh token the server may have rotated risks the family.
        # AtlassianRetry never sleeps a long Retry-After: this runs under the store's lock.
        retry = AtlassianRetry(
            total=self.config.max_retries,
            connect=self.config.max_retries,
            read=0,
            status_forcelist=(429, 503),
            allowed_methods={"POST"},
            backoff_factor=self.config.backoff,
            raise_on_status=False,
        )
        http.mount(self.config.auth_url, HTTPAdapter(max_retries=retry))
        for hook in ("access_token_response", "refresh_token_response"):
            http.register_compliance_hook(hook, _check_answer)
        failure = None
        with http, _loopback_http_allowed(self.url):
            try:
                token = dict(call(http))
            except requests.RequestException as error:
                failure = type(error).__name__
        if failure is not None:
            # Raised here, not in the handler: requests' exception holds the request sent,
            # whose body has the client secret and the code or refresh token, and
            # "from None" would still keep it as the context.
            raise JsmError(
                f"Could not reach Atlassian's sign-in service at {self.config.auth_url} "
                f"({failure}). Check the network and try again."
            )
        obtained = time.time()
        token["obtained_at"] = obtained
        token["expires_at"] = obtained + float(token.get("expires_in", 3600))
        return token
