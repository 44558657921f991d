"""Assignments: a trainer sets a scenario for a cohort; its trainees find it, play it, and see
where they stand."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    client_of,
    doorstep,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    offered,
    play_through,
    post,
    sign_in,
    take,
    text_of,
    write_scenario,
)
from sqlmodel import select

from simulator import library
from simulator.db import db
from simulator.models import Assignment, Attempt, AuditEntry, ScenarioVersion, User
from simulator.rendering import LONDON


@pytest.fixture
def cohort(app):
    """Make a trainer, two trainees, and a cohort of both owned by the trainer."""
    gen_user(app, "trainer", "trainer")
    gen_user(app, "trainee")
    gen_user(app, "second")
    return gen_cohort(app, "trainer", "Intake 1", ["trainee", "second"])


@pytest.fixture
def trainer(app, cohort):
    """Return a client signed in as the cohort's trainer."""
    return client_of(app, "trainer")


@pytest.fixture
def trainee(app, cohort):
    """Return a client signed in as a trainee in the cohort."""
    return client_of(app, "trainee")


def version_id(app, key="doorstep"):
    """Return the id of the version of a scenario offered now, syncing if need be."""
    with app.app_context():
        return offered(app, key).id


def stored(app, model, **where):
    """Return the rows of a table matching these column values."""
    with app.app_context():
        statement = select(model).filter_by(**where)
        return db.session.exec(statement).all()


def assign(client, cohort_id, **fields):
    """Post the form that sets a scenario for a cohort."""
    url = f"/train/cohorts/{cohort_id}/assignments/new"
    return post(client, url, fields, token_from=url)


def start_assigned(client, assignment_id, number=1):
    """Press Start on an assignment and return the response."""
    return post(client, f"/assignments/{assignment_id}/attempts", {"number": str(number)})


def day(delta):
    """Return the time `delta` days from now."""
    return datetime.now(UTC) + timedelta(days=delta)


NEXT = datetime.now(UTC).year + 1  # a year whose every date is still to come


def date_form(field, moment):
    """Return a GOV.UK date input's fields for the London day of a moment."""
    local = moment.astimezone(LONDON)
    return {f"{field}-{part}": str(getattr(local, part)) for part in ("day", "month", "year")}


