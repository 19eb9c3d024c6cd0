"""Sweeps of declarative specs (a spec dict, or ``oscihop sweep`` configs): a task builds each
distinct model once and each point's start from its ``[initial]`` keys, and solves the points
of one structure as one stack.  Results, failures and messages are those of building every
point with ``build_from_spec``, bit for bit."""
import functools

import numpy as np
import pytest

import oscihop as oh
import oscihop.spec as spec_module
from oscihop.spec import build_from_named, sweep_kwargs, validate_spec
from oscihop.sweep import DONE, FAILED

HK = {
    "model": {"kind": "hopfield-kuramoto", "n": 8},
    "hopfield": {"patterns": {"count": 2, "seed": 0}, "beta": 2.0},
    "kuramoto": {"dim": 2, "graph": {"kind": "watts-strogatz", "k": 2, "p": 0.5, "seed": 0}, "coupling": 0.3},
    "coupling": {"hk_edges": "graph", "alpha": 0.02},
    "initial": {"noise": 0.25, "h_scale": 0.2},
    "solve": {"t_end": 1.0, "n_out": 3},
}
OPTIONS = dict(t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], reduce=["full", "energy_increase"], progress=False,
               workers=1)


def per_point(spec, names):
    """The same build as a plain partial, which the sweep calls point by point."""
    return functools.partial(build_from_named, spec, names)


def assert_same(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def counting(monkeypatch):
    calls = []
    real = spec_module._build_model
    monkeypatch.setattr(spec_module, "_build_model", lambda spec: calls.append(1) or real(spec))
    return calls


def test_hk_spec_sweep_builds_each_model_once_and_equals_point_by_point(tmp_path, monkeypatch):
    grid = {"coupling__alpha": [0.01, 0.05], "kuramoto__graph__seed": [0, 1], "initial__seed": [0, 1, 2],
            "initial__h_scale": [0.2, 0.5]}
    ref = oh.sweep(per_point(HK, {}), grid=grid, store=tmp_path / "ref.zarr", points_per_task=24, **OPTIONS)
    calls = counting(monkeypatch)
    got = oh.sweep(HK, grid=grid, store=tmp_path / "spec.zarr", points_per_task=24, **OPTIONS)
    # the probe builds the first point; the task builds the 2 x 2 distinct models, not 24
    assert len(calls) == 1 + 4
    assert got.attrs["complete"] and (got["outcome"].values == DONE).all()
    assert_same(got, ref)
    # two graphs: two structures, each solved as its own stack; a point equals its own solve
    model, y0 = spec_module.build_from_spec(HK, **{"coupling.alpha": 0.05, "kuramoto.graph.seed": 1,
                                                   "initial.seed": 2, "initial.h_scale": 0.5})
    sol = oh.solve(model, (0.0, 1.0), y0, t_eval=[0.0, 0.5, 1.0])
    np.testing.assert_array_equal(got["y"].values[1, 1, 2, 1], sol.states)


def test_failures_are_those_of_point_by_point_builds(tmp_path):
    spec = {"model": {"kind": "hopfield-kuramoto", "n": 8}, "hopfield": {"patterns": {"count": 2, "seed": 0}},
            "kuramoto": {"dim": 2, "coupling": 0.3, "omega": {"kind": "natural", "spread": 0.5, "seed": 0}},
            "initial": {"noise": 0.25}}
    # a model value the spec rejects fails its row; a start value fails its points; n = 9 another layout
    grid = {"kuramoto__omega__spread": [0.5, -1.0], "model__n": [8, 9], "initial__h_scale": [0.2, -1.0],
            "initial__cue_pattern": [0, 5]}
    with pytest.warns(UserWarning, match="failed"):
        ref = oh.sweep(per_point(spec, {}), grid=grid, store=tmp_path / "ref.zarr", **OPTIONS)
    with pytest.warns(UserWarning, match="failed"):
        got = oh.sweep(spec, grid=grid, store=tmp_path / "spec.zarr", **OPTIONS)
    assert_same(got, ref)
    outcome, message = got["outcome"].values, got["message"].values
    assert (outcome[0, 0, 0, 0] == DONE) and (outcome == DONE).sum() == 1
    assert (outcome == FAILED).sum() == 15
    assert "[kuramoto].omega.spread must be a finite number >= 0" in message[1, 0, 0, 0]
    assert "must build the same kind of model as its first point" in message[0, 1, 0, 0]
    assert "[initial].h_scale" in message[0, 0, 1, 0] and "cue_pattern" in message[0, 0, 0, 1]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_config_sweep_uses_the_batched_build(tmp_path, monkeypatch, dtype):
    """``oscihop sweep``'s build (sweep_kwargs) keeps its short names and the identity it had as a
    partial of build_from_named, so that its stores resume; its points are built per model."""
    spec = validate_spec({
        "model": {"kind": "kuramoto", "n": 8},
        "kuramoto": {"dim": 2, "graph": "mean-field", "omega": {"kind": "natural", "spread": 0.5, "seed": 0}},
        "solve": {"t_end": 1.0, "n_out": 3},
        "sweep": {"grid": {"kuramoto.coupling": [0.0, 0.5, 1.0], "initial.seed": [0, 1, 2, 3]},
                  "reduce": ["final", "order_parameter"]}})
    kw = dict(sweep_kwargs(spec), points_per_task=12)
    build = kw.pop("build")
    names = dict(build.names)
    assert names == {"coupling": "kuramoto.coupling", "seed": "initial.seed"}
    ref = oh.sweep(per_point(build.spec, names), store=tmp_path / "ref.zarr", progress=False, workers=1,
                   dtype=dtype, **kw)
    calls = counting(monkeypatch)
    got = oh.sweep(build, store=tmp_path / "cfg.zarr", progress=False, workers=1, dtype=dtype, **kw)
    assert len(calls) == 1 + 3
    assert got.attrs["complete"] and got["y_final"].dtype == np.dtype(dtype)
    assert_same(got, ref)
    assert got.attrs["oscihop_sweep"]["fingerprint"] == ref.attrs["oscihop_sweep"]["fingerprint"]
    # the same sweep through the partial and through the build resumes: nothing is recomputed
    again = oh.sweep(per_point(build.spec, names), store=tmp_path / "cfg.zarr", progress=False, workers=1,
                     dtype=dtype, **kw)
    assert again.attrs["sweep_run"]["computed"] == 0
