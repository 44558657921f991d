"""Analytics and export benchmark: each view against a bare count of the rows it reads.

Starts a throwaway PostgreSQL cluster (tests/postgres.py), migrates it and loads the
bundled library with the app's own code, then fills it by COPY with 100,000 attempts and
about 1,000,000 steps across 50 cohorts: real versions, and real paths through them walked
with the engine (chosen by verdict in the demo's manners, `demo.Chooser`), each step with
its verdict and each attempt with its node, path, critical errors and stored result, as
`attempts.record_step` would leave them. After ANALYZE it times, in the same run and
inside an app context, one assignment's analytics, one scenario's analytics across every
cohort, and one assignment's two CSV exports, each against `SELECT count(*)` over the
rows that view reads (median of several runs after one warm-up), and prints the ratios.
Only 127.0.0.1 is contacted; the cluster is removed on any exit.

    .venv/bin/python bench/report.py              # full run: 100,000 attempts
    .venv/bin/python bench/report.py --scale 0.1  # a tenth of the data, for a quick look
"""

import argparse
import json
import logging
import os
import platform
import random
import secrets
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from play_load import quiet_stdout  # noqa: E402  (bench/play_load.py)
from postgres import Cluster  # noqa: E402  (tests/postgres.py)

ATTEMPTS = 100_000
STEPS = 1_000_000
COHORTS = 50
TRAINEES_PER_COHORT = 100
ASSIGNMENTS_PER_COHORT = 8
TRAINERS = 25
PATHS_PER_VERSION = 150
# The manners of the demo (demo.Chooser) and how often each is drawn for a path.
MANNERS = (("careful", 0.35), ("uneven", 0.35), ("shares", 0.15), ("critical", 0.15))
ABANDONED_SHARE = 0.4  # of the attempts that do not finish: the rest are in progress
REPEATS = 9
RATIONALE = "Her safety comes first; her immigration status is not a reason to act."
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@dataclass(frozen=True)
class Walked:
    """One complete path through a version, with everything an attempt settles from it."""

    steps: tuple  # (node_id, choice_id, is_decision, verdict, asks_rationale)
    ending: str
    passed: bool
    sharing_passed: bool
    critical_count: int
    result: str  # the stored result, as JSON text
    text: str  # attempts.path_of


def walk_paths(scenario, count, rng):
    """Return up to `count` complete paths through a scenario, each in a drawn manner."""
    from simulator.demo import Chooser

    manners, weights = zip(*MANNERS, strict=True)
    walked = [walk(scenario, Chooser(rng.choices(manners, weights)[0], rng)) for _ in range(count)]
    return [settle(scenario, ids) for ids in walked if ids is not None]


def walk(scenario, chooser):
    """Return the choice ids of one way to an ending, or None if it loops for too long."""
    from simulator import engine

    ids, state = [], engine.State(scenario.start)
    while not engine.is_ending(scenario, state):
        if len(ids) == 200:
            return None
        choice = chooser.choose(scenario, ids, engine.offered_choices(scenario, state))
        ids.append(choice.id)
        state = engine.apply_choice(scenario, state, choice.id)
    return ids


def settle(scenario, ids):
    """Return a path with its verdicts and result, as `attempts.record_step` settles them."""
    from simulator import attempts, engine

    steps = tuple(
        (
            j.state.node,
            j.choice.id,
            scenario.nodes[j.state.node].kind == "decision",
            j.verdict,
            scenario.nodes[j.state.node].rationale != "none",
        )
        for j in engine.verdicts(scenario, ids)
    )
    result = engine.result(scenario, ids)
    return Walked(
        steps,
        result.ending,
        result.passed,
        result.sharing_passed,
        len(result.critical_errors),
        json.dumps(attempts.result_record(result)),
        " ".join(f"{node}:{choice}" for node, choice, *_ in steps),
    )


