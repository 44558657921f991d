"""Format a scenario's statistics for people to read."""

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
