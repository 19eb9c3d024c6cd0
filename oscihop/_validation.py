"""Validation helpers shared by models and solvers.

Every error names the parameter, the rule, the value seen and, where there is one,
the fix, in scipy's style.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

__all__ = [
    "as_float_array",
    "check_choice",
    "check_finite",
    "check_positive",
    "check_shape",
    "check_symmetric",
    "check_antisymmetric",
    "check_edges",
    "resolve_dtype",
    "warn_unknown_options",
]

_FLOAT_DTYPES = {"float64": np.float64, "float32": np.float32}


_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)


def resolve_dtype(dtype, name="dtype"):
    """Return ``np.float64`` or ``np.float32`` for a dtype-like value."""
    if dtype is None:
        return _F64
    if dtype is _F64 or dtype is _F32:  # already resolved (numpy's built-in dtypes are singletons)
        return dtype
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in _FLOAT_DTYPES:
        raise ValueError(
            f"`{name}` must be 'float64' or 'float32'; got {dtype!r}. "
            "Pass dtype='float32' for single precision."
        )
    return dt


def as_float_array(value, name, dtype=np.float64, ndim=None):
    """Convert to a float ndarray, rejecting non-numeric input with a clear message."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a real numeric array; could not convert {type(value).__name__}: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-dimensional; got shape {arr.shape}.")
    return arr


def check_finite(arr, name):
    """Raise if ``arr`` holds NaN or inf."""
    arr = np.asarray(arr)
    if arr.size and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        where = tuple(int(i) for i in bad)
        raise ValueError(
            f"`{name}` must be finite; found {float(arr[tuple(bad)])} at index {where}. "
            f"Replace the NaN/inf entries of `{name}`."
        )
    return arr


def check_shape(arr, shape, name, hint=""):
    """Check ``arr.shape`` against ``shape`` (``None`` entries match anything)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"`{name}` must have shape {want}; got {arr.shape}.{(' ' + hint) if hint else ''}")
    return arr


def check_positive(value, name, strict=True):
    """Check a real scalar is (strictly) positive and finite."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a real number; got {value!r}.")
    v = float(value)
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        rule = "> 0" if strict else ">= 0"
        raise ValueError(f"`{name}` must be finite and {rule}; got {value!r}.")
    return v


def check_choice(value, choices, name):
    """Check ``value`` is one of ``choices`` (case-sensitive, strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}; got {value!r}.")
    return value


def check_symmetric(mat, name, symmetrize=False):
    """Return a symmetric matrix (dense or scipy.sparse), or raise naming the asymmetry."""
    if sp.issparse(mat):
        asym = abs(mat - mat.T)
        diff = float(asym.max()) if asym.nnz else 0.0
        scale = float(abs(mat).max()) if mat.nnz else 0.0
    else:
        diff = float(np.max(np.abs(mat - mat.T))) if mat.size else 0.0
        scale = float(np.max(np.abs(mat))) if mat.size else 0.0
    if diff > 1e-12 * max(scale, 1.0):
        if symmetrize:
            return (mat + mat.T) * 0.5
        raise ValueError(
            f"`{name}` must be symmetric; max |W - W.T| = {diff:.3g}. "
            "Pass `symmetrize=True` to use (W + W.T)/2."
        )
    return mat


def check_antisymmetric(mat, name):
    """Check the trailing two axes of ``mat`` form antisymmetric matrices."""
    diff = float(np.max(np.abs(mat + np.swapaxes(mat, -1, -2)))) if mat.size else 0.0
    scale = float(np.max(np.abs(mat))) if mat.size else 0.0
    if diff > 1e-12 * max(scale, 1.0):
        raise ValueError(
            f"`{name}` must be antisymmetric (Omega.T == -Omega) so that it rotates oscillators "
            f"on the sphere; max |Omega + Omega.T| = {diff:.3g}. Use (Omega - Omega.T)/2."
        )
    return mat


def check_edges(edges, n, name="edges"):
    """Validate an undirected edge list and return it as a contiguous (E, 2) int64 array.

    Rules: integer pairs, ``0 <= i, j < n``, no self-loops, each unordered pair once.
    """
    arr = np.asarray(edges)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"`{name}` must have shape (E, 2) of node index pairs; got {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"`{name}` must hold integer node indices; got dtype {arr.dtype}.")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if n is not None:
        bad = (arr < 0) | (arr >= n)
        if bad.any():
            k = int(np.argwhere(bad.any(axis=1))[0, 0])
            raise ValueError(
                f"`{name}` indices must lie in [0, {n - 1}] (n = {n}); edge {k} is {tuple(int(a) for a in arr[k])}."
            )
    elif (arr < 0).any():
        k = int(np.argwhere((arr < 0).any(axis=1))[0, 0])
        raise ValueError(f"`{name}` indices must be >= 0; edge {k} is {tuple(int(a) for a in arr[k])}.")
    loops = arr[:, 0] == arr[:, 1]
    if loops.any():
        k = int(np.argmax(loops))
        raise ValueError(f"`{name}` must not contain self-loops (i == j); edge {k} is {tuple(int(a) for a in arr[k])}.")
    key = np.sort(arr, axis=1)
    _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        pair = tuple(int(a) for a in key[first[np.argmax(counts > 1)]])
        raise ValueError(
            f"`{name}` must list each undirected pair once; {pair} appears {int(counts.max())} times "
            "(as (i, j) and/or (j, i)). Remove the duplicates (or sum their weights)."
        )
    return arr


def warn_unknown_options(options, context):
    """Warn about keyword options that have no effect, by name (scipy's behaviour)."""
    if options:
        names = ", ".join(f"`{k}`" for k in sorted(options))
        warnings.warn(f"The following arguments have no effect for {context}: {names}.", UserWarning, stacklevel=3)
