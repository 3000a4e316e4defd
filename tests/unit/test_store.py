"""The token file: permissions, atomic replacement, locking, damage."""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import stat
from pathlib import Path

import pytest

import jsm_nb.store
from jsm_nb import FileStore, MemoryStore, TokenStoreError
from jsm_nb.entries import EntryError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


LOGIN = {"access_token": "a", "expires_at": 2.0e9, "obtained_at": 2.0e9 - 3600}


def test_file_is_0600_in_a_new_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config" / "tokens.json"
    FileStore(path).write("login x", LOGIN)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert FileStore(path).read("login x") == LOGIN


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


@pytest.mark.parametrize("store_kind", ["file", "memory"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("login x", {**LOGIN, "expires_at": "soon"}),
        ("login x", {"access_token": "a"}),
        ("pending x", [{"state": "s", "code_verifier": "v"}]),
        ("site x", 42),
    ],
    ids=["expires_at as text", "no expiry", "pending without created_at", "site a number"],
)
def test_an_entry_of_the_wrong_shape_is_never_written(
    tmp_path: Path, store_kind: str, name: str, value: object
) -> None:
    path = tmp_path / "tokens.json"
    store = FileStore(path) if store_kind == "file" else MemoryStore()
    store.write("login x", LOGIN)
    before = path.read_bytes() if store_kind == "file" else None
    with pytest.raises(EntryError, match=r"(login entry|pending sign-in|site entry)"):
        store.write(name, value)
    assert store.read("login x") == LOGIN
    assert (path.read_bytes() if store_kind == "file" else None) == before


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


def test_a_lock_held_by_another_process_times_out_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tokens.json"
    FileStore(path).write("a", 1)
    monkeypatch.setattr(jsm_nb.store, "LOCK_TIMEOUT", 0.3)
    holder = os.open(path.with_name("tokens.json.lock"), os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # as another process's hold looks to the kernel
        with pytest.raises(TokenStoreError, match=r"has held its lock.*restart the other kernels"):
            FileStore(path).write("a", 2)
    finally:
        os.close(holder)
    assert FileStore(path).read("a") == 1


def test_stores_of_one_file_share_its_lock_within_a_process(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    with FileStore(path).lock():
        FileStore(path).write("a", 1)  # the same holder: it does not wait for itself
    assert FileStore(path).read("a") == 1


def test_memory_store_keeps_entries_in_the_process_only() -> None:
    store = MemoryStore()
    with store.lock():
        store.write("a", {"x": 1})
    assert store.read("a") == {"x": 1}
    store.write("a", None)
    assert store.read("a") is None
    assert "x" not in repr(store)
