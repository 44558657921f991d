"""Analytics over the database: what a trainer reads, on SQLite and PostgreSQL."""

import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    SHARING_PATH,
    doorstep,
    gen_assignment,
    gen_cohort,
    gen_user,
    sign_in,
    text_of,
    write_scenario,
)
from sqlalchemy import event

from simulator import accounts, analytics, assignments, attempts, engine, library
from simulator.db import db
from simulator.models import Assignment, Attempt, User

CAST = """\
  - victim: Amina
    language: Somali
  - victim: Olena
    language: Ukrainian
"""


def play(app, username, choices, assignment_id, seconds=10, started=None, seed=7):
    """Play an attempt at an assignment through the store, `seconds` per step; return its id."""
    with app.app_context():
        person = accounts.find_user(username)
        assignment = db.session.get(Assignment, assignment_id)
        version = assignments.version_for(assignment)
        number = attempts.next_attempt_number(person.id, assignment.scenario_key, assignment_id)
        now = started or datetime.now(UTC)
        attempt = attempts.start_attempt(person, version, number, assignment, seed, now)
        for choice_id in choices:
            progress = attempts.progress_of(attempt)
            choice = {c.id: c for c in progress.offered()}[choice_id]
            now += timedelta(seconds=seconds)
            rationale = attempts.clean_rationale(progress.node, "why")
            attempts.record_step(progress, choice, rationale, now=now)
        return attempt.id


def cohort_of(app, count, name="Intake 1", owner="trainer", prefix="t"):
    """Create trainees and a cohort holding them, with the doorstep assigned; return its id."""
    usernames = [f"{prefix}{i}" for i in range(count)]
    for username in usernames:
        gen_user(app, username)
    cohort_id = gen_cohort(app, owner, name, usernames)
    return gen_assignment(app, cohort_id), usernames


@pytest.fixture
def trainer(app):
    """Create the trainer account."""
    return gen_user(app, "trainer", "trainer")


@pytest.fixture
def cohort(app, trainer):
    """Return an assignment and eight trainees, each with one attempt of a known kind.

    Three take the best path, two share at the disclosure, one checks status at the door,
    one stops in the hallway and one at the disclosure.
    """
    assignment_id, people = cohort_of(app, 8)
    ways = [BEST_PATH] * 3 + [SHARING_PATH] * 2 + [CHECK_PATH, BEST_PATH[:1], BEST_PATH[:2]]
    for username, way in zip(people, ways, strict=True):
        play(app, username, way, assignment_id)
    return assignment_id


def figures_of(app, assignment_id, **filters):
    """Return an assignment's analytics."""
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        return analytics.assignment_analytics(assignment, **filters)


def test_the_headline_counts_what_happened(app, cohort):
    """Attempts, finished, passed, sharing failures and the most common failing choice."""
    found = figures_of(app, cohort)
    headline = found.headline
    assert (headline.attempts, headline.finished, headline.passed) == (8, 6, 3)
    assert (headline.failed_sharing, headline.failed_critical) == (3, 0)
    assert headline.in_progress == 2
    top = headline.top_failing
    assert (top.ordinal, top.choice_id, top.count) == (2, "refer", 2)
    assert top.verdict == engine.INAPPROPRIATE_SHARE


def test_each_decision_counts_choices_shares_and_verdicts(app, cohort):
    """Decisions come in story order with who reached them, what they chose and verdicts."""
    first, second = figures_of(app, cohort).decisions
    assert (first.ordinal, first.node_id, first.reached, first.decided) == (1, "arrival", 8, 8)
    assert [(o.choice_id, o.count, o.percent, o.verdict) for o in first.options] == [
        ("interpreter", 7, 88, engine.GOOD),
        ("check-status", 1, 13, engine.INAPPROPRIATE_SHARE),
    ]
    assert (second.reached, second.decided, second.stopped) == (7, 6, 1)
    assert [(o.choice_id, o.count, o.percent, o.verdict) for o in second.options] == [
        ("reassure", 4, 67, engine.GOOD),
        ("refer", 2, 33, engine.INAPPROPRIATE_SHARE),
    ]
    assert second.summary.startswith("Most attempts (67%) chose “Tell her your priority")
    assert second.summary.endswith("3 in 10 chose an inappropriate share.")


