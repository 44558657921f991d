"""Invigilating an assessment: the live view of its candidates, and one candidate's terms.

Time is controlled, never slept through: the store takes `now`, and over HTTP attempts are
started in the past, as if their time had run out.
"""

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from helpers import (
    BEST_PATH,
    client_of,
    gen_assessment,
    gen_assignment,
    gen_cpd_cohort,
    gen_sitting,
    gen_user,
    post,
    queries_for,
    text_of,
)
from sqlmodel import select

from simulator import accounts, assessments, invigilation
from simulator.db import db
from simulator.models import Assignment, Attempt, AuditEntry, utcnow
from simulator.web.train.invigilation_views import clock_time

CANDIDATES = ("ann", "bob", "cat", "dan")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def cohort(app):
    """Make a trainer and a CPD cohort of four candidates."""
    return gen_cpd_cohort(app, CANDIDATES)


@pytest.fixture
def assessment(app, cohort):
    """Set a 30-minute assessment: ann is 5 minutes in, bob started 40 minutes ago and never
    finished, cat has finished, dan has not started."""
    assignment_id = gen_assessment(app, cohort)
    gen_sitting(app, "ann", assignment_id, BEST_PATH[:1], utcnow() - timedelta(minutes=5))
    gen_sitting(app, "bob", assignment_id, BEST_PATH[:1], utcnow() - timedelta(minutes=40))
    gen_sitting(app, "cat", assignment_id, BEST_PATH)
    return assignment_id


@pytest.fixture
def trainer(app, cohort):
    """Return a client signed in as the cohort's trainer."""
    return client_of(app, "trainer")


def attempt_of(app, username, assignment_id):
    """Return a candidate's latest attempt at an assessment, detached."""
    with app.app_context():
        user_id = accounts.find_user(username).id
        statement = select(Attempt).where(
            Attempt.user_id == user_id, Attempt.assignment_id == assignment_id
        )
        attempt = db.session.exec(statement.order_by(Attempt.number.desc())).first()
        db.session.expunge(attempt)
        return attempt


def row_of(page, name):
    """Return the table row of the candidate with this name, as text."""
    start = page.index(f">{name}</a></th>")
    return unescape(page[start : page.index("</tr>", start)])


def candidates_at(app, assignment_id, now):
    """Return the invigilation rows of an assessment at a moment."""
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        rows = invigilation.candidates(assignment, found, now)
        for row in rows:
            db.session.expunge(row.person)
        return {row.person.username: row for row in rows}


# --------------------------------------------------------------------------- the live view


def test_every_candidate_is_listed_with_their_state(app, trainer, assessment):
    """Each candidate in the cohort is listed: in progress, finished, not started."""
    page = text_of(trainer.get(f"/train/assignments/{assessment}/invigilate"))
    assert "In progress" in row_of(page, "ann")
    assert "Finished" in row_of(page, "cat")
    assert "Not started" in row_of(page, "dan")
    assert "0 of 1 used" in row_of(page, "dan")


def test_an_attempt_out_of_time_is_closed_before_the_list_is_made(app, trainer, assessment):
    """Opening the view closes an attempt past its deadline, as the assessment's rule says."""
    page = text_of(trainer.get(f"/train/assignments/{assessment}/invigilate"))
    assert "Finished" in row_of(page, "bob")
    bob = attempt_of(app, "bob", assessment)
    assert bob.state == "finished" and bob.passed is False
    assert bob.closed_reason == assessments.TIME_RAN_OUT
    assert bob.finished_at == bob.deadline_at


def test_a_live_attempt_shows_its_deadline_and_time_left(app, trainer, assessment):
    """A live attempt shows its deadline as a London time and the minutes left."""
    ann = attempt_of(app, "ann", assessment)
    row = row_of(text_of(trainer.get(f"/train/assignments/{assessment}/invigilate")), "ann")
    assert f"until {clock_time(ann.deadline_at, utcnow())}" in row
    assert "24 min" in row or "25 min" in row


def test_time_left_is_the_servers(app, assessment):
    """Time left is counted from the server's clock to the deadline."""
    ann = attempt_of(app, "ann", assessment)
    rows = candidates_at(app, assessment, ann.deadline_at - timedelta(seconds=90))
    assert rows["ann"].seconds_left == 90
    assert invigilation.time_left(rows["ann"].seconds_left) == "1 min"
    assert rows["dan"].seconds_left is None and rows["cat"].seconds_left is None


