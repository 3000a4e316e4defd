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
without one, it counts rows. Its postfix says what the fetch costs as it goes (the
requests made and, where Atlassian has said, the quota left and when it resets) and,
while a rate-limit stop is waited out, the seconds left. A fetch that fails or is
interrupted leaves its bar red and saying so, never a finished green one.

A fetch asked to wait (``wait=True``) with no bar drawn counts its waits down on a
line of standard error instead, so that a sleep of many minutes never looks hung.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
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
    of_rows : bool
        ``total`` is a number of rows (an estimate, such as a search's approximate
        count), and the bar counts rows towards it in ``unit``.
    status : callable, optional
        Text put before the counts, such as the requests made; words and numbers of
        ours, never API text.
    announce : bool
        Count waits down on standard error when no bar is drawn.
    """

    def __init__(
        self,
        shown: bool,
        label: str,
        total: int | None = None,
        unit: str = "requests",
        *,
        of_rows: bool = False,
        status: Callable[[], str] | None = None,
        announce: bool = False,
    ) -> None:
        self.shown = shown
        self.of_rows = of_rows
        self.label = plain(label)
        self.total = total
        self.unit = unit
        self.status = status
        self.announce = announce
        self.steps = 0
        self.rows = 0
        self.outcome = ""  # "failed" or "interrupted" once the fetch has stopped so
        self.waiting = 0.0  # seconds left of a rate-limit stop being waited out
        self._announced: int | None = None
        self._tqdm: Any = None

    def resume(self, rows: int, steps: int) -> None:
        """Start from an interrupted fetch's counts, before the first :meth:`update`."""
        self.rows, self.steps = rows, steps

    def update(self, rows: int) -> None:
        """One more step (a page, or a request), of ``rows`` rows."""
        self.steps += 1
        self.rows += rows
        if not self.shown or (self.steps < 2 and self._tqdm is None):
            return
        if self._tqdm is None:
            self._tqdm = self._open(rows)
        self._tqdm.set_postfix_str(self._counts(), refresh=False)
        self._tqdm.update(rows if self.of_rows or not self.total else 1)

    def countdown(self, left: float) -> None:
        """A rate-limit stop is being waited out: ``left`` seconds more (0 at its end)."""
        self.waiting = left
        if self.shown:
            if self._tqdm is None:  # a wait shows even before the second step
                self._tqdm = self._open(0, counted=True)
            self._tqdm.set_postfix_str(self._counts(), refresh=True)
        elif self.announce:
            whole = math.ceil(left)
            if whole != self._announced:
                self._announced = whole
                end = "\n" if whole == 0 else ""
                text = f"{self.label}: {_waiting(left)}" if whole else f"{self.label}: resuming"
                print(f"\r{text}", end=end, file=sys.stderr, flush=True)

    def _open(self, rows: int, *, counted: bool = False) -> Any:
        """The tqdm bar, already counting every step but the one being added (every
        step, when ``counted``)."""
        from tqdm.auto import tqdm

        earlier = 0 if counted else 1
        if self.total:
            done = self.rows - earlier * rows if self.of_rows else self.steps - earlier
            return tqdm(desc=self.label, total=self.total, unit=f" {self.unit}", initial=done)
        return tqdm(desc=self.label, unit=" rows", initial=self.rows - earlier * rows)

    def _counts(self) -> str:
        """The postfix: the status; the rows with a total, the pages without; a wait; the
        outcome."""
        parts = [self.status()] if self.status is not None else []
        counted_rows = self.total and not self.of_rows
        parts.append(f"rows={self.rows:,}" if counted_rows else f"pages={self.steps:,}")
        if self.waiting > 0:
            parts.append(_waiting(self.waiting))
        if self.outcome:
            parts.append(self.outcome)
        return ", ".join(part for part in parts if part)

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
        if not self.outcome and self.total and self._tqdm.n != self.total:
            # stopped at max_rows, or an estimated total: complete, not short or over
            self._tqdm.total = self._tqdm.n
            self._tqdm.refresh()
        self._tqdm.close()


def _waiting(left: float) -> str:
    whole = math.ceil(left)
    minutes, seconds = divmod(whole, 60)
    span = f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"
    return f"waiting {span} for Atlassian's rate limit"


@contextlib.contextmanager
def bar(
    progress: bool | None,
    label: str,
    total: int | None = None,
    unit: str = "requests",
    *,
    of_rows: bool = False,
    status: Callable[[], str] | None = None,
    announce: bool = False,
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
    total, unit, of_rows, status, announce
        As for :class:`Bar`.
    """
    shown = interactive() if progress is None else progress
    counter = Bar(shown, label, total, unit, of_rows=of_rows, status=status, announce=announce)
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
