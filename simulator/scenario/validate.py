"""Validate scenario files and libraries: every problem in one run, in the format's order."""

import dataclasses
import hashlib
import os
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from .build import build
from .checks import run_checks
from .explore import CHOICE_LIMIT, STATE_LIMIT, Stats, analyse
from .model import Scenario, frozen_mapping
from .passable import FRONT_LIMIT
from .problems import Problem, sort_key
from .schema import REVISION, ScenarioFile
from .translate import locate, translate
from .work import Work
from .yamlsafe import MAX_BYTES, Mapping, YamlRefused, parse, plain

SUFFIXES = (".yaml", ".yml")


@dataclass(slots=True)
class FileReport:
    """What checking one file found, and the scenario when it has no error."""

    path: str
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)
    scenario: Scenario | None = None
    stats: Stats | None = None
    scenario_id: str | None = None
    id_position: tuple[int, int] | None = None
    work: Work = field(default_factory=Work)

    @property
    def ok(self) -> bool:
        """Return whether the file has no error."""
        return not any(p.is_error for p in self.problems)


@dataclass(slots=True)
class LibraryReport:
    """What checking a set of files or folders found."""

    files: list[FileReport]
    problems: list[Problem]
    missing: list[str]

    def exit_code(self, strict: bool = False) -> int:
        """Return 2 for a missing path, 1 for an error (or, if strict, a warning), else 0."""
        if self.missing:
            return 2
        if any(p.is_error or strict for p in self.problems):
            return 1
        return 0


def load_file(
    path: str | Path, name: str | None = None, limit: int = STATE_LIMIT, revision: int = REVISION
) -> FileReport:
    """Read and check the scenario file at ``path`` under the rules of ``revision``."""
    path = Path(path)
    name = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            return _refused(
                name,
                "",
                YamlRefused(
                    "too-large",
                    1,
                    1,
                    f"the file is {size:,} "
                    f"bytes; the limit is {MAX_BYTES:,} bytes (1 MiB): split it",
                ),
            )
        data = path.read_bytes()
    except OSError as exc:
        return _refused(
            name, "", YamlRefused("yaml-syntax", 1, 1, f"cannot read the file: {exc.strerror}")
        )
    return load_bytes(data, name, path.parent, limit, revision)


def load_bytes(
    data: bytes,
    name: str,
    base_dir: Path | None = None,
    limit: int = STATE_LIMIT,
    revision: int = REVISION,
    work: Work | None = None,
    pictures: AbcMapping[str, str | None] | None = None,
) -> FileReport:
    """Check the scenario file whose bytes are ``data``; ``name`` is used in problems.

    ``pictures`` are the pictures that came with it, by path, each with the problem found
    when it was decoded or None (see checks.run_checks); without them an image must exist
    under ``base_dir``.

    ``revision`` is the revision of format 1 whose rules apply: a version stored before
    revision 2 is read again under revision 1, never under rules it was not accepted by.
    The work done is counted in ``work`` (and ``FileReport.work``), each kind bounded as
    ``work`` describes.
    """
    work = work if work is not None else Work()
    digest = hashlib.sha256(data).hexdigest()
    try:
        document = parse(data, work)
    except YamlRefused as refused:
        report = _refused(name, digest, refused)
        report.work = work
        return report
    report = FileReport(path=name, digest=digest, work=work)
    found = _form_problems(document, base_dir, revision, work, pictures)
    root = document.root
    if isinstance(root, Mapping):
        id_node = root.get("id")
        if id_node is not None and isinstance(getattr(id_node, "value", None), str):
            report.scenario_id, report.id_position = id_node.value, (id_node.line, id_node.column)
    if not any(severity == "error" for _, severity, *_ in found):
        scenario = build(plain(root), base_dir, digest, revision)
        stats, findings = analyse(scenario, limit, work)
        found.extend(_placed(findings, root, stats))
        report.stats = stats
        if stats.bounds is not None and not stats.too_large:
            scenario = dataclasses.replace(scenario, score_bounds=frozen_mapping(stats.bounds))
        if not any(severity == "error" for _, severity, *_ in found):
            report.scenario = scenario
    report.problems = sorted(
        (
            Problem(name, line, column, code, severity, message)
            for code, severity, line, column, message in found
        ),
        key=sort_key,
    )
    return report


def _refused(name: str, digest: str, refused: YamlRefused) -> FileReport:
    """Report a file that could not be read at all."""
    problem = Problem(name, refused.line, refused.column, refused.code, "error", refused.message)
    return FileReport(path=name, digest=digest, problems=[problem])


