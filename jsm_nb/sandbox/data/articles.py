"""The knowledge base: a few Confluence articles per service desk, and the groups of a desk.

Articles are found by words of their title or excerpt, as JSM's search finds them; their
page ids are site-wide. Request type groups are the portal groups of the desk catalogue,
numbered site-wide in desk order.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .desks import DESKS
from .model import Desk, SiteData
from .poison import mark

__all__ = ["ARTICLES", "Article", "find_articles", "request_type_groups"]


class Article(NamedTuple):
    """A knowledge base article: its Confluence page, space, title and excerpt."""

    page_id: int
    space_key: str
    title: str
    excerpt: str


# fmt: off
_TEXTS = {
    "ITH": (
        ("Reset your password", "Change an expired password and unlock your account."),
        ("Set up the VPN client", "Install the VPN client and sign in from home or a hotel."),
        ("Fix Outlook password prompts", "What to do when Outlook keeps asking for a password."),
        ("Move your authenticator to a new phone", "Transfer MFA before you wipe the old phone."),
    ),
    "HR": (
        ("Book annual leave", "How to request leave and see your remaining days."),
        ("Your first week", "What new starters need before their first day."),
    ),
    "FAC": (
        ("Book a meeting room", "Rooms, their screens, and how to book them."),
        ("Report a building fault", "Lights, heating, lifts: who fixes what."),
    ),
    "CS": (
        ("Export a dashboard", "Export dashboards and reports to PDF or CSV."),
        ("Reset your password", "Reset the password of your customer account."),
    ),
}
# fmt: on

#: The articles of each desk, by desk key.
ARTICLES: dict[str, tuple[Article, ...]] = {}
_page = 33_000
for _key, _texts in _TEXTS.items():
    ARTICLES[_key] = tuple(
        Article(_page + n, f"KB{_key}", title, excerpt) for n, (title, excerpt) in enumerate(_texts)
    )
    _page += 100


def find_articles(desks: tuple[Desk, ...], query: str) -> list[Article]:
    """The articles of ``desks`` that hold every word of ``query`` (any case, word starts)."""
    terms = [t.lower() for t in re.findall(r"\w+", query)]
    found = []
    for desk in desks:
        for article in ARTICLES.get(desk.key, ()):
            words = re.findall(r"\w+", f"{article.title} {article.excerpt}".lower())
            if all(any(w.startswith(t) for w in words) for t in terms):
                found.append(article)
    return found


def request_type_groups(site: SiteData, desk: Desk) -> tuple[tuple[int, str], ...]:
    """The desk's request type groups, ``(id, name)`` in portal order.

    Their ids are those of :attr:`RequestType.group_ids`; an admin names them, so a
    poisoned site marks them as it marks request types.
    """
    first = 1 + sum(len(spec.groups) for spec in DESKS[: desk.index])
    names = DESKS[desk.index].groups
    return tuple(
        (first + n, mark(name, "request_type", site.poisoned)) for n, name in enumerate(names)
    )
