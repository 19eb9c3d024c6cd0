"""The sweep store: its layout, creating it, verifying it and reading it back.

Layout of a sweep store (a zarr v3 directory; ``P...`` are the parameter dimensions:
one per grid parameter, or a single ``point`` dimension for a list of points)::

    zarr.json               group; attribute "oscihop_sweep" holds the definition and its fingerprint
    <param> / point         coordinates (grid values; or 0..n-1 plus one (point,) array per parameter)
    time, state             output times (when a time curve is kept) and flat state index
    y                (P..., time, state)  reduce="full": the trajectory at the output times
    energy           (P..., time)         reduce="full" or "energy"
    y_final          (P..., state)        reduce="final": the state at t_span[1]
    order_parameter  (P..., time)         reduce="order_parameter"
    energy_increase  (P...) float64       reduce="energy_increase": largest energy increase between
                                          outputs relative to atol + rtol |E| (> 1: an increase)
    dEdt_max         (P...) float64       reduce="dEdt_max": largest dE/dt over the output states
    status           (P...) int8          solver status (-128: the solver did not run)
    nfev, nsteps     (P...) int64         right-hand side evaluations, accepted steps (-1: not run)
    message          (P...) str           why the point failed ("" when it did not)
    outcome          (P...) int8          completion record, written after the rest of the point:
                                          0 not run, 1 done, 2 failed, 3 solve failed
    .oscihop.lock                         present while a sweep writes the store

Every per-point array is stored in blocks of ``points_per_task`` consecutive points (C order)
along the parameter dimensions, each spanning the whole trailing dimensions (time, state): one
task computes one such block and is the only writer of its files, one per array.  So the number
of files grows with the number of tasks, never with the length of the time curve.  A block
larger than ``_INNER_BYTES`` is a shard (zarr 3's ``sharding_indexed`` codec) of chunks of at
most that size, so reading a few points decodes only their chunks; a smaller block is one
plain chunk (zarr spends about 2 ms more on writing a shard than a chunk, for nothing when the
shard would hold one chunk).  Every chunk carries a CRC32C checksum, so does every shard's
index, and every block is written (:mod:`oscihop.io.integrity`): the coordinates and the
per-point records when the store is created, the data blocks of a task when it writes them.
A missing, truncated or altered block is therefore detected; a resumed sweep recomputes the
points it holds.  (Stores written before sharding split long time curves into several chunks
per block; they are verified and resumed the same way, chunk by chunk.)
:func:`open_sweep` adds ``done`` (``outcome == 1``).

Files are written as zarr's local store writes them, each whole or not at all (a ``.partial``
file renamed over it), but encoded by zarr into memory on the calling thread first
(:func:`_encoded`): a new store, and every task write that covers whole blocks.  The root
``zarr.json`` of a new store is written first with ``initialized: false`` and again, with
``true``, after every other file, so a creation cut short is seen as unfinished.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import math
import os
import shutil
import uuid
import warnings

import numpy as np

from ..io.integrity import StoreDamagedError, array_options, storage_grid, storage_shape, verify_array
from .lock import LOCK_NAME

__all__ = ["NOT_RUN", "PENDING", "DONE", "FAILED", "SOLVE_FAILED", "OUTCOMES"]

#: ``status`` of a point the solver has not run (yet, or because the point failed before solving).
NOT_RUN = -128
#: ``outcome`` of a point: not run yet, done, failed (``build``, the point's checks or ``oh.solve``
#: raised), solve failed (the solver returned a failure status or non-finite values).
PENDING, DONE, FAILED, SOLVE_FAILED = 0, 1, 2, 3
#: ``outcome`` code -> meaning.
OUTCOMES = {PENDING: "not run", DONE: "done", FAILED: "failed", SOLVE_FAILED: "solve failed"}

_ATTR = "oscihop_sweep"
#: 2: checksums on every chunk, every chunk written, per-point ``outcome`` and ``message``
#: (format 1 kept a ``done`` array and aborted on a failing point).
_FORMAT = 2
#: per-point numbers computed from the whole solver output by :mod:`oscihop.verification`; stored as float64
_CHECKS = ("energy_increase", "dEdt_max")
_DATA_VARS = ("y", "energy", "y_final", "order_parameter", *_CHECKS)
#: per-point records, in the order a task writes them: ``outcome`` last (the completion record)
_RECORD_VARS = ("status", "nfev", "nsteps", "message", "outcome")
_RESERVED = frozenset({"point", "time", "state", "done", *_DATA_VARS, *_RECORD_VARS})
_INNER_BYTES = 2**20  # largest chunk inside a shard (unless one point's state is larger)
_LONG_NAMES = {
    "y": "state trajectory (flat layout: model.unpack splits h and x)",
    "energy": "model energy",
    "y_final": "state at t_span[1] (flat layout)",
    "order_parameter": "Kuramoto order parameter |mean_i x_i|",
    "energy_increase": "largest energy increase between outputs / (atol + rtol max|E|); > 1: the energy rose "
                       "beyond the tolerance (oscihop.verification.energy_increase)",
    "dEdt_max": "largest dE/dt = grad E . f over the output states; > 0: the energy rises along the flow "
                "(oscihop.verification.max_energy_rate)",
    "status": f"solver status (0 done, 1 stopped early, < 0 failed, {NOT_RUN} not run)",
    "nfev": "right-hand side evaluations (-1: not run)",
    "nsteps": "accepted steps (-1: not run)",
    "message": "why the point failed (empty when it did not)",
    "outcome": "0 not run, 1 done, 2 failed (build, checks or solve raised), 3 solve failed (status < 0 or "
               "non-finite values)",
    "done": "point computed and written (outcome == 1)",
}
#: fill value of each per-point record: what a point that has not run holds
_RECORD_FILL = {"status": (np.int8, NOT_RUN), "nfev": (np.int64, -1), "nsteps": (np.int64, -1),
                "message": (str, ""), "outcome": (np.int8, PENDING)}
#: CF-style description of the outcome codes
_OUTCOME_FLAGS = {"flag_values": list(OUTCOMES), "flag_meanings": " ".join(v.replace(" ", "_")
                                                                           for v in OUTCOMES.values())}


def _writable(array):
    """``array`` with the store's write options (zarr keeps them per opened array, not in the store):
    every chunk written, even one that holds only the fill value, so that a missing chunk is damage."""
    return array.with_config(array_options()["config"])


def _write_all(writes):
    """Write ``[(array, selection, values), ...]`` concurrently, in one trip to zarr's event loop
    (the arrays' encoding and files overlap; about a third faster than one write after another)."""
    import asyncio

    from zarr.core.sync import sync

    async def write():
        await asyncio.gather(*(array.async_array.setitem(sel, values) for array, sel, values in writes))

    if writes:
        sync(write())


def _encoded(fill):
    """``(result, files)``: ``result`` of ``await fill(store)`` on a new zarr in-memory store, run on an
    event loop of the calling thread, and ``files`` ({key: bytes}) what zarr wrote there.

    zarr's own writes hop to its I/O thread and to a thread per file.  A sweep writes from its
    writer thread while the solves hold the cores, and every hop waits for the GIL (a switch
    interval each), so creating a store took 2x longer inside a sweep than alone.  Encoded here,
    the chunks and metadata documents are zarr's own bytes, and :func:`_put_files` writes them in
    the layout zarr's local store reads (the key ``a/c/0/1`` is the file ``a/c/0/1``)."""
    import asyncio

    from zarr.storage import MemoryStore

    docs = {}
    result = asyncio.run(fill(MemoryStore(store_dict=docs)))
    return result, {key: buf.to_bytes() for key, buf in docs.items()}


def _put_files(path, files):
    """Write ``{key: bytes}`` under ``path`` as zarr's local store does: each file whole or not at
    all (a ``.partial`` file renamed over it; a killed writer's leftovers are removed by
    :func:`_remove_partials`)."""
    for key, data in files.items():
        target = os.path.join(path, *key.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        partial = f"{target}.{uuid.uuid4().hex}.partial"
        try:
            with open(partial, "wb") as fh:
                fh.write(data)
            os.replace(partial, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise


def _whole_blocks(array, selection):
    """Whether ``selection`` (a tuple of slices of the leading dimensions) covers whole stored
    blocks (chunks, or shards) of ``array``: a block written whole needs nothing read first."""
    for sl, size, block in zip(selection, array.shape, storage_shape(array)):
        start, stop, _ = sl.indices(size)
        if start % block or (stop % block and stop != size):
            return False
    return True


def _write_blocks(path, arrays, *stages):
    """Write the stages ``[(name, selection, values), ...]`` of the store at ``path`` (``arrays``:
    name -> its opened zarr array), each stage's files after the previous stage's (a task's
    completion record after its data).  Selections that cover whole blocks are encoded together,
    on this thread (:func:`_encoded`: one event loop for every stage), and written as files
    (:func:`_put_files`); a selection that does not is written through zarr (:func:`_write_all`),
    which reads what it keeps."""
    from zarr import AsyncArray
    from zarr.storage import StorePath

    whole = [(n, sel, v) for stage in stages for n, sel, v in stage if _whole_blocks(arrays[n], sel)]
    config = array_options()["config"]

    async def fill(store):
        import asyncio

        await asyncio.gather(*(AsyncArray(metadata=arrays[n].metadata, store_path=StorePath(store, n),
                                          config=config).setitem(sel, v) for n, sel, v in whole))

    files = _encoded(fill)[1] if whole else {}
    for stage in stages:
        _write_all([(arrays[n], sel, v) for n, sel, v in stage if not _whole_blocks(arrays[n], sel)])
        names = {n for n, _, _ in stage}
        _put_files(path, {key: data for key, data in files.items() if key.split("/", 1)[0] in names})


def _inspect(path):
    """Classify the directory ``path``: ("empty"|"ours"|"foreign"|"corrupt", attrs or reason)."""
    entries = [e for e in os.listdir(path) if e != LOCK_NAME]
    if not entries:
        return "empty", None
    zj = os.path.join(path, "zarr.json")
    if not os.path.isfile(zj):
        if os.path.exists(os.path.join(path, ".zgroup")) or os.path.exists(os.path.join(path, ".zarray")):
            return "foreign", "it is a zarr v2 store, not an oscihop sweep store"
        return "foreign", f"it is a non-empty directory without zarr.json (holds {sorted(entries)[:3]!r}...)"
    try:
        with open(zj, "rb") as fh:
            meta = json.loads(fh.read().decode())
    except (OSError, ValueError) as exc:
        return "corrupt", f"its zarr.json cannot be read ({exc})"
    if not isinstance(meta, dict) or meta.get("zarr_format") != 3:
        return "corrupt", "its zarr.json is not zarr v3 metadata"
    if meta.get("node_type") != "group":
        return "foreign", "it is a single zarr array, not a sweep group"
    attrs = (meta.get("attributes") or {}).get(_ATTR)
    if attrs is None:
        return "foreign", ("it is a zarr store that oh.sweep did not write (no 'oscihop_sweep' attribute; "
                           "a trajectory store is opened with oh.open_trajectory)")
    if not isinstance(attrs, dict) or not isinstance(attrs.get("fingerprint"), str) or "definition" not in attrs:
        return "corrupt", "its 'oscihop_sweep' attribute is incomplete"
    return "ours", attrs


def _plan_chunks(shape, points_per_task):
    """Chunk shape over the parameter dims covering <= points_per_task consecutive (C-order) points."""
    chunks = [1] * len(shape)
    m = 1
    for j in reversed(range(len(shape))):
        if m * shape[j] <= points_per_task:
            chunks[j] = shape[j]
            m *= shape[j]
        else:
            chunks[j] = max(1, points_per_task // m)
            break
    return tuple(chunks)


def _largest_divisor(n, limit):
    """The largest divisor of ``n`` that is at most ``limit`` (at least 1)."""
    limit = max(1, min(n, int(limit)))
    for c in range(limit, 0, -1):
        if n % c == 0:
            return c
    return 1


def _inner_chunks(shard, itemsize):
    """Chunk shape inside a shard of shape ``shard`` (parameter dims, then trailing dims).

    Chunks are as large as fit in ``_INNER_BYTES`` (zarr spends a fixed cost on every chunk it
    encodes or decodes, so a small array's shard is one chunk), filled in C order from the last
    dim, which is always whole (a state); each chunk dim divides the shard's, zarr's rule.
    """
    inner, m = [1] * len(shard), itemsize
    for j in reversed(range(len(shard))):
        if j == len(shard) - 1 or m * shard[j] <= _INNER_BYTES:
            inner[j] = shard[j]
            m *= shard[j]
        else:
            inner[j] = _largest_divisor(shard[j], _INNER_BYTES // m)
            break
    return tuple(inner)


def _clear_dir(path):
    """Delete the store's contents (not the lock), interruptible at any point.

    The group metadata is first marked ``initialized: False`` and deleted last, so a run killed
    half-way leaves a store that the next sweep recognises as its own and recreates.
    """
    zj = os.path.join(path, "zarr.json")
    try:
        with open(zj, "rb") as fh:
            meta = json.loads(fh.read().decode())
        meta["attributes"][_ATTR]["initialized"] = False
        tmp = zj + f".{uuid.uuid4().hex}.partial"
        with open(tmp, "w") as fh:
            json.dump(meta, fh)
        os.replace(tmp, zj)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for entry in sorted(os.listdir(path), key=lambda e: e == "zarr.json"):
        if entry == LOCK_NAME:
            continue
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def _remove_partials(path):
    """Remove temporary files a killed writer left (zarr writes ``*.partial`` then renames)."""
    for root, _dirs, files in os.walk(path):
        for f in files:
            if f.endswith(".partial"):
                try:
                    os.unlink(os.path.join(root, f))
                except OSError:
                    pass


def _coords(d, size):
    """``[(name, values, dim), ...]``: the coordinate arrays, which the definition fixes."""
    out = []
    if d.kind == "grid":
        out += [(name, values, name) for name, values in zip(d.names, d.values)]
    else:
        out.append(("point", np.arange(d.n_points, dtype=np.int64), "point"))
        out += [(name, values, "point") for name, values in zip(d.names, d.values)]
    if d.n_times:
        out.append(("time", d.times.astype(np.float64), "time"))
    if "y" in d.variables or "y_final" in d.variables:
        out.append(("state", np.arange(size, dtype=np.int64), "state"))
    return out


def _write_coords(group, d, size):
    """Write the coordinate arrays again (they exist)."""
    _write_all([(_writable(group[name]), Ellipsis, values) for name, values, _dim in _coords(d, size)])


def _coord_names(record, variables):
    """Names of the coordinate arrays of a store, from its definition record and variables."""
    names = list(record["params"]) if record["kind"] == "grid" else ["point", *record["params"]]
    if record["t_eval"] is not None:
        names.append("time")
    if "y" in variables or "y_final" in variables:
        names.append("state")
    return names


def _store_attrs(d, model, points_per_task):
    """The attributes of a new store (``initialized: False``), which fix its layout."""
    import zarr

    from .. import __version__

    chunks = _plan_chunks(d.shape, points_per_task)
    return {
        "format": _FORMAT,
        "fingerprint": d.fingerprint,
        "store_id": uuid.uuid4().hex,
        "initialized": False,
        "definition": d.record,
        "dims": d.dims,
        "shape": list(d.shape),
        "chunks": list(chunks),
        "variables": d.variables,
        "model": model,
        "oscihop_version": __version__,
        "zarr_version": zarr.__version__,
        "numba_version": __import__("numba").__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _write_store(path, d, attrs):
    """Write a new store from its attributes: the group, every array, the coordinates and the
    per-point records; ``initialized`` is set last. Returns the attributes written."""
    import asyncio

    import zarr
    import zarr.api.asynchronous

    attrs = dict(attrs)
    chunks, model = attrs["chunks"], attrs["model"]
    size, dtype = model["size"], np.dtype(model["dtype"])
    coord_attrs = {"coordinates": " ".join(d.names)} if d.kind == "points" else {}
    specs, fills = [], []  # (name, create_array keywords), (name, values written at once)
    for name, values, dim in _coords(d, size):
        specs.append((name, dict(shape=values.shape, chunks=values.shape, dimension_names=[dim],
                                 dtype=str if values.dtype.kind == "U" else values.dtype)))
        fills.append((name, values))
    layout = {
        "y": (("time", "state"), (d.n_times, size)),
        "energy": (("time",), (d.n_times,)),
        "y_final": (("state",), (size,)),
        "order_parameter": (("time",), (d.n_times,)),
    }
    for name in [*d.variables, *_RECORD_VARS]:
        tail_dims, tail_shape = layout.get(name, ((), ()))
        dt, fill = _RECORD_FILL.get(name, (np.float64 if name in _CHECKS else dtype, np.nan))
        itemsize = 16 if dt is str else np.dtype(dt).itemsize
        block = tuple(chunks) + tuple(max(1, n) for n in tail_shape)  # one task's block, one file
        inner = _inner_chunks(block, itemsize)
        specs.append((name, dict(shape=tuple(d.shape) + tail_shape, dtype=dt, fill_value=fill,
                                 **({"shards": block, "chunks": inner} if inner != block else {"chunks": block}),
                                 dimension_names=list(d.dims) + list(tail_dims),
                                 attributes={"long_name": _LONG_NAMES[name], **coord_attrs,
                                             **(_OUTCOME_FLAGS if name == "outcome" else {})})))
        if name in _RECORD_FILL:  # every record chunk exists from the start: a missing one is damage
            fills.append((name, np.full(d.shape, fill, dtype=object if dt is str else dt)))

    names = [name for name, _ in specs]
    final = dict(attrs, initialized=True)
    first = {}

    async def create(store):  # the group (initialized: False), then every array at once, then the fills
        group = await zarr.api.asynchronous.create_group(store=store, zarr_format=3, attributes={_ATTR: attrs},
                                                         overwrite=False)
        first["zarr.json"] = (await store.get("zarr.json", default_buffer_prototype())).to_bytes()
        made = dict(zip(names, await asyncio.gather(*(group.create_array(name, **kw, **array_options())
                                                      for name, kw in specs))))
        config = array_options()["config"]
        await asyncio.gather(*(made[name].with_config(config).setitem(Ellipsis, values) for name, values in fills))
        await group.update_attributes({_ATTR: final})
        return {name: array.metadata for name, array in made.items()}

    from zarr.core.buffer import default_buffer_prototype

    metadata, files = _encoded(create)
    _put_files(path, first)  # a killed creation leaves a store that says it is not initialized ...
    done = files.pop("zarr.json")
    _put_files(path, files)
    _put_files(path, {"zarr.json": done})  # ... until every array and fill is there
    _remember_arrays(path, final["store_id"], metadata)
    return final


_OPEN = {}


def _remember_arrays(path, store_id, metadata):
    """Keep the new store's arrays (name -> metadata) for :func:`open_arrays` in this process."""
    from zarr import Array, AsyncArray
    from zarr.storage import LocalStore, StorePath

    local = LocalStore(path)
    _OPEN.clear()
    _OPEN[(path, store_id)] = {name: Array(AsyncArray(metadata=meta, store_path=StorePath(local, name),
                                                      config=array_options()["config"]))
                               for name, meta in metadata.items()}


def open_arrays(path, store_id, names):
    """The store's arrays ``names`` (name -> writable zarr array), opened once per process and
    store (a store this process created is not read again); RuntimeError if the store at
    ``path`` is no longer the one with ``store_id``."""
    import zarr

    arrays = _OPEN.get((path, store_id))
    if arrays is None or any(name not in arrays for name in names):
        group = zarr.open_group(path, mode="r+")
        attrs = group.attrs.get(_ATTR) or {}
        if attrs.get("store_id") != store_id:
            raise RuntimeError(f"Sweep store {path!r} was replaced while this sweep ran.")
        arrays = {name: _writable(group[name]) for name in names}
        _OPEN.clear()
        _OPEN[(path, store_id)] = arrays
    return arrays


@contextlib.contextmanager
def _lock_file_quiet():
    """Silence zarr's warning about the lock file, which is ours, not a zarr node."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is not recognized as a component of a Zarr hierarchy")
        yield


def _open_group(path, attrs):
    """The store's arrays (name -> zarr.Array, their metadata read at once), with every array of its
    format present in its shape; ValueError if not."""
    import zarr

    shape = tuple(attrs["shape"])
    names = [*attrs["variables"], *(_RECORD_VARS if attrs.get("format") == _FORMAT else ("status", "nfev", "nsteps",
                                                                                          "done"))]
    try:
        with _lock_file_quiet():
            group = dict(zarr.open_group(path, mode="r").arrays())
        for name in names:
            if name not in group:
                raise ValueError(f"array {name!r} is missing")
            if tuple(group[name].shape[: len(shape)]) != shape:
                raise ValueError(f"array {name!r} has shape {group[name].shape}, expected {shape} + ...")
    except Exception as exc:  # noqa: BLE001 - unreadable metadata means a damaged store
        raise ValueError(
            f"Sweep store {path!r} is corrupted: {exc}. Pass overwrite=True to delete it and run the "
            "sweep again from scratch."
        ) from exc
    return group


def _region_slices(cidx, chunks, shape):
    return tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(cidx, chunks, shape))


def _scan(path, attrs, *, read_data=True):
    """Verify a sweep store (format 2) and read its completion record.

    Checks, with :func:`oscihop.io.integrity.verify_array`: every chunk of the coordinates and of
    the per-point records (all written when the store was created), and every chunk of the data
    arrays in the blocks that hold a done point: decoded when ``read_data``, else only present
    (``sweep`` opens its result so, having verified the store when it resumed it and written the
    rest itself; the ``outcome`` record is decoded either way).

    Returns
    -------
    outcome : ndarray (P...) int8
        The completion record; a block whose ``outcome`` chunk is damaged reads as not run.
    damage : list of Damage
        Every damaged chunk found.
    bad : set of tuple
        Chunk indices (along the parameter dimensions) of the blocks with damage.
    """
    group = _open_group(path, attrs)
    shape, chunks = tuple(attrs["shape"]), tuple(attrs["chunks"])
    nd = len(shape)
    damage = []
    for name in _coord_names(attrs["definition"], attrs["variables"]):
        if name not in group:
            raise ValueError(f"Sweep store {path!r} is corrupted: coordinate array {name!r} is missing. Pass "
                             "overwrite=True to delete it and run the sweep again from scratch.")
        damage += verify_array(group[name], name, read=read_data)
    bad = set()
    for name in _RECORD_VARS:
        found = verify_array(group[name], name, read=read_data or name == "outcome")
        damage += found
        bad |= {d.chunk[:nd] for d in found}
    if any(d.chunk == () for d in damage):  # the array has no checksum codec: format 2 always writes one
        raise ValueError(f"Sweep store {path!r} is corrupted: {damage[0]}. Pass overwrite=True to delete it and run "
                         "the sweep again from scratch.")
    grid = [math.ceil(s / c) for s, c in zip(shape, chunks)]
    outcome = np.full(shape, PENDING, dtype=np.int8)
    if not bad:
        outcome[...] = group["outcome"][...]
    else:
        for cidx in np.ndindex(*grid):
            if cidx not in bad:
                sl = _region_slices(cidx, chunks, shape)
                outcome[sl] = group["outcome"][sl]
    blocks = [cidx for cidx in np.ndindex(*grid)
              if cidx not in bad and (outcome[_region_slices(cidx, chunks, shape)] == DONE).any()]
    for name in attrs["variables"]:
        arr = group[name]
        tails = [range(n) for n in storage_grid(arr)[nd:]]
        wanted = [cidx + tail for cidx in blocks for tail in itertools.product(*tails)]
        found = verify_array(arr, name, read=read_data, chunks=wanted)
        damage += found
        bad |= {d.chunk[:nd] for d in found}
    return outcome, damage, bad


def _damage_text(damage, limit=5):
    shown = "; ".join(str(d) for d in damage[:limit])
    return shown + (f" (and {len(damage) - limit} more)" if len(damage) > limit else "")


def _drop_damaged_shards(path, damage):
    """Delete the files of damaged shards (oscihop wrote them; their points are recomputed).

    zarr writes a shard by first reading the one stored (to merge a partial write), so a
    damaged shard would make the very write that repairs it fail; a missing one is simply written.
    A plain chunk is overwritten whole without being read, and is left to that write."""
    import zarr

    group = zarr.open_group(path, mode="r")
    for dmg in damage:
        if dmg.unit == "shard" and dmg.array in group:
            key = os.path.join(path, dmg.array, *group[dmg.array].metadata.encode_chunk_key(dmg.chunk).split("/"))
            if os.path.isfile(key):
                os.unlink(key)


def _repair_coords(path, attrs, d, damage):
    """Rewrite damaged coordinate arrays from the definition (they hold nothing else)."""
    import zarr

    names = set(_coord_names(d.record, attrs["variables"]))
    if any(dmg.array in names for dmg in damage):
        _write_coords(zarr.open_group(path, mode="r+"), d, attrs["model"]["size"])


def _with_unit_variables(ds, model):
    """``y`` and ``y_final`` split by unit, as in trajectory stores (lazy views of the same data):
    ``h``/``h_final`` (..., neuron) for threshold units and ``x``/``x_final`` (..., neuron,
    component) for oscillators; the state is ``h`` first, then ``x`` row by row (docs/theory.md §1)."""
    import xarray as xr

    n, dim, size = model.get("n"), model.get("dim"), model.get("size")
    if not (n and size is not None and dim is not None):
        return ds
    nk = n if dim else 0
    nh = size - nk * dim
    for name, suffix in (("y", ""), ("y_final", "_final")):
        if name not in ds or ds[name].sizes.get("state") != size:
            continue
        if nh:
            ds["h" + suffix] = ds[name].isel(state=slice(0, nh)).rename(state="neuron").assign_attrs(
                long_name="threshold unit potentials h", source=name)
        if nk:
            index = xr.DataArray(nh + np.arange(nk * dim).reshape(nk, dim), dims=("neuron", "component"))
            ds["x" + suffix] = ds[name].isel(state=index).assign_attrs(long_name="oscillator states x",
                                                                      source=name)
    return ds


def _lazy_dataset(path, model):
    """The store opened by xarray: lazy arrays over its chunks, the coordinates loaded, ``y``
    split by unit (:func:`_with_unit_variables`, ``model`` the store's model facts).  Nothing it
    holds is read from the data chunks, so it can be opened once the store is created, while the
    tasks still write (an in-process sweep does, on its writer thread)."""
    import xarray as xr

    try:
        with _lock_file_quiet():
            ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"Sweep store {path!r} is corrupted: xarray cannot open it ({exc}).") from exc
    lazy = [name for name in ds.coords if ds[name].chunks is not None]  # (point,) parameter coordinates
    if lazy:
        ds = ds.assign_coords({name: ds[name].load() for name in lazy})
    return _with_unit_variables(ds, model or {})


def _local_compute():
    """Compute dask arrays in this thread: the store's view is dask-backed, and under a
    ``distributed.Client`` every read would otherwise be a round trip to the cluster (20 ms for
    the messages of a 10,000-point sweep, against 2 ms read here)."""
    try:
        import dask
    except ImportError:
        return contextlib.nullcontext()
    return dask.config.set(scheduler="sync")


def _open_dataset(path, read_data, outcome=None, opened=None, messages=None):
    """The store as an xarray Dataset, after checking it (:func:`_scan`), or with ``outcome``
    (and ``messages``), the records its writer holds (this process wrote every block, just now),
    and ``opened``, its :func:`_lazy_dataset` opened after the store was created."""
    if not os.path.exists(path):
        raise ValueError(f"Sweep store {path!r} does not exist.")
    if not os.path.isdir(path):
        raise ValueError(f"{path!r} is not an oscihop sweep store: it is a file, not a zarr directory.")
    kind, info = _inspect(path)
    if kind == "empty":
        raise ValueError(f"{path!r} is not an oscihop sweep store: it is an empty directory.")
    if kind == "foreign":
        raise ValueError(f"{path!r} is not an oscihop sweep store: {info}.")
    if kind == "corrupt":
        raise ValueError(f"Sweep store {path!r} is corrupted: {info}.")
    if not info.get("initialized"):
        raise ValueError(f"Sweep store {path!r} was not fully created (the sweep that created it was interrupted); "
                         "run the sweep again.")
    old = info.get("format") != _FORMAT
    if old:
        warnings.warn(f"Sweep store {path!r} was written by an older oscihop (sweep store format "
                      f"{info.get('format')!r}, without checksums): its chunks cannot be verified. Run the sweep "
                      "again with overwrite=True to rewrite it with checksums.", UserWarning, stacklevel=3)
        done = np.asarray(_open_group(path, info)["done"][...], dtype=bool)
    else:
        damage = []
        if outcome is None:
            outcome, damage, _ = _scan(path, info, read_data=read_data)
        if damage:
            raise StoreDamagedError(f"Sweep store {path!r} is damaged: {_damage_text(damage)}. Re-run the sweep "
                                    "(the same oh.sweep call or oscihop sweep command) to repair it: it recomputes "
                                    "the points these chunks hold.", damage)
        done = outcome == DONE
    ds = _lazy_dataset(path, info.get("model")) if opened is None else opened
    if not old:
        # messages as a plain numpy str array (zarr's variable-length strings arrive as StringDType,
        # which casts only to a fixed width); one short string per point, read in the check above
        msg = ds["message"]
        if messages is None:
            with _local_compute():
                raw = np.asarray(msg.values)
        else:
            raw = messages
        if raw.dtype.kind == "T":  # numpy 2's StringDType: cast to the longest message's width
            width = max(1, int(np.strings.str_len(raw).max())) if raw.size else 1
            text = raw.astype(f"U{width}")
        elif raw.dtype.kind == "O":  # the writer's str objects: the longest message's width too
            text = raw.astype(str)
        else:
            text = np.array(raw.tolist(), dtype=str).reshape(raw.shape)
        ds["message"] = msg.copy(data=text)
        ds["done"] = (ds["outcome"] == DONE).assign_attrs(long_name=_LONG_NAMES["done"])
        n_failed = int(((outcome == FAILED) | (outcome == SOLVE_FAILED)).sum())
    else:
        n_failed = int((done & (np.asarray(ds["status"].values) < 0)).sum())
    ds.attrs["n_points"] = int(done.size)
    ds.attrs["n_done"] = int(done.sum())
    ds.attrs["n_failed"] = n_failed
    ds.attrs["complete"] = bool(done.all())
    return ds
