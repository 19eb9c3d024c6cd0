"""One conversion of Python and numpy values to JSON types, for store attributes and reports."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["jsonable"]


def jsonable(obj, strict=False):
    """``obj`` with numpy scalars and arrays, tuples and dtypes turned into JSON types.

    Dict keys become strings; anything else that JSON cannot hold becomes its ``str``.
    ``strict=True`` also writes non-finite floats as the strings ``"nan"``, ``"inf"`` and
    ``"-inf"``, so that the result is valid strict JSON (``json.dumps(..., allow_nan=False)``).

    Examples
    --------
    >>> jsonable({"a": np.float32(0.5), 1: (np.arange(2), np.dtype("float64"))})
    {'a': 0.5, '1': [[0, 1], 'float64']}
    >>> jsonable([float("nan"), -np.inf], strict=True)
    ['nan', '-inf']
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v, strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, strict) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), strict)
    if isinstance(obj, np.generic):
        return jsonable(obj.item(), strict)
    if isinstance(obj, np.dtype):
        return obj.name
    if isinstance(obj, float) and strict and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)
