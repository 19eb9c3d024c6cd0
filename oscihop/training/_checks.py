"""Checks of the numbers the optimisers, schedules and :func:`oscihop.training.train` take."""

from __future__ import annotations

import numbers

import numpy as np


def _positive(value, name, allow_zero=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a real number; got {value!r}.")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be finite and {'>= 0' if allow_zero else '> 0'}; got {value!r}.")
    return v


def _unit_interval(value, name):
    v = _positive(value, name, allow_zero=True)
    if v >= 1.0:
        raise ValueError(f"`{name}` must lie in [0, 1); got {value!r}.")
    return v


def _integer(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)
