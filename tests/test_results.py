"""Results for trainers: an assignment's table, a person's attempts, a debrief read-only."""

import re
from datetime import timedelta
from html import unescape

import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    SHARING_PATH,
    client_of,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    queries_for,
    text_of,
)
from sqlmodel import select

from simulator.db import db
from simulator.models import Attempt

TRAINEES = ("ann", "bob", "cat", "dan")


@pytest.fixture
def cohort(app):
    """Make a trainer and a cohort of four trainees."""
    gen_user(app, "trainer", "trainer")
    for username in TRAINEES:
        gen_user(app, username)
    return gen_cohort(app, "trainer", "Intake 1", TRAINEES)


@pytest.fixture
def assignment(app, cohort):
    """Set the doorstep scenario for the cohort, and play it: ann passes then fails, bob fails
    the sharing criterion, cat is half-way, dan has not started."""
    assignment_id = gen_assignment(app, cohort)
    gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
    gen_attempt(app, "ann", SHARING_PATH, assignment_id=assignment_id)
    gen_attempt(app, "bob", CHECK_PATH, assignment_id=assignment_id)
    gen_attempt(app, "cat", BEST_PATH[:1], assignment_id=assignment_id)
    return assignment_id


@pytest.fixture
def trainer(app, cohort):
    """Return a client signed in as the cohort's trainer."""
    return client_of(app, "trainer")


