"""``oh.solve`` against ``scipy.integrate.solve_ivp`` and its own contract.

Pure Hopfield models: oscihop's RK23/RK45 copy scipy's initial step, error norm and step
controller, so the step sequence, ``nfev`` and the dense output at ``t_eval`` should agree with
scipy's to rounding.  Kuramoto / Hopfield-Kuramoto models: oscihop renormalises every oscillator
after each accepted step (scipy does not), so trajectories agree to a few times ``rtol``.
"""
import re
import warnings

import numpy as np
import pytest
import scipy.sparse
from scipy.integrate import solve_ivp

import oscihop as oh

import naive

# scipy's function-evaluation cost per step attempt (FSAL: stages - 1 plus the new f)
STAGES = {"RK23": 3, "RK45": 6}
HOPFIELD_KINDS = [
    "tanh-dense", "tanh-lowrank", "relu-dense", "relu-lowrank", "softmax-dense", "softmax-lowrank",
    "tanh-sparse",
]
OSC_KINDS = ["kuramoto", "hk-network", "hk-additive"]
N_HOP = 8
N_OSC = 5

_MODELS = {}


def _seed(name):
    return sum(ord(c) for c in name)  # stable across processes (str hash is salted)


_sym = naive.random_symmetric
_unit_rows = naive.random_unit_rows
_antisym = naive.random_antisymmetric


def hopfield(kind):
    """(model, y0) for a small Hopfield network; cached so kernels compile once."""
    if kind in _MODELS:
        return _MODELS[kind]
    act, rep = kind.split("-")
    rng = np.random.default_rng(_seed(kind))
    n = N_HOP
    gain = {"tanh": 1.5, "relu": 0.6, "softmax": 2.0}[act]
    if rep == "dense":
        weights = _sym(rng, n, gain)
    elif rep == "sparse":
        w = _sym(rng, n, gain)
        w[np.abs(w) < 0.3] = 0.0
        weights = scipy.sparse.csr_matrix(w)
    else:
        factor = rng.normal(size=(3, n))
        weights = oh.LowRank(factor, scale=gain / n)
    bias = 0.2 * rng.normal(size=n)
    beta = 2.0 if act == "softmax" else 1.0
    model = oh.Hopfield(weights, bias=bias, activation=act, beta=beta)
    y0 = rng.normal(size=n)
    _MODELS[kind] = (model, y0)
    return model, y0


def oscillator(kind):
    """(model, y0) for a small Kuramoto or Hopfield-Kuramoto model (docs/theory.md §1 layout)."""
    if kind in _MODELS:
        return _MODELS[kind]
    rng = np.random.default_rng(_seed(kind))
    n = N_OSC
    if kind == "kuramoto":
        d = 2
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
        edges = pairs[rng.random(len(pairs)) < 0.7]
        edges = np.unique(np.vstack([edges, [[0, n - 1]]]), axis=0)
        model = oh.Kuramoto(
            d, edges=edges, coupling=rng.uniform(0.5, 1.5, size=len(edges)),
            interaction="tanh", interaction_weights=0.5, stimulus=0.3 * rng.normal(size=(n, d)),
            omega=rng.normal(size=n), n=n,
        )
        y0 = _unit_rows(rng, n, d).ravel()
    elif kind == "hk-network":
        d = 3
        hop = oh.Hopfield(_sym(rng, n, 1.5), bias=0.1 * rng.normal(size=n), activation="tanh")
        kur = oh.Kuramoto(d, coupling=_sym(rng, n, 2.0), omega=_antisym(rng, d, 1.0))
        model = oh.HopfieldKuramoto(hop, kur, "all", weights=0.5, mode="network")
        y0 = np.concatenate([rng.normal(size=n), _unit_rows(rng, n, d).ravel()])
    elif kind == "hk-additive":
        d = 3
        hop = oh.Hopfield(oh.LowRank(rng.normal(size=(2, n)), scale=1.0 / n),
                          bias=0.1 * rng.normal(size=n), activation="tanh")
        kur = oh.Kuramoto(d, coupling="mean-field", strength=1.5, n=n)
        hk_edges = np.array([(i, (i + 1) % n) for i in range(n)] + [(0, 2), (1, 3)])
        model = oh.HopfieldKuramoto(hop, kur, hk_edges, alpha=0.7, mode="additive")
        y0 = np.concatenate([rng.normal(size=n), _unit_rows(rng, n, d).ravel()])
    else:  # pragma: no cover
        raise KeyError(kind)
    _MODELS[kind] = (model, y0)
    return model, y0


def model_and_y0(kind):
    return hopfield(kind) if kind in HOPFIELD_KINDS else oscillator(kind)


def osc_norms(model, y):
    """|x_i| for every oscillator of flat states y (..., size)."""
    y = np.asarray(y)
    n, d = model.n, model.dim
    x = y[..., model.size - n * d:].reshape(y.shape[:-1] + (n, d))
    return np.linalg.norm(x, axis=-1)


_REFS = {}


def reference(kind, t_span, t_eval):
    """Tight DOP853 solution (rtol 1e-10; 1e-12 for convergence studies elsewhere)."""
    key = (kind, tuple(t_span), tuple(np.atleast_1d(t_eval)))
    if key not in _REFS:
        model, y0 = model_and_y0(kind)
        ref = solve_ivp(model.rhs, t_span, y0, method="DOP853", rtol=1e-10, atol=1e-12,
                        t_eval=t_eval)
        assert ref.success
        _REFS[key] = ref.y
    return _REFS[key]


