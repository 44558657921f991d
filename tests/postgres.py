"""A throwaway PostgreSQL server for the test session: initdb, pg_ctl, and nothing mocked.

The cluster lives under a temporary folder and listens on a free loopback port. Tests
run as root in CI, and PostgreSQL refuses to run as root, so the server binaries run as
the `postgres` user through runuser.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("SIMULATOR_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVER_SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=200 -c listen_addresses=127.0.0.1"
)


def as_server_user(command):
    """Prefix a command so it runs as `postgres` when the tests run as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def free_port():
    """Return a loopback port that nothing is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster started for the tests and removed afterwards."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="simulator-pg-"))
        self.data = self.root / "data"
        self.port = free_port()

    def start(self):
        """Create the cluster and start the server, waiting until it accepts connections."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL server binaries not found in {PG_BIN}")
        if os.geteuid() == 0:
            server_user = pwd.getpwnam("postgres")
            os.chown(self.root, server_user.pw_uid, server_user.pw_gid)
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
        self.run([*initdb, "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"])
        options = f"-p {self.port} -k {self.root} {SERVER_SETTINGS}"
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log")]
        self.run([*pg_ctl, "-o", options, "-w", "-t", "60", "start"])
        return self

    def stop(self):
        """Stop the server and delete the cluster."""
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data)]
        subprocess.run(as_server_user([*pg_ctl, "-m", "immediate", "-w", "stop"]), check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def run(self, command):
        """Run a server binary, showing its output if it fails."""
        done = subprocess.run(as_server_user(command), capture_output=True, text=True)
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{command[0]} failed:\n{done.stdout}{done.stderr}{tail}")

    def url(self, database):
        """Return the SQLAlchemy URL of a database in this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name, template=None):
        """Create a database, optionally as a copy of a template database."""
        suffix = f" TEMPLATE {template}" if template else ""
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}{suffix}")
        return self.url(name)

    def empty_tables(self, database, tables):
        """Delete every row of these tables and restart their ids (faster than a new database).

        The app's triggers refuse TRUNCATE of its records except in a transaction holding
        a `record_unlocks` row (simulator/triggers.py), so this goes the same way: the row
        is added first, and emptied with the rest (the triggers fire before any table is).
        """
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"
        names = ", ".join(f'"{table}"' for table in tables)
        with psycopg.connect(dsn, autocommit=True) as connection:
            # A connection some test left open would otherwise make this wait for ever.
            connection.execute("SET lock_timeout = '20s'")
            with connection.transaction():
                connection.execute(
                    "INSERT INTO record_unlocks (reason, at) VALUES ('tests: empty tables', now())"
                )
                connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
