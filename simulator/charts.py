"""Server-rendered SVG bar charts of analytics figures: no script, no style attributes.

Pure: figures in, markup out. Each chart is an image (role="img") named by its <title>
and described by its <desc>, the one-sentence summary the page shows beside it; a GOV.UK
table of the same numbers sits beside it too. Every bar is labelled in words, and a
verdict is shown by a pattern and its word as well as its colour, never colour alone.
Text is near-black on white (19:1); bars and marks contrast at least 3:1 with white.
Only presentation attributes (fill, stroke, font-size) are used, which a Content
Security Policy without 'unsafe-inline' styles allows.
"""

import textwrap

from markupsafe import Markup, escape

from . import engine
from .counting import MINIMUM_PEOPLE, percent

WIDTH = 640
BAR_WIDTH = 600  # the bar of 100%
BAR_HEIGHT = 22
LINE = 22  # the height of a line of text
WRAP = 68  # characters per line of 16px Arial across the chart
FONT = "Arial, Helvetica, sans-serif"
INK = "#0b0c0c"
SECONDARY = "#484949"  # secondary text, 9:1 on white
RATE = "#1d70b8"

# Verdict -> (fill, pattern); the pattern tells the verdicts apart without colour.
VERDICT_STYLES = {
    engine.GOOD: ("#00703c", "solid"),
    engine.BETTER_AVAILABLE: ("#594d00", "stripes"),
    engine.COSTS_THE_PASS: ("#6e3619", "dots"),
    engine.CRITICAL: ("#942514", "checks"),
    engine.INAPPROPRIATE_SHARE: ("#d4351c", "crosses"),
}
UNJUDGED = ("#505a5f", "rows")


def decision_chart(decision, chart_id):
    """Return a horizontal bar per option of a decision: its share, count and verdict."""
    parts, y = [], LINE
    for option in decision.options:
        lines = wrap(option.text)
        for line in lines:
            parts.append(text(0, y, line, weight="bold"))
            y += LINE
        detail = (
            f"{plural_people(option.count, 'attempt')} ({option.percent or 0}%), "
            f"verdict: {verdict_word(option.verdict)}"
        )
        parts.append(text(0, y, detail, fill=SECONDARY))
        parts.append(bar(y + 8, option.share or 0, pattern_fill(chart_id, option.verdict)))
        y += BAR_HEIGHT + LINE + 14
    y = scale(parts, y)
    defs = patterns(chart_id, {option.verdict for option in decision.options})
    title = f"Decision {decision.ordinal}: share of attempts choosing each option"
    return svg(chart_id, title, decision.summary, y, defs + "".join(parts))


def cast_chart(cast, which, chart_id, summary):
    """Return a bar per cast row: its pass (or sharing-failure) rate and confidence interval.

    `which` is "passed" or "failed_sharing".
    """
    parts, y = [], LINE
    level = percent(cast.confidence)
    for row in cast.rows:
        for line in wrap(row.label):
            parts.append(text(0, y, line, weight="bold"))
            y += LINE
        rate, interval = cast_rate(row, which)
        if row.suppressed:
            parts.append(text(0, y, f"Fewer than {MINIMUM_PEOPLE} people: not shown", SECONDARY))
            y += LINE + 8
            continue
        if rate is None:
            parts.append(text(0, y, "No finished attempt", fill=SECONDARY))
            y += LINE + 8
            continue
        what = "passed" if which == "passed" else "failed on sharing"
        detail = (
            f"{percent(rate)}% {what} ({level}% confidence interval {percent(interval.low)}% "
            f"to {percent(interval.high)}%), of {row.finished} finished"
        )
        parts.append(text(0, y, detail, fill=SECONDARY))
        parts.append(bar(y + 8, rate, RATE))
        parts.append(whisker(y + 8, interval))
        y += BAR_HEIGHT + LINE + 14
    y = scale(parts, y)
    title = "Pass rate by cast row" if which == "passed" else "Sharing failures by cast row"
    return svg(chart_id, title, summary, y, "".join(parts))


def cast_rate(row, which):
    """Return a cast row's rate and interval for one outcome."""
    if which == "passed":
        return row.pass_rate, row.pass_interval
    return row.sharing_rate, row.sharing_interval


