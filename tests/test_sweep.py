"""``oh.sweep`` / ``oh.open_sweep``: resumable parameter sweeps into one zarr store.

Every stored number is checked against ``oh.solve`` on the same point, bit for bit: the sweep
integrates the points of one structure as a stack of models (``oh.stack``), each member with its
own parameters in the same compiled loop as a solve of that point alone.  The kill test runs a sweep in a
subprocess, SIGKILLs it once some but not all points are recorded done, runs the same command
again, and checks that no finished point was built twice and that the store equals an
uninterrupted run.  Build functions live in ``tests/sweep_models.py`` (workers import them).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import oscihop as oh
from oscihop.sweep import DONE, LOCK_NAME
from oscihop.sweep.lock import _StoreLock

import sweep_models as sm

GRID = {"coupling": [0.5, 1.0, 2.0], "seed": [0, 1, 2, 3]}
T_SPAN = (0.0, 2.0)
T_EVAL = np.linspace(0.0, 2.0, 5)


def direct(build, params, t_eval=T_EVAL, t_span=T_SPAN, **kw):
    model, y0 = build(**params)
    return model, oh.solve(model, t_span, y0, t_eval=t_eval, **kw)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """The reference grid sweep on the default executor (local processes), reduce='full'."""
    store = tmp_path_factory.mktemp("grid") / "grid.zarr"
    ds = oh.sweep(sm.kuramoto_build, grid=GRID, store=store, t_span=T_SPAN, t_eval=T_EVAL, progress=False)
    return store, ds


def assert_same_store(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    for name in a.coords:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


# ------------------------------------------------------------------------- results
def test_grid_full_matches_solve(grid_run):
    store, ds = grid_run
    assert ds["y"].dims == ("coupling", "seed", "time", "state")
    assert ds["energy"].dims == ("coupling", "seed", "time")
    np.testing.assert_array_equal(ds["coupling"].values, GRID["coupling"])
    np.testing.assert_array_equal(ds["seed"].values, GRID["seed"])
    np.testing.assert_array_equal(ds["time"].values, T_EVAL)
    assert ds.attrs["complete"] and ds.attrs["n_done"] == 12 == ds.attrs["n_points"]
    assert ds.attrs["sweep_run"]["computed"] == 12
    assert bool(ds["done"].all())
    for c in GRID["coupling"]:
        for s in GRID["seed"]:
            _, sol = direct(sm.kuramoto_build, {"coupling": c, "seed": s})
            pt = ds.sel(coupling=c, seed=s)
            np.testing.assert_array_equal(pt["y"].values, sol.states)
            sm.assert_same_energy(pt["energy"].values, sol.energy)
            assert int(pt["nfev"]) == sol.nfev and int(pt["nsteps"]) == sol.nsteps
            assert int(pt["status"]) == sol.status
    reopened = oh.open_sweep(store)
    assert_same_store(ds, reopened)
    assert reopened.attrs["oscihop_sweep"]["definition"]["method"] == "RK45"


def test_mixed_structures_in_one_sweep_match_solve(tmp_path):
    """Points of two structures in every task: each group is one stack, and every point equals its
    own solve."""
    grid = {"graph": ["ring", "complete"], "coupling": [0.5, 1.5], "seed": [0, 1, 2]}
    ds = oh.sweep(sm.mixed_build, grid=grid, store=tmp_path / "mixed.zarr", t_span=(0.0, 1.0),
                  t_eval=[0.0, 0.5, 1.0], reduce=["final", "energy", "order_parameter"], progress=False)
    assert ds.attrs["complete"] and bool((ds["outcome"] == DONE).all())
    for g in grid["graph"]:
        for c in grid["coupling"]:
            for s in grid["seed"]:
                model, sol = direct(sm.mixed_build, {"graph": g, "coupling": c, "seed": s}, t_span=(0.0, 1.0),
                                    t_eval=[0.0, 0.5, 1.0])
                pt = ds.sel(graph=g, coupling=c, seed=s)
                np.testing.assert_array_equal(pt["y_final"].values, sol.states[-1])
                sm.assert_same_energy(pt["energy"].values, sol.energy)
                np.testing.assert_array_equal(pt["order_parameter"].values, model.order_parameter(sol.states))
                assert int(pt["nfev"]) == sol.nfev and int(pt["status"]) == sol.status


def test_task_solves_each_structure_as_one_stack(monkeypatch):
    """Inside a task: one batched solve per structure, not one per point; a stack whose solve
    raises is solved point by point, so the error lands on the point that causes it."""
    from oscihop.sweep import runner

    calls = []
    real = runner.solve

    def counting(model, *args, **kw):
        calls.append(len(model) if isinstance(model, oh.ModelStack) else 1)
        return real(model, *args, **kw)

    def per_point(n, singles, stacks):  # the results in point order: stacks member by member
        out = [None] * n
        for i, res in singles:
            out[i] = res
        for positions, models, sol in stacks:
            for b, i in enumerate(positions):
                out[i] = (DONE, "", models[b], sol.member(b))
        return out

    monkeypatch.setattr(runner, "solve", counting)
    task = {"build": sm.mixed_build, "ref": None, "dtype": "float64", "t_span": (0.0, 1.0),
            "solve_times": np.array([0.5, 1.0]), "method": "RK45", "solve_kwargs": {"backend": "cpu"}}
    points = [{"graph": g, "coupling": c, "seed": 0} for c in (0.5, 1.0, 1.5) for g in ("ring", "complete")]
    singles, stacks = runner._run_points(task, points)
    assert sorted(calls) == [3, 3] and not singles and len(stacks) == 2
    results = per_point(len(points), singles, stacks)
    for params, (outcome, message, model, sol) in zip(points, results):
        assert outcome == DONE and message == ""
        ref = oh.solve(model, (0.0, 1.0), sm.mixed_build(**params)[1], t_eval=[0.5, 1.0])
        np.testing.assert_array_equal(sol.states, ref.states)
        np.testing.assert_array_equal(sol.energy, ref.energy)

    calls.clear()

    def failing(model, *args, **kw):
        calls.append(len(model) if isinstance(model, oh.ModelStack) else 1)
        if isinstance(model, oh.ModelStack) or model.parameters()["coupling"][0] == 1.0:
            raise RuntimeError("no solve here")
        return real(model, *args, **kw)

    monkeypatch.setattr(runner, "solve", failing)
    singles, stacks = runner._run_points(task, points[:4])
    assert not stacks
    results = per_point(4, singles, stacks)
    assert calls == [2, 1, 1, 2, 1, 1]  # each stack of 2, then its points one by one
    outcomes = [r[0] for r in results]
    assert outcomes == [DONE, DONE, runner.FAILED, runner.FAILED]
    assert "`oh.solve` raised RuntimeError: no solve here" in results[2][1]


def test_points_reductions_match_solve(tmp_path):
    pts = [{"alpha": 0.1, "seed": 3}, {"alpha": 0.5, "seed": 1}, {"alpha": 0.0, "seed": 2},
           {"alpha": 1.0, "seed": 0}, {"alpha": 0.3, "seed": 9}]
    t_eval = [0.0, 0.5, 1.0]  # final at t1 = 1.5 is appended to the solver's output times
    ds = oh.sweep(sm.hk_build, points=pts, store=tmp_path / "pts.zarr", t_span=(0, 1.5), t_eval=t_eval,
                  method="Tsit5", reduce=["final", "energy", "order_parameter"], points_per_task=2, rtol=1e-6,
                  progress=False)
    assert set(ds.data_vars) == {"y_final", "energy", "order_parameter", "status", "nfev", "nsteps", "outcome",
                                 "message", "done", "h_final", "x_final"}  # HK: y_final split by unit too
    assert ds["y_final"].dims == ("point", "state") and ds["energy"].dims == ("point", "time")
    assert ds.attrs["oscihop_sweep"]["chunks"] == [2]
    np.testing.assert_array_equal(ds["alpha"].values, [p["alpha"] for p in pts])
    np.testing.assert_array_equal(ds["seed"].values, [p["seed"] for p in pts])
    assert "alpha" in ds.coords and "seed" in ds.coords
    for i, p in enumerate(pts):
        model, sol = direct(sm.hk_build, p, t_eval=[0.0, 0.5, 1.0, 1.5], t_span=(0, 1.5), method="Tsit5",
                            rtol=1e-6)
        pt = ds.isel(point=i)
        np.testing.assert_array_equal(pt["y_final"].values, sol.states[-1])
        sm.assert_same_energy(pt["energy"].values, sol.energy[:3])
        np.testing.assert_array_equal(pt["order_parameter"].values, model.order_parameter(sol.states[:3]))
        assert int(pt["nfev"]) == sol.nfev


def test_final_only_and_default_times(tmp_path):
    ds = oh.sweep(sm.kuramoto_build, grid={"coupling": [1.0, 3.0], "seed": [5]}, store=tmp_path / "f.zarr",
                  t_span=(0, 1), reduce="final", progress=False)
    assert "time" not in ds.dims and set(ds["y_final"].dims) == {"coupling", "seed", "state"}
    for c in (1.0, 3.0):
        _, sol = direct(sm.kuramoto_build, {"coupling": c, "seed": 5}, t_eval=[1.0], t_span=(0, 1))
        np.testing.assert_array_equal(ds["y_final"].sel(coupling=c, seed=5).values, sol.states[-1])
    # a time curve without t_eval: 11 equally spaced outputs over t_span
    ds = oh.sweep(sm.hopfield_build, grid={"beta": [1.0, 2.0, 4.0], "seed": [0, 1]}, store=tmp_path / "e.zarr",
                  t_span=(0, 3), reduce="energy", method="RK4", dt=0.05, progress=False)
    np.testing.assert_array_equal(ds["time"].values, np.linspace(0, 3, 11))
    _, sol = direct(sm.hopfield_build, {"beta": 4.0, "seed": 1}, t_eval=np.linspace(0, 3, 11), t_span=(0, 3),
                    method="RK4", dt=0.05)
    sm.assert_same_energy(ds["energy"].sel(beta=4.0, seed=1).values, sol.energy)
    assert np.all(np.diff(ds["energy"].values, axis=-1) <= 1e-12)  # Lyapunov: energies never increase


def test_async_binary_hopfield(tmp_path):
    ds = oh.sweep(sm.binary_build, grid={"flip": [0.0, 0.25, 0.5], "seed": [0, 1]}, store=tmp_path / "b.zarr",
                  t_span=(0, 5), method="async", seed=3, reduce=["final", "energy"], points_per_task=6,
                  progress=False)
    np.testing.assert_array_equal(ds["time"].values, np.arange(6.0))  # default times: whole sweeps
    for f in (0.0, 0.25, 0.5):
        for s in (0, 1):
            _, sol = direct(sm.binary_build, {"flip": f, "seed": s}, t_eval=np.arange(6.0), t_span=(0, 5),
                            method="async", seed=3)
            np.testing.assert_array_equal(ds["y_final"].sel(flip=f, seed=s).values, sol.states[-1])
            sm.assert_same_energy(ds["energy"].sel(flip=f, seed=s).values, sol.energy)


def test_dask_local_cluster_matches_local_run(grid_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    _, ref = grid_run
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        ds = oh.sweep(sm.kuramoto_build, grid=GRID, store=tmp_path / "dask.zarr", t_span=T_SPAN, t_eval=T_EVAL,
                      client=client, points_per_task=5, progress=False)
        assert ds.attrs["sweep_run"]["executor"] == "dask"
        assert ds.attrs["oscihop_sweep"]["chunks"] == [1, 4]
        assert_same_store(ds, ref)
        # a scheduler address: the sweep opens (and closes) its own client
        ds2 = oh.sweep(sm.kuramoto_build, grid=GRID, store=tmp_path / "addr.zarr", t_span=T_SPAN, t_eval=T_EVAL,
                       scheduler=cluster.scheduler_address, progress=False)
        assert_same_store(ds2, ref)
        # a template sweep: one stack per worker, the same numbers
        ds3 = oh.sweep(sm.kuramoto_template(), grid=GRID, store=tmp_path / "template.zarr", t_span=T_SPAN,
                       t_eval=T_EVAL, client=client, progress=False)
        run = ds3.attrs["sweep_run"]
        assert run["executor"] == "dask" and run["points_per_task"] == 4  # 12 / 2 workers, as whole rows of 4
        assert_same_store(ds3, ref)
        # the driver creates a new store while the workers compute: its failure is the sweep's error, the
        # workers write nothing, and the same sweep then runs from the start
        api = sys.modules["oscihop.sweep.api"]

        def full_disk(*args):
            raise OSError("No space left on device")

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(api, "_write_store", full_disk)
            with pytest.raises(OSError, match="No space left"):
                oh.sweep(sm.kuramoto_build, grid=GRID, store=tmp_path / "fail.zarr", t_span=T_SPAN, t_eval=T_EVAL,
                         client=client, points_per_task=5, progress=False)
        assert not (tmp_path / "fail.zarr").exists()  # nothing written: the directory it made is gone
        again = oh.sweep(sm.kuramoto_build, grid=GRID, store=tmp_path / "fail.zarr", t_span=T_SPAN, t_eval=T_EVAL,
                         client=client, points_per_task=5, progress=False)
        assert again.attrs["sweep_run"]["computed"] == 12
        assert_same_store(again, ref)


# ------------------------------------------------------------------ resume and safety
def done_mask(store):
    """The completion record of a sweep store, read straight from its ``outcome`` array."""
    return sm.read_outcome(store) == DONE


def _done_count(store):
    outcome = sm.read_outcome(store)
    return -1 if outcome is None else int((outcome == DONE).sum())


def test_sigkill_then_resume(tmp_path):
    store = str(tmp_path / "kill.zarr")
    markers = tmp_path / "markers"
    markers.mkdir()
    cmd, env = sm.kill_command(store, markers)
    total = 200
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed_at = None
    while time.monotonic() < deadline:
        n = _done_count(store)
        if n >= 24:
            proc.send_signal(signal.SIGKILL)
            killed_at = n
            break
        assert proc.poll() is None, "the sweep finished before it could be killed: " + proc.stderr.read().decode()
        time.sleep(0.01)
    proc.communicate(timeout=30)  # returns once every holder of its pipes (the workers too) has exited
    assert killed_at is not None, "no point was done within the time limit"
    time.sleep(0.5)
    done_after_kill = done_mask(store)
    n_done = int(done_after_kill.sum())
    assert 0 < n_done < total, n_done
    time.sleep(0.5)  # the workers died with the driver: nothing changes any more
    np.testing.assert_array_equal(done_mask(store), done_after_kill)
    assert os.path.exists(os.path.join(store, LOCK_NAME))  # left behind by the killed driver: stale

    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr.decode()
    ds = oh.open_sweep(store)
    assert ds.attrs["complete"] and not os.path.exists(os.path.join(store, LOCK_NAME))

    # no point done at the kill was built again; every point was built by a worker at least once
    driver_pid = str(proc.pid)  # the first driver builds point 0 once to check the definition
    grid = sm.KILL_GRID
    for i, c in enumerate(grid["coupling"]):
        for j, s in enumerate(grid["seed"]):
            path = markers / f"{c!r}_{s!r}"
            pids = path.read_text().split() if path.exists() else []
            builds = len([p for p in pids if p != driver_pid])
            if done_after_kill[i, j]:
                assert builds == 1, (c, s, pids)
            else:
                assert builds >= 1, (c, s, pids)

    ref = oh.sweep(sm.kuramoto_build, grid=grid, store=tmp_path / "ref.zarr",
                   **{**sm.KILL_OPTIONS, "points_per_task": 200})  # chunking does not change the numbers
    sm.assert_same_as_reference(ds, ref)


def test_rerun_skips_done_points(tmp_path):
    store = tmp_path / "again.zarr"
    kw = dict(grid={"coupling": [0.5, 1.0], "seed": [0, 1, 2]}, store=store, t_span=(0, 1), reduce="final",
              progress=False)
    first = oh.sweep(sm.kuramoto_build, **kw)
    again = oh.sweep(sm.kuramoto_build, **kw)
    assert first.attrs["sweep_run"]["computed"] == 6
    assert again.attrs["sweep_run"]["computed"] == 0 and again.attrs["sweep_run"]["tasks"] == 0
    assert_same_store(first, again)
    # a partly done chunk: forget two points, the rerun recomputes exactly those
    outcome = zarr.open_array(os.path.join(store, "outcome"), mode="r+").with_config({"write_empty_chunks": True})
    outcome[0, 1:] = 0  # not run
    third = oh.sweep(sm.kuramoto_build, **kw)
    assert third.attrs["sweep_run"]["computed"] == 2
    assert_same_store(first, third)


def test_lock_refuses_second_sweep(tmp_path):
    store = tmp_path / "locked.zarr"
    store.mkdir()
    kw = dict(grid={"coupling": [1.0], "seed": [0]}, store=store, t_span=(0, 1), reduce="final", progress=False)
    with _StoreLock(str(store)):  # a live holder (this process, a different open file)
        with pytest.raises(RuntimeError, match="in use: lock file .*oscihop.lock.* delete"):
            oh.sweep(sm.kuramoto_build, **kw)
    lock = store / LOCK_NAME
    # a lock left by a process of this host that is gone is taken over
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "earlier"}))
    assert oh.sweep(sm.kuramoto_build, **kw).attrs["complete"]
    assert not lock.exists()
    # a lock of a live process, or from another machine, is respected
    for info in ({"pid": os.getppid(), "host": socket.gethostname()}, {"pid": 1, "host": "elsewhere.example"}):
        lock.write_text(json.dumps(info))
        with pytest.raises(RuntimeError, match=f"pid {info['pid']} on host '{info['host']}'"):
            oh.sweep(sm.kuramoto_build, **kw)
    lock.unlink()


def test_definition_mismatch(tmp_path):
    store = tmp_path / "def.zarr"
    kw = dict(grid={"coupling": [1.0, 2.0], "seed": [0]}, store=store, t_span=(0, 1), reduce="final", progress=False,
              points_per_task=2)
    first = oh.sweep(sm.kuramoto_build, **kw)
    with pytest.raises(ValueError, match=r'holds a different sweep; differs in: method \(store: "RK45", now: "RK23"\)'):
        oh.sweep(sm.kuramoto_build, **kw, method="RK23")
    with pytest.raises(ValueError, match=r"differs in: values"):
        oh.sweep(sm.kuramoto_build, **{**kw, "grid": {"coupling": [1.0, 3.0], "seed": [0]}})
    with pytest.raises(ValueError, match=r"differs in: solve_options"):
        oh.sweep(sm.kuramoto_build, **kw, rtol=1e-8)
    ds = oh.sweep(sm.kuramoto_build, **kw, method="RK23", overwrite=True)
    assert ds.attrs["oscihop_sweep"]["definition"]["method"] == "RK23" and ds.attrs["complete"]
    assert ds.attrs["sweep_run"]["computed"] == 2 and first.attrs["complete"]


def test_foreign_and_corrupted_stores(tmp_path):
    kw = dict(grid={"coupling": [1.0], "seed": [0]}, t_span=(0, 1), reduce="final", progress=False)
    # a directory with other things in it is never touched, even with overwrite=True
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match="not an oscihop sweep store.*never deletes"):
            oh.sweep(sm.kuramoto_build, store=other, overwrite=overwrite, **kw)
    assert (other / "notes.txt").read_text() == "keep me"
    # a zarr store written by something else
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(foreign, mode="w").create_array("a", shape=(2,), dtype="f8")
    with pytest.raises(ValueError, match="zarr store that oh.sweep did not write"):
        oh.sweep(sm.kuramoto_build, store=foreign, **kw)
    with pytest.raises(ValueError, match="not an oscihop sweep store"):
        oh.open_sweep(foreign)
    # a file, a missing path, an empty directory
    (tmp_path / "file.zarr").write_text("x")
    with pytest.raises(ValueError, match="not a directory"):
        oh.sweep(sm.kuramoto_build, store=tmp_path / "file.zarr", **kw)
    with pytest.raises(ValueError, match="does not exist"):
        oh.open_sweep(tmp_path / "missing.zarr")
    # corrupted metadata, then a corrupted chunk of the completion record
    store = tmp_path / "bad.zarr"
    oh.sweep(sm.kuramoto_build, store=store, **kw)
    meta = (store / "zarr.json").read_bytes()
    (store / "zarr.json").write_bytes(meta[: len(meta) // 2])
    with pytest.raises(ValueError, match="corrupted: its zarr.json cannot be read.*overwrite=True"):
        oh.sweep(sm.kuramoto_build, store=store, **kw)
    with pytest.raises(ValueError, match="corrupted"):
        oh.open_sweep(store)
    (store / "zarr.json").write_bytes(meta)
    # an array's metadata gone: only overwrite=True helps
    meta = (store / "nfev" / "zarr.json").read_bytes()
    (store / "nfev" / "zarr.json").unlink()
    with pytest.raises(ValueError, match="corrupted: array 'nfev' is missing"):
        oh.open_sweep(store)
    with pytest.raises(ValueError, match="corrupted.*nfev.*overwrite=True"):
        oh.sweep(sm.kuramoto_build, store=store, **kw)
    assert oh.sweep(sm.kuramoto_build, store=store, overwrite=True, **kw).attrs["complete"]


def test_interrupted_creation_is_redone(tmp_path):
    """A store whose creation (or overwrite) was killed half-way is recognised and recreated."""
    store = tmp_path / "half.zarr"
    kw = dict(grid={"coupling": [1.0, 2.0], "seed": [0]}, store=store, t_span=(0, 1), reduce="final",
              points_per_task=2, progress=False)
    ref = oh.sweep(sm.kuramoto_build, **kw)
    meta = json.loads((store / "zarr.json").read_text())
    meta["attributes"]["oscihop_sweep"]["initialized"] = False
    (store / "zarr.json").write_text(json.dumps(meta))
    (store / "outcome" / "zarr.json").unlink()
    with pytest.raises(ValueError, match="not fully created.*run the sweep again"):
        oh.open_sweep(store)
    again = oh.sweep(sm.kuramoto_build, **{**kw, "method": "RK23"})  # any definition may take it over
    assert again.attrs["complete"] and again.attrs["sweep_run"]["computed"] == 2
    again = oh.sweep(sm.kuramoto_build, **kw, overwrite=True)
    assert_same_store(again, ref)


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("kwargs, match", [
    (dict(grid={"coupling": [1.0]}, points=[{"coupling": 1.0}]), "exactly one of `grid`.*both"),
    (dict(), "exactly one of `grid`.*neither"),
    (dict(grid={}), "non-empty dict"),
    (dict(grid={"1x": [1]}), "identifiers.*'1x'"),
    (dict(grid={"time": [1]}), "reserved"),
    (dict(grid={"coupling": 1.0}), "1-D list.*coupling=\\[1.0\\]"),
    (dict(grid={"coupling": [[1.0, 2.0]]}), "'coupling' must be 1-D"),
    (dict(grid={"coupling": []}), "'coupling' has no values"),
    (dict(grid={"coupling": [1.0, 2.0, 1.0]}), "'coupling' repeats the value 1.0"),
    (dict(grid={"coupling": [1.0, np.nan]}), "'coupling' must be finite"),
    (dict(grid={"coupling": [1.0, None]}), "numbers, booleans or strings"),
    (dict(points=[]), "non-empty list"),
    (dict(points=[{"coupling": 1.0, "seed": 0}, {"coupling": 2.0}]), r"points\[1\].*missing \['seed'\]"),
    (dict(points=[{"coupling": 1.0, "seed": 0}, {"coupling": 1.0, "seed": 0}]), "same point"),
    (dict(grid={"coupling": [1.0]}, reduce="mean"), "`reduce` must be one of"),
    (dict(grid={"coupling": [1.0]}, reduce=[]), "`reduce` must be one of"),
    (dict(grid={"coupling": [1.0]}, t_span=(1, 0)), "`t_span`"),
    (dict(grid={"coupling": [1.0]}, t_eval=[0.5, 0.2]), "`t_eval` must be strictly increasing"),
    (dict(grid={"coupling": [1.0]}, t_span=None), "`t_span` is required"),
    (dict(grid={"coupling": [1.0]}, t_eval=[0.0, 3.0]), "`t_eval` must lie within t_span"),
    (dict(grid={"coupling": [1.0]}, method="RK99"), "`method` must be one of"),
    (dict(grid={"coupling": [1.0]}, points_per_task=0), "`points_per_task` must be an integer >= 1"),
    (dict(grid={"coupling": [1.0]}, client=object(), scheduler="tcp://x:1"), "`client` or `scheduler`"),
    (dict(grid={"coupling": [1.0]}, progress="yes"), "`progress`"),
    (dict(grid={"coupling": [1.0]}, store=None), "`store` is required"),
    (dict(grid={"coupling": [1.0]}, method="async"), "`seed` is required with method='async'"),
    (dict(grid={"coupling": [1.0]}, t_eval=[0.0, 1.0], reduce="energy", t_span=(0, 1), y0=[1.0]),
     "`y0` cannot be passed"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    kw = dict(store=tmp_path / "s.zarr", t_span=(0, 1), progress=False)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        oh.sweep(sm.kuramoto_build, **kw)


def test_first_point_checks(tmp_path):
    """Errors that concern every point are raised before anything is written."""
    kw = dict(t_span=(0, 1), progress=False)
    with pytest.raises(ValueError, match="order_parameter.*needs oscillators.*beta=1.0"):
        oh.sweep(sm.hopfield_build, grid={"beta": [1.0], "seed": [0]}, store=tmp_path / "a.zarr",
                 reduce="order_parameter", **kw)
    with pytest.raises(ValueError, match="`dt` is required"):
        oh.sweep(sm.kuramoto_build, grid={"coupling": [1.0], "seed": [0]}, store=tmp_path / "b.zarr",
                 method="Euler", **kw)
    with pytest.raises(ValueError, match="counts sweeps for method='async'"):  # checked on the real t_span
        oh.sweep(sm.binary_build, grid={"flip": [0.0], "seed": [0]}, store=tmp_path / "e.zarr", method="async",
                 seed=1, **{**kw, "t_span": (0, 2.5)})
    with pytest.raises(ValueError, match=r"No point .* could be built.*first point \{coupling=1.0\}: "
                                         r"`build` must return \(model, y0\)"):
        oh.sweep(sm.bad_build, grid={"coupling": [1.0]}, store=tmp_path / "c.zarr", **kw)
    with pytest.raises(ValueError, match=r"\{coupling=2.0\}: `build` must return one initial state y0 of "
                                         r"shape \(8,\); y0 has shape \(2, 8\)"):
        oh.sweep(sm.bad_build, grid={"coupling": [2.0]}, store=tmp_path / "d.zarr", **kw)
    assert not any(tmp_path.iterdir())  # a sweep that fails before writing leaves no directory behind


def test_progress_bar_quiet_off_terminal(tmp_path, capfd):
    kw = dict(grid={"coupling": [1.0, 2.0], "seed": [0]}, t_span=(0, 1), reduce="final", points_per_task=2)
    oh.sweep(sm.kuramoto_build, store=tmp_path / "a.zarr", **kw)  # progress=None: stderr is not a terminal
    assert "pt/s" not in capfd.readouterr().err
    oh.sweep(sm.kuramoto_build, store=tmp_path / "b.zarr", progress=True, **kw)
    err = capfd.readouterr().err
    assert "2/2" in err and "sweep" in err


def test_spec_dict_build_calls_build_from_spec(monkeypatch):
    import types

    from oscihop.sweep.definition import _SpecBuild

    calls = []
    fake = types.ModuleType("oscihop.spec")
    fake.build_from_spec = lambda spec, **params: calls.append((spec, params)) or sm.kuramoto_build(**params)
    monkeypatch.setitem(sys.modules, "oscihop.spec", fake)
    model, y0 = _SpecBuild({"model": "kuramoto"})(coupling=1.0, seed=2)
    assert calls == [({"model": "kuramoto"}, {"coupling": 1.0, "seed": 2})] and y0.shape == (model.size,)


def test_example_build_keeps_the_identity_its_stores_record():
    """A sweep's fingerprint records its build as ``module:qualname``: stores written with
    ``kuramoto_ring_build`` before oscihop.sweep became a package must still resume."""
    from oscihop.sweep import kuramoto_ring_build
    from oscihop.sweep.definition import _build_identity

    assert _build_identity(kuramoto_ring_build) == {"callable": "oscihop.sweep:kuramoto_ring_build"}
