"""Bad input is refused with a ValueError that names the parameter (docs/theory.md §8).

Each case first checks that the matching *good* input is accepted, so a test cannot pass
because the constructor refuses everything.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse

import oscihop as oh

N, D = 4, 3


def _sym(n=N, seed=0):
    a = np.random.default_rng(seed).normal(size=(n, n))
    return (a + a.T) / 2


def _edges(n=N):
    return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64)


def _unit_x(n=N, d=D, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _antisym(d=D, seed=0):
    a = np.random.default_rng(seed).normal(size=(d, d))
    return a - a.T


def _hop(**kw):
    return oh.Hopfield(_sym(), **kw)


def _kur(**kw):
    kw.setdefault("edges", _edges())
    return oh.Kuramoto(D, **kw)


def _hk(**kw):
    kw.setdefault("weights", 0.5)
    return oh.HopfieldKuramoto(_hop(), _kur(), _edges(), **kw)


def raises_naming(name, fn, *args, exc=ValueError, value=None, **kwargs):
    """fn(*args, **kwargs) raises ``exc`` whose message contains ``name`` (and ``value``)."""
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert name in str(info.value), f"message does not name {name!r}: {info.value}"
    if value is not None:
        assert value in str(info.value), f"message does not show the value {value!r}: {info.value}"
    return info.value


def test_good_inputs_are_accepted():
    _hop()
    _hop(bias=np.zeros(N))
    oh.Hopfield(scipy.sparse.csr_matrix(_sym()))
    oh.Hopfield(oh.LowRank(np.ones((2, N))))
    oh.Hopfield.from_patterns(np.ones((2, N)))
    _kur()
    _kur(coupling=np.arange(1.0, len(_edges()) + 1))
    _kur(stimulus=np.zeros((N, D)), omega=_antisym())
    _kur(omega=np.stack([_antisym(seed=i) for i in range(N)]))
    oh.Kuramoto(2, edges=_edges(), omega=np.ones(N))
    oh.Kuramoto(D, coupling=_sym())
    oh.Kuramoto(D, coupling="mean-field", strength=1.0, n=N)
    _hk()
    _hk(mode="additive", weights=None)
    m = _kur()
    sol = oh.solve(m, (0.0, 0.1), _unit_x().ravel(), method="RK45")
    assert sol.success


# --------------------------------------------------------------------------------------
# Hopfield
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(N, N + 1), (N,), (N, N, 1)])
def test_hopfield_weights_shape(shape):
    raises_naming("weights", oh.Hopfield, np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_hopfield_weights_not_finite(bad):
    w = _sym()
    w[0, 1] = w[1, 0] = bad
    raises_naming("weights", oh.Hopfield, w)


def test_hopfield_sparse_weights_not_finite():
    w = _sym()
    w[0, 1] = w[1, 0] = np.nan
    raises_naming("weights", oh.Hopfield, scipy.sparse.csr_matrix(w))


def test_lowrank_factor_not_finite():
    f = np.ones((2, N))
    f[0, 0] = np.nan
    with pytest.raises(ValueError) as info:
        oh.Hopfield(oh.LowRank(f))
    assert "factor" in str(info.value) or "weights" in str(info.value), str(info.value)


def test_hopfield_weights_not_symmetric_and_symmetrize():
    w = _sym()
    w[0, 1] += 0.3
    raises_naming("weights", oh.Hopfield, w)
    raises_naming("weights", oh.Hopfield, scipy.sparse.csr_matrix(w))
    hop = oh.Hopfield(w, symmetrize=True)
    np.testing.assert_allclose(hop.weights_dense(), (w + w.T) / 2, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bias", [np.zeros(N + 1), np.zeros((N, 1)), np.zeros((1, N))])
def test_hopfield_bias_shape(bias):
    raises_naming("bias", _hop, bias=bias)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_hopfield_bias_not_finite(bad):
    b = np.zeros(N)
    b[2] = bad
    raises_naming("bias", _hop, bias=b)


@pytest.mark.parametrize("name", ["tanhh", "linear", "", "Sigmoid-ish"])
def test_hopfield_bad_activation(name):
    err = raises_naming("activation", _hop, activation=name, value=repr(name))
    assert "tanh" in str(err), "message should list the valid activations"


@pytest.mark.parametrize("beta", [0.0, -1.0, np.nan, np.inf])
def test_hopfield_bad_beta(beta):
    raises_naming("beta", _hop, beta=beta, value=str(beta))


def test_patterns_must_be_plus_minus_one():
    p = np.ones((2, N))
    p[0, 1] = 0.5
    raises_naming("patterns", oh.Hopfield.from_patterns, p)
    p[0, 1] = 0.0
    raises_naming("patterns", oh.Hopfield.from_patterns, p)
    p[0, 1] = np.nan
    raises_naming("patterns", oh.Hopfield.from_patterns, p)


def test_patterns_shape():
    raises_naming("patterns", oh.Hopfield.from_patterns, np.ones((2, N, 1)))


@pytest.mark.parametrize("rule", ["hebb", "Hebbian-ish", "pinv", ""])
def test_patterns_bad_rule(rule):
    err = raises_naming("rule", oh.Hopfield.from_patterns, np.ones((2, N)), rule=rule,
                        value=repr(rule))
    assert "hebbian" in str(err), "message should list the valid rules"


def test_rhs_on_sign_activation():
    hop = oh.Hopfield.from_patterns(np.ones((1, N)), activation="sign")
    with pytest.raises(ValueError) as info:
        hop.rhs(0.0, np.ones(N))
    msg = str(info.value)
    assert "sign" in msg or "async" in msg, msg


def test_sign_activation_with_continuous_method():
    hop = oh.Hopfield.from_patterns(np.ones((1, N)), activation="sign")
    with pytest.raises(ValueError) as info:
        oh.solve(hop, (0.0, 1.0), np.ones(N), method="RK45")
    msg = str(info.value)
    assert "async" in msg or "method" in msg, msg


# --------------------------------------------------------------------------------------
# Kuramoto
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [1, 0, -2])
def test_kuramoto_dim_below_two(dim):
    raises_naming("dim", oh.Kuramoto, dim, edges=_edges(), value=str(dim))


@pytest.mark.parametrize("edges", [np.zeros((3, 3), dtype=int), np.array([0, 1, 1, 2]),
                                   np.zeros((2, 2, 2), dtype=int)])
def test_kuramoto_edges_shape(edges):
    raises_naming("edges", oh.Kuramoto, D, edges=edges, n=N)


def test_kuramoto_edges_not_integer():
    raises_naming("edges", oh.Kuramoto, D, edges=np.array([[0.5, 1.0], [1.0, 2.0]]), n=N)


def test_kuramoto_self_loop():
    raises_naming("edges", oh.Kuramoto, D, edges=np.array([[0, 1], [2, 2]]), n=N)


@pytest.mark.parametrize("edges", [[[0, 1], [0, 1]], [[0, 1], [1, 0]], [[0, 1], [1, 2], [2, 1]]])
def test_kuramoto_duplicate_edges(edges):
    raises_naming("edges", oh.Kuramoto, D, edges=np.array(edges), n=N)


@pytest.mark.parametrize("edges", [[[0, 1], [1, N]], [[0, -1]], [[0, 1], [N + 5, 2]]])
def test_kuramoto_edges_out_of_range(edges):
    raises_naming("edges", oh.Kuramoto, D, edges=np.array(edges), n=N)


def test_kuramoto_coupling_length_mismatch():
    raises_naming("coupling", _kur, coupling=np.ones(len(_edges()) + 1))


def test_kuramoto_interaction_weights_length_mismatch():
    raises_naming("interaction_weights", _kur, interaction="tanh",
                  interaction_weights=np.ones(len(_edges()) - 1))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_kuramoto_coupling_not_finite(bad):
    j = np.ones(len(_edges()))
    j[1] = bad
    raises_naming("coupling", _kur, coupling=j)
    raises_naming("coupling", _kur, coupling=bad)
    w = _sym()
    w[0, 2] = w[2, 0] = bad
    raises_naming("coupling", oh.Kuramoto, D, coupling=w)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_kuramoto_interaction_weights_not_finite(bad):
    b = np.ones(len(_edges()))
    b[0] = bad
    raises_naming("interaction_weights", _kur, interaction="relu", interaction_weights=b)


def test_kuramoto_dense_coupling_shape_and_symmetry():
    raises_naming("coupling", oh.Kuramoto, D, coupling=np.ones((N, N + 1)))
    w = _sym()
    w[0, 1] += 1.0
    raises_naming("coupling", oh.Kuramoto, D, coupling=w)


def test_kuramoto_mean_field_needs_n_and_strength():
    with pytest.raises(ValueError) as info:
        oh.Kuramoto(D, coupling="mean-field", strength=1.0)
    assert "n" in str(info.value)
    with pytest.raises(ValueError) as info:
        oh.Kuramoto(D, coupling="mean-field", n=N)
    assert "strength" in str(info.value)


@pytest.mark.parametrize("name", ["cosine", "Linear-ish", ""])
def test_kuramoto_bad_interaction(name):
    err = raises_naming("interaction", _kur, interaction=name, value=repr(name))
    assert "linear" in str(err), "message should list the valid interactions"


def test_kuramoto_bad_coupling_name():
    raises_naming("coupling", oh.Kuramoto, D, coupling="meanfield-ish", strength=1.0, n=N)


@pytest.mark.parametrize("shape", [(N, D + 1), (N + 1, D), (N * D,), (N, D, 1)])
def test_kuramoto_stimulus_shape(shape):
    raises_naming("stimulus", _kur, stimulus=np.zeros(shape))


def test_kuramoto_stimulus_not_finite():
    c = np.zeros((N, D))
    c[1, 1] = np.nan
    raises_naming("stimulus", _kur, stimulus=c)


@pytest.mark.parametrize("shape", [(D + 1, D + 1), (D, D + 1), (N,), (N, D, D + 1), (N + 1, D, D)])
def test_kuramoto_omega_shape(shape):
    # (N,) natural frequencies are for dim == 2 only; D == 3 here
    raises_naming("omega", _kur, omega=np.zeros(shape))


def test_kuramoto_omega_not_antisymmetric():
    om = _antisym()
    om[0, 1] += 0.5
    raises_naming("omega", _kur, omega=om)
    per = np.stack([_antisym(seed=i) for i in range(N)])
    per[2, 1, 1] = 0.3  # nonzero diagonal
    raises_naming("omega", _kur, omega=per)


def test_kuramoto_omega_not_finite():
    om = _antisym()
    om[0, 1], om[1, 0] = np.nan, np.nan
    raises_naming("omega", _kur, omega=om)


# --------------------------------------------------------------------------------------
# Hopfield-Kuramoto
# --------------------------------------------------------------------------------------


def test_hk_mismatched_n():
    hop = oh.Hopfield(_sym(N + 1))
    kur = _kur()
    with pytest.raises(ValueError) as info:
        oh.HopfieldKuramoto(hop, kur, _edges(), weights=0.5)
    msg = str(info.value)
    assert str(N) in msg and str(N + 1) in msg, msg


def test_hk_sign_activation_refused():
    hop = oh.Hopfield.from_patterns(np.ones((1, N)), activation="sign")
    with pytest.raises(ValueError) as info:
        oh.HopfieldKuramoto(hop, _kur(), _edges(), weights=0.5)
    assert "sign" in str(info.value), str(info.value)


def test_hk_network_mode_needs_weights():
    raises_naming("weights", oh.HopfieldKuramoto, _hop(), _kur(), _edges(), mode="network")
    raises_naming("weights", oh.HopfieldKuramoto, _hop(), _kur(), _edges(), weights=None,
                  mode="network")


def test_hk_weights_length_and_finite():
    raises_naming("weights", _hk, weights=np.ones(len(_edges()) + 2))
    w = np.ones(len(_edges()))
    w[0] = np.nan
    raises_naming("weights", _hk, weights=w)
    raises_naming("weights", _hk, weights=np.inf)


@pytest.mark.parametrize("name", ["kappa_h", "kappa_k"])
@pytest.mark.parametrize("value", [0.0, -1.0, np.nan, np.inf])
def test_hk_kappas_positive(name, value):
    raises_naming(name, _hk, value=str(value), **{name: value})


@pytest.mark.parametrize("mode", ["additve", "Network", "", "lora"])
def test_hk_bad_mode(mode):
    err = raises_naming("mode", _hk, mode=mode, value=repr(mode))
    assert "additive" in str(err), "message should list the valid modes"


def test_hk_alpha_not_finite():
    raises_naming("alpha", _hk, mode="additive", weights=None, alpha=np.nan)


def test_hk_edges_checked():
    raises_naming("hk_edges", oh.HopfieldKuramoto, _hop(), _kur(), np.array([[0, 0], [1, 2]]),
                  weights=0.5)
    raises_naming("hk_edges", oh.HopfieldKuramoto, _hop(), _kur(), np.array([[0, 1], [1, 0]]),
                  weights=0.5)
    raises_naming("hk_edges", oh.HopfieldKuramoto, _hop(), _kur(), np.array([[0, N]]), weights=0.5)
    raises_naming("hk_edges", oh.HopfieldKuramoto, _hop(), _kur(), np.zeros((2, 3), dtype=int),
                  weights=0.5)
    raises_naming("hk_edges", oh.HopfieldKuramoto, _hop(), _kur(), "everything", weights=0.5)


# --------------------------------------------------------------------------------------
# solve
# --------------------------------------------------------------------------------------


def _y0():
    return _unit_x().ravel()


@pytest.mark.parametrize("y0", [np.zeros(N * D + 1), np.zeros((N, D)), np.zeros((2, N * D, 1))])
def test_solve_y0_shape(y0):
    raises_naming("y0", oh.solve, _kur(), (0.0, 1.0), y0)


def test_solve_y0_shape_hopfield_and_hk():
    raises_naming("y0", oh.solve, _hop(), (0.0, 1.0), np.zeros(N + 1))
    raises_naming("y0", oh.solve, _hk(), (0.0, 1.0), np.zeros(N * D))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_solve_y0_not_finite(bad):
    y = _y0()
    y[0] = bad
    raises_naming("y0", oh.solve, _kur(), (0.0, 1.0), y)
    h = np.zeros(N)
    h[1] = bad
    raises_naming("y0", oh.solve, _hop(), (0.0, 1.0), h)


def test_solve_y0_oscillators_not_unit():
    y = _y0().copy()
    y[:D] *= 1.5
    raises_naming("y0", oh.solve, _kur(), (0.0, 1.0), y)
    raises_naming("y0", oh.solve, _kur(), (0.0, 1.0), np.zeros(N * D))
    hk = _hk()
    yh = np.concatenate([np.zeros(N), 2 * _y0()])
    raises_naming("y0", oh.solve, hk, (0.0, 1.0), yh)
    # batch: one bad member is enough
    yb = np.stack([_y0(), _y0()])
    yb[1, -1] += 0.1
    raises_naming("y0", oh.solve, _kur(), (0.0, 1.0), yb)


def test_solve_unknown_method_lists_valid_ones():
    err = raises_naming("method", oh.solve, _kur(), (0.0, 1.0), _y0(), method="RK99", value="RK99")
    msg = str(err)
    for name in ("RK45", "RK23", "Euler", "RK4", "Tsit5", "AKOrN"):
        assert name in msg, f"{name} missing from {msg!r}"


def test_solve_unknown_option_warns_by_name():
    with pytest.warns(Warning, match="frobnicate"):
        sol = oh.solve(_kur(), (0.0, 0.1), _y0(), method="RK45", frobnicate=3)
    assert sol.success


def test_solve_known_options_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        oh.solve(_kur(), (0.0, 0.1), _y0(), method="RK45", rtol=1e-6, atol=1e-8)
        oh.solve(_kur(), (0.0, 0.1), _y0(), method="Euler", dt=0.05)


@pytest.mark.parametrize("method", ["Euler", "RK4", "Geometric", "AKOrN"])
def test_solve_fixed_step_needs_dt(method):
    raises_naming("dt", oh.solve, _kur(), (0.0, 1.0), _y0(), method=method)


@pytest.mark.parametrize("dt", [0.0, -0.1, np.nan, np.inf])
def test_solve_bad_dt(dt):
    raises_naming("dt", oh.solve, _kur(), (0.0, 1.0), _y0(), method="Euler", dt=dt)


@pytest.mark.parametrize("t_span", [(1.0, 0.0), (0.0, -2.0), (0.0, np.nan), (0.0, np.inf),
                                    (np.nan, 1.0), (0.0, 1.0, 2.0), (0.0,)])
def test_solve_bad_t_span(t_span):
    raises_naming("t_span", oh.solve, _kur(), t_span, _y0())


def test_solve_empty_t_span():
    """t0 == t1: either refused naming `t_span`, or (scipy's convention) the initial state only."""
    try:
        sol = oh.solve(_kur(), (1.0, 1.0), _y0())
    except ValueError as exc:
        assert "t_span" in str(exc), str(exc)
        return
    np.testing.assert_array_equal(sol.t, [1.0])
    np.testing.assert_allclose(sol.y[:, -1], _y0())


@pytest.mark.parametrize("t_eval", [[0.0, 0.5, 1.5], [-0.1, 0.5], [0.0, 0.7, 0.3],
                                    [[0.0, 0.5]], [0.0, np.nan]])
def test_solve_bad_t_eval(t_eval):
    raises_naming("t_eval", oh.solve, _kur(), (0.0, 1.0), _y0(), t_eval=np.array(t_eval))


@pytest.mark.parametrize("backend", ["gpu", "tpu", ""])
def test_solve_bad_backend_name(backend):
    raises_naming("backend", oh.solve, _kur(), (0.0, 0.1), _y0(), backend=backend,
                  value=repr(backend))


def _cuda_available():
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def test_solve_cuda_backend_without_device():
    """backend="cuda" either works (a device, or numba's simulator, and a built CUDA backend)
    or is refused with an error that names cuda and says what to do."""
    try:
        sol = oh.solve(_kur(), (0.0, 0.1), _y0(), method="RK45", backend="cuda")
    except (ValueError, RuntimeError) as exc:
        msg = str(exc)
        assert "cuda" in msg.lower() and "backend" in msg, msg
        return
    assert _cuda_available(), "backend='cuda' ran although numba sees no CUDA device"
    assert sol.success


def test_async_is_for_sign_activation_only():
    with pytest.raises(ValueError) as info:
        oh.solve(_hop(), (0.0, 3.0), np.zeros(N), method="async")
    msg = str(info.value)
    assert "async" in msg or "sign" in msg or "method" in msg, msg


def test_async_y0_must_be_plus_minus_one():
    hop = oh.Hopfield.from_patterns(np.ones((1, N)), activation="sign")
    y = np.ones(N)
    y[0] = 0.3
    raises_naming("y0", oh.solve, hop, (0.0, 3.0), y, method="async", seed=0)


def test_max_steps_exhausted_is_reported_not_raised():
    sol = oh.solve(_kur(), (0.0, 10.0), _y0(), method="Euler", dt=0.01, max_steps=5)
    assert sol.status == -1
    assert not sol.success
    assert isinstance(sol.message, str) and sol.message


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_unit_norm_message_reports_the_actual_norm(scale):
    """Below 1 the message used to report 1 + |deviation| (1.5 for a norm of 0.5)."""
    y = _y0().copy()
    y[:D] *= scale
    err = raises_naming("y0", _kur().check_unit, y)
    assert f"has |x| = {scale:g} " in str(err), err
    assert f"off by {abs(1 - scale):.3g}" in str(err), err


def test_kuramoto_symmetrize_like_hopfield():
    j = np.triu(_sym(), k=1)
    raises_naming("symmetrize=True", oh.Kuramoto, D, coupling=j)
    kur = oh.Kuramoto(D, coupling=j, symmetrize=True)
    np.testing.assert_allclose(kur.coupling_dense(), (j + j.T) / 2)
    kur = oh.Kuramoto(D, coupling=scipy.sparse.csr_matrix(j), symmetrize=True)
    np.testing.assert_allclose(kur.coupling_dense(), (j + j.T) / 2)
    b = np.triu(np.ones((N, N)), k=1)
    kur = oh.Kuramoto(D, coupling=_sym(), interaction="tanh", interaction_weights=b, symmetrize=True)
    np.testing.assert_allclose(kur.edge_interaction_weights, 0.5)


def test_validation_helpers_refuse_meaning_changing_input():
    from oscihop._validation import as_float_csr, as_index_array, as_rng, check_real, check_size

    assert check_size(10.0, "n") == 10 and check_size(np.int32(3), "n") == 3  # integral floats: documented
    for bad in (2.5, "10", True, None, float("nan"), 3 + 0j):
        raises_naming("`n`", check_size, bad, "n")
    assert check_real(np.float32(0.5), "x") == 0.5 and check_real(np.array(2.0), "x") == 2.0
    for bad in ("1", True, None, 1j, [1.0], float("inf"), np.array([1.0])):
        raises_naming("`x`", check_real, bad, "x")
    raises_naming("`p`", check_real, 1.5, "p", low=0.0, high=1.0)
    assert as_index_array([[0.0, 2.0]], "e").dtype == np.int64
    for bad in ([[0, 0.5]], [[True, False]], np.ma.array([[0, 1]]), [[0, 1j]], [["0", "1"]], [[0, 1e300]]):
        raises_naming("`e`", as_index_array, bad, "e")
    raises_naming("`w`", as_float_csr, scipy.sparse.csr_matrix(np.eye(2) + 0j), "w")
    raises_naming("`w`", as_float_csr, scipy.sparse.csr_matrix(np.eye(2, dtype=bool)), "w")
    from oscihop._validation import as_float_array

    err = raises_naming("`w`", as_float_array, scipy.sparse.csr_matrix(np.eye(2)), "w")
    assert "toarray" in str(err)
    for bad in ("abc", True, 2.5, -1):
        raises_naming("`seed`", as_rng, bad)
    assert as_rng(np.random.default_rng(0)) is not None


def test_repeated_graphs_are_checked_once_and_bad_graphs_every_time():
    """Sweep points rebuild one graph many times: its duplicate check runs once (keyed by the
    edges' bytes) and its CSR structure is shared, read-only; a bad graph is refused each time."""
    from oscihop import _validation as V
    from oscihop import graph as G

    ring = oh.ring_edges(7)
    assert V.graph_seen(ring)  # ring_edges checked it
    again = V.check_edges(ring.copy(), 7)
    np.testing.assert_array_equal(again, ring)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 5\]"):
        V.check_edges(ring, 6)  # the range check runs for every n, cached or not
    dup = np.vstack([ring, ring[2:3, ::-1]])
    for _ in range(2):
        with pytest.raises(ValueError, match="each undirected pair once"):
            oh.Kuramoto(2, edges=dup, coupling=1.0)
    assert not V.graph_seen(dup)
    a = oh.Kuramoto(2, edges=ring, coupling=1.0)
    b = oh.Kuramoto(2, edges=ring, coupling=2.0)
    assert a._csr[0] is b._csr[0] and not a._csr[0].flags.writeable
    np.testing.assert_array_equal(G._pull_structure(7, ring)[1], a._csr[1])
