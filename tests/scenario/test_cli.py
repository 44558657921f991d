"""The command line: `flask scenarios validate` and `flask scenarios schema`."""

import json

import pytest

from simulator import create_app

from .helpers import BASE, replace


@pytest.fixture
def run(tmp_path):
    """Return a function that runs a flask command with the library in ``tmp_path``."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path}/db",
            "SCENARIOS_DIR": str(tmp_path),
        }
    )

    def invoke(*args):
        return app.test_cli_runner().invoke(args=list(args))

    return invoke


def test_validate_defaults_to_the_library_folder(run, tmp_path):
    """With no path, the configured library folder is checked."""
    (tmp_path / "a.yaml").write_text(replace("title: Sample", "title: 12"))
    result = run("scenarios", "validate")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'a.yaml'}:3:8: error schema: expected text, but YAML reads '12' as a "
        'number: put it in quotes, for example "12"'
    ]


def test_a_yaml_syntax_error_prints_on_one_line_in_plain_words(run, tmp_path):
    """A file that is not valid YAML gets one line: what to fix, then the parser's words."""
    (tmp_path / "a.yaml").write_text(replace("title: Sample", "title: Sample: a test"))
    result = run("scenarios", "validate", str(tmp_path / "a.yaml"))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'a.yaml'}:3:14: error yaml-syntax: a second ':' on this line: put the "
        "text in quotes (the parser said: mapping values are not allowed in this context)"
    ]


def test_valid_file_exits_0(run, tmp_path):
    """A valid file prints nothing on standard output and exits 0."""
    (tmp_path / "a.yaml").write_text(BASE)
    result = run("scenarios", "validate", str(tmp_path / "a.yaml"))
    assert (result.exit_code, result.stdout) == (0, "")


def test_warnings_fail_only_with_strict(run, tmp_path):
    """Warnings exit 0, or 1 with --strict."""
    (tmp_path / "a.yaml").write_text(replace("        refs: [r1]\n", ""))
    assert run("scenarios", "validate", str(tmp_path)).exit_code == 0
    strict = run("scenarios", "validate", "--strict", str(tmp_path))
    assert strict.exit_code == 1
    assert "warning unused-reference" in strict.stdout


def test_missing_path_exits_2(run, tmp_path):
    """A path that does not exist exits 2, whatever else is found."""
    (tmp_path / "a.yaml").write_text(replace("title: Sample", "title: 12"))
    result = run("scenarios", "validate", str(tmp_path), str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "nope.yaml: no such file or folder" in result.stderr


def test_problems_are_sorted_by_file_and_line(run, tmp_path):
    """Problems from several files come sorted by file, then line."""
    (tmp_path / "b.yaml").write_text(replace("id: sample", "id: other"))
    (tmp_path / "a.yaml").write_text(replace("next: second", "next: nowhere"))
    (tmp_path / "b.yaml").write_text(
        replace("title: Sample", "title: 12", replace("id: sample", "id: other"))
    )
    lines = run("scenarios", "validate", str(tmp_path)).stdout.splitlines()
    found = [(line.split(":")[0], line.split()[2].rstrip(":")) for line in lines]
    assert found == [
        (str(tmp_path / "a.yaml"), "unknown-node"),
        (str(tmp_path / "b.yaml"), "schema"),
    ]


def test_stats_prints_the_figures(run, tmp_path):
    """--stats prints states, endings, paths, path lengths, bounds and passability."""
    (tmp_path / "a.yaml").write_text(BASE)
    out = run("scenarios", "validate", "--stats", str(tmp_path)).stdout
    for expected in (
        "reachable states: 4",
        "endings reachable: 1",
        "complete paths: 2",
        "shortest path: 1 steps",
        "longest path: 2 steps",
        "safety: minimum 0, maximum 2",
        "passing path exists: yes",
    ):
        assert expected in out


def test_schema_is_json_schema_of_the_format(run):
    """`flask scenarios schema` prints a JSON Schema naming the format's keys."""
    schema = json.loads(run("scenarios", "schema").stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"format", "id", "title", "start", "nodes"} <= set(schema["required"])
    assert schema["properties"]["format"]["const"] == 1
    assert schema["additionalProperties"] is False
    choice = schema["$defs"]["Choice"]["properties"]
    assert {"set", "when", "sharing", "refs"} <= set(choice)


def test_schema_accepts_the_library_and_refuses_a_misspelt_key(run):
    """An editor using the schema accepts every bundled scenario and flags a misspelt key."""
    from pathlib import Path

    import yaml
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(json.loads(run("scenarios", "schema").stdout))
    library = Path(__file__).resolve().parents[2] / "scenarios"
    for path in sorted(library.glob("*.yaml")):
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path.name
    scenario = yaml.safe_load(BASE)
    scenario["nodes"]["first"]["choices"][0]["nxt"] = scenario["nodes"]["first"]["choices"][0].pop(
        "next"
    )
    assert not validator.is_valid(scenario)
