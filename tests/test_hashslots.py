"""Hash slots: at most `count` password hashes at once on a machine, across threads and
processes, and hashing goes on if the slots cannot be used."""

import multiprocessing
import threading
import time

import pytest

from simulator import accounts, hashslots


@pytest.fixture
def slots(tmp_path):
    """Configure slots in a folder of the test's own; put the app's setting back after."""
    saved = dict(hashslots._settings)

    def configure(count, folder=tmp_path / "slots"):
        hashslots.configure(count, folder)
        return folder

    yield configure
    hashslots._settings.update(saved)


def test_threads_hash_at_most_count_at_once(slots):
    """Six threads want two slots: two hold them together, never a third."""
    slots(2)
    holding, most, lock = [], [0], threading.Condition()

    def hold():
        with hashslots.slot():
            with lock:
                holding.append(1)
                most[0] = max(most[0], len(holding))
                lock.notify_all()
                lock.wait_for(lambda: most[0] >= 2, timeout=5)  # until two are in at once
            time.sleep(0.02)
            with lock:
                holding.pop()

    threads = [threading.Thread(target=hold) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most[0] == 2


def hold_and_say_when(folder, intervals):
    """In a process of its own: hold the one slot for 30 ms; report when (monotonic clock,
    which all processes share)."""
    hashslots.configure(1, folder)
    with hashslots.slot():
        began = time.monotonic()
        time.sleep(0.03)
        intervals.put((began, time.monotonic()))


def test_processes_take_turns(slots):
    """Three processes and one slot: no two hold it at once."""
    folder = slots(1)
    context = multiprocessing.get_context("spawn")
    intervals = context.Queue()
    workers = [
        context.Process(target=hold_and_say_when, args=(folder, intervals)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    held = sorted(intervals.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(10)
        assert worker.exitcode == 0
    for (_, first_end), (second_start, _) in zip(held, held[1:], strict=False):
        assert second_start >= first_end


def test_a_slot_is_free_again_after_an_error(slots):
    """A hash that fails still gives its slot back."""
    slots(1)
    with pytest.raises(RuntimeError), hashslots.slot():
        raise RuntimeError("the hash failed")
    done = threading.Event()
    thread = threading.Thread(target=lambda: (hashslots.slot().__enter__(), done.set()))
    thread.start()
    assert done.wait(5)


def test_hashing_goes_on_when_the_folder_cannot_be_used(slots, tmp_path, caplog):
    """A file where the folder should be: passwords still hash and verify, and the log
    says why there is no slot."""
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    slots(2, blocked / "slots")
    digest = accounts.hasher.hash("correct horse")
    assert accounts.hasher.verify(digest, "correct horse")
    assert "Hashing without a slot" in caplog.text


def test_no_slots_takes_no_lock(slots):
    """With 0 slots nothing is locked or made: any number hash at once."""
    folder = slots(0)
    with hashslots.slot(), hashslots.slot(), hashslots.slot():
        pass
    assert not folder.exists()


def test_the_app_configures_one_slot_per_core(make_app, tmp_path):
    """By default the app allows one hash per core, with its files where it is told."""
    saved = dict(hashslots._settings)
    try:
        make_app(HASH_SLOTS_DIR=str(tmp_path / "here"))
        assert hashslots._settings["count"] >= 1
        assert hashslots._settings["folder"] == tmp_path / "here"
        accounts.check_password(None, "anything")  # a hash, in a slot
        assert (tmp_path / "here" / "slot-0").exists()
    finally:
        hashslots._settings.update(saved)


def test_a_folder_removed_while_running_is_made_again(slots):
    """A temporary-files cleaner removing the folder costs one hash its slot, no more."""
    folder = slots(1)
    with hashslots.slot():
        pass
    (folder / "slot-0").unlink()
    folder.rmdir()
    with hashslots.slot():  # without a slot: the folder is gone
        pass
    with hashslots.slot():
        assert (folder / "slot-0").exists()
