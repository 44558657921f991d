"""Marking rationales: append-only marks against the rubric, what results and reviews show."""

from datetime import timedelta
from html import unescape

import pytest
from helpers import (
    BEST_PATH,
    client_of,
    gen_assessment,
    gen_assignment,
    gen_attempt,
    gen_cpd_cohort,
    gen_sitting,
    gen_user,
    post,
    queries_for,
    text_of,
)
from sqlmodel import select

from simulator import assessments, marking
from simulator.db import db
from simulator.models import Attempt, AttemptStep, AuditEntry, RationaleMark, utcnow
from simulator.web.train.marking_views import NOTHING_TO_MARK

REASON = "She is at <b>risk</b> & alone."
# Every column of the review matrix shows outcome and feedback, so marks show at once.
FEEDBACK_REVIEW = {when: ["outcome", "feedback"] for when in assessments.REVIEW_WHEN}


@pytest.fixture
def cohort(app):
    """Make a trainer and a CPD cohort of two candidates."""
    return gen_cpd_cohort(app, ["ann", "bob"])


@pytest.fixture
def sitting(app, cohort):
    """Return ann's finished attempt at an assessment whose review shows feedback at once:
    two of its decisions recorded a reason."""
    assignment_id = gen_assessment(app, cohort, review=FEEDBACK_REVIEW)
    return gen_sitting(app, "ann", assignment_id, BEST_PATH, rationale=REASON)


@pytest.fixture
def trainer(app, cohort):
    """Return a client signed in as the cohort's trainer."""
    return client_of(app, "trainer")


def reason_steps(app, attempt_id):
    """Return the ids of an attempt's steps that recorded a reason, in order."""
    with app.app_context():
        return [step.id for step in marking.rationale_steps(attempt_id)]


def mark(client, attempt_id, step_id, criteria=(), comment=""):
    """Post a mark of one reason; return the response."""
    url = f"/train/attempts/{attempt_id}/marks"
    data = {"step_id": str(step_id), "criteria": list(criteria), "comment": comment}
    return post(client, url, data, token_from=url)


def marks_of(app, attempt_id):
    """Return every mark of an attempt, oldest first, detached."""
    with app.app_context():
        statement = select(RationaleMark).where(RationaleMark.attempt_id == attempt_id)
        found = db.session.exec(statement.order_by(RationaleMark.id)).all()
        for row in found:
            db.session.expunge(row)
        return found


# --------------------------------------------------------------------------- the marks page


def test_the_page_shows_each_reason_escaped(app, trainer, sitting):
    """Each decision that recorded a reason is listed, its text escaped, not yet marked."""
    page = text_of(trainer.get(f"/train/attempts/{sitting}/marks"))
    assert page.count("&lt;b&gt;risk&lt;/b&gt; &amp; alone.") == 2 and "<b>risk</b>" not in page
    assert page.count("Not marked yet") == 2
    assert "never change the pass or the grade" in page


def test_a_mark_is_kept_with_who_when_and_audited(app, trainer, sitting):
    """A mark keeps each criterion met or not, the comment and the marker, in the audit log too."""
    step_id = reason_steps(app, sitting)[1]
    response = mark(trainer, sitting, step_id, ["risk", "options"], "Good on risk.")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/marks#decision-{step_id}")
    (saved,) = marks_of(app, sitting)
    assert saved.step_id == step_id and saved.comment == "Good on risk."
    assert saved.criteria == {"risk": True, "policy": False, "options": True}
    with app.app_context():
        entry = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "rationale.mark")
        ).one()
        assert entry.actor_id == saved.marker_id and entry.details["mark_id"] == saved.id
        assert "decision 2 of attempt 1" in entry.summary
    page = unescape(text_of(trainer.get(f"/train/attempts/{sitting}/marks")))
    assert "Your mark of decision 2 has been saved." in page
    assert "Newest mark, by trainer on" in page and "Good on risk." in page


