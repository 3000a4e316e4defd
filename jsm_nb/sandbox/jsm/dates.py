"""Times on the wire: JSM's date objects, Jira's timestamps, and durations.

Every time is shown in the site's zone; "friendly" texts are relative to the sandbox's
seeded now, :data:`.NOW_MS`, even once a site's clock has moved on (``SiteData.now``), so
that a request no change touched reads the same in every version of its site.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta

from ..data import MINUTE, NOW_MS, SiteData
from .calls import Json

__all__ = ["duration", "jira_time", "jsm_date"]

_EPOCH = date(1970, 1, 1)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MINUTES = tuple(
    (f"{hour:02d}:{minute:02d}", f"{(hour % 12) or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}")
    for hour in range(24)
    for minute in range(60)
)
"""Each minute of a day as ISO text (``15:07``) and as a 12-hour clock reads it (``3:07 PM``)."""


@functools.lru_cache(maxsize=64)
def _offset(utc_offset: int) -> str:
    hours, minutes = divmod(abs(utc_offset), 60)
    return f"{'-' if utc_offset < 0 else '+'}{hours:02d}{minutes:02d}"


@functools.lru_cache(maxsize=8192)
def _day(utc_offset: int, day: int) -> tuple[str, str]:
    """A local day as ISO text and as a person reads it next to the sandbox's now."""
    date = _EPOCH + timedelta(days=day)
    days_ago = (NOW_MS // 1000 + utc_offset * 60) // 86_400 - day
    if days_ago == 0:
        friendly = "Today"
    elif days_ago == 1:
        friendly = "Yesterday"
    elif 1 < days_ago < 7:
        friendly = _DAYS[date.weekday()]
    else:
        friendly = f"{date.day:02d}/{_MONTHS[date.month - 1]}/{date.year % 100:02d}"
    return date.isoformat(), friendly


def _stamp(site: SiteData, epoch_ms: int) -> tuple[str, str, str]:
    """ISO date and time without zone, the friendly day, and the 12-hour clock."""
    minute, second = divmod(epoch_ms // 1000 + site.utc_offset * 60, 60)
    day, minute = divmod(minute, 1440)
    iso_day, friendly = _day(site.utc_offset, day)
    iso_minute, clock = _MINUTES[minute]
    return f"{iso_day}T{iso_minute}:{second:02d}", friendly, clock


def jira_time(site: SiteData, epoch_ms: int) -> str:
    """Jira's timestamp: ISO 8601 with milliseconds, in the site's zone."""
    return f"{_stamp(site, epoch_ms)[0]}.{epoch_ms % 1000:03d}{_offset(site.utc_offset)}"


def jsm_date(site: SiteData, epoch_ms: int) -> Json:
    """JSM's date object; ``friendly`` is relative to the sandbox's now, as a person reads it."""
    stamp, friendly, clock = _stamp(site, epoch_ms)
    offset = _offset(site.utc_offset)
    return {
        "iso8601": f"{stamp}{offset}",
        "jira": f"{stamp}.{epoch_ms % 1000:03d}{offset}",
        "friendly": f"{friendly} {clock}",
        "epochMillis": epoch_ms,
    }


def duration(millis: int) -> Json:
    """JSM's duration object: the milliseconds, and hours and minutes as a person reads them."""
    hours, minutes = divmod(abs(millis) // MINUTE, 60)
    sign = "-" if millis < 0 else ""
    return {
        "millis": millis,
        "friendly": f"{sign}{hours}h {minutes}m" if minutes else f"{sign}{hours}h",
    }