class TestAssign:
    def test_form_lists_the_library(self, app, trainer, cohort):
        """The form offers each scenario by title with its version, and both pin options."""
        version_id(app)
        page = text_of(trainer.get(f"/train/cohorts/{cohort}/assignments/new"))
        assert "A call to a flat (version 1)" in page
        assert "This version" in page and "Always the current version" in page

    @pytest.mark.parametrize(("pin", "pinned"), [("fixed", True), ("current", False)])
    def test_sets_a_scenario(self, app, trainer, cohort, pin, pinned):
        """Setting a scenario stores it, pinned or following, and records it in the audit log."""
        vid = version_id(app)
        response = assign(trainer, cohort, version_id=str(vid), pin=pin)
        assert response.status_code == 303
        (made,) = stored(app, Assignment, cohort_id=cohort)
        assert response.headers["Location"] == f"/train/assignments/{made.id}"
        assert made.version_id == (vid if pinned else None)
        assert made.scenario_key == "doorstep" and made.opens_at is None and made.due_at is None
        (entry,) = stored(app, AuditEntry, action="assignment.create")
        assert entry.target_id == made.id
        page = text_of(trainer.get(response.headers["Location"]))
        assert "A call to a flat" in page
        assert ("Version 1, fixed" if pinned else "Always the current version") in page

    def test_fixed_keeps_its_version_and_current_moves(self, app, cohort, scenarios_dir):
        """After the file changes, a fixed assignment plays its version; a current one the new."""
        fixed = gen_assignment(app, cohort, pinned=True)
        current = gen_assignment(app, cohort, pinned=False)
        write_scenario(scenarios_dir, text=doorstep(version=2, victim="Hodan"))
        with app.app_context():
            library.load_folder(Path(scenarios_dir))
        trainee = client_of(app, "trainee")
        for assignment_id, name, number in ((fixed, "Amina", 1), (current, "Hodan", 2)):
            url = start_assigned(trainee, assignment_id).headers["Location"]
            assert f"{name} opens the door" in text_of(trainee.get(url))
            (attempt,) = stored(app, Attempt, assignment_id=assignment_id)
            (version,) = stored(app, ScenarioVersion, id=attempt.scenario_version_id)
            assert version.version == number

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({}, "Select a scenario"),
            ({"opens-day": "31", "opens-month": "2", "opens-year": "2026"}, "must be a real date"),
            ({"opens-day": "1", "opens-year": "2026"}, "The opening date must include a month"),
            ({"due-day": "x", "due-month": "3", "due-year": "2026"}, "must be a real date"),
            ({"due-day": "1", "due-month": "3", "due-year": "26"}, "must have 4 numbers"),
            (
                {
                    **{"opens-day": "10", "opens-month": "3", "opens-year": str(NEXT)},
                    **{"due-day": "9", "due-month": "3", "due-year": str(NEXT)},
                },
                "The due date must be after the opening date",
            ),
            (
                {"due-day": "1", "due-month": "1", "due-year": "2020"},
                "The due date must be today or in the future",
            ),
            (date_form("due", day(-1)), "The due date must be today or in the future"),
        ],
    )
    def test_refuses_bad_input(self, app, trainer, cohort, fields, message):
        """Bad input answers 422 with an error summary, and sets nothing."""
        form = {"version_id": str(version_id(app)), "pin": "fixed", **fields}
        if not fields:
            form = {"pin": "fixed"}
        response = assign(trainer, cohort, **form)
        assert response.status_code == 422
        page = text_of(response)
        assert "There is a problem" in page and message in page
        assert stored(app, Assignment) == []

    def test_due_today_is_accepted(self, app, trainer, cohort):
        """A due date of today, London time, is not in the past: it is due by tonight."""
        fields = date_form("due", datetime.now(UTC))
        response = assign(trainer, cohort, version_id=str(version_id(app)), pin="fixed", **fields)
        assert response.status_code == 303
        (made,) = stored(app, Assignment)
        assert "overdue" not in text_of(trainer.get(f"/train/cohorts/{cohort}")).lower()
        assert made.due_at > datetime.now(UTC)

    def test_past_due_date_is_shown_by_its_field(self, app, trainer, cohort):
        """A due date in the past is refused with its message by the due date, linked from the
        summary."""
        fields = {"due-day": "1", "due-month": "1", "due-year": "2020"}
        page = text_of(assign(trainer, cohort, version_id=str(version_id(app)), **fields))
        assert 'href="#due-day"' in page
        assert 'id="due-error"' in page and "must be today or in the future" in page

    def test_error_links_to_its_field(self, app, trainer, cohort):
        """The error summary links to the first field of the date in error."""
        fields = {"due-day": "30", "due-month": "2", "due-year": "2026"}
        page = text_of(assign(trainer, cohort, version_id=str(version_id(app)), **fields))
        assert 'href="#due-day"' in page and 'href="#pin"' in page

    def test_refuses_a_version_no_longer_offered(self, app, trainer, cohort):
        """A version that left the library since the form was shown is not set."""
        response = assign(trainer, cohort, version_id="999", pin="fixed")
        assert response.status_code == 422
        assert "no longer offered" in text_of(response)

    @pytest.mark.parametrize(
        ("date", "field", "expected"),
        [
            # British Summer Time: the London day starts at 23:00 UTC the day before.
            ((1, 7, NEXT), "opens", datetime(NEXT, 6, 30, 23, 0, tzinfo=UTC)),
            ((1, 7, NEXT), "due", datetime(NEXT, 7, 1, 22, 59, 59, 999000, tzinfo=UTC)),
            ((10, 1, NEXT), "opens", datetime(NEXT, 1, 10, 0, 0, tzinfo=UTC)),
            ((10, 1, NEXT), "due", datetime(NEXT, 1, 10, 23, 59, 59, 999000, tzinfo=UTC)),
        ],
    )
    def test_dates_are_london_days(self, app, trainer, cohort, date, field, expected):
        """An opening date opens at the start of its London day; a due date ends at its end."""
        d, m, y = date
        fields = {f"{field}-day": str(d), f"{field}-month": str(m), f"{field}-year": str(y)}
        response = assign(trainer, cohort, version_id=str(version_id(app)), pin="fixed", **fields)
        assert response.status_code == 303
        (made,) = stored(app, Assignment)
        assert getattr(made, f"{field}_at") == expected

    def test_trainer_of_another_cohort_gets_404(self, app, cohort):
        """A trainer who cannot see the cohort cannot set it anything, nor see its assignments."""
        assignment_id = gen_assignment(app, cohort)
        gen_user(app, "stranger", "trainer")
        other = client_of(app, "stranger")
        assert other.get(f"/train/cohorts/{cohort}/assignments/new").status_code == 404
        assert other.get(f"/train/assignments/{assignment_id}").status_code == 404
        assert other.get(f"/train/assignments/{assignment_id}/dates").status_code == 404

    @pytest.mark.parametrize(
        "url",
        ["/assignments/1", "/train/assignments/1", "/train/cohorts/1/assignments/new"],
    )
    def test_anonymous_goes_to_sign_in(self, client, url):
        """Someone not signed in is asked to sign in first."""
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/sign-in?next={url}"

    def test_trainee_gets_403(self, app, trainee, cohort):
        """A trainee may not set scenarios."""
        assert trainee.get(f"/train/cohorts/{cohort}/assignments/new").status_code == 403

    def test_cohort_page_lists_assignments(self, app, trainer, cohort):
        """The cohort page lists what is set, with the progress of its trainees."""
        assignment_id = gen_assignment(app, cohort, pinned=True, due_at=day(-1))
        gen_attempt(app, "trainee", BEST_PATH, assignment_id=assignment_id)
        page = text_of(trainer.get(f"/train/cohorts/{cohort}"))
        assert f'href="/train/assignments/{assignment_id}"' in page
        assert "Version 1, fixed" in page and "1 of 2 passed" in page and "1 overdue" in page
        assert f'href="/train/cohorts/{cohort}/assignments/new"' in page


