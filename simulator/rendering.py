"""Safe Markdown for scenario text: raw HTML is escaped and cast values stay literal."""

import re
import threading
from datetime import UTC
from zoneinfo import ZoneInfo

import cachetools
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markupsafe import Markup

from . import engine

# CommonMark lets any ASCII punctuation be escaped with a backslash.
MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")

GOVUK_CLASSES = {
    "paragraph_open": "govuk-body",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
    "link_open": "govuk-link",
    "blockquote_open": "govuk-inset-text",
    "table_open": "govuk-table",
}


def add_govuk_classes(state):
    """Give rendered elements GOV.UK Frontend classes and keep headings below the page's h1."""
    for token in walk(state.tokens):
        if token.type in GOVUK_CLASSES:
            token.attrSet("class", GOVUK_CLASSES[token.type])
        elif token.type in ("heading_open", "heading_close"):
            level = min(6, int(token.tag[1]) + 1)
            token.tag = f"h{level}"
            if token.type == "heading_open":
                token.attrSet("class", "govuk-heading-m" if level <= 3 else "govuk-heading-s")


def walk(tokens):
    """Yield tokens and their inline children."""
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


def image_as_text(renderer, tokens, index, options, env):
    """Render a Markdown image as its alternative text: a scenario shows only its own
    pictures (`image`), and format revision 2 refuses Markdown images, but a version stored
    under revision 1 may still hold one. Nothing is ever fetched from its address."""
    token = tokens[index]
    return escapeHtml(renderer.renderInlineAsText(token.children or [], options, env))


_markdown = MarkdownIt("commonmark", {"html": False})
_markdown.core.ruler.push("govuk_classes", add_govuk_classes)
_markdown.add_render_rule("image", image_as_text)


def markdown(text):
    """Render trusted-structure Markdown to HTML, with any raw HTML shown as text."""
    if not text:
        return Markup("")
    return Markup(rendered_html(text))


# Each cache keeps the HTML of the texts used most recently, up to this many characters of
# HTML (with their sources, about twice that in memory). The bundled library's texts for
# every cast row are 3,328, about 0.9 million characters of HTML: a cache of 512 entries
# (before) was smaller than that, so play cycled through it and missed nearly every time.
CACHED_CHARACTERS = 8_000_000


def _cache():
    """Return an empty cache of rendered HTML, bounded by its characters (see above)."""
    return cachetools.LRUCache(maxsize=CACHED_CHARACTERS, getsizeof=len)


@cachetools.cached(_cache(), lock=threading.Lock())
def rendered_html(text: str) -> str:
    """Return the HTML of Markdown ``text``, rendering each distinct text once per process.

    A page view renders nothing it has rendered before: the key is the whole Markdown
    source, and the output depends on nothing else. Revision 2 caps a text at 20,000
    characters.
    """
    return _markdown.render(text)


def literal(value):
    """Escape a value so Markdown shows it exactly as typed."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", value).replace("\n", " ")


def filled_markdown(text, row):
    """Fill placeholders from a cast row, as literal text, then render the Markdown."""
    if not text:
        return Markup("")
    return Markup(_filled_html(text, tuple(row.items())))


@cachetools.cached(_cache(), lock=threading.Lock())
def _filled_html(text: str, row: tuple) -> str:
    """Return the HTML of ``text`` filled from a cast row's items, once per text and row."""
    return _markdown.render(engine.fill(text, {key: literal(value) for key, value in row}))


def filled(text, row):
    """Fill placeholders in plain text (the template escapes it)."""
    return engine.fill(text, row) if text else text


LONDON = ZoneInfo("Europe/London")


def london(moment):
    """Show a stored UTC time as the date and time in London, e.g. '1 December 2026, 09:05'."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(LONDON)
    return f"{local.day} {local:%B %Y, %H:%M}"
