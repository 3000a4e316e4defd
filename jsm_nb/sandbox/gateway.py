"""The sandbox's API server, after the ``api.atlassian.com`` gateway.

Every route needs a live bearer token. The gateway itself answers
``/oauth/token/accessible-resources`` and ``/me``; product calls under
``/ex/jira/{cloudid}/rest/servicedeskapi/`` and ``/ex/jira/{cloudid}/rest/api/3/``
(``/rest/api/2/`` for the removed search) go to the site's current version of the JSM
data (:mod:`.jsm`, :mod:`.data`, :mod:`.churn`) after a scope check; Jira's search and
approximate count to the version the search sees (``search_lag``). Every call to a site
passes Atlassian's rate limits first (:mod:`.limits`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from . import data, jsm
from .auth import Authority, Grant
from .churn import SiteVersions
from .data.poison import mark
from .faults import Faults
from .limits import Limits
from .server import Reply, Request, Stats, json_reply

__all__ = ["USER", "GatewayApp", "user"]

#: The signed-in sandbox user, as ``GET /me`` returns them: the analyst of the seeded data.
USER: Mapping[str, Any] = {
    "account_type": "atlassian",
    "account_id": data.ANALYST_ACCOUNT_ID,
    "email": "riley.chen@analytics.example",
    "name": "Riley Chen",
    "picture": "https://secure.gravatar.com/avatar/4a1f0c9e8b7d6a5f4e3d2c1b0a998877?d=https%3A%2F"
    "%2Favatar-management--avatars.us-west-2.prod.public.atl-paas.net%2Finitials%2FRC-3.png",
    "account_status": "active",
    "nickname": "riley.chen",
    "zoneinfo": "Europe/London",
    "locale": "en-GB",
    "extended_profile": {
        "job_title": "Service Desk Analyst",
        "organization": "analytics.example",
        "department": "Service Analytics",
        "location": "London",
    },
}


def user(*, poison: bool = False) -> Mapping[str, Any]:
    """:data:`USER`; with ``poison``, their name carries a script (:mod:`.data.poison`)."""
    return {**USER, "name": mark(str(USER["name"]), "user", poison)}


_ACCOUNT_SCOPES = frozenset({"read:me", "offline_access"})  # not tied to a site
_PRODUCT_PREFIXES = ("/rest/servicedeskapi/", "/rest/api/3/", "/rest/api/2/")
_SEARCH_PATHS = ("/rest/api/3/search/jql", "/rest/api/3/search/approximate-count")
_JIRA_PATH = re.compile(r"/ex/jira/([^/]+)(/.*)?")
_UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
_SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}


def _site_order(sites: Sequence[Mapping[str, Any]], seed: int) -> list[Mapping[str, Any]]:
    """The sites shuffled by ``seed``, never in name order: Atlassian promises no order."""
    order = list(sites)
    random.Random(seed).shuffle(order)
    if len(order) > 1 and order == sorted(order, key=lambda site: str(site["name"])):
        order.append(order.pop(0))
    return order


def _not_found(path: str) -> Reply:
    return json_reply(
        404,
        {
            "errorMessage": f"No resource matches {path}.",
            "i18nErrorMessage": {"i18nKey": "sd.rest.resource.not.found", "parameters": []},
        },
    )


class GatewayApp:
    """The API server's HTTP routes.

    Parameters
    ----------
    authority : Authority
        Tells which grant an access token belongs to.
    faults : Faults
        Consulted (``target="api"``) on every request.
    stats : Stats
        Counts ``api_requests`` and requests per path.
    limits : Limits
        The rate limits every call to a site goes through.
    versions : SiteVersions
        The sites' data, version by version.
    seed : int
        Seeds the order of the sites.
    poison : bool
        A script in the sites' and the user's names (the data's are ``versions``').
    """

    def __init__(
        self,
        authority: Authority,
        faults: Faults,
        stats: Stats,
        limits: Limits,
        versions: SiteVersions,
        *,
        seed: int,
        poison: bool = False,
    ) -> None:
        self._authority = authority
        self._faults = faults
        self._stats = stats
        self._limits = limits
        self._versions = versions
        self._user = user(poison=poison)
        self._sites = _site_order(data.listed_sites(poison=poison), seed)
        self._site_ids = {str(site["id"]) for site in data.SITES}

    def resources(self, scopes: Iterable[str]) -> list[dict[str, Any]]:
        """The sites of a grant with ``scopes``, as ``accessible-resources`` lists them."""
        site_scopes = [scope for scope in scopes if scope not in _ACCOUNT_SCOPES]
        return [
            {
                "id": site["id"],
                "name": site["name"],
                "url": site["url"],
                "scopes": site_scopes,
                "avatarUrl": site["avatarUrl"],
            }
            for site in self._sites
        ]

    def __call__(self, request: Request) -> Reply:
        """Answer one request."""
        self._stats.request(request.path, "api_requests")
        fault = self._faults.apply("api", request.path)
        if fault is not None:
            return fault
        grant = self._grant(request)
        if grant is None:
            return json_reply(401, _UNAUTHORIZED)
        path = request.path
        jira = _JIRA_PATH.fullmatch(path)
        if jira is not None:
            return self._jira(request, grant, jira.group(1), jira.group(2) or "/")
        if request.method == "GET" and path == "/oauth/token/accessible-resources":
            return json_reply(200, self.resources(grant.scopes))
        if request.method == "GET" and path == "/me":
            if "read:me" not in grant.scopes:
                return json_reply(401, _SCOPE_MISMATCH)
            return json_reply(200, self._user)
        return json_reply(404, {"code": 404, "message": "Not Found"})

    def _grant(self, request: Request) -> Grant | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self._authority.grant_for(token.strip())

    def _jira(self, request: Request, grant: Grant, cloud_id: str, path: str) -> Reply:
        if cloud_id not in self._site_ids:
            return json_reply(404, {"code": 404, "message": f"Site not found: {cloud_id}"})
        return self._limits.serve(request, lambda: self._product(request, grant, cloud_id, path))

    def _product(self, request: Request, grant: Grant, cloud_id: str, path: str) -> Reply:
        if not path.startswith(_PRODUCT_PREFIXES):
            return _not_found(path)
        required = jsm.required_scopes(request.method, path)
        if required and required.isdisjoint(grant.scopes):
            return json_reply(401, _SCOPE_MISMATCH)
        searching = path.startswith(_SEARCH_PATHS)
        site = (self._versions.searched if searching else self._versions.current)(cloud_id)
        status, body, headers = jsm.dispatch(
            site,
            request.method,
            path,
            request.query,
            request.headers,
            data.ANALYST_ACCOUNT_ID,
            payload=request.body,
        )
        return json_reply(status, body, headers)
