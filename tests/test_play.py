"""The trainee's way through: catalogue, briefing, play, feedback and debrief."""

import re

import pytest
from helpers import (
    BEST_PATH,
    CHECK_PATH,
    SHARING_PATH,
    csrf_token,
    doorstep,
    gen_user,
    play_through,
    post,
    queries_for,
    queries_in,
    sign_in,
    signed_in_trainee,
    start,
    take,
    text_of,
    write_scenario,
)


class TestCatalogue:
    def test_lists_offered_scenarios(self, signed_in):
        """The catalogue shows each scenario's title, summary, time, audience and status."""
        page = text_of(signed_in.get("/"))
        assert "A call to a flat" in page
        assert "has no papers" in page
        assert "About 5 minutes" in page
        assert "Recruits, Continuing professional development" in page
        assert "Not started" in page

    def test_in_progress_offers_resume(self, signed_in):
        """An attempt in progress can be resumed from the catalogue."""
        url = start(signed_in)
        page = text_of(signed_in.get("/"))
        assert "In progress" in page
        assert f'href="{url}"' in page and "Resume" in page

    @pytest.mark.parametrize(("path", "tag"), [(BEST_PATH, "Passed"), (CHECK_PATH, "Not passed")])
    def test_best_result(self, signed_in, path, tag):
        """A finished attempt shows as the best result."""
        play_through(signed_in, start(signed_in), path)
        page = text_of(signed_in.get("/"))
        assert "Best result:" in page and f">{tag}</strong>" in page

    def test_best_of_several(self, signed_in):
        """A pass beats an earlier failure."""
        play_through(signed_in, start(signed_in), CHECK_PATH)
        play_through(signed_in, start(signed_in, number=2), BEST_PATH)
        assert ">Passed</strong>" in text_of(signed_in.get("/"))

    def test_empty_library(self, tmp_path, make_app):
        """With no scenario published the catalogue says so."""
        empty = tmp_path / "empty"
        empty.mkdir()
        app = make_app(SCENARIOS_DIR=str(empty))
        gen_user(app)
        client = app.test_client()
        sign_in(client)
        assert "No scenarios are available yet" in text_of(client.get("/"))

    def test_own_attempts_only(self, app, client, signed_in):
        """Another trainee's progress does not show as mine."""
        start(signed_in)
        gen_user(app, "other")
        other = app.test_client()
        sign_in(other, "other")
        assert "Not started" in text_of(other.get("/"))


class TestBriefing:
    def test_briefing(self, signed_in):
        """The briefing gives objectives, time, a content note, scoring and Start."""
        page = text_of(signed_in.get("/scenarios/doorstep"))
        assert "Keep the victim safe and hear her account" in page
        assert "About 5 minutes" in page
        assert "Content note" in page and "domestic abuse" in page
        assert "fails the scenario" in page
        assert "Victim safety: you need at least 50% to pass" in page
        assert 'name="number" value="1"' in page and "Start" in page

    def test_content_note_is_said_once(self, scenarios_dir, make_app):
        """A scenario that carries its content note in its summary and as its first
        objective shows it once on the briefing, in the content note's own box."""
        note = "Content note: this scenario describes domestic abuse and threats."
        noted = doorstep().replace(
            'summary: A neighbour hears shouting; the caller says the woman "has no papers".',
            "summary: >-\n  A neighbour hears shouting. Content note: domestic abuse and threats.",
        )
        noted = noted.replace("objectives:\n", f'objectives:\n  - "{note}"\n')
        write_scenario(scenarios_dir, text=noted)
        page = text_of(signed_in_trainee(make_app).get("/scenarios/doorstep"))
        assert page.count("Content note") == 1
        assert "this scenario describes domestic abuse and threats." in page
        assert "Keep the victim safe and hear her account" in page

    def test_practice_content_note_says_progress_is_saved(self, signed_in):
        """Practice can be left and picked up later, and its content note says so."""
        page = text_of(signed_in.get("/scenarios/doorstep"))
        assert "you can stop at any time and come back later: your progress is saved" in page

    def test_unknown_scenario(self, signed_in):
        """A scenario that is not offered is not found."""
        assert signed_in.get("/scenarios/nothing-here").status_code == 404

    def test_in_progress_resumes(self, signed_in):
        """With an attempt in progress the briefing offers Resume, not Start."""
        url = start(signed_in)
        page = text_of(signed_in.get("/scenarios/doorstep"))
        assert f'href="{url}"' in page and 'name="number"' not in page


