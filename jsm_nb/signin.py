"""``jsm_nb.login()``: the object an analyst signs in with.

In a notebook the :class:`Login` shows itself as a widget (built by
:mod:`jsm_nb.widget`, which imports ipywidgets only then); in a terminal
:meth:`Login.interactive` prints the consent URL and reads the pasted address.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from typing import Any, Literal

from .account import Connection, connection_of
from .config import Config
from .context import CONTEXT
from .errors import AuthorizationError, ConfigError, JsmError, LoginRequired
from .flow import START_OVER, AuthorizationFlow
from .loopback import should_capture
from .sessions import JsmSession, session
from .site_choice import Site, choose_site, remember_site
from .store import Store
from .tokens import TokenManager

__all__ = ["Login", "LoginEvent", "login"]


@dataclasses.dataclass(frozen=True)
class LoginEvent:
    """What just happened to a :class:`Login`, for whoever displays it.

    Attributes
    ----------
    kind : {"signed_in", "failed", "signed_out", "site_chosen"}
        What happened.
    message : str
        One sentence for the user; for ``failed``, the error's own message.
    """

    kind: Literal["signed_in", "failed", "signed_out", "site_chosen"]
    message: str

    @property
    def ok(self) -> bool:
        """False when the event reports a failure."""
        return self.kind != "failed"


EventCallback = Callable[[LoginEvent], None]


def _in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (not plain Python or terminal IPython)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _in_terminal() -> bool:
    """Whether a person at a terminal can answer a prompt (and no notebook is around)."""
    streams = (sys.stdin, sys.stdout)
    return all(s is not None and s.isatty() for s in streams) and not _in_kernel()


def _current(config: Config, store: Store) -> Connection | None:
    """Who is signed in with ``config``'s app, or ``None`` when nobody is.

    The site is the one :func:`jsm_nb.session` would open; when it cannot choose
    (several sites and none named), ``site`` is ``None`` and ``note`` says why.

    Raises
    ------
    JsmError
        Atlassian or the token store failed (not for a missing or dead login).
    """
    try:
        return connection_of(session(config, store))
    except LoginRequired:
        return None
    except ConfigError as error:  # several sites and none chosen, or JSM_NB_SITE unknown
        with JsmSession(config, TokenManager(config, store)) as http:
            return connection_of(http, note=str(error))


class Login:
    """The sign-in of one app: open :attr:`authorization_url`, paste back where you land.

    In a notebook it displays as a widget: a Connect link, a box for the address you
    were sent back to, the status, and once signed in, who is connected, to which
    site, a site picker, Sign out and Switch account.

    Parameters
    ----------
    config : Config
        The app's settings.
    store : Store
        Where the pending sign-in and the login are kept.
    auto_capture : bool, optional
        Whether the widget listens on the loopback callback URL so that the browser's
        return completes the sign-in by itself (see :mod:`jsm_nb.loopback`). By
        default it does when the callback URL is a loopback address and the kernel
        does not look remote (JupyterHub, Binder, Colab, ...).
    """

    def __init__(self, config: Config, store: Store, *, auto_capture: bool | None = None) -> None:
        self.config = config
        self.store = store
        if auto_capture is None:
            auto_capture = should_capture(config.redirect_uri)
        self.auto_capture = auto_capture
        self._flow = AuthorizationFlow(config, store)
        self._start_over = START_OVER["widget"]  # the terminal prompt says it its own way
        self._callbacks: list[EventCallback] = []
        self._widget: Any = None

    def __repr__(self) -> str:
        return (
            f"Login(client_id={self.config.client_id!r}, auth_url={self.config.auth_url!r}, "
            f"sandbox={self.sandbox})"
        )

    @property
    def authorization_url(self) -> str:
        """Atlassian's consent page to open in a browser (one-time ``state``, PKCE S256)."""
        return self._flow.authorization_url

    @property
    def state(self) -> str:
        """The one-time ``state`` of the current sign-in (a callback must carry it)."""
        return self._flow.state

    @property
    def sandbox(self) -> bool:
        """Whether this signs in to a fake Atlassian on this machine (jsm_nb's sandbox)."""
        return self.config.sandbox

    @property
    def widget(self) -> Any:
        """This sign-in's ipywidgets panel (a ``VBox``), built on first use."""
        if self._widget is None:
            from .widget import LoginWidget

            self._widget = LoginWidget(self)
        return self._widget

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """In a notebook, the widget; elsewhere, the repr (and no listener is started)."""
        if not _in_kernel():
            return {"text/plain": repr(self)}
        bundle: dict[str, Any] = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)
        return bundle

    def on_event(self, callback: EventCallback) -> None:
        """Call ``callback`` with a :class:`LoginEvent` after each change or failure.

        Changes are a sign-in, a sign-out and a site choice. The call may come from a
        background thread (the loopback listener's).
        """
        self._callbacks.append(callback)

    def submit(self, text: str) -> None:
        """Finish the sign-in with the address the browser landed on after Accept.

        Parameters
        ----------
        text : str
            The whole redirect address, or its query string (``code=...&state=...``);
            surrounding whitespace and quotes are ignored.

        Raises
        ------
        AuthorizationError
            The address does not answer this sign-in (wrong or missing ``state``), consent
            was declined, the code is used or expired, or the app's credentials are wrong.
            Nothing is stored then. The widget shows the same message.
        """
        with self._reporting():
            self._flow.complete(text, self._start_over)
        CONTEXT.forget_sessions(self.config)
        self._emit(LoginEvent("signed_in", "Connected."))

    def restart(self) -> str:
        """Start over with a fresh ``state``; returns the new consent URL."""
        self._flow.restart()
        return self.authorization_url

    def sign_out(self) -> bool:
        """Forget the stored login of this app (every kernel sharing the token file).

        Returns
        -------
        bool
            Whether someone was signed in (``False``: there was no login to forget).
        """
        with self._reporting():
            found = TokenManager(self.config, self.store).forget()
        CONTEXT.forget_sessions(self.config)
        said = (
            "Signed out: the stored login was removed from this computer."
            if found
            else "Nobody was signed in to this app on this computer: nothing to remove."
        )
        self._emit(LoginEvent("signed_out", said))
        return found

    def connection(self) -> Connection | None:
        """Who is signed in, to which site, until when; ``None`` when nobody is.

        Raises
        ------
        JsmError
            Atlassian or the token store failed.
        """
        return _current(self.config, self.store)

    def choose_site(self, site: Site | str) -> Site:
        """Make ``site`` the one :func:`jsm_nb.session` opens (when ``JSM_NB_SITE`` is unset).

        Parameters
        ----------
        site : Site or str
            One of :attr:`Connection.sites`, or a site's name, URL or cloud id.

        Returns
        -------
        Site

        Raises
        ------
        ConfigError
            The login covers no such site, or ``JSM_NB_SITE`` names another one.
        LoginRequired
            Nobody is signed in.
        """
        with self._reporting():
            if isinstance(site, str):
                connection = self.connection()
                if connection is None:
                    raise LoginRequired()
                site = choose_site(list(connection.sites), site)
            if self.config.site and not site.matches(self.config.site):
                raise ConfigError(
                    f"JSM_NB_SITE is set to {self.config.site!r}, which wins over a chosen "
                    "site: change or unset it to use another.",
                    variable="JSM_NB_SITE",
                )
            remember_site(self.config, self.store, site)
        self._emit(LoginEvent("site_chosen", f"jsm_nb.session() now opens {site.name}."))
        return site

    def interactive(
        self,
        *,
        switch: bool = False,
        ask: Callable[[str], str] | None = None,
        say: Callable[[str], None] | None = None,
    ) -> Connection | None:
        """Sign in from a terminal: print the consent URL, read the pasted address.

        Asks again after a mistake, and asks which site to use when the login covers
        several and none is configured.

        Parameters
        ----------
        switch : bool
            Sign in again even when someone is signed in already (to change account).
        ask, say : callable, optional
            Read an answer to a prompt, and show a line; ``input`` and ``print`` by default.

        Returns
        -------
        Connection or None
            Who is connected now (``None`` only if the login was removed meanwhile).

        Raises
        ------
        EOFError
            The input ended before a sign-in address was given.
        """
        ask = input if ask is None else ask
        say = print if say is None else say
        current = self.connection()
        if current is not None and not switch:
            say("Already signed in.")
            for line in current.lines():
                say(f"  {line}")
            say("To sign in as someone else: python -m jsm_nb login --switch")
            return current
        for line in self._instructions():
            say(line)
        self._start_over = START_OVER["terminal"]
        try:
            while True:
                url = self.authorization_url
                try:
                    self.submit(ask("Address you were sent back to: "))
                    break
                except AuthorizationError as error:
                    say(str(error))
                    if self.authorization_url != url:
                        say(f"Open this new consent page: {self.authorization_url}")
                    else:
                        say(f"The consent page is still: {url}")
        finally:
            self._start_over = START_OVER["widget"]
        return self._ask_site(ask, say)

    def _instructions(self) -> list[str]:
        where = " (jsm_nb's sandbox: a fake Atlassian on this machine)" if self.sandbox else ""
        return [
            f"Sign in to Jira Service Management{where}:",
            "  1. Open this page in a browser and choose Accept:",
            f"     {self.authorization_url}",
            f"  2. The browser is sent to {self.config.redirect_uri}?code=... It may say that",
            "     the page cannot be reached: that is expected. Copy the whole address",
            "     from the address bar and paste it here.",
        ]

    def _ask_site(self, ask: Callable[[str], str], say: Callable[[str], None]) -> Connection | None:
        connection = self.connection()
        choosable = connection is not None and len(connection.sites) > 1 and not self.config.site
        if connection is not None and choosable and connection.site is None:
            say("This login covers several sites:")
            for number, site in enumerate(connection.sites, 1):
                say(f"  {number}. {site.name} ({site.url})")
            numbers = [str(n) for n in range(1, len(connection.sites) + 1)]
            answer = ask(f"Which one should jsm_nb.session() open? [1-{len(numbers)}] ").strip()
            while answer not in numbers:
                answer = ask(f"Type a number from 1 to {len(numbers)}: ").strip()
            self.choose_site(connection.sites[int(answer) - 1])
            connection = self.connection()
        for line in connection.lines() if connection is not None else []:
            say(line)
        return connection

    @contextlib.contextmanager
    def _reporting(self) -> Iterator[None]:
        """Report a JsmError raised in the block, then let it go on."""
        try:
            yield
        except JsmError as error:
            self._emit(LoginEvent("failed", str(error)))
            raise

    def _emit(self, event: LoginEvent) -> None:
        for callback in list(self._callbacks):
            callback(event)


