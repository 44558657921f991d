"""Problems found in scenario files, and the suggestion for a misspelt name."""

from dataclasses import dataclass


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


def edit_distance(a: str, b: str) -> int:
    """Return the edit distance of ``a`` and ``b``, a transposition counting as one edit."""
    previous2, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def nearest(name: object, candidates) -> str | None:
    """Return the candidate nearest to ``name`` if it is close enough to be a misspelling."""
    if not isinstance(name, str):
        return None
    limit = max(2, len(name) // 3)
    best = None
    for candidate in sorted({c for c in candidates if isinstance(c, str)}):
        distance = edit_distance(name, candidate)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def did_you_mean(name: object, candidates) -> str:
    """Return ``; did you mean 'X'?`` for a near candidate, or an empty string."""
    suggestion = nearest(name, candidates)
    return f"; did you mean '{suggestion}'?" if suggestion else ""
