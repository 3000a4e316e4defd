"""The authorisation-code flow: consent URL, the pasted address, the code exchange.

Every sign-in gets a fresh one-time ``state`` (256 bits) and a PKCE S256
verifier. Both are kept in the store as a *pending sign-in*, so that the flow
survives re-running the cell and restarting the kernel; a pending sign-in is
used once, and expires after :data:`PENDING_TTL` seconds.

A message that asks to start over says how for the front end in use: "click
Connect again" in the notebook widget, "open the consent page again" at the
terminal prompt (which shows the page again after each mistake).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from .config import Config
from .entries import login_entry, pending_entry
from .errors import AuthorizationError
from .oauth import InvalidGrant, TokenEndpoint
from .store import Store

__all__ = ["PENDING_TTL", "START_OVER", "AuthorizationFlow"]

PENDING_TTL = 30 * 60  # seconds
MAX_PENDING = 5  # sign-ins started (tabs opened) that can still be completed
MAX_PASTE = 8192  # characters; a real redirect address is a few hundred
AUDIENCE = "api.atlassian.com"
STATE_CHARS = 43  # secrets.token_urlsafe(32): 256 bits in base64url
START_OVER = {"widget": "click Connect again", "terminal": "open the consent page again"}
"""How each front end starts a sign-in over, as said in error messages."""


def _pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of two states; any text may be pasted (even non-ASCII)."""
    return secrets.compare_digest(expected.encode(), given.encode())


