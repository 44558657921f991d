"""The Content-Security-Policy, and proof that a scenario's text cannot run script.

The policy lets a page use only the app's own files. So that it never has to block the
app itself, no page holds an inline script, a style attribute or element, an event handler
or a javascript: address. And a scenario's text, whatever it holds, is either refused by
the validator or shown as text: a scenario carrying each payload in every text field is
played to every page where the field shows, and each page is read with a real HTML parser.
"""

import json
import re
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from flask import make_response
from helpers import (
    CSRF_FIELD,
    PASSWORD,
    csrf_token,
    gen_assessment,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_sitting,
    gen_user,
    sign_in,
    start,
    unreachable_database_url,
)
from jinja2 import BytecodeCache
from test_route_matrix import ACTORS, ROUTES
from test_route_matrix import world as world  # a fixture, shared with the route matrix

from simulator.engine import fill
from simulator.scenario import load_bytes
from simulator.web.auth import public

# What pages show does not depend on the database under them: these run on SQLite only.
pytestmark = pytest.mark.pages

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'"
)
HTMX = {"HX-Request": "true"}
HTMX_CONFIG = {"includeIndicatorStyles": False, "allowEval": False}
DOOR = Path(__file__).parent / "browser" / "scenarios" / "door.png"


# --- Reading a page ------------------------------------------------------------------

# Elements that run, embed, restyle or re-aim a page, which no page of the app needs.
FORBIDDEN_ELEMENTS = {
    "applet",
    "base",
    "embed",
    "fencedframe",
    "frame",
    "frameset",
    "iframe",
    "object",
    "portal",
    "style",
}
# Attributes holding an address that the browser loads, posts to or follows.
URL_ATTRIBUTES = {
    "action",
    "background",
    "cite",
    "codebase",
    "data",
    "formaction",
    "href",
    "icon",
    "longdesc",
    "manifest",
    "ping",
    "poster",
    "src",
    "xlink:href",
}
# Only a link a person follows may lead to another site, and only by these schemes.
LINKS = {("a", "href"), ("area", "href")}
LINK_SCHEMES = {"https", "http", "mailto"}
HTMX_HANDLER = re.compile(r"^(data-)?hx-on")


@dataclass
class Finding:
    """Something on a page that could run script or load from elsewhere."""

    offset: int  # where its tag starts in the page
    tag: str  # the start tag, as written
    what: str


def url_problem(tag, name, value):
    """Return why an address in an attribute is not allowed, or None if it is."""
    # Browsers drop whitespace and control characters around and inside a scheme, and read
    # a backslash as a slash, so "java\tscript:" and "/\\evil.example" are what they seem.
    address = re.sub(r"[\x00-\x20]", "", value).replace("\\", "/")
    parts = urlsplit(address)
    if not parts.scheme and not parts.netloc:
        return None  # same origin: a path, a query or a fragment
    if parts.scheme in ("http", "https") and parts.netloc == "localhost":
        return None
    if (tag, name) in LINKS and parts.scheme in LINK_SCHEMES:
        return None
    return f"{name}={value!r} leaves the site"


def tag_problems(tag, attrs):
    """Return what is wrong with one start tag, by its name and attributes."""
    found = []
    named = dict(attrs)
    if tag in FORBIDDEN_ELEMENTS:
        found.append(f"a <{tag}> element")
    if tag == "script" and not named.get("src"):
        found.append("an inline script")
    if tag == "meta" and "http-equiv" in named:
        found.append("a <meta http-equiv>")
    if tag == "meta" and named.get("name") == "htmx-config":
        if json.loads(named.get("content") or "null") != HTMX_CONFIG:
            found.append(f"htmx config {named.get('content')!r}")
    for name, value in attrs:
        if name.startswith("on") or HTMX_HANDLER.match(name):
            found.append(f"a {name} handler")
        elif name == "style":
            found.append("a style attribute")
        elif name == "srcset":
            found.append("a srcset")  # several addresses in one: the app never writes one
        elif name in URL_ATTRIBUTES and value is not None:
            problem = url_problem(tag, name, value)
            if problem:
                found.append(problem)
    return found


