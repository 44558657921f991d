"""Command-line commands: accounts, demo accounts and loading the library."""

from helpers import doorstep, sign_in, write_scenario

from simulator.accounts import find_user


def test_users_add_reads_password_from_stdin(app, runner, client):
    """`flask users add NAME --role ROLE` takes the password from standard input."""
    result = runner.invoke(
        args=["users", "add", "sergeant", "--role", "trainer"], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    assert "Added trainer 'sergeant'" in result.output
    assert sign_in(client, "sergeant", "a long password").status_code == 303


def test_users_add_default_role(app, runner):
    """Without --role an account is a trainee's."""
    runner.invoke(args=["users", "add", "recruit"], input="a long password\n")
    with app.app_context():
        assert find_user("recruit").role == "trainee"


def test_users_add_refuses_bad_details(runner):
    """A short password is refused with a clear message."""
    result = runner.invoke(args=["users", "add", "x"], input="short\n")
    assert result.exit_code == 1 and "at least 8 characters" in result.output


def test_users_add_refuses_unknown_role(runner):
    """An unknown role is refused."""
    result = runner.invoke(args=["users", "add", "x", "--role", "chief"], input="a long one\n")
    assert result.exit_code == 2 and "chief" in result.output


def test_users_add_needs_a_password(runner):
    """An empty standard input is refused."""
    result = runner.invoke(args=["users", "add", "x"], input="")
    assert result.exit_code == 1 and "No password" in result.output


def test_users_add_duplicate(runner, trainee):
    """An existing username is refused."""
    result = runner.invoke(args=["users", "add", "Trainee"], input="a long password\n")
    assert result.exit_code == 1 and "already" in result.output


def test_users_demo(app, runner):
    """`flask users demo` creates the demo trainee and trainer once and prints how to sign in."""
    first = runner.invoke(args=["users", "demo"])
    second = runner.invoke(args=["users", "demo"])
    assert "Created demo trainee: demo-trainee / demo-trainee-password" in first.output
    assert "already exists" in second.output
    with app.app_context():
        assert find_user("demo-trainer").role == "trainer"


def test_no_demo_accounts_unless_asked(app, client):
    """Nothing else creates demo accounts."""
    client.get("/sign-in")
    with app.app_context():
        assert find_user("demo-trainee") is None


def test_scenarios_load(runner, scenarios_dir):
    """`flask scenarios load` says what it published and refused, and why, and exits 1."""
    write_scenario(scenarios_dir, "broken.yaml", "format: 1\n")
    result = runner.invoke(args=["scenarios", "load"])
    assert result.exit_code == 1, result.output
    assert "Published doorstep.yaml" in result.output
    assert "Refused broken.yaml:" in result.output and "error schema" in result.output
    assert "1 published, 0 unchanged, 1 refused" in result.output
    (scenarios_dir / "broken.yaml").unlink()
    again = runner.invoke(args=["scenarios", "load"])
    assert again.exit_code == 0, again.output
    assert "Unchanged doorstep.yaml: already published" in again.output


def test_scenarios_load_new_version(runner, scenarios_dir):
    """A file with a higher version is published; one with the same number is not."""
    runner.invoke(args=["scenarios", "load"])
    write_scenario(scenarios_dir, text=doorstep(version=2))
    assert "Published doorstep.yaml" in runner.invoke(args=["scenarios", "load"]).output
    write_scenario(scenarios_dir, text=doorstep(version=2, title="Edited, same number"))
    output = runner.invoke(args=["scenarios", "load"]).output
    assert "doorstep.yaml: version 2 is not higher than the published version 2" in output


def test_flask_finds_the_app_through_wsgi(tmp_path):
    """`.venv/bin/flask` run from the repository root finds the app without --app."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "SIMULATOR_SECRET_KEY": "x",
        "SIMULATOR_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite'}",
    }
    env.pop("FLASK_APP", None)
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(
        [str(flask), "--help"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for group in ("db", "scenarios", "users"):
        assert f"  {group} " in done.stdout
