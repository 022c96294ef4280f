"""One-line descriptions of YAML syntax errors (PyYAML's own span several lines and
quote the source with a caret), for error messages that must fit on one line."""
from __future__ import annotations

import yaml


def describe(error: yaml.YAMLError) -> str:
    """``line L, column C: problem`` when PyYAML knows where; else its message, one line."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if problem and mark is not None:
        context = getattr(error, "context", None)
        return (f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
                + (f" ({context})" if context else ""))
    return " ".join(str(error).split())
