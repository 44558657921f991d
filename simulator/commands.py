"""Command-line commands for running a server: `flask users ...`, `flask scenarios load`,
`flask assessments close-overdue`, `flask records verify` and `flask records send`
(xAPI statements and LTI scores).

`flask db ...` (migrations) comes from Flask-Alembic; `flask scenarios validate` and
`schema` live in cli.py.
"""

import sys
from collections import Counter
from functools import partial
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from . import (
    accounts,
    assessments,
    chain,
    demo,
    grades,
    library,
    lrs,
    outbox,
    privacy,
    records,
    sessions,
    throttle,
)
from .cli import scenarios_cli
from .counting import plural
from .models import ROLES

users_cli = AppGroup("users", help="Manage accounts.")
assessments_cli = AppGroup("assessments", help="Run CPD assessments.")
records_cli = AppGroup("records", help="Check, purge and send the records.")


def init_app(app):
    """Register the account and assessment commands (scenarios are registered by cli.py)."""
    app.cli.add_command(users_cli)
    app.cli.add_command(assessments_cli)
    app.cli.add_command(records_cli)


@assessments_cli.command("close-overdue")
def close_overdue_command():
    """Close every assessment attempt whose time is over, as its assessment says.

    Safe to run every minute from cron on several machines at once: each attempt is
    handled once, in its own transaction; one that fails is reported and the rest go on.
    Exits 1 if any failed.
    """
    closed, overdue, failed = assessments.close_overdue(log=partial(click.echo, err=True))
    click.echo(f"Closed {closed}; {overdue} entered their grace period; {failed} failed.")
    if failed:
        sys.exit(1)


@users_cli.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="trainee", show_default=True)
def add_user_command(username, role):
    """Add an account; the password is prompted for, or read from standard input."""
    password = read_password()
    try:
        user = accounts.create_user(username, password, role)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Added {user.role} {user.username!r}.")


@users_cli.command("unlock")
@click.argument("username")
def unlock_command(username):
    """Clear a username's failed sign-ins, so that it need not wait (recorded in the audit log)."""
    cleared, name = throttle.unlock(None, username), username.strip().casefold()
    if cleared:
        click.echo(f"Cleared {plural(cleared, 'sign-in wait')} for {name!r}: it can sign in now.")
    else:
        click.echo(f"{name!r} had no failed sign-ins to clear.")


@users_cli.command("erase")
@click.argument("username")
@click.option("--reason", required=True, help="Why, for the audit log (a request's reference).")
def erase_command(username, reason):
    """Erase a person: pseudonymise their account, remove the text of their rationales and
    the text written about them (simulator/privacy.py says what is kept)."""
    person = accounts.find_user(username)
    if person is None:
        raise click.ClickException(f"There is no account called {username.strip()!r}.")
    if problem := privacy.reason_problem(reason):
        raise click.ClickException(problem)
    erased = privacy.erase(None, person, reason)
    click.echo(f"Erased {username.strip()!r}: the account is now {erased.username!r}, disabled.")


@users_cli.command("purge-sessions")
def purge_sessions_command():
    """Delete the sessions that have ended (idle or too old); run it daily from cron."""
    click.echo(f"Purged {sessions.purge_ended(current_app)} ended session(s).")


