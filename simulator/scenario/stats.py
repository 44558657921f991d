"""Format a scenario's statistics for people to read."""

from .explore import CHOICE_LIMIT
from .validate import FileReport


def _figure(value) -> str:
    return "unbounded" if value is None else str(value)


def format_stats(report: FileReport) -> str:
    """Return the statistics block for one file, or say why there are none."""
    stats = report.stats
    header = f"{report.path}: scenario '{report.scenario_id or '?'}'"
    if stats is None:
        return f"{header}\n  no statistics: fix the errors above first"
    if stats.too_large:
        return f"{header}\n  no statistics: more than {stats.states:,} reachable states"
    no_path = stats.shortest is None
    lines = [
        header,
        f"  reachable states: {stats.states}",
        f"  endings reachable: {stats.endings}",
        f"  complete paths: {'0' if no_path else _figure(stats.paths)}",
        f"  shortest path: {'none' if no_path else stats.shortest} steps",
        f"  longest path: {'none' if no_path else _figure(stats.longest)} steps",
    ]
    if stats.bounds is None:
        lines += [f"  {key}: minimum unbounded, maximum unbounded" for key in stats.dimensions]
    else:
        for key, (low, high) in stats.bounds.items():
            lines.append(f"  {key}: minimum {low}, maximum {high}")
    passable = {True: "yes", False: "no", None: "not checked"}[stats.passable]
    lines.append(f"  passing path exists: {passable}")
    return "\n".join(lines)


def _count(number: int, word: str) -> str:
    """Return ``number`` and ``word``, plural unless the number is 1."""
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def describe(report: FileReport) -> list[str]:
    """Return the statistics of one file as sentences a trainer reads, or say why there are none.

    Paths are complete paths, from the start to an ending; scores are raw points, and
    percents are placed between the lowest and highest score over complete paths, as
    attempts are scored.
    """
    stats = report.stats
    if stats is None:
        return ["There are no figures for this file until its errors are fixed."]
    if stats.too_large:
        if stats.too_many_choices:
            what = f"{CHOICE_LIMIT:,} choices to follow over its reachable states"
        else:
            what = f"{stats.states:,} reachable states"
        return [f"The scenario has more than {what}, so no figures were worked out."]
    sentences = [_endings(stats)]
    if stats.shortest is None:
        sentences.append("No path leads from the start to an ending.")
        return sentences
    sentences += [_paths(stats), _lengths(stats), *_scores(stats), *_passing(stats)]
    return sentences


def _endings(stats) -> str:
    """Say how many of the scenario's endings can be reached."""
    reached, declared = stats.endings, stats.ending_nodes
    if declared == 1:
        return "Its one ending can be reached." if reached else "Its one ending cannot be reached."
    if reached == declared:
        return f"All {declared:,} of its endings can be reached."
    if reached == 0:
        return f"None of its {declared:,} endings can be reached."
    return f"{reached:,} of its {declared:,} endings can be reached."


def _paths(stats) -> str:
    """Say how many complete paths there are."""
    if stats.paths is None:
        return (
            "There is no limit to the number of complete paths: a loop can be repeated on "
            "the way to an ending."
        )
    if stats.paths == 1:
        return "There is 1 complete path from the start to an ending."
    return f"There are {stats.paths:,} complete paths from the start to an ending."


def _lengths(stats) -> str:
    """Say how long the shortest and longest paths are."""
    shortest = _count(stats.shortest, "step")
    if stats.longest is None:
        return f"The shortest path takes {shortest}; no path is the longest, as a loop can repeat."
    if stats.longest == stats.shortest:
        return f"Every path takes {shortest}."
    return f"The shortest path takes {shortest} and the longest {_count(stats.longest, 'step')}."


def _scores(stats) -> list[str]:
    """Say each dimension's range of scores, with its pass mark."""
    if stats.bounds is None:
        return [
            "Scores have no limit, so no score ranges were worked out: a choice on a loop "
            "that can be repeated scores points, shares inappropriately or is critical."
        ]
    sentences = []
    for key, (low, high) in stats.bounds.items():
        label = stats.labels.get(key, key)
        mark = stats.pass_marks.get(key)
        mark = f" (pass mark {mark}%)" if mark is not None else ""
        if low == high:
            sentences.append(
                f"Every complete path scores {low:,} on {label}, so every attempt gets 100% "
                f"on it{mark}."
            )
        else:
            sentences.append(
                f"Scores on {label} run from {low:,} to {high:,} points over complete paths{mark}."
            )
    return sentences


def _passing(stats) -> list[str]:
    """Say whether a path passes and, when none does, how near each pass mark comes."""
    if stats.bounds is None:
        return ["Whether a path passes was not checked, because scores have no limit."]
    if stats.passable is None:
        return ["Whether a path passes was not worked out: deciding it would take too long."]
    if stats.passable:
        return ["At least one path passes."]
    if stats.best is None:
        return [
            "No path passes: every complete path shares immigration information "
            "inappropriately or takes a critical choice."
        ]
    sentences = [
        "No path passes. On the paths that share nothing inappropriately and take no "
        "critical choice, each pass mark's best is:"
    ]
    for key, best in stats.best.items():
        label = stats.labels.get(key, key)
        sentences.append(
            f"Best reachable on {label}: {best}% (pass mark {stats.pass_marks[key]}%)"
        )
    if stats.best and all(best >= stats.pass_marks[key] for key, best in stats.best.items()):
        sentences.append(
            "Each pass mark can be reached on some path, but no one path reaches them all."
        )
    return sentences