class PageAudit(HTMLParser):
    """Read a page as a browser would, keeping its findings and every text shown.

    `texts` holds each run of text and each attribute value, as the browser reads them
    (character references decoded), so a payload shown as text can be found there whole.
    """

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.findings = []
        self.texts = []
        self.tags = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        """Check a start tag and keep its attribute values."""
        line, column = self.getpos()
        offset = self.line_starts[line - 1] + column
        written = self.get_starttag_text()
        self.tags.append((tag, dict(attrs)))
        for what in tag_problems(tag, attrs):
            self.findings.append(Finding(offset, written, what))
        self.texts.extend(value for _, value in attrs if value)

    def handle_data(self, data):
        """Keep a run of text."""
        self.texts.append(data)

    def shows(self, text):
        """Say whether the page shows this text whole, as text or in an attribute value."""
        return any(text in shown for shown in self.texts)


def problems_in(html):
    """Return each finding on a page as a line."""
    return [f"{f.what} in {f.tag[:160]}" for f in PageAudit(html).findings]


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        "<p style='color: red'>x</p>",
        "<div onclick=alert(1)>x</div>",
        "<img src=x onerror=alert(1)>",
        '<div hx-on:click="alert(1)">x</div>',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" java&#9;script:alert(1)">x</a>',
        '<a href="data:text/html,x">x</a>',
        '<svg><a xlink:href="javascript:alert(1)">x</a></svg>',
        '<img src="https://evil.example/x.png">',
        '<img src="//evil.example/x.png">',
        '<img src="/\\evil.example/x.png">',
        '<img srcset="/a.png 1x, https://evil.example/b.png 2x">',
        '<script src="https://evil.example/x.js"></script>',
        '<link rel="stylesheet" href="https://evil.example/x.css">',
        '<form action="https://evil.example/"></form>',
        '<button formaction="https://evil.example/">x</button>',
        '<iframe src="/"></iframe>',
        "<style>p { color: red }</style>",
        '<base href="https://evil.example/">',
        '<meta http-equiv="refresh" content="0; url=https://evil.example/">',
        '<meta name="htmx-config" content=\'{"allowEval": true}\'>',
        '<object data="/x.swf"></object>',
    ],
)
def test_the_page_audit_finds_what_could_run_or_load_from_elsewhere(html):
    """A positive control for the audit below: each of these is found."""
    assert problems_in(f"<!DOCTYPE html><html><body>{html}</body></html>")


def test_the_page_audit_lets_the_app_own_markup_through():
    """Same-origin addresses, links out by a person's click, and the app's scripts pass."""
    html = (
        '<script src="/static/app.0123abcd.js" type="module"></script>'
        '<a href="https://example.org/guide">x</a> <a href="mailto:a@example.org">x</a>'
        '<a href="#main-content">x</a> <a href="?all=1">x</a> <a href="http://localhost/x">x</a>'
        '<img src="/versions/1/images/door.png" alt="">'
        '<form method="post" action="/attempts/1"></form>'
        '<svg><rect fill="url(#x-good)"/><text font-size="16">x</text></svg>'
    )
    assert problems_in(html) == []


# --- 1. The header -------------------------------------------------------------------


def signed_in_client(app, username="trainee", role="trainee"):
    """Return a client of the app signed in as a new person."""
    gen_user(app, username, role)
    client = app.test_client()
    assert sign_in(client, username).status_code == 303
    return client


def public_page(make_app):
    """The sign-in page, for someone not signed in."""
    return make_app().test_client().get("/sign-in"), 200


def signed_in_page(make_app):
    """The catalogue, for a signed-in trainee."""
    return signed_in_client(make_app()).get("/"), 200


def htmx_fragment(make_app):
    """The region of a step, as htmx asks for it."""
    client = signed_in_client(make_app())
    response = client.get(start(client), headers=HTMX)
    assert not response.get_data(as_text=True).lstrip().lower().startswith("<!doctype")
    return response, 200