class TestChange:
    def test_change_dates(self, app, trainer, cohort):
        """A trainer changes the dates; the change is stored and audited."""
        assignment_id = gen_assignment(app, cohort)
        url = f"/train/assignments/{assignment_id}/dates"
        fields = {"due-day": "3", "due-month": "12", "due-year": str(NEXT)}
        response = post(trainer, url, fields, token_from=url)
        assert response.status_code == 303
        (made,) = stored(app, Assignment)
        assert made.due_at == datetime(NEXT, 12, 3, 23, 59, 59, 999000, tzinfo=UTC)
        assert stored(app, AuditEntry, action="assignment.update")
        assert 'value="3"' in text_of(trainer.get(url))
        assert f"By the end of 3 December {NEXT}" in text_of(
            trainer.get(response.headers["Location"])
        )

    def test_bad_dates_change_nothing(self, app, trainer, cohort):
        """Impossible dates are refused with 422 and leave the dates as they were."""
        assignment_id = gen_assignment(app, cohort)
        url = f"/train/assignments/{assignment_id}/dates"
        response = post(
            trainer, url, {"due-day": "32", "due-month": "1", "due-year": "2026"}, token_from=url
        )
        assert response.status_code == 422 and "must be a real date" in text_of(response)
        (made,) = stored(app, Assignment)
        assert made.due_at is None

    def test_moving_the_due_date_into_the_past_is_refused(self, app, trainer, cohort):
        """A new due date before today is refused, and the stored one is kept."""
        due = day(5)
        assignment_id = gen_assignment(app, cohort, due_at=due)
        url = f"/train/assignments/{assignment_id}/dates"
        response = post(trainer, url, date_form("due", day(-3)), token_from=url)
        assert response.status_code == 422
        assert "The due date must be today or in the future" in text_of(response)
        (made,) = stored(app, Assignment)
        assert made.due_at == due

    def test_an_overdue_assignment_keeps_its_due_date(self, app, trainer, cohort):
        """An assignment already past its due date can have its opening date changed while
        its due date stays as it is."""
        due = datetime.combine(day(-3).astimezone(LONDON).date(), time(23, 59, 59, 999000))
        due = due.replace(tzinfo=LONDON).astimezone(UTC)
        assignment_id = gen_assignment(app, cohort, due_at=due)
        url = f"/train/assignments/{assignment_id}/dates"
        fields = date_form("opens", day(-10)) | date_form("due", due)
        response = post(trainer, url, fields, token_from=url)
        assert response.status_code == 303
        (made,) = stored(app, Assignment)
        assert made.due_at == due and made.opens_at is not None

    def test_withdraw(self, app, trainer, trainee, cohort):
        """A withdrawn assignment leaves the trainee's list; its attempts are kept."""
        assignment_id = gen_assignment(app, cohort)
        gen_attempt(app, "trainee", BEST_PATH, assignment_id=assignment_id)
        url = f"/train/assignments/{assignment_id}/withdraw"
        assert "Withdraw “A call to a flat”?" in text_of(trainer.get(url))
        response = post(trainer, url, token_from=url)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/train/cohorts/{cohort}"
        assert stored(app, AuditEntry, action="assignment.withdraw")
        assert "Assigned to you" not in text_of(trainee.get("/"))
        assert trainee.get(f"/assignments/{assignment_id}").status_code == 404
        assert len(stored(app, Attempt, assignment_id=assignment_id)) == 1
        assert "was withdrawn on" in text_of(trainer.get(f"/train/assignments/{assignment_id}"))


