"""Problems found in scenario files, and the suggestion for a misspelt name."""

from dataclasses import dataclass

from .work import NAME_MAX, Work

# The edit-distance cells one file may spend on suggestions (about 0.15 s of CPU here).
EDIT_CELLS_MAX = 250_000


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem, printed as ``FILE:LINE:COLUMN: severity code: message``."""

    file: str
    line: int
    column: int
    code: str
    severity: str
    message: str

    @property
    def is_error(self) -> bool:
        """Return whether this problem is an error rather than a warning."""
        return self.severity == "error"

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.column}: {self.severity} {self.code}: {self.message}"
        )


def sort_key(problem: Problem) -> tuple:
    """Order problems by file, line, column and code."""
    return (problem.file, problem.line, problem.column, problem.code, problem.message)


def edit_distance(a: str, b: str, cutoff: int | None = None, work: Work | None = None) -> int:
    """Return the edit distance of ``a`` and ``b``, a transposition counting as one edit.

    With ``cutoff``, stop as soon as a whole row of the table exceeds it (no later row can
    come back under it) and return ``cutoff + 1``. The cost is at most ``len(a) * len(b)``
    cells, counted in ``work``.
    """
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if work is not None:
            work.edit_cells += len(b)
        previous2, previous = previous, current
        if cutoff is not None and min(current) > cutoff:
            return cutoff + 1
    return previous[len(b)]


def nearest(name: object, candidates, work: Work | None = None) -> str | None:
    """Return the candidate nearest to ``name`` if it is close enough to be a misspelling.

    Bounded: a name or candidate longer than ``NAME_MAX`` (the schema refuses it anyway)
    is never compared, so one comparison costs at most 64 x 64 cells; a candidate whose
    length alone puts it out of reach is skipped; and once ``work`` has spent
    ``EDIT_CELLS_MAX`` cells (one more per candidate looked at), no more suggestions are
    made for that file: a file spends at most ``EDIT_CELLS_MAX + NAME_MAX**2`` cells plus
    one call's candidates. Within the budget, the suggestion is the one made without it.
    """
    if not isinstance(name, str) or len(name) > NAME_MAX:
        return None
    work = work if work is not None else Work()
    if work.edit_cells >= EDIT_CELLS_MAX:
        return None
    pool = {c for c in candidates if isinstance(c, str) and len(c) <= NAME_MAX}
    work.edit_cells += len(pool)
    best = None
    for candidate in sorted(pool):
        if work.edit_cells >= EDIT_CELLS_MAX:
            return None
        reach = max(2, len(name) // 3) if best is None else best[0] - 1
        if abs(len(candidate) - len(name)) > reach:
            continue
        distance = edit_distance(name, candidate, reach, work)
        if distance <= reach:
            best = (distance, candidate)
    return best[1] if best else None


def did_you_mean(name: object, candidates, work: Work | None = None) -> str:
    """Return ``; did you mean 'X'?`` for a near candidate, or an empty string."""
    suggestion = nearest(name, candidates, work)
    return f"; did you mean '{suggestion}'?" if suggestion else ""
