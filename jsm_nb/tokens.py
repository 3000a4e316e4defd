"""The stored login and its refresh, safe across threads, kernels and processes.

Atlassian rotates refresh tokens: every refresh disables the token it was
given, and reusing a disabled one after a ten-minute leeway revokes the whole
grant. So a refresh happens only under the store's lock, after re-reading the
store (another kernel may have refreshed already), and the new tokens are
written to the store before anything uses them.

A refresh is also announced in the store before it is sent (write-ahead):
``refreshing_since`` in the login entry. If its process dies before the new
tokens are saved (killed, out of memory, the network gone), whoever uses the
store next knows that the refresh token it finds may already have been
replaced, and sends it again at once: Atlassian accepts a replaced refresh
token once more within its ten-minute leeway. Past the leeway the grant is
lost, and the :class:`~jsm_nb.errors.LoginRequired` raised then says why.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from .config import Config
from .entries import IN_FLIGHT, legacy_login_entry, login_entry
from .errors import LoginRequired
from .oauth import InvalidGrant, TokenEndpoint
from .store import Store

__all__ = ["TokenManager"]

_DEAD = "the stored login has expired or was revoked (Atlassian answered invalid_grant)"


def _lost(since: float) -> str:
    when = dt.datetime.fromtimestamp(float(since)).astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"a renewal of the login started at {when} never finished (its Python process was "
        "stopped, or the network failed, after Atlassian had replaced the refresh token and "
        "before the new one was saved), and the old one is no longer accepted"
    )


def _no_login(config: Config, store: Store) -> str:
    """Why ``store`` has no login for ``config``, for :class:`LoginRequired`."""
    if store.read(legacy_login_entry(config)) is not None:
        return (
            "the token file holds this app's login in an older form, not bound to an API host; "
            "it is not used, so that it cannot be sent to another API host"
        )
    return "no stored login was found for this app and API host"


class TokenManager:
    """Hands out a valid access token, refreshing it when it is about to expire.

    Parameters
    ----------
    config : Config
        The app's settings; ``refresh_leeway`` says how early to refresh.
    store : Store
        Where the login lives; shared with other kernels.
    """

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._endpoint = TokenEndpoint(config)
        self._entry = login_entry(config)
        self._lock = threading.Lock()
        self._token: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"TokenManager(store={self.store!r}, client_id={self.config.client_id!r})"

    def access_token(self) -> str:
        """A valid access token, refreshed first when it expires within the leeway.

        Raises
        ------
        LoginRequired
            There is no login, or its grant is dead.
        """
        token = self._token
        if token is None or self._expiring(token):
            return self.refresh(stale=None if token is None else token["access_token"])
        return str(token["access_token"])

    def refresh(self, stale: str | None) -> str:
        """Replace the access token ``stale`` (rejected or expiring) with a valid one.

        Under the lock, the store is read again first: when another thread or
        kernel has already replaced ``stale`` with a token that is still good,
        that token is used and no refresh is made.
        """
        with self._lock, self.store.lock():
            token = self._stored()
            unfinished = token.pop(IN_FLIGHT, None)  # a refresh whose answer was never saved
            if unfinished is None and token["access_token"] != stale and not self._expiring(token):
                self._token = token
                return str(token["access_token"])
            if "refresh_token" not in token:
                raise LoginRequired(
                    "the access token expired and there is no refresh token "
                    "(add offline_access to JSM_NB_SCOPES)"
                )
            self.store.write(self._entry, {**token, IN_FLIGHT: unfinished or time.time()})
            try:
                fresh = self._endpoint.refresh(token["refresh_token"])
            except InvalidGrant as error:
                reason = _lost(unfinished) if unfinished is not None else _DEAD
                self.store.write(self._entry, {"dead": f"{reason}; Atlassian said: {error}"})
                self._token = None
                raise LoginRequired(reason) from None
            fresh.setdefault("refresh_token", token["refresh_token"])
            self.store.write(self._entry, fresh)  # persisted before anything uses it
            self._token = fresh
            return str(fresh["access_token"])

    def forget(self) -> bool:
        """Remove the stored login (sign out); the grant itself stays valid at Atlassian.

        A login kept in the older form (not bound to an API host) is removed too.

        Returns
        -------
        bool
            Whether there was a login to remove.
        """
        with self._lock, self.store.lock():
            entries = (self._entry, legacy_login_entry(self.config))
            found = any(self.store.read(entry) is not None for entry in entries)
            for entry in entries:
                self.store.write(entry, None)
            self._token = None
        return found

    def _stored(self) -> dict[str, Any]:
        token = self.store.read(self._entry)
        if token is None:
            raise LoginRequired(_no_login(self.config, self.store))
        if "dead" in token:
            raise LoginRequired(f"the stored login can no longer be used ({token['dead']})")
        return dict(token)

    def _expiring(self, token: dict[str, Any]) -> bool:
        """Whether ``token`` expires within the leeway (at most half its lifetime)."""
        lifetime = float(token.get("expires_in", 3600))
        leeway = min(self.config.refresh_leeway, lifetime / 2)
        return time.time() >= float(token["expires_at"]) - leeway
