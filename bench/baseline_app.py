"""The baseline for bench/play_load.py: the least a recorded step can cost on the same stack.

A minimal Flask app, served by gunicorn with deploy/gunicorn.conf.py behind the same nginx
configuration, on the app's own PostgreSQL database (SIMULATOR_DATABASE_URL). It has no
sessions, no sign-in, no CSRF check, no scenario engine and no templates:

- `GET /baseline/attempts/<id>` reads the attempt and its steps, and the next step number
  of its scratch log, and answers a tiny page with the same form fields as the play page
  (so the load client's code reads it unchanged);
- `POST /baseline/attempts/<id>` reads the attempt and its steps (as `attempts.progress_of`
  does), inserts one step row and redirects 303 to the GET.

The row goes into `bench_steps`, a scratch copy of `attempt_steps` that bench/play_load.py
makes before it starts this app (same columns, check and unique constraints, indexes and
foreign key to `attempts`; its own id sequence; none of the append-only triggers, which
only guard UPDATE, DELETE and TRUNCATE and so never fire on an insert anyway). Inserting
into `attempt_steps` itself would put steps into real attempts' logs that no path
explains, and the benchmark's integrity check would rightly fail. As the app's unique
step number does, the unique (attempt_id, step_number) makes a double post record once
(`ON CONFLICT DO NOTHING`).

    gunicorn --config deploy/gunicorn.conf.py --pythonpath bench baseline_app:app
"""

import os

import sqlalchemy as sa
from flask import Flask, abort, redirect, request

from simulator.db import keep_prepared_statements

# The app's own engine settings (simulator/db.py): psycopg 3, no pre-ping, and a
# transaction that only read ends with COMMIT, so that psycopg keeps its prepared statements.
engine = sa.create_engine(
    sa.make_url(os.environ["SIMULATOR_DATABASE_URL"]).set(drivername="postgresql+psycopg")
)
keep_prepared_statements(engine)
app = Flask(__name__)

ATTEMPT = sa.text("SELECT * FROM attempts WHERE id = :id")
STEPS = sa.text("SELECT * FROM attempt_steps WHERE attempt_id = :id ORDER BY step_number")
NEXT = sa.text("SELECT coalesce(max(step_number) + 1, 0) FROM bench_steps WHERE attempt_id = :id")
INSERT = sa.text(
    "INSERT INTO bench_steps (attempt_id, step_number, node_id, choice_id, is_decision,"
    " rationale, recorded_at, elapsed_ms, verdict)"
    " VALUES (:id, :step, :node, :choice, true, :rationale, now(), 0, 'good')"
    " ON CONFLICT (attempt_id, step_number) DO NOTHING"
)
PAGE = (
    '<!doctype html><html lang="en"><title>Baseline</title>'
    '<form method="post"><input type="hidden" name="csrf_token" value="baseline">'
    '<input type="hidden" name="step" value="{step}">'
    '<input name="choice" type="radio" value="a"><input name="choice" type="radio" value="b">'
    "<button>Continue</button></form>{steps} steps</html>"
)


def attempt_and_steps(connection, attempt_id):
    """Read an attempt and its steps, or answer 404."""
    attempt = connection.execute(ATTEMPT, {"id": attempt_id}).first()
    if attempt is None:
        abort(404)
    return attempt, connection.execute(STEPS, {"id": attempt_id}).all()


@app.get("/baseline/attempts/<int:attempt_id>")
def show(attempt_id):
    """Show the form for the next step of the scratch log."""
    with engine.connect() as connection:
        _attempt, steps = attempt_and_steps(connection, attempt_id)
        step = connection.execute(NEXT, {"id": attempt_id}).scalar_one()
    return PAGE.format(step=step, steps=len(steps))


@app.post("/baseline/attempts/<int:attempt_id>")
def take_step(attempt_id):
    """Read the attempt and its steps, record one step (once), and redirect to the GET."""
    step = request.form.get("step", "")
    choice = request.form.get("choice", "")
    if not step.isdigit() or not choice:
        abort(400)
    with engine.begin() as connection:
        _attempt, steps = attempt_and_steps(connection, attempt_id)
        node = steps[-1].node_id if steps else "start"
        values = {"id": attempt_id, "step": int(step), "node": node, "choice": choice}
        connection.execute(INSERT, values | {"rationale": request.form.get("rationale")})
    return redirect(f"/baseline/attempts/{attempt_id}", 303)
