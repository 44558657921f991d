"""The scenario library, kept in the database and shared by every app machine.

A file comes in from the scenarios folder (`flask scenarios load`) or a trainer's upload,
and both ways check it alike (`check`): a file with an error is refused whole, and
nothing of it is kept. An accepted file is stored once, by the SHA-256 of its bytes, as a
draft `ScenarioVersion`, with its pictures and what the checker found (warnings, the
statistics in words, score bounds, the map), so that no request ever checks a file.

Publishing makes a draft the version of its scenario id that trainees get (`refresh`);
retiring takes the scenario out of the catalogue. Attempts stay pinned to the version
they began on, whatever happens later. When the checker changes (a new app or format
revision: `CHECKER`), `recheck` checks every stored version again; one that now fails is
listed with its problems on the library page and never offered, and trainees get the
newest published version that still passes.
"""

import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlmodel import select

from . import audit, maps, uploads
from .db import db
from .models import (
    WITHOUT_BYTES,
    LibraryScenario,
    Picture,
    ScenarioVersion,
    User,
    VersionPicture,
    utcnow,
)
from .scenario import FileReport, load_bytes
from .scenario.schema import REVISION, SLUG_PATTERN
from .scenario.stats import describe
from .scenario.trusted import read_accepted
from .scenario.validate import SUFFIXES
from .scenario.yamlsafe import MAX_BYTES, parse


def _fingerprint():
    """Return a digest of the code that checks a file: the checker, pictures and maps."""
    package = Path(__file__).parent
    digest = hashlib.sha256(str(REVISION).encode())
    for path in [*sorted((package / "scenario").glob("*.py")), package / "uploads.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# How long Graphviz may take to draw a map; past it, the version has only its outline.
MAP_SECONDS = 5
# Which checker last checked a stored version: a version checked by another is checked again.
CHECKER = _fingerprint()
_SLUG = re.compile(SLUG_PATTERN)


class Refused(Exception):
    """An action on the library that its rules forbid; the message says why and what to do."""


# -- Checking -------------------------------------------------------------------------------


class PictureProblems:
    """The pictures that came with a file, decoded when the checker first asks for one.

    `pictures` maps a path (relative to the file, '/' separators) to the picture's bytes,
    or is a folder to read them from. The checker asks `src in problems` and then
    `problems[src]`: the problem found decoding it, or None.
    """

    def __init__(self, pictures):
        self.pictures = pictures
        self.checked: dict[str, tuple[uploads.PictureCheck, bytes]] = {}

    def __contains__(self, src):
        if isinstance(self.pictures, Path):
            return _inside(self.pictures, src) is not None
        return uploads.picture_key(src) in self.pictures

    def __getitem__(self, src):
        if src not in self.checked:
            data = self._read(src)
            self.checked[src] = (uploads.check_picture(src, data), data)
        return self.checked[src][0].problem

    def _read(self, src):
        """Return a picture's bytes, reading at most one byte over the limit from a folder."""
        if not isinstance(self.pictures, Path):
            return self.pictures[uploads.picture_key(src)]
        with _inside(self.pictures, src).open("rb") as file:
            return file.read(uploads.MAX_PICTURE_BYTES + 1)


def _inside(folder, src):
    """Return the file `src` names under `folder`, or None if it is not a file inside it."""
    try:
        path = (folder / src).resolve()
        path.relative_to(folder.resolve())
    except (ValueError, OSError):
        return None
    return path if path.is_file() else None


@dataclass
class Checked:
    """What checking one file found, with everything needed to store it."""

    name: str
    source: bytes
    report: FileReport
    stats: list[str] = field(default_factory=list)
    map_svg: str | None = None
    pictures: dict[str, tuple[uploads.PictureCheck, bytes]] = field(default_factory=dict)

    @property
    def ok(self):
        """Say whether the file has no error."""
        return self.report.ok and self.report.scenario is not None

    @property
    def key(self):
        """Return the scenario id the file declares, or None."""
        return self.report.scenario_id


def check(name, source, pictures, revision=REVISION):
    """Check a file's bytes with the pictures that came with it (a dict, or its folder)."""
    problems = PictureProblems(pictures)
    report = load_bytes(source, name, pictures=problems, revision=revision)
    checked = Checked(name, source, report)
    if report.stats is not None:
        checked.stats = describe(report)
    scenario = report.scenario
    if scenario is not None:
        for src in sorted({n.image.src for n in scenario.nodes.values() if n.image}):
            problems[src]  # every picture used has been decoded by now; this reads the cache
            checked.pictures[src] = problems.checked[src]
        dot = maps.dot_source(scenario, report.problems)
        checked.map_svg = maps.render_svg(dot, timeout=MAP_SECONDS)
    return checked


def problem_rows(report):
    """Return a report's problems as plain rows, kept with a version."""
    return [
        {
            "line": p.line,
            "column": p.column,
            "code": p.code,
            "severity": p.severity,
            "message": p.message,
        }
        for p in report.problems
    ]


# -- Storing ----------------------------------------------------------------------------------


def insert_ignoring_duplicates(model, **values):
    """Insert a row unless one with the same key is there (another machine may race us)."""
    insert = postgresql_insert if db.session.bind.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(model).values(**values).on_conflict_do_nothing())


