"""The Jira sites a login covers, and which one a session opens.

Atlassian lists a grant's sites (``accessible-resources``) in no particular order,
possibly several: one is never taken silently when there are more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .config import Config
from .context import CONTEXT
from .entries import site_entry
from .errors import ConfigError
from .store import Store

__all__ = ["Site", "choose_site", "chosen_site", "remember_site"]


@dataclass(frozen=True)
class Site:
    """A Jira site the grant covers (one entry of ``accessible-resources``)."""

    id: str
    name: str
    url: str
    scopes: tuple[str, ...] = ()

    @classmethod
    def from_resource(cls, resource: Mapping[str, Any]) -> Site:
        return cls(
            id=str(resource["id"]),
            name=str(resource.get("name", "")),
            url=str(resource.get("url", "")).rstrip("/"),
            scopes=tuple(resource.get("scopes", ())),
        )

    def matches(self, wanted: str) -> bool:
        """Whether ``wanted`` is this site's cloud id, name, URL or host name."""
        wanted = wanted.strip().rstrip("/").lower()
        host = urlsplit(self.url).hostname or ""
        return wanted in {self.id.lower(), self.name.lower(), self.url.lower(), host.lower()}


_PICK = "pick it in the login widget (jsm_nb.login()), or call jsm_nb.login().choose_site(NAME)"


def choose_site(sites: list[Site], wanted: str | None) -> Site:
    """Pick the site named by ``wanted`` (id, name or URL), else the only one.

    Raises
    ------
    ConfigError
        No site matches, the grant covers none, or several and none was named.
    """
    listing = ", ".join(f"{s.name} ({s.url})" for s in sites)
    if not sites:
        raise ConfigError(
            "The login covers no Jira site. Run jsm_nb.login() and grant access to a site.",
            variable="JSM_NB_SITE",
        )
    if wanted:
        for site in sites:
            if site.matches(wanted):
                return site
        raise ConfigError(
            f"JSM_NB_SITE is {wanted!r}, which names no site of this login; it covers: "
            f"{listing}. Set JSM_NB_SITE to one of them (its name, URL or cloud id), or unset "
            f"it and {_PICK}.",
            variable="JSM_NB_SITE",
        )
    if len(sites) > 1:
        raise ConfigError(
            f"This login covers several sites: {listing}. Choose one: {_PICK}, or set "
            "JSM_NB_SITE to its name, URL or cloud id.",
            variable="JSM_NB_SITE",
        )
    return sites[0]


def chosen_site(config: Config, store: Store) -> str | None:
    """The site asked for: ``JSM_NB_SITE`` (``config.site``), else the one chosen and kept."""
    if config.site:
        return config.site
    kept = store.read(site_entry(config))
    return kept if isinstance(kept, str) else None


def remember_site(config: Config, store: Store, site: Site) -> None:
    """Make ``site`` the one that :func:`jsm_nb.session` opens when ``JSM_NB_SITE`` is not set."""
    store.write(site_entry(config), site.id)
    CONTEXT.forget_sessions(config)
