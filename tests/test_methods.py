"""Integration methods: Butcher tableaux, convergence orders, the sphere methods, async Hopfield."""
from functools import lru_cache

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import oscihop as oh

import naive

# --------------------------------------------------------------------------------------------
# Butcher tableaux: rooted-tree order conditions
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def rooted_trees(order):
    """All rooted trees with `order` nodes; a tree is the sorted tuple of its child subtrees."""
    if order == 1:
        return ((),)

    def partitions(rem, largest):
        if rem == 0:
            yield ()
            return
        for p in range(min(rem, largest), 0, -1):
            for rest in partitions(rem - p, p):
                yield (p,) + rest

    out = set()
    for part in partitions(order - 1, order - 1):
        def grow(i, acc):
            if i == len(part):
                out.add(tuple(sorted(acc)))
                return
            for t in rooted_trees(part[i]):
                grow(i + 1, acc + [t])
        grow(0, [])
    return tuple(sorted(out))


def tree_order(t):
    return 1 + sum(tree_order(c) for c in t)


def tree_density(t):
    g = tree_order(t)
    for c in t:
        g *= tree_density(c)
    return g


def elementary_weight(t, A):
    v = np.ones(A.shape[0])
    for c in t:
        v = v * (A @ elementary_weight(c, A))
    return v


def order_residual(A, b, p):
    """max over trees of order <= p of |b . Phi(t) - 1/gamma(t)|."""
    return max(abs(b @ elementary_weight(t, A) - 1.0 / tree_density(t))
               for q in range(1, p + 1) for t in rooted_trees(q))


def test_tree_enumeration_and_checker_on_scipy_tableaux():
    # the checker itself: A000081 counts, and scipy's own pairs
    assert [len(rooted_trees(q)) for q in range(1, 7)] == [1, 1, 2, 4, 9, 20]
    from scipy.integrate._ivp.rk import RK23, RK45
    for cls, p in [(RK23, 3), (RK45, 5)]:
        s = cls.B.size
        A = np.zeros((s, s))
        A[:, : cls.A.shape[1]] = cls.A[:s]
        assert order_residual(A, cls.B, p) < 1e-14
        assert order_residual(A, cls.B, p + 1) > 1e-5


def _square(A, s):
    A = np.asarray(A, dtype=float)
    out = np.zeros((s, s))
    out[: A.shape[0], : A.shape[1]] = A[:s, :s]
    return out


# (method, order of the propagated solution, order of the embedded solution)
TABLEAU_ORDERS = [("RK23", 3, 2), ("RK45", 5, 4), ("Tsit5", 5, 4)]


def load_tableau(method):
    """Return (A (s,s), b (s,), c (s,), e) from the implementation's solver module.

    e are the embedded error weights (+-(b_hat - b)), over the s stages or over s+1 stages where
    the last is the FSAL stage f(t + h, y_new).
    """
    from oscihop.solvers.tableaus import TABLEAUS
    tab = TABLEAUS[method]
    b = np.asarray(tab.B, dtype=float)
    return (_square(tab.A, b.size), b, np.asarray(tab.C, dtype=float),
            np.asarray(tab.E, dtype=float))


@pytest.mark.parametrize("method,p,q", TABLEAU_ORDERS)
def test_butcher_tableau(method, p, q):
    A, b, c, e = load_tableau(method)
    s = b.size
    A = _square(A, s)
    assert np.all(np.triu(A) == 0), "explicit method: A strictly lower triangular"
    np.testing.assert_allclose(A.sum(axis=1), c, rtol=0, atol=1e-14)
    assert c[0] == 0.0
    tol = 1e-14 if method != "Tsit5" else 1e-12
    assert order_residual(A, b, p) < tol, order_residual(A, b, p)
    assert order_residual(A, b, p + 1) > 1e-6, "order should be exactly p"
    assert abs(np.sum(e)) < 1e-14
    # embedded solution b_hat = b - e has order q
    if e.size == s + 1:  # FSAL: stage s+1 is f(t+h, y_new), i.e. A row = b
        A_ext = np.zeros((s + 1, s + 1))
        A_ext[:s, :s] = A
        A_ext[s, :s] = b
        b_ext = np.r_[b, 0.0]
    else:
        A_ext, b_ext = A, b
    # embedded solution b_hat = b -+ e has order q (either sign convention): e . Phi(t) = 0 for
    # every tree of order <= q, and not for all trees of order q + 1
    for b_hat in (b_ext - e, b_ext + e):
        assert order_residual(A_ext, b_hat, q) < tol, order_residual(A_ext, b_hat, q)
        assert order_residual(A_ext, b_hat, q + 1) > 1e-6
    assert tab_order(method) == (p, q)