def redirect_to_sign_in(make_app):
    """A signed-in page asked for by someone not signed in."""
    return make_app().test_client().get("/"), 302


def not_found(make_app):
    """An address that leads nowhere."""
    return signed_in_client(make_app()).get("/no/such/page"), 404


def forbidden(make_app):
    """A trainer's page asked for by a trainee."""
    return signed_in_client(make_app()).get("/train/"), 403


def method_not_allowed(make_app):
    """A method the address does not take."""
    return signed_in_client(make_app()).delete("/"), 405


def expired_form(make_app):
    """A form sent without its CSRF token."""
    return make_app().test_client().post("/sign-in", data={"username": "x"}), 400


def too_many_sign_ins(make_app):
    """A sign-in after too many failures."""
    app = make_app()
    gen_user(app, "ann")
    client = app.test_client()
    for _ in range(7):
        data = {
            "username": "ann",
            "password": "wrong",
            "csrf_token": csrf_token(client, "/sign-in"),
        }
        response = client.post("/sign-in", data=data)
    return response, 429


def server_error(make_app):
    """A view that fails unexpectedly."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def explode():
        raise RuntimeError("unexpected")

    app.add_url_rule("/explode", "explode", public(explode))
    return app.test_client().get("/explode"), 500


def database_away(make_app, tmp_path):
    """A signed-in page while the database is out of reach (as in tests/test_errors.py)."""
    client = signed_in_client(make_app())
    away = make_app(
        DATABASE_URL=unreachable_database_url(tmp_path),
        LOAD_LIBRARY_ON_START=False,
        PROPAGATE_EXCEPTIONS=False,
    )
    away_client = away.test_client()
    away_client.set_cookie("session", client.get_cookie("session").value)
    return away_client.get("/"), 503


ANSWERS = [
    public_page,
    signed_in_page,
    htmx_fragment,
    redirect_to_sign_in,
    not_found,
    forbidden,
    method_not_allowed,
    expired_form,
    too_many_sign_ins,
    server_error,
]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: answer.__name__)
def test_every_answer_carries_the_policy(make_app, answer):
    """Pages, fragments, redirects and error pages all carry exactly the policy."""
    response, status = answer(make_app)
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == POLICY


def test_a_busy_page_carries_the_policy(make_app, tmp_path):
    """The 503 shown while the database is out of reach carries the policy too."""
    response, status = database_away(make_app, tmp_path)
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"] == POLICY


def test_a_view_may_set_its_own_policy(make_app):
    """A policy a view sets itself is kept, not overwritten."""
    app = make_app()
    own = "default-src 'none'"

    def view():
        response = make_response("x")
        response.headers["Content-Security-Policy"] = own
        return response

    app.add_url_rule("/own", "own", public(view))
    assert app.test_client().get("/own").headers["Content-Security-Policy"] == own


# --- 2. No inline script or style ----------------------------------------------------


def test_the_page_is_marked_for_script_by_a_file_first_in_body(client):
    """The first thing in <body> is a plain, synchronous script from the static build."""
    tags = PageAudit(client.get("/sign-in").get_data(as_text=True)).tags
    names = [tag for tag, _ in tags]
    tag, attrs = tags[names.index("body") + 1]
    assert tag == "script" and re.fullmatch(r"/static/js-enabled\.[0-9a-f]{8}\.js", attrs["src"])
    assert not {"async", "defer", "type"} & attrs.keys()


def test_htmx_is_told_to_add_no_style_and_evaluate_nothing(client):
    """The page's htmx-config turns off htmx's inline indicator style and eval."""
    tags = PageAudit(client.get("/sign-in").get_data(as_text=True)).tags
    configs = [
        attrs for tag, attrs in tags if tag == "meta" and attrs.get("name") == "htmx-config"
    ]
    assert [json.loads(attrs["content"]) for attrs in configs] == [HTMX_CONFIG]


GET_ROUTES = [route for method, route, _ in ROUTES if method == "GET"]


@pytest.mark.parametrize("actor", ACTORS)
def test_no_page_holds_what_the_policy_would_block(app, world, actor):
    """Every page of the route matrix, whole or as htmx asks for it, for each kind of
    person, has no inline script, style, handler or address elsewhere."""
    client = app.test_client()
    if actor != "anonymous":
        assert sign_in(client, actor).status_code == 303
    problems, pages = [], 0
    for route in GET_ROUTES:
        url = route.format(**world)
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            html = response.get_data(as_text=True)  # read to the end: CSV exports stream
            response.close()
            if response.mimetype != "text/html":
                continue
            pages += 1
            how = " (htmx)" if headers else ""
            problems += [f"{url}{how}: {p}" for p in problems_in(html)]
    assert pages >= 10
    assert not problems, "\n".join(problems)


# --- 3. Payloads in every field ------------------------------------------------------

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "svg-onload": "<svg onload=alert(1)>",
    "iframe": '<iframe src="https://evil.example/"></iframe>',
    "style": "<style>@import url(https://evil.example/x.css);</style>",
    "stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">',
    "javascript-link": "[click me](javascript:alert(1))",
    "javascript-autolink": "<javascript:alert(1)>",
    "data-autolink": "<data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==>",
    "markdown-image": "![a picture](https://evil.example/x.png)",
    "link-elsewhere": "[guidance](https://evil.example/) <https://evil.example/a>",
    "double-quote": '" onmouseover="alert(1)" x="',
    "single-quote": "' onmouseover='alert(1)' x='",
    "template": "{{ 7*7 }} {{ config }}",
    "entities": "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;",
    "javascript-text": "javascript:alert(1)",
}
# The payloads that are markup or a link in Markdown: the validator refuses them there
# (raw HTML, Markdown images and links that are not web or mail addresses).
MARKUP = {
    "script",
    "img-onerror",
    "svg-onload",
    "iframe",
    "style",
    "stylesheet",
    "javascript-link",
    "javascript-autolink",
    "data-autolink",
    "markdown-image",
}
MARKDOWN_FIELDS = {"node-text", "step-text", "ending-text", "feedback", "debrief", "detail"}
PLACEHOLDER_FIELDS = {
    "node-text",
    "step-text",
    "ending-text",
    "speaker",
    "image-alt",
    "choice-text",
    "feedback",
    "outcome",
    "debrief",
}
# Every text field of the format, and the pages where each must show (a step's page, the
# feedback and the debrief are each fetched whole and as htmx asks for them).
SHOWN_ON = {
    "title": ("catalogue", "briefing", "decision", "feedback", "debrief", "trainer scenarios"),
    "summary": ("catalogue", "briefing", "trainer scenarios"),
    "objective": ("briefing",),
    "dimension": ("briefing",),
    "reference-title": ("feedback", "debrief"),
    "reference-source": ("feedback", "debrief"),
    "reference-url": ("feedback", "debrief"),
    "detail": ("feedback", "debrief"),
    "cast": ("decision", "feedback", "debrief"),
    "node-text": ("decision", "decision (htmx)", "feedback"),
    "speaker": ("decision", "debrief"),
    "image-alt": ("decision", "debrief"),
    "choice-text": ("decision", "feedback", "debrief", "trainer assignment analytics"),
    "feedback": ("feedback", "feedback (htmx)", "debrief"),
    "step-text": ("step", "step (htmx)"),
    "ending-text": ("debrief", "debrief (htmx)"),
    "outcome": ("debrief", "trainer attempt"),
    "debrief": ("debrief", "trainer attempt"),
}
FIELDS = tuple(SHOWN_ON)
MARKER = "payload-in-"
MARKED = re.compile(MARKER + r"([a-z-]+):")
PLAIN = "plain words"


def is_refused(field, payload):
    """Say whether the format refuses this payload in this field."""
    return field in MARKDOWN_FIELDS and payload in MARKUP


def field_value(field, text):
    """Return a field's value: its marker, then the text (a reference's address keeps its
    scheme, so that the payload is in its path)."""
    marked = f"{MARKER}{field}: {text}"
    return f"https://example.org/{marked}" if field == "reference-url" else marked


def shown_value(field, payload):
    """Return how a plain field holding this payload reads on the page."""
    value = field_value(field, PAYLOADS[payload])
    return fill(value, {}) if field in PLACEHOLDER_FIELDS else value


class NoAliases(yaml.SafeDumper):
    """Write YAML without anchors and aliases, which the format refuses."""

    def ignore_aliases(self, data):
        """Write every value out in full."""
        return True


def payload_yaml(payload_fields, payload=None):
    """Return a scenario file whose fields in `payload_fields` hold the payload, the others
    plain words, each after its field's marker."""
    return scenario_yaml(
        {
            name: field_value(name, PAYLOADS[payload] if name in payload_fields else PLAIN)
            for name in FIELDS
        }
    )


