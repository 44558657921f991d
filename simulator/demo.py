"""The demo: accounts to try each role, and a cohort whose results have something to show.

`build` is what `flask users demo` runs. It creates what is missing and nothing else, so a
second run changes nothing: the demo trainee and trainer; a cohort "Demo intake" owned by
the trainer, holding eight demo recruits and the demo trainee; two or three recruit
scenarios from the library set for it; and the recruits' attempts at them. The attempts are
played through the store (`attempts.start_attempt`, `attempts.record_step`), exactly as a
person's are, at made-up times over the last two weeks: each recruit chooses by a fixed
random seed according to a manner (careful, uneven, one who shares status, one who makes a
critical error, one who stops half way), so paths, results and times to decide differ. The
demo trainee has no attempts: it is there to play the assignments. The passwords are fixed
and public: the demo is for a developer's machine only.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import select

from . import accounts, assessments, attempts, audit, cohorts, engine, library
from .db import db
from .models import Assignment, Attempt, Cohort, utcnow

COHORT_NAME = "Demo intake"
COHORT_DESCRIPTION = (
    "Made by `flask users demo`: recruits with attempts along different paths, to try the "
    "results, analytics and exports. The demo passwords are public."
)
TRAINEE = ("demo-trainee", "demo-trainee-password", "trainee")
TRAINER = ("demo-trainer", "demo-trainer-password", "trainer")
FORCE = "Demo Constabulary"
# Username, display name, collar number, and the manner of each attempt at an assignment.
RECRUITS = (
    ("demo-recruit-1", "Aisha Khan", "4101", ("careful",)),
    ("demo-recruit-2", "Tom Bennett", "4102", ("careful",)),
    ("demo-recruit-3", "Priya Patel", "4103", ("uneven", "careful")),
    ("demo-recruit-4", "Daniel Okafor", "4104", ("shares", "careful")),
    ("demo-recruit-5", "Megan Hughes", "4105", ("critical", "uneven")),
    ("demo-recruit-6", "Łukasz Nowak", "4106", ("shares",)),
    ("demo-recruit-7", "Grace Mensah", "4107", ("uneven", "uneven")),
    ("demo-recruit-8", "Ryan Murphy", "4108", ("critical", "careful")),
)
# Who leaves their only attempt at an assignment (by position) unfinished, after how many choices.
STOPS_HALF_WAY = {("demo-recruit-8", 0): 5}
PREFERRED = ("doorstep", "call-handler", "just-run-her-through")
ASSIGNMENTS = 3
# Each assignment: days ago it opened, and days from now it is due (None: no due date).
SCHEDULE = ((14, -4), (10, 4), (6, None))
LAST_HOURS = 6  # no made-up attempt starts in the hours before the demo is built
MOST_STEPS = 80  # a way round a loop ends here, unfinished
# What a recruit might write for a choice, by the verdict it earned: the reasons behind
# poor choices are the ones a trainer most needs to read.
RATIONALES = {
    "good": (
        "Her safety comes first; her status is not a reason to act.",
        "She needs to hear that reporting will not put her at risk.",
        "This keeps the evidence safe without relying on her alone.",
        "A professional interpreter lets her speak freely.",
        "The children have to be seen and safeguarded.",
    ),
    "better available": (
        "It seemed enough for now; I can do more later.",
        "I wanted to keep things calm before going further.",
    ),
    "costs the pass": (
        "She did not want to talk, so I left it there.",
        "I thought it was her decision to make.",
    ),
    "inappropriate share": (
        "If she is here illegally, immigration need to know.",
        "I wanted to check who she is before going any further.",
    ),
    "critical": (
        "It was the quickest way to settle things.",
        "He seemed calm, so I took his word for it.",
    ),
}
SEED = 2020
ASSESSMENT_CODE = "DEMO-2020"
# How much slower than their practice pace some recruits take the assessment, and who stops.
ASSESSMENT_PACE = {"demo-recruit-3": 3.2}  # slow enough to finish in the grace period (32 min)
ASSESSMENT_STOPS = {"demo-recruit-8": 3}  # leaves it half way: time runs out


@dataclass
class Report:
    """What a run of the demo found and made."""

    accounts: list = field(default_factory=list)  # (username, password, role, name, created)
    cohort: Cohort | None = None
    cohort_created: bool = False
    members_added: int = 0
    assignments: list = field(default_factory=list)  # (assignment, version, created)
    attempts: list = field(default_factory=list)
    steps: int = 0
    no_scenarios: bool = False
    assessment: Assignment | None = None
    assessment_created: bool = False

    @property
    def created_anything(self):
        """Say whether this run added anything."""
        made = [a for *_, a in self.accounts] + [c for *_, c in self.assignments]
        made += [self.cohort_created, self.assessment_created, self.members_added, self.attempts]
        return any(made)


def build(now=None, seed=SEED):
    """Create whatever of the demo is missing, and report what there is and what was made."""
    session = db.session
    # Each step commits; reloading every earlier step after each commit (the default)
    # would make building an attempt quadratic in queries. Nothing else writes meanwhile.
    expiring, session.expire_on_commit = session.expire_on_commit, False
    try:
        return build_all(now or utcnow(), seed)
    finally:
        session.expire_on_commit = expiring


def build_all(now, seed):
    """Create whatever of the demo is missing (see `build`)."""
    report = Report()
    trainee = demo_account(report, *TRAINEE)
    trainer = demo_account(report, *TRAINER)
    recruits = [
        demo_account(report, username, f"{username}-password", "trainee", name, number, trainer)
        for username, name, number, _manners in RECRUITS
    ]
    cohort = demo_cohort(report, trainer, now)
    for person in [*recruits, trainee]:
        report.members_added += cohorts.add_member(None, cohort, person, commit=False)
    db.session.commit()
    versions = demo_versions()
    report.no_scenarios = not versions
    for position, version in enumerate(versions):
        assignment = demo_assignment(report, cohort, trainer, version, SCHEDULE[position], now)
        rng = random.Random(f"{seed}:{version.scenario_key}")
        for person, (_username, _name, _number, manners) in zip(recruits, RECRUITS, strict=True):
            play_assignment(report, person, assignment, version, manners, position, rng, now)
    if versions:
        assessment = demo_assessment(report, cohort, trainer, versions[0], now)
        rng = random.Random(f"{seed}:assessment")
        for person, (_username, _name, _number, manners) in zip(recruits, RECRUITS, strict=True):
            sit_assessment(report, person, assessment, versions[0], manners[0], rng, now)
    return report


def demo_assessment(report, cohort, trainer, version, now):
    """Return the cohort's demo assessment, setting it if it is missing.

    It opened three days ago and closes in a week: 30 minutes, a 5-minute grace period,
    one attempt, the default review, and the access code ASSESSMENT_CODE.
    """
    statement = select(Assignment).where(
        Assignment.cohort_id == cohort.id, Assignment.mode == "assessment"
    )
    found = db.session.exec(statement).first()
    if found is not None:
        report.assessment = found
        return found
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    settings = {
        "closes_at": midnight + timedelta(days=7, hours=17),
        "time_limit_s": 30 * 60,
        "overdue": "grace",
        "grace_s": 5 * 60,
        "attempts_allowed": 1,
        "grade_method": "highest",
        "access_code": ASSESSMENT_CODE,
        "review": assessments.DEFAULT_REVIEW,
    }
    found = assessments.create(
        trainer, cohort, version, True, midnight - timedelta(days=3, hours=-9), settings
    )
    report.assessment = found
    report.assessment_created = True
    return found


def sit_assessment(report, person, assignment, version, manner, rng, now):
    """Take a recruit's one attempt at the demo assessment, unless they have: most reach an
    ending in time, one in the grace period (late), and one runs out of time half way."""
    statement = select(Attempt.id).where(
        Attempt.user_id == person.id, Attempt.assignment_id == assignment.id
    )
    if db.session.exec(statement).first() is not None:
        return
    found = assessments.settings_of(assignment)
    terms = assessments.terms_for(assignment, found, person.id)
    began = working_hours(assignment.opens_at + timedelta(days=rng.uniform(0, 2)), rng)
    attempt = assessments.start(person, version, 1, assignment, found, terms, now=began)
    pace = ASSESSMENT_PACE.get(person.username, 1.0)
    stop = ASSESSMENT_STOPS.get(person.username)
    progress = attempts.progress_of(attempt)
    chooser = Chooser(manner, rng)
    moment = began
    while attempt.finished_at is None and len(progress.steps) < (stop or MOST_STEPS):
        node = progress.node
        choice = chooser.choose(progress.scenario, progress.choice_ids, progress.offered())
        moment += timedelta(seconds=chooser.seconds_to_decide(node) * pace + rng.uniform(5, 20))
        if assessments.phase(attempt, moment) == "over":
            break
        attempt.late = attempt.late or assessments.phase(attempt, moment) == "grace"
        written = rng.choice(RATIONALES.get(chooser.verdict, RATIONALES["good"]))
        rationale = attempts.clean_rationale(node, written)
        step = attempts.record_step(progress, choice, rationale, now=moment)
        progress = attempts.Progress(attempt, progress.version, [*progress.steps, step])
        report.steps += 1
    if attempt.finished_at is None:  # ran out of time: closed by the clock, as cron would
        assessments.close_if_due(attempt, attempt.grace_until + timedelta(minutes=1))
    report.attempts.append(attempt)


def demo_account(report, username, password, role, name="", number="", creator=None):
    """Return a demo account, creating it if it is missing."""
    person = accounts.find_user(username)
    created = person is None
    if created:
        details = {"display_name": name, "force": FORCE if name else "", "collar_number": number}
        if creator is not None:
            details["created_by_id"] = creator.id
        person = accounts.create_user(username, password, role, **details)
    report.accounts.append((username, password, role, name, created))
    return person


def demo_cohort(report, trainer, now):
    """Return the demo cohort, creating it (owned by the demo trainer) if it is missing."""
    statement = select(Cohort).where(Cohort.name == COHORT_NAME, Cohort.owner_id == trainer.id)
    cohort = db.session.exec(statement).first()
    if cohort is None:
        cohort = Cohort(
            name=COHORT_NAME,
            description=COHORT_DESCRIPTION,
            audience="recruit",
            owner_id=trainer.id,
            created_at=now - timedelta(days=15),
        )
        db.session.add(cohort)
        db.session.flush()
        audit.record(None, "cohort.create", cohort, f"Created the demo cohort {COHORT_NAME!r}")
        db.session.commit()
        report.cohort_created = True
    report.cohort = cohort
    return cohort


def demo_versions():
    """Return the offered recruit scenarios to assign: the preferred ones, else the first."""
    offered = [v for v in library.offered_versions() if "recruit" in v.audience.split(",")]
    preferred = [v for key in PREFERRED for v in offered if v.scenario_key == key]
    others = [v for v in offered if v not in preferred]
    return (preferred + others)[:ASSIGNMENTS]


def demo_assignment(report, cohort, trainer, version, schedule, now):
    """Return the cohort's assignment of a scenario, setting it if it is missing."""
    statement = select(Assignment).where(
        Assignment.cohort_id == cohort.id,
        Assignment.scenario_key == version.scenario_key,
        Assignment.mode == "practice",
    )
    assignment = db.session.exec(statement).first()
    created = assignment is None
    if created:
        opened, due = schedule
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        assignment = Assignment(
            cohort_id=cohort.id,
            scenario_key=version.scenario_key,
            opens_at=midnight - timedelta(days=opened),
            due_at=None if due is None else midnight + timedelta(days=due, hours=23),
            created_by_id=trainer.id,
            created_at=now - timedelta(days=opened + 1),
        )
        db.session.add(assignment)
        db.session.flush()
        audit.record(
            None,
            "assignment.create",
            assignment,
            f"Assigned {version.title!r} to the demo cohort {COHORT_NAME!r}",
            cohort_id=cohort.id,
        )
        db.session.commit()
    report.assignments.append((assignment, version, created))
    return assignment