# --------------------------------------------------------------------------------------------
# Pure Hopfield: step-for-step agreement with scipy
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", HOPFIELD_KINDS)
@pytest.mark.parametrize("method", ["RK45", "RK23"])
@pytest.mark.parametrize("rtol,atol", [(1e-3, 1e-6), (1e-7, 1e-10)])
def test_hopfield_matches_scipy_at_t_eval(kind, method, rtol, atol):
    model, y0 = hopfield(kind)
    t_eval = np.linspace(0.0, 4.0, 17)
    ref = solve_ivp(model.rhs, (0.0, 4.0), y0, method=method, rtol=rtol, atol=atol,
                    t_eval=t_eval)
    sol = oh.solve(model, (0.0, 4.0), y0, method=method, rtol=rtol, atol=atol, t_eval=t_eval)
    assert sol.success and sol.status == 0, sol.message
    assert sol.y.shape == (model.size, t_eval.size)
    np.testing.assert_array_equal(sol.t, t_eval)
    slack = 2 * STAGES[method] + 2  # "equal, or within a couple of steps"
    # same steps up to rounding (the error estimate is a cancelling sum, so last-bit
    # differences in the stage arithmetic move step sizes by ~1e-9 relative)
    if abs(int(sol.nfev) - ref.nfev) <= slack and np.allclose(sol.y, ref.y, rtol=1e-7, atol=5e-8):
        return
    # Where the step sequence turns on the last bit (relu's kink at tight tolerance: scipy itself
    # takes 380 to 446 evaluations for relu-lowrank RK45 at rtol 1e-7 when its right-hand side is
    # scaled by 1 +- 1e-15), scipy's own spread under such perturbations is the yardstick.
    runs = [solve_ivp(lambda t, y, e=e: model.rhs(t, y) * (1.0 + e), (0.0, 4.0), y0, method=method, rtol=rtol,
                      atol=atol, t_eval=t_eval) for e in (1e-15, -1e-15, 2e-15, -2e-15)]
    nfevs = [ref.nfev] + [r.nfev for r in runs]
    spread = max(float(np.abs(r.y - ref.y).max()) for r in runs)
    assert min(nfevs) - slack <= sol.nfev <= max(nfevs) + slack, (sol.nfev, nfevs)
    np.testing.assert_allclose(sol.y, ref.y, rtol=1e-7, atol=max(5e-8, 2 * spread))


@pytest.mark.parametrize("kind", HOPFIELD_KINDS)
@pytest.mark.parametrize("method", ["RK45", "RK23"])
def test_hopfield_accepted_time_grid_matches_scipy(kind, method):
    model, y0 = hopfield(kind)
    rtol, atol = 1e-5, 1e-8
    ref = solve_ivp(model.rhs, (0.0, 3.0), y0, method=method, rtol=rtol, atol=atol)
    sol = oh.solve(model, (0.0, 3.0), y0, method=method, rtol=rtol, atol=atol)
    assert sol.success and sol.status == 0, sol.message
    assert sol.t.shape == ref.t.shape, (sol.t.size, ref.t.size)
    np.testing.assert_allclose(sol.t, ref.t, rtol=1e-7, atol=1e-12)
    assert sol.t[0] == 0.0 and sol.t[-1] == 3.0
    np.testing.assert_allclose(sol.y, ref.y, rtol=1e-7, atol=5e-8)
    assert sol.nsteps == ref.t.size - 1
    assert abs(int(sol.nfev) - ref.nfev) <= 2 * STAGES[method] + 2, (sol.nfev, ref.nfev)


@pytest.mark.parametrize("method", ["RK45", "RK23"])
def test_hopfield_shifted_t_span_and_vector_atol_match_scipy(method):
    model, y0 = hopfield("softmax-dense")
    atol = np.geomspace(1e-9, 1e-6, model.size)
    t_eval = np.linspace(1.5, 4.0, 6)
    ref = solve_ivp(model.rhs, (1.5, 4.0), y0, method=method, rtol=1e-6, atol=atol,
                    t_eval=t_eval)
    sol = oh.solve(model, (1.5, 4.0), y0, method=method, rtol=1e-6, atol=atol, t_eval=t_eval)
    np.testing.assert_array_equal(sol.t, t_eval)
    assert abs(int(sol.nfev) - ref.nfev) <= 2 * STAGES[method] + 2, (sol.nfev, ref.nfev)
    np.testing.assert_allclose(sol.y, ref.y, rtol=1e-7, atol=5e-8)


