"""Fixtures for the browser tests: the real app on a loopback port, driven by Chromium.

The app runs in a thread under werkzeug's WSGI server with its own temporary SQLite
database and a scenarios folder holding only `scenarios/doorstep.yaml`. Playwright
drives Debian's chromium (never a downloaded browser). Every full HTML page the
server sends is kept, so one run of the Nu HTML Checker can check them all.
"""

import itertools
import logging
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from journeys import PASSWORD
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from simulator import create_app, library
from simulator.accounts import create_user
from simulator.db import alembic, db

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous waits: the suite shares two cores with whatever else the machine runs.
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)
_usernames = (f"trainee{n}" for n in itertools.count(1))


def pytest_collection_modifyitems(items):
    """Mark every test in this folder as a browser test."""
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


class HtmlRecorder:
    """WSGI middleware that keeps every full HTML page the app sends, as sent.

    `pages` holds the first page of each 'METHOD /path -> status'; `sent` holds every
    page in the order sent, as ('METHOD /path?query -> status', html), for a test that must
    check each state of a page (with a message, with search results) it saw.
    """

    def __init__(self, app):
        self.app = app
        self.pages = {}
        self.sent = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        """Pass the request on, keeping the body of an HTML document response."""
        captured = {}

        def recording_start_response(status, headers, exc_info=None):
            captured["status"] = status
            captured["type"] = dict((k.lower(), v) for k, v in headers).get("content-type", "")
            return start_response(status, headers, exc_info)

        response = self.app(environ, recording_start_response)
        try:
            body = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        is_fragment = environ.get("HTTP_HX_REQUEST") == "true"
        if captured["type"].startswith("text/html") and not is_fragment:
            where = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')}"
            status = captured["status"].split()[0]
            query = environ.get("QUERY_STRING") and f"?{environ['QUERY_STRING']}"
            html = body.decode("utf-8")
            with self.lock:
                self.pages.setdefault(f"{where} -> {status}", html)
                self.sent.append((f"{where}{query or ''} -> {status}", html))
        return [body]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """Build the app on a fresh database holding the test scenario."""
    root = tmp_path_factory.mktemp("browser")
    shutil.copytree(HERE / "scenarios", root / "scenarios")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-tests",
            "DATABASE_URL": f"sqlite:///{root / 'simulator.sqlite'}",
            "SCENARIOS_DIR": str(root / "scenarios"),
            "SESSION_COOKIE_SECURE": False,
        }
    )
    with app.app_context():
        alembic.upgrade()
        assert library.load_folder(root / "scenarios").ok
    yield app
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def html_pages(live_app):
    """Collect the HTML pages the server sends, keyed 'METHOD /path -> status'."""
    return HtmlRecorder(live_app.wsgi_app)


@pytest.fixture(scope="session")
def base_url(live_app, html_pages):
    """Serve the app on a free loopback port for the whole session (pytest-base-url's name)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    live_app.wsgi_app = html_pages
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def trainee(live_app):
    """Create a new trainee account and return its username (the password is PASSWORD)."""
    username = next(_usernames)

    def create():
        with live_app.app_context():
            create_user(username, PASSWORD, "trainee")

    # Flask-SQLAlchemy-Lite's teardown goes through asgiref, which refuses to run in a
    # thread with a running event loop, as Playwright's sync API keeps in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(create).result()
    return username


@pytest.fixture(scope="module")
def browser():
    """Start Debian's chromium for one test module.

    Playwright's sync API keeps an asyncio loop running in this thread while it is
    started, and Flask-SQLAlchemy-Lite's teardown (through asgiref) refuses to run
    beside one, so it must stop before the rest of the suite runs.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_page(browser, base_url, **options):
    """Open a page in a fresh context (its own cookies) at the test server."""
    options = {"viewport": {"width": 1024, "height": 900}, **options}
    context = browser.new_context(base_url=base_url, **options)
    context.set_default_timeout(TIMEOUT_MS)
    return context, context.new_page()


def console_errors(message):
    """Return a console error as a problem, unless it only reports a 4xx answer the test meant."""
    if message.type != "error" or message.text.startswith("Failed to load resource"):
        return []
    return [f"console: {message.text}"]


def missing_static_file(response):
    """Return a failed stylesheet, script or icon as a problem."""
    if "/static/" in response.url and response.status >= 400:
        return [f"{response.status} {response.url}"]
    return []


@pytest.fixture
def page(browser, base_url):
    """A page with JavaScript, as most people will use the simulator.

    Any script error, console error or failed static file fails the test.
    """
    context, page = new_page(browser, base_url)
    problems = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.extend(console_errors(message)))
    page.on("response", lambda response: problems.extend(missing_static_file(response)))
    yield page
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def open_page(browser, base_url):
    """Return a function that opens a page with the given context options, closed after."""
    contexts = []

    def open_(**options):
        context, page = new_page(browser, base_url, **options)
        contexts.append(context)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page_without_js(browser, base_url):
    """A page with JavaScript switched off: every form and link must still work."""
    context, page = new_page(browser, base_url, java_script_enabled=False)
    yield page
    context.close()