def test_in_the_grace_period_a_candidate_shows_overdue_until_its_end(app, trainer, cohort):
    """In its grace period an attempt is overdue, with the grace period's end as its deadline."""
    assignment_id = gen_assessment(app, cohort, overdue="grace", grace_s=10 * 60)
    gen_sitting(app, "ann", assignment_id, BEST_PATH[:1], utcnow() - timedelta(minutes=35))
    row = row_of(text_of(trainer.get(f"/train/assignments/{assignment_id}/invigilate")), "ann")
    ann = attempt_of(app, "ann", assignment_id)
    assert ann.state == "overdue" and ann.finished_at is None
    assert "Overdue (grace period)" in row
    assert f"until {clock_time(ann.grace_until, utcnow())}" in row


def test_bringing_up_to_the_clock_follows_the_given_time(app, assessment):
    """The store closes attempts by the time it is given: an hour on, ann's closes too."""
    with app.app_context():
        changed = invigilation.bring_up_to_clock(assessment, utcnow() + timedelta(hours=1))
    assert changed == 2  # ann's and bob's
    assert attempt_of(app, "ann", assessment).closed_reason == assessments.TIME_RAN_OUT


def test_an_attempt_another_process_holds_is_left_to_it(app, assessment, monkeypatch):
    """An attempt locked elsewhere (close-overdue at work) is skipped, not waited on."""
    monkeypatch.setattr(assessments, "locked_attempt", lambda _attempt_id: None)
    with app.app_context():
        assert invigilation.bring_up_to_clock(assessment, utcnow()) == 0
    assert attempt_of(app, "bob", assessment).state == "in_progress"


def test_a_finished_attempt_shows_when_and_late(app, trainer, cohort):
    """A finished attempt shows when it finished; one closed after its grace is late."""
    assignment_id = gen_assessment(app, cohort, overdue="grace", grace_s=5 * 60)
    gen_sitting(app, "ann", assignment_id, BEST_PATH[:1], utcnow() - timedelta(hours=1))
    row = row_of(text_of(trainer.get(f"/train/assignments/{assignment_id}/invigilate")), "ann")
    ann = attempt_of(app, "ann", assignment_id)
    assert "Finished" in row and "Late" in row
    assert clock_time(ann.finished_at, utcnow()) in row


def test_a_practice_assignment_has_no_invigilation(app, trainer, cohort):
    """Only an assessment can be invigilated."""
    assignment_id = gen_assignment(app, cohort)
    assert trainer.get(f"/train/assignments/{assignment_id}/invigilate").status_code == 404


def test_the_list_refreshes_itself_with_htmx_and_has_a_refresh_link(app, trainer, assessment):
    """The region polls every 15 seconds, with a plain Refresh link, never a meta refresh."""
    url = f"/train/assignments/{assessment}/invigilate"
    page = text_of(trainer.get(url))
    assert f'data-hx-get="{url}" data-hx-trigger="every 15s"' in page
    assert f'id="refresh" href="{url}">Refresh the list</a>' in page
    assert 'http-equiv="refresh"' not in page.lower()


def test_the_refreshing_can_be_stopped(app, trainer, assessment):
    """With ?live=off the region does not poll, and its Refresh link keeps it off."""
    url = f"/train/assignments/{assessment}/invigilate"
    assert f'href="{url}?live=off">Stop updating it</a>' in text_of(trainer.get(url))
    page = text_of(trainer.get(f"{url}?live=off"))
    assert "data-hx-trigger" not in page
    assert f'id="refresh" href="{url}?live=off"' in page


def test_a_refresh_gets_the_table_only_and_adds_no_history(app, trainer, assessment):
    """For htmx the view sends the region alone, with no h1 to steal focus, and pushes no URL."""
    response = trainer.get(f"/train/assignments/{assessment}/invigilate", headers=HTMX)
    page = text_of(response)
    assert page.startswith("<title>Invigilate: A call to a flat – Safe to Report</title>")
    assert "<html" not in page and "<h1" not in page and "govuk-notification-banner" not in page
    assert "Not started" in row_of(page, "dan")
    assert response.headers["HX-Push-Url"] == "false"


def test_the_view_costs_the_same_queries_however_many_are_sitting(app, trainer, cohort):
    """Listing four candidates in progress costs no more queries than listing two."""
    assignment_id = gen_assessment(app, cohort)
    for username in CANDIDATES[:2]:
        gen_sitting(app, username, assignment_id, BEST_PATH[:1])
    url = f"/train/assignments/{assignment_id}/invigilate"
    few = queries_for(app, trainer, url)
    for username in CANDIDATES[2:]:
        gen_sitting(app, username, assignment_id, BEST_PATH[:1])
    assert queries_for(app, trainer, url) == few