class TestProgress:
    def test_a_choice_that_ends_at_once_sets_no_lower_count(self, scenarios_dir, make_app):
        """Where one choice ends the scenario straight away, the progress line gives the most
        steps left, which only falls as the trainee goes on, not a range whose lower end
        (1, for the choice that ends it) would jump up at the next step."""
        leave = (
            "      - id: leave\n"
            "        text: Leave.\n"
            "        next: unsafe\n"
            "        feedback: She is left alone with him.\n"
        )
        write_scenario(
            scenarios_dir, text=doorstep().replace("    choices:\n", "    choices:\n" + leave, 1)
        )
        client = signed_in_trainee(make_app)
        url = start(client)
        first = text_of(client.get(url))
        assert "Up to 3 steps to go, counting this one. It may end sooner" in first
        take(client, url, 0, "interpreter", "Because.")
        assert "2 steps to go, counting this one." in text_of(client.get(url))


class TestStart:
    def test_start_creates_attempt(self, signed_in):
        """Start begins an attempt and shows its first node."""
        url = start(signed_in)
        assert re.fullmatch(r"/attempts/\d+", url)
        assert "opens the door" in text_of(signed_in.get(url))

    def test_double_start_makes_one_attempt(self, app, signed_in):
        """Pressing Start twice begins exactly one attempt."""
        first = start(signed_in)
        again = post(signed_in, "/scenarios/doorstep/attempts", {"number": "1"})
        assert again.headers["Location"] == first
        assert "already" in text_of(signed_in.get(first))
        assert attempt_count(app) == 1

    def test_stale_number_starts_nothing(self, app, signed_in):
        """A Start form from an old page begins nothing."""
        play_through(signed_in, start(signed_in), BEST_PATH)
        response = post(signed_in, "/scenarios/doorstep/attempts", {"number": "1"})
        assert response.status_code == 303
        assert attempt_count(app) == 1

    def test_missing_number_starts_nothing(self, app, signed_in):
        """A forged Start without its number begins nothing."""
        post(signed_in, "/scenarios/doorstep/attempts", {})
        assert attempt_count(app) == 0

    def test_start_that_loses_a_race_leads_to_the_new_attempt(self, app, signed_in, monkeypatch):
        """A Start beaten by a simultaneous Start leads to the attempt that one began."""
        from flask import g

        from simulator import attempts, library

        play_through(signed_in, start(signed_in), BEST_PATH)
        counted = attempts.next_attempt_number

        def other_start_commits_first(user_id, key, assignment_id=None):
            # The other press commits attempt 2 after this one has read the person's attempts.
            monkeypatch.setattr(attempts, "next_attempt_number", counted)
            attempts.start_attempt(g.user, library.offered_version(key), 2)
            return counted(user_id, key, assignment_id)

        monkeypatch.setattr(attempts, "next_attempt_number", other_start_commits_first)
        response = post(signed_in, "/scenarios/doorstep/attempts", {"number": "2"})
        assert response.status_code == 303
        assert response.headers["Location"] == f"/attempts/{newest_attempt_id(app)}"
        assert attempt_count(app) == 2

    def test_try_again(self, app, signed_in):
        """After finishing, Try again begins a second attempt."""
        play_through(signed_in, start(signed_in), BEST_PATH)
        second = start(signed_in, number=2)
        assert "opens the door" in text_of(signed_in.get(second))
        assert attempt_count(app) == 2


def newest_attempt_id(app):
    """Return the id of the attempt stored last."""
    from sqlmodel import func, select

    from simulator.db import db
    from simulator.models import Attempt

    with app.app_context():
        return db.session.exec(select(func.max(Attempt.id))).one()


def attempt_count(app):
    """Return how many attempts are stored."""
    from sqlmodel import func, select

    from simulator.db import db
    from simulator.models import Attempt

    with app.app_context():
        return db.session.exec(select(func.count()).select_from(Attempt)).one()


