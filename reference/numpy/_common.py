"""Numerical helpers shared by the NumPy references (not equations of the course: no catalogue entry)."""

from __future__ import annotations

import numpy as np


def log_softmax(z) -> np.ndarray:
    """log softmax(z) over the last axis, stably: z - max - log sum exp(z - max). NaN propagates."""
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))


def check_scalar(fn: str, name: str, x, *, low=None, above=None, high=None, integer: bool = False):
    """A scalar parameter (a count, a rate, an exponent): one finite real number, an integer if ``integer``,
    >= ``low`` / > ``above`` / <= ``high`` where given. ValueError naming ``fn`` and ``name`` and what was
    expected (a NaN, an inf, 2.5 steps or -1 negatives are never truncated or used as they are).
    Returns it as an int (``integer``) or as given. Shared by the NumPy and PyTorch forms."""
    bounds = [f">= {low}"] * (low is not None) + [f"> {above}"] * (above is not None) + [f"<= {high}"] * (high is not None)
    want = " and ".join(bounds) + (" (an integer)" if integer else " (a finite number)") if bounds else \
        ("an integer" if integer else "a finite number")
    shape = tuple(getattr(x, "shape", ()))
    ok = shape == () and not isinstance(x, (bool, np.bool_, str, bytes))
    if ok:
        try:
            v = float(x)
            ok = bool(np.isfinite(v)) and (not integer or v == int(v))
        except (TypeError, ValueError, OverflowError):
            ok = False
    if ok:
        ok = (low is None or v >= low) and (above is None or v > above) and (high is None or v <= high)
    if not ok:
        raise ValueError(f"{fn}: {name} must be {want}, got {x!r}")
    return int(v) if integer else x
