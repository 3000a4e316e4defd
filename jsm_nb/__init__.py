"""jsm_nb: Jira Service Management Cloud in a notebook, over OAuth 2.0 (3LO).

>>> import jsm_nb
>>> login = jsm_nb.login()          # open login.authorization_url, paste back the address
>>> s = jsm_nb.session()            # an auto-refreshing requests session for the site
"""

import importlib as _importlib
import typing as _typing

from .api import (
    Records,
    approvals,
    articles,
    comments,
    customer_requests,
    customers,
    feedback,
    fields,
    frame,
    info,
    jql,
    me,
    organization_users,
    organizations,
    participants,
    queue,
    queue_issues,
    queues,
    request_status_history,
    request_type_fields,
    request_type_groups,
    request_types,
    service_desks,
    sites,
    sla,
)
from .config import Config
from .errors import (
    ApiError,
    AuthorizationError,
    ConfigError,
    InvalidArgument,
    JsmError,
    LoginRequired,
    MirrorBusy,
    MirrorMismatch,
    RateLimited,
    TokenRefused,
    TokenStoreError,
    show_traceback,
)
from .mirrors import SyncReport, mirror, mirror_export, mirror_frame, sync
from .tables import styled

if _typing.TYPE_CHECKING:
    from .account import Connection
    from .rate_usage import Usage, usage
    from .sessions import JsmSession, session
    from .signin import Login, LoginEvent, login
    from .site_choice import Site
    from .store import FileStore, MemoryStore, Store

__all__ = [
    "ApiError",
    "AuthorizationError",
    "Config",
    "ConfigError",
    "Connection",
    "FileStore",
    "InvalidArgument",
    "JsmError",
    "JsmSession",
    "Login",
    "LoginEvent",
    "LoginRequired",
    "MemoryStore",
    "MirrorBusy",
    "MirrorMismatch",
    "RateLimited",
    "Records",
    "Site",
    "Store",
    "SyncReport",
    "TokenRefused",
    "TokenStoreError",
    "Usage",
    "approvals",
    "articles",
    "comments",
    "customer_requests",
    "customers",
    "feedback",
    "fields",
    "frame",
    "info",
    "jql",
    "login",
    "me",
    "mirror",
    "mirror_export",
    "mirror_frame",
    "organization_users",
    "organizations",
    "participants",
    "queue",
    "queue_issues",
    "queues",
    "request_status_history",
    "request_type_fields",
    "request_type_groups",
    "request_types",
    "service_desks",
    "session",
    "show_traceback",
    "sites",
    "sla",
    "styled",
    "sync",
    "usage",
]

# The sign-in side (requests-oauthlib, the loopback server) is imported on
# first use of one of these names, so that ``import jsm_nb`` costs little more than
# pandas and requests (bench/startup.py).
_LAZY = {
    "Connection": "account",
    "Login": "signin",
    "LoginEvent": "signin",
    "login": "signin",
    "JsmSession": "sessions",
    "Site": "site_choice",
    "session": "sessions",
    "FileStore": "store",
    "MemoryStore": "store",
    "Store": "store",
    "Usage": "rate_usage",
    "usage": "rate_usage",
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