@pytest.mark.parametrize("method", ["RK23", "RK45", "Tsit5"])
def test_dense_output_matrix_consistent(method):
    from oscihop.solvers.tableaus import TABLEAUS
    tab = TABLEAUS[method]
    P = np.asarray(tab.P, dtype=float)
    s = tab.B.size
    b_ext = np.r_[tab.B, 0.0]
    assert P.shape[0] == s + 1
    np.testing.assert_allclose(P.sum(axis=1), b_ext, rtol=0, atol=1e-14)  # theta=1: y_new
    e0 = np.zeros(s + 1)
    e0[0] = 1.0
    np.testing.assert_allclose(P[:, 0], e0, atol=1e-15)  # y'(t) = K_0
    if method == "Tsit5":  # cubic Hermite: y'(t + h) = f(y_new) = K_s
        deriv1 = P @ np.arange(1, P.shape[1] + 1)
        np.testing.assert_allclose(deriv1, np.eye(s + 1)[s], atol=1e-13)


def tab_order(method):
    from oscihop.solvers.tableaus import TABLEAUS
    tab = TABLEAUS[method]
    return tab.order, tab.error_estimator_order


def test_rk23_rk45_tableaux_are_scipys():
    from scipy.integrate._ivp.rk import RK23 as S23, RK45 as S45
    from oscihop.solvers.tableaus import TABLEAUS
    for name, ref in [("RK23", S23), ("RK45", S45)]:
        tab = TABLEAUS[name]
        s = ref.B.size
        np.testing.assert_array_equal(_square(tab.A, s), _square(ref.A, s))
        np.testing.assert_array_equal(tab.B, ref.B)
        np.testing.assert_array_equal(tab.C, ref.C)
        np.testing.assert_array_equal(tab.E, ref.E)
        np.testing.assert_array_equal(tab.P, ref.P)


# --------------------------------------------------------------------------------------------
# Small oscillator models
# --------------------------------------------------------------------------------------------
_sym = naive.random_symmetric
_unit_rows = naive.random_unit_rows
_antisym = naive.random_antisymmetric


_MODELS = {}


def small_model(kind):
    if kind in _MODELS:
        return _MODELS[kind]
    rng = np.random.default_rng({"kuramoto": 1, "kuramoto-perunit": 2, "hk": 3,
                                 "kuramoto-gradient": 4}[kind])
    n, d = 5, 3
    if kind == "kuramoto":
        model = oh.Kuramoto(d, coupling=_sym(rng, n, 2.0), omega=_antisym(rng, d, 1.0),
                            stimulus=0.3 * rng.normal(size=(n, d)))
        y0 = _unit_rows(rng, n, d).ravel()
    elif kind == "kuramoto-perunit":
        omega = np.stack([_antisym(rng, d, 2.0) for _ in range(n)])
        model = oh.Kuramoto(d, coupling=_sym(rng, n, 1.0), omega=omega)
        y0 = _unit_rows(rng, n, d).ravel()
    elif kind == "kuramoto-gradient":
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)])
        model = oh.Kuramoto(d, edges=pairs, coupling=rng.uniform(-1, 1.5, size=len(pairs)),
                            interaction="tanh", interaction_weights=0.7, n=n)
        y0 = _unit_rows(rng, n, d).ravel()
    else:
        hop = oh.Hopfield(_sym(rng, n, 1.5), bias=0.1 * rng.normal(size=n), activation="tanh")
        kur = oh.Kuramoto(d, coupling=_sym(rng, n, 2.0), omega=_antisym(rng, d, 1.0))
        model = oh.HopfieldKuramoto(hop, kur, "all", weights=0.5, mode="network")
        y0 = np.concatenate([rng.normal(size=n), _unit_rows(rng, n, d).ravel()])
    _MODELS[kind] = (model, y0)
    return model, y0


def osc_part(model, y):
    """Oscillators (..., N, D) of flat states (..., size)."""
    y = np.asarray(y)
    n, d = model.n, model.dim
    return y[..., model.size - n * d:].reshape(y.shape[:-1] + (n, d))


def np_normalize(model, y):
    y = np.array(y, dtype=float, copy=True)
    x = osc_part(model, y)
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    y[..., model.size - model.n * model.dim:] = x.reshape(y.shape[:-1] + (-1,))
    return y


