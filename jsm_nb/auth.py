"""Which requests carry the bearer token, and the one retry after a 401.

The bearer token goes only to the configured API origin (scheme, host and port),
judged by :func:`~jsm_nb.origin.origin_of` on the prepared request, as the
connection will read it: when the token is attached (:class:`BearerAuth`, the
auth layer, where requests' own ``HTTPDigestAuth`` works), when a redirect is
followed (:func:`may_carry_token`, used by the session's ``rebuild_auth``), and
last in the session's adapters (:class:`TokenGuardAdapter`) just before a
connection is opened, whoever prepared the request; the 401 retry goes through
them too.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import TokenRefused
from .origin import AmbiguousUrl, Origin, origin_of
from .tokens import TokenManager

__all__ = ["BearerAuth", "TokenGuardAdapter", "may_carry_token", "require_api_origin"]


def _is_scope_error(response: requests.Response) -> bool:
    return "scope does not match" in response.text


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


def require_api_origin(api: Origin, url: str) -> None:
    """Raise :class:`TokenRefused` unless ``url`` names exactly the API origin ``api``."""
    refused = _refusal(api, url)
    if refused is not None:
        raise refused


class BearerAuth(requests.auth.AuthBase):
    """Adds the bearer token; after a 401 that a refresh can cure, refreshes and re-sends once.

    The token is added only when the prepared request names exactly the API
    origin ``api``; anything else raises :class:`TokenRefused`. Only a request
    that carried the token is re-sent: a redirect to another host loses the token
    (:meth:`jsm_nb.sessions.JsmSession.rebuild_auth`), and that host's 401 must not earn it a
    fresh one.
    """

    def __init__(self, tokens: TokenManager, api: Origin) -> None:
        self.tokens = tokens
        self.api = api

    def __repr__(self) -> str:
        return "BearerAuth(<token hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        require_api_origin(self.api, request.url or "")
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
            require_api_origin(self.api, request.url or "")
        return super().send(request, *args, **kwargs)


def may_carry_token(api: Origin, url: str) -> bool:
    """Whether a request to ``url`` may carry the token: it names exactly ``api``."""
    return _refusal(api, url) is None
