"""CSV exports of results and steps: columns, values, safe cells, who may download, the audit."""

import csv
import gc
import io
from datetime import timedelta

import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    SHARING_PATH,
    doorstep,
    gen_assignment,
    gen_attempt,
    gen_cohort,
    gen_user,
    offered,
    sign_in,
    write_scenario,
)
from sqlalchemy import event
from sqlmodel import select

from simulator import accounts, attempts, csvsafe
from simulator.db import db
from simulator.models import Assignment, AuditEntry, User, utcnow

RESULT_HEADER = [
    "attempt_id",
    "username",
    "display_name",
    "force",
    "collar_number",
    "cohort",
    "assignment_id",
    "scenario_id",
    "version",
    "version_digest",
    "attempt_number",
    "started_at",
    "finished_at",
    "status",
    "ending",
    "passed",
    "sharing_passed",
    "critical_errors",
    "grade",
    "safeguarding_percent",
    "time_taken_seconds",
]
STEP_HEADER = [
    "attempt_id",
    "username",
    "cohort",
    "assignment_id",
    "scenario_id",
    "version_digest",
    "attempt_number",
    "step_number",
    "node",
    "choice",
    "decision",
    "sharing",
    "critical",
    "verdict",
    "safeguarding_points",
    "time_to_decide_ms",
    "recorded_at",
    "rationale",
]
# A second scenario whose status check also costs 3 points: negative numbers in the export.
MINUS = doorstep(id="minus", title="Minus points").replace(
    "        set: [status_checked]\n",
    "        set: [status_checked]\n        score: {safeguarding: -3}\n",
)


def rows_of(response):
    """Return a CSV download's rows as dicts, checking it starts with a UTF-8 BOM."""
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def header_of(response):
    """Return a CSV download's header row."""
    return next(csv.reader(io.StringIO(response.get_data(as_text=True)[1:], newline="")))


def set_details(app, username, **details):
    """Set a person's display name, force or collar number."""
    with app.app_context():
        person = accounts.find_user(username)
        for field, value in details.items():
            setattr(person, field, value)
        db.session.commit()


def play(app, username, assignment_id, choices, rationales, key="doorstep"):
    """Play an attempt at an assignment through the store with these rationales."""
    with app.app_context():
        person = accounts.find_user(username)
        assignment = db.session.get(Assignment, assignment_id)
        number = attempts.next_attempt_number(person.id, key, assignment_id)
        attempt = attempts.start_attempt(person, offered(app, key), number, assignment, seed=7)
        for choice_id, text in zip(choices, rationales, strict=True):
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            attempts.record_step(progress, choice, attempts.clean_rationale(progress.node, text))
        return attempt.id


@pytest.fixture
def cohort(app):
    """Make a trainer's cohort of two trainees with one doorstep assignment; return its ids."""
    gen_user(app, "trainer", "trainer")
    for name in ("ann", "bob"):
        gen_user(app, name)
    set_details(app, "ann", display_name="Ann Lee", force="Kent Police", collar_number="KP123")
    cohort_id = gen_cohort(app, "trainer", "Intake 1", ["ann", "bob"])
    return cohort_id, gen_assignment(app, cohort_id)


@pytest.fixture
def trainer(client, cohort):
    """Return a client signed in as the cohort's trainer."""
    sign_in(client, "trainer")
    return client


