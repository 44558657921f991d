"""LTI 1.3, the app as a tool: registered platforms, the tool's keys, launch states, and what
a launch maps to (an account, a cohort, a scenario or assignment).

pylti1p3 validates the messages; this module gives it its configuration from the database
(`DatabaseToolConfig`) and keeps each OIDC login's state and nonce in `lti_launch_states`
(`DatabaseLaunchData`), so that any app machine can take the launch, and each login is
used by one launch at most: a replayed launch finds its state used.
"""

import json
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.deployment import Deployment
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from . import assignments, audit, cohorts
from .db import db
from .models import (
    Cohort,
    CohortShare,
    LtiContext,
    LtiIdentity,
    LtiLaunchState,
    LtiPlatform,
    LtiResourceLink,
    LtiToolKey,
    User,
    utcnow,
)

# How long a login may wait for its launch: the platform answers at once.
LAUNCH_WINDOW = timedelta(minutes=10)
ROLE_PREFIXES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#",
    "http://purl.imsglobal.org/vocab/lis/v2/institution/person#",
    "http://purl.imsglobal.org/vocab/lis/v2/system/person#",
)
TEACHING_ROLES = {"Instructor", "Administrator", "ContentDeveloper", "Mentor"}
COHORT_AUDIENCE = "recruit"  # a trainer may change it on the cohort's page
ID_MAX = 255  # LTI's limit on issuers, client ids and deployment ids
URL_MAX = 2000
TEST_HOSTS = {"127.0.0.1", "localhost"}  # where a platform may use plain http, for testing
URL_NAMES = {"login_url": "login URL", "token_url": "token URL", "key_set_url": "key set URL"}


def generate_key():
    """Make and store a new RSA 2048 key pair for the tool, and return its row."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    # The key id is the key's JWK thumbprint, as pylti1p3 names it when it signs.
    public = JWK.from_pem(pem.encode()).export_public(as_dict=True)
    public.update(alg="RS256", use="sig")
    key = LtiToolKey(kid=public["kid"], private_key_pem=pem, public_jwk=public)
    db.session.add(key)
    db.session.commit()
    return key


def active_keys():
    """Return the tool's active keys, newest first."""
    statement = select(LtiToolKey).where(LtiToolKey.active).order_by(LtiToolKey.id.desc())
    return db.session.exec(statement).all()


def public_key_set():
    """Return the JWKS of the tool's active public keys."""
    return {"keys": [key.public_jwk for key in active_keys()]}


def add_platform(actor, issuer, client_id, deployment_ids, login_url, token_url, key_set_url):
    """Register an LMS; raise ValueError if this issuer and client id are registered."""
    if find_platform(issuer, client_id) is not None:
        raise ValueError(f"{issuer} with client id {client_id} is already registered.")
    platform = LtiPlatform(
        issuer=issuer,
        client_id=client_id,
        deployment_ids=list(deployment_ids),
        auth_login_url=login_url,
        auth_token_url=token_url,
        key_set_url=key_set_url,
        created_by_id=actor.id,
    )
    db.session.add(platform)
    db.session.flush()
    audit.record(actor, "lti.add_platform", platform, f"Registered LTI platform {issuer!r}")
    db.session.commit()
    return platform


def platforms():
    """Return the registered platforms, oldest first."""
    return db.session.exec(select(LtiPlatform).order_by(LtiPlatform.id)).all()


def find_platform(issuer, client_id):
    """Return the platform with this issuer and client id, or None."""
    statement = select(LtiPlatform).where(
        LtiPlatform.issuer == issuer, LtiPlatform.client_id == client_id
    )
    return db.session.exec(statement).first()


def platform_details(platform):
    """Return a platform's registration as the admin's form names its fields."""
    return {
        "issuer": platform.issuer,
        "client_id": platform.client_id,
        "deployment_ids": list(platform.deployment_ids),
        "login_url": platform.auth_login_url,
        "token_url": platform.auth_token_url,
        "key_set_url": platform.key_set_url,
    }


def deployment_list(text):
    """Return the deployment ids in a text, one a line or comma-separated, each once."""
    parts = (part.strip() for line in text.splitlines() for part in line.split(","))
    return list(dict.fromkeys(part for part in parts if part))


