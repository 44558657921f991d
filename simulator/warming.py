"""Fill a process's caches with what play reads, once, before gunicorn forks its workers.

Each worker otherwise parses every version, builds its Judge and renders every text for
every cast row for itself, on trainees' requests, and its caches are still cold minutes
into a class (bench/README.md, "Where the deploy workers' time goes"). Warmed in the
master (`preload_app`, deploy/gunicorn.conf.py), they are shared by every worker, copied
only if written to.
"""

import gc
import time

from sqlalchemy.exc import SQLAlchemyError

from . import engine, library, story
from .db import db
from .rendering import filled_markdown, markdown


def warm(app):
    """Read and prepare every offered version, compile every template, then let go of the
    database's connections (a forked worker must not share them). Return what was done.

    If the database cannot be read, play warms each worker's caches as before, and the
    log says so: the service starts all the same.
    """
    started = time.perf_counter()
    done = {"versions": 0, "texts": 0, "templates": 0}
    with app.app_context():
        try:
            for version in library.offered_versions():
                try:
                    scenario = library.scenario_for(version)
                    done["texts"] += warm_scenario(scenario)
                except Exception:  # noqa: BLE001  (an optimisation never stops a start)
                    app.logger.warning("Not warmed: %s", version.path, exc_info=True)
                    continue
                done["versions"] += 1
        except SQLAlchemyError:
            app.logger.warning("Caches not warmed: the database could not be read", exc_info=True)
        finally:
            db.session.rollback()
            db.session.close()
            for each in db.engines.values():
                each.dispose()
        for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
            app.jinja_env.get_template(name)
            done["templates"] += 1
    done["seconds"] = round(time.perf_counter() - started, 2)
    return done


def warm_scenario(scenario):
    """Build the scenario's Judge and best path, and render its texts for each cast row;
    return how many texts were rendered."""
    judge = engine.judge_for(scenario)
    judge.steps_left(engine.State(scenario.start))
    story.best_path(scenario)
    for reference in scenario.references.values():
        markdown(reference.detail)
    texts = [
        text
        for node in scenario.nodes.values()
        for text in (
            node.text,
            node.end.debrief if node.end else None,
            *(choice.feedback for choice in node.choices),
        )
        if text
    ]
    rows = scenario.cast or (engine.cast_row(scenario, None),)
    for row in rows:
        for text in texts:
            filled_markdown(text, row)
    return len(texts) * len(rows)


def freeze():
    """Move every object alive now out of the garbage collector's sight: the warmed caches
    are never freed, and a collection in a worker then neither scans them nor writes to
    their pages (which would copy them into each worker)."""
    gc.collect()
    gc.freeze()
