"""The sandbox's authorisation server, after ``auth.atlassian.com``.

:class:`Authority` keeps the OAuth state (consent requests, authorisation
codes, grants and tokens) behind one lock and implements the rules:
consent requests that expire and are capped in number; single-use,
short-lived codes; optional PKCE (a code issued with a challenge needs its
verifier); rotating refresh tokens with a reuse leeway, whose late reuse
revokes the whole token family; and the access token of a rotated refresh token
dying after a grace.
:class:`AuthApp` puts it on HTTP: ``GET /authorize`` (the consent page),
``POST /authorize/decision`` (its Accept and Deny buttons) and
``POST /oauth/token``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from .faults import Faults
from .server import CONNECTION_TIMEOUT, Reply, Request, Stats, html_reply, json_reply

__all__ = ["AuthApp", "Authority", "Client", "ConsentError", "Settings", "TokenError"]

AUDIENCE = "api.atlassian.com"
REFRESH_REJECTED = "Unknown or invalid refresh token."
_PKCE_CHARS = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


@dataclasses.dataclass
class Settings:
    """Lifetimes, limits and timeouts of the sandbox's servers, changeable while they run.

    Lifetimes are applied when a consent, code or token is *checked*, against
    the time it was issued: lowering one expires what is already out there,
    which is how a test provokes an unexpected 401.

    Attributes
    ----------
    access_token_lifetime : float
        Seconds an access token is valid (Atlassian: 3600).
    refresh_reuse_leeway : float
        Seconds after its rotation during which a rotated refresh token may
        still be used (Atlassian: 600). 0 makes any reuse revoke the family.
    code_lifetime : float
        Seconds an authorisation code can be exchanged (about 600 at Atlassian).
    consent_lifetime : float
        Seconds a consent page (its ``request_id``) can be answered.
    max_pending_consents : int
        How many unanswered consent requests are kept; beyond it the oldest is
        dropped, so that opening consent pages cannot fill the memory.
    connection_timeout : float
        Seconds each HTTP request may take to arrive whole at either server;
        idle keep-alive connections and slow senders are closed after it.
    clock_offset : float
        Seconds the sandbox's wall clock runs ahead of this machine's (negative:
        behind). It moves what the servers say about the time (``Date`` headers,
        ``X-RateLimit-Reset``, ``Retry-After`` dates), not lifetimes: like
        Atlassian's ``expires_in``, those are relative.
    old_access_token_grace : float
        Seconds the access token issued with a refresh token keeps working after that
        refresh token is rotated (Atlassian: 600); past it the old access token gets 401,
        however long its ``expires_in`` still runs.
    """

    access_token_lifetime: float = 3600
    refresh_reuse_leeway: float = 600
    code_lifetime: float = 600
    consent_lifetime: float = 600
    max_pending_consents: int = 1000
    connection_timeout: float = CONNECTION_TIMEOUT
    clock_offset: float = 0
    old_access_token_grace: float = 600

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name != "clock_offset" and getattr(self, field.name) < 0:
                raise ValueError(f"{field.name} must not be negative")
        if self.max_pending_consents < 1:
            raise ValueError("max_pending_consents must be at least 1")
        if self.connection_timeout == 0:
            raise ValueError("connection_timeout must be more than 0 seconds")


@dataclasses.dataclass(frozen=True)
class Client:
    """A registered OAuth 2.0 (3LO) app."""

    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    name: str
    redirect_uris: tuple[str, ...]


class ConsentError(Exception):
    """A consent request or decision the authorisation server refuses (shown as a page)."""


class TokenError(Exception):
    """A token request the authorisation server refuses.

    Parameters
    ----------
    status : int
        The HTTP status (400, 401 or 403).
    error, description : str
        The OAuth ``error`` and ``error_description``.
    """

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclasses.dataclass(frozen=True)
class ConsentRequest:
    """A checked ``/authorize`` request waiting for the user's decision."""

    scopes: tuple[str, ...]
    redirect_uri: str
    state: str
    code_challenge: str | None
    code_challenge_method: str | None


@dataclasses.dataclass(eq=False)
class Grant:
    """One consent's token family; revoking it kills all of its tokens at once."""

    scopes: tuple[str, ...]
    revoked: bool = False


@dataclasses.dataclass(frozen=True)
class _Pending:
    request: ConsentRequest
    opened_at: float


