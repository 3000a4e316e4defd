"""The login widget: what a :class:`~jsm_nb.signin.Login` shows in a notebook.

Imported only when a Login is displayed, so that ipywidgets loads only then.
The widget holds no logic of its own: its buttons call the Login's methods, and
it redraws itself from the Login's events (which may come from the loopback
listener's thread) and from :meth:`Login.connection`.

No sign-in secret is in the widgets' synced state, which Jupyter saves into the
notebook (JupyterLab's "Save Widget State Automatically", ``nbconvert --execute``):
the consent page's address holds the one-time ``state`` and the PKCE challenge, so
the Connect link (:class:`ConnectLink`) gets it in a custom message, which is never
saved, each time a view of it appears; and the paste box is emptied once its
address has been submitted.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as widgets
import traitlets

from . import loopback
from .account import Connection
from .errors import JsmError
from .site_choice import Site

if TYPE_CHECKING:
    from .signin import Login, LoginEvent

__all__ = ["ConnectLink", "LoginWidget"]

_LINK_STYLE = (
    "display:inline-block;padding:6px 14px;border-radius:3px;background:#0052cc;"
    "color:#fff;font-weight:600;text-decoration:none"
)
# The link's front end: asks the kernel for the address when it appears, takes it from
# a custom message (never synced state), and tells the kernel when it is clicked.
_CONNECT_ESM = """
function render({ model, el }) {
  const link = document.createElement("a");
  link.textContent = model.get("label");
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.style.cssText = model.get("link_style");
  const take = (message) => {
    if (!message || message.kind !== "url") return;
    if (message.url) link.href = message.url;
    else link.removeAttribute("href");
  };
  const opened = () => model.send({ kind: "opened" });
  model.on("msg:custom", take);
  link.addEventListener("click", opened);
  link.addEventListener("auxclick", opened);
  el.appendChild(link);
  model.send({ kind: "ready" });
  return () => {
    model.off("msg:custom", take);
    link.removeEventListener("click", opened);
    link.removeEventListener("auxclick", opened);
  };
}
export default { render };
"""
_BANNER_STYLE = "padding:6px 10px;border-radius:3px;background:#fff7d6;border:1px solid #e2b203"
_STATUS_COLOUR = {True: "#216e4e", False: "#ae2e24"}


def _show(widget: Any, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def _fitting() -> Any:
    """A button's layout as wide as its label (the default width cuts longer ones)."""
    return widgets.Layout(width="auto")


