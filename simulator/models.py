"""Database tables: accounts, cohorts, assignments, scenario versions, attempts, the audit log.

Attempts are pinned to the exact scenario file they began on, and every step a
person takes is one AttemptStep row that is never changed or deleted; an attempt's
result is derived from its steps by `engine.result` (see `attempts.finish_if_ended`).
The database refuses changes to the records (triggers.py), and a keyed chain over them
shows any change made behind its back (chain.py, records.py).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import defer
from sqlmodel import (
    JSON,
    CheckConstraint,
    Column,
    Field,
    Index,
    LargeBinary,
    SQLModel,
    Text,
    UniqueConstraint,
)

# Named constraints let Alembic's batch mode rebuild SQLite tables reliably.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("trainee", "trainer", "admin")
CHOICE_ORDERS = ("file", "shuffled")  # engine.ORDER_RULES
# Practice, or a CPD assessment (whose settings are in AssessmentSettings).
MODES = ("practice", "assessment")
# Where an attempt stands; an assessment records each change in AttemptEvent.
ATTEMPT_STATES = ("in_progress", "overdue", "finished", "abandoned")
OVERDUE_RULES = ("close", "grace", "discard")  # what happens when an assessment's time runs out
GRADE_METHODS = ("highest", "first", "last")  # which of a candidate's attempts counts
AUDIENCES = ("recruit", "cpd")  # the scenario format's audiences; a cohort has one


def one_of(column, values):
    """Return a check constraint that keeps a column to a fixed set of values."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


def utcnow():
    """Return the current time in UTC (SQLModel stores aware times alike on every database)."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    """A person who signs in: a trainee, a trainer or an admin."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    # What a record of training needs; the person and an admin may edit them.
    display_name: str = Field(default="", max_length=100)
    force: str = Field(default="", max_length=100)
    collar_number: str = Field(default="", max_length=32)
    # Set with a one-time password: the person must choose their own before anything else.
    must_change_password: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    # The trainer or admin who created the account, who may reset its password.
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    # Set when an admin disables the account (or erases it): it cannot sign in.
    disabled_at: datetime | None = None

    @property
    def name(self):
        """Return the name to show: the display name, else the username."""
        return self.display_name or self.username


