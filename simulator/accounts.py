"""Accounts: password hashing, finding and creating people, one-time passwords."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlmodel import select

from . import audit, hashslots
from .db import db
from .models import ROLES, User

# OWASP's password storage advice for Argon2id: 19 MiB, 2 passes, 1 lane. On this project's
# 2-core machines a hash takes 18-42 ms (the hosts vary), against 235 ms for argon2-cffi's
# defaults (64 MiB, 3 passes, 4 lanes), which let 8 guessing connections slow everyone's
# pages to seconds.
# A stored hash with other parameters is replaced at the person's next sign-in.
HASH_PARAMETERS = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}


class SlottedHasher(PasswordHasher):
    """Argon2id that hashes only in one of the machine's hash slots (hashslots.py), so that
    a crowd signing in at once hashes one per core rather than all at once."""

    def hash(self, password, *, salt=None):
        """Hash a password, in a slot."""
        with hashslots.slot():
            return super().hash(password, salt=salt)

    def verify(self, hash, password):  # noqa: A002 - argon2-cffi's own parameter name
        """Verify a password against a hash, in a slot."""
        with hashslots.slot():
            return super().verify(hash, password)


hasher = SlottedHasher(**HASH_PARAMETERS)
# One-time passwords are random (16 characters of 31: about 79 bits), so guessing them
# needs no slow hash; a cheap one lets a trainer create 500 accounts in one request. The
# person replaces it at first sign-in, hashed with `hasher`.
one_time_hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
USERNAME_MAX = 64
PASSWORD_MIN = 8
PASSWORD_MAX = 1024
NAME_MAX = 100
FORCE_MAX = 100
COLLAR_MAX = 32
# Verified when no such user exists, so a wrong username takes as long as a wrong password.
_UNUSED_HASH = hasher.hash("not a real password")
# Easy to read aloud and to type: no 0/O, 1/l/I.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def hash_password(password):
    """Hash a password with Argon2id."""
    return hasher.hash(password)


def check_password(user, password):
    """Say whether the password is the user's, upgrading an outdated hash."""
    try:
        hasher.verify(user.password_hash if user else _UNUSED_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return True


def normal_username(username):
    """Compare usernames without regard to case or surrounding spaces."""
    return username.strip().lower()


# `find_user`'s read, built once (every sign-in makes it).
FIND_USER = select(User).where(User.username == bindparam("username"))


def find_user(username):
    """Return the user with this username, or None."""
    return db.session.exec(FIND_USER, params={"username": normal_username(username)}).first()


def find_users(usernames):
    """Return {username: user} for those of these (normalised) usernames that have accounts."""
    wanted = set(usernames)
    if not wanted:
        return {}
    statement = select(User).where(User.username.in_(wanted))
    return {user.username: user for user in db.session.exec(statement).all()}


def users_by_id(ids):
    """Return {id: user} for these account ids."""
    wanted = set(ids)
    if not wanted:
        return {}
    statement = select(User).where(User.id.in_(wanted))
    return {user.id: user for user in db.session.exec(statement).all()}


def username_problem(username):
    """Return what is wrong with a (normalised) username, or None."""
    if not username or len(username) > USERNAME_MAX or not username.isprintable():
        return f"A username is 1 to {USERNAME_MAX} printable characters."
    if any(ch.isspace() for ch in username) or "," in username:
        return "A username has no spaces or commas."
    return None


def password_problem(password):
    """Return what is wrong with a new password, or None."""
    if len(password) < PASSWORD_MIN:
        return f"A password is at least {PASSWORD_MIN} characters long."
    if len(password) > PASSWORD_MAX:
        return f"A password is at most {PASSWORD_MAX} characters long."
    return None


def new_user(username, password, role, one_time=False, **details):
    """Return an unsaved account, or raise ValueError saying what is wrong with the details.

    A one-time password is hashed cheaply and must be changed at first sign-in.
    """
    username = normal_username(username)
    problem = username_problem(username)
    if problem is None and role not in ROLES:
        problem = f"The role must be one of: {', '.join(ROLES)}."
    problem = problem or password_problem(password)
    if problem is None and find_user(username) is not None:
        problem = f"There is already an account called {username!r}."
    if problem:
        raise ValueError(problem)
    if one_time:
        details["must_change_password"] = True
    digest = (one_time_hasher if one_time else hasher).hash(password)
    return User(username=username, password_hash=digest, role=role, **details)


def create_user(username, password, role, **details):
    """Add an account, or raise ValueError saying what is wrong with the details."""
    user = new_user(username, password, role, **details)
    db.session.add(user)
    db.session.commit()
    return user


def one_time_password():
    """Return a new random password to give a person once; they must change it."""
    return "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4))


def set_one_time_password(user):
    """Give an account a new one-time password (not committed) and return it."""
    password = one_time_password()
    user.password_hash = one_time_hasher.hash(password)
    user.must_change_password = True
    db.session.add(user)
    return password


def change_password(user, password):
    """Set a password the person chose (not committed), ending any one-time password."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    db.session.add(user)


DETAIL_FIELDS = (
    ("display_name", "name", NAME_MAX),
    ("force", "force", FORCE_MAX),
    ("collar_number", "collar or warrant number", COLLAR_MAX),
)


def details_problems(display_name, force, collar_number):
    """Return a message for each detail that needs fixing; only the name is required."""
    errors = {}
    if not display_name.strip():
        errors["display_name"] = "Enter the person’s name"
    values = {"display_name": display_name, "force": force, "collar_number": collar_number}
    for field, label, most in DETAIL_FIELDS:
        value = values[field].strip()
        if len(value) > most:
            errors[field] = f"The {label} must be {most} characters or fewer"
        elif not value.isprintable():
            errors[field] = f"The {label} must be on one line, with no control characters"
    return errors


def update_details(actor, person, display_name, force, collar_number):
    """Change a person's name, force and collar number, recorded in the audit log."""
    before = {f: getattr(person, f) for f, _label, _most in DETAIL_FIELDS}
    person.display_name = display_name.strip()
    person.force = force.strip()
    person.collar_number = collar_number.strip()
    db.session.add(person)
    whose = "their own" if actor.id == person.id else f"{person.username!r}'s"
    audit.record(actor, "account.update", person, f"Changed {whose} details", before=before)
    db.session.commit()


def password_change_problems(person, current, new, confirm):
    """Return a message for each field of a password change that needs fixing."""
    errors = {}
    if not current:
        errors["current_password"] = "Enter your current password"
    elif not check_password(person, current):
        errors["current_password"] = "Your current password is not right: check it and try again"
    problem = password_problem(new) if new else "Enter a new password"
    if problem:
        errors["new_password"] = problem
    elif new == current:
        errors["new_password"] = "Your new password must be different from your current one"
    if "new_password" not in errors and new != confirm:
        errors["confirm_password"] = "The two new passwords are not the same: type it again"
    return errors


def choose_password(person, password):
    """Set the password a person chose for themselves, recorded in the audit log."""
    one_time = person.must_change_password
    change_password(person, password)
    what = (
        "Chose their own password in place of a one-time one"
        if one_time
        else "Changed their password"
    )
    audit.record(person, "account.change_password", person, what)
    db.session.commit()
