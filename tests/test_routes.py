"""Every route, for every role and for someone not signed in."""

import pytest
from helpers import BEST_PATH, gen_user, post, sign_in, start, take

from simulator.models import ROLES

GET_ROUTES = [
    "/",
    "/scenarios/doorstep",
    "/attempts/1",
    "/attempts/1/feedback/1",
    "/attempts/1/debrief",
    "/versions/1/images/door.png",
]
POST_ROUTES = ["/sign-out", "/scenarios/doorstep/attempts", "/attempts/1", "/attempts/1/abandon"]


@pytest.mark.parametrize("url", GET_ROUTES)
def test_anonymous_get_goes_to_sign_in(client, url):
    """Every page but sign-in asks someone not signed in to sign in first."""
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sign-in?next={url}"


@pytest.mark.parametrize("url", POST_ROUTES)
def test_anonymous_post_goes_to_sign_in(client, url):
    """A form posted by someone not signed in records nothing and asks them to sign in."""
    token = client.get("/sign-in").get_data(as_text=True)
    token = token.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(url, data={"csrf_token": token, "number": "1", "step": "0"})
    assert response.status_code == 302 and response.headers["Location"] == "/sign-in"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_plays_to_the_debrief(app, client, role):
    """Trainees, trainers and admins can each use every play route."""
    gen_user(app, role, role)
    sign_in(client, role)
    assert client.get("/").status_code == 200
    assert client.get("/scenarios/doorstep").status_code == 200
    url = start(client)
    for step, choice in enumerate(BEST_PATH):
        assert client.get(url).status_code == 200
        response = take(client, url, step, choice, "reason")
        assert response.status_code == 303
        assert client.get(response.headers["Location"]).status_code == 200
    assert client.get(url + "/debrief").status_code == 200
    second = start(client, number=2)
    assert post(client, second + "/abandon").status_code == 303
    assert post(client, "/sign-out").status_code == 303
