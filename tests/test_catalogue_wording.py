"""What the catalogue's assignment cards say: which kind each is, its result, what it offers."""

import re
from datetime import timedelta

import pytest
from helpers import (
    CHECK_PATH,
    client_of,
    gen_assessment,
    gen_assignment,
    gen_cpd_cohort,
    gen_sitting,
    text_of,
)

from simulator.models import utcnow
from simulator.rendering import LONDON


@pytest.fixture
def cohort(app):
    """Make a trainer and a trainee, and a CPD cohort holding the trainee."""
    return gen_cpd_cohort(app)


def card(page, assignment_id):
    """Return the part of the catalogue about one assignment, from its heading on."""
    start = page.rindex("<h3", 0, page.index(f'href="/assignments/{assignment_id}"'))
    return page[start : page.find("</li>", start)]


def words(html):
    """Return the text of some HTML, tags removed and spaces squeezed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_practice_and_assessment_of_one_scenario_are_told_apart(app, cohort):
    """Each assigned card's heading says whether it is practice or an assessment."""
    practice = gen_assignment(app, cohort)
    assessment = gen_assessment(app, cohort)
    page = text_of(client_of(app, "trainee").get("/"))
    assert "Practice A call to a flat" in words(card(page, practice))
    assert "Assessment A call to a flat" in words(card(page, assessment))


def test_an_assessment_card_shows_the_result_its_briefing_shows(app, cohort):
    """A finished assessment's card gives the counted attempt's outcome, as the briefing's
    list of attempts does, not just "Finished"; by the default review matrix, its grade
    waits until the assessment closes."""
    assessment = gen_assessment(app, cohort, attempts_allowed=2)
    gen_sitting(app, "trainee", assessment, CHECK_PATH)
    trainee = client_of(app, "trainee")
    briefing = words(text_of(trainee.get(f"/assignments/{assessment}")).split("Your attempts")[-1])
    shown = words(card(text_of(trainee.get("/")), assessment))
    assert "Not passed" in briefing and "0%" not in briefing
    assert "Your status Not passed" in shown and "Finished" not in shown
    assert "Grade" not in shown
    assert "Try again" in shown


@pytest.mark.parametrize(
    ("review", "card_says", "briefing_says", "hidden"),
    [
        (
            {"during": [], "immediately": [], "open": [], "closed": ["outcome", "scores"]},
            "Your status Finished Your result is not shown yet.",
            "Attempt 1",
            ("Not passed", "Passed", "Grade:", "0%"),
        ),
        (
            {"during": [], "immediately": ["outcome", "scores"], "open": [], "closed": []},
            "Your status Not passed Grade: 0%",
            "Not passed 0%",
            ("Finished",),
        ),
    ],
)
def test_the_review_matrix_decides_what_card_and_briefing_show(
    app, cohort, review, card_says, briefing_says, hidden
):
    """Outcome and grade appear on the card and the briefing only when the trainer's review
    settings show them now, as on the attempt's own review page."""
    assessment = gen_assessment(app, cohort, attempts_allowed=2, review=review)
    gen_sitting(app, "trainee", assessment, CHECK_PATH)
    trainee = client_of(app, "trainee")
    shown = words(card(text_of(trainee.get("/")), assessment))
    history = words(text_of(trainee.get(f"/assignments/{assessment}")).split("Your attempts")[-1])
    assert card_says in shown
    assert briefing_says in history
    for word in hidden:
        assert word not in shown and word not in history


def test_no_try_again_once_the_attempts_allowed_are_used(app, cohort):
    """With its one attempt used, an assessment's card says so and offers no Try again."""
    assessment = gen_assessment(app, cohort)
    gen_sitting(app, "trainee", assessment, CHECK_PATH)
    shown = words(card(text_of(client_of(app, "trainee").get("/")), assessment))
    assert "You have used the 1 attempt allowed." in shown
    assert "Try again" not in shown and "See your attempts" in shown


def test_an_assessment_card_says_when_it_closes(app, cohort):
    """An assessment's card gives the time it closes, as its briefing does, not a due day."""
    closes = (utcnow() + timedelta(days=2)).replace(hour=17, minute=0, second=0, microsecond=0)
    assessment = gen_assessment(app, cohort, closes_at=closes)
    trainee = client_of(app, "trainee")
    shown = words(card(text_of(trainee.get("/")), assessment))
    local = closes.astimezone(LONDON)
    assert f"Closes {local:%H:%M} on {local.day} {local:%B %Y}" in shown
    assert "By the end of" not in shown and "Due" not in shown
    briefing = words(text_of(trainee.get(f"/assignments/{assessment}")))
    assert "By the end of" not in briefing and f"{local.day} {local:%B %Y, %H:%M}" in briefing


def test_a_card_not_yet_open_says_when_once(app, cohort):
    """An assignment that has not opened says "Opens on" its day once, not under a label
    that already says "Opens"."""
    opens = utcnow() + timedelta(days=3)
    practice = gen_assignment(app, cohort, opens_at=opens)
    shown = words(card(text_of(client_of(app, "trainee").get("/")), practice))
    local = opens.astimezone(LONDON)
    assert f"Opens on {local.day} {local:%B %Y}." in shown
    assert shown.count("Opens") == 1


def test_an_assessment_not_yet_open_says_at_what_time(app, cohort):
    """An assessment that has not opened gives the time it opens, since it opens at a time."""
    opens = (utcnow() + timedelta(days=3)).replace(hour=9, minute=30, second=0, microsecond=0)
    assessment = gen_assessment(app, cohort, opens_at=opens, closes_at=opens + timedelta(days=1))
    shown = words(card(text_of(client_of(app, "trainee").get("/")), assessment))
    local = opens.astimezone(LONDON)
    assert f"Opens at {local:%H:%M} on {local.day} {local:%B %Y}." in shown


def test_an_assessment_briefing_does_not_promise_its_clock_stops(app, cohort):
    """An assessment's content note says its time keeps running if the candidate stops,
    never that they can stop and come back with their progress saved."""
    assessment = gen_assessment(app, cohort)
    page = text_of(client_of(app, "trainee").get(f"/assignments/{assessment}"))
    assert "Content note" in page and "progress is saved" not in page
    assert "the assessment’s time keeps running" in page
