"""The keyed chain, without an app: keyrings, canonical content, links, seals and checks."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from simulator import chain

SECRET = "s" * 32
RING = chain.parse_keyring(f"k1:{SECRET}")
DIGEST = "d" * 64
STARTED = datetime(2026, 12, 2, 9, 30, 0, 123456, tzinfo=UTC)


def an_attempt(**fields):
    """Return an attempt's fields as the database holds them, unfinished."""
    values = dict(
        id=7,
        user_id=3,
        assignment_id=None,
        number=1,
        mode="practice",
        seed=42,
        started_at=STARTED,
        finished_at=None,
        ending=None,
        passed=None,
        sharing_passed=None,
        result=None,
        critical_count=None,
        path=None,
        state="in_progress",
        late=False,
        counted=True,
        closed_reason=None,
        seal=None,
        seal_key=None,
    )
    return SimpleNamespace(**{**values, **fields})


def a_step(number, rationale=None):
    """Return an unchained step of attempt 7."""
    return SimpleNamespace(
        attempt_id=7,
        step_number=number,
        node_id=f"node-{number}",
        choice_id="go",
        is_decision=True,
        rationale=rationale,
        rationale_hash=chain.rationale_hash(rationale),
        verdict="good",
        elapsed_ms=1500 + number,
        recorded_at=STARTED + timedelta(seconds=10 * (number + 1)),
        link=None,
        link_key=None,
    )


def chain_steps(ring, attempt, steps):
    """Link steps as the app does, each with the keyring's current key."""
    key_id = ring.current
    secret = ring.secret(key_id)
    previous = chain.header_link(secret, attempt, DIGEST)
    for step in steps:
        step.link, step.link_key = chain.step_link(secret, previous, attempt, step), key_id
        previous = step.link
    return steps


def finish(ring, attempt, steps):
    """Finish and seal an attempt as the app does."""
    attempt.finished_at = STARTED + timedelta(minutes=3)
    attempt.state, attempt.ending, attempt.passed = "finished", "safe", True
    attempt.result = {"passed": True, "grade": 87.5, "dimensions": [{"key": "s", "raw": 4}]}
    attempt.path = " ".join(f"{s.node_id}:{s.choice_id}" for s in steps)
    secret = ring.secret(ring.current)
    last = steps[-1].link if steps else chain.header_link(secret, attempt, DIGEST)
    attempt.seal, attempt.seal_key = chain.seal_of(secret, last, attempt), ring.current


def finished_attempt(ring=RING):
    """Return a finished, sealed attempt and its three chained steps."""
    attempt = an_attempt()
    steps = chain_steps(ring, attempt, [a_step(0), a_step(1, "She is at risk."), a_step(2)])
    finish(ring, attempt, steps)
    return attempt, steps


def test_the_first_key_is_current_and_every_key_verifies():
    """The first key makes new links; the others are kept for checking."""
    ring = chain.parse_keyring(f"new:{'n' * 40}, old:{SECRET}")
    assert ring.current == "new"
    assert ring.secret("old") == SECRET.encode()
    assert ring.secret("gone") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"k1:{'x' * 31}", "shorter than 32 bytes"),
        ("k1", "not id:secret"),
        (f":{SECRET}", "not id:secret"),
        (f"a key id far too long:{SECRET}", "not id:secret"),
        (f"k1:{SECRET},k1:{'t' * 32}", "given twice"),
        ("", "not id:secret"),
    ],
)
def test_a_bad_keyring_is_refused_without_showing_a_secret(text, message):
    """A malformed keyring or a short secret is refused, saying why but not the secret."""
    with pytest.raises(chain.KeyringError, match=message) as raised:
        chain.parse_keyring(text)
    assert "x" * 31 not in str(raised.value) and SECRET not in str(raised.value)


def test_times_are_written_in_utc_with_microseconds():
    """The same moment in any time zone is one text."""
    later = STARTED.astimezone(timezone(timedelta(hours=1)))
    assert chain.utc_text(later) == "2026-12-02T09:30:00.123456+00:00"
    assert chain.utc_text(STARTED.replace(microsecond=0)).endswith(":00.000000+00:00")


def test_a_time_without_a_zone_is_refused():
    """A naive time could mean anything, so it is never hashed."""
    with pytest.raises(ValueError):
        chain.utc_text(datetime(2026, 12, 2, 9, 30))


def test_canonical_content_ignores_the_order_of_keys():
    """Content is one text however its mappings were built."""
    assert chain.canonical("r", a={"x": 1, "y": 2}) == chain.canonical("r", a={"y": 2, "x": 1})
    assert chain.canonical("r", a=1) == b'{"a":1,"kind":"r"}'


def test_a_rationale_is_covered_by_its_hash_not_its_text():
    """The step's content holds the rationale's SHA-256, never its words."""
    step = a_step(0, "She is at risk.")
    content = chain.step_content(an_attempt(), step)
    assert b"at risk" not in content
    assert chain.rationale_hash("She is at risk.").encode() in content
    assert chain.rationale_hash(None) is None