def url_problem(address, what):
    """Return why an address will not do as a platform's URL, or None.

    It must be https; plain http is allowed only on this machine, for testing.
    """
    if not address:
        return f"Enter the {what}"
    if len(address) > URL_MAX or any(c.isspace() for c in address):
        return f"The {what} must be one address of up to {URL_MAX:,} characters, with no spaces"
    scheme, host = scheme_and_host(address)
    if (scheme == "https" and host) or (scheme == "http" and host in TEST_HOSTS):
        return None
    return f"The {what} must start https:// (http:// only for 127.0.0.1 or localhost)"


def scheme_and_host(address):
    """Return an address's scheme and host name, or two Nones if it is not a valid URL."""
    try:
        parts = urlsplit(address)
        parts.port  # noqa: B018 (a port that is not a number raises ValueError)
    except ValueError:
        return None, None
    return parts.scheme, parts.hostname


def platform_problems(
    issuer, client_id, deployment_ids, login_url, token_url, key_set_url, platform=None
):
    """Return a message for each field of a platform's registration that needs fixing.

    `platform` is the registration being changed, if any: it may keep its own issuer and
    client id, but no two registrations may share them.
    """
    errors = {}
    if problem := url_problem(issuer, "issuer") or too_long(issuer, "issuer"):
        errors["issuer"] = problem
    if not client_id:
        errors["client_id"] = "Enter the client ID the platform gave this tool"
    elif problem := too_long(client_id, "client ID"):
        errors["client_id"] = problem
    elif find_platform(issuer, client_id) not in (None, platform):
        errors["client_id"] = f"{issuer} with client ID {client_id} is already registered"
    if not deployment_ids:
        errors["deployment_ids"] = "Enter at least one deployment ID"
    elif any(too_long(each, "") for each in deployment_ids):
        errors["deployment_ids"] = f"Each deployment ID must be {ID_MAX} characters or fewer"
    urls = {"login_url": login_url, "token_url": token_url, "key_set_url": key_set_url}
    for field, address in urls.items():
        if problem := url_problem(address, URL_NAMES[field]):
            errors[field] = problem
    return errors


def too_long(value, what):
    """Return a message if an identifier is longer than LTI allows, else None."""
    return f"The {what} must be {ID_MAX} characters or fewer" if len(value) > ID_MAX else None


def update_platform(actor, platform, **details):
    """Change a platform's registration, recorded in the audit log with what it was."""
    before = platform_details(platform)
    platform.issuer, platform.client_id = details["issuer"], details["client_id"]
    platform.deployment_ids = list(details["deployment_ids"])
    platform.auth_login_url = details["login_url"]
    platform.auth_token_url = details["token_url"]
    platform.key_set_url = details["key_set_url"]
    db.session.add(platform)
    summary = f"Changed LTI platform {platform.issuer!r}"
    audit.record(actor, "lti.update_platform", platform, summary, before=before)
    db.session.commit()


class DatabaseToolConfig(ToolConfAbstract):
    """pylti1p3's tool configuration, read from `lti_platforms` and `lti_tool_keys`."""

    def check_iss_has_one_client(self, iss):
        """Say no: an issuer may have several client ids, so each look-up names one."""
        return False

    def check_iss_has_many_clients(self, iss):
        """Say yes (see check_iss_has_one_client)."""
        return True

    def find_registration_by_issuer(self, iss, *args, **kwargs):
        """Refuse: every look-up names its client id."""
        raise NotImplementedError("look platforms up by issuer and client id")

    def find_registration_by_params(self, iss, client_id, *args, **kwargs):
        """Return the registration of this issuer and client id, or None."""
        platform = find_platform(iss, client_id) if client_id else None
        if platform is None:
            return None
        keys = active_keys()
        registration = (
            Registration()
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
            .set_key_set_url(platform.key_set_url)
        )
        if keys:
            pem = keys[0].private_key_pem
            registration.set_tool_private_key(pem)
            registration.set_tool_public_key(JWK.from_pem(pem.encode()).export_to_pem().decode())
        return registration

    def find_deployment(self, iss, deployment_id):
        """Refuse: every look-up names its client id."""
        raise NotImplementedError("look deployments up by issuer and client id")

    def find_deployment_by_params(self, iss, deployment_id, client_id, *args, **kwargs):
        """Return the deployment if the platform has it, else None."""
        platform = find_platform(iss, client_id)
        if platform is None or deployment_id not in platform.deployment_ids:
            return None
        return Deployment().set_deployment_id(deployment_id)


