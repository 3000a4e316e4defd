"""The mirror's tables: their columns and DuckDB types, and frames to rows and back.

A table is a :class:`Table`: its name and its columns (each a name and a DuckDB type),
and the order :func:`jsm_nb.mirror_frame` gives its rows (:func:`order_by`).
A column's type follows the kind of the helper's column it mirrors (:data:`TYPES`), so
a table read back into pandas (:func:`to_frame`) has the helper's dtypes again:

=============== ======================= ==============================================
helper kind     DuckDB type             read back as
=============== ======================= ==============================================
string          ``VARCHAR``             ``string``
date, iso_date  ``TIMESTAMPTZ`` (UTC)   ``datetime64[ms, UTC]``
duration        ``INTERVAL``            ``timedelta64[ms]``
flag            ``BOOLEAN``             ``boolean``
count           ``BIGINT``              ``Int64``
number          ``DOUBLE``              ``Float64``
object          ``VARCHAR[]`` (a list   ``object`` (lists, or what the JSON holds)
                of texts) or ``JSON``
=============== ======================= ==============================================

Every table but ``fields`` and ``sync_runs`` starts with ``issue_id``: an issue's key
changes when it moves to another project, its id never does, so rows are replaced by id.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import frames

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "DETAILS",
    "FIELDS",
    "LIST",
    "SEARCHED",
    "SYNC_RUNS",
    "TYPES",
    "Detail",
    "Table",
    "column_type",
    "order_by",
    "portable",
    "rows_of",
    "table_of",
    "to_frame",
]

TYPES: Mapping[str, str] = {
    "string": "VARCHAR",
    "date": "TIMESTAMPTZ",
    "iso_date": "TIMESTAMPTZ",
    "duration": "INTERVAL",
    "flag": "BOOLEAN",
    "count": "BIGINT",
    "number": "DOUBLE",
    "object": "JSON",
}
"""The DuckDB type of each of :data:`jsm_nb.frames.KINDS`' kinds."""
LIST = "VARCHAR[]"
"""The type of a column of lists of texts (account ids, organisation names, labels)."""
_DTYPES: Mapping[str, str] = {
    "VARCHAR": "string",
    "TIMESTAMP WITH TIME ZONE": "datetime64[ms, UTC]",
    "INTERVAL": "timedelta64[ms]",
    "BOOLEAN": "boolean",
    "BIGINT": "Int64",
    "DOUBLE": "Float64",
}


@dataclasses.dataclass(frozen=True)
class Table:
    """One table of the mirror.

    Attributes
    ----------
    name : str
        Its name in the mirror.
    columns : tuple of (str, str)
        Each column's name and DuckDB type, in order.
    """

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The columns' names, in order."""
        return tuple(name for name, _ in self.columns)

    def ddl(self, name: str | None = None) -> str:
        """``CREATE TABLE IF NOT EXISTS`` for this table (or a table of its columns named
        ``name``, such as its staging twin)."""
        body = ", ".join(f'"{column}" {kind}' for column, kind in self.columns)
        return f'CREATE TABLE IF NOT EXISTS "{name or self.name}" ({body})'


def column_type(column: frames.Column, *, listed: bool = False) -> str:
    """The DuckDB type of a helper's column: :data:`LIST` for lists of texts (``listed``)."""
    if column.kind is frames.OBJECT:
        return LIST if listed else TYPES["object"]
    return TYPES[column.kind.name]


def table_of(
    name: str, spec_columns: Iterable[frames.Column], *, listed: Iterable[str] = ()
) -> Table:
    """The table of ``issue_id`` and a helper's columns (``spec_columns``; ``listed`` names
    those of lists of texts)."""
    lists = set(listed)
    found = [(c.name, column_type(c, listed=c.name in lists)) for c in spec_columns]
    return Table(name, (("issue_id", "VARCHAR"), *[c for c in found if c[0] != "issue_id"]))


_BY_ISSUE = "TRY_CAST(issue_id AS BIGINT)"
_ORDERS: Mapping[str, tuple[str, ...]] = {
    "sla_cycles": (_BY_ISSUE, "sla_id", "ongoing", "start_time"),
    "comments": (_BY_ISSUE, "created", "comment_id"),
    "status_history": (_BY_ISSUE, "status_date"),
    "approvals": (_BY_ISSUE, "created", "approval_id"),
    "fields": ("field_id",),
    "sync_runs": ("run_id",),
}


