"""Trajectories as xarray Datasets and zarr (v3) stores (streamed in blocks by :mod:`oscihop.io.streaming`).

Store layout (zarr format 3, one group)::

    <root>                   attrs: the Dataset's attributes, plus
                               oscihop_store = "trajectory", oscihop_format_version,
                               oscihop_complete, oscihop_variables
      time, neuron, ...      coordinates
      h, x, energy, ...      data variables (chunked along time)
      model/                 group: attrs kind, params (JSON), arrays, format_version
        weights, edges, ...  the model's arrays, one zarr array each

The root marker is written with the store, ``oscihop_complete = False``, and set to
true last, so a store whose writing was interrupted is never mistaken for a finished
trajectory, yet is known as oscihop's (``mode="w"`` may replace it; see
:mod:`oscihop.io.stores`: a directory oscihop did not write is never deleted).

Integrity (:mod:`oscihop.io.integrity`): every array is written with a CRC32C checksum
on each chunk and with every chunk present (``write_empty_chunks``), streamed blocks
included.  :func:`open_trajectory` and :func:`load_model` check that every chunk is there
and (by default) read each one to check its checksum, and refuse a damaged store with a
message naming the array and the chunk.
"""

from __future__ import annotations

import datetime
import json
import os
import warnings

import numpy as np
import xarray as xr
import zarr
import zarr.errors
from zarr.abc.store import Store

from .._json import jsonable
from .._validation import check_bool
from . import integrity
from .serialize import KINDS, MODEL_FORMAT_VERSION, _describe, model_from_dict
from ..solvers.result import Solution
from .stores import check_writable

__all__ = ["solution_to_xarray", "solution_to_zarr", "open_trajectory", "load_model"]

#: Value of the root attribute ``oscihop_store`` in a trajectory store.
STORE_KIND = "trajectory"
#: Version of the trajectory store layout this module writes and reads.
FORMAT_VERSION = 1
MODEL_GROUP = "model"
#: Target size of one chunk of a data variable written by :func:`solution_to_zarr`.
CHUNK_BYTES = 4 * 2**20
_MARKERS = ("oscihop_store", "oscihop_format_version", "oscihop_complete", "oscihop_variables")

_VAR_ATTRS = {
    "h": {"long_name": "threshold-unit state h", "units": "1"},
    "x": {"long_name": "oscillator state x_i (unit vector on the sphere S^(D-1))", "units": "1"},
    "energy": {"long_name": "energy E (Lyapunov function candidate)", "units": "1"},
    "order_parameter": {"long_name": "Kuramoto order parameter r = |mean_i x_i|", "units": "1"},
    "overlap": {"long_name": "overlap m_mu = xi_mu . g(h) / N with stored pattern mu", "units": "1"},
}
_COORD_ATTRS = {
    "time": {"long_name": "time", "units": "1"},
    "neuron": {"long_name": "unit index i"},
    "component": {"long_name": "oscillator component (axis of R^D)"},
    "batch": {"long_name": "batch member (initial state) index"},
    "pattern": {"long_name": "stored pattern index mu"},
}


# ----------------------------------------------------------------------- Dataset
def _versions():
    import numba

    from .. import __version__

    return {"oscihop_version": __version__, "numba_version": numba.__version__}


def _model_attrs(model):
    kind, params, _ = _describe(model, copy=False)
    return {"model": kind, "model_params": json.dumps(jsonable(params)), "model_group": MODEL_GROUP}


