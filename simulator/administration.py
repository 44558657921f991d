"""Running accounts as an admin: finding, creating, changing roles, disabling and enabling.

Every change is an audit entry, committed with it; a role change or disabling ends every
session of the person at once (sessions.end_sessions), so it takes effect on their next
request. The last admin cannot stop being one, so the service always has an admin.
"""

from sqlalchemy import case, func, or_
from sqlmodel import select

from . import accounts, audit, sessions
from .db import db
from .models import ROLES, User, utcnow

PAGE_SIZE = 50
SEARCH_MAX = 100


class Refused(ValueError):
    """Raised with a plain sentence when an admin action is not allowed."""


def find_accounts(search="", role="", page=1):
    """Return one page of accounts matching a search of username or name, and the total."""
    statement = select(User)
    words = search.strip().lower()[:SEARCH_MAX]
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                User.username.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if role in ROLES:
        statement = statement.where(User.role == role)
    total = db.session.exec(statement.with_only_columns(func.count(User.id))).one()
    name = case((User.display_name == "", User.username), else_=User.display_name)
    statement = statement.order_by(func.lower(name), User.id)
    statement = statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return db.session.exec(statement).all(), total


def account_problems(username, display_name, role):
    """Return a message for each field of a new account that needs fixing."""
    errors = {}
    name = accounts.normal_username(username)
    if not name:
        errors["username"] = "Enter a username"
    elif problem := accounts.username_problem(name):
        errors["username"] = problem
    elif accounts.find_user(name) is not None:
        errors["username"] = f"There is already an account called {name!r}: choose another"
    if role not in ROLES:
        errors["role"] = "Choose a role"
    details = accounts.details_problems(display_name, "", "")
    if "display_name" in details:
        errors["display_name"] = details["display_name"]
    return errors


def create_account(actor, username, display_name, role):
    """Add an account with a one-time password, recorded in the audit log; return both."""
    password = accounts.one_time_password()
    person = accounts.new_user(
        username,
        password,
        role,
        one_time=True,
        display_name=display_name.strip(),
        created_by_id=actor.id,
    )
    db.session.add(person)
    db.session.flush()
    audit.record(actor, "account.create", person, f"Created {role} account {person.username!r}")
    db.session.commit()
    return person, password


def admin_count():
    """Return how many accounts are admins and not disabled."""
    statement = select(func.count(User.id)).where(User.role == "admin", User.disabled_at.is_(None))
    return db.session.exec(statement).one()


def change_role(actor, person, role):
    """Give a person another role, ending their sessions; refuse to leave no admin."""
    if role not in ROLES:
        raise Refused("Choose a role")
    if role == person.role:
        return False
    if person.role == "admin" and person.disabled_at is None and admin_count() <= 1:
        raise Refused(f"{person.name} is the only admin: make someone else an admin first")
    before, person.role = person.role, role
    audit.record(
        actor,
        "account.change_role",
        person,
        f"Changed {person.username!r} from {before} to {role}",
        before=before,
        after=role,
    )
    db.session.commit()
    sessions.end_sessions(person.id)
    return True


def disable(actor, person):
    """Stop an account signing in and end its sessions; refuse one's own or the last admin."""
    if person.id == actor.id:
        raise Refused("You cannot disable your own account")
    if person.disabled_at is not None:
        return False
    if person.role == "admin" and admin_count() <= 1:
        raise Refused(f"{person.name} is the only admin: make someone else an admin first")
    person.disabled_at = utcnow()
    audit.record(actor, "account.disable", person, f"Disabled {person.username!r}")
    db.session.commit()
    sessions.end_sessions(person.id)
    return True


def enable(actor, person):
    """Let a disabled account sign in again (an erased one stays disabled)."""
    if person.disabled_at is None:
        return False
    if is_erased(person):
        raise Refused("This account was erased: it cannot be enabled again")
    person.disabled_at = None
    audit.record(actor, "account.enable", person, f"Enabled {person.username!r}")
    db.session.commit()
    return True


def erased_username(person):
    """Return the username an erased account is given."""
    return f"erased-{person.id}"


def is_erased(person):
    """Say whether an account has been erased (pseudonymised)."""
    return person.username == erased_username(person)
