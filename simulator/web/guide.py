"""The authoring guide (docs/authoring.md), served as a page that anyone may read."""

import functools
import re
from dataclasses import dataclass

from flask import Blueprint, render_template, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .. import PROJECT_ROOT
from .auth import public

bp = Blueprint("guide", __name__)
GUIDE = PROJECT_ROOT / "docs" / "authoring.md"
HEADING_CLASSES = {"h2": "govuk-heading-l", "h3": "govuk-heading-m"}
CLASSES = {
    "paragraph_open": "govuk-body",
    "bullet_list_open": "govuk-list govuk-list--bullet",
    "ordered_list_open": "govuk-list govuk-list--number",
    "link_open": "govuk-link",
    "blockquote_open": "govuk-inset-text",
    "table_open": "govuk-table",
    "thead_open": "govuk-table__head",
    "tbody_open": "govuk-table__body",
    "tr_open": "govuk-table__row",
    "th_open": "govuk-table__header",
    "td_open": "govuk-table__cell",
    "hr": "govuk-section-break govuk-section-break--l govuk-section-break--visible",
}
# Ids the page itself uses (base.html, the contents list): no heading takes them.
PAGE_IDS = ("main-content", "contents")
CODE = re.compile(r"[a-z]+(?:-[a-z]+)*")


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading of the guide: its level (2 or 3), its id and its text."""

    level: int
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Guide:
    """The guide's title, its HTML below the title, and its headings for a contents list."""

    title: str
    html: Markup
    headings: tuple[Heading, ...]

    @property
    def contents(self) -> list[tuple[Heading, list[Heading]]]:
        """Return each level-2 heading with the level-3 headings under it."""
        contents: list[tuple[Heading, list[Heading]]] = []
        for heading in self.headings:
            if heading.level == 2 or not contents:
                contents.append((heading, []))
            else:
                contents[-1][1].append(heading)
        return contents


@bp.get("/guide")
@public
def authoring():
    """Show the guide to writing scenarios, every code's meaning and fix included."""
    return render_template("guide/authoring.html", guide=rendered_guide(str(GUIDE)))


@bp.app_template_global()
def guide_url(code: str | None = None) -> str:
    """Return the guide's address, at the explanation of ``code`` when one is given."""
    return url_for("guide.authoring", _anchor=f"code-{code}" if code else None)


@functools.cache
def rendered_guide(path: str) -> Guide:
    """Render the Markdown file at ``path`` once per process; raw HTML in it shows as text."""
    with open(path, encoding="utf-8") as file:
        source = file.read()
    env: dict = {}
    html = _markdown.render(source, env)
    return Guide(env.get("title", "Writing scenarios"), Markup(html), tuple(env["headings"]))


def slug(text: str) -> str:
    """Return a heading's id: its words in lower case, joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def plain_text(inline) -> str:
    """Return the text of an inline token, code spans included, without markup."""
    children = inline.children or ()
    return "".join(c.content for c in children if c.type in ("text", "code_inline"))


def shape(state) -> None:
    """Lift the title out, give headings ids and classes, and give code rows anchors."""
    shaper = Shaper(state.env)
    tokens = state.tokens
    state.tokens = [token for i, token in enumerate(tokens) if shaper.keep(tokens, i)]
    state.env["headings"] = shaper.headings


class Shaper:
    """Walks the guide's block tokens once, in order, remembering the heading above."""

    def __init__(self, env: dict):
        self.env, self.headings, self.boxes = env, [], {}
        self.seen = set(PAGE_IDS)
        self.label, self.code_table, self.in_head, self.skip = "Table", False, False, 0

    def keep(self, tokens, i: int) -> bool:
        """Shape the token at ``i``; return whether it stays in the page."""
        if self.skip:
            self.skip -= 1
            return False
        token = tokens[i]
        token.attrs.pop("style", None)  # table alignment: no style attributes on the page
        if token.type in CLASSES:
            token.attrSet("class", CLASSES[token.type])
        shape_token = getattr(self, token.type, None)
        return shape_token(tokens, i) is not False if shape_token else True

    def heading_open(self, tokens, i: int) -> bool:
        """Take the first h1 as the title; give other headings an id and a class."""
        token, text = tokens[i], plain_text(tokens[i + 1])
        if token.tag == "h1" and "title" not in self.env:
            self.env["title"], self.skip = text, 2  # its text and closing tag go too
            return False
        ident, base, n = slug(text), slug(text), 1
        while ident in self.seen:
            n += 1
            ident = f"{base}-{n}"
        self.seen.add(ident)
        token.attrSet("id", ident)
        token.attrSet("class", HEADING_CLASSES.get(token.tag, "govuk-heading-s"))
        if token.tag in HEADING_CLASSES:
            self.headings.append(Heading(int(token.tag[1]), ident, text))
        self.label = text
        return True

    def table_open(self, tokens, i: int) -> None:
        """Name the table's scroll box; note whether its first column is a code."""
        tokens[i].meta["label"] = self.unique(f"Table: {self.label}")
        self.code_table = plain_text(tokens[i + 4]).strip().lower() == "code"

    def thead_open(self, tokens, i: int) -> None:
        """Note that the rows that follow are header rows."""
        self.in_head = True

    def thead_close(self, tokens, i: int) -> None:
        """Note that the rows that follow are body rows."""
        self.in_head = False

    def tr_open(self, tokens, i: int) -> None:
        """Give a row of a code table the id ``code-<code>``."""
        code = plain_text(tokens[i + 2]).strip()
        if self.code_table and not self.in_head and CODE.fullmatch(code):
            tokens[i].attrSet("id", f"code-{code}")

    def fence(self, tokens, i: int) -> None:
        """Name an example's scroll box."""
        tokens[i].meta["label"] = self.unique(f"Example: {self.label}")

    def unique(self, label: str) -> str:
        """Return ``label``, numbered from its second use, so each box's name is its own."""
        self.boxes[label] = self.boxes.get(label, 0) + 1
        count = self.boxes[label]
        return label if count == 1 else f"{label} ({count})"


def _scroll_box(label: str) -> str:
    """Open a box that scrolls a wide table or example by itself, reachable by keyboard."""
    return (
        f'<div class="app-table-container" role="region" aria-label="{escape(label)}" '
        'tabindex="0">\n'
    )


def _table_open(self, tokens, idx, options, env) -> str:
    return _scroll_box(tokens[idx].meta["label"]) + self.renderToken(tokens, idx, options, env)


def _table_close(self, tokens, idx, options, env) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _fence(self, tokens, idx, options, env) -> str:
    code = escape(tokens[idx].content)
    label = tokens[idx].meta["label"]
    return f'{_scroll_box(label)}<pre class="govuk-body"><code>{code}</code></pre>\n</div>\n'


_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
_markdown.core.ruler.push("guide_shape", shape)
_markdown.add_render_rule("table_open", _table_open)
_markdown.add_render_rule("table_close", _table_close)
_markdown.add_render_rule("fence", _fence)
