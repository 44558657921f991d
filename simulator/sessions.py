"""Server-side sessions that can be revoked: the cookie carries only an opaque token.

Flask's default session is a signed cookie: whoever copies it keeps full access until it
expires, whatever happens to the account, and it shows its contents (the user id, the CSRF
secret). Here the cookie holds a random token; the database keeps the session's data under
the token's SHA-256 (so a copy of the table opens no session), with its person and times.

- **Revoking.** `end_sessions(user_id)` deletes every session of a person at once. Signing
  out, a password reset, a role change, disabling and erasure end them all; a password
  change the person makes ends them all too, and the browser that made it carries on under
  a new token (`renew`), so that a copy of its old cookie opens nothing either.
- **Timeouts.** A session ends after `SESSION_IDLE_MINUTES` without a request, and
  `SESSION_HOURS` after it began, except that while its person has an assessment attempt
  in progress it lasts until that attempt's time is over (deadline and grace), whichever is
  later: a candidate is never signed out by the clock during a timed assessment.
- **Fixation.** When the person a session belongs to changes (signing in or out), it gets
  a new token and the old one ends.
- **Visitors not signed in** keep no row: their session (the sign-in form's CSRF secret,
  a notice after signing out) travels in the cookie, encrypted and authenticated with a key
  derived from `SECRET_KEY` (Fernet: AES-128-CBC with HMAC-SHA256, `visitor_box`), and
  ends `SESSION_IDLE_MINUTES` after it was last written; it is written again at most every
  `TOUCH_EVERY` while it is used. So anyone may load the sign-in page as often as they
  like without writing to the database, and a sign-in reads no session row and ends none.
  Data too large for a cookie (over `VISITOR_MAX` bytes) is stored as a signed-in
  person's is. Either way the cookie shows nothing of what it carries.
- **Cost.** For a signed-in person, one read per request, of the session and its person
  together, in the request's own database session (so on the connection its view goes on to
  use: no second connection); a write only when the data changed or
  the session was last marked seen more than `TOUCH_EVERY` ago, through a connection of its
  own so that the session's writes never commit a view's unfinished work (a sign-in, whose
  view knows its own work, stores its new session in its own transaction: `sign_in`). A new
  token and the end of the old one are one transaction. Ended sessions are purged now and
  then as new ones begin, and by `flask users purge-sessions`.
"""

import base64
import hashlib
import random
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, request
from flask import session as flask_session
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.exc import OperationalError
from werkzeug.datastructures import CallbackDict

from .db import db, hold
from .models import Attempt, User, WebSession, utcnow

TOUCH_EVERY = timedelta(minutes=1)
PURGE_CHANCE = 0.01  # of a new session, to purge ended ones first
serializer = TaggedJSONSerializer()
# A visitor's session is carried in the cookie while its data stays under this many bytes
# (serialised; the cookie is then at most about 2 KB), and stored as a person's otherwise.
VISITOR_MAX = 1024
# What starts a cookie that carries a visitor's session (a stored token never has a '.').
VISITOR_PREFIX = "v."


class ServerSession(CallbackDict, SessionMixin):
    """A session whose data lives in the database, under the hash of its cookie's token, or,
    for a visitor not signed in, sealed in the cookie itself (`in_cookie`)."""

    def __init__(
        self, data=None, token=None, user_id=None, seen_at=None, unread=None, in_cookie=False
    ):
        def changed(_self):
            self.modified = True

        super().__init__(data or {}, changed)
        self.token = token
        # Whether the request brought a session cookie (a token, or a visitor's session).
        self.had_cookie = token is not None or in_cookie
        # A visitor's session read from the cookie itself: no row holds it.
        self.in_cookie = in_cookie
        self.opened_user_id = user_id
        self.seen_at = seen_at
        self.modified = False
        # The database error that kept a cookie's session from being read (see `reachable`).
        self.unread = unread
        # Stored during the request (`sign_in`): only the cookie is left for save_session.
        self.stored = False

    def become(self, other):
        """Take another session's data and state in place (Flask holds on to this one)."""
        dict.clear(self)
        dict.update(self, other)
        names = (
            "token", "had_cookie", "in_cookie", "opened_user_id", "seen_at", "modified",
            "unread", "stored",
        )  # fmt: skip
        for name in names:
            setattr(self, name, getattr(other, name))


def digest(token):
    """Return the key a token is stored under: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@lru_cache(maxsize=4)
def visitor_box(secret_key):
    """Return the Fernet that seals visitors' sessions. Its key is derived from SECRET_KEY
    by HKDF for this use alone, so the secret that signs form tokens never encrypts as it is."""
    secret = secret_key.encode() if isinstance(secret_key, str) else secret_key
    derive = HKDF(hashes.SHA256(), length=32, salt=None, info=b"safe-to-report visitor session")
    return Fernet(base64.urlsafe_b64encode(derive.derive(secret)))


def seal(app, data):
    """Return a visitor's serialised session, encrypted and authenticated for the cookie."""
    return visitor_box(app.secret_key).encrypt(data.encode()).decode("ascii")


