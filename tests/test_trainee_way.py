"""A trainee's way through without rough edges: attempts, resume, controls, catalogue order."""

import re

from helpers import (
    BEST_PATH,
    attempt_id,
    doorstep,
    gen_user,
    play_through,
    post,
    sign_in,
    signed_in_trainee,
    start,
    take,
    text_of,
    write_scenario,
)
from sqlmodel import select

from simulator.db import db
from simulator.models import Attempt, AttemptStep


def test_abandoning_lets_a_new_attempt_start(app, signed_in):
    """An abandoned practice attempt stops counting, and Start begins attempt 2."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", "Because.")
    response = post(signed_in, f"{url}/abandon")
    assert response.status_code == 303 and response.headers["Location"] == "/scenarios/doorstep"
    page = text_of(signed_in.get("/scenarios/doorstep"))
    assert "You abandoned that attempt" in page and "Abandoned" in page
    assert 'name="number" value="2"' in page
    second = start(signed_in, number=2)
    assert attempt_id(second) != attempt_id(url)


def test_an_abandoned_attempt_records_nothing_more(app, signed_in):
    """A step posted to an abandoned attempt is refused, with a notice, and not recorded."""
    url = start(signed_in)
    post(signed_in, f"{url}/abandon")
    response = take(signed_in, url, 0, "interpreter", "Because.")
    assert response.status_code == 303
    assert "was abandoned, so nothing was recorded" in text_of(
        signed_in.get(response.headers["Location"])
    )
    assert signed_in.get(url).status_code == 303
    with app.app_context():
        steps = db.session.exec(
            select(AttemptStep).where(AttemptStep.attempt_id == attempt_id(url))
        ).all()
        assert steps == []


def test_abandon_needs_the_form_token(signed_in):
    """A forged abandon without the CSRF token is refused."""
    url = start(signed_in)
    assert signed_in.post(f"{url}/abandon").status_code == 400
    assert "Resume" in text_of(signed_in.get("/scenarios/doorstep"))


def test_a_finished_attempt_cannot_be_abandoned(app, signed_in):
    """Abandon does nothing to a finished attempt."""
    url = start(signed_in)
    play_through(signed_in, url, BEST_PATH)
    post(signed_in, f"{url}/abandon")
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id(url))
        assert attempt.abandoned_at is None and attempt.passed


def test_someone_elses_attempt_cannot_be_abandoned(app, signed_in, client):
    """Another person's attempt is not found."""
    url = start(signed_in)
    gen_user(app, "other")
    other = app.test_client()
    sign_in(other, "other")
    assert post(other, f"{url}/abandon").status_code == 404


def test_resume_returns_to_feedback_left_unread(signed_in):
    """Leaving on a feedback page, Resume goes back to that feedback; once read, onwards."""
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", "Because.")
    catalogue = text_of(signed_in.get("/"))
    assert f'href="{url}/feedback/1"' in catalogue
    signed_in.get(url)  # Continue: the next node is shown
    assert f'href="{url}"' in text_of(signed_in.get("/"))


def test_history_lists_every_attempt_newest_first(signed_in):
    """The briefing lists past attempts with their result, grade and a link to each debrief."""
    first = start(signed_in)
    play_through(signed_in, first, BEST_PATH)
    second = start(signed_in, number=2)
    post(signed_in, f"{second}/abandon")
    page = text_of(signed_in.get("/scenarios/doorstep"))
    history = page[page.index("Your attempts") :]
    assert history.index("Attempt 2") < history.index("Attempt 1")
    assert f'href="{first}/debrief"' in history and "100%" in history
    assert "Abandoned" in history and "Passed" in history


def test_a_good_choice_with_nothing_to_say_goes_straight_on(scenarios_dir, make_app):
    """A good choice without feedback skips the feedback page."""
    text = doorstep().replace(
        "        feedback: A professional interpreter lets {victim} speak freely.\n", ""
    )
    write_scenario(scenarios_dir, text=text)
    client = signed_in_trainee(make_app)
    url = start(client)
    response = take(client, url, 0, "interpreter", "Because.")
    assert response.headers["Location"] == url


def test_link_buttons_are_buttons_to_assistive_technology(signed_in):
    """Continue, Resume and Read the briefing are links with role=button (GOV.UK's macro)."""
    catalogue = text_of(signed_in.get("/"))
    assert re.search(r'<a href="/scenarios/doorstep" role="button" draggable="false"', catalogue)
    url = start(signed_in)
    take(signed_in, url, 0, "interpreter", "Because.")
    feedback = text_of(signed_in.get(f"{url}/feedback/1"))
    assert re.search(rf'<a href="{url}" role="button" draggable="false"', feedback)


def test_reason_box_counts_characters_to_its_limit(signed_in):
    """The reason box says how many characters it takes, through GOV.UK's character count."""
    page = text_of(signed_in.get(start(signed_in)))
    assert 'data-module="govuk-character-count"' in page and 'data-maxlength="5000"' in page
    assert "You can enter up to 5000 characters" in page


def test_play_says_how_far_there_is_to_go(signed_in):
    """The play page says how many steps remain, counting this one."""
    page = text_of(signed_in.get(start(signed_in)))
    assert "3 steps to go, counting this one." in page


def test_feedback_restates_the_question_and_the_options(signed_in):
    """Feedback shows the question asked and every option offered, each with its verdict."""
    url = start(signed_in)
    take(signed_in, url, 0, "check-status", "Because.")
    page = text_of(signed_in.get(f"{url}/feedback/1"))
    assert "opens the door. Her first language is" in page
    assert "Arrange a professional Somali interpreter" in page and "A good choice" in page
    assert "decision 1, step 1" in page


def test_briefing_back_link_is_inside_main(signed_in):
    """The briefing's back link sits in the main landmark."""
    page = text_of(signed_in.get("/scenarios/doorstep"))
    assert page.index('id="main-content"') < page.index("govuk-back-link")


def test_catalogue_brings_in_progress_first_then_titles_by_their_letters(scenarios_dir, make_app):
    """In-progress scenarios come first; the rest sort by title, a leading quote ignored."""
    write_scenario(scenarios_dir, "c.yaml", doorstep(id="charlie", title="Charlie door"))
    write_scenario(scenarios_dir, "q.yaml", doorstep(id="quoted", title="'\"Bravo\" door'"))
    write_scenario(scenarios_dir, "z.yaml", doorstep(id="zulu", title="Zulu door"))
    client = signed_in_trainee(make_app)
    start(client, key="zulu")
    page = text_of(client.get("/"))
    order = [
        page.index(t)
        for t in ("Zulu door", "A call to a flat", "&#34;Bravo&#34; door", "Charlie door")
    ]
    assert order == sorted(order)