def test_time_to_decide_has_a_median_and_spread(app, trainer):
    """Median and interquartile range of time to decide come from the recorded times."""
    assignment_id, people = cohort_of(app, 4)
    for username, seconds in zip(people, (4, 8, 12, 16), strict=True):
        play(app, username, BEST_PATH[:1], assignment_id, seconds=seconds)
    first = figures_of(app, assignment_id).decisions[0]
    assert first.median == 10 and first.quartiles == (7, 13) and first.spread == 6


def test_unfinished_attempts_show_where_they_stopped(app, cohort):
    """Attempts in progress are placed at the node they stand at, in story order."""
    stops = figures_of(app, cohort).stops
    assert [(s.node_id, s.in_progress, s.abandoned) for s in stops] == [
        ("hallway", 1, 0),
        ("disclosure", 1, 0),
    ]
    assert stops[0].label == "A step before the next decision: You step into the hallway."
    assert stops[1].label.startswith("Decision 2: She tells you")


def test_paths_are_the_most_common_first_with_outcomes(app, cohort):
    """Complete paths are counted, most taken first, each with its outcome."""
    paths = figures_of(app, cohort).paths
    assert [(p.attempts, p.outcome, p.passed, p.sharing_passed) for p in paths] == [
        (3, "Victim safeguarded", True, True),
        (2, "Victim withdraws", False, False),
        (1, "Victim safeguarded", False, False),
    ]
    assert paths[0].choices[0][1].startswith("Arrange a professional [language] interpreter")
    assert [number for number, _ in paths[1].changes] == [2]
    assert paths[0].percent == 50


@contextmanager
def counting_queries(app):
    """Count the SQL statements run inside the block into the list it yields."""
    statements = []

    def counted(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", counted)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", counted)


def queries_per_view(app, assignment_id):
    """Return how many queries the assignment's view and the scenario's view each run."""
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        viewer = accounts.find_user("trainer")
        with counting_queries(app) as by_assignment:
            analytics.assignment_analytics(assignment)
        with counting_queries(app) as by_scenario:
            analytics.scenario_analytics(viewer, "doorstep")
    return len(by_assignment), len(by_scenario)


def test_each_view_runs_a_fixed_number_of_queries(app, trainer):
    """Three trainees or twelve, each view runs the same few aggregate queries.

    The versions; the headline, cast rows and stops in one; paths; choices: four (and on
    PostgreSQL, for many thousands of attempts, one more that tunes the transaction).
    """
    expected = (4, 4)
    assignment_id, people = cohort_of(app, 12)
    ways = [BEST_PATH, SHARING_PATH, BEST_PATH[:2], CHECK_PATH]
    for i, username in enumerate(people[:3]):
        play(app, username, ways[i % 4], assignment_id)
    few = queries_per_view(app, assignment_id)
    for i, username in enumerate(people[3:]):
        play(app, username, ways[i % 4], assignment_id)
        play(app, username, BEST_PATH, assignment_id)
    assert queries_per_view(app, assignment_id) == few == expected


def test_large_views_tune_postgresql_once(app, trainer, monkeypatch):
    """From TUNE_FROM_ATTEMPTS attempts on, PostgreSQL gets one more statement: the tuning."""
    assignment_id, people = cohort_of(app, 1)
    play(app, people[0], BEST_PATH, assignment_id)
    monkeypatch.setattr(analytics, "TUNE_FROM_ATTEMPTS", 1)
    with app.app_context():
        tuned = 5 if db.engine.dialect.name == "postgresql" else 4
    assert queries_per_view(app, assignment_id) == (tuned, tuned)


def test_first_attempts_only(app, trainer):
    """First-only counts each person's first attempt, not their later ones."""
    assignment_id, people = cohort_of(app, 2)
    play(app, people[0], SHARING_PATH, assignment_id)
    play(app, people[0], BEST_PATH, assignment_id)
    play(app, people[1], BEST_PATH, assignment_id)
    every = figures_of(app, assignment_id).headline
    first = figures_of(app, assignment_id, first_only=True).headline
    assert (every.attempts, every.passed) == (3, 2)
    assert (first.attempts, first.passed, first.failed_sharing) == (2, 1, 1)


