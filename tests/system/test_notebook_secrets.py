"""No notebook keeps a token, a code, a ``state`` or a secret in its saved JSON.

Two checks per notebook in ``notebooks/``:

- the committed file has no outputs and nothing that looks like a token;
- executed top to bottom in a fresh kernel against the sandbox (as nbval runs it in
  CI), its outputs contain none of the values the sandbox issued or held in that
  kernel: access and refresh tokens, authorisation codes, ``state`` values, PKCE
  verifiers and the client secret.

The notebooks are executed with nbclient (:mod:`notebook_run`), keeping each cell's
outputs as nbformat would save them; with jsm_nb's, requests', urllib3's, oauthlib's
and requests-oauthlib's loggers at DEBUG, writing into the outputs, so that what an
analyst who turns logging on would share is searched too, and so is the saved widget
state.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from notebook_run import NOTEBOOKS, execute

PIECE = 16  # characters of a secret that count as showing it
TOKEN_LIKE = [
    re.compile(
        r"\b(?:code|state|access_token|refresh_token|client_secret|code_verifier)=[^&\s\"]+"
    ),
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # a JWT
    re.compile(r"[A-Za-z0-9_-]{40,}"),  # what secrets.token_urlsafe and Atlassian issue
]

# Run in the notebook's kernel before its cells: what an analyst debugging a problem does.
DEBUG_LOGGING = """
import logging as _logging, sys as _sys
_logging.basicConfig(level=_logging.WARNING, stream=_sys.stderr, force=True)
for _name in ("jsm_nb", "requests", "urllib3", "oauthlib", "requests_oauthlib"):
    _logging.getLogger(_name).setLevel(_logging.DEBUG)
_logging.getLogger("jsm_nb.sandbox").setLevel(_logging.WARNING)  # the fake server's own lines
"""

# Run in the notebook's kernel after its cells: every secret the sandbox issued or holds.
PROBE = """
import json as _json
from jsm_nb import sandbox as _sandbox

_SECRET_FIELDS = {"access_token", "refresh_token", "code", "state", "code_verifier"}

def _secret_fields(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_FIELDS and isinstance(item, str):
                yield item
            else:
                yield from _secret_fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_fields(item)

import jsm_nb as _jsm_nb

_sb = _sandbox.default()
_found = set().union(*_sb.secrets().values())
_token_path = _jsm_nb.Config.from_env().token_path
if _token_path.exists():
    _entries = _json.loads(_token_path.read_text())["entries"]
    _found.update(_secret_fields(_entries))
print(_json.dumps(sorted(_found)))
"""


def _shows(text: str, secret: str) -> bool:
    """Whether ``text`` holds ``secret`` or a piece of it (16 characters in a row)."""
    size = min(len(secret), PIECE)
    return any(secret[i : i + size] in text for i in range(len(secret) - size + 1))


def test_there_are_notebooks() -> None:
    assert "01_connect.ipynb" in [path.name for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_committed_notebook_has_no_outputs_and_nothing_token_like(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: clear the outputs before committing"
            assert cell.execution_count is None
    text = path.read_text(encoding="utf-8")
    for pattern in TOKEN_LIKE:
        assert not pattern.search(text), f"{path.name}: {pattern.search(text)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_an_executed_notebook_shows_no_secret(path: Path, tmp_path: Path) -> None:
    shutil.copy(path, tmp_path)  # run away from any .env beside the notebooks
    run = execute(tmp_path / path.name, tmp_path, before=DEBUG_LOGGING, after=PROBE)
    notebook, secrets = run.notebook, json.loads(run.after)
    assert any(cell.get("outputs") for cell in notebook.cells)  # it did show things
    assert len(secrets) > 3  # the client secret, and what the sign-in issued
    saved = nbformat.writes(notebook)
    assert "Obtained token" in saved  # the loggers did write into the outputs
    leaked = [secret[:6] + "..." for secret in secrets if _shows(saved, secret)]
    assert not leaked, f"{path.name} shows secrets in its outputs: {leaked}"


# What the Connect link's front end sends when it appears (the kernel answers with the
# consent page's address): run so that nbclient sees that answer go by.
LINK_SHOWN = """
login.widget.connect._handle_msg(
    {"content": {"data": {"method": "custom", "content": {"kind": "ready"}}}, "buffers": []}
)
"""


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_an_executed_notebook_keeps_no_secret_in_its_widget_state(tmp_path: Path) -> None:
    """``jupyter nbconvert --execute`` (nbclient, widget state stored) of the notebook that
    shows the login widget: neither its ``metadata.widgets`` nor its outputs hold a
    ``state``, a PKCE challenge or verifier, a code, a token or the client secret."""
    path = tmp_path / "01_connect.ipynb"
    shutil.copy(NOTEBOOKS[[p.name for p in NOTEBOOKS].index(path.name)], path)
    run = execute(path, tmp_path, after=LINK_SHOWN + PROBE)
    notebook, secrets = run.notebook, set(json.loads(run.after))
    secrets |= {_challenge(secret) for secret in secrets}  # the verifiers' challenges
    widget_state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]
    models = [model["state"].get("_model_name") for model in widget_state["state"].values()]
    assert "VBoxModel" in models  # the login widget's state was stored
    saved = nbformat.writes(notebook)
    leaked = [secret[:6] + "..." for secret in secrets if _shows(saved, secret)]
    assert not leaked, f"the saved notebook holds sign-in secrets: {leaked}"
