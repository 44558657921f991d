"""Cohorts: who is in them, who may see and run them, and who may see whose records.

A cohort belongs to the trainer who made it; the owner may share it with other trainers,
who then run it alongside them (members, assignments, results). Only the owner or an
admin shares or archives it. An admin sees every cohort.
"""

from flask import abort
from sqlalchemy import case, func, or_
from sqlmodel import select

from . import accounts, audit
from .db import db
from .models import AUDIENCES, Cohort, CohortMember, CohortShare, User, utcnow

NAME_MAX = 100
DESCRIPTION_MAX = 2000
PEOPLE_PAGE_SIZE = 100
AUDIENCE_LABELS = {"recruit": "Recruits", "cpd": "Continuing professional development"}


def visible_cohorts_statement(viewer, archived=False):
    """Return a query of the cohorts a trainer or admin can see."""
    statement = select(Cohort).where(*visible_to(viewer.role == "admin", viewer.id))
    if archived is not None:
        statement = statement.where(
            Cohort.archived_at.is_not(None) if archived else Cohort.archived_at.is_(None)
        )
    return statement


def visible_to(everyone, viewer_id):
    """Return the conditions on the cohorts a viewer sees: none for an admin (`everyone`);
    for a trainer, their own and those shared with them. `viewer_id` may be a bound
    parameter, for a statement built once and run for any viewer."""
    if everyone:
        return []
    shared = select(CohortShare.cohort_id).where(CohortShare.trainer_id == viewer_id)
    return [or_(Cohort.owner_id == viewer_id, Cohort.id.in_(shared))]


def visible_cohorts(viewer, archived=False):
    """Return the cohorts a trainer or admin can see, by name (archived ones apart)."""
    statement = visible_cohorts_statement(viewer, archived).order_by(Cohort.name, Cohort.id)
    return db.session.exec(statement).all()


def visible_cohort(viewer, cohort_id):
    """Return a cohort the viewer can see, or 404 (one they cannot see is not revealed)."""
    statement = visible_cohorts_statement(viewer, archived=None).where(Cohort.id == cohort_id)
    return db.session.exec(statement).first() or abort(404)


def can_administer(viewer, cohort):
    """Say whether the viewer may share or archive the cohort: its owner or an admin."""
    return viewer.role == "admin" or cohort.owner_id == viewer.id


def visible_trainee_ids(viewer):
    """Return a query of the ids of the people in cohorts the viewer can see."""
    cohort_ids = visible_cohorts_statement(viewer, archived=None).with_only_columns(Cohort.id)
    return select(CohortMember.user_id).where(CohortMember.cohort_id.in_(cohort_ids))


def can_see_person(viewer, user_id):
    """Say whether a trainer or admin may see this person's records."""
    if viewer.role == "admin" or viewer.id == user_id:
        return True
    statement = visible_trainee_ids(viewer).where(CohortMember.user_id == user_id).limit(1)
    return db.session.exec(statement).first() is not None


def visible_person(viewer, user_id):
    """Return a person whose records the viewer may see, or 404."""
    person = db.session.get(User, user_id)
    if person is None or not can_see_person(viewer, user_id):
        abort(404)
    return person


def visible_people(viewer, page=1):
    """Return one page of the people whose records the viewer may see, by name, and the total."""
    statement = select(User)
    if viewer.role != "admin":
        statement = statement.where(User.id.in_(visible_trainee_ids(viewer)))
    total = db.session.exec(statement.with_only_columns(func.count(User.id))).one()
    name = case((User.display_name == "", User.username), else_=User.display_name)
    statement = statement.order_by(func.lower(name), User.id)
    statement = statement.offset((page - 1) * PEOPLE_PAGE_SIZE).limit(PEOPLE_PAGE_SIZE)
    return db.session.exec(statement).all(), total


def cohort_problems(name, description, audience, owner_id=None, cohort_id=None):
    """Return a message for each field of a cohort's details that needs fixing.

    With `owner_id`, a name the owner already gives another live cohort is refused
    (`cohort_id` is the cohort being renamed, which may keep its own name).
    """
    errors = {}
    if not name.strip():
        errors["name"] = "Enter a name for the cohort"
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name must be {NAME_MAX} characters or fewer"
    elif owner_id is not None and name_taken(owner_id, name, cohort_id):
        errors["name"] = (
            f"There is already a cohort called “{name.strip()}”: give this one a different "
            "name, for example with the month the course starts"
        )
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"The description must be {DESCRIPTION_MAX:,} characters or fewer"
    if audience not in AUDIENCES:
        errors["audience"] = "Select who the cohort is for"
    return errors


def same_name(name):
    """Return a cohort's name as compared for duplicates: any case, any run of spaces."""
    return " ".join(name.split()).casefold()


def name_taken(owner_id, name, cohort_id=None):
    """Say whether the owner has another live (not archived) cohort of the same name."""
    statement = select(Cohort.id, Cohort.name).where(
        Cohort.owner_id == owner_id, Cohort.archived_at.is_(None)
    )
    wanted = same_name(name)
    return any(
        found_id != cohort_id and same_name(found) == wanted
        for found_id, found in db.session.exec(statement).all()
    )


