"""xAPI statements from plain data: valid by ralph's models, zoned, derived ids, no names."""

import ast
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from ralph.models.xapi.base.statements import BaseXapiStatement
from ralph.models.xapi.base.unnested_objects import BaseXapiActivityInteractionDefinition
from ralph.models.xapi.concepts.activity_types.scorm_profile import (
    CourseActivity,
    ProfileActivity,
)
from ralph.models.xapi.concepts.verbs.adl_vocabulary import AnsweredVerb
from ralph.models.xapi.concepts.verbs.scorm_profile import (
    CompletedVerb,
    InitializedVerb,
    TerminatedVerb,
)

from simulator import xapi

SITE = xapi.Site(
    uuid.UUID("5b0c4c55-3f53-4e43-9d5f-8c9b6f1f2a10"), "https://str.example.police.uk"
)
BEGAN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SITTING = xapi.Sitting(
    attempt_id=41,
    user_id=7,
    number=2,
    mode="assessment",
    scenario_key="doorstep",
    title="A call to a flat",
    version=3,
    digest="ab" * 32,
    started_at=BEGAN,
    cohort_id=5,
    assignment_id=9,
)
PRACTICE = xapi.Sitting(41, 7, 1, "practice", "doorstep", "A call to a flat", 1, "cd" * 32, BEGAN)
DECISION = xapi.Decision(
    step_number=0,
    node_id="arrival",
    shown=(("check-status", "Run her name through..."), ("interpreter", "Arrange a Somali...")),
    choice_id="interpreter",
    recorded_at=BEGAN + timedelta(seconds=42, milliseconds=250),
    elapsed_ms=42_250,
    points={"safeguarding": 2},
    verdict="good",
)
PASSED = xapi.Outcome(
    finished_at=BEGAN + timedelta(minutes=3),
    ending="safe",
    passed=True,
    grade=67,
    dimensions={"safeguarding": 67},
    sharing_passed=True,
    critical_errors=0,
)
TIMED_OUT = xapi.Outcome(
    BEGAN + timedelta(minutes=30), None, False, 0, closed="Time ran out before an ending."
)
IS_VERB = {
    "initialized": InitializedVerb,
    "answered": AnsweredVerb,
    "completed": CompletedVerb,
    "terminated": TerminatedVerb,
}


def every_statement(sitting=SITTING):
    """Return one statement of every kind the app makes, for one attempt."""
    return [
        xapi.started(SITE, sitting),
        xapi.answered(SITE, sitting, DECISION),
        *xapi.ended(SITE, sitting, PASSED),
        *xapi.ended(SITE, sitting, TIMED_OUT),
        xapi.abandoned(SITE, sitting, BEGAN + timedelta(minutes=5)),
        xapi.abandoned(SITE, sitting, BEGAN + timedelta(minutes=30), "Not counted."),
    ]


def verb_of(statement):
    """Return the last word of a statement's verb."""
    return statement["verb"]["id"].rsplit("/", 1)[-1]


@pytest.mark.parametrize("made", every_statement() + every_statement(PRACTICE), ids=verb_of)
def test_every_statement_is_valid_xapi(made):
    """Each statement passes ralph's xAPI statement model, as JSON would carry it."""
    BaseXapiStatement.model_validate(json.loads(json.dumps(made)))


@pytest.mark.parametrize("made", every_statement(), ids=verb_of)
def test_verbs_are_the_profiles(made):
    """The ADL verbs are the ones ralph knows by their IRIs; the others are cmi5's."""
    name = verb_of(made)
    assert made["verb"]["id"] == xapi.VERBS[name]
    if name in IS_VERB:
        IS_VERB[name].model_validate(made["verb"])


@pytest.mark.parametrize("made", every_statement(), ids=verb_of)
def test_timestamps_carry_a_time_zone(made):
    """Every statement's timestamp is in UTC, with its zone written."""
    assert made["timestamp"].endswith("Z")
    assert datetime.fromisoformat(made["timestamp"]).utcoffset() == timedelta(0)