def test_marks_are_append_only_and_the_newest_applies(app, trainer, sitting):
    """Marking again adds a mark; the earlier one is kept and the newest is shown."""
    step_id = reason_steps(app, sitting)[0]
    mark(trainer, sitting, step_id, ["risk"], "First look.")
    mark(trainer, sitting, step_id, ["risk", "policy"], "Second look.")
    assert [m.comment for m in marks_of(app, sitting)] == ["First look.", "Second look."]
    with app.app_context():
        newest, _marker = marking.latest_marks(sitting)[step_id]
        assert newest.comment == "Second look."
    page = text_of(trainer.get(f"/train/attempts/{sitting}/marks"))
    assert "Second look." in page and "First look." not in page


def test_a_mark_never_changes_the_pass_or_the_grade(app, trainer, sitting):
    """The attempt's pass and stored result are the same after marking."""
    with app.app_context():
        before = db.session.get(Attempt, sitting).result
    for step_id in reason_steps(app, sitting):
        mark(trainer, sitting, step_id, [], "Says nothing of the rubric.")
    with app.app_context():
        after = db.session.get(Attempt, sitting)
        assert after.result == before and after.passed is True


def test_a_long_comment_is_refused_and_nothing_kept(app, trainer, sitting):
    """A comment over 2,000 characters gets an error linked to its field, with status 422."""
    step_id = reason_steps(app, sitting)[0]
    response = mark(trainer, sitting, step_id, ["risk"], "x" * (marking.COMMENT_MAX + 1))
    page = text_of(response)
    assert response.status_code == 422
    assert f'href="#comment-{step_id}"' in page and "2,000 characters or fewer" in page
    assert marks_of(app, sitting) == []


@pytest.mark.parametrize(("criteria", "comment"), [([], ""), ([], "   "), (["bogus"], "")])
def test_an_empty_mark_is_refused_and_nothing_kept(app, trainer, sitting, criteria, comment):
    """A mark with nothing ticked and no comment, which could never be taken back, is refused
    by the criteria with status 422, and nothing is saved."""
    step_id = reason_steps(app, sitting)[0]
    response = mark(trainer, sitting, step_id, criteria, comment)
    page = text_of(response)
    assert response.status_code == 422 and "has been saved" not in page
    assert (
        f'href="#criteria-{step_id}-risk"' in page
        and f'id="criteria-{step_id}-risk-error"' in page
    )
    assert "Select what the reason does, or write a comment" in page
    assert marks_of(app, sitting) == []


def test_a_step_without_a_reason_cannot_be_marked(app, trainer, sitting):
    """A posted step that is not one of the attempt's reasons records nothing."""
    with app.app_context():
        hallway = db.session.exec(
            select(AttemptStep).where(AttemptStep.attempt_id == sitting, ~AttemptStep.is_decision)
        ).one()
    response = mark(trainer, sitting, hallway.id, ["risk"])
    assert response.status_code == 303 and marks_of(app, sitting) == []
    assert NOTHING_TO_MARK in unescape(text_of(trainer.get(response.headers["Location"])))


def test_free_practice_is_never_marked(app, sitting):
    """Even an admin cannot mark free practice."""
    gen_user(app, "admin", "admin")
    practice = gen_attempt(app, "ann", BEST_PATH)
    assert client_of(app, "admin").get(f"/train/attempts/{practice}/marks").status_code == 404


def test_the_debrief_read_only_links_to_marking(app, trainer, sitting):
    """The trainer's read-only debrief links to the marks page."""
    page = text_of(trainer.get(f"/train/attempts/{sitting}"))
    assert f'href="/train/attempts/{sitting}/marks"' in page


# --------------------------------------------------------------------------- awaiting marking


