#!/usr/bin/env bash
# Rebuild the vendored front end in static/ from the pinned npm packages.
#
# The output is committed, so running or testing the app never needs npm; run
# this (or `make static`) only after changing package.json or frontend/.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund --silent
modules=node_modules
govuk=$modules/govuk-frontend/dist/govuk

mkdir -p static
$modules/.bin/sass --no-source-map --style=compressed --quiet-deps \
  --load-path="$modules" frontend/application.scss static/govuk.css
cp "$govuk/govuk-frontend.min.js" static/govuk-frontend.min.js
cp "$modules/htmx.org/dist/htmx.min.js" static/htmx.min.js

# No GOV.UK fonts, crown, crest or favicons are copied: they are Crown property
# and the Arial font stack needs none of them. (The stylesheet still names the
# crest for .govuk-footer__copyright-logo, a class our footer never uses, so the
# browser never asks for it.) Fail loudly if a font reference slips in.
if grep -Eq 'GDS Transport|/fonts/|\.woff' static/govuk.css; then
  echo "static/govuk.css refers to the GOV.UK Transport font" >&2
  exit 1
fi
echo "Built static/govuk.css, static/govuk-frontend.min.js and static/htmx.min.js"

# The hashed, compressed copies the app serves, and their manifest (static/dist).
"${PYTHON:-.venv/bin/python}" scripts/hash_static.py
