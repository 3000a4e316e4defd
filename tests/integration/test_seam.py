"""The one seam between jsm_nb and its sandbox, and the process state behind it."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import jsm_nb
from jsm_nb import Config
from jsm_nb.context import CONTEXT, Context

PACKAGE = Path(jsm_nb.__file__).parent
CORE = sorted(
    f"jsm_nb.{m.name}" for m in pkgutil.iter_modules([str(PACKAGE)]) if m.name != "sandbox"
)


def test_importing_every_core_module_loads_no_sandbox_module() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('jsm_nb.sandbox')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert len(CORE) > 15
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("module", CORE)
def test_no_core_module_names_the_sandbox_in_an_import(module: str) -> None:
    name = module.removeprefix("jsm_nb.")
    package = PACKAGE / name
    paths = sorted(package.rglob("*.py")) if package.is_dir() else [PACKAGE / f"{name}.py"]
    nodes = [n for p in paths for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))]
    imported: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            imported += [base, *(f"{base}.{alias.name}" for alias in node.names)]
    assert not [name for name in imported if "sandbox" in name.split(".")]


def test_the_sandbox_keeps_every_setting_the_caller_gave(tmp_path: Path) -> None:
    given = Config(
        site="globex-helpdesk",
        timeout=7.0,
        scopes=("read:me", "offline_access"),
        max_retries=1,
        backoff=0.5,
        refresh_leeway=5.0,
        token_path=tmp_path / "tokens.json",
    )
    assert given.sandbox
    assert given.client_id is None
    resolved = CONTEXT.config(given)
    assert resolved.sandbox
    assert resolved.client_id
    assert resolved.client_secret
    assert resolved.auth_url.startswith("http://127.0.0.1:")
    kept = ("site", "timeout", "scopes", "max_retries", "backoff", "refresh_leeway", "token_path")
    assert {f: getattr(resolved, f) for f in kept} == {f: getattr(given, f) for f in kept}
    assert "sandbox=True" in repr(resolved)


def test_a_configured_app_is_never_pointed_at_the_sandbox(tmp_path: Path) -> None:
    app = Config(client_id="abc", client_secret="s", token_path=tmp_path / "t.json")
    assert not app.sandbox
    assert CONTEXT.config(app) is app


def test_jsm_nb_site_is_honoured_in_the_sandbox(tmp_path: Path) -> None:
    env = {"JSM_NB_TOKEN_PATH": str(tmp_path / "tokens.json")}
    login = jsm_nb.login(Config.from_env(env=env, dotenv=None), auto_capture=False)
    login.submit(CONTEXT.sandbox().approve(login.authorization_url))  # type: ignore[attr-defined]
    for site in ("globex-helpdesk", "acme-support"):
        chosen = Config.from_env(env={**env, "JSM_NB_SITE": site}, dotenv=None)
        session = jsm_nb.session(chosen)
        assert session.site is not None
        assert session.site.name == site


def test_reset_closes_open_sessions_and_forgets_stores(signed_in: Config) -> None:
    context = Context()
    store = context.store(signed_in)
    assert context.store(signed_in) is store
    closed: list[bool] = []
    session = context.session(signed_in, store, lambda: _Closing(closed))
    assert context.session(signed_in, store, lambda: _Closing(closed)) is session
    context.reset()
    assert closed == [True]
    assert context.store(signed_in) is not store


def test_the_losing_session_of_a_race_is_closed(signed_in: Config) -> None:
    context = Context()
    store = context.store(signed_in)
    closed: list[bool] = []
    both_opening = threading.Barrier(2)

    def slow_open() -> _Closing:
        both_opening.wait(timeout=10)
        return _Closing(closed)

    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(context.session(signed_in, store, slow_open)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(got) == 2
    assert got[0] is got[1]
    assert closed == [True]  # the one that lost


class _Closing:
    """Stands in for a JsmSession: records that it was closed."""

    def __init__(self, closed: list[bool]) -> None:
        self._closed = closed

    def close(self) -> None:
        self._closed.append(True)