@pytest.mark.parametrize("method", ["RK45", "RK23"])
def test_hopfield_max_step_and_first_step_match_scipy(method):
    model, y0 = hopfield("tanh-dense")
    kw = dict(method=method, rtol=1e-4, atol=1e-7)
    for extra in [dict(max_step=0.05), dict(first_step=1e-3), dict(max_step=0.3, first_step=0.01)]:
        ref = solve_ivp(model.rhs, (0.0, 2.0), y0, **kw, **extra)
        sol = oh.solve(model, (0.0, 2.0), y0, **kw, **extra)
        assert sol.success, (extra, sol.message)
        assert sol.t.shape == ref.t.shape, (extra, sol.t.size, ref.t.size)
        np.testing.assert_allclose(sol.t, ref.t, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(sol.y, ref.y, rtol=1e-7, atol=5e-8)
        if "max_step" in extra:
            assert np.diff(sol.t).max() <= extra["max_step"] * (1 + 1e-12)
        if "first_step" in extra:
            np.testing.assert_allclose(sol.t[1] - sol.t[0], extra["first_step"], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# Oscillator models (renormalised after each step): agreement to a few x rtol
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", OSC_KINDS)
@pytest.mark.parametrize("method", ["RK45", "RK23"])
def test_oscillator_models_match_scipy(kind, method):
    model, y0 = oscillator(kind)
    rtol, atol = 1e-6, 1e-9
    t_eval = np.linspace(0.0, 2.0, 11)
    ref = solve_ivp(model.rhs, (0.0, 2.0), y0, method=method, rtol=rtol, atol=atol,
                    t_eval=t_eval)
    sol = oh.solve(model, (0.0, 2.0), y0, method=method, rtol=rtol, atol=atol, t_eval=t_eval)
    assert sol.success and sol.status == 0, sol.message
    np.testing.assert_array_equal(sol.t, t_eval)
    err = np.abs(sol.y - ref.y).max()
    assert err < 10 * rtol, err
    # renormalised after every step and at every output (dense output is retracted too)
    np.testing.assert_allclose(osc_norms(model, sol.y.T), 1.0, atol=1e-12)
    # comparable work to scipy
    assert 0.5 * ref.nfev <= sol.nfev <= 2.0 * ref.nfev + 20, (sol.nfev, ref.nfev)


METHOD_SETTINGS = {
    # method: (solve kwargs, tolerance against DOP853 rtol 1e-10 over t in [0, 1])
    "Euler": (dict(dt=1e-3), 5e-3),
    "AKOrN": (dict(dt=1e-3), 5e-3),
    "Geometric": (dict(dt=1e-3), 2e-5),
    "RK4": (dict(dt=1e-2), 2e-7),
    "RK23": (dict(rtol=1e-7, atol=1e-10), 2e-6),
    "RK45": (dict(rtol=1e-8, atol=1e-11), 2e-7),
    "Tsit5": (dict(rtol=1e-8, atol=1e-11), 2e-7),
}


@pytest.mark.parametrize("kind", OSC_KINDS)
@pytest.mark.parametrize("method", list(METHOD_SETTINGS))
def test_every_method_against_tight_reference(kind, method):
    model, y0 = oscillator(kind)
    t_eval = np.linspace(0.0, 1.0, 5)
    ref = reference(kind, (0.0, 1.0), t_eval)
    kw, tol = METHOD_SETTINGS[method]
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=t_eval, **kw)
    assert sol.success and sol.status == 0, sol.message
    np.testing.assert_allclose(sol.t, t_eval, rtol=0, atol=1e-14)
    err = np.abs(sol.y - ref).max()
    assert err < tol, (method, err)
    # every output on the sphere (steps retracted or rotated; dense outputs retracted)
    np.testing.assert_allclose(osc_norms(model, sol.y.T), 1.0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# Batches
# --------------------------------------------------------------------------------------------
BATCH_CASES = [
    ("tanh-dense", "RK45", {}),
    ("softmax-lowrank", "RK23", {}),
    ("hk-network", "RK45", {}),
    ("hk-additive", "Tsit5", {}),
    ("kuramoto", "RK4", dict(dt=0.01)),
    ("hk-network", "Geometric", dict(dt=0.01)),
]


def _batch_y0(model, y0, b=3):
    """b members with visibly different dynamics (so their step counts differ)."""
    rng = np.random.default_rng(7)
    ys = []
    for k in range(b):
        y = y0 + (0.3 * k) * rng.normal(size=y0.size)
        if model.dim:
            y = np.asarray(model.normalize(y), dtype=float)
        if model.size > model.n * model.dim:
            y[: model.n] *= (1.0, 0.05, 3.0, 1.0)[k % 4]
        ys.append(y)
    return np.array(ys)


@pytest.mark.parametrize("kind,method,kw", BATCH_CASES)
def test_batch_equals_separate_solves(kind, method, kw):
    model, y0 = model_and_y0(kind)
    Y0 = _batch_y0(model, y0)
    B = Y0.shape[0]
    t_eval = np.linspace(0.0, 1.5, 7)
    opts = dict(method=method, t_eval=t_eval, **kw)
    if not kw:
        opts.update(rtol=1e-6, atol=1e-9)
    sol = oh.solve(model, (0.0, 1.5), Y0, **opts)
    assert sol.y.shape == (B, model.size, t_eval.size)
    assert np.shape(sol.energy) == (B, t_eval.size)
    assert np.shape(sol.status) == (B,)
    np.testing.assert_array_equal(sol.status, 0)
    assert sol.success
    np.testing.assert_array_equal(sol.t, t_eval)
    nfev = np.asarray(sol.nfev)
    assert nfev.shape == (B,), nfev
    for b in range(B):
        single = oh.solve(model, (0.0, 1.5), Y0[b], **opts)
        np.testing.assert_allclose(sol.y[b], single.y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(sol.energy[b], single.energy, rtol=1e-10, atol=1e-12)
        assert nfev[b] == single.nfev, (b, nfev, single.nfev)
    if method in STAGES and model.dim == 0:  # each member is its own scipy run
        for b in range(B):
            ref = solve_ivp(model.rhs, (0.0, 1.5), Y0[b], method=method, rtol=1e-6,
                            atol=1e-9, t_eval=t_eval)
            assert abs(int(nfev[b]) - ref.nfev) <= 2 * STAGES[method] + 2, (b, nfev, ref.nfev)
            np.testing.assert_allclose(sol.y[b], ref.y, rtol=1e-7, atol=5e-8)


def test_batch_t_eval_none_grid():
    model, y0 = hopfield("tanh-dense")
    Y0 = _batch_y0(model, y0)
    sol = oh.solve(model, (0.0, 2.0), Y0, method="RK45")
    np.testing.assert_array_equal(sol.t, [0.0, 2.0])
    assert sol.y.shape == (3, model.size, 2)
    np.testing.assert_array_equal(sol.y[:, :, 0], Y0)
    for b in range(3):
        single = oh.solve(model, (0.0, 2.0), Y0[b], method="RK45")
        np.testing.assert_allclose(sol.y[b, :, -1], single.y[:, -1], rtol=1e-10, atol=1e-12)

    kmodel, ky0 = oscillator("kuramoto")
    KY0 = _batch_y0(kmodel, ky0)
    fsol = oh.solve(kmodel, (0.0, 0.5), KY0, method="Euler", dt=0.1)
    np.testing.assert_allclose(fsol.t, np.linspace(0.0, 0.5, 6), rtol=0, atol=1e-14)
    assert fsol.y.shape == (3, kmodel.size, 6)


def test_single_member_batch_keeps_batch_shape():
    model, y0 = hopfield("relu-dense")
    t_eval = np.linspace(0.0, 1.0, 4)
    sol = oh.solve(model, (0.0, 1.0), y0[None, :], t_eval=t_eval)
    assert sol.y.shape == (1, model.size, 4)
    single = oh.solve(model, (0.0, 1.0), y0, t_eval=t_eval)
    np.testing.assert_allclose(sol.y[0], single.y, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tanh-dense", "softmax-lowrank", "hk-network", "kuramoto"])
@pytest.mark.parametrize("how", ["dtype", "y0"])
def test_float32(kind, how):
    model, y0 = model_and_y0(kind)
    t_eval = np.linspace(0.0, 1.0, 5)
    kw = dict(method="RK45", rtol=1e-4, atol=1e-6, t_eval=t_eval)
    ref = oh.solve(model, (0.0, 1.0), y0, **kw)
    if how == "dtype":
        sol = oh.solve(model, (0.0, 1.0), y0, dtype="float32", **kw)
    else:
        sol = oh.solve(model, (0.0, 1.0), y0.astype(np.float32), **kw)
    assert sol.success, sol.message
    assert sol.y.dtype == np.float32
    assert np.all(np.isfinite(sol.y))
    np.testing.assert_allclose(sol.y, ref.y, rtol=0, atol=2e-3)
    np.testing.assert_allclose(np.asarray(sol.energy, dtype=float), ref.energy, rtol=0,
                               atol=2e-3 * (1 + np.abs(ref.energy).max()))
    if model.dim:
        np.testing.assert_allclose(osc_norms(model, sol.y.T.astype(float)), 1.0, atol=1e-5)


def test_float32_batch_fixed_step():
    model, y0 = oscillator("hk-network")
    Y0 = _batch_y0(model, y0, b=2)
    t_eval = np.linspace(0.0, 0.5, 3)
    sol = oh.solve(model, (0.0, 0.5), Y0, method="RK4", dt=0.01, t_eval=t_eval, dtype="float32")
    ref = oh.solve(model, (0.0, 0.5), Y0, method="RK4", dt=0.01, t_eval=t_eval)
    assert sol.y.dtype == np.float32
    np.testing.assert_allclose(sol.y, ref.y, rtol=0, atol=1e-4)


# --------------------------------------------------------------------------------------------
# Termination: max_steps, steady_state
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method,kw", [("RK45", {}), ("Tsit5", {}), ("RK23", {}),
                                       ("RK4", dict(dt=0.01)), ("Euler", dict(dt=0.01))])
def test_max_steps_exhausted_fails_gracefully(method, kw):
    model, y0 = oscillator("hk-network")
    if not kw:
        kw = dict(rtol=1e-9, atol=1e-12)
    sol = oh.solve(model, (0.0, 50.0), y0, method=method, max_steps=5, **kw)
    assert sol.status == -1
    assert sol.success is False or sol.success == False  # noqa: E712 (numpy bool allowed)
    assert isinstance(sol.message, str) and sol.message
    assert sol.nsteps <= 5
    assert sol.t_final < 50.0
    reached = sol.t <= sol.t_final
    assert reached[0] and np.all(np.isfinite(sol.y[:, reached]))
    # outputs never reached are NaN (documented), never silently stale values
    assert np.all(np.isnan(sol.y[:, ~reached]))
    if method in STAGES or method == "Tsit5":  # one adaptive trajectory: truncated like scipy
        assert sol.t[-1] == sol.t_final


def test_max_steps_exhausted_batch():
    model, y0 = hopfield("tanh-dense")
    Y0 = _batch_y0(model, y0, b=2)
    sol = oh.solve(model, (0.0, 50.0), Y0, method="RK45", rtol=1e-10, atol=1e-12, max_steps=3)
    np.testing.assert_array_equal(sol.status, -1)
    assert not sol.success
    assert isinstance(sol.message, str) and sol.message


def test_max_steps_sufficient_is_success():
    model, y0 = hopfield("tanh-dense")
    ref = solve_ivp(model.rhs, (0.0, 1.0), y0, method="RK45")
    sol = oh.solve(model, (0.0, 1.0), y0, method="RK45", max_steps=ref.t.size - 1)
    assert sol.status == 0 and sol.success, sol.message


def _contractive_hopfield():
    rng = np.random.default_rng(11)
    n = 6
    return oh.Hopfield(_sym(rng, n, 0.4), bias=0.3 * rng.normal(size=n),
                       activation="tanh"), rng.normal(size=n)


def _check_steady_stop(model, sol, tol):
    """status 1, the stop time in the message, the stopped state steady, later outputs hold it."""
    assert sol.status == 1, sol.message
    assert sol.success
    t_stop = sol.t_final
    assert t_stop < sol.options["t_span"][1]
    y_stop = sol.y[:, -1]
    assert np.abs(model.rhs(t_stop, y_stop)).max() < tol * 1.01
    nums = [float(v) for v in re.findall(r"[-+]?\d+\.?\d*(?:[eE][-+]?\d+)?", sol.message)]
    assert any(np.isclose(v, t_stop, rtol=1e-5) for v in nums), (sol.message, t_stop)
    after = sol.t > t_stop
    np.testing.assert_array_equal(sol.y[:, after], np.repeat(y_stop[:, None], after.sum(), 1))
    before = np.flatnonzero(sol.t < t_stop * (1 - 1e-12))
    # the last output before the stop was not yet steady (otherwise it would have stopped)
    assert np.abs(model.rhs(sol.t[before[-1]], sol.y[:, before[-1]])).max() >= tol * 0.99
    return t_stop


@pytest.mark.parametrize("method,kw", [("RK45", dict(rtol=1e-8, atol=1e-10)),
                                       ("Tsit5", dict(rtol=1e-8, atol=1e-10)),
                                       ("RK4", dict(dt=0.05)), ("Euler", dict(dt=0.05))])
def test_steady_state_stops_early(method, kw):
    model, y0 = _contractive_hopfield()
    tol = 1e-6
    sol = oh.solve(model, (0.0, 1000.0), y0, method=method, steady_state=tol, **kw)
    t_stop = _check_steady_stop(model, sol, tol)
    assert 1.0 < t_stop < 200.0, t_stop
    # with t_eval: outputs at t_eval, those after the stop hold the stopped state
    t_eval = np.linspace(0.0, 1000.0, 11)
    sol2 = oh.solve(model, (0.0, 1000.0), y0, method=method, steady_state=tol, t_eval=t_eval, **kw)
    assert sol2.status == 1
    np.testing.assert_allclose(sol2.t_final, t_stop, rtol=1e-9)
    np.testing.assert_array_equal(sol2.t, t_eval)
    np.testing.assert_allclose(sol2.y[:, -1], sol.y[:, -1], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(sol2.y[:, 2:], np.repeat(sol2.y[:, -1:], 9, 1))


def test_steady_state_oscillators_and_batch():
    rng = np.random.default_rng(5)
    n, d = 5, 3
    kur = oh.Kuramoto(d, coupling=np.abs(_sym(rng, n, 3.0)) + 0.2 * (1 - np.eye(n)))
    y0 = _unit_rows(rng, n, d).ravel()
    sol = oh.solve(kur, (0.0, 500.0), y0, method="RK45", steady_state=1e-5, rtol=1e-8,
                   atol=1e-10)
    _check_steady_stop(kur, sol, 1e-5)

    model, hy0 = _contractive_hopfield()
    Y0 = np.array([hy0, 0.01 * hy0, 3.0 * hy0])
    t_eval = np.linspace(0.0, 1000.0, 5)
    bsol = oh.solve(model, (0.0, 1000.0), Y0, method="RK45", steady_state=1e-6, rtol=1e-8,
                    atol=1e-10, t_eval=t_eval)
    np.testing.assert_array_equal(bsol.status, 1)
    assert bsol.success
    assert np.all(bsol.t_final < 1000.0)
    for b in range(3):
        single = oh.solve(model, (0.0, 1000.0), Y0[b], method="RK45", steady_state=1e-6,
                          rtol=1e-8, atol=1e-10, t_eval=t_eval)
        assert single.t_final == bsol.t_final[b]
        np.testing.assert_allclose(bsol.y[b], single.y, rtol=1e-10, atol=1e-12)


def test_no_steady_state_runs_to_end():
    model, y0 = _contractive_hopfield()
    sol = oh.solve(model, (0.0, 30.0), y0, method="RK45")
    assert sol.status == 0 and sol.t[-1] == 30.0


# --------------------------------------------------------------------------------------------
# t_eval handling
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tanh-dense", "hk-network"])
@pytest.mark.parametrize("method,kw", [("RK45", {}), ("RK23", {}), ("Tsit5", {}),
                                       ("Euler", dict(dt=0.07)), ("RK4", dict(dt=0.07)),
                                       ("Geometric", dict(dt=0.07)), ("AKOrN", dict(dt=0.07))])
def test_outputs_exactly_at_t_eval(kind, method, kw):
    if method in ("Geometric", "AKOrN") and kind == "tanh-dense":
        kind = "kuramoto"  # sphere methods: use an oscillator model
    model, y0 = model_and_y0(kind)
    t_eval = np.array([0.0, 0.05, 0.1, 0.33, 0.330001, 0.9, 1.0])
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=t_eval, **kw)
    assert sol.success, sol.message
    np.testing.assert_array_equal(sol.t, t_eval)
    assert sol.y.shape == (model.size, t_eval.size)
    np.testing.assert_allclose(sol.y[:, 0], y0, rtol=0, atol=1e-14)
    assert np.shape(sol.energy) == (t_eval.size,)
    # t_eval starting after t0 (fixed-step methods then take different, cut steps)
    sol2 = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=t_eval[2:], **kw)
    np.testing.assert_array_equal(sol2.t, t_eval[2:])
    tol = {"Euler": 0.05, "AKOrN": 0.05, "Geometric": 2e-3, "RK4": 1e-5}.get(method, 1e-10)
    np.testing.assert_allclose(sol2.y, sol.y[:, 2:], rtol=0, atol=tol)


def test_fixed_step_never_steps_over_an_output_time():
    model, y0 = hopfield("tanh-dense")
    t_eval = np.array([0.0, 0.03, 0.1, 0.25])
    sol = oh.solve(model, (0.0, 0.25), y0, method="Euler", dt=0.1, t_eval=t_eval)
    np.testing.assert_array_equal(sol.t, t_eval)
    # whatever the cutting strategy, 0 -> 0.03 and 0.03 -> 0.1 are single (shortened) steps
    y1 = y0 + 0.03 * model.rhs(0.0, y0)
    y2 = y1 + (0.1 - 0.03) * model.rhs(0.03, y1)
    np.testing.assert_allclose(sol.y[:, 1], y1, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(sol.y[:, 2], y2, rtol=1e-12, atol=1e-13)
    ref = solve_ivp(model.rhs, (0.0, 0.25), y0, method="DOP853", rtol=1e-12, atol=1e-14,
                    t_eval=t_eval)
    np.testing.assert_allclose(sol.y, ref.y, rtol=0, atol=0.05)

    # RK4 on a grid that is not a multiple of dt: still exact output times, RK4 accuracy
    t_eval = np.array([0.0, 0.123, 0.5, 0.777])
    sol = oh.solve(model, (0.0, 0.777), y0, method="RK4", dt=0.05, t_eval=t_eval)
    ref = solve_ivp(model.rhs, (0.0, 0.777), y0, method="DOP853", rtol=1e-12, atol=1e-14,
                    t_eval=t_eval)
    np.testing.assert_array_equal(sol.t, t_eval)
    np.testing.assert_allclose(sol.y, ref.y, rtol=0, atol=1e-6)


def test_fixed_step_t_eval_none_every_step():
    model, y0 = hopfield("tanh-dense")
    sol = oh.solve(model, (0.0, 1.0), y0, method="Euler", dt=0.1)
    assert sol.t.size == 11 and sol.nsteps == 10
    np.testing.assert_allclose(sol.t, np.linspace(0.0, 1.0, 11), rtol=0, atol=1e-13)
    assert sol.t[-1] == 1.0
    y = y0.copy()
    for k in range(10):
        y = y + 0.1 * model.rhs(0.0, y)
    np.testing.assert_allclose(sol.y[:, -1], y, rtol=1e-12, atol=1e-13)
    # last step shortened to land on t_end
    sol = oh.solve(model, (0.0, 1.05), y0, method="RK4", dt=0.1)
    assert sol.t[-1] == 1.05
    assert sol.nsteps == 11
    assert np.diff(sol.t).max() <= 0.1 + 1e-12


@pytest.mark.parametrize("t_eval", [np.array([0.0, 2.0]), np.array([-0.5, 0.5]),
                                    np.array([0.5, 0.2, 0.9])])
def test_bad_t_eval_raises(t_eval):
    model, y0 = hopfield("tanh-dense")
    with pytest.raises(ValueError, match="t_eval"):
        oh.solve(model, (0.0, 1.0), y0, t_eval=t_eval)


# --------------------------------------------------------------------------------------------
# Energy at outputs and result fields
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tanh-dense", "relu-lowrank", "softmax-dense",
                                  "kuramoto", "hk-network", "hk-additive"])
