"""The production stack (deploy/): gunicorn with its config, and its nginx, on loopback."""

import sys
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
from loopback import HOST, Gunicorn, Nginx, free_port, prepare, stack_env  # noqa: E402


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nginx_says_busy_while_gunicorn_is_not_answering(method):
    """With nothing on gunicorn's port (a restart under way), a page is a 503 that asks to
    come back in a few seconds and says what to do about a form, never a bare 502."""
    nginx = Nginx(f"{HOST}:{free_port()}").start()
    try:
        data = b"step=1" if method == "POST" else None
        with pytest.raises(HTTPError) as answer:
            urlopen(Request(nginx.base + "/attempts/1", data=data, method=method), timeout=5)
    finally:
        nginx.stop()
    error = answer.value
    page = error.read().decode()
    assert error.code == 503 and error.headers["Retry-After"] == "5"
    assert error.headers["Cache-Control"] == "no-store"
    assert error.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>The service is busy for a moment</h1>" in page and 'lang="en"' in page
    assert "reload the page to see where things stand" in page


def test_gunicorn_warms_in_the_master_and_its_workers_serve(tmp_path, scenarios_dir):
    """The deploy configuration loads and warms the app before forking, and the forked
    workers, whose engine was disposed of before the fork, answer with the database."""
    env = stack_env(f"sqlite:///{tmp_path / 'served.db'}")
    env["SIMULATOR_SCENARIOS_DIR"] = str(scenarios_dir)
    prepare(env)
    server = Gunicorn(env, tmp_path, workers=2).start()
    try:
        for _ in range(4):  # more requests than workers
            with urlopen(f"http://{server.address}/healthz", timeout=5) as answer:
                assert answer.status == 200
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Caches warmed before forking: {'versions': 1" in log
    assert "Traceback" not in log
