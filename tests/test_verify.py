"""oh.verify: no increase found where the theory guarantees none, a real (reproducible, shrunk)
counter-example for every known failure case, and the report's forms."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oscihop as oh
from oscihop.testing import BOUNDED_ACTIVATIONS, build_model, describe, model_specs, random_spec, spec_state
from oscihop.verification import (CounterExample, VerifyReport, energy_increase, max_energy_rate,
                                  verify_config, verify_store)

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------
# the known failure cases (a block coupling does not exist yet: no asymmetric-block case)
# --------------------------------------------------------------------------------------


def failure_case(name, seed):
    """(model, verify settings) of a known failure case drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    if name == "natural-2d":
        n = int(rng.integers(3, 9))
        return oh.Kuramoto(2, coupling="mean-field", strength=float(rng.uniform(0.2, 2)), n=n,
                           omega=rng.normal(0, 2, n)), {}
    if name == "per-unit-3d":
        return build_model(random_spec(rng, "kuramoto", d=3, omega_kind="per-unit")), {}
    if name == "hk-per-unit":
        return build_model(random_spec(rng, "hk", omega_kind="per-unit", activation="tanh")), {}
    if name == "global-stimulus":
        return build_model(random_spec(rng, "kuramoto", omega_kind="global", with_stim=True)), {}
    if name == "hk-global-stimulus":
        return build_model(random_spec(rng, "hk", omega_kind="global", with_stim=True, activation="tanh")), {}
    if name == "relu-unbounded":  # W with v.W.v > |v|^2 for v = ones / sqrt(n) >= 0: E -> -inf along it
        n = int(rng.integers(3, 9))
        a = rng.normal(size=(n, n))
        w = 0.3 * (a + a.T) / (2 * np.sqrt(n)) + 1.5 * np.ones((n, n)) / n
        return oh.Hopfield(w, activation="relu", bias=rng.normal(0, 0.3, n)), {}
    kind, method = name.split("-")  # a step 20 times step_bound
    while True:
        spec = random_spec(rng, kind, omega_kind=None, activation=None if kind == "hopfield" else "tanh")
        model = build_model(spec)
        bound = float(model.step_bound(spec_state(spec, rng)))
        if 0 < bound < np.inf:
            return model, {"method": method, "dt": 20 * bound}


FAILURES = {"natural-2d": "rate", "per-unit-3d": "rate", "hk-per-unit": "rate", "global-stimulus": "rate",
            "hk-global-stimulus": "rate", "relu-unbounded": "unbounded", "hopfield-Euler": "step",
            "kuramoto-Euler": "step", "kuramoto-AKOrN": "step", "hk-Euler": "step", "hk-AKOrN": "step"}


@pytest.mark.parametrize("name", list(FAILURES))
def test_known_failure_cases_give_a_real_shrunk_counterexample(name):
    for seed in range(3):
        model, kw = failure_case(name, seed)
        report = oh.verify(model, seed=seed, **kw)
        assert not report.ok and report.exit_code == 1, (name, seed, str(report))
        c = report.counterexample
        assert isinstance(c, CounterExample) and c.kind == FAILURES[name], str(report)
        assert c.excess > 1.0
        # real: re-evaluated from the model's own functions, in float64
        again = c.reproduce(model)
        assert again == pytest.approx(c.value, rel=1e-9, abs=1e-15)
        if c.kind == "unbounded":
            assert again < -c.tolerance
            h = model.unpack(c.state).h
            assert model.energy(1e8 * h) < model.energy(1e4 * h) < 0.0  # falls without bound
        else:
            assert again > c.tolerance
        if c.kind == "rate":  # dE/dt = grad E . f, computed here by hand
            g = np.asarray(model.energy_gradient(c.state))
            assert float(g @ model.rhs(0.0, c.state)) > c.tolerance
        if c.kind == "step":
            assert c.dt <= kw["dt"] and report.step_exceeds_bound
            assert c.dt > report.step_bound
            y1 = oh.solve(model, (0.0, c.dt), c.state, method=kw["method"], dt=c.dt).y[:, -1]
            assert model.energy(y1) - model.energy(c.state) > c.tolerance
        # shrunk: at least as simple as found (more zeros, or as many)
        assert np.count_nonzero(c.state) <= np.count_nonzero(c.found_state) or c.shrunk
        if model.dim:
            x = model.unpack(c.state).x
            np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-12)


