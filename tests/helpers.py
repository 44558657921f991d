"""Builders for tests: scenario files, accounts, and form posts with their CSRF token."""

import os
import re
from datetime import timedelta
from pathlib import Path

from simulator.accounts import create_user

PASSWORD = "correct horse battery"
# The records key every app of a test shares, as the processes of one server would.
RECORDS_KEY = "test:a records key for the tests that is long enough"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

DOORSTEP = """\
format: 1
id: {id}
title: {title}
summary: A neighbour hears shouting; the caller says the woman "has no papers".
version: {version}
minutes: 5
objectives:
  - Keep the victim safe and hear her account
dimensions:
  safeguarding: Victim safety
pass_marks:
  safeguarding: 50
references:
  sts-r1:
    title: Stop sharing where there are only doubts about status
    source: Safe to share? (2020), recommendation 1
    url: https://example.org/safe-to-share
cast:
  - victim: {victim}
    language: Somali
flags: [status_checked]
start: arrival
nodes:
  arrival:
    text: |
      {{victim}} opens the door. Her first language is **{{language}}**.
    speaker: Control room
    rationale: optional
    ndm: information
    choices:
      - id: interpreter
        text: Arrange a professional {{language}} interpreter and speak to her alone.
        next: hallway
        score: {{safeguarding: 2}}
        feedback: A professional interpreter lets {{victim}} speak freely.
      - id: check-status
        text: Run her name through immigration systems before going further.
        next: hallway
        set: [status_checked]
        sharing: inappropriate
        feedback: Doubts about status are no reason to check or share it.
        refs: [sts-r1]
  hallway:
    text: You step into the hallway.
    next: disclosure
  disclosure:
    text: She tells you her husband threatens to have her deported.
    rationale: required
    ndm: threat-risk
    choices:
      - id: reassure
        text: Tell her your priority is her safety, and explain the support available.
        next: safe
        score: {{safeguarding: 1}}
        feedback: Safety first.
      - id: refer
        text: Tell her you will have to pass her details to the Home Office.
        when: {{none: [status_checked]}}
        next: unsafe
        sharing: inappropriate
        feedback: This tells her that reporting puts her at risk.
        refs: [sts-r1]
  safe:
    end:
      outcome: Victim safeguarded
      debrief: She agrees to a referral to a specialist service.
  unsafe:
    text: She closes the door.
    end:
      outcome: Victim withdraws
      debrief: She declines to make a statement.
"""

# Paths through DOORSTEP as the choice ids taken.
BEST_PATH = ["interpreter", "continue", "reassure"]
SHARING_PATH = ["interpreter", "continue", "refer"]
CHECK_PATH = ["check-status", "continue", "reassure"]


def doorstep(id="doorstep", title="A call to a flat", version=1, victim="Amina"):
    """Return the text of a small valid scenario with a step, a cast and both criteria."""
    return DOORSTEP.format(id=id, title=title, version=version, victim=victim)


def write_scenario(folder, name="doorstep.yaml", text=None):
    """Write a scenario file into a folder and return its path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doorstep() if text is None else text, encoding="utf-8")
    return path


def gen_user(app, username="trainee", role="trainee", password=PASSWORD):
    """Create an account and return its id."""
    with app.app_context():
        return create_user(username, password, role).id


def csrf_token(client, path="/"):
    """Fetch a page and return the CSRF token in its forms."""
    html = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def post(client, url, data=None, token_from="/", **kwargs):
    """Post a form with a valid CSRF token, as a browser would."""
    form = dict(data or {})
    form.setdefault("csrf_token", csrf_token(client, token_from))
    return client.post(url, data=form, **kwargs)


def sign_in(client, username="trainee", password=PASSWORD):
    """Sign in through the form."""
    token = csrf_token(client, "/sign-in")
    return client.post(
        "/sign-in", data={"username": username, "password": password, "csrf_token": token}
    )


def client_of(app, username):
    """Return a new client signed in as this person."""
    client = app.test_client()
    assert sign_in(client, username).status_code == 303
    return client


def start(client, key="doorstep", number=1):
    """Press Start on a scenario's briefing and return the attempt's address."""
    response = post(client, f"/scenarios/{key}/attempts", {"number": str(number)})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def take(client, attempt_url, step, choice, rationale=None, **kwargs):
    """Post one step of the play form."""
    data = {"step": str(step), "choice": choice}
    if rationale is not None:
        data["rationale"] = rationale
    return post(client, attempt_url, data, token_from="/", **kwargs)


def play_through(client, attempt_url, choices, rationale="Because she is at risk."):
    """Take each choice in turn from the start, checking each is recorded."""
    for step, choice in enumerate(choices):
        response = take(client, attempt_url, step, choice, rationale)
        assert response.status_code == 303, response.get_data(as_text=True)
    return response


def attempt_id(attempt_url):
    """Return the id in an attempt's address."""
    return int(attempt_url.rstrip("/").split("/")[-1])


