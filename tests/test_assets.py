"""Static files: the committed build matches static/, and is served compressed and cached."""

import gzip
import hashlib
import importlib.util
import json
import re

import brotli
import pytest

from simulator import PROJECT_ROOT, create_app

STATIC = PROJECT_ROOT / "static"
DIST = STATIC / "dist"
SOURCES = (
    "app.js",
    "favicon.svg",
    "govuk-frontend.min.js",
    "govuk.css",
    "htmx.min.js",
    "js-enabled.js",
)
DECODERS = {"gzip": gzip.decompress, "br": brotli.decompress}


def load_script(name):
    """Import a script from scripts/ as a module."""
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hash_static = load_script("hash_static")


def manifest():
    """Return the committed {source name: hashed name}."""
    return json.loads((DIST / "manifest.json").read_text())


def test_the_committed_build_matches_static():
    """static/dist is what scripts/hash_static.py makes of static/ now: rerun it after a change."""
    built = hash_static.build(hash_static.source_files())
    assert hash_static.stale(DIST, built) == []


def test_the_manifest_names_every_source():
    """Each file in static/ has a hashed name in the manifest."""
    assert sorted(manifest()) == list(SOURCES)


@pytest.mark.parametrize("source", SOURCES)
def test_each_hashed_name_holds_the_hash_of_its_content(source):
    """A hashed file's name carries the first 8 hex digits of its content's SHA-256."""
    hashed = manifest()[source]
    digest = hashlib.sha256((DIST / hashed).read_bytes()).hexdigest()[:8]
    stem, suffix = source.rsplit(".", 1)
    assert hashed == f"{stem}.{digest}.{suffix}"


@pytest.mark.parametrize("source", ("govuk.css", "htmx.min.js", "favicon.svg"))
def test_a_hashed_copy_is_its_source_unchanged(source):
    """Files importing nothing are copied byte for byte."""
    assert (DIST / manifest()[source]).read_bytes() == (STATIC / source).read_bytes()


def test_app_js_imports_govuk_frontend_by_its_hashed_name():
    """The module script's import of GOV.UK Frontend points at the hashed copy."""
    script = (DIST / manifest()["app.js"]).read_text()
    assert f'from "./{manifest()["govuk-frontend.min.js"]}"' in script
    assert '"./govuk-frontend.min.js"' not in script


def test_changing_an_imported_file_renames_the_importer():
    """A new version of a dependency gives the script importing it a new name too."""
    sources = {"lib.js": b"export const a = 1;", "main.js": b'import { a } from "./lib.js";'}
    before = hash_static.build(sources)
    after = hash_static.build({**sources, "lib.js": b"export const a = 2;"})
    assert after["main.js"][0] != before["main.js"][0]
    assert f'"./{after["lib.js"][0]}"'.encode() in after["main.js"][1]


def test_a_rebuild_removes_files_no_longer_built(tmp_path):
    """Hashed files of an old version are deleted, and the result is up to date."""
    (tmp_path / "app.00000000.js").write_text("old")
    built = hash_static.build({"app.js": b"new"})
    hash_static.write(tmp_path, hash_static.expected_files(built))
    assert not (tmp_path / "app.00000000.js").exists()
    assert hash_static.stale(tmp_path, built) == []


def test_the_check_reports_a_stale_build(tmp_path):
    """A build from other sources, or none at all, is reported stale."""
    hash_static.write(tmp_path, hash_static.expected_files(hash_static.build({"app.js": b"1"})))
    fresh = hash_static.build({"app.js": b"2"})
    assert hash_static.stale(tmp_path, fresh)
    assert hash_static.stale(tmp_path / "absent", fresh)


def test_pages_link_the_hashed_files(client):
    """The page template names each stylesheet, script and icon by its hashed address."""
    page = client.get("/sign-in").get_data(as_text=True)
    for source in ("app.js", "favicon.svg", "govuk.css", "htmx.min.js"):
        assert f'"/static/{manifest()[source]}"' in page
    assert not re.search(r'"/static/(app|govuk|htmx|favicon)\.[a-z.]*"', page)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_hashed_file_is_sent_compressed_and_cached_for_a_year(client, encoding):
    """A hashed file is immutable for a year, and compressed for a browser that accepts it."""
    response = client.get(
        f"/static/{manifest()['govuk.css']}", headers={"Accept-Encoding": encoding}
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert DECODERS[encoding](response.data) == (STATIC / "govuk.css").read_bytes()
    response.close()


def test_a_browser_accepting_no_compression_gets_the_file_as_it_is(client):
    """Without Accept-Encoding the file is sent uncompressed."""
    response = client.get(f"/static/{manifest()['htmx.min.js']}")
    assert "Content-Encoding" not in response.headers
    assert response.data == (STATIC / "htmx.min.js").read_bytes()
    assert response.mimetype == "text/javascript"
    response.close()


def test_an_unhashed_name_is_not_served(client):
    """Only the hashed build is served: /static/govuk.css is not found."""
    assert client.get("/static/govuk.css").status_code == 404


def test_the_app_refuses_to_start_without_the_build(tmp_path):
    """A missing manifest stops the app at start-up, saying how to build it."""
    with pytest.raises(RuntimeError, match=r"manifest\.json is missing.*hash_static\.py"):
        create_app({"TESTING": True, "ASSETS_DIR": str(tmp_path)})


def test_the_app_refuses_to_start_when_a_hashed_file_is_missing(tmp_path):
    """A manifest naming a file that is not there stops the app at start-up."""
    (tmp_path / "manifest.json").write_text('{"app.js": "app.12345678.js"}')
    with pytest.raises(RuntimeError, match=r"app\.12345678\.js"):
        create_app({"TESTING": True, "ASSETS_DIR": str(tmp_path)})
