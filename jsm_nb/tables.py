"""Styled tables that show API text as text: :func:`styled`.

pandas escapes a DataFrame's own HTML, but not its Styler's (``DataFrame.style``):
there, a request type that a service desk's admin named ``<img src=x onerror=...>``
becomes an image tag whose script runs in the notebook, next to the kernel.
:func:`styled` is ``data.style.format(...)`` with every cell, every index and
column label and the axes' names escaped.
"""

from __future__ import annotations

import html
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = ["styled"]


def _escaped(names: Sequence[Hashable]) -> list[Hashable]:
    """Axis names with text HTML-escaped (the Styler shows them as they are)."""
    return [html.escape(name) if isinstance(name, str) else name for name in names]


def styled(data: pd.DataFrame | pd.Series, formatter: Any = None, **options: Any) -> Styler:
    """``data.style.format(formatter, **options)``, with all its text HTML-escaped.

    Parameters
    ----------
    data : DataFrame or Series
        The table; a Series is shown as a one-column frame.
    formatter : str, callable or dict, optional
        As for ``Styler.format``: ``"{:.0%}"`` shows fractions as percentages.
    **options
        Other arguments of ``Styler.format`` (``na_rep``, ``precision``, ``subset``, ...).

    Returns
    -------
    pandas.io.formats.style.Styler
        Display it, or style it further. A later ``.format`` or ``.format_index``
        call replaces this one's escaping for what it covers: give it
        ``escape="html"`` too.

    Examples
    --------
    >>> jsm_nb.styled(rates, "{:.0%}")  # doctest: +SKIP
    """
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    shown = frame.copy(deep=False)
    shown.index = frame.index.set_names(_escaped(frame.index.names))
    shown.columns = frame.columns.set_names(_escaped(frame.columns.names))
    styler: Styler = (
        shown.style.format(escape="html")  # every cell, whatever ``subset`` leaves out
        .format(formatter, escape="html", **options)
        .format_index(escape="html", axis="index")
        .format_index(escape="html", axis="columns")
    )
    return styler
