"""The login widget: what a :class:`~jsm_nb.signin.Login` shows in a notebook.

Imported only when a Login is displayed, so that ipywidgets loads only then.
The widget holds no logic of its own: its buttons call the Login's methods, and
it redraws itself from the Login's events (which may come from the loopback
listener's thread) and from :meth:`Login.connection`.
"""

from __future__ import annotations

import contextlib
import html
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from . import loopback
from .account import Connection
from .errors import JsmError
from .sessions import Site

if TYPE_CHECKING:
    from .signin import Login, LoginEvent

__all__ = ["LoginWidget"]

_LINK_STYLE = (
    "display:inline-block;padding:6px 14px;border-radius:3px;background:#0052cc;"
    "color:#fff;font-weight:600;text-decoration:none"
)
_BANNER_STYLE = "padding:6px 10px;border-radius:3px;background:#fff7d6;border:1px solid #e2b203"
_STATUS_COLOUR = {True: "#216e4e", False: "#ae2e24"}


def _link(url: str) -> str:
    """The Connect link: a plain anchor that opens the consent page in a new browser tab."""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer" '
        f'style="{_LINK_STYLE}">Connect to Jira</a>'
    )


def _show(widget: Any, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


class LoginWidget(widgets.VBox):  # type: ignore[misc]
    """The panel of one :class:`~jsm_nb.signin.Login`; get it as ``login.widget``.

    Its parts are attributes, so that code (and tests) can drive it: ``connect``
    (the link), ``paste`` (the text box), ``submit_button``, ``status``,
    ``account`` (who is connected), ``site_picker``, ``sign_out_button``,
    ``switch_button``.

    Parameters
    ----------
    login : Login
        The sign-in it shows and drives.
    """

    def __init__(self, login: Login) -> None:
        self.login = login
        self.banner = widgets.HTML(self._banner())
        self.account = widgets.HTML()
        self.site_picker = widgets.Dropdown(description="Site", options=[], value=None)
        self.sign_out_button = widgets.Button(description="Sign out", icon="sign-out")
        self.switch_button = widgets.Button(description="Switch account")
        self.connect = widgets.HTML()
        self.hint = widgets.HTML()
        self.paste = widgets.Text(
            placeholder="paste the address you were sent back to",
            continuous_update=False,  # the value arrives on Enter (or on leaving the box)
            layout=widgets.Layout(width="70%"),
        )
        self.submit_button = widgets.Button(description="Submit", button_style="primary")
        self.status = widgets.HTML()
        self.signed_in_box = widgets.VBox(
            [
                self.account,
                self.site_picker,
                widgets.HBox([self.sign_out_button, self.switch_button]),
            ]
        )
        self.sign_in_box = widgets.VBox(
            [self.connect, self.hint, widgets.HBox([self.paste, self.submit_button])]
        )
        super().__init__([self.banner, self.signed_in_box, self.sign_in_box, self.status])
        self.listener: loopback.CallbackListener | None = None
        self._lock = threading.RLock()
        self._switching = False
        self._submitted: str | None = None
        self._connection: Connection | None = None
        self.paste.observe(self._on_paste, names="value")
        self.submit_button.on_click(lambda _: self._submit(self.paste.value))
        self.sign_out_button.on_click(lambda _: self._quietly(self.login.sign_out))
        self.switch_button.on_click(self._on_switch)
        self.site_picker.observe(self._on_site, names="value")
        login.on_event(self._render)
        self._render(None)

    def _banner(self) -> str:
        title = "<b>Jira Service Management</b>: sign in with your Atlassian account"
        if not self.login.sandbox:
            return title
        return (
            f'{title}<div style="{_BANNER_STYLE}">Sandbox: this signs in to a fake Atlassian '
            "Cloud on this machine (jsm_nb's sandbox), with demo data. To use your Jira, set "
            "JSM_NB_CLIENT_ID and JSM_NB_CLIENT_SECRET to your app's and leave JSM_NB_AUTH_URL "
            "and JSM_NB_API_URL unset.</div>"
        )

    # -- drawing ------------------------------------------------------------------------------

    def _render(self, event: LoginEvent | None) -> None:
        """Redraw from the Login's state; ``event`` (if any) fills the status line."""
        with self._lock:
            try:
                connection = self.login.connection()
            except JsmError as error:
                connection, problem = None, str(error)
            else:
                problem = ""
            if event is not None and event.kind in ("signed_in", "signed_out"):
                self._switching = False
            self._connection = connection
            signing_in = connection is None or self._switching
            if signing_in:
                self._start_listening()
            elif self.listener is not None:
                self.listener.close(wait=False)  # it may be the thread running this
            _show(self.signed_in_box, connection is not None)
            _show(self.sign_in_box, signing_in)
            if connection is not None:
                self._draw_connection(connection)
            if event is not None and event.kind == "signed_in":
                self._submitted = self.paste.value = ""  # a click still on its way is spent
            self.connect.value = _link(self.login.authorization_url)
            self.hint.value = html.escape(self._hint())
            self._draw_status(event, connection, problem)

    def _draw_connection(self, connection: Connection) -> None:
        self.account.value = connection.to_html()
        choosable = len(connection.sites) > 1 and not self.login.config.site
        options = [(f"{site.name} ({site.url})", site) for site in connection.sites]
        self.site_picker.options = options
        self.site_picker.value = connection.site
        _show(self.site_picker, choosable)
        self.switch_button.description = "Cancel" if self._switching else "Switch account"

    def _draw_status(
        self, event: LoginEvent | None, connection: Connection | None, problem: str
    ) -> None:
        if event is not None:
            text, ok = event.message, event.ok
        elif problem:
            text, ok = problem, False
        elif connection is not None and not self._switching:
            text = f"Already signed in as {connection.name}: Switch account to use another."
            ok = True
        else:
            text, ok = "", True
        if ok and connection is not None and connection.site is None:
            text = f"{text} Pick the site to use.".strip()
        colour = _STATUS_COLOUR[ok]
        self.status.value = f'<span style="color:{colour}">{html.escape(text)}</span>'

    def _hint(self) -> str:
        first = "Click Connect to Jira and choose Accept on Atlassian's page."
        if self.listener is not None and self.listener.active:
            return (
                f"{first} This notebook picks the answer up by itself; if it does not, paste "
                "the address you were sent back to below and press Submit."
            )
        busy = ""
        if self.login.auto_capture and self.listener is None:
            busy = (
                f" (Another program uses the port of {self.login.config.redirect_uri}, so "
                "the answer cannot be picked up by itself.)"
            )
        return (
            f"{first} Then paste the address you were sent back to (it starts with "
            f"{self.login.config.redirect_uri}) and press Submit. Your browser may say that "
            f"page cannot be reached: that is expected, copy its address anyway.{busy}"
        )

    # -- loopback --------------------------------------------------------------------------------

    def _start_listening(self) -> None:
        if not self.login.auto_capture or (self.listener is not None and self.listener.active):
            return
        self.listener = loopback.listen(
            self.login.config.redirect_uri, lambda: self.login.state, self._capture
        )

    def _capture(self, query: str) -> str | None:
        """Complete the sign-in from the loopback listener's callback (on its thread)."""
        try:
            self.login.submit(query)
        except JsmError as error:
            return str(error)
        return None

    # -- controls ------------------------------------------------------------------------------

    def _on_paste(self, change: dict[str, Any]) -> None:
        if str(change["new"]).strip():
            self._submit(change["new"])

    def _submit(self, text: str) -> None:
        if text == self._submitted:
            return  # Enter (or leaving the box) and the button both report one paste
        self._submitted = text
        self._quietly(lambda: self.login.submit(text))

    def _on_switch(self, _: Any) -> None:
        with self._lock:
            self._switching = not self._switching
        self._render(None)

    def _on_site(self, change: dict[str, Any]) -> None:
        site: Site | None = change["new"]
        current = self._connection.site if self._connection is not None else None
        if site is not None and site != current:
            self._quietly(lambda: self.login.choose_site(site))

    @staticmethod
    def _quietly(action: Callable[[], object]) -> None:
        """Run ``action``; a JsmError it raises is already on the status line (an event)."""
        with contextlib.suppress(JsmError):
            action()
