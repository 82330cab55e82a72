"""A real browser for page tests: Debian's chromium headless, driven by selenium through chromium-driver.

A missing browser fails with the line that installs it (a skipped test would pass guarding nothing).
Screenshots go to ``$AUTOCULL_ARTIFACTS`` or ``tests/artifacts/`` (kept after the run, ignored by git through the
``.gitignore`` written into it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTALL = "sudo apt-get install chromium chromium-driver   (or: scripts/install-system-deps.sh)"
CHROMIUM = os.environ.get("AUTOCULL_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AUTOCULL_CHROMEDRIVER", "/usr/bin/chromedriver")


def artifacts_dir() -> Path:
    """Where tests keep what a person looks at afterwards (screenshots)."""
    where = Path(os.environ.get("AUTOCULL_ARTIFACTS") or Path(__file__).parent / "artifacts")
    where.mkdir(parents=True, exist_ok=True)
    ignore = where / ".gitignore"
    if not ignore.exists() and where.parent == Path(__file__).parent:
        ignore.write_text("*\n")
    return where


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless chromium (its own temporary profile), closed afterwards."""
    for tool in (CHROMIUM, CHROMEDRIVER):
        assert os.access(tool, os.X_OK), f"{tool} is missing: install it with: {INSTALL}"
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise AssertionError(f"selenium is missing: pip install -e '.[test]' ({exc})") from None

    profile = tempfile.mkdtemp(prefix="autocull-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "--allow-file-access-from-files",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: Any, index: Path, timeout: float = 10.0) -> None:
    """Load a review page and wait until its script has built the grid (it sets ``data-ready`` on the body)."""
    driver.get(index.as_uri())
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.body && document.body.getAttribute('data-ready')") != "1":
        assert time.monotonic() < deadline, f"page script failed: {driver.get_log('browser')}"
        time.sleep(0.05)