def test_the_assignment_page_links_to_invigilation(app, trainer, assessment):
    """An assessment's page links to its live view."""
    page = text_of(trainer.get(f"/train/assignments/{assessment}"))
    assert f'href="/train/assignments/{assessment}/invigilate"' in page


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(None, ""), (0, "under 1 min"), (59, "under 1 min"), (119, "1 min"), (3900, "1 h 5 min")],
)
def test_time_left_never_says_more_than_there_is(seconds, said):
    """Time left is in whole minutes, rounded down."""
    assert invigilation.time_left(seconds) == said


def test_a_deadline_on_another_day_names_the_day():
    """A deadline today is its time; on another day it says which."""
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert clock_time(datetime(2026, 12, 1, 14, 32, tzinfo=UTC), now) == "14:32"
    assert clock_time(datetime(2026, 12, 2, 14, 32, tzinfo=UTC), now) == "14:32 on 2 December 2026"
    assert clock_time(datetime(2027, 7, 1, 13, 0, tzinfo=UTC), now) == "14:00 on 1 July 2027"


# --------------------------------------------------------------------------- a candidate's terms


def terms_url(app, assignment_id, username):
    """Return the address of a candidate's terms on an assessment."""
    with app.app_context():
        user_id = accounts.find_user(username).id
    return f"/train/assignments/{assignment_id}/people/{user_id}/terms"


def save_terms(client, url, **fields):
    """Post the terms form; return the response."""
    return post(client, url, fields, token_from=url)


def test_new_terms_are_saved_audited_and_apply(app, trainer, cohort):
    """A trainer gives a candidate 45 minutes and 2 attempts, saying why; it is audited."""
    assignment_id = gen_assessment(app, cohort)
    url = terms_url(app, assignment_id, "ann")
    response = save_terms(trainer, url, time_limit="45", attempts="2", reason="Extra time: RA")
    assert response.status_code == 303 and response.headers["Location"] == url
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        ann = accounts.find_user("ann")
        terms = assessments.terms_for(assignment, found, ann.id)
        entry = db.session.exec(
            select(AuditEntry).where(AuditEntry.action == "assessment.override")
        ).one()
    assert (terms.time_limit_s, terms.attempts_allowed, terms.overridden) == (45 * 60, 2, True)
    assert terms.closes_at == found.closes_at
    assert "Extra time: RA" in entry.summary


def test_dates_are_entered_in_london_and_stored_in_utc(app, trainer, cohort):
    """A closing time of 17:00 on 1 July (summer time) is kept as 16:00 UTC."""
    assignment_id = gen_assessment(app, cohort, closes_at=datetime(2027, 6, 1, 12, tzinfo=UTC))
    url = terms_url(app, assignment_id, "ann")
    fields = {
        "closes-day": "1",
        "closes-month": "7",
        "closes-year": "2027",
        "closes-time": "17:00",
    }
    assert save_terms(trainer, url, **fields, reason="Sitting disrupted").status_code == 303
    with app.app_context():
        override = assessments.newest_overrides(assignment_id)[accounts.find_user("ann").id]
        assert override.closes_at == datetime(2027, 7, 1, 16, tzinfo=UTC)
        assert override.time_limit_s is None and override.opens_at is None


def test_the_form_shows_the_newest_terms_and_the_history_newest_first(app, trainer, cohort):
    """The form is filled from the newest override, and the history lists who, what and why."""
    assignment_id = gen_assessment(app, cohort)
    url = terms_url(app, assignment_id, "ann")
    save_terms(trainer, url, time_limit="40", reason="First reason")
    save_terms(trainer, url, time_limit="50", reason="Second reason")
    page = unescape(text_of(trainer.get(url)))
    assert 'name="time_limit" type="text"' in page and 'value="50"' in page
    assert page.index("Second reason") < page.index("First reason")
    assert "Time limit: 50 minutes" in page and "trainer" in page