def finished_share(pools, target):
    """Return the share of attempts to finish so that attempts average `target` steps.

    An attempt that does not finish stops half way along its path, on average.
    """
    lengths = [len(p.steps) for pool in pools.values() for p in pool]
    full = statistics.mean(lengths)
    part = statistics.mean(max(1, n // 2) for n in lengths)
    return min(0.97, max(0.5, (target - part) / (full - part)))


class Filler:
    """Writes the benchmark's rows with COPY, numbering ids itself."""

    def __init__(self, connection, versions, scenarios, pools, scale, rng):
        self.connection, self.versions, self.scenarios = connection, versions, scenarios
        self.pools, self.scale, self.rng = pools, scale, rng
        self.attempt_id = self.step_id = 0
        self.counts = {}

    def copy(self, table, columns, rows):
        """COPY rows into a table."""
        written = 0
        names = ", ".join(columns)
        with self.connection.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        self.counts[table] = self.counts.get(table, 0) + written

    @property
    def trainees_per_cohort(self):
        """Return the trainees in each cohort at this scale."""
        return max(10, round(TRAINEES_PER_COHORT * self.scale))

    def people(self, password_hash):
        """Write the admin, the trainers and the trainees; return the trainees' ids per cohort."""
        rows = [(1, "bench-admin", "admin", "Bench admin")]
        rows += [(2 + n, f"bench-trainer-{n}", "trainer", f"Trainer {n}") for n in range(TRAINERS)]
        members, next_id = {}, 2 + TRAINERS
        for cohort_id in range(1, COHORTS + 1):
            members[cohort_id] = range(next_id, next_id + self.trainees_per_cohort)
            rows += [(i, f"bench-{i}", "trainee", f"Trainee {i}") for i in members[cohort_id]]
            next_id += self.trainees_per_cohort
        columns = (
            "id", "username", "role", "display_name", "password_hash", "created_at", "force",
            "collar_number", "must_change_password",
        )  # fmt: skip
        extra = (password_hash, NOW, "Bench Constabulary", "", False)
        self.copy("users", columns, (row + extra for row in rows))
        return members

    def cohorts(self, members):
        """Write the cohorts, their members and their assignments; return the assignments."""
        cohort_rows, member_rows, assignment_rows, assigned = [], [], [], []
        keys = sorted(self.versions)
        opens = NOW - timedelta(days=90)
        for cohort_id, people in members.items():
            owner = 2 + (cohort_id - 1) % TRAINERS
            audience = "recruit" if cohort_id % 2 else "cpd"
            cohort_rows.append((cohort_id, f"Cohort {cohort_id}", "", audience, owner, NOW))
            member_rows += [(cohort_id, user_id, NOW) for user_id in people]
            for k in range(ASSIGNMENTS_PER_COHORT):
                key = keys[(cohort_id + k) % len(keys)]
                assignment_id = len(assignment_rows) + 1
                assignment_rows.append(
                    (assignment_id, cohort_id, key, "practice", opens, owner, opens)
                )
                assigned.append((assignment_id, key, people))
        columns = ("id", "name", "description", "audience", "owner_id", "created_at")
        self.copy("cohorts", columns, cohort_rows)
        self.copy("cohort_members", ("cohort_id", "user_id", "added_at"), member_rows)
        columns = (
            "id", "cohort_id", "scenario_key", "mode", "opens_at", "created_by_id", "created_at",
        )  # fmt: skip
        self.copy("assignments", columns, assignment_rows)
        return assigned

    def plan(self, assigned, total):
        """Yield (assignment, key, person, number, days ago, is last) for `total` attempts.

        Everyone makes a first attempt at each assignment; the rest go to people at random.
        A person's later attempts come a day or so after their earlier ones.
        """
        pairs = [(a, key, person) for a, key, people in assigned for person in people]
        counts = [1] * len(pairs)
        for _ in range(max(0, total - len(pairs))):
            counts[self.rng.randrange(len(pairs))] += 1
        for (assignment_id, key, person), count in zip(pairs, counts, strict=True):
            days_ago = self.rng.uniform(count * 1.5, 88)
            for number in range(1, count + 1):
                yield assignment_id, key, person, number, days_ago, number == count
                days_ago -= self.rng.uniform(0.2, 1.5)

    def attempts(self, assigned, total, finishing):
        """Write `total` attempts, then their steps."""
        attempt_rows, step_rows = [], []
        for planned in self.plan(assigned, total):
            attempt, steps = self.attempt(*planned, finishing)
            attempt_rows.append(attempt)
            step_rows += steps
        self.copy("attempts", ATTEMPT_COLUMNS, attempt_rows)
        self.copy("attempt_steps", STEP_COLUMNS, step_rows)

    def attempt(self, assignment_id, key, person, number, days_ago, is_last, finishing):
        """Return one attempt's row and its steps' rows, settled as the store settles them.

        Only a person's last attempt at an assignment may be in progress; an earlier one
        that did not finish was abandoned.
        """
        rng, path = self.rng, self.rng.choice(self.pools[key])
        finished = rng.random() < finishing or len(path.steps) < 2
        abandoned = not finished and (not is_last or rng.random() < ABANDONED_SHARE)
        taken = path.steps if finished else path.steps[: rng.randint(1, len(path.steps) - 1)]
        self.attempt_id += 1
        seed = rng.randrange(2**31)
        began = NOW - timedelta(days=days_ago, hours=rng.uniform(0, 8))
        moment, steps = began, []
        for number_, (node, choice, decision, verdict, asks) in enumerate(taken):
            elapsed = int(rng.lognormvariate(10.3, 0.6)) if decision else rng.randint(2000, 15000)
            moment += timedelta(milliseconds=elapsed + rng.randint(3000, 30000))
            self.step_id += 1
            steps.append(
                (self.step_id, self.attempt_id, number_, node, choice, decision,
                 RATIONALE if asks else None, moment, elapsed, verdict)
            )  # fmt: skip
        settled = (path.ending, path.passed, path.sharing_passed, path.result)
        row = (
            self.attempt_id, person, assignment_id, self.versions[key].id, key, number,
            "practice", seed, self.cast_index(key, seed), "shuffled", began,
            moment if finished else None,
            moment + timedelta(hours=2) if abandoned else None,
            *(settled if finished else (None,) * 4),
            path.ending if finished else path.steps[len(taken)][0],
            path.critical_count if finished else None,
            path.text if finished else None,
        )  # fmt: skip
        return row, steps

    def cast_index(self, key, seed):
        """Return the cast row an attempt with this seed draws, as the engine does."""
        from simulator import engine

        return engine.start(self.scenarios[key], seed).cast_index


ATTEMPT_COLUMNS = (
    "id", "user_id", "assignment_id", "scenario_version_id", "scenario_key", "number", "mode",
    "seed", "cast_index", "choice_order", "started_at", "finished_at", "abandoned_at",
    "ending", "passed", "sharing_passed", "result", "at_node", "critical_count", "path",
)  # fmt: skip
STEP_COLUMNS = (
    "id", "attempt_id", "step_number", "node_id", "choice_id", "is_decision", "rationale",
    "recorded_at", "elapsed_ms", "verdict",
)  # fmt: skip
SEQUENCED = ("users", "cohorts", "cohort_members", "assignments", "attempts", "attempt_steps")


def fill(app, dsn, scale, seed, finishing=None):
    """Fill the database; return what was written and how long it took."""
    from simulator import accounts, library
    from simulator.db import db

    rng = random.Random(seed)
    with app.app_context():
        versions = {v.scenario_key: v for v in library.offered_versions()}
        for version in versions.values():
            db.session.expunge(version)
        began = time.perf_counter()
        scenarios = {key: library.scenario_for(v) for key, v in versions.items()}
        pools = {
            key: walk_paths(scenario, PATHS_PER_VERSION, random.Random(key))
            for key, scenario in scenarios.items()
        }
        walked = time.perf_counter() - began
        password_hash = accounts.hash_password(secrets.token_hex(16))
    total = round(ATTEMPTS * scale)
    finishing = finished_share(pools, STEPS / ATTEMPTS) if finishing is None else finishing
    began = time.perf_counter()
    with psycopg.connect(dsn) as connection:
        filler = Filler(connection, versions, scenarios, pools, scale, rng)
        members = filler.people(password_hash)
        assigned = filler.cohorts(members)
        filler.attempts(assigned, total, finishing)
        for table in SEQUENCED:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
        copied = time.perf_counter() - began
        connection.autocommit = True
        began = time.perf_counter()
        connection.execute("VACUUM ANALYZE")
        analyzed = time.perf_counter() - began
    paths = sum(len({p.text for p in pool}) for pool in pools.values())
    return filler.counts, finishing, (paths, len(pools)), (walked, copied, analyzed)


def medians(*calls, repeats=REPEATS):
    """Return each call's median seconds over several runs, taken in turn after a warm-up.

    Taking the calls in turn, rather than one after the other, lets a busy moment of a
    shared machine fall on each of them alike.
    """
    times = [[] for _ in calls]
    for call in calls:
        call()
    for _ in range(repeats):
        for call, taken in zip(calls, times, strict=True):
            began = time.perf_counter()
            call()
            taken.append(time.perf_counter() - began)
    return [statistics.median(taken) for taken in times]


def count_of(sql, **params):
    """Return a function that runs a bare count and returns its value."""
    from sqlalchemy import text

    from simulator.db import db

    return lambda: db.session.execute(text(sql), params).scalar_one()


STEPS_OF_ASSIGNMENT = (
    "SELECT count(*) FROM attempt_steps s JOIN attempts a ON a.id = s.attempt_id "
    "WHERE a.assignment_id = :assignment_id"
)
STEPS_OF_SCENARIO = (
    "SELECT count(*) FROM attempt_steps s JOIN attempts a ON a.id = s.attempt_id "
    "WHERE a.scenario_key = :key AND a.assignment_id IS NOT NULL"
)
ATTEMPTS_OF_ASSIGNMENT = "SELECT count(*) FROM attempts WHERE assignment_id = :assignment_id"


def busiest(sql):
    """Return the id or key with the most steps, by a grouping query."""
    from sqlalchemy import text

    from simulator.db import db

    return db.session.execute(text(sql)).first()


def views(app):
    """Return (name, what it reads, view, baseline, its query alone or None) for each view."""
    from simulator import analytics, exports
    from simulator.db import db
    from simulator.models import Assignment, User

    assignment_id, assignment_steps = busiest(
        "SELECT a.assignment_id, count(*) FROM attempt_steps s JOIN attempts a "
        "ON a.id = s.attempt_id GROUP BY a.assignment_id ORDER BY 2 DESC LIMIT 1"
    )
    key, scenario_steps = busiest(
        "SELECT a.scenario_key, count(*) FROM attempt_steps s JOIN attempts a "
        "ON a.id = s.attempt_id GROUP BY a.scenario_key ORDER BY 2 DESC LIMIT 1"
    )
    assignment = db.session.get(Assignment, assignment_id)
    admin = db.session.get(User, 1)
    scope = exports.assignment_scope(assignment)
    attempts = count_of(ATTEMPTS_OF_ASSIGNMENT, assignment_id=assignment_id)()
    return [
        (
            f"assignment analytics (assignment {assignment_id})",
            f"{assignment_steps:,} steps",
            lambda: analytics.assignment_analytics(assignment),
            count_of(STEPS_OF_ASSIGNMENT, assignment_id=assignment_id),
            None,
        ),
        (
            f"scenario analytics ({key}, all {COHORTS} cohorts)",
            f"{scenario_steps:,} steps",
            lambda: analytics.scenario_analytics(admin, key),
            count_of(STEPS_OF_SCENARIO, key=key),
            None,
        ),
        (
            f"results CSV (assignment {assignment_id})",
            f"{attempts:,} attempts",
            lambda: sum(map(len, exports.result_lines(scope))),
            count_of(ATTEMPTS_OF_ASSIGNMENT, assignment_id=assignment_id),
            lambda: db.session.execute(exports.results_statement(scope)).all(),
        ),
        (
            f"steps CSV (assignment {assignment_id})",
            f"{assignment_steps:,} steps",
            lambda: sum(map(len, exports.step_lines(scope))),
            count_of(STEPS_OF_ASSIGNMENT, assignment_id=assignment_id),
            lambda: db.session.execute(exports.steps_statement(scope)).all(),
        ),
    ]


def measure(app):
    """Time each view and its count; print one line each and the worst ratio.

    The goal (at most 5) is the analytics views'. The CSV exports are timed too, for the
    record, but they write every row out in Python, so they are reported apart.
    """
    worst, exports_worst = 0.0, 0.0
    with app.app_context():
        for name, reads, view, baseline, query in views(app):
            viewed, counted, *alone = medians(view, baseline, *([query] if query else []))
            ratio = viewed / counted
            if query is None:
                worst = max(worst, ratio)
            else:
                exports_worst = max(exports_worst, ratio)
            alone = f" (its query alone {alone[0] * 1000:.1f} ms)" if alone else ""
            print(
                f"{name} reads {reads}: {viewed * 1000:.1f} ms vs count "
                f"{counted * 1000:.1f} ms: ratio {ratio:.2f}{alone}"
            )
    print(f"worst export ratio {exports_worst:.2f} (CSV row by row: not an analytics view)")
    print(f"worst ratio {worst:.2f}")
    return worst


def prepare(url):
    """Return an app on the benchmark's database, migrated and with the library loaded."""
    from simulator import create_app, library
    from simulator.db import alembic

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": secrets.token_hex(32),
            "RECORDS_KEY": f"bench:{secrets.token_hex(32)}",
            "SCENARIOS_DIR": str(ROOT / "scenarios"),
            "LOAD_LIBRARY_ON_START": False,
        }
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        alembic.upgrade()
        library.load_folder(Path(app.config["SCENARIOS_DIR"]))
    return app


def stop_on_signal(signum, _frame):
    """Turn SIGTERM or SIGHUP into an exception, so that the cluster is removed."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv=None):
    """Run the benchmark; return the exit status."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full data")
    parser.add_argument("--seed", type=int, default=1, help="seed of the made-up data")
    parser.add_argument(
        "--finished",
        type=float,
        help="share of attempts that finish (default: what gives 10 steps an attempt)",
    )
    args = parser.parse_args(argv)
    print("Analytics and export benchmark: PostgreSQL 15 on 127.0.0.1")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    cluster = Cluster()
    began = time.monotonic()
    try:
        cluster.start()
        url = cluster.create_database("bench")
        dsn = f"host=127.0.0.1 port={cluster.port} user=postgres dbname=bench"
        app = prepare(url)
        counts, finishing, paths, (walked, copied, analyzed) = fill(
            app, dsn, args.scale, args.seed, args.finished
        )
        print(
            f"{counts['attempts']:,} attempts ({finishing:.0%} finished), "
            f"{counts['attempt_steps']:,} steps, {counts['users']:,} people, "
            f"{counts['cohorts']} cohorts, {counts['assignments']} assignments; "
            f"{paths[0]:,} distinct paths through {paths[1]} versions"
        )
        print(
            f"paths walked in {walked:.1f} s, rows copied in {copied:.1f} s, "
            f"VACUUM ANALYZE in {analyzed:.1f} s"
        )
        print(f"Median of {REPEATS} runs, view and count taken in turn after a warm-up:")
        measure(app)
        with app.app_context():
            from simulator.db import db

            for engine in db.engines.values():
                engine.dispose()
    finally:
        with quiet_stdout():  # pg_ctl says "server stopped"
            cluster.stop()
    print(f"(total {time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stopped:
        print(f"stopped ({stopped})", file=sys.stderr)
        sys.exit(130)
