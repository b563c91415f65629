"""Browser tests: Playwright driving Debian's chromium against pytest-django's
live server.

They fail (never skip) when chromium is missing: `make test` installs it.
"""

import datetime as dt
import os

import pytest
from django.db import connections
from django.utils import timezone

from events.models import Occurrence

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "pw-for-tests-1"  # tests.factories.make_user's


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in the test thread; Django refuses
    # ORM calls from a thread with a running loop unless told they are fine. Set
    # only while a browser test runs: it must not leak into other tests or the
    # subprocesses they start (`check --deploy` rejects it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def playwright_session(_orm_beside_playwright):
    """Started and stopped for each test, so no event loop outlives the browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
        # While Playwright's loop runs, Django keeps this thread's connections in a
        # context-local store apart from the thread-local one (asgiref Local), which
        # pytest-django's teardown never sees: close them before the loop stops.
        connections.close_all()


@pytest.fixture
def launch(playwright_session):
    """launch(*extra_args) -> a chromium browser, closed after the test. Open
    pages with `new_context(browser)`: a phone set to Vietnamese."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, or `apt-get install -y chromium ffmpeg`")
    browsers = []

    def _launch(*extra_args):
        browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
        browsers.append(browser)
        return browser

    yield _launch
    for browser in browsers:
        browser.close()


def new_context(browser, **options):
    return browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", viewport={"width": 390, "height": 844}, **options)


def open_door(occurrence: Occurrence) -> Occurrence:
    """Move a date (with its tickets already made) to have started 5 minutes ago
    for two hours, so its door is open and it is today even just after midnight."""
    start = timezone.now() - dt.timedelta(minutes=5)
    Occurrence.objects.filter(pk=occurrence.pk).update(start=start, end=start + dt.timedelta(hours=2))
    occurrence.refresh_from_db()
    return occurrence


def log_in(page, live_server, user, next_url: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.press("#id_password", "Enter")
    assert page.url == f"{live_server.url}{next_url}", page.url
