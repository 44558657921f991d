"""Count the work that checking one file does, so its cost is bounded and tested, not timed.

Every algorithm whose cost grows with its input counts what it does here, and each has a
bound, stated beside the constant that enforces it:

- YAML parser events: at most ``yamlsafe.MAX_EVENTS`` per file (a file past it is refused);
- edit-distance cells for "did you mean" suggestions: names longer than ``NAME_MAX`` are
  never compared, and a file spends at most ``problems.EDIT_CELLS_MAX`` cells in all (past
  it, a problem is reported without a suggestion);
- reachable states explored: at most the state limit (``explore.STATE_LIMIT``), and choices
  examined over them at most ``explore.CHOICE_LIMIT`` (past either, ``too-large``);
- steps of the exact search for a passing path (score vectors built and compared): at
  most ``passable.FRONT_LIMIT`` (past it, ``too-large``).
"""

from dataclasses import dataclass

# The schema's limit on names (node, choice, flag, dimension, reference and cast keys).
NAME_MAX = 64


@dataclass(slots=True)
class Work:
    """What checking one file has done so far."""

    yaml_events: int = 0
    edit_cells: int = 0
    states: int = 0
    choices: int = 0
    front_steps: int = 0