def test_blank_fields_keep_the_assessments_own(app, trainer, cohort):
    """Saved with only a reason, the override leaves the assessment's own terms."""
    assignment_id = gen_assessment(app, cohort)
    url = terms_url(app, assignment_id, "ann")
    save_terms(trainer, url, time_limit="45", reason="Extra time")
    assert save_terms(trainer, url, reason="Back to the usual").status_code == 303
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        terms = assessments.terms_for(assignment, found, accounts.find_user("ann").id)
        assert terms.time_limit_s == found.time_limit_s
        assert len(assessments.overrides_of(assignment_id)) == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"reason": " "}, "reason", "Enter why this candidate’s terms differ"),
        ({"reason": "x" * (assessments.REASON_MAX + 1)}, "reason", "1,000 characters or fewer"),
        (
            {"time_limit": "0"},
            "time_limit",
            "Enter the time limit as a whole number of minutes from 1 to 1,440",
        ),
        (
            {"time_limit": "1441"},
            "time_limit",
            "Enter the time limit as a whole number of minutes from 1 to 1,440",
        ),
        (
            {"attempts": "11"},
            "attempts",
            "Enter the number of attempts allowed as a whole number from 1 to 10",
        ),
        (
            {"attempts": "two"},
            "attempts",
            "Enter the number of attempts allowed as a whole number from 1 to 10",
        ),
        ({"closes-day": "31", "closes-month": "2", "closes-year": "2027"}, "closes-day", "real"),
        ({"opens-day": "1", "opens-month": "7", "opens-year": "2027"}, "opens-time", "Enter"),
        (
            {
                **{"opens-day": "2", "opens-month": "7", "opens-year": "2027"},
                **{"opens-time": "09:00", "closes-time": "09:00"},
                **{"closes-day": "1", "closes-month": "7", "closes-year": "2027"},
            },
            "closes-day",
            "The closing time must be after the opening time",
        ),
    ],
)
def test_bad_terms_are_named_and_nothing_is_saved(app, trainer, cohort, fields, field, message):
    """Each bad field gets a message in the error summary, linked to it, with status 422."""
    assignment_id = gen_assessment(app, cohort)
    url = terms_url(app, assignment_id, "ann")
    response = save_terms(trainer, url, **({"reason": "Because"} | fields))
    page = unescape(text_of(response))
    assert response.status_code == 422
    assert "govuk-error-summary" in page and f'href="#{field}"' in page and message in page
    with app.app_context():
        assert assessments.overrides_of(assignment_id) == []


def test_an_opening_after_the_assessments_close_is_refused(app, trainer, cohort):
    """A candidate's opening, with the closing left as the assessment's, must come before it."""
    assignment_id = gen_assessment(app, cohort, closes_at=datetime(2027, 6, 1, 12, tzinfo=UTC))
    url = terms_url(app, assignment_id, "ann")
    fields = {"opens-day": "2", "opens-month": "6", "opens-year": "2027", "opens-time": "09:00"}
    response = save_terms(trainer, url, **fields, reason="Late start")
    assert response.status_code == 422 and 'href="#opens-day"' in text_of(response)


def test_only_members_of_the_cohort_have_terms(app, trainer, cohort):
    """Someone outside the assessment's cohort has no terms page."""
    assignment_id = gen_assessment(app, cohort)
    gen_user(app, "stranger")
    assert trainer.get(terms_url(app, assignment_id, "stranger")).status_code == 404


def test_a_practice_assignment_has_no_terms(app, trainer, cohort):
    """Terms are an assessment's only."""
    assignment_id = gen_assignment(app, cohort)
    assert trainer.get(terms_url(app, assignment_id, "ann")).status_code == 404


def test_a_withdrawn_assessments_terms_cannot_change(app, trainer, cohort):
    """Once withdrawn, no one's terms change."""
    assignment_id = gen_assessment(app, cohort)
    with app.app_context():
        db.session.get(Assignment, assignment_id).archived_at = utcnow()
        db.session.commit()
    url = terms_url(app, assignment_id, "ann")
    assert trainer.get(url).status_code == 303
    response = post(trainer, url, {"reason": "Too late"}, token_from="/train/")
    assert response.status_code == 303
    with app.app_context():
        assert assessments.overrides_of(assignment_id) == []


def test_the_live_view_links_to_each_candidates_terms(app, trainer, assessment):
    """Each row links to the candidate's terms, and marks those with their own."""
    url = terms_url(app, assessment, "ann")
    save_terms(trainer, url, time_limit="45", reason="Extra time")
    page = text_of(trainer.get(f"/train/assignments/{assessment}/invigilate"))
    assert f'href="{url}">Change terms' in page and "Own terms" in row_of(page, "ann")
    assert "Own terms" not in row_of(page, "dan")