def step_count(app):
    """Return how many steps are stored."""
    from sqlmodel import func, select

    from simulator.db import db
    from simulator.models import AttemptStep

    with app.app_context():
        return db.session.exec(select(func.count()).select_from(AttemptStep)).one()


class TestPlay:
    def test_decision_screen(self, signed_in):
        """A decision shows its text, speaker, one radio group, a rationale box and Continue."""
        page = text_of(signed_in.get(start(signed_in)))
        assert "Control room:" in page
        assert "Amina opens the door. Her first language is <strong>Somali</strong>." in page
        assert page.count('type="radio"') == 2
        assert "<legend" in page and "What do you do?" in page
        assert 'aria-describedby="node-text"' in page
        assert "Why did you choose this? (optional)" in page
        assert 'name="step" value="0"' in page

    def test_step_screen(self, signed_in):
        """A step shows its text and just Continue."""
        url = start(signed_in)
        take(signed_in, url, 0, "interpreter")
        page = text_of(signed_in.get(url))
        assert "You step into the hallway." in page
        assert 'type="radio"' not in page and "Why did you choose" not in page
        assert 'name="choice" value="continue"' in page

    def test_step_leads_on_without_feedback(self, signed_in):
        """Continue on a step goes straight to the next node."""
        url = start(signed_in)
        take(signed_in, url, 0, "interpreter")
        response = take(signed_in, url, 1, "continue")
        assert response.headers["Location"] == url

    def test_required_rationale(self, app, signed_in):
        """A required rationale left empty gets an error summary and records nothing."""
        url = start(signed_in)
        play_through(signed_in, url, ["interpreter", "continue"])
        response = take(signed_in, url, 2, "reassure", "   ")
        page = text_of(response)
        assert response.status_code == 422
        assert "govuk-error-summary" in page and 'href="#rationale"' in page
        assert "Write down why you chose this" in page
        assert 'value="reassure" checked' in page
        assert step_count(app) == 2

    def test_no_choice(self, app, signed_in):
        """Continue without a choice asks for one and records nothing."""
        url = start(signed_in)
        response = take(signed_in, url, 0, "")
        assert response.status_code == 422
        assert 'href="#choice"' in text_of(response) and "Select what you would do" in text_of(
            response
        )
        assert step_count(app) == 0

    def test_rationale_too_long(self, app, signed_in):
        """An over-long rationale is refused with the limit, keeping what was typed."""
        url = start(signed_in)
        response = take(signed_in, url, 0, "interpreter", "x" * 5001)
        assert response.status_code == 422
        assert "5,000 characters or fewer" in text_of(response)
        assert step_count(app) == 0

    def test_rationale_kept(self, app, signed_in):
        """The rationale written is stored with the step."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH, rationale="  She needs to talk freely.  ")
        debrief = text_of(signed_in.get(url + "/debrief"))
        assert "She needs to talk freely." in debrief

    @pytest.mark.parametrize("choice", ["bogus", "refer-later", "continue"])
    def test_forged_choice(self, app, signed_in, choice):
        """A choice that is not offered records nothing and says so."""
        url = start(signed_in)
        response = take(signed_in, url, 0, choice)
        assert response.status_code == 303 and response.headers["Location"] == url
        assert "not available at this point" in text_of(signed_in.get(url))
        assert step_count(app) == 0

    def test_choice_hidden_by_condition_is_forged(self, app, signed_in):
        """A choice whose condition fails is not offered, so posting it records nothing."""
        url = start(signed_in)
        play_through(signed_in, url, ["check-status", "continue"])
        assert "pass her details to the Home Office" not in text_of(signed_in.get(url))
        take(signed_in, url, 2, "refer", "why")
        assert step_count(app) == 2

    @pytest.mark.parametrize("step", ["1", "-1", "abc", "", "0.0"])
    def test_wrong_step_number(self, app, signed_in, step):
        """A post carrying any but the next step number records nothing."""
        url = start(signed_in)
        response = post(signed_in, url, {"step": step, "choice": "interpreter"})
        assert response.status_code == 303
        assert "already recorded" in text_of(signed_in.get(url))
        assert step_count(app) == 0

    def test_double_click_records_once(self, app, signed_in):
        """The same step posted twice is recorded once; the repeat shows its feedback."""
        url = start(signed_in)
        first = take(signed_in, url, 0, "interpreter")
        second = take(signed_in, url, 0, "interpreter")
        assert second.headers["Location"] == first.headers["Location"]
        assert step_count(app) == 1

    def test_back_button_cannot_change_an_answer(self, app, signed_in):
        """Answering an old screen again changes nothing."""
        url = start(signed_in)
        play_through(signed_in, url, ["interpreter", "continue"])
        take(signed_in, url, 0, "check-status")
        page = text_of(signed_in.get(url + "/debrief", follow_redirects=True))
        assert "threatens to have her deported" in page
        assert step_count(app) == 2

    def test_someone_elses_attempt(self, app, signed_in):
        """Another person's attempt cannot be seen or played."""
        url = start(signed_in)
        gen_user(app, "other")
        other = app.test_client()
        sign_in(other, "other")
        assert other.get(url).status_code == 404
        assert take(other, url, 0, "interpreter").status_code == 404
        assert other.get(url + "/debrief").status_code == 404
        assert other.get(url + "/feedback/1").status_code == 404
        assert step_count(app) == 0

    def test_missing_attempt(self, signed_in):
        """An attempt that does not exist is not found."""
        assert signed_in.get("/attempts/999999").status_code == 404

    def test_post_after_finishing(self, app, signed_in):
        """A step posted to a finished attempt records nothing and shows the debrief."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH)
        response = take(signed_in, url, 3, "reassure", "x")
        assert response.headers["Location"] == url + "/debrief"
        assert step_count(app) == 3

    def test_finished_attempt_shows_debrief(self, signed_in):
        """Opening a finished attempt goes to its debrief."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH)
        assert signed_in.get(url).headers["Location"] == url + "/debrief"


