"""xAPI statements from an attempt: pure functions over plain data (docs/xapi.md).

An attempt is one cmi5-style registration: `initialized` when it starts, `answered` for
each decision, then `completed` on reaching an ending, `passed` or `failed` with the
scaled score, and `terminated`; or `abandoned` when it is given up or discarded. The
actor is an opaque account, never a name, username or e-mail. Every id is a UUIDv5 under
the installation's namespace, derived from what the statement reports, so the same
statement always has the same id.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

LANGUAGE = "en-GB"
PLATFORM = "Safe to Report"

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS = {
    "initialized": ADL + "initialized",
    "answered": ADL + "answered",
    "completed": ADL + "completed",
    "passed": ADL + "passed",
    "failed": ADL + "failed",
    "terminated": ADL + "terminated",
    "abandoned": "https://w3id.org/xapi/adl/verbs/abandoned",
}
ACTIVITIES = "http://adlnet.gov/expapi/activities/"
SIMULATION = ACTIVITIES + "simulation"
INTERACTION = ACTIVITIES + "cmi.interaction"
ASSESSMENT = ACTIVITIES + "assessment"
MODULE = ACTIVITIES + "module"
COURSE = ACTIVITIES + "course"
PROFILE = ACTIVITIES + "profile"
# The extensions, each under `<base>/xapi/extensions/` (see `Site.extension`).
EXTENSIONS = (
    "mode",
    "attempt-number",
    "version-digest",
    "step",
    "points",
    "sharing",
    "verdict",
    "ending",
    "dimensions",
    "sharing-passed",
    "critical-errors",
    "closed",
)


@dataclass(frozen=True)
class Site:
    """Where statements come from: the installation's namespace and the base of its IRIs."""

    namespace: uuid.UUID
    base: str

    def iri(self, path):
        """Return an IRI under the base."""
        return f"{self.base.rstrip('/')}/{path}"

    def extension(self, name):
        """Return the IRI of one of our extensions."""
        if name not in EXTENSIONS:
            raise ValueError(f"{name!r} is not one of the profile's extensions")
        return self.iri(f"xapi/extensions/{name}")

    def derived(self, name):
        """Return the UUIDv5 of a name under the installation's namespace."""
        return uuid.uuid5(self.namespace, name)


@dataclass(frozen=True)
class Sitting:
    """What every statement of an attempt says about it: whose, of what, for which course."""

    attempt_id: int
    user_id: int
    number: int
    mode: str
    scenario_key: str
    title: str
    version: int
    digest: str
    started_at: datetime
    cohort_id: int | None = None
    assignment_id: int | None = None


@dataclass(frozen=True)
class Decision:
    """One decision taken: the options shown, in their order, the one chosen and its marks."""

    step_number: int
    node_id: str
    shown: tuple[tuple[str, str], ...]  # (choice id, text as shown)
    choice_id: str
    recorded_at: datetime
    elapsed_ms: int
    points: Mapping[str, int] = field(default_factory=dict)  # every dimension, 0 if none
    sharing: str | None = None
    critical: bool = False
    verdict: str | None = None

    @property
    def success(self):
        """Say whether the choice was sound: not an inappropriate share, not critical."""
        return self.sharing != "inappropriate" and not self.critical


@dataclass(frozen=True)
class Outcome:
    """How a finished attempt ended: its ending (None when time ran out), pass and grade."""

    finished_at: datetime
    ending: str | None
    passed: bool
    grade: int
    dimensions: Mapping[str, int] = field(default_factory=dict)  # percent per dimension
    sharing_passed: bool | None = None
    critical_errors: int = 0
    closed: str | None = None  # why it was closed without reaching an ending


def statement_id(site, verb, attempt_id, step_number=None):
    """Return a statement's id, from its verb, its attempt and (for a decision) its step."""
    name = f"xapi/{verb}/{attempt_id}"
    return str(site.derived(name if step_number is None else f"{name}/{step_number}"))


def registration(site, attempt_id):
    """Return an attempt's registration: its id as a UUID."""
    return str(site.derived(f"attempt/{attempt_id}"))


def actor(site, user_id):
    """Return the opaque account that stands for a person."""
    name = str(site.derived(f"user/{user_id}"))
    return {"objectType": "Agent", "account": {"homePage": site.base, "name": name}}


