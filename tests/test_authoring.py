"""The library in the browser: upload and check, drafts, publish and retire, copy, preview,
history and comparison, pictures; and the scenarios folder as one way in among two."""

import io
import re
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import (
    BEST_PATH,
    client_of,
    doorstep,
    gen_user,
    play_through,
    post,
    start,
    text_of,
    write_scenario,
)
from PIL import Image
from sqlmodel import select

from simulator import library
from simulator.db import db
from simulator.models import (
    Attempt,
    AuditEntry,
    LibraryScenario,
    Picture,
    ScenarioVersion,
    User,
)

pytestmark = pytest.mark.usefixtures("database_url")


def png(width=4, height=3, colour=(200, 30, 30)):
    """Return the bytes of a real PNG picture."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def with_picture(text, src="door.png"):
    """Return a scenario's text with a picture on its first node."""
    return text.replace(
        "    speaker: Control room\n",
        "    speaker: Control room\n    image:\n"
        f"      src: {src}\n      alt: A front door, ajar\n",
    )


def upload(client, data, filename="mine.yaml"):
    """Upload a file through the form, as a browser would."""
    return post(
        client,
        "/library/upload",
        {"file": (io.BytesIO(data), filename)},
        token_from="/library/upload",
        content_type="multipart/form-data",
    )


def versions_of(app, key):
    """Return a scenario's versions as (version, current, published)."""
    with app.app_context():
        rows = db.session.exec(
            select(ScenarioVersion)
            .where(ScenarioVersion.scenario_key == key)
            .order_by(ScenarioVersion.id)
        ).all()
        return [(v.version, v.current, v.published_at is not None) for v in rows]


def version_id(app, key, number):
    """Return the id of a scenario's version with this number."""
    with app.app_context():
        return db.session.exec(
            select(ScenarioVersion.id).where(
                ScenarioVersion.scenario_key == key, ScenarioVersion.version == number
            )
        ).one()


@pytest.fixture
def trainer(app):
    """Return a client signed in as a trainer (the library is loaded by its first request)."""
    gen_user(app, "trainer", "trainer")
    return client_of(app, "trainer")


@pytest.fixture
def admin(app):
    """Return a client signed in as an admin."""
    gen_user(app, "admin", "admin")
    return client_of(app, "admin")


# -- Upload and check ---------------------------------------------------------------------


def test_valid_upload_becomes_a_draft_and_changes_nothing_for_trainees(app, trainer):
    """A file that passes is stored as a draft; the catalogue still offers what it did."""
    response = upload(trainer, doorstep(id="my-call", title="My own call").encode())
    assert response.status_code == 303
    page = text_of(trainer.get(response.headers["Location"]))
    assert "Uploaded as a draft" in page and "Draft" in page
    assert versions_of(app, "my-call") == [(1, False, False)]
    gen_user(app)
    assert "My own call" not in text_of(client_of(app, "trainee").get("/"))


def test_refused_upload_shows_each_problem_with_its_line_and_keeps_nothing(app, trainer):
    """Each problem is shown with its code, a link to the guide and the line, column marked."""
    text = doorstep(id="broken").replace(
        "next: hallway\n        score", "next: hallwya\n        score"
    )
    response = upload(trainer, text.encode())
    page = text_of(response)
    assert response.status_code == 422
    assert "govuk-error-summary" in page and "The file was not stored" in page
    assert "unknown-node" in page and "did you mean &#39;hallway&#39;?" in page
    assert 'href="/guide#code-unknown-node"' in page
    assert re.search(r'next: <mark class="app-excerpt__mark">h</mark>allwya', page)
    assert versions_of(app, "broken") == []


def test_yaml_syntax_error_is_explained_in_words(trainer):
    """A parser error is translated into what to fix, keeping the parser's own words."""
    text = doorstep(id="colon").replace(
        "title: A call to a flat", "title: A call: to a flat: again"
    )
    page = text_of(upload(trainer, text.encode()))
    assert "yaml-syntax" in page and "put the text in quotes" in page
    assert "the parser said" in page


def test_upload_without_a_file_says_so(trainer):
    """Pressing Upload with no file asks for one."""
    response = post(trainer, "/library/upload", {}, token_from="/library/upload")
    assert response.status_code == 422
    assert "Choose a scenario file" in text_of(response)


@pytest.mark.parametrize(
    ("name", "data", "told"),
    [
        ("door.yaml", b"", "is empty"),
        ("door.zip", b"PK\x03\x04 not really a zip", "door.zip"),
        ("door.png", b"\x89PNG\r\n\x1a\n" + bytes(16), "is a PNG picture, not a scenario"),
    ],
)
def test_a_refused_file_is_a_422_with_the_reason(trainer, name, data, told):
    """Every refusal of the file itself answers 422, as a failed check does."""
    response = upload(trainer, data, name)
    assert response.status_code == 422
    assert told in text_of(response)