def test_per_unit_counterexample_is_shrunk_to_axes():
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    c = oh.verify(kur).counterexample
    x = kur.unpack(c.state).x
    assert any("axes" in s for s in c.shrunk), c.shrunk
    assert set(np.round(np.abs(x), 12).ravel().tolist()) <= {0.0, 1.0, round(0.5 ** 0.5, 12)}
    assert c.found_state is not None and not np.array_equal(c.found_state, c.state)


# --------------------------------------------------------------------------------------
# no increase where the theory guarantees none
# --------------------------------------------------------------------------------------


@SETTINGS
@given(spec=model_specs(lyapunov=True, activations=BOUNDED_ACTIVATIONS), seed=st.integers(0, 2**16))
def test_lyapunov_models_pass(spec, seed):
    model = build_model(spec)
    assert model.is_lyapunov
    report = oh.verify(model, seed=seed, max_evals=2000)
    assert report.ok, (describe(spec), str(report))
    assert report.max_rate <= report.max_rate_tolerance
    assert report.max_increase <= 1.0


@SETTINGS
@given(spec=model_specs(lyapunov=True, activations=("relu",), kinds=("hopfield", "hk")), seed=st.integers(0, 2**16))
def test_relu_models_only_ever_fail_by_an_unbounded_energy(spec, seed):
    report = oh.verify(build_model(spec), seed=seed, max_evals=1500, t_span=(0.0, 1.0))
    assert {c.kind for c in report.counterexamples} <= {"unbounded"}, (describe(spec), str(report))
    assert report.min_energy_slope is not None


@SETTINGS
@given(spec=model_specs(kinds=("hopfield", "kuramoto", "hk"), omega_kinds=(None,), lyapunov=True,
                        activations=BOUNDED_ACTIVATIONS),
       method=st.sampled_from(("Euler", "AKOrN")), seed=st.integers(0, 2**16))
def test_steps_below_step_bound_pass(spec, method, seed):
    model = build_model(spec)
    if spec["kind"] == "hopfield" and method == "AKOrN":
        method = "Euler"
    bound = float(model.step_bound(spec_state(spec, np.random.default_rng(0))))
    if not 0 < bound < np.inf:
        return
    report = oh.verify(model, method=method, dt=0.9 * bound, seed=seed, max_evals=2000, t_span=(0.0, 1.0))
    assert report.step_bound == pytest.approx(bound)
    assert report.step_exceeds_bound is False
    assert report.ok, (describe(spec), str(report))


def test_relu_hopfield_with_bounded_energy_passes():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(6, 6))
    hop = oh.Hopfield(0.3 * (a + a.T) / 2 / np.sqrt(6), activation="relu")
    report = oh.verify(hop)
    assert report.ok and report.min_energy_slope >= 0 and report.n_failed == 0, str(report)


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failing():
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    return kur, oh.verify(kur, seed=1)


def test_report_forms(failing, tmp_path):
    kur, report = failing
    assert isinstance(report, VerifyReport)
    d = report.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert json.loads(report.to_json()) == d
    assert d["exit_code"] == 1 and d["ok"] is False and d["counterexamples"][0]["kind"] == "rate"
    assert d["is_lyapunov"] is False and "per-unit omega" in d["lyapunov_reason"]
    ds = report.to_xarray()
    np.testing.assert_array_equal(ds["rate_state"].values, report.counterexample.state)
    assert ds.attrs["exit_code"] == 1 and ds.attrs["rate_kind"] == "rate"
    assert json.loads(ds.attrs["report"]) == d
    ds.to_zarr(tmp_path / "report.zarr")  # attributes a store accepts
    text = str(report)
    assert "ENERGY INCREASE FOUND" in text and "counter-example (rate)" in text and "x = " in text
    ok = oh.verify(oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=5))
    assert ok.ok and ok.exit_code == 0 and ok.counterexample is None and "ok: no energy increase" in str(ok)
    assert ok.to_dict()["step_bound"] is None


def test_deterministic_for_a_seed_and_bounded_by_max_evals(failing):
    kur, report = failing
    again = oh.verify(kur, seed=1)
    a, b = report.to_dict(), again.to_dict()
    a.pop("elapsed"), b.pop("elapsed")
    assert a == b
    small = oh.verify(kur, seed=1, max_evals=300)
    assert small.n_evals <= 300 + 64  # a solve's or a batch's last evaluations may overrun
    assert small.truncated == "max_evals"


def test_time_limit_cuts_the_search_short():
    kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=6)
    report = oh.verify(kur, time_limit=1e-9)
    assert report.truncated == "time_limit" and report.ok


def test_starts_are_among_the_trajectories():
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=3, omega=[0.0, 0.5, 1.0])
    y0 = kur.random_state(seed=5)
    report = oh.verify(kur, starts=y0, n_trajectories=1, n_states=1, max_evals=400, shrink=False)
    assert report.n_failed == 0 and np.isfinite(report.max_increase)


