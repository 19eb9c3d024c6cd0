"""Parity of every model's ``rhs``, ``energy`` and ``energy_gradient`` with the NumPy twins of
``tests/naive.py`` (docs/theory.md §2-§4), for every activation, interaction, coupling
representation and coupled-model mode, single and batched, float64 and float32.

One shared tolerance per dtype: ``TOL64`` for float64, ``TOL32`` for float32 (compared against
float64 twins evaluated at the same, float32-rounded, input).  ``TOL_FD`` is the tolerance of the
independent check against central finite differences of ``energy``.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import naive
import oscihop as oh

TOL64 = dict(rtol=1e-10, atol=1e-12)
TOL32 = dict(rtol=1e-4, atol=1e-4)
TOL_FD = dict(rtol=1e-6, atol=1e-7)
T = 0.37  # models are autonomous: rhs must not depend on t
BATCH = 3


def assert_close(got, want, tol=TOL64, err_msg=""):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}. {err_msg}"
    np.testing.assert_allclose(got, want, err_msg=err_msg, **tol)


# =============================================================================================
# random inputs
# =============================================================================================
def sym(rng, n, density=1.0, diag=True, scale=0.6):
    """Dense symmetric matrix; off-diagonal entries kept with probability ``density`` (and never
    exactly zero when kept); the diagonal is random when ``diag`` else zero."""
    M = rng.standard_normal((n, n))
    M = np.sign(M) * (0.2 + np.abs(M)) * scale
    keep = np.triu(rng.random((n, n)) < density, 1)
    upper = np.where(keep, M, 0.0)
    out = upper + upper.T
    if diag:
        out[np.diag_indices(n)] = rng.standard_normal(n) * scale
    return out


def antisym(rng, d, n=None):
    M = rng.standard_normal((d, d) if n is None else (n, d, d))
    return M - np.swapaxes(M, -1, -2)


def pm1_patterns(rng, p, n):
    while True:
        xi = rng.choice([-1.0, 1.0], size=(p, n))
        if np.linalg.matrix_rank(xi) == p:
            return xi


# =============================================================================================
# model builders: each returns the oscihop model and the dense parameters of its twin
# =============================================================================================
HOP_REPS = ("dense", "csr_matrix", "csr_array", "lowrank", "lowrank-vecscale-diag",
            "hebbian", "hebbian-dense", "pseudo-inverse", "storkey")
RULES = {"hebbian": naive.hebbian_weights, "pseudo-inverse": naive.pseudo_inverse_weights,
         "storkey": naive.storkey_weights}


def build_hopfield(rep, rng, n, activation="tanh", beta=1.7, bias=True):
    """-> (model, W dense (n, n), b (n,)); the twin is evaluated with the same beta (relu: 1)."""
    b = rng.standard_normal(n) * 0.5 if bias else None
    if activation == "relu":
        beta = 1.0  # relu ignores beta (tested separately in test_hopfield_gain)
    kw = dict(bias=b, activation=activation, beta=beta)
    if rep == "dense":
        W = sym(rng, n)
        model = oh.Hopfield(W, **kw)
    elif rep in ("csr_matrix", "csr_array"):
        W = sym(rng, n, density=0.4)
        S = sp.csr_matrix(W) if rep == "csr_matrix" else sp.csr_array(W)
        model = oh.Hopfield(S, **kw)
    elif rep == "lowrank":
        F = rng.standard_normal((3, n))
        W = naive.lowrank_dense(F, 0.4, zero_diagonal=True)
        model = oh.Hopfield(oh.LowRank(F, scale=0.4, zero_diagonal=True), **kw)
    elif rep == "lowrank-vecscale-diag":
        F = rng.standard_normal((3, n))
        scale = np.array([0.5, -0.3, 0.2])
        W = naive.lowrank_dense(F, scale, zero_diagonal=False)
        model = oh.Hopfield(oh.LowRank(F, scale=scale, zero_diagonal=False), **kw)
    elif rep in ("hebbian", "hebbian-dense", "pseudo-inverse", "storkey"):
        rule = "hebbian" if rep == "hebbian-dense" else rep
        xi = pm1_patterns(rng, 3, n)
        W = RULES[rule](xi)
        model = oh.Hopfield.from_patterns(xi, rule=rule, dense=(rep == "hebbian-dense"), **kw)
    else:
        raise ValueError(rep)
    return model, W, (np.zeros(n) if b is None else b)


KUR_REPS = ("edges", "edges-scalar", "edges-defaultB", "dense", "dense-Bmatrix", "sparse",
            "sparse-diag", "lowrank", "lowrank-diag", "mean-field")
LINEAR_ONLY = {"lowrank", "lowrank-diag", "mean-field"}
NONLINEAR_ONLY = {"edges-defaultB", "dense-Bmatrix"}


def make_omega(kind, rng, n, d):
    if kind == "none":
        return None
    if kind == "global":
        return antisym(rng, d)
    if kind == "per-unit":
        return antisym(rng, d, n)
    if kind == "natural":
        assert d == 2
        return rng.standard_normal(n)
    raise ValueError(kind)


def build_kuramoto(rep, interaction, d, rng, random_edges, n=6, stimulus=False, omega="none"):
    """-> (model, twin) with twin = dict(J, B, interaction, c, Omega) for the naive functions."""
    c = rng.standard_normal((n, d)) * 0.7 if stimulus else None
    om = make_omega(omega, rng, n, d)
    kw = dict(interaction=interaction, stimulus=c, omega=om)
    nonlinear = interaction != "linear"
    offdiag = 1.0 - np.eye(n)
    if rep in ("edges", "edges-scalar", "edges-defaultB"):
        edges = random_edges(n, 0.6)
        E = len(edges)
        if rep == "edges":
            Je = rng.standard_normal(E)
            Be = rng.standard_normal(E) if nonlinear else None
            Bt = Be if nonlinear else 0.0
        elif rep == "edges-scalar":
            Je, Be = 0.8, (-1.3 if nonlinear else None)
            Bt = -1.3 if nonlinear else 0.0
        else:
            Je, Be, Bt = rng.standard_normal(E), None, 1.0   # default B = 1
        model = oh.Kuramoto(d, edges=edges, coupling=Je, interaction_weights=Be, n=n, **kw)
        J = naive.dense_from_edges(n, edges, Je)
        B = naive.dense_from_edges(n, edges, Bt)
    elif rep == "dense":
        J = sym(rng, n, density=1.0, diag=True)           # diagonal must be ignored
        Bs = 0.9 if nonlinear else None
        model = oh.Kuramoto(d, coupling=J, interaction_weights=Bs, **kw)
        B = 0.9 * offdiag
    elif rep == "dense-Bmatrix":
        J = sym(rng, n, density=0.6, diag=True)
        B = sym(rng, n, density=1.0, diag=True) * (J != 0)   # B only where J has a pair
        model = oh.Kuramoto(d, coupling=J, interaction_weights=B, **kw)
    elif rep in ("sparse", "sparse-diag"):
        J = sym(rng, n, density=0.5, diag=(rep == "sparse-diag"))
        model = oh.Kuramoto(d, coupling=sp.csr_matrix(J),
                            interaction_weights=(0.9 if nonlinear else None), **kw)
        B = 0.9 * (J != 0) * offdiag
    elif rep in ("lowrank", "lowrank-diag"):
        F = rng.standard_normal((2, n))
        scale = np.array([0.7, -0.4])
        zero_diag = rep == "lowrank"
        model = oh.Kuramoto(d, coupling=oh.LowRank(F, scale=scale, zero_diagonal=zero_diag), **kw)
        J = naive.lowrank_dense(F, scale, zero_diagonal=True)   # diagonal ignored either way
        B = np.zeros((n, n))
    elif rep == "mean-field":
        K = 1.7
        model = oh.Kuramoto(d, coupling="mean-field", strength=K, n=n, **kw)
        J = K / n * offdiag
        B = np.zeros((n, n))
    else:
        raise ValueError(rep)
    return model, dict(J=J, B=B, interaction=interaction, c=c, Omega=om)


def kur_twin_rhs(tw, x):
    return naive.kuramoto_rhs(tw["J"], tw["B"], tw["interaction"], x, tw["c"], tw["Omega"])


def kur_twin_energy(tw, x):
    return naive.kuramoto_energy(tw["J"], tw["B"], tw["interaction"], x, tw["c"])


def kur_twin_grad(tw, x):
    return naive.kuramoto_energy_gradient(tw["J"], tw["B"], tw["interaction"], x, tw["c"])


HK_MODES = (("network", "per-edge"), ("network", "scalar"), ("additive", None),
            ("multiplicative", None))


def build_hk(rng, random_edges, *, mode, weights=None, hk="edges", activation="tanh", beta=1.3,
             interaction="tanh", kappa=(1.0, 1.0), omega="global", stimulus=True,
             hop_rep="dense", n=6, d=3):
    """-> (model, twin dict for naive.hk_*)."""
    hop, W, b = build_hopfield(hop_rep, rng, n, activation, beta)
    kur, kt = build_kuramoto("edges", interaction, d, rng, random_edges, n, stimulus, omega)
    pairs = naive.all_pairs(n) if hk == "all" else random_edges(n, 0.6)
    hk_edges = "all" if hk == "all" else pairs
    alpha = 0.8
    kappa_h, kappa_k = kappa
    if mode == "network":
        w = rng.standard_normal(len(pairs)) if weights == "per-edge" else -0.7
        a = w
        model = oh.HopfieldKuramoto(hop, kur, hk_edges, weights=w, mode="network",
                                    kappa_h=kappa_h, kappa_k=kappa_k)
    elif mode == "additive":
        a = alpha
        model = oh.HopfieldKuramoto(hop, kur, hk_edges, alpha=alpha, mode="additive",
                                    kappa_h=kappa_h, kappa_k=kappa_k)
    elif mode == "multiplicative":
        a = alpha * W[pairs[:, 0], pairs[:, 1]]
        model = oh.HopfieldKuramoto(hop, kur, hk_edges, alpha=alpha, mode="multiplicative",
                                    kappa_h=kappa_h, kappa_k=kappa_k)
    else:
        raise ValueError(mode)
    A = naive.dense_from_edges(n, pairs, a)
    twin = dict(W=W, b=b, activation_name=activation, beta=beta, J=kt["J"], B=kt["B"],
                interaction=interaction, c=kt["c"], A=A, kappa_h=kappa_h, kappa_k=kappa_k)
    return model, dict(twin, Omega=kt["Omega"])


def hk_split(y, n, d):
    return y[:n], y[n:].reshape(n, d)


def hk_twin_rhs(tw, y, n, d):
    h, x = hk_split(y, n, d)
    hd, xd = naive.hk_rhs(**tw, h=h, x=x)
    return np.concatenate([hd, xd.ravel()])


def hk_twin_energy(tw, y, n, d):
    h, x = hk_split(y, n, d)
    kw = {k: v for k, v in tw.items() if k != "Omega"}
    return naive.hk_energy(**kw, h=h, x=x)


def hk_twin_grad(tw, y, n, d):
    h, x = hk_split(y, n, d)
    kw = {k: v for k, v in tw.items() if k != "Omega"}
    gh, gx = naive.hk_energy_gradient(**kw, h=h, x=x)
    return np.concatenate([gh, gx.ravel()])


def random_hk_state(rng, n, d, batch=None):
    shape = (n,) if batch is None else (batch, n)
    h = rng.standard_normal(shape) * 1.2
    x = rng.standard_normal(shape + (d,))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return np.concatenate([h, x.reshape(shape[:-1] + (n * d,))], axis=-1)


# =============================================================================================
# generic checks shared by every model family
# =============================================================================================
def check_single(model, y, twin_rhs, twin_energy, twin_grad):
    dy = model.rhs(T, y)
    assert isinstance(dy, np.ndarray) and dy.dtype == np.float64
    assert_close(dy, twin_rhs(y), err_msg="rhs")
    e = model.energy(y)
    assert np.ndim(e) == 0
    assert_close(float(e), twin_energy(y), err_msg="energy")
    assert_close(model.energy_gradient(y), twin_grad(y), err_msg="energy_gradient")


def check_batch(model, Y, twin_rhs=None, twin_energy=None):
    """(B, size) input: equal to row-by-row single evaluations (and to the twins)."""
    dY = model.rhs(T, Y)
    E = model.energy(Y)
    G = model.energy_gradient(Y)
    assert dY.shape == Y.shape and G.shape == Y.shape
    assert np.shape(E) == (Y.shape[0],)
    for k in range(Y.shape[0]):
        assert_close(dY[k], model.rhs(T, Y[k]), err_msg=f"rhs row {k}")
        assert_close(E[k], model.energy(Y[k]), err_msg=f"energy row {k}")
        assert_close(G[k], model.energy_gradient(Y[k]), err_msg=f"energy_gradient row {k}")
        if twin_rhs is not None:
            assert_close(dY[k], twin_rhs(Y[k]), err_msg=f"rhs row {k} vs twin")
            assert_close(E[k], twin_energy(Y[k]), err_msg=f"energy row {k} vs twin")


def check_float32(model, y, twin_rhs, twin_energy, twin_grad):
    y32 = np.asarray(y, dtype=np.float32)
    y64 = y32.astype(np.float64)
    dy = model.rhs(T, y32)
    assert dy.dtype == np.float32, f"float32 in -> {dy.dtype} out"
    assert_close(dy, twin_rhs(y64), TOL32, "rhs float32")
    assert_close(float(model.energy(y32)), twin_energy(y64), TOL32, "energy float32")
    g = model.energy_gradient(y32)
    assert g.dtype == np.float32, f"energy_gradient: float32 in -> {g.dtype} out"
    assert_close(g, twin_grad(y64), TOL32, "energy_gradient float32")
    # float32 close to float64 of the same model
    assert_close(dy, model.rhs(T, y64), TOL32, "rhs float32 vs float64")
    # a float32 batch: float32 out, every row close to the twins
    Y32 = np.stack([y32, y32])
    dY, E32, G32 = model.rhs(T, Y32), model.energy(Y32), model.energy_gradient(Y32)
    assert dY.dtype == np.float32 and dY.shape == Y32.shape and G32.shape == Y32.shape
    assert np.shape(E32) == (2,)
    for k in range(2):
        assert_close(dY[k], twin_rhs(y64), TOL32, f"batched float32 rhs row {k}")
        assert_close(E32[k], twin_energy(y64), TOL32, f"batched float32 energy row {k}")
        assert_close(G32[k], twin_grad(y64), TOL32, f"batched float32 gradient row {k}")


def check_fd(model, y):
    """energy_gradient against central finite differences of energy (no twin involved)."""
    fd = naive.energy_gradient(lambda z: float(model.energy(z)), y)
    assert_close(model.energy_gradient(y), fd, TOL_FD, "energy_gradient vs finite differences")


# =============================================================================================
# Hopfield
# =============================================================================================
def hop_twins(W, b, activation, beta):
    return (lambda y: naive.hopfield_rhs(W, b, y, activation, beta),
            lambda y: naive.hopfield_energy(W, b, y, activation, beta),
            lambda y: naive.hopfield_energy_gradient(W, b, y, activation, beta))


@pytest.mark.parametrize("rep", HOP_REPS)
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hopfield_parity(rng, rep, activation):
    n, beta = 9, 1.7
    model, W, b = build_hopfield(rep, rng, n, activation, beta)
    assert (model.n, model.dim, model.size) == (n, 0, n)
    assert_close(model.weights_dense(), W, err_msg="weights_dense")
    assert_close(model.bias, b, err_msg="bias")
    h = rng.standard_normal(n) * 1.5
    check_single(model, h, *hop_twins(W, b, activation, beta))


@pytest.mark.parametrize("beta", [0.4, 1.0, 3.0])
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hopfield_gain(rng, activation, beta):
    """beta enters g and L as in the table of docs/theory.md §2.1; relu ignores it."""
    n = 7
    W, b = sym(rng, n), rng.standard_normal(n) * 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a warning that relu ignores beta is fair
        model = oh.Hopfield(W, bias=b, activation=activation, beta=beta)
    h = rng.standard_normal(n) * 1.5
    check_single(model, h, *hop_twins(W, b, activation, beta))
    if activation == "relu":
        unit_gain = oh.Hopfield(W, bias=b, activation="relu", beta=1.0)
        assert_close(model.rhs(T, h), unit_gain.rhs(T, h))
        assert_close(model.energy(h), unit_gain.energy(h))
        assert_close(model.energy_gradient(h), unit_gain.energy_gradient(h))


@pytest.mark.parametrize("rep", ["dense", "csr_matrix", "lowrank", "hebbian", "storkey"])
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hopfield_batch(rng, rep, activation):
    n = 8
    model, W, b = build_hopfield(rep, rng, n, activation, 1.7)
    rhs, energy, _ = hop_twins(W, b, activation, 1.7)
    check_batch(model, rng.standard_normal((BATCH, n)) * 1.5, rhs, energy)


@pytest.mark.parametrize("rep", ["dense", "csr_matrix", "lowrank", "hebbian"])
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hopfield_float32(rng, rep, activation):
    n = 8
    model, W, b = build_hopfield(rep, rng, n, activation, 1.7)
    check_float32(model, rng.standard_normal(n) * 1.5, *hop_twins(W, b, activation, 1.7))


@pytest.mark.parametrize("rep", ["dense", "csr_array", "lowrank-vecscale-diag", "pseudo-inverse"])
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hopfield_gradient_finite_differences(rng, rep, activation):
    model, _, _ = build_hopfield(rep, rng, 7, activation, 1.7)
    check_fd(model, rng.standard_normal(7) * 1.5)


def test_hopfield_default_bias_is_zero(rng):
    W = sym(rng, 6)
    model = oh.Hopfield(W, activation="tanh", beta=1.3)
    h = rng.standard_normal(6)
    assert_close(model.bias, np.zeros(6))
    assert_close(model.rhs(T, h), naive.hopfield_rhs(W, np.zeros(6), h, "tanh", 1.3))


def test_hopfield_symmetrize(rng):
    M = rng.standard_normal((6, 6))
    with pytest.raises(ValueError, match="weights"):
        oh.Hopfield(M)
    model = oh.Hopfield(M, activation="sigmoid", beta=2.0, symmetrize=True)
    Ws = (M + M.T) / 2
    assert_close(model.weights_dense(), Ws)
    h = rng.standard_normal(6)
    assert_close(model.rhs(T, h), naive.hopfield_rhs(Ws, np.zeros(6), h, "sigmoid", 2.0))
    assert_close(model.energy(h), naive.hopfield_energy(Ws, np.zeros(6), h, "sigmoid", 2.0))


@pytest.mark.parametrize("rule", ["hebbian", "pseudo-inverse", "storkey"])
@pytest.mark.parametrize("dense", [False, True])
def test_storage_rules(rng, rule, dense):
    n, p = 10, 3
    xi = pm1_patterns(rng, p, n)
    model = oh.Hopfield.from_patterns(xi, rule=rule, dense=dense)
    W = RULES[rule](xi)
    assert_close(model.weights_dense(), W, err_msg=rule)
    assert_close(model.patterns, xi)
    assert_close(model.weights_dense(), model.weights_dense().T, err_msg="symmetric")


def test_storage_rule_formulas_independent():
    """Sanity of the twins themselves on a hand-checkable case."""
    xi = np.array([[1.0, -1.0, 1.0, 1.0], [1.0, 1.0, -1.0, 1.0]])
    W = naive.hebbian_weights(xi)
    assert W[0, 1] == 0.0 and W[0, 3] == 0.5 and W[0, 0] == 0.0
    P = naive.pseudo_inverse_weights(xi)
    assert_close(P @ xi.T, xi.T)                   # projection: stored patterns are fixed
    assert_close(P @ P, P)
    S = naive.storkey_weights(xi[:1])
    assert_close(S, naive.hebbian_weights(xi[:1]))  # first Storkey step from W = 0 is Hebbian
    S2 = naive.storkey_weights(xi)
    v, h = xi[1], S @ xi[1]                       # second step, written out for pair (0, 3)
    h03 = h[0] - S[0, 3] * v[3]
    h30 = h[3] - S[3, 0] * v[0]
    assert np.isclose(S2[0, 3], S[0, 3] + (v[0] * v[3] - v[0] * h30 - h03 * v[3]) / 4)


def test_hebbian_lowrank_apply_is_factored(rng):
    """Hebbian W is kept as the factor: large N, W g must still be xi^T (xi g) / N - diag."""
    n, p = 12, 4
    xi = pm1_patterns(rng, p, n)
    model = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="relu")
    h = rng.standard_normal(n)
    g = np.maximum(h, 0.0)
    Wg = xi.T @ (xi @ g) / n - p / n * g          # diagonal of xi^T xi / N is P/N
    assert_close(model.rhs(T, h), Wg - h)


@pytest.mark.parametrize("scale", [1.0, 0.3, "vector"])
@pytest.mark.parametrize("zero_diagonal", [True, False])
def test_lowrank_to_dense(rng, scale, zero_diagonal):
    F = rng.standard_normal((3, 7))
    s = np.array([0.5, -1.0, 2.0]) if scale == "vector" else scale
    L = oh.LowRank(F, scale=s, zero_diagonal=zero_diagonal)
    assert (L.n, L.rank) == (7, 3)
    assert_close(L.to_dense(), naive.lowrank_dense(F, s, zero_diagonal))


def test_binary_energy(rng):
    n = 9
    xi = pm1_patterns(rng, 2, n)
    W = naive.hebbian_weights(xi)
    b = rng.standard_normal(n) * 0.2
    model = oh.Hopfield(W, bias=b, activation="sign")
    S = rng.choice([-1.0, 1.0], size=(BATCH, n))
    for s in S:
        assert_close(float(model.energy(s)), naive.binary_energy(W, b, s))
    assert_close(model.energy(S), [naive.binary_energy(W, b, s) for s in S])
    with pytest.raises(ValueError):
        model.rhs(T, S[0])


@given(h=st.lists(st.floats(-60.0, 60.0), min_size=5, max_size=5),
       beta=st.sampled_from([0.5, 5.0, 20.0]),
       activation=st.sampled_from(["tanh", "sigmoid", "softmax"]))
def test_hopfield_large_inputs_stable(h, beta, activation):
    """L(h) is evaluated stably: beta*h up to 1200 overflows a naive log(cosh) or log(1+exp)."""
    h = np.asarray(h)
    rng = np.random.default_rng(5)
    W, b = sym(rng, 5), rng.standard_normal(5) * 0.5
    model = oh.Hopfield(W, bias=b, activation=activation, beta=beta)
    tol = dict(rtol=1e-10, atol=1e-12 * (1.0 + beta * np.abs(h).sum()))
    e = float(model.energy(h))
    assert np.isfinite(e)
    assert_close(e, naive.hopfield_energy(W, b, h, activation, beta), tol)
    assert_close(model.rhs(T, h), naive.hopfield_rhs(W, b, h, activation, beta), tol)
    assert_close(model.energy_gradient(h),
                 naive.hopfield_energy_gradient(W, b, h, activation, beta), tol)


# =============================================================================================
# Kuramoto
# =============================================================================================
def kuramoto_cases():
    for interaction in naive.INTERACTIONS:
        for rep in KUR_REPS:
            if interaction != "linear" and rep in LINEAR_ONLY:
                continue
            if interaction == "linear" and rep in NONLINEAR_ONLY:
                continue
            for d in (2, 3, 5):
                for omega in ("none", "global", "per-unit") + (("natural",) if d == 2 else ()):
                    for stimulus in (False, True):
                        yield pytest.param(
                            interaction, rep, d, omega, stimulus,
                            id=f"{interaction}-{rep}-D{d}-omega_{omega}-"
                               f"{'stim' if stimulus else 'nostim'}")


@pytest.mark.parametrize("interaction,rep,d,omega,stimulus", list(kuramoto_cases()))
def test_kuramoto_parity(rng, random_edges, interaction, rep, d, omega, stimulus):
    n = 6
    model, tw = build_kuramoto(rep, interaction, d, rng, random_edges, n, stimulus, omega)
    assert (model.n, model.dim, model.size) == (n, d, n * d)
    x = rng.standard_normal((n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    check_single(model, x.ravel(),
                 lambda y: kur_twin_rhs(tw, y.reshape(n, d)).ravel(),
                 lambda y: kur_twin_energy(tw, y.reshape(n, d)),
                 lambda y: kur_twin_grad(tw, y.reshape(n, d)).ravel())


BATCH_KUR = [("linear", "edges"), ("tanh", "edges"), ("relu", "edges-scalar"),
             ("sigmoid", "dense"), ("linear", "dense"), ("tanh", "sparse"),
             ("linear", "lowrank"), ("linear", "mean-field")]


@pytest.mark.parametrize("omega", ["global", "per-unit"])
@pytest.mark.parametrize("interaction,rep", BATCH_KUR)
def test_kuramoto_batch(rng, random_edges, unit_vectors, interaction, rep, omega):
    n, d = 6, 3
    model, tw = build_kuramoto(rep, interaction, d, rng, random_edges, n, True, omega)
    X = unit_vectors(n, d, batch=BATCH)
    check_batch(model, X.reshape(BATCH, n * d),
                lambda y: kur_twin_rhs(tw, y.reshape(n, d)).ravel(),
                lambda y: kur_twin_energy(tw, y.reshape(n, d)))


@pytest.mark.parametrize("interaction,rep", BATCH_KUR)
def test_kuramoto_float32(rng, random_edges, unit_vectors, interaction, rep):
    n, d = 6, 3
    model, tw = build_kuramoto(rep, interaction, d, rng, random_edges, n, True, "global")
    check_float32(model, unit_vectors(n, d).ravel(),
                  lambda y: kur_twin_rhs(tw, y.reshape(n, d)).ravel(),
                  lambda y: kur_twin_energy(tw, y.reshape(n, d)),
                  lambda y: kur_twin_grad(tw, y.reshape(n, d)).ravel())


@pytest.mark.parametrize("interaction,rep", BATCH_KUR + [("relu", "dense-Bmatrix")])
def test_kuramoto_gradient_finite_differences(rng, random_edges, unit_vectors, interaction, rep):
    n, d = 5, 3
    model, _ = build_kuramoto(rep, interaction, d, rng, random_edges, n, True, "per-unit")
    check_fd(model, unit_vectors(n, d).ravel())


@pytest.mark.parametrize("interaction,rep", BATCH_KUR)
def test_kuramoto_off_sphere(rng, random_edges, interaction, rep):
    """Contract: P_i(v) = v - <v,x_i> x_i/|x_i|^2 and s_ij = <x_i,x_j> on raw (unnormalised) x."""
    n, d = 6, 3
    model, tw = build_kuramoto(rep, interaction, d, rng, random_edges, n, True, "global")
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, size=(n, 1))
    check_single(model, x.ravel(),
                 lambda y: kur_twin_rhs(tw, y.reshape(n, d)).ravel(),
                 lambda y: kur_twin_energy(tw, y.reshape(n, d)),
                 lambda y: kur_twin_grad(tw, y.reshape(n, d)).ravel())


@pytest.mark.parametrize("n", [2, 12])
def test_kuramoto_mean_field_matches_dense(rng, unit_vectors, n):
    """Mean field J_ij = K/N (i != j) equals the same couplings given densely."""
    d, K = 3, -0.9
    mf = oh.Kuramoto(d, coupling="mean-field", strength=K, n=n)
    dense = oh.Kuramoto(d, coupling=np.full((n, n), K / n))
    y = unit_vectors(n, d).ravel()
    assert_close(mf.rhs(T, y), dense.rhs(T, y))
    assert_close(mf.energy(y), dense.energy(y))
    assert_close(mf.energy_gradient(y), dense.energy_gradient(y))
    J = K / n * (1 - np.eye(n))
    assert_close(mf.energy(y), naive.kuramoto_energy(J, 0 * J, "linear", y.reshape(n, d)))


def test_kuramoto_default_n_from_edges(rng):
    edges = np.array([[0, 3], [4, 1], [2, 1]])
    model = oh.Kuramoto(2, edges=edges, coupling=1.0)
    assert (model.n, model.dim, model.size) == (5, 2, 10)


def test_kuramoto_edge_orientation_irrelevant(rng, random_edges, unit_vectors):
    n, d = 7, 3
    edges = random_edges(n)
    Je, Be = rng.standard_normal(len(edges)), rng.standard_normal(len(edges))
    a = oh.Kuramoto(d, edges=edges, coupling=Je, interaction="tanh", interaction_weights=Be, n=n)
    b = oh.Kuramoto(d, edges=edges[:, ::-1].copy(), coupling=Je, interaction="tanh",
                    interaction_weights=Be, n=n)
    y = unit_vectors(n, d).ravel()
    assert_close(a.rhs(T, y), b.rhs(T, y))
    assert_close(a.energy(y), b.energy(y))


def test_kuramoto_dense_scalar_B_only_on_coupled_pairs(rng, unit_vectors):
    """Contract: with a nonlinear interaction the nonzero off-diagonal pairs of a dense
    coupling become the edges, so a scalar B acts only where J_ij != 0."""
    n, d = 6, 3
    J = sym(rng, n, density=0.5, diag=True)
    model = oh.Kuramoto(d, coupling=J, interaction="sigmoid", interaction_weights=1.4)
    B = 1.4 * (J != 0) * (1 - np.eye(n))
    x = unit_vectors(n, d)
    assert_close(model.energy(x.ravel()), naive.kuramoto_energy(J, B, "sigmoid", x))
    assert_close(model.rhs(T, x.ravel()), naive.kuramoto_rhs(J, B, "sigmoid", x).ravel())


@pytest.mark.parametrize("interaction", ["linear", "relu", "tanh", "sigmoid"])
def test_kuramoto_sparse_explicit_zeros_are_not_edges(rng, unit_vectors, interaction):
    """Contract: a scipy.sparse coupling gives the edges of its *nonzeros*.  Explicitly stored
    zeros (common after sparse arithmetic) must not become edges that carry B phi(s)."""
    n, d = 6, 3
    J = sym(rng, n, density=0.5, diag=False)
    zr, zc = np.nonzero(np.triu(J == 0, 1))
    r, c = np.nonzero(J)
    rows = np.concatenate([r, zr[:3], zc[:3]])
    cols = np.concatenate([c, zc[:3], zr[:3]])
    data = np.concatenate([J[r, c], np.zeros(2 * min(3, len(zr)))])
    S = sp.csr_matrix((data, (rows, cols)), shape=(n, n))
    assert S.nnz > np.count_nonzero(J)                       # explicit zeros are stored
    Bs = 0.9 if interaction != "linear" else None
    model = oh.Kuramoto(d, coupling=S, interaction=interaction, interaction_weights=Bs)
    B = 0.9 * (J != 0) if interaction != "linear" else 0 * J
    x = unit_vectors(n, d)
    assert_close(model.energy(x.ravel()), naive.kuramoto_energy(J, B, interaction, x))
    assert_close(model.rhs(T, x.ravel()), naive.kuramoto_rhs(J, B, interaction, x).ravel())


def test_sparse_duplicates_are_summed(rng, unit_vectors):
    """scipy COO input with duplicate entries means their sum, for weights and couplings."""
    W = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    coo = sp.coo_matrix((np.array([0.5, 0.5, 1.0, 2.0, 2.0]),
                         (np.array([0, 0, 1, 1, 2]), np.array([1, 1, 0, 2, 1]))), shape=(3, 3))
    hop = oh.Hopfield(coo, activation="sigmoid", beta=1.5)
    h = rng.standard_normal(3)
    assert_close(hop.rhs(T, h), naive.hopfield_rhs(W, np.zeros(3), h, "sigmoid", 1.5))
    kur = oh.Kuramoto(2, coupling=coo, interaction="tanh", interaction_weights=0.5)
    x = unit_vectors(3, 2)
    B = 0.5 * (W != 0)
    assert_close(kur.energy(x.ravel()), naive.kuramoto_energy(W, B, "tanh", x))


# =============================================================================================
# Hopfield-Kuramoto
# =============================================================================================
def hk_cases():
    for mode, weights in HK_MODES:
        for hk in ("edges", "all"):
            if hk == "all" and weights == "per-edge":
                continue
            for activation in naive.ACTIVATIONS:
                for interaction in naive.INTERACTIONS:
                    for kappa in ((1.0, 1.0), (0.6, 2.3)):
                        yield pytest.param(
                            mode, weights, hk, activation, interaction, kappa,
                            id=f"{mode}{'-' + weights if weights else ''}-hk_{hk}-{activation}-"
                               f"{interaction}-kappa{kappa[0]}_{kappa[1]}")


def check_hk(model, tw, rng, n, d):
    assert (model.n, model.dim, model.size) == (n, d, n + n * d)
    y = random_hk_state(rng, n, d)
    check_single(model, y, lambda z: hk_twin_rhs(tw, z, n, d),
                 lambda z: hk_twin_energy(tw, z, n, d), lambda z: hk_twin_grad(tw, z, n, d))
    h, x = hk_split(y, n, d)
    assert_close(model.effective_weights(y),
                 naive.effective_weights(tw["W"], tw["A"], x, tw["kappa_h"]),
                 err_msg="effective_weights")


@pytest.mark.parametrize("mode,weights,hk,activation,interaction,kappa", list(hk_cases()))
def test_hk_parity(rng, random_edges, mode, weights, hk, activation, interaction, kappa):
    n, d = 6, 3
    model, tw = build_hk(rng, random_edges, mode=mode, weights=weights, hk=hk,
                         activation=activation, interaction=interaction, kappa=kappa,
                         n=n, d=d)
    check_hk(model, tw, rng, n, d)


@pytest.mark.parametrize("hop_rep", ["dense", "csr_matrix", "lowrank", "lowrank-vecscale-diag",
                                     "hebbian", "pseudo-inverse", "storkey"])
@pytest.mark.parametrize("hk", ["edges", "all"])
def test_hk_multiplicative_hopfield_representations(rng, random_edges, hop_rep, hk):
    """a_e = alpha W_ij must read W_ij from whatever representation the Hopfield part uses."""
    n, d = 7, 3
    model, tw = build_hk(rng, random_edges, mode="multiplicative", hk=hk, hop_rep=hop_rep,
                         kappa=(0.7, 1.6), n=n, d=d)
    check_hk(model, tw, rng, n, d)


@pytest.mark.parametrize("d,omega,stimulus", [(2, "natural", False), (2, "per-unit", True),
                                              (5, "per-unit", False), (5, "none", True),
                                              (3, "none", False)])
@pytest.mark.parametrize("mode,weights", HK_MODES)
def test_hk_dims_and_omega(rng, random_edges, d, omega, stimulus, mode, weights):
    n = 5
    model, tw = build_hk(rng, random_edges, mode=mode, weights=weights, omega=omega,
                         stimulus=stimulus, kappa=(1.4, 0.5), interaction="relu",
                         activation="sigmoid", n=n, d=d)
    check_hk(model, tw, rng, n, d)


@pytest.mark.parametrize("mode,weights", HK_MODES)
@pytest.mark.parametrize("activation", ["tanh", "softmax"])
def test_hk_batch(rng, random_edges, mode, weights, activation):
    n, d = 6, 3
    model, tw = build_hk(rng, random_edges, mode=mode, weights=weights, activation=activation,
                         kappa=(0.6, 2.3), n=n, d=d)
    Y = random_hk_state(rng, n, d, batch=BATCH)
    check_batch(model, Y, lambda z: hk_twin_rhs(tw, z, n, d),
                lambda z: hk_twin_energy(tw, z, n, d))


@pytest.mark.parametrize("mode,weights", HK_MODES)
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_hk_float32(rng, random_edges, mode, weights, activation):
    n, d = 6, 3
    model, tw = build_hk(rng, random_edges, mode=mode, weights=weights, activation=activation,
                         kappa=(0.6, 2.3), n=n, d=d)
    check_float32(model, random_hk_state(rng, n, d), lambda z: hk_twin_rhs(tw, z, n, d),
                  lambda z: hk_twin_energy(tw, z, n, d), lambda z: hk_twin_grad(tw, z, n, d))


@pytest.mark.parametrize("mode,weights", HK_MODES)
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_hk_gradient_finite_differences(rng, random_edges, mode, weights, activation):
    n, d = 5, 3
    model, _ = build_hk(rng, random_edges, mode=mode, weights=weights, activation=activation,
                        interaction="sigmoid", kappa=(0.6, 2.3), n=n, d=d)
    check_fd(model, random_hk_state(rng, n, d))


def test_hk_all_equals_explicit_all_pairs(rng, random_edges):
    """hk_edges="all" is the same model as the explicit list of every pair i < j."""
    n, d = 6, 3
    hop, _, _ = build_hopfield("dense", rng, n, "tanh", 1.1)
    kur, _ = build_kuramoto("edges", "tanh", d, rng, random_edges, n, True, "global")
    a = oh.HopfieldKuramoto(hop, kur, "all", alpha=0.9, mode="additive", kappa_h=2.0)
    b = oh.HopfieldKuramoto(hop, kur, naive.all_pairs(n), alpha=0.9, mode="additive",
                            kappa_h=2.0)
    y = random_hk_state(rng, n, d)
    assert_close(a.rhs(T, y), b.rhs(T, y))
    assert_close(a.energy(y), b.energy(y))
    assert_close(a.effective_weights(y), b.effective_weights(y))


def test_hk_effective_weights_reproduce_rhs(rng, random_edges):
    """docs/theory.md §4.3: the threshold units feel W_eff, i.e. dh/dt = W_eff g - h + b
    (twin-free check)."""
    n, d = 7, 3
    for mode, weights in HK_MODES:
        for hk in ("edges", "all"):
            if hk == "all" and weights == "per-edge":
                continue
            model, tw = build_hk(rng, random_edges, mode=mode, weights=weights, hk=hk,
                                 activation="sigmoid", kappa=(0.6, 2.3), n=n, d=d)
            y = random_hk_state(rng, n, d)
            g = naive.activation(y[:n], "sigmoid", tw["beta"])
            assert_close(model.rhs(T, y)[:n], model.effective_weights(y) @ g - y[:n] + tw["b"],
                         err_msg=f"{mode}-{weights}-{hk}")


# =============================================================================================
# input layouts: the public wrapper must coerce before the contiguous-only kernels
# =============================================================================================
def test_input_layouts(rng, random_edges):
    n, d = 6, 3
    model, tw = build_hk(rng, random_edges, mode="network", weights="per-edge",
                         activation="softmax", interaction="relu", kappa=(0.6, 2.3), n=n, d=d)
    Y = random_hk_state(rng, n, d, batch=4)
    ref_rhs = np.stack([hk_twin_rhs(tw, y, n, d) for y in Y])
    ref_e = np.array([hk_twin_energy(tw, y, n, d) for y in Y])
    ref_g = np.stack([hk_twin_grad(tw, y, n, d) for y in Y])
    layouts = {
        "fortran": np.asfortranarray(Y),
        "strided rows": np.repeat(Y, 2, axis=0)[::2],
        "strided columns": np.repeat(Y, 2, axis=1)[:, ::2],
        "list": Y.tolist(),
    }
    for name, Z in layouts.items():
        assert_close(model.rhs(T, Z), ref_rhs, err_msg=name)
        assert_close(model.energy(Z), ref_e, err_msg=name)
        assert_close(model.energy_gradient(Z), ref_g, err_msg=name)
    one = Y[:1]                                       # a batch of one stays a batch
    assert model.rhs(T, one).shape == (1, model.size)
    assert np.shape(model.energy(one)) == (1,)
    assert_close(model.rhs(T, one)[0], ref_rhs[0])
    single = np.repeat(Y[0], 2)[::2]                  # non-contiguous single state
    assert_close(model.rhs(T, single), ref_rhs[0])
    assert_close(model.energy(single), ref_e[0])


def test_binary_energy_integer_states(rng):
    n = 8
    W = sym(rng, n, diag=False)
    b = rng.standard_normal(n) * 0.3
    model = oh.Hopfield(W, bias=b, activation="sign")
    s = rng.choice([-1, 1], size=n)                   # int64 states
    assert_close(float(model.energy(s)), naive.binary_energy(W, b, s.astype(float)))


# =============================================================================================
# twins against finite differences (the twins are only as good as this check)
# =============================================================================================
@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_twin_hopfield_gradient_is_energy_derivative(rng, activation):
    n = 6
    W, b, h = sym(rng, n), rng.standard_normal(n), rng.standard_normal(n)
    fd = naive.energy_gradient(lambda z: naive.hopfield_energy(W, b, z, activation, 1.7), h)
    assert_close(naive.hopfield_energy_gradient(W, b, h, activation, 1.7), fd, TOL_FD)
    # docs/theory.md §2.2: dE_H/dh = -Hess L . hdot, so dE/dt = -hdot^T Hess L hdot <= 0
    hdot = naive.hopfield_rhs(W, b, h, activation, 1.7)
    assert fd @ hdot <= 1e-7


@pytest.mark.parametrize("interaction", naive.INTERACTIONS)
def test_twin_kuramoto_gradient_is_energy_derivative(rng, unit_vectors, interaction):
    n, d = 5, 3
    J, B, c = sym(rng, n), sym(rng, n), rng.standard_normal((n, d))
    x = unit_vectors(n, d)
    fd = naive.energy_gradient(
        lambda z: naive.kuramoto_energy(J, B, interaction, z.reshape(n, d), c), x.ravel())
    assert_close(naive.kuramoto_energy_gradient(J, B, interaction, x, c).ravel(), fd, TOL_FD)
    xdot = naive.kuramoto_rhs(J, B, interaction, x, c)      # no Omega: gradient flow
    assert fd @ xdot.ravel() <= 1e-7


@pytest.mark.parametrize("activation", naive.ACTIVATIONS)
def test_twin_hk_gradient_is_energy_derivative(rng, random_edges, activation):
    n, d = 5, 3
    kw = dict(W=sym(rng, n), b=rng.standard_normal(n), activation_name=activation, beta=1.3,
              J=sym(rng, n), B=sym(rng, n), interaction="tanh", c=rng.standard_normal((n, d)),
              A=sym(rng, n), kappa_h=0.6, kappa_k=2.3)
    y = random_hk_state(rng, n, d)
    fd = naive.energy_gradient(lambda z: hk_twin_energy(kw, z, n, d), y)
    assert_close(hk_twin_grad(kw, y, n, d), fd, TOL_FD)
    # docs/theory.md §4.2: with Omega = 0, dE/dt <= 0
    assert fd @ hk_twin_rhs(dict(kw, Omega=None), y, n, d) <= 1e-7


# =============================================================================================
# pack / unpack / normalize / random_state
# =============================================================================================
def test_pack_unpack_hopfield(rng):
    model, _, _ = build_hopfield("dense", rng, 5)
    h = rng.standard_normal(5)
    y = model.pack(h=h)
    assert_close(y, h)
    st_ = model.unpack(y)
    assert_close(st_.h, h)
    assert st_.x is None
    H = rng.standard_normal((BATCH, 5))
    assert_close(model.pack(h=H), H)
    assert_close(model.unpack(H).h, H)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_pack_unpack_kuramoto(rng, random_edges, unit_vectors, d):
    n = 6
    model, _ = build_kuramoto("edges", "linear", d, rng, random_edges, n)
    x = unit_vectors(n, d)
    y = model.pack(x=x)
    assert_close(y, x.ravel())                       # row-major layout
    st_ = model.unpack(y)
    assert st_.h is None
    assert_close(st_.x, x)
    X = unit_vectors(n, d, batch=BATCH)
    Y = model.pack(x=X)
    assert_close(Y, X.reshape(BATCH, n * d))
    assert_close(model.unpack(Y).x, X)


@pytest.mark.parametrize("d", [2, 3])
def test_pack_unpack_hk(rng, random_edges, unit_vectors, d):
    n = 5
    model, _ = build_hk(rng, random_edges, mode="additive", n=n, d=d)
    h, x = rng.standard_normal(n), unit_vectors(n, d)
    y = model.pack(h=h, x=x)
    assert_close(y, np.concatenate([h, x.ravel()]))
    st_ = model.unpack(y)
    assert_close(st_.h, h)
    assert_close(st_.x, x)
    H, X = rng.standard_normal((BATCH, n)), unit_vectors(n, d, batch=BATCH)
    Y = model.pack(h=H, x=X)
    assert_close(Y, np.concatenate([H, X.reshape(BATCH, n * d)], axis=1))
    st_ = model.unpack(Y)
    assert_close(st_.h, H)
    assert_close(st_.x, X)


def test_normalize_and_random_state(rng, random_edges):
    n, d = 5, 3
    model, _ = build_hk(rng, random_edges, mode="additive", n=n, d=d)
    y = np.concatenate([rng.standard_normal(n), 3.0 * rng.standard_normal(n * d)])
    y_before = y.copy()
    z = model.normalize(y)
    assert_close(y, y_before, err_msg="normalize must return a copy")
    assert_close(z[:n], y[:n])
    xz = z[n:].reshape(n, d)
    assert_close(np.linalg.norm(xz, axis=1), np.ones(n))
    assert_close(xz, y[n:].reshape(n, d) / np.linalg.norm(y[n:].reshape(n, d), axis=1)[:, None])
    r1, r2 = model.random_state(seed=3), model.random_state(seed=3)
    assert r1.shape == (model.size,)
    assert_close(r1, r2)
    assert_close(np.linalg.norm(r1[n:].reshape(n, d), axis=1), np.ones(n))
    R = model.random_state(seed=4, batch=BATCH)
    assert R.shape == (BATCH, model.size)
    assert_close(np.linalg.norm(R[:, n:].reshape(BATCH, n, d), axis=2), np.ones((BATCH, n)))
