"""A seeded, structure-aware mutation campaign over the bundled library: checking any
mutant reports problems or passes, never raises, and stays within a stated amount of work.

Work is counted (``simulator.scenario.work.Work``), not timed. To reproduce a failure, the
message gives the seed, the mutant's number and its mutations; the mutant is also written
to a file named there.
"""

import copy
import random
import string
import tempfile
from pathlib import Path

import yaml

from simulator.scenario import load_bytes
from simulator.scenario.explore import CHOICE_LIMIT, STATE_LIMIT
from simulator.scenario.passable import FRONT_LIMIT
from simulator.scenario.problems import EDIT_CELLS_MAX
from simulator.scenario.work import NAME_MAX
from simulator.scenario.yamlsafe import MAX_EVENTS

SEED = 20_261_301
MUTANTS = 150
LIBRARY = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))

# What one mutant may cost. The hard bounds are those the validator enforces; the campaign
# bounds are what these mutants of small files should need, far below them.
EVENTS_PER_BYTE = 1
EDIT_CELLS_BOUND = EDIT_CELLS_MAX + NAME_MAX**2 + 1_000  # the budget may be hit
STATES_BOUND = 20_000
CHOICES_BOUND = 100_000
FRONT_STEPS_BOUND = 100_000
assert STATES_BOUND <= STATE_LIMIT
assert CHOICES_BOUND <= CHOICE_LIMIT and FRONT_STEPS_BOUND <= FRONT_LIMIT


def locations(value, path=()):
    """Yield the path of every value in a plain YAML tree, the root's children first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from locations(item, (*path, index))


def parent_of(data, path):
    """Return the container holding the value at ``path``."""
    for part in path[:-1]:
        data = data[part]
    return data


def near_miss(rng: random.Random, name: str, length: int) -> str:
    """Return a slug of ``length`` characters that differs a little from ``name``."""
    base = (name.replace("_", "-") * (length // max(1, len(name)) + 1))[:length].strip("-")
    cut = rng.randrange(max(1, len(base)))
    return (base[:cut] + rng.choice(string.ascii_lowercase) + base[cut + 1 :])[:length] or "x"


def mutate_tree(rng: random.Random, data: dict) -> str:
    """Change ``data`` in place in one structure-aware way; return what was done."""
    paths = list(locations(data))
    path = rng.choice(paths)
    parent, key = parent_of(data, path), path[-1]
    kind = rng.choice(
        (
            "delete",
            "huge-string",
            "deep-nesting",
            "long-list",
            "unicode",
            "wrong-type",
            "swap-node-ids",
            "near-miss-names",
            "long-names",
        )
    )
    if kind == "delete":
        del parent[key]
    elif kind == "huge-string":
        parent[key] = rng.choice(("x", "{victim} ", "}}", "[a](", "<", "*", "ab ")) * 65_536
    elif kind == "deep-nesting":
        value = "x"
        for _ in range(rng.choice((8, 40, 70))):
            value = [value] if rng.random() < 0.5 else {"k": value}
        parent[key] = value
    elif kind == "long-list":
        parent[key] = [rng.choice(("a", 1, None, {"id": "a"})) for _ in range(5_000)]
    elif kind == "unicode":
        noise = "".join(
            chr(rng.choice((0xE9, 0x202E, 0x1F600, 0xFEFF, 0x2028, 0x85))) for _ in range(8)
        )
        parent[key] = f"{parent[key]}{noise}" if isinstance(parent[key], str) else noise
    elif kind == "wrong-type":
        parent[key] = rng.choice((0, -1, 2**70, 1.5, True, None, "", [], {}, ["x"], {"x": 1}))
    elif kind == "swap-node-ids":
        nodes = data.get("nodes")
        if isinstance(nodes, dict) and len(nodes) > 1:
            a, b = rng.sample(sorted(nodes), 2)
            data["nodes"] = {({a: b, b: a}.get(k, k)): v for k, v in nodes.items()}
    elif kind in ("near-miss-names", "long-names"):
        misspell_every_next(rng, data, NAME_MAX if kind == "near-miss-names" else 10_000)
    return f"{kind} at {path!r}"


def misspell_every_next(rng: random.Random, data: dict, length: int) -> None:
    """Rename every node to a long name and point each ``next`` at a near miss of it."""
    nodes = data.get("nodes")
    if not isinstance(nodes, dict):
        return
    renamed = {name: near_miss(rng, f"{name}-", length) for name in nodes}
    data["nodes"] = {renamed[name]: node for name, node in nodes.items()}
    for path in list(locations(data)):
        if path[-1] == "next" and isinstance(parent_of(data, path)[path[-1]], str):
            parent = parent_of(data, path)
            parent["next"] = near_miss(rng, renamed.get(parent["next"], parent["next"]), length)


def mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """Change the file's text in a way a tree cannot show; return it and what was done."""
    lines = text.splitlines(keepends=True)
    kind = rng.choice(("duplicate-key", "alias", "billion-laughs", "truncate", "tab"))
    if kind == "duplicate-key":
        index = rng.randrange(len(lines))
        lines.insert(index, lines[index])
    elif kind == "alias":
        index = rng.randrange(1, len(lines))
        lines[0] = "format: &f 1\n"
        lines.insert(index, "anchored: *f\n")
    elif kind == "billion-laughs":
        bomb = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n']
        bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)]
        lines += bomb
    elif kind == "truncate":
        lines = lines[: rng.randrange(len(lines))]
    else:
        index = rng.randrange(len(lines))
        lines[index] = "\t" + lines[index]
    return "".join(lines), kind