class ConnectLink(anywidget.AnyWidget):
    """The Connect to Jira link: opens the consent page in a new browser tab.

    Its address (:attr:`url`) stays out of the synced state: each view asks the
    kernel for it when it appears and gets it in a custom message, as does every
    view when it changes. Until then the link has no address.

    Parameters
    ----------
    on_open : callable
        Called (on the kernel's thread) when the link is clicked in the browser.
    """

    _esm = _CONNECT_ESM
    label = traitlets.Unicode("Connect to Jira").tag(sync=True)
    link_style = traitlets.Unicode(_LINK_STYLE).tag(sync=True)

    def __init__(self, on_open: Callable[[], None]) -> None:
        super().__init__()
        self._url = ""
        self._on_open = on_open
        self.on_msg(self._on_front_end)

    @property
    def url(self) -> str:
        """The consent page the link opens (kept in the kernel, sent to each view)."""
        return self._url

    @url.setter
    def url(self, url: str) -> None:
        if url != self._url:
            self._url = url
            self._send_url()

    def _send_url(self) -> None:
        self.send({"kind": "url", "url": self._url})

    def _on_front_end(self, _: object, content: Any, buffers: object) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        if kind == "ready":
            self._send_url()
        elif kind == "opened":
            self._on_open()


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
        self.site_picker = widgets.Dropdown(
            description="Site",
            options=[],
            value=None,
            style={"description_width": "initial"},  # the label in full
            layout=widgets.Layout(width="auto", max_width="100%"),  # the sites' names too
        )
        self.sign_out_button = widgets.Button(
            description="Sign out", icon="sign-out", layout=_fitting()
        )
        self.switch_button = widgets.Button(description="Switch account", layout=_fitting())
        self.connect = ConnectLink(on_open=self._on_connect_opened)
        self.hint = widgets.HTML()
        self.paste = widgets.Text(
            placeholder="paste the address you were sent back to",
            continuous_update=False,  # the value arrives on Enter (or on leaving the box)
            layout=widgets.Layout(width="70%"),
        )
        self.submit_button = widgets.Button(
            description="Submit", button_style="primary", layout=_fitting()
        )
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
        self.capture_problem: str | None = None  # why the answer cannot be picked up
        self._lock = threading.RLock()
        self._switching = False
        self._emptied = False  # the paste box is empty because its address was submitted
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
            self._offer()
            self.hint.value = html.escape(self._hint())
            self._draw_status(event, connection, problem)

    def _offer(self) -> None:
        """Point the Connect link at the current consent page; the listener accepts its state."""
        if self.listener is not None and self.listener.active:
            self.listener.expect(self.login.state)
        self.connect.url = self.login.authorization_url

    def _draw_connection(self, connection: Connection) -> None:
        self.account.value = connection.to_html()
        # A JSM_NB_SITE that names no site of the login shows the picker too: its names
        # are the ones to choose from (the status line says to fix or unset the variable).
        choosable = len(connection.sites) > 1 and (
            not self.login.config.site or connection.site is None
        )
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
        listener = self.listener
        if listener is not None and listener.active:
            return (
                f"{first} This notebook picks the answer up by itself; if it does not, paste "
                "the address you were sent back to below and press Submit."
            )
        paste = (
            f"{first} Then paste the address you were sent back to (it starts with "
            f"{self.login.config.redirect_uri}) and press Submit. Your browser may say that "
            "page cannot be reached: that is expected, copy its address anyway."
        )
        if self.capture_problem is not None:
            return f"{paste} {self.capture_problem} Pasting works all the same."
        if listener is not None and listener.stop_reason == "timeout":
            at = time.strftime("%H:%M", time.localtime(listener.stopped_at or time.time()))
            minutes = round(listener.timeout / 60)
            return (
                f"{paste} (The notebook stopped waiting for the answer at {at}, after "
                f"{minutes} minutes without one. Pasting still works, and clicking Connect "
                "to Jira again makes the notebook wait again.)"
            )
        if listener is not None and listener.stop_reason == "closed":
            return (
                f"{paste} (A newer sign-in in this kernel now picks the answer up; pasting "
                "here still works.)"
            )
        return paste

    # -- loopback --------------------------------------------------------------------------------

    def _start_listening(self) -> None:
        if not self.login.auto_capture or (self.listener is not None and self.listener.active):
            return
        try:
            self.listener = loopback.listen(
                self.login.config.redirect_uri,
                self.login.state,
                self._capture,
                loopback.CAPTURE_TIMEOUT,
                on_stop=self._on_listener_stop,
            )
        except loopback.CaptureUnavailable as problem:
            self.listener, self.capture_problem = None, str(problem)
        else:
            self.capture_problem = None

    def _on_listener_stop(self, reason: loopback.StopReason) -> None:
        """The listener stopped (on its thread): say so, and that pasting still works."""
        with self._lock:
            self.hint.value = html.escape(self._hint())

    def _on_connect_opened(self) -> None:
        """The consent page was opened: wait for its answer from now on."""
        with self._lock:
            if self.listener is not None and self.listener.active:
                self.listener.extend()
            elif self._connection is None or self._switching:
                self._start_listening()
                self._offer()
                self.hint.value = html.escape(self._hint())

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
        if self._emptied and not text:
            return  # Enter (or leaving the box) and the button both report one paste
        # Empty the box first: the address holds a code and a state, and widget state
        # is saved with the notebook. The status line says how the submission went.
        self._emptied = True
        self.paste.value = ""
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
