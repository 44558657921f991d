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
    .venv/bin/python bench/profile_requests.py --htmx --attempts 84 --warm 36 --calls

Every attempt's requests are counted, the briefing, Start and the debrief included (the
debrief as the benchmark's trainee asks for it: its region alone with `--htmx`), and the
last line sums them per step POST over the whole loop. `--warm N` plays N attempts first
without counting them (and out of `--profile`). Before any, the caches are warmed as
gunicorn's master warms them before forking (`simulator.warming`: every offered version
parsed and judged, its texts rendered, the templates compiled), so that what is measured
is a deployed worker's play. `--calls` also counts the Python function
calls of each request (`sys.setprofile`): a figure that, unlike CPU time on a shared
machine, comes out the same run after run for the same paths, so two versions of the code
can be compared by it (the paths are drawn at random, so compare per step, over 48 or more
counted attempts).

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
KINDS = ("GET briefing", "POST start", "GET node", "POST step", "GET feedback", "GET debrief")
SIGN_IN = "POST sign-in"


class Counter:
    """Count an engine's statements, checkouts and commits for the request under way."""

    def __init__(self, engine, calls=False):
        from sqlalchemy import event

        self.now = None
        self.counting = True  # False while warming up
        self.calls = calls  # count each request's Python function calls too
        self.called = defaultdict(list)  # kind -> [calls]
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
        if not self.counting:
            return send()
        if self.calls:
            calls = [0]
            response = self.with_calls_counted(send, calls)
            self.called[kind].append(calls[0])
            return response
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

    @staticmethod
    def with_calls_counted(send, calls):
        """Send a request with every Python function call it makes counted into `calls`."""

        def count(_frame, event, _arg):
            if event == "call":
                calls[0] += 1

        sys.setprofile(count)
        try:
            return send()
        finally:
            sys.setprofile(None)

    def report_calls(self):
        """Print the Python function calls per request of each kind, and per step POST."""
        print(f"{'request':<14}{'n':>5}{'calls':>10}{'share':>8}")
        total = sum(sum(c) for c in self.called.values())
        for kind in (*KINDS, SIGN_IN):
            calls = self.called.get(kind)
            if calls:
                share = sum(calls) / total
                print(f"{kind:<14}{len(calls):>5}{statistics.fmean(calls):>10.0f}{share:>8.1%}")
        steps = len(self.called.get("POST step", ()))
        loop = sum(sum(self.called.get(kind, ())) for kind in KINDS)
        if steps:
            print(f"over the play loop: {loop / steps:.0f} calls per step POST")

    def report(self, show):
        """Print one line per kind of request (and, with `show`, its first statements)."""
        if self.calls:
            self.report_calls()
            return
        print(
            f"{'request':<14}{'n':>5}{'statements':>12}{'sessions':>10}{'rest':>7}"
            f"{'checkouts':>11}{'commits':>9}{'p50 ms':>9}{'mean ms':>9}{'CPU ms':>8}"
        )
        for kind in (*KINDS, SIGN_IN):
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
        steps = len(self.seen.get("POST step", ()))
        if steps:
            cpu = sum(row[5] for kind in KINDS for row in self.seen.get(kind, ()))
            count = sum(len(self.seen.get(kind, ())) for kind in KINDS)
            print(
                f"over the play loop: {count / steps:.2f} requests and {cpu / steps:.2f} CPU ms "
                "per step POST"
            )
        if show:
            for kind in (*KINDS, SIGN_IN):
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
    response = counter.measure(SIGN_IN, lambda: client.post("/sign-in", data=form))
    assert response.status_code == 303, response.status_code


def play(client, counter, key, number, htmx=False):
    """Start attempt `number` at a scenario and play it to its end, taking the first choice.

    With `htmx`, Start, the node and the step are sent as htmx sends them (HX-Request):
    Start is answered with the first node at once, the node comes as the play region, and
    a step is answered with what follows it at once (its feedback, or the next node) where
    there is no debrief to go to; a practice feedback so answered brings the next node,
    which Continue shows with no request (static/app.js).
    """
    headers = {"HX-Request": "true"} if htmx else {}
    briefing = f"/scenarios/{key}"
    page = counter.measure("GET briefing", lambda: client.get(briefing)).get_data(as_text=True)
    form = {"number": str(number), "csrf_token": CSRF.search(page).group(1)}
    started = counter.measure(
        "POST start",
        lambda: client.post(f"/scenarios/{key}/attempts", data=form, headers=headers),
    )
    if started.status_code == 200 and htmx:  # the first node, in place of the briefing
        where, page = started.headers["HX-Push-Url"], started.get_data(as_text=True)
    else:
        where, page = started.headers["Location"], None  # the page at `where`, once brought
    whole = True  # a redirect leads to a whole page, as a link does, JavaScript or not
    while "/debrief" not in where:
        kind = "GET feedback" if "/feedback/" in where else "GET node"
        if page is None:
            asked = {} if whole else headers
            response = counter.measure(kind, lambda url=where, h=asked: client.get(url, headers=h))
            assert response.status_code == 200, (where, response.status_code)
            page = response.get_data(as_text=True)
        whole = False
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
    if page is None:  # not brought by the last step or its feedback (htmx's answers do)
        debrief = counter.measure("GET debrief", lambda: client.get(where, headers=headers))
        assert debrief.status_code == 200, (where, debrief.status_code)


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
    parser.add_argument(
        "--warm", type=int, default=0, metavar="N", help="play N attempts first, not counted"
    )
    parser.add_argument(
        "--calls", action="store_true", help="count each request's Python function calls"
    )
    args = parser.parse_args()
    from argon2 import PasswordHasher

    from simulator import accounts

    accounts.hasher = PasswordHasher(time_cost=1, memory_cost=1024)
    cluster = Cluster()
    try:
        cluster.start()
        app = make_app(cluster.create_database("profile"))
        from simulator import warming
        from simulator.accounts import create_user
        from simulator.db import db
        from simulator.library import offered_versions

        with app.app_context():
            for n in range(args.sign_ins + 1):
                create_user(f"trainee-{n}", PASSWORD, "trainee")
            counter = Counter(db.engine, calls=args.calls)
        client = app.test_client()
        sign_in(client, counter, "trainee-0")  # the first request loads the library
        counter.seen.clear()
        with app.app_context():
            keys = sorted(v.scenario_key for v in offered_versions())
        # As gunicorn's master does before forking (deploy/gunicorn.conf.py), so that what
        # is measured is a deployed worker's play, not its first renderings.
        warming.warm(app)
        warming.freeze()
        # CPU time, so that waits on PostgreSQL (another process) do not count as the app's.
        profiler = cProfile.Profile(time.process_time) if args.profile else None
        for n in range(args.attempts):
            counter.counting = n >= args.warm
            if profiler and n == args.warm:
                profiler.enable()  # the counted attempts alone
            play(client, counter, keys[n % len(keys)], n // len(keys) + 1, args.htmx)
        counter.counting = True
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        for n in range(1, args.sign_ins + 1):
            sign_in(app.test_client(), counter, f"trainee-{n}")
        import simulator

        print(
            f"{args.attempts} attempts over {len(keys)} scenarios ({args.warm} not counted); "
            f"{args.sign_ins} sign-ins; "
            f"code from {Path(simulator.__file__).parent}"
        )
        counter.report(args.show)
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
