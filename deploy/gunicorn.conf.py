"""gunicorn for Safe to Report, behind nginx on the same machine (deploy/README.md).

Run from the repository root: gunicorn --config deploy/gunicorn.conf.py wsgi:app
GUNICORN_BIND and GUNICORN_WORKERS override the address and the number of workers.
"""

import multiprocessing
import os

# Loopback only: nginx on this machine is the one client. A TCP address rather than a
# unix socket, because gunicorn trusts every unix-socket peer's X-Forwarded-Proto.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: nginx buffers whole requests and responses, so a worker is never held by
# a slow network, only by its own work (CPU, Argon2, PostgreSQL). One more than twice the
# cores keeps the cores busy while some workers wait on the database. Each worker may hash
# a password (Argon2, 64 MiB) and holds at most one database connection at a time.
worker_class = "sync"
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
threads = 1

# The slowest page is a large CSV export (about a second per cohort, bench/README.md);
# a worker silent for 30 s is stuck and is replaced. On SIGTERM, requests under way get
# 30 s to finish (systemd's TimeoutStopSec is a little longer).
timeout = 30
graceful_timeout = 30

# Trust X-Forwarded-Proto from the local nginx alone: request.is_secure is then true for
# requests that came over HTTPS, and the app sends Strict-Transport-Security itself.
# nginx overwrites the header on every request, and clears the other two forms.
forwarded_allow_ips = "127.0.0.1"
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
forwarder_headers = ""  # none: SCRIPT_NAME and PATH_INFO come from the request alone

# nginx writes the access log; errors go to standard error (the journal under systemd).
accesslog = None
errorlog = "-"
worker_tmp_dir = "/dev/shm"
control_socket_disable = True

# Load the app once, in the master, and warm its caches there before forking: every worker
# starts with every offered version parsed and judged, every text rendered and every
# template compiled (simulator/warming.py), shared until written to. A HUP then starts new
# workers from the code already loaded; to run new code, restart the service. Versions
# published later are read by each worker when first played, as before.
preload_app = True


def when_ready(server):
    """Warm the loaded app's caches and freeze them, before the first worker is forked."""
    from simulator import warming

    app = server.app.wsgi()
    if "scenario_cache" not in getattr(app, "extensions", {}):
        return  # another app: bench/baseline_app.py is served with this file too
    done = warming.warm(app)
    warming.freeze()
    server.log.info("Caches warmed before forking: %s", done)
