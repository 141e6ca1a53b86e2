"""Numbers the tables share: finite values and ratios, undefined (None) rather than NaN or inf."""

from __future__ import annotations

import math
import numbers
from typing import Any


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
