"""Revision 2 in the app: the attempt's choice order, critical errors, verdicts, time to decide."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from helpers import BEST_PATH, attempt_id, doorstep, play_through, post, start, take

from simulator import attempts, engine, library
from simulator.db import db
from simulator.models import Attempt, ScenarioVersion

CRITICAL = doorstep().replace(
    """      - id: reassure
        text: Tell her your priority is her safety, and explain the support available.
        next: safe
        score: {safeguarding: 1}
        feedback: Safety first.
""",
    """      - id: reassure
        text: Tell her your priority is her safety, and explain the support available.
        next: safe
        score: {safeguarding: 1}
        feedback: Safety first.
      - id: promise
        text: Promise her that nothing she says will ever be shared with anyone.
        next: safe
        critical: true
        feedback: That promise is untrue, and she may rely on it.
        refs: [sts-r1]
""",
)
RADIO = re.compile(
    r'name="choice"[^>]*value="([a-z0-9_-]+)"|value="([a-z0-9_-]+)"[^>]*name="choice"'
)


def shown_ids(page):
    """Return the choice ids of the play form's radios, in page order."""
    return [a or b for a, b in RADIO.findall(page)]


def the_attempt(app, url):
    """Return the attempt at ``url`` and its scenario."""
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        version = db.session.get(ScenarioVersion, attempt.scenario_version_id)
        return attempt, version, library.scenario_for(version)


def test_new_attempts_record_the_shuffled_rule(app, signed_in):
    """A version accepted under revision 2 starts attempts that shuffle their choices."""
    attempt, version, _ = the_attempt(app, start(signed_in))
    assert version.format_revision == 2
    assert attempt.choice_order == engine.SHUFFLED


def test_play_shows_the_order_drawn_for_the_attempt(app, signed_in):
    """The options appear in the attempt's own order, the same on every reload."""
    url = start(signed_in)
    attempt, _, scenario = the_attempt(app, url)
    want = [
        c.id
        for c in engine.shown_choices(
            scenario, engine.State(scenario.start), attempt.seed, engine.SHUFFLED
        )
    ]
    pages = [signed_in.get(url).get_data(as_text=True) for _ in range(3)]
    assert [shown_ids(page) for page in pages] == [want] * 3


def test_a_revision_1_version_keeps_playing_as_it_was_accepted(app, signed_in):
    """A version stored before revision 2, with a Markdown image, plays in file order."""
    old = (
        doorstep(id="old-door", title="An older door", victim="Oksana")
        .replace("his first language", "her first language")
        .replace(
            "  safe:\n    end:",
            "  safe:\n    text: '![A door](https://example.org/door.png)'\n    end:",
        )
    )
    with app.app_context():
        version = ScenarioVersion(
            digest="0" * 64,
            scenario_key="old-door",
            version=1,
            title="An older door",
            summary="Stored under revision 1.",
            audience="recruit,cpd",
            path="old-door.yaml",
            source=old.encode(),
            format_revision=1,
            current=True,
        )
        db.session.add(version)
        db.session.commit()
    url = start(signed_in, key="old-door")
    attempt, _, scenario = the_attempt(app, url)
    assert attempt.choice_order == engine.FILE_ORDER
    page = signed_in.get(url).get_data(as_text=True)
    assert shown_ids(page) == [c.id for c in scenario.nodes[scenario.start].choices]
    response = play_through(signed_in, url, BEST_PATH)
    assert response.status_code == 303
    assert signed_in.get(f"{url}/debrief").status_code == 200


