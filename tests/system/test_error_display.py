"""How jsm_nb's errors show in a notebook: the message and one line, not pages of internals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

import jsm_nb
from jsm_nb.errors import TRACEBACK_HINT


def _run(source: str) -> list[dict[str, object]]:
    """The outputs of one notebook cell running ``source`` in a fresh kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    NotebookClient(notebook, timeout=60, allow_errors=True, kernel_name="python3").execute()
    return list(notebook.cells[0].outputs)


def test_a_jsm_error_shows_in_a_notebook_as_its_message_and_one_hint() -> None:
    source = textwrap.dedent(
        """
        import jsm_nb

        def deep(n):
            if n == 0:
                raise jsm_nb.LoginRequired("no stored login was found for this app")
            deep(n - 1)

        deep(30)
        """
    )
    (error,) = [o for o in _run(source) if o["output_type"] == "error"]
    traceback = error["traceback"]
    assert isinstance(traceback, list)
    assert traceback == [
        "LoginRequired: Sign-in needed: no stored login was found for this app. "
        "Run jsm_nb.login() to connect again.",
        TRACEBACK_HINT,
    ]


def test_show_traceback_prints_the_whole_traceback_of_the_last_error() -> None:
    source = textwrap.dedent(
        """
        import jsm_nb
        try:
            raise jsm_nb.InvalidArgument("status must be one of ['all'], got 'x'")
        except Exception as error:
            import sys
            sys.last_value = error  # what IPython records for an uncaught error
        jsm_nb.show_traceback()
        """
    )
    text = "".join(str(o.get("text", "")) for o in _run(source) if o["output_type"] == "stream")
    assert "Traceback (most recent call last)" in text
    assert "InvalidArgument: status must be one of" in text


def test_outside_ipython_a_jsm_error_keeps_its_full_traceback() -> None:
    script = "import jsm_nb\nraise jsm_nb.LoginRequired()\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last)")
    assert "jsm_nb.errors.LoginRequired: Sign-in needed" in done.stderr


def test_invalid_argument_is_both_a_jsm_error_and_a_value_error() -> None:
    with pytest.raises(ValueError, match="status must be one of") as raised:
        jsm_nb.customer_requests(status="sometimes", session=object())  # type: ignore[arg-type]
    assert isinstance(raised.value, jsm_nb.JsmError)
    assert isinstance(raised.value, jsm_nb.InvalidArgument)