def order_by(table: str) -> str:
    """The ``ORDER BY`` list :func:`jsm_nb.mirror_frame` gives ``table``'s rows in: by
    issue id, then as the helper's rows come (SLA cycles by SLA, completed first)."""
    return ", ".join(_ORDERS.get(table, (_BY_ISSUE,)))


@dataclasses.dataclass(frozen=True)
class Detail:
    """A per-request table: the JSM listing it mirrors, and its helper's frame."""

    table: Table
    path: str
    spec: frames.Spec
    label: str
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)


_REQUEST = "/rest/servicedeskapi/request/{key}"
DETAILS: Mapping[str, Detail] = {
    "comments": Detail(
        table_of("comments", frames.COMMENTS.columns),
        _REQUEST + "/comment",
        frames.COMMENTS,
        "Comments",
        {"public": "true", "internal": "true"},
    ),
    "status_history": Detail(
        table_of("status_history", frames.STATUS_HISTORY.columns),
        _REQUEST + "/status",
        frames.STATUS_HISTORY,
        "Status histories",
    ),
    "approvals": Detail(
        table_of("approvals", frames.APPROVALS.columns),
        _REQUEST + "/approval",
        frames.APPROVALS,
        "Approvals",
    ),
}
"""The tables kept in step request by request when ``sync(what=...)`` names them."""

SEARCHED = ("issues", "requests", "sla_cycles", "feedback")
"""The tables filled from the search's pages (the ``issues`` table's columns depend on
the fields a mirror keeps; see :mod:`.layout`)."""

FIELDS = Table("fields", tuple((c.name, column_type(c)) for c in frames.FIELDS.columns))
SYNC_RUNS = Table(
    "sync_runs",
    (
        ("run_id", "BIGINT"),
        ("query", "VARCHAR"),
        ("started", "TIMESTAMPTZ"),
        ("finished", "TIMESTAMPTZ"),
        ("outcome", "VARCHAR"),
        ("resumed_run", "BIGINT"),
        ("since", "TIMESTAMPTZ"),
        ("watermark", "TIMESTAMPTZ"),
        ("full_check", "BOOLEAN"),
        ("issues_added", "BIGINT"),
        ("issues_updated", "BIGINT"),
        ("issues_deleted", "BIGINT"),
        ("issues_fetched", "BIGINT"),
        ("requests", "BIGINT"),
        ("points", "BIGINT"),
        ("duration", "INTERVAL"),
    ),
)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def portable(relation: duckdb.DuckDBPyRelation) -> str:
    """The select list that writes ``relation``'s rows to Parquet: its columns as they
    are, but durations as whole milliseconds named ``<column>_ms`` (Parquet has no
    negative intervals, and an SLA's remaining time is negative once breached)."""
    return ", ".join(
        f'CAST(round(epoch("{name}") * 1000) AS BIGINT) AS "{name}_ms"'
        if str(kind) == "INTERVAL"
        else f'"{name}"'
        for name, kind in zip(relation.columns, relation.types, strict=True)
    )


def rows_of(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """``frame``'s rows as ``table``'s, ready for DuckDB: its columns in order (a column
    the frame lacks is all missing), JSON columns as JSON text, lists as lists."""
    frame = frame.reset_index(drop=True)
    data: dict[str, Any] = {}
    for name, kind in table.columns:
        if name not in frame:
            data[name] = pd.Series([None] * len(frame), dtype=object)
        elif kind == TYPES["object"]:
            data[name] = [None if _missing(v) else _json(v) for v in frame[name].tolist()]
        elif kind == LIST:
            data[name] = [v if isinstance(v, list) else None for v in frame[name].tolist()]
        else:
            data[name] = frame[name].to_numpy() if kind == "VARCHAR" else frame[name]
    rows: pd.DataFrame = pd.DataFrame(data, index=pd.RangeIndex(len(frame)))
    return rows


def to_frame(relation: duckdb.DuckDBPyRelation) -> pd.DataFrame:
    """A query's rows with the helpers' dtypes (:data:`TYPES`, read back)."""
    frame: pd.DataFrame = relation.df()
    for name, kind in zip(relation.columns, relation.types, strict=True):
        written = str(kind)
        if written == "JSON" or written.endswith("[]"):
            read = json.loads if written == "JSON" else list
            values = [None if v is None else read(v) for v in frame[name].tolist()]
            frame[name] = pd.Series(values, dtype=object)
        elif written in _DTYPES:
            frame[name] = frame[name].astype(_DTYPES[written])  # type: ignore[call-overload]
    return frame