def table_rows(page):
    """Return the results table's rows as {name: [cell text, ...]}, in page order."""
    body = page[page.index('id="results"') :]
    body = body[body.index("<tbody") : body.index("</tbody>")]
    rows = {}
    for row in re.findall(r"<tr.*?</tr>", body, re.S):
        cells = [plain(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def plain(html):
    """Return the visible words of some HTML, whitespace collapsed."""
    html = re.sub(r'<span class="govuk-visually-hidden">.*?</span>', "", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def attempt_ids(app, username):
    """Return the ids of a person's attempts, oldest first."""
    from simulator import accounts

    with app.app_context():
        person = accounts.find_user(username)
        statement = select(Attempt.id).where(Attempt.user_id == person.id).order_by(Attempt.id)
        return list(db.session.exec(statement).all())


class TestAssignmentTable:
    def test_values(self, app, trainer, assignment):
        """Each trainee's row shows status, attempts, best and latest, criteria and scores."""
        rows = table_rows(text_of(trainer.get(f"/train/assignments/{assignment}")))
        assert list(rows) == ["ann", "bob", "cat", "dan"]
        # Status | Attempts | Best | Latest | Sharing | Critical | Victim safety | Time
        ann, bob, cat, dan = (rows[name] for name in TRAINEES)
        assert ann[0] == "Passed" and ann[1].startswith("2 ")
        assert ann[2].startswith("Passed 100%") and ann[3].startswith("Not passed 0%")
        assert ann[4:7] == ["Met", "0", "100%"] and ann[7] == "under 1 min"
        assert bob[0] == "Finished" and bob[2].startswith("Not passed 0%")
        assert bob[4:7] == ["Failed", "0", "0%"]
        assert cat[0] == "In progress" and cat[1].startswith("1 ") and "(in progress)" in cat[1]
        assert cat[2] == "None yet" and cat[4:8] == ["", "", "", ""]
        assert dan[0] == "Not started" and dan[1] == "0" and dan[2] == "None yet"

    def test_time_taken(self, app, trainer, cohort):
        """Time taken is the best attempt's, start to finish, in minutes."""
        timed = gen_assignment(app, cohort)
        taking = timedelta(minutes=12, seconds=10)
        gen_attempt(app, "ann", BEST_PATH, assignment_id=timed, taking=taking)
        gen_attempt(app, "ann", SHARING_PATH, assignment_id=timed, taking=taking * 2)
        rows = table_rows(text_of(trainer.get(f"/train/assignments/{timed}")))
        assert rows["ann"][-2] == "12 min"  # before "Reasons to mark"

    def test_links_to_people_and_debriefs(self, app, trainer, assignment):
        """Names lead to the person; each attempt leads to its read-only debrief."""
        page = text_of(trainer.get(f"/train/assignments/{assignment}"))
        for attempt_id in attempt_ids(app, "ann"):
            assert f'href="/train/attempts/{attempt_id}"' in page
        assert re.search(r'href="/train/people/\d+">ann<', page)

    def test_overdue(self, app, trainer, cohort):
        """Trainees who have not finished by the due date show as overdue."""
        from datetime import UTC, datetime

        late = gen_assignment(app, cohort, due_at=datetime.now(UTC) - timedelta(days=1))
        gen_attempt(app, "ann", BEST_PATH, assignment_id=late)
        rows = table_rows(text_of(trainer.get(f"/train/assignments/{late}")))
        assert rows["ann"][0] == "Passed"
        assert rows["dan"][0] == "Not started Overdue"

    @pytest.mark.parametrize(
        ("query", "order"),
        [
            ("", ["ann", "bob", "cat", "dan"]),
            ("?sort=name&order=desc", ["dan", "cat", "bob", "ann"]),
            ("?sort=status&order=asc", ["dan", "cat", "bob", "ann"]),
            ("?sort=attempts&order=desc", ["ann", "bob", "cat", "dan"]),
            ("?sort=best&order=desc", ["ann", "bob", "cat", "dan"]),
            ("?sort=best&order=asc", ["bob", "ann", "cat", "dan"]),
            ("?sort=latest&order=asc", ["ann", "bob", "cat", "dan"]),
            ("?sort=nonsense&order=sideways", ["ann", "bob", "cat", "dan"]),
        ],
    )
    def test_sorting(self, app, trainer, assignment, query, order):
        """Column headers sort the table; rows with nothing in the column come last."""
        rows = table_rows(text_of(trainer.get(f"/train/assignments/{assignment}{query}")))
        assert list(rows) == order

    def test_sort_headers(self, app, trainer, assignment):
        """The sorted column says so with aria-sort, and its link turns the order round."""
        page = text_of(trainer.get(f"/train/assignments/{assignment}?sort=best&order=desc"))
        best = re.search(r'<th[^>]*aria-sort="descending">\s*<a[^>]*href="([^"]+)"', page)
        assert best and "sort=best" in unescape(best.group(1))
        assert "order=asc" in unescape(best.group(1))
        assert page.count('aria-sort="none"') == 5

    def test_fixed_number_of_queries(self, app, trainer, cohort, assignment):
        """The table costs the same number of queries for four trainees as for eight."""
        few = queries_for(app, trainer, f"/train/assignments/{assignment}")
        from simulator import accounts, cohorts

        with app.app_context():
            actor = accounts.find_user("trainer")
            group = cohorts.visible_cohort(actor, cohort)
            for n in range(4):
                person = accounts.create_user(f"extra{n}", "a long enough password", "trainee")
                cohorts.add_member(actor, group, person)
        for n in range(4):
            gen_attempt(app, f"extra{n}", BEST_PATH, assignment_id=assignment)
        assert queries_for(app, trainer, f"/train/assignments/{assignment}") == few

    def test_trainer_of_another_cohort_gets_404(self, app, assignment):
        """A trainer who cannot see the cohort sees none of its results."""
        gen_user(app, "stranger", "trainer")
        stranger = client_of(app, "stranger")
        ann = attempt_ids(app, "ann")[0]
        assert stranger.get(f"/train/assignments/{assignment}").status_code == 404
        assert stranger.get(f"/train/attempts/{ann}").status_code == 404
        assert stranger.get(f"/train/people/{person_id(app, 'ann')}").status_code == 404

    def test_trainee_gets_403(self, app, assignment):
        """A trainee may not see trainers' pages, not even their own results there."""
        ann = client_of(app, "ann")
        assert ann.get(f"/train/assignments/{assignment}").status_code == 403
        assert ann.get(f"/train/attempts/{attempt_ids(app, 'ann')[0]}").status_code == 403
        assert ann.get(f"/train/people/{person_id(app, 'ann')}").status_code == 403

    def test_admin_sees_every_cohort(self, app, assignment):
        """An admin sees the results of any cohort."""
        gen_user(app, "boss", "admin")
        rows = table_rows(text_of(client_of(app, "boss").get(f"/train/assignments/{assignment}")))
        assert list(rows) == list(TRAINEES)


class TestPerson:
    def test_every_attempt(self, app, trainer, assignment):
        """A person's page lists their assigned attempts; free practice stays their own."""
        practice = gen_attempt(app, "ann", BEST_PATH)
        page = text_of(trainer.get(f"/train/people/{person_id(app, 'ann')}"))
        assert "Intake 1" in page and "Free practice" not in page
        assert page.count("Assigned to Intake 1") == 2
        for attempt_id in attempt_ids(app, "ann"):
            if attempt_id != practice:
                assert f'href="/train/attempts/{attempt_id}"' in page
        assert f'href="/train/attempts/{practice}"' not in page
        assert trainer.get(f"/train/attempts/{practice}").status_code == 404
        assert f'href="/train/assignments/{assignment}"' in page

    def test_admin_sees_free_practice_too(self, app, trainer, assignment):
        """An admin, who answers requests for a person's records, sees their free practice."""
        gen_attempt(app, "ann", BEST_PATH)
        gen_user(app, "boss", "admin")
        page = text_of(client_of(app, "boss").get(f"/train/people/{person_id(app, 'ann')}"))
        assert "Free practice" in page

    def test_other_cohorts_attempts_stay_hidden(self, app, trainer, assignment):
        """A trainer does not see a shared trainee's attempts at another trainer's cohort."""
        gen_user(app, "rival", "trainer")
        theirs = gen_assignment(app, gen_cohort(app, "rival", "Rival intake", ["ann"]))
        hidden = gen_attempt(app, "ann", BEST_PATH, assignment_id=theirs)
        page = text_of(trainer.get(f"/train/people/{person_id(app, 'ann')}"))
        assert "Rival intake" not in page and f"/train/attempts/{hidden}" not in page
        assert trainer.get(f"/train/attempts/{hidden}").status_code == 404

    def test_unknown_person(self, app, trainer, cohort):
        """Someone who does not exist is not found."""
        assert trainer.get("/train/people/9999").status_code == 404


class TestReadOnlyDebrief:
    def test_shows_the_trainees_debrief(self, app, trainer, assignment):
        """A trainer sees the trainee's debrief, with their reasons, and cannot start anything."""
        ann = attempt_ids(app, "ann")[0]
        page = text_of(trainer.get(f"/train/attempts/{ann}"))
        assert "You are viewing ann’s attempt 1 (read-only)" in page
        assert "Victim safeguarded" in page
        assert re.search(r"Your reason:</span>\s*why</p>", page)
        assert "Try again" not in page and 'name="number"' not in page
        assert f'href="/train/attempts/{ann}?view=stage"' in page
        assert f'href="/train/people/{person_id(app, "ann")}"' in page

    def test_grouped_by_stage(self, app, trainer, assignment):
        """The log grouped by stage stays on the read-only page."""
        ann = attempt_ids(app, "ann")[0]
        page = text_of(trainer.get(f"/train/attempts/{ann}?view=stage"))
        assert (
            "Grouped by stage" in page and f'href="/train/attempts/{ann}#your-decisions"' in page
        )

    def test_unfinished_shows_progress(self, app, trainer, assignment):
        """An attempt in progress shows its decisions so far, not a redirect."""
        cat = attempt_ids(app, "cat")[0]
        response = trainer.get(f"/train/attempts/{cat}")
        assert response.status_code == 200
        page = text_of(response)
        assert "Attempt in progress" in page and "Decision 1" in page
        assert "A good choice" in page and "Try again" not in page

    def test_trainee_debrief_unchanged(self, app, assignment):
        """The trainee's own debrief keeps its Try again and has no read-only banner."""
        ann = attempt_ids(app, "ann")[0]
        page = text_of(client_of(app, "ann").get(f"/attempts/{ann}/debrief"))
        assert "Try again" in page and "read-only" not in page


def person_id(app, username):
    """Return a person's id."""
    from simulator import accounts

    with app.app_context():
        return accounts.find_user(username).id