_REF = {}


def tight_reference(kind, T):
    key = (kind, T)
    if key not in _REF:
        model, y0 = small_model(kind)
        ref = solve_ivp(model.rhs, (0.0, T), y0, method="DOP853", rtol=1e-12, atol=1e-14,
                        t_eval=[T])
        _REF[key] = ref.y[:, -1]
    return _REF[key]


# --------------------------------------------------------------------------------------------
# Empirical convergence orders
# --------------------------------------------------------------------------------------------
FIXED_ORDERS = {"Euler": 1, "AKOrN": 1, "Geometric": 2, "RK4": 4}


@pytest.mark.parametrize("kind", ["kuramoto", "hk"])
@pytest.mark.parametrize("method", list(FIXED_ORDERS))
def test_fixed_step_convergence_order(kind, method):
    model, y0 = small_model(kind)
    T = 1.0
    ref = tight_reference(kind, T)
    dts = np.array([0.1, 0.05, 0.025, 0.0125])
    errs = []
    for dt in dts:
        sol = oh.solve(model, (0.0, T), y0, method=method, dt=dt, t_eval=[0.0, T])
        assert sol.success, sol.message
        errs.append(np.abs(sol.y[:, -1] - ref).max())
    errs = np.array(errs)
    p = FIXED_ORDERS[method]
    ratios = np.log2(errs[:-1] / errs[1:])
    slope = np.polyfit(np.log(dts), np.log(errs), 1)[0]
    assert abs(slope - p) < 0.3, (method, kind, errs, ratios, slope)
    assert np.all(np.abs(ratios - p) < 0.5), (method, kind, errs, ratios)


@pytest.mark.parametrize("kind", ["kuramoto", "hk"])
@pytest.mark.parametrize("method", ["RK23", "RK45", "Tsit5"])
def test_adaptive_error_decreases_with_rtol(kind, method):
    model, y0 = small_model(kind)
    T = 1.0
    ref = tight_reference(kind, T)
    rtols = [1e-3, 1e-5, 1e-7, 1e-9]
    errs, nfevs = [], []
    for rtol in rtols:
        sol = oh.solve(model, (0.0, T), y0, method=method, rtol=rtol, atol=rtol * 1e-2,
                       t_eval=[0.0, T])
        assert sol.success, sol.message
        errs.append(np.abs(sol.y[:, -1] - ref).max())
        nfevs.append(int(sol.nfev))
    errs = np.array(errs)
    assert np.all(np.diff(errs) < 0), (method, errs)
    assert errs[-1] < 1e-4 * errs[0], (method, errs)
    assert np.all(errs < 50 * np.array(rtols)), (method, errs)
    assert np.all(np.diff(nfevs) > 0), nfevs


# --------------------------------------------------------------------------------------------
# Sphere methods
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["kuramoto-perunit", "hk"])
def test_geometric_stays_on_sphere_without_drift(kind):
    model, y0 = small_model(kind)
    t_eval = np.linspace(0.0, 100.0, 101)
    sol = oh.solve(model, (0.0, 100.0), y0, method="Geometric", dt=0.01, t_eval=t_eval)
    assert sol.success, sol.message
    assert sol.nsteps == 10_000
    norms = np.linalg.norm(osc_part(model, sol.y.T), axis=-1)
    dev = np.abs(norms - 1.0)
    assert dev.max() < 1e-13, dev.max()
    # no systematic drift: the late deviation is not much worse than the early one
    assert dev[-10:].max() < 1e-13
    # it actually moved
    assert np.abs(sol.y[:, -1] - y0).max() > 0.1


def test_geometric_single_steps_keep_norm_to_rounding():
    model, y0 = small_model("kuramoto-perunit")
    for dt in [0.2, 0.1, 0.05]:
        sol = oh.solve(model, (0.0, dt), y0, method="Geometric", dt=dt, t_eval=[0.0, dt])
        x = osc_part(model, sol.y[:, -1])
        np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, rtol=0, atol=2e-16 * 8)


@pytest.mark.parametrize("kind", ["kuramoto", "kuramoto-gradient", "hk"])
def test_akorn_equals_normalized_euler_map(kind):
    model, y0 = small_model(kind)
    gamma = 0.125  # exact in binary: output times are exact multiples
    nsteps = 6
    sol = oh.solve(model, (0.0, nsteps * gamma), y0, method="AKOrN", dt=gamma)
    assert sol.success, sol.message
    np.testing.assert_allclose(sol.t, gamma * np.arange(nsteps + 1), rtol=0, atol=1e-15)
    y = np.array(y0, dtype=float)
    expect = [y]
    for k in range(nsteps):
        y = np_normalize(model, y + gamma * model.rhs(k * gamma, y))
        expect.append(y)
    np.testing.assert_allclose(sol.y, np.array(expect).T, rtol=1e-12, atol=1e-13)


