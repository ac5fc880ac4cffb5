"""Shared pieces of the browser tests (no tests here): a live voc service on a free loopback port with batch
workers, and a headless Chromium driven by Selenium through Debian's ``chromium`` + ``chromium-driver``.

Nothing is downloaded at run time: the browser and its driver come from the system packages (``.ci/run``
installs them); without them the browser tests skip.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voc_api.app import create_app
from voc_api.keys import create_key
from voc_api.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver", "chromium-driver")


def find_browser() -> tuple[str, str] | None:
    """(browser binary, chromedriver) from the system, or None when either is missing."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = next((p for p in map(shutil.which, DRIVER_NAMES) if p), None)
    if browser is None and Path("/usr/lib/chromium/chromium").is_file():
        browser = "/usr/lib/chromium/chromium"
    return (browser, driver) if browser and driver else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_pipeline(_settings: Settings) -> Any:
    raise RuntimeError("the browser tests use batch workers only")  # /v1/classify is not on the page


class LiveServer:
    """uvicorn serving ``create_app`` in a thread, with spawned batch worker processes."""

    def __init__(self, data_dir: Path, **overrides: Any) -> None:
        values: dict[str, Any] = {"data_dir": data_dir, "workers": 1, "poll_interval_s": 0.2, "heartbeat_s": 0.5,
                                  "worker_nice": 0, "log_level": "WARNING"}
        values.update(overrides)
        self.settings = Settings.model_validate(values)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.settings, pipeline_factory=_no_pipeline, start_sender=False)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def key(self, role: str = "analyst") -> str:
        token, _ = create_key(self.app.state.voc.sessions, role, f"browser-{role}")
        return token

    def start(self, timeout: float = 60.0) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="voc-live-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live voc server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(150)


@contextmanager
def live_server(data_dir: Path, **overrides: Any) -> Iterator[LiveServer]:
    server = LiveServer(data_dir, **overrides)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def chrome(download_dir: Path) -> Any:
    """A headless Chromium WebDriver (system binary and driver; downloads land in ``download_dir``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    assert found is not None
    browser, driver = found
    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium-manager fetch a browser or driver
    options = Options()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1600", "--lang=ru-RU", "--disable-extensions", "--no-first-run"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(download_dir),
                                              "download.prompt_for_download": False})
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def screenshot(driver: Any, name: str, full: bool = True) -> Path:
    """A PNG of the current tab under tests/artifacts/browser/ (git-ignored): the full page, or the viewport
    (the drill-down panel is fixed to the bottom of the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if not full:
        driver.save_screenshot(str(path))
        return path
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:  # noqa: BLE001 - a viewport shot is better than none
        driver.save_screenshot(str(path))
    return path


def wait_until(predicate: Callable[[], Any], timeout: float = 60.0, step: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(step)


def csp_errors(driver: Any) -> list[str]:
    """Browser console messages that report a Content-Security-Policy violation or a script error."""
    try:
        logs = driver.get_log("browser")
    except Exception:  # noqa: BLE001 - not every driver keeps logs
        return []
    return [e["message"] for e in logs if e.get("level") == "SEVERE"
            and ("Content Security Policy" in e["message"] or "Uncaught" in e["message"])]