def scenario_row(key, bundled=False):
    """Return the library's row for a scenario id, adding it if new."""
    insert_ignoring_duplicates(LibraryScenario, key=key, bundled=bundled, created_at=utcnow())
    statement = select(LibraryScenario).where(LibraryScenario.key == key)
    return db.session.exec(statement).one()


def store(checked, origin, uploader=None):
    """Return the stored draft of an accepted file and whether it is new; commits.

    The same bytes are stored once, whoever brings them: the stored version is returned.
    """
    assert checked.ok, "only an accepted file is stored"
    existing = version_by_digest(checked.report.digest)
    if existing is not None:
        if existing.format_revision < checked.report.scenario.revision:
            # Accepted again under newer rules: new attempts follow them (shuffled order),
            # while each earlier attempt keeps the order rule recorded on it.
            existing.format_revision = checked.report.scenario.revision
            keep_findings(existing, checked)
        store_pictures(existing, checked)
        db.session.commit()
        return existing, False
    scenario = checked.report.scenario
    scenario_row(scenario.id, bundled=origin == "folder")
    version = ScenarioVersion(
        digest=checked.report.digest,
        scenario_key=scenario.id,
        version=scenario.version,
        title=scenario.title,
        summary=scenario.summary,
        minutes=scenario.minutes,
        audience=",".join(scenario.audience),
        path=checked.name,
        source=checked.source,
        format_revision=scenario.revision,
        origin=origin,
        uploaded_by_id=uploader.id if uploader is not None else None,
    )
    keep_findings(version, checked)
    db.session.add(version)
    try:
        db.session.flush()
        store_pictures(version, checked)
        db.session.commit()
    except IntegrityError:
        # Another machine stored the same file first.
        db.session.rollback()
        return version_by_digest(checked.report.digest), False
    return version, True


def keep_findings(version, checked):
    """Keep what the checker found with the version, and which checker it was."""
    version.checked_with = CHECKER
    version.ok = checked.ok
    version.problems = problem_rows(checked.report)
    version.stats = checked.stats
    stats = checked.report.stats
    bounds = stats.bounds if stats is not None and not stats.too_large else None
    version.score_bounds = {k: list(v) for k, v in bounds.items()} if bounds else {}
    version.map_svg = checked.map_svg


def store_pictures(version, checked):
    """Store the pictures a version shows, each once by its hash, and name them for it."""
    for src, (picture, data) in checked.pictures.items():
        digest = uploads.picture_digest(data)
        insert_ignoring_duplicates(
            Picture,
            digest=digest,
            media_type=picture.media_type,
            width=picture.width,
            height=picture.height,
            data=data,
            stored_at=utcnow(),
        )
        insert_ignoring_duplicates(VersionPicture, version_id=version.id, src=src, digest=digest)


def version_by_digest(digest):
    """Return the stored version of a file by its hash, or None."""
    statement = select(ScenarioVersion).where(ScenarioVersion.digest == digest)
    return db.session.exec(statement).first()


def version_picture(version, src):
    """Return the picture a version names `src`, or None."""
    statement = (
        select(Picture)
        .join(VersionPicture, VersionPicture.digest == Picture.digest)
        .where(VersionPicture.version_id == version.id, VersionPicture.src == src)
    )
    return db.session.exec(statement).first()


