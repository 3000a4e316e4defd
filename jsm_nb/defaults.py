"""What jsm_nb uses when the caller gives no configuration or store."""

from __future__ import annotations

import threading
from pathlib import Path

from .config import Config
from .store import FileStore

__all__ = ["default_store", "resolve_config"]

_stores: dict[Path, FileStore] = {}
_stores_lock = threading.Lock()


def resolve_config(config: Config | None) -> Config:
    """``config``, else ``Config.from_env()``; with no client id, the sandbox's config.

    The sandbox (a fake Atlassian Cloud on loopback) is started on first use.
    """
    config = Config.from_env() if config is None else config
    if config.uses_sandbox:
        from . import sandbox

        return sandbox.default().config
    return config


def default_store(config: Config) -> FileStore:
    """The token file of ``config``, one store object per file in this process."""
    with _stores_lock:
        return _stores.setdefault(config.token_path, FileStore(config.token_path))
