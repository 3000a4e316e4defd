"""3. DataFrame building: 100,000 customer-request records to jsm_nb's typed frame,
against ``pandas.json_normalize`` on the same records (untyped).

The records are fetched once from the sandbox (``raw=True``); only the
building is timed. ``python -m bench.dataframe [--repeat N]``.
"""

from __future__ import annotations

import sys

import pandas as pd

import jsm_nb
from bench.report import Line, check, main, median_times
from bench.sandbox_process import running
from jsm_nb import frames

__all__ = ["REPEAT", "run"]

REPEAT = 5
SIZE = 100_000
NAME = "3 DataFrame"


def describe(frame: pd.DataFrame) -> str:
    """How many columns, and how many of them are dates."""
    dates = sum(pd.api.types.is_datetime64_any_dtype(dtype) for dtype in frame.dtypes)
    return f"{frame.shape[1]} columns, {dates} of them dates"


def run(repeat: int = REPEAT) -> list[Line]:
    """Time both builders, interleaved, ``repeat`` rounds; lines for the table."""
    with running(SIZE) as sandbox:
        session = jsm_nb.session(sandbox.config)
        records = jsm_nb.customer_requests(session=session, raw=True, progress=False)
    assert isinstance(records, list)
    typed = frames.to_frame(records, frames.REQUESTS)
    untyped = pd.json_normalize(records)
    times = median_times(
        {
            "jsm_nb": lambda: frames.to_frame(records, frames.REQUESTS),
            "json_normalize": lambda: pd.json_normalize(records),
        },
        repeat,
    )
    return [
        Line(
            NAME,
            f"jsm_nb to_frame, {len(records):,} records",
            f"{times['jsm_nb']:.2f} s",
            describe(typed),
        ),
        Line(
            NAME,
            "pandas.json_normalize, same records",
            f"{times['json_normalize']:.2f} s",
            describe(untyped),
        ),
        check(
            NAME,
            "to_frame / json_normalize",
            times["jsm_nb"] / times["json_normalize"],
            1.0,
            at_least=False,
        ),
    ]


if __name__ == "__main__":
    main([sys.modules[__name__]], __doc__ or "")
