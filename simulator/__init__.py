"""Safe to Report: a training simulator for domestic-abuse scenarios."""

from flask import Flask


def create_app(test_config=None):
    """Create and configure the Flask application."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_mapping(SCENARIOS_DIR="scenarios")
    app.config.from_prefixed_env("SIMULATOR")
    if test_config is not None:
        app.config.from_mapping(test_config)

    from . import cli

    cli.init_app(app)
    return app