def read_password():
    """Prompt for a password twice on a terminal, or read one line from a pipe."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    if not line.strip():
        raise click.ClickException("No password was given on standard input.")
    return line.rstrip("\r\n")


@users_cli.command("demo")
def demo_users_command():
    """Create the demo accounts and the demo cohort if they are missing, and say how to sign in."""
    report = demo.build()
    for username, password, role, name, created in report.accounts:
        shown = f"{username} / {password}" + (f" ({name})" if name else "")
        click.echo(
            f"Created demo {role}: {shown}" if created else f"Demo {role} already exists: {shown}"
        )
    if not report.created_anything:
        click.echo(
            f"The demo cohort {demo.COHORT_NAME!r} is already in place: nothing was created."
        )
    else:
        echo_demo_cohort(report)
    if report.no_scenarios:
        click.echo(
            "No recruit scenario is offered, so nothing is assigned: "
            "run `flask scenarios load`, then this again."
        )
    click.echo("Sign in at http://127.0.0.1:5000/sign-in with one of these.")


def echo_demo_cohort(report):
    """Say what the demo made of its cohort: members, assignments and attempts."""
    name, added = report.cohort.name, report.members_added
    if report.cohort_created:
        click.echo(f"Created cohort {name!r} (recruits), owned by demo-trainer: {added} trainees")
    elif added:
        click.echo(f"Cohort {name!r} already exists: added {added} trainee(s) to it")
    for _assignment, version, created in report.assignments:
        if created:
            click.echo(f"Assigned {version.title!r} ({version.scenario_key})")
    if report.assessment_created:
        click.echo(
            f"Set an assessment of {report.assessment.scenario_key!r}: "
            f"access code {demo.ASSESSMENT_CODE}, for demo-trainee to take"
        )
    made = report.attempts
    if made:
        counts = demo.outcomes(made)
        click.echo(
            f"Recorded {len(made)} attempt(s) with {report.steps} step(s): "
            + ", ".join(f"{count} {what}" for what, count in counts.items() if count)
        )


@scenarios_cli.command("load")
def load_command():
    """Check the scenarios folder as uploads are checked, and publish what is newer.

    A file is published only when its `version` is higher than the one published (a
    deploy never overwrites a trainer's newer version); nothing is ever retired. Then every
    stored version the current checker has not checked is checked again. Exits 1 when any
    file was refused.
    """
    folder = Path(current_app.config["SCENARIOS_DIR"])
    report = library.load_folder(folder)
    for name in report.published:
        click.echo(f"Published {name}")
    for name, why in report.unchanged.items():
        click.echo(f"Unchanged {name}: {why}")
    for name, problems in report.refused.items():
        click.echo(f"Refused {name}:")
        for problem in problems:
            click.echo(f"  {problem}")
    for sentence in report.rechecked:
        click.echo(f"Checked again: {sentence}")
    click.echo(
        f"{len(report.published)} published, {len(report.unchanged)} unchanged, "
        f"{len(report.refused)} refused, from {folder}"
    )
    if not report.ok:
        sys.exit(1)


@records_cli.command("verify")
@click.option("--attempt", "attempt_id", type=int, help="Check only this attempt.")
def verify_records_command(attempt_id):
    """Check every attempt's chain, seal and rationales, and name each one that fails."""
    try:
        found = records.verify(attempt_id)
    except records.MissingRecordsKey as error:
        raise click.ClickException(str(error)) from error
    counts = Counter()
    for checked in found:
        counts[checked.verdict.status] += 1
        echo_checked(checked)
    if attempt_id is not None and not counts:
        raise click.ClickException(f"There is no attempt {attempt_id}.")
    unlocks = records.open_unlocks()
    if unlocks:
        click.echo(
            f"record_unlocks holds {unlocks} row(s) left behind by a transaction: "
            "the triggers let every change past until they are deleted."
        )
    click.echo(
        f"{counts.total()} attempt(s) checked: {counts[chain.VERIFIED]} verified, "
        f"{counts[chain.NOT_CHAINED]} not chained, {counts[chain.FAILED]} failed."
    )
    if counts[chain.FAILED] or unlocks:
        raise SystemExit(1)


@records_cli.command("send")
@click.option(
    "--batch",
    type=click.IntRange(1, 500),
    default=50,
    show_default=True,
    help="Statements per request.",
)
def send_command(batch):
    """Deliver the waiting xAPI statements to the learning record store (SIMULATOR_XAPI_*),
    and the waiting LTI scores to their platforms' line items.

    Safe to run every minute from cron on several machines at once. A message that fails
    is tried again later, waiting longer each time, and never dropped. Exits 1 if any
    failed in this run.
    """
    failed = send_scores(batch)
    store = lrs.configured(current_app.config)
    if store is None:
        waiting = outbox.standing(outbox.XAPI).waiting
        click.echo(
            "No learning record store is configured (SIMULATOR_XAPI_ENDPOINT): nothing was "
            f"sent; {waiting} statement(s) waiting."
        )
    else:
        sent = outbox.send_waiting(outbox.XAPI, partial(lrs.deliver, store), batch)
        echo_outbox(store, sent, outbox.standing(outbox.XAPI))
        failed = failed or bool(sent.failed)
    if failed:
        sys.exit(1)


def send_scores(batch):
    """Deliver the waiting LTI scores, say how it went, and return whether any failed."""
    sent = outbox.send_waiting(grades.AGS_SCORES, grades.deliver, batch)
    left = outbox.standing(grades.AGS_SCORES)
    if sent.delivered or sent.failed or left.waiting:
        click.echo(f"Sent {sent.delivered} LTI score(s); {len(sent.failed)} failed.")
        click.echo(f"{left.waiting} score(s) waiting, {left.failing} of them failing.")
        for message_id, error in sent.failed:
            click.echo(f"Failing score {message_id}: {error}")
    return bool(sent.failed)


def echo_outbox(store, sent, left):
    """Say what was sent, what is waiting and what is failing, with the last errors."""
    click.echo(
        f"Sent {sent.delivered} statement(s) to {store.endpoint}; {len(sent.failed)} failed."
    )
    click.echo(f"{left.waiting} statement(s) waiting, {left.failing} of them failing.")
    for row in left.shown:
        next_try = f"{row.next_try_at:%Y-%m-%d %H:%M:%S} UTC"
        click.echo(
            f"Failing {row.message_id} ({row.tries} tries, next {next_try}): {row.last_error}"
        )
    if left.failing > len(left.shown):
        click.echo(f"... and {left.failing - len(left.shown)} more failing.")


@records_cli.command("purge-practice")
@click.option("--older-than", "days", type=int, required=True, help="Age in days (30 or more).")
def purge_practice_command(days):
    """Delete free-practice attempts begun more than DAYS ago, with their steps."""
    try:
        deleted = privacy.purge_practice(days)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Deleted {deleted} free-practice attempt(s) begun more than {days} days ago.")


def echo_checked(checked):
    """Say why an attempt failed, or that it was recorded before the chain existed."""
    verdict, name = checked.verdict, f"Attempt {checked.attempt_id}"
    for problem in verdict.problems:
        click.echo(f"{name} failed: {problem}.")
    if verdict.status == chain.NOT_CHAINED:
        started = f"{checked.started_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{name} is not chained: it was recorded before the chain (begun {started}).")
