"""The authoring guide served at /guide: readable by anyone, with an anchor for every code."""

import ast
import re
from pathlib import Path

import pytest
from helpers import client_of, gen_user

from simulator.web import guide

SCENARIO_PACKAGE = Path(__file__).resolve().parents[1] / "simulator" / "scenario"
CODE = re.compile(r"[a-z]+(?:-[a-z]+)*")
# Where a code is written in the checker's source: the argument at this index of a call.
CODE_ARGUMENT = {"error": 0, "warn": 0, "Finding": 0, "YamlRefused": 0, "check_name": 1}


def emitted_codes() -> set[str]:
    """Return every problem code the checker's source writes out, found by reading it.

    A code is a call's code argument (``finder.error("unknown-node", ...)``,
    ``Finding("dead-end", ...)``, ``YamlRefused("yaml-syntax", ...)``, ...), or the first
    item of a ``(code, "error" | "warning", ...)`` or ``(code, node.line, ...)`` tuple.
    """
    codes = set()
    for path in SCENARIO_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            codes.update(_call_code(node) | _tuple_code(node))
    return codes


def _constant(node) -> str | None:
    """Return a string constant's value, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_code(node) -> set[str]:
    """Return the code a call to a problem-making function names, if it is written out."""
    if not isinstance(node, ast.Call):
        return set()
    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
    index = CODE_ARGUMENT.get(name)
    if index is None or len(node.args) <= index:
        return set()
    value = _constant(node.args[index])
    return {value} if value and CODE.fullmatch(value) else set()


def _tuple_code(node) -> set[str]:
    """Return the code of a ``(code, severity, ...)`` or ``(code, x.line, ...)`` tuple."""
    if not isinstance(node, ast.Tuple) or len(node.elts) < 2:
        return set()
    code, second = node.elts[:2]
    code = _constant(code)
    placed = _constant(second) in ("error", "warning") or getattr(second, "attr", "") == "line"
    return {code} if code and CODE.fullmatch(code) and placed else set()


CODES = sorted(emitted_codes())


def test_the_codes_are_found_in_the_checker():
    """Reading the checker finds the format's codes, from both ends of its order."""
    assert {"yaml-syntax", "schema", "unpassable", "unused-flag", "rewarded-error"} <= set(CODES)
    assert len(CODES) >= 23


def test_anyone_may_read_the_guide(client):
    """Someone not signed in gets the guide, not the sign-in page."""
    response = client.get("/guide")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<h1 class="govuk-heading-xl">Writing scenarios for Safe to Report</h1>' in page


def test_a_signed_in_trainer_reads_the_guide(app):
    """A trainer, signed in, gets the same guide."""
    gen_user(app, "trainer", "trainer")
    page = client_of(app, "trainer").get("/guide").get_data(as_text=True)
    assert 'id="code-unknown-node"' in page


@pytest.mark.parametrize("code", CODES)
def test_every_code_has_an_anchor(client, code):
    """Each code the checker reports has its own anchor on the guide page, exactly once."""
    page = client.get("/guide").get_data(as_text=True)
    assert page.count(f'id="code-{code}"') == 1


def test_guide_url_points_at_the_code(app):
    """guide_url gives the guide's address, at a code's anchor when given one."""
    with app.test_request_context():
        assert guide.guide_url("unknown-node") == "/guide#code-unknown-node"
        assert guide.guide_url() == "/guide"


def test_guide_url_is_a_template_global(app):
    """Templates can link a problem's code to its explanation."""
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ guide_url('dead-end') }}").render()
    assert rendered == "/guide#code-dead-end"


def test_headings_have_ids_and_a_contents_list(client):
    """Each section heading has an id, and the contents list links to it."""
    page = client.get("/guide").get_data(as_text=True)
    heading = '<h2 id="7-what-each-code-means-and-how-to-fix-it" class="govuk-heading-l">'
    assert heading in page
    assert 'href="#7-what-each-code-means-and-how-to-fix-it"' in page
    assert 'href="#errors"' in page and '<h3 id="errors" class="govuk-heading-m">' in page


def test_tables_and_examples_carry_govuk_classes_and_no_style(client):
    """Tables get GOV.UK's table classes, examples scroll in their own box, nothing is styled."""
    page = client.get("/guide").get_data(as_text=True)
    assert '<table class="govuk-table">' in page
    assert '<td class="govuk-table__cell">' in page
    assert '<pre class="govuk-body"><code>' in page
    assert "style=" not in page
    assert "<script>" not in page


def test_raw_html_in_the_guide_is_shown_as_text(tmp_path):
    """The guide is trusted, but its Markdown is still escaped: raw HTML shows as text."""
    source = tmp_path / "guide.md"
    source.write_text(
        "# Title\n\n<script>alert(1)</script>\n\n## Part\n\n"
        "| code | what |\n|:---|---|\n| `dead-end` | <b>x</b> |\n"
    )
    rendered = guide.rendered_guide(str(source))
    assert rendered.title == "Title"
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert '<tr class="govuk-table__row" id="code-dead-end">' in rendered.html
    assert "style=" not in rendered.html


def test_repeated_headings_get_distinct_ids(tmp_path):
    """Two headings with the same words get different ids."""
    source = tmp_path / "guide.md"
    source.write_text("# T\n\n## Notes\n\n## Notes\n\n## Notes\n\n## Contents\n")
    ids = [h.id for h in guide.rendered_guide(str(source)).headings]
    assert ids == ["notes", "notes-2", "notes-3", "contents-2"]


def test_the_guide_is_rendered_once_per_process(client, monkeypatch):
    """Serving the page again renders nothing: the guide is cached."""
    client.get("/guide")
    monkeypatch.setattr(guide, "_markdown", None)  # rendering again would fail
    assert client.get("/guide").status_code == 200
