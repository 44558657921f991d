# Safe to Report: the two commands a new machine needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench bench-load bench-report bench-spy browser-deps db-deps graph-deps deploy-deps static clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# A developer's machine: no secret key needed (one is kept in instance/), plain http.
# Graphviz is tried but not required there (installing it needs root).
run: export SIMULATOR_ENV ?= development
run: install
	@$(MAKE) --no-print-directory graph-deps 2>/dev/null || echo "Graphviz is not installed: scenario maps are left out; the outline is still shown"
	$(BIN)/flask db upgrade
	$(BIN)/flask scenarios load
	$(BIN)/flask users demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

# The Nu HTML Checker checks every page the browser tests see; it is vnu.jar from
# npm's vnu-jar (pinned in package-lock.json) and needs a Java runtime.
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar

# Debian's chromium drives the browser tests; PostgreSQL's server binaries run the
# database suite a second time against a throwaway cluster.
browser-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }
	@test -f $(VNU_JAR) || npm ci --no-audit --no-fund --silent

# The whole suite on SQLite, and every database test (each test using the
# `database_url` fixture) again on a throwaway PostgreSQL cluster that the tests start
# and stop themselves (tests/postgres.py). The two passes share nothing (each has its own
# temporary folders, ports and cluster), so they run at once, one per core: the SQLite
# pass prints as it goes, the PostgreSQL pass into $(PG_LOG), printed when both are done.
# Both always run to the end; either failing fails.
PG_LOG := .pytest-postgresql.log
test: install browser-deps db-deps graph-deps deploy-deps
	$(BIN)/ruff check simulator tests bench scripts
	@echo "The PostgreSQL pass runs beside this one; its report follows this one's."
	status=0; \
	SIMULATOR_TEST_DATABASE=postgresql $(BIN)/python -m pytest --ignore=tests/browser \
		-p no:cacheprovider >$(PG_LOG) 2>&1 & postgres=$$!; \
	$(BIN)/python -m pytest || status=1; \
	wait $$postgres || status=1; \
	echo; echo "=== The PostgreSQL pass ($(PG_LOG)) ==="; cat $(PG_LOG); \
	exit $$status

# PostgreSQL 15's server binaries (initdb, pg_ctl) for the database suite.
db-deps:
	@test -x /usr/lib/postgresql/15/bin/initdb || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; }

# Graphviz's dot draws the scenario maps on the server (simulator/maps.py); without it the
# authoring pages show the text outline alone.
graph-deps:
	@command -v dot >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; }

# nginx and its brotli_static module, for the production stack on loopback (deploy/).
deploy-deps:
	@test -f /usr/lib/nginx/modules/ngx_http_brotli_static_module.so || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-http-brotli-static >/dev/null; }

# Rebuild the vendored front end in static/ and its hashed build in static/dist (needs
# npm; the output is committed). After editing static/app.js alone, scripts/hash_static.py
# is enough.
static:
	scripts/build-static.sh

bench: install
	$(BIN)/python bench/validate.py

# Real HTTP load on 127.0.0.1: gunicorn with 1 and 2 workers, then nginx in front of it
# (deploy/), then the deploy stack against a baseline app, a sign-in storm, think time and
# faults, over a throwaway PostgreSQL cluster (bench/README.md); about 10 minutes. Not
# part of `make test`: it is a benchmark.
bench-load: install db-deps deploy-deps
	$(BIN)/python bench/play_load.py

# Where the deploy stack's workers spend their time while trainees play: py-spy samples
# every gunicorn worker (bench/spy_deploy.py, bench/README.md); about 2 minutes. py-spy is
# installed for this alone: it is a profiler, not something the app or its tests need.
bench-spy: install db-deps deploy-deps
	$(BIN)/pip install --quiet py-spy==0.4.3
	$(BIN)/python bench/spy_deploy.py --gil

# Analytics and CSV exports over 100,000 attempts and 1,000,000 steps in a throwaway
# PostgreSQL cluster, each against a bare count of the rows it reads (bench/README.md);
# about 2 minutes. Not part of `make test`: it is a benchmark.
bench-report: install db-deps
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis $(PG_LOG)
