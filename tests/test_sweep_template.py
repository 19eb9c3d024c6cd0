"""Sweeps whose ``build`` is a model (a template): each point fills float parameters of the model.

The template form builds only the distinct parameter sets of a task and solves its points as
one stack; its results are those of the equivalent build function, bit for bit.
"""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import oscihop as oh
from oscihop.sweep import DONE, FAILED, NOT_RUN

import sweep_models as sm

OPTIONS = dict(t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], progress=False, points_per_task=5)


def assert_same(a, b, exact_energy=True):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        if name == "energy" and not exact_energy:  # a separate kernel: a few ulp across processes
            np.testing.assert_allclose(a[name].values, b[name].values, rtol=1e-12, atol=1e-14)
        else:
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kuramoto_template_equals_build_function(tmp_path, dtype):
    grid = {"coupling": [0.25, 1.0, 2.5], "seed": [0, 1, 2, 3]}
    reduce = ["full", "final", "order_parameter", "energy_increase", "dEdt_max"]
    ref = oh.sweep(sm.kuramoto_build, grid=grid, store=tmp_path / "f.zarr", reduce=reduce, dtype=dtype, **OPTIONS)
    got = oh.sweep(sm.kuramoto_template(), grid=grid, store=tmp_path / "t.zarr", reduce=reduce, dtype=dtype,
                   **OPTIONS)
    assert got.attrs["complete"] and (got["outcome"].values == DONE).all()
    assert got["y"].dtype == np.dtype(dtype)
    assert_same(got, ref, exact_energy=False)


def test_hk_template_with_dotted_and_start_names(tmp_path):
    grid = {"alpha": [0.0, 0.05, 0.2], "seed": [3, 4], "h_scale": [0.3]}
    ref = oh.sweep(sm.hk_build, grid={"alpha": grid["alpha"], "seed": grid["seed"]}, store=tmp_path / "f.zarr",
                   reduce=["final", "energy"], **OPTIONS)
    got = oh.sweep(sm.hk_template(), grid=grid, store=tmp_path / "t.zarr", reduce=["final", "energy"], **OPTIONS)
    np.testing.assert_array_equal(got["y_final"].values[:, :, 0], ref["y_final"].values)
    np.testing.assert_allclose(got["energy"].values[:, :, 0], ref["energy"].values, rtol=1e-12, atol=1e-14)
    # the dotted name with '__', and a point list
    pts = [{"kuramoto__coupling": 0.5, "seed": 1}, {"kuramoto__coupling": 2.0, "seed": 1}]
    ds = oh.sweep(sm.hk_template(), points=pts, store=tmp_path / "p.zarr", reduce="final", **OPTIONS)
    hk = sm.hk_template()
    for k, pt in enumerate(pts):
        model = hk.replace(**{"kuramoto.coupling": np.full(6, pt["kuramoto__coupling"])})
        sol = oh.solve(model, (0.0, 1.0), hk.random_state(seed=1), t_eval=[0.0, 0.5, 1.0])
        np.testing.assert_array_equal(ds["y_final"].values[k], sol.states[-1])


def test_fixed_start_pair(tmp_path):
    model = sm.kuramoto_template()
    y0 = model.random_state(seed=9)
    ds = oh.sweep((model, y0), grid={"coupling": [0.5, 1.5]}, store=tmp_path / "s.zarr", reduce="final", **OPTIONS)
    for k, c in enumerate([0.5, 1.5]):
        sol = oh.solve(model.replace(coupling=np.full(4, c)), (0.0, 1.0), y0, t_eval=[0.0, 0.5, 1.0])
        np.testing.assert_array_equal(ds["y_final"].values[k], sol.states[-1])


