"""A JupyterLab server on localhost and headless Debian Chromium driven by Selenium.

Run with `make test-browser` (it installs chromium, chromium-driver and selenium first).
Screenshots land in ``artifacts/browser/`` (kept as test artefacts, not committed).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory, artifacts):
    """Start JupyterLab on a copy of lectures/ (so nothing committed is touched); yield its URL."""
    root = tmp_path_factory.mktemp("lab")
    source = Path(os.environ.get("KERNELFLOWS_BROWSER_LECTURES", ROOT / "lectures"))
    for nb in source.glob("*.ipynb"):
        shutil.copy(nb, root / nb.name)
    port, token = _free_port(), secrets.token_hex(16)
    settings = root / ".settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(root / ".jupyter"),
        JUPYTERLAB_SETTINGS_DIR=str(root / ".settings"),
    )
    env.pop("MPLBACKEND", None)  # the kernel uses the inline backend, as for a user
    log = open(artifacts.parent / "jupyterlab.log", "w")
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--allow-root",
        "--ServerApp.disable_check_xsrf=True", "--LabApp.news_url=None",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("JupyterLab did not start (artifacts/jupyterlab.log)") from exc
            time.sleep(0.5)
    yield {"url": url, "token": token, "root": root}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(artifacts):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1400,1000",
        f"--user-data-dir={artifacts.parent / 'chromium-profile'}",
    ):  # fmt: skip
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console, for test_book
    shutil.rmtree(artifacts.parent / "chromium-profile", ignore_errors=True)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()
