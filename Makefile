# Safe to Report: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench browser-deps static clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask scenarios load
	$(BIN)/flask users demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# Debian's chromium drives the browser tests; PostgreSQL's server binaries run the
# database suite a second time against a throwaway cluster.
browser-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: install browser-deps
	$(BIN)/ruff check simulator tests bench
	$(BIN)/python -m pytest

# Rebuild the vendored front end in static/ (needs npm; the output is committed).
static:
	scripts/build-static.sh

bench: install
	$(BIN)/python bench/validate.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis
