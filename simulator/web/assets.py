"""Static files: served by WhiteNoise under hashed names, compressed, cached for a year.

scripts/hash_static.py writes static/dist: a copy of each file in static/ named by its
content's hash, its .gz and .br forms, and manifest.json from source to hashed name. A
hashed name changes whenever the content does, so browsers may keep each file for a year
without asking again; templates name the source (`asset_url('govuk.css')`) and get the
hashed address.
"""

import json
import re
from functools import partial
from pathlib import Path

from flask import has_request_context, request
from whitenoise import WhiteNoise

PREFIX = "/static/"
MANIFEST = "manifest.json"
ONE_YEAR = 365 * 24 * 60 * 60
# name.1a2b3c4d.ext, as scripts/hash_static.py writes them.
HASHED_NAME = re.compile(r"\.[0-9a-f]{8}\.[^./]+$")


class StaticFiles(WhiteNoise):
    """WhiteNoise keeping an unchanging file one year (its default is ten)."""

    FOREVER = ONE_YEAR


def init_app(app):
    """Serve static/dist under /static/ and give templates `asset_url`; fail if it is unbuilt."""
    folder = Path(app.config["ASSETS_DIR"])
    manifest = read_manifest(folder)
    # Only a hashed name is immutable; anything else there (the manifest) keeps WhiteNoise's
    # default of 60 seconds. Every file is same-origin, so no CORS header is needed.
    app.wsgi_app = StaticFiles(
        app.wsgi_app,
        root=folder,
        prefix=PREFIX,
        immutable_file_test=is_hashed,
        allow_all_origins=False,
        add_headers_function=forbid_sniffing,
    )
    app.add_template_global(partial(asset_url, manifest), "asset_url")


def read_manifest(folder):
    """Return the build's {source name: hashed name}, checking that every file is there."""
    path = folder / MANIFEST
    if not path.is_file():
        raise RuntimeError(
            f"{path} is missing, so no stylesheet or script can be served. "
            "Build it with: .venv/bin/python scripts/hash_static.py"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    missing = sorted(hashed for hashed in manifest.values() if not (folder / hashed).is_file())
    if missing:
        raise RuntimeError(
            f"{path} names files that are not there ({', '.join(missing)}). "
            "Rebuild them with: .venv/bin/python scripts/hash_static.py"
        )
    return manifest


def is_hashed(path, url):
    """Say whether a static file's name holds its content's hash (WhiteNoise's test)."""
    return bool(HASHED_NAME.search(url))


def forbid_sniffing(headers, path, url):
    """Send nosniff with static files too: Flask's after_request hooks never see them."""
    headers["X-Content-Type-Options"] = "nosniff"


def asset_url(manifest, name):
    """Return the address of a file from static/ under its hashed name."""
    try:
        hashed = manifest[name]
    except KeyError:
        raise LookupError(
            f"static/{name} is not in the static build; run scripts/hash_static.py"
        ) from None
    root = request.script_root if has_request_context() else ""
    return f"{root}{PREFIX}{hashed}"
