"""The scenario library: files on disk synced into pinned, hash-identified versions."""

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import select

from .db import db
from .models import ScenarioVersion
from .scenario import load_bytes, validate_paths


@dataclass
class SyncReport:
    """What a sync of the library found."""

    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)


class FileChangedError(Exception):
    """Raised when a scenario file changes between checking and storing it."""


def init_app(app):
    """Sync the library once per process, before its first request."""
    app.extensions["scenario_cache"] = {}
    app.extensions["library_synced"] = not app.config["SYNC_LIBRARY_ON_START"]
    app.extensions["library_lock"] = threading.Lock()
    app.before_request(sync_on_first_request)


def sync_on_first_request():
    """Read the scenarios folder when the app starts serving."""
    app = current_app
    if app.extensions["library_synced"]:
        return
    with app.extensions["library_lock"]:
        if app.extensions["library_synced"]:
            return
        try:
            sync(Path(app.config["SCENARIOS_DIR"]))
        except (OperationalError, ProgrammingError):
            db.session.rollback()
            app.logger.exception("Could not sync the library: run `flask db upgrade` first")
            return
        app.extensions["library_synced"] = True


def sync(folder):
    """Store every valid scenario file as a version and offer only those; log the rest."""
    report = SyncReport()
    logger = current_app.logger
    if not folder.is_dir():
        logger.error("The scenarios folder %s does not exist; no scenario is offered", folder)
        mark_current([])
        return report
    checked = validate_paths([str(folder)])
    errors = {}
    for problem in checked.problems:
        if problem.is_error:
            errors.setdefault(problem.file, []).append(str(problem))
    current_ids = []
    for file in checked.files:
        name = relative_name(file.path, folder)
        if file.path in errors or file.scenario is None:
            report.refused[name] = errors.get(file.path, [])
            for problem in report.refused[name]:
                logger.warning("Scenario refused: %s", problem)
            continue
        try:
            version, created = store_version(file, name)
        except FileChangedError:
            logger.warning("Scenario %s changed while loading; it is read next time", name)
            report.refused[name] = [f"{name}: the file changed while it was being loaded"]
            continue
        (report.loaded if created else report.unchanged).append(name)
        current_ids.append(version.id)
    mark_current(current_ids)
    return report


def relative_name(path, folder):
    """Return a file's path inside the scenarios folder."""
    try:
        return Path(path).resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(path)


def store_version(file, name):
    """Return the stored version with this file's digest, adding it if new."""
    existing = version_by_digest(file.digest)
    if existing is not None:
        if existing.format_revision < file.scenario.revision:
            # Accepted again under newer rules: new attempts follow them (shuffled order),
            # while each earlier attempt keeps the order rule recorded on it.
            existing.format_revision = file.scenario.revision
            db.session.commit()
        return existing, False
    scenario = file.scenario
    source = Path(file.path).read_bytes()
    if hashlib.sha256(source).hexdigest() != file.digest:
        raise FileChangedError(name)
    version = ScenarioVersion(
        digest=file.digest,
        scenario_key=scenario.id,
        version=scenario.version,
        title=scenario.title,
        summary=scenario.summary,
        minutes=scenario.minutes,
        audience=",".join(scenario.audience),
        path=name,
        source=source,
        format_revision=scenario.revision,
    )
    db.session.add(version)
    try:
        db.session.commit()
    except IntegrityError:
        # Another process stored the same file first.
        db.session.rollback()
        return version_by_digest(file.digest), False
    return version, True


def version_by_digest(digest):
    """Return the stored version of a file by its hash, or None."""
    statement = select(ScenarioVersion).where(ScenarioVersion.digest == digest)
    return db.session.exec(statement).first()


def mark_current(version_ids):
    """Offer exactly these versions; every other stays stored for its attempts."""
    for version in db.session.exec(select(ScenarioVersion)).all():
        version.current = version.id in version_ids
    db.session.commit()


def offered_versions():
    """Return the versions offered to trainees, in title order."""
    statement = select(ScenarioVersion).where(ScenarioVersion.current)
    return db.session.exec(statement.order_by(ScenarioVersion.title)).all()


def offered_version(scenario_key):
    """Return the offered version of a scenario, or 404."""
    statement = select(ScenarioVersion).where(
        ScenarioVersion.current, ScenarioVersion.scenario_key == scenario_key
    )
    return db.session.exec(statement).first() or abort(404)


def scenario_for(version):
    """Return the playable scenario of a stored version, parsing it once per process.

    The stored bytes were valid when stored; they are read by the rules of the format
    revision that accepted them, without looking for their pictures on disk, so a picture
    removed later leaves attempts playable (it is then missing from the page, not from
    the attempt).
    """
    cache = current_app.extensions["scenario_cache"]
    key = (version.digest, version.format_revision)
    if key not in cache:
        report = load_bytes(
            version.source, version.path, base_dir=None, revision=version.format_revision
        )
        if report.scenario is None:
            current_app.logger.error(
                "Stored scenario %s no longer loads: %s",
                version.path,
                "; ".join(str(p) for p in report.problems),
            )
            abort(409)
        cache[key] = report.scenario
    return cache[key]


def version_folder(version):
    """Return the folder a version's file lives in, against which its pictures resolve."""
    return Path(current_app.config["SCENARIOS_DIR"]) / Path(version.path).parent


def is_offered(scenario_key):
    """Say whether some version of this scenario is offered now."""
    statement = select(ScenarioVersion.id).where(
        ScenarioVersion.current, ScenarioVersion.scenario_key == scenario_key
    )
    return db.session.exec(statement).first() is not None
