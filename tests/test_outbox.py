"""The outbox: statements written in the transaction of what they report, and only then."""

import json
import threading
import uuid
from datetime import timedelta

import pytest
from helpers import (
    BEST_PATH,
    SHARING_PATH,
    attempt_id,
    client_of,
    gen_assessment,
    gen_cpd_cohort,
    gen_sitting,
    gen_user,
    offered,
    play_through,
    post,
    start,
)
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlmodel import select

from simulator import accounts, assessments, attempts, outbox
from simulator.db import db
from simulator.models import Attempt, Installation, OutboxMessage, utcnow

ENDED = ["completed", "passed", "terminated"]


def statements(app):
    """Return the outbox's statements, oldest first."""
    with app.app_context():
        found = db.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert all(row.kind == "xapi" and row.message_id == row.payload["id"] for row in found)
        return [row.payload for row in found]


def verbs(app):
    """Return the last word of each statement's verb, oldest first."""
    return [s["verb"]["id"].rsplit("/", 1)[-1] for s in statements(app)]


@pytest.fixture
def cohort(app):
    """Make a trainer and a CPD cohort holding the trainee."""
    return gen_cpd_cohort(app)


def test_playing_to_the_end_writes_each_statement_once(app, signed_in):
    """A practice attempt played to its ending writes start, two decisions and its end."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH)
    assert verbs(app) == ["initialized", "answered", "answered", *ENDED]
    made = statements(app)
    for statement in made:
        BaseXapiStatement.model_validate(statement)
    answered = [s["result"]["response"] for s in made if s["verb"]["id"].endswith("answered")]
    assert answered == ["interpreter", "reassure"]
    assert len({s["context"]["registration"] for s in made}) == 1
    assert made[4]["result"]["success"] is True


def test_the_options_are_those_shown_in_their_order_with_the_cast(app, signed_in):
    """A decision lists the options in the attempt's order, with the cast's words filled in."""
    url = start(signed_in)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        shown = [c.id for c in attempts.progress_of(attempt).offered()]
    play_through(signed_in, url, BEST_PATH)
    choices = statements(app)[1]["object"]["definition"]["choices"]
    assert [c["id"] for c in choices] == shown
    texts = " ".join(c["description"]["en-GB"] for c in choices)
    assert "Somali interpreter" in texts and "{" not in texts


def test_an_inappropriate_share_fails(app, signed_in):
    """Sharing her status fails the decision and the attempt."""
    play_through(signed_in, start(signed_in), SHARING_PATH)
    made = statements(app)
    assert verbs(app) == [
        "initialized",
        "answered",
        "answered",
        "completed",
        "failed",
        "terminated",
    ]
    assert made[2]["result"]["success"] is False
    assert made[4]["result"]["score"]["scaled"] == 0


def test_statements_name_no_one(app, make_app):
    """No username, name or e-mail of the person appears in any statement."""
    with app.app_context():
        accounts.create_user(
            "amina.khan@force.example", "correct horse battery", "trainee", display_name="Amina"
        )
    client = client_of(app, "amina.khan@force.example")
    play_through(client, start(client), BEST_PATH)
    text = json.dumps(statements(app))
    assert "amina" not in text.lower() and "@" not in text and "mbox" not in text


def test_a_step_that_fails_to_commit_leaves_no_statement(app, signed_in):
    """Of two requests that both take step 0, the one that loses writes nothing."""
    url = start(signed_in)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        first, second = attempts.progress_of(attempt), attempts.progress_of(attempt)
        taken = first.offered()[0]
        attempts.record_step(first, taken, None)
        with pytest.raises(attempts.StepConflict):
            attempts.record_step(second, second.offered()[1], "why")
        taken_id = taken.id
    assert verbs(app) == ["initialized", "answered"]
    assert statements(app)[1]["result"]["response"] == taken_id


def test_a_double_post_writes_one_statement(app, signed_in):
    """Posting the same step twice records it once, and one statement."""
    url = start(signed_in)
    for _ in range(2):
        post(signed_in, url, {"step": "0", "choice": "interpreter"})
    assert verbs(app) == ["initialized", "answered"]


def test_a_library_preview_writes_none(app):
    """A trainer's preview of a library version writes no statement."""
    gen_user(app, "trainer", "trainer")
    trainer = client_of(app, "trainer")
    with app.app_context():
        version_id = offered(app, "doorstep").id
    response = post(trainer, f"/library/versions/{version_id}/preview")
    assert response.status_code == 303
    play_through(trainer, response.headers["Location"], BEST_PATH)
    assert statements(app) == []