def _origin_and_path(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port, parts.path


class AuthorizationFlow:
    """One app's sign-in: the consent URL to open and the address to paste back.

    Parameters
    ----------
    config : Config
        The app's settings.
    store : Store
        Keeps pending sign-ins and, on success, the login.
    """

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._entry = pending_entry(config)
        self._pending = self._resume() or self.restart()

    def __repr__(self) -> str:
        config = self.config
        return f"AuthorizationFlow(client_id={config.client_id!r}, auth_url={config.auth_url!r})"

    @property
    def authorization_url(self) -> str:
        """Atlassian's consent page for the current pending sign-in."""
        config = self.config
        query = {
            "audience": AUDIENCE,
            "client_id": config.client_id,
            "scope": " ".join(config.scopes),
            "redirect_uri": config.redirect_uri,
            "state": self._pending["state"],
            "response_type": "code",
            "prompt": "consent",
            "code_challenge": _pkce_challenge(self._pending["code_verifier"]),
            "code_challenge_method": "S256",
        }
        return f"{config.auth_url}/authorize?{urlencode(query)}"

    @property
    def state(self) -> str:
        """The current pending sign-in's ``state`` (to match a loopback callback)."""
        return str(self._pending["state"])

    def restart(self) -> dict[str, Any]:
        """Start a new pending sign-in (a new ``state`` and verifier) and keep it."""
        pending = {
            "state": secrets.token_urlsafe(32),
            "code_verifier": secrets.token_urlsafe(64),
            "created_at": time.time(),
        }
        with self.store.lock():
            self.store.write(self._entry, [*self._fresh()[-(MAX_PENDING - 1) :], pending])
        self._pending = pending
        return pending

    def complete(self, text: str, start_over: str = START_OVER["widget"]) -> dict[str, Any]:
        """Finish the sign-in from the pasted redirect address and store the tokens.

        Parameters
        ----------
        text : str
            The address the browser was sent to after consent, or its query string.
        start_over : str
            How the user starts a fresh sign-in, for the messages that ask to
            (one of :data:`START_OVER`).

        Returns
        -------
        dict
            The token response (also written to the store).

        Raises
        ------
        AuthorizationError
            The address is not a valid answer to a pending sign-in of this app, the
            user declined, the code is used or expired, or the credentials are wrong.
        """
        params = self._parse(text, start_over)
        if "error" not in params and not params.get("code"):
            raise AuthorizationError(
                "The address has no code: it may have been cut short. Copy the whole address "
                "from the browser's address bar after you click Accept, and paste it again."
            )
        pending = self._take(params.get("state"), start_over)
        try:
            token = self._exchange(params, pending, start_over)
            self.store.write(login_entry(self.config), token)
        finally:
            if pending["state"] == self._pending["state"]:
                self.restart()  # the used sign-in cannot serve again: offer a fresh one
        return token

    def _exchange(
        self, params: dict[str, str], pending: dict[str, Any], start_over: str
    ) -> dict[str, Any]:
        if "error" in params:
            raise _consent_error(params, start_over)
        try:
            return TokenEndpoint(self.config).exchange(params["code"], pending["code_verifier"])
        except InvalidGrant:
            raise AuthorizationError(
                "This sign-in address was already used or has expired (codes last about "
                f"ten minutes): {start_over}."
            ) from None

    def _parse(self, text: str, start_over: str) -> dict[str, str]:
        text = text.strip().strip("\"'<>").strip()
        if not text:
            raise AuthorizationError(
                "Nothing was pasted. After you click Accept, copy the address from the "
                "browser's address bar and paste it here."
            )
        if len(text) > MAX_PASTE or any(c.isspace() for c in text):
            raise AuthorizationError(
                "That is not a sign-in address. Copy only the address from the browser's "
                "address bar after you click Accept."
            )
        if "://" in text:
            target = _origin_and_path(text)
            if target == _origin_and_path(f"{self.config.auth_url}/authorize"):
                raise AuthorizationError(
                    "This is the consent page's address. Open it, click Accept, then paste "
                    "the address of the page you land on."
                )
            if target != _origin_and_path(self.config.redirect_uri):
                raise AuthorizationError(
                    f"This address is not this app's callback ({self.config.redirect_uri}): "
                    "paste the address you land on after clicking Accept for this app, "
                    "or check JSM_NB_REDIRECT_URI.",
                    setting="JSM_NB_REDIRECT_URI",
                )
            text = urlsplit(text).query
        values = parse_qs(text.lstrip("?"), keep_blank_values=True)
        if not values.keys() & {"code", "state", "error"}:
            raise AuthorizationError(
                "That is not a sign-in address: it has no code or state. Copy the address "
                "from the browser's address bar after you click Accept."
            )
        repeated = sorted(name for name, found in values.items() if len(found) > 1)
        if repeated:
            raise AuthorizationError(
                f"The address repeats {', '.join(repeated)}: paste it exactly as the "
                f"browser shows it, or {start_over}."
            )
        return {name: found[0] for name, found in values.items()}

    def _take(self, state: str | None, start_over: str) -> dict[str, Any]:
        """Remove and return the pending sign-in with ``state`` (each is used once)."""
        with self.store.lock():
            fresh = self._fresh()
            match = next((p for p in fresh if state and _same(p["state"], state)), None)
            if match is not None:
                self.store.write(self._entry, [p for p in fresh if p is not match])
        if not state:
            raise AuthorizationError(
                "The address has no state, so it cannot be checked: it may have been cut "
                "short. Copy the whole address from the browser's address bar and paste it "
                f"again, or {start_over}."
            )
        if match is None and _cut_short(state, fresh):
            raise AuthorizationError(
                "This address looks cut short: its state is incomplete. Copy the whole "
                "address from the browser's address bar (it ends with the state) and paste "
                "it again."
            )
        if match is None:
            raise AuthorizationError(
                f"This address belongs to an older sign-in (or was used already): {start_over}."
            )
        return match

    def _fresh(self) -> list[dict[str, Any]]:
        """The stored pending sign-ins that have not expired, oldest first."""
        now = time.time()
        stored = self.store.read(self._entry) or []
        return [p for p in stored if now - float(p.get("created_at", 0)) < PENDING_TTL]

    def _resume(self) -> dict[str, Any] | None:
        fresh = self._fresh()
        return fresh[-1] if fresh else None


def _cut_short(state: str, pending: list[dict[str, Any]]) -> bool:
    """Whether ``state`` looks like the start of a real one: shorter, or a pending one's prefix.

    (Any text may be pasted; the comparison is the user's own paste against their own
    store, which an attacker cannot time.)
    """
    return len(state) < STATE_CHARS or any(str(p["state"]).startswith(state) for p in pending)


def _consent_error(params: dict[str, str], start_over: str) -> AuthorizationError:
    if params["error"] == "access_denied":
        return AuthorizationError(
            f"Access was declined on Atlassian's consent page: {start_over} and choose Accept."
        )
    description = params.get("error_description", "")[:200]
    return AuthorizationError(
        f"Atlassian refused the sign-in ({params['error'][:50]}: {description}). "
        f"Check the app's settings in Atlassian's developer console, then {start_over}."
    )
