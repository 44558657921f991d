"""Load benchmark: simulated trainees playing over HTTP against gunicorn and PostgreSQL.

Starts a throwaway PostgreSQL cluster (tests/postgres.py), prepares it with
`flask db upgrade` and `flask scenarios load`, creates trainee accounts, then for each
worker count starts `gunicorn wsgi:app` on a free 127.0.0.1 port and runs C concurrent
trainees who sign in and play the bundled scenarios from start to debrief, sometimes
pressing Start or posting a step twice at once. Afterwards it checks the step logs,
attempt numbers and stored results in PostgreSQL with the app's own code. Only 127.0.0.1
is ever contacted; the cluster and gunicorn are stopped, and their temporary folders
removed, on any exit.

    .venv/bin/python bench/play_load.py            # full run: about 2 minutes
    .venv/bin/python bench/play_load.py --quick    # about 25 s
    .venv/bin/python bench/play_load.py --strict   # exit 1 on a failed check or a 5xx
"""

import argparse
import json
import os
import platform
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "deploy"))

from loopback import Gunicorn, Nginx  # noqa: E402  (deploy/loopback.py)
from postgres import Cluster, free_port  # noqa: E402  (tests/postgres.py)

BIN = Path(sys.executable).parent
PASSWORD = "load bench password"
HOST = "127.0.0.1"
# The favicon under its hashed name, as the pages link it (simulator/assets.py).
MANIFEST = json.loads((ROOT / "static" / "dist" / "manifest.json").read_text())
STATIC_PATH = f"/static/{MANIFEST['favicon.svg']}"
DOUBLE_SUBMIT_RATE = 0.15
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEP = re.compile(r'name="step" value="(\d+)"')
RADIO = re.compile(r'name="choice" type="radio" value="([^"]+)"')
HIDDEN_CHOICE = re.compile(r'type="hidden" name="choice" value="([^"]+)"')
NUMBER = re.compile(r'name="number" value="(\d+)"')
# Link buttons come from GOV.UK's govukButton macro: <a href="..." role="button" ...>.
RESUME = re.compile(r'<a href="(/attempts/[^"]+)" role="button"[^>]*>\s*Resume')
NEXT_BUTTON = re.compile(r'<a href="([^"]+)" role="button"')
# The direct run and the nginx stack compared at this many sync workers.
STACK_WORKERS = 2
KINDS = ("GET page", "POST step", "sign-in", "start", "static")


class Unexpected(Exception):
    """Raised when the server answers in a way a browser would not expect."""


@dataclass
class Stats:
    """What the trainees of one configuration saw, merged from every thread."""

    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=lambda: defaultdict(int))
    server_errors: int = 0
    completed: int = 0
    double_submits: list = field(default_factory=list)
    double_starts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind, seconds, status):
        """Add one response's latency, and count it as an error if it is a 5xx."""
        with self.lock:
            self.latencies[kind].append(seconds)
            if status >= 500:
                self.server_errors += 1
                self.errors[f"{kind} {status}"] += 1

    def error(self, what):
        """Count a failure that is not a response (a refused connection, a bad page)."""
        with self.lock:
            self.errors[what] += 1

    @property
    def requests(self):
        """Return how many responses were received."""
        return sum(len(v) for v in self.latencies.values())