def _solution_attrs(sol):
    """The Dataset attributes recording how ``sol`` was computed."""
    opts = sol.options
    attrs = {"title": f"oscihop {type(sol.model).__name__} trajectory"}
    attrs.update(_model_attrs(sol.model))
    attrs["method"] = sol.method
    attrs["options"] = json.dumps(jsonable(opts))
    for name in ("rtol", "atol", "dt"):
        if opts.get(name) is not None:
            attrs[name] = jsonable(opts[name])
    attrs["dtype"] = str(opts.get("dtype", sol.states.dtype.name))
    attrs["seed"] = jsonable(opts.get("seed"))
    for name in ("status", "message", "success", "nfev", "nsteps", "nrejected", "t_final"):
        attrs[name] = jsonable(getattr(sol, name))
    attrs.update(_versions())
    attrs["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return attrs


def _build_dataset(model, t, states, energy, batched, sweeps=False):
    """Dataset of states (T, size) or (B, T, size) at times ``t``; no solution attributes."""
    lead = ("batch", "time") if batched else ("time",)
    parts = model.unpack(states)
    data = {}
    if parts.h is not None:
        data["h"] = (lead + ("neuron",), np.ascontiguousarray(parts.h))
    if parts.x is not None:
        data["x"] = (lead + ("neuron", "component"), np.ascontiguousarray(parts.x))
    data["energy"] = (lead, np.asarray(energy))
    if parts.x is not None:
        data["order_parameter"] = (lead, np.asarray(model.order_parameter(states)).reshape(states.shape[:-1]))
    patterns = getattr(getattr(model, "hopfield", model), "patterns", None)
    if parts.h is not None and patterns is not None:
        data["overlap"] = (lead + ("pattern",), model.overlaps(states))
    coords = {"time": np.asarray(t, dtype=np.float64), "neuron": np.arange(model.n, dtype=np.int64)}
    if parts.x is not None:
        coords["component"] = np.arange(model.dim, dtype=np.int64)
    if batched:
        coords["batch"] = np.arange(states.shape[0], dtype=np.int64)
    if "overlap" in data:
        coords["pattern"] = np.arange(patterns.shape[0], dtype=np.int64)
    ds = xr.Dataset({k: xr.Variable(d, v, attrs=dict(_VAR_ATTRS[k])) for k, (d, v) in data.items()}, coords=coords)
    for name in coords:
        ds[name].attrs.update(_COORD_ATTRS[name])
    if sweeps:
        ds["time"].attrs.update(long_name="sweep (N single-unit updates)", units="sweeps")
    return ds


def solution_to_xarray(sol):
    """The trajectory of a :class:`~oscihop.Solution` as an :class:`xarray.Dataset`.

    Parameters
    ----------
    sol : Solution

    Returns
    -------
    xarray.Dataset
        Dimensions ``time``, ``neuron``, ``component`` (models with oscillators),
        ``pattern`` (models with stored patterns) and, first, ``batch`` for a batch.
        Variables: ``h`` (time, neuron) for threshold units; ``x`` (time, neuron,
        component) for oscillators; ``energy`` (time); ``order_parameter`` (time) for
        oscillators; ``overlap`` (time, pattern) when the model has stored patterns
        (``Hopfield.from_patterns``).  Every variable has ``long_name`` and ``units``.
        Attributes: ``model`` (kind), ``model_params`` (JSON), ``model_group`` (where
        a zarr store keeps the model's arrays), ``method``, ``options`` (JSON: every
        option of the solve), ``rtol``/``atol``/``dt`` where used, ``dtype``, ``seed``,
        ``status``, ``message``, ``success``, ``nfev``, ``nsteps``, ``nrejected``,
        ``t_final`` (lists for a batch), ``oscihop_version``, ``numba_version`` and
        ``created`` (ISO 8601, UTC).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(2, edges=[[0, 1], [1, 2]], coupling=1.0)
    >>> sol = oh.solve(kur, (0, 1), kur.random_state(seed=0), t_eval=[0, 0.5, 1])
    >>> ds = sol.to_xarray()
    >>> dict(ds.sizes), sorted(ds.data_vars)
    ({'time': 3, 'neuron': 3, 'component': 2}, ['energy', 'order_parameter', 'x'])
    >>> ds.attrs["model"], ds.attrs["method"], ds.attrs["success"]
    ('Kuramoto', 'RK45', True)
    """
    if not isinstance(sol, Solution):
        raise ValueError(f"`sol` must be an oscihop Solution (the result of oh.solve); got {type(sol).__name__}.")
    ds = _build_dataset(sol.model, sol.t, sol.states, sol.energy, sol.batched, sweeps=sol.method == "async")
    ds.attrs.update(_solution_attrs(sol))
    return ds


# ----------------------------------------------------------------------- stores
def _describe_path(path):
    return repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else f"<{type(path).__name__}>"


def _as_store(path):
    """A path string or a zarr Store; anything else is a ValueError naming `path`."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if not isinstance(path, str) or not path.strip():
            # "" would be the current directory, and bytes paths are not zarr stores
            raise ValueError(f"`path` must be a non-empty directory path; got {path!r}.")
        return path
    if isinstance(path, Store):
        return path
    raise ValueError(
        f"`path` must be a directory path (str or os.PathLike) or a zarr Store such as "
        f"zarr.storage.MemoryStore(); got {type(path).__name__}."
    )


def _is_local(store):
    return isinstance(store, str) and "://" not in store


def _check_mode(mode):
    if mode not in ("w-", "w"):
        raise ValueError(f"`mode` must be 'w-' (fail if `path` exists) or 'w' (overwrite); got {mode!r}.")


def _time_chunks(ds, time_chunk=None):
    """Encoding: chunk each variable along time (``time_chunk``, or about CHUNK_BYTES)."""
    enc = {}
    for name, var in ds.variables.items():
        if "time" not in var.dims:
            continue
        nt = var.sizes["time"]
        if time_chunk is None:
            row = max(1, var.nbytes // max(nt, 1))
            chunk = int(min(nt, max(1, CHUNK_BYTES // row)))
        else:
            chunk = int(time_chunk)
        enc[name] = {"chunks": tuple(chunk if d == "time" else var.sizes[d] for d in var.dims)}
    return enc


def _check_target(store, path, mode, flag="mode='w'"):
    """Refuse, before anything is computed or written, a target oscihop may not write."""
    _check_mode(mode)
    check_writable(store, STORE_KIND, overwrite=mode == "w", name="`path`", flag=flag)


def _write_dataset(ds, model, store, path, mode, time_chunk=None):
    """Create the store from ``ds`` (marked incomplete) and write the model group."""
    _check_target(store, path, mode)
    ds = ds.copy()
    ds.attrs.update(_markers(list(ds.data_vars), complete=False))
    encoding = integrity.xarray_encoding(ds, _time_chunks(ds, time_chunk))
    # the target was checked above: a missing path, an empty directory or a trajectory store to replace
    ds.to_zarr(store, mode="w", zarr_format=3, consolidated=False, encoding=encoding,
               write_empty_chunks=integrity.WRITE_EMPTY_CHUNKS)
    group = zarr.open_group(store, mode="r+", zarr_format=3)
    kind, params, arrays = _describe(model, copy=False)
    mgroup = group.create_group(MODEL_GROUP, overwrite=True)
    for name, arr in arrays.items():
        mgroup.create_array(name, data=np.ascontiguousarray(arr), **integrity.array_options())
    mgroup.attrs.update({"kind": kind, "params": jsonable(params), "arrays": sorted(arrays),
                         "format_version": MODEL_FORMAT_VERSION})
    return group


def _markers(var_names, complete):
    return {"oscihop_store": STORE_KIND, "oscihop_format_version": FORMAT_VERSION,
            "oscihop_complete": bool(complete), "oscihop_variables": sorted(var_names)}


def _mark(group, var_names, complete, extra=None):
    attrs = dict(extra or {})
    attrs.update(_markers(var_names, complete))
    group.attrs.update(attrs)


def solution_to_zarr(sol, path, mode="w-"):
    """Write a solution and its model to a zarr (format 3) store.

    Parameters
    ----------
    sol : Solution
    path : str, os.PathLike or zarr Store
        A directory (created) or a store such as ``zarr.storage.MemoryStore()``.
    mode : {"w-", "w"}, default "w-"
        ``"w-"`` refuses to touch an existing store (``FileExistsError``); ``"w"``
        replaces a trajectory store.  A missing path or an empty directory is written
        with either mode.  Anything else (a directory holding other files, a zarr store
        oscihop did not write, a sweep store) is refused with a ``ValueError`` whatever
        the mode: oscihop never deletes what it did not write.

    Notes
    -----
    The store holds :func:`solution_to_xarray`'s Dataset (data variables chunked
    along ``time``, about 4 MiB per chunk) and a ``model`` group with the model's
    arrays as zarr arrays and its parameters in the group's attributes, which
    :func:`load_model` rebuilds the model from.  Read it back with
    :func:`open_trajectory`.  Every chunk carries a CRC32C checksum and every chunk is
    written, even one holding only zeros, so readers detect a missing, truncated or
    altered chunk (:mod:`oscihop.io.integrity`).

    Examples
    --------
    >>> import os, tempfile, numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(2, edges=[[0, 1], [1, 2]], coupling=1.0)
    >>> sol = oh.solve(kur, (0, 1), kur.random_state(seed=0), t_eval=[0, 0.5, 1])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "run.zarr")
    ...     sol.to_zarr(path)
    ...     ds = oh.open_trajectory(path).load()
    ...     model = oh.load_model(path)
    >>> bool(np.array_equal(ds.x.values, sol.x)), model
    (True, Kuramoto(n=3, dim=2, coupling=edges, interaction='linear'))
    """
    store = _as_store(path)
    ds = solution_to_xarray(sol)
    group = _write_dataset(ds, sol.model, store, path, mode)
    _mark(group, list(ds.data_vars), complete=True)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _each(test):
    """A test passing a value or a list (a batch's per-member values) of values that pass ``test``."""
    return lambda v: test(v) or (isinstance(v, list) and all(test(x) for x in v))


def _is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


#: root attributes the readers use: name -> (test, rule for the message)
_ROOT_ATTRS = {
    "oscihop_store": (lambda v: isinstance(v, str), "a string"),
    "oscihop_format_version": (_is_int, "an integer"),
    "oscihop_complete": (lambda v: isinstance(v, bool), "true or false"),
    "oscihop_variables": (_is_str_list, "a list of variable names"),
    "model": (lambda v: isinstance(v, str) and v in KINDS, f"one of {list(KINDS)}"),
    "model_params": (lambda v: isinstance(v, str), "a JSON string"),
    "model_group": (lambda v: v == MODEL_GROUP, repr(MODEL_GROUP)),
    "method": (lambda v: isinstance(v, str), "a method name (string)"),
    "options": (lambda v: isinstance(v, str), "a JSON string"),
    "message": (_each(lambda v: isinstance(v, str)), "a string (or a list of them)"),
    "success": (_each(lambda v: isinstance(v, bool)), "true or false (or a list of them)"),
    "status": (_each(_is_int), "an integer (or a list of them)"),
    "nfev": (_each(_is_int), "an integer (or a list of them)"),
    "nsteps": (_each(_is_int), "an integer (or a list of them)"),
    "nrejected": (_each(_is_int), "an integer (or a list of them)"),
    "t_final": (_each(_is_number), "a number (or a list of them)"),
    "rtol": (_each(_is_number), "a number (or a list of them)"),
    "atol": (_each(_is_number), "a number (or a list of them)"),
    "dt": (_each(_is_number), "a number"),
    "block": (lambda v: _is_int(v) and v >= 1, "a positive integer"),
    "dtype": (lambda v: isinstance(v, str), "a dtype name (string)"),
    "title": (lambda v: isinstance(v, str), "a string"),
    "created": (lambda v: isinstance(v, str), "a string"),
    "oscihop_version": (lambda v: isinstance(v, str), "a string"),
    "numba_version": (lambda v: isinstance(v, str), "a string"),
}
#: attributes of the model group
_MODEL_ATTRS = {
    "kind": (lambda v: isinstance(v, str) and v in KINDS, f"one of {list(KINDS)}"),
    "params": (lambda v: isinstance(v, dict), "a table of parameters"),
    "arrays": (_is_str_list, "a list of array names"),
    "format_version": (_is_int, "an integer"),
}


def _check_attrs(attrs, rules, where, node):
    """Refuse attributes of the wrong type, naming the attribute (edited or damaged stores)."""
    for name, (test, rule) in rules.items():
        if name in attrs and not test(attrs[name]):
            seen = repr(attrs[name])
            seen = seen if len(seen) <= 80 else seen[:77] + "..."
            raise ValueError(
                f"`path` {where} is a corrupted trajectory store: the attribute {name!r} of {node} must be {rule}; "
                f"got {seen}. Write the trajectory again (it was edited or damaged)."
            )


def _open_group(path):
    """Open ``path`` read-only and check it is an oscihop trajectory store."""
    store = _as_store(path)
    where = _describe_path(path)
    if _is_local(store) and not os.path.exists(store):
        raise ValueError(
            f"`path` {where} does not exist; write a trajectory with sol.to_zarr(path) or oh.solve_to_zarr."
        )
    if _is_local(store) and not os.path.isdir(store):
        raise ValueError(f"`path` {where} is a file, not a trajectory store (a zarr directory).")
    try:
        group = zarr.open_group(store, mode="r")
        attrs = group.attrs.asdict()
    except Exception as exc:  # zarr raises many types for missing or malformed metadata
        raise ValueError(
            f"`path` {where} is not a readable zarr group (missing or unreadable metadata: "
            f"{type(exc).__name__}: {exc}); it is not an oscihop trajectory store, or it is corrupted."
        ) from exc
    kind = attrs.get("oscihop_store")
    if kind is None and "oscihop_sweep" in attrs:
        kind = "sweep"
    if kind is None:
        raise ValueError(
            f"`path` {where} is a zarr store but not an oscihop trajectory: its root lacks the "
            "'oscihop_store' attribute (a foreign store). "
            "Trajectory stores are written by sol.to_zarr(path) and oh.solve_to_zarr."
        )
    _check_attrs({"oscihop_store": kind}, _ROOT_ATTRS, where, "the root")
    if kind != STORE_KIND:
        hint = " Open it with oh.open_sweep." if kind == "sweep" else ""
        raise ValueError(f"`path` {where} is an oscihop {kind!r} store, not a trajectory.{hint}")
    version = attrs.get("oscihop_format_version")
    if not _is_int(version) or version > FORMAT_VERSION:
        raise ValueError(
            f"`path` {where} has trajectory format version {version!r}; this oscihop reads versions "
            f"<= {FORMAT_VERSION}. Upgrade oscihop."
        )
    _check_attrs(attrs, _ROOT_ATTRS, where, "the root")
    return store, group, attrs, where


def _check_model_group(group, where):
    try:
        mgroup = group[MODEL_GROUP]
        mattrs = mgroup.attrs.asdict()
        names = set(mgroup.array_keys())
    except Exception as exc:
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: its '{MODEL_GROUP}' group is missing or "
            f"unreadable ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(mgroup, zarr.Group) or "kind" not in mattrs or "params" not in mattrs:
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: '{MODEL_GROUP}' lacks its kind/params attributes."
        )
    _check_attrs(mattrs, _MODEL_ATTRS, where, f"the '{MODEL_GROUP}' group")
    missing = sorted(set(mattrs.get("arrays", [])) - names)
    if missing:
        raise ValueError(f"`path` {where} is a corrupted trajectory store: model arrays {missing} are missing.")
    return mgroup, mattrs


