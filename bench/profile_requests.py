"""Count the SQL statements and time the requests of the trainee's play path and of sign-in.

It starts a throwaway PostgreSQL cluster (tests/postgres.py), migrates it, loads the
bundled library and plays it in one process with Flask's test client: for each request
kind (the node GET, the step POST, the feedback GET, the sign-in POST) it prints the
statements per request (all, then the session store's, then the rest), the pool's
checkouts (each a pre-ping when `pool_pre_ping` is on), the commits, the median and mean
wall time, and the median CPU time of this process (the app and the test client, not
PostgreSQL). Passwords are hashed cheaply here (Argon2id, t = 1, 1 MiB), so that the
sign-in's figure is the app's own work beside one hash.

    .venv/bin/python bench/profile_requests.py            # 30 attempts, 20 sign-ins
    .venv/bin/python bench/profile_requests.py --show     # and each kind's statements once
    .venv/bin/python bench/profile_requests.py --htmx     # play as htmx does (JavaScript on)

To compare with other code in the same sitting, put a copy of its `simulator/` (beside
links to `templates`, `static`, `scenarios` and `migrations`) first on PYTHONPATH.
"""

import argparse
import cProfile
import re
import secrets
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from postgres import Cluster  # noqa: E402  (tests/postgres.py)

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEP = re.compile(r'name="step" value="(\d+)"')
CHOICE = re.compile(r'name="choice"[^>]*value="([^"]+)"')
KINDS = ("GET node", "POST step", "GET feedback", "POST sign-in")


class Counter:
    """Count an engine's statements, checkouts and commits for the request under way."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.now = None
        # kind -> [(statements, the session store's, checkouts, commits, wall ms, CPU ms)]
        self.seen = defaultdict(list)
        self.texts = {}
        event.listen(engine, "before_cursor_execute", self.statement)
        event.listen(engine, "commit", self.commit)
        event.listen(engine.pool, "checkout", self.checkout)

    def statement(self, _connection, _cursor, text, *_args):
        """Count one statement, and keep its text."""
        if self.now is not None:
            self.now["statements"].append(text)

    def commit(self, _connection):
        """Count one commit."""
        if self.now is not None:
            self.now["commits"] += 1

    def checkout(self, *_args):
        """Count one checkout of a pooled connection."""
        if self.now is not None:
            self.now["checkouts"] += 1

    def measure(self, kind, send):
        """Send one request, counting and timing it under `kind`; return its response."""
        self.now = {"statements": [], "commits": 0, "checkouts": 0}
        began, cpu = time.perf_counter(), time.process_time()
        response = send()
        elapsed = (time.perf_counter() - began) * 1000
        cpu = (time.process_time() - cpu) * 1000
        now, self.now = self.now, None
        texts = now["statements"]
        own = sum("web_sessions" in text for text in texts)
        self.seen[kind].append((len(texts), own, now["checkouts"], now["commits"], elapsed, cpu))
        if len(texts) > len(self.texts.get(kind, ())):
            self.texts[kind] = texts  # the longest, to show
        return response

    def report(self, show):
        """Print one line per kind of request (and, with `show`, its first statements)."""
        print(
            f"{'request':<14}{'n':>5}{'statements':>12}{'sessions':>10}{'rest':>7}"
            f"{'checkouts':>11}{'commits':>9}{'p50 ms':>9}{'mean ms':>9}{'CPU ms':>8}"
        )
        for kind in KINDS:
            rows = self.seen.get(kind, [])
            if not rows:
                continue
            statements, own, checkouts, commits, ms, cpu = (
                list(c) for c in zip(*rows, strict=True)
            )
            mean = statistics.fmean
            print(
                f"{kind:<14}{len(rows):>5}{mean(statements):>12.2f}{mean(own):>10.2f}"
                f"{mean(statements) - mean(own):>7.2f}{mean(checkouts):>11.2f}"
                f"{mean(commits):>9.2f}{statistics.median(ms):>9.2f}{mean(ms):>9.2f}"
                f"{statistics.median(cpu):>8.2f}"
            )
        if show:
            for kind in KINDS:
                print(f"\n{kind}:")
                for text in self.texts.get(kind, []):
                    print("   ", " ".join(text.split())[:150])


def make_app(url):
    """Return the app over the cluster's database, migrated, with the library loaded."""
    from simulator import create_app
    from simulator.db import alembic

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "RECORDS_KEY": f"bench:{secrets.token_hex(32)}",
            "SESSION_COOKIE_SECURE": False,
            "LOAD_LIBRARY_ON_START": True,
        }
    )
    with app.app_context():
        alembic.upgrade()
    return app


