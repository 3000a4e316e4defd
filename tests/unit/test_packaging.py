"""The project's own files agree with each other."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

import jsm_nb

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

# conda-forge packages named otherwise than on PyPI: conda-forge's name -> PyPI's
CONDA_NAMES = {"playwright-python": "playwright", "python-duckdb": "duckdb"}


def _requirements(specs: list[str]) -> dict[str, str]:
    """``{"name": ">=1.0"}`` from PEP 508 strings, names normalised."""
    parsed = {}
    for spec in specs:
        requirement = spec.split(";")[0]  # environment markers are pip's business
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", requirement.strip())
        assert match, spec
        parsed[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2].replace(" ", "")
    return parsed


def test_environment_yml_lists_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirements(project["dependencies"] + project["optional-dependencies"]["dev"])
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    listed = {CONDA_NAMES.get(name, name): spec for name, spec in _requirements(conda).items()}
    python = listed.pop("python")
    listed.pop("pip")
    assert listed == wanted
    assert python == project["requires-python"]
    assert pip == ['-e ".[dev]"']


def test_public_names_are_exactly_those_in_all() -> None:
    public = {name for name in dir(jsm_nb) if not name.startswith("_")}  # lazy names too
    modules = {name for name in public if type(getattr(jsm_nb, name)).__name__ == "module"}
    assert set(jsm_nb.__all__) == public - modules
    assert sorted(jsm_nb.__all__) == list(jsm_nb.__all__)


# The public contract: a name added or removed here is a decision, made in this list.
PUBLIC = {
    "errors": [
        "ApiError",
        "AuthorizationError",
        "ConfigError",
        "InvalidArgument",
        "JsmError",
        "LoginRequired",
        "MirrorBusy",
        "MirrorMismatch",
        "RateLimited",
        "TokenRefused",
        "TokenStoreError",
    ],
    "sign-in": ["Config", "Connection", "Login", "LoginEvent", "Site", "login", "session"],
    "stores and sessions": ["FileStore", "JsmSession", "MemoryStore", "Store"],
    "helpers": [
        "Records",
        "approvals",
        "articles",
        "feedback",
        "info",
        "organization_users",
        "participants",
        "queue",
        "request_type_fields",
        "request_type_groups",
        "comments",
        "customer_requests",
        "customers",
        "fields",
        "frame",
        "jql",
        "me",
        "organizations",
        "queue_issues",
        "queues",
        "request_status_history",
        "request_types",
        "service_desks",
        "sites",
        "sla",
        "styled",
    ],
    "notebook": ["Usage", "show_traceback", "usage"],
    "mirror": ["SyncReport", "mirror", "mirror_export", "mirror_frame", "sync"],
}


def test_all_is_exactly_the_public_contract() -> None:
    assert sorted(jsm_nb.__all__) == sorted(name for names in PUBLIC.values() for name in names)


def test_import_leaves_the_sign_in_side_until_first_use() -> None:
    probe = (
        "import sys, jsm_nb\n"
        "heavy = ('jsm_nb.sessions', 'requests_oauthlib', 'ipywidgets', 'tqdm',\n"
        "         'jsm_nb.sandbox')\n"
        "print(*[m for m in heavy if m in sys.modules])\n"
        "print(jsm_nb.session.__module__, jsm_nb.login.__module__, jsm_nb.JsmSession.__name__)\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert answer.stdout.splitlines() == ["", "jsm_nb.sessions jsm_nb.signin JsmSession"]


def test_the_architecture_map_names_every_module_of_the_core() -> None:
    """docs/ARCHITECTURE.md is the map: a module it does not name is a module nobody finds."""
    root = Path(jsm_nb.__file__).parent
    text = (root.parent / "docs" / "ARCHITECTURE.md").read_text()
    modules = [p for p in root.rglob("*.py") if "sandbox" not in p.parts]
    unnamed = [
        str(p.relative_to(root))
        for p in modules
        if f"`{p.name}`" not in text and p.stem != "__init__"
    ]
    assert not unnamed