def test_a_diverging_member_fails_alone(tmp_path):
    grid = {"coupling": [1.0, 1e300], "seed": [0, 1]}
    kw = dict(reduce=["final", "energy"], max_steps=2000, **OPTIONS)
    ref = oh.sweep(sm.kuramoto_build, grid=grid, store=tmp_path / "f.zarr", **kw)
    with pytest.warns(UserWarning):
        got = oh.sweep(sm.kuramoto_template(), grid=grid, store=tmp_path / "t.zarr", **kw)
    assert (got["outcome"].values[0] == DONE).all() and (got["outcome"].values[1] != DONE).all()
    assert all(m for m in got["message"].values[1])
    assert_same(got, ref, exact_energy=False)


def test_in_process_result_is_the_store_as_open_sweep_reads_it(tmp_path):
    """An in-process sweep returns the view it opened on its writer thread and the records it
    wrote (outcome, messages) without reading them back: the same as open_sweep of the store,
    also with failed points and after a resume (whose earlier messages are read)."""
    grid = {"coupling": [1.0, 1e300, 2.0], "seed": [0, 1]}
    kw = dict(reduce=["final", "order_parameter"], max_steps=2000, **OPTIONS)
    store = tmp_path / "t.zarr"
    with pytest.warns(UserWarning, match="failed"):
        got = oh.sweep(sm.kuramoto_template(), grid=grid, store=store, **kw)
    assert got.attrs["sweep_run"]["executor"].startswith("in-process, threaded")
    assert got["message"].values[1, 0].startswith("the solver failed")
    for ds in (got, oh.sweep(sm.kuramoto_template(), grid=grid, store=store, **kw)):
        ref = oh.open_sweep(store)
        assert set(ds.variables) == set(ref.variables) and ds["message"].dtype == ref["message"].dtype
        for name in ref.variables:
            np.testing.assert_array_equal(ds[name].values, ref[name].values, err_msg=name)
        assert {k: v for k, v in ds.attrs.items() if k != "sweep_run"} == ref.attrs


@pytest.mark.parametrize("build, grid, match", [
    (lambda: sm.kuramoto_template(), {"kappa": [1.0]}, r"'kappa' is not a parameter .* one of \['coupling', "),
    (lambda: sm.hk_template(), {"kuramoto__kappa": [1.0]}, r"'kuramoto__kappa' .*'hopfield__weights'"),
    (lambda: sm.kuramoto_template(), {"coupling": ["a", "b"]}, r"'coupling' must be numbers"),
    (lambda: sm.kuramoto_template(), {"seed": [0.5]}, r"'seed' must be non-negative integers"),
    (lambda: sm.kuramoto_template(), {"h_scale": [-1.0]}, r"'h_scale' must be finite and >= 0"),
    (lambda: (sm.kuramoto_template(), sm.kuramoto_template().random_state(seed=0)), {"seed": [0]},
     r"'seed' sets the random start, but `build` = \(model, y0\)"),
    (lambda: (sm.kuramoto_template(), np.ones(8)), {"coupling": [1.0]}, r"y0 of `build`"),
])
def test_bad_template_sweeps_are_refused(tmp_path, build, grid, match):
    with pytest.raises(ValueError, match=match):
        oh.sweep(build(), grid=grid, store=tmp_path / "bad.zarr", reduce="final", **OPTIONS)
    assert not (tmp_path / "bad.zarr").exists() or not os.listdir(tmp_path / "bad.zarr")


def test_template_identity_is_the_model(tmp_path):
    kw = dict(grid={"coupling": [0.5, 1.0]}, store=tmp_path / "s.zarr", reduce="final", **OPTIONS)
    oh.sweep(sm.kuramoto_template(), **kw)
    again = oh.sweep(sm.kuramoto_template(), **kw)
    assert again.attrs["sweep_run"]["computed"] == 0
    other = sm.kuramoto_template().replace(coupling=np.full(4, 3.0))  # the other parameters of the template
    with pytest.raises(ValueError, match="different"):
        oh.sweep(other, **kw)