class TestResults:
    def test_columns_and_values(self, app, cohort, trainer):
        """One row per attempt, with the trainee, version, status, result and time taken."""
        cohort_id, assignment_id = cohort
        passed = gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
        shared = gen_attempt(app, "bob", SHARING_PATH, assignment_id=assignment_id)
        unfinished = gen_attempt(app, "bob", ["interpreter"], assignment_id=assignment_id)
        response = trainer.get(f"/train/assignments/{assignment_id}/results.csv")
        assert response.status_code == 200
        assert header_of(response) == RESULT_HEADER
        rows = rows_of(response)
        assert [int(r["attempt_id"]) for r in rows] == [passed, shared, unfinished]
        ann, bob, bob2 = rows
        with app.app_context():
            version = offered(app, "doorstep")
            assert ann["version_digest"] == version.digest
            assert ann["version"] == str(version.version)
        assert ann | {"started_at": "", "finished_at": "", "version_digest": ""} == {
            "attempt_id": str(passed),
            "username": "ann",
            "display_name": "Ann Lee",
            "force": "Kent Police",
            "collar_number": "KP123",
            "cohort": "Intake 1",
            "assignment_id": str(assignment_id),
            "scenario_id": "doorstep",
            "version": "1",
            "version_digest": "",
            "attempt_number": "1",
            "started_at": "",
            "finished_at": "",
            "status": "passed",
            "ending": "safe",
            "passed": "true",
            "sharing_passed": "true",
            "critical_errors": "0",
            "grade": "100",
            "safeguarding_percent": "100",
            "time_taken_seconds": "0",
        }
        assert ann["started_at"].endswith("Z") and "T" in ann["started_at"]
        assert (bob["status"], bob["ending"], bob["passed"], bob["sharing_passed"]) == (
            "not passed",
            "unsafe",
            "false",
            "false",
        )
        assert (bob["grade"], bob["safeguarding_percent"]) == ("0", "50")
        assert bob2["status"] == "in progress" and bob2["attempt_number"] == "2"
        assert bob2["finished_at"] == bob2["passed"] == bob2["grade"] == ""
        assert bob2["time_taken_seconds"] == ""

    def test_time_taken_and_times_in_utc(self, app, cohort, trainer):
        """Start and finish are ISO 8601 in UTC; time taken is the seconds between them."""
        _cohort_id, assignment_id = cohort
        began = utcnow().replace(microsecond=0) - timedelta(minutes=10)
        with app.app_context():
            person = accounts.find_user("ann")
            assignment = db.session.get(Assignment, assignment_id)
            attempt = attempts.start_attempt(
                person, offered(app, "doorstep"), 1, assignment, seed=7, now=began
            )
            for minutes, choice_id in zip((2, 3, 9), BEST_PATH, strict=True):
                progress = attempts.progress_of(attempt)
                choice = {c.id: c for c in progress.offered()}[choice_id]
                at = began + timedelta(minutes=minutes)
                attempts.record_step(progress, choice, "why", now=at)
        (row,) = rows_of(trainer.get(f"/train/assignments/{assignment_id}/results.csv"))
        assert row["started_at"] == began.strftime("%Y-%m-%dT%H:%M:%SZ")
        finished = began + timedelta(minutes=9)
        assert row["finished_at"] == finished.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert row["time_taken_seconds"] == "540"

    def test_download_headers(self, cohort, trainer):
        """A UTF-8 CSV attachment with a safe name, which no browser or proxy keeps."""
        _cohort_id, assignment_id = cohort
        response = trainer.get(f"/train/assignments/{assignment_id}/results.csv")
        response.close()
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-store"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=intake-1-doorstep-results-20")
        assert disposition.endswith(".csv")

    def test_no_attempts_gives_the_header(self, cohort, trainer):
        """An assignment nobody has started exports its header, dimensions included."""
        _cohort_id, assignment_id = cohort
        response = trainer.get(f"/train/assignments/{assignment_id}/results.csv")
        assert header_of(response) == RESULT_HEADER and rows_of(response) == []

    def test_other_assignments_and_practice_left_out(self, app, cohort, trainer):
        """Only attempts at this assignment are exported, not free practice."""
        cohort_id, assignment_id = cohort
        other = gen_assignment(app, cohort_id)
        gen_attempt(app, "ann", BEST_PATH)
        gen_attempt(app, "ann", CHECK_PATH, assignment_id=other)
        mine = gen_attempt(app, "bob", CHECK_PATH, assignment_id=assignment_id)
        rows = rows_of(trainer.get(f"/train/assignments/{assignment_id}/results.csv"))
        assert [int(r["attempt_id"]) for r in rows] == [mine]


