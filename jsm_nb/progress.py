"""Progress bars for fetches of more than one page.

The bar is tqdm's notebook-aware one (``tqdm.auto``), imported only when a bar
is shown. It counts rows and pages, and appears from the second page on, so a
one-page answer never shows one. ``progress=None`` shows it in interactive
sessions only (a notebook kernel, or a terminal), never in CI logs.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["Bar", "bar", "interactive"]


def interactive() -> bool:
    """Whether someone is watching: a Jupyter kernel, or standard error on a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if type(shell).__name__ == "ZMQInteractiveShell":
        return True
    return sys.stderr is not None and sys.stderr.isatty()


class Bar:
    """Counts pages and rows; draws them once there is a second page.

    Parameters
    ----------
    shown : bool
        Whether to draw the bar at all.
    what : str
        The bar's label.
    """

    def __init__(self, shown: bool, what: str) -> None:
        self.shown = shown
        self.what = what
        self.pages = 0
        self.rows = 0
        self._tqdm: Any = None

    def update(self, rows: int) -> None:
        """One more page, of ``rows`` rows."""
        self.pages += 1
        self.rows += rows
        if not self.shown or self.pages < 2:
            return
        if self._tqdm is None:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(desc=self.what, unit=" rows", initial=self.rows - rows)
        self._tqdm.set_postfix(pages=self.pages, refresh=False)
        self._tqdm.update(rows)

    def close(self) -> None:
        """Finish the bar, if one was drawn."""
        if self._tqdm is not None:
            self._tqdm.close()


@contextlib.contextmanager
def bar(progress: bool | None, what: str) -> Iterator[Bar]:
    """A :class:`Bar` for one fetch, closed at the end of the ``with`` block.

    Parameters
    ----------
    progress : bool or None
        ``True`` always draws it (from the second page), ``False`` never, ``None``
        when :func:`interactive`.
    what : str
        The bar's label.
    """
    shown = interactive() if progress is None else progress
    counter = Bar(shown, what)
    try:
        yield counter
    finally:
        counter.close()