def scenario_yaml(values):
    """Return a scenario file with a decision, a step and an ending, holding `values` (field
    name -> text) in its fields; the cast's value ends each field that takes placeholders.

    The decision's first choice ("listen") passes, its second ("check") shares. Both go to
    the step, which goes to the ending.
    """

    def filled(name, suffix=""):
        return f"{values[name]}{suffix} / {{victim}}"

    image = {"src": "door.png", "alt": filled("image-alt")}
    reference = {
        "title": values["reference-title"],
        "source": values["reference-source"],
        "url": values["reference-url"],
        "detail": values["detail"],
    }
    data = {
        "format": 1,
        "id": "payload",
        "title": values["title"],
        "summary": values["summary"],
        "version": 1,
        "objectives": [values["objective"]],
        "dimensions": {"safeguarding": values["dimension"]},
        "pass_marks": {"safeguarding": 50},
        "references": {"guide": reference},
        "cast": [{"victim": values["cast"]}],
        "start": "arrival",
        "nodes": {
            "arrival": {
                "text": filled("node-text"),
                "speaker": filled("speaker"),
                "image": image,
                "rationale": "optional",
                "choices": [
                    {
                        "id": "listen",
                        "text": filled("choice-text"),
                        "next": "hallway",
                        "score": {"safeguarding": 2},
                        "feedback": filled("feedback"),
                        "refs": ["guide"],
                    },
                    {
                        "id": "check",
                        "text": filled("choice-text", " (the other option)"),
                        "next": "hallway",
                        "sharing": "inappropriate",
                        "feedback": filled("feedback", " (the other option)"),
                        "refs": ["guide"],
                    },
                ],
            },
            "hallway": {"text": filled("step-text"), "next": "ending"},
            "ending": {
                "text": filled("ending-text"),
                "speaker": filled("speaker"),
                "image": dict(image),
                "end": {"outcome": filled("outcome"), "debrief": filled("debrief")},
            },
        },
    }
    return yaml.dump(data, Dumper=NoAliases, sort_keys=False, allow_unicode=True, width=10**6)