def test_energy_equals_model_energy_at_outputs(kind):
    model, y0 = model_and_y0(kind)
    t_eval = np.linspace(0.0, 2.0, 9)
    sol = oh.solve(model, (0.0, 2.0), y0, t_eval=t_eval, rtol=1e-6, atol=1e-9)
    expect = np.array([model.energy(sol.y[:, k]) for k in range(t_eval.size)])
    np.testing.assert_allclose(sol.energy, expect, rtol=1e-10, atol=1e-12)
    Y0 = _batch_y0(model, y0, b=2)
    bsol = oh.solve(model, (0.0, 2.0), Y0, t_eval=t_eval, rtol=1e-6, atol=1e-9)
    for b in range(2):
        expect = np.array([model.energy(bsol.y[b, :, k]) for k in range(t_eval.size)])
        np.testing.assert_allclose(bsol.energy[b], expect, rtol=1e-10, atol=1e-12)
    # model.energy on the (B, size) batch at the last output agrees too
    np.testing.assert_allclose(model.energy(bsol.y[:, :, -1]), bsol.energy[:, -1], rtol=1e-10,
                               atol=1e-12)


def test_energy_decreases_for_lyapunov_models():
    for kind in ["tanh-dense", "relu-lowrank", "hk-network"]:
        model, y0 = model_and_y0(kind)
        if not model.is_lyapunov:
            continue
        sol = oh.solve(model, (0.0, 3.0), y0, rtol=1e-9, atol=1e-12)
        assert np.all(np.diff(sol.energy) <= 1e-9 * (1 + np.abs(sol.energy).max())), kind


