"""Accounts: password hashing, finding and creating people, one-time passwords."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from .db import db
from .models import ROLES, User

hasher = PasswordHasher()
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


def find_user(username):
    """Return the user with this username, or None."""
    statement = select(User).where(User.username == normal_username(username))
    return db.session.exec(statement).first()


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


def new_user(username, password, role, **details):
    """Return an unsaved account, or raise ValueError saying what is wrong with the details."""
    username = normal_username(username)
    problem = username_problem(username)
    if problem is None and role not in ROLES:
        problem = f"The role must be one of: {', '.join(ROLES)}."
    problem = problem or password_problem(password)
    if problem is None and find_user(username) is not None:
        problem = f"There is already an account called {username!r}."
    if problem:
        raise ValueError(problem)
    return User(username=username, password_hash=hash_password(password), role=role, **details)


def create_user(username, password, role, **details):
    """Add an account, or raise ValueError saying what is wrong with the details."""
    user = new_user(username, password, role, **details)
    db.session.add(user)
    db.session.commit()
    return user


def one_time_password():
    """Return a new random password to give a person once; they must change it."""
    return "-".join(
        "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4)
    )


def set_one_time_password(user):
    """Give an account a new one-time password (not committed) and return it."""
    password = one_time_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    db.session.add(user)
    return password


def change_password(user, password):
    """Set a password the person chose (not committed), ending any one-time password."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    db.session.add(user)
