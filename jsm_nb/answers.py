"""An answer's JSON body, decoded once for everyone who reads it.

The session's adapter (:mod:`jsm_nb.pacing`) decodes a successful JSON answer to count
what it cost, and the helper that asked for it then reads the same body: a search page of
100 issues is about 2 ms of decoding, which the second reader should not pay again.
:func:`json_body` keeps the decoded value for as long as the response lives.
"""

from __future__ import annotations

import weakref
from typing import Any

import requests

__all__ = ["json_body"]

_DECODED: weakref.WeakKeyDictionary[requests.Response, Any] = weakref.WeakKeyDictionary()


def json_body(response: requests.Response) -> Any:
    """``response.json()``, decoded at most once per response.

    The value is shared by every reader of the response: read it, do not change it.

    Raises
    ------
    ValueError
        The body is not JSON (``requests``' ``JSONDecodeError``), as ``response.json()``.
    """
    try:
        return _DECODED[response]
    except KeyError:
        decoded = _DECODED[response] = response.json()
        return decoded
