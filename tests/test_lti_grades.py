"""LTI Assignment and Grade Services end to end: a launch with a line item, a play-through,
and `flask records send` posting the score to a real platform on loopback."""

from datetime import timedelta

from helpers import (
    BEST_PATH,
    SHARING_PATH,
    gen_assessment,
    gen_sitting,
    play_through,
    start,
)
from lti_platform import INSTRUCTOR
from sqlmodel import select
from test_lti import launch

from simulator import assessments, grades, outbox
from simulator.db import db
from simulator.models import Attempt, Cohort, LtiResourceLink, OutboxMessage, User, utcnow


def scores_waiting(app):
    """Return the outbox's score rows, oldest first."""
    with app.app_context():
        statement = select(OutboxMessage).where(OutboxMessage.kind == grades.AGS_SCORES)
        return db.session.exec(statement.order_by(OutboxMessage.id)).all()


def launch_and_play(client, platform, subject="learner-1", **wanted):
    """Launch the doorstep link and play it to its best ending."""
    response = launch(client, platform, subject, custom={"scenario": "doorstep"}, **wanted)
    assert response.status_code == 303, response.get_data(as_text=True)
    play_through(client, start(client), BEST_PATH)


def test_a_launch_keeps_the_line_item_on_its_link(app, client, registered):
    """A launch with the AGS claim leaves its line item and scopes on the resource link."""
    response = launch(client, registered, custom={"scenario": "doorstep"}, lineitem="7")
    assert response.status_code == 303
    with app.app_context():
        link = db.session.exec(select(LtiResourceLink)).one()
    assert link.lineitem_url == f"{registered.url}/lineitems/7"
    assert link.lineitems_url == f"{registered.url}/lineitems"
    assert grades.SCORE_SCOPE in link.ags_scopes


def test_finishing_writes_one_score_with_the_attempt(app, client, registered):
    """The attempt's ending writes one score row: its grade, the subject, the line item."""
    launch_and_play(client, registered, lineitem="7")
    [row] = scores_waiting(app)
    with app.app_context():
        attempt = db.session.exec(select(Attempt)).one()
    score = row.payload["score"]
    assert row.destination == f"{registered.url}/lineitems/7"
    assert score["userId"] == "learner-1"
    assert (score["scoreGiven"], score["scoreMaximum"]) == (attempt.result["grade"], 100)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    assert score["timestamp"].endswith("+00:00")


def test_a_link_without_a_line_item_writes_no_score(app, client, registered):
    """A launch without the AGS claim leaves nothing for the gradebook."""
    launch_and_play(client, registered)
    assert scores_waiting(app) == []


def test_free_practice_of_another_scenario_writes_no_score(app, client, registered):
    """Only attempts at what the graded link opens are scored."""
    launch(client, registered, custom={"scenario": "other"}, lineitem="7")
    play_through(client, start(client), BEST_PATH)
    assert scores_waiting(app) == []


def test_the_platform_receives_exactly_one_score(app, client, runner, registered):
    """`flask records send` gets a token by signed assertion and posts the score once."""
    launch_and_play(client, registered, lineitem="7")
    result = runner.invoke(args=["records", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 LTI score(s); 0 failed." in result.output
    runner.invoke(args=["records", "send"])
    [(item, score)] = registered.scores
    assert item == "7" and score["userId"] == "learner-1" and score["scoreMaximum"] == 100
    [row] = scores_waiting(app)
    assert row.delivered_at is not None and row.tries == 0


def test_a_platform_that_is_down_gets_the_score_on_a_later_send(app, client, runner, registered):
    """A failed delivery waits, backing off, and is delivered once the platform is back."""
    launch_and_play(client, registered, lineitem="7")
    registered.down = True
    result = runner.invoke(args=["records", "send"])
    assert result.exit_code == 1 and "503" in result.output
    [row] = scores_waiting(app)
    assert row.tries == 1 and row.delivered_at is None
    assert row.next_try_at > row.created_at
    registered.down = False
    with app.app_context():
        sent = outbox.send_waiting(
            grades.AGS_SCORES, grades.deliver, now=utcnow() + timedelta(minutes=2)
        )
    assert (sent.delivered, sent.failed) == (1, [])
    assert [item for item, _score in registered.scores] == ["7"]


def test_a_refused_score_holds_back_no_other(app, client, runner, registered):
    """The platform refusing one learner's score still takes the next one's."""
    launch_and_play(client, registered, "learner-1", lineitem="7")
    launch_and_play(app.test_client(), registered, "learner-2", lineitem="7")
    registered.refused = {"learner-1"}
    result = runner.invoke(args=["records", "send"])
    assert result.exit_code == 1 and "Sent 1 LTI score(s); 1 failed." in result.output
    assert [score["userId"] for _item, score in registered.scores] == ["learner-2"]


def test_a_forged_assertion_gets_no_token(app, client, runner, registered):
    """The platform refuses an assertion signed by a key that is not the tool's."""
    launch_and_play(client, registered, lineitem="7")
    registered.tool_jwks = {"keys": []}
    result = runner.invoke(args=["records", "send"])
    assert result.exit_code == 1 and "401" in result.output
    assert registered.scores == []


def graded_assessment(app, client, platform, **settings):
    """Launch an instructor into the course, set it an assessment, and launch learner-1 to
    it from a graded link; return the assessment's id and the learner's username."""
    launch(client, platform, "teacher-1", roles=[INSTRUCTOR])
    with app.app_context():
        cohort_id = db.session.exec(select(Cohort.id)).one()
    assignment_id = gen_assessment(app, cohort_id, **settings)
    wanted = {"custom": {"assignment": str(assignment_id)}, "lineitem": "9"}
    assert launch(client, platform, resource_link="link-2", **wanted).status_code == 303
    with app.app_context():
        learner = db.session.exec(select(User).where(User.role == "trainee")).one()
    return assignment_id, learner.username


def test_an_assessment_closed_when_time_ran_out_sends_its_zero(app, client, registered):
    """Closing an overdue assessment attempt writes the score of the attempt that counts."""
    assignment_id, learner = graded_assessment(app, client, registered)
    began = utcnow() - timedelta(hours=1)
    gen_sitting(app, learner, assignment_id, ["interpreter"], started_at=began)
    with app.app_context():
        assert assessments.close_overdue() == (1, 0, 0)
    [row] = scores_waiting(app)
    assert row.destination == f"{registered.url}/lineitems/9"
    assert row.payload["score"]["scoreGiven"] == 0


def test_an_assessment_sends_the_grade_its_method_counts(app, client, registered):
    """With the highest grade counting, a worse second attempt sends the first's grade."""
    assignment_id, learner = graded_assessment(
        app, client, registered, attempts_allowed=2, grade_method="highest"
    )
    gen_sitting(app, learner, assignment_id, BEST_PATH)
    gen_sitting(app, learner, assignment_id, SHARING_PATH)
    with app.app_context():
        grades_of = [a.result["grade"] for a in db.session.exec(select(Attempt)).all()]
    assert len(set(grades_of)) == 2
    first, second = scores_waiting(app)
    assert first.payload["score"]["scoreGiven"] == max(grades_of)
    assert second.payload["score"]["scoreGiven"] == max(grades_of)
    assert first.message_id != second.message_id
