"""Resumable parameter sweeps into one zarr store: :func:`sweep` and :func:`open_sweep`.

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

Every array is chunked along the parameter dimensions in blocks of ``points_per_task``
consecutive points (C order); one task computes one such block and is the only writer of
those chunks.  Trailing dimensions (time, state) may be split into several chunks, all owned
by the same task.  Every chunk carries a CRC32C checksum and every chunk is written
(:mod:`oscihop.io.integrity`): the coordinates and the per-point records when the store is
created, the data chunks of a block when its task writes it.  A missing, truncated or altered
chunk is therefore detected; a resumed sweep recomputes the points it holds.
:func:`open_sweep` adds ``done`` (``outcome == 1``).
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import keyword
import math
import numbers
import os
import shutil
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from ._validation import (as_float_array, check_bool, check_choice, check_finite, check_shape, check_size,
                          resolve_dtype)
from .io.integrity import StoreDamagedError, array_options, verify_array
from .solvers.times import check_t_eval, check_t_span
from .models.base import Model
from .solvers import METHODS, solve

__all__ = ["sweep", "open_sweep", "kuramoto_ring_build", "REDUCTIONS", "LOCK_NAME", "NOT_RUN", "OUTCOMES",
           "PENDING", "DONE", "FAILED", "SOLVE_FAILED"]

#: Reductions ``sweep`` can keep per point.
REDUCTIONS = ("full", "final", "energy", "order_parameter", "energy_increase", "dEdt_max")
#: Name of the lock file inside a store while a sweep writes it.
LOCK_NAME = ".oscihop.lock"
#: ``status`` of a point the solver has not run (yet, or because the point failed before solving).
NOT_RUN = -128
#: ``outcome`` of a point: not run yet, done, failed (``build``, the point's checks or ``oh.solve``
#: raised), solve failed (the solver returned a failure status or non-finite values).
PENDING, DONE, FAILED, SOLVE_FAILED = 0, 1, 2, 3
#: ``outcome`` code -> meaning.
OUTCOMES = {PENDING: "not run", DONE: "done", FAILED: "failed", SOLVE_FAILED: "solve failed"}
#: Output times used when a time curve is kept and ``t_eval`` is not given.
DEFAULT_N_TIMES = 11

_ATTR = "oscihop_sweep"
#: 2: checksums on every chunk, every chunk written, per-point ``outcome`` and ``message``
#: (format 1 kept a ``done`` array and aborted on a failing point).
_FORMAT = 2
_CURVES = ("full", "energy", "order_parameter")
#: per-point numbers computed from the whole solver output by :mod:`oscihop.verification`; stored as float64
_CHECKS = ("energy_increase", "dEdt_max")
_DATA_VARS = ("y", "energy", "y_final", "order_parameter", *_CHECKS)
#: per-point records, in the order a task writes them: ``outcome`` last (the completion record)
_RECORD_VARS = ("status", "nfev", "nsteps", "message", "outcome")
_RESERVED = frozenset({"point", "time", "state", "done", *_DATA_VARS, *_RECORD_VARS})
_MESSAGE_CHARS = 2000  # longest message kept per point
_CHUNK_BYTES = 32 * 2**20  # largest chunk of a data array
_TASK_BYTES = 64 * 2**20  # largest buffer a task holds (default points_per_task)
_MAX_POINTS_PER_TASK = 256
_FLUSH_SECONDS = 30.0  # a long task writes what it has at least this often
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


# ----------------------------------------------------------------------------- definition
def _json_value(value, name):
    """``value`` as plain JSON types (for the fingerprint), or a ValueError naming ``name``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return repr(v)
        return v
    if isinstance(value, np.ndarray):
        return [_json_value(v, name) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, name) for v in value]
    raise ValueError(
        f"`{name}` must be made of numbers, strings, booleans, lists and dicts so that the sweep "
        f"definition can be recorded in the store; got {type(value).__name__} {value!r}."
    )


def _check_name(name, where):
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{where}: parameter names must be Python identifiers (they are passed as build(**params)); "
                         f"got {name!r}.")
    if name in _RESERVED:
        raise ValueError(f"{where}: parameter name {name!r} is reserved for a variable of the sweep store "
                         f"(reserved: {sorted(_RESERVED)}); rename the parameter.")


def _param_values(name, values, where):
    """Validate the values of one parameter: a non-empty 1-D array without duplicates."""
    if np.ma.isMaskedArray(values):
        raise ValueError(f"{where}: the values of {name!r} must be a plain list or array; got a masked array, whose "
                         "mask would be ignored. Pass only the values to sweep over.")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: the values of {name!r} must form a 1-D array; {exc}") from None
    if arr.ndim == 0:
        raise ValueError(f"{where}: the values of {name!r} must be a 1-D list; got the scalar {values!r}. "
                         f"Write {name}=[{values!r}] for a single value.")
    if arr.ndim != 1:
        raise ValueError(f"{where}: the values of {name!r} must be 1-D; got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{where}: parameter {name!r} has no values; give at least one.")
    if arr.dtype.kind == "b":
        arr = arr.astype(bool)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}: the values of {name!r} must be finite; got {arr[~np.isfinite(arr)][0]!r}.")
    elif arr.dtype.kind == "U":
        arr = arr.astype(str)
    else:
        raise ValueError(f"{where}: the values of {name!r} must be numbers, booleans or strings of one kind; "
                         f"got dtype {arr.dtype} from {list(values)[:4]!r}.")
    return arr


def _unique_check(name, arr, where):
    uniq, counts = np.unique(arr, return_counts=True)
    if uniq.size != arr.size:
        raise ValueError(f"{where}: parameter {name!r} repeats the value {uniq[counts > 1][0].item()!r}; "
                         "each value must appear once.")


def _time_grid(t_eval, t0, t1):
    """``t_eval`` by :func:`oscihop.solvers.times.check_t_eval`, the rule every entry point shares."""
    return check_t_eval(t_eval, t0, t1)


def _check_t_span(t_span):
    """``(t0, t1)`` by :func:`oscihop.solvers.times.check_t_span`; ``t_span`` is required, as in oh.solve."""
    if t_span is None:
        raise ValueError("`t_span` is required: the interval (t0, t1) every point is integrated over, "
                         "as in oh.solve; e.g. t_span=(0, 10).")
    return check_t_span(t_span)


def _build_identity(build):
    if isinstance(build, _SpecBuild):
        return {"spec": _json_value(build.spec, "build")}
    func = getattr(build, "func", None)  # functools.partial
    if func is not None and hasattr(build, "args"):
        ident = {"callable": f"{getattr(func, '__module__', '?')}:{getattr(func, '__qualname__', '?')}"}
        try:
            ident["args"] = _json_value(list(build.args), "build")
            ident["keywords"] = _json_value(dict(build.keywords), "build")
        except ValueError:
            pass
        return ident
    qual = getattr(build, "__qualname__", None) or type(build).__qualname__
    return {"callable": f"{getattr(build, '__module__', None) or type(build).__module__}:{qual}"}


class _SpecBuild:
    """Picklable ``build`` for a declarative spec: ``oscihop.spec.build_from_spec(spec, **params)``."""

    def __init__(self, spec):
        self.spec = dict(spec)

    def __call__(self, **params):
        from .spec import build_from_spec

        return build_from_spec(self.spec, **params)