class TestCatalogue:
    def test_assigned_with_statuses(self, app, cohort):
        """Each assignment shows its cohort, due date and status in words, and Overdue."""
        late = gen_assignment(app, cohort, due_at=day(-2))
        begun = gen_assignment(app, cohort, due_at=day(-2))
        failed = gen_assignment(app, cohort)
        passed = gen_assignment(app, cohort)
        gen_attempt(app, "trainee", BEST_PATH[:1], assignment_id=begun)
        gen_attempt(app, "trainee", CHECK_PATH, assignment_id=failed)
        gen_attempt(app, "trainee", BEST_PATH, assignment_id=passed)
        page = text_of(client_of(app, "trainee").get("/"))
        assert page.index("Assigned to you") < page.index("Practise any scenario")
        cards = {a: card(page, a) for a in (late, begun, failed, passed)}
        assert ">Not started</strong>" in cards[late] and ">Overdue</strong>" in cards[late]
        assert ">In progress</strong>" in cards[begun] and ">Overdue</strong>" in cards[begun]
        assert "Resume" in cards[begun]
        assert ">Finished</strong>" in cards[failed] and "No due date" in cards[failed]
        assert ">Passed</strong>" in cards[passed] and "Overdue" not in cards[passed]
        assert "Intake 1" in cards[late] and "By the end of" in cards[late]

    def test_not_yet_open(self, app, trainee, cohort):
        """An assignment that has not opened says when it opens and offers no Start."""
        opens = day(3)
        assignment_id = gen_assignment(app, cohort, opens_at=opens)
        when = f"{opens.astimezone(library_zone()).day} {opens.astimezone(library_zone()):%B %Y}"
        page = card(text_of(trainee.get("/")), assignment_id)
        assert f"Opens on {when}" in page and "Read the briefing" not in page
        briefing = text_of(trainee.get(f"/assignments/{assignment_id}"))
        assert f"opens on {when}" in briefing and 'name="number"' not in briefing

    def test_start_before_opening_is_refused(self, app, trainee, cohort):
        """Start before the opening date begins nothing and says when it opens."""
        assignment_id = gen_assignment(app, cohort, opens_at=day(3))
        response = start_assigned(trainee, assignment_id)
        assert response.headers["Location"] == f"/assignments/{assignment_id}"
        assert "This scenario opens on" in text_of(trainee.get(response.headers["Location"]))
        assert stored(app, Attempt) == []

    def test_overdue_can_still_be_played(self, app, trainee, cohort):
        """A due date in the past does not stop anyone playing."""
        assignment_id = gen_assignment(app, cohort, due_at=day(-5))
        response = start_assigned(trainee, assignment_id)
        assert response.status_code == 303
        assert "opens the door" in text_of(trainee.get(response.headers["Location"]))

    def test_library_follows_the_cohorts_audience(self, app, scenarios_dir):
        """A trainee sees the scenarios for their cohort's audience, and all on asking."""
        text = doorstep(id="cpd-only", title="A CPD case").replace(
            "minutes: 5\n", "minutes: 5\naudience: [cpd]\n"
        )
        write_scenario(scenarios_dir, "cpd.yaml", text)
        gen_user(app, "trainer", "trainer")
        gen_user(app, "trainee")
        gen_cohort(app, "trainer", "Recruits", ["trainee"], audience="recruit")
        client = client_of(app, "trainee")
        page = text_of(client.get("/"))
        assert "A call to a flat" in page and "A CPD case" not in page
        assert "Show all scenarios" in page and 'href="/?all=1"' in page
        everything = text_of(client.get("/?all=1"))
        assert (
            "A CPD case" in everything and "Show only the scenarios for your cohort" in everything
        )

    def test_no_cohort_sees_everything(self, app, scenarios_dir, make_app):
        """Someone in no cohort sees the whole library, with no filter to mention."""
        text = doorstep(id="cpd-only", title="A CPD case").replace(
            "minutes: 5\n", "minutes: 5\naudience: [cpd]\n"
        )
        write_scenario(scenarios_dir, "cpd.yaml", text)
        gen_user(app, "loner")
        page = text_of(client_of(app, "loner").get("/"))
        assert "A CPD case" in page and "Show all scenarios" not in page
        assert "Assigned to you" not in page


