"""The token file: permissions, atomic replacement, locking, damage."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from jsm_nb import FileStore, MemoryStore, TokenStoreError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_is_0600_in_a_new_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config" / "tokens.json"
    FileStore(path).write("login x", {"access_token": "a"})
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert FileStore(path).read("login x") == {"access_token": "a"}


def test_write_replaces_the_file_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileStore(path)
    store.write("a", 1)
    before = path.stat().st_ino
    store.write("b", 2)
    assert path.stat().st_ino != before  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]
    assert store.read("a") == 1
    assert store.read("b") == 2
    store.write("a", None)
    assert store.read("a") is None


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = FileStore(path)
    store.write("a", 1)
    original = path.read_bytes()
    with pytest.raises(TypeError):
        store.write("b", object())  # cannot be serialised: fails before the rename
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_unreadable_file_names_what_to_do(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        directory = tmp_path / "tokens.json"
        directory.mkdir()  # root reads any file: use a directory in the file's place
    else:
        directory = tmp_path / "tokens.json"
        directory.write_text("{}")
        directory.chmod(0)
    with pytest.raises(TokenStoreError, match="JSM_NB_TOKEN_PATH"):
        FileStore(directory).read("a")


def _increment(path: str, times: int) -> None:
    store = FileStore(path)
    for _ in range(times):
        with store.lock():
            store.write("counter", (store.read("counter") or 0) + 1)


def test_the_lock_holds_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "tokens.json")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(path, 25)) for _ in range(4)]
    for worker in workers:
        worker.start()
    _increment(path, 25)
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert FileStore(path).read("counter") == 125
    assert json.loads(Path(path).read_text())["version"] == 1


def test_memory_store_keeps_entries_in_the_process_only() -> None:
    store = MemoryStore()
    with store.lock():
        store.write("a", {"x": 1})
    assert store.read("a") == {"x": 1}
    store.write("a", None)
    assert store.read("a") is None
    assert "x" not in repr(store)
