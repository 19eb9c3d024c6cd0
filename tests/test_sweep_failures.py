"""A failing sweep point is recorded, the sweep goes on, and a re-run retries it (issue 14, defect 5).

Each kind of failure (``build`` raises, returns None or something that is not a model, a model
of another size or kind than the first point's, a bad ``y0``; ``oh.solve`` fails or diverges)
is recorded per point in ``outcome`` and ``message``, reported at the end (a warning and
``attrs``), never counted as done, and retried by the next run of the same sweep.  The kill test
SIGKILLs a sweep in which some points fail: no done point is lost or rebuilt, and the resumed
store equals an uninterrupted run.  Build functions live in ``tests/sweep_models.py``.
"""
import os
import re
import signal
import subprocess
import time
import warnings

import numpy as np
import pytest

import oscihop as oh
from oscihop.sweep import DONE, FAILED, NOT_RUN, PENDING, SOLVE_FAILED

import sweep_models as sm

CASES = ["ok", *sm.FAILURE_CASES]
KW = dict(t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], reduce=["final", "energy"], progress=False, workers=1)


def run(build, store, **kw):
    """``oh.sweep`` returning (dataset, the failure warnings it gave)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = oh.sweep(build, store=store, **{**KW, **kw})
    return ds, [str(w.message) for w in caught if "failed and are recorded" in str(w.message)]


def builds(markers):
    """{marker name: number of builds} from the marker files."""
    return {p.name: len(p.read_text().split()) for p in markers.iterdir()}


@pytest.fixture
def markers(tmp_path, monkeypatch):
    path = tmp_path / "markers"
    path.mkdir()
    monkeypatch.setenv("OSCIHOP_SWEEP_MARKERS", str(path))
    monkeypatch.delenv("OSCIHOP_SWEEP_FIXED", raising=False)
    return path


def test_each_failure_is_recorded_and_the_sweep_goes_on(tmp_path, markers):
    ds, warned = run(sm.case_build, tmp_path / "cases.zarr", grid={"case": CASES, "seed": [0, 1]}, points_per_task=3)
    n_bad = 2 * len(sm.FAILURE_CASES)
    assert ds["outcome"].dims == ("case", "seed") and ds["message"].dims == ("case", "seed")
    for case in CASES:
        for seed in (0, 1):
            pt = ds.sel(case=case, seed=seed)
            if case == "ok":
                assert int(pt["outcome"]) == DONE and str(pt["message"].values) == "" and bool(pt["done"])
                model, y0 = sm.case_build("ok", seed)
                sol = oh.solve(model, (0.0, 1.0), y0, t_eval=[0.0, 0.5, 1.0])
                np.testing.assert_array_equal(pt["y_final"].values, sol.states[-1])
                sm.assert_same_energy(pt["energy"].values, sol.energy)
                continue
            assert int(pt["outcome"]) == FAILED and not bool(pt["done"]), case
            assert re.search(sm.FAILURE_CASES[case], str(pt["message"].values)), (case, str(pt["message"].values))
            assert np.isnan(pt["y_final"].values).all() and np.isnan(pt["energy"].values).all()
            assert int(pt["status"]) == NOT_RUN and int(pt["nfev"]) == -1 and int(pt["nsteps"]) == -1
    # reported at the end: the attributes and one warning naming the count and the first points
    assert ds.attrs["n_failed"] == n_bad and ds.attrs["n_done"] == 2 and not ds.attrs["complete"]
    assert ds.attrs["sweep_run"]["computed"] == 2 * len(CASES) and ds.attrs["sweep_run"]["failed"] == n_bad
    assert len(warned) == 1
    assert f"{n_bad} of {2 * len(CASES)} points" in warned[0] and "{case='raise', seed=0}" in warned[0]
    assert "Run the same sweep again to retry them" in warned[0]
    # open_sweep shows the same record
    again = oh.open_sweep(tmp_path / "cases.zarr")
    np.testing.assert_array_equal(again["outcome"].values, ds["outcome"].values)
    np.testing.assert_array_equal(again["message"].values, ds["message"].values)


def test_rerun_retries_only_failures_and_completes_once_build_is_fixed(tmp_path, markers, monkeypatch):
    store = tmp_path / "retry.zarr"
    grid = {"case": ["ok", "raise", "none", "kind"], "seed": [0, 1, 2]}
    first, warned = run(sm.case_build, store, grid=grid, points_per_task=2)
    assert first.attrs["n_failed"] == 9 and warned
    after_first = builds(markers)
    # the same sweep again, build not fixed: the failed points (only) are built again, and fail again
    second, warned = run(sm.case_build, store, grid=grid, points_per_task=2)
    assert second.attrs["sweep_run"]["computed"] == 9 and second.attrs["sweep_run"]["failed"] == 9 and warned
    after_second = builds(markers)
    for name, count in after_second.items():
        case = name.split("_")[0]
        assert count - after_first[name] == (0 if case == "ok" else 1), name
    np.testing.assert_array_equal(second["outcome"].values, first["outcome"].values)
    # build fixed: the re-run computes exactly the failed points and completes
    monkeypatch.setenv("OSCIHOP_SWEEP_FIXED", "1")
    third, warned = run(sm.case_build, store, grid=grid, points_per_task=2)
    assert not warned and third.attrs["complete"] and third.attrs["n_failed"] == 0
    assert third.attrs["sweep_run"]["computed"] == 9 and third.attrs["sweep_run"]["failed"] == 0
    assert (third["outcome"].values == DONE).all() and (third["message"].values == "").all()
    assert all(builds(markers)[f"ok_{s}"] == after_first[f"ok_{s}"] for s in (0, 1, 2))
    # and the store equals a sweep run with the fixed build from the start
    clean, _ = run(sm.case_build, tmp_path / "clean.zarr", grid=grid, points_per_task=2)
    for name in ("y_final", "energy", "status", "nfev", "nsteps", "outcome"):
        np.testing.assert_array_equal(third[name].values, clean[name].values, err_msg=name)
    # a fourth run computes nothing
    assert run(sm.case_build, store, grid=grid, points_per_task=2)[0].attrs["sweep_run"]["computed"] == 0


def test_failing_first_point_does_not_stop_the_sweep(tmp_path, markers):
    ds, warned = run(sm.case_build, tmp_path / "first.zarr", points=[{"case": "raise", "seed": 0},
                                                                   {"case": "ok", "seed": 1},
                                                                   {"case": "size", "seed": 2}])
    np.testing.assert_array_equal(ds["outcome"].values, [FAILED, DONE, FAILED])
    # the model facts the other points are checked against come from the first point that builds
    assert ds.attrs["oscihop_sweep"]["model"]["point"] == {"case": "ok", "seed": 1}
    assert "first point {case='ok', seed=1}" in str(ds["message"].values[2])
    assert warned and ds.attrs["n_failed"] == 2


def test_no_point_builds_raises_and_writes_nothing(tmp_path, markers):
    with pytest.raises(ValueError, match=r"No point of the sweep could be built.*first point "
                                         r"\{case='raise', seed=0\}: `build` raised RuntimeError.*\(4 points tried\)"):
        oh.sweep(sm.case_build, grid={"case": ["raise", "none"], "seed": [0, 1]}, store=tmp_path / "none.zarr", **KW)
    assert not (tmp_path / "none.zarr").exists()


def test_solve_failures_are_recorded_never_done(tmp_path):
    # a solve that overflows (Euler on exponential growth) and a solve that runs out of steps
    ds, warned = run(sm.growth_build, tmp_path / "grow.zarr", grid={"rate": [0.5, 2000.0], "seed": [0]},
                     method="Euler", dt=0.1, t_span=(0.0, 20.0), t_eval=[0.0, 10.0, 20.0])
    ok, bad = ds.sel(rate=0.5, seed=0), ds.sel(rate=2000.0, seed=0)
    assert int(ok["outcome"]) == DONE and np.isfinite(ok["y_final"].values).all()
    assert int(bad["outcome"]) == SOLVE_FAILED and not bool(bad["done"])
    msg = str(bad["message"].values)
    assert "non-finite values" in msg or "the solver failed (status" in msg, msg
    assert warned and ds.attrs["n_failed"] == 1 and not ds.attrs["complete"]

    ds, warned = run(sm.kuramoto_build, tmp_path / "steps.zarr", grid={"coupling": [1.0, 1e4], "seed": [0]},
                     max_steps=60)
    slow = ds.sel(coupling=1e4, seed=0)
    assert int(ds.sel(coupling=1.0, seed=0)["outcome"]) == DONE
    assert int(slow["outcome"]) == SOLVE_FAILED and int(slow["status"]) == -1 and int(slow["nsteps"]) == 60
    assert "the solver failed (status -1)" in str(slow["message"].values) and "max_steps" in str(slow["message"].values)
    assert warned and ds.attrs["n_done"] == 1


def test_float32_y0_follows_the_sweep_dtype(tmp_path, markers):
    """The dtype is decided once (first point that builds); a float32 y0 elsewhere is converted."""
    ds, warned = run(sm.case_build, tmp_path / "f64.zarr", grid={"case": ["ok", "float32"], "seed": [0]})
    assert not warned and ds.attrs["complete"] and ds["y_final"].dtype == np.float64
    assert ds.attrs["oscihop_sweep"]["model"]["dtype"] == "float64"
    model, y0 = sm.case_build("float32", 0)
    sol = oh.solve(model, (0.0, 1.0), model.normalize(y0.astype(np.float64)), t_eval=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(ds["y_final"].sel(case="float32", seed=0).values, sol.states[-1])
    # a float32 first point makes a float32 sweep; the float64 point is integrated in float32
    ds, _ = run(sm.case_build, tmp_path / "f32.zarr", grid={"case": ["float32", "ok"], "seed": [0]})
    assert ds["y_final"].dtype == np.float32 and ds.attrs["complete"]
    model, y0 = sm.case_build("ok", 0)
    sol = oh.solve(model, (0.0, 1.0), model.normalize(y0.astype(np.float32)), t_eval=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(ds["y_final"].sel(case="ok", seed=0).values, sol.states[-1])
    # dtype= as a solve option decides it for every point
    ds, _ = run(sm.case_build, tmp_path / "opt.zarr", grid={"case": ["float32", "ok"], "seed": [0]}, dtype="float64")
    assert ds["y_final"].dtype == np.float64 and ds.attrs["oscihop_sweep"]["definition"]["solve_options"]["dtype"] \
        == "float64"


def test_failures_in_worker_processes(tmp_path, markers):
    """The same records when the points run in a local process pool (two workers)."""
    ds, warned = run(sm.case_build, tmp_path / "pool.zarr", grid={"case": ["ok", "raise", "kind"], "seed": [0, 1]},
                     points_per_task=1, workers=2)
    assert ds.attrs["sweep_run"]["executor"] == "processes"
    np.testing.assert_array_equal(ds["outcome"].values, [[DONE, DONE], [FAILED, FAILED], [FAILED, FAILED]])
    assert "no model for case 'raise'" in str(ds["message"].values[1, 1]) and warned


def test_sigkill_with_failing_points_then_resume(tmp_path):
    store = str(tmp_path / "kill.zarr")
    markers = tmp_path / "markers"
    markers.mkdir()
    cmd, env = sm.kill_command(store, markers, failing=True)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    at_kill = None
    while time.monotonic() < deadline:
        out = sm.read_outcome(store)
        if out is not None and (out == FAILED).sum() >= 2 and (out == DONE).sum() >= 24:
            proc.send_signal(signal.SIGKILL)
            break
        assert proc.poll() is None, "the sweep finished before it could be killed: " + proc.stderr.read().decode()
        time.sleep(0.01)
    proc.communicate(timeout=30)  # the workers are gone too
    time.sleep(0.5)
    at_kill = sm.read_outcome(store)
    assert at_kill is not None and (at_kill == PENDING).any(), "the sweep was not killed part-way"
    assert ((at_kill == FAILED) | (at_kill == DONE) | (at_kill == PENDING)).all()

    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr.decode()
    ds = oh.open_sweep(store)
    grid = sm.KILL_GRID
    expect = np.array([[FAILED if sm.kill_fails(c, s) else DONE for s in grid["seed"]] for c in grid["coupling"]])
    np.testing.assert_array_equal(ds["outcome"].values, expect)
    assert not ds.attrs["complete"] and ds.attrs["n_failed"] == int((expect == FAILED).sum())

    driver = str(proc.pid)  # the first driver built point 0 once to lay out the store
    for i, c in enumerate(grid["coupling"]):
        for j, s in enumerate(grid["seed"]):
            path = markers / f"{c!r}_{s!r}"
            n = len([p for p in (path.read_text().split() if path.exists() else []) if p != driver])
            if at_kill[i, j] == DONE:
                assert n == 1, (c, s)  # a done point is never built again
            elif at_kill[i, j] == FAILED:
                assert n >= 2, (c, s)  # a failed point is retried by the re-run
            else:
                assert n >= 1, (c, s)
    ref = oh.sweep(sm.marked_failing_build, grid=grid, store=tmp_path / "ref.zarr",
                   **{**sm.KILL_OPTIONS, "points_per_task": 200})
    sm.assert_same_as_reference(ds, ref)