class TestFeedback:
    def test_feedback_after_decision(self, signed_in):
        """After a decision the trainee sees whether it was good and why."""
        url = start(signed_in)
        response = take(signed_in, url, 0, "interpreter")
        assert response.headers["Location"] == url + "/feedback/1"
        page = text_of(signed_in.get(url + "/feedback/1"))
        assert "A good choice" in page
        assert "A professional interpreter lets Amina speak freely." in page
        assert f'href="{url}"' in page and "Continue" in page

    def test_feedback_cites_references(self, signed_in):
        """Feedback on an inappropriate share is critical and cites its guidance."""
        url = start(signed_in)
        take(signed_in, url, 0, "check-status")
        page = text_of(signed_in.get(url + "/feedback/1"))
        assert "shared immigration information inappropriately" in page
        assert "Stop sharing where there are only doubts about status" in page
        assert "https://example.org/safe-to-share" in page
        assert "Safe to share? (2020), recommendation 1" in page

    def test_last_feedback_leads_to_debrief(self, signed_in):
        """Feedback on the final decision leads to the debrief."""
        url = start(signed_in)
        response = play_through(signed_in, url, BEST_PATH)
        page = text_of(signed_in.get(response.headers["Location"]))
        assert f'href="{url}/debrief"' in page and "See your debrief" in page

    def test_no_feedback_for_a_step(self, signed_in):
        """A step has no feedback page."""
        url = start(signed_in)
        play_through(signed_in, url, ["interpreter", "continue"])
        assert signed_in.get(url + "/feedback/2").headers["Location"] == url

    @pytest.mark.parametrize("number", [0, 2, 99])
    def test_feedback_out_of_range(self, signed_in, number):
        """Feedback for a step not yet taken is not found."""
        url = start(signed_in)
        take(signed_in, url, 0, "interpreter")
        assert signed_in.get(f"{url}/feedback/{number}").status_code == 404


