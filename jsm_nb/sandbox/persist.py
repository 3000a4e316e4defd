"""What the shared sandbox keeps on disk: private JSON files, its authorisation state and
its data's changes.

Each file is written atomically (temporary file, fsync, rename) with mode 0600
and read only when it belongs to this user. :class:`StateFile` holds the app's
credentials and the authorisation server's grants and tokens, so that a login
outlives the process that issued it; :class:`ChangesFile` the change batches made on its
sites, which the next process makes again (they are deterministic from their arguments).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..store import atomic_write
from .auth import Authority
from .data.changes import Batch

__all__ = [
    "FORMAT_VERSION",
    "ChangesFile",
    "SavedState",
    "StateFile",
    "read_json",
    "write_json",
]

FORMAT_VERSION = 1

log = logging.getLogger("jsm_nb.sandbox")


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` if it is this user's and of :data:`FORMAT_VERSION`.

    Returns
    -------
    dict or None
        ``None`` when the file is missing, another user's, unreadable, damaged
        or of another format version (the reason is logged, not the content).
    """
    try:
        with open(path, "rb") as file:
            if os.fstat(file.fileno()).st_uid != os.getuid():
                log.warning("%s belongs to another user: it is ignored.", path)
                return None
            document = json.loads(file.read())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("%s cannot be read or is damaged: it is ignored.", path)
        return None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        log.warning("%s is not of format version %d: it is ignored.", path, FORMAT_VERSION)
        return None
    return document


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically with ``document`` (and its format version), mode 0600."""
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        atomic_write(
            directory, path.name, json.dumps({**document, "version": FORMAT_VERSION}).encode()
        )
    finally:
        os.close(directory)


@dataclasses.dataclass(frozen=True)
class SavedState:
    """The authorisation server as it was last saved.

    Attributes
    ----------
    client_id, client_secret : str
        The app's credentials.
    authority : mapping
        Grants and tokens, as :meth:`Authority.snapshot` gives them.
    """

    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    authority: Mapping[str, Any] = dataclasses.field(repr=False)


class _SavedFile:
    """One JSON file of the home, and the lock its writers take.

    Parameters
    ----------
    path : pathlib.Path
        The file, in a directory only this user can enter.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


class StateFile(_SavedFile):
    """The authorisation server's state in one file, saved after every change."""

    def load(self) -> SavedState | None:
        """The saved state, or ``None`` when there is none (or none usable)."""
        document = read_json(self.path)
        if document is None:
            return None
        client_id, secret = document.get("client_id"), document.get("client_secret")
        authority = document.get("authority")
        if not (isinstance(client_id, str) and isinstance(secret, str)) or not isinstance(
            authority, dict
        ):
            log.warning("%s lacks the app's credentials or its grants: it is ignored.", self.path)
            return None
        return SavedState(client_id, secret, authority)

    def save(self, authority: Authority) -> None:
        """Write ``authority``'s credentials, grants and tokens (thread safe, newest wins).

        The snapshot is taken under this file's lock, so of two saves racing the
        later one writes a state at least as new as the other's.
        """
        with self._lock:
            write_json(
                self.path,
                {
                    "client_id": authority.client.client_id,
                    "client_secret": authority.client.client_secret,
                    "authority": authority.snapshot(),
                },
            )


class ChangesFile(_SavedFile):
    """The change batches made on the shared sandbox's sites, in order, in one file."""

    def load(self) -> list[Batch]:
        """The saved batches, oldest first; none when there are none (or none usable)."""
        document = read_json(self.path)
        if document is None:
            return []
        try:
            return [Batch.from_json(batch) for batch in document["batches"]]
        except (KeyError, TypeError, ValueError):
            log.warning("%s does not hold change batches: it is ignored.", self.path)
            return []

    def save(self, batches: list[Batch]) -> None:
        """Write ``batches`` (thread safe; the caller gives them all, oldest first)."""
        with self._lock:
            write_json(self.path, {"batches": [batch.to_json() for batch in batches]})
