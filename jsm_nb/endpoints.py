"""Atlassian's endpoints: their templates, which burst limits are per, and their published rates.

Atlassian's burst limit is a token bucket per site, per endpoint and per method:
``/request/ITH-1/sla`` and ``/request/ITH-2/sla`` draw on one bucket.
:func:`endpoint` turns a path into that endpoint's template.
"""

from __future__ import annotations

import functools
import itertools
import re
from urllib.parse import unquote, urlsplit

__all__ = [
    "DOCUMENTED_ENDPOINT_RATE",
    "DOCUMENTED_RATE",
    "documented_rate",
    "endpoint",
    "issue_of",
]

#: Atlassian's published burst rates (requests per second) per method...
DOCUMENTED_RATE = {"GET": 100.0, "HEAD": 100.0, "POST": 100.0, "PUT": 50.0, "DELETE": 50.0}
#: ... the rate of any other method...
OTHER_METHOD_RATE = 50.0
#: ... and per endpoint, where Atlassian publishes an override. ``{key}`` and ``{id}`` are
#: both listed for the issue endpoints, which accept either (the changelog row is published
#: as ``GET .../changelog``: reading it as the issue changelog is an inference).
DOCUMENTED_ENDPOINT_RATE = {
    ("GET", "/rest/servicedeskapi/servicedesk/{id}/customer"): 5.0,
    ("GET", "/rest/api/3/issue/{key}"): 150.0,
    ("GET", "/rest/api/3/issue/{id}"): 150.0,
    ("GET", "/rest/api/3/issue/{key}/changelog"): 200.0,
    ("GET", "/rest/api/3/issue/{id}/changelog"): 200.0,
    ("POST", "/rest/api/3/search/approximate-count"): 150.0,
}


_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+")
_OPAQUE_ID = re.compile(
    r"\d+|(?:\d+:)?(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{24,})"
)
_VERSION = re.compile(r"\d+(?:\.\d+)?|latest")


def endpoint(path: str) -> str:
    """The endpoint template of ``path``, which Atlassian's burst buckets are per.

    ``/rest/servicedeskapi/request/ITH-42/sla`` becomes ``/rest/servicedeskapi/request/{key}/sla``:
    issue keys become ``{key}``; numbers, UUIDs (cloud ids) and account ids become
    ``{id}``. The API version (``/rest/api/3``) is kept, the query string, the
    gateway's ``/ex/jira/{cloudid}`` prefix and a trailing slash are dropped. A full
    URL is accepted.
    """
    return _template(urlsplit(path).path)


@functools.lru_cache(maxsize=4096)  # every request asks, twice: the same few paths
def _template(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    if segments[:2] == ["ex", "jira"]:
        segments = segments[3:]
    kept = (
        3
        if segments[:1] == ["rest"] and len(segments) > 2 and _VERSION.fullmatch(segments[2])
        else 0
    )
    out = segments[:kept]
    for segment in segments[kept:]:
        text = unquote(segment)
        if _OPAQUE_ID.fullmatch(text):
            out.append("{id}")
        elif _ISSUE_KEY.fullmatch(text):
            out.append("{key}")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def issue_of(path: str) -> str | None:
    """The issue (key or id) a path is about, for Atlassian's per-issue write limit."""
    segments = [unquote(s) for s in urlsplit(path).path.split("/") if s]
    for before, after in itertools.pairwise(segments):
        if before in ("issue", "request") and (_ISSUE_KEY.fullmatch(after) or after.isdigit()):
            return after.upper()
    return None


def documented_rate(method: str, template: str) -> float:
    """Atlassian's published burst rate (requests per second) for an endpoint."""
    method = method.upper()
    return DOCUMENTED_ENDPOINT_RATE.get(
        (method, template), DOCUMENTED_RATE.get(method, OTHER_METHOD_RATE)
    )