def test_template_sigkill_then_resume(tmp_path):
    store = str(tmp_path / "kill.zarr")
    tests = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join([tests, os.path.dirname(tests), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    cmd = [sys.executable, "-c", f"import sweep_models; sweep_models.run_template_kill_sweep({store!r})"]
    total = 500
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline:
        outcome = sm.read_outcome(store)
        if outcome is not None and (outcome == DONE).sum() >= 12:
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        assert proc.poll() is None, "the sweep finished before it could be killed: " + proc.stderr.read().decode()
        time.sleep(0.005)
    proc.communicate(timeout=30)
    assert killed, "no point was done within the time limit"
    time.sleep(0.5)
    n_done = int((sm.read_outcome(store) == DONE).sum())
    assert 0 < n_done < total, n_done

    rerun = subprocess.run(cmd, env=env, capture_output=True, timeout=180)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert f"computed {total - n_done}" in rerun.stdout.decode()  # no point lost, none computed twice
    ds = oh.open_sweep(store)
    assert ds.attrs["complete"]
    ref = oh.sweep(sm.kuramoto_template(), grid=sm.TEMPLATE_KILL_GRID, store=tmp_path / "ref.zarr",
                   **{**sm.KILL_OPTIONS, "points_per_task": 100})
    sm.assert_same_as_reference(ds, ref)
    # resumed without repeating work: a third run has nothing left to compute
    again = oh.sweep(sm.kuramoto_template(), grid=sm.TEMPLATE_KILL_GRID, store=store, **sm.KILL_OPTIONS)
    assert again.attrs["sweep_run"]["computed"] == 0


@pytest.mark.parametrize("template, grid, has_h, has_x", [
    (lambda: sm.hk_template(), {"alpha": [0.0, 0.1], "seed": [1, 2]}, True, True),
    (lambda: sm.kuramoto_template(), {"coupling": [0.5], "seed": [0, 1]}, False, True),
    (lambda: sm.hopfield_build(2.0, 0)[0], {"bias": [0.0, 0.1], "seed": [0]}, True, False),
])
def test_stores_split_states_by_unit(tmp_path, template, grid, has_h, has_x):
    model = template()
    ds = oh.sweep(model, grid=grid, store=tmp_path / "s.zarr", reduce=["full", "final"], **OPTIONS)
    for name, suffix in (("y", ""), ("y_final", "_final")):
        state = model.unpack(ds[name].values)
        assert (f"h{suffix}" in ds) == has_h and (f"x{suffix}" in ds) == has_x
        if has_h:
            assert ds[f"h{suffix}"].dims[-1] == "neuron"
            np.testing.assert_array_equal(ds[f"h{suffix}"].values, state.h)
        if has_x:
            assert ds[f"x{suffix}"].dims[-2:] == ("neuron", "component")
            np.testing.assert_array_equal(ds[f"x{suffix}"].values, state.x)
    # the order parameter of the stored oscillators, from the new variable
    if has_x:
        r = np.linalg.norm(ds["x_final"].mean("neuron"), axis=-1)
        np.testing.assert_allclose(r, model.order_parameter(ds["y_final"].values), rtol=1e-12)


def test_rejected_values_fail_their_points_only(tmp_path):
    template = sm.PickyKuramoto(2, edges=oh.ring_edges(4), coupling=1.0)
    grid = {"coupling": [0.5, 3.0, 1.5], "seed": [0, 1]}
    with pytest.warns(UserWarning, match=r"coupling=3\.0, seed=0.*must be at most 2"):
        ds = oh.sweep(template, grid=grid, store=tmp_path / "s.zarr", reduce="final", **OPTIONS)
    outcome = ds["outcome"].values
    assert (outcome[[0, 2]] == DONE).all() and (outcome[1] == FAILED).all()
    assert all("`build` raised ValueError: `coupling` must be at most 2" in m for m in ds["message"].values[1])
    assert np.isnan(ds["y_final"].values[1]).all() and (ds["status"].values[1] == NOT_RUN).all()
    ref = oh.sweep(sm.kuramoto_template(), grid={"coupling": [0.5, 1.5], "seed": [0, 1]}, store=tmp_path / "r.zarr",
                   reduce="final", **OPTIONS)
    np.testing.assert_array_equal(ds["y_final"].values[[0, 2]], ref["y_final"].values)


def test_template_tasks_bound_the_memory_of_their_stack(tmp_path):
    """A stack holds one float parameter row per point: a large dense model gets small tasks."""
    rng = np.random.default_rng(0)
    patterns = np.where(rng.random((3, 300)) < 0.5, -1.0, 1.0)
    weights = patterns.T @ patterns / 300
    np.fill_diagonal(weights, 0.0)
    hop = oh.Hopfield(weights, activation="tanh", beta=2.0)
    row = hop.params(np.float64).fp.nbytes  # about 0.7 MB
    ds = oh.sweep(hop, grid={"bias": np.linspace(0.0, 0.1, 400), "seed": [0]}, store=tmp_path / "s.zarr",
                  t_span=(0.0, 0.1), t_eval=[0.1], reduce="final", progress=False)
    per_task = ds.attrs["sweep_run"]["points_per_task"]
    assert ds.attrs["complete"] and 1 <= per_task <= 64 * 2**20 // row < 100


def test_template_task_size_is_one_per_worker_and_two_at_least(tmp_path):
    grid = {"coupling": np.linspace(0.1, 3.0, 20), "seed": np.arange(50)}  # 1,000 points
    run = oh.sweep(sm.kuramoto_template(), grid=grid, store=tmp_path / "a.zarr", t_span=(0.0, 0.5),
                   reduce="final", progress=False).attrs["sweep_run"]
    assert run["executor"] == "in-process, threaded stacks" and run["tasks"] == 2 and run["points_per_task"] == 500


def test_in_process_write_errors_stop_the_sweep_and_it_resumes(tmp_path, monkeypatch):
    """Writes run on the sweep's writer thread: their errors reach the caller, and a re-run completes."""
    runner = sys.modules["oscihop.sweep.runner"]  # (oscihop.sweep is also the function's name)

    grid = {"coupling": np.linspace(0.1, 3.0, 10), "seed": np.arange(10)}
    kw = dict(grid=grid, t_span=(0.0, 0.5), reduce="final", progress=False)
    ref = oh.sweep(sm.kuramoto_template(), store=tmp_path / "ref.zarr", **kw)
    real, calls = runner._write_blocks, []

    def failing(path, arrays, *stages):  # the second task's write fails, as a full disk would
        calls.append(1)
        if len(calls) == 2:  # (one call per task: its data, then its completion record)
            raise OSError("No space left on device")
        real(path, arrays, *stages)

    monkeypatch.setattr(runner, "_write_blocks", failing)
    with pytest.raises(OSError, match="No space left"):
        oh.sweep(sm.kuramoto_template(), store=tmp_path / "s.zarr", **kw)
    monkeypatch.setattr(runner, "_write_blocks", real)
    ds = oh.sweep(sm.kuramoto_template(), store=tmp_path / "s.zarr", **kw)
    assert ds.attrs["sweep_run"]["computed"] == 50 and ds.attrs["complete"]  # only the block that failed
    np.testing.assert_array_equal(ds["y_final"].values, ref["y_final"].values)


def test_in_process_store_creation_errors_reach_the_caller(tmp_path, monkeypatch):
    api = sys.modules["oscihop.sweep.api"]

    def broken(path, d, attrs):
        raise PermissionError(f"cannot write {path}")

    monkeypatch.setattr(api, "_write_store", broken)
    with pytest.raises(PermissionError, match="cannot write"):
        oh.sweep(sm.kuramoto_template(), grid={"coupling": [1.0, 2.0], "seed": [0, 1]}, store=tmp_path / "s.zarr",
                 t_span=(0.0, 0.5), reduce="final", progress=False)