def timestamp(moment):
    """Return a time as ISO 8601 in UTC, to the millisecond, with its zone (Z)."""
    if moment.tzinfo is None:
        raise ValueError("a statement's time needs a time zone")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(milliseconds):
    """Return milliseconds as an ISO 8601 duration, such as PT1M2.5S."""
    seconds, millis = divmod(max(0, int(milliseconds)), 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    fraction = f".{millis:03d}".rstrip("0") if millis else ""
    parts = [f"{hours}H" if hours else "", f"{minutes}M" if minutes else ""]
    if seconds or millis or not (hours or minutes):
        parts.append(f"{seconds}{fraction}S")
    return "PT" + "".join(parts)


def verb(name):
    """Return a verb with its display name."""
    return {"id": VERBS[name], "display": {"en-US": name}}


def scenario_activity(site, sitting):
    """Return the activity for the scenario an attempt plays."""
    return {
        "objectType": "Activity",
        "id": site.iri(f"scenarios/{sitting.scenario_key}"),
        "definition": {"type": SIMULATION, "name": {LANGUAGE: sitting.title}},
    }


def decision_activity(site, sitting, decision):
    """Return the interaction for one decision, with the options shown in their order."""
    return {
        "objectType": "Activity",
        "id": site.iri(f"scenarios/{sitting.scenario_key}/decisions/{decision.node_id}"),
        "definition": {
            "type": INTERACTION,
            "name": {LANGUAGE: f"{sitting.title}: {decision.node_id}"},
            "interactionType": "choice",
            "choices": [
                {"id": choice_id, "description": {LANGUAGE: text}}
                for choice_id, text in decision.shown
            ],
        },
    }


def context(site, sitting, parent=None):
    """Return a statement's context: registration, scenario, course, assignment and mode."""
    grouping = []
    if sitting.assignment_id is not None:
        kind = ASSESSMENT if sitting.mode == "assessment" else MODULE
        grouping.append(activity(site, f"assignments/{sitting.assignment_id}", kind))
    if sitting.cohort_id is not None:
        grouping.append(activity(site, f"cohorts/{sitting.cohort_id}", COURSE))
    activities = {"category": [activity(site, "xapi", PROFILE)]}
    if parent is not None:
        activities["parent"] = [parent]
    if grouping:
        activities["grouping"] = grouping
    return {
        "registration": registration(site, sitting.attempt_id),
        "platform": PLATFORM,
        "language": LANGUAGE,
        "revision": str(sitting.version),
        "contextActivities": activities,
        "extensions": {
            site.extension("mode"): sitting.mode,
            site.extension("attempt-number"): sitting.number,
            site.extension("version-digest"): sitting.digest,
        },
    }


def activity(site, path, kind):
    """Return a bare activity under the base, with its type."""
    return {"objectType": "Activity", "id": site.iri(path), "definition": {"type": kind}}


def statement(site, sitting, name, at, step_number=None, **parts):
    """Return one statement of an attempt, with its derived id, actor, time and context."""
    made = {
        "id": statement_id(site, name, sitting.attempt_id, step_number),
        "actor": actor(site, sitting.user_id),
        "verb": verb(name),
        "object": parts.pop("object", None) or scenario_activity(site, sitting),
        "timestamp": timestamp(at),
        "context": context(site, sitting, parts.pop("parent", None)),
    }
    return made | parts


def started(site, sitting):
    """Return the statement that an attempt began."""
    return statement(site, sitting, "initialized", sitting.started_at)


def answered(site, sitting, decision):
    """Return the statement of one decision: the options, the response, its soundness."""
    extension = site.extension
    return statement(
        site,
        sitting,
        "answered",
        decision.recorded_at,
        decision.step_number,
        object=decision_activity(site, sitting, decision),
        parent=scenario_activity(site, sitting),
        result={
            "response": decision.choice_id,
            "success": decision.success,
            "duration": duration(decision.elapsed_ms),
            "extensions": {
                extension("step"): decision.step_number,
                extension("points"): dict(decision.points),
                extension("sharing"): decision.sharing or "none",
                extension("verdict"): decision.verdict,
            },
        },
    )


def ended(site, sitting, outcome):
    """Return the statements of a finished attempt: completed (at an ending), then passed
    or failed with the scaled score, then terminated."""
    took = (outcome.finished_at - sitting.started_at).total_seconds() * 1000
    at, spent = outcome.finished_at, duration(took)
    made = []
    if outcome.ending is not None:
        done = {"completion": True, "duration": spent}
        done["extensions"] = {site.extension("ending"): outcome.ending}
        made.append(statement(site, sitting, "completed", at, result=done))
    name = "passed" if outcome.passed else "failed"
    made.append(statement(site, sitting, name, at, result=judged(site, outcome, spent)))
    made.append(statement(site, sitting, "terminated", at, result={"duration": spent}))
    return made


def judged(site, outcome, spent):
    """Return the result of a passed or failed statement: score, success and the marks."""
    extensions = {
        site.extension("dimensions"): dict(outcome.dimensions),
        site.extension("critical-errors"): outcome.critical_errors,
    }
    if outcome.sharing_passed is not None:
        extensions[site.extension("sharing-passed")] = outcome.sharing_passed
    if outcome.ending is not None:
        extensions[site.extension("ending")] = outcome.ending
    if outcome.closed:
        extensions[site.extension("closed")] = outcome.closed
    return {
        "score": {"scaled": outcome.grade / 100, "raw": outcome.grade, "min": 0, "max": 100},
        "success": outcome.passed,
        "completion": outcome.ending is not None,
        "duration": spent,
        "extensions": extensions,
    }


def abandoned(site, sitting, at, reason=None):
    """Return the statement that an attempt was given up, or discarded when time ran out."""
    took = duration((at - sitting.started_at).total_seconds() * 1000)
    result = {"completion": False, "duration": took}
    if reason:
        result["extensions"] = {site.extension("closed"): reason}
    return statement(site, sitting, "abandoned", at, result=result)