class DatabaseLaunchData(LaunchDataStorage):
    """pylti1p3's launch data storage on `lti_launch_states`: the nonces of logins.

    The login saves its nonce (with its state, `remember_login`); the launch checks it.
    Nothing else is kept: a launch is validated once, so there is no launch to restore,
    and no cookie is needed (a browser would not send it on the platform's cross-site post).
    """

    NONCE_KEY = "lti1p3-nonce-"

    def get_session_cookie_name(self):
        """Say there is no session cookie: the state names the login."""
        return None

    def can_set_keys_expiration(self):
        """Say no: a login's lifetime is LAUNCH_WINDOW."""
        return False

    def get_value(self, key):
        """Return nothing: launch data and id-token hashes are never kept."""
        return None

    def set_value(self, key, value, exp=None):
        """Keep nothing here: `remember_login` stores the nonce with its state."""

    def check_value(self, key):
        """Say whether a nonce is that of a login made within LAUNCH_WINDOW."""
        if not key.startswith(self.NONCE_KEY):
            return False
        nonce = key.removeprefix(self.NONCE_KEY)
        statement = select(LtiLaunchState.id).where(
            LtiLaunchState.nonce == nonce, LtiLaunchState.created_at > utcnow() - LAUNCH_WINDOW
        )
        return db.session.exec(statement).first() is not None


def remember_login(state, nonce):
    """Store a login's state and nonce, for one launch."""
    db.session.add(LtiLaunchState(state=state, nonce=nonce))
    db.session.commit()


def use_login(state):
    """Mark a login used by its launch and return its nonce, or None if used or too old.

    One UPDATE, so that of two launches with one state (on any machines) only one wins.
    """
    now = utcnow()
    statement = (
        update(LtiLaunchState)
        .where(
            LtiLaunchState.state == state,
            LtiLaunchState.used_at.is_(None),
            LtiLaunchState.created_at > now - LAUNCH_WINDOW,
        )
        .values(used_at=now)
        .returning(LtiLaunchState.nonce)
    )
    nonce = db.session.execute(statement).scalar()
    db.session.commit()
    return nonce


def purge_logins(now=None):
    """Delete the logins older than LAUNCH_WINDOW, used or not; return how many."""
    cutoff = (now or utcnow()) - LAUNCH_WINDOW
    result = db.session.execute(delete(LtiLaunchState).where(LtiLaunchState.created_at < cutoff))
    db.session.commit()
    return result.rowcount


def role_of(claimed_roles):
    """Return the local role for an LTI roles claim: teaching roles are trainers."""
    names = set()
    for role in claimed_roles or ():
        for prefix in ROLE_PREFIXES:
            if role.startswith(prefix):
                names.add(role.removeprefix(prefix).split("#")[0])
        if "/" not in role and "#" not in role:
            names.add(role)  # a short name, as LTI 1.3 allows for context roles
    return "trainer" if names & TEACHING_ROLES else "trainee"


def person(platform, subject, role, name=""):
    """Return the account a platform's subject maps to, making it on the first launch.

    A made account has a generated username and no usable password. A later launch may
    raise a trainee to trainer, never lower a role: an admin may have changed it.
    """
    statement = select(User).join(LtiIdentity, LtiIdentity.user_id == User.id)
    statement = statement.where(
        LtiIdentity.platform_id == platform.id, LtiIdentity.subject == subject
    )
    user = db.session.exec(statement).first()
    if user is None:
        try:
            return new_person(platform, subject, role, name)
        except IntegrityError:
            # The same person's first launch in another window, on another machine, won.
            db.session.rollback()
            user = db.session.exec(statement).one()
    if user.role == "trainee" and role == "trainer":
        user.role = role
        db.session.add(user)
        db.session.commit()
    return user