def checked(text):
    """Return the validator's report on a scenario file kept beside the door picture."""
    return load_bytes(text.encode("utf-8"), "payload.yaml", DOOR.parent)


@dataclass
class Played:
    """The pages of one payload scenario, each read once."""

    pages: dict[str, str] = field(default_factory=dict)
    audits: dict[str, PageAudit] = field(default_factory=dict)

    def keep(self, name, response, status=200):
        """Keep a page, checking it was answered as expected."""
        assert response.status_code == status, f"{name}: {response.status_code}"
        html = response.get_data(as_text=True)
        self.pages[name] = html
        self.audits[name] = PageAudit(html)
        return response

    def findings(self, wanted=None):
        """Return each finding as a line, only those attributed to `wanted` if given."""
        lines = []
        for name, audit in self.audits.items():
            for finding in audit.findings:
                fields = attributed(audit.html, finding)
                if wanted is None or wanted in fields:
                    where = ", ".join(sorted(fields)) or "no field"
                    lines.append(f"{name} ({where}): {finding.what} in {finding.tag[:160]}")
        return lines


def attributed(html, finding):
    """Return the fields a finding comes from: the markers in its tag, else the last before."""
    inside = set(MARKED.findall(finding.tag))
    if inside:
        return inside
    before = MARKED.findall(html, 0, finding.offset)
    return {before[-1]} if before else set()