def test_result_fields():
    model, y0 = hopfield("tanh-dense")
    sol = oh.solve(model, (0.0, 1.0), y0, method="RK45", rtol=1e-5, atol=1e-8)
    for name in ["t", "y", "energy", "status", "message", "success", "nfev", "nsteps",
                 "method", "options"]:
        assert hasattr(sol, name), name
    assert sol.method == "RK45"
    assert sol.status == 0 and bool(sol.success) is True
    assert isinstance(sol.message, str) and sol.message
    assert int(sol.nsteps) == sol.t.size - 1
    assert int(sol.nfev) >= 6 * int(sol.nsteps)
    assert sol.t.ndim == 1 and sol.y.shape == (model.size, sol.t.size)
    assert np.shape(sol.energy) == (sol.t.size,)
    np.testing.assert_allclose(sol.y[:, 0], y0, rtol=0, atol=0)
    opts = sol.options
    assert hasattr(opts, "get") or hasattr(opts, "__getitem__")
    if "rtol" in opts:
        assert float(opts["rtol"]) == 1e-5
    np.testing.assert_array_equal(sol.states, sol.y.T)

    fsol = oh.solve(model, (0.0, 1.0), y0, method="RK4", dt=0.25)
    assert fsol.method == "RK4" and fsol.nsteps == 4
    assert fsol.nfev >= 4 * fsol.nsteps

    kmodel, ky0 = oscillator("hk-network")
    Y0 = _batch_y0(kmodel, ky0, b=2)
    bsol = oh.solve(kmodel, (0.0, 1.0), Y0, t_eval=[0.0, 0.5, 1.0])
    assert bsol.states.shape == (2, 3, kmodel.size)
    np.testing.assert_array_equal(bsol.states, np.swapaxes(bsol.y, 1, 2))