def _verify(group, where, attrs, read, stacklevel):
    """Every chunk present and (``read``) its checksum right; older stores are read with a warning."""
    if attrs.get("oscihop_complete", False):
        fix = "Write the trajectory again (sol.to_zarr, oh.solve_to_zarr or oscihop run), or restore it from a copy."
    else:
        fix = "The run that wrote it was interrupted while writing: run it again."
    try:
        integrity.check_group(group, where, read=read, fix=fix, unverifiable="warn", stacklevel=stacklevel + 1)
    except integrity.StoreDamagedError:
        raise
    except Exception as exc:  # an array's metadata cannot be read
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: its arrays cannot be listed or opened "
            f"({type(exc).__name__}: {exc})."
        ) from exc


def _opens_without_chunks(store):
    try:
        xr.open_zarr(store, consolidated=False, zarr_format=3)
    except Exception:  # noqa: BLE001 - the store itself is the problem
        return False
    return True


def open_trajectory(path, chunks=None, verify=True):
    """Open a trajectory store written by ``sol.to_zarr`` or :func:`solve_to_zarr`.

    Parameters
    ----------
    path : str, os.PathLike or zarr Store
    chunks : optional
        Passed to :func:`xarray.open_zarr`: ``None`` (default) gives lazily loaded
        NumPy-backed variables; ``{}`` gives dask arrays with the store's chunks.
    verify : bool, default True
        Read every chunk of the store once, checking its CRC32C checksum, before
        returning.  With ``False`` only the presence of every chunk is checked (a listing
        of the store's keys, cheap for large stores); checksums are still checked by zarr
        whenever a chunk is read, which then raises.

    Returns
    -------
    xarray.Dataset
        As :func:`solution_to_xarray` made it: the same numbers, dimensions and
        attributes (plus the store's ``oscihop_*`` markers).  ``time``, ``energy`` and
        ``order_parameter`` are loaded; ``h``, ``x`` and ``overlap`` on access.

    Raises
    ------
    ValueError
        Naming ``path``: when it does not exist, is not a zarr store, is a zarr store
        that oscihop did not write (a foreign store), or is corrupted (unreadable
        metadata, attributes of the wrong type, missing variables, missing model arrays).
    oscihop.io.integrity.StoreDamagedError
        A ``ValueError`` naming the store, the array and the chunk, when a chunk is missing
        or fails its checksum (a removed, truncated or altered chunk file).

    Warns
    -----
    UserWarning
        When a streamed store is incomplete (its run stopped before the last block);
        the blocks written so far are returned.  When the store was written by an
        older oscihop, without checksums: it is read, but cannot be verified.

    Examples
    --------
    >>> import oscihop as oh, zarr
    >>> hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    >>> sol = oh.solve(hop, (0, 2), hop.random_state(seed=0, batch=3), t_eval=[0, 1, 2])
    >>> store = zarr.storage.MemoryStore()
    >>> sol.to_zarr(store)
    >>> ds = oh.open_trajectory(store)
    >>> dict(ds.h.sizes), dict(ds.overlap.sizes)
    ({'batch': 3, 'time': 3, 'neuron': 4}, {'batch': 3, 'time': 3, 'pattern': 2})
    """
    verify = check_bool(verify, "verify")
    store, group, attrs, where = _open_group(path)
    _verify(group, where, attrs, read=verify, stacklevel=2)
    try:
        ds = xr.open_zarr(store, consolidated=False, chunks=chunks, zarr_format=3)
    except Exception as exc:
        if chunks is not None and _opens_without_chunks(store):
            raise ValueError(
                f"`chunks` must be None, 'auto', an integer or a dict of dimension -> chunk size, as "
                f"xarray.open_zarr takes; got {chunks!r} ({type(exc).__name__}: {exc})."
            ) from None
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: xarray cannot open it ({type(exc).__name__}: {exc})."
        ) from exc
    expected = attrs.get("oscihop_variables") or []
    missing = sorted(set(expected) - set(ds.data_vars))
    if missing or "time" not in ds.coords:
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: variables {missing or ['time']} are missing."
        )
    _check_model_group(group, where)
    try:
        for name in ("time", "energy", "order_parameter"):
            if name in ds.variables:
                ds[name].load()
    except Exception as exc:
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: reading {name!r} failed ({type(exc).__name__}: {exc})."
        ) from exc
    if not attrs.get("oscihop_complete", False):
        how = "streamed it stopped" if "block" in attrs else "wrote it stopped"
        warnings.warn(
            f"`path` {where} is incomplete: the run that {how} after {ds.sizes['time']} output "
            "times; returning what was written.", UserWarning, stacklevel=2)
    return ds