class TestSteps:
    def test_columns_and_values(self, app, cohort, trainer):
        """One row per recorded choice, with its sharing tag, verdict, points and rationale."""
        _cohort_id, assignment_id = cohort
        attempt = gen_attempt(app, "bob", SHARING_PATH, assignment_id=assignment_id)
        response = trainer.get(f"/train/assignments/{assignment_id}/steps.csv")
        assert response.status_code == 200
        assert header_of(response) == STEP_HEADER
        first, step, refer = rows_of(response)
        assert first["attempt_id"] == str(attempt) and first["username"] == "bob"
        assert (first["cohort"], first["assignment_id"]) == ("Intake 1", str(assignment_id))
        assert (first["step_number"], first["node"], first["choice"]) == (
            "0",
            "arrival",
            "interpreter",
        )
        assert (first["decision"], first["sharing"], first["critical"]) == ("true", "", "false")
        assert (first["verdict"], first["safeguarding_points"]) == ("good", "2")
        assert first["rationale"] == "why" and first["time_to_decide_ms"].isdigit()
        assert first["recorded_at"].endswith("Z")
        assert (step["node"], step["choice"], step["decision"]) == ("hallway", "continue", "false")
        assert step["rationale"] == "" and step["safeguarding_points"] == "0"
        assert (refer["node"], refer["choice"], refer["sharing"]) == (
            "disclosure",
            "refer",
            "inappropriate",
        )
        assert refer["verdict"] == "inappropriate share"

    def test_time_to_decide(self, app, cohort, trainer):
        """Time to decide runs from when the node was shown to the choice, in milliseconds."""
        _cohort_id, assignment_id = cohort
        began = utcnow() - timedelta(minutes=5)
        with app.app_context():
            attempt = attempts.start_attempt(
                accounts.find_user("ann"),
                offered(app, "doorstep"),
                1,
                db.session.get(Assignment, assignment_id),
                seed=7,
                now=began,
            )
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}["interpreter"]
            attempts.record_step(progress, choice, "why", now=began + timedelta(seconds=42.5))
        (row,) = rows_of(trainer.get(f"/train/assignments/{assignment_id}/steps.csv"))
        assert row["time_to_decide_ms"] == "42500"


class TestSafeCells:
    def test_formulas_in_names_and_rationales_are_neutralised(self, app, cohort, trainer):
        """Text a spreadsheet would run as a formula gets a leading quote, in both exports."""
        _cohort_id, assignment_id = cohort
        link = '=HYPERLINK("http://example.org/x","Click")'
        set_details(app, "bob", display_name=link, force="+1", collar_number="-x")
        play(app, "bob", assignment_id, SHARING_PATH, ["@SUM(A1:A9)", "", "-x"])
        (result,) = rows_of(trainer.get(f"/train/assignments/{assignment_id}/results.csv"))
        assert result["display_name"] == "'" + link
        assert (result["force"], result["collar_number"]) == ("'+1", "'-x")
        steps = rows_of(trainer.get(f"/train/assignments/{assignment_id}/steps.csv"))
        assert [s["rationale"] for s in steps] == ["'@SUM(A1:A9)", "", "'-x"]

    def test_negative_numbers_stay_numbers(self, app, cohort, trainer, scenarios_dir):
        """Negative points are written as plain numbers, with no quote."""
        cohort_id, _assignment_id = cohort
        write_scenario(scenarios_dir, "minus.yaml", MINUS)
        minus = gen_assignment(app, cohort_id, key="minus")
        play(app, "ann", minus, CHECK_PATH, ["-3 points", "", "fine"], key="minus")
        response = trainer.get(f"/train/assignments/{minus}/steps.csv")
        first = rows_of(response)[0]
        assert (first["choice"], first["safeguarding_points"]) == ("check-status", "-3")
        assert first["rationale"] == "'-3 points"
        assert ",-3," in response.get_data(as_text=True)

    @pytest.mark.parametrize(
        ("value", "written"),
        [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-x", "'-x"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tTAB", "'\tTAB"),
            ("\rCR", "'\rCR"),
            ("  =1+1", "'  =1+1"),
            ("\uff1d1+1", "'\uff1d1+1"),
            ("Ann", "Ann"),
            ("a = b", "a = b"),
            ("", ""),
            (-3, -3),
            (2.5, 2.5),
            (True, "true"),
            (None, ""),
        ],
    )
    def test_cell(self, value, written):
        """Only text that would start a formula is quoted; numbers stay numbers."""
        assert csvsafe.cell(value) == written

    def test_lines_quote_as_rfc_4180(self):
        """Commas, quotes and line breaks inside a cell are quoted; lines end in CRLF."""
        (line,) = csvsafe.lines([["a,b", 'say "hi"', "two\nlines", -3]])
        assert line == '"a,b","say ""hi""","two\nlines",-3\r\n'