class _Definition:
    """Everything that fixes the numbers of a sweep, validated; ``fingerprint`` hashes it."""

    def __init__(self, build, grid, points, t_span, t_eval, method, reduce, solve_kwargs):
        if (grid is None) == (points is None):
            raise ValueError("Give exactly one of `grid` ({name: values}, a cartesian product) and "
                             "`points` (a list of {name: value} dicts); got "
                             f"{'both' if grid is not None else 'neither'}.")
        if grid is not None:
            self._from_grid(grid)
        else:
            self._from_points(points)
        self.n_points = int(np.prod(self.shape))

        t0, t1 = self.t_span = _check_t_span(t_span)
        self.method = check_choice(method, METHODS, "method")

        items = [reduce] if isinstance(reduce, str) else reduce
        if not isinstance(items, Sequence) or isinstance(items, str) or len(items) == 0:
            raise ValueError(f"`reduce` must be one of {list(REDUCTIONS)} or a non-empty list of them; got {reduce!r}.")
        for r in items:
            if not isinstance(r, str) or r not in REDUCTIONS:
                raise ValueError(f"`reduce` must be one of {list(REDUCTIONS)} or a list of them; got {r!r}.")
        self.reduce = [r for r in REDUCTIONS if r in items]

        curves = any(r in _CURVES for r in self.reduce)
        if t_eval is None:
            times = None
            if curves:
                times = np.linspace(t0, t1, DEFAULT_N_TIMES)
                if method == "async":
                    times = np.unique(np.round(times))
        else:
            times = _time_grid(t_eval, t0, t1)
        self.times = times if curves else None
        if times is None and any(r in _CHECKS for r in self.reduce):
            solve_times = None  # every step the solver takes (oh.solve without t_eval)
        elif times is None:
            solve_times = np.array([t1])
        elif "final" in self.reduce and times[-1] < t1:
            solve_times = np.append(times, t1)
        else:
            solve_times = times
        self.solve_times = solve_times
        self.n_times = 0 if self.times is None else int(self.times.size)

        for key in ("t_eval", "t_span", "y0", "model"):
            if key in solve_kwargs:
                raise ValueError(f"`{key}` cannot be passed as a solve option: the sweep sets it.")
        if method == "async" and solve_kwargs.get("seed") is None:
            raise ValueError("`seed` is required with method='async' in a sweep: the random unit order is drawn "
                             "from it, and a sweep must be reproducible to be resumable; pass seed=<int>.")
        self.solve_kwargs = dict(solve_kwargs)
        if self.solve_kwargs.get("dtype") is not None:  # one precision for the whole sweep, checked here
            self.solve_kwargs["dtype"] = resolve_dtype(self.solve_kwargs["dtype"]).name
        self.variables = []
        if "full" in self.reduce:
            self.variables += ["y", "energy"]
        if "energy" in self.reduce and "energy" not in self.variables:
            self.variables.append("energy")
        if "final" in self.reduce:
            self.variables.append("y_final")
        if "order_parameter" in self.reduce:
            self.variables.append("order_parameter")
        self.variables += [r for r in _CHECKS if r in self.reduce]
        # tolerance of energy_increase: the solve's rtol/atol where given (as in oh.verify), else verify's defaults
        self.energy_tolerance = None
        if "energy_increase" in self.reduce:
            from .verification import energy_tolerance

            self.energy_tolerance = energy_tolerance(self.solve_kwargs.get("rtol"), self.solve_kwargs.get("atol"))

        self.record = {
            "format": _FORMAT,
            "kind": self.kind,
            "params": self.names,
            "values": {n: v.tolist() for n, v in zip(self.names, self.values)},
            "t_span": list(self.t_span),
            "t_eval": None if self.times is None else self.times.tolist(),
            "solve_times": None if self.solve_times is None else self.solve_times.tolist(),
            "method": method,
            "reduce": self.reduce,
            # where the numbers are computed is not part of what they are: a sweep started on
            # one backend resumes on another (results agree to rounding)
            "solve_options": _json_value({k: v for k, v in self.solve_kwargs.items() if k not in _BACKEND_OPTIONS},
                                         "solve options"),
            "build": _build_identity(build),
        }
        if self.energy_tolerance is not None:  # only then: the fingerprints of other sweeps stay as they were
            self.record["energy_tolerance"] = list(self.energy_tolerance)
        text = json.dumps(self.record, sort_keys=True, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()

    def _from_grid(self, grid):
        if not isinstance(grid, Mapping) or len(grid) == 0:
            raise ValueError(f"`grid` must be a non-empty dict {{name: list of values}}; got {grid!r}.")
        self.kind = "grid"
        self.names, self.values = [], []
        for name, values in grid.items():
            _check_name(name, "`grid`")
            arr = _param_values(name, values, "`grid`")
            _unique_check(name, arr, "`grid`")
            self.names.append(name)
            self.values.append(arr)
        self.dims = list(self.names)
        self.shape = tuple(v.size for v in self.values)

    def _from_points(self, points):
        if isinstance(points, Mapping) or not isinstance(points, Sequence) or len(points) == 0:
            raise ValueError(f"`points` must be a non-empty list of {{name: value}} dicts; got {points!r}.")
        self.kind = "points"
        first = points[0]
        if not isinstance(first, Mapping) or not first:
            raise ValueError(f"`points[0]` must be a non-empty dict {{name: value}}; got {first!r}.")
        self.names = list(first)
        for name in self.names:
            _check_name(name, "`points`")
        for i, pt in enumerate(points):
            if not isinstance(pt, Mapping):
                raise ValueError(f"`points[{i}]` must be a dict {{name: value}}; got {pt!r}.")
            if set(pt) != set(self.names):
                missing = sorted(set(self.names) - set(pt))
                extra = sorted(set(pt) - set(self.names))
                raise ValueError(f"`points[{i}]` must have the same parameters as points[0] {self.names}; "
                                 f"missing {missing}, extra {extra}.")
        self.values = []
        for name in self.names:
            column = [pt[name] for pt in points]
            for i, v in enumerate(column):
                if np.ndim(v) != 0:
                    raise ValueError(f"`points[{i}][{name!r}]` must be a scalar (number, bool or string); got {v!r}.")
            self.values.append(_param_values(name, column, "`points`"))
        seen = {}
        for i in range(len(points)):
            key = tuple(v[i].item() for v in self.values)
            if key in seen:
                raise ValueError(f"`points[{seen[key]}]` and `points[{i}]` are the same point "
                                 f"{dict(zip(self.names, key))}; each point must appear once.")
            seen[key] = i
        self.dims = ["point"]
        self.shape = (len(points),)

    def params_of(self, flat):
        """The parameters (Python scalars) of the point with flat (C-order) index ``flat``."""
        if self.kind == "grid":
            idx = np.unravel_index(flat, self.shape)
            return {n: v[i].item() for n, v, i in zip(self.names, self.values, idx)}
        return {n: v[flat].item() for n, v in zip(self.names, self.values)}


def _fmt_params(params):
    return "{" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + "}"


# ------------------------------------------------------------------------------- the lock
def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, TypeError):
        return False
    try:  # a zombie (killed but not reaped) holds nothing
        with open(f"/proc/{int(pid)}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class _StoreLock:
    """Exclusive lock of a store: ``store/.oscihop.lock`` with pid, host and start time.

    The file is created with ``O_CREAT | O_EXCL`` and held with ``flock`` while the sweep runs,
    so the kernel releases it if the process dies.  A lock left behind by a dead process on this
    host (its pid no longer alive and its ``flock`` free) is taken over; any other lock makes
    :meth:`acquire` raise a ``RuntimeError`` that names the file and says how to clear it.
    """

    def __init__(self, store):
        self.store = store
        self.path = os.path.join(store, LOCK_NAME)
        self.fd = None

    def _busy(self, info, reason=""):
        who = "an unknown process"
        if info:
            who = f"pid {info.get('pid')} on host {info.get('host')!r} (since {info.get('started', '?')})"
        return RuntimeError(
            f"Sweep store {self.store!r} is in use: lock file {self.path!r} is held by {who}{reason}. "
            "Two sweeps must not write one store at once: wait for that sweep to finish. If that process "
            f"no longer exists (killed, or it ran on another machine), delete {self.path!r} and run again."
        )

    @staticmethod
    def _read(fd):
        try:
            raw = os.pread(fd, 4096, 0)
            info = json.loads(raw.decode())
            return info if isinstance(info, dict) and "pid" in info else None
        except (OSError, ValueError):
            return None

    def acquire(self):
        try:
            import fcntl
        except ImportError:  # no flock: decide on the pid alone
            fcntl = None
        host = socket.gethostname()
        for attempt in range(40):
            created = True
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(self.path, os.O_RDWR)
                except FileNotFoundError:
                    continue  # released in between
            flocked = False
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if created else fcntl.LOCK_NB))
                    flocked = True
                except BlockingIOError:
                    info = self._read(fd)
                    os.close(fd)
                    raise self._busy(info) from None
                except OSError:  # file system without flock
                    pass
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the holder removed it while we opened it: start again
                os.close(fd)
                continue
            if not created:
                info = self._read(fd)
                if info is None and attempt < 10:  # being written by its creator
                    os.close(fd)
                    time.sleep(0.05)
                    continue
                if info is not None:
                    if info.get("host") != host:
                        os.close(fd)
                        raise self._busy(info, " (another machine: oscihop cannot tell whether it still runs)")
                    pid = info.get("pid")
                    if pid != os.getpid() and _pid_alive(pid):
                        os.close(fd)
                        raise self._busy(info, "" if not flocked else " (that process is alive)")
                # stale: its process is gone; take it over below
            info = {"pid": os.getpid(), "host": host,
                    "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                    "argv": " ".join(sys.argv)[:500]}
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
            self.fd = fd
            return self
        raise RuntimeError(f"Could not acquire the lock {self.path!r} after repeated attempts; is another "
                           "process creating and removing it in a loop?")

    def release(self):
        if self.fd is None:
            return
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False


# ------------------------------------------------------------------------- the store
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


def _probe(build, d):
    """Lay-out facts of the sweep from its first point that builds; checks the solve options there.

    Points are tried in order until one builds and passes the point checks (so a failing first
    point does not stop the sweep: it is recorded as failed by its task).  That point's solve is
    run for zero steps on the real ``t_span`` and output times, which checks every solve option
    (``dt``, tolerances, async's whole sweeps...) before anything is written: an error there
    applies to every point, so it is raised.  If no point builds, the first point's error is raised.
    """
    first_error = None
    for flat in range(d.n_points):
        params = d.params_of(flat)
        try:
            model, y0 = _check_point(_call_build(build, params), params, None)
        except _PointFailure as exc:
            first_error = first_error or (params, str(exc))
            continue
        dtype = d.solve_kwargs.get("dtype") or ("float32" if y0.dtype == np.float32 else "float64")
        options = {**d.solve_kwargs, "dtype": dtype, "max_steps": 0}  # checks every option, takes no step
        solve(model, d.t_span, _at_precision(model, y0, dtype), method=d.method, t_eval=d.solve_times, **options)
        if "order_parameter" in d.reduce and model.dim == 0:
            raise ValueError(f"`reduce`='order_parameter' needs oscillators, but the model built at the point "
                             f"{_fmt_params(params)} ({type(model).__name__}) has none.")
        if "dEdt_max" in d.reduce and getattr(getattr(model, "hopfield", model), "activation", None) == "sign":
            raise ValueError(f"`reduce`='dEdt_max' needs a continuous flow, but the model built at the point "
                             f"{_fmt_params(params)} has activation='sign' (the binary network, method 'async'); "
                             "use 'energy_increase' for it.")
        return {"size": int(model.size), "n": int(model.n), "dim": int(model.dim), "kind": type(model).__name__,
                "dtype": dtype, "point": params}
    params, message = first_error
    raise ValueError(f"No point of the sweep could be built, so the store cannot be laid out; at the first "
                     f"point {_fmt_params(params)}: {message}" + (f" ({d.n_points} points tried)" if d.n_points > 1
                                                                   else ""))


def _write_coords(group, d, size, create):
    """Write (``create``: create and write) the coordinate arrays, which the definition fixes."""
    def coord(name, values, dim):
        if create:
            group.create_array(name, shape=values.shape, chunks=values.shape,
                               dtype=str if values.dtype.kind == "U" else values.dtype, dimension_names=[dim],
                               **array_options())
        _writable(group[name])[...] = values

    if d.kind == "grid":
        for name, values in zip(d.names, d.values):
            coord(name, values, name)
    else:
        coord("point", np.arange(d.n_points, dtype=np.int64), "point")
        for name, values in zip(d.names, d.values):
            coord(name, values, "point")
    if d.n_times:
        coord("time", d.times.astype(np.float64), "time")
    if "y" in d.variables or "y_final" in d.variables:
        coord("state", np.arange(size, dtype=np.int64), "state")


def _coord_names(record, variables):
    """Names of the coordinate arrays of a store, from its definition record and variables."""
    names = list(record["params"]) if record["kind"] == "grid" else ["point", *record["params"]]
    if record["t_eval"] is not None:
        names.append("time")
    if "y" in variables or "y_final" in variables:
        names.append("state")
    return names


#: fill value of each per-point record: what a point that has not run holds
_RECORD_FILL = {"status": (np.int8, NOT_RUN), "nfev": (np.int64, -1), "nsteps": (np.int64, -1),
                "message": (str, ""), "outcome": (np.int8, PENDING)}


def _create_store(path, d, model, points_per_task):
    import zarr

    from . import __version__

    chunks = _plan_chunks(d.shape, points_per_task)
    size, dtype = model["size"], np.dtype(model["dtype"])
    attrs = {
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
    group = zarr.create_group(store=path, zarr_format=3, attributes={_ATTR: attrs}, overwrite=False)
    coord_attrs = {"coordinates": " ".join(d.names)} if d.kind == "points" else {}
    _write_coords(group, d, size, create=True)

    n_chunk = int(np.prod(chunks))
    itemsize = dtype.itemsize
    tchunk = max(1, min(d.n_times, _CHUNK_BYTES // max(1, n_chunk * size * itemsize))) if d.n_times else 0
    layout = {
        "y": (("time", "state"), (d.n_times, size), (tchunk, size)),
        "energy": (("time",), (d.n_times,), (d.n_times,)),
        "y_final": (("state",), (size,), (size,)),
        "order_parameter": (("time",), (d.n_times,), (d.n_times,)),
    }
    for name in [*d.variables, *_RECORD_VARS]:
        tail_dims, tail_shape, tail_chunks = layout.get(name, ((), (), ()))
        dt, fill = _RECORD_FILL.get(name, (np.float64 if name in _CHECKS else dtype, np.nan))
        arr = group.create_array(name, shape=tuple(d.shape) + tail_shape, chunks=tuple(chunks) + tail_chunks,
                                 dtype=dt, fill_value=fill, dimension_names=list(d.dims) + list(tail_dims),
                                 attributes={"long_name": _LONG_NAMES[name], **coord_attrs,
                                             **(_OUTCOME_FLAGS if name == "outcome" else {})}, **array_options())
        if name in _RECORD_FILL:  # every record chunk exists from the start: a missing one is damage
            arr[...] = np.full(d.shape, fill, dtype=object if dt is str else dt)
    attrs["initialized"] = True
    group.update_attributes({_ATTR: attrs})
    return attrs


#: CF-style description of the outcome codes
_OUTCOME_FLAGS = {"flag_values": list(OUTCOMES), "flag_meanings": " ".join(v.replace(" ", "_")
                                                                           for v in OUTCOMES.values())}


def _open_group(path, attrs):
    """The store's group, with every array of its format present in its shape; ValueError if not."""
    import zarr

    shape = tuple(attrs["shape"])
    names = [*attrs["variables"], *(_RECORD_VARS if attrs.get("format") == _FORMAT else ("status", "nfev", "nsteps",
                                                                                          "done"))]
    try:
        group = zarr.open_group(path, mode="r")
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
    arrays in the blocks that hold a done point (decoded when ``read_data``, else only present).

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
        damage += verify_array(group[name], name)
    bad = set()
    for name in _RECORD_VARS:
        found = verify_array(group[name], name)
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
        tails = [range(n) for n in arr.cdata_shape[nd:]]
        wanted = [cidx + tail for cidx in blocks for tail in itertools.product(*tails)]
        found = verify_array(arr, name, read=read_data, chunks=wanted)
        damage += found
        bad |= {d.chunk[:nd] for d in found}
    return outcome, damage, bad


def _damage_text(damage, limit=5):
    shown = "; ".join(str(d) for d in damage[:limit])
    return shown + (f" (and {len(damage) - limit} more)" if len(damage) > limit else "")


# ------------------------------------------------------------------------------- tasks
class _PointFailure(ValueError):
    """A point that cannot be integrated: ``build`` raised or returned something unusable."""


def _exc_text(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call_build(build, params):
    try:
        return build(**params)
    except Exception as exc:  # noqa: BLE001 - any error of the user's build is this point's failure
        raise _PointFailure(f"`build` raised {_exc_text(exc)}") from exc


def _layout_text(facts):
    return f"{facts['kind']} with n={facts['n']}, D={facts['dim']}, state size {facts['size']}"


def _check_point(out, params, ref):
    """(model, y0) of one point, checked; raises :class:`_PointFailure` saying what is wrong.

    ``y0`` must be a real 1-D array of the model's size, finite and with unit oscillators; it
    keeps its float precision here (the sweep's precision is applied by :func:`_run_point`).
    ``ref`` (the store's model facts) requires the same model kind, ``n``, ``D`` and size.
    """
    try:
        model, y0 = out
    except (TypeError, ValueError):
        raise _PointFailure(f"`build` must return (model, y0); it returned {type(out).__name__}"
                            f"{'' if out is None else ' ' + repr(out)[:80]}.") from None
    if not isinstance(model, Model):
        raise _PointFailure(f"`build` must return (model, y0) with an oscihop model; the model is "
                            f"{type(model).__name__}.")
    try:
        y0 = as_float_array(y0, "y0", dtype=None)
        if y0.dtype not in (np.float32, np.float64):
            y0 = y0.astype(np.float64)
        if y0.ndim != 1:
            raise ValueError(f"`build` must return one initial state y0 of shape ({model.size},); y0 has shape "
                             f"{y0.shape}. Sweep points are integrated one by one.")
        check_shape(y0, (model.size,), "y0", hint=f"The model is {type(model).__name__} of state size {model.size}.")
        check_finite(y0, "y0")
        model.check_unit(y0, "y0")
    except ValueError as exc:
        raise _PointFailure(str(exc)) from None
    if ref is not None:
        facts = {"kind": type(model).__name__, "n": int(model.n), "dim": int(model.dim), "size": int(model.size)}
        if any(facts[k] != ref[k] for k in facts):
            raise _PointFailure(f"Every point of a sweep must build the same kind of model as its first point "
                                f"{_fmt_params(ref['point'])} ({_layout_text(ref)}); this point built "
                                f"{_layout_text(facts)}.")
    return model, y0


def _at_precision(model, y0, dtype):
    """``y0`` at the sweep's precision; converted oscillators are scaled to unit length again there."""
    dtype = np.dtype(dtype)
    return y0 if y0.dtype == dtype else model.normalize(y0.astype(dtype))


def _solve_failure(sol):
    """Why a finished solve is not a result (failure status, non-finite values), or ``""``."""
    if sol.status < 0:
        return f"the solver failed (status {sol.status}): {sol.message}"
    bad = ~(np.isfinite(sol.states).all(axis=-1) & np.isfinite(sol.energy))
    if bad.any():
        k = int(np.argmax(bad))
        return (f"the solution holds non-finite values from t = {float(sol.t[k]):g} on (solver status {sol.status}); "
                "the integration diverged: try a smaller step or tighter tolerances")
    return ""


def _run_point(task, params):
    """Build, check and integrate one point: (outcome, message, model, sol); point errors do not raise."""
    try:
        model, y0 = _check_point(_call_build(task["build"], params), params, task["ref"])
    except _PointFailure as exc:
        return FAILED, str(exc), None, None
    try:
        sol = solve(model, task["t_span"], _at_precision(model, y0, task["dtype"]), method=task["method"],
                    t_eval=task["solve_times"], **{**task["solve_kwargs"], "dtype": task["dtype"]})
    except Exception as exc:  # noqa: BLE001 - reported per point
        return FAILED, f"`oh.solve` raised {_exc_text(exc)}", model, None
    why = _solve_failure(sol)
    return (SOLVE_FAILED if why else DONE), why, model, sol


_OPEN = {}


def _writable(array):
    """``array`` with the store's write options (zarr keeps them per opened array, not in the store):
    every chunk written, even one that holds only the fill value, so that a missing chunk is damage."""
    return array.with_config(array_options()["config"])


def _open_arrays(task):
    """The task's zarr arrays, opened once per worker process and store."""
    import zarr

    key = (task["store"], task["store_id"])
    arrays = _OPEN.get(key)
    if arrays is None:
        group = zarr.open_group(task["store"], mode="r+")
        attrs = group.attrs.get(_ATTR) or {}
        if attrs.get("store_id") != task["store_id"]:
            raise RuntimeError(f"Sweep store {task['store']!r} was replaced while this sweep ran.")
        arrays = {name: _writable(group[name]) for name in [*task["variables"], *_RECORD_VARS]}
        _OPEN.clear()
        _OPEN[key] = arrays
    return arrays


def _task_params(task, k):
    if task["kind"] == "grid":
        idx = np.unravel_index(k, task["rshape"])
        return {n: task["values"][j][i] for j, (n, i) in enumerate(zip(task["names"], idx))}
    return {n: task["values"][j][k] for j, n in enumerate(task["names"])}


def _run_task(task):
    """Compute the pending points of one chunk region and write the region (worker side).

    Points are integrated one by one with :func:`oscihop.solve` on single states (serial,
    disk-cached kernels).  A point that fails (``build`` raises or returns something unusable,
    ``solve`` raises, or the solve fails) is recorded with its ``outcome`` and ``message`` and
    the task goes on.  The data arrays are written first, then the records, ``outcome`` last;
    a long task writes what it has every ``_FLUSH_SECONDS``.
    """
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    io = time.perf_counter()
    arrays = _open_arrays(task)
    region = tuple(slice(a, b) for a, b in task["region"])
    rshape = task["rshape"]
    done = np.array(task["done"], dtype=bool).reshape(rshape)
    size, n_times = task["size"], task["n_times"]
    tails = {"y": (n_times, size), "energy": (n_times,), "y_final": (size,), "order_parameter": (n_times,),
             "energy_increase": (), "dEdt_max": ()}
    dtype = np.dtype(task["dtype"])
    if done.any():  # points computed earlier live in the same chunks (verified by the driver): keep them
        bufs = {name: np.asarray(arrays[name][region]) for name in [*task["variables"], *_RECORD_VARS]}
        bufs["message"] = bufs["message"].astype(object)
    else:
        bufs = {name: np.full(rshape + tails[name], np.nan, dtype=np.float64 if name in _CHECKS else dtype)
                for name in task["variables"]}
        for name, (dt, fill) in _RECORD_FILL.items():
            bufs[name] = np.full(rshape, fill, dtype=object if dt is str else dt)
    t_io = time.perf_counter() - io

    def flush():
        t = time.perf_counter()
        for name in [*task["variables"], *_RECORD_VARS]:  # outcome last: the completion record
            arrays[name][region] = bufs[name]
        return time.perf_counter() - t

    n_curve = n_times
    computed = failed = 0
    last_flush = time.perf_counter()
    pending = np.flatnonzero(~done.ravel())
    try:
        for pos, k in enumerate(pending):
            params = _task_params(task, int(k))
            idx = np.unravel_index(int(k), rshape)
            outcome, message, model, sol = _run_point(task, params)
            for name in task["variables"]:
                bufs[name][idx] = np.nan
            if sol is not None:
                states = sol.states
                if "y" in bufs:
                    bufs["y"][idx] = states[:n_curve]
                if "energy" in bufs:
                    bufs["energy"][idx] = sol.energy[:n_curve]
                if "y_final" in bufs:
                    bufs["y_final"][idx] = states[-1]
                if "order_parameter" in bufs:
                    bufs["order_parameter"][idx] = model.order_parameter(states[:n_curve])
                _check_point_energy(bufs, idx, model, sol, task["energy_tolerance"])
            bufs["status"][idx] = NOT_RUN if sol is None else sol.status
            bufs["nfev"][idx] = -1 if sol is None else sol.nfev
            bufs["nsteps"][idx] = -1 if sol is None else sol.nsteps
            bufs["message"][idx] = message[:_MESSAGE_CHARS]
            bufs["outcome"][idx] = outcome
            computed += 1
            failed += outcome != DONE
            if time.perf_counter() - last_flush > task["flush_seconds"] and pos + 1 < len(pending):
                t_io += flush()
                last_flush = time.perf_counter()
    except BaseException:
        if computed:  # keep the points this task already finished (KeyboardInterrupt, a dying worker...)
            try:
                flush()
            except Exception:  # noqa: BLE001
                pass
        raise
    t_io += flush()
    total = time.perf_counter() - t_start
    return {"computed": computed, "failed": int(failed), "t_task": total, "t_io": t_io,
            "t_cpu": time.process_time() - cpu_start, "pid": os.getpid()}


def _check_point_energy(bufs, idx, model, sol, tolerance):
    """The ``energy_increase`` and ``dEdt_max`` of one point, over every output of its solve."""
    from .verification import energy_increase, max_energy_rate

    with np.errstate(all="ignore"):
        if "energy_increase" in bufs:
            bufs["energy_increase"][idx] = energy_increase(np.asarray(sol.energy, dtype=np.float64), *tolerance)
        if "dEdt_max" in bufs:
            bufs["dEdt_max"][idx] = max_energy_rate(model, np.asarray(sol.states, dtype=np.float64))


def _watch_driver(driver_pid, interval=0.1):
    while True:
        time.sleep(interval)
        if not _pid_alive(driver_pid):
            os._exit(1)


def _worker_init(driver_pid):
    """Pool worker set-up: a watchdog thread ends the worker once the driver process is gone.

    So a killed sweep leaves no orphan worker writing to the store (and the fork server, which
    lives as long as its workers, goes too).
    """
    import threading

    threading.Thread(target=_watch_driver, args=(driver_pid,), name="oscihop-sweep-watchdog", daemon=True).start()


def _local_workers():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


#: numba modules its first compilation or cache load imports (~0.3 s): preloaded in the fork
#: server so each worker starts warmer.  A name missing in another numba version is skipped.
_NUMBA_PRELOAD = ("numba.np.arraymath", "numba.np.linalg", "numba.np.arrayobj", "numba.np.npyimpl",
                  "numba.cpython.unicode", "numba.cpython.mathimpl", "numba.typed.typeddict",
                  "numba.typed.typedlist", "numba.np.npdatetime", "numba.core.typing.npydecl")


def _mp_context(build):
    """Start method of the local pool.

    ``forkserver`` (with oscihop, numpy and zarr preloaded in the server, so workers start in
    milliseconds instead of re-importing everything), else ``spawn``.  A ``build`` defined
    interactively in ``__main__`` (a notebook, a REPL), or a main script that cannot be re-imported
    (read from standard input), can only reach workers by ``fork``.
    """
    import multiprocessing

    target = getattr(build, "func", build)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if (getattr(target, "__module__", None) == "__main__" and not main_file) or (
            main_file and not os.path.isfile(main_file)):  # e.g. "<stdin>": workers cannot re-import it
        return multiprocessing.get_context("fork")
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["numpy", "zarr", "oscihop.sweep", *_NUMBA_PRELOAD])
        return ctx
    return multiprocessing.get_context("spawn")


def _check_picklable(build):
    """Raise unless ``build`` can reach the local worker processes (fork needs no pickling)."""
    if _mp_context(build).get_start_method() == "fork":
        return
    import pickle

    try:
        pickle.dumps(build)
    except Exception as exc:  # noqa: BLE001 - pickle raises PicklingError, AttributeError, TypeError...
        raise ValueError(f"`build` must be picklable to reach the sweep's worker processes (a function defined at "
                         f"the top level of a module, not a lambda or a nested function); pickling {build!r} failed: "
                         f"{_exc_text(exc)}. Define it in a module, or pass workers=1 to run the points in this "
                         "process.") from None


def _run_local(tasks, build, workers, on_result):
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    n = max(1, min(workers, len(tasks)))
    pool = ProcessPoolExecutor(max_workers=n, mp_context=_mp_context(build), initializer=_worker_init,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(_run_task, t) for t in tasks]
        for fut in as_completed(futures):
            on_result(fut.result())
    except BrokenProcessPool as exc:
        pool.shutdown(wait=True, cancel_futures=True)
        raise RuntimeError(
            "A sweep worker process died abruptly (killed, out of memory, or it failed to start). A script "
            "that calls oh.sweep must guard the call with `if __name__ == \"__main__\":` because workers "
            "import the main module; points finished so far are kept: run the sweep again to resume."
        ) from exc
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return n


def _run_dask(tasks, client, on_result, tag):
    from distributed import as_completed

    futures = [client.submit(_run_task, t, pure=False, key=f"oscihop-sweep-{tag}-{i}") for i, t in enumerate(tasks)]
    try:
        for fut in as_completed(futures):
            on_result(fut.result())
    except BaseException:
        client.cancel(futures)
        raise


def _client_threads(client):
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # noqa: BLE001
        return 1


#: Solve options that choose where a solve runs, not what it computes (kept out of the fingerprint).
_BACKEND_OPTIONS = ("backend", "layout", "threads_per_block")


# ------------------------------------------------------------------------------- the API
def sweep(build, grid=None, points=None, store=None, t_span=None, t_eval=None, method="RK45", reduce="full",
          client=None, scheduler=None, points_per_task=None, workers=None, progress=None, overwrite=False,
          backend="cpu", **solve_kwargs):
    """Integrate a model over a grid (or list) of parameters into one resumable zarr store.

    Parameters
    ----------
    build : callable or dict
        ``build(**params) -> (model, y0)`` with ``y0`` one state of shape ``(model.size,)``.
        It must be picklable (a function defined in a module, not a lambda) and
        deterministic: randomness must come from the parameters (e.g. a ``seed``
        parameter).  A dict is a declarative spec, built by
        ``oscihop.spec.build_from_spec(spec, **params)``.
    grid : dict {name: 1-D values}, optional
        Cartesian product; the store has one dimension per name, in this order, with the
        values as coordinates.  Values: numbers, booleans or strings, no duplicates.
    points : list of dict {name: value}, optional
        Explicit points (all with the same names); the store has one ``point`` dimension
        and one ``(point,)`` coordinate per parameter.  Give ``grid`` or ``points``.
    store : str or os.PathLike
        Directory of the zarr v3 store (created if missing).
    t_span : (float, float)
        Interval every point is integrated over (required, as in :func:`oscihop.solve`).
    t_eval : array_like, optional
        Output times of the time curves (``reduce`` "full", "energy", "order_parameter"):
        what :func:`oscihop.solve` accepts (sorted, within ``t_span``; repeated times are kept).
        Default: ``np.linspace(t0, t1, 11)`` (rounded to whole sweeps for ``"async"``).
        With ``"final"``, ``t_span[1]`` is appended to the solver's output times when
        ``t_eval`` stops earlier.  With ``"energy_increase"`` or ``"dEdt_max"`` and neither
        ``t_eval`` nor a time curve, the solver keeps every step it takes (``oh.solve``
        without ``t_eval``), so that the checks see the whole trajectory.
    method : str, default "RK45"
        Any :func:`oscihop.solve` method.
    reduce : str or list of str, default "full"
        What is kept per point: ``"full"`` (``y`` (P..., time, state) and ``energy``),
        ``"final"`` (``y_final`` (P..., state), the state at ``t_span[1]``),
        ``"energy"`` (P..., time), ``"order_parameter"`` (P..., time; oscillator models),
        and two Lyapunov checks, one float64 per point (P...), taken over every output of
        the point's solve (see ``t_eval``): ``"energy_increase"``, the largest energy
        increase between consecutive outputs relative to ``atol + rtol max|E|``
        (:func:`oscihop.verification.energy_increase`; ``<= 1``: no increase beyond the
        tolerance, ``> 1``: an increase), and ``"dEdt_max"``, the largest ``dE/dt = grad E
        . f`` over the output states (:func:`oscihop.verification.max_energy_rate`; not for
        ``activation="sign"``).  The tolerance is the ``rtol``/``atol`` solve options where
        given, else 1e-6 and 1e-9 (as in :func:`oscihop.verify`); it is part of the
        definition (``energy_tolerance``).  A list combines reductions, e.g.
        ``["final", "energy_increase"]``.
    client : distributed.Client, optional
        Run the tasks on this dask cluster.  Workers must see ``store`` at the same path
        (a shared file system) and import oscihop.
    scheduler : str, optional
        Address of a dask scheduler (``"tcp://host:8786"``): a client is opened and closed here.
    points_per_task : int, optional
        Points per task, which is also the chunk size along the parameter dimensions
        (rounded down to whole rows of trailing grid dimensions).  Default: about
        ``n_points / (8 workers)``, at most 256 and at most ~64 MiB of results per task.
        Fixed when the store is created; a resumed sweep keeps the store's chunks.
    workers : int, optional
        Local worker processes (default: one per available core; at most 4 per core).  Not
        with ``client``/``scheduler``, where the cluster decides.
    progress : bool or None, default None
        Progress bar (points done, rate, time left): ``None`` shows it on a terminal only.
    overwrite : bool, default False
        Delete an existing sweep store at ``store`` whose definition differs (or that is
        damaged beyond what a re-run repairs, or written by an older oscihop) and start again.
        A directory that is not a sweep store is never deleted.
    backend : {"cpu", "cuda", "auto"}, default "cpu"
        Passed to every :func:`oscihop.solve` (with the CUDA options ``layout`` and
        ``threads_per_block`` if given).  With CUDA the tasks run one after another in this
        process (or on the dask workers), each point a device solve.  The backend is not
        part of the fingerprint: a sweep started on one backend resumes on the other.
    **solve_kwargs
        Passed to every :func:`oscihop.solve` call (``rtol``, ``atol``, ``dt``, ``max_steps``,
        ``dtype``...).

    Returns
    -------
    xarray.Dataset
        :func:`open_sweep` of the store, plus ``attrs["sweep_run"]``: points attempted in
        this call (``computed``) and how many of them failed (``failed``), ``wall_s``, the
        tasks' summed wall time (``task_s``), CPU time (``task_cpu_s``) and zarr I/O time
        (``task_io_s``), the driver's I/O time, the executor and the number of workers.

    Raises
    ------
    ValueError
        Invalid arguments (naming the parameter); no point could be built; a solve option
        rejected at the first point that builds; ``store`` holding a different sweep (and
        ``overwrite=False``), written by an older oscihop, or a foreign or corrupted store.
    RuntimeError
        Another sweep holds the store's lock (the message names the lock file and how to clear
        a stale one).

    Warns
    -----
    UserWarning
        When points failed (the count, and the first points with their messages), or when a
        resumed store had damaged chunks (which are recomputed).

    Notes
    -----
    *Failures.*  A point whose ``build`` raises or returns something unusable (not
    ``(model, y0)``, a ``y0`` of the wrong shape, non-finite, complex or with non-unit
    oscillators, a model of another kind, ``n``, ``D`` or size than the first point's),
    or whose ``oh.solve`` raises, is recorded with ``outcome`` 2 ("failed"); a solve that
    ends with a failure status or non-finite values is recorded with ``outcome`` 3 ("solve
    failed") and its data as the solver left them.  Either way ``message`` says why, the
    sweep goes on with the other points, and the point is not done: ``attrs["complete"]``
    stays False and running the same sweep again retries the failed points (and only them,
    with any unfinished ones), for instance once ``build`` is fixed.

    *Precision.*  The sweep's float dtype is decided once: the ``dtype`` solve option if
    given, else ``float32`` if the first point's ``y0`` is float32, else ``float64``.  Every
    point is integrated at that dtype, so one point cannot switch the sweep's precision: a
    ``y0`` of the other precision is converted to it (integer ``y0`` count as float64) and its
    oscillators are scaled to unit length again at that precision (``model.normalize``), as a
    float32 unit vector is not one within float64's tolerance.

    *Execution.*  Points are grouped into tasks of ``points_per_task`` consecutive points
    (C order over the grid), one task per chunk region.  By default the tasks run on a
    ``concurrent.futures.ProcessPoolExecutor`` with one process per available core (started
    through multiprocessing's fork server with oscihop preloaded; a single task, or a single
    core, runs in this process instead); with ``client``/``scheduler`` they run on
    dask.distributed.  Each task integrates its points one
    by one with ``oh.solve`` on single states (serial Numba kernels, cached on disk, so workers
    do not recompile) and writes its own chunks directly into the store: no two tasks write
    one chunk, and the driver only reads the completion record.

    *Resuming.*  ``outcome`` is written after a point's data and other records, and zarr
    writes each chunk to a temporary file renamed into place, so a process killed at any
    moment leaves every chunk either old or new.  Running the same call again first checks
    the store (every chunk of the coordinates and records, and the data chunks of the done
    points: present and passing their CRC32C checksum); a damaged chunk makes the points it
    holds not done, and they are recomputed.  It then skips the points that are done and
    computes the others; as every point is integrated alone from its own parameters, the
    numbers are identical to an uninterrupted run.  The definition (parameters, times, method,
    solve options, reductions and the build's name or spec) is hashed into
    ``attrs["fingerprint"]``; a different definition on the same store raises.  While a sweep
    writes a store it holds ``store/.oscihop.lock``; a second sweep on the same store refuses
    to start.  Local workers exit within 0.1 s of the driver's death; tasks already running on
    a dask cluster finish (they write the same numbers a resumed run would).  A store written
    by an older oscihop (format 1, without checksums) is not resumed: pass ``overwrite=True``.

    *Scripts.*  Local workers import the main module (multiprocessing's ``forkserver`` or
    ``spawn``), so a script must call ``sweep`` under ``if __name__ == "__main__":``.

    Examples
    --------
    >>> import tempfile, numpy as np, oscihop as oh
    >>> from oscihop.sweep import kuramoto_ring_build
    >>> store = tempfile.mkdtemp() + "/ring.zarr"
    >>> ds = oh.sweep(kuramoto_ring_build, grid={"coupling": [0.5, 1.0, 2.0], "seed": [0, 1]},
    ...               store=store, t_span=(0, 2), reduce=["final", "order_parameter"], progress=False)
    >>> ds["order_parameter"].dims, ds["y_final"].shape, bool(ds.attrs["complete"])
    (('coupling', 'seed', 'time'), (3, 2, 16), True)
    >>> ds.attrs["sweep_run"]["computed"], int(ds["done"].sum()), ds.attrs["n_failed"]
    (6, 6, 0)
    >>> oh.sweep(kuramoto_ring_build, grid={"coupling": [0.5, 1.0, 2.0], "seed": [0, 1]}, store=store,
    ...          t_span=(0, 2), reduce=["final", "order_parameter"], progress=False).attrs["sweep_run"]["computed"]
    0
    """
    t_wall = time.perf_counter()
    if isinstance(build, Mapping):
        build = _SpecBuild(build)
    elif not callable(build):
        raise ValueError(f"`build` must be a callable build(**params) -> (model, y0) or a spec dict; got {build!r}.")
    path = _store_path(store, required=True)
    if points_per_task is not None:
        points_per_task = check_size(points_per_task, "points_per_task", 1)
    if progress is not None:
        progress = check_bool(progress, "progress")
    overwrite = check_bool(overwrite, "overwrite")
    if client is not None and scheduler is not None:
        raise ValueError("Give `client` or `scheduler`, not both.")
    if scheduler is not None and not isinstance(scheduler, str):
        raise ValueError(f"`scheduler` must be a dask scheduler address string such as 'tcp://host:8786'; "
                         f"got {scheduler!r}.")
    if client is not None and not hasattr(client, "submit"):
        raise ValueError(f"`client` must be a dask.distributed.Client; got {type(client).__name__}.")
    if workers is not None:
        if client is not None or scheduler is not None:
            raise ValueError("`workers` sets the number of local worker processes; with `client` or `scheduler` "
                             "the dask cluster decides. Leave `workers` out.")
        workers = check_size(workers, "workers", 1, maximum=4 * _local_workers())
    from .solvers.solve import _check_backend

    on_gpu = _check_backend(backend) == "cuda"  # validates it, and fails early without a device
    d = _Definition(build, grid, points, t_span, t_eval, method, reduce, dict(solve_kwargs, backend=backend))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"`store` {path!r} exists and is not a directory; a sweep store is a zarr directory.")

    own_client = False
    if scheduler is not None:
        from distributed import Client

        try:
            client = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"`scheduler` {scheduler!r}: could not connect ({exc}). Check the address, "
                             "or pass a distributed.Client as `client`.") from exc
        own_client = True
    try:
        if client is not None:
            workers = _client_threads(client)
        elif workers is None:
            workers = 1 if on_gpu else _local_workers()
        if client is None and workers > 1 and d.n_points > 1:  # tasks will go to a local process pool
            _check_picklable(build)
        made = not os.path.exists(path)
        os.makedirs(path, exist_ok=True)
        try:
            with _StoreLock(path):
                stats = _sweep_locked(path, build, d, client, workers, points_per_task, progress, overwrite)
        except BaseException:
            if made and not os.listdir(path):  # failed before writing anything: leave no empty directory
                os.rmdir(path)
            raise
    finally:
        if own_client:
            client.close()
    ds = _open_dataset(path, read_data=False)  # the data chunks were checked (resume) or just written
    stats["wall_s"] = time.perf_counter() - t_wall
    ds.attrs["sweep_run"] = stats
    n_failed = ds.attrs["n_failed"]
    if n_failed:
        warnings.warn(_failure_summary(ds, path), UserWarning, stacklevel=2)
    return ds


def _store_path(store, required):
    """Absolute path of ``store``: a non-empty str or os.PathLike naming a directory."""
    if store is None and required:
        raise ValueError("`store` is required: the directory of the sweep's zarr store (e.g. 'sweep.zarr').")
    try:
        path = os.fspath(store)
    except TypeError:
        path = None
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"`store` must be a path (a non-empty str or os.PathLike) to a directory; got {store!r}.")
    return os.path.abspath(path)


def _failure_summary(ds, path, shown=3):
    """One line: how many points failed, the first few with their messages, and what to do."""
    outcome = ds["outcome"].values
    flat = np.flatnonzero((outcome == FAILED) | (outcome == SOLVE_FAILED))
    message = ds["message"].values.reshape(-1)
    d_names = list(ds.attrs[_ATTR]["definition"]["params"])
    examples = []
    for k in flat[:shown]:
        idx = np.unravel_index(int(k), outcome.shape)
        pt = ds.isel(dict(zip(ds["outcome"].dims, idx)))
        params = {n: pt[n].item() for n in d_names}
        examples.append(f"{_fmt_params(params)}: {str(message[k])[:300]}")
    more = f"; and {flat.size - shown} more" if flat.size > shown else ""
    return (f"oh.sweep: {flat.size} of {outcome.size} points of {path!r} failed and are recorded in "
            f"ds['outcome'] and ds['message']: {'; '.join(examples)}{more}. Run the same sweep again to retry "
            "them (after fixing `build` if it is the cause).")


def _sweep_locked(path, build, d, client, workers, points_per_task, progress, overwrite):
    from ._progress import progress_bar

    t0 = time.perf_counter()
    kind, info = _inspect(path)
    if kind == "foreign":
        raise ValueError(f"`store` {path!r} is not an oscihop sweep store: {info}. oh.sweep never deletes such a "
                         "directory, even with overwrite=True; choose another path or remove it yourself.")
    if kind == "corrupt" and not overwrite:
        raise ValueError(f"Sweep store {path!r} is corrupted: {info}. Pass overwrite=True to delete it and "
                         "run the sweep again from scratch.")
    attrs = info if kind == "ours" else None
    if attrs is not None and attrs.get("initialized") and attrs.get("format") != _FORMAT and not overwrite:
        raise ValueError(f"Sweep store {path!r} was written by an older oscihop (sweep store format "
                         f"{attrs.get('format')!r}; this version writes format {_FORMAT}, with a checksum on every "
                         "chunk and a per-point outcome record), so it cannot be resumed safely. Pass overwrite=True "
                         "to compute it again, or use another `store`; oh.open_sweep still reads it.")
    if attrs is not None and attrs.get("initialized") and attrs["fingerprint"] != d.fingerprint and not overwrite:
        old = attrs.get("definition", {})
        diff = [f"{k} (store: {_short(old.get(k))}, now: {_short(d.record.get(k))})"
                for k in sorted(set(old) | set(d.record)) if old.get(k) != d.record.get(k)]
        raise ValueError(f"Sweep store {path!r} holds a different sweep; differs in: "
                         f"{'; '.join(diff) or 'fingerprint'}. Re-run with the store's definition to resume it, "
                         "use another `store`, or pass overwrite=True to delete it and start again.")
    resume = attrs is not None and attrs.get("initialized") and attrs["fingerprint"] == d.fingerprint and not overwrite
    bad = set()
    if resume:
        _remove_partials(path)
        outcome, damage, bad = _scan(path, attrs)
        if damage:
            _repair_coords(path, attrs, d, damage)
            lost = sum(outcome[_region_slices(c, attrs["chunks"], d.shape)].size for c in bad)
            warnings.warn(f"Sweep store {path!r} has damaged chunks: {_damage_text(damage)}. "
                          + (f"Recomputing the {lost} point(s) they hold." if bad else "Rewriting the coordinates."),
                          UserWarning, stacklevel=3)
    else:
        t_probe = time.perf_counter()
        model = _probe(build, d)  # before deleting anything: a bad definition leaves the store as it was
        t0 += time.perf_counter() - t_probe  # building a model is not I/O
        _clear_dir(path)
        if points_per_task is None:
            per_point = 8 * (model["size"] * (d.n_times if "y" in d.variables else 0) + model["size"]
                             + 2 * d.n_times) + 24
            points_per_task = max(1, min(_MAX_POINTS_PER_TASK, math.ceil(d.n_points / (8 * workers)),
                                         _TASK_BYTES // per_point))
        attrs = _create_store(path, d, model, int(points_per_task))
        outcome = np.full(d.shape, PENDING, dtype=np.int8)
    done = outcome == DONE
    t_driver_io = time.perf_counter() - t0

    chunks = tuple(attrs["chunks"])
    model = attrs["model"]
    common = {
        "store": path, "store_id": attrs["store_id"], "build": build, "kind": d.kind, "names": d.names,
        "t_span": d.t_span, "solve_times": d.solve_times, "n_times": d.n_times, "method": d.method,
        "solve_kwargs": d.solve_kwargs, "variables": d.variables, "size": model["size"], "dtype": model["dtype"],
        "ref": model, "flush_seconds": _FLUSH_SECONDS, "energy_tolerance": d.energy_tolerance,
    }
    tasks = []
    grid_counts = [math.ceil(s / c) for s, c in zip(d.shape, chunks)]
    for cidx in np.ndindex(*grid_counts):
        region = [(i * c, min((i + 1) * c, s)) for i, c, s in zip(cidx, chunks, d.shape)]
        sl = tuple(slice(a, b) for a, b in region)
        local_done = np.zeros(done[sl].shape, dtype=bool) if cidx in bad else done[sl]
        if local_done.all():
            continue
        if d.kind == "grid":
            values = [v[a:b].tolist() for v, (a, b) in zip(d.values, region)]
        else:
            values = [v[region[0][0]:region[0][1]].tolist() for v in d.values]
        tasks.append({**common, "region": region, "rshape": tuple(b - a for a, b in region), "values": values,
                      "done": local_done.copy()})

    n_before = int(done.sum()) - sum(int(done[_region_slices(c, chunks, d.shape)].sum()) for c in bad)
    stats = {"points": d.n_points, "done_before": n_before, "computed": 0, "failed": 0, "tasks": len(tasks),
             "points_per_task": int(np.prod(chunks)), "workers": 0, "task_s": 0.0, "task_io_s": 0.0,
             "task_cpu_s": 0.0,
             "driver_io_s": t_driver_io, "executor": "dask" if client is not None else "processes"}
    if tasks:
        bar = progress_bar(d.n_points, initial=n_before, enabled=progress, desc="sweep", unit="pt")

        def on_result(summary):
            stats["computed"] += summary["computed"]
            stats["failed"] += summary["failed"]
            stats["task_s"] += summary["t_task"]
            stats["task_io_s"] += summary["t_io"]
            stats["task_cpu_s"] += summary["t_cpu"]
            bar.update(summary["computed"])

        try:
            if client is not None:
                _run_dask(tasks, client, on_result, attrs["store_id"][:8] + uuid.uuid4().hex[:8])
                stats["workers"] = workers
            elif len(tasks) == 1 or workers == 1:
                # one task (or one core) runs sequentially anyway: a pool would only add start-up time
                stats["executor"] = "in-process"
                stats["workers"] = 1
                for task in tasks:
                    on_result(_run_task(task))
            else:
                stats["workers"] = _run_local(tasks, build, workers, on_result)
        finally:
            bar.close()
        t1 = time.perf_counter()
        final = np.asarray(_open_group(path, attrs)["outcome"][...])
        stats["driver_io_s"] += time.perf_counter() - t1
        if (final == PENDING).any():
            raise RuntimeError(
                f"All tasks finished but {int((final == PENDING).sum())} point(s) of {path!r} have no record. "
                "Do the workers see the store at the same path (a shared file system)?"
            )
    return stats


def _repair_coords(path, attrs, d, damage):
    """Rewrite damaged coordinate arrays from the definition (they hold nothing else)."""
    import zarr

    names = set(_coord_names(d.record, attrs["variables"]))
    if any(dmg.array in names for dmg in damage):
        _write_coords(zarr.open_group(path, mode="r+"), d, attrs["model"]["size"], create=False)


def _short(value, limit=60):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def open_sweep(store):
    """Open a sweep store written by :func:`sweep` as a lazy ``xarray.Dataset``, after checking it.

    Every chunk of the coordinates and per-point records, and every data chunk holding a done
    point, must be present and pass its CRC32C checksum (the chunks are decoded once here).

    Parameters
    ----------
    store : str or os.PathLike
        Directory of the store.

    Returns
    -------
    xarray.Dataset
        Dimensions: the grid parameters (or ``point``), then ``time`` and ``state`` where
        kept.  Variables: those of the reductions (``y``, ``energy``, ``y_final``,
        ``order_parameter``) and, per point, ``status`` (the solver's), ``nfev``, ``nsteps``,
        ``outcome`` (0 not run, 1 done, 2 failed, 3 solve failed; see :data:`OUTCOMES`),
        ``message`` (why a point failed) and ``done`` (``outcome == 1``).  Attributes:
        ``oscihop_sweep`` (definition, fingerprint, chunks, model size and kind, versions),
        and the completion record ``n_points``, ``n_done``, ``n_failed``, ``complete``.

    Raises
    ------
    ValueError
        If ``store`` is missing or is not a sweep store; :class:`oscihop.io.integrity.StoreDamagedError`
        (a ValueError) naming each damaged array and chunk when a chunk is missing, truncated or
        fails its checksum (running the same sweep again repairs it).

    Warns
    -----
    UserWarning
        For a store written by an older oscihop (sweep format 1, no checksums): it is opened
        unverified, with its ``done`` record and without ``outcome`` and ``message``.

    Examples
    --------
    >>> import tempfile, oscihop as oh
    >>> oh.open_sweep(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    ValueError: ... is not an oscihop sweep store: it is an empty directory...
    """
    return _open_dataset(_store_path(store, required=True), read_data=True)


def _open_dataset(path, read_data):
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
        outcome, damage, _ = _scan(path, info, read_data=read_data)
        if damage:
            raise StoreDamagedError(f"Sweep store {path!r} is damaged: {_damage_text(damage)}. Re-run the sweep "
                                    "(the same oh.sweep call or oscihop sweep command) to repair it: it recomputes "
                                    "the points these chunks hold.", damage)
        done = outcome == DONE
    import xarray as xr

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is not recognized as a component of a Zarr hierarchy")
            ds = xr.open_zarr(path, consolidated=False, zarr_format=3)
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"Sweep store {path!r} is corrupted: xarray cannot open it ({exc}).") from exc
    lazy = [name for name in ds.coords if ds[name].chunks is not None]  # (point,) parameter coordinates
    if lazy:
        ds = ds.assign_coords({name: ds[name].load() for name in lazy})
    if not old:
        # messages as a plain numpy str array (zarr's variable-length strings arrive as StringDType,
        # which does not cast with .astype(str)); one short string per point, read in the check above
        msg = ds["message"]
        ds["message"] = msg.copy(data=np.array(msg.values.tolist(), dtype=str).reshape(msg.shape))
        ds["done"] = (ds["outcome"] == DONE).assign_attrs(long_name=_LONG_NAMES["done"])
        n_failed = int(((outcome == FAILED) | (outcome == SOLVE_FAILED)).sum())
    else:
        n_failed = int((done & (np.asarray(ds["status"].values) < 0)).sum())
    ds.attrs["n_points"] = int(done.size)
    ds.attrs["n_done"] = int(done.sum())
    ds.attrs["n_failed"] = n_failed
    ds.attrs["complete"] = bool(done.all())
    return ds


def kuramoto_ring_build(coupling=1.0, seed=0, n=8, dim=2):
    """Example ``build`` for sweeps: Kuramoto oscillators on a ring, random start from ``seed``.

    Parameters
    ----------
    coupling : float
        Coupling ``J`` of every ring edge.
    seed : int
        Seed of the random initial state (uniform on the sphere).
    n : int, default 8
    dim : int, default 2

    Returns
    -------
    (Kuramoto, ndarray (n * dim,))

    Examples
    --------
    >>> from oscihop.sweep import kuramoto_ring_build
    >>> model, y0 = kuramoto_ring_build(coupling=0.5, seed=3)
    >>> model.size, y0.shape
    (16, (16,))
    """
    from .graph import ring_edges
    from .models import Kuramoto

    model = Kuramoto(int(dim), edges=ring_edges(int(n)), coupling=float(coupling))
    return model, model.random_state(seed=int(seed))