# -- Publishing and retiring --------------------------------------------------------------


def may_manage(user, scenario):
    """Say whether a person may publish or retire a scenario: its owner, or an admin.

    A scenario nobody has published yet is anyone's to claim; a bundled one is the admins'.
    """
    if user.role == "admin":
        return True
    if user.role != "trainer" or scenario.bundled:
        return False
    return scenario.owner_id in (None, user.id)


def owner_name(scenario):
    """Say who owns a scenario, in words."""
    if scenario.bundled:
        return "the admins (it came with the app)"
    owner = db.session.get(User, scenario.owner_id) if scenario.owner_id else None
    return owner.name if owner is not None else "nobody yet (never published)"


def locked_scenario(key):
    """Return a scenario's row, locked until commit so that two publishes take turns."""
    statement = select(LibraryScenario).where(LibraryScenario.key == key).with_for_update()
    return db.session.exec(statement).one()


def highest_published(key):
    """Return the highest version number published for a scenario id, or None."""
    statement = select(func.max(ScenarioVersion.version)).where(
        ScenarioVersion.scenario_key == key, ScenarioVersion.published_at.is_not(None)
    )
    return db.session.exec(statement).one()


def publish_problem(user, version, scenario):
    """Return why a version may not be published by this person, or None."""
    if version.published_at is not None:
        return "This version is already published."
    if not version.ok:
        return "This version fails the checks: fix the problems listed, then upload it again."
    if user is not None and not may_manage(user, scenario):
        return (
            f"Only its owner, {owner_name(scenario)}, or an admin can publish this scenario. "
            "Copy it as a new draft under your own id instead."
        )
    highest = highest_published(version.scenario_key)
    if highest is not None and version.version <= highest:
        return (
            f"Version {highest} is already published: give this file 'version: "
            f"{highest + 1}' (or higher) and upload it again."
        )
    return None


def publish(user, version):
    """Make a draft the version trainees get; raise Refused with the reason if it may not be.

    `user` is None for the command line. The first trainer to publish a scenario owns it.
    Publishing a retired scenario returns it to the catalogue.
    """
    scenario = locked_scenario(version.scenario_key)
    problem = publish_problem(user, version, scenario)
    if problem:
        db.session.rollback()
        raise Refused(problem)
    version.published_at = utcnow()
    version.published_by_id = user.id if user is not None else None
    if scenario.owner_id is None and not scenario.bundled and user is not None:
        scenario.owner_id = user.id
    scenario.retired_at = scenario.retired_by_id = None
    refresh(scenario)
    audit.record(
        user,
        "scenario.publish",
        version,
        f"Published version {version.version} of {version.title!r} ({version.scenario_key}).",
        scenario=version.scenario_key,
        version=version.version,
        digest=version.digest,
    )
    db.session.commit()


def set_retired(user, scenario, retired):
    """Take a scenario out of the catalogue (its attempts and results stay), or return it,
    offering its newest good version again; raise Refused unless the person may."""
    scenario = locked_scenario(scenario.key)
    if not may_manage(user, scenario):
        db.session.rollback()
        what = "retire" if retired else "restore"
        raise Refused(f"Only its owner, {owner_name(scenario)}, or an admin can {what} it.")
    if (scenario.retired_at is not None) != retired:
        scenario.retired_at = utcnow() if retired else None
        scenario.retired_by_id = user.id if retired else None
        refresh(scenario)
        action, done = ("retire", "Retired") if retired else ("restore", "Returned")
        audit.record(user, f"scenario.{action}", scenario, f"{done} {scenario.key}.")
    db.session.commit()


def refresh(scenario):
    """Mark as current the newest published version that passes the checks, if not retired.

    The newest is the highest `version`, then the latest published: so a version that
    fails after an upgrade leaves trainees on the last good one.
    """
    statement = select(ScenarioVersion).where(ScenarioVersion.scenario_key == scenario.key)
    versions = db.session.exec(statement).all()
    good = [v for v in versions if v.published_at is not None and v.ok]
    best = max(good, key=lambda v: (v.version, v.published_at), default=None)
    if scenario.retired_at is not None:
        best = None
    for version in versions:
        version.current = version is best