def test_akorn_gamma_alias_and_euler_identity():
    model, y0 = small_model("kuramoto")
    a = oh.solve(model, (0.0, 0.5), y0, method="AKOrN", dt=0.125)
    b = oh.solve(model, (0.0, 0.5), y0, method="AKOrN", gamma=0.125)
    np.testing.assert_array_equal(a.y, b.y)
    # on a pure oscillator model, Euler + renormalisation is the AKOrN map
    c = oh.solve(model, (0.0, 0.5), y0, method="Euler", dt=0.125)
    np.testing.assert_allclose(a.y, c.y, rtol=0, atol=1e-15)


def test_geometric_on_threshold_units_is_explicit_midpoint():
    model, y0 = small_model("hk")
    hop = model.hopfield
    h0 = y0[: hop.n]
    dt = 0.1
    sol = oh.solve(hop, (0.0, 3 * dt), h0, method="Geometric", dt=dt)
    h = h0.copy()
    expect = [h]
    for _ in range(3):
        h = h + dt * hop.rhs(0.0, h + 0.5 * dt * hop.rhs(0.0, h))
        expect.append(h)
    np.testing.assert_allclose(sol.y, np.array(expect).T, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("method", ["AKOrN", "Euler"])
def test_step_bound_gives_monotone_energy(method):
    model, y0 = small_model("kuramoto-gradient")
    assert model.is_lyapunov, model.lyapunov_reason
    dt = model.step_bound()
    assert dt > 0.0
    sol = oh.solve(model, (0.0, 200 * dt), y0, method=method, dt=dt)
    e = np.asarray(sol.energy)
    assert np.all(np.diff(e) <= 1e-12 * (1 + np.abs(e).max())), np.diff(e).max()


# --------------------------------------------------------------------------------------------
# async binary Hopfield
# --------------------------------------------------------------------------------------------
N_ASYNC, P_ASYNC = 100, 5


@lru_cache(maxsize=None)
def patterns():
    rng = np.random.default_rng(2024)
    return rng.choice([-1.0, 1.0], size=(P_ASYNC, N_ASYNC))


@lru_cache(maxsize=None)
def binary_model(dense=False):
    return oh.Hopfield.from_patterns(patterns(), rule="hebbian", activation="sign", dense=dense)


def corrupt(s, nflip, seed):
    rng = np.random.default_rng(seed)
    s = s.copy()
    idx = rng.choice(s.size, size=nflip, replace=False)
    s[idx] *= -1
    return s


def binary_energy(W, b, s):
    return -0.5 * s @ W @ s - b @ s


def is_fixed_point(W, b, s):
    return np.all(s * (W @ s + b) >= -1e-12)


def test_async_deterministic_for_a_seed():
    model = binary_model()
    cue = np.random.default_rng(0).choice([-1.0, 1.0], size=N_ASYNC)
    a = oh.solve(model, (0, 30), cue, method="async", seed=123)
    b = oh.solve(model, (0, 30), cue, method="async", seed=123)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.energy, b.energy)
    assert a.method == "async"


def test_async_different_seeds_give_different_orders():
    model = binary_model()
    cue = np.random.default_rng(1).choice([-1.0, 1.0], size=N_ASYNC)
    after_one_sweep = set()
    for seed in range(8):
        sol = oh.solve(model, (0, 30), cue, method="async", seed=seed)
        assert sol.t[1] == 1
        after_one_sweep.add(sol.y[:, 1].tobytes())
    assert len(after_one_sweep) > 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_async_time_counts_sweeps(seed):
    # one stored pattern (Mattis state): from a lightly corrupted cue every unit aligns on its
    # first visit, so after exactly ONE sweep (N single-unit updates) the pattern is restored.
    rng = np.random.default_rng(10 + seed)
    xi = rng.choice([-1.0, 1.0], size=(1, 60))
    model = oh.Hopfield.from_patterns(xi, activation="sign")
    cue = corrupt(xi[0], 12, seed)
    sol = oh.solve(model, (0, 20), cue, method="async", seed=seed)
    np.testing.assert_array_equal(sol.t, np.arange(sol.t.size))  # one output per sweep
    np.testing.assert_array_equal(sol.y[:, 0], cue)
    np.testing.assert_array_equal(sol.y[:, 1], xi[0])
    assert sol.status == 1, sol.message
    assert sol.t_final <= 2  # sweep 1 restores, sweep 2 (at most) detects the fixed point
    assert "sweep" in sol.message
    np.testing.assert_array_equal(sol.y[:, 1:], np.repeat(xi[0][:, None], sol.t.size - 1, 1))
    # t_eval in sweeps
    sol = oh.solve(model, (0, 20), cue, method="async", seed=seed, t_eval=[0, 1])
    np.testing.assert_array_equal(sol.t, [0, 1])
    np.testing.assert_array_equal(sol.y[:, 1], xi[0])


