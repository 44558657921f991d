"""Warming a process's caches before gunicorn forks (simulator/warming.py)."""

from helpers import gen_user, offered, sign_in, start, unreachable_database_url

from simulator import engine, library, rendering, warming
from simulator.db import db


def test_warming_prepares_what_play_reads_and_lets_go_of_the_database(make_app):
    """After warming, playing a node renders no Markdown and parses nothing anew, and the
    pool holds no connection a forked worker could share."""
    app = make_app()
    gen_user(app)
    with app.app_context():
        offered(app, "doorstep")
    done = warming.warm(app)
    assert done["versions"] == 1 and done["texts"] > 0 and done["templates"] > 50
    with app.app_context():
        assert db.engine.pool.checkedin() == 0
        scenario = library.scenario_for(library.offered_version("doorstep"))
    assert engine._judges[id(scenario)][0] is scenario
    rendered = len(rendering._filled_html.cache)
    parsed = len(app.extensions["scenario_cache"])
    client = app.test_client()
    sign_in(client)
    page = client.get(start(client)).get_data(as_text=True)
    assert "opens the door" in page
    assert len(rendering._filled_html.cache) == rendered
    assert len(app.extensions["scenario_cache"]) == parsed


def test_warming_without_a_database_still_starts(make_app, tmp_path, caplog):
    """With the database out of reach, warming compiles the templates, says why it read no
    scenario, and raises nothing: the workers warm as they play, as before."""
    app = make_app(DATABASE_URL=unreachable_database_url(tmp_path), LOAD_LIBRARY_ON_START=False)
    done = warming.warm(app)
    assert done["versions"] == 0 and done["templates"] > 50
    assert "the database could not be read" in caplog.text


def test_a_version_that_cannot_be_read_is_passed_over(make_app, caplog):
    """A stored version that no longer reads (stored before checks were kept, and failing
    them now) is named in the log and left for play to refuse; the others are warmed and
    the start goes on."""
    app = make_app()
    with app.app_context():
        version = offered(app, "doorstep")
        version.checked_with, version.source = None, b"id: [not a scenario"
        db.session.commit()
    done = warming.warm(app)
    assert done["versions"] == 0 and done["templates"] > 50
    assert "Not warmed: doorstep.yaml" in caplog.text