MEMBERS = ("member1", "member2", "member3", "member4", "member5")


class CompiledTemplates(BytecodeCache):
    """Keep compiled templates in memory for every app of this module: each payload's app
    would otherwise compile them all again, most of the time its pages take."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        """Give a template its code if compiled before (the bucket checks its source)."""
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        """Keep a newly compiled template's code."""
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


def play_everywhere(make_app, scenarios_dir, text):
    """Offer the scenario, play it to every page where its text shows, and return them."""
    (scenarios_dir / "doorstep.yaml").unlink()
    (scenarios_dir / "payload.yaml").write_text(text, encoding="utf-8")
    shutil.copyfile(DOOR, scenarios_dir / "door.png")
    app = make_app()
    app.jinja_env.bytecode_cache = COMPILED
    gen_user(app, "owner", "trainer")
    member_ids = {name: gen_user(app, name) for name in MEMBERS}
    trainee, trainer = app.test_client(), app.test_client()
    sign_in(trainee, "member1", PASSWORD)  # the first request loads the library
    sign_in(trainer, "owner", PASSWORD)
    cohort_id = gen_cohort(app, "owner", "Intake", MEMBERS)
    assignment_id = gen_assignment(app, cohort_id, key="payload")
    for number, name in enumerate(MEMBERS[1:]):
        path = ["check", "continue"] if number % 2 else ["listen", "continue"]
        gen_attempt(app, name, path, key="payload", assignment_id=assignment_id)
    assessment_id = gen_assessment(app, cohort_id, key="payload")
    sitting_id = gen_sitting(app, "member2", assessment_id, ["listen", "continue"])
    played = Played()
    attempt_url = play_as_trainee(trainee, played, assignment_id)
    attempt_id = attempt_url.rsplit("/", 1)[-1]
    trainer_pages = {
        "trainer cohorts": "/train/",
        "trainer scenarios": "/train/scenarios",
        "trainer scenario analytics": "/train/scenarios/payload/analytics",
        "trainer cohort": f"/train/cohorts/{cohort_id}",
        "trainer assignment": f"/train/assignments/{assignment_id}",
        "trainer assignment analytics": f"/train/assignments/{assignment_id}/analytics",
        "trainer person": f"/train/people/{member_ids['member1']}",
        "trainer attempt": f"/train/attempts/{attempt_id}",
        "trainer path": f"/train/attempts/{attempt_id}/path",
        "trainer marks": f"/train/attempts/{attempt_id}/marks",
        "trainer invigilation": f"/train/assignments/{assessment_id}/invigilate",
        "trainer record": f"/train/attempts/{sitting_id}/record",
    }
    for name, url in trainer_pages.items():
        played.keep(name, trainer.get(url))
    return played


def play_as_trainee(client, played, assignment_id):
    """Play the assignment by the good way, every page whole and as htmx asks for it, then
    free practice by the sharing way; return the assignment attempt's address."""
    played.keep("catalogue", client.get("/"))
    played.keep("briefing", client.get("/scenarios/payload"))
    briefing = played.keep("assignment briefing", client.get(f"/assignments/{assignment_id}"))
    started = send(client, f"/assignments/{assignment_id}/attempts", briefing, number="1")
    url = started.headers["Location"]
    play_one(client, played, url, "listen", (("", {}), (" (htmx)", HTMX)))
    practice = played.keep("briefing again", client.get("/scenarios/payload"))
    again = send(client, "/scenarios/payload/attempts", practice, number="1")
    play_one(client, played, again.headers["Location"], "check", ((" (sharing)", {}),))
    return url


