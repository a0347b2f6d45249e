"""The browser tier: the hosted and pasted intake forms driven by a real headless Chromium through Selenium.

Uses Debian's `chromium` and `chromium-driver` (installed by .ci/run); nothing is downloaded at run time (the
driver path is given, so Selenium Manager is never asked).  Without them, or without Selenium, every test here
skips with the reason, so `make test` still passes on a laptop.  Screenshots go to `test-artifacts/browser/`
(git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if os.path.isfile(name) else None)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_binaries() -> tuple[str, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]'): the browser tier needs it")
    chromium = _find("chromium", "chromium-browser", "/usr/bin/chromium")
    driver = _find("chromedriver", "/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
    if chromium is None or driver is None:
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    return chromium, driver


def _chromium(binaries: tuple[str, str], *, javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = binaries
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=900,1100")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(20)
    return driver


@pytest.fixture
def browser(browser_binaries: tuple[str, str]) -> Iterator[Any]:
    driver = _chromium(browser_binaries)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser_without_javascript(browser_binaries: tuple[str, str]) -> Iterator[Any]:
    driver = _chromium(browser_binaries, javascript=False)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
