"""Browser tests in a real Chromium (Debian's, driven by Playwright's Python package).

The app runs on a real port in a thread, on the test's own SQLite file and Redis; the
browser is started once per module with the machine's closed-network flags. Without a
browser the tests are skipped, except under `CI=true`, where a missing browser fails.
Screenshots go to `test-artifacts/screenshots/` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.services import desk_auth
from bot.storage import utcnow
from bot.web.app import create_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIDTHS = (390, 1280)


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need Chromium under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def live(settings):
    """The app with the simulator on, served on a free port; yields its base URL and app."""
    app = create_app(dict(settings, SIMULATOR="on"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def signed_in(page, base: str, db, phone: str, role: str = "admin"):
    """Sign the page in with a one-time link (the code path has its own test)."""
    desk_auth.grant_role(db, phone, role, utcnow())
    token = desk_auth.create_link_token(db, phone, utcnow())
    page.goto(f"{base}/dashboard/masuk/tautan/{token}")
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(f"{base}/dashboard/")
    return page


def check_layout(page, name: str) -> None:
    """At phone and laptop width: no sideways scrolling; a screenshot of each is kept."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
    page.set_viewport_size(original)
