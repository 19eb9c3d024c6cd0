"""The sweep reductions ``"energy_increase"`` and ``"dEdt_max"`` (issue 18): a map of where the
energy stops being a Lyapunov function, computed per point by :mod:`oscihop.verification`.

Real stores on disk; the values must equal what the verification helpers give on single solves
of the same points, survive resume and carry the checksums every sweep array carries.
"""

import os

import numpy as np
import pytest
import zarr
from sweep_models import binary_build, spread_build

import oscihop as oh
from oscihop.io.integrity import StoreDamagedError, has_checksums
from oscihop.spec import sweep_kwargs, validate_spec
from oscihop.verification import energy_increase, max_energy_rate

GRID = {"sigma": [0.0, 2.0], "seed": [0, 1]}
OPTS = dict(t_span=(0.0, 3.0), progress=False, workers=1)


def _single(sigma, seed, method, t_eval=None, **kw):
    model, y0 = spread_build(sigma, seed)
    sol = oh.solve(model, (0.0, 3.0), y0, method=method, t_eval=t_eval, **kw)
    return model, sol


def test_values_equal_single_solves_over_every_step(tmp_path):
    """Without t_eval the checks see every step the solver takes, as oh.solve without t_eval gives them."""
    ds = oh.sweep(spread_build, grid=GRID, store=tmp_path / "s.zarr", method="RK45", rtol=1e-7, atol=1e-10,
                  reduce=["final", "energy_increase", "dEdt_max"], **OPTS)
    assert ds["energy_increase"].dims == ("sigma", "seed") and ds["energy_increase"].dtype == np.float64
    assert ds["dEdt_max"].dims == ("sigma", "seed") and "time" not in ds.dims
    assert ds.attrs["oscihop_sweep"]["definition"]["energy_tolerance"] == [1e-7, 1e-10]
    for i, sigma in enumerate(GRID["sigma"]):
        for j, seed in enumerate(GRID["seed"]):
            model, sol = _single(sigma, seed, "RK45", rtol=1e-7, atol=1e-10)
            assert sol.t.size > 5  # every accepted step
            np.testing.assert_allclose(ds["energy_increase"].values[i, j], energy_increase(sol, 1e-7, 1e-10),
                                       rtol=1e-12)
            np.testing.assert_allclose(ds["dEdt_max"].values[i, j], max_energy_rate(model, sol.states), rtol=1e-12)
            np.testing.assert_allclose(ds["y_final"].values[i, j], sol.states[-1], rtol=1e-12)


def test_frequency_spread_map_lyapunov_at_zero_and_not_beyond(tmp_path):
    """sigma = 0 is a gradient flow (and dt = 0.05 is below step_bound): no increase; a wide spread raises E."""
    model0, _ = spread_build(0.0, 0)
    assert 0.05 < model0.step_bound()
    ds = oh.sweep(spread_build, grid=GRID, store=tmp_path / "s.zarr", method="Euler", dt=0.05,
                  reduce=["energy_increase", "dEdt_max"], **OPTS)
    inc, rate = ds["energy_increase"].values, ds["dEdt_max"].values
    assert np.all(inc[0] <= 1.0) and np.all(rate[0] <= 1e-12), (inc, rate)
    assert np.all(inc[1] > 1.0) and np.all(rate[1] > 0.0), (inc, rate)
    for j, seed in enumerate(GRID["seed"]):  # every Euler step is an output
        model, sol = _single(2.0, seed, "Euler", dt=0.05)
        assert sol.t.size == 61
        np.testing.assert_allclose(inc[1, j], energy_increase(sol), rtol=1e-12)


def test_combines_with_curves_over_the_same_outputs(tmp_path):
    """With t_eval (and a time curve) the checks are taken over those outputs: equal to the stored curve's."""
    t_eval = np.linspace(0.0, 3.0, 13)
    ds = oh.sweep(spread_build, grid=GRID, store=tmp_path / "s.zarr", method="RK45", t_eval=t_eval,
                  reduce=["energy", "energy_increase"], **OPTS)
    np.testing.assert_allclose(ds["energy_increase"].values, energy_increase(ds["energy"].values), rtol=1e-12)


def test_resume_recomputes_a_damaged_chunk_and_checksums_guard_it(tmp_path):
    store = tmp_path / "s.zarr"
    kw = dict(grid=GRID, store=store, method="Euler", dt=0.1, reduce=["final", "energy_increase", "dEdt_max"],
              points_per_task=1, **OPTS)
    first = oh.sweep(spread_build, **kw)
    expected = {v: first[v].values.copy() for v in ("energy_increase", "dEdt_max")}
    group = zarr.open_group(str(store), mode="r")
    assert has_checksums(group["energy_increase"]) and has_checksums(group["dEdt_max"])
    # a chunk altered on disk: opening refuses the store, naming the array
    chunk = store / "energy_increase" / "c" / "1" / "0"
    data = bytearray(chunk.read_bytes())
    data[-1] ^= 0xFF
    chunk.write_bytes(bytes(data))
    with pytest.raises(StoreDamagedError, match="energy_increase"):
        oh.open_sweep(store)
    # a missing chunk: the same call recomputes only that point, to the same numbers
    os.remove(chunk)
    with pytest.warns(UserWarning, match="energy_increase"):
        again = oh.sweep(spread_build, **kw)
    assert again.attrs["sweep_run"]["computed"] == 1
    for name, values in expected.items():
        np.testing.assert_array_equal(oh.open_sweep(store)[name].values, values)


def test_configs_name_the_reductions(tmp_path):
    spec = validate_spec({"model": {"kind": "kuramoto", "n": 6},
                          "kuramoto": {"dim": 2, "coupling": 1.0,
                                       "omega": {"kind": "natural", "spread": 1.0, "seed": 0}},
                          "solve": {"method": "Euler", "dt": 0.05, "t_end": 3.0, "n_out": 61},
                          "sweep": {"grid": {"kuramoto.omega.spread": [0.0, 2.0]},
                                    "reduce": ["final", "energy_increase", "dEdt_max"]}})
    kw = sweep_kwargs(spec)
    assert kw["reduce"] == ["final", "energy_increase", "dEdt_max"]
    ds = oh.sweep(store=tmp_path / "c.zarr", progress=False, workers=1, **kw)
    inc, rate = ds["energy_increase"].values, ds["dEdt_max"].values
    assert inc[0] <= 1.0 < inc[1] and rate[0] <= 0.0 < rate[1], (inc, rate)
    with pytest.raises(ValueError, match=r"\[sweep\].reduce.*energy_increase"):
        validate_spec({**spec, "sweep": {"grid": {"kuramoto.coupling": [1.0]}, "reduce": "energy_rise"}})


def test_bad_uses_are_refused_naming_the_reduction_or_the_tolerance(tmp_path):
    with pytest.raises(ValueError, match="dEdt_max"):
        oh.sweep(binary_build, grid={"flip": [0.1], "seed": [0]}, store=tmp_path / "b.zarr", t_span=(0, 3),
                 method="async", seed=0, reduce="dEdt_max", progress=False)
    with pytest.raises(ValueError, match="`rtol`"):
        oh.sweep(spread_build, grid=GRID, store=tmp_path / "r.zarr", method="RK45", rtol=-1.0,
                 reduce="energy_increase", **OPTS)
    with pytest.raises(ValueError, match="reserved"):
        oh.sweep(spread_build, grid={"energy_increase": [1.0]}, store=tmp_path / "n.zarr", reduce="final", **OPTS)
    assert not (tmp_path / "r.zarr").exists() and not (tmp_path / "n.zarr").exists()
