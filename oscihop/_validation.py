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
    "as_float_csr",
    "as_index_array",
    "check_bool",
    "check_real",
    "check_choice",
    "check_size",
    "check_finite",
    "check_positive",
    "check_shape",
    "check_symmetric",
    "check_antisymmetric",
    "check_edges",
    "as_rng",
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


def _real_ndarray(value, name, what="a real numeric array", bool_fix=None):
    """``np.asarray(value)`` of a real (integer or float) dtype, or a ValueError naming ``name``.

    The one place that refuses input whose meaning a numeric conversion would change:
    complex values (the imaginary part would be dropped), booleans, masked arrays (the mask
    would be ignored), strings and object arrays that are not all real numbers.
    """
    if np.ma.isMaskedArray(value):
        raise ValueError(
            f"`{name}` must be a plain array; got a masked array, whose mask would be ignored. "
            f"Pass `np.ma.filled({name}, fill_value)` to choose the masked entries' values."
        )
    if isinstance(value, (str, bytes)):
        raise ValueError(f"`{name}` must be {what}; got the string {value!r}. Pass numbers, not text.")
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind is None and not isinstance(value, (numbers.Real, list, tuple)):
        kind = np.asarray(value).dtype.kind if not sp.issparse(value) else value.dtype.kind
    if kind == "b" or isinstance(value, (bool, np.bool_)):
        fix = bool_fix or f"Pass `{name}.astype(float)` if 0/1 values are meant."
        raise ValueError(f"`{name}` must be {what}; got booleans. {fix}")
    if kind == "c" or isinstance(value, (complex, np.complexfloating)):
        raise ValueError(
            f"`{name}` must be real; got complex values (the imaginary part would be dropped). "
            f"Pass `np.real({name})` if only the real part is meant."
        )
    if sp.issparse(value):
        raise ValueError(
            f"`{name}` must be a dense array here; got a scipy.sparse matrix. Pass `{name}.toarray()`."
        )
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be {what}; could not convert {type(value).__name__}: {exc}") from None
    if raw.dtype.kind in "bcOUSVMm":
        if raw.dtype.kind == "O" and raw.size and all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in raw.ravel()
        ):
            return raw.astype(np.float64)
        kinds = {"b": "booleans", "c": "complex values", "O": "Python objects", "U": "strings",
                 "S": "bytes", "V": "structured records", "M": "datetimes", "m": "timedeltas"}
        raise ValueError(
            f"`{name}` must be {what}; got {kinds[raw.dtype.kind]} (dtype {raw.dtype}). "
            f"Pass an array of real numbers."
        )
    return raw


def as_float_array(value, name, dtype=np.float64, ndim=None):
    """Convert to a float ndarray, rejecting input whose meaning a conversion would change.

    Accepted: real numbers, nested sequences of them and real (integer or float) arrays.
    Rejected with a ``ValueError`` naming ``name``: complex values (``np.asarray`` would drop
    the imaginary part), boolean arrays (pass ``value.astype(float)`` if 0/1 is meant), masked
    arrays (the mask would be ignored; pass ``np.ma.filled(value, fill)``), strings and
    object arrays that are not all real numbers.
    """
    raw = _real_ndarray(value, name)
    try:
        arr = np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"`{name}` must be a real numeric array; could not convert {type(value).__name__}: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"`{name}` must be {ndim}-dimensional; got shape {arr.shape}.")
    return arr


def as_index_array(value, name):
    """Convert to an int64 ndarray of indices, with the rules of :func:`as_float_array`.

    Integer arrays are taken as they are; float arrays whose entries are all finite whole
    numbers (``2.0``) are converted (a documented conversion); fractional or non-finite
    floats, booleans, complex values, masked arrays, strings and objects are rejected.
    """
    raw = _real_ndarray(value, name, "an integer array (node indices)",
                        bool_fix=f"For a boolean mask, pass `np.argwhere({name})` (the indices of its True entries).")
    if raw.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(raw) | (raw != np.round(raw)) | (np.abs(raw) > 2.0**53)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"`{name}` must hold integer indices; entry {where} is {float(raw[where])!r}. Pass whole numbers."
            )
    return np.ascontiguousarray(raw, dtype=np.int64)


def as_float_csr(value, name):
    """A scipy.sparse matrix as float64 CSR, with the dtype rules of :func:`as_float_array`."""
    kind = value.dtype.kind
    if kind not in "iuf":
        what, fix = {
            "b": ("booleans", f"Pass `{name}.astype(float)` if 0/1 values are meant."),
            "c": ("complex values (the imaginary part would be dropped)",
                  f"Pass `{name}.real` if only the real part is meant."),
        }.get(kind, (f"dtype {value.dtype}", f"Pass `{name}.astype(float)`."))
        raise ValueError(f"`{name}` must be a real sparse matrix; got {what}. {fix}")
    return sp.csr_matrix(value, dtype=np.float64)