def test_dates_filter_by_the_day_an_attempt_started(app, trainer):
    """From and to are days in London, both included."""
    assignment_id, people = cohort_of(app, 3)
    days = [datetime(2026, 3, d, 12, tzinfo=UTC) for d in (1, 10, 20)]
    for username, day in zip(people, days, strict=True):
        play(app, username, BEST_PATH, assignment_id, started=day)
    assert figures_of(app, assignment_id, since=date(2026, 3, 10)).headline.attempts == 2
    assert figures_of(app, assignment_id, until=date(2026, 3, 10)).headline.attempts == 2
    found = figures_of(app, assignment_id, since=date(2026, 3, 10), until=date(2026, 3, 10))
    assert found.headline.attempts == 1


def test_an_attempt_just_after_midnight_in_summer_counts_on_its_london_day(app, trainer):
    """00:30 in London on 1 July is 23:30 UTC on 30 June, and counts on 1 July."""
    assignment_id, people = cohort_of(app, 1)
    late = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)
    play(app, people[0], BEST_PATH, assignment_id, started=late)
    assert figures_of(app, assignment_id, since=date(2026, 7, 1)).headline.attempts == 1
    assert figures_of(app, assignment_id, until=date(2026, 6, 30)).headline.attempts == 0


def new_version(app, scenarios_dir):
    """Load version 2 of the doorstep scenario, which becomes the one offered."""
    write_scenario(scenarios_dir, text=doorstep(version=2, victim="Hodan"))
    with app.app_context():
        library.load_folder(Path(scenarios_dir))


def test_versions_are_kept_apart(app, trainer, scenarios_dir):
    """Each version is its own test: the newest is shown, and another can be chosen."""
    assignment_id, people = cohort_of(app, 3)
    play(app, people[0], SHARING_PATH, assignment_id)
    new_version(app, scenarios_dir)
    play(app, people[1], BEST_PATH, assignment_id)
    play(app, people[2], BEST_PATH, assignment_id)
    newest = figures_of(app, assignment_id)
    assert [v.number for v in newest.versions] == [2, 1]
    assert newest.version.number == 2 and newest.headline.attempts == 2
    older = figures_of(app, assignment_id, version_id=newest.versions[1].id)
    assert older.version.number == 1
    assert (older.headline.attempts, older.headline.failed_sharing) == (1, 1)


def test_across_cohorts_fewer_than_five_people_are_suppressed(app, trainer):
    """A scenario's figures across cohorts hide what rests on four people, not five."""
    assignment_id, people = cohort_of(app, 5)
    for username in people[:4]:
        play(app, username, BEST_PATH, assignment_id)
    with app.app_context():
        viewer = accounts.find_user("trainer")
        four = analytics.scenario_analytics(viewer, "doorstep")
    assert four.headline.suppressed and four.decisions[0].suppressed and not four.paths
    play(app, people[4], BEST_PATH, assignment_id)
    with app.app_context():
        five = analytics.scenario_analytics(accounts.find_user("trainer"), "doorstep")
    assert not five.headline.suppressed and five.headline.attempts == 5
    assert five.decisions[0].people == 5 and five.decisions[0].options[0].count == 5
    assert five.paths[0].people == 5


def test_a_scenario_counts_only_cohorts_the_trainer_can_see(app, trainer):
    """Another trainer's cohort does not count in this trainer's view of a scenario."""
    gen_user(app, "other", "trainer")
    mine, people = cohort_of(app, 5)
    theirs, others = cohort_of(app, 5, "Theirs", owner="other", prefix="o")
    for username in people:
        play(app, username, BEST_PATH, mine)
    for username in others:
        play(app, username, SHARING_PATH, theirs)
    with app.app_context():
        found = analytics.scenario_analytics(accounts.find_user("trainer"), "doorstep")
        admin = User(username="boss", password_hash="x", role="admin")
        everyone = analytics.scenario_analytics(admin, "doorstep")
    assert (found.headline.attempts, found.headline.failed_sharing) == (5, 0)
    assert (everyone.headline.attempts, everyone.headline.failed_sharing) == (10, 5)


def two_cast_rows(app, scenarios_dir):
    """Offer a doorstep scenario with two cast rows as 'castdoor'."""
    text = doorstep(id="castdoor", title="Two victims").replace(
        "  - victim: Amina\n    language: Somali\n", CAST
    )
    write_scenario(scenarios_dir, "castdoor.yaml", text)
    with app.app_context():
        library.load_folder(Path(scenarios_dir))