class Trainee:
    """One simulated trainee: a keep-alive HTTP session that signs in and plays."""

    def __init__(self, base, username, stats, rng):
        self.base, self.username, self.stats, self.rng = base, username, stats, rng
        self.http = requests.Session()

    def call(self, kind, method, path, data=None, http=None):
        """Send one request without following redirects, recording its latency."""
        began = time.perf_counter()
        response = (http or self.http).request(
            method, self.base + path, data=data, allow_redirects=False, timeout=60
        )
        self.stats.record(kind, time.perf_counter() - began, response.status_code)
        if response.status_code not in (200, 303):
            raise Unexpected(f"{method} {kind} {response.status_code}")
        return response

    def get_page(self, path):
        """GET a page, following 303s as a browser would; return (final path, html)."""
        for _ in range(5):
            response = self.call("GET page", "GET", path)
            if response.status_code == 200:
                return path, response.text
            path = local_path(response.headers["Location"])
        raise Unexpected("redirect loop")

    def sign_in(self):
        """Sign in through the form."""
        began = time.perf_counter()
        response = self.http.get(self.base + "/sign-in", timeout=60)
        self.stats.record("GET page", time.perf_counter() - began, response.status_code)
        form = {"username": self.username, "password": PASSWORD, "csrf_token": csrf(response.text)}
        if self.call("sign-in", "POST", "/sign-in", form).status_code != 303:
            raise Unexpected("sign-in refused")

    def play_one(self, keys, deadline):
        """Start (or resume) a random scenario and play it to its debrief."""
        key = self.rng.choice(keys)
        path, html = self.get_page(f"/scenarios/{key}")
        resume = RESUME.search(html)
        if resume:
            path, html = self.get_page(resume.group(1))
        else:
            path, html = self.get_page(local_path(self.press_start(key, html)))
        while time.monotonic() < deadline:
            if path.endswith("/debrief"):
                with self.stats.lock:
                    self.stats.completed += 1
                return
            if "/feedback/" in path:
                path, html = self.get_page(NEXT_BUTTON.search(html).group(1))
                continue
            path, html = self.take_step(path, html)

    def press_start(self, key, html):
        """Press Start on a briefing (sometimes twice at once); return where it leads."""
        form = {"number": NUMBER.search(html).group(1), "csrf_token": csrf(html)}
        path = f"/scenarios/{key}/attempts"
        if self.rng.random() >= DOUBLE_SUBMIT_RATE:
            return self.call("start", "POST", path, form).headers["Location"]
        first, second = self.post_twice("start", path, form, form)
        with self.stats.lock:
            self.stats.double_starts += 1
        if first != second:
            # Both presses must lead to the one attempt they began between them.
            raise Unexpected(f"double Start began two attempts: {first} and {second}")
        return first

    def take_step(self, path, html):
        """Post a random offered choice (sometimes twice at once), then load what follows."""
        form = step_form(html, self.rng)
        if self.rng.random() < DOUBLE_SUBMIT_RATE:
            location, _ = self.post_twice("POST step", path, form, step_form(html, self.rng))
            with self.stats.lock:
                self.stats.double_submits.append((attempt_number(path), int(form["step"])))
        else:
            location = self.call("POST step", "POST", path, form).headers["Location"]
        return self.get_page(local_path(location))

    def post_twice(self, kind, path, first, second):
        """Post two forms to one address at once, as a double click or a second tab does."""
        twin = requests.Session()
        twin.cookies.update(self.http.cookies)
        answers = {}

        def post(name, http, form):
            try:
                answers[name] = self.call(kind, "POST", path, form, http=http)
            except Exception as error:  # counted below, like any failed request
                answers[name] = error

        threads = [
            threading.Thread(target=post, args=("a", self.http, first)),
            threading.Thread(target=post, args=("b", twin, second)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        twin.close()
        for answer in answers.values():
            if isinstance(answer, Exception):
                raise answer
        return answers["a"].headers["Location"], answers["b"].headers["Location"]

    def run(self, keys, deadline):
        """Sign in, then play attempts until the deadline, counting every failure."""
        signed_in = False
        while time.monotonic() < deadline:
            try:
                if not signed_in:
                    self.sign_in()
                    signed_in = True
                self.play_one(keys, deadline)
            except Unexpected as error:
                self.stats.error(str(error))
            except (requests.RequestException, AttributeError) as error:
                self.stats.error(type(error).__name__)
        self.http.close()


def attempt_number(path):
    """Return the attempt id in a play address."""
    return int(path.rstrip("/").split("/")[-1])


def csrf(html):
    """Return the CSRF token of the first form on a page."""
    match = CSRF.search(html)
    if not match:
        raise Unexpected("page without a CSRF token")
    return match.group(1)


def local_path(location):
    """Return the path of a redirect target, refusing any other host than ours."""
    parts = urlsplit(location)
    if parts.hostname not in (None, HOST):
        raise Unexpected(f"redirect off loopback: {location}")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def step_form(html, rng):
    """Fill the play form: a random offered choice, and a reason where one is asked for."""
    radios = RADIO.findall(html)
    hidden = HIDDEN_CHOICE.search(html)
    if not radios and not hidden:
        raise Unexpected("play page without choices")
    form = {
        "csrf_token": csrf(html),
        "step": STEP.search(html).group(1),
        "choice": rng.choice(radios) if radios else hidden.group(1),
    }
    if 'name="rationale"' in html:
        form["rationale"] = "She is at risk; her safety comes first."
    return form


def run_load(base, usernames, keys, seconds, stats):
    """Run one trainee per username for `seconds`; return the wall-clock time taken."""
    deadline = time.monotonic() + seconds
    rng = random.Random(len(usernames) * 1000 + int(seconds))
    trainees = [Trainee(base, name, stats, random.Random(rng.random())) for name in usernames]
    threads = [
        threading.Thread(target=t.run, args=(keys, deadline), daemon=True) for t in trainees
    ]
    return run_threads(threads)


def run_threads(threads):
    """Start the threads, wait for them (Ctrl-C still works), and return the seconds taken."""
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
    return time.perf_counter() - began


def run_static(base, clients, seconds, stats):
    """GET one small static file from `clients` keep-alive sessions: the server's floor."""
    deadline = time.monotonic() + seconds

    def fetch():
        with requests.Session() as http:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                try:
                    response = http.get(base + STATIC_PATH, timeout=60)
                except requests.RequestException as error:
                    stats.error(type(error).__name__)
                    continue
                stats.record("static", time.perf_counter() - began, response.status_code)

    threads = [threading.Thread(target=fetch, daemon=True) for _ in range(clients)]
    return run_threads(threads)


class Server:
    """gunicorn serving wsgi:app on a free loopback port, in its own process group."""

    def __init__(self, workers, env, folder):
        self.workers, self.env, self.folder = workers, env, folder
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.log = folder / f"gunicorn-{workers}.log"
        self.process = None

    def start(self):
        """Start gunicorn and wait until it answers."""
        command = [
            str(BIN / "gunicorn"),
            "--workers", str(self.workers),
            "--bind", f"{HOST}:{self.port}",
            "--pythonpath", str(ROOT),
            "--worker-tmp-dir", str(self.folder),
            "--no-control-socket",
            "--timeout", "120",
            "--error-logfile", str(self.log),
            "wsgi:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, cwd=self.folder, env=self.env, start_new_session=True
        )
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.base + STATIC_PATH, timeout=2).status_code == 200:
                    return self
            except requests.RequestException:  # not listening yet, or busy starting up
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def stop(self):
        """Stop gunicorn and its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def worker_pids(self):
        """Return the ids of the worker processes."""
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                pids.append(int(stat.parent.name))
        return pids

    def log_problems(self):
        """Return the log lines that report an error or a traceback."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line for line in lines if "Traceback" in line or " ERROR " in line.upper()]


class Stack:
    """The deploy stack: nginx (deploy/nginx/app.conf) in front of gunicorn (its config)."""

    def __init__(self, workers, env, folder):
        self.workers = f"{workers}+nginx"
        self.gunicorn = Gunicorn(env, folder / "stack", workers)
        self.nginx = None
        (folder / "stack").mkdir(exist_ok=True)

    def start(self):
        """Start gunicorn, then nginx in front of it."""
        self.gunicorn.start()
        self.nginx = Nginx(self.gunicorn.address).start()
        self.base = self.nginx.base
        return self

    def stop(self):
        """Stop nginx, then gunicorn."""
        if self.nginx is not None:
            self.nginx.stop()
        self.gunicorn.stop()

    def worker_pids(self):
        """Return the ids of gunicorn's workers."""
        return Server.worker_pids(self.gunicorn)

    def log_problems(self):
        """Return the lines of gunicorn's log that report an error or a traceback."""
        return Server.log_problems(self.gunicorn)


def slow_client(base, stop):
    """Send a request's headers one byte a second until told to stop (or cut off)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    headers = f"GET /sign-in HTTP/1.1\r\nHost: {host}\r\nX-Slow: {'x' * 100}\r\n"
    with socket.create_connection((host, port), timeout=5) as sock:
        for byte in headers.encode():
            if stop.wait(1):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server gave up on us: that is the point
                return


def run_slow_clients(base, seconds, slow=2, stall=3.0):
    """Hold `slow` slow clients open while one client GETs /sign-in; return its latencies.

    A request that takes longer than `stall` seconds is counted at `stall` (a timeout).
    """
    stop = threading.Event()
    threads = [
        threading.Thread(target=slow_client, args=(base, stop), daemon=True) for _ in range(slow)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)  # both connected and accepted before the first probe
    latencies, timeouts, deadline = [], 0, time.monotonic() + seconds
    with requests.Session() as http:
        while time.monotonic() < deadline:
            began = time.perf_counter()
            try:
                http.get(base + "/sign-in", timeout=stall).raise_for_status()
                latencies.append(time.perf_counter() - began)
            except requests.RequestException:
                latencies.append(stall)
                timeouts += 1
    stop.set()
    for thread in threads:
        thread.join()
    return latencies, timeouts


def print_slow(title, latencies, timeouts, seconds):
    """Print what the ordinary client saw while two slow clients were connected."""
    within = sum(1 for v in latencies if v < 1.0)
    print(
        f"  {title:<24} {len(latencies):>5} GETs in {seconds:g} s, {within:>5} under 1 s, "
        f"{timeouts:>3} timed out; p50 {percentile(latencies, 50) * 1000:>7.1f} ms, "
        f"max {max(latencies) * 1000:>7.1f} ms"
    )


def cpu_seconds(pids):
    """Return the CPU seconds (user + system) these processes have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def postgres_pids():
    """Return the ids of the PostgreSQL server's processes (those of the `postgres` user)."""
    uid = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid == uid and b"postgres" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def machine_cpu():
    """Return (busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / ticks, sum(values) / ticks


@dataclass
class Measure:
    """CPU use around one configuration: the load client, the workers, PostgreSQL, the rest."""

    server: Server
    client0: float = 0
    workers0: float = 0
    postgres0: float = 0
    machine0: tuple = (0, 0)

    def __enter__(self):
        self.client0 = time.process_time()
        self.workers0 = cpu_seconds(self.server.worker_pids())
        self.postgres0 = cpu_seconds(postgres_pids())
        self.machine0 = machine_cpu()
        return self

    def __exit__(self, *exc):
        busy, total = machine_cpu()
        self.elapsed = total - self.machine0[1]
        self.client = time.process_time() - self.client0
        self.workers = cpu_seconds(self.server.worker_pids()) - self.workers0
        self.postgres = cpu_seconds(postgres_pids()) - self.postgres0
        self.rest = busy - self.machine0[0] - self.client - self.workers - self.postgres


def percentile(values, p):
    """Return the p-th percentile (nearest rank) of some values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def print_table(title, stats, seconds, cpu):
    """Print one configuration's requests, errors, throughput, latencies and CPU use."""
    print(f"\n{title}")
    print(f"  {'kind':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for kind in KINDS:
        values = stats.latencies.get(kind)
        if not values:
            continue
        row = [percentile(values, p) * 1000 for p in (50, 95, 99)]
        print(
            f"  {kind:<10} {len(values):>8} {len(values) / seconds:>7.1f} "
            f"{row[0]:>7.1f} {row[1]:>7.1f} {row[2]:>7.1f}"
        )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(stats.errors.items())) or "none"
    print(
        f"  total {stats.requests} requests in {seconds:.1f} s = "
        f"{stats.requests / seconds:.1f} req/s; completed attempts {stats.completed}\n"
        f"  double steps {len(stats.double_submits)}, double starts {stats.double_starts}; "
        f"errors: {errors}"
    )
    cores = cpu.elapsed
    print(
        f"  CPU over {seconds:.1f} s x {os.cpu_count()} cores: app workers "
        f"{cpu.workers / cores:.0%}, PostgreSQL {cpu.postgres / cores:.0%}, "
        f"load client {cpu.client / cores:.0%}, the rest {max(0, cpu.rest) / cores:.0%}"
    )


def prepare_database(cluster, env, users):
    """Migrate, load the library and create trainee accounts; return the scenario keys."""
    for command in (["db", "upgrade"], ["scenarios", "load"]):
        done = subprocess.run(
            [str(BIN / "flask"), *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stderr[-2000:]}")
    from simulator import create_app
    from simulator.accounts import create_user
    from simulator.library import offered_versions

    app = create_app(app_config(env))
    with app.app_context():
        for name in users:
            create_user(name, PASSWORD, "trainee")
        return [version.scenario_key for version in offered_versions()]


def app_config(env):
    """Return the settings for an in-process app on the benchmark's database."""
    return {
        "DATABASE_URL": env["SIMULATOR_DATABASE_URL"],
        "SECRET_KEY": env["SIMULATOR_SECRET_KEY"],
        "RECORDS_KEY": env["SIMULATOR_RECORDS_KEY"],
        "SYNC_LIBRARY_ON_START": False,
    }


def server_env(database_url):
    """Return gunicorn's environment: production mode, over plain http on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
    env["SIMULATOR_DATABASE_URL"] = database_url
    env["SIMULATOR_SECRET_KEY"] = secrets.token_hex(32)
    env["SIMULATOR_RECORDS_KEY"] = f"bench:{secrets.token_hex(32)}"
    # Production sets the session cookie Secure; over http a client must not send it back.
    env["SIMULATOR_SESSION_COOKIE_SECURE"] = "false"
    return env


def verify(env, double_submits):
    """Check every step log and stored result in the database; return the failures."""
    from sqlmodel import func, select

    from simulator import attempts, create_app, engine
    from simulator.db import db
    from simulator.models import Attempt, AttemptStep

    failures = defaultdict(list)
    app = create_app(app_config(env))
    with app.app_context():
        every = db.session.exec(select(Attempt)).all()
        for attempt in every:
            check_attempt(attempts, engine, attempts.progress_of(attempt), failures)
        check_numbering(every, failures)
        for attempt_id, number in double_submits:
            count = db.session.exec(
                select(func.count()).where(
                    AttemptStep.attempt_id == attempt_id, AttemptStep.step_number == number
                )
            ).one()
            if count != 1:
                failures["double submits"].append(f"attempt {attempt_id} step {number}: {count}")
        totals = (
            db.session.exec(select(func.count()).select_from(Attempt)).one(),
            db.session.exec(select(func.count()).where(Attempt.finished_at.is_not(None))).one(),
            db.session.exec(select(func.count()).select_from(AttemptStep)).one(),
        )
    return failures, totals


def check_numbering(every, failures):
    """Check each person's attempts at a scenario: numbered 1..k, at most one unfinished."""
    own = defaultdict(list)
    for attempt in every:
        own[(attempt.user_id, attempt.scenario_key)].append(attempt)
    for (user_id, key), found in own.items():
        numbers = sorted(a.number for a in found)
        unfinished = [a.id for a in found if a.finished_at is None]
        if numbers != list(range(1, len(found) + 1)) or len(unfinished) > 1:
            failures["attempt numbers"].append(
                f"user {user_id} {key}: numbers {numbers}, unfinished {unfinished}"
            )


def check_attempt(attempts, engine, progress, failures):
    """Check one attempt: steps 0..n-1, a legal path, and the stored result."""
    attempt, numbers = progress.attempt, [s.step_number for s in progress.steps]
    if numbers != list(range(len(numbers))):
        failures["step numbers"].append(f"attempt {attempt.id}: {numbers}")
    try:
        ended = engine.is_ending(progress.scenario, progress.state)
    except Exception as error:  # an impossible choice in the log
        failures["legal path"].append(f"attempt {attempt.id}: {error!r}")
        return
    if ended != (attempt.finished_at is not None):
        failures["finished at an ending"].append(f"attempt {attempt.id}")
    if attempt.finished_at is None:
        return
    recomputed = attempts.result_record(engine.result(progress.scenario, progress.choice_ids))
    if recomputed != attempt.result:
        failures["stored result"].append(f"attempt {attempt.id}")


def configurations(quick):
    """Return the (workers, [concurrencies]) to run, seconds per run, and warm-up seconds."""
    if quick:
        return [(1, [8]), (2, [8])], 5, 1
    return [(1, [4, 16]), (2, [4, 16])], 20, 3


def bench_server(server, levels, seconds, warmup, keys, usernames, results, slow=None):
    """Start a server, run each level of load (and the slow clients), and stop it."""
    workers = server.workers
    try:
        server.start()
        run_load(server.base, usernames[:4], keys, warmup, Stats())
        stats = Stats()
        with Measure(server) as cpu:
            elapsed = run_static(server.base, max(levels), max(2, seconds // 4), stats)
        title = f"{workers} worker(s), static file floor, C={max(levels)}"
        print_table(title, stats, elapsed, cpu)
        results.append((workers, "static", max(levels), stats, elapsed))
        for clients in levels:
            stats = Stats()
            with Measure(server) as cpu:
                elapsed = run_load(server.base, usernames[:clients], keys, seconds, stats)
            print_table(f"{workers} worker(s), C={clients} trainees", stats, elapsed, cpu)
            results.append((workers, "play", clients, stats, elapsed))
        if slow is not None:
            slow[workers] = run_slow_clients(server.base, slow["seconds"])
    finally:
        server.stop()
        problems = server.log_problems()
    return problems


def print_summary(results):
    """Print every configuration side by side, relative to one worker at the same load."""
    print("\nSummary (play req/s relative to 1 worker at the same C)")
    print(
        f"  {'workers':>7} {'load':>10} {'req/s':>7} {'x 1w':>5} {'GET p50':>8} "
        f"{'GET p95':>8} {'POST p50':>9} {'POST p95':>9} {'done/s':>7} {'5xx':>4}"
    )
    base = {(kind, c): s.requests / t for w, kind, c, s, t in results if w == 1}
    for workers, kind, clients, stats, seconds in results:
        rate = stats.requests / seconds
        get = stats.latencies.get("GET page") or stats.latencies.get("static") or [0]
        post = stats.latencies.get("POST step") or [0]
        ratio = rate / base[(kind, clients)] if (kind, clients) in base else 0
        print(
            f"  {workers:>7} {kind + ' C=' + str(clients):>10} {rate:>7.1f} {ratio:>5.2f} "
            f"{percentile(get, 50) * 1000:>8.1f} {percentile(get, 95) * 1000:>8.1f} "
            f"{percentile(post, 50) * 1000:>9.1f} {percentile(post, 95) * 1000:>9.1f} "
            f"{stats.completed / seconds:>7.2f} {stats.server_errors:>4}"
        )


def print_slow_summary(slow):
    """Print the slow-clients figures of gunicorn alone and of the nginx stack side by side."""
    print(
        f"\nSlow clients: 2 connections sending headers 1 byte/s, while one client GETs "
        f"/sign-in in a loop (3 s timeout), {slow['seconds']:g} s each"
    )
    for name, figures in slow.items():
        if name != "seconds":
            title = f"{name} worker(s)" + ("" if "nginx" in str(name) else ", gunicorn alone")
            print_slow(title, *figures, slow["seconds"])


def report_checks(failures, totals, log_problems, results):
    """Print PASS/FAIL for each check; return whether all passed."""
    attempts, finished, steps = totals
    server_errors = sum(s.server_errors for *_, s, _ in results)
    others = defaultdict(int)
    for *_, stats, _ in results:
        for what, count in stats.errors.items():
            if not what[-3:].startswith("5"):
                others[what] += count
    print(f"\nIntegrity in PostgreSQL: {attempts} attempts ({finished} finished), {steps} steps")
    checks = [
        ("step numbers 0..n-1, no gaps or duplicates", failures["step numbers"]),
        ("every log a legal path through its version", failures["legal path"]),
        ("finished exactly when the log reaches an ending", failures["finished at an ending"]),
        ("each double-submitted step recorded once", failures["double submits"]),
        ("stored result == engine.result(steps)", failures["stored result"]),
        ("attempts numbered 1..k, one in progress at most", failures["attempt numbers"]),
        ("no 5xx response", [f"{server_errors} responses"] if server_errors else []),
        ("no other unexpected answer", [f"{k}: {v}" for k, v in sorted(others.items())]),
        ("no error or traceback in gunicorn's log", log_problems),
    ]
    for name, problems in checks:
        print(f"  {'FAIL' if problems else 'PASS'}  {name}")
        for problem in problems[:5]:
            print(f"        {problem}")
    return not any(problems for _, problems in checks)


@contextmanager
def quiet_stdout():
    """Send what child processes print to standard output nowhere, for a moment."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def stop_on_signal(signum, _frame):
    """Turn SIGTERM or SIGHUP into an exception, so that the finally blocks clean up."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv=None):
    """Run the benchmark; return the exit status."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about 30 s)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on a failure or a 5xx")
    parser.add_argument("--seconds", type=float, help="seconds per configuration")
    args = parser.parse_args(argv)
    plan, seconds, warmup = configurations(args.quick)
    seconds = args.seconds or seconds
    usernames = [f"load-trainee-{n}" for n in range(max(max(c) for _, c in plan))]
    print(
        "Play load benchmark: gunicorn (sync workers), then nginx in front of it "
        "(deploy/), + PostgreSQL 15, all on 127.0.0.1"
    )
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    folder = Path(tempfile.mkdtemp(prefix="simulator-load-"))
    cluster = Cluster()
    results, log_problems, began = [], [], time.monotonic()
    try:
        cluster.start()
        env = server_env(cluster.create_database("bench"))
        keys = prepare_database(cluster, env, usernames)
        print(f"{len(keys)} scenarios, {len(usernames)} trainees, {seconds:g} s per run")
        slow = {"seconds": 6 if args.quick else 15}
        for workers, levels in plan:
            server = Server(workers, env, folder)
            log_problems += bench_server(
                server, levels, seconds, warmup, keys, usernames, results,
                slow if workers == STACK_WORKERS else None,
            )  # fmt: skip
        # The deploy stack with as many workers as the last direct run: nginx is the change.
        log_problems += bench_server(
            Stack(STACK_WORKERS, env, folder), plan[-1][1], seconds, warmup, keys, usernames,
            results, slow,
        )  # fmt: skip
        print_summary(results)
        print_slow_summary(slow)
        doubles = [d for _, _, _, s, _ in results for d in s.double_submits]
        failures, totals = verify(env, doubles)
    finally:
        with quiet_stdout():  # pg_ctl says "server stopped"
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    passed = report_checks(failures, totals, log_problems, results)
    total = time.monotonic() - began
    print(f"\nAll checks passed: {'yes' if passed else 'no'} (total {total:.0f} s)")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stop:
        print(f"\nStopped ({stop}): gunicorn and PostgreSQL stopped, files removed.")
        sys.exit(130)
