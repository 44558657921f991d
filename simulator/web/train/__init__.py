"""The trainer's pages: cohorts and their people, assignments, results, analytics, exports.

Every view is for trainers and admins (`allow("trainer", "admin")`), and reads only the
cohorts the signed-in person can see (`cohorts.visible_cohort` and friends): a cohort
or person they cannot see is a 404, never a 403, so its existence is not revealed.
"""

from flask import Blueprint

bp = Blueprint("train", __name__, url_prefix="/train")
TRAINERS = ("trainer", "admin")

from . import (  # noqa: E402,F401  (the views register themselves on bp)
    analytics_views,
    assessment_views,
    assignment_views,
    cohort_views,
    export_views,
    invigilation_views,
    marking_views,
    record_views,
    result_views,
)
