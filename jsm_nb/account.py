"""Who is signed in, to which site, and until when: :class:`Connection`.

What the login widget, the terminal sign-in and a session's notebook display show.
It holds no token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from typing import TYPE_CHECKING

from .entries import login_entry
from .errors import ApiError, JsmError
from .site_choice import Site

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = ["INACTIVITY_LIMIT", "Connection", "connection_html", "connection_of"]

INACTIVITY_LIMIT = dt.timedelta(days=90)  # Atlassian ends a login unused for this long


@dataclasses.dataclass(frozen=True)
class Connection:
    """Who is signed in, to which site, and until when (never a token).

    Attributes
    ----------
    name, email : str
        The Atlassian account, from ``/me``.
    site : Site or None
        The site :func:`jsm_nb.session` opens; ``None`` while one must be chosen.
    sites : tuple of Site
        Every site the login covers.
    expires : datetime.datetime
        When the login ends if it is not used. With a refresh token that is 90 days
        after the last renewal, and each use renews it; without one, it is when the
        access token expires.
    renews : bool
        Whether the login renews itself (it has a refresh token).
    note : str
        Why no site is chosen, when none is.
    """

    name: str
    email: str
    site: Site | None
    sites: tuple[Site, ...]
    expires: dt.datetime
    renews: bool
    note: str = ""

    def lines(self) -> list[str]:
        """The connection as lines of plain text, for a terminal."""
        return [f"Connected as {self.name} <{self.email}>", self._site_text(), self._expiry_text()]

    def to_html(self) -> str:
        """The connection as an HTML table, every value escaped."""
        rows = [
            ("Connected as", f"{self.name} <{self.email}>"),
            ("Site", self._site_text().removeprefix("Site: ")),
            ("Login expires", self._expiry_text().removeprefix("Login expires: ")),
        ]
        cells = "".join(
            f'<tr><th style="text-align:left;padding-right:1em">{html.escape(label)}</th>'
            f'<td style="text-align:left">{html.escape(value)}</td></tr>'
            for label, value in rows
        )
        return f'<table class="jsm-nb-connection">{cells}</table>'

    def _site_text(self) -> str:
        if self.site is not None:
            return f"Site: {self.site.name} ({self.site.url})"
        return f"Site: none chosen yet. {self.note}".rstrip()

    def _expiry_text(self) -> str:
        when = self.expires.strftime("%Y-%m-%d %H:%M %Z")
        if self.renews:
            return f"Login expires: {when} if unused (each use renews it for 90 days)"
        return (
            f"Login expires: {when} (no refresh token: add offline_access to JSM_NB_SCOPES "
            "to stay signed in)"
        )


def connection_of(http: JsmSession, note: str = "") -> Connection:
    """The connection behind ``http``: its account (``/me``), sites and stored expiry.

    Parameters
    ----------
    http : JsmSession
        A signed-in session; its ``site`` may be ``None``.
    note : str
        Why ``http`` has no site, when it has none.

    Raises
    ------
    ApiError
        Atlassian refused ``/me`` or ``accessible-resources``.
    LoginRequired
        The login is gone or dead.
    """
    sites = tuple(http.accessible_sites())
    response = http.get(f"{http.api_url}/me")
    if not response.ok:
        raise ApiError.from_response(response)
    account = response.json()
    token = http.tokens.store.read(login_entry(http.config)) or {}
    renews = "refresh_token" in token
    if renews:
        expires = dt.datetime.fromtimestamp(float(token["obtained_at"])) + INACTIVITY_LIMIT
    else:
        expires = dt.datetime.fromtimestamp(float(token.get("expires_at", 0)))
    return Connection(
        name=str(account.get("name") or account.get("nickname") or account.get("account_id")),
        email=str(account.get("email", "")),
        site=http.site,
        sites=sites,
        expires=expires.astimezone(),
        renews=renews,
        note=note,
    )


def connection_html(http: JsmSession) -> str:
    """HTML saying who is connected through ``http`` to which site (for ``_repr_html_``)."""
    try:
        return connection_of(http).to_html()
    except JsmError as error:
        site = http.site.name if http.site else "no site"
        return f"<p>JsmSession for {html.escape(site)}: {html.escape(str(error))}</p>"
