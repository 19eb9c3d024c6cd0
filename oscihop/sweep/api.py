"""The public functions: :func:`sweep` (run or resume a sweep) and :func:`open_sweep` (read it)."""

from __future__ import annotations

import json
import math
import os
import time
import uuid
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import check_bool, check_size
from ..models.base import Model
from .definition import _Definition, _fmt_params, _ModelBuild, _SpecBuild
from .executors import (_announce_store, _check_picklable, _client_threads, _forget_store_flag, _local_workers,
                        _run_dask, _run_local)
from .lock import _StoreLock
from .runner import _FLUSH_SECONDS, _probe, _run_task, _Writer
from .store import (_ATTR, _FORMAT, DONE, FAILED, PENDING, SOLVE_FAILED, _clear_dir, _damage_text,
                    _drop_damaged_shards, _inspect, _lazy_dataset, _open_dataset, _region_slices,
                    _remove_partials, _repair_coords, _scan, _store_attrs, _write_store)

__all__ = ["sweep", "open_sweep"]

_TASK_BYTES = 64 * 2**20  # largest buffer a task holds (default points_per_task)
_MAX_POINTS_PER_TASK = 2048
_MAX_STACK_POINTS = 8192  # points per task of a template sweep (one stack)


def sweep(build, grid=None, points=None, store=None, t_span=None, t_eval=None, method="RK45", reduce="full",
          client=None, scheduler=None, points_per_task=None, workers=None, progress=None, overwrite=False,
          backend="cpu", **solve_kwargs):
    """Integrate a model over a grid (or list) of parameters into one resumable zarr store.

    Parameters
    ----------
    build : callable, dict, model or (model, y0)
        ``build(**params) -> (model, y0)`` with ``y0`` one state of shape ``(model.size,)``.
        It must be picklable (a function defined in a module, not a lambda) and
        deterministic: randomness must come from the parameters (e.g. a ``seed``
        parameter).  A dict is a declarative spec, built by
        ``oscihop.spec.build_from_spec(spec, **params)``.

        A model is a template, the fastest form for sweeps over float parameters: each
        name is a name of ``model.parameters()`` (``"hopfield__bias"`` for
        ``"hopfield.bias"``, or just ``"bias"`` where the last part is unique) whose
        value fills the whole parameter (``model.replace``, validated like the
        constructor: a rejected value fails its point), plus ``seed`` and ``h_scale``,
        the start ``model.random_state(seed=seed, h_scale=h_scale)`` (defaults 0 and 1).
        A ``(model, y0)`` pair starts every point from ``y0``.  Every point shares the
        model's structure, so each task builds only its distinct parameter sets and
        solves its points as one stack (:func:`oscihop.stack`).
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
        ``n_points / (8 workers)``, at most 2048 and at most ~64 MiB of results per task
        (a template sweep, whose tasks are stacks: ``n_points / workers`` and two tasks at least,
        at most 8192, with the stack's parameter rows counted in the 64 MiB).  A task writes one
        file per array: larger tasks, fewer files.
        Fixed when the store is created; a resumed sweep keeps the store's chunks.
    workers : int, optional
        Local worker processes (default: one per available core; at most 4 per core).  Not
        with ``client``/``scheduler``, where the cluster decides.  A template sweep (``build``
        a model) with a fixed output grid runs in this process by default, each task one
        stack whose solve uses Numba's threads; give ``workers`` to run it on a pool instead.
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
    (C order over the grid), one task per chunk region.  A task builds its points and solves
    those that share a structure as one stack (:func:`oscihop.stack`: the compiled loop of a
    single solve per member, Numba kernels cached on disk, so workers do not recompile), then
    writes its own chunks directly into the store: no two tasks write one chunk.  A template
    model's tasks run in this process on Numba's threads, while one writer thread creates the
    store and writes the finished tasks.  Other builds run by default on a
    ``concurrent.futures.ProcessPoolExecutor`` with one process per available core (started
    through multiprocessing's fork server with oscihop preloaded; a single task, or a single
    core, runs in this process instead), and with ``client``/``scheduler`` on
    dask.distributed, where the driver creates a new store while the workers compute (a worker
    writes once the store exists).  The driver then checks what the workers wrote.

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
    elif isinstance(build, Model):
        build = _ModelBuild(build)
    elif isinstance(build, tuple) and len(build) == 2 and isinstance(build[0], Model):
        build = _ModelBuild(*build)
    elif not callable(build):
        raise ValueError(f"`build` must be a callable build(**params) -> (model, y0), a spec dict, an oscihop model "
                         f"or a (model, y0) pair; got {build!r}.")
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
    from ..solvers.solve import _check_backend

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
        # a template's points are stacks of one structure: with no pool asked for, they run here, each
        # stack's solve spread over Numba's threads (no worker start-up, no second copy of the kernels)
        inline = (client is None and workers is None and isinstance(build, _ModelBuild) and d.solve_times is not None
                  and d.method != "async")
        if client is not None:
            workers = _client_threads(client)
        elif inline:
            workers = 1
        elif workers is None:
            workers = 1 if on_gpu else _local_workers()
        if client is None and workers > 1 and d.n_points > 1:  # tasks will go to a local process pool
            _check_picklable(build)
        made = not os.path.exists(path)
        os.makedirs(path, exist_ok=True)
        try:
            with _StoreLock(path):
                stats, records, opened = _sweep_locked(path, build, d, client, workers, points_per_task,
                                                       progress, overwrite, inline)
        except BaseException:
            if made and not os.listdir(path):  # failed before writing anything: leave no empty directory
                os.rmdir(path)
            raise
    finally:
        if own_client:
            client.close()
    # the data chunks were checked (resume) or just written; the run knows its completion record
    outcome, messages = records or (None, None)
    ds = _open_dataset(path, read_data=False, outcome=outcome, opened=opened, messages=messages)
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


def _sweep_locked(path, build, d, client, workers, points_per_task, progress, overwrite, inline=False):
    """Run the sweep on the locked store: ``(stats, records, opened)``. ``records`` is
    ``(outcome, messages)`` when this process wrote every block (in-process runs; ``messages``
    None on a resume), ``(outcome, None)`` when it verified the workers' blocks after the run
    (:func:`_scan`) and found no damage, else None; ``opened`` is the store's :func:`_lazy_dataset`."""
    from .._progress import progress_bar

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
    # an in-process run writes on one writer thread (the store, then each task's block) while it computes
    writer = _Writer() if inline else None
    creating = None
    create_later = False  # a dask run's new store: written once the tasks are submitted
    if resume:
        _remove_partials(path)
        outcome, damage, bad = _scan(path, attrs)
        if damage:
            _repair_coords(path, attrs, d, damage)
            _drop_damaged_shards(path, damage)
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
            if isinstance(build, _ModelBuild) and d.solve_times is not None and d.method != "async":
                # a template's task is one stack: as large as _MAX_STACK_POINTS (resume keeps whole tasks), one
                # per worker and two at least, since a task costs the same store writes and starts whatever its
                # size; the stack holds one float parameter row per point, counted in the task's memory
                per_point += build.model.params(np.float64).fp.nbytes
                points_per_task = max(1, min(_MAX_STACK_POINTS, math.ceil(d.n_points / max(2, workers)),
                                             _TASK_BYTES // per_point))
            else:
                points_per_task = max(1, min(_MAX_POINTS_PER_TASK, math.ceil(d.n_points / (8 * workers)),
                                             _TASK_BYTES // per_point))
        attrs = _store_attrs(d, model, int(points_per_task))
        if inline:  # written on the writer thread while the first task computes
            creating = writer.submit(_write_store, path, d, attrs)
        elif client is not None:  # written once the tasks are submitted, while the workers compute
            create_later = True
        else:
            attrs = _write_store(path, d, attrs)
        outcome = np.full(d.shape, PENDING, dtype=np.int8)
    # the result's xarray view needs only the store's metadata and coordinates: opened on a thread
    # of its own while the tasks run (an in-process run's writer thread, before the tasks' writes);
    # its arrays read the chunks when they are used
    opener = None if writer is not None else ThreadPoolExecutor(max_workers=1,
                                                                 thread_name_prefix="oscihop-sweep-open")
    opening = None if create_later else (writer or opener).submit(_lazy_dataset, path, attrs["model"])
    # a new store's every block is computed here: the messages too are known without reading them
    messages = np.full(d.shape, "", dtype=object) if writer is not None and not resume else None
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
    tag = attrs["store_id"][:8] + uuid.uuid4().hex[:8]
    if create_later:  # a worker writes once the driver says the store exists
        common["store_ready"] = f"oscihop-sweep-{tag}-store"
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
            if "outcome" in summary:  # an in-process task's records
                region = tuple(slice(a, b) for a, b in summary["region"])
                outcome[region] = summary["outcome"]
                if messages is not None:
                    messages[region] = summary["message"]
            stats["computed"] += summary["computed"]
            stats["failed"] += summary["failed"]
            stats["task_s"] += summary["t_task"]
            stats["task_io_s"] += summary["t_io"]
            stats["task_cpu_s"] += summary["t_cpu"]
            bar.update(summary["computed"])

        try:
            if client is not None:
                def create():
                    nonlocal opening
                    t = time.perf_counter()
                    _announce_store(client, common["store_ready"], _write_store, path, d, attrs)
                    stats["driver_io_s"] += time.perf_counter() - t
                    opening = opener.submit(_lazy_dataset, path, attrs["model"])

                _run_dask(tasks, client, on_result, tag, create if create_later else None)
                if create_later:  # every task is over (after a failure, a cancelled task
                    _forget_store_flag(client, common["store_ready"])  # still running must read "failed")
                stats["workers"] = workers
            elif inline:
                # a template's stacks run here on Numba's threads, each task's writes on the writer thread
                # while the next task computes
                stats["executor"], stats["workers"] = "in-process, threaded stacks", 1
                queued = []
                for task in tasks:
                    if creating is not None and creating.done():
                        creating.result()  # the store could not be written: stop here, with its error
                    queued.append(_run_task(task, writer))
                    while queued and queued[0].done():
                        on_result(queued.pop(0).result())
                writer.release()  # every task is built: the writes need not wait any more
                if creating is not None:
                    creating.result()
                for future in queued:
                    on_result(future.result())
            elif len(tasks) == 1 or workers == 1:
                # one task (or one core) runs here: a pool would only add start-up time
                stats["executor"], stats["workers"] = "in-process", 1
                for task in tasks:
                    on_result(_run_task(task))
            else:
                stats["workers"] = _run_local(tasks, build, workers, on_result)
        finally:
            for thread in (writer, opener):
                if thread is not None:
                    thread.shutdown(wait=True)  # what was queued is written, even when a task raised
            bar.close()
        if stats["executor"].startswith("in-process"):  # this process wrote every record it counted
            return stats, ((outcome, messages) if inline else None), opening.result()
        t1 = time.perf_counter()
        # what the workers wrote, checked once (coordinates, records, data blocks present): the result's
        # view takes this completion record, or scans again to raise the damage it finds
        final, damage, _ = _scan(path, attrs, read_data=False)
        stats["driver_io_s"] += time.perf_counter() - t1
        if damage:  # the result's view scans again and raises, naming every damaged chunk
            return stats, None, opening.result()
        if (final == PENDING).any():
            raise RuntimeError(
                f"All tasks finished but {int((final == PENDING).sum())} point(s) of {path!r} have no record. "
                "Do the workers see the store at the same path (a shared file system)?"
            )
        return stats, (final, None), opening.result()  # (the opener was shut down above)
    elif writer is not None:  # nothing to compute (a new store is still written)
        writer.release()
        try:
            if creating is not None:
                creating.result()
        finally:
            writer.shutdown(wait=True)
    if opener is not None:
        opener.shutdown(wait=True)
    return stats, None, opening.result()


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
        ``message`` (why a point failed) and ``done`` (``outcome == 1``); ``y`` and
        ``y_final`` split by unit as in trajectory stores (lazy views of the same data):
        ``h``/``h_final`` (..., ``neuron``) for threshold units, ``x``/``x_final`` (...,
        ``neuron``, ``component``) for oscillators.  Attributes:
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