def test_re_accepting_a_revision_1_file_shuffles_new_attempts_only(app, signed_in, make_app):
    """A stored file accepted again under revision 2 shuffles from then on; earlier
    attempts keep the file order recorded on them."""
    url = start(signed_in)
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        attempt.choice_order = engine.FILE_ORDER
        version = db.session.get(ScenarioVersion, attempt.scenario_version_id)
        version.format_revision = 1
        db.session.commit()
    make_app(LOAD_LIBRARY_ON_START=True).test_client().get("/sign-in")
    first, version, _ = the_attempt(app, url)
    assert version.format_revision == 2
    assert first.choice_order == engine.FILE_ORDER
    play_through(signed_in, url, BEST_PATH)
    second, _, _ = the_attempt(app, start(signed_in, number=2))
    assert second.choice_order == engine.SHUFFLED


@pytest.fixture
def critical_library(scenarios_dir):
    """Replace the library with a doorstep that has a critical choice."""
    (scenarios_dir / "doorstep.yaml").write_text(CRITICAL, encoding="utf-8")


def test_debrief_reports_a_critical_error_with_its_feedback(critical_library, signed_in):
    """A critical choice fails the attempt; the debrief names it after the sharing criterion."""
    url = start(signed_in)
    play_through(signed_in, url, ["interpreter", "continue", "promise"])
    page = signed_in.get(f"{url}/debrief").get_data(as_text=True)
    sharing = page.index("Sharing of immigration information")
    critical = page.index("Critical error")
    scores = page.index("Your scores")
    assert sharing < critical < scores
    assert "Promise her that nothing she says will ever be shared with anyone." in page
    assert "That promise is untrue, and she may rely on it." in page
    assert "You made a critical error." in page and "Grade: 0%." in page
    assert "Not passed" in page


def test_feedback_shows_the_engines_verdict(critical_library, signed_in):
    """Feedback on a critical choice says it fails the attempt."""
    url = start(signed_in)
    play_through(signed_in, url, ["interpreter", "continue", "promise"])
    page = signed_in.get(f"{url}/feedback/3").get_data(as_text=True)
    assert "A critical error: this choice fails the attempt" in page


def test_debrief_lists_the_other_options_with_verdicts_in_the_order_shown(
    app, critical_library, signed_in
):
    """Each option not taken carries its own verdict, in the order the attempt showed it."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH)
    attempt, _, scenario = the_attempt(app, url)
    state = engine.replay(scenario, BEST_PATH[:2])
    others = [
        c.text
        for c in engine.shown_choices(scenario, state, attempt.seed, engine.SHUFFLED)
        if c.id != "reassure"
    ]
    page = signed_in.get(f"{url}/debrief").get_data(as_text=True)
    positions = [page.index(text) for text in others]
    assert positions == sorted(positions)
    assert "Would have been a critical error" in page  # the promise, not taken


def test_time_to_decide_leaves_out_reading_feedback(app, signed_in, monkeypatch):
    """A step's time runs from when its node was first shown, not from the previous choice."""
    clock = {"now": datetime(2026, 12, 1, 9, 0, tzinfo=UTC)}
    monkeypatch.setattr(attempts, "utcnow", lambda: clock["now"])

    def at(seconds):
        clock["now"] = datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=seconds)

    url = start(signed_in)
    at(10)
    signed_in.get(url)  # the first decision is shown
    at(14)
    take(signed_in, url, 0, "interpreter", "Because she is at risk.")
    at(15)
    signed_in.get(f"{url}/feedback/1")
    at(60)  # a long read of the feedback
    signed_in.get(url)
    signed_in.get(url)  # a reload does not restart the clock
    at(63)
    take(signed_in, url, 1, "continue")
    with app.app_context():
        progress = attempts.progress_of(db.session.get(Attempt, attempt_id(url)))
        assert [s.elapsed_ms for s in progress.steps] == [4_000, 3_000]


def test_a_forged_post_is_still_refused_under_shuffling(signed_in):
    """Order changes nothing about what is offered: an unoffered id records nothing."""
    url = start(signed_in)
    response = post(signed_in, url, {"step": "0", "choice": "reassure"})
    assert response.status_code == 303
    page = signed_in.get(url).get_data(as_text=True)
    assert "That option is not available at this point" in page