def create_cohort(actor, name, description, audience):
    """Create a cohort owned by the actor, recorded in the audit log."""
    cohort = Cohort(
        name=name.strip(), description=description.strip(), audience=audience, owner_id=actor.id
    )
    db.session.add(cohort)
    db.session.flush()
    audit.record(actor, "cohort.create", cohort, f"Created cohort {cohort.name!r}")
    db.session.commit()
    return cohort


def update_cohort(actor, cohort, name, description, audience):
    """Change a cohort's details, recorded in the audit log."""
    before = {"name": cohort.name, "description": cohort.description, "audience": cohort.audience}
    cohort.name, cohort.description, cohort.audience = name.strip(), description.strip(), audience
    db.session.add(cohort)
    audit.record(actor, "cohort.update", cohort, f"Changed cohort {cohort.name!r}", before=before)
    db.session.commit()


def set_archived(actor, cohort, archived):
    """Archive a cohort (its trainees keep their records) or bring it back."""
    cohort.archived_at = utcnow() if archived else None
    db.session.add(cohort)
    action = "cohort.archive" if archived else "cohort.unarchive"
    verb = "Archived" if archived else "Brought back"
    audit.record(actor, action, cohort, f"{verb} cohort {cohort.name!r}")
    db.session.commit()


def members(cohort_id):
    """Return the people in a cohort, by name."""
    statement = (
        select(User)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort_id)
    )
    return sorted(db.session.exec(statement).all(), key=lambda u: (u.name.casefold(), u.id))


def member(cohort_id, user_id):
    """Return a person in a cohort, or None if they are not in it."""
    statement = (
        select(User)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort_id, User.id == user_id)
    )
    return db.session.exec(statement).first()


def member_counts(cohort_ids):
    """Return the number of people in each of these cohorts."""
    statement = (
        select(CohortMember.cohort_id, func.count())
        .where(CohortMember.cohort_id.in_(cohort_ids))
        .group_by(CohortMember.cohort_id)
    )
    return dict(db.session.exec(statement).all())


def membership(cohort_id, user_id):
    """Return a person's membership of a cohort, or None if they are not in it."""
    statement = select(CohortMember).where(
        CohortMember.cohort_id == cohort_id, CohortMember.user_id == user_id
    )
    return db.session.exec(statement).first()


def add_member(actor, cohort, person, commit=True):
    """Put a trainee in a cohort (no change if already there); say whether they were added."""
    if membership(cohort.id, person.id) is not None:
        return False
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=person.id))
    audit.record(
        actor,
        "cohort.add_member",
        cohort,
        f"Added {person.username!r} to cohort {cohort.name!r}",
        user_id=person.id,
    )
    if commit:
        db.session.commit()
    return True


def remove_member(actor, cohort, person):
    """Take a person out of a cohort; their attempts and results are kept."""
    found = membership(cohort.id, person.id)
    if found is None:
        return False
    db.session.delete(found)
    audit.record(
        actor,
        "cohort.remove_member",
        cohort,
        f"Removed {person.username!r} from cohort {cohort.name!r}",
        user_id=person.id,
    )
    db.session.commit()
    return True


def shares(cohort_id):
    """Return the trainers a cohort is shared with, by username."""
    statement = (
        select(User)
        .join(CohortShare, CohortShare.trainer_id == User.id)
        .where(CohortShare.cohort_id == cohort_id)
        .order_by(User.username)
    )
    return db.session.exec(statement).all()


def share_problem(cohort, username):
    """Return (the trainer to share a cohort with, None), or (None, why it cannot be shared)."""
    username = accounts.normal_username(username)
    if not username:
        return None, "Enter the username of the trainer to share the cohort with"
    trainer = accounts.find_user(username)
    if trainer is None or trainer.role != "trainer":
        return None, f"{username!r} is not a trainer's account: check the username"
    if trainer.id == cohort.owner_id:
        return None, f"{username!r} owns this cohort"
    if trainer in shares(cohort.id):
        return None, f"The cohort is already shared with {username!r}"
    return trainer, None


def share(actor, cohort, trainer):
    """Share a cohort with another trainer; say whether it was newly shared."""
    if trainer.id == cohort.owner_id or trainer in shares(cohort.id):
        return False
    db.session.add(CohortShare(cohort_id=cohort.id, trainer_id=trainer.id))
    audit.record(
        actor,
        "cohort.share",
        cohort,
        f"Shared cohort {cohort.name!r} with {trainer.username!r}",
        trainer_id=trainer.id,
    )
    db.session.commit()
    return True


def unshare(actor, cohort, trainer):
    """Stop sharing a cohort with a trainer."""
    statement = select(CohortShare).where(
        CohortShare.cohort_id == cohort.id, CohortShare.trainer_id == trainer.id
    )
    found = db.session.exec(statement).first()
    if found is None:
        return False
    db.session.delete(found)
    audit.record(
        actor,
        "cohort.unshare",
        cohort,
        f"Stopped sharing cohort {cohort.name!r} with {trainer.username!r}",
        trainer_id=trainer.id,
    )
    db.session.commit()
    return True


def person_cohorts(user_id, archived=False):
    """Return the cohorts a person is in (not archived ones, unless asked)."""
    statement = (
        select(Cohort)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.user_id == user_id)
    )
    if not archived:
        statement = statement.where(Cohort.archived_at.is_(None))
    return db.session.exec(statement.order_by(Cohort.name)).all()