def seeds_for(count, rows=2):
    """Return seeds that draw each cast row in turn."""
    import random

    found, seed = [], 0
    while len(found) < count:
        if random.Random(seed).randrange(rows) == len(found) % rows:
            found.append(seed)
        seed += 1
    return found


def cast_assignment(app, scenarios_dir, count):
    """Assign the two-cast-row scenario to `count` people, who play it with one seed each
    (cycling over the rows), the even ones well and the odd ones by sharing; return its id."""
    two_cast_rows(app, scenarios_dir)
    usernames = [f"c{i}" for i in range(count)]
    for username in usernames:
        gen_user(app, username)
    cohort_id = gen_cohort(app, "trainer", "Cast", usernames)
    assignment_id = gen_assignment(app, cohort_id, key="castdoor")
    for i, (username, seed) in enumerate(zip(usernames, seeds_for(count), strict=True)):
        play(app, username, BEST_PATH if i % 2 == 0 else SHARING_PATH, assignment_id, seed=seed)
    return assignment_id


def test_cast_rows_have_rates_intervals_and_a_test(app, trainer, scenarios_dir):
    """Each cast row has its pass and sharing rates; too little data is said plainly."""
    assignment_id = cast_assignment(app, scenarios_dir, 6)
    cast = figures_of(app, assignment_id).cast
    amina, olena = cast.rows
    assert amina.label == "Amina (Somali)"
    assert (amina.finished, amina.passed, amina.pass_rate) == (3, 3, 1.0)
    assert (olena.finished, olena.failed_sharing, olena.sharing_rate) == (3, 3, 1.0)
    assert amina.pass_interval.low == pytest.approx(0.4385, abs=1e-4)
    assert cast.pass_test.outcome == "not enough data"


LABELLED = re.compile(r'<(?:section|div [^>]*role="region")[^>]*aria-labelledby="([^"]+)"')


def label_text(page, element_id):
    """Return the text of the element with this id, tags and spacing folded."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", found).split())


def test_the_cast_sections_landmarks_each_have_a_name_of_their_own(
    app, client, trainer, scenarios_dir
):
    """Each labelled region of the page (a cast section, its table) is named apart, so a
    screen reader's list of landmarks tells them apart (axe's landmark-unique)."""
    assignment_id = cast_assignment(app, scenarios_dir, 4)
    sign_in(client, "trainer")
    page = text_of(client.get(f"/train/assignments/{assignment_id}/analytics"))
    assert "Cast variants" in page
    names = [label_text(page, label) for label in LABELLED.findall(page)]
    assert len(names) > 4 and len(names) == len(set(names)), names


# --------------------------------------------------------------------------- pages


def test_the_assignment_page_shows_charts_tables_and_summaries(app, client, cohort):
    """The page has each decision's summary, an SVG chart and a table of the same numbers."""
    sign_in(client, "trainer")
    response = client.get(f"/train/assignments/{cohort}/analytics")
    page = text_of(response)
    assert response.status_code == 200
    assert "version 1 (loaded" in page
    assert "Of 8 attempts, 6 finished and 3 passed" in page
    assert "Most attempts (88%) chose “Arrange a professional [language] interpreter" in page
    assert page.count('role="img"') == 2 and "<script" not in page.split("<main")[1]
    assert "Decision 2: what 6 attempts chose" in page
    assert "Time to decide: median 10 seconds" in page
    assert "Victim withdraws" in page
    for chart in page.split("<svg")[1:]:
        ET.fromstring("<svg" + chart.split("</svg>")[0] + "</svg>")


