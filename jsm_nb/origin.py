"""Which origin a URL names, read the way the connection will read it; ambiguous URLs refused.

Parsers disagree about odd URLs. In ``http://a:1\\@b:2/`` urllib3 (and so requests,
which opens the connection) reads host ``a`` port 1, while :mod:`urllib.parse` reads
host ``b`` port 2: a guard that asks the wrong parser lets a token go to ``a``.
:func:`origin_of` reads a URL with urllib3's parser and with :mod:`urllib.parse`,
and accepts it only in a plain form that every parser reads alike:
``scheme://host[:port]`` followed by ``/``, ``?``, ``#`` or nothing, where

- the scheme is ``http`` or ``https`` (in any case);
- the host is an ASCII name of non-empty labels, a dotted IPv4 address written
  the usual way, or a bracketed IPv6 address that is not an IPv4 one in disguise;
- the port, if any, is 1 to 65535 without leading zeros;
- nothing else is in the authority: no user name or password (``@``), no percent
  encoding, no spaces, no non-ASCII look-alike characters;
- nowhere in the URL is a backslash or a control character (tab, line break, NUL).

Anything else raises :class:`AmbiguousUrl`. Both the session's token guard and the
configuration's loopback check use this one reading.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from urllib.parse import urlsplit

from urllib3.util import parse_url

from .errors import JsmError

__all__ = ["DEFAULT_PORTS", "AmbiguousUrl", "Origin", "origin_of"]

DEFAULT_PORTS = {"http": 80, "https": 443}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?:[/?#].*)?", re.S)
_HOST_PORT = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]+))?")
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*")  # a label that makes a host an IPv4


class AmbiguousUrl(JsmError, ValueError):
    """A URL that parsers may read as naming different hosts, or that is not a plain URL.

    ``reason`` says what is wrong with it, as the end of a sentence that starts
    with "the URL"; the URL itself is not repeated (it may hold a password).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"The URL {reason}.")
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Origin:
    """Where a connection goes: scheme, host (lower case, IPv6 in brackets) and port."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        port = "" if DEFAULT_PORTS[self.scheme] == self.port else f":{self.port}"
        return f"{self.scheme}://{self.host}{port}"

    @property
    def is_loopback(self) -> bool:
        """Whether the host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


@functools.lru_cache(maxsize=64)  # a request's URL is checked twice: its auth, its adapter
def origin_of(url: str) -> Origin:
    """The origin that a connection to ``url`` goes to.

    Parameters
    ----------
    url : str
        An absolute http or https URL.

    Returns
    -------
    Origin
        The scheme, host and port, as urllib3 reads them (the default port filled in).

    Raises
    ------
    AmbiguousUrl
        ``url`` is not in the plain form described in this module's docstring, so
        parsers might read different hosts in it (or it is not an http(s) URL).
    """
    plain = _plain_origin(url)
    try:
        by_urllib3 = parse_url(url)
        by_stdlib = urlsplit(url)
        read = {
            _normalized(by_urllib3.scheme, by_urllib3.host, by_urllib3.port),
            _normalized(by_stdlib.scheme, by_stdlib.hostname, by_stdlib.port),
        }
    except ValueError:  # urllib3's LocationParseError is one too
        read = set()
    if read != {plain}:
        raise AmbiguousUrl("is read as naming different hosts by urllib3 and urllib.parse")
    return plain


def _plain_origin(url: str) -> Origin:
    """The origin of ``url`` by the strict grammar above, or :class:`AmbiguousUrl`."""
    if _CONTROL.search(url):
        raise AmbiguousUrl("contains a control character (such as a tab, a line break or NUL)")
    if "\\" in url:
        raise AmbiguousUrl("contains a backslash, which some parsers read as a slash")
    parts = _URL.fullmatch(url)
    if parts is None or parts["scheme"].lower() not in DEFAULT_PORTS:
        raise AmbiguousUrl("does not start with http:// or https:// and a host")
    authority = parts["authority"]
    if "@" in authority:
        raise AmbiguousUrl("has a user name or password (an '@') before its host")
    if "%" in authority:
        raise AmbiguousUrl("has percent-encoded characters in its host or port")
    if not authority.isascii():
        raise AmbiguousUrl("has characters in its host that are not plain ASCII (look-alikes)")
    host_port = _HOST_PORT.fullmatch(authority)
    if host_port is None:
        raise AmbiguousUrl("has no plain host name or IP address, with an optional port")
    port = host_port["port"]
    if port is not None and (port.startswith("0") or int(port) > 65535):
        raise AmbiguousUrl("has a port that is not a number from 1 to 65535 without leading zeros")
    return _normalized(parts["scheme"], _plain_host(host_port["host"]), port)


def _plain_host(host: str) -> str:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise AmbiguousUrl("has a malformed IPv6 address") from None
        if address.ipv4_mapped is not None:
            raise AmbiguousUrl("has an IPv4 address written as IPv6 ([::ffff:...])")
        return host
    labels = host.split(".")
    if "" in labels:
        raise AmbiguousUrl(
            "has a host name with an empty label (a leading, trailing or double dot)"
        )
    if _NUMERIC_LABEL.fullmatch(labels[-1]) and not _is_dotted_ipv4(host):
        raise AmbiguousUrl(
            "has a numeric host that is not a dotted IPv4 address written the usual way "
            "(such as 127.1, 0x7f.0.0.1 or 2130706433)"
        )
    return host


def _is_dotted_ipv4(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


def _normalized(scheme: str | None, host: str | None, port: int | str | None) -> Origin:
    """One spelling per origin: lower case, compressed IPv6 in brackets, the port filled in."""
    scheme = (scheme or "").lower()
    host = (host or "").lower().strip("[]")
    if ":" in host:
        host = f"[{ipaddress.IPv6Address(host).compressed}]"
    return Origin(scheme, host, int(port) if port is not None else DEFAULT_PORTS.get(scheme, 0))
