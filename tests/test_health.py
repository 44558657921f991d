"""`/healthz`: public, 200 while the database answers at the migrations' head, else 503."""

from helpers import unreachable_database_url

from simulator.web import health


def test_healthy(client):
    """A migrated, reachable database answers 200 with a short JSON body and no cookie."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "migrations": "current"}
    assert "Set-Cookie" not in response.headers


def test_head_is_answered_too(client):
    """A load balancer's HEAD gets the same status."""
    assert client.head("/healthz").status_code == 200


def test_signed_in_or_not_it_is_the_same_answer(signed_in):
    """A session makes no difference to the answer."""
    assert signed_in.get("/healthz").get_json()["migrations"] == "current"


def test_migrations_behind_is_unhealthy(app, monkeypatch):
    """When the database is not at the head revision, the answer is 503 and says so."""
    monkeypatch.setattr(health, "migration_heads", lambda: {"a-newer-revision"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "ok", "migrations": "not current"}


def test_unreachable_database_is_unhealthy(make_app, tmp_path):
    """When the database does not answer, the answer is 503 naming the database."""
    app = make_app(DATABASE_URL=unreachable_database_url(tmp_path), LOAD_LIBRARY_ON_START=False)
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"database": "unreachable"}