class TestDebrief:
    def test_critical_errors_are_headed_once(self, scenarios_dir, make_app):
        """The critical errors section has one heading, not a banner titled the same below it."""
        promise = (
            "      - id: promise\n"
            "        text: Promise her that nothing she says will ever be shared with anyone.\n"
            "        next: safe\n"
            "        critical: true\n"
            "        feedback: That promise is untrue, and she may rely on it.\n"
        )
        text = doorstep().replace("      - id: refer\n", promise + "      - id: refer\n", 1)
        write_scenario(scenarios_dir, text=text)
        client = signed_in_trainee(make_app)
        url = start(client)
        play_through(client, url, ["interpreter", "continue", "promise"])
        page = text_of(client.get(f"{url}/debrief"))
        assert "That promise is untrue" in page
        assert page.count(">Critical error") == 1

    def test_not_before_the_end(self, signed_in):
        """The debrief waits until the attempt ends."""
        url = start(signed_in)
        assert signed_in.get(url + "/debrief").headers["Location"] == url

    def test_passed(self, signed_in):
        """A safe, well-scored path passes, with every score shown."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH)
        page = text_of(signed_in.get(url + "/debrief"))
        assert "Victim safeguarded" in page
        assert "You did not share anyone’s immigration information inappropriately" in page
        assert "3 points (range" in page and "100%" in page and "50%" in page
        assert "Nothing stands out: every decision was a good one." in page
        assert "She agrees to a referral to a specialist service." in page
        assert "Try again" in page and 'name="number" value="2"' in page

    def test_sharing_failure_comes_first(self, signed_in):
        """A failed sharing criterion heads the debrief with the choice that failed it."""
        url = start(signed_in)
        play_through(signed_in, url, SHARING_PATH)
        page = text_of(signed_in.get(url + "/debrief"))
        failed = page.index("Critical criterion not met")
        assert failed < page.index("Your scores") < page.index("Your decisions")
        assert "Tell her you will have to pass her details to the Home Office." in page[failed:]
        assert "Not passed" in page
        assert "She closes the door." in page and "Victim withdraws" in page

    def test_decision_log_tells_the_story_in_order(self, signed_in):
        """The log lists decisions in the order taken, each tagged with its NDM stage,
        every option with its verdict, and steps left out."""
        url = start(signed_in)
        play_through(signed_in, url, CHECK_PATH, rationale="I wanted to be sure.")
        page = text_of(signed_in.get(url + "/debrief"))
        log = page[page.index("Your decisions") :]
        first, second = log.index("Decision 1"), log.index("Decision 2")
        assert first < log.index("Gather information and intelligence") < second
        assert second < log.index("Assess threat and risk")
        assert "Run her name through immigration systems" in log[first:second]
        assert "Decision 3" not in log and "You step into the hallway" not in page
        assert "The other options" in log and "Arrange a professional Somali interpreter" in log
        assert "A good choice" in log[first:second]  # the interpreter, which was not taken
        assert "I wanted to be sure." in log
        assert "Time taken:" in log
        assert "Doubts about status are no reason to check or share it." in log

    def test_grouped_by_stage_on_request(self, signed_in):
        """?view=stage groups the log under the model's stage headings."""
        url = start(signed_in)
        play_through(signed_in, url, CHECK_PATH)
        page = text_of(signed_in.get(url + "/debrief?view=stage"))
        log = page[page.index("Your decisions") :]
        information = log.index("Gather information and intelligence")
        assert information < log.index("Decision 1") < log.index("Assess threat and risk")
        assert "Show them in the order you took them" in log

    def test_what_to_work_on_names_the_better_option(self, signed_in):
        """The costliest decisions come first, each with the better option and why."""
        url = start(signed_in)
        play_through(signed_in, url, CHECK_PATH)
        page = text_of(signed_in.get(url + "/debrief"))
        section = page[page.index("What to work on") : page.index("Your scores")]
        assert "This choice shared immigration information inappropriately" in section
        assert "A better option:" in section
        assert "Arrange a professional Somali interpreter" in section
        assert "A professional interpreter lets Amina speak freely." in section

    def test_good_decisions_are_folded_and_reasons_shown_only_where_asked(
        self, scenarios_dir, make_app
    ):
        """A good decision sits in a closed details element; no empty reason is shown
        for a decision that asked for none."""
        write_scenario(scenarios_dir, text=doorstep().replace("    rationale: required\n", ""))
        client = signed_in_trainee(make_app)
        url = start(client)
        play_through(client, url, BEST_PATH, rationale="")
        page = text_of(client.get(url + "/debrief"))
        log = page[page.index("Your decisions") :]
        assert log.count(". A good choice:") == 2
        assert log.count("Your reason:") == 1  # only the first decision asks for one
        assert "None written." in log

    def test_score_table_says_where_points_were_lost(self, signed_in):
        """Each dimension names the decisions that scored below the best option there."""
        url = start(signed_in)
        play_through(signed_in, url, CHECK_PATH)
        page = text_of(signed_in.get(url + "/debrief"))
        table = page[page.index("Your scores") : page.index("What happened next")]
        assert 'href="#decision-1">decision 1</a> (2 points)' in table

    def test_no_try_again_when_withdrawn(self, signed_in, make_app):
        """Once a scenario is retired its debrief still shows, without Try again."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH)
        admin = make_app().test_client()
        gen_user(make_app(), "admin", "admin")
        sign_in(admin, "admin")
        post(admin, "/library/scenarios/doorstep/retire", token_from="/library")
        page = text_of(signed_in.get(url + "/debrief"))
        assert "Victim safeguarded" in page and "Try again" not in page


class TestStatements:
    """The play path's statements per request, beside the session store's (see queries_in)."""

    def step_statements(self, app, client, url, step, choice):
        """Post one step with a token fetched beforehand; return its statements."""
        form = {"step": str(step), "choice": choice, "csrf_token": csrf_token(client)}
        count, response = queries_in(app, lambda: client.post(url, data=form))
        assert response.status_code == 303
        return count

    def test_briefing_and_start(self, app, signed_in):
        """The briefing reads the version, then the person's attempts with the number the
        next will carry, in one statement; Start reads the same two, then writes the
        attempt and its outbox row. A preview of the trainer's would count towards the
        number, so the one statement reads every attempt and leaves previews out."""
        first = start(signed_in)
        play_through(signed_in, first, BEST_PATH)
        count = queries_for(app, signed_in, "/scenarios/doorstep")
        assert count == 2
        form = {"number": "2", "csrf_token": csrf_token(signed_in)}
        count, response = queries_in(
            app, lambda: signed_in.post("/scenarios/doorstep/attempts", data=form)
        )
        assert response.status_code == 303 and count == 4
        assert text_of(signed_in.get("/scenarios/doorstep")).count("Attempt 2") >= 1

    def test_node(self, app, signed_in):
        """Showing a node reads the attempt with its version and its log in one statement,
        and marks it shown: two statements, however long the log, with no reload after the
        mark. (The person comes with the session, in the session store's one statement.)"""
        url = start(signed_in)
        first, response = queries_in(app, lambda: signed_in.get(url))
        assert response.status_code == 200 and first == 2
        play_through(signed_in, url, ["interpreter", "continue"])
        later, response = queries_in(app, lambda: signed_in.get(url))
        assert response.status_code == 200 and later == 2

    def test_node_shown_again(self, app, signed_in):
        """Showing a node again only reads: one statement."""
        url = start(signed_in)
        signed_in.get(url)
        count, response = queries_in(app, lambda: signed_in.get(url))
        assert response.status_code == 200 and count == 1

    def writes(self, app, sqlite):
        """Return the statements a step's writes take: one on PostgreSQL (its writes in one
        WITH), `sqlite` on SQLite (one each)."""
        from simulator.db import db

        with app.app_context():
            return 1 if db.engine.dialect.name == "postgresql" else sqlite

    def test_step(self, app, signed_in):
        """Recording a step reads the attempt with its version and its log in one
        statement, then writes the step and the attempt (one statement on PostgreSQL, two
        on SQLite), and does not reload after the commit."""
        url = start(signed_in)
        play_through(signed_in, url, ["interpreter"])
        writes = self.writes(app, 2)
        assert self.step_statements(app, signed_in, url, 1, "continue") == 1 + writes

    def test_decision(self, app, signed_in):
        """A decision also writes its statement to the outbox (with the step on PostgreSQL,
        a third write on SQLite); the installation's namespace is read once, by the first
        decision, and then kept."""
        url = start(signed_in)
        writes = self.writes(app, 3)
        assert self.step_statements(app, signed_in, url, 0, "interpreter") == 2 + writes
        take(signed_in, url, 1, "continue")
        assert take(signed_in, url, 2, "reassure", "She is at risk.").status_code == 303
        again = start(signed_in, number=2)
        assert self.step_statements(app, signed_in, again, 0, "interpreter") == 1 + writes

    def test_step_answered_in_place_for_htmx(self, app, signed_in):
        """htmx's step is answered with what follows, from the rows the step already has:
        feedback reads nothing more (the decision's statements alone), and the next node
        is marked shown with the step, in its one commit (the step's statements)."""
        htmx = {"HX-Request": "true"}
        url = start(signed_in)
        form = {"step": "0", "choice": "interpreter", "csrf_token": csrf_token(signed_in)}
        count, response = queries_in(app, lambda: signed_in.post(url, data=form, headers=htmx))
        assert response.status_code == 200 and "A good choice" in response.get_data(as_text=True)
        assert count == 2 + self.writes(app, 3)  # the namespace's read is the 2nd
        form = {"step": "1", "choice": "continue", "csrf_token": csrf_token(signed_in)}
        count, response = queries_in(app, lambda: signed_in.post(url, data=form, headers=htmx))
        assert response.status_code == 200 and 'name="step" value="2"' in response.get_data(
            as_text=True
        )
        assert count == 1 + self.writes(app, 2)

    def test_one_connection(self, app, signed_in):
        """The session store reads in the request's own transaction: one connection from
        the pool for the whole request."""
        from sqlalchemy import event

        from simulator.db import db

        url = start(signed_in)
        with app.app_context():
            pool = db.engine.pool
        checkouts = []

        def checked_out(*_args):
            checkouts.append(1)

        event.listen(pool, "checkout", checked_out)
        try:
            assert signed_in.get(url).status_code == 200
        finally:
            event.remove(pool, "checkout", checked_out)
        assert len(checkouts) == 1

    def test_no_request_reads_a_versions_bytes_or_map(self, app, signed_in):
        """Once the version is parsed, play never reads its file (tens of KB) or its map
        again: the catalogue, the briefing, the node, a step, feedback and the debrief."""
        from sqlalchemy import event

        from simulator.db import db

        url = start(signed_in)  # the first request parses the version, reading its bytes
        with app.app_context():
            engine = db.engine
        seen = []

        def statement(_connection, _cursor, text, *_args):
            if "scenario_versions" in text:
                seen.append(text)

        event.listen(engine, "before_cursor_execute", statement)
        try:
            for page in ("/", "/scenarios/doorstep", url):
                assert signed_in.get(page).status_code == 200
            take(signed_in, url, 0, "interpreter")
            assert signed_in.get(url + "/feedback/1").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", statement)
        assert seen, "the pages read the version's row"
        assert not [text for text in seen if "source" in text or "map_svg" in text]

    def test_start_answered_in_place_for_htmx(self, app, signed_in):
        """htmx's Start brings the first node with the statements of a Start alone (see
        test_briefing_and_start): the node is marked shown with the attempt's insert, and
        shown from what Start has."""
        play_through(signed_in, start(signed_in), BEST_PATH)
        form = {"number": "2", "csrf_token": csrf_token(signed_in)}
        count, response = queries_in(
            app,
            lambda: signed_in.post(
                "/scenarios/doorstep/attempts", data=form, headers={"HX-Request": "true"}
            ),
        )
        assert response.status_code == 200 and "What do you do?" in response.get_data(True)
        assert count == 4

    def test_debrief(self, app, signed_in):
        """A practice debrief reads the attempt with its version and its log, then the
        number Try again would start and whether the scenario is still offered: two
        statements."""
        url = start(signed_in)
        play_through(signed_in, url, BEST_PATH)
        count, response = queries_in(app, lambda: signed_in.get(url + "/debrief"))
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and count == 2
        assert 'name="number" value="2"' in page and "Try again" in page

    def test_feedback(self, app, signed_in):
        """Feedback reads the attempt with its version and its log: one statement."""
        url = start(signed_in)
        take(signed_in, url, 0, "interpreter")
        count, response = queries_in(app, lambda: signed_in.get(url + "/feedback/1"))
        assert response.status_code == 200 and count == 1


def test_cast_values_are_literal(make_app, scenarios_dir):
    """Cast values are shown as typed, never as Markdown or HTML."""
    write_scenario(
        scenarios_dir,
        text=doorstep(victim='"<script>alert(1)</script> *Amina* [x](https://e.example)"'),
    )
    client = signed_in_trainee(make_app)
    page = text_of(client.get(start(client)))
    assert "<script>alert" not in page
    shown = "&lt;script&gt;alert(1)&lt;/script&gt; *Amina* [x](https://e.example) opens the door"
    assert shown in page
