"""Load, check and explore scenario files (format 1). Knows nothing of Flask."""

from .model import Choice, Condition, Ending, Image, Node, Reference, Scenario
from .problems import Problem
from .validate import FileReport, LibraryReport, load_bytes, load_file, validate_paths

__all__ = [
    "Choice",
    "Condition",
    "Ending",
    "FileReport",
    "Image",
    "LibraryReport",
    "Node",
    "Problem",
    "Reference",
    "Scenario",
    "load_bytes",
    "load_file",
    "validate_paths",
]
