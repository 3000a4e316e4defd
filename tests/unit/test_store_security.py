"""The token directory and the files in it, against another user of the machine.

Another user must not be able to read the tokens, replace them (a login of theirs
would make us work in their account), remove them, plant a file that jsm_nb then
installs as the token file, make jsm_nb change or write a file of theirs through a
symbolic link, or hang it on a FIFO. So the token directory is made 0700 whatever
the umask, a directory another user owns or can write to is refused, and every file
in it is opened without following links or waiting on FIFOs, and used only when it
is a regular file of ours.

The tests run as root, which can play "another user" by giving files to nobody
(uid 65534) with ``os.chown``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jsm_nb import FileStore, TokenStoreError

NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="playing another user needs root")
FIFO_WAIT = 10.0  # seconds for a call that must not wait on a FIFO at all


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _give_away(path: Path) -> None:
    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)


def _document(serial: int, **entries: object) -> str:
    return json.dumps({"version": 1, "serial": serial, "entries": entries})


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    """A token directory of ours (0700), with a token file holding ``a = "ours"``."""
    path = tmp_path / "jsm_nb"
    path.mkdir(mode=0o700)
    FileStore(path / "tokens.json").write("a", "ours")
    return path


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    previous = os.umask(value)
    try:
        yield
    finally:
        os.umask(previous)


# -- the directory ---------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077, 0o277], ids=oct)
def test_a_new_directory_is_0700_and_its_files_0600_whatever_the_umask(
    tmp_path: Path, mask: int
) -> None:
    path = tmp_path / "new" / "jsm_nb" / "tokens.json"
    with umask(mask):
        FileStore(path).write("a", 1)
        FileStore(path).write("a", 2)
    assert _mode(path.parent) == 0o700
    assert _mode(path) == 0o600
    assert _mode(path.with_name("tokens.json.lock")) == 0o600
    assert FileStore(path).read("a") == 2


@pytest.mark.parametrize("loose", [0o755, 0o750, 0o711], ids=oct)
def test_a_loose_directory_of_ours_is_made_0700_and_reported(
    directory: Path, loose: int, caplog: pytest.LogCaptureFixture
) -> None:
    directory.chmod(loose)
    with caplog.at_level(logging.WARNING, logger="jsm_nb"):
        assert FileStore(directory / "tokens.json").read("a") == "ours"
    assert _mode(directory) == 0o700
    assert f"could be opened by other users (mode {loose:o}); its mode is now 0700" in caplog.text


@pytest.mark.parametrize(
    "mode",
    [0o770, 0o730, 0o777, 0o1777, 0o1733],
    ids=["0770", "0730", "0777", "sticky 1777", "1733"],
)
def test_a_directory_others_can_write_to_is_refused_and_left_alone(
    directory: Path, mode: int
) -> None:
    directory.chmod(mode)
    before = sorted(p.name for p in directory.iterdir())
    store = FileStore(directory / "tokens.json")
    for use in (lambda: store.read("a"), lambda: store.write("a", "new")):
        with pytest.raises(TokenStoreError) as caught:
            use()
        message = str(caught.value)
        assert f"can be written by other users (mode {mode:o})" in message
        assert f"chmod 700 {directory}" in message
        assert "JSM_NB_TOKEN_PATH" in message
    assert _mode(directory) == mode
    assert sorted(p.name for p in directory.iterdir()) == before
    directory.chmod(0o700)
    assert store.read("a") == "ours"  # nothing was written


@as_root
@pytest.mark.parametrize("through_a_link", [False, True], ids=["theirs", "a link to theirs"])
def test_a_directory_another_user_owns_is_refused(tmp_path: Path, through_a_link: bool) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    (theirs / "tokens.json").write_text(_document(1, a="theirs"))
    _give_away(theirs / "tokens.json")
    _give_away(theirs)
    token_directory = theirs
    if through_a_link:
        token_directory = tmp_path / "jsm_nb"
        token_directory.symlink_to(theirs)
    store = FileStore(token_directory / "tokens.json")
    for use in (lambda: store.read("a"), lambda: store.write("a", "new")):
        with pytest.raises(TokenStoreError, match=f"belongs to another user \\(uid {NOBODY}\\)"):
            use()
    assert sorted(p.name for p in theirs.iterdir()) == ["tokens.json"]


@pytest.mark.parametrize("where", ["a link to ours", "in a sticky shared directory"])
def test_a_directory_of_ours_is_used_wherever_it_is(tmp_path: Path, where: str) -> None:
    ours = tmp_path / "ours"
    if where == "a link to ours":
        ours.mkdir(mode=0o700)
        (tmp_path / "jsm_nb").symlink_to(ours)
        path = tmp_path / "jsm_nb" / "tokens.json"
    else:
        ours.mkdir()
        ours.chmod(0o1777)  # like /tmp
        path = ours / "jsm_nb" / "tokens.json"
    FileStore(path).write("a", 1)
    assert FileStore(path).read("a") == 1
    assert _mode(path.parent) == 0o700


# -- the files in it -------------------------------------------------------------------------


@pytest.fixture
def their_file(tmp_path: Path) -> Path:
    """A file of another user's, readable by all, holding a token document of theirs."""
    path = tmp_path / "their-file"
    path.write_text(_document(1, a="theirs"))
    path.chmod(0o644)
    if os.geteuid() == 0:
        _give_away(path)
    return path


