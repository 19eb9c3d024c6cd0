"""Throughput of ``oh.sweep``: many small simulations into one zarr store, and the share of I/O.

Usage::

    python scripts/bench_sweep.py [--points 10000] [--n 8] [--model kuramoto|hk] [--build model|function|spec] \\
        [--reduce final|energy|order_parameter|full] [--method RK45] [--store DIR] [--dask] [--repeat 5]

A grid ``coupling x seed`` of about ``--points`` points, each a model of ``--n`` units
integrated with ``--method`` over t in [0, 1] from a random state drawn from ``seed``, swept
on all local cores (or, with ``--dask``, on a dask LocalCluster with one single-threaded worker
per core).  ``--build model`` (the default) sweeps a template model (``oh.sweep(model, grid)``: each
point fills the coupling, or alpha for HK, and starts from ``random_state(seed)``);
``--build function`` calls a build function per point (``build(coupling, seed) -> (model, y0)``);
``--build spec`` sweeps a declarative spec with the build ``oscihop sweep`` gives a TOML config
(``oscihop.spec.sweep_kwargs``): each task builds the distinct models once and each point's start
from ``initial.seed``.  The model and template forms give the same numbers; the spec's model is
the same kind and size, its random streams are the spec's.  Reported:

- points/s over the whole call (store creation, worker start-up and the final check included),
  the median of ``--repeat`` sweeps into a new store (and the fastest);
- the rate of one batched solve of the same work (every point's model and state built first, then
  ``oh.solve(oh.stack(models), ...)`` on all cores), timed alternately with the sweeps, and the
  median of the sweep/solve ratios of the pairs (the machine's load drifts between pairs);
- the serial cost of one point (build + solve in this process, no store) and the parallel
  efficiency that implies;
- zarr I/O measured inside the tasks (opening arrays, reading back a partly done chunk,
  writing the chunks and the completion record) as a share of the tasks' time, and the
  driver's own I/O (creating the store, reading the completion record) as a share of wall time.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import sys
import tempfile
import time

import numpy as np

import oscihop as oh
from oscihop.sweep import kuramoto_ring_build


def hk_build(coupling, seed, n=8):
    """A Hopfield-Kuramoto model of ``n`` units (2 patterns, D = 3), alpha = ``coupling``."""
    rng = np.random.default_rng(1234)
    patterns = np.where(rng.random((2, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(patterns, activation="tanh", beta=2.0)
    kur = oh.Kuramoto(3, edges=oh.ring_edges(n), coupling=1.0)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=float(coupling), mode="additive")
    return hk, hk.random_state(seed=int(seed), h_scale=0.3)


def hk_template(n=8):
    """The model of :func:`hk_build`, as a sweep template (alpha and the start filled per point)."""
    return hk_build(1.0, 0, n)[0]


def spec_build(model, n):
    """``(build(coupling, seed), the oscihop sweep build)`` of a spec like :func:`kuramoto_ring_build`
    (or :func:`hk_build`): a config whose coupling (alpha) and ``initial.seed`` are swept."""
    if model == "kuramoto":
        spec = {"model": {"kind": "kuramoto", "n": n}, "kuramoto": {"dim": 2, "graph": "ring", "coupling": 1.0}}
        key = "kuramoto.coupling"
    else:
        spec = {"model": {"kind": "hopfield-kuramoto", "n": n},
                "hopfield": {"patterns": {"count": 2, "seed": 1234}, "beta": 2.0},
                "kuramoto": {"dim": 3, "graph": "ring", "coupling": 1.0},
                "coupling": {"hk_edges": "all", "alpha": 1.0}, "initial": {"h_scale": 0.3}}
        key = "coupling.alpha"
    spec["sweep"] = {"grid": {key: [1.0], "initial.seed": [0]}}
    from oscihop.spec import sweep_kwargs, validate_spec

    build = sweep_kwargs(validate_spec(spec))["build"]
    name = {v: k for k, v in build.names.items()}[key]
    return (lambda coupling, seed: build(**{name: coupling, "seed": seed})), build, name


def serial_cost(build, grid, method, n_sample=300):
    """Mean seconds per point for build + solve in this process (no store), after warm-up."""
    coupling, seeds = grid["coupling"], grid["seed"]
    model, y0 = build(coupling=coupling[0], seed=seeds[0])
    oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=np.linspace(0, 1, 11))
    t = time.perf_counter()
    for k in range(n_sample):
        model, y0 = build(coupling=coupling[k % len(coupling)], seed=seeds[k % len(seeds)])
        oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=np.linspace(0, 1, 11))
    return (time.perf_counter() - t) / n_sample


def batched_problem(build, grid, limit=20_000):
    """(stacked models, starts, seconds to build them) of the points, at most ``limit`` of them,
    evenly spread over the grid (the rate per point does not depend on their count, but it does
    on the coupling)."""
    points = [(c, s) for c in grid["coupling"] for s in grid["seed"]]
    points = points[::math.ceil(len(points) / limit)]
    t = time.perf_counter()
    built = [build(coupling=c, seed=s) for c, s in points]
    t_build = time.perf_counter() - t
    return oh.stack([m for m, _ in built]), np.stack([y for _, y in built]), t_build


def batched_seconds(models, y0s, method, t_eval):
    """Seconds of one ``oh.solve`` of the stacked models (compiled and warm)."""
    t = time.perf_counter()
    oh.solve(models, (0.0, 1.0), y0s, method=method, t_eval=t_eval)
    return time.perf_counter() - t


def du(path):
    total = files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            total += os.path.getsize(os.path.join(root, name))
            files += 1
    return total, files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=8, help="units per model (default 8)")
    ap.add_argument("--model", choices=["kuramoto", "hk"], default="kuramoto")
    ap.add_argument("--reduce", default="final", help="comma-separated reductions (default final)")
    ap.add_argument("--method", default="RK45")
    ap.add_argument("--build", choices=["model", "function", "spec"], default="model",
                    help="sweep a template model (default), call a build function per point, or sweep a config's "
                         "spec as `oscihop sweep` does")
    ap.add_argument("--points-per-task", type=int, default=None)
    ap.add_argument("--store", default=None, help="store directory (default: a temporary one, deleted after)")
    ap.add_argument("--dask", action="store_true", help="run on a dask LocalCluster instead of local processes")
    ap.add_argument("--repeat", type=int, default=5,
                    help="sweeps and batched solves timed, alternating; the medians are reported")
    args = ap.parse_args(argv)

    n_coupling = max(1, int(math.sqrt(args.points)))
    n_seed = math.ceil(args.points / n_coupling)
    grid = {"coupling": np.round(np.linspace(0.1, 3.0, n_coupling), 6).tolist(), "seed": list(range(n_seed))}
    n_points = n_coupling * n_seed
    base = kuramoto_ring_build if args.model == "kuramoto" else hk_build
    import functools

    build = functools.partial(base, n=args.n)
    if args.build == "spec":
        build, spec_sweep_build, spec_name = spec_build(args.model, args.n)
    reduce = args.reduce.split(",")
    tmp = None
    store = args.store
    if store is None:
        tmp = tempfile.mkdtemp(prefix="oscihop-bench-")
        store = os.path.join(tmp, "sweep.zarr")

    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    per_point = serial_cost(build, grid, args.method)
    client = cluster = None
    if args.dask:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=len(os.sched_getaffinity(0)), threads_per_worker=1, processes=True,
                               dashboard_address=":0")
        client = Client(cluster)
    sweep_build, sweep_grid = build, grid
    if args.build == "model":  # the same points: the model with the point's coupling (alpha), from its seed
        if args.model == "kuramoto":
            sweep_build = oh.Kuramoto(2, edges=oh.ring_edges(args.n), coupling=1.0)
        else:
            sweep_build = hk_template(args.n)
            sweep_grid = {"alpha": grid["coupling"], "seed": grid["seed"], "h_scale": [0.3]}
    elif args.build == "spec":
        sweep_build, sweep_grid = spec_sweep_build, {spec_name: grid["coupling"], "seed": grid["seed"]}
    # a 4-point sweep first loads the kernels (as the batched solve below is warmed up first)
    warm_grid = {k: v[:2] for k, v in sweep_grid.items()}
    t = time.perf_counter()
    oh.sweep(sweep_build, grid=warm_grid, store=store + ".warm", t_span=(0.0, 1.0), method=args.method, reduce=reduce,
             client=client, overwrite=True, progress=False,
             points_per_task=4 if client is None else 2)  # stacks: one here, or one per dask worker
    t_warm = time.perf_counter() - t
    shutil.rmtree(store + ".warm", ignore_errors=True)
    def one_sweep(client):
        shutil.rmtree(store, ignore_errors=True)  # each sweep starts from no store (not timed)
        t = time.perf_counter()
        ds = oh.sweep(sweep_build, grid=sweep_grid, store=store, t_span=(0.0, 1.0), method=args.method,
                      reduce=reduce, client=client, points_per_task=args.points_per_task)
        return time.perf_counter() - t, ds

    # sweeps and batched solves alternate, so that both see the same load; each pair gives a ratio
    walls, batch_times, local_walls = [], [], []
    try:
        wall0, ds = one_sweep(client)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # MiB (Linux: KiB), before the batch
        walls.append(wall0)
        models, y0s, t_build = batched_problem(build, grid)
        t_eval = ds["time"].values if "time" in ds.coords else np.array([1.0])
        n_batched = len(y0s)
        oh.solve(oh.stack(models.models[:2]), (0.0, 1.0), y0s[:2], method=args.method, t_eval=t_eval)  # compile
        batch_times.append(batched_seconds(models, y0s, args.method, t_eval))
        for _ in range(max(1, args.repeat) - 1):
            walls.append(one_sweep(client)[0])
            batch_times.append(batched_seconds(models, y0s, args.method, t_eval))
        if client is not None:  # the same sweep without dask, alternating with dask runs
            for _ in range(max(1, args.repeat)):
                local_walls.append(one_sweep(None)[0])
                wall_k, ds = one_sweep(client)
                walls.append(wall_k)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    wall = float(np.median(walls))
    local_wall = float(np.median(local_walls)) if local_walls else None
    batch_rate = n_batched / float(np.median(batch_times))
    ratios = [(w / n_points) / (b / n_batched) for w, b in zip(walls, batch_times)]
    run = ds.attrs["sweep_run"]
    rate = n_points / wall
    assert ds.attrs["complete"] and run["computed"] == n_points, run
    size, files = du(store)
    workers = run["workers"]
    rows = [
        ("points", f"{n_points}  ({n_coupling} couplings x {n_seed} seeds)"),
        ("model", f"{args.model}, N={args.n}, size={ds.attrs['oscihop_sweep']['model']['size']}, {args.method}, "
                  f"t in [0, 1], reduce={reduce}"),
        ("build", {"model": "a template model (oh.sweep(model, grid))",
                   "function": "a build function called per point",
                   "spec": "a config's spec, as `oscihop sweep` builds it (each model once, starts per point)"}
                  [args.build]),
        ("executor", f"{run['executor']}, {workers} workers, {run['tasks']} tasks x {run['points_per_task']} points"),
        ("wall time", f"{wall:.2f} s, median of {len(walls)} sweeps (fastest {min(walls):.2f} s; after a 4-point "
                      f"warm-up sweep of {t_warm:.2f} s: kernel loads, pool start)"),
        ("throughput", f"{rate:,.0f} points/s"),
        ("batched solve", f"{batch_rate:,.0f} points/s: one oh.solve(oh.stack(models)) of the same "
                          f"{'' if n_batched == n_points else f'{n_batched:,} (evenly spread) '}points on all cores, "
                          f"median of {len(batch_times)} (building them took {t_build:.2f} s more)"),
        *([("dask / local", f"{local_wall / wall:.0%} of the same sweep without dask ({n_points / local_wall:,.0f} "
                            f"points/s, median of {len(local_walls)} runs alternating with the dask runs)")]
          if local_wall else []),
        ("sweep / batched", f"{float(np.median(ratios)):.1f}x slower than the batched solve (median of the "
                            f"{len(ratios)} sweep/solve pairs run one after the other; pairs "
                            f"{min(ratios):.1f}-{max(ratios):.1f}x)"),
        ("serial cost/point", f"{per_point * 1e3:.3f} ms (build function + solve, no store) -> ideal "
                              f"{workers / per_point:,.0f} points/s on {workers} workers"),
        ("steady-state rate", f"{n_points / (run['task_s'] / workers):,.0f} points/s inside the tasks; fixed cost "
                              f"{wall - run['task_s'] / workers:.2f} s (probe, store creation, pool start-up, "
                              "final check and open)"),
        ("task time (sum)", f"{run['task_s']:.2f} s wall, {run['task_cpu_s']:.2f} s CPU "
                            f"(CPU/wall {run['task_cpu_s'] / run['task_s']:.0%}; < 100%: waiting for a core or disk)"),
        ("zarr I/O in tasks", f"{run['task_io_s']:.2f} s = {run['task_io_s'] / run['task_s']:.1%} of task time"),
        ("driver I/O", f"{run['driver_io_s']:.2f} s = {run['driver_io_s'] / wall:.1%} of wall time"),
        ("I/O share of wall", f"{(run['task_io_s'] / max(workers, 1) + run['driver_io_s']) / wall:.1%} "
                              "(task I/O spread over the workers + driver I/O)"),
        ("store", f"{size / 2**20:.2f} MiB in {files} files"),
        ("peak memory", f"{peak:,.0f} MiB resident in this process after the sweep"),
        ("load average", f"{load_before:.2f} before the run (other processes competing for the cores)"),
    ]
    if args.build == "function":  # the serial cost above is this sweep's own per-point work
        at = [k for k, _ in rows].index("serial cost/point") + 1
        rows.insert(at, ("parallel efficiency", f"{(n_points / wall) / (workers / per_point):.0%} of ideal"))
    width = max(len(k) for k, _ in rows)
    print(f"oh.sweep benchmark  (python {sys.version.split()[0]}, oscihop {oh.__version__}, "
          f"{len(os.sched_getaffinity(0))} cores)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