# --------------------------------------------------------------------------------------
# helpers for sweeps and the command line
# --------------------------------------------------------------------------------------


def test_energy_increase_and_max_energy_rate():
    assert energy_increase([3.0, 2.0, 1.0]) < 0
    assert energy_increase(np.array([[1.0, 1.0 + 1e-3], [1.0, 0.5]])).tolist() == pytest.approx(
        [1e-3 / (1e-9 + 1e-6 * (1 + 1e-3)), -0.5 / (1e-9 + 1e-6)])
    assert np.isnan(energy_increase([1.0, np.nan, 2.0]))  # no finite pair
    assert energy_increase([1.0, 2.0, np.nan], rtol=1.0, atol=0.0) == pytest.approx(0.5)
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    sol = oh.solve(kur, (0, 3), kur.random_state(seed=1, batch=2), t_eval=np.linspace(0, 3, 31))
    rates = max_energy_rate(kur, sol.states)
    assert rates.shape == (2,)
    for b in range(2):
        assert rates[b] == pytest.approx(max(kur.energy_rate(sol.states[b])))
    assert energy_increase(sol).shape == (2,)
    with pytest.raises(ValueError, match="`states`"):
        max_energy_rate(kur, sol.states[0, 0])
    with pytest.raises(ValueError, match="`energy`"):
        energy_increase(1.0)
    with pytest.raises(ValueError, match="`rtol`"):
        energy_increase([1.0, 2.0], rtol=-1.0)


def test_verify_config_checks_the_configs_method(tmp_path):
    path = tmp_path / "kur.toml"
    path.write_text('[model]\nkind = "kuramoto"\nn = 6\n[kuramoto]\ndim = 3\ngraph = "mean-field"\n'
                    'coupling = 2.0\n[solve]\nmethod = "Euler"\ndt = 5.0\nt_end = 10.0\n')
    report = verify_config(path)
    assert (report.method, report.dt, report.t_span) == ("Euler", 5.0, (0.0, 10.0))
    assert report.exit_code == 1 and report.step_exceeds_bound
    assert verify_config(path, dt=0.01).exit_code == 0
    with pytest.raises(ValueError, match="does not exist"):
        verify_config(tmp_path / "missing.toml")


def test_verify_store_checks_the_stored_method(tmp_path):
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    oh.solve(kur, (0, 2), kur.random_state(seed=0, batch=2), method="RK4", dt=0.1).to_zarr(tmp_path / "t.zarr")
    report = verify_store(tmp_path / "t.zarr")
    assert (report.method, report.dt, report.t_span) == ("RK4", 0.1, (0.0, 2.0))
    assert report.exit_code == 1 and report.counterexample.kind == "rate"


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,name", [
    ({"method": "RK99"}, "method"), ({"method": "async"}, "method"), ({"method": "Euler"}, "dt"),
    ({"dt": 0.1}, "dt"), ({"method": "Euler", "dt": -1.0}, "dt"), ({"method": "Euler", "dt": np.nan}, "dt"),
    ({"rtol": 0.0}, "rtol"), ({"atol": -1.0}, "atol"), ({"rtol": "1e-6"}, "rtol"),
    ({"t_span": (1.0, 0.0)}, "t_span"), ({"t_span": (0.0, np.inf)}, "t_span"), ({"t_span": 3.0}, "t_span"),
    ({"t_span": (0.0, 1.0j)}, "t_span"), ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
    ({"max_evals": 0}, "max_evals"), ({"n_states": True}, "n_states"), ({"n_times": 1}, "n_times"),
    ({"time_limit": 0.0}, "time_limit"), ({"shrink": "yes"}, "shrink"),
    ({"starts": np.zeros(3)}, "starts"), ({"starts": np.full(6, np.nan)}, "starts"),
    ({"starts": np.ones(6)}, "starts"), ({"starts": np.ones((2, 6), dtype=complex)}, "starts"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=3)
    with pytest.raises(ValueError, match=f"`{name}`"):
        oh.verify(kur, **kwargs)


def test_bad_models():
    with pytest.raises(ValueError, match="`model`"):
        oh.verify(np.eye(3))
    binary = oh.Hopfield.from_patterns(np.ones((1, 4)), activation="sign")
    with pytest.raises(ValueError, match="`model`.*sign"):
        oh.verify(binary)
    with pytest.raises(ValueError, match="`model`"):
        max_energy_rate("model", np.zeros((2, 3)))
