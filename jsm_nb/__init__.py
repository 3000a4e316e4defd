"""jsm_nb: Jira Service Management Cloud in a notebook, over OAuth 2.0 (3LO)."""

from __future__ import annotations

from .config import Config
from .errors import (
    ApiError,
    AuthorizationError,
    ConfigError,
    JsmError,
    LoginRequired,
    TokenStoreError,
)

__all__ = [
    "ApiError",
    "AuthorizationError",
    "Config",
    "ConfigError",
    "JsmError",
    "LoginRequired",
    "TokenStoreError",
]