@dataclasses.dataclass(eq=False)
class _Code:
    request: ConsentRequest
    issued_at: float
    used: bool = False
    grant: Grant | None = None


@dataclasses.dataclass(eq=False)
class _RefreshToken:
    grant: Grant
    access_token: str  # issued with it: retired once it is rotated
    rotated_at: float | None = None


def _invalid_grant(description: str) -> TokenError:
    return TokenError(403, "invalid_grant", description)


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise TokenError(400, "invalid_request", f"Missing required parameter: {name}")
    return value


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


class Authority:
    """The authorisation server's state and rules; every method is thread safe.

    Parameters
    ----------
    client : Client
        The one registered app.
    settings : Settings
        Lifetimes and leeway, read at each check.
    stats : Stats
        Receives ``refreshes``, ``rejected_refreshes``, ``revoked_families`` and
        ``codes_exchanged``.
    clock : callable
        Monotonic seconds; ``time.monotonic`` by default.
    """

    def __init__(
        self,
        client: Client,
        settings: Settings,
        stats: Stats,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._settings = settings
        self._stats = stats
        self._clock = clock
        self._lock = threading.Lock()
        self._consents: dict[str, _Pending] = {}  # oldest first
        self._codes: dict[str, _Code] = {}
        self._grants: list[Grant] = []
        self._access: dict[str, tuple[Grant, float]] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._retired: dict[str, float] = {}  # access token -> when its refresh token rotated
        self._on_change: Callable[[], None] | None = None

    # -- consent ---------------------------------------------------------------------------

    def consent(self, query: Mapping[str, Sequence[str]]) -> tuple[str, ConsentRequest]:
        """Check an ``/authorize`` query and hold it for the user's decision.

        Returns
        -------
        request_id : str
            The id the consent form posts back.
        request : ConsentRequest

        Raises
        ------
        ConsentError
            A parameter is missing or wrong; the message names it.
        """
        params = {name: values[0] for name, values in query.items() if values}
        expected = {"audience": AUDIENCE, "response_type": "code", "prompt": "consent"}

        def value(name: str) -> str:
            if not params.get(name):
                raise ConsentError(f"Missing required parameter: {name}.")
            return params[name]

        def exact(name: str) -> None:
            if value(name) != expected[name]:
                raise ConsentError(
                    f"Parameter {name} must be {expected[name]!r}, got {params[name]!r}."
                )

        exact("audience")
        if value("client_id") != self.client.client_id:
            raise ConsentError(
                f"Parameter client_id: no app is registered as {params['client_id']!r}."
            )
        scopes = tuple(value("scope").split())
        if not scopes:
            raise ConsentError("Parameter scope must list at least one scope, separated by spaces.")
        if value("redirect_uri") not in self.client.redirect_uris:
            raise ConsentError(
                f"Parameter redirect_uri: {params['redirect_uri']!r} is not a callback URL "
                f"registered for this app (registered: {', '.join(self.client.redirect_uris)})."
            )
        value("state")
        exact("response_type")
        exact("prompt")
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
        if method is not None and challenge is None:
            raise ConsentError("Parameter code_challenge_method was sent without code_challenge.")
        if challenge is not None:
            method = method or "plain"
            if method not in ("S256", "plain"):
                raise ConsentError(
                    f"Parameter code_challenge_method must be 'S256' or 'plain', got {method!r}."
                )
            if not _PKCE_CHARS.fullmatch(challenge):
                raise ConsentError(
                    "Parameter code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~."
                )
        request = ConsentRequest(scopes, params["redirect_uri"], params["state"], challenge, method)
        request_id = secrets.token_urlsafe(16)
        with self._lock:
            self._consents[request_id] = _Pending(request, self._clock())
            while len(self._consents) > self._settings.max_pending_consents:
                del self._consents[next(iter(self._consents))]
        return request_id, request

    def decide(self, request_id: str, accept: bool) -> str:
        """Answer a held consent request; return the callback URL to redirect to.

        Raises
        ------
        ConsentError
            The request id is unknown, was already answered or has expired.
        """
        with self._lock:
            pending = self._consents.pop(request_id, None)
            if pending is None:
                raise ConsentError(
                    "This consent request is unknown or was already answered: sign in again."
                )
            lifetime = self._settings.consent_lifetime
            if self._clock() - pending.opened_at >= lifetime:
                raise ConsentError(
                    f"This consent request has expired (after {_seconds(lifetime)} seconds "
                    "without an answer): sign in again."
                )
            request = pending.request
            if accept:
                code = secrets.token_urlsafe(24)
                self._codes[code] = _Code(request, self._clock())
                answer = {"code": code, "state": request.state}
            else:
                answer = {
                    "error": "access_denied",
                    "error_description": "User did not authorize the request",
                    "state": request.state,
                }
        separator = "&" if "?" in request.redirect_uri else "?"
        return request.redirect_uri + separator + urlencode(answer, quote_via=quote)

    # -- tokens ----------------------------------------------------------------------------

    def token(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Answer a ``POST /oauth/token`` body.

        Returns
        -------
        dict
            ``access_token``, ``expires_in``, ``scope``, ``token_type`` and, when
            the grant has ``offline_access``, ``refresh_token``.

        Raises
        ------
        TokenError
            400 for a malformed request, 401 for wrong client credentials, 403
            ``invalid_grant`` for a bad code or refresh token.
        """
        grant_type = _required(params, "grant_type")
        if grant_type not in ("authorization_code", "refresh_token"):
            raise TokenError(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
        secret = params.get("client_secret", "")
        if params.get("client_id") != self.client.client_id or not hmac.compare_digest(
            secret.encode(), self.client.client_secret.encode()
        ):
            raise TokenError(401, "access_denied", "Unauthorized")
        try:
            with self._lock:
                if grant_type == "authorization_code":
                    return self._exchange(params)
                return self._refresh_grant(params)
        finally:
            self._changed()

    def grant_for(self, access_token: str) -> Grant | None:
        """The live grant of an access token, or ``None`` if unknown, expired or revoked."""
        with self._lock:
            entry = self._access.get(access_token)
            if entry is None:
                return None
            grant, issued_at = entry
            now = self._clock()
            expired = now - issued_at >= self._settings.access_token_lifetime
            retired = self._retired.get(access_token)
            if retired is not None and now - retired >= self._settings.old_access_token_grace:
                expired = True
            return None if grant.revoked or expired else grant

    def secrets(self) -> dict[str, set[str]]:
        """What this server issued or was sent that must not leak, by kind.

        Keys ``code``, ``state``, ``code_challenge``, ``access_token`` and
        ``refresh_token`` (live or not); the client secret is the caller's to add.
        Consents dropped over ``max_pending_consents`` are forgotten, with their
        ``state`` and ``code_challenge``.
        """
        with self._lock:
            codes = list(self._codes.items())
            consents = [pending.request for pending in self._consents.values()]
            found = {
                "code": {code for code, _ in codes},
                "access_token": set(self._access),
                "refresh_token": set(self._refresh),
            }
        requests = [*consents, *(entry.request for _, entry in codes)]
        found["state"] = {request.state for request in requests}
        found["code_challenge"] = {r.code_challenge for r in requests if r.code_challenge}
        return found

    def revoke_all(self) -> None:
        """Revoke every grant, as when the user removes the app from their account."""
        with self._lock:
            for grant in self._grants:
                self._revoke(grant)
        self._changed()

    # -- persistence -----------------------------------------------------------------------

    def on_change(self, callback: Callable[[], None] | None) -> None:
        """Call ``callback`` after each token request and revocation (``None``: stop calling).

        It is called outside the lock, so it may call :meth:`snapshot`.
        """
        self._on_change = callback

    def snapshot(self, wall_clock: Callable[[], float] = time.time) -> dict[str, Any]:
        """The grants and tokens as plain data, their times read on ``wall_clock``.

        Returns
        -------
        dict
            ``grants`` (a list of ``scopes`` and ``revoked``), ``access`` (token to
            ``grant``, its index in ``grants``, and ``issued_at``) and ``refresh``
            (token to ``grant`` and ``rotated_at``, ``None`` until it is rotated).
            Pending consents and codes are left out: they live for minutes.
        """
        with self._lock:
            offset = wall_clock() - self._clock()

            def wall(moment: float | None) -> float | None:
                return None if moment is None else moment + offset

            index = {grant: i for i, grant in enumerate(self._grants)}
            return {
                "grants": [{"scopes": list(g.scopes), "revoked": g.revoked} for g in self._grants],
                "access": {
                    token: {"grant": index[grant], "issued_at": wall(issued_at)}
                    for token, (grant, issued_at) in self._access.items()
                },
                "refresh": {
                    token: {
                        "grant": index[entry.grant],
                        "access_token": entry.access_token,
                        "rotated_at": wall(entry.rotated_at),
                    }
                    for token, entry in self._refresh.items()
                },
            }

    def restore(
        self, snapshot: Mapping[str, Any], wall_clock: Callable[[], float] = time.time
    ) -> None:
        """Replace the grants and tokens with those of a :meth:`snapshot`.

        Times are read back on ``wall_clock``; one in its future counts as now, so
        a clock set back never lengthens a token's life.
        """
        grants = [Grant(tuple(g["scopes"]), bool(g["revoked"])) for g in snapshot["grants"]]
        with self._lock:
            now, wall_now = self._clock(), wall_clock()

            def local(moment: float) -> float:
                return now - max(0.0, wall_now - moment)

            self._grants = grants
            self._access = {
                token: (grants[entry["grant"]], local(entry["issued_at"]))
                for token, entry in snapshot["access"].items()
            }
            self._refresh = {
                token: _RefreshToken(
                    grants[entry["grant"]],
                    str(entry.get("access_token", "")),
                    None if entry["rotated_at"] is None else local(entry["rotated_at"]),
                )
                for token, entry in snapshot["refresh"].items()
            }

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _exchange(self, params: Mapping[str, str]) -> dict[str, Any]:
        code, redirect_uri = _required(params, "code"), _required(params, "redirect_uri")
        entry = self._codes.get(code)
        if entry is None:
            raise _invalid_grant("Invalid authorization code")
        if entry.used:
            if entry.grant is not None:  # RFC 6749 4.1.2: revoke what the code yielded
                self._revoke(entry.grant)
            raise _invalid_grant("Authorization code has already been used")
        entry.used = True
        request = entry.request
        if self._clock() - entry.issued_at >= self._settings.code_lifetime:
            raise _invalid_grant("Authorization code has expired")
        if redirect_uri != request.redirect_uri:
            raise _invalid_grant(
                "redirect_uri does not match the one the authorization code was issued for"
            )
        if request.code_challenge is not None:
            verifier = params.get("code_verifier")
            if not verifier:
                raise _invalid_grant("Parameter 'code_verifier' is required")
            derived = verifier if request.code_challenge_method == "plain" else _s256(verifier)
            if not hmac.compare_digest(derived.encode(), request.code_challenge.encode()):
                raise _invalid_grant("Failed to verify code verifier")
        entry.grant = Grant(request.scopes)
        self._grants.append(entry.grant)
        self._stats.add("codes_exchanged")
        return self._issue(entry.grant)

    def _refresh_grant(self, params: Mapping[str, str]) -> dict[str, Any]:
        entry = self._refresh.get(_required(params, "refresh_token"))
        now, leeway = self._clock(), self._settings.refresh_reuse_leeway
        if entry is not None and entry.rotated_at is not None and now - entry.rotated_at >= leeway:
            self._revoke(entry.grant)  # reused after the leeway: the whole family dies
        if entry is None or entry.grant.revoked:
            self._stats.add("rejected_refreshes")
            raise _invalid_grant(REFRESH_REJECTED)
        if entry.rotated_at is None:
            entry.rotated_at = now
            self._retired[entry.access_token] = now
        else:
            self._stats.add("reused_refreshes")
        self._stats.add("refreshes")
        return self._issue(entry.grant)

    def _issue(self, grant: Grant) -> dict[str, Any]:
        access_token = secrets.token_urlsafe(128)
        self._access[access_token] = (grant, self._clock())
        answer: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": _seconds(self._settings.access_token_lifetime),
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        if "offline_access" in grant.scopes:
            refresh_token = secrets.token_urlsafe(48)
            self._refresh[refresh_token] = _RefreshToken(grant, access_token)
            answer["refresh_token"] = refresh_token
        return answer

    def _revoke(self, grant: Grant) -> None:
        if not grant.revoked:
            grant.revoked = True
            self._stats.add("revoked_families")


# -- HTTP -----------------------------------------------------------------------------------

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""


def _page(status: int, title: str, body: str) -> Reply:
    """An HTML page; ``title`` is escaped here, ``body`` must be escaped by the caller."""
    headers = {"Cache-Control": "no-store"}
    return html_reply(status, _PAGE.format(title=html.escape(title), body=body), headers)


def _error_page(error: ConsentError) -> Reply:
    message = html.escape(str(error))
    return _page(400, "Something went wrong", f'<p id="error">Invalid request. {message}</p>')


def _form_fields(body: bytes) -> dict[str, str]:
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def _token_params(request: Request) -> dict[str, str]:
    """The token request's parameters from a JSON or form-encoded body."""
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        return _form_fields(request.body)
    if content_type != "application/json":
        raise TokenError(
            400,
            "invalid_request",
            "Content-Type must be application/json or application/x-www-form-urlencoded",
        )
    try:
        body = json.loads(request.body)
    except ValueError:
        raise TokenError(400, "invalid_request", "The request body is not valid JSON") from None
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        raise TokenError(
            400, "invalid_request", "The request body must be a JSON object of strings"
        )
    return body


class AuthApp:
    """The authorisation server's HTTP routes.

    Parameters
    ----------
    authority : Authority
        The OAuth state and rules.
    faults : Faults
        Consulted (``target="auth"``) on each token request.
    stats : Stats
        Counts requests per path and ``token_requests``.
    user : mapping
        The signed-in sandbox user (``name``, ``email``), shown on the consent page.
    sites : sequence of mapping
        The sites (``name``, ``url``) a grant covers, shown on the consent page.
    """

    def __init__(
        self,
        authority: Authority,
        faults: Faults,
        stats: Stats,
        *,
        user: Mapping[str, Any],
        sites: Sequence[Mapping[str, Any]],
    ) -> None:
        self._authority = authority
        self._faults = faults
        self._stats = stats
        self._user = user
        self._sites = sites

    def __call__(self, request: Request) -> Reply:
        """Answer one request."""
        route = (request.method, request.path)
        if route == ("POST", "/oauth/token"):
            return self._token(request)
        self._stats.request(request.path)
        if route == ("GET", "/authorize"):
            return self._authorize(request)
        if route == ("POST", "/authorize/decision"):
            return self._decide(request)
        return json_reply(404, {"error": "not_found", "error_description": "Not Found"})

    def _authorize(self, request: Request) -> Reply:
        try:
            request_id, consent = self._authority.consent(request.query)
        except ConsentError as error:
            return _error_page(error)
        esc = html.escape
        app = esc(self._authority.client.name)
        scopes = "".join(f"<li><code>{esc(scope)}</code></li>" for scope in consent.scopes)
        sites = "".join(
            f"<li>{esc(site['name'])} ({esc(site['url'])})</li>" for site in self._sites
        )
        body = f"""<p>Signed in as {esc(self._user["name"])} ({esc(self._user["email"])}).</p>
<p><strong>{app}</strong> is requesting access to your Atlassian account.</p>
<h2>It will be able to</h2>
<ul id="scopes">{scopes}</ul>
<h2>On these sites</h2>
<ul id="sites">{sites}</ul>
<form method="post" action="/authorize/decision">
<input type="hidden" name="request_id" value="{esc(request_id)}">
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
<button type="submit" id="accept" name="decision" value="accept">Accept</button>
</form>"""
        return _page(200, f"{self._authority.client.name} wants access (Atlassian sandbox)", body)

    def _decide(self, request: Request) -> Reply:
        fields = _form_fields(request.body)
        decision = fields.get("decision")
        try:
            if decision not in ("accept", "deny"):
                raise ConsentError("The decision must be accept or deny.")
            location = self._authority.decide(fields.get("request_id", ""), decision == "accept")
        except ConsentError as error:
            return _error_page(error)
        return Reply(302, b"", {"Location": location, "Cache-Control": "no-store"})

    def _token(self, request: Request) -> Reply:
        self._stats.request(request.path, "token_requests")
        fault = self._faults.apply("auth", request.path)
        if fault is not None:
            return fault
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            answer = self._authority.token(_token_params(request))
        except TokenError as error:
            body = {"error": error.error, "error_description": error.description}
            return json_reply(error.status, body, headers)
        return json_reply(200, answer, headers)