def load_model(path):
    """Rebuild the model stored in a trajectory store.

    Parameters
    ----------
    path : str, os.PathLike or zarr Store
        A store written by ``sol.to_zarr`` or :func:`solve_to_zarr`.

    Returns
    -------
    Hopfield, Kuramoto or HopfieldKuramoto
        With ``rhs`` and ``energy`` equal bit for bit to the model that was saved.

    Raises
    ------
    ValueError
        Naming ``path`` when the store is missing, foreign or corrupted (attributes
        of the wrong type included).
    oscihop.io.integrity.StoreDamagedError
        A ``ValueError`` naming the store, the model array and the chunk, when a chunk
        of the model's arrays is missing or fails its checksum.

    Warns
    -----
    UserWarning
        When the store was written by an older oscihop, without checksums.

    Examples
    --------
    >>> import numpy as np, oscihop as oh, zarr
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=4)
    >>> y0 = kur.random_state(seed=0)
    >>> store = zarr.storage.MemoryStore()
    >>> oh.solve(kur, (0, 1), y0, t_eval=[1]).to_zarr(store)
    >>> bool(oh.load_model(store).energy(y0) == kur.energy(y0))
    True
    """
    _, group, attrs, where = _open_group(path)
    mgroup, mattrs = _check_model_group(group, where)
    version = mattrs.get("format_version", 1)
    if version > MODEL_FORMAT_VERSION:
        raise ValueError(
            f"`path` {where} has model format version {version!r}; this oscihop reads <= {MODEL_FORMAT_VERSION}. "
            "Upgrade oscihop."
        )
    # the model's arrays are read whole below: checking them costs one more read of each
    _verify(mgroup, where, attrs, read=True, stacklevel=2)
    try:
        arrays = {name: mgroup[name][...] for name in mattrs.get("arrays", [])}
    except Exception as exc:
        raise ValueError(
            f"`path` {where} is a corrupted trajectory store: reading the model arrays failed "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    try:
        model = model_from_dict({"kind": mattrs["kind"], "params": mattrs["params"], "arrays": arrays})
    except ValueError as exc:
        raise ValueError(f"`path` {where} holds a model that cannot be rebuilt: {exc}") from exc
    _check_model_matches(model, group, where)
    return model


def _check_model_matches(model, group, where):
    """The rebuilt model must have the trajectory's sizes (an edited ``n`` or ``dim`` would not)."""
    want = {"neuron": model.n}
    if "x" in group.array_keys():
        want["component"] = model.dim
    for name, size in want.items():
        if name in group.array_keys() and group[name].shape != (size,):
            raise ValueError(
                f"`path` {where} is a corrupted trajectory store: its model has {name} size {size}, but the "
                f"trajectory has {group[name].shape[0]} (the model's parameters were edited or damaged)."
            )


def __getattr__(name):
    """``oscihop.io.trajectory.solve_to_zarr``, its path before it moved to :mod:`oscihop.io.streaming`."""
    if name == "solve_to_zarr":
        from .streaming import solve_to_zarr

        return solve_to_zarr
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
