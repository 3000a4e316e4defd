"""The login widget in a real front end: JupyterLab and Notebook 7 in Debian's Chromium.

Each test opens a copy of ``notebooks/01_connect.ipynb`` through Playwright and does what
a person does: runs the cells up to the widget, clicks Connect to Jira, clicks Accept on
the sandbox's consent page in the new tab, then pastes the address it lands on (or lets
the kernel's loopback listener pick it up), and reads what the notebook shows.

The notebooks sit beside a ``.env`` file that makes the sandbox a *configured* app (client
id and secret, its URLs, a token file of their own, a site), as the notebook tells an
analyst to do. Two JupyterLab servers run them: one that looks like JupyterHub to the
kernel (``JUPYTERHUB_SERVICE_PREFIX`` is set, so nothing listens on the callback and the
address must be pasted) and a local one (the kernel listens on the callback's port).

Screenshots of every step go to ``artifacts/browser/<test>/`` and the servers' logs to
``artifacts/browser/*.log`` (not committed); a failing test prints where. Needs Debian's
``chromium`` (Playwright cannot download its own browser here), ``playwright``,
``jupyterlab`` and ``notebook``: a missing one fails the tests when ``CI`` is set and skips
them otherwise.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from jsm_nb import sandbox
from jsm_nb.loopback import REMOTE_INDICATORS
from jsm_nb.sandbox import Sandbox
from jsm_nb.sandbox.gateway import USER

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # the `tools` fixture turns this into a failure in CI, a skip elsewhere
    PLAYWRIGHT_MISSING = True
else:
    PLAYWRIGHT_MISSING = False

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "01_connect.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"

# As the machine's notes advise: no first-run work and no connections of Chromium's own
# (the network is closed; they would fail, many at a time). Playwright adds --headless.
CHROMIUM_FLAGS = [
    "--no-sandbox",  # root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# JupyterLab must not reach the internet: no news feed, no update check, no PyPI
# extension manager (and its panel disabled in the page).
LAB_FLAGS = [
    "--ServerApp.ip=127.0.0.1",
    "--ServerApp.port_retries=0",
    "--ServerApp.open_browser=False",
    "--allow-root",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/extensionmanager-extension": True}}
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

LAB_START_TIMEOUT = 60.0  # seconds for JupyterLab to answer /api/status
LAB_STOP_TIMEOUT = 20.0  # seconds for it to exit after /api/shutdown (kernels first)
STEP_TIMEOUT_MS = 30_000  # each wait in the browser
OPEN_TIMEOUT_MS = 90_000  # the page loads and the kernel starts

EXECUTED = re.compile(r"^\[\d+\]:$")  # a code cell's prompt once it has run
ACTIVE = re.compile(r"\bjp-mod-active\b")  # the selected cell
PASTE_HINT = "Then paste the address you were sent back to"
CAPTURE_HINT = "This notebook picks the answer up by itself"
CONSENT_PAGE_MISTAKE = (
    "This is the consent page's address. Open it, click Accept, then paste the address of "
    "the page you land on."
)
ERROR_RED = "rgb(174, 46, 36)"  # the widget's colour for a failure (#ae2e24)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-")


# -- the app: the sandbox with two registered callbacks --------------------------------------


@dataclasses.dataclass(frozen=True)
class App:
    """The sandbox as a configured app, and its two callback URLs."""

    sandbox: Sandbox
    paste_callback: str  # nothing listens there: the browser cannot reach it
    loopback_callback: str  # the kernel's loopback listener binds its port

    def dotenv(self, redirect_uri: str, token_path: Path) -> str:
        """The ``.env`` beside a notebook: this app, ``redirect_uri``, its own token file."""
        sb = self.sandbox
        settings = {
            "JSM_NB_CLIENT_ID": sb.client_id,
            "JSM_NB_CLIENT_SECRET": sb.client_secret,
            "JSM_NB_AUTH_URL": sb.auth_url,
            "JSM_NB_API_URL": sb.api_url,
            "JSM_NB_REDIRECT_URI": redirect_uri,
            "JSM_NB_TOKEN_PATH": str(token_path),
            "JSM_NB_SITE": sb.sites[0]["name"],
        }
        return "".join(f"{name}={value}\n" for name, value in settings.items())


# -- JupyterLab --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Lab:
    """A JupyterLab server (which serves Notebook 7 too) started by :func:`launch_lab`."""

    url: str
    token: str
    root: Path
    log: Path
    process: subprocess.Popen[bytes]

    def wait_until_ready(self) -> None:
        def answers(http: requests.Session) -> bool:
            return http.get(f"{self.url}/api/status", timeout=5).ok

        self._poll("JupyterLab's start", LAB_START_TIMEOUT, answers)

    def wait_for_kernel(self, path: str) -> None:
        """Wait until the notebook at ``path`` has an idle kernel with a page connected to it.

        Until then JupyterLab drops a cell run (the page has no kernel yet), and its own
        indicator already says idle while the page loads.
        """

        def connected(http: requests.Session) -> bool:
            sessions = http.get(f"{self.url}/api/sessions", timeout=5).json()
            kernels = [session["kernel"] for session in sessions if session["path"] == path]
            return any(k["execution_state"] == "idle" and k["connections"] > 0 for k in kernels)

        self._poll("the notebook's kernel", OPEN_TIMEOUT_MS / 1000, connected)

    def _poll(self, what: str, timeout: float, done: Callable[[requests.Session], bool]) -> None:
        """Ask ``done`` until it says yes; raise when JupyterLab exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with requests.Session() as http:
            http.trust_env = False  # loopback: never through a proxy
            http.params = {"token": self.token}
            while self.process.poll() is None:
                with contextlib.suppress(requests.ConnectionError):
                    if done(http):
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{what} took over {timeout:.0f} s; see {self.log}")
                time.sleep(0.1)
        raise RuntimeError(f"JupyterLab exited ({self.process.returncode}); see {self.log}")

    def ask_to_stop(self) -> None:
        """Ask JupyterLab to shut its kernels down and exit."""
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{self.url}/api/shutdown", params={"token": self.token}, timeout=10)

    def wait_stopped(self) -> None:
        """Wait for JupyterLab to exit; kill it if it does not.

        Killed, it leaves no kernel behind either: ipykernel exits when its parent dies.
        """
        try:
            self.process.wait(LAB_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def open_notebook(self, name: str, dotenv: str) -> Notebook:
        """Copy the connect notebook into a folder ``name`` of its own, beside ``dotenv``."""
        folder = self.root / name
        folder.mkdir()
        shutil.copy(NOTEBOOK, folder)
        (folder / ".env").write_text(dotenv)
        cells = json.loads(NOTEBOOK.read_text())["cells"]
        code = {i: "".join(c["source"]) for i, c in enumerate(cells) if c["cell_type"] == "code"}
        return Notebook(self, f"{name}/{NOTEBOOK.name}", len(cells), code)


def _lab_environment(home: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without jsm_nb's settings, Jupyter's folders in ``home``."""
    removed = {*REMOTE_INDICATORS, "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"}
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("JSM_NB_") and name not in removed
    }
    folders = {
        "JUPYTER_CONFIG_DIR": "config",
        "JUPYTER_DATA_DIR": "data",
        "JUPYTER_RUNTIME_DIR": "runtime",
        "JUPYTERLAB_SETTINGS_DIR": "settings",
        "JUPYTERLAB_WORKSPACES_DIR": "workspaces",
        "IPYTHONDIR": "ipython",
    }
    for variable, folder in folders.items():
        (home / folder).mkdir(parents=True)
        env[variable] = str(home / folder)
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir()
    (labconfig / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    for name, values in USER_SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(values))
    env.update(extra)
    return env


def launch_lab(name: str, home: Path, extra_env: Mapping[str, str]) -> Lab:
    """Start JupyterLab on a free loopback port with a token, its folders under ``home``.

    Its log goes to ``artifacts/browser/{name}.log``.
    """
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    token = secrets.token_hex(24)
    root = home / "root"
    root.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        *LAB_FLAGS,
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            env=_lab_environment(home, extra_env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Lab(f"http://127.0.0.1:{port}", token, root, log, process)


@dataclasses.dataclass(frozen=True)
class Labs:
    """The two servers the tests use."""

    hub: Lab  # its kernels look remote, as under JupyterHub: the address is pasted back
    local: Lab  # its kernels listen on the loopback callback


# -- the page ----------------------------------------------------------------------------------


class Shots:
    """Numbered screenshots of one test's steps."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def take(self, page: Page, step: str) -> None:
        """Save the page as it looks; a screenshot is evidence, never a reason to fail."""
        self.count += 1
        name = f"{self.count:02d}-{step}"
        try:
            page.screenshot(path=self.folder / f"{name}.png")
        except PlaywrightError as error:  # e.g. Chromium's error page while it still loads
            (self.folder / f"{name}.txt").write_text(f"no screenshot: {error.message}\n")


@dataclasses.dataclass(frozen=True)
class Notebook:
    """The connect notebook's copy in a :class:`Lab`."""

    lab: Lab
    path: str
    cells: int  # how many cells it has
    code: dict[int, str]  # the source of each code cell, by its position among all cells

    def address(self, ui: str) -> str:
        """Its address in JupyterLab (``lab``; its tabs of earlier tests closed) or Notebook 7."""
        if ui == "lab":
            return f"{self.lab.url}/lab/tree/{quote(self.path)}?reset&token={self.lab.token}"
        return f"{self.lab.url}/notebooks/{quote(self.path)}?token={self.lab.token}"

    def index(self, snippet: str) -> int:
        """The position of the first code cell whose source holds ``snippet``."""
        return next(i for i, source in self.code.items() if snippet in source)


class Person:
    """Someone at the notebook page: runs cells, uses the login widget, takes screenshots."""

    def __init__(self, page: Page, notebook: Notebook, shots: Shots) -> None:
        self.page = page
        self.notebook = notebook
        self.shots = shots
        self.cells = page.locator(".jp-Notebook .jp-Cell")
        self.login_cell = notebook.index("jsm_nb.login(")
        self.widget = self.cells.nth(self.login_cell).locator(".jp-OutputArea")

    def open(self, ui: str) -> None:
        """Open the notebook in ``ui`` and wait until every cell shows and the kernel is idle."""
        self.page.goto(self.notebook.address(ui))
        expect(self.cells).to_have_count(self.notebook.cells, timeout=OPEN_TIMEOUT_MS)
        self.notebook.lab.wait_for_kernel(self.notebook.path)
        kernel = self.page.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        expect(kernel).to_have_attribute("data-status", "idle")
        self.shots.take(self.page, f"{ui}-opened")

    def run_cells(self, first: int, last: int) -> None:
        """Select cell ``first``, then Shift+Enter through ``last``, each code cell to its end."""
        self.cells.nth(first).locator(".jp-InputPrompt").click()
        expect(self.cells.nth(first)).to_have_class(ACTIVE)
        for index in range(first, last + 1):
            self.page.keyboard.press("Shift+Enter")  # runs the cell and selects the next one
            cell = self.cells.nth(index)
            if "jp-CodeCell" in (cell.get_attribute("class") or ""):
                expect(cell.locator(".jp-InputPrompt")).to_have_text(EXECUTED)

    def run_up_to_the_widget(self) -> None:
        self.run_cells(0, self.login_cell)
        expect(self.connect_link).to_be_visible()
        self.shots.take(self.page, "widget")

    @property
    def connect_link(self) -> Locator:
        return self.widget.get_by_role("link", name="Connect to Jira")

    @property
    def paste_box(self) -> Locator:
        return self.widget.get_by_placeholder("paste the address you were sent back to")

    def connect(self) -> Page:
        """Click Connect to Jira; returns the consent page, which must open in a new tab."""
        with self.page.context.expect_page() as opened:
            self.connect_link.click()
        consent = opened.value
        expect(consent.locator("#accept")).to_be_visible()
        self.shots.take(consent, "consent-page")
        return consent

    def paste(self, address: str) -> None:
        self.paste_box.fill(address)
        self.shots.take(self.page, "pasted")
        self.widget.get_by_role("button", name="Submit").click()

    def expect_connected(self, app: App) -> None:
        expect(self.widget.get_by_text("Connected.", exact=True)).to_be_visible()
        expect(self.widget).to_contain_text(f"{USER['name']} <{USER['email']}>")
        expect(self.widget).to_contain_text(app.sandbox.sites[0]["name"])
        expect(self.widget.get_by_role("button", name="Sign out")).to_be_visible()
        expect(self.paste_box).to_be_hidden()
        self.shots.take(self.page, "connected")


def accept_and_read_the_address(consent: Page, callback: str) -> str:
    """Click Accept; the address the consent tab is sent to (where nothing answers)."""
    with consent.expect_request(lambda request: request.url.startswith(f"{callback}?")) as sent:
        consent.locator("#accept").click()
    return sent.value.url


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    """Chromium, Playwright, JupyterLab and Notebook 7: a failure in CI if one is missing."""
    missing = [] if shutil.which("chromium") else ["Debian's chromium (apt-get install chromium)"]
    packages = ["playwright"] if PLAYWRIGHT_MISSING else []
    packages += [name for name in ("jupyterlab", "notebook") if not importlib.util.find_spec(name)]
    if packages:
        missing.append(f"{', '.join(packages)} (pip install -e '.[dev]')")
    if missing:
        reason = f"the browser tests need {' and '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def app() -> Iterator[App]:
    paste = f"http://localhost:{free_port()}/callback"
    loopback = f"http://localhost:{free_port()}/callback"
    with sandbox.run(requests=20, redirect_uris=(paste, loopback)) as sb:
        yield App(sb, paste, loopback)


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Labs]:
    """The two JupyterLab servers, started and stopped side by side."""
    kinds = {"hub": {"JUPYTERHUB_SERVICE_PREFIX": "/user/analyst/"}, "local": {}}
    started: list[Lab] = []
    try:
        for kind, extra_env in kinds.items():
            home = tmp_path_factory.mktemp(kind)
            started.append(launch_lab(f"{kind}_lab", home, extra_env))
        for lab in started:
            lab.wait_until_ready()
        yield Labs(**dict(zip(kinds, started, strict=True)))
    finally:
        for lab in started:
            lab.ask_to_stop()
        for lab in started:
            lab.wait_stopped()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ARTIFACTS / _safe_name(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"screenshots of this test: {folder}; JupyterLab's logs: {ARTIFACTS}/*.log")
    return Shots(folder)


@pytest.fixture
def page(browser: Browser, shots: Shots) -> Iterator[Page]:
    """A fresh browser profile's tab; every open tab is photographed at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        for number, tab in enumerate(context.pages, 1):
            with contextlib.suppress(PlaywrightError):
                shots.take(tab, f"end-tab{number}")
        context.close()


def _person(page: Page, lab: Lab, app: App, shots: Shots, callback: str, name: str) -> Person:
    """Someone at ``page`` with a new copy of the notebook in ``lab``, set up for ``callback``."""
    folder = _safe_name(name)
    dotenv = app.dotenv(callback, lab.root / folder / "tokens" / "tokens.json")
    return Person(page, lab.open_notebook(folder, dotenv), shots)


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("ui", ["lab", "notebook"], ids=["jupyterlab", "notebook7"])
def test_paste_the_address_then_the_next_cells_show_me_and_sites(
    page: Page, labs: Labs, app: App, shots: Shots, ui: str, request: pytest.FixtureRequest
) -> None:
    person = _person(page, labs.hub, app, shots, app.paste_callback, request.node.name)
    codes_before = app.sandbox.stats.codes_exchanged
    person.open(ui)
    person.run_up_to_the_widget()
    expect(person.cells.nth(person.notebook.index("Config.from_env"))).to_contain_text(
        f"Using the app {app.sandbox.client_id}"  # so the sandbox-only cell signs nobody in
    )
    expect(person.widget).to_contain_text(PASTE_HINT)

    consent = person.connect()
    landing = accept_and_read_the_address(consent, app.paste_callback)
    shots.take(consent, "landed-nowhere")
    person.paste(landing)
    person.expect_connected(app)

    person.run_cells(person.login_cell + 1, max(person.notebook.code))
    frames = page.locator(".jp-OutputArea-output table.dataframe")
    session_cell = person.cells.nth(person.notebook.index("jsm_nb.session("))
    expect(session_cell.locator("table.jsm-nb-connection")).to_contain_text(USER["name"])
    expect(frames.filter(has_text=USER["email"])).to_have_count(1)  # me()
    sites = frames.filter(has_text=app.sandbox.sites[0]["url"])  # sites()
    for site in app.sandbox.sites:
        expect(sites).to_contain_text(site["name"])
    sites.scroll_into_view_if_needed()
    shots.take(page, "me-and-sites")
    expect(page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')).to_have_count(0)
    assert app.sandbox.stats.codes_exchanged == codes_before + 1  # one paste, one sign-in


def test_the_kernel_picks_the_answer_up_without_a_paste(
    page: Page, labs: Labs, app: App, shots: Shots, request: pytest.FixtureRequest
) -> None:
    person = _person(page, labs.local, app, shots, app.loopback_callback, request.node.name)
    codes_before = app.sandbox.stats.codes_exchanged
    person.open("lab")
    person.run_up_to_the_widget()
    expect(person.widget).to_contain_text(CAPTURE_HINT)

    consent = person.connect()
    consent.locator("#accept").click()
    expect(consent.get_by_text("You can close this tab")).to_be_visible()
    assert consent.url.startswith(f"{app.loopback_callback}?code=")
    shots.take(consent, "listener-page")
    person.expect_connected(app)
    assert app.sandbox.stats.codes_exchanged == codes_before + 1


def test_a_wrong_address_shows_why_and_the_right_one_still_works(
    page: Page, labs: Labs, app: App, shots: Shots, request: pytest.FixtureRequest
) -> None:
    person = _person(page, labs.hub, app, shots, app.paste_callback, request.node.name)
    person.open("lab")
    person.run_up_to_the_widget()

    consent = person.connect()
    person.paste(consent.url)  # copied before clicking Accept
    error = person.widget.get_by_text(CONSENT_PAGE_MISTAKE, exact=True)
    expect(error).to_be_visible()
    expect(error).to_have_css("color", ERROR_RED)
    expect(person.connect_link).to_be_visible()
    shots.take(person.page, "error")

    person.paste(accept_and_read_the_address(consent, app.paste_callback))
    person.expect_connected(app)