# -- The scenarios folder -----------------------------------------------------------------


@dataclass
class LoadReport:
    """What loading the scenarios folder did, by file name."""

    published: list[str] = field(default_factory=list)
    unchanged: dict[str, str] = field(default_factory=dict)  # name -> why nothing changed
    refused: dict[str, list[str]] = field(default_factory=dict)  # name -> problems
    rechecked: list[str] = field(default_factory=list)  # versions that now fail, in words

    @property
    def ok(self):
        """Say whether nothing was refused."""
        return not self.refused


def folder_files(folder) -> Iterator[Path]:
    """Yield the library's files under a folder, subfolders included, in path order."""
    yield from sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def load_folder(folder):
    """Check every file in the scenarios folder as an upload is checked, and publish it
    when its `version` is higher than the published one; never retire anything.

    Two files with one scenario id are both refused (the published version stays).
    Afterwards every stored version the current checker has not checked is checked again.
    """
    report = LoadReport()
    if not folder.is_dir():
        report.refused[str(folder)] = [f"{folder}: the scenarios folder does not exist"]
        return report
    checked = []
    for path in folder_files(folder):
        name = path.relative_to(folder).as_posix()
        if path.stat().st_size > MAX_BYTES:
            report.refused[name] = [f"{name}: over the limit of {MAX_BYTES:,} bytes (1 MiB)"]
            continue
        checked.append(check(name, path.read_bytes(), path.parent))
    for item in refuse_duplicate_ids(checked, report):
        load_one(item, report)
    report.rechecked = recheck()
    return report


def refuse_duplicate_ids(checked, report):
    """Refuse every file whose scenario id another file also declares; return the rest."""
    by_key = {}
    for item in checked:
        if item.key is not None:
            by_key.setdefault(item.key, []).append(item.name)
    kept = []
    for item in checked:
        names = by_key.get(item.key, [item.name])
        if len(names) > 1:
            others = ", ".join(n for n in names if n != item.name)
            report.refused[item.name] = [
                f"{item.name}: scenario id '{item.key}' is also used by {others}: "
                "give each scenario its own id (the published version stays)"
            ]
        elif not item.ok:
            report.refused[item.name] = [str(p) for p in item.report.problems if p.is_error]
        else:
            kept.append(item)
    return kept


def load_one(item, report):
    """Store one accepted file from the folder and publish it if it is newer."""
    key, number = item.key, item.report.scenario.version
    existing = db.session.exec(select(LibraryScenario).where(LibraryScenario.key == key)).first()
    if existing is not None and not existing.bundled:
        report.refused[item.name] = [
            f"{item.name}: scenario id '{key}' belongs to a scenario written in the app "
            f"(owner: {owner_name(existing)}): give the file another id"
        ]
        return
    same = version_by_digest(item.report.digest)
    if same is not None and same.published_at is not None:
        store(item, "folder")  # read by newer rules from now on, if it passes them
        report.unchanged[item.name] = "already published"
        return
    highest = highest_published(key)
    if highest is not None and number <= highest:
        report.unchanged[item.name] = (
            f"version {number} is not higher than the published version {highest}"
        )
        return
    version, _ = store(item, "folder")
    try:
        publish(None, version)
    except Refused as refused:
        report.refused[item.name] = [f"{item.name}: {refused}"]
        return
    report.published.append(item.name)


def recheck():
    """Check again every stored version the current checker has not checked; commit each.

    Return a sentence for each version that fails now (it stops being offered; the newest
    published version that passes is offered instead).
    """
    statement = select(ScenarioVersion.id).where(
        (ScenarioVersion.checked_with != CHECKER) | ScenarioVersion.checked_with.is_(None)
    )
    failing = []
    for version_id in db.session.exec(statement.order_by(ScenarioVersion.id)).all():
        version = db.session.get(ScenarioVersion, version_id)
        pictures = stored_pictures(version)
        checked = check(version.path, version.source, pictures, version.format_revision)
        keep_findings(version, checked)
        refresh(locked_scenario(version.scenario_key))
        db.session.commit()
        if not checked.ok:
            failing.append(
                f"{version.scenario_key} version {version.version} ({version.path}) "
                "fails the checks now and is not offered"
            )
    return failing


