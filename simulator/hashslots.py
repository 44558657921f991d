"""At most one password hash per core at a time on a machine, across all its app processes.

gunicorn runs 2 x cores + 1 workers (deploy/gunicorn.conf.py). When many people sign in at
once, as a class does at the start of a session, every worker hashes at the same time, and
five Argon2 hashes of 19 MiB each, time-sliced on two cores, each take longer than they
would one per core: they share the caches and the memory bandwidth. Here a worker takes a
slot before it hashes: one of `count` lock files (flock), so that the others wait in the
kernel, using no CPU, until one is free. A slot is released when the hash ends, and by the
kernel if its process dies, so a crash never leaves one taken. Measured in 200-sign-in storms
(bench/README.md): a hash took 21.2-21.5 ms of CPU with two slots and 23.1-23.4 ms without.

Each machine has its own slots (local files): a hash only competes with the hashes of its
own machine. If the folder cannot be used, hashing goes on without a slot, and the log says
why once. `configure(0, ...)` turns slots off.
"""

import fcntl
import logging
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)
_settings = {"count": 0, "folder": None, "made": False, "warned": False}


def configure(count, folder):
    """Allow `count` hashes at once on this machine (0: no limit), with lock files in `folder`."""
    _settings.update(count=max(0, int(count)), folder=Path(folder), made=False, warned=False)


def default_folder():
    """Return the folder for the slots' lock files: in the temporary folder, per user."""
    return Path(tempfile.gettempdir()) / f"safe-to-report-hash-slots-{os.getuid()}"


@contextmanager
def slot():
    """Hold one of the machine's hash slots while the block runs (waiting for one if all
    are taken), or none if slots are off or cannot be used."""
    count, folder = _settings["count"], _settings["folder"]
    held = take(count, folder) if count else None
    try:
        yield
    finally:
        if held is not None:
            os.close(held)  # closing the file releases its lock


def take(count, folder):
    """Lock a free slot, or wait for one; return its file descriptor, or None if the
    folder cannot be used.

    Each call opens its own descriptor, so threads of one process exclude each other too
    (flock locks belong to the open file, not the process).
    """
    try:
        if not _settings["made"]:  # once per configuration, not once per hash
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            _settings["made"] = True
        for number in range(count):
            held = lock(folder / f"slot-{number}", fcntl.LOCK_EX | fcntl.LOCK_NB)
            if held is not None:
                return held
        # Every slot is taken: wait on one, chosen so that waiters spread over the slots.
        number = (os.getpid() + threading.get_native_id()) % count
        return lock(folder / f"slot-{number}", fcntl.LOCK_EX)
    except OSError as error:
        _settings["made"] = False  # made again next time (a cleaner may have removed it)
        if not _settings["warned"]:
            _settings["warned"] = True
            log.warning("Hashing without a slot: %s cannot be used (%s)", folder, error)
        return None


def lock(path, flags):
    """Open a slot's file and lock it; return the descriptor, or None if it is taken."""
    held = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, flags)
    except BlockingIOError:
        os.close(held)
        return None
    except BaseException:
        os.close(held)
        raise
    return held