def test_filters_work_from_the_query_string(app, client, trainer):
    """First attempts only and a date range are read from the plain GET form."""
    assignment_id, people = cohort_of(app, 1)
    play(app, people[0], SHARING_PATH, assignment_id)
    play(app, people[0], BEST_PATH, assignment_id)
    sign_in(client, "trainer")
    url = f"/train/assignments/{assignment_id}/analytics"
    assert "Of 2 attempts" in text_of(client.get(url))
    assert "Of 1 attempt, 1 finished and 0 passed" in text_of(client.get(url + "?attempts=first"))
    assert "No attempts match" in text_of(client.get(url + "?from=2001-01-01&to=2001-01-02"))


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=yesterday", "Enter the ‘from’ date as a real date"),
        ("from=2026-03-10&to=2026-03-01", "The ‘to’ date must be the same as or after"),
        ("version=999", "Select a version that has attempts"),
        ("version=abc", "Select a version that has attempts"),
    ],
)
def test_a_bad_filter_says_what_to_fix(app, client, cohort, query, message):
    """A filter that makes no sense is named in an error summary, with no figures."""
    sign_in(client, "trainer")
    response = client.get(f"/train/assignments/{cohort}/analytics?{query}")
    assert response.status_code == 400
    page = text_of(response)
    assert "There is a problem" in page and message in page
    assert "The headline" not in page


def test_another_cohorts_trainer_gets_not_found(app, client, cohort):
    """A trainer who cannot see the cohort cannot learn that the assignment exists."""
    gen_user(app, "stranger", "trainer")
    sign_in(client, "stranger")
    assert client.get(f"/train/assignments/{cohort}/analytics").status_code == 404


def test_trainees_are_refused(app, client, cohort):
    """Trainees cannot see analytics pages."""
    sign_in(client, "t0")
    assert client.get(f"/train/assignments/{cohort}/analytics").status_code == 403
    assert client.get("/train/scenarios/doorstep/analytics").status_code == 403
    assert client.get("/train/scenarios").status_code == 403


def test_the_scenario_page_suppresses_small_numbers(app, client, trainer):
    """Across cohorts, a decision resting on fewer than five people is not shown."""
    assignment_id, people = cohort_of(app, 3)
    for username in people:
        play(app, username, BEST_PATH, assignment_id)
    sign_in(client, "trainer")
    page = text_of(client.get("/train/scenarios/doorstep/analytics"))
    assert "Fewer than 5 people made these attempts, so no figure is shown." in page
    assert "Fewer than 5 people reached this decision" in page
    assert 'role="img"' not in page


def test_an_unknown_scenario_is_not_found(app, client, trainer):
    """A scenario key that was never loaded is a 404."""
    sign_in(client, "trainer")
    assert client.get("/train/scenarios/nothing/analytics").status_code == 404


def test_the_scenario_list_links_to_analytics(app, client, cohort):
    """The scenario list links each offered scenario to its figures."""
    sign_in(client, "trainer")
    page = text_of(client.get("/train/scenarios"))
    assert 'href="/train/scenarios/doorstep/analytics"' in page
    assert client.get("/train/scenarios/doorstep/analytics").status_code == 200


def test_a_trainees_path_beside_the_best_and_the_cohort(app, client, cohort):
    """A trainer sees a trainee's choices beside the best option and the cohort's choice."""
    with app.app_context():
        t5 = accounts.find_user("t5")
        attempt = attempts.user_attempts(t5.id, "doorstep", cohort)[0]
    sign_in(client, "trainer")
    page = text_of(client.get(f"/train/attempts/{attempt.id}/path"))
    assert "Run her name through immigration systems" in page
    assert "Arrange a professional Somali interpreter and speak to her alone." in page
    assert "7 of 8 attempts" in page
    gen_user(app, "stranger", "trainer")
    stranger = app.test_client()
    sign_in(stranger, "stranger")
    assert stranger.get(f"/train/attempts/{attempt.id}/path").status_code == 404


# --------------------------------------------------------------------------- the debrief


def debrief_of(app, username, assignment_id):
    """Return the debrief page of a person's latest attempt at an assignment."""
    attempt_id = play(app, username, BEST_PATH, assignment_id)
    client = app.test_client()
    sign_in(client, username)
    return text_of(client.get(f"/attempts/{attempt_id}/debrief"))


@pytest.mark.parametrize("others, shown", [(4, False), (5, True)])
def test_the_debrief_compares_with_five_or_more_others(app, trainer, others, shown):
    """'Most of your cohort chose' appears only with at least five other people."""
    assignment_id, people = cohort_of(app, others + 1)
    for username in people[1:]:
        play(app, username, CHECK_PATH, assignment_id)
    page = debrief_of(app, people[0], assignment_id)
    line = f"Most of your cohort ({others} people) chose: Run her name through immigration"
    assert (line in page) is shown