def plural_people(count, word):
    """Return '1 attempt' or '3 attempts'."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def verdict_word(verdict):
    """Return a verdict's words, or 'not judged'."""
    return verdict or "not judged"


def wrap(words):
    """Split text into lines that fit across the chart."""
    return textwrap.wrap(words, WRAP) or [""]


def text(x, y, words, fill=INK, weight=None, anchor=None):
    """Return one line of text."""
    extra = f' font-weight="{weight}"' if weight else ""
    extra += f' text-anchor="{anchor}"' if anchor else ""
    return (
        f'<text x="{x}" y="{y}" font-family="{FONT}" font-size="16" fill="{fill}"{extra}>'
        f"{escape(words)}</text>"
    )


def bar(y, value, fill):
    """Return a bar of a share (0 to 1), outlined so a bar of 0 still shows."""
    width = max(0.0, min(1.0, value)) * BAR_WIDTH
    return (
        f'<rect x="0" y="{y}" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" fill="#ffffff" '
        f'stroke="{SECONDARY}" stroke-width="1"/>'
        f'<rect x="0" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" fill="{fill}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )


def whisker(y, interval):
    """Return a confidence interval: a line with end caps across the bar's middle."""
    low, high = interval.low * BAR_WIDTH, interval.high * BAR_WIDTH
    middle, top, bottom = y + BAR_HEIGHT / 2, y + 2, y + BAR_HEIGHT - 2
    stroke = f'stroke="{INK}" stroke-width="3"'
    return (
        f'<line x1="{low:.1f}" y1="{middle}" x2="{high:.1f}" y2="{middle}" {stroke}/>'
        f'<line x1="{low:.1f}" y1="{top}" x2="{low:.1f}" y2="{bottom}" {stroke}/>'
        f'<line x1="{high:.1f}" y1="{top}" x2="{high:.1f}" y2="{bottom}" {stroke}/>'
    )


def scale(parts, y):
    """Add a scale of 0%, 50% and 100% under the bars; return the chart's height."""
    parts.append(f'<line x1="0" y1="{y}" x2="{BAR_WIDTH}" y2="{y}" stroke="{SECONDARY}"/>')
    for share, anchor in ((0, "start"), (0.5, "middle"), (1, "end")):
        x = share * BAR_WIDTH
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + 6}" stroke="{SECONDARY}"/>')
        parts.append(text(x, y + 6 + LINE, f"{int(share * 100)}%", SECONDARY, anchor=anchor))
    return y + 6 + LINE + 8


def pattern_fill(chart_id, verdict):
    """Return the fill of a bar with this verdict."""
    return f"url(#{chart_id}-{slug(verdict)})"


def slug(verdict):
    """Return a verdict as part of an id."""
    return (verdict or "unjudged").replace(" ", "-")


def patterns(chart_id, verdicts):
    """Return the fill pattern of each verdict shown."""
    defs = [pattern(chart_id, v) for v in sorted(verdicts, key=lambda v: v or "")]
    return f"<defs>{''.join(defs)}</defs>"


def pattern(chart_id, verdict):
    """Return one verdict's pattern: its colour with white marks of its own shape."""
    colour, shape = VERDICT_STYLES.get(verdict, UNJUDGED)
    marks = {
        "solid": "",
        "stripes": '<path d="M-2,2 l4,-4 M0,10 l10,-10 M8,12 l4,-4" stroke="#ffffff" '
        'stroke-width="2"/>',
        "dots": '<circle cx="5" cy="5" r="2" fill="#ffffff"/>',
        "checks": '<rect x="0" y="0" width="5" height="5" fill="#ffffff"/>'
        '<rect x="5" y="5" width="5" height="5" fill="#ffffff"/>',
        "crosses": '<path d="M2,2 l6,6 M8,2 l-6,6" stroke="#ffffff" stroke-width="2"/>',
        "rows": '<path d="M0,5 h10" stroke="#ffffff" stroke-width="2"/>',
    }[shape]
    return (
        f'<pattern id="{chart_id}-{slug(verdict)}" width="10" height="10" '
        f'patternUnits="userSpaceOnUse"><rect width="10" height="10" fill="{colour}"/>'
        f"{marks}</pattern>"
    )


def svg(chart_id, title, description, height, body):
    """Return the chart's svg element, named by its title and described by its summary."""
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" class="app-chart" role="img" focusable="false" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>{body}</svg>'
    )
