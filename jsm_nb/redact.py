"""Keep tokens, codes, ``state``, PKCE values and the client secret out of log lines.

requests-oauthlib logs whole token responses and request bodies at DEBUG.
:func:`install` puts a filter on its logger that rewrites each record with the
secret values replaced by ``<redacted>``.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install", "redact"]

_SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "code_challenge",
    "code",
    "state",
)
_SECRET_KEYS = f"(?:{'|'.join(_SECRET_FIELDS)})"
_REPLACEMENTS = [
    # 'key': 'value' (a dict's repr) and "key": "value" (JSON)
    (re.compile(rf"""(['"]{_SECRET_KEYS}['"]\s*:\s*)(['"])[^'"]*\2"""), r"\1\2<redacted>\2"),
    # key=value (a form body or a query string)
    (re.compile(rf"""(\b{_SECRET_KEYS}=)[^&\s'"]+"""), r"\1<redacted>"),
    # Authorization: Bearer value
    (re.compile(r"""(\bBearer\s+)[^\s'",}]+""", re.IGNORECASE), r"\1<redacted>"),
]
_LOGGERS = ("requests_oauthlib", "requests_oauthlib.oauth2_session", "oauthlib")


def redact(text: str) -> str:
    """Return ``text`` with the values of token-like fields replaced by ``<redacted>``."""
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


_FILTER = _RedactingFilter()


def install() -> None:
    """Put the redacting filter on the loggers of requests-oauthlib and oauthlib (once)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