def test_a_chained_and_sealed_attempt_verifies():
    """An attempt linked and sealed as recorded passes the check."""
    attempt, steps = finished_attempt()
    assert chain.check(RING, attempt, DIGEST, steps) == chain.Verdict(chain.VERIFIED)


def test_an_attempt_closed_before_any_step_is_sealed_over_its_start():
    """With no steps, the seal chains from the attempt's header."""
    attempt = an_attempt()
    finish(RING, attempt, [])
    assert chain.check(RING, attempt, DIGEST, []).status == chain.VERIFIED
    attempt.seed = 43
    assert chain.check(RING, attempt, DIGEST, []).status == chain.FAILED


def test_an_erased_rationale_leaves_the_chain_verifiable():
    """Removing a rationale's text keeps its hash, so the chain still holds."""
    attempt, steps = finished_attempt()
    steps[1].rationale = None
    assert chain.check(RING, attempt, DIGEST, steps).status == chain.VERIFIED


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda a, s: setattr(s[1], "choice_id", "other"), "step 1: its link does not match"),
        (lambda a, s: setattr(s[0], "elapsed_ms", 1), "step 0: its link does not match"),
        (lambda a, s: setattr(s[2], "recorded_at", STARTED), "step 2: its link does not match"),
        (lambda a, s: setattr(a, "user_id", 4), "step 0: its link does not match"),
        (lambda a, s: setattr(a, "passed", False), "its seal does not match"),
        (lambda a, s: a.result.update(grade=100), "its seal does not match"),
        (lambda a, s: setattr(a, "closed_reason", "x"), "its seal does not match"),
        (lambda a, s: setattr(a, "finished_at", None), "sealed but not finished"),
        (lambda a, s: setattr(a, "seal", None), "finished but not sealed"),
        (lambda a, s: setattr(s[1], "rationale", "Edited."), "step 1: its rationale does not"),
        (lambda a, s: setattr(s[1], "link", None), "step 1: it has no link"),
        (lambda a, s: s.pop(1), "not numbered 0 to 1"),
        (lambda a, s: s.pop(), "its seal does not match"),
    ],
)
def test_a_change_behind_the_app_fails_the_check(change, problem):
    """Any change to a step, the attempt's start or its result is found and named."""
    attempt, steps = finished_attempt()
    change(attempt, steps)
    verdict = chain.check(RING, attempt, DIGEST, steps)
    assert verdict.status == chain.FAILED
    assert any(problem in found for found in verdict.problems), verdict.problems


def test_a_changed_version_digest_fails_the_check():
    """An attempt moved to another scenario version no longer matches its first link."""
    attempt, steps = finished_attempt()
    verdict = chain.check(RING, attempt, "e" * 64, steps)
    assert verdict.problems[0].startswith("step 0: its link does not match")


def test_a_link_made_with_another_key_fails_the_check():
    """A chain remade with a key the keyring does not hold is not accepted."""
    forged = chain.parse_keyring(f"k1:{'f' * 32}")
    attempt, steps = finished_attempt(forged)
    assert chain.check(RING, attempt, DIGEST, steps).status == chain.FAILED


def test_an_unknown_key_id_is_named():
    """A link or seal naming a key that is not configured fails, naming the key."""
    attempt, steps = finished_attempt(chain.parse_keyring(f"retired:{SECRET}"))
    verdict = chain.check(RING, attempt, DIGEST, steps)
    assert "step 0: it names key 'retired', which is not in SIMULATOR_RECORDS_KEY" in (
        verdict.problems
    )
    assert "its seal: it names key 'retired', which is not in SIMULATOR_RECORDS_KEY" in (
        verdict.problems
    )


def test_after_rotation_old_links_still_verify():
    """Steps linked with the old key and a seal made with the new one verify together."""
    old = chain.parse_keyring(f"old:{SECRET}")
    rotated = chain.parse_keyring(f"new:{'n' * 32},old:{SECRET}")
    attempt = an_attempt()
    steps = chain_steps(old, attempt, [a_step(0), a_step(1)])
    later = a_step(2)
    later.link = chain.step_link(rotated.secret("new"), steps[-1].link, attempt, later)
    later.link_key = "new"
    finish(rotated, attempt, [*steps, later])
    assert attempt.seal_key == "new"
    assert chain.check(rotated, attempt, DIGEST, [*steps, later]).status == chain.VERIFIED


@pytest.mark.parametrize("finished", [True, False])
def test_an_attempt_recorded_before_the_chain_is_not_chained(finished):
    """Steps without links and an attempt without a seal are reported, not failed."""
    attempt = an_attempt(finished_at=STARTED if finished else None)
    verdict = chain.check(RING, attempt, DIGEST, [a_step(0), a_step(1)])
    assert verdict == chain.Verdict(chain.NOT_CHAINED)


def test_an_attempt_with_nothing_recorded_verifies():
    """An attempt just begun has nothing to check yet."""
    assert chain.check(RING, an_attempt(), DIGEST, []).status == chain.VERIFIED
