"""Progress bars for fetches of more than one page (or request).

The bar is tqdm's notebook-aware one (``tqdm.auto``), imported only when a bar
is shown. It appears from the second page (or request) on, so a one-page answer
never shows one. ``progress=None`` shows it in interactive sessions only (a
notebook kernel, or a terminal), never in CI logs.

Its label is the helper's own words ("SLA cycles of 1,409 requests"), never
API text, and plain text: the characters HTML gives a meaning (``<``, ``>``,
``&`` and quotes) are dropped from it, because tqdm's notebook bar puts the
label it is created with into the page as HTML (it escapes only its redraws).
With a total (the requests of a per-request helper) it counts towards it;
without one, it counts rows. A fetch that fails or is interrupted leaves its
bar red and saying so, never a finished green one.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["Bar", "bar", "interactive", "plain"]

_MARKUP = str.maketrans("", "", "<>&\"'")


def plain(label: str) -> str:
    """``label`` without the characters HTML gives a meaning: the same as text and as HTML."""
    return label.translate(_MARKUP)


def interactive() -> bool:
    """Whether someone is watching: a Jupyter kernel, or standard error on a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if type(shell).__name__ == "ZMQInteractiveShell":
        return True
    return sys.stderr is not None and sys.stderr.isatty()


class Bar:
    """Counts steps (pages, or requests) and rows; draws them once there is a second step.

    Parameters
    ----------
    shown : bool
        Whether to draw the bar at all.
    label : str
        What is fetched, in words: "Customer requests" (made :func:`plain`).
    total : int, optional
        The number of steps, when known: the bar then counts steps towards it
        (in ``unit``), else rows.
    unit : str
        What a step is, when there is a ``total``.
    """

    def __init__(
        self, shown: bool, label: str, total: int | None = None, unit: str = "requests"
    ) -> None:
        self.shown = shown
        self.label = plain(label)
        self.total = total
        self.unit = unit
        self.steps = 0
        self.rows = 0
        self.outcome = ""  # "failed" or "interrupted" once the fetch has stopped so
        self._tqdm: Any = None

    def update(self, rows: int) -> None:
        """One more step (a page, or a request), of ``rows`` rows."""
        self.steps += 1
        self.rows += rows
        if not self.shown or self.steps < 2:
            return
        if self._tqdm is None:
            self._tqdm = self._open(rows)
        self._tqdm.set_postfix_str(self._counts(), refresh=False)
        self._tqdm.update(1 if self.total else rows)

    def _open(self, rows: int) -> Any:
        """The tqdm bar, already counting every step but the one being added."""
        from tqdm.auto import tqdm

        if self.total:
            return tqdm(
                desc=self.label, total=self.total, unit=f" {self.unit}", initial=self.steps - 1
            )
        return tqdm(desc=self.label, unit=" rows", initial=self.rows - rows)

    def _counts(self) -> str:
        """The postfix: the rows with a total, the pages without; then the outcome."""
        counts = f"rows={self.rows:,}" if self.total else f"pages={self.steps:,}"
        return f"{counts}, {self.outcome}" if self.outcome else counts

    def fail(self, outcome: str) -> None:
        """Mark the fetch as stopped before its end (``"failed"``, ``"interrupted"``)."""
        self.outcome = outcome
        if self._tqdm is None:
            return
        self._tqdm.colour = "red"
        self._tqdm.set_postfix_str(self._counts(), refresh=False)
        mark = getattr(self._tqdm, "disp", None)  # the notebook bar's: bar_style danger
        if mark is not None:
            mark(bar_style="danger")
        else:
            self._tqdm.refresh()

    def close(self) -> None:
        """Finish the bar, if one was drawn: done (``max_rows`` reached, too), or failed."""
        if self._tqdm is None:
            return
        if not self.outcome and self.total and self._tqdm.n < self.total:
            self._tqdm.total = self._tqdm.n  # stopped at max_rows: complete, not short
            self._tqdm.refresh()
        self._tqdm.close()


@contextlib.contextmanager
def bar(
    progress: bool | None, label: str, total: int | None = None, unit: str = "requests"
) -> Iterator[Bar]:
    """A :class:`Bar` for one fetch, closed at the end of the ``with`` block.

    An exception in the block marks the bar as failed (interrupted, for
    ``KeyboardInterrupt``) before it is closed, and goes on.

    Parameters
    ----------
    progress : bool or None
        ``True`` always draws it (from the second step), ``False`` never, ``None``
        when :func:`interactive`.
    label : str
        What is fetched, in words; never text from the API.
    total, unit
        As for :class:`Bar`.
    """
    shown = interactive() if progress is None else progress
    counter = Bar(shown, label, total, unit)
    try:
        yield counter
    except KeyboardInterrupt:
        counter.fail("interrupted")
        raise
    except Exception:
        counter.fail("failed")
        raise
    finally:
        counter.close()
