"""What is known of the app's rate limits in this process: :func:`usage`."""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING, Any

import pandas as pd

from .context import CONTEXT

if TYPE_CHECKING:
    from .sessions import JsmSession

__all__ = ["Usage", "usage"]

_QUOTA = ("pool", "policy", "limit", "remaining", "reset_at", "spent_until", "reason", "pace")
_BUCKET = (
    "rate",
    "ceiling",
    "server_limit",
    "server_remaining",
    "sent",
    "throttled",
    "held_for",
)


@dataclasses.dataclass(frozen=True)
class Usage:
    """The quota pools and burst buckets of one app, as this process knows them.

    Attributes
    ----------
    app : str or None
        The app's client id.
    quota : pandas.DataFrame
        One row per site: the pool its requests draw on (``global`` for every site
        of the app, ``tenant`` for its own), its size in points, the points left
        (Atlassian says only when about 20 % or less is left), when it resets, and
        until when it is spent.
    buckets : pandas.DataFrame
        One row per site and endpoint (``GET /rest/servicedeskapi/request/{key}/sla``):
        the rate jsm_nb paces it at (requests per second), its ceiling, the burst
        limit and remaining Atlassian announced, the requests sent and 429s met,
        and the seconds it is held for.
    """

    app: str | None
    quota: pd.DataFrame
    buckets: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"Rate limits of app {self.app}\n\nQuota\n{self.quota.to_string()}\n\n"
            f"Burst buckets\n{self.buckets.to_string()}"
        )

    def _repr_html_(self) -> str:
        """Both tables for a notebook; every value escaped (site names are API text)."""
        return (
            f"<h4>Rate limits of app {html.escape(str(self.app))}</h4>"
            f"<p>Quota</p>{self.quota.to_html(escape=True)}"
            f"<p>Burst buckets</p>{self.buckets.to_html(escape=True)}"
        )


def _site_label(site: str, about: dict[str, Any]) -> str:
    return f"{about['name']} ({site})" if about.get("name") else site


def usage(session: JsmSession | None = None) -> Usage:
    """The rate-limit state of the app: its quota pools and its burst buckets.

    What the answers so far have said (Atlassian's headers) and how jsm_nb paces
    each endpoint; it sends no request.

    Parameters
    ----------
    session : JsmSession, optional
        Whose app to show; the configured app (``Config.from_env()``) by default.

    Returns
    -------
    Usage
        Shown as two tables in a notebook.
    """
    app = session.config.client_id if session is not None else CONTEXT.config().client_id
    snapshot = CONTEXT.pacer(app).snapshot()
    quota_rows, bucket_rows = [], []
    for site, about in snapshot["sites"].items():
        label = _site_label(site, about)
        quota_rows.append({"site": label, **{k: about["quota"][k] for k in _QUOTA}})
        for name, bucket in about["buckets"].items():
            bucket_rows.append({"site": label, "endpoint": name, **{k: bucket[k] for k in _BUCKET}})
    return Usage(
        app,
        pd.DataFrame(quota_rows, columns=["site", *_QUOTA]),
        pd.DataFrame(bucket_rows, columns=["site", "endpoint", *_BUCKET]),
    )
