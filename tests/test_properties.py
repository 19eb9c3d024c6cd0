"""Property tests: the invariants docs/theory.md states, on small random models.

Every model here is built from a *spec* (the strategies and builders of :mod:`oscihop.testing`): a plain dict of drawn choices and NumPy arrays
(built from a drawn seed), so the same model can be rebuilt after relabelling its units
or rotating its oscillators.  Flat state layout (docs/theory.md §1): Hopfield ``h``; Kuramoto
``x.ravel()``; coupled ``concatenate([h, x.ravel()])``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import oscihop as oh
from oscihop.testing import ACTIVATIONS as SMOOTH_ACTIVATIONS
from oscihop.testing import BOUNDED_ACTIVATIONS, COUPLING_KINDS, HK_MODES, INTERACTIONS
from oscihop.testing import WEIGHT_KINDS as HOP_WEIGHT_KINDS
from oscihop.testing import build_model as make_model
from oscihop.testing import describe, expected_lyapunov, random_spec
from oscihop.testing import join_state as join
from oscihop.testing import model_specs as specs
from oscihop.testing import n_threshold as n_h
from oscihop.testing import spec_state as random_flat_state
from oscihop.testing import split_state as split

ALL_METHODS = ("Euler", "RK4", "RK23", "RK45", "Tsit5", "Geometric", "AKOrN")
FIXED_STEP = ("Euler", "RK4", "Geometric", "AKOrN")

SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


def _antisym(rng, d):
    a = rng.normal(size=(d, d))
    return a - a.T


# --------------------------------------------------------------------------------------
# spec transforms: permutation of units, rotation of oscillators
# --------------------------------------------------------------------------------------


def _scatter(a, pi):
    """out[pi[i]] = a[i] along axis 0."""
    out = np.empty_like(a)
    out[pi] = a
    return out


def _scatter2(w, pi):
    out = np.empty_like(w)
    out[np.ix_(pi, pi)] = w
    return out


def permute_spec(spec, pi):
    """Unit i becomes unit pi[i]."""
    s = copy.deepcopy(spec)
    if "hop" in s:
        hp = s["hop"]
        if hp["bias"] is not None:
            hp["bias"] = _scatter(hp["bias"], pi)
        if "W" in hp:
            hp["W"] = _scatter2(hp["W"], pi)
        if "factor" in hp:
            hp["factor"] = _scatter(hp["factor"].T, pi).T.copy()
        if "patterns" in hp:
            hp["patterns"] = _scatter(hp["patterns"].T, pi).T.copy()
    if "kur" in s:
        k = s["kur"]
        if "edges" in k:
            k["edges"] = pi[k["edges"]]
        if k["ckind"] in ("dense", "sparse"):
            k["J"] = _scatter2(k["J"], pi)
        if "factor" in k:
            k["factor"] = _scatter(k["factor"].T, pi).T.copy()
        if k["stimulus"] is not None:
            k["stimulus"] = _scatter(k["stimulus"], pi)
        if k["omega_kind"] in ("per-unit", "natural"):
            k["omega"] = _scatter(k["omega"], pi)
    if "hk" in s and not isinstance(s["hk"]["hk_edges"], str):
        s["hk"]["hk_edges"] = pi[s["hk"]["hk_edges"]]
    return s


def permute_flat(spec, y, pi):
    h, x = split(spec, y)
    return join(spec, None if h is None else _scatter(h, pi),
                None if x is None else _scatter(x, pi))


def rotation_for(spec, rng):
    """An orthogonal R that commutes with a global omega (any orthogonal R otherwise)."""
    k = spec["kur"]
    d = k["dim"]
    if k["omega_kind"] == "global":
        om = k["omega"]
        r = scipy.linalg.expm(rng.uniform(-3, 3) * om / max(np.linalg.norm(om), 1e-12))
        if rng.random() < 0.5:
            r = -r
        return r
    q, rr = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(rr))


def rotate_spec(spec, r):
    """Rotate the stimulus (and conjugate a per-unit omega); a global omega commutes with r."""
    s = copy.deepcopy(spec)
    k = s["kur"]
    if k["stimulus"] is not None:
        k["stimulus"] = k["stimulus"] @ r.T
    if k["omega_kind"] == "per-unit":
        k["omega"] = np.einsum("ab,nbc,dc->nad", r, k["omega"], r)
    elif k["omega_kind"] == "natural":
        k["omega"] = k["omega"] * np.sign(np.linalg.det(r))
    return s


def rotate_flat(spec, y, r):
    h, x = split(spec, y)
    return join(spec, h, x @ r.T)


def energy_scale(*arrays):
    return 1.0 + sum(float(np.linalg.norm(a)) for a in arrays)


# --------------------------------------------------------------------------------------
# Lyapunov flags
# --------------------------------------------------------------------------------------


@SETTINGS
@given(spec=specs())
def test_lyapunov_flag_matches_theory(spec):
    model = make_model(spec)
    exp = expected_lyapunov(spec)
    assert isinstance(model.is_lyapunov, (bool, np.bool_))
    assert isinstance(model.lyapunov_reason, str)
    assert bool(model.is_lyapunov) == exp, (describe(spec), model.lyapunov_reason)
    if exp:
        assert model.lyapunov_reason == ""
    else:
        assert model.lyapunov_reason.strip() != ""
    y = random_flat_state(spec, np.random.default_rng(spec["seed"]))
    b = model.step_bound(y)
    assert isinstance(b, float) or np.isscalar(b)
    assert b >= 0.0
    if not exp or (spec["kind"] != "hopfield" and spec["kur"]["omega_kind"] is not None):
        # contract: 0.0 when there is no guarantee, e.g. per-unit omega or any omega != 0
        assert b == 0.0, describe(spec)


def test_lyapunov_flag_for_every_documented_gradient_flow():
    """Deterministic sweep over every activation / weight kind / interaction / coupling kind
    / mode the brief lists as a gradient flow."""
    rng = np.random.default_rng(7)
    for act in SMOOTH_ACTIVATIONS:
        for wk in HOP_WEIGHT_KINDS:
            m = make_model(random_spec(rng, "hopfield", activation=act, wkind=wk))
            assert m.is_lyapunov and m.lyapunov_reason == "", (act, wk)
    for ck in COUPLING_KINDS:
        for inter in INTERACTIONS:
            for om, stim in ((None, False), (None, True), ("global", False)):
                spec = random_spec(rng, "kuramoto", ckind=ck, interaction=inter, omega_kind=om,
                                   with_stim=stim)
                m = make_model(spec)
                assert m.is_lyapunov and m.lyapunov_reason == "", describe(spec)
    for mode in HK_MODES:
        for om in (None, "global"):
            for act in SMOOTH_ACTIVATIONS:
                spec = random_spec(rng, "hk", mode=mode, omega_kind=om, with_stim=False,
                                   activation=act)
                m = make_model(spec)
                assert m.is_lyapunov and m.lyapunov_reason == "", describe(spec)


# --------------------------------------------------------------------------------------
# dE/dt <= 0 at random states, and the chain rule against finite differences
# --------------------------------------------------------------------------------------


@SETTINGS
@given(spec=specs(), data=st.data())
def test_energy_rate_sign_and_finite_difference(spec, data):
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    for _ in range(3):
        y = random_flat_state(spec, rng)
        g = np.asarray(model.energy_gradient(y), dtype=float)
        f = np.asarray(model.rhs(0.0, y), dtype=float)
        assert g.shape == y.shape and f.shape == y.shape
        e0 = float(model.energy(y))
        dedt = float(g @ f)
        gf = float(np.linalg.norm(g) * np.linalg.norm(f))
        if model.is_lyapunov:
            assert dedt <= 1e-10 * max(1.0, gf), (describe(spec), dedt, gf)
        # central difference of the energy along rhs
        fn = float(np.linalg.norm(f))
        if fn == 0.0:
            continue
        eps = 1e-5 / max(1.0, fn)
        fd = (float(model.energy(y + eps * f)) - float(model.energy(y - eps * f))) / (2 * eps)
        tol = 1e-5 * (1.0 + gf + fn**2 + abs(e0) * fn)
        assert abs(fd - dedt) <= tol, (describe(spec), fd, dedt)


@SETTINGS
@given(spec=specs(), data=st.data())
def test_energy_gradient_is_ambient_gradient(spec, data):
    """energy_gradient: dE/dy with x as free R^D vectors (contract), checked coordinatewise."""
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y = random_flat_state(spec, rng)
    g = np.asarray(model.energy_gradient(y), dtype=float)
    eps = 1e-6
    fd = np.empty_like(y)
    for k in range(y.size):
        e = np.zeros_like(y)
        e[k] = eps
        fd[k] = (float(model.energy(y + e)) - float(model.energy(y - e))) / (2 * eps)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-5 * (1.0 + np.abs(g).max()),
                               err_msg=describe(spec))


# --------------------------------------------------------------------------------------
# Euler / AKOrN below the documented step bound never increase the energy
# --------------------------------------------------------------------------------------


def _assert_non_increasing(e, what):
    e = np.asarray(e, dtype=float)
    assert np.all(np.isfinite(e)), what
    inc = e[1:] - e[:-1]
    tol = 1e-12 * np.maximum(1.0, np.abs(e[:-1]))
    bad = np.nonzero(inc > tol)[0]
    assert bad.size == 0, (what, f"energy rises at steps {bad[:5]} by {inc[bad[:5]]}")


def _needs_stepwise(spec):
    return spec["kind"] == "hk" and spec["hop"]["activation"] == "relu"


def _check_steps_below_bound(method, spec, state_seed):
    model = make_model(spec)
    rng = np.random.default_rng(state_seed)
    y0 = random_flat_state(spec, rng)
    nsteps = 15
    if not _needs_stepwise(spec):
        b = float(model.step_bound(y0))
        assert b >= 0.0
        if not (0.0 < b < np.inf):
            return
        dt = 0.9 * b
        sol = oh.solve(model, (0.0, nsteps * dt), y0, method=method, dt=dt)
        assert sol.status == 0, sol.message
        assert sol.y.shape[0] == y0.size
        _assert_non_increasing(sol.energy, describe(spec))
        # the reported energy is the model's energy of the reported states
        e_direct = np.array([float(model.energy(np.ascontiguousarray(sol.y[:, k])))
                             for k in range(sol.y.shape[1])])
        np.testing.assert_allclose(sol.energy, e_direct, rtol=1e-10, atol=1e-12)
    # step by step with the bound re-evaluated at the current state (needed for relu in HK)
    y = y0
    energies = [float(model.energy(y0))]
    for _ in range(6):
        b = float(model.step_bound(y))
        assert b >= 0.0
        if not (0.0 < b < np.inf):
            break
        dt = 0.9 * b
        sol = oh.solve(model, (0.0, dt), y, method=method, dt=dt)
        y = np.ascontiguousarray(sol.y[:, -1])
        energies.append(float(model.energy(y)))
    _assert_non_increasing(energies, describe(spec) + " (stepwise)")


@SETTINGS
@given(spec=specs(omega_kinds=(None,), lyapunov=True), state_seed=st.integers(0, 2**32 - 1))
def test_euler_below_step_bound_never_increases_energy(spec, state_seed):
    _check_steps_below_bound("Euler", spec, state_seed)


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), omega_kinds=(None,), lyapunov=True),
       state_seed=st.integers(0, 2**32 - 1))
def test_akorn_below_step_bound_never_increases_energy(spec, state_seed):
    _check_steps_below_bound("AKOrN", spec, state_seed)


# --------------------------------------------------------------------------------------
# binary Hopfield: asynchronous updates
# --------------------------------------------------------------------------------------


@SETTINGS
@given(n=st.integers(2, 12), p=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
@example(n=5, p=2, seed=0)  # a unit whose field is exactly zero (N - 1 and P even)
def test_binary_async_energy_never_increases_and_ends_at_fixed_point(n, p, seed):
    rng = np.random.default_rng(seed)
    pats = rng.choice([-1.0, 1.0], size=(p, n))
    model = oh.Hopfield.from_patterns(pats, rule="hebbian", activation="sign")
    y0 = rng.choice([-1.0, 1.0], size=n)
    sol = oh.solve(model, (0, 200), y0, method="async", seed=int(seed % 2**31))
    s = np.asarray(sol.y, dtype=float)
    assert s.shape[0] == n
    assert np.all(np.abs(s) == 1.0), "states must stay +-1"
    np.testing.assert_array_equal(s[:, 0], y0)
    # exact energy: 2 N E = -(sum_p (xi_p . s)^2 - P N)   (W = xi^T xi / N, zero diagonal)
    ov = (pats @ s).round().astype(np.int64)  # (P, T) integer overlaps
    e2n = -((ov**2).sum(axis=0) - p * n)
    assert np.all(np.diff(e2n) <= 0), e2n
    # the reported energy never increases either, with no tolerance
    e = np.asarray(sol.energy, dtype=float)
    assert np.all(np.diff(e) <= 0.0), e
    np.testing.assert_allclose(e, e2n / (2.0 * n), rtol=1e-12, atol=1e-12)
    # ends at a fixed point: each unit aligned with its field (N * field integer)
    assert sol.status == 1, (sol.status, sol.message)
    assert sol.success
    last = s[:, -1].round().astype(np.int64)
    nfield = pats.round().astype(np.int64).T @ (pats.round().astype(np.int64) @ last) - p * last
    assert np.all(last * nfield >= 0), (last, nfield)


# --------------------------------------------------------------------------------------
# |x_i| = 1 at every output of every method
# --------------------------------------------------------------------------------------


def _norms(spec, y_cols):
    y = np.asarray(y_cols, dtype=float).T  # (T, size)
    x = y[:, n_h(spec):].reshape(y.shape[0], spec["n"], spec["dim"])
    return np.linalg.norm(x, axis=-1)


@pytest.mark.parametrize("method", ALL_METHODS)
@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_oscillators_stay_on_the_sphere(method, spec, data):
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y0 = random_flat_state(spec, rng, h_scale=1.0)
    kw = {"dt": 0.05} if method in FIXED_STEP else {}
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, **kw)
    assert sol.status == 0, (method, sol.message)
    assert sol.y.shape[1] == len(sol.t) >= 2
    nrm = _norms(spec, sol.y)
    assert np.abs(nrm - 1.0).max() <= 1e-10, (method, describe(spec), np.abs(nrm - 1.0).max())


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_oscillators_stay_on_the_sphere_float32(spec, data):
    """float32 in, float32 out (contract), and still on the sphere to float32 rounding."""
    model = make_model(spec)
    method = data.draw(st.sampled_from(ALL_METHODS), label="method")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y0 = random_flat_state(spec, rng, h_scale=1.0).astype(np.float32)
    kw = {"dt": 0.05} if method in FIXED_STEP else {}
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, **kw)
    assert sol.status == 0, (method, sol.message)
    assert sol.y.dtype == np.float32
    assert np.asarray(model.rhs(0.0, y0)).dtype == np.float32
    nrm = _norms(spec, sol.y)
    assert np.abs(nrm - 1.0).max() <= 1e-5, (method, describe(spec), np.abs(nrm - 1.0).max())


@pytest.mark.parametrize("method", ALL_METHODS)
@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_oscillators_on_the_sphere_at_t_eval(method, spec, data):
    """The same at requested output times (dense output for the adaptive methods)."""
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y0 = random_flat_state(spec, rng, h_scale=1.0)
    kw = {"dt": 0.05} if method in FIXED_STEP else {}
    t_eval = np.linspace(0.0, 1.0, 8)
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=t_eval, **kw)
    assert sol.status == 0, (method, sol.message)
    np.testing.assert_allclose(sol.t, t_eval)
    nrm = _norms(spec, sol.y)
    assert np.abs(nrm - 1.0).max() <= 1e-10, (method, describe(spec), np.abs(nrm - 1.0).max())


# --------------------------------------------------------------------------------------
# equivariance under rotations of oscillator space and relabelling of units
# --------------------------------------------------------------------------------------


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk")), data=st.data())
def test_global_rotation_commutes_with_rhs_and_keeps_energy(spec, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    r = rotation_for(spec, rng)
    model = make_model(spec)
    rmodel = make_model(rotate_spec(spec, r))
    y = random_flat_state(spec, rng)
    ry = rotate_flat(spec, y, r)
    f = np.asarray(model.rhs(0.0, y))
    rf = np.asarray(rmodel.rhs(0.0, ry))
    scale = 1.0 + np.abs(f).max()
    np.testing.assert_allclose(rf, rotate_flat(spec, f, r), rtol=1e-9, atol=1e-10 * scale,
                               err_msg=describe(spec))
    e, re = float(model.energy(y)), float(rmodel.energy(ry))
    assert abs(e - re) <= 1e-10 * (1.0 + abs(e)), (describe(spec), e, re)
    if spec["kur"]["omega_kind"] in (None, "global") and spec["kur"]["stimulus"] is None:
        # the model itself is invariant: the unrotated model at the rotated state
        np.testing.assert_allclose(model.rhs(0.0, ry), rotate_flat(spec, f, r), rtol=1e-9,
                                   atol=1e-10 * scale, err_msg=describe(spec))
        assert abs(float(model.energy(ry)) - e) <= 1e-10 * (1.0 + abs(e))


@SETTINGS
@given(spec=specs(), data=st.data())
def test_relabelling_units_permutes_rhs_and_keeps_energy(spec, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    pi = rng.permutation(spec["n"])
    model = make_model(spec)
    pmodel = make_model(permute_spec(spec, pi))
    y = random_flat_state(spec, rng)
    py = permute_flat(spec, y, pi)
    f = np.asarray(model.rhs(0.0, y))
    pf = np.asarray(pmodel.rhs(0.0, py))
    scale = 1.0 + np.abs(f).max()
    np.testing.assert_allclose(pf, permute_flat(spec, f, pi), rtol=1e-9, atol=1e-10 * scale,
                               err_msg=describe(spec))
    e, pe = float(model.energy(y)), float(pmodel.energy(py))
    assert abs(e - pe) <= 1e-10 * (1.0 + abs(e)), (describe(spec), e, pe)
    assert bool(model.is_lyapunov) == bool(pmodel.is_lyapunov)


# --------------------------------------------------------------------------------------
# counter-examples that must exist
# --------------------------------------------------------------------------------------


def _per_unit_models(which, rng):
    if which == "natural-2d":
        n = 4
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
        om = rng.normal(0, 3, n)
        return "kuramoto", 2, oh.Kuramoto(2, edges=pairs, coupling=0.5, omega=om, n=n)
    if which == "per-unit-3d":
        n = 4
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
        om = np.stack([_antisym(rng, 3) for _ in range(n)])
        return "kuramoto", 3, oh.Kuramoto(3, edges=pairs, coupling=0.5, omega=om, n=n)
    spec = random_spec(rng, "hk", n=4, d=2, omega_kind="per-unit", with_stim=False)
    return "hk", 2, make_model(spec)


@pytest.mark.parametrize("which", ["natural-2d", "per-unit-3d", "hk-per-unit"])
def test_per_unit_omega_is_not_lyapunov_and_energy_can_rise(which):
    found_rate = found_traj = False
    for seed in range(40):
        rng = np.random.default_rng(seed)
        kind, d, model = _per_unit_models(which, rng)
        assert not model.is_lyapunov
        assert isinstance(model.lyapunov_reason, str) and model.lyapunov_reason.strip()
        n = model.n
        h = rng.normal(size=n) if kind == "hk" else None
        x = rng.normal(size=(n, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y0 = np.concatenate([h, x.ravel()]) if kind == "hk" else x.ravel()
        assert model.step_bound(y0) == 0.0
        dedt = float(np.asarray(model.energy_gradient(y0)) @ np.asarray(model.rhs(0.0, y0)))
        if dedt > 1e-6:
            found_rate = True
            sol = oh.solve(model, (0.0, 0.5), y0, method="RK45", rtol=1e-9, atol=1e-11,
                           t_eval=np.linspace(0.0, 0.5, 51))
            if np.any(np.diff(sol.energy) > 1e-8):
                found_traj = True
                break
    assert found_rate, "no state with dE/dt > 0 found for a per-unit omega"
    assert found_traj, "no trajectory with rising energy found for a per-unit omega"


@pytest.mark.parametrize("kind,method", [("kuramoto", "AKOrN"), ("kuramoto", "Euler"),
                                         ("hopfield", "Euler"), ("hk", "Euler"), ("hk", "AKOrN")])
def test_steps_far_above_bound_can_increase_energy(kind, method):
    """The bound is not vacuous: far above it some step raises the energy."""
    for seed in range(100):
        rng = np.random.default_rng(seed)
        spec = random_spec(rng, kind, omega_kind=None,
                           activation=None if kind == "hopfield" else "tanh")
        model = make_model(spec)
        y0 = random_flat_state(spec, rng)
        b = float(model.step_bound(y0))
        if not (0.0 < b < np.inf):
            continue
        e0 = float(model.energy(y0))
        for mult in (50.0, 500.0):
            dt = mult * b
            sol = oh.solve(model, (0.0, dt), y0, method=method, dt=dt)
            e1 = float(sol.energy[-1])
            if e1 > e0 + 1e-9 * max(1.0, abs(e0)):
                return
    pytest.fail(f"no {kind} model whose {method} step at 50-500x step_bound raised the energy")


# --------------------------------------------------------------------------------------
# further invariants: the AKOrN map, batches, effective weights, equivariant trajectories
# --------------------------------------------------------------------------------------


def _unit_rows(spec, y):
    h, x = split(spec, y)
    return join(spec, h, None if x is None else x / np.linalg.norm(x, axis=1, keepdims=True))


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_akorn_step_is_the_documented_map(spec, data):
    """The AKOrN map of docs/theory.md §7: x <- normalize(x + gamma dx/dt), h <- h + gamma dh/dt;
    gamma passed as dt or as gamma."""
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y0 = random_flat_state(spec, rng)
    gamma = data.draw(st.floats(1e-3, 0.5), label="gamma")
    expect = _unit_rows(spec, y0 + gamma * np.asarray(model.rhs(0.0, y0)))
    sol = oh.solve(model, (0.0, gamma), y0, method="AKOrN", dt=gamma)
    np.testing.assert_allclose(sol.y[:, -1], expect, rtol=1e-12, atol=1e-12, err_msg=describe(spec))
    sol_g = oh.solve(model, (0.0, gamma), y0, method="AKOrN", gamma=gamma)
    np.testing.assert_allclose(sol_g.y[:, -1], expect, rtol=1e-12, atol=1e-12,
                               err_msg=describe(spec))


@SETTINGS
@given(spec=specs(), data=st.data())
def test_batch_evaluation_matches_members(spec, data):
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    nb = data.draw(st.integers(1, 4), label="batch")
    ys = np.stack([random_flat_state(spec, rng) for _ in range(nb)])
    f = np.asarray(model.rhs(0.0, ys))
    e = np.asarray(model.energy(ys))
    g = np.asarray(model.energy_gradient(ys))
    assert f.shape == ys.shape and g.shape == ys.shape and e.shape == (nb,)
    for b in range(nb):
        np.testing.assert_allclose(f[b], model.rhs(0.0, ys[b]), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(g[b], model.energy_gradient(ys[b]), rtol=1e-13, atol=1e-13)
        assert abs(e[b] - float(model.energy(ys[b]))) <= 1e-13 * (1.0 + abs(e[b]))


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_fixed_step_batch_solve_matches_single_solves(spec, data):
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    method = data.draw(st.sampled_from(FIXED_STEP), label="method")
    ys = np.stack([random_flat_state(spec, rng, h_scale=1.0) for _ in range(3)])
    solb = oh.solve(model, (0.0, 0.3), ys, method=method, dt=0.05)
    assert solb.y.shape[:2] == ys.shape
    for b in range(3):
        sol = oh.solve(model, (0.0, 0.3), ys[b], method=method, dt=0.05)
        np.testing.assert_allclose(solb.t, sol.t)
        np.testing.assert_allclose(solb.y[b], sol.y, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(solb.energy[b], sol.energy, rtol=1e-12, atol=1e-12)


def _g_of(hs, h):
    act, beta = hs["activation"], hs["beta"]
    if act == "tanh":
        return np.tanh(beta * h)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-beta * h))
    if act == "relu":
        return np.maximum(h, 0.0)
    z = np.exp(beta * h - np.max(beta * h))
    return z / z.sum()


@SETTINGS
@given(spec=specs(kinds=("hk",)), data=st.data())
def test_effective_weights_drive_the_threshold_units(spec, data):
    """docs/theory.md §4.3: dh/dt = W_eff g - h + b with W_eff = W + (1/kappa_h) M o (a x x^T)."""
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y = random_flat_state(spec, rng)
    h, x = split(spec, y)
    weff = np.asarray(model.effective_weights(y))
    n = spec["n"]
    assert weff.shape == (n, n)
    np.testing.assert_allclose(weff, weff.T, atol=1e-12)
    hs = spec["hop"]
    b = np.zeros(n) if hs["bias"] is None else hs["bias"]
    np.testing.assert_allclose(np.asarray(model.rhs(0.0, y))[:n], weff @ _g_of(hs, h) - h + b,
                               rtol=1e-10, atol=1e-10, err_msg=describe(spec))
    # outside the hk mask W_eff is W
    hk = spec["hk"]
    mask = np.ones((n, n), bool) if isinstance(hk["hk_edges"], str) else np.zeros((n, n), bool)
    if not isinstance(hk["hk_edges"], str):
        e = hk["hk_edges"]
        mask[e[:, 0], e[:, 1]] = mask[e[:, 1], e[:, 0]] = True
    np.fill_diagonal(mask, False)
    w = np.asarray(model.hopfield.weights_dense())
    np.testing.assert_allclose(weff[~mask], w[~mask], rtol=1e-12, atol=1e-12)


@SETTINGS
@given(spec=specs(kinds=("kuramoto", "hk"), activations=BOUNDED_ACTIVATIONS), data=st.data())
def test_fixed_step_trajectories_are_equivariant(spec, data):
    """Relabelling units and rotating oscillators commute with Euler, RK4 and the geometric map."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    method = data.draw(st.sampled_from(("Euler", "RK4", "Geometric")), label="method")
    model = make_model(spec)
    y0 = random_flat_state(spec, rng, h_scale=1.0)
    sol = oh.solve(model, (0.0, 0.4), y0, method=method, dt=0.05)
    pi = rng.permutation(spec["n"])
    psol = oh.solve(make_model(permute_spec(spec, pi)), (0.0, 0.4), permute_flat(spec, y0, pi),
                    method=method, dt=0.05)
    r = rotation_for(spec, rng)
    rsol = oh.solve(make_model(rotate_spec(spec, r)), (0.0, 0.4), rotate_flat(spec, y0, r),
                    method=method, dt=0.05)
    for k in range(sol.y.shape[1]):
        np.testing.assert_allclose(psol.y[:, k], permute_flat(spec, sol.y[:, k], pi),
                                   rtol=1e-9, atol=1e-9, err_msg=describe(spec))
        np.testing.assert_allclose(rsol.y[:, k], rotate_flat(spec, sol.y[:, k], r),
                                   rtol=1e-9, atol=1e-9, err_msg=describe(spec))
    np.testing.assert_allclose(psol.energy, sol.energy, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rsol.energy, sol.energy, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(spec=specs(kinds=("hopfield", "kuramoto")), data=st.data())
def test_coupling_representations_agree(spec, data):
    """Every weight / coupling representation equals its dense (Hopfield) or edge-list
    (Kuramoto) equivalent: same rhs, energy and Lyapunov flag."""
    model = make_model(spec)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="state_seed"))
    y = random_flat_state(spec, rng)
    n = spec["n"]
    if spec["kind"] == "hopfield":
        hs = spec["hop"]
        w = np.asarray(model.weights_dense())
        assert w.shape == (n, n)
        np.testing.assert_allclose(w, w.T, atol=1e-13)
        if hs["wkind"] in ("dense", "sparse"):
            np.testing.assert_allclose(w, hs["W"], atol=1e-14)
        elif hs["wkind"] == "lowrank":
            ref = hs["factor"].T @ np.diag(hs["scale"]) @ hs["factor"]
            np.fill_diagonal(ref, 0.0)
            np.testing.assert_allclose(w, ref, atol=1e-13)
        elif hs["wkind"] == "hebbian":
            xi = hs["patterns"]
            ref = xi.T @ xi / n
            np.fill_diagonal(ref, 0.0)
            np.testing.assert_allclose(w, ref, atol=1e-13)
        elif hs["wkind"] == "pseudo-inverse":
            xi = hs["patterns"]
            np.testing.assert_allclose(w, xi.T @ np.linalg.inv(xi @ xi.T) @ xi, atol=1e-10)
            np.testing.assert_allclose(w @ xi.T, xi.T, atol=1e-10)  # patterns are fixed points of W
        other = oh.Hopfield(w, bias=hs["bias"], activation=hs["activation"], beta=hs["beta"])
    else:
        k = spec["kur"]
        if k["ckind"] in ("edges", "edges-scalar"):
            return
        if k["ckind"] == "mean-field":
            jd = np.full((n, n), k["K"] / n)
        elif k["ckind"] == "lowrank":
            jd = k["factor"].T @ np.diag(k["scale"]) @ k["factor"]
        else:
            jd = k["J"]
        iu, ju = np.triu_indices(n, 1)
        nz = jd[iu, ju] != 0
        if not nz.any():
            return
        edges = np.stack([iu[nz], ju[nz]], axis=1)
        bw = None if k.get("B") is None else np.full(nz.sum(), k["B"])
        other = oh.Kuramoto(k["dim"], edges=edges, coupling=jd[iu, ju][nz],
                            interaction=k["interaction"], interaction_weights=bw,
                            stimulus=k["stimulus"], omega=k["omega"], n=n)
    scale = 1.0 + np.abs(model.rhs(0.0, y)).max()
    np.testing.assert_allclose(model.rhs(0.0, y), other.rhs(0.0, y), rtol=1e-10, atol=1e-11 * scale,
                               err_msg=describe(spec))
    e = float(model.energy(y))
    assert abs(e - float(other.energy(y))) <= 1e-10 * (1.0 + abs(e)), describe(spec)
    assert bool(model.is_lyapunov) == bool(other.is_lyapunov)
