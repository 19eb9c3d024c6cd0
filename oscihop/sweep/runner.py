"""The tasks of a sweep (worker side): build, check and integrate points, write their chunks.

A task is a plain dict (picklable, for local processes and dask workers alike) naming a
block of consecutive points; :func:`_run_task` computes the pending ones and writes the
block's chunks, ``outcome`` last.  :func:`_probe` runs the same point checks on the driver
before the store is laid out.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import as_float_array, check_finite, check_shape
from ..models.base import Model
from ..models.stack import ModelStack, stack, structure_key
from ..solvers import solve
from .definition import _fmt_params, _ModelBuild, _SpecBuild
from .store import (_CHECKS, _RECORD_FILL, _RECORD_VARS, DONE, FAILED, NOT_RUN, SOLVE_FAILED, _write_blocks,
                    open_arrays)

__all__ = []

_MESSAGE_CHARS = 2000  # longest message kept per point
_FLUSH_SECONDS = 30.0  # a long task writes what it has at least this often
_GROUP_POINTS = 1024  # points built, then solved in stacks of one structure, between two flush checks
_STORE_WAIT_SECONDS = 120.0  # a dask worker waits at most this long for the driver to create a new store


class _Writer:
    """The one writer thread of an in-process sweep, which waits while the sweep's thread builds.

    Building a task's points is Python, and so is writing (zarr's encoding and metadata): on two
    threads they share one interpreter lock, handed over only every switch interval (5 ms), so
    both ran at half speed or less.  A solve releases the lock for its whole length.  So a job
    submitted here starts only while the sweep's thread is not inside :meth:`building` (it is
    solving, or waiting for a write); a job already running finishes.  The writer starts held,
    as if building (the sweep's thread prepares its first task): :meth:`release` or the first
    solve lets it go.
    """

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oscihop-sweep-writer")
        self._free = threading.Event()

    def release(self):
        """Let queued jobs run (before waiting on one of them outside :meth:`building`)."""
        self._free.set()

    def _gated(self, fn, args):
        self._free.wait()
        return fn(*args)

    def submit(self, fn, *args):
        """Queue ``fn(*args)``; a future of its result."""
        return self._pool.submit(self._gated, fn, args)

    @contextlib.contextmanager
    def building(self):
        """Hold queued jobs back until the callable this yields is called (the solve starts) or
        the block ends, whichever comes first."""
        self._free.clear()
        try:
            yield self._free.set
        finally:
            self._free.set()

    def shutdown(self, wait=True):
        self._free.set()
        self._pool.shutdown(wait=wait)


class _PointFailure(ValueError):
    """A point that cannot be integrated: ``build`` raised or returned something unusable."""


def _exc_text(exc):
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _build_error(exc):
    """The failure message of a point whose build raised ``exc``."""
    return f"`build` raised {_exc_text(exc)}"


def _call_build(build, params):
    try:
        return build(**params)
    except Exception as exc:  # noqa: BLE001 - any error of the user's build is this point's failure
        raise _PointFailure(_build_error(exc)) from exc


def _layout_text(facts):
    return f"{facts['kind']} with n={facts['n']}, D={facts['dim']}, state size {facts['size']}"


def _check_point(out, params, ref):
    """(model, y0) of one point, checked; raises :class:`_PointFailure` saying what is wrong.

    ``y0`` must be a real 1-D array of the model's size, finite and with unit oscillators; it
    keeps its float precision here (the sweep's precision is applied by :func:`_build_point`).
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
    why = _other_layout(model, ref)
    if why:
        raise _PointFailure(why)
    return model, y0


def _other_layout(model, ref):
    """Why ``model`` cannot go in the store laid out by ``ref`` (the store's model facts), or ``""``:
    every point must build the same model kind, ``n``, ``D`` and state size."""
    if ref is None:
        return ""
    facts = {"kind": type(model).__name__, "n": int(model.n), "dim": int(model.dim), "size": int(model.size)}
    if all(facts[k] == ref[k] for k in facts):
        return ""
    return (f"Every point of a sweep must build the same kind of model as its first point "
            f"{_fmt_params(ref['point'])} ({_layout_text(ref)}); this point built {_layout_text(facts)}.")


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


def _build_point(task, params):
    """Build and check one point: (model, y0 at the sweep's precision); raises :class:`_PointFailure`."""
    model, y0 = _check_point(_call_build(task["build"], params), params, task["ref"])
    return model, _at_precision(model, y0, task["dtype"])


def _solve_kwargs(task):
    return {**task["solve_kwargs"], "dtype": task["dtype"]}


def _result(model, sol):
    """(outcome, message, model, sol) of a finished solve of one point."""
    why = _solve_failure(sol)
    return (SOLVE_FAILED if why else DONE), why, model, sol


def _solve_one(task, model, y0):
    try:
        sol = solve(model, task["t_span"], y0, method=task["method"], t_eval=task["solve_times"], **_solve_kwargs(task))
    except Exception as exc:  # noqa: BLE001 - reported per point
        return FAILED, f"`oh.solve` raised {_exc_text(exc)}", model, None
    return _result(model, sol)


def _batchable(task):
    """Whether the task's points may be solved as stacks: a fixed output grid (every step of an
    adaptive solve differs per point) and not ``async`` (its member seeds depend on the batch)."""
    return task["solve_times"] is not None and task["method"] != "async"


def _solve_stack(task, models, y0s):
    """The batched Solution of points sharing a structure (:func:`oscihop.stack`: the same
    compiled loop per member as a single solve, so the same bits), or ``None`` when the stack's
    solve raises (the points are then solved one by one, so that the error is reported at the
    point that caused it)."""
    try:
        batch = models if isinstance(models, ModelStack) else stack(models)
        return solve(batch, task["t_span"], y0s, method=task["method"], t_eval=task["solve_times"],
                     **_solve_kwargs(task))
    except Exception:  # noqa: BLE001 - find the point that raises
        return None


class _Columns:
    """Points given by their value columns (one 1-D array per parameter name)."""

    def __init__(self, names, columns):
        self.names, self.columns = list(names), columns

    def __len__(self):
        return len(self.columns[0])

    def dicts(self):
        """The points as ``{name: Python scalar}`` dicts (what ``build(**params)`` gets)."""
        lists = [c.tolist() for c in self.columns]
        return [dict(zip(self.names, values)) for values in zip(*lists)]


def _task_columns(task, ks):
    """The parameter values of the task's points at flat positions ``ks`` of its region, as columns."""
    ks = np.asarray(ks)
    if task["kind"] == "grid":
        idx = np.unravel_index(ks, task["rshape"])
        return _Columns(task["names"], [np.asarray(v)[i] for v, i in zip(task["values"], idx)])
    return _Columns(task["names"], [np.asarray(v)[ks] for v in task["values"]])


def _built_points(task, all_params):
    """``(failures, groups)`` of several points: ``failures`` lists ``(position, result)`` of the
    points that do not build (or, for a batch-unfriendly solve, every point's own result);
    ``groups`` lists ``(positions, models, Y0)`` of the points that share a structure."""
    build = task["build"]
    dtype = np.dtype(task["dtype"])
    if isinstance(build, (_ModelBuild, _SpecBuild)) and _batchable(task):  # each distinct model built once
        if not isinstance(all_params, _Columns):
            names = list(all_params[0])
            all_params = _Columns(names, [np.array([params[name] for params in all_params]) for name in names])
        failed, built = build.members(all_params.names, all_params.columns)
        groups = []
        for positions, models, y0s in built:
            why = _other_layout(models[0], task["ref"])  # one structure: one layout
            if why:
                failed.update(dict.fromkeys(positions.tolist(), why))
                continue
            if y0s.dtype != dtype:
                y0s = models[0].normalize(y0s.astype(dtype))
            groups.append((positions.tolist(), models, y0s))
        return [(i, (FAILED, message, None, None)) for i, message in sorted(failed.items())], groups
    singles, groups = [], {}
    for i, params in enumerate(all_params.dicts() if isinstance(all_params, _Columns) else all_params):
        try:
            model, y0 = _build_point(task, params)
        except _PointFailure as exc:
            singles.append((i, (FAILED, str(exc), None, None)))
            continue
        if not _batchable(task):
            singles.append((i, _solve_one(task, model, y0)))
            continue
        try:
            key = structure_key(model, dtype)
        except Exception as exc:  # noqa: BLE001 - the model's parameters do not pack: this point's failure
            singles.append((i, (FAILED, f"`oh.solve` raised {_exc_text(exc)}", model, None)))
            continue
        groups.setdefault(key, []).append((i, model, y0))
    return singles, [([i for i, _, _ in items], [m for _, m, _ in items], np.stack([y for _, _, y in items]))
                     for items in groups.values()]


def _run_points(task, all_params, built=None):
    """Results of several points: ``(singles, stacks)``, ``singles`` a list of ``(position,
    (outcome, message, model, sol))`` and ``stacks`` a list of ``(positions, models, sol)``, the
    batched Solution of points of one structure solved together.  ``built()``, if given, is
    called once every point is built, before the first solve."""
    singles, groups = _built_points(task, all_params)
    if built is not None:
        built()
    stacks = []
    for positions, models, y0s in groups:
        sol = _solve_stack(task, models, y0s) if len(models) > 1 else None
        if sol is None:
            singles += [(i, _solve_one(task, m, y)) for i, m, y in zip(positions, models, y0s)]
        else:
            stacks.append((positions, models, sol))
    return singles, stacks


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


def _await_store(name):
    """Wait (in a dask worker) until the driver has created the sweep's store (``executors._announce_store``)."""
    from distributed import Variable

    try:
        state = Variable(name).get(timeout=_STORE_WAIT_SECONDS)
    except TimeoutError:
        raise RuntimeError(f"The sweep's driver did not create its store within {_STORE_WAIT_SECONDS:.0f} s; "
                           "this task's points are not written (run the sweep again).") from None
    if state != "ok":
        raise RuntimeError("The sweep's driver failed to create its store (its error is raised there); this "
                           "task's points are not written.")


def _open_arrays(task):
    """The task's zarr arrays, opened once per worker process and store (a dask task of a new
    store first waits until the driver has created it)."""
    if task.get("store_ready"):
        _await_store(task["store_ready"])
    return open_arrays(task["store"], task["store_id"], [*task["variables"], *_RECORD_VARS])


def _run_task(task, writer=None):
    """Compute the pending points of one chunk region and write the region (worker side).

    With ``writer`` (a :class:`_Writer`, in-process sweeps), the last write of the region is
    queued there and a future of the summary is returned: the next task computes while this one
    writes (and, for a new store, while the store itself is created, queued first).  The writer
    waits while the points are built and writes while they are solved.

    Points are built one by one, then the points of one structure are integrated together as a
    stack of models (:func:`oscihop.stack`: one batched :func:`oscihop.solve`, each member with
    its own parameters, the same results as solving them apart), ``_GROUP_POINTS`` at a time (a
    template's task, one structure, is one stack).  A point that fails (``build`` raises or
    returns something unusable, ``solve`` raises, or the solve fails) is recorded with its
    ``outcome`` and ``message`` and the task goes on.  The data arrays and the records are
    written together, then ``outcome`` last; a long task writes what it has every
    ``_FLUSH_SECONDS``.
    """
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    io = time.perf_counter()
    # opened where the arrays are written, and once the store exists
    arrays = _open_arrays(task) if writer is None and not task.get("store_ready") else None
    region = tuple(slice(a, b) for a, b in task["region"])
    rshape = task["rshape"]
    done = np.array(task["done"], dtype=bool).reshape(rshape)
    size, n_times = task["size"], task["n_times"]
    tails = {"y": (n_times, size), "energy": (n_times,), "y_final": (size,), "order_parameter": (n_times,),
             "energy_increase": (), "dEdt_max": ()}
    dtype = np.dtype(task["dtype"])
    if done.any():  # points computed earlier live in the same chunks (verified by the driver): keep them
        arrays = arrays or _open_arrays(task)
        bufs = {name: np.asarray(arrays[name][region]) for name in [*task["variables"], *_RECORD_VARS]}
        bufs["message"] = bufs["message"].astype(object)
    else:
        bufs = {name: np.full(rshape + tails[name], np.nan, dtype=np.float64 if name in _CHECKS else dtype)
                for name in task["variables"]}
        for name, (dt, fill) in _RECORD_FILL.items():
            bufs[name] = np.full(rshape, fill, dtype=object if dt is str else dt)
    t_io = time.perf_counter() - io

    def flush():
        nonlocal arrays
        t = time.perf_counter()
        arrays = arrays or _open_arrays(task)
        _write_blocks(task["store"], arrays,
                      [(name, region, bufs[name]) for name in [*task["variables"], *_RECORD_VARS[:-1]]],
                      [("outcome", region, bufs["outcome"])])  # last, once the rest is written: the completion record
        return time.perf_counter() - t

    computed = failed = 0
    last_flush = time.perf_counter()
    pending = np.flatnonzero(~done.ravel())
    try:
        # a template's task is one stack (its size is bounded when the store is laid out)
        window = task.get("group_points") or (len(pending) if isinstance(task["build"], _ModelBuild)
                                              and _batchable(task) else _GROUP_POINTS)
        for lo in range(0, len(pending), max(window, 1)):
            ks = [int(k) for k in pending[lo:lo + max(window, 1)]]
            with writer.building() if writer is not None else contextlib.nullcontext(None) as built:
                singles, stacks = _run_points(task, _task_columns(task, ks), built)
            for i, (outcome, message, model, sol) in singles:
                failed += _write_point(bufs, rshape, ks[i], outcome, message, model, sol, task)
            for positions, models, sol in stacks:
                failed += _write_stack(bufs, rshape, [ks[i] for i in positions], models, sol, task)
            computed += len(ks)
            if time.perf_counter() - last_flush > task["flush_seconds"] and lo + len(ks) < len(pending):
                t_io += flush()
                last_flush = time.perf_counter()
    except BaseException:
        if computed:  # keep the points this task already finished (KeyboardInterrupt, a dying worker...)
            try:
                flush() if writer is None else writer.submit(flush).result()  # after the writes queued before
            except Exception:  # noqa: BLE001
                pass
        raise
    summary = {"computed": computed, "failed": int(failed), "pid": os.getpid()}
    t_compute, cpu_compute = time.perf_counter() - t_start, time.process_time() - cpu_start

    def finish():
        cpu = time.process_time()
        t_flush = flush()
        summary.update(t_io=t_io + t_flush, t_task=t_compute + t_flush,
                       t_cpu=cpu_compute + time.process_time() - cpu)  # this process's, while the task ran
        if writer is not None:  # the region's completion record, as written, for the driver
            summary.update(region=task["region"], outcome=bufs["outcome"], message=bufs["message"])
        return summary

    return finish() if writer is None else writer.submit(finish)


def _write_point(bufs, rshape, k, outcome, message, model, sol, task):
    """Write one point's result at flat position ``k`` of the region; returns 1 if it failed."""
    idx = np.unravel_index(k, rshape)
    n_curve = task["n_times"]
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
    return int(outcome != DONE)


def _write_stack(bufs, rshape, ks, models, sol, task):
    """Write the members of a batched Solution at the flat positions ``ks`` of the region, as
    whole arrays (the values :func:`_write_point` would write member by member); returns how
    many failed."""
    ks = np.asarray(ks)
    n_curve = task["n_times"]
    flat = {name: buf.reshape((-1,) + buf.shape[len(rshape):]) for name, buf in bufs.items()}  # views
    states = sol.states
    if "y" in flat:
        flat["y"][ks] = states[:, :n_curve]
    if "energy" in flat:
        flat["energy"][ks] = sol.energy[:, :n_curve]
    if "y_final" in flat:
        flat["y_final"][ks] = states[:, -1]
    if "order_parameter" in flat:
        flat["order_parameter"][ks] = models[0].order_parameter(states[:, :n_curve])  # the layout's: shared
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(states).all(axis=(1, 2)) & np.isfinite(sol.energy).all(axis=1)
    ok = (sol.status >= 0) & finite
    messages = np.full(len(ks), "", dtype=object)
    for b in np.flatnonzero(~ok):
        messages[b] = _solve_failure(sol.member(int(b)))[:_MESSAGE_CHARS]
    if task["energy_tolerance"] is not None or "dEdt_max" in flat:
        for b, k in enumerate(ks):
            _check_point_energy(flat, k, models[b], sol.member(b), task["energy_tolerance"])
    flat["status"][ks] = sol.status
    flat["nfev"][ks] = sol.nfev
    flat["nsteps"][ks] = sol.nsteps
    flat["message"][ks] = messages
    flat["outcome"][ks] = np.where(ok, DONE, SOLVE_FAILED)
    return int(len(ks) - ok.sum())


def _check_point_energy(bufs, idx, model, sol, tolerance):
    """The ``energy_increase`` and ``dEdt_max`` of one point, over every output of its solve."""
    from ..verification import energy_increase, max_energy_rate

    with np.errstate(all="ignore"):
        if "energy_increase" in bufs:
            bufs["energy_increase"][idx] = energy_increase(np.asarray(sol.energy, dtype=np.float64), *tolerance)
        if "dEdt_max" in bufs:
            bufs["dEdt_max"][idx] = max_energy_rate(model, np.asarray(sol.states, dtype=np.float64))