def _form_problems(
    document, base_dir: Path | None, revision: int, work: Work, pictures=None
) -> list[tuple]:
    """Return the problems of form and naming: duplicate keys, schema, names, warnings."""
    root = document.root
    found = [
        (
            "duplicate-key",
            "error",
            d.key.line,
            d.key.column,
            f"key '{d.key.value}' appears twice in this mapping: keep one",
        )
        for d in document.duplicates
    ]
    found += [
        (
            "schema",
            "error",
            k.line,
            k.column,
            "a key must be a single value, not a list or mapping",
        )
        for k in document.complex_keys
    ]
    if not isinstance(root, Mapping):
        what = "empty" if root is None else "not a mapping of keys to values"
        found.append(
            (
                "schema",
                "error",
                1,
                1,
                f"the file is {what}: a scenario starts with "
                "'format: 1' and the other top-level keys",
            )
        )
        return found
    try:
        ScenarioFile.model_validate(plain(root), context={"revision": revision})
    except ValidationError as error:
        found += [
            (code, "error", line, column, message)
            for code, line, column, message in translate(error, root, work)
        ]
    found += run_checks(root, base_dir, document.text, revision, work, pictures)
    return found


def _placed(findings, root: Mapping, stats: Stats) -> list[tuple]:
    """Give each exploration finding its position in the file."""
    start_key = root.key_node("start")
    placed = []
    if stats.too_many_choices:
        placed.append(
            (
                "too-large",
                "error",
                start_key.line,
                start_key.column,
                f"the scenario has more than {CHOICE_LIMIT:,} choices to follow over its "
                "reachable states (node and flags): use fewer flags or choices, or split it",
            )
        )
    elif stats.too_large:
        placed.append(
            (
                "too-large",
                "error",
                start_key.line,
                start_key.column,
                f"the scenario has more than {stats.states:,} reachable states (node and "
                "flags): use fewer flags, or split it",
            )
        )
    for finding in findings:
        if finding.code == "too-large":
            placed.append(
                (
                    "too-large",
                    "error",
                    start_key.line,
                    start_key.column,
                    f"deciding whether a path passes takes more than {FRONT_LIMIT:,} steps: "
                    "use fewer scored dimensions or pass marks, or split the scenario",
                )
            )
            continue
        if finding.code == "unpassable":
            placed.append(
                (
                    "unpassable",
                    "error",
                    start_key.line,
                    start_key.column,
                    "no complete path passes: every path shares inappropriately, takes a "
                    "critical choice or misses a pass mark; lower a pass mark or add a path "
                    "that passes",
                )
            )
            continue
        key, node = locate(("nodes", finding.node), root)
        at = key
        if finding.choice is not None:
            choice = node.get("choices").items[finding.choice]
            at = _choice_key(finding.code, choice)
        placed.append((finding.code, finding.severity, at.line, at.column, finding.message))
    return placed


def _choice_key(code: str, choice: Mapping):
    """Return the key a choice's finding points at."""
    if code == "never-offered":
        return choice.key_node("when")
    score = choice.get("score")
    if isinstance(score, Mapping) and any(v.value != 0 for _, v in score.index.values()):
        return choice.key_node("score")
    sharing = choice.get("sharing")
    if sharing is not None and sharing.value == "inappropriate":
        return choice.key_node("sharing")
    return choice.key_node("critical")


def library_files(path: Path) -> list[Path]:
    """Return every scenario file under a folder, subfolders included, in path order."""
    return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def validate_paths(paths, limit: int = STATE_LIMIT) -> LibraryReport:
    """Check files and folders as one library, including scenario ids used twice."""
    reports, missing, problems = [], [], []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            names = [(f, os.path.join(given, f.relative_to(path))) for f in library_files(path)]
        elif path.is_file():
            names = [(path, str(given))]
        else:
            missing.append(str(given))
            continue
        reports.extend(load_file(file, name, limit) for file, name in names)
    problems.extend(p for r in reports for p in r.problems)
    problems.extend(_duplicate_ids(reports))
    return LibraryReport(reports, sorted(problems, key=sort_key), missing)


def _duplicate_ids(reports: list[FileReport]) -> list[Problem]:
    """Report each file whose scenario id an earlier file (in path order) already uses."""
    first: dict[str, FileReport] = {}
    problems = []
    for report in sorted(reports, key=lambda r: r.path):
        if report.scenario_id is None:
            continue
        earlier = first.setdefault(report.scenario_id, report)
        if earlier is not report:
            line, column = report.id_position
            problems.append(
                Problem(
                    report.path,
                    line,
                    column,
                    "duplicate-id",
                    "error",
                    f"scenario id '{report.scenario_id}' is already used by "
                    f"{earlier.path}: give each scenario its own id",
                )
            )
            report.scenario = None
    return problems