def stored_pictures(version):
    """Return a stored version's pictures by path, as they were accepted."""
    statement = (
        select(VersionPicture.src, Picture.data)
        .join(Picture, Picture.digest == VersionPicture.digest)
        .where(VersionPicture.version_id == version.id)
    )
    return dict(db.session.exec(statement).all())


def init_app(app):
    """Keep parsed scenarios per process; load the folder first only if configured to.

    `LOAD_LIBRARY_ON_START` is for tests and quick trials: a real server loads the folder
    with `flask scenarios load` when it is deployed, so no worker checks a file.
    """
    app.extensions["scenario_cache"] = {}
    app.extensions["library_loaded"] = not app.config["LOAD_LIBRARY_ON_START"]
    app.extensions["library_lock"] = threading.Lock()
    app.before_request(load_on_first_request)


def load_on_first_request():
    """Load the scenarios folder before the first request, when configured to."""
    app = current_app
    if app.extensions["library_loaded"]:
        return
    with app.extensions["library_lock"]:
        if app.extensions["library_loaded"]:
            return
        try:
            report = load_folder(Path(app.config["SCENARIOS_DIR"]))
        except (OperationalError, ProgrammingError):
            db.session.rollback()
            app.logger.exception("Could not load the library: run `flask db upgrade` first")
            return
        for problems in report.refused.values():
            for problem in problems:
                app.logger.warning("Scenario refused: %s", problem)
        app.extensions["library_loaded"] = True


# -- Copying ----------------------------------------------------------------------------------


def with_new_id(source, key):
    """Return a file's bytes with its scenario id replaced by `key`, all else unchanged."""
    if not _SLUG.fullmatch(key):
        raise Refused(
            "An id is lower-case letters, digits and hyphens, starting with a letter, "
            "at most 64 characters (for example 'doorstep-revised')."
        )
    document = parse(source)
    node = document.root.get("id")
    lines = source.decode("utf-8").splitlines(keepends=True)
    line = lines[node.line - 1]
    start = node.column - 1
    rest = line[start:]
    token = re.match(r"""("[^"]*"|'[^']*'|[^\s#]+)""", rest).group(0)
    lines[node.line - 1] = line[:start] + key + rest[len(token) :]
    return "".join(lines).encode("utf-8")


def copy_as_draft(user, version, key):
    """Store a copy of a version under a new scenario id as the person's draft.

    Raise Refused if the id is taken or the copy fails the checks.
    """
    if db.session.exec(select(LibraryScenario).where(LibraryScenario.key == key)).first():
        raise Refused(f"The id '{key}' is already used in the library: choose another.")
    source = with_new_id(version.source, key)
    checked = check(version.path, source, stored_pictures(version))
    if not checked.ok:
        raise Refused("The copy fails the checks: " + "; ".join(map(str, checked.report.problems)))
    copy, _ = store(checked, "copy", user)
    audit.record(
        user,
        "scenario.copy",
        copy,
        f"Copied {version.scenario_key} version {version.version} as the draft {key}.",
        source_version=version.id,
    )
    db.session.commit()
    return copy


# -- Reading, for play ------------------------------------------------------------------------


def offered_versions():
    """Return the versions offered to trainees, in title order."""
    statement = select(ScenarioVersion).options(*WITHOUT_BYTES).where(ScenarioVersion.current)
    return db.session.exec(statement.order_by(ScenarioVersion.title)).all()


def offered_version(scenario_key):
    """Return the offered version of a scenario, or 404."""
    statement = (
        select(ScenarioVersion)
        .options(*WITHOUT_BYTES)
        .where(ScenarioVersion.current, ScenarioVersion.scenario_key == scenario_key)
    )
    return db.session.exec(statement).first() or abort(404)


def is_offered(scenario_key):
    """Say whether some version of this scenario is offered now."""
    return db.session.exec(offered_ids(scenario_key)).first() is not None


def offered_ids(scenario_key):
    """Return the statement that selects the id of the version of a scenario offered now."""
    return select(ScenarioVersion.id).where(
        ScenarioVersion.current, ScenarioVersion.scenario_key == scenario_key
    )


