"""A real headless browser for the console tests: Debian's chromium driven by Playwright.

The browser is the system's (``/usr/bin/chromium``, installed by ``make console-browser``, a
prerequisite of ``make integration``), never one Playwright downloads. Each test gets a fresh profile;
Content-Security-Policy violations, uncaught page errors and console errors (but the 401 of the
console's first, anonymous probe) fail the test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Error, Page, sync_playwright

CHROMIUM = Path(os.environ.get("JQM_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1200, "height": 760}
TIMEOUT_MS = 15_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
"""Where ``UPDATE_SCREENSHOTS=1`` writes the pictures docs/CONSOLE.md shows."""


class PageProblems:
    """What the page reported that a working console never reports."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.messages.append(f"CSP: {message.text}")
        elif message.type == "error" and "status of 401" not in message.text:
            self.messages.append(f"console error: {message.text}")

    def page_error(self, error: Error) -> None:
        self.messages.append(f"page error: {error}")


@pytest.fixture
def browser_page() -> Iterator[Page]:
    """A page of a fresh chromium profile."""
    if not CHROMIUM.exists():
        pytest.skip(f"no chromium at {CHROMIUM}: `make console-browser` installs Debian's")
    problems = PageProblems()
    profile = tempfile.mkdtemp(prefix="jqm-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), args=FLAGS, headless=True,
                viewport={"width": VIEWPORT["width"], "height": VIEWPORT["height"]}, accept_downloads=True,
            )  # fmt: skip
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", problems.console)
            page.on("pageerror", problems.page_error)
            try:
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert problems.messages == []


def screenshot(page: Page, name: str) -> None:
    """Writes docs/console/NAME.png when UPDATE_SCREENSHOTS=1 (the viewport only, PNG: small files)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