def signed_in_trainee(make_app):
    """Return a test client of a new app (over the test's library), signed in as a trainee."""
    app = make_app()
    gen_user(app, "trainee")
    client = app.test_client()
    sign_in(client)
    return client


def text_of(response):
    """Return a response's body as text."""
    return response.get_data(as_text=True)


def gen_cohort(app, owner="trainer", name="Intake 1", members=(), audience="recruit"):
    """Create a cohort owned by `owner` holding these usernames, and return its id."""
    from simulator import accounts, cohorts

    with app.app_context():
        actor = accounts.find_user(owner)
        cohort = cohorts.create_cohort(actor, name, "", audience)
        for username in members:
            cohorts.add_member(actor, cohort, accounts.find_user(username))
        return cohort.id


def gen_cpd_cohort(app, members=("trainee",)):
    """Make a trainer and these trainees, and a CPD cohort of them owned by the trainer;
    return its id."""
    gen_user(app, "trainer", "trainer")
    for username in members:
        gen_user(app, username)
    return gen_cohort(app, "trainer", "CPD 1", list(members), audience="cpd")


def gen_assignment(app, cohort_id, key="doorstep", pinned=False, opens_at=None, due_at=None):
    """Assign a scenario's current version to a cohort, and return the assignment's id."""
    from simulator import assignments
    from simulator.db import db
    from simulator.models import Cohort, User

    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        owner = db.session.get(User, cohort.owner_id)
        version = offered(app, key)
        made = assignments.create_assignment(owner, cohort, version, pinned, opens_at, due_at)
        return made.id


def gen_attempt(app, username, choices, key="doorstep", assignment_id=None, seed=7, taking=None):
    """Play an attempt through the store (no HTTP) and return its id.

    The attempt stops after `choices`: it finishes only if they reach an ending. With
    `taking` (a timedelta) it starts that long ago and its steps are spread until now.
    """
    from simulator import accounts, attempts
    from simulator.db import db
    from simulator.models import Assignment, utcnow

    with app.app_context():
        person = accounts.find_user(username)
        assignment = db.session.get(Assignment, assignment_id) if assignment_id else None
        version = offered(app, key)
        number = attempts.next_attempt_number(person.id, key, assignment_id)
        now = utcnow()
        began = now - taking if taking else None
        attempt = attempts.start_attempt(person, version, number, assignment, seed, began)
        for made, choice_id in enumerate(choices, start=1):
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            at = began + taking * made / len(choices) if taking else None
            kept = attempts.clean_rationale(progress.node, "why")
            attempts.record_step(progress, choice, kept, now=at)
        return attempt.id


def offered(app, key):
    """Return the offered version of a scenario, syncing the library first if need be."""
    from simulator import library

    if not library.is_offered(key):
        library.load_folder(Path(app.config["SCENARIOS_DIR"]))
    return library.offered_version(key)


def gen_assessment(app, cohort_id, key="doorstep", **settings):
    """Set a scenario's current version as an assessment for a cohort; return its id.

    `settings` override the defaults: open now, closing in a day, 30 minutes, closed when
    time runs out, one attempt, highest grade, no access code, the default review.
    """
    from simulator import assessments
    from simulator.db import db
    from simulator.models import Cohort, User, utcnow

    opens_at = settings.pop("opens_at", None)
    pinned = settings.pop("pinned", True)
    values = {
        "closes_at": utcnow() + timedelta(days=1),
        "time_limit_s": 30 * 60,
        "overdue": "close",
        "grace_s": 0,
        "attempts_allowed": 1,
        "grade_method": "highest",
        "access_code": None,
        "review": assessments.DEFAULT_REVIEW,
    } | settings
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        owner = db.session.get(User, cohort.owner_id)
        made = assessments.create(owner, cohort, offered(app, key), pinned, opens_at, values)
        return made.id


