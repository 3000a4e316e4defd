"""Text that is markup: what a poisoned sandbox writes into the fields people name.

A service desk's admin names its request types, SLAs, organisations and the desk itself;
customers write summaries; the site's and the user's names come from Atlassian's account
pages. Any of them can hold HTML, and a notebook that renders one unescaped runs the
admin's script in the analyst's browser, next to their kernel. A sandbox started with
``poison=True`` (``JSM_NB_SANDBOX_POISON=1`` for :func:`jsm_nb.sandbox.default`) puts one
payload in front of every such text, a different one per field, so that a scan can tell
which field got through where.

:func:`markup` and :func:`shown` are that scan: run a notebook against a poisoned sandbox,
then give them each ``text/html`` output (and each HTML value of its widgets).

Examples
--------
>>> from jsm_nb.sandbox.data import poison
>>> poison.markup("<td>" + poison.PAYLOADS["summary"] + "</td>")
{'summary'}
>>> import html
>>> poison.shown("<td>" + html.escape(poison.PAYLOADS["summary"]) + "</td>")
{'summary'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser

__all__ = ["CALL", "PAYLOADS", "mark", "markup", "shown"]

#: What each payload's script calls, with its field's name: ``jsmxss('summary')``.
CALL = "jsmxss('{field}')"

#: One payload per poisoned field: each runs :data:`CALL` if it is rendered as markup. Each
#: is shorter than 47 characters, so pandas' cut of long cells (at 50) still shows it whole.
PAYLOADS: Mapping[str, str] = {
    "site": "<img src=x onerror=jsmxss('site')>",
    "user": "<script>jsmxss('user')</script>",
    "service_desk": "\"><svg onload=jsmxss('service_desk')>",
    "request_type": "<img src=x onerror=jsmxss('request_type')>",
    "summary": "'><details open ontoggle=jsmxss('summary')>",
    "sla": "<script>jsmxss('sla')</script>",
    "organization": "<iframe onload=jsmxss('organization')>",
}

_CALLED = re.compile(r"jsmxss\('(\w+)'\)")
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "srcdoc", "data"})


def mark(text: str, field: str, poisoned: bool) -> str:
    """``text`` with ``field``'s payload in front when ``poisoned``, else ``text`` itself."""
    return f"{PAYLOADS[field]} {text}" if poisoned else text


class _Scan(HTMLParser):
    """The payload calls that are live markup in a page, and the text it shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.live: set[str] = set()
        self.text: list[str] = []
        self._script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on") or name in _URL_ATTRIBUTES:
                self.live.update(_CALLED.findall(value or ""))
        self._script = tag in ("script", "style")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._script = False

    def handle_endtag(self, tag: str) -> None:
        self._script = False

    def handle_data(self, data: str) -> None:
        if self._script:
            self.live.update(_CALLED.findall(data))
        else:
            self.text.append(data)


def _scan(page: str) -> _Scan:
    scan = _Scan()
    scan.feed(page)
    scan.close()
    return scan


def markup(page: str) -> set[str]:
    """The fields whose payload ``page`` holds as markup (a tag that would run it).

    Parameters
    ----------
    page : str
        HTML, such as a ``text/html`` output or an HTML widget's ``value``.

    Returns
    -------
    set of str
        Keys of :data:`PAYLOADS`: a payload verbatim, an event handler or URL attribute
        that calls it, or a script that does.
    """
    verbatim = {field for field, payload in PAYLOADS.items() if payload in page}
    return verbatim | (_scan(page).live & set(PAYLOADS))


def shown(page: str) -> set[str]:
    """The fields whose payload ``page`` (as for :func:`markup`) shows whole as text: escaped."""
    text = "".join(_scan(page).text)
    return {field for field, payload in PAYLOADS.items() if payload in text}
