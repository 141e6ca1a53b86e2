"""Numbers the tables share: finite values and ratios, undefined (None) rather than NaN or inf,
and the statistics settings."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Statistics:
    """The config's statistics section: the level and bootstrap of the intervals and tests
    (inference.py), which tables and figures state in their legends."""

    alpha: float = 0.05
    bootstrap_samples: int = 2000
    seed: int = 0


def finite(value: Any) -> float | None:
    """A finite number, or None for a missing or non-finite one."""
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    return float(value) if math.isfinite(value) else None


def ratio(numerator: Any, denominator: Any) -> float | None:
    """numerator / denominator; None when either is missing or the denominator is zero."""
    num, den = finite(numerator), finite(denominator)
    if num is None or den is None or den == 0:
        return None
    return num / den