def sign_in(client, counter, username):
    """Sign a new client in through the form, counting the POST."""
    token = CSRF.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    form = {"username": username, "password": PASSWORD, "csrf_token": token}
    response = counter.measure("POST sign-in", lambda: client.post("/sign-in", data=form))
    assert response.status_code == 303, response.status_code


def play(client, counter, key, number, htmx=False):
    """Start attempt `number` at a scenario and play it to its end, taking the first choice.

    With `htmx`, the node and the step are sent as htmx sends them (HX-Request): the node
    comes as the play region, and a step is answered with what follows it at once (its
    feedback, or the next node) where there is no debrief to go to; a practice feedback so
    answered brings the next node, which Continue shows with no request (static/app.js).
    """
    headers = {"HX-Request": "true"} if htmx else {}
    page = client.get(f"/scenarios/{key}").get_data(as_text=True)
    form = {"number": str(number), "csrf_token": CSRF.search(page).group(1)}
    where = client.post(f"/scenarios/{key}/attempts", data=form).headers["Location"]
    page = None  # the page at `where`, when a step's answer brought it
    while "/debrief" not in where:
        kind = "GET feedback" if "/feedback/" in where else "GET node"
        if page is None:
            response = counter.measure(kind, lambda url=where: client.get(url, headers=headers))
            assert response.status_code == 200, (where, response.status_code)
            page = response.get_data(as_text=True)
        if kind == "GET feedback":
            ahead = re.search(r"<template data-app-next>(.*)</template>", page, re.S)
            where = re.search(r'href="(/attempts/\d+(?:/debrief)?)"', page).group(1)
            page = ahead.group(1) if ahead else None  # Continue shows it with no request
            continue
        form = {
            "step": STEP.search(page).group(1),
            "choice": CHOICE.search(page).group(1),
            "rationale": "Because she is at risk.",
            "csrf_token": CSRF.search(page).group(1),
        }
        response = counter.measure(
            "POST step",
            lambda url=where, form=form: client.post(url, data=form, headers=headers),
        )
        if response.status_code == 200 and htmx:
            where, page = response.headers["HX-Push-Url"], response.get_data(as_text=True)
            continue
        assert response.status_code == 303, (where, response.status_code)
        where, page = response.headers["Location"], None


def main():
    """Profile the play path and sign-in; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=30)
    parser.add_argument("--sign-ins", type=int, default=20)
    parser.add_argument(
        "--show", action="store_true", help="print the statements of each kind's longest request"
    )
    parser.add_argument(
        "--htmx", action="store_true", help="play as a browser with JavaScript does (htmx)"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="write a cProfile of the play path's requests to FILE"
    )
    args = parser.parse_args()
    from argon2 import PasswordHasher

    from simulator import accounts

    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    cluster = Cluster()
    try:
        cluster.start()
        app = make_app(cluster.create_database("profile"))
        from simulator.accounts import create_user
        from simulator.db import db
        from simulator.library import offered_versions

        with app.app_context():
            for n in range(args.sign_ins + 1):
                create_user(f"trainee-{n}", PASSWORD, "trainee")
            counter = Counter(db.engine)
        client = app.test_client()
        sign_in(client, counter, "trainee-0")  # the first request loads the library
        counter.seen.clear()
        with app.app_context():
            keys = sorted(v.scenario_key for v in offered_versions())
        # CPU time, so that waits on PostgreSQL (another process) do not count as the app's.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        if profiler:
            profiler.enable()
        for n in range(args.attempts):
            play(client, counter, keys[n % len(keys)], n // len(keys) + 1, args.htmx)
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        for n in range(1, args.sign_ins + 1):
            sign_in(app.test_client(), counter, f"trainee-{n}")
        import simulator

        print(
            f"{args.attempts} attempts over {len(keys)} scenarios; {args.sign_ins} sign-ins; "
            f"code from {Path(simulator.__file__).parent}"
        )
        counter.report(args.show)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
