"""Command-line commands: `flask scenarios ...`."""

import json

import click
from flask import current_app
from flask.cli import AppGroup

scenarios_cli = AppGroup("scenarios", help="Check and inspect scenario files.")


def init_app(app):
    """Register the command groups with the app."""
    app.cli.add_command(scenarios_cli)


@scenarios_cli.command("validate")
@click.argument("paths", nargs=-1)
@click.option("--strict", is_flag=True, help="Fail on warnings as well as errors.")
@click.option("--stats", is_flag=True, help="Print each scenario's statistics.")
def validate_command(paths, strict, stats):
    """Check scenario files or folders (default: the library folder) as one library."""
    from .scenario import validate_paths
    from .scenario.stats import format_stats

    report = validate_paths(paths or [current_app.config["SCENARIOS_DIR"]])
    for missing in report.missing:
        click.echo(f"{missing}: no such file or folder", err=True)
    for problem in report.problems:
        click.echo(str(problem))
    if stats:
        for file in report.files:
            click.echo(format_stats(file))
    errors = sum(p.is_error for p in report.problems)
    warnings = len(report.problems) - errors
    click.echo(
        f"{len(report.files)} file(s) checked: {errors} error(s), {warnings} warning(s)", err=True
    )
    raise SystemExit(report.exit_code(strict))


@scenarios_cli.command("schema")
def schema_command():
    """Print the JSON Schema of the scenario format, for editors."""
    from .scenario.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))