def test_an_assessment_preview_writes_none(app, cohort):
    """A trainer's preview of an assessment writes no statement."""
    assignment_id = gen_assessment(app, cohort)
    trainer = client_of(app, "trainer")
    url = f"/train/assignments/{assignment_id}"
    attempt_url = post(trainer, f"{url}/preview", token_from=url).headers["Location"]
    play_through(trainer, attempt_url, BEST_PATH)
    assert statements(app) == []


def test_giving_up_practice_is_abandoned(app, signed_in):
    """Abandoning a practice attempt writes abandoned, and nothing after it."""
    url = start(signed_in)
    post(signed_in, f"{url}/abandon")
    assert verbs(app) == ["initialized", "abandoned"]


def test_an_assessment_is_grouped_under_its_assignment_and_cohort(app, cohort):
    """An assessment attempt's statements carry the assignment, cohort and mode."""
    assignment_id = gen_assessment(app, cohort)
    gen_sitting(app, "trainee", assignment_id, BEST_PATH)
    made = statements(app)
    assert len(made) == 6
    context = made[0]["context"]
    grouping = [g["id"] for g in context["contextActivities"]["grouping"]]
    assert grouping == [
        f"http://localhost/assignments/{assignment_id}",
        f"http://localhost/cohorts/{cohort}",
    ]
    assert context["extensions"]["http://localhost/xapi/extensions/mode"] == "assessment"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("close", ["initialized", "answered", "failed", "terminated"]), ("discard", None)],
)
def test_time_running_out_closes_or_discards(app, cohort, rule, expected):
    """Closed when time ran out, an attempt is failed with grade 0; discarded, abandoned."""
    assignment_id = gen_assessment(app, cohort, overdue=rule, time_limit_s=60)
    began = utcnow() - timedelta(minutes=5)
    gen_sitting(app, "trainee", assignment_id, ["interpreter"], started_at=began)
    with app.app_context():
        assert assessments.close_overdue() == (1, 0, 0)
    made = statements(app)
    if expected is None:
        assert verbs(app) == ["initialized", "answered", "abandoned"]
        closed = made[-1]["result"]["extensions"]["http://localhost/xapi/extensions/closed"]
        assert closed == assessments.NOT_SUBMITTED
    else:
        assert verbs(app) == expected
        assert made[2]["result"]["score"]["raw"] == 0
        assert made[2]["result"]["completion"] is False


def test_the_activity_base_comes_from_the_config(make_app):
    """SIMULATOR_XAPI_ACTIVITY_BASE names activities and accounts, else SERVER_NAME."""
    app = make_app(XAPI_ACTIVITY_BASE="https://learning.example.police.uk/str/")
    gen_user(app, "trainee")
    client = client_of(app, "trainee")
    start(client)
    made = statements(app)[0]
    assert made["actor"]["account"]["homePage"] == "https://learning.example.police.uk/str"
    assert made["object"]["id"] == "https://learning.example.police.uk/str/scenarios/doorstep"
    config = {"SERVER_NAME": "str.example.police.uk", "PREFERRED_URL_SCHEME": "https"}
    assert outbox.activity_base(config) == "https://str.example.police.uk"


def test_the_namespace_is_drawn_once_and_kept(app, signed_in):
    """The namespace is made with the first statement, kept, and the ids derive from it."""
    with app.app_context():
        assert db.session.get(Installation, 1) is None
    play_through(signed_in, start(signed_in), BEST_PATH)
    with app.app_context():
        kept = uuid.UUID(db.session.exec(select(Installation.namespace)).one())
        assert outbox.namespace() == kept
    first = statements(app)[0]
    with app.app_context():
        attempt = db.session.exec(select(Attempt)).one()
    assert first["id"] == str(uuid.uuid5(kept, f"xapi/initialized/{attempt.id}"))


def test_two_processes_drawing_the_namespace_at_once_agree(make_app, app):
    """Two processes that both find no namespace end with one, the same for both."""
    apps = [app, make_app()]
    barrier = threading.Barrier(2)
    found = []

    def draw(each):
        with each.app_context():
            barrier.wait()
            found.append(outbox.namespace())
            db.session.commit()

    threads = [threading.Thread(target=draw, args=(each,)) for each in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        kept = db.session.exec(select(Installation)).all()
    assert len(kept) == 1 and found == [uuid.UUID(kept[0].namespace)] * 2
