"""Sample the deploy stack's workers while trainees play, and say where their time goes.

Starts a throwaway PostgreSQL cluster and the deploy stack (nginx and gunicorn with
deploy/gunicorn.conf.py), as bench/play_load.py does, lets 16 trainees play for 20
seconds unmeasured, then samples every gunicorn worker with py-spy while the trainees
play on (with JavaScript unless --no-js). It prints the share of samples under each
function (inclusive: a function counts once per sample however deep), the app's and its
libraries', and the leaves (where the samples were taken). With --gil only samples taken
while a worker held the GIL count, which comes closer to CPU time than wall time does
(waits on PostgreSQL or on a core of this shared machine are then left out).

The figures are shares of the workers' samples, not times: py-spy's sampling itself takes
some of the machine's CPU, so the trainees' throughput here is not a benchmark figure.

    make bench-spy                                       # installs py-spy, then as below
    .venv/bin/python bench/spy_deploy.py --gil           # 40 s sampled, JavaScript on
    .venv/bin/python bench/spy_deploy.py --gil --no-js --seconds 60 --top 80
    .venv/bin/python bench/spy_deploy.py --raw FILE      # keep py-spy's folded stacks
    .venv/bin/python bench/spy_deploy.py --read FILE --under open_session
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import play_load as load  # bench/play_load.py: the cluster, the stack, the trainees
from postgres import Cluster  # tests/postgres.py, on the path play_load sets

SPY = Path(sys.executable).parent / "py-spy"
FRAME = re.compile(r"(?P<name>.*?) \((?P<file>.*?):\d+\)$")
HANDLE = "SyncWorker.handle_request (gunicorn/workers/sync.py)"
TRAINEES = 16
WARMUP = 20


def frame_name(frame):
    """Return `function (file)` for one folded frame, the file relative to site-packages
    or the repository."""
    found = FRAME.match(frame)
    if found is None:
        return frame
    where = found["file"].split("site-packages/")[-1].replace(str(load.ROOT) + "/", "")
    return f"{found['name']} ({where})"


def read_stacks(path):
    """Yield (frames, samples) from py-spy's folded output, worker frames only."""
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame_name(f) for f in stack.split(";") if not f.startswith("process ")]
        if any(f.startswith("SyncWorker.") for f in frames):
            yield frames, int(count)


def report(path, top, under=None):
    """Print the inclusive shares and the leaves, or what is under one function."""
    total, inclusive, leaves, below = 0, Counter(), Counter(), Counter()
    for frames, count in read_stacks(path):
        total += count
        # gunicorn's frames above the request are in every sample: they are left out.
        shown = frames[frames.index(HANDLE) :] if HANDLE in frames else frames[-1:]
        for name in set(shown):
            inclusive[name] += count
        leaves[frames[-1]] += count
        if under is not None:
            places = [i for i, name in enumerate(frames) if under in name]
            if places:
                rest = frames[places[-1] + 1 :]
                below[rest[0] if rest else "(itself)"] += count
    if not total:
        print("No worker samples: was py-spy allowed to read the workers (ptrace)?")
        return
    print(f"\n{total} samples of the workers")
    if under is not None:
        print(f"\nUnder {under!r}, by the function it called:")
        for name, count in below.most_common(top):
            print(f"  {count / total:6.1%}  {name}")
        return
    print("\nInclusive share, from gunicorn's handling of a request down (a function counts")
    print("once per sample; the rest of the samples are gunicorn waiting or accepting):")
    for name, count in inclusive.most_common(top):
        print(f"  {count / total:6.1%}  {name}")
    print("\nWhere the samples were taken (leaves):")
    for name, count in leaves.most_common(min(top, 30)):
        print(f"  {count / total:6.1%}  {name}")


def sample(seconds, raw, gil, htmx):
    """Run the stack under load and py-spy over its workers; write the folded stacks to raw."""
    if not SPY.exists():
        sys.exit("py-spy is not installed in this environment: run `make bench-spy`.")
    folder = Path(tempfile.mkdtemp(prefix="simulator-spy-"))
    cluster = Cluster()
    try:
        cluster.start()
        env = load.server_env(cluster.create_database("bench"))
        usernames = [f"load-trainee-{n}" for n in range(TRAINEES)]
        keys = load.prepare_database(cluster, env, usernames)
        stack = load.Stack(None, env, folder, "deploy")
        stack.start()
        try:
            load.run_load(stack.base, usernames, keys, WARMUP, load.Stats())
            command = [
                str(SPY), "record", "--pid", str(stack.gunicorn.process.pid), "--subprocesses",
                "--duration", str(int(seconds)), "--rate", "250", "--format", "raw",
                "--nonblocking", "-o", str(raw),
            ]  # fmt: skip
            if gil:
                command.append("--gil")
            spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
            time.sleep(1)  # py-spy finds the workers
            stats = load.Stats()
            trainees = load.make_trainees(stack.base, usernames, stats, 13, htmx=htmx)
            load.each(trainees, load.Trainee.sign_in, TRAINEES)
            with load.Measure(stack) as cpu:
                elapsed = load.run_trainees(trainees, keys, seconds - 2)
            load.close(trainees)
            title = "While sampled (py-spy's own CPU is in 'the rest')"
            load.print_table(title, stats, elapsed, cpu)
            if spy.wait() != 0:
                sys.exit("py-spy failed: is ptrace allowed here?")
        finally:
            stack.stop()
    finally:
        with load.quiet_stdout():
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None):
    """Sample (unless --read) and report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40, help="seconds sampled")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--no-js", action="store_true", help="trainees without JavaScript")
    parser.add_argument("--raw", help="keep py-spy's folded stacks in this file")
    parser.add_argument("--read", help="report on folded stacks kept before; sample nothing")
    parser.add_argument("--under", help="show what this function's samples were spent on")
    parser.add_argument("--top", type=int, default=60, help="rows of each list")
    args = parser.parse_args(argv)
    path = args.read
    if path is None:
        path = args.raw or Path(tempfile.mkdtemp(prefix="simulator-spy-out-")) / "stacks.txt"
        sample(args.seconds, path, args.gil, htmx=not args.no_js)
    report(path, args.top, args.under)
    return 0


if __name__ == "__main__":
    sys.exit(main())
