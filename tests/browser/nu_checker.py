"""Check HTML documents with the Nu HTML Checker (vnu.jar from npm's vnu-jar)."""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

VNU_JAR = Path(__file__).resolve().parents[2] / "node_modules/vnu-jar/build/dist/vnu.jar"


def check_html(pages):
    """Run vnu.jar once over {name: html} and return one readable line per error."""
    java = shutil.which("java")
    assert java, "Java is missing: run `make browser-deps`"
    assert VNU_JAR.exists(), f"{VNU_JAR} is missing: run `make browser-deps`"
    with tempfile.TemporaryDirectory() as folder:
        names = {}
        for number, (name, html) in enumerate(sorted(pages.items())):
            path = Path(folder) / f"page{number}.html"
            path.write_text(html, encoding="utf-8")
            names[path.name] = name
        completed = subprocess.run(
            [java, "-jar", str(VNU_JAR), "--format", "json", "--exit-zero-always", folder],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    messages = json.loads(completed.stderr)["messages"]
    return [
        f"{names[m['url'].rsplit('/', 1)[-1]]}:{m.get('lastLine', '?')}: "
        f"{m['type']}: {m['message']} [{m.get('extract', '').strip()}]"
        for m in messages
        if m["type"] == "error" or m.get("subType") == "warning"
    ]
