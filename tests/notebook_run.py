"""Run a shipped notebook top to bottom in a fresh kernel, against the sandbox, as CI does.

With nbclient (what ``jupyter nbconvert --execute`` uses), keeping the outputs and the
widget state (``metadata.widgets``) as a saved notebook holds them, and every widget
state update the kernel sent on the way (what a browser drew, before the last one).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 240  # seconds; a cell that pages through the sandbox's data takes a few
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


@dataclasses.dataclass
class Run:
    """An executed notebook.

    Attributes
    ----------
    notebook : nbformat.NotebookNode
        With its outputs and ``metadata.widgets``, as it would be saved; without the
        ``after`` cell.
    updates : list of (str, dict)
        Every widget state the kernel sent (opening a widget, or changing it), in order,
        with the widget's model name.
    after : str
        What the ``after`` cell printed.
    """

    notebook: nbformat.NotebookNode
    updates: list[tuple[str, dict[str, Any]]]
    after: str

    def widget_states(self) -> list[tuple[str, dict[str, Any]]]:
        """The saved widget state: ``(model name, state)`` of each widget."""
        saved = self.notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {})
        return [(s["model_name"], s["state"]) for s in saved.get("state", {}).values()]


class _Recording(NotebookClient):  # type: ignore[misc]
    """nbclient's executor, also keeping each widget state update as it arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self._models: dict[str, str] = {}

    def handle_comm_msg(self, outs: Any, msg: dict[str, Any], cell_index: int) -> None:
        content = msg["content"]
        state = content.get("data", {}).get("state")
        if isinstance(state, dict):
            comm = content["comm_id"]
            if "_model_name" in state:
                self._models[comm] = state["_model_name"]
            self.updates.append((self._models.get(comm, ""), dict(state)))
        super().handle_comm_msg(outs, msg, cell_index)


def execute(
    path: Path,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    before: str = "",
    after: str = "",
) -> Run:
    """Run ``path`` in ``workdir``, in a kernel with no ``JSM_NB_`` setting but the sandbox's.

    Parameters
    ----------
    path, workdir : Path
        The notebook, and the kernel's working directory (away from any ``.env``).
    env : mapping, optional
        Variables to add to the kernel's environment.
    before, after : str
        Code run before the notebook's first cell and after its last one.

    Raises
    ------
    nbclient.exceptions.CellExecutionError
        A cell raised.
    """
    notebook = nbformat.read(path, as_version=4)
    cells = notebook.cells
    notebook.cells = [
        *([nbformat.v4.new_code_cell(before)] if before else []),
        *cells,
        nbformat.v4.new_code_cell(after),
    ]
    kernel_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JSM_NB_") or k.startswith("JSM_NB_SANDBOX_")
    }
    kernel_env["XDG_CONFIG_HOME"] = str(workdir / "config")  # a token file of its own: a first run
    kernel_env.update(env or {})
    client = _Recording(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
        store_widget_state=True,
    )
    client.execute(env=kernel_env)
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    notebook.cells = notebook.cells[:-1]
    return Run(notebook, client.updates, printed)
