"""Command-line commands: `flask scenarios ...`."""

import click
from flask import current_app
from flask.cli import AppGroup

scenarios_cli = AppGroup("scenarios", help="Check and inspect scenario files.")


def init_app(app):
    """Register the command groups with the app."""
    app.cli.add_command(scenarios_cli)


@scenarios_cli.command("validate")
@click.argument("paths", nargs=-1)
def validate_command(paths):
    """Validate scenario files or folders."""
    click.echo(current_app.config["SCENARIOS_DIR"])