def test_upload_over_the_limit_is_refused_before_reading(trainer):
    """A body over the stated limit gets a 413 page, not a traceback."""
    huge = b"x" * (9 * 1024 * 1024)
    response = trainer.post(
        "/library/upload", data=huge, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413 and "Traceback" not in text_of(response)


def test_upload_page_states_the_limits(trainer):
    """The limits are on the page before anyone uploads."""
    page = text_of(trainer.get("/library/upload"))
    assert ".yaml file of at most 1 MiB" in page and ".zip file of at most 8 MiB" in page


def test_zip_with_pictures_stores_them_once_and_serves_them(app, trainer):
    """A zip's pictures are decoded, stored by hash and served for that version only."""
    picture = png()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("call/call.yaml", with_picture(doorstep(id="zipped")))
        zipped.writestr("call/door.png", picture)
    response = upload(trainer, archive.getvalue(), "call.zip")
    assert response.status_code == 303, text_of(response)
    with app.app_context():
        assert db.session.exec(select(Picture)).one().data == picture
    draft = version_id(app, "zipped", 1)
    with trainer.get(f"/versions/{draft}/images/door.png") as served:
        assert served.data == picture and served.mimetype == "image/png"
        assert "immutable" in served.headers["Cache-Control"]
    assert trainer.get(f"/versions/{draft}/images/other.png").status_code == 404


def test_a_picture_that_does_not_decode_is_refused(app, trainer):
    """A file named .png that is not a picture stops the upload, and says why."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("call.yaml", with_picture(doorstep(id="badpic")))
        zipped.writestr("door.png", b"this is not a picture at all")
    page = text_of(upload(trainer, archive.getvalue(), "call.zip"))
    assert "door.png" in page and "The file was not stored" in page
    assert versions_of(app, "badpic") == []


def test_a_picture_missing_from_the_upload_is_refused(trainer):
    """A YAML upload naming a picture it did not bring is told so."""
    page = text_of(upload(trainer, with_picture(doorstep(id="nopic")).encode()))
    assert "did not come with the scenario" in page


def test_a_markdown_image_is_refused(trainer):
    """Format revision 2 refuses Markdown images: a scenario shows only its own pictures."""
    text = doorstep(id="mdimage").replace(
        "You step into the hallway.", "You step in. ![x](https://evil.example/x.png)"
    )
    page = text_of(upload(trainer, text.encode()))
    assert "The file was not stored" in page and "schema" in page


def test_starter_scenario_downloads_and_passes_strictly(trainer):
    """The starter file is a valid scenario with no warnings, offered as a download."""
    response = trainer.get("/library/starter.yaml")
    assert "attachment" in response.headers["Content-Disposition"]
    checked = library.check("starter.yaml", response.data, {})
    assert checked.ok and checked.report.problems == []


# -- Publish and retire -----------------------------------------------------------------------


def test_publishing_a_draft_offers_it_and_its_first_publisher_owns_it(app, trainer):
    """Publishing makes the draft what trainees get; the trainer then owns the scenario."""
    upload(trainer, doorstep(id="mine", title="Mine to publish").encode())
    draft = version_id(app, "mine", 1)
    response = post(trainer, f"/library/versions/{draft}/publish", token_from="/library")
    assert "Published" in text_of(trainer.get(response.headers["Location"]))
    assert versions_of(app, "mine") == [(1, True, True)]
    gen_user(app)
    assert "Mine to publish" in text_of(client_of(app, "trainee").get("/"))
    with app.app_context():
        scenario = db.session.exec(select(LibraryScenario).where(LibraryScenario.key == "mine"))
        owner_id = scenario.one().owner_id
        actions = db.session.exec(select(AuditEntry.action)).all()
    assert owner_id is not None and {"scenario.upload", "scenario.publish"} <= set(actions)


def test_another_trainer_cannot_publish_or_add_versions_but_can_copy(app, trainer):
    """Only the owner or an admin publishes; others are told to copy it as a new draft."""
    upload(trainer, doorstep(id="owned").encode())
    post(
        trainer, f"/library/versions/{version_id(app, 'owned', 1)}/publish", token_from="/library"
    )
    gen_user(app, "other", "trainer")
    other = client_of(app, "other")
    response = upload(other, doorstep(id="owned", version=2).encode())
    assert response.status_code == 403 and "Copy it as a new draft" in text_of(response)
    copied = post(
        other,
        f"/library/versions/{version_id(app, 'owned', 1)}/copy",
        {"key": "owned-copy"},
        token_from="/library",
    )
    assert copied.status_code == 303
    assert versions_of(app, "owned-copy") == [(1, False, False)]
    assert versions_of(app, "owned") == [(1, True, True)]


def test_a_trainer_cannot_publish_a_bundled_scenario_but_an_admin_can(app, trainer, admin):
    """A scenario from the folder belongs to the admins."""
    upload(admin, doorstep(version=2, title="Revised by an admin").encode())
    draft = version_id(app, "doorstep", 2)
    response = post(trainer, f"/library/versions/{draft}/publish", token_from="/library")
    assert "Only its owner" in text_of(trainer.get(response.headers["Location"]))
    assert versions_of(app, "doorstep") == [(1, True, True), (2, False, False)]
    post(admin, f"/library/versions/{draft}/publish", token_from="/library")
    assert versions_of(app, "doorstep") == [(1, False, True), (2, True, True)]


def test_publishing_needs_a_higher_version_number(app, admin):
    """A draft with the published number is not publishable, and the page says what to do."""
    upload(admin, doorstep(title="Same number, new text").encode())
    with app.app_context():
        draft = db.session.exec(
            select(ScenarioVersion.id).where(ScenarioVersion.published_at.is_(None))
        ).one()
    page = text_of(admin.get(f"/library/versions/{draft}"))
    assert "give this file &#39;version: 2&#39;" in page


def test_retiring_withdraws_from_the_catalogue_and_keeps_attempts(app, admin):
    """A retired scenario leaves the catalogue; an attempt in progress plays on."""
    gen_user(app)
    trainee = client_of(app, "trainee")
    url = start(trainee)
    post(admin, "/library/scenarios/doorstep/retire", token_from="/library")
    assert "No scenarios are available yet" in text_of(trainee.get("/"))
    play_through(trainee, url, BEST_PATH)
    assert "Victim safeguarded" in text_of(trainee.get(url + "/debrief"))
    post(admin, "/library/scenarios/doorstep/restore", token_from="/library")
    assert "A call to a flat" in text_of(trainee.get("/"))


def test_trainees_cannot_reach_the_library(app, signed_in):
    """The library is for trainers and admins."""
    assert signed_in.get("/library").status_code == 403
    assert signed_in.get("/library/upload").status_code == 403


# -- See it -----------------------------------------------------------------------------------


def test_version_page_shows_map_outline_and_stats(app, trainer):
    """The version page has the map, the outline with anchors, and the statistics in words."""
    page = text_of(trainer.get(f"/library/versions/{version_id(app, 'doorstep', 1)}"))
    assert 'id="node-arrival"' in page and "Inappropriate share" in page
    assert "<svg" in page and 'href="#node-arrival"' in page
    assert "endings can be reached" in page and "At least one path passes." in page, page


def test_source_download_is_the_file_as_stored(app, trainer, scenarios_dir):
    """Any version's file downloads exactly as it was stored."""
    response = trainer.get(f"/library/versions/{version_id(app, 'doorstep', 1)}/source.yaml")
    assert response.data == (scenarios_dir / "doorstep.yaml").read_bytes()
    assert 'filename="doorstep-v1.yaml"' in response.headers["Content-Disposition"]


def test_history_and_comparison_show_who_and_what_changed(app, admin):
    """The history lists each version; the comparison shows lines and graph changes."""
    revised = doorstep(version=2).replace("score: {safeguarding: 1}", "score: {safeguarding: 3}")
    upload(admin, revised.encode())
    page = text_of(admin.get("/library/scenarios/doorstep"))
    assert "Version 2" in page and "Version 1" in page and "uploaded by admin" in page
    one, two = version_id(app, "doorstep", 1), version_id(app, "doorstep", 2)
    page = text_of(admin.get(f"/library/scenarios/doorstep/compare?from={one}&to={two}"))
    assert "safeguarding: 3" in page and "reassure" in page


# -- Preview ----------------------------------------------------------------------------------


def test_preview_plays_a_draft_with_the_panel_and_is_never_a_result(app, trainer):
    """A preview shows node ids, flags and scores, and never appears as practice."""
    upload(trainer, doorstep(id="drafted", title="A drafted call").encode())
    response = post(
        trainer,
        f"/library/versions/{version_id(app, 'drafted', 1)}/preview",
        token_from="/library",
    )
    url = response.headers["Location"]
    page = text_of(trainer.get(url))
    assert "Preview: what the officer does not see" in page
    assert "<code>arrival</code>" in page and "safeguarding +2" in page
    assert "Inappropriate share" in page
    play_through(trainer, url, BEST_PATH)
    assert "This was a preview" in text_of(trainer.get(url + "/debrief"))
    with app.app_context():
        assert db.session.exec(select(Attempt.preview)).all() == [True]
    assert "A drafted call" not in text_of(trainer.get("/"))


# -- The scenarios folder ---------------------------------------------------------------------


def test_folder_publishes_only_a_higher_version(app, admin, scenarios_dir):
    """A deploy never overwrites a newer version published in the browser."""
    upload(admin, doorstep(version=3, title="Newer in the browser").encode())
    post(
        admin, f"/library/versions/{version_id(app, 'doorstep', 3)}/publish", token_from="/library"
    )
    write_scenario(scenarios_dir, text=doorstep(version=2, title="Older in the folder"))
    with app.app_context():
        report = library.load_folder(scenarios_dir)
    assert report.unchanged == {
        "doorstep.yaml": "version 2 is not higher than the published version 3"
    }
    assert versions_of(app, "doorstep") == [(1, False, True), (3, True, True)]


def test_folder_never_retires(app, admin, scenarios_dir):
    """A file removed from the folder stays offered."""
    (scenarios_dir / "doorstep.yaml").unlink()
    with app.app_context():
        report = library.load_folder(scenarios_dir)
    assert report.ok and versions_of(app, "doorstep") == [(1, True, True)]


def test_two_files_with_one_id_are_both_refused_naming_each_other(app, admin, scenarios_dir):
    """Two files with one id: a clear error naming both; the published version stays."""
    write_scenario(scenarios_dir, "sub/copy.yaml", doorstep(version=2, title="Copy"))
    with app.app_context():
        report = library.load_folder(scenarios_dir)
    assert set(report.refused) == {"doorstep.yaml", "sub/copy.yaml"}
    assert "also used by sub/copy.yaml" in report.refused["doorstep.yaml"][0]
    assert versions_of(app, "doorstep") == [(1, True, True)]


def test_a_version_failing_after_an_upgrade_is_listed_and_the_last_good_one_offered(
    app, admin, monkeypatch
):
    """A stored version the new checker refuses is never withdrawn silently."""
    bad = doorstep(version=2).replace(
        "You step into the hallway.", "You step in. ![x](https://evil.example/x.png)"
    )
    with app.app_context():
        # As an older app would have stored it: published, and accepted by its checker.
        db.session.add(
            ScenarioVersion(
                digest="0" * 64,
                scenario_key="doorstep",
                version=2,
                title="Accepted by an older app",
                summary="s",
                audience="recruit",
                path="doorstep.yaml",
                source=bad.encode(),
                format_revision=2,
                published_at=library.utcnow(),
                checked_with="an older checker",
                score_bounds={"safeguarding": [0, 3]},
            )
        )
        library.refresh(db.session.exec(select(LibraryScenario)).one())
        db.session.commit()
    assert versions_of(app, "doorstep") == [(1, False, True), (2, True, True)]
    with app.app_context():
        failing = library.recheck()
    assert failing and "fails the checks now" in failing[0]
    assert versions_of(app, "doorstep") == [(1, True, True), (2, False, True)]
    page = text_of(admin.get("/library"))
    assert "fails the current checks" in page and "Accepted by an older app" in page


def test_no_request_checks_a_file(make_app, monkeypatch):
    """Once loaded, playing and authoring pages read stored versions without checking them."""
    app = make_app()
    gen_user(app)
    gen_user(app, "trainer", "trainer")
    client_of(app, "trainer")  # the first request loads the folder

    def refuse(*args, **kwargs):
        raise AssertionError("a request checked a file")

    monkeypatch.setattr(library, "load_bytes", refuse)
    fresh = make_app(LOAD_LIBRARY_ON_START=False)  # a new process: nothing cached
    trainee = client_of(fresh, "trainee")
    play_through(trainee, start(trainee), BEST_PATH)
    trainer = client_of(fresh, "trainer")
    assert trainer.get(f"/library/versions/{version_id(fresh, 'doorstep', 1)}").status_code == 200


def test_two_publishes_of_one_number_at_once_publish_one(app, admin, database_url):
    """Two machines publishing two drafts with the same number at once: one wins, the
    other is told why, and one version is offered."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite lets one writer in at a time")
    upload(admin, doorstep(version=2, title="Draft A").encode())
    upload(admin, doorstep(version=2, title="Draft B").encode())
    with app.app_context():
        drafts = db.session.exec(
            select(ScenarioVersion.id).where(ScenarioVersion.published_at.is_(None))
        ).all()
        admin_id = db.session.exec(select(User.id).where(User.username == "admin")).one()
    barrier = threading.Barrier(2)

    def publish(draft_id):
        with app.app_context():
            version = db.session.get(ScenarioVersion, draft_id)
            user = db.session.get(User, admin_id)
            barrier.wait()
            try:
                library.publish(user, version)
            except library.Refused as refused:
                return str(refused)
            return "published"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(publish, drafts))
    assert outcomes[1] == "published" and "Version 2 is already published" in outcomes[0]
    assert [current for _, current, _ in versions_of(app, "doorstep")].count(True) == 1