def login(
    config: Config | None = None,
    store: Store | None = None,
    *,
    auto_capture: bool | None = None,
    prompt: bool | None = None,
) -> Login:
    """Start (or resume) signing in to Atlassian with OAuth 2.0 (3LO).

    Parameters
    ----------
    config : Config, optional
        The app's settings; ``Config.from_env()`` by default. With no client id,
        the built-in sandbox is used.
    store : Store, optional
        Where the login is kept; the token file of ``config`` by default.
    auto_capture : bool, optional
        Whether the notebook widget listens for the browser's return on a loopback
        callback URL; see :class:`Login`.
    prompt : bool, optional
        Whether to sign in at once through the terminal (:meth:`Login.interactive`).
        By default this happens when Python runs at a terminal, not in a notebook.

    Returns
    -------
    Login
        In a notebook, display it (the last line of a cell) to get the login widget.
        Elsewhere, open ``login.authorization_url`` in a browser, click Accept, then
        pass the address you land on to ``login.submit()``. A sign-in started earlier
        (by re-running the cell, or before a kernel restart) is resumed.

    Examples
    --------
    >>> login = jsm_nb.login()                      # doctest: +SKIP
    >>> login.submit("http://localhost:8765/callback?code=...&state=...")  # doctest: +SKIP
    >>> jsm_nb.session().get("/rest/servicedeskapi/servicedesk")  # doctest: +SKIP
    """
    config = CONTEXT.config(config)
    store = CONTEXT.store(config) if store is None else store
    signing_in = Login(config, store, auto_capture=auto_capture)
    if _in_terminal() if prompt is None else prompt:
        signing_in.interactive()
    return signing_in