def mutant(rng: random.Random, sources: dict) -> tuple[bytes, str]:
    """Return one mutant of a bundled scenario and a description of its mutations."""
    name = rng.choice(sorted(sources))
    data = copy.deepcopy(sources[name])
    done = [mutate_tree(rng, data) for _ in range(rng.choice((1, 1, 2, 3)))]
    text = yaml.dump(
        data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1_000_000
    )
    if rng.random() < 0.25:
        text, kind = mutate_text(rng, text)
        done.append(kind)
    return text.encode("utf-8"), f"{name}: " + "; ".join(done)


def over_bounds(data: bytes, work) -> list[str]:
    """Return each counted kind of work that went past its bound."""
    limits = {
        "yaml_events": min(MAX_EVENTS, EVENTS_PER_BYTE * len(data)),
        "edit_cells": EDIT_CELLS_BOUND,
        "states": STATES_BOUND,
        "choices": CHOICES_BOUND,
        "front_steps": FRONT_STEPS_BOUND,
    }
    return [f"{k}={getattr(work, k):,} > {v:,}" for k, v in limits.items() if getattr(work, k) > v]


def test_mutants_of_the_library_never_raise_and_stay_within_bounds():
    """Every mutant is checked without an exception, within the stated work bounds."""
    sources = {path.name: yaml.load(path.read_bytes(), yaml.CSafeLoader) for path in LIBRARY}
    rng = random.Random(SEED)
    for number in range(MUTANTS):
        data, described = mutant(rng, sources)
        try:
            report = load_bytes(data, "mutant.yaml")
            failures = over_bounds(data, report.work)
        except Exception as exc:  # noqa: BLE001 - any exception is the failure reported
            failures = [f"raised {exc!r}"]
        if failures:
            kept = Path(tempfile.gettempdir()) / f"mutant-{SEED}-{number}.yaml"
            kept.write_bytes(data)
            raise AssertionError(
                f"seed {SEED}, mutant {number} ({described}), kept in {kept}: "
                f"{', '.join(failures)}\n{data[:2000].decode('utf-8', 'replace')}"
            )


def test_billion_laughs_is_refused_before_any_alias_expands():
    """A nested-alias bomb is refused at its first anchor, after a handful of events."""
    text = LIBRARY[0].read_text(encoding="utf-8")
    bomb = (
        text
        + "a0: &a0 [lol, lol]\n"
        + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 40))
    )
    report = load_bytes(bomb.encode(), "laughs.yaml")
    assert [p.code for p in report.problems] == ["unsafe-yaml"]
    assert report.work.yaml_events <= len(bomb)
