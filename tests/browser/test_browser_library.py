"""The library in Chromium: a refused upload, then a zip with its picture, a draft's map and
outline, a preview with its panel, publishing, history and comparison; axe and the HTML
checker on every page."""

import io
import re
import zipfile

import pytest
from journeys import FIRST_CHOICE, PASSWORD, heading, sign_in
from nu_checker import check_html
from playwright.sync_api import expect
from test_browser_accessibility import AxeAudit
from test_browser_trainer import in_app

from simulator.accounts import create_user

HERE = __import__("pathlib").Path(__file__).parent
SOURCE = (HERE / "scenarios" / "doorstep.yaml").read_text()
PICTURE = (HERE / "scenarios" / "door.png").read_bytes()


def zipped(text):
    """Return a zip of a scenario file and the picture it shows."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("call/call.yaml", text)
        archive.writestr("call/door.png", PICTURE)
    return out.getvalue()


@pytest.fixture(scope="module")
def author(live_app):
    """Create a trainer who writes scenarios, and return the username."""
    in_app(live_app, lambda: create_user("scenario-author", PASSWORD, "trainer"))
    return "scenario-author"


def upload(page, name, data, mime):
    """Choose a file on the upload page and press Upload and check."""
    page.get_by_label("Scenario file or zip").set_input_files(
        {"name": name, "mimeType": mime, "buffer": data}
    )
    page.get_by_role("button", name="Upload and check").click()


def test_a_trainer_uploads_checks_previews_and_publishes(page, author, html_pages):
    """The whole way from a broken file to a published version, every page audited."""
    audit = AxeAudit(page)
    sign_in(page, author)
    page.get_by_role("link", name="Library").click()
    heading(page, "Scenario library")
    audit.check("library")
    page.get_by_role("button", name="Upload a scenario").click()
    heading(page, "Upload a scenario")
    audit.check("upload form")

    # Its own title, so the other browser tests' catalogue still has one "A call to a flat".
    mine = SOURCE.replace("id: browser-doorstep", "id: browser-upload").replace(
        "title: A call to a flat", "title: A call written in the browser", 1
    )
    broken = mine.replace("next: inside", "next: insdie", 1)
    upload(page, "broken.zip", zipped(broken), "application/zip")
    expect(page.get_by_text("The file was not stored").first).to_be_visible()
    expect(page.locator("mark.app-excerpt__mark").first).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("unknown-node"))).to_be_visible()
    audit.check("upload refused")

    upload(page, "call.zip", zipped(mine), "application/zip")
    expect(page.get_by_text("Uploaded as a draft").first).to_be_visible()
    expect(page.get_by_text("Draft", exact=True)).to_be_visible()
    expect(page.locator("svg.app-map__svg a").first).to_be_attached()
    expect(page.get_by_role("heading", name="Outline")).to_be_visible()
    audit.check("draft")

    page.get_by_role("button", name="Preview").click()
    expect(
        page.get_by_role("heading", name="Preview: what the officer does not see")
    ).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("front door"))).to_be_visible()
    expect(page.get_by_role("cell", name=re.compile(re.escape(FIRST_CHOICE)))).to_be_visible()
    audit.check("preview")
    page.get_by_role("link", name="Back to this version in the library").click()

    page.get_by_role("button", name="Publish this version").click()
    expect(page.get_by_text("Published: trainees now get version 1.").first).to_be_visible()
    expect(page.get_by_text("Trainees get this", exact=True)).to_be_visible()

    page.goto("/library/upload")
    upload(page, "call-v2.yaml", mine.replace("version: 1", "version: 2").encode(), "text/yaml")
    refused = page.get_by_text("did not come with the scenario")
    expect(refused.first).to_be_visible()
    upload(
        page, "call-v2.zip", zipped(mine.replace("version: 1", "version: 2")), "application/zip"
    )
    page.get_by_role("link", name="Back to every version").click()
    audit.check("history")
    page.get_by_role("button", name="Compare").click()
    heading(page, "What changed from version 1 to version 2")
    audit.check("comparison")

    assert not audit.reports, audit.summary()
    library_pages = {k: v for k, v in html_pages.pages.items() if "/library" in k}
    assert len(library_pages) >= 6, sorted(library_pages)
    problems = check_html(library_pages)
    assert not problems, "\n".join(problems)