class TestCohortExports:
    def test_every_assignment_with_every_dimension(self, app, cohort, trainer, scenarios_dir):
        """A cohort's export holds every assignment's attempts, dimensions of all its scenarios."""
        cohort_id, assignment_id = cohort
        other = doorstep(id="other", title="Other").replace("safeguarding", "rapport")
        write_scenario(scenarios_dir, "other.yaml", other)
        second = gen_assignment(app, cohort_id, key="other")
        one = gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
        two = gen_attempt(app, "ann", BEST_PATH, key="other", assignment_id=second)
        response = trainer.get(f"/train/cohorts/{cohort_id}/results.csv")
        header = header_of(response)
        assert header[-3:] == ["safeguarding_percent", "rapport_percent", "time_taken_seconds"]
        first, last = rows_of(response)
        assert (int(first["attempt_id"]), int(last["attempt_id"])) == (one, two)
        assert (first["safeguarding_percent"], first["rapport_percent"]) == ("100", "")
        assert (last["safeguarding_percent"], last["rapport_percent"]) == ("", "100")
        steps = rows_of(trainer.get(f"/train/cohorts/{cohort_id}/steps.csv"))
        assert len(steps) == 6
        assert (steps[0]["safeguarding_points"], steps[0]["rapport_points"]) == ("2", "")
        assert (steps[3]["safeguarding_points"], steps[3]["rapport_points"]) == ("", "2")

    def test_cohort_file_name(self, cohort, trainer):
        """A cohort's download is named after the cohort."""
        cohort_id, _assignment_id = cohort
        response = trainer.get(f"/train/cohorts/{cohort_id}/steps.csv")
        response.close()
        assert "filename=intake-1-steps-20" in response.headers["Content-Disposition"]


def count_queries(app, url, client):
    """Return how many SQL statements one download runs."""
    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
        assert response.status_code == 200 and response.get_data()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize("kind", ["results", "steps"])
def test_a_fixed_number_of_queries(app, cohort, trainer, kind):
    """An export runs as many queries for many attempts as for one."""
    _cohort_id, assignment_id = cohort
    url = f"/train/assignments/{assignment_id}/{kind}.csv"
    gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
    few = count_queries(app, url, trainer)
    for path in (SHARING_PATH, CHECK_PATH, BEST_PATH):
        gen_attempt(app, "bob", path, assignment_id=assignment_id)
    gen_attempt(app, "ann", ["interpreter"], assignment_id=assignment_id)
    assert count_queries(app, url, trainer) == few


EXPORT_URLS = [
    "/train/assignments/{assignment}/results.csv",
    "/train/assignments/{assignment}/steps.csv",
    "/train/cohorts/{cohort}/results.csv",
    "/train/cohorts/{cohort}/steps.csv",
]


