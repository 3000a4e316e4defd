"""Atlassian's rate-limit headers, read: both prefixes, the structured form, all optional.

Atlassian sends, on every answer, ``X-RateLimit-Limit``/``-Remaining`` (the burst
scope) and ``X-RateLimit-NearLimit``; the IETF-draft structured
``RateLimit-Policy: "global-app-quota";q=65000;w=3600`` and
``RateLimit: "global-app-quota";t=200;r=...`` (several entries, in any order, the
policy sometimes missing); on a 429 ``Retry-After``, ``X-RateLimit-Reset`` (an ISO
time) and ``RateLimit-Reason``; on the gateway's own 429
``X-Failure-Category: FAILURE CLIENT RATE LIMITED`` without ``Retry-After``; and
informational ``Beta-``/``X-Beta-`` twins of them all. :func:`read_headers` reads
them all into plain values; a garbage value reads as absent, never raises.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = [
    "NEAR_LIMIT_SHARE",
    "Entry",
    "Pool",
    "RateHeaders",
    "RateInfo",
    "parse_time",
    "read_headers",
    "retry_after",
]

#: Waits longer than this (seconds) are garbage; they are clamped so that dates stay valid.
LONGEST_SANE_WAIT = 86_400.0
#: Atlassian flags "near the limit" when less than this share of the capacity is left.
NEAR_LIMIT_SHARE = 0.2

Pool = Literal["global", "tenant"]


def _lowered(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, str]:
    """``headers`` with lower-case names; a repeated header's values joined by commas."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in items:
        key, text = str(name).strip().lower(), str(value).strip()
        found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def _finite(text: str) -> float | None:
    """A finite number at least 0, or ``None``."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _count(value: str | None) -> int | None:
    """A whole count from a header such as ``350`` (the first of repeated values)."""
    number = _finite(value.split(",")[0]) if value else None
    return None if number is None else int(number)


def _flag(value: str | None) -> bool | None:
    text = (value or "").split(",")[0].strip().lower()
    return {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(text)


_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def _token(value: str | None) -> str | None:
    """A short name such as ``jira-burst-based``, lower-cased; anything else is dropped."""
    text = (value or "").split(",")[0].strip().strip('"')
    return text.lower() if _TOKEN.fullmatch(text) else None


def _clamp(seconds: float) -> float:
    return min(max(0.0, seconds), LONGEST_SANE_WAIT)


_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_time(value: str | None) -> dt.datetime | None:
    """A reset time from a header, as a UTC datetime, or ``None`` when unreadable.

    Reads ISO 8601 as Atlassian sends it (``2026-03-26T16:00Z``), with or
    without seconds and fractions, with ``Z`` or an offset (a time without a zone
    is taken as UTC), an HTTP date, or seconds since the epoch.
    """
    text = (value or "").strip()
    match = _ISO_TIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        offset = dt.timedelta()
        if zone and zone[0] in "+-":
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            offset = -offset if zone[0] == "-" else offset
        try:
            moment = dt.datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                int((fraction or "0")[:6].ljust(6, "0")),
                tzinfo=dt.timezone(offset),
            )
        except ValueError:  # 2026-13-45T99:00Z
            return None
        return moment.astimezone(dt.timezone.utc)
    epoch = _finite(text)
    if epoch is not None and 1e9 <= epoch < 1e11:
        return dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    parsed = email.utils.parsedate_tz(text) if text else None
    if parsed is None:
        return None
    return dt.datetime.fromtimestamp(email.utils.mktime_tz(parsed), dt.timezone.utc)


def _retry_after_seconds(value: str | None, server_now: float) -> float | None:
    """``Retry-After`` (seconds, or an HTTP date taken against ``server_now``), or ``None``."""
    text = (value or "").strip()
    if not text:
        return None
    seconds = _finite(text)
    if seconds is not None:
        return _clamp(seconds)
    parsed = email.utils.parsedate_tz(text)
    if parsed is None:
        return None  # unparseable: the usual backoff applies
    return _clamp(email.utils.mktime_tz(parsed) - server_now)


def _server_now(lowered: Mapping[str, str], now: float | None) -> float:
    """The answer's own ``Date`` (the server's clock), else ``now``, else this machine's."""
    date = email.utils.parsedate_tz(lowered.get("date", "")) if lowered.get("date") else None
    if date is not None:
        return float(email.utils.mktime_tz(date))
    return time.time() if now is None else now


def retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds the answer with ``headers`` asks to wait, or ``None`` when it does not say.

    Parameters
    ----------
    headers : mapping
        The answer's headers (names in any case).
    now : float, optional
        This machine's time, when the answer has no ``Date`` header.

    Returns
    -------
    float or None
        ``Retry-After`` is seconds or an HTTP date (RFC 9110); a date is taken
        relative to the answer's ``Date`` header (the server's clock), and to this
        machine's clock only when there is none. Garbage means ``None``.
    """
    lowered = _lowered(headers)
    return _retry_after_seconds(lowered.get("retry-after"), _server_now(lowered, now))


_PARTS = {
    separator: re.compile(rf'(?:[^{separator}"]|"[^"]*"|"[^"]*$)+') for separator in ",;"
}  # runs of anything but the separator, a quoted string counting as one character


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside double quotes (``,`` or ``;``)."""
    return [part.strip() for part in _PARTS[separator].findall(text) if part.strip()]


@dataclasses.dataclass(frozen=True)
class Entry:
    """One named limit of the structured headers (``RateLimit-Policy`` and ``RateLimit``).

    Attributes
    ----------
    name : str
        The policy, such as ``global-app-quota``, ``tenant-app-quota``, ``jira-burst-based``
        (empty when the entry had none).
    quota, window : float or None
        ``q=`` and ``w=`` of the policy: ``quota`` units per ``window`` seconds.
    remaining : float or None
        ``r=``: what is left (Atlassian sends it only when about 20 % or less is).
    reset : float or None
        ``t=``: seconds until the limit resets.
    """

    name: str
    quota: float | None = None
    window: float | None = None
    remaining: float | None = None
    reset: float | None = None

    @property
    def pool(self) -> Pool | None:
        """The quota pool this entry describes, or ``None`` for a burst or unknown entry."""
        if "quota" not in self.name:
            return None
        return "tenant" if "tenant" in self.name else "global"


_PARAMETERS = {"q": "quota", "w": "window", "r": "remaining", "t": "reset"}


def _entries(policy: str | None, limit: str | None) -> tuple[Entry, ...]:
    """The entries of a policy header and a limit header, merged by name, in order seen."""
    merged: dict[str, dict[str, float]] = {}
    for text in (policy or "", limit or ""):
        for item in _split(text, ","):
            members = _split(item, ";")
            if not members:
                continue
            name = "" if "=" in members[0] else (_token(members[0]) or "")
            values = merged.setdefault(name, {})
            for member in members if "=" in members[0] else members[1:]:
                key, _, raw = member.partition("=")
                field = _PARAMETERS.get(key.strip().lower())
                number = _finite(raw.strip().strip('"'))
                if field and number is not None:
                    values[field] = _clamp(number) if field == "reset" else number
    return tuple(Entry(name, **values) for name, values in merged.items())


@dataclasses.dataclass(frozen=True)
class RateInfo:
    """What one family of headers (enforced, or ``Beta-``) says; every field optional.

    Attributes
    ----------
    limit, remaining : int or None
        ``X-RateLimit-Limit`` / ``-Remaining``: the burst scope's capacity and what is
        left (on a quota 429, the quota's).
    near_limit : bool or None
        ``X-RateLimit-NearLimit``.
    reset_at : datetime or None
        ``X-RateLimit-Reset``, in UTC as the server wrote it.
    reset_in : float or None
        Seconds from the answer to ``reset_at``, by the server's ``Date``.
    retry_after : float or None
        ``Retry-After`` in seconds.
    reason : str or None
        ``RateLimit-Reason`` (lower case; a value that is not a short name is dropped).
    entries : tuple of Entry
        The structured ``RateLimit-Policy`` and ``RateLimit`` entries.
    """

    limit: int | None = None
    remaining: int | None = None
    near_limit: bool | None = None
    reset_at: dt.datetime | None = None
    reset_in: float | None = None
    retry_after: float | None = None
    reason: str | None = None
    entries: tuple[Entry, ...] = ()

    def entry(self, pool: Pool) -> Entry | None:
        """The quota entry of ``pool``, when the headers carry one."""
        return next((entry for entry in self.entries if entry.pool == pool), None)

    @property
    def burst_limit(self) -> float | None:
        """Requests per second of the burst scope: ``X-RateLimit-Limit``, else the
        structured burst policy's ``q / w``."""
        if self.limit is not None:
            return float(self.limit)
        burst = self._burst
        if burst is None or not burst.quota or not burst.window:
            return None
        return burst.quota / burst.window

    @property
    def burst_remaining(self) -> float | None:
        """What the burst scope has left: ``X-RateLimit-Remaining``, else the burst ``r=``."""
        if self.remaining is not None:
            return float(self.remaining)
        return None if self._burst is None else self._burst.remaining

    @property
    def near(self) -> bool:
        """Whether the server warns that the burst scope is nearly empty: NearLimit, or
        less than a fifth of it left."""
        if self.near_limit:
            return True
        burst = self._burst
        capacity = self.limit if self.limit is not None else (burst.quota if burst else None)
        left = self.burst_remaining
        if not capacity or left is None:
            return False
        return left < NEAR_LIMIT_SHARE * capacity

    @property
    def _burst(self) -> Entry | None:
        return next((entry for entry in self.entries if "burst" in entry.name), None)


