"""Read a stored file that the checker has already accepted, without checking it again.

Playing a scenario needs its nodes and its score bounds, not the checks: those ran when
the file came into the library, and their findings are kept with it. Reading here costs one
bounded parse (yamlsafe.parse) and one build, linear in the file.
"""

import dataclasses
import hashlib
from collections.abc import Mapping

from .build import build
from .model import Scenario, frozen_mapping
from .yamlsafe import parse, plain


def read_accepted(
    data: bytes, revision: int, score_bounds: Mapping[str, tuple[int, int]]
) -> Scenario:
    """Return the scenario of bytes the checker accepted under ``revision``.

    ``score_bounds`` are those the checker found (each dimension's lowest and highest
    total on a complete path). Bytes that never passed the checker may build a scenario
    that breaks the engine's assumptions: never pass any.
    """
    document = parse(data)
    digest = hashlib.sha256(data).hexdigest()
    scenario = build(plain(document.root), None, digest, revision)
    bounds = frozen_mapping((key, tuple(pair)) for key, pair in score_bounds.items())
    return dataclasses.replace(scenario, score_bounds=bounds)