def scenario_for(version):
    """Return the playable scenario of a stored version, read once per process.

    Its bytes passed the checker when they came in, so they are read without checking
    again, by the rules of the format revision that accepted them, with the score bounds
    kept then. A version stored before the library kept them (never re-checked since the
    upgrade) is checked once here, and the log says to run `flask scenarios load`.
    """
    cache = current_app.extensions["scenario_cache"]
    key = (version.digest, version.format_revision)
    if key not in cache:
        if version.checked_with is not None and version.score_bounds is not None:
            cache[key] = read_accepted(
                version.source, version.format_revision, version.score_bounds
            )
        else:
            current_app.logger.warning(
                "Scenario %s was stored before checks were kept: run `flask scenarios load`",
                version.path,
            )
            report = load_bytes(version.source, version.path, revision=version.format_revision)
            if report.scenario is None:
                abort(409)
            cache[key] = report.scenario
    return cache[key]


# -- Uploading and the library page -----------------------------------------------------------


def upload(user, checked):
    """Store an accepted upload as the person's draft; return it and whether it is new.

    Raise Refused when its scenario id belongs to someone else: they copy it instead.
    """
    statement = select(LibraryScenario).where(LibraryScenario.key == checked.key)
    scenario = db.session.exec(statement).first()
    if scenario is not None and not may_manage(user, scenario):
        raise Refused(
            f"The id '{checked.key}' belongs to a scenario owned by {owner_name(scenario)}: "
            "only its owner or an admin adds versions to it. Copy it as a new draft from its "
            "library page, or give your file an id of its own."
        )
    version, created = store(checked, "upload", user)
    if created:
        audit.record(
            user,
            "scenario.upload",
            version,
            f"Uploaded {checked.name} as a draft of {checked.key} version {version.version}.",
            digest=version.digest,
        )
        db.session.commit()
    return version, created


@dataclass
class Entry:
    """One scenario on the library page, with its versions newest first."""

    scenario: LibraryScenario
    versions: list

    @property
    def current(self):
        """Return the version trainees get now, or None."""
        return next((v for v in self.versions if v.current), None)

    @property
    def latest(self):
        """Return the newest version stored."""
        return self.versions[0]

    @property
    def drafts(self):
        """Return the versions never published."""
        return [v for v in self.versions if v.published_at is None]

    @property
    def failing(self):
        """Return the versions that fail the checks now."""
        return [v for v in self.versions if not v.ok]


def entries():
    """Return every scenario in the library with its versions, in title order."""
    scenarios = db.session.exec(select(LibraryScenario)).all()
    statement = select(ScenarioVersion).options(*WITHOUT_BYTES)
    statement = statement.order_by(ScenarioVersion.version.desc(), ScenarioVersion.id.desc())
    by_key = {}
    for version in db.session.exec(statement).all():
        by_key.setdefault(version.scenario_key, []).append(version)
    found = [Entry(s, by_key[s.key]) for s in scenarios if s.key in by_key]
    return sorted(found, key=lambda e: ((e.current or e.latest).title.casefold(), e.scenario.key))


def entry(key):
    """Return one scenario with its versions newest first, or 404."""
    statement = select(LibraryScenario).where(LibraryScenario.key == key)
    scenario = db.session.exec(statement).first() or abort(404)
    versions = (
        select(ScenarioVersion).options(*WITHOUT_BYTES).where(ScenarioVersion.scenario_key == key)
    )
    versions = versions.order_by(ScenarioVersion.version.desc(), ScenarioVersion.id.desc())
    return Entry(scenario, list(db.session.exec(versions).all()))


def people(ids):
    """Return the people with these ids, by id (uploaders, publishers, owners)."""
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return {u.id: u for u in db.session.exec(select(User).where(User.id.in_(ids))).all()}


def published_versions():
    """Return, for each scenario ever published, the version trainees get or else its newest
    published one (a retired scenario's results stay readable), in title order."""
    statement = select(ScenarioVersion).options(*WITHOUT_BYTES)
    statement = statement.where(ScenarioVersion.published_at.is_not(None))
    newest = {}
    for version in db.session.exec(statement).all():
        held = newest.get(version.scenario_key)
        if held is None or (version.current, version.version) > (held.current, held.version):
            newest[version.scenario_key] = version
    return sorted(newest.values(), key=lambda v: (v.title.casefold(), v.scenario_key))
