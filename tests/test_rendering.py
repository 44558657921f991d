"""Scenario Markdown is rendered safely; cast values are literal text."""

import pytest

from simulator.rendering import filled, filled_markdown, literal, markdown


def test_markdown_with_govuk_classes():
    """Paragraphs, lists and links get GOV.UK Frontend classes."""
    html = markdown("Hello *there*.\n\n- one\n- two\n\n[Guidance](https://example.org)")
    assert '<p class="govuk-body">Hello <em>there</em>.</p>' in html
    assert '<ul class="govuk-list govuk-list--bullet">' in html
    assert '<a href="https://example.org" class="govuk-link">Guidance</a>' in html


def test_raw_html_is_escaped():
    """Raw HTML never reaches the page."""
    html = markdown("<script>alert(1)</script>\n\nA <b>bold</b> claim")
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html


def test_javascript_links_dropped():
    """A javascript: link is not made into a link."""
    assert "href" not in markdown("[x](javascript:alert(1))")


def test_headings_sit_below_the_page_heading():
    """A Markdown h1 becomes an h2 so the page keeps one h1."""
    assert markdown("# Title").startswith('<h2 class="govuk-heading-m">')


@pytest.mark.parametrize("value", ["*Amina*", "<b>x</b>", "[a](https://e)", "# 1. _x_ `y` \\"])
def test_cast_values_literal(value):
    """A cast value shows exactly as typed, whatever Markdown it looks like."""
    html = filled_markdown("Her name is {name}.", {"name": value})
    expected = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<p class="govuk-body">Her name is {expected}.</p>' in html


def test_literal_escapes_punctuation():
    """Every ASCII punctuation mark is escaped."""
    assert literal("a*b_c") == "a\\*b\\_c"


def test_plain_fields_filled():
    """Plain fields are filled without Markdown; braces double as literal braces."""
    assert filled("{{ {name} }}", {"name": "*A*"}) == "{ *A* }"
    assert filled(None, {}) is None


def test_rendering_a_text_twice_renders_it_once(monkeypatch):
    """A node text shown twice with the same cast row goes through Markdown once."""
    from simulator import rendering

    calls = []
    render = rendering._markdown.render
    monkeypatch.setattr(
        rendering._markdown, "render", lambda text: calls.append(text) or render(text)
    )
    rendering.rendered_html.cache_clear()
    rendering._filled_html.cache_clear()
    text = "Once *only*, {name}: cached per text and cast row."
    first = filled_markdown(text, {"name": "Amina"})
    assert filled_markdown(text, {"name": "Amina"}) == first
    assert len(calls) == 1
    assert "Bo" in filled_markdown(text, {"name": "Bo"}) and len(calls) == 2


def test_markdown_image_renders_as_its_text_and_fetches_nothing():
    """A Markdown image (a version stored under revision 1 may hold one) shows its words."""
    html = str(markdown("See ![a <b> door](https://evil.example/x.png) here"))
    assert html == '<p class="govuk-body">See a &lt;b&gt; door here</p>\n'


def test_the_bundled_librarys_texts_fit_the_cache_with_room_to_spare(monkeypatch):
    """Every text the bundled scenarios show, for every cast row, stays rendered: a second
    pass renders nothing, and the cache holds under a quarter of its bound."""
    from pathlib import Path

    from simulator import engine, rendering
    from simulator.scenario.validate import load_file

    calls = []
    render = rendering._markdown.render
    monkeypatch.setattr(
        rendering._markdown, "render", lambda text: calls.append(text) or render(text)
    )
    rendering._filled_html.cache_clear()
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    scenarios = [load_file(path).scenario for path in sorted(folder.glob("*.yaml"))]
    assert len(scenarios) >= 12 and all(scenarios)

    def show_everything():
        for scenario in scenarios:
            for index in range(len(scenario.cast)) if scenario.cast else [None]:
                row = engine.cast_row(scenario, index)
                for node in scenario.nodes.values():
                    filled_markdown(node.text, row)
                    for choice in node.choices:
                        filled_markdown(choice.feedback, row)
                    if node.end is not None:
                        filled_markdown(node.end.debrief, row)

    show_everything()
    rendered = len(calls)
    assert rendered > 512  # more than the 512 entries the cache used to hold
    show_everything()
    assert len(calls) == rendered
    assert rendering._filled_html.cache.currsize < rendering.CACHED_CHARACTERS / 4