def _unchanged(path: Path) -> tuple[bytes, int, int]:
    info = path.lstat()
    return path.read_bytes(), stat.S_IMODE(info.st_mode), info.st_uid


def test_a_link_planted_as_the_token_file_is_not_followed(
    directory: Path, their_file: Path
) -> None:
    path = directory / "tokens.json"
    path.unlink()
    path.symlink_to(their_file)
    before = _unchanged(their_file)
    store = FileStore(path)
    for use in (lambda: store.read("a"), lambda: store.write("a", "new")):
        with pytest.raises(TokenStoreError, match="is a symbolic link") as caught:
            use()
        assert "JSM_NB_TOKEN_PATH" in str(caught.value)
    assert _unchanged(their_file) == before
    assert path.is_symlink()


@as_root
def test_a_token_file_of_another_user_is_refused_and_not_chmodded(directory: Path) -> None:
    path = directory / "tokens.json"
    path.write_text(_document(5, a="theirs"))
    path.chmod(0o644)
    _give_away(path)
    before = _unchanged(path)
    with pytest.raises(TokenStoreError, match=f"belongs to another user \\(uid {NOBODY}\\)"):
        FileStore(path).read("a")
    assert _unchanged(path) == before


@pytest.mark.parametrize("target", ["their file", "no file yet"])
def test_a_link_planted_as_the_lock_file_is_not_followed(
    directory: Path, their_file: Path, target: str
) -> None:
    if target == "no file yet":
        their_file.unlink()
    else:
        before = _unchanged(their_file)
    (directory / "tokens.json.lock").unlink()
    (directory / "tokens.json.lock").symlink_to(their_file)
    store = FileStore(directory / "tokens.json")
    with pytest.raises(TokenStoreError, match=r"tokens\.json\.lock .*is a symbolic link"):
        store.write("a", "new")
    if target == "no file yet":
        assert not their_file.exists()
    else:
        assert _unchanged(their_file) == before
    assert store.read("a") == "ours"


def _run_with_a_deadline(call: Callable[[], object], fifo: Path) -> BaseException | None:
    """Run ``call`` in a thread; fail if it waits on ``fifo`` (then let it go)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except Exception as error:
            outcome.append(error)
        else:
            outcome.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(FIFO_WAIT)
    hung = thread.is_alive()
    if hung:  # open the other end so that the call stops waiting, then fail
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_RDWR | os.O_NONBLOCK))
        thread.join(FIFO_WAIT)
    assert not hung, f"waited on the FIFO {fifo.name}"
    return outcome[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("name", "use"),
    [("tokens.json", "read"), ("tokens.json", "write"), ("tokens.json.lock", "write")],
)
def test_a_fifo_in_place_of_a_file_is_refused_without_waiting(
    directory: Path, name: str, use: str
) -> None:
    fifo = directory / name
    fifo.unlink()
    os.mkfifo(fifo, 0o600)
    store = FileStore(directory / "tokens.json")
    call = {"read": lambda: store.read("a"), "write": lambda: store.write("a", "new")}[use]
    error = _run_with_a_deadline(call, fifo)
    assert isinstance(error, TokenStoreError), error
    assert "is not a regular file" in str(error)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


# -- a temporary file left beside the token file ----------------------------------------------


def _plant_leftover(directory: Path, kind: str, their_file: Path) -> Path:
    """A ``.tokens.json.*.tmp`` holding the next serial: a write to finish, if ours."""
    leftover = directory / ".tokens.json.planted.tmp"
    if kind == "a link to their file":
        their_file.write_text(_document(2, a="theirs"))
        leftover.symlink_to(their_file)
        return leftover
    if kind == "a FIFO":
        os.mkfifo(leftover, 0o600)
        return leftover
    leftover.write_text(_document(2, a="theirs"))
    leftover.chmod(0o644 if kind == "readable by all" else 0o600)
    if kind == "another user's":
        _give_away(leftover)
    return leftover


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("another user's", marks=as_root),
        "a link to their file",
        "readable by all",
        "a FIFO",
    ],
)
def test_a_leftover_jsm_nb_did_not_write_is_removed_never_installed(
    directory: Path, their_file: Path, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    leftover = _plant_leftover(directory, kind, their_file)
    before = _unchanged(their_file)
    store = FileStore(directory / "tokens.json")
    with caplog.at_level(logging.WARNING, logger="jsm_nb"):
        assert _run_with_a_deadline(lambda: store.write("b", 1), leftover) is None
    assert store.read("a") == "ours"
    assert not leftover.is_symlink()
    assert not leftover.exists()
    assert _unchanged(their_file) == before
    assert ".tokens.json.planted.tmp" in caplog.text
    assert "was not written by jsm_nb" in caplog.text
    assert not (directory / "tokens.json").is_symlink()


def test_a_whole_leftover_of_ours_is_still_installed(directory: Path, their_file: Path) -> None:
    leftover = _plant_leftover(directory, "written by jsm_nb", their_file)
    store = FileStore(directory / "tokens.json")
    store.write("b", 1)  # the lock is taken first: the leftover is finished, then b written
    assert store.read("a") == "theirs"
    assert store.read("b") == 1
    assert not leftover.exists()