# --------------------------------------------------------------------------------------------
# Argument validation (scipy-style messages naming the parameter)
# --------------------------------------------------------------------------------------------
def test_argument_validation():
    model, y0 = hopfield("tanh-dense")
    for method in ["Euler", "RK4"]:
        with pytest.raises(ValueError, match="dt"):
            oh.solve(model, (0.0, 1.0), y0, method=method)
    kmodel, ky0 = oscillator("kuramoto")
    for method in ["Geometric", "AKOrN"]:
        with pytest.raises(ValueError, match="dt|gamma"):
            oh.solve(kmodel, (0.0, 1.0), ky0, method=method)
    with pytest.raises(ValueError, match="method"):
        oh.solve(model, (0.0, 1.0), y0, method="NotAMethod")
    with pytest.raises(ValueError, match="rtol"):
        oh.solve(model, (0.0, 1.0), y0, rtol=-1.0)
    with pytest.raises(ValueError, match="atol"):
        oh.solve(model, (0.0, 1.0), y0, atol=-1.0)
    with pytest.raises(ValueError, match="y0"):
        oh.solve(model, (0.0, 1.0), np.zeros(model.size + 1))
    with pytest.raises(ValueError, match="dt"):
        oh.solve(model, (0.0, 1.0), y0, method="Euler", dt=-0.1)
    with pytest.raises(ValueError, match="max_steps"):
        oh.solve(model, (0.0, 1.0), y0, max_steps=-1)
    with pytest.raises(ValueError, match="steady_state"):
        oh.solve(model, (0.0, 1.0), y0, steady_state=-1e-3)
    with pytest.warns(Warning, match="frobnicate"):
        sol = oh.solve(model, (0.0, 1.0), y0, frobnicate=3)
    assert sol.success
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        oh.solve(model, (0.0, 1.0), y0, rtol=1e-4)


# --------------------------------------------------------------------------------------------
# Issue 14, defect 1: a tiny fixed step overflowed the step count (success with one step)
# --------------------------------------------------------------------------------------------
FIXED_METHODS = ("Euler", "RK4", "Geometric", "AKOrN")
BACKENDS = ("cpu", "cuda")  # "cuda" runs numba's CUDA simulator (tests/conftest.py) or a GPU


def _fixed_model(method):
    """Geometric needs oscillators to rotate; the others run on a Hopfield network."""
    if method == "Geometric":
        return oscillator("kuramoto")
    return hopfield("tanh-dense")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("method", FIXED_METHODS)
