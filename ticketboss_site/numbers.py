"""The one rule for numeric settings, shared by settings.py (environment variables) and
serve.py (its --workers and --threads flags)."""

from __future__ import annotations

import math


def checked_number(
    text: str, *, minimum: float, maximum: float = math.inf, whole: bool = True
) -> int | float:
    """`text` as a number within [minimum, maximum]; ValueError with a sentence saying
    what was expected (nan is refused too)."""
    try:
        value: int | float | None = int(text) if whole else float(text)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        kind = "a whole number" if whole else "a number"
        limits = (
            f"from {minimum:g} to {maximum:g}" if maximum < math.inf else f"of at least {minimum:g}"
        )
        raise ValueError(f"must be {kind} {limits}, not {text!r}")
    return value
