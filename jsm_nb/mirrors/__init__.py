"""The local mirror: a service desk's issues in DuckDB, kept in step incrementally.

:func:`sync` brings the mirror of a JQL query up to date (:mod:`.sync`); :func:`mirror`,
:func:`mirror_frame` and :func:`mirror_export` read it (:mod:`.read`). The modules, one
job each: :mod:`.schema` (the tables, their DuckDB types, frames to rows and back),
:mod:`.layout` (what the search asks for, and which table each field goes to),
:mod:`.stage` (the file: staged work, checkpoints, the publishing transaction),
:mod:`.files` (where a mirror lives, its lock, readers and the writer), :mod:`.sync` (the
phases of a sync) and :mod:`.report` (what a sync did). DuckDB is imported on first use.
"""

from .read import TABLES, mirror, mirror_export, mirror_frame
from .report import Estimate, SyncReport
from .sync import sync

__all__ = ["TABLES", "Estimate", "SyncReport", "mirror", "mirror_export", "mirror_frame", "sync"]