def test_awaiting_counts_unmarked_reasons_of_finished_attempts(app, trainer, cohort):
    """Reasons await marking until marked; unfinished attempts are not counted."""
    assignment_id = gen_assessment(app, cohort, attempts_allowed=2)
    finished = gen_sitting(app, "ann", assignment_id, BEST_PATH)
    gen_sitting(app, "bob", assignment_id, BEST_PATH[:1])
    with app.app_context():
        assert marking.awaiting_by_attempt(assignment_id) == {finished: 2}
    mark(trainer, finished, reason_steps(app, finished)[0], ["risk"])
    with app.app_context():
        assert marking.awaiting_by_attempt(assignment_id) == {finished: 1}


def test_results_show_the_reasons_to_mark_with_a_link(app, trainer, cohort):
    """The results table counts each candidate's reasons to mark and links to the marks page."""
    assignment_id = gen_assessment(app, cohort)
    attempt_id = gen_sitting(app, "ann", assignment_id, BEST_PATH)
    page = text_of(trainer.get(f"/train/assignments/{assignment_id}"))
    assert "Reasons to mark" in page
    row = page[page.index(">ann</a></th>") : page.index("</tr>", page.index(">ann</a></th>"))]
    assert f'href="/train/attempts/{attempt_id}/marks">Mark attempt 1' in row
    assert ">2\n" in row or ">2 " in row


def test_practice_rationales_await_no_marking(app, trainer, cohort):
    """A practice attempt may be marked, but its reasons are not counted as awaiting."""
    assignment_id = gen_assignment(app, cohort)
    gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
    page = text_of(trainer.get(f"/train/assignments/{assignment_id}"))
    row = page[page.index(">ann</a></th>") : page.index("</tr>", page.index(">ann</a></th>"))]
    assert "Mark attempt" not in row


def test_results_cost_the_same_queries_however_many_await(app, trainer, cohort):
    """Counting the reasons to mark costs one query for the table, not one per candidate."""
    assignment_id = gen_assessment(app, cohort)
    gen_sitting(app, "ann", assignment_id, BEST_PATH)
    url = f"/train/assignments/{assignment_id}"
    few = queries_for(app, trainer, url)
    gen_sitting(app, "bob", assignment_id, BEST_PATH)
    assert queries_for(app, trainer, url) == few


# ----------------------------------------------------------------------- the candidate's review


def test_the_review_shows_the_newest_mark_when_feedback_is_shown(app, trainer, sitting):
    """With feedback in the review, the candidate sees each decision's newest mark and comment."""
    step_id = reason_steps(app, sitting)[1]
    mark(trainer, sitting, step_id, ["policy"], "Name the power you would use.")
    page = unescape(text_of(client_of(app, "ann").get(f"/attempts/{sitting}/debrief")))
    assert "Your trainer’s mark of your reason" in page
    assert "Name the power you would use." in page
    assert "they do not change your pass or your grade" in page


def test_the_review_hides_marks_when_feedback_is_not_shown(app, trainer, cohort):
    """With the default review (the outcome only, until it closes), no mark is shown."""
    assignment_id = gen_assessment(app, cohort)
    attempt_id = gen_sitting(app, "ann", assignment_id, BEST_PATH, utcnow() - timedelta(hours=1))
    mark(trainer, attempt_id, reason_steps(app, attempt_id)[0], ["risk"], "Hidden comment.")
    page = text_of(client_of(app, "ann").get(f"/attempts/{attempt_id}/debrief"))
    assert "Hidden comment." not in page and "mark of your reason" not in page


def test_decision_marks_are_by_decision_number(app, trainer, sitting):
    """The review's marks are keyed by decision number: the step number plus one."""
    first, second = reason_steps(app, sitting)
    mark(trainer, sitting, second, ["risk"], "On the disclosure.")
    with app.app_context():
        found = marking.decision_marks(sitting)
        step = db.session.get(AttemptStep, second)
        assert list(found) == [step.step_number + 1]
        assert found[step.step_number + 1].comment == "On the disclosure."