def test_a_time_is_written_in_utc():
    """A time in another zone is written as the same instant in UTC."""
    summer = datetime(2026, 7, 1, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert xapi.timestamp(summer) == "2026-07-01T09:00:00.000Z"


def test_a_time_without_a_zone_is_refused():
    """A naive time cannot become a statement's timestamp."""
    with pytest.raises(ValueError, match="time zone"):
        xapi.timestamp(datetime(2026, 12, 2, 9, 0))


def test_ids_are_derived_and_the_same_each_time():
    """Building an attempt's statements again gives the same ids."""
    assert [s["id"] for s in every_statement()] == [s["id"] for s in every_statement()]


def test_ids_are_distinct_within_an_attempt():
    """No two statements an attempt can make share an id, whatever its end."""
    later = xapi.Decision(2, "disclosure", (("reassure", "Tell her"),), "reassure", BEGAN, 9)
    made = [
        xapi.started(SITE, SITTING),
        xapi.answered(SITE, SITTING, DECISION),
        xapi.answered(SITE, SITTING, later),
        *xapi.ended(SITE, SITTING, PASSED),
        xapi.ended(SITE, SITTING, TIMED_OUT)[0],
        xapi.abandoned(SITE, SITTING, BEGAN),
    ]
    ids = [s["id"] for s in made]
    assert len(set(ids)) == len(ids) == 8


def test_ids_differ_between_steps_attempts_and_installations():
    """A step, another attempt, or another installation's namespace gives another id."""
    base = xapi.statement_id(SITE, "answered", 41, 0)
    other_site = xapi.Site(uuid.uuid4(), SITE.base)
    others = {
        xapi.statement_id(SITE, "answered", 41, 1),
        xapi.statement_id(SITE, "answered", 42, 0),
        xapi.statement_id(SITE, "initialized", 41),
        xapi.statement_id(other_site, "answered", 41, 0),
    }
    assert base not in others and len(others) == 4
    assert uuid.UUID(base).version == 5


def test_registration_is_the_attempt_as_a_uuid():
    """Every statement of an attempt carries one registration, derived from its id."""
    registrations = {s["context"]["registration"] for s in every_statement()}
    assert registrations == {str(uuid.uuid5(SITE.namespace, "attempt/41"))}


def test_the_actor_is_an_opaque_account():
    """The actor is an account under the base, named by a UUID: no mbox, name or openid."""
    for made in every_statement():
        assert made["actor"] == {
            "objectType": "Agent",
            "account": {"homePage": SITE.base, "name": str(uuid.uuid5(SITE.namespace, "user/7"))},
        }


def test_a_decision_is_a_choice_interaction_with_the_options_shown():
    """The object lists the options in the order shown; the response is the choice's id."""
    made = xapi.answered(SITE, SITTING, DECISION)
    definition = made["object"]["definition"]
    BaseXapiActivityInteractionDefinition.model_validate(definition)
    assert definition["type"] == "http://adlnet.gov/expapi/activities/cmi.interaction"
    assert definition["interactionType"] == "choice"
    assert [c["id"] for c in definition["choices"]] == ["check-status", "interpreter"]
    assert made["object"]["id"] == f"{SITE.base}/scenarios/doorstep/decisions/arrival"
    assert made["result"]["response"] == "interpreter"
    assert made["context"]["contextActivities"]["parent"][0]["id"] == (
        f"{SITE.base}/scenarios/doorstep"
    )


def test_a_decision_carries_its_duration_points_and_sharing_tag():
    """The result has the time taken, points per dimension, the sharing tag and verdict."""
    result = xapi.answered(SITE, SITTING, DECISION)["result"]
    extensions = result["extensions"]
    assert result["duration"] == "PT42.25S"
    assert extensions[SITE.extension("points")] == {"safeguarding": 2}
    assert extensions[SITE.extension("sharing")] == "none"
    assert extensions[SITE.extension("verdict")] == "good"
    assert extensions[SITE.extension("step")] == 0


@pytest.mark.parametrize(
    ("sharing", "critical", "success"),
    [
        (None, False, True),
        ("appropriate", False, True),
        ("inappropriate", False, False),
        (None, True, False),
        ("inappropriate", True, False),
    ],
)
def test_success_is_neither_an_inappropriate_share_nor_critical(sharing, critical, success):
    """A decision succeeds unless it shares inappropriately or is critical."""
    decision = xapi.Decision(0, "arrival", (("a", "A"),), "a", BEGAN, 0, {}, sharing, critical)
    assert xapi.answered(SITE, SITTING, decision)["result"]["success"] is success


@pytest.mark.parametrize(
    ("milliseconds", "written", "seconds"),
    [
        (0, "PT0S", 0),
        (250, "PT0.25S", 0.25),
        (1_500, "PT1.5S", 1.5),
        (61_000, "PT1M1S", 61),
        (3_600_000, "PT1H", 3600),
        (3_723_004, "PT1H2M3.004S", 3723.004),
    ],
)
def test_durations_are_iso_8601(milliseconds, written, seconds):
    """Milliseconds are written as an ISO 8601 duration that reads back the same."""
    assert xapi.duration(milliseconds) == written
    parsed = TypeAdapter(timedelta).validate_python(written)
    assert parsed == timedelta(seconds=seconds)


def test_reaching_an_ending_is_completed_passed_and_terminated():
    """An ending gives completed, then passed with the scaled score, then terminated."""
    made = xapi.ended(SITE, SITTING, PASSED)
    assert [verb_of(s) for s in made] == ["completed", "passed", "terminated"]
    score = made[1]["result"]["score"]
    assert score == {"scaled": 0.67, "raw": 67, "min": 0, "max": 100}
    assert made[1]["result"]["success"] is True
    assert made[0]["result"]["duration"] == "PT3M"


def test_time_running_out_is_failed_with_no_completion():
    """An assessment closed before an ending is failed, score 0, not completed, with why."""
    made = xapi.ended(SITE, SITTING, TIMED_OUT)
    assert [verb_of(s) for s in made] == ["failed", "terminated"]
    result = made[0]["result"]
    assert result["score"]["scaled"] == 0 and result["completion"] is False
    assert result["extensions"][SITE.extension("closed")].startswith("Time ran out")


def test_abandoned_is_cmi5s_verb():
    """An abandoned attempt uses cmi5's abandoned verb and is not completed."""
    made = xapi.abandoned(SITE, SITTING, BEGAN + timedelta(minutes=5))
    assert made["verb"]["id"] == "https://w3id.org/xapi/adl/verbs/abandoned"
    assert made["result"] == {"completion": False, "duration": "PT5M"}


def test_context_names_the_scenario_version_course_assignment_and_mode():
    """The context has the version and digest, the cohort and assignment, and the mode."""
    context = xapi.started(SITE, SITTING)["context"]
    grouping = context["contextActivities"]["grouping"]
    assert [g["id"] for g in grouping] == [f"{SITE.base}/assignments/9", f"{SITE.base}/cohorts/5"]
    assert grouping[0]["definition"]["type"] == "http://adlnet.gov/expapi/activities/assessment"
    CourseActivity.model_validate(grouping[1])
    ProfileActivity.model_validate(context["contextActivities"]["category"][0])
    assert context["revision"] == "3"
    assert context["extensions"] == {
        SITE.extension("mode"): "assessment",
        SITE.extension("attempt-number"): 2,
        SITE.extension("version-digest"): "ab" * 32,
    }


def test_free_practice_has_no_course_or_assignment():
    """Free practice is grouped under nothing but the profile's category."""
    activities = xapi.started(SITE, PRACTICE)["context"]["contextActivities"]
    assert "grouping" not in activities and "parent" not in activities


def test_unknown_extensions_are_refused():
    """Only the extensions the profile documents can be named."""
    with pytest.raises(ValueError, match="extensions"):
        SITE.extension("rationale")


def test_the_module_is_pure():
    """xapi.py imports nothing of Flask, the database or the rest of the app."""
    tree = ast.parse(Path(xapi.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"uuid", "collections", "dataclasses", "datetime"}