class Cohort(SQLModel, table=True):
    """A group of trainees on one course, owned by the trainer who made it."""

    __tablename__ = "cohorts"
    __table_args__ = (one_of("audience", AUDIENCES),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    audience: str = Field(max_length=16)
    owner_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    archived_at: datetime | None = None


class CohortMember(SQLModel, table=True):
    """A trainee in a cohort; a trainee may be in several."""

    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    added_at: datetime = Field(default_factory=utcnow)


class CohortShare(SQLModel, table=True):
    """Another trainer with whom a cohort's owner shares it."""

    __tablename__ = "cohort_shares"
    __table_args__ = (UniqueConstraint("cohort_id", "trainer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    trainer_id: int = Field(foreign_key="users.id", index=True)
    shared_at: datetime = Field(default_factory=utcnow)


class Assignment(SQLModel, table=True):
    """A scenario set for a cohort, in a mode, with optional opening and due dates.

    `version_id` pins the version current when it was set; None follows the current one.
    A mode's own settings (the CPD assessment's) live in a table keyed by assignment id.
    """

    __tablename__ = "assignments"
    __table_args__ = (one_of("mode", MODES),)

    id: int | None = Field(default=None, primary_key=True)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    scenario_key: str = Field(max_length=64, index=True)
    version_id: int | None = Field(default=None, foreign_key="scenario_versions.id")
    mode: str = Field(default="practice", max_length=16)
    opens_at: datetime | None = None
    due_at: datetime | None = None
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)
    archived_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """One trainer or admin action: who did what to what, and when. Never changed."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    # None for the command line, whose operator the app cannot name.
    actor_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    action: str = Field(max_length=64)
    target_type: str = Field(max_length=32)
    target_id: int | None = None
    summary: str = Field(sa_column=Column(Text, nullable=False))
    details: dict | None = Field(default=None, sa_column=Column(JSON))


# How a version came into the library: the scenarios folder, a trainer's upload, or a copy
# of another scenario made in the browser.
ORIGINS = ("folder", "upload", "copy")


class LibraryScenario(SQLModel, table=True):
    """A scenario id in the library: who owns it, and whether it is withdrawn.

    A scenario from the scenarios folder is bundled: admins own it. Any other belongs to
    the trainer who first published it (None until then). Its versions are ScenarioVersion
    rows with the same key; the one trainees get is marked `current` (library.refresh).
    """

    __tablename__ = "scenarios"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    bundled: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    retired_at: datetime | None = None
    retired_by_id: int | None = Field(default=None, foreign_key="users.id")


class ScenarioVersion(SQLModel, table=True):
    """One scenario file exactly as it was loaded, identified by the hash of its bytes.

    It was checked when it came in and again whenever the checker changed (`checked_with`);
    the outcome is kept with it (`ok`, `problems`, `stats`, `score_bounds`, `map_svg`), so
    no request ever checks a file. A draft has no `published_at`.
    """

    __tablename__ = "scenario_versions"
    __table_args__ = (one_of("origin", ORIGINS),)

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    scenario_key: str = Field(max_length=64, index=True)
    version: int
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    minutes: int | None = None
    audience: str = Field(max_length=32)
    path: str = Field(max_length=1024)
    source: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The revision of format 1 whose rules accepted the file; it is always read by them.
    format_revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    current: bool = Field(default=False, index=True)
    loaded_at: datetime = Field(default_factory=utcnow)
    origin: str = Field(
        default="folder", max_length=16, sa_column_kwargs={"server_default": "folder"}
    )
    # None for the scenarios folder (the command line), whose operator the app cannot name.
    uploaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    published_at: datetime | None = None
    published_by_id: int | None = Field(default=None, foreign_key="users.id")
    # The checker that last checked the file (library.CHECKER), and what it found.
    checked_with: str | None = Field(default=None, max_length=64)
    ok: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # No server default: PostgreSQL has no equality on json for Alembic to compare one by.
    problems: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stats: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score_bounds: dict | None = Field(default=None, sa_column=Column(JSON))
    map_svg: str | None = Field(default=None, sa_column=Column(Text))


# A version without its bytes (45-70 KB for a bundled scenario) and its map, which play and
# the lists never show: `library.scenario_for` reads the bytes once per process, to parse them.
WITHOUT_BYTES = (defer(ScenarioVersion.source), defer(ScenarioVersion.map_svg))


class Picture(SQLModel, table=True):
    """A picture a scenario shows, stored once by the SHA-256 of its bytes."""

    __tablename__ = "pictures"

    digest: str = Field(max_length=64, primary_key=True)
    media_type: str = Field(max_length=32)
    width: int
    height: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    stored_at: datetime = Field(default_factory=utcnow)


class VersionPicture(SQLModel, table=True):
    """The picture a version names by `src`: a scenario shows only its own pictures."""

    __tablename__ = "version_pictures"

    version_id: int = Field(foreign_key="scenario_versions.id", primary_key=True)
    src: str = Field(max_length=1024, primary_key=True)
    digest: str = Field(max_length=64, foreign_key="pictures.digest", index=True)


class Attempt(SQLModel, table=True):
    """One play-through of a scenario version by one person."""

    __tablename__ = "attempts"
    __table_args__ = (
        # Numbers count free practice per scenario and assigned attempts per assignment.
        Index(
            "uq_attempts_practice_number",
            "user_id",
            "scenario_key",
            "number",
            unique=True,
            sqlite_where=sa.text("assignment_id IS NULL"),
            postgresql_where=sa.text("assignment_id IS NULL"),
        ),
        Index(
            "uq_attempts_assigned_number",
            "user_id",
            "assignment_id",
            "number",
            unique=True,
            sqlite_where=sa.text("assignment_id IS NOT NULL"),
            postgresql_where=sa.text("assignment_id IS NOT NULL"),
        ),
        one_of("mode", MODES),
        one_of("choice_order", CHOICE_ORDERS),
        one_of("state", ATTEMPT_STATES),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    # None for free practice from the catalogue.
    assignment_id: int | None = Field(default=None, foreign_key="assignments.id", index=True)
    scenario_version_id: int = Field(foreign_key="scenario_versions.id", index=True)
    scenario_key: str = Field(max_length=64)
    number: int
    mode: str = Field(default="practice", max_length=16)
    seed: int = Field(sa_type=sa.BigInteger)
    cast_index: int | None = None
    # How this attempt orders the choices it shows (engine.shown_choices): attempts begun
    # before revision 2 of the format keep file order.
    choice_order: str = Field(
        default="file", max_length=16, sa_column_kwargs={"server_default": "file"}
    )
    # When the node for step `shown_step` was first shown, so time to decide leaves out
    # the time spent reading the previous feedback.
    shown_step: int | None = None
    shown_at: datetime | None = None
    # A practice attempt the person chose to give up; it never finishes or counts.
    abandoned_at: datetime | None = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    ending: str | None = Field(default=None, max_length=64)
    passed: bool | None = None
    sharing_passed: bool | None = None
    result: dict | None = Field(default=None, sa_column=Column(JSON))
    # Settled once, so analytics count with aggregates: the node the attempt is at (kept
    # up to date with each step), and on finishing, its critical errors and its path.
    at_node: str | None = Field(default=None, max_length=64)
    critical_count: int | None = None
    path: str | None = Field(default=None, sa_column=Column(Text))
    # Where it stands (ATTEMPT_STATES); an assessment's changes are kept in AttemptEvent.
    state: str = Field(
        default="in_progress", max_length=16, sa_column_kwargs={"server_default": "in_progress"}
    )
    # An assessment's clock, set by the server when it starts: the deadline (time limit or
    # close, whichever comes first) and, with a grace period, the end of it.
    deadline_at: datetime | None = None
    grace_until: datetime | None = None
    late: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # False for an assessment attempt that was not submitted in time under the "discard"
    # rule: it used an attempt but has no grade.
    counted: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # A trainer's preview of an assessment: never a result, never in analytics.
    preview: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Why an attempt was closed other than by reaching an ending in time.
    closed_reason: str | None = Field(default=None, sa_column=Column(Text))
    # The keyed seal over the last step's link and the result, made on finishing, and the
    # id of its key (see chain.py); None for attempts finished before the chain existed.
    seal: str | None = Field(default=None, max_length=64)
    seal_key: str | None = Field(default=None, max_length=16)


class AttemptStep(SQLModel, table=True):
    """One choice taken in an attempt; the unique step number makes a repeat impossible."""

    __tablename__ = "attempt_steps"
    __table_args__ = (
        UniqueConstraint("attempt_id", "step_number"),
        CheckConstraint("step_number >= 0", name="step_number"),
        CheckConstraint("elapsed_ms >= 0", name="elapsed_ms"),
    )

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempts.id", index=True)
    step_number: int
    node_id: str = Field(max_length=64)
    choice_id: str = Field(max_length=64)
    is_decision: bool
    rationale: str | None = Field(default=None, sa_column=Column(Text))
    recorded_at: datetime = Field(default_factory=utcnow)
    elapsed_ms: int = Field(sa_type=sa.BigInteger)
    # The engine's verdict on this choice (engine.VERDICTS), judged when it was taken.
    verdict: str | None = Field(default=None, max_length=32)
    # The SHA-256 of the rationale, kept when the text is erased, and the keyed link that
    # chains this step to the one before, with its key's id (see chain.py); no link on
    # steps recorded before the chain existed.
    rationale_hash: str | None = Field(default=None, max_length=64)
    link: str | None = Field(default=None, max_length=64)
    link_key: str | None = Field(default=None, max_length=16)


class AssessmentSettings(SQLModel, table=True):
    """The settings of an assignment in assessment mode (one row per such assignment).

    It opens at the assignment's `opens_at` and closes at `closes_at` (the assignment's
    `due_at` is kept equal, for the lists that show a due date). `review` says what the
    candidate sees when: {when: [what, ...]}, with `assessments.REVIEW_WHEN` and
    `assessments.REVIEW_WHAT`.
    """

    __tablename__ = "assessment_settings"
    __table_args__ = (
        one_of("overdue", OVERDUE_RULES),
        one_of("grade_method", GRADE_METHODS),
        CheckConstraint("attempts_allowed >= 1", name="attempts_allowed"),
        CheckConstraint("time_limit_s IS NULL OR time_limit_s > 0", name="time_limit_s"),
        CheckConstraint("grace_s >= 0", name="grace_s"),
    )

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignments.id", unique=True)
    closes_at: datetime
    time_limit_s: int | None = None
    overdue: str = Field(default="close", max_length=16)
    grace_s: int = 0
    attempts_allowed: int = 1
    grade_method: str = Field(default="highest", max_length=16)
    access_code: str | None = Field(default=None, max_length=64)
    review: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AssessmentOverride(SQLModel, table=True):
    """A candidate's own time limit, dates or attempts allowed, with who set it and why.

    Never changed: the newest row for a candidate applies, and each field left None
    keeps the assessment's own setting.
    """

    __tablename__ = "assessment_overrides"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignments.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    time_limit_s: int | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    attempts_allowed: int | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    set_by_id: int = Field(foreign_key="users.id")
    set_at: datetime = Field(default_factory=utcnow)


class AttemptEvent(SQLModel, table=True):
    """One change of an attempt's state: when, to what, why, and by whom. Never changed.

    `actor_id` is None where the server's clock or the command line made the change.
    """

    __tablename__ = "attempt_events"
    __table_args__ = (one_of("state", ATTEMPT_STATES),)

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempts.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    state: str = Field(max_length=16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="users.id")


class RationaleMark(SQLModel, table=True):
    """A trainer's mark of one rationale against the rubric, with a comment. Never changed:
    the newest mark of a step applies."""

    __tablename__ = "rationale_marks"

    id: int | None = Field(default=None, primary_key=True)
    attempt_id: int = Field(foreign_key="attempts.id", index=True)
    step_id: int = Field(foreign_key="attempt_steps.id", index=True)
    marker_id: int = Field(foreign_key="users.id")
    at: datetime = Field(default_factory=utcnow)
    criteria: dict = Field(sa_column=Column(JSON, nullable=False))  # criterion -> met
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted for one key: a (username, address) pair, an address, or a
    username alone (`throttle.SCOPES`), and until when the next attempt must wait."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=16)
    key: str = Field(max_length=200)
    failures: int = 0
    last_at: datetime = Field(default_factory=utcnow)
    blocked_until: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in (or anonymous) browser session: its data, under its token's SHA-256."""

    __tablename__ = "web_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    data: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow, index=True)


class RecordUnlock(SQLModel, table=True):
    """A row that lets one transaction past the record triggers (see `records.unlocked`).

    It is deleted before that transaction commits: between transactions the table is empty.
    """

    __tablename__ = "record_unlocks"

    id: int | None = Field(default=None, primary_key=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    at: datetime = Field(default_factory=utcnow)


# What the outbox carries: xAPI statements for a learning record store, and (with LTI)
# scores for an LMS's line item through Assignment and Grade Services.
OUTBOX_KINDS = ("xapi", "ags-score")


class OutboxMessage(SQLModel, table=True):
    """A message for another system, written in the transaction of what it reports.

    `flask records send` delivers it (outbox.py): `tries` counts the deliveries that
    failed, `next_try_at` is when to try again (backing off) and `last_error` says why the
    last one failed. Its id (`message_id`) is derived, so a resend is harmless.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        one_of("kind", OUTBOX_KINDS),
        Index(
            "ix_outbox_waiting",
            "next_try_at",
            sqlite_where=sa.text("delivered_at IS NULL"),
            postgresql_where=sa.text("delivered_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    message_id: str = Field(max_length=64, unique=True)
    # Where it goes: None for the configured learning record store (xAPI).
    destination: str | None = Field(default=None, sa_column=Column(Text))
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    tries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_try_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    delivered_at: datetime | None = None


class Installation(SQLModel, table=True):
    """This installation (one row, made when first needed): the namespace of its derived ids.

    The namespace is drawn at random, so another installation, or this one's database
    rebuilt, never derives the same statement ids (outbox.namespace).
    """

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    namespace: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


class LtiPlatform(SQLModel, table=True):
    """An LMS registered by an admin to launch the app as an LTI 1.3 tool (lti.py)."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    client_id: str = Field(max_length=255)
    deployment_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    auth_login_url: str = Field(sa_column=Column(Text, nullable=False))
    auth_token_url: str = Field(sa_column=Column(Text, nullable=False))
    key_set_url: str = Field(sa_column=Column(Text, nullable=False))
    # Who registered it; cohorts made by learners' launches belong to them until shared.
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class LtiIdentity(SQLModel, table=True):
    """The local account of a person an LTI platform names by its subject (`sub`)."""

    __tablename__ = "lti_identities"
    __table_args__ = (UniqueConstraint("platform_id", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platforms.id")
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class LtiContext(SQLModel, table=True):
    """The cohort of an LMS course (an LTI context)."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platforms.id")
    context_id: str = Field(max_length=255)
    cohort_id: int = Field(foreign_key="cohorts.id", index=True)
    # Names and Roles Provisioning: where the LMS lists the course's members (memberships.py).
    memberships_url: str | None = Field(default=None, sa_column=Column(Text))


class LtiResourceLink(SQLModel, table=True):
    """A link placed in an LMS course, and the scenario or assignment it opens."""

    __tablename__ = "lti_resource_links"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform_id: int = Field(foreign_key="lti_platforms.id")
    resource_link_id: str = Field(max_length=255)
    scenario_key: str | None = Field(default=None, max_length=64)
    assignment_id: int | None = Field(default=None, foreign_key="assignments.id")
    # Assignment and Grade Services, from the link's latest launch (grades.py): where its
    # scores go, where its course's line items are listed, and the scopes the tool may ask.
    lineitem_url: str | None = Field(default=None, sa_column=Column(Text))
    lineitems_url: str | None = Field(default=None, sa_column=Column(Text))
    ags_scopes: list | None = Field(default=None, sa_column=Column(JSON))


class LtiLinkLearner(SQLModel, table=True):
    """A person who launched a resource link: their attempts at what it opens are graded."""

    __tablename__ = "lti_link_learners"
    __table_args__ = (UniqueConstraint("resource_link_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    resource_link_id: int = Field(foreign_key="lti_resource_links.id")
    user_id: int = Field(foreign_key="users.id", index=True)
    first_launched_at: datetime = Field(default_factory=utcnow)


class LtiLaunchState(SQLModel, table=True):
    """The state and nonce of one OIDC login, used by at most one launch (on any machine)."""

    __tablename__ = "lti_launch_states"

    id: int | None = Field(default=None, primary_key=True)
    state: str = Field(max_length=128, unique=True)
    nonce: str = Field(max_length=128, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    used_at: datetime | None = None


class LtiToolKey(SQLModel, table=True):
    """A key pair the app signs its LTI messages with; the active ones are in /lti/jwks."""

    __tablename__ = "lti_tool_keys"

    id: int | None = Field(default=None, primary_key=True)
    kid: str = Field(max_length=64, unique=True)
    private_key_pem: str = Field(sa_column=Column(Text, nullable=False))
    public_jwk: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a recorded step."""


@event.listens_for(AttemptStep, "before_update")
@event.listens_for(AttemptStep, "before_delete")
def refuse_to_rewrite_history(_mapper, _connection, step):
    """Keep the step log append-only: a recorded step is never changed or deleted."""
    raise AppendOnlyError(f"step {step.step_number} of attempt {step.attempt_id} is recorded")


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
@event.listens_for(AttemptEvent, "before_update")
@event.listens_for(AttemptEvent, "before_delete")
@event.listens_for(AssessmentOverride, "before_update")
@event.listens_for(AssessmentOverride, "before_delete")
@event.listens_for(RationaleMark, "before_update")
@event.listens_for(RationaleMark, "before_delete")
def refuse_to_rewrite_a_record(_mapper, _connection, entry):
    """Keep the audit log, attempt events, overrides and marks append-only."""
    raise AppendOnlyError(f"{entry.__tablename__} row {entry.id} is recorded")