def play_one(client, played, url, choice, ways):
    """Play one attempt from its first step to its debrief, keeping each page, fetched in
    each of `ways` ((name suffix, headers) pairs); the first way is a whole page."""
    first = ways[0][0]
    for how, headers in ways:
        played.keep(f"decision{how}", client.get(url, headers=headers))
    page = played.keep(
        f"decision error{first}",
        send(client, url, played.pages[f"decision{first}"], step="0"),
        422,
    )
    feedback = send(client, url, page, step="0", choice=choice, rationale="Because.")
    for how, headers in ways:
        played.keep(f"feedback{how}", client.get(feedback.headers["Location"], headers=headers))
        played.keep(f"step{how}", client.get(url, headers=headers))
    debrief = send(client, url, played.pages[f"step{first}"], step="1", choice="continue")
    assert debrief.headers["Location"].endswith("/debrief")
    for how, headers in ways:
        played.keep(f"debrief{how}", client.get(debrief.headers["Location"], headers=headers))


def send(client, url, page, **form):
    """Post a form with the CSRF token of the page it is on (a response kept or its HTML)."""
    html = page if isinstance(page, str) else page.get_data(as_text=True)
    token = CSRF_FIELD.search(html).group(1)
    return client.post(url, data={**form, "csrf_token": token})


_played = {}  # payload -> Played: each scenario is built and played once per run


@pytest.fixture
def played_with(make_app, scenarios_dir):
    """Return the pages of the scenario carrying a payload wherever the format allows."""

    def play(payload):
        if payload not in _played:
            allowed = {name for name in FIELDS if not is_refused(name, payload)}
            text = payload_yaml(allowed, payload)
            report = checked(text)
            assert report.ok, [str(p) for p in report.problems if p.is_error]
            _played[payload] = play_everywhere(make_app, scenarios_dir, text)
        return _played[payload]

    return play


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", FIELDS)
def test_a_payload_in_a_field_is_refused_or_shown_as_text(played_with, field, payload):
    """A payload in a field is refused as the format says, or shows as text wherever the
    field shows, with nothing that could run or load from elsewhere."""
    report = checked(payload_yaml({field}, payload))
    if is_refused(field, payload):
        assert not report.ok
        assert {p.code for p in report.problems if p.is_error} == {"schema"}
        return
    assert report.ok, [str(p) for p in report.problems if p.is_error]
    played = played_with(payload)
    findings = played.findings(field)
    assert not findings, "\n".join(findings)
    marker = f"{MARKER}{field}:"
    shown = marker if field in MARKDOWN_FIELDS else shown_value(field, payload)
    missing = [page for page in SHOWN_ON[field] if not played.audits[page].shows(shown)]
    assert not missing, f"{shown!r} is not shown as text on {missing}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_page_of_a_payload_scenario_holds_what_the_policy_would_block(played_with, payload):
    """Every page of the scenario carrying a payload is free of script, style and handlers."""
    played = played_with(payload)
    assert len(played.pages) >= 30
    findings = played.findings()
    assert not findings, "\n".join(findings)


def test_template_syntax_in_scenario_text_is_never_evaluated(played_with):
    """Jinja's braces in a scenario are text: nothing shows 49 or the app's settings."""
    played = played_with("template")
    for name, audit in played.audits.items():
        assert not audit.shows("SECRET_KEY") and not audit.shows(" 49 "), name


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x"],
)
def test_a_reference_address_that_is_not_the_web_or_mail_is_refused(url):
    """A reference's url must start with https://, http:// or mailto:."""
    text = payload_yaml(set()).replace(
        "url: 'https://example.org/payload-in-reference-url: plain words'", f"url: '{url}'"
    )
    assert f"url: '{url}'" in text
    report = checked(text)
    assert {p.code for p in report.problems if p.is_error} == {"schema"}