class TestWhoMayDownload:
    @pytest.mark.parametrize("url", EXPORT_URLS)
    def test_trainer_of_another_cohort_gets_404(self, app, client, cohort, url):
        """A trainer who cannot see the cohort is told it does not exist."""
        cohort_id, assignment_id = cohort
        gen_user(app, "stranger", "trainer")
        sign_in(client, "stranger")
        response = client.get(url.format(cohort=cohort_id, assignment=assignment_id))
        assert response.status_code == 404

    @pytest.mark.parametrize("url", EXPORT_URLS)
    def test_trainee_gets_403(self, client, cohort, url):
        """A trainee, even one in the cohort, cannot download exports."""
        cohort_id, assignment_id = cohort
        sign_in(client, "ann")
        response = client.get(url.format(cohort=cohort_id, assignment=assignment_id))
        assert response.status_code == 403

    @pytest.mark.parametrize("url", EXPORT_URLS)
    def test_anonymous_goes_to_sign_in(self, client, cohort, url):
        """Someone not signed in is asked to sign in."""
        cohort_id, assignment_id = cohort
        response = client.get(url.format(cohort=cohort_id, assignment=assignment_id))
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]

    def test_missing_assignment_404(self, trainer, cohort):
        """An assignment that does not exist is a 404."""
        assert trainer.get("/train/assignments/999/results.csv").status_code == 404

    @pytest.mark.parametrize("url", EXPORT_URLS)
    def test_shared_trainer_and_admin_may(self, app, client, cohort, url):
        """A trainer the cohort is shared with, and an admin, may download it."""
        from simulator import cohorts
        from simulator.models import Cohort

        cohort_id, assignment_id = cohort
        gen_user(app, "colleague", "trainer")
        gen_user(app, "boss", "admin")
        with app.app_context():
            owner = accounts.find_user("trainer")
            cohort_row = db.session.get(Cohort, cohort_id)
            cohorts.share(owner, cohort_row, accounts.find_user("colleague"))
        for username in ("colleague", "boss"):
            own = app.test_client()
            sign_in(own, username)
            response = own.get(url.format(cohort=cohort_id, assignment=assignment_id))
            assert response.status_code == 200 and response.get_data(as_text=True)


class TestAudit:
    def test_each_download_is_recorded(self, app, cohort, trainer):
        """Every download adds an "export" entry naming who, what and which kind."""
        cohort_id, assignment_id = cohort
        trainer.get(f"/train/assignments/{assignment_id}/steps.csv").get_data()
        trainer.get(f"/train/cohorts/{cohort_id}/results.csv").get_data()
        with app.app_context():
            trainer_id = accounts.find_user("trainer").id
            found = db.session.exec(
                select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
            ).all()
            assert [(e.actor_id, e.target_type, e.target_id) for e in found] == [
                (trainer_id, "assignments", assignment_id),
                (trainer_id, "cohorts", cohort_id),
            ]
            assert found[0].details["kind"] == "steps"
            assert found[1].details == {
                "kind": "results",
                "cohort_id": cohort_id,
                "assignment_ids": [assignment_id],
            }
            assert "Downloaded the steps of assignment" in found[0].summary

    def test_refused_download_is_not_recorded(self, app, client, cohort):
        """A download refused with 404 records nothing."""
        _cohort_id, assignment_id = cohort
        gen_user(app, "stranger", "trainer")
        sign_in(client, "stranger")
        client.get(f"/train/assignments/{assignment_id}/results.csv")
        with app.app_context():
            assert not db.session.exec(
                select(AuditEntry).where(AuditEntry.action == "export")
            ).all()
            assert db.session.get(User, 1) is not None


def test_assignment_page_links_to_both_downloads(cohort, trainer):
    """The assignment's page offers its results and its choices as CSV."""
    _cohort_id, assignment_id = cohort
    page = trainer.get(f"/train/assignments/{assignment_id}").get_data(as_text=True)
    assert f'href="/train/assignments/{assignment_id}/results.csv">Every attempt (CSV)' in page
    assert f'href="/train/assignments/{assignment_id}/steps.csv">Every choice (CSV)' in page


def test_a_download_never_read_leaves_nothing_behind(app, cohort, trainer):
    """A response dropped unread (a closed tab) neither breaks later requests nor leaks."""
    _cohort_id, assignment_id = cohort
    gen_attempt(app, "ann", BEST_PATH, assignment_id=assignment_id)
    assert trainer.get(f"/train/assignments/{assignment_id}/steps.csv").status_code == 200
    assert trainer.get("/train/").status_code == 200
    with app.app_context():
        gc.collect()
        assert accounts.find_user("ann") is not None
    assert trainer.get(f"/train/assignments/{assignment_id}/results.csv").get_data()
