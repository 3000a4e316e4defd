"""Helpers about a service desk's people: customer organisations, their members, customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import pandas as pd

from .. import frames
from ..arguments import (
    required_id,
)
from .reads import (
    JSM,
    Options,
    Records,
    Result,
    ServiceDesk,
    desk_id,
    listing,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack


__all__ = ["customers", "organization_users", "organizations"]

# Each helper has three overloads: raw=False (the default) gives a DataFrame,
# raw=True the Records, and a raw known only as a bool either.


@overload
def organizations(
    service_desk: ServiceDesk | None = None,
    *,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def organizations(
    service_desk: ServiceDesk | None = None, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """Customer organisations: all of them, or those of one service desk.

    Parameters
    ----------
    service_desk : int or str, optional
        The service desk's id or project key.

    Returns
    -------
    pandas.DataFrame
        One row per organisation:

        - ``organization_id`` (string)
        - ``name`` (string)
        - ``uuid`` (string)
        - ``scim_managed`` (boolean)
        - ``created`` (datetime64[ms, UTC])
    """
    desk = "" if service_desk is None else f"/servicedesk/{desk_id(service_desk, options)}"
    path = f"{JSM}{desk}/organization"
    return listing(frames.ORGANIZATIONS, "Organisations", path, raw=raw, **options)


@overload
def organization_users(
    organization: int | str, *, raw: Literal[False] = False, **options: Unpack[Options]
) -> pd.DataFrame: ...
@overload
def organization_users(
    organization: int | str, *, raw: Literal[True], **options: Unpack[Options]
) -> Records: ...
@overload
def organization_users(
    organization: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result: ...
def organization_users(
    organization: int | str, *, raw: bool = False, **options: Unpack[Options]
) -> Result:
    """The members of a customer organisation.

    Parameters
    ----------
    organization : int or str
        The organisation's id (see :func:`organizations`).

    Returns
    -------
    pandas.DataFrame
        One row per member:

        - ``account_id`` (string)
        - ``display_name`` (string)
        - ``email_address`` (string): missing when hidden
        - ``active`` (boolean)
        - ``time_zone`` (string)
    """
    wanted = required_id(organization, "organization", "3 (see jsm_nb.organizations())")
    path = f"{JSM}/organization/{wanted}/user"
    return listing(frames.ORGANIZATION_USERS, "Organisation members", path, raw=raw, **options)


@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: Literal[False] = False,
    **options: Unpack[Options],
) -> pd.DataFrame: ...
@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: Literal[True],
    **options: Unpack[Options],
) -> Records: ...
@overload
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result: ...
def customers(
    service_desk: ServiceDesk,
    *,
    query: str | None = None,
    raw: bool = False,
    **options: Unpack[Options],
) -> Result:
    """A service desk's customers (an experimental JSM endpoint).

    Parameters
    ----------
    service_desk : int or str
        The service desk's id or project key.
    query : str, optional
        Only customers whose name or email address matches.

    Returns
    -------
    pandas.DataFrame
        One row per customer:

        - ``account_id`` (string)
        - ``display_name`` (string)
        - ``email_address`` (string)
        - ``active`` (boolean)
        - ``time_zone`` (string)
    """
    params = {"query": query}
    path = f"{JSM}/servicedesk/{desk_id(service_desk, options)}/customer"
    return listing(
        frames.CUSTOMERS, "Customers", path, params, experimental=True, raw=raw, **options
    )