def open_visitor(app, sealed):
    """Return the visitor's session a cookie carries, or a new one if it is forged, damaged
    or ended (written more than SESSION_IDLE_MINUTES ago)."""
    box = visitor_box(app.secret_key)
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    try:
        data = serializer.loads(box.decrypt(sealed.encode("ascii"), ttl=idle).decode())
        written = datetime.fromtimestamp(box.extract_timestamp(sealed.encode("ascii")), UTC)
    except (InvalidToken, UnicodeError, ValueError, TypeError):
        return ServerSession(in_cookie=True)  # the cookie is replaced, or deleted
    return ServerSession(data, seen_at=written, in_cookie=True)


def due(session, now):
    """Say whether a session was last written TOUCH_EVERY ago or more (so it is written again,
    and its idle time starts afresh)."""
    return session.seen_at is None or now - session.seen_at >= TOUCH_EVERY


# The read every request with a session cookie makes, built once: the session's row as plain
# columns, and its person as an object in the request's identity map, where `load_user`
# finds them without a second statement.
READ = (
    select(WebSession.__table__, User)
    .join_from(WebSession.__table__, User, WebSession.user_id == User.id, isouter=True)
    .where(WebSession.__table__.c.id == bindparam("id"))
)
# A new session's row (`store_new`), built once.
INSERT = insert(WebSession)


class DatabaseSessions(SessionInterface):
    """Flask's session interface over the `web_sessions` table (see the module's doc)."""

    def open_session(self, app, request):
        """Return the session the cookie's token names, if it has not ended, else a new one."""
        token = request.cookies.get(self.get_cookie_name(app))
        if token and token.startswith(VISITOR_PREFIX):
            return open_visitor(app, token.removeprefix(VISITOR_PREFIX))
        if not token or len(token) > 100:
            return ServerSession()
        now = utcnow()
        try:
            row = db.session.execute(READ, {"id": digest(token)}).first()
        except OperationalError as error:  # the database is away (a restart, say)
            db.session.rollback()
            return ServerSession(unread=error)
        if row is None or ended(app, row, now):
            return ServerSession()
        data = serializer.loads(row.data) if row.data else {}
        hold(row.User)  # `load_user` finds the person without a statement of its own
        return ServerSession(data, token, row.user_id, row.last_seen_at)

    def save_session(self, app, session, response):
        """Store the session's data (or end it, if cleared), and set or delete the cookie."""
        if session.unread is not None:
            return  # nothing was read, so nothing is stored and the cookie stays as it is
        name, now = self.get_cookie_name(app), utcnow()
        user_id = session.get("user_id")
        ending = None
        if session.token and (not session or user_id != session.opened_user_id):
            ending, session.token = session.token, None  # cleared, or another person: it ends
        if not session:
            if ending is not None:
                end_session(ending)
            if session.had_cookie:
                response.delete_cookie(name, domain=self.get_cookie_domain(app))
            return
        data = serializer.dumps(dict(session)) if session.token is None else None
        carried = user_id is None and data is not None and len(data) <= VISITOR_MAX
        value = session.token
        try:
            if carried:  # a visitor's session, carried in the cookie: no row
                if session.in_cookie and not session.modified and not due(session, now):
                    return  # the cookie it came in is still good
                if ending is not None:
                    end_session(ending)
                value = VISITOR_PREFIX + seal(app, data)
            elif session.stored and not session.modified:
                pass  # stored by the view, in its own transaction: the cookie is all that is left
            elif session.token is None:
                value = session.token = secrets.token_urlsafe(32)
                begin_session(session.token, user_id, data, now, ending)
            elif session.modified or due(session, now):
                keep_session(session.token, serializer.dumps(dict(session)), now)
            else:
                return
        except OperationalError:
            # The database went away after the page was made (a restart): the page is
            # still sent, and the session stays as it was stored; a new one is not begun.
            app.logger.warning("Could not store the session: the database is out of reach")
            return
        response.set_cookie(
            name,
            value,
            httponly=self.get_cookie_httponly(app),
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            domain=self.get_cookie_domain(app),
            path=self.get_cookie_path(app),
        )


def reachable():
    """Raise, as the view would have, the database error that kept the session unread.

    Opening the session comes before Flask's error handling: an error raised there would
    be logged as a bug and never retried. Raised from a hook instead (before CSRF reads the
    session's token, which it would find missing), it gets the busy page's 503 with
    Retry-After, and a request safe to repeat is retried once
    (`web.errors.database_error`), with its session read afresh (`reopen`).
    """
    unread = getattr(flask_session._get_current_object(), "unread", None)
    if unread is not None:
        raise unread