_ENFORCED = {
    "limit": "x-ratelimit-limit",
    "remaining": "x-ratelimit-remaining",
    "near_limit": "x-ratelimit-nearlimit",
    "reset": "x-ratelimit-reset",
    "retry_after": "retry-after",
    "reason": "ratelimit-reason",
    "policy": "ratelimit-policy",
    "entries": "ratelimit",
}
_BETA = {
    "limit": "x-beta-ratelimit-limit",
    "remaining": "x-beta-ratelimit-remaining",
    "near_limit": "x-beta-ratelimit-nearlimit",
    "reset": "x-beta-ratelimit-reset",
    "retry_after": "beta-retry-after",
    "reason": "x-beta-ratelimit-reason",
    "policy": "beta-ratelimit-policy",
    "entries": "beta-ratelimit",
}


def _family(lowered: Mapping[str, str], names: Mapping[str, str], server_now: float) -> RateInfo:
    reset_at = parse_time(lowered.get(names["reset"]))
    reason = lowered.get(names["reason"])
    if reason is None and names is _ENFORCED:
        reason = lowered.get("x-ratelimit-reason")
    return RateInfo(
        limit=_count(lowered.get(names["limit"])),
        remaining=_count(lowered.get(names["remaining"])),
        near_limit=_flag(lowered.get(names["near_limit"])),
        reset_at=reset_at,
        reset_in=None if reset_at is None else _clamp(reset_at.timestamp() - server_now),
        retry_after=_retry_after_seconds(lowered.get(names["retry_after"]), server_now),
        reason=_token(reason),
        entries=_entries(lowered.get(names["policy"]), lowered.get(names["entries"])),
    )


_NONE = RateInfo()  # a family of which no header came


@dataclasses.dataclass(frozen=True)
class RateHeaders:
    """Every rate-limit header of one answer.

    Attributes
    ----------
    enforced : RateInfo
        The headers Atlassian enforces: these are acted on.
    beta : RateInfo
        The ``Beta-`` and ``X-Beta-`` headers: informational, only shown.
    gateway_limited : bool
        ``X-Failure-Category: FAILURE CLIENT RATE LIMITED``: the gateway's own 429,
        which comes without ``Retry-After``.
    """

    enforced: RateInfo
    beta: RateInfo
    gateway_limited: bool = False


def read_headers(headers: Any, now: float | None = None) -> RateHeaders:
    """Read Atlassian's rate-limit headers, both prefixes, every attribute optional.

    Parameters
    ----------
    headers : mapping or iterable of pairs
        The answer's headers; names in any case; a repeated header counts as one
        whose values are joined by commas.
    now : float, optional
        This machine's time (seconds since the epoch), for an answer without a
        ``Date`` header; relative times are taken against ``Date`` when there is one.

    Returns
    -------
    RateHeaders
        Garbage values are dropped (read as absent), never raised.
    """
    lowered = _lowered(headers)
    server_now = _server_now(lowered, now)
    category = lowered.get("x-failure-category", "").upper()
    return RateHeaders(
        enforced=_family(lowered, _ENFORCED, server_now),
        beta=_family(lowered, _BETA, server_now) if any("beta" in k for k in lowered) else _NONE,
        gateway_limited="RATE LIMITED" in category,
    )
