"""Admin pages in a real browser: headless Chromium (Debian's ``chromium``,
which ``scripts/test`` installs) driven by Playwright against a live server.

Playwright's sync API keeps an asyncio loop running on the thread that
starts it, and Django's ORM then refuses to run on that thread. So the
browser lives on a thread of its own, one per test session, and a test hands
it a function of a page (``open_admin_page``); the function runs there and
returns plain data to assert on.
"""

import threading
from concurrent.futures import Future
from queue import Queue

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium's own connections are
# refused by a closed network, and start-up waits on them. Playwright gives
# each launch a new empty profile directory.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 10_000


class BrowserThread:
    """One headless Chromium, every call to it made from its own thread."""

    def __init__(self):
        self._calls: Queue = Queue()
        started: Future = Future()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        started.result(timeout=60)

    def _serve(self, started: Future) -> None:
        try:
            playwright = sync_playwright().start()
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=FLAGS
            )
        except BaseException as exc:  # handed to the session that waits
            started.set_exception(exc)
            return
        started.set_result(None)
        while (call := self._calls.get()) is not None:
            function, result = call
            try:
                result.set_result(function(browser))
            except BaseException as exc:  # raised again in the test's thread
                result.set_exception(exc)
        browser.close()
        playwright.stop()

    def run(self, function):
        """``function(browser)`` on the browser's thread; its result or its exception."""
        result: Future = Future()
        self._calls.put((function, result))
        return result.result(timeout=60)

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(timeout=30)


@pytest.fixture(scope="session")
def chromium():
    browser = BrowserThread()
    yield browser
    browser.close()


@pytest.fixture
def open_admin_page(live_server, chromium):
    """``open_admin_page(user, path, read)``: open ``path`` on the live server
    logged in as ``user`` and return ``read(page)``, read in the browser."""

    def open_page(user, path: str, read):
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value

        def visit(browser):
            context = browser.new_context()
            try:
                context.add_cookies(
                    [
                        {
                            "name": settings.SESSION_COOKIE_NAME,
                            "value": session,
                            "url": live_server.url,
                        }
                    ]
                )
                page = context.new_page()
                page.set_default_timeout(PAGE_TIMEOUT_MS)
                response = page.goto(live_server.url + path)
                assert response is not None and response.status == 200, response
                return read(page)
            finally:
                context.close()

        return chromium.run(visit)

    return open_page
