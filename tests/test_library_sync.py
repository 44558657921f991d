"""The scenarios folder: files loaded as pinned versions; bad files refused, none retired."""

import io
import logging

from helpers import (
    BEST_PATH,
    doorstep,
    gen_user,
    play_through,
    sign_in,
    start,
    take,
    write_scenario,
)
from PIL import Image
from sqlmodel import select

from simulator.db import db
from simulator.library import load_folder
from simulator.models import ScenarioVersion


def real_png():
    """Return a real 2x2 PNG: the library decodes every picture before it stores it."""
    out = io.BytesIO()
    Image.new("RGB", (2, 2), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


PNG = real_png()


def versions(app):
    """Return every stored version as (key, version, current)."""
    with app.app_context():
        rows = db.session.exec(select(ScenarioVersion).order_by(ScenarioVersion.id)).all()
        return [(v.scenario_key, v.version, v.current) for v in rows]


def signed_in_client(app, username="trainee"):
    """Return a client of this app signed in as an existing user."""
    client = app.test_client()
    sign_in(client, username)
    return client


def test_loaded_on_first_request_when_configured(app, signed_in):
    """The tests' apps load the folder before their first request (LOAD_LIBRARY_ON_START)."""
    assert versions(app) == [("doorstep", 1, True)]


def test_load_is_idempotent(app, scenarios_dir):
    """Loading an unchanged folder stores nothing new."""
    with app.app_context():
        first = load_folder(scenarios_dir)
        second = load_folder(scenarios_dir)
    assert first.published == ["doorstep.yaml"]
    assert second.unchanged == {"doorstep.yaml": "already published"}
    assert versions(app) == [("doorstep", 1, True)]


def test_version_identified_by_file_hash(app, scenarios_dir):
    """A version is stored with the SHA-256 of its file and the file's bytes."""
    import hashlib

    data = (scenarios_dir / "doorstep.yaml").read_bytes()
    with app.app_context():
        load_folder(scenarios_dir)
        version = db.session.exec(select(ScenarioVersion)).one()
        assert version.digest == hashlib.sha256(data).hexdigest()
        assert version.source == data


def test_invalid_file_refused_and_logged(make_app, scenarios_dir, caplog):
    """An invalid file is not stored, and its problems go to the log."""
    write_scenario(scenarios_dir, "broken.yaml", "format: 1\nid: broken\n")
    app = make_app()
    with caplog.at_level(logging.WARNING):
        app.test_client().get("/sign-in")
    assert any("broken.yaml:1:1: error schema" in r.getMessage() for r in caplog.records)
    assert versions(app) == [("doorstep", 1, True)]


def test_duplicate_scenario_id_refused(app, scenarios_dir):
    """Two files with one scenario id are both refused; nothing is stored."""
    write_scenario(scenarios_dir, "sub/copy.yaml", doorstep(title="Copy"))
    with app.app_context():
        report = load_folder(scenarios_dir)
    assert sorted(report.refused) == ["doorstep.yaml", "sub/copy.yaml"]
    assert versions(app) == []


def test_missing_folder_is_refused_and_retires_nothing(app, scenarios_dir, tmp_path):
    """A scenarios folder that does not exist is an error, and what is offered stays."""
    with app.app_context():
        load_folder(scenarios_dir)
        report = load_folder(tmp_path / "nowhere")
    assert not report.ok and "does not exist" in str(report.refused)
    assert versions(app) == [("doorstep", 1, True)]


def test_edit_keeps_attempts_pinned(make_app, scenarios_dir):
    """Editing a file never changes an attempt in progress; new attempts use the new file."""
    app = make_app()
    gen_user(app)
    client = signed_in_client(app)
    url = start(client)
    take(client, url, 0, "interpreter")
    write_scenario(scenarios_dir, text=doorstep(title="A call to a flat, revised", version=2))
    restarted = make_app()
    client = signed_in_client(restarted)
    assert "A call to a flat, revised" in client.get("/").get_data(as_text=True)
    assert versions(restarted) == [("doorstep", 1, False), ("doorstep", 2, True)]
    page = client.get(url).get_data(as_text=True)
    assert "A call to a flat</h1>" in page and "You step into the hallway." in page
    play_through_from(client, url, 1, BEST_PATH[1:])
    debrief = client.get(url + "/debrief").get_data(as_text=True)
    assert "Victim safeguarded" in debrief
    second = start(client, number=2)
    assert "A call to a flat, revised</h1>" in client.get(second).get_data(as_text=True)


def play_through_from(client, url, first_step, choices):
    """Take choices starting at a given step number."""
    for offset, choice in enumerate(choices):
        response = take(client, url, first_step + offset, choice, "reason")
        assert response.status_code == 303


def test_broken_edit_is_refused_and_the_published_version_stays(make_app, scenarios_dir):
    """A file edited into an invalid state is refused: trainees keep the published version."""
    app = make_app()
    gen_user(app)
    client = signed_in_client(app)
    url = start(client)
    (scenarios_dir / "doorstep.yaml").write_text("format: 1\n")
    client = signed_in_client(make_app())
    assert "A call to a flat" in client.get("/").get_data(as_text=True)
    assert client.get("/scenarios/doorstep").status_code == 200
    play_through(client, url, BEST_PATH)
    assert "Victim safeguarded" in client.get(url + "/debrief").get_data(as_text=True)


def test_image_served_with_alt_text(make_app, scenarios_dir):
    """A node's picture is shown with its alternative text and served from the library."""
    png = PNG
    (scenarios_dir / "img").mkdir()
    (scenarios_dir / "img" / "door.png").write_bytes(png)
    text = doorstep().replace(
        "    speaker: Control room\n",
        "    speaker: Control room\n    image:\n      src: img/door.png\n"
        "      alt: A front door, ajar; {victim} stands behind it\n",
    )
    write_scenario(scenarios_dir, text=text)
    app = make_app()
    gen_user(app)
    client = signed_in_client(app)
    page = client.get(start(client)).get_data(as_text=True)
    assert 'alt="A front door, ajar; Amina stands behind it"' in page
    src = page.split('<img class="app-scenario-image" src="')[1].split('"')[0]
    with client.get(src) as response:
        assert response.status_code == 200 and response.data == png
    assert client.get(src.replace("door.png", "other.png")).status_code == 404
    assert client.get(src.replace("img/door.png", "../doorstep.yaml")).status_code == 404


def test_ending_picture_and_speaker(make_app, scenarios_dir):
    """An ending's picture and speaker head the debrief."""
    (scenarios_dir / "end.png").write_bytes(PNG)
    text = doorstep().replace(
        "  safe:\n    end:\n",
        "  safe:\n    speaker: Sergeant\n    image:\n      src: end.png\n"
        "      alt: '{victim} at the refuge door'\n    end:\n",
    )
    write_scenario(scenarios_dir, text=text)
    app = make_app()
    gen_user(app)
    client = signed_in_client(app)
    url = start(client)
    play_through(client, url, BEST_PATH)
    page = client.get(url + "/debrief").get_data(as_text=True)
    assert 'alt="Amina at the refuge door"' in page and "Sergeant:" in page


def test_removed_picture_is_still_served_from_the_library(make_app, scenarios_dir):
    """A picture deleted from disk after loading is still shown: the library keeps it."""
    (scenarios_dir / "door.png").write_bytes(PNG)
    text = doorstep().replace(
        "    speaker: Control room\n",
        "    speaker: Control room\n    image: {src: door.png, alt: A front door}\n",
    )
    write_scenario(scenarios_dir, text=text)
    app = make_app()
    gen_user(app)
    client = signed_in_client(app)
    url = start(client)
    (scenarios_dir / "door.png").unlink()
    client = signed_in_client(make_app())
    page = client.get(url).get_data(as_text=True)
    src = page.split('<img class="app-scenario-image" src="')[1].split('"')[0]
    assert client.get(src).data == PNG
    play_through(client, url, BEST_PATH)
    assert "Victim safeguarded" in client.get(url + "/debrief").get_data(as_text=True)