def gen_sitting(app, username, assignment_id, choices=(), started_at=None, rationale="why"):
    """Start an assessment attempt by the server's clock at `started_at` (default now), take
    these choices a second apart, and return the attempt's id."""
    from simulator import accounts, assessments, attempts
    from simulator.db import db
    from simulator.models import Assignment, utcnow

    with app.app_context():
        person = accounts.find_user(username)
        assignment = db.session.get(Assignment, assignment_id)
        found = assessments.settings_of(assignment)
        terms = assessments.terms_for(assignment, found, person.id)
        number = attempts.next_attempt_number(person.id, assignment.scenario_key, assignment.id)
        now = started_at or utcnow()
        version = offered(app, assignment.scenario_key)
        attempt = assessments.start(person, version, number, assignment, found, terms, now=now)
        for second, choice_id in enumerate(choices, start=1):
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            kept = attempts.clean_rationale(progress.node, rationale)
            attempts.record_step(progress, choice, kept, now=now + timedelta(seconds=second))
        return attempt.id


def unreachable_database_url(tmp_path):
    """Return a database address that cannot be opened, on the database the tests use."""
    if os.environ.get("SIMULATOR_TEST_DATABASE") == "postgresql":
        from postgres import free_port

        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/simulator_test"
    return f"sqlite:///{tmp_path / 'no such folder' / 'simulator.sqlite'}"


def queries_for(app, client, url):
    """Return how many SQL statements a GET of this page runs for the page itself.

    The session store's statements (`sessions.py`: reading the session, and writing it
    when a form first gives it a CSRF token or it is marked seen) are not the page's, and
    are left out.
    """
    count, response = queries_in(app, lambda: client.get(url))
    assert response.status_code == 200
    return count


def queries_in(app, send):
    """Return how many SQL statements `send()` runs, but the session store's, and its answer."""
    from sqlalchemy import event

    from simulator.db import db

    with app.app_context():
        engine = db.engine
    count = 0

    def counted(_connection, _cursor, statement, *_args):
        nonlocal count
        if "web_sessions" not in statement:
            count += 1

    event.listen(engine, "before_cursor_execute", counted)
    try:
        response = send()
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count, response


def people_audit(statement):
    """Narrow an audit-log query to what people did: the library's own loads of the
    scenarios folder (published by nobody, at a test app's first request) are left out."""
    from simulator.models import AuditEntry

    return statement.where(AuditEntry.action.not_like("scenario.%"))


def database_away(statement="SELECT 1"):
    """Return the error SQLAlchemy raises when the server has gone (as on a restart)."""
    from sqlalchemy.exc import OperationalError

    return OperationalError(statement, {}, Exception("server closed the connection"))


def database_away_for(app, matches, times=1):
    """Make the next `times` statements for which `matches(statement)` holds meet the
    database away, as a restart does; return what stops it."""
    from sqlalchemy import event

    from simulator.db import db

    with app.app_context():
        engine = db.engine
    left = [times]

    def restart(conn, cursor, statement, parameters, context, executemany):
        if left[0] and matches(statement):
            left[0] -= 1
            raise database_away(statement)

    event.listen(engine, "before_cursor_execute", restart)
    return lambda: event.remove(engine, "before_cursor_execute", restart)


def prepared_statements_test(test):
    """Run `test` in the PostgreSQL pass alone: it checks psycopg's prepared statements,
    which SQLite has no counterpart of."""
    import pytest

    on_postgresql = os.environ.get("SIMULATOR_TEST_DATABASE") == "postgresql"
    reason = "psycopg's prepared statements: PostgreSQL only"
    return pytest.mark.skipif(not on_postgresql, reason=reason)(test)
