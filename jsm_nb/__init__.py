"""jsm_nb: Jira Service Management Cloud in a notebook, over OAuth 2.0 (3LO).

>>> import jsm_nb
>>> login = jsm_nb.login()          # open login.authorization_url, paste back the address
>>> s = jsm_nb.session()            # an auto-refreshing requests session for the site
"""

from .api import (
    approvals,
    comments,
    customer_requests,
    customers,
    frame,
    jql,
    me,
    organizations,
    queue_issues,
    queues,
    request_status_history,
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
    JsmError,
    LoginRequired,
    TokenStoreError,
)
from .login import Login, login
from .session import JsmSession, Site, session
from .store import FileStore, MemoryStore

__all__ = [
    "ApiError",
    "AuthorizationError",
    "Config",
    "ConfigError",
    "FileStore",
    "JsmError",
    "JsmSession",
    "Login",
    "LoginRequired",
    "MemoryStore",
    "Site",
    "TokenStoreError",
    "approvals",
    "comments",
    "customer_requests",
    "customers",
    "frame",
    "jql",
    "login",
    "me",
    "organizations",
    "queue_issues",
    "queues",
    "request_status_history",
    "request_types",
    "service_desks",
    "session",
    "sites",
    "sla",
]
