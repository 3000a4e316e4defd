"""``jsm_nb.login()``: the object an analyst signs in with."""

from __future__ import annotations

from .config import Config
from .defaults import default_store, resolve_config
from .flow import AuthorizationFlow
from .session import forget_sessions
from .store import Store
from .tokens import TokenManager

__all__ = ["Login", "login"]


class Login:
    """The sign-in of one app: open :attr:`authorization_url`, paste back where you land.

    Parameters
    ----------
    config : Config
        The app's settings.
    store : Store
        Where the pending sign-in and the login are kept.
    """

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._flow = AuthorizationFlow(config, store)

    def __repr__(self) -> str:
        return (
            f"Login(client_id={self.config.client_id!r}, auth_url={self.config.auth_url!r}, "
            f"sandbox={self.config.uses_sandbox})"
        )

    @property
    def authorization_url(self) -> str:
        """Atlassian's consent page to open in a browser (one-time ``state``, PKCE S256)."""
        return self._flow.authorization_url

    def submit(self, text: str) -> None:
        """Finish the sign-in with the address the browser landed on after Accept.

        Parameters
        ----------
        text : str
            The whole redirect address, or its query string (``code=...&state=...``).

        Raises
        ------
        AuthorizationError
            The address does not answer this sign-in (wrong or missing ``state``), consent
            was declined, the code is used or expired, or the app's credentials are wrong.
            Nothing is stored then.
        """
        self._flow.complete(text)
        forget_sessions(self.config)

    def restart(self) -> str:
        """Start over with a fresh ``state``; returns the new consent URL."""
        self._flow.restart()
        return self.authorization_url

    def sign_out(self) -> None:
        """Forget the stored login of this app (every kernel sharing the token file)."""
        TokenManager(self.config, self.store).forget()
        forget_sessions(self.config)


def login(config: Config | None = None, store: Store | None = None) -> Login:
    """Start (or resume) signing in to Atlassian with OAuth 2.0 (3LO).

    Parameters
    ----------
    config : Config, optional
        The app's settings; ``Config.from_env()`` by default. With no client id,
        the built-in sandbox is used.
    store : Store, optional
        Where the login is kept; the token file of ``config`` by default.

    Returns
    -------
    Login
        Open ``login.authorization_url`` in a browser, click Accept, then pass the
        address you land on to ``login.submit()``. A sign-in started earlier (by
        re-running the cell, or before a kernel restart) is resumed.

    Examples
    --------
    >>> login = jsm_nb.login()                      # doctest: +SKIP
    >>> login.submit("http://localhost:8765/callback?code=...&state=...")  # doctest: +SKIP
    >>> jsm_nb.session().get("/rest/servicedeskapi/servicedesk")  # doctest: +SKIP
    """
    config = resolve_config(config)
    return Login(config, default_store(config) if store is None else store)