def test_defect1_tiny_dt_is_refused_naming_dt(method, batch, backend):
    model, y0 = _fixed_model(method)
    y = _batch_y0(model, y0, b=3) if batch else y0
    for t_eval in ([0.0, 1.0], None):
        with pytest.raises(ValueError, match=r"`dt` = 1e-19 needs 1e\+19 steps over t_span = \(0.0, 1.0\), more "
                                             r"than 2\*\*53.*pass a larger `dt`"):
            oh.solve(model, (0.0, 1.0), y, method=method, dt=1e-19, t_eval=t_eval, backend=backend)
    # more steps than the default max_steps: refused up front, the fix named
    with pytest.raises(ValueError, match=r"`dt` = 1e-07 needs 10000000 steps .* more than max_steps = 1000000 "
                                         r"\(the default\); pass a larger `dt`.*max_steps=10000000"):
        oh.solve(model, (0.0, 1.0), y, method=method, dt=1e-7, t_eval=[0.0, 1.0], backend=backend)
    # an explicit, smaller max_steps: the run stops there and fails (as an adaptive solve does)
    sol = oh.solve(model, (0.0, 1.0), y, method=method, dt=1e-12, t_eval=[0.0, 1.0], max_steps=4, backend=backend)
    np.testing.assert_array_equal(sol.status, -1)
    np.testing.assert_array_equal(sol.nsteps, 4)
    assert not sol.success and "max_steps" in sol.message
    assert np.all(np.isnan(sol.y[..., -1]))


def test_defect1_tiny_dt_async_sweeps_are_refused():
    hop = oh.Hopfield(np.array([[0.0, 1.0], [1.0, 0.0]]), activation="sign")
    with pytest.raises(ValueError, match=r"`t_span` = \(0.0, 1e\+19\) needs 1e\+19 sweeps"):
        oh.solve(hop, (0, 1e19), [1.0, -1.0], method="async", t_eval=[0, 1])
    with pytest.raises(ValueError, match=r"needs 2000000 sweeps .*max_steps=2000000"):
        oh.solve(hop, (0, 2_000_000), [1.0, -1.0], method="async")


@pytest.mark.parametrize("scheme", [0, 1, 2])
def test_defect1_compiled_fixed_loops_cannot_overflow_the_step_count(scheme):
    """Below the driver's check: the loops themselves stop with status -1 (no int overflow)."""
    from oscihop.kernels import system as S
    from oscihop.kernels.batched import work_t_size
    from oscihop.solvers import loops
    from oscihop.solvers.lockstep import fixed_lockstep

    model, y0 = _fixed_model("Geometric" if scheme == 2 else "Euler")
    p = model.params()
    te = np.array([0.0, 1.0])
    out = np.empty((2, model.size))
    stats = np.zeros(5)
    loops.fixed_member(S.link(p), y0, 0.0, te, 1e-19, scheme, 2**53, 0.0, out, stats)
    assert stats[3] == loops.STATUS_MAX_STEPS and stats[1] == 0
    np.testing.assert_array_equal(out[0], y0)
    assert np.all(np.isnan(out[1]))
    if scheme < 2:  # the lockstep batch loop (Euler, RK4)
        ys = np.stack([y0] * 4)
        outb = np.empty((4, 2, model.size))
        statsb = np.zeros((4, 5))
        fixed_lockstep(S.link(p, "rhs_t"), ys, 0.0, te, 1e-19, scheme, 2**53, 0.0, outb, statsb, np.empty(work_t_size(p, 4)))
        np.testing.assert_array_equal(statsb[:, 3], loops.STATUS_MAX_STEPS)
        assert np.all(np.isnan(outb[:, 1]))
    from oscihop.cuda import backend as gpu

    for layout in ("thread", "block"):
        states, st, _, _, _, _ = gpu.run_fixed(p, y0[None], 0.0, te, 1e-19, scheme, 2**53, 0.0, layout, 2)
        np.testing.assert_array_equal(st[:, 3], loops.STATUS_MAX_STEPS)
        assert np.all(np.isnan(states[:, 1]))


# --------------------------------------------------------------------------------------------
# Issue 14, defect 2: a last step that overflows was reported as success
# --------------------------------------------------------------------------------------------
def _overflowing_hopfield():
    """y0 = 0 and dt = 2 on (0, 2): every fixed-step method's one step overflows to inf/NaN,
    while the right-hand side at the start (the bias, 1e308) is finite."""
    return oh.Hopfield(np.array([[0.0, 3.0], [3.0, 0.0]]), bias=[1e308, 1e308], activation="relu")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("method", FIXED_METHODS)
def test_defect2_last_step_nonfinite_is_failure(method, batch, backend):
    model = _overflowing_hopfield()
    y0 = np.zeros((3, 2)) if batch else np.zeros(2)
    for t_eval in (None, [0.0, 2.0]):
        sol = oh.solve(model, (0.0, 2.0), y0, method=method, dt=2.0, t_eval=t_eval, backend=backend)
        assert not np.all(np.isfinite(sol.y[..., -1]))  # the overflow really happens on the last step
        np.testing.assert_array_equal(sol.status, -3)
        assert sol.success is False
        np.testing.assert_array_equal(sol.t_final, 2.0)
        assert "non-finite" in sol.message and "by t = 2" in sol.message and "dt" in sol.message


@pytest.mark.parametrize("backend", BACKENDS)
def test_defect2_batch_status_is_per_member(backend):
    model = oh.Hopfield(np.zeros((2, 2)), bias=[1e308, 0.0], activation="tanh")
    y0 = np.array([[0.0, 0.0], [1e308, 0.0]])  # member 1 starts at rest and stays finite
    sol = oh.solve(model, (0.0, 2.0), y0, method="Euler", dt=2.0, backend=backend)
    assert np.all(np.isfinite(sol.y[1])) and np.all(np.isfinite(sol.energy[1]))
    np.testing.assert_array_equal(sol.status, [-3, 0])
    assert not sol.success and "1 member(s): Failed: the state or its energy became non-finite" in sol.message


