"""Builders for scenario tests: YAML text in, problems out."""

import textwrap
from pathlib import Path

from simulator.scenario import load_bytes

BASE = """\
format: 1
id: sample
title: Sample
summary: A short scenario for tests.
version: 1
dimensions:
  safety: Safety
pass_marks:
  safety: 50
references:
  r1:
    title: Guidance
flags: [checked]
start: first
nodes:
  first:
    text: Hello.
    choices:
      - id: good
        text: Good.
        next: done
        score: {safety: 2}
        refs: [r1]
      - id: check
        text: Check.
        next: second
        set: [checked]
        sharing: inappropriate
        feedback: No.
  second:
    text: Again.
    choices:
      - id: go
        text: Go.
        next: done
        when: {all: [checked]}
  done:
    end:
      outcome: Done
      debrief: Over.
"""


def check(text: str, base_dir: Path | None = None, limit: int | None = None):
    """Return the report for the YAML ``text`` (dedented)."""
    data = textwrap.dedent(text).encode()
    kwargs = {"limit": limit} if limit else {}
    return load_bytes(data, "t.yaml", base_dir, **kwargs)


def codes(text: str, **kwargs) -> list[tuple[str, int]]:
    """Return ``(code, line)`` for each problem in ``text``."""
    return [(p.code, p.line) for p in check(text, **kwargs).problems]


def positions(text: str, **kwargs) -> list[tuple[str, int, int]]:
    """Return ``(code, line, column)`` for each problem in ``text``."""
    return [(p.code, p.line, p.column) for p in check(text, **kwargs).problems]


def replace(old: str, new: str, text: str = BASE) -> str:
    """Return ``text`` with the single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, old
    return text.replace(old, new)