class TestAssignedPlay:
    def test_briefing_of_an_assignment(self, app, trainee, cohort):
        """The assignment's page briefs the scenario and starts an attempt at the assignment."""
        assignment_id = gen_assignment(app, cohort)
        page = text_of(trainee.get(f"/assignments/{assignment_id}"))
        assert "Assigned to you" in page and "Intake 1" in page
        assert "Keep the victim safe" in page and ">Not started</strong>" in page
        assert f'action="/assignments/{assignment_id}/attempts"' in page

    def test_numbers_count_per_assignment(self, app, trainee, cohort):
        """Free practice attempt 1 and assigned attempt 1 live side by side."""
        assignment_id = gen_assignment(app, cohort)
        free = post(trainee, "/scenarios/doorstep/attempts", {"number": "1"})
        assert free.status_code == 303
        assigned = start_assigned(trainee, assignment_id)
        assert (
            assigned.status_code == 303
            and assigned.headers["Location"] != free.headers["Location"]
        )
        numbers = {(a.assignment_id, a.number) for a in stored(app, Attempt)}
        assert numbers == {(None, 1), (assignment_id, 1)}
        assert 'name="number" value="1"' not in text_of(trainee.get("/scenarios/doorstep"))

    def test_free_practice_ignores_assigned_attempts(self, app, trainee, cohort):
        """An assigned attempt in progress leaves free practice free to start at attempt 1."""
        assignment_id = gen_assignment(app, cohort)
        start_assigned(trainee, assignment_id)
        page = text_of(trainee.get("/scenarios/doorstep"))
        assert 'name="number" value="1"' in page and "Resume" not in page

    def test_one_in_progress_per_assignment(self, app, trainee, cohort):
        """A second Start while one is in progress resumes it instead of beginning another."""
        assignment_id = gen_assignment(app, cohort)
        first = start_assigned(trainee, assignment_id).headers["Location"]
        again = start_assigned(trainee, assignment_id, number=2)
        assert again.headers["Location"] == first
        assert "already have this scenario in progress" in text_of(trainee.get(first))
        assert len(stored(app, Attempt)) == 1

    def test_double_start(self, app, trainee, cohort):
        """Pressing Start twice begins exactly one attempt at the assignment."""
        assignment_id = gen_assignment(app, cohort)
        gen_attempt(app, "trainee", BEST_PATH, assignment_id=assignment_id)
        first = start_assigned(trainee, assignment_id, number=2).headers["Location"]
        play_through(trainee, first, BEST_PATH)
        again = start_assigned(trainee, assignment_id, number=2)
        assert again.headers["Location"] == first
        assert "had already been started" in text_of(trainee.get(first, follow_redirects=True))
        assert len(stored(app, Attempt, assignment_id=assignment_id)) == 2

    def test_another_cohorts_trainee_gets_404(self, app, cohort):
        """Someone outside the cohort can neither see nor start its assignment."""
        assignment_id = gen_assignment(app, cohort)
        gen_user(app, "outsider")
        outsider = client_of(app, "outsider")
        assert outsider.get(f"/assignments/{assignment_id}").status_code == 404
        assert start_assigned(outsider, assignment_id).status_code == 404
        assert stored(app, Attempt) == []

    def test_abandon_returns_to_the_assignment(self, app, trainee, cohort):
        """Abandoning an assigned attempt goes back to the assignment's page."""
        assignment_id = gen_assignment(app, cohort)
        url = start_assigned(trainee, assignment_id).headers["Location"]
        response = post(trainee, f"{url}/abandon")
        assert response.headers["Location"] == f"/assignments/{assignment_id}"
        page = text_of(trainee.get(response.headers["Location"]))
        assert "You abandoned that attempt" in page and 'name="number" value="2"' in page

    def test_try_again_stays_on_the_assignment(self, app, trainee, cohort):
        """The debrief of an assigned attempt tries the same assignment again."""
        assignment_id = gen_assignment(app, cohort)
        url = start_assigned(trainee, assignment_id).headers["Location"]
        take(trainee, url, 0, "interpreter")
        take(trainee, url, 1, "continue")
        take(trainee, url, 2, "reassure", "She is at risk.")
        page = text_of(trainee.get(f"{url}/debrief"))
        assert f'action="/assignments/{assignment_id}/attempts"' in page
        assert 'name="number" value="2"' in page and "Back to the assignment" in page
        again = start_assigned(trainee, assignment_id, number=2)
        assert again.status_code == 303
        assert [a.number for a in stored(app, Attempt, assignment_id=assignment_id)] == [1, 2]

    def test_scenario_gone_from_the_library(self, app, trainee, cohort, scenarios_dir):
        """An assignment whose scenario left the library says so and cannot be started."""
        assignment_id = gen_assignment(app, cohort)
        gen_user(app, "librarian", "admin")
        with app.app_context():
            admin = db.session.exec(select(User).where(User.username == "librarian")).one()
            library.set_retired(admin, library.entry("doorstep").scenario, True)
        page = text_of(trainee.get(f"/assignments/{assignment_id}"))
        assert "taken out of the library" in page and 'name="number"' not in page
        response = start_assigned(trainee, assignment_id)
        assert response.status_code == 303 and stored(app, Attempt) == []


def card(page, assignment_id):
    """Return the part of the catalogue about one assignment."""
    start = page.index(f'href="/assignments/{assignment_id}"')
    end = page.find("</li>", start)
    return page[start:end]


def library_zone():
    """Return London's time zone."""
    from simulator.rendering import LONDON

    return LONDON


def test_catalogue_buttons_name_their_scenario_in_markup_not_text(app, client):
    """The catalogue's buttons carry the title as hidden text, never as escaped tags."""
    from helpers import BEST_PATH, gen_assignment, gen_attempt, gen_cohort, gen_user

    gen_user(app, "trainer", "trainer")
    gen_user(app, "ann")
    assignment = gen_assignment(app, gen_cohort(app, "trainer", "Intake", ["ann"]))
    gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment)
    gen_attempt(app, "ann", BEST_PATH[:1])
    sign_in(client, "ann")
    page = client.get("/").get_data(as_text=True)
    assert "&lt;span" not in page
    assert '<span class="govuk-visually-hidden">: A call to a flat</span>' in page
    assert '<span class="govuk-visually-hidden"> A call to a flat</span>' in page
