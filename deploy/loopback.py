"""The production stack on loopback: PostgreSQL, gunicorn (deploy config) and nginx.

For trying the stack out and for the load benchmark (bench/play_load.py imports
Gunicorn and Nginx from here). Everything listens on 127.0.0.1 only, lives in temporary
folders, and is stopped, and its folders removed, on exit. nginx runs as www-data when
started by root (as yourself otherwise), with its pid file, logs and buffers in the
temporary folder; PostgreSQL as `postgres` (tests/postgres.py).

    .venv/bin/python deploy/loopback.py             # prints the address; Ctrl-C stops it
    .venv/bin/python deploy/loopback.py --workers 2
"""

import argparse
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from postgres import Cluster, free_port  # noqa: E402  (tests/postgres.py)

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_USER = "www-data"
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")
NGINX_CONFIG = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
load_module {brotli};

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log {access_log};
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;

    upstream safe_to_report {{
        server {upstream} fail_timeout=0;
    }}

    server {{
        listen {host}:{port};
        server_name localhost;
        set $assets {root}/static/dist;
        include {root}/deploy/nginx/app.conf;
    }}
}}
"""


def wait_until_up(url, process, log, what):
    """Wait until a URL answers (any status), failing early if the process exits."""
    for _ in range(300):
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{what} exited:\n{tail}")
        try:
            with urlopen(url, timeout=2):
                return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP error status: it is answering
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within 30 s")


def stop_group(process, seconds=35):
    """Stop a process started in its own session, and everything it started."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py on a free loopback port."""

    def __init__(self, env, folder, workers=None):
        self.folder, self.port = folder, free_port()
        self.address = f"{HOST}:{self.port}"
        self.log = folder / "gunicorn.log"
        self.env = {**env, "GUNICORN_BIND": self.address}
        if workers:
            self.env["GUNICORN_WORKERS"] = str(workers)
        self.process = None

    def start(self):
        """Start gunicorn and wait until it answers."""
        command = [
            str(BIN / "gunicorn"),
            "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--error-logfile", str(self.log),
            "wsgi:app",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True)
        wait_until_up(f"http://{self.address}/sign-in", self.process, self.log, "gunicorn")
        return self

    def stop(self):
        """Stop gunicorn gracefully (its workers finish what they were doing)."""
        stop_group(self.process)


class Nginx:
    """nginx on a free loopback port in front of an upstream, with a generated config."""

    def __init__(self, upstream, access_log=False):
        # A folder of its own: nginx's user must not see the others' (mode 0700).
        self.upstream = upstream
        self.folder = Path(tempfile.mkdtemp(prefix="simulator-nginx-"))
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.access_log = f"{self.folder}/access.log" if access_log else "off"
        self.log = self.folder / "error.log"
        self.process = None

    def write_config(self):
        """Write nginx.conf into the temporary folder and return its path."""
        config = self.folder / "nginx.conf"
        config.write_text(
            NGINX_CONFIG.format(
                folder=self.folder, brotli=BROTLI_MODULE, access_log=self.access_log,
                upstream=self.upstream, host=HOST, port=self.port, root=ROOT,
            )
        )  # fmt: skip
        if os.geteuid() == 0:
            user = pwd.getpwnam(NGINX_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        return config

    def start(self):
        """Check the config, start nginx in the foreground, and wait until it answers."""
        if not Path(NGINX).exists() or not BROTLI_MODULE.exists():
            raise RuntimeError("nginx or its brotli_static module is missing: make deploy-deps")
        config = self.write_config()
        command = [NGINX, "-p", str(self.folder), "-c", str(config), "-e", str(self.log)]
        # nginx needs no privilege on a high port: as root, it runs as www-data throughout.
        user = {"user": NGINX_USER, "group": NGINX_USER, "extra_groups": []}
        user = user if os.geteuid() == 0 else {}
        done = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, **user)
        if done.returncode != 0:
            raise RuntimeError(f"nginx -t failed:\n{done.stderr}")
        self.process = subprocess.Popen(command, start_new_session=True, **user)
        wait_until_up(self.base + "/sign-in", self.process, self.log, "nginx")
        return self

    def stop(self):
        """Stop nginx (SIGTERM: a fast shutdown) and remove its folder."""
        stop_group(self.process, seconds=10)
        shutil.rmtree(self.folder, ignore_errors=True)

    def worker_pids(self):
        """Return the ids of nginx's processes (master and worker)."""
        pids = [self.process.pid] if self.process else []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            if parent in pids:
                pids.append(int(stat.parent.name))
        return pids


def stack_env(database_url):
    """Return the app's production environment for the loopback stack (plain http)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
    env["SIMULATOR_DATABASE_URL"] = database_url
    env["SIMULATOR_SECRET_KEY"] = secrets.token_hex(32)
    env["SIMULATOR_RECORDS_KEY"] = f"loopback:{secrets.token_hex(32)}"
    # Production sets the session cookie Secure; over http a browser would not send it back.
    env["SIMULATOR_SESSION_COOKIE_SECURE"] = "false"
    return env


def prepare(env):
    """Migrate, load the scenario library and add the demo accounts."""
    for command in (["db", "upgrade"], ["scenarios", "load"], ["users", "demo"]):
        done = subprocess.run(
            [str(BIN / "flask"), *command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{done.stderr[-2000:]}")


def stop_on_signal(signum, _frame):
    """Turn SIGTERM or SIGHUP into an exception, so that the finally block cleans up."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv=None):
    """Start the stack, print its address, and stop it all on Ctrl-C."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: its config)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="simulator-stack-"))
    cluster, parts = Cluster(), []
    try:
        cluster.start()
        env = stack_env(cluster.create_database("stack"))
        prepare(env)
        gunicorn = Gunicorn(env, folder, args.workers)
        parts.append(gunicorn.start())
        nginx = Nginx(gunicorn.address, access_log=True)
        parts.append(nginx.start())
        print(f"Safe to Report on {nginx.base}/ (nginx; gunicorn on {gunicorn.address})")
        print(f"Logs in {folder} and {nginx.folder}; Ctrl-C stops everything.", flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for part in reversed(parts):
            part.stop()
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