def test_async_stops_at_fixed_point():
    model = binary_model()
    W = np.asarray(model.weights_dense())
    b = np.zeros(N_ASYNC) if model.bias is None else np.asarray(model.bias)
    # a stored pattern is a fixed point: nothing moves, status 1 at once
    xi = patterns()
    sol = oh.solve(model, (0, 50), xi[0], method="async", seed=0)
    assert sol.status == 1 and sol.success, sol.message
    assert sol.t_final <= 1
    assert sol.nsteps <= 1
    assert np.all(sol.y == xi[0][:, None])
    # from a random state: stops early at a fixed point, energy never increases
    cue = np.random.default_rng(3).choice([-1.0, 1.0], size=N_ASYNC)
    sol = oh.solve(model, (0, 50), cue, method="async", seed=4)
    assert sol.status == 1, sol.message
    assert sol.t_final < 50
    assert sol.nsteps == sol.t_final
    assert isinstance(sol.message, str) and sol.message
    s_end = sol.y[:, -1]
    assert set(np.unique(s_end)) <= {-1.0, 1.0}
    assert is_fixed_point(W, b, s_end)
    e = np.asarray(sol.energy)
    np.testing.assert_allclose(e, [binary_energy(W, b, sol.y[:, k]) for k in range(sol.t.size)],
                               rtol=1e-12, atol=1e-12)
    assert np.all(np.diff(e) <= 1e-12)


@pytest.mark.parametrize("dense", [False, True])
def test_async_retrieves_hebbian_patterns(dense):
    model = binary_model(dense)
    xi = patterns()
    for k in range(P_ASYNC):
        cue = corrupt(xi[k], 10, seed=100 + k)
        sol = oh.solve(model, (0, 50), cue, method="async", seed=k)
        assert sol.status == 1, sol.message
        overlap = xi[k] @ sol.y[:, -1] / N_ASYNC
        assert overlap == 1.0, (k, overlap)


def test_async_batch_and_sign_model_rejects_ode_methods():
    model = binary_model()
    xi = patterns()
    cues = np.array([corrupt(xi[k], 10, seed=200 + k) for k in range(3)])
    sol = oh.solve(model, (0, 50), cues, method="async", seed=7, t_eval=[0, 1])
    assert sol.y.shape == (3, N_ASYNC, 2)
    np.testing.assert_array_equal(sol.y[:, :, 0], cues)
    with pytest.raises(ValueError):
        oh.solve(model, (0.0, 1.0), xi[0], method="RK45")


def test_async_validation():
    model = binary_model()
    cue = np.random.default_rng(9).choice([-1.0, 1.0], size=N_ASYNC)
    with pytest.raises(ValueError, match="y0"):
        oh.solve(model, (0, 5), 0.5 * cue, method="async", seed=0)
    with pytest.raises(ValueError, match="t_span"):
        oh.solve(model, (0, 2.5), cue, method="async", seed=0)


def test_async_max_steps_failure():
    model = binary_model()
    cue = np.random.default_rng(9).choice([-1.0, 1.0], size=N_ASYNC)
    full = oh.solve(model, (0, 50), cue, method="async", seed=2)
    assert full.t_final >= 2  # needs more than one sweep from a random state
    sol = oh.solve(model, (0, 50), cue, method="async", seed=2, max_steps=1)
    assert sol.status == -1 and not sol.success
    assert sol.t_final == 1
    np.testing.assert_array_equal(sol.y[:, 1], full.y[:, 1])  # same first sweep
    # like every other method (Solution.t_final docs): outputs after a failure are NaN,
    # not the stale state of the last sweep reached
    assert np.all(np.isnan(sol.y[:, 2:])), "async max_steps failure fills later outputs"