def play_assignment(report, person, assignment, version, manners, position, rng, now):
    """Play a recruit's attempts at an assignment, unless they have some already."""
    statement = select(Attempt.id).where(
        Attempt.user_id == person.id, Attempt.assignment_id == assignment.id
    )
    if db.session.exec(statement).first() is not None:
        return
    closes = min(assignment.due_at or now, now) - timedelta(hours=LAST_HOURS)
    span = closes - assignment.opens_at
    began = working_hours(assignment.opens_at + span * rng.uniform(0.1, 0.5), rng)
    stop = STOPS_HALF_WAY.get((person.username, position))
    for number, manner in enumerate(manners[:1] if stop else manners, start=1):
        most = stop or MOST_STEPS
        attempt = play_one(report, person, assignment, version, manner, number, began, most, rng)
        report.attempts.append(attempt)
        began = next_start(attempt.finished_at or began, closes, rng)


def working_hours(moment, rng):
    """Return the same day at a time between 08:00 and 17:00 UTC."""
    return moment.replace(hour=rng.randrange(8, 17), minute=rng.randrange(60), second=0)


def next_start(previous, closes, rng):
    """Return when a second attempt begins: a day or two later, or soon if time is short."""
    later = working_hours(previous + timedelta(days=rng.uniform(1, 2.5)), rng)
    return later if later < closes else previous + timedelta(minutes=rng.uniform(20, 90))


