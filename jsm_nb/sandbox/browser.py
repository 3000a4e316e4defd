"""The sandbox user's browser: open a consent page and click Accept or Deny.

Plain ``http.client``, not requests: a browser's traffic never shows in the
kernel's logs, and neither should the consent URL's ``state`` when the sandbox
plays the browser (urllib3 logs every URL at DEBUG level).
"""

from __future__ import annotations

import html
import http.client
import re
from urllib.parse import urlencode, urlsplit

from ..errors import AuthorizationError

__all__ = ["approve"]

_REQUEST_ID = re.compile(r'name="request_id" value="([^"]*)"')
_ERROR_TEXT = re.compile(r'<p id="error">(.*?)</p>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def _page_error(page: str) -> str:
    """The error text of one of the sandbox's HTML error pages."""
    found = _ERROR_TEXT.search(page)
    text = found.group(1) if found else _TAG.sub(" ", page)
    return " ".join(html.unescape(text).split())


def _browse(
    method: str, url: str, form: dict[str, str] | None = None
) -> tuple[int, str | None, str]:
    """One request of the user's browser: its status, ``Location`` and page."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        body = None if form is None else urlencode(form)
        headers = {} if form is None else {"Content-Type": "application/x-www-form-urlencoded"}
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, target, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader("Location"), answer.read().decode("utf-8", "replace")
    finally:
        connection.close()


def approve(auth_url: str, authorization_url: str, *, deny: bool = False) -> str:
    """Play the user of the sandbox at ``auth_url``: open the consent page, click Accept (or Deny).

    Parameters
    ----------
    auth_url : str
        The sandbox's authorisation server, ``http://127.0.0.1:PORT``.
    authorization_url : str
        The consent URL a client built (``{auth_url}/authorize?...``).
    deny : bool
        Click Deny instead of Accept.

    Returns
    -------
    str
        Where the browser is sent: the callback URL with ``code`` and
        ``state``, or with ``error=access_denied``, ``error_description``
        and ``state``.

    Raises
    ------
    jsm_nb.AuthorizationError
        The URL is not this sandbox's consent URL, or the sandbox refuses
        it; the message carries the sandbox's explanation.
    """
    parts = urlsplit(authorization_url)
    if f"{parts.scheme}://{parts.netloc}" != auth_url or parts.path != "/authorize":
        raise AuthorizationError(
            f"{authorization_url!r} is not this sandbox's consent URL: "
            f"it should start with {auth_url}/authorize?",
            setting="JSM_NB_AUTH_URL",
        )
    page_status, _, page = _browse("GET", authorization_url)
    request_id = _REQUEST_ID.search(page)
    if page_status != 200 or request_id is None:
        raise AuthorizationError(f"The sandbox refused the consent URL: {_page_error(page)}")
    decision = {
        "request_id": html.unescape(request_id.group(1)),
        "decision": "deny" if deny else "accept",
    }
    status, location, text = _browse("POST", f"{auth_url}/authorize/decision", decision)
    if status != 302 or location is None:
        raise AuthorizationError(f"The sandbox refused the choice: {_page_error(text)}")
    return location