def test_free_practice_has_no_comparison(app, trainer):
    """A free-practice debrief says nothing of a cohort."""
    from helpers import gen_attempt

    assignment_id, people = cohort_of(app, 6)
    for username in people[1:]:
        play(app, username, CHECK_PATH, assignment_id)
    attempt_id = gen_attempt(app, people[0], BEST_PATH)
    with app.app_context():
        found = analytics.cohort_choices_for(db.session.get(Attempt, attempt_id))
    assert found == {}


def test_cohort_choices_count_each_other_person_once(app, trainer):
    """Others are counted by their earliest attempt, and the person is left out."""
    assignment_id, people = cohort_of(app, 7)
    for username in people[1:]:
        play(app, username, CHECK_PATH, assignment_id)
        play(app, username, BEST_PATH, assignment_id)
    mine = play(app, people[0], SHARING_PATH, assignment_id)
    with app.app_context():
        found = analytics.cohort_choices_for(db.session.get(Attempt, mine))
    assert found["arrival"].choice_ids == ("check-status",)
    assert (found["arrival"].count, found["arrival"].people) == (6, 6)


def test_the_assignment_page_links_to_its_figures(app, client, cohort):
    """A trainer reaches the figures from the assignment's page."""
    sign_in(client, "trainer")
    page = text_of(client.get(f"/train/assignments/{cohort}"))
    assert f'href="/train/assignments/{cohort}/analytics"' in page


def test_a_read_only_debrief_links_to_the_trainees_path(app, client, cohort):
    """From a trainee's debrief a trainer reaches their path beside the best one."""
    with app.app_context():
        attempt = attempts.user_attempts(accounts.find_user("t0").id, "doorstep", cohort)[0]
    sign_in(client, "trainer")
    page = text_of(client.get(f"/train/attempts/{attempt.id}"))
    assert f'href="/train/attempts/{attempt.id}/path"' in page
    assert client.get(f"/train/attempts/{attempt.id}/path").status_code == 200


def test_attempts_recorded_before_verdicts_were_kept_are_left_out_where_needed(app, trainer):
    """An old attempt with no verdicts, path or node counts its choices, not the rest."""
    from sqlalchemy import update

    from simulator import records
    from simulator.models import AttemptStep

    assignment_id, people = cohort_of(app, 3)
    old = play(app, people[0], SHARING_PATH, assignment_id)
    stopped = play(app, people[1], BEST_PATH[:1], assignment_id)
    play(app, people[2], BEST_PATH, assignment_id)
    with app.app_context(), records.unlocked("tests: make attempts as old ones were"):
        db.session.execute(
            update(AttemptStep)
            .where(AttemptStep.attempt_id.in_([old, stopped]))
            .values(verdict=None)
        )
        db.session.execute(
            update(Attempt).where(Attempt.id.in_([old, stopped])).values(path=None, at_node=None)
        )
    found = figures_of(app, assignment_id)
    first = found.decisions[0]
    assert first.decided == 3 and first.options[0].verdict == engine.GOOD
    assert [p.attempts for p in found.paths] == [1]
    assert found.stops == ()
    assert found.headline.attempts == 3


def test_a_free_practice_path_has_no_cohort(app, client, trainer):
    """A trainee's free practice is set beside the best path only."""
    from helpers import gen_attempt

    assignment_id, people = cohort_of(app, 1)
    attempt_id = gen_attempt(app, people[0], CHECK_PATH)
    sign_in(client, "trainer")
    response = client.get(f"/train/attempts/{attempt_id}/path")
    page = text_of(response)
    assert response.status_code == 200
    assert "This is free practice, so there is no cohort to compare with." in page
    assert "The cohort’s most common choice" not in page


def test_an_assignment_with_no_attempts_says_so(app, client, trainer):
    """Before anyone has tried it, the page names the version and says there is nothing yet."""
    assignment_id, _people = cohort_of(app, 2)
    sign_in(client, "trainer")
    response = client.get(f"/train/assignments/{assignment_id}/analytics")
    page = text_of(response)
    assert response.status_code == 200
    assert "version 1 (loaded" in page and "No attempts match these filters." in page
    assert "Decision by decision" not in page
