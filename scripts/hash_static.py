"""Write static/dist: each file in static/ under a name holding its content's hash.

Beside each hashed copy go its gzip (.gz) and Brotli (.br) forms, which WhiteNoise sends
to browsers that accept them, and static/dist/manifest.json maps each source name to its
hashed name for the templates (simulator/assets.py). A script's relative imports of
other static files ("./govuk-frontend.min.js") are rewritten to their hashed names, so a
changed dependency changes the importing script's name too. Hashed files no longer named
are removed. The output is committed; `--check` only says whether it is up to date.

Run it after changing anything in static/ (scripts/build-static.sh runs it last):

    .venv/bin/python scripts/hash_static.py [--check]
"""

import argparse
import gzip
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
DIST_NAME = "dist"
MANIFEST = "manifest.json"
HASH_LENGTH = 8
# Each compressed form: how to write it, and how to read it back.
ENCODINGS = {
    ".gz": (lambda data: gzip.compress(data, 9, mtime=0), gzip.decompress),
    ".br": (lambda data: brotli.compress(data, quality=11), brotli.decompress),
}
# `import ... from "./x"`, `import "./x"`, `export ... from "./x"` and `import("./x")`.
RELATIVE_IMPORT = re.compile(r"""(\b(?:from|import)\s*\(?\s*)(["'])\./([^"'/]+)\2""")


def source_files(static=STATIC):
    """Return {name: bytes} for every file directly in static/, the sources of the build."""
    return {
        path.name: path.read_bytes()
        for path in sorted(static.iterdir())
        if path.is_file() and not path.name.startswith(".")
    }


def hashed_name(name, content):
    """Return the name with the content's hash before its last suffix: app.1a2b3c4d.js."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot else f"{name}.{digest}"


def build(sources):
    """Return {source name: (hashed name, content)}, relative imports pointing at hashed names."""
    built = {}

    def resolve(name, chain=()):
        if name in chain:
            cycle = " -> ".join((*chain, name))
            raise ValueError(f"static files import each other in a cycle: {cycle}")
        if name not in built:
            content = rewrite_imports(name, sources, lambda dep: resolve(dep, (*chain, name)))
            built[name] = (hashed_name(name, content), content)
        return built[name][0]

    for name in sources:
        resolve(name)
    return built


def rewrite_imports(name, sources, hashed):
    """Return a script's bytes with each relative import of a source file renamed by `hashed`."""
    content = sources[name]
    if not name.endswith((".js", ".mjs")):
        return content

    def rename(match):
        prefix, quote, target = match.groups()
        if target not in sources:
            return match.group(0)
        return f"{prefix}{quote}./{hashed(target)}{quote}"

    return RELATIVE_IMPORT.sub(rename, content.decode("utf-8")).encode("utf-8")


def expected_files(built):
    """Return {file name in dist: bytes}: hashed copies, their compressed forms, the manifest."""
    files = {}
    for hashed, content in built.values():
        files[hashed] = content
        for suffix, (compress, _) in ENCODINGS.items():
            files[hashed + suffix] = compress(content)
    manifest = {name: hashed for name, (hashed, _) in sorted(built.items())}
    files[MANIFEST] = (json.dumps(manifest, indent=2) + "\n").encode("utf-8")
    return files


def same_file(path, content):
    """Say whether the file holds this content; a compressed form, once decompressed."""
    if not path.is_file():
        return False
    decompress = ENCODINGS.get(path.suffix, (None, lambda data: data))[1]
    try:
        return decompress(path.read_bytes()) == decompress(content)
    except (OSError, EOFError, zlib.error, brotli.error):
        return False


def write(dist, files):
    """Make dist hold exactly these files, rewriting only those whose content changed."""
    dist.mkdir(parents=True, exist_ok=True)
    for path in dist.iterdir():
        if path.is_file() and path.name not in files:
            path.unlink()
    for name, content in files.items():
        # Compressors differ between machines: a file that decompresses the same is kept.
        if not same_file(dist / name, content):
            (dist / name).write_bytes(content)


def stale(dist, built):
    """Return how dist differs from a fresh build of these files (nothing when up to date)."""
    expected = expected_files(built)
    present = {path.name for path in dist.iterdir()} if dist.is_dir() else set()
    problems = [f"{name} is not part of the build" for name in sorted(present - expected.keys())]
    for name, content in expected.items():
        if name not in present:
            problems.append(f"{name} is missing")
        elif not same_file(dist / name, content):
            problems.append(f"{name} differs from a fresh build")
    return problems


def main(argv=None):
    """Build static/dist, or with --check report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    dist = STATIC / DIST_NAME
    built = build(source_files())
    if args.check:
        problems = stale(dist, built)
        for problem in problems:
            print(f"{dist}: {problem}", file=sys.stderr)
        if problems:
            print("Run: .venv/bin/python scripts/hash_static.py", file=sys.stderr)
        return 1 if problems else 0
    write(dist, expected_files(built))
    for name, (hashed, _) in sorted(built.items()):
        print(f"static/{name} -> static/{DIST_NAME}/{hashed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