def play_one(report, person, assignment, version, manner, number, began, most, rng):
    """Play one attempt in a manner, with made-up times to decide; return it."""
    attempt = attempts.start_attempt(
        person, version, number, assignment, seed=rng.randrange(2**31), now=began
    )
    progress = attempts.progress_of(attempt)
    chooser = Chooser(manner, rng)
    moment = began
    while attempt.finished_at is None and len(progress.steps) < most:
        node = progress.node
        choice = chooser.choose(progress.scenario, progress.choice_ids, progress.offered())
        reading = rng.uniform(4, 30) if progress.steps else rng.uniform(20, 90)
        shown = moment + timedelta(seconds=reading)
        attempt.shown_step, attempt.shown_at = progress.next_step_number, shown
        moment = shown + timedelta(seconds=chooser.seconds_to_decide(node))
        written = rng.choice(RATIONALES.get(chooser.verdict, RATIONALES["good"]))
        rationale = attempts.clean_rationale(node, written)
        step = attempts.record_step(progress, choice, rationale, now=moment)
        progress = attempts.Progress(attempt, progress.version, [*progress.steps, step])
        report.steps += 1
    return attempt


class Chooser:
    """Picks an offered choice in a manner, by its verdict (`engine.verdicts`), from a seed.

    careful: a good choice where there is one; uneven: often good, sometimes one with a
    better option beside it or one that costs the pass; shares: like uneven, but takes the
    first inappropriate share offered; critical: like uneven, but takes the first critical
    error offered. Nobody takes a failing choice except those two, once.
    """

    FAILING = {"shares": engine.INAPPROPRIATE_SHARE, "critical": engine.CRITICAL}

    def __init__(self, manner, rng):
        self.manner, self.rng = manner, rng
        self.failed = False
        self.verdict = None  # of the choice taken last

    def choose(self, scenario, choice_ids, offered):
        """Return which of the choices offered after `choice_ids` to take now."""
        if len(offered) == 1:  # one way on (a step's Continue): nothing to judge
            self.verdict = None
            return offered[0]
        judged = engine.verdicts(scenario, [*choice_ids, offered[0].id])
        verdict = {choice.id: v for choice, v in judged[-1].offered}
        chosen = self.pick(offered, verdict)
        self.verdict = verdict[chosen.id]
        return chosen

    def pick(self, offered, verdict):
        """Return one of several offered choices, by their verdicts."""
        by_verdict = {}
        for choice in offered:
            by_verdict.setdefault(verdict[choice.id], []).append(choice)
        wanted = self.FAILING.get(self.manner)
        if wanted in by_verdict and not self.failed and self.rng.random() < 0.85:
            self.failed = True
            return self.rng.choice(by_verdict[wanted])
        return self.rng.choice(self.preferred(by_verdict) or list(offered))

    def preferred(self, by_verdict):
        """Return the options this manner picks among, avoiding failing ones."""
        good = by_verdict.get(engine.GOOD, [])
        lesser = by_verdict.get(engine.BETTER_AVAILABLE, []) + by_verdict.get(
            engine.COSTS_THE_PASS, []
        )
        if self.manner == "careful":
            return good or by_verdict.get(engine.BETTER_AVAILABLE) or lesser
        if lesser and self.rng.random() < 0.3:
            return lesser
        return good or lesser

    def seconds_to_decide(self, node):
        """Return how long this person takes over a node: longer for decisions, careful ones."""
        if node.kind != "decision":
            return self.rng.uniform(3, 15)
        slow = 1.5 if self.manner == "careful" else 1.0
        return self.rng.lognormvariate(3.6, 0.5) * slow


def outcomes(made):
    """Count attempts by outcome: passed, failed on sharing, on a critical error, on a mark."""
    counts = dict.fromkeys(("passed", "failed on sharing", "with a critical error"), 0)
    counts |= {"below a pass mark": 0, "in progress": 0}
    for attempt in made:
        if attempt.finished_at is None:
            counts["in progress"] += 1
        elif attempt.passed:
            counts["passed"] += 1
        elif not attempt.sharing_passed:
            counts["failed on sharing"] += 1
        elif attempt.critical_count:
            counts["with a critical error"] += 1
        else:
            counts["below a pass mark"] += 1
    return counts