def new_person(platform, subject, role, name):
    """Make the account of a platform's subject on its first launch; commit it."""
    user = User(
        username=f"lti-{platform.id}-{secrets.token_hex(5)}",
        password_hash="!lti",  # no password hashes to this: the account signs in by LTI
        role=role,
        display_name=(name or "")[:100],
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(LtiIdentity(platform_id=platform.id, subject=subject, user_id=user.id))
    audit.record(None, "lti.create_account", user, f"Made {user.username!r} for an LTI launch")
    db.session.commit()
    return user


def course_cohort(platform, context, user):
    """Return the cohort of an LMS course, making it on its first launch; add the person.

    The cohort belongs to the first instructor to launch into it, or, if a learner comes
    first, to the admin who registered the platform; a later instructor has it shared.
    """
    context_id = context.get("id")
    if not context_id:
        return None
    link = db.session.exec(
        select(LtiContext).where(
            LtiContext.platform_id == platform.id, LtiContext.context_id == context_id
        )
    ).first()
    if link is None:
        owner = user if user.role != "trainee" else db.session.get(User, platform.created_by_id)
        title = context.get("title") or context.get("label") or f"Course {context_id}"
        cohort = cohorts.create_cohort(
            owner, title[:100], "Made by an LMS course.", COHORT_AUDIENCE
        )
        link = LtiContext(platform_id=platform.id, context_id=context_id, cohort_id=cohort.id)
        db.session.add(link)
        db.session.commit()
    cohort = db.session.get(Cohort, link.cohort_id)
    if user.role == "trainee":
        cohorts.add_member(None, cohort, user)
    elif cohort.owner_id != user.id and not shared_with(cohort, user):
        db.session.add(CohortShare(cohort_id=cohort.id, trainer_id=user.id))
        db.session.commit()
    return cohort


def shared_with(cohort, trainer):
    """Say whether a cohort is shared with a trainer."""
    statement = select(CohortShare.id).where(
        CohortShare.cohort_id == cohort.id, CohortShare.trainer_id == trainer.id
    )
    return db.session.exec(statement).first() is not None


def resource_target(platform, link_id, asked):
    """Return (scenario key, assignment id) a resource link opens, remembering the first ask.

    `asked` is what this launch names (custom parameters or the target link URI); a link
    that names nothing opens what it opened before.
    """
    row = db.session.exec(
        select(LtiResourceLink).where(
            LtiResourceLink.platform_id == platform.id,
            LtiResourceLink.resource_link_id == link_id,
        )
    ).first()
    if row is None and link_id:
        row = LtiResourceLink(platform_id=platform.id, resource_link_id=link_id)
    if row is not None and any(asked):
        row.scenario_key, row.assignment_id = asked
        db.session.add(row)
        db.session.commit()
    if row is None:
        return asked
    return row.scenario_key, row.assignment_id


def deep_link_response(platform, deployment_id, settings, title, custom, launch_url):
    """Return the signed deep linking response that adds one link to a course: to a
    scenario (`custom` {"scenario": key}) or an assignment ({"assignment": "id"}).

    The link opens in a new window and names what it opens in its custom parameters.
    """
    registration = DatabaseToolConfig().find_registration_by_params(
        platform.issuer, platform.client_id
    )
    resource = (
        DeepLinkResource()
        .set_url(launch_url)
        .set_title(title)
        .set_custom_params(custom)
        .set_target("window")
    )
    return DeepLink(registration, deployment_id, settings).get_response_jwt([resource])


def assignments_to_offer(user):
    """Return (assignment, cohort, scenario title) for the live assignments of the cohorts
    an instructor can see, for a course to link to."""
    found = []
    for cohort in cohorts.visible_cohorts(user):
        for assignment in assignments.cohort_assignments(cohort.id):
            found.append((assignment, cohort))
    titles = assignments.scenario_titles(a.scenario_key for a, _ in found)
    return [(a, c, titles.get(a.scenario_key, a.scenario_key)) for a, c in found]


def describe(platform):
    """Return one line about a platform, for `flask lti list`."""
    deployments = ", ".join(platform.deployment_ids) or "none"
    return json.dumps(
        {
            "issuer": platform.issuer,
            "client_id": platform.client_id,
            "deployments": deployments,
            "login": platform.auth_login_url,
            "token": platform.auth_token_url,
            "keys": platform.key_set_url,
        }
    )


def platform_by_id(platform_id):
    """Return a registered platform by id, or None."""
    return db.session.get(LtiPlatform, platform_id)