def reopen():
    """Read the request's session again, if the database kept it from being read."""
    session = flask_session._get_current_object()
    if getattr(session, "unread", None) is not None:
        app = current_app._get_current_object()
        session.become(app.session_interface.open_session(app, request))


def ended(app, row, now):
    """Say whether a stored session has ended: idle too long, or too old, unless its person
    has an assessment attempt whose time is not yet over."""
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    longest = timedelta(hours=app.config["SESSION_HOURS"])
    if now - row.last_seen_at < idle and now - row.created_at < longest:
        return False
    return row.user_id is None or assessment_ends(row.user_id, now) is None


def assessment_ends(user_id, now):
    """Return when the person's live assessment attempt's time is over, if it is not yet."""
    ends = func.coalesce(Attempt.grace_until, Attempt.deadline_at)
    statement = select(func.max(ends)).where(
        Attempt.user_id == user_id,
        Attempt.mode == "assessment",
        Attempt.finished_at.is_(None),
        Attempt.abandoned_at.is_(None),
        ends > now,
    )
    return db.session.execute(statement).scalar()


def begin_session(token, user_id, data, now, ending=None):
    """Store a new session through a connection of its own (see `store_new`)."""
    with db.engine.begin() as connection:
        store_new(connection, token, user_id, data, now, ending)


def store_new(connection, token, user_id, data, now, ending=None):
    """Store a new session, ending the token `ending` replaces (if any) in the same
    transaction, and now and then purging ended ones first."""
    if ending is not None:
        connection.execute(delete(WebSession).where(WebSession.id == digest(ending)))
    if random.random() < PURGE_CHANCE:  # noqa: S311 - not security: when to tidy up
        purge(connection, current_app, now)
    row = {"id": digest(token), "user_id": user_id, "data": data}
    connection.execute(INSERT, row | {"created_at": now, "last_seen_at": now})


def sign_in(session, user_id):
    """Begin a new session for a person who has just signed in, in the request's own
    transaction (the view commits it with its own work, one commit for both).

    The old token ends in the same transaction (fixation); the session's data is only the
    person. save_session then just sets the cookie. Begun otherwise, a sign-in would store
    its session through a second connection (a second checkout and commit).
    """
    now = utcnow()
    ending, token = session.token, secrets.token_urlsafe(32)
    session.clear()
    session["user_id"] = user_id
    data = serializer.dumps(dict(session))
    store_new(db.session.connection(), token, user_id, data, now, ending)
    session.token, session.opened_user_id, session.seen_at = token, user_id, now
    session.stored, session.modified = True, False


def keep_session(token, data, now):
    """Store a session's data and mark it seen now."""
    with db.engine.begin() as connection:
        connection.execute(KEEP, {"key": digest(token), "kept": data, "seen": now})


# `keep_session`'s statement, built once.
KEEP = (
    update(WebSession.__table__)
    .where(WebSession.__table__.c.id == bindparam("key"))
    .values(data=bindparam("kept"), last_seen_at=bindparam("seen"))
)


def end_session(token):
    """End one session."""
    with db.engine.begin() as connection:
        connection.execute(delete(WebSession).where(WebSession.id == digest(token)))


def renew(session):
    """End this session's token now; the session is stored under a new one as it is saved."""
    if session.token is not None:
        end_session(session.token)
    session.token = None
    session.modified = True


def end_sessions(user_id, keep=None):
    """End every session of a person (but the one whose token is `keep`); return how many."""
    statement = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(WebSession.id != digest(keep))
    with db.engine.begin() as connection:
        return connection.execute(statement).rowcount


def purge(connection, app, now):
    """Delete the sessions that have ended by the clock (those in a live assessment stay)."""
    idle = now - timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    oldest = now - timedelta(hours=app.config["SESSION_HOURS"])
    in_assessment = (
        select(Attempt.user_id)
        .where(
            Attempt.mode == "assessment",
            Attempt.finished_at.is_(None),
            Attempt.abandoned_at.is_(None),
            func.coalesce(Attempt.grace_until, Attempt.deadline_at) > now,
        )
        .scalar_subquery()
    )
    statement = delete(WebSession).where(
        or_(WebSession.last_seen_at < idle, WebSession.created_at < oldest),
        or_(WebSession.user_id.is_(None), WebSession.user_id.not_in(in_assessment)),
    )
    return connection.execute(statement).rowcount


def purge_ended(app, now=None):
    """Delete the sessions that have ended; return how many."""
    with db.engine.begin() as connection:
        return purge(connection, app, now or utcnow())