@pytest.mark.parametrize("method", ["RK45", "Euler"])
def test_defect2_nonfinite_energy_at_an_output_is_failure(method):
    """A finite state whose energy overflows (here at t0, no step taken) is not a result."""
    model = oh.Hopfield(np.array([[0.0, 1.0], [1.0, 0.0]]), activation="relu")
    y0 = np.array([1e200, 1e200])
    kw = dict(dt=0.1) if method == "Euler" else {}
    sol = oh.solve(model, (0.0, 0.0), y0, method=method, t_eval=[0.0], **kw)
    assert np.all(np.isfinite(sol.y)) and not np.isfinite(sol.energy[0])
    assert sol.status == -3 and not sol.success and "by t = 0" in sol.message


# --------------------------------------------------------------------------------------------
# Issue 14: one surface (solve and value_and_grad agree)
# --------------------------------------------------------------------------------------------
def _sum_loss(y):
    return float(np.sum(y)), np.ones_like(y)


def test_coherence_t_span_is_required_everywhere():
    model, y0 = hopfield("tanh-dense")
    for call in (lambda: oh.solve(model, y0=y0), lambda: oh.value_and_grad(model, _sum_loss, y0),
                 lambda: oh.gradient(model, _sum_loss, y0)):
        with pytest.raises(TypeError, match="t_span"):
            call()
    for bad in ((0.0, "1"), (True, 1.0), (0.0, 1.0 + 0j), (0.0,), None, (1.0, 0.0), (0.0, np.inf)):
        for call in (oh.solve, lambda m, t, y: oh.value_and_grad(m, _sum_loss, y, t)):
            with pytest.raises(ValueError, match="`t_span`"):
                call(model, bad, y0)


def test_coherence_default_method_and_tolerances_are_solves():
    import inspect

    from oscihop.solvers.solve import DEFAULT_ATOL, DEFAULT_RTOL

    sig_s, sig_g = inspect.signature(oh.solve), inspect.signature(oh.value_and_grad)
    assert sig_s.parameters["method"].default == sig_g.parameters["method"].default == "RK45"
    for name in ("rtol", "atol", "max_steps", "dt", "t_eval", "dtype"):
        assert sig_s.parameters[name].default is sig_g.parameters[name].default is None, name
    model, y0 = hopfield("tanh-dense")
    res = oh.value_and_grad(model, _sum_loss, y0, (0.0, 1.0), t_eval=[0.0, 0.5, 1.0])
    sol = oh.solve(model, (0.0, 1.0), y0, t_eval=[0.0, 0.5, 1.0])
    assert sol.options["rtol"] == DEFAULT_RTOL and sol.options["atol"] == DEFAULT_ATOL
    assert res.success and res.status == 0
    np.testing.assert_allclose(res.y, sol.y, rtol=0, atol=1e-13)
    assert res.stats["nsteps"] == sol.nsteps


@pytest.mark.parametrize("method,kw", [("RK45", dict(rtol=1e-10, atol=1e-12)), ("RK4", dict(dt=0.1))])
def test_coherence_running_out_of_steps_is_a_failed_result_in_both(method, kw):
    model, y0 = hopfield("tanh-dense")
    for y in (y0, _batch_y0(model, y0, b=2)):
        sol = oh.solve(model, (0.0, 10.0), y, method=method, max_steps=3, **kw)
        with pytest.warns(RuntimeWarning, match="max_steps"):
            res = oh.value_and_grad(model, _sum_loss, y, (0.0, 10.0), method=method, max_steps=3, **kw)
        np.testing.assert_array_equal(sol.status, -1)
        np.testing.assert_array_equal(res.status, sol.status)
        assert res.success is sol.success is False
        assert res.message == sol.message
        assert np.isnan(res.value) and np.all(np.isnan(res.y0))
        assert all(np.all(np.isnan(g)) for g in res.grads.values())
        with pytest.warns(RuntimeWarning, match="max_steps"):
            g = oh.gradient(model, _sum_loss, y, (0.0, 10.0), method=method, max_steps=3, **kw)
        assert np.all(np.isnan(g["y0"]))


def test_coherence_repeated_output_times_are_refused_by_both():
    model, y0 = hopfield("tanh-dense")
    msg = r"`t_eval` must be strictly increasing .* repeats at index 2: t_eval\[1\] = 0.5, t_eval\[2\] = 0.5"
    with pytest.raises(ValueError, match=msg):
        oh.solve(model, (0.0, 1.0), y0, t_eval=[0.0, 0.5, 0.5, 1.0])
    with pytest.raises(ValueError, match=msg):
        oh.value_and_grad(model, _sum_loss, y0, (0.0, 1.0), t_eval=[0.0, 0.5, 0.5, 1.0])
    from oscihop.solvers.times import check_t_eval

    with pytest.raises(ValueError, match=msg):
        check_t_eval([0.0, 0.5, 0.5, 1.0], 0.0, 1.0)


def test_coherence_method_list_is_a_value_error_in_both():
    model, y0 = hopfield("tanh-dense")
    with pytest.raises(ValueError, match=r"`method` must be one of .*'RK45'.*got \['RK45'\]"):
        oh.solve(model, (0.0, 1.0), y0, method=["RK45"])
    with pytest.raises(ValueError, match=r"`method` must be one of .*'RK45'.*got \['RK45'\]"):
        oh.value_and_grad(model, _sum_loss, y0, (0.0, 1.0), method=["RK45"])


def test_defect2_first_nonfinite_output_ends_the_run():
    """An energy that overflows before the state does fails the member there: later outputs
    are NaN, as after any failure (so a streamed solve, cut into blocks, agrees)."""
    hop = oh.Hopfield(np.array([[0.0, 3.0], [3.0, 0.0]]), activation="relu")
    y0 = np.array([[1.0, 1.0], [-1.0, -1.0]])  # the first member grows without bound, the second decays
    t = np.arange(0.0, 801.0, 4.0)
    sol = oh.solve(hop, (0, 800), y0, t_eval=t, method="Euler", dt=1.0)
    np.testing.assert_array_equal(sol.status, [-3, 0])
    j = int(np.argmax(~np.isfinite(sol.energy[0])))
    assert np.all(np.isfinite(sol.y[0, :, :j])) and sol.t_final[0] == t[j]
    assert np.all(np.isnan(sol.y[0, :, j + 1:])) and np.all(np.isnan(sol.energy[0, j + 1:]))
    assert np.all(np.isfinite(sol.energy[1]))