def check_bool(value, name):
    """Return ``value`` as a Python bool; only True/False (and numpy bools) are accepted.

    Truthy strings such as ``"False"`` or ``"no"`` would silently mean True, so they are
    rejected, as are numbers.
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"`{name}` must be True or False; got {value!r} ({type(value).__name__}).")


def check_size(value, name, minimum=1, maximum=None, hint=""):
    """Return a count (an int ``>= minimum``, and ``<= maximum`` when given).

    Python and numpy integers are accepted, and so are floats with an integral value
    (``10.0`` is converted to ``10``); booleans, strings, fractional and non-finite values
    are rejected.  ``hint`` is appended to the message of an out-of-range value.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be an integer; got {value!r}. Pass a whole number >= {minimum}.")
    if isinstance(value, (numbers.Integral, np.integer)):
        v = int(value)
    elif isinstance(value, (numbers.Real, np.floating)) and np.isfinite(value) and float(value).is_integer():
        v = int(value)
    else:
        raise ValueError(
            f"`{name}` must be an integer; got {value!r} ({type(value).__name__}). "
            f"Pass a whole number >= {minimum}."
        )
    if v < minimum or (maximum is not None and v > maximum):
        rule = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an integer {rule}; got {v}.{(' ' + hint) if hint else ''}")
    return v


def check_real(value, name, low=None, high=None, strict=False):
    """Return a finite real scalar as a float, optionally within ``[low, high]``.

    Python and numpy real numbers and 0-d real arrays are accepted; booleans, strings,
    complex numbers, ``None`` and sequences are rejected (``float(True)`` would silently
    mean 1).  ``strict=True`` excludes the bounds themselves.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a real number; got {value!r} ({type(value).__name__}).")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"`{name}` must be finite; got {value!r}.")
    below = low is not None and (v <= low if strict else v < low)
    above = high is not None and (v >= high if strict else v > high)
    if below or above:
        lo = "" if low is None else f"{low} {'<' if strict else '<='} "
        hi = "" if high is None else f" {'<' if strict else '<='} {high}"
        raise ValueError(f"`{name}` must satisfy {lo}{name}{hi}; got {value!r}.")
    return v


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
        check_real(value, name)  # raises, naming the type
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


def check_edges(edges, n, name="edges", graph=True):
    """Validate an undirected edge list and return it as a contiguous (E, 2) int64 array.

    Rules: integer pairs (see :func:`as_index_array`), ``0 <= i, j < n``; and, unless
    ``graph=False`` (index pairs that are only relabelled), no self-loops and each unordered
    pair once.
    """
    arr = as_index_array(edges, name)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"`{name}` must have shape (E, 2) of node index pairs; got {arr.shape}.")
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
    if not graph:
        return arr
    loops = arr[:, 0] == arr[:, 1]
    if loops.any():
        k = int(np.argmax(loops))
        raise ValueError(f"`{name}` must not contain self-loops (i == j); edge {k} is {tuple(int(a) for a in arr[k])}.")
    if graph_seen(arr):  # the same pairs passed the duplicate check before (a sweep's repeated graph)
        return arr
    key = np.sort(arr, axis=1)
    _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        pair = tuple(int(a) for a in key[first[np.argmax(counts > 1)]])
        raise ValueError(
            f"`{name}` must list each undirected pair once; {pair} appears {int(counts.max())} times "
            "(as (i, j) and/or (j, i)). Remove the duplicates (or sum their weights)."
        )
    graph_seen(arr, add=True)
    return arr


class GraphCache(dict):
    """A small cache keyed by a graph's edges, for graphs repeated across many models (sweep
    points): at most ``size`` entries, the oldest dropped first; graphs of more than
    ``max_edges`` edges get no key (hashing them would cost as much as the work saved)."""

    def __init__(self, size=64, max_edges=4096):
        super().__init__()
        self.size, self.max_edges = size, max_edges

    def key(self, edges, *extra):
        """``(extra..., shape, edge bytes)`` of an int64 edge array, or ``None`` for a large one."""
        return None if edges.shape[0] > self.max_edges else (*extra, edges.shape, edges.tobytes())

    def put(self, key, value):
        if key is not None:
            if len(self) >= self.size:
                self.pop(next(iter(self)))
            self[key] = value
        return value


#: Edge arrays that passed :func:`check_edges` (a key stands for exactly the pairs that passed).
_SEEN_GRAPHS = GraphCache()


def graph_seen(arr, add=False):
    """Whether the int64 edge array ``arr`` passed :func:`check_edges` before (``add``: record it)."""
    key = _SEEN_GRAPHS.key(arr)
    if not add:
        return key is not None and key in _SEEN_GRAPHS
    return _SEEN_GRAPHS.put(key, True) and key is not None


def as_rng(seed, name="seed"):
    """``np.random.default_rng(seed)``, with a ValueError naming ``name`` for a bad seed.

    Accepted: None, a non-negative integer, a sequence of them, a SeedSequence or a
    Generator.  Booleans are refused (``True`` would silently mean seed 1).
    """
    if isinstance(seed, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be None, a non-negative integer or a numpy Generator; got {seed!r}.")
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"`{name}` must be None, a non-negative integer or a numpy Generator; got {seed!r} ({exc})."
        ) from None


def warn_unknown_options(options, context):
    """Warn about keyword options that have no effect, by name (scipy's behaviour)."""
    if options:
        names = ", ".join(f"`{k}`" for k in sorted(options))
        warnings.warn(f"The following arguments have no effect for {context}: {names}.", UserWarning, stacklevel=3)
