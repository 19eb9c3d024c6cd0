"""The fast paths of issue 4 give the same answers as the reference kernels.

- batch-innermost right-hand side (``kernels/batched.py``: CSR pulls four members at a time,
  BLAS for dense and low-rank weights) == the row-wise ``batch_rhs``;
- D-specialised CSR kernels (``kernels/fixed_dim.py``) == the generic CSR loops;
- large models (N = 100,000 units with P = 1,000 Hebbian patterns; N = 1,000,000 mean-field
  oscillators) build and evaluate without an N x N matrix (memory checked).

The reference kernels are themselves checked against the NumPy twins of ``tests/naive.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

import naive
import oscihop as oh
from oscihop.kernels import batched as BT
from oscihop.kernels import fixed_dim as FD
from oscihop.kernels import params as P
from oscihop.kernels import system as S
from oscihop.solvers import loops
from oscihop.solvers.lockstep import fixed_lockstep

TOL = 1e-12


def _hk_shared(rng, n, dim, interaction, random_edges, w_on_graph=True, activation="relu"):
    edges = random_edges(n, 0.4)
    ne = edges.shape[0]
    if w_on_graph:
        import scipy.sparse as sp

        w = rng.standard_normal(ne)
        rows = np.concatenate([edges[:, 0], edges[:, 1]])
        cols = np.concatenate([edges[:, 1], edges[:, 0]])
        weights = sp.coo_matrix((np.concatenate([w, w]), (rows, cols)), shape=(n, n)).tocsr()
    else:
        weights = rng.standard_normal((n, n))
        weights = weights + weights.T
    hop = oh.Hopfield(weights, bias=rng.standard_normal(n), activation=activation)
    kur = oh.Kuramoto(dim, edges=edges, coupling=rng.standard_normal(ne), interaction=interaction,
                      interaction_weights=rng.standard_normal(ne) if interaction != "linear" else None,
                      stimulus=rng.standard_normal((n, dim)))
    return oh.HopfieldKuramoto(hop, kur, edges, weights=rng.standard_normal(ne), mode="network",
                               kappa_h=1.5, kappa_k=0.7)


def _models(rng, random_edges, random_antisymmetric):
    n = 9
    yield "hk-shared-relu-d5", _hk_shared(rng, n, 5, "relu", random_edges)
    yield "hk-shared-tanh-d3", _hk_shared(rng, n, 3, "tanh", random_edges, activation="tanh")
    yield "hk-dense-w-d2", _hk_shared(rng, n, 2, "sigmoid", random_edges, w_on_graph=False, activation="sigmoid")
    yield "hk-d7-generic", _hk_shared(rng, n, 7, "relu", random_edges)
    # HK coefficients on other edges than the Kuramoto couplings: _kuramoto_csr_t, then _hk_csr_t
    hk_edges = random_edges(n, 0.5)
    yield "hk-edges-apart-tanh-d3", oh.HopfieldKuramoto(
        oh.Hopfield(rng.standard_normal((n, n)), activation="tanh", symmetrize=True),
        oh.Kuramoto(3, edges=random_edges(n, 0.4), coupling=rng.standard_normal(), interaction="tanh",
                    interaction_weights=0.7),
        hk_edges, weights=rng.standard_normal(hk_edges.shape[0]), mode="network", kappa_h=1.5, kappa_k=0.7)
    xi = np.where(rng.random((3, n)) < 0.5, -1.0, 1.0)
    yield "hopfield-lowrank", oh.Hopfield.from_patterns(xi, activation="tanh", beta=2.0)
    yield "kuramoto-meanfield-omega", oh.Kuramoto(2, coupling="mean-field", strength=1.3, n=n,
                                                  omega=rng.standard_normal(n))
    yield "kuramoto-global-omega", oh.Kuramoto(4, edges=random_edges(n), coupling=0.5,
                                               omega=random_antisymmetric(4))
    j = rng.standard_normal((n, n))
    yield "kuramoto-dense-blas", oh.Kuramoto(3, coupling=j + j.T, stimulus=rng.standard_normal((n, 3)))
    yield "kuramoto-lowrank-blas", oh.Kuramoto(4, coupling=oh.LowRank(rng.standard_normal((2, n)), scale=[0.5, -1.0]))
    hop = oh.Hopfield(j + j.T, activation="tanh")
    yield "hk-all-fallback", oh.HopfieldKuramoto(hop, oh.Kuramoto(3, coupling=j + j.T), "all", alpha=0.3,
                                                 mode="additive")
    yield "hopfield-softmax-fallback", oh.Hopfield(j + j.T, activation="softmax", beta=0.5)


@pytest.mark.parametrize("nb", [1, 3, 4, 9, 16, 37])  # 16: whole vector iterations, no tail
def test_batch_innermost_rhs_matches_rowwise(rng, random_edges, random_antisymmetric, nb):
    for name, model in _models(rng, random_edges, random_antisymmetric):
        for dtype, tol in ((np.float64, TOL), (np.float32, 1e-4)):
            p = model.params(dtype)
            ys = model.random_state(seed=1, batch=nb).astype(dtype)
            ref = np.empty_like(ys)
            S.batch_rhs(S.link(p), ys, ref)
            yt = np.ascontiguousarray(ys.T)
            out = np.empty_like(yt)
            BT.rhs_t(p, yt, out, np.empty(BT.work_t_size(p, nb), dtype=dtype))
            scale = max(1.0, float(np.abs(ref).max()))
            np.testing.assert_allclose(out.T, ref, rtol=0, atol=tol * scale, err_msg=f"{name} {dtype.__name__}")


def test_fast_path_flags(rng, random_edges, random_antisymmetric):
    models = dict(_models(rng, random_edges, random_antisymmetric))
    p = models["hk-shared-relu-d5"].params()
    assert BT.has_fast_path(p) and BT.shared_structure(p)
    assert BT.shared_structure(models["hk-dense-w-d2"].params())  # W dense; K and HK share the graph
    apart = models["hk-edges-apart-tanh-d3"].params()
    assert BT.has_fast_path(apart) and not BT.shared_structure(apart)  # the separate CSR kernels
    assert BT.has_fast_path(models["kuramoto-dense-blas"].params())
    assert not BT.has_fast_path(models["hk-all-fallback"].params())
    assert not BT.has_fast_path(models["hopfield-softmax-fallback"].params())



@pytest.mark.parametrize("nb", [1, 5, 64])
def test_batch_innermost_blas_paths_match_numpy_twins(rng, nb):
    """Dense and low-rank Hopfield weights and Kuramoto couplings go through BLAS, the products
    written straight into the work buffer: equal to the NumPy twins of ``tests/naive.py``.
    ``out`` and ``work`` start as NaN, and a second call reuses the dirty work buffer, so an
    entry the kernel leaves unwritten (or reads before writing) shows."""
    n, d = 23, 3
    w = rng.standard_normal((n, n))
    w = (w + w.T) / np.sqrt(n)
    bias = rng.standard_normal(n)
    xi = np.where(rng.random((3, n)) < 0.5, -1.0, 1.0)
    j = rng.standard_normal((n, n))
    j = j + j.T
    factor, scale = rng.standard_normal((2, n)), np.array([0.5, -1.0])
    stim = rng.standard_normal((n, d))
    zero = np.zeros((n, n))
    cases = {
        "hopfield-dense-tanh": (oh.Hopfield(w, bias=bias, activation="tanh", beta=1.5),
                                lambda y: naive.hopfield_rhs(w, bias, y, "tanh", 1.5)),
        "hopfield-dense-sigmoid": (oh.Hopfield(w, bias=bias, activation="sigmoid", beta=0.7),
                                   lambda y: naive.hopfield_rhs(w, bias, y, "sigmoid", 0.7)),
        "hopfield-lowrank": (oh.Hopfield.from_patterns(xi, activation="tanh", beta=2.0),
                             lambda y: naive.hopfield_rhs(naive.hebbian_weights(xi), np.zeros(n), y, "tanh", 2.0)),
        "kuramoto-dense": (oh.Kuramoto(d, coupling=j, stimulus=stim),
                           lambda y: naive.kuramoto_rhs(j, zero, "linear", y.reshape(n, d), stim).ravel()),
        "kuramoto-lowrank": (oh.Kuramoto(d, coupling=oh.LowRank(factor, scale=scale)),
                             lambda y: naive.kuramoto_rhs(naive.lowrank_dense(factor, scale), zero, "linear",
                                                          y.reshape(n, d)).ravel()),
    }
    for name, (model, twin) in cases.items():
        p = model.params(np.float64)
        ys = model.random_state(seed=3, batch=nb)
        ref = np.stack([twin(y) for y in ys], axis=1)
        yt = np.ascontiguousarray(ys.T)
        out = np.full_like(yt, np.nan)
        work = np.full(BT.work_t_size(p, nb), np.nan)
        for call in range(2):
            BT.rhs_t(p, yt, out, work)
            np.testing.assert_allclose(out, ref, rtol=0, atol=TOL * max(1.0, float(np.abs(ref).max())),
                                       err_msg=f"{name}, call {call}")


@pytest.mark.parametrize("dim", [2, 3, 4, 5])
@pytest.mark.parametrize("interaction", ["linear", "relu", "tanh", "sigmoid"])
def test_fixed_dim_kernels_match_generic(rng, random_edges, dim, interaction):
    hk = _hk_shared(rng, 11, dim, interaction, random_edges)
    p = hk.params()
    y = hk.random_state(seed=2)
    nh = hk.n
    g = np.maximum(y[:nh], 0.0)  # relu activation of _hk_shared
    work = np.empty(p.ip[P.I_WORK_SIZE])
    stim = np.zeros_like(y)
    stim[nh:] = hk.kuramoto.stimulus.ravel() if getattr(hk.kuramoto, "stimulus", None) is not None else 0.0
    # Kuramoto part alone: the same sums in the same order as the generic loop (bitwise)
    ref = stim.copy()
    S.kuramoto_coupling(p, y, ref, work, True, False)
    got = stim.copy()
    assert FD.kuramoto_csr_fixed(p, y, got)
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL)
    # W + Kuramoto + HK row by row over the shared structure
    wg = np.empty(nh)
    S.weights_matvec(p, g, wg, work)
    ref = stim.copy()
    ref[:nh] = wg - y[:nh] + hk.hopfield.bias
    S.kuramoto_coupling(p, y, ref, work, True, False)
    S.hk_coupling(p, y, g, ref, work, True, False)
    got = stim.copy()
    assert FD.fused_csr_fixed(p, y, g, got, True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=TOL)
    # and through system_rhs (which picks the fused pass) against the NumPy-free reference
    assert p.ip[P.I_SHARED_CSR] == P.SHARED_K_HK_W
    f = hk.rhs(0.0, y)
    out = ref.copy()
    S.project_and_rotate(p, y, out)
    np.testing.assert_allclose(f, out, rtol=0, atol=TOL)


def test_fixed_dim_declines_other_dims(rng, random_edges):
    kur = oh.Kuramoto(7, edges=random_edges(6), coupling=1.0)
    y = kur.random_state(seed=0)
    assert not FD.kuramoto_csr_fixed(kur.params(), y, np.zeros_like(y))


def _held_bytes(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, current, peak


@pytest.mark.timeout(300)
def test_large_lowrank_hopfield_never_materialises_w():
    """N = 100,000 units, P = 1,000 patterns: W would be 80 GB; the factor is 0.8 GB."""
    n, npat = 100_000, 1_000
    rng = np.random.default_rng(0)

    def build():
        xi = np.where(rng.random((npat, n), dtype=np.float32) < 0.5, np.float32(-1), np.float32(1))
        hop = oh.Hopfield.from_patterns(xi, activation="tanh")
        h = rng.standard_normal(n)
        return hop, h, hop.rhs(0.0, h)

    (hop, h, f), current, peak = _held_bytes(build)
    factor_bytes = 8 * n * npat
    assert peak < 4 * factor_bytes, f"peak {peak / 2**30:.2f} GiB for a {factor_bytes / 2**30:.2f} GiB factor"
    # spot-check a few rows against the definition W = xi^T xi / N with zero diagonal
    xi = hop.patterns
    g = np.tanh(h)
    m = xi @ g / n
    for i in (0, 12345, n - 1):
        expect = xi[:, i] @ m - (npat / n) * g[i] - h[i]
        assert abs(f[i] - expect) < 1e-9 * max(1.0, abs(expect))


@pytest.mark.timeout(300)
def test_million_mean_field_oscillators():
    """N = 1,000,000 mean-field oscillators (D = 2, natural frequencies) in O(N D) memory."""
    n = 1_000_000
    rng = np.random.default_rng(1)

    def build():
        kur = oh.Kuramoto(2, coupling="mean-field", strength=2.0, n=n, omega=rng.standard_normal(n))
        y = kur.random_state(seed=3)
        return kur, y, kur.rhs(0.0, y)

    (kur, y, f), current, peak = _held_bytes(build)
    assert peak < 400 * n, f"peak {peak / 2**20:.0f} MiB for N = {n}"  # a few dozen doubles per unit
    x = y.reshape(n, 2)
    i = 777
    force = 2.0 / n * (x.sum(0) - x[i])
    force -= (force @ x[i]) * x[i]
    omega = np.asarray(kur.omega)
    rot = omega[i] * np.array([-x[i, 1], x[i, 0]]) if omega.ndim == 1 else omega[i] @ x[i]
    np.testing.assert_allclose(f.reshape(n, 2)[i], force + rot, atol=1e-12)


@pytest.mark.parametrize("scheme", [loops.SCHEME_EULER, loops.SCHEME_RK4])
def test_lockstep_fixed_step_matches_member_loop(rng, random_edges, random_antisymmetric, scheme):
    """Lockstep batch == member-by-member fixed_block: outputs, statuses, counts."""
    t_eval = np.array([0.0, 0.05, 0.3, 0.31, 0.5])
    for name, model in _models(rng, random_edges, random_antisymmetric):
        ys = model.random_state(seed=4, batch=6, h_scale=0.5)
        p = model.params()
        for steady, max_steps in ((0.0, 2**62), (1e9, 2**62), (0.0, 7)):
            ref = np.empty((6, t_eval.size, model.size))
            ref_stats = np.zeros((6, 5))
            loops.fixed_block(S.link(p), p.fp[None], ys, 0.0, t_eval, 0.04, scheme, max_steps, steady, ref, ref_stats)
            got = np.empty_like(ref)
            stats = np.zeros((6, 5))
            fixed_lockstep(S.link(p, "rhs_t"), ys, 0.0, t_eval, 0.04, scheme, max_steps, steady, got, stats,
                           np.empty(BT.work_t_size(p, 6)))
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11, err_msg=name)
            np.testing.assert_array_equal(stats, ref_stats, err_msg=name)


def test_lockstep_freezes_nonfinite_member(rng):
    w = rng.standard_normal((5, 5))
    hop = oh.Hopfield(w + w.T, activation="relu")
    ys = rng.standard_normal((3, 5))
    ys[1, 2] = 1e308  # overflows in the first steps
    p = hop.params()
    t_eval = np.linspace(0, 1, 5)
    ref = np.empty((3, 5, 5))
    ref_stats = np.zeros((3, 5))
    loops.fixed_block(S.link(p), p.fp[None], ys, 0.0, t_eval, 0.1, loops.SCHEME_RK4, 2**62, 0.0, ref, ref_stats)
    got = np.empty_like(ref)
    stats = np.zeros((3, 5))
    fixed_lockstep(S.link(p, "rhs_t"), ys, 0.0, t_eval, 0.1, loops.SCHEME_RK4, 2**62, 0.0, got, stats, np.empty(BT.work_t_size(p, 3)))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got[[0, 2]], ref[[0, 2]], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(stats, ref_stats)


def test_rcm_reordering_is_a_relabelling(rng):
    """A model on the RCM-relabelled graph gives the same dynamics up to the permutation,
    and the reordering shrinks the bandwidth of a scrambled small-world graph."""
    n, dim = 60, 3
    edges = oh.watts_strogatz_edges(n, 6, 0.05, seed=1)
    scramble = rng.permutation(n)
    edges = scramble[edges]  # a ring with random labels: poor locality
    ne = edges.shape[0]
    jv, bv, av = rng.standard_normal(ne), rng.standard_normal(ne), rng.standard_normal(ne)
    stim, omega, bias = rng.standard_normal((n, dim)), rng.standard_normal(n), rng.standard_normal(n)
    xi = np.where(rng.random((2, n)) < 0.5, -1.0, 1.0)

    def build(e, order):
        hop = oh.Hopfield.from_patterns(xi[:, order], activation="tanh", bias=bias[order])
        kur = oh.Kuramoto(dim, edges=e, coupling=jv, interaction="relu", interaction_weights=bv,
                          stimulus=stim[order])
        return oh.HopfieldKuramoto(hop, kur, e, weights=av, mode="network")

    perm = oh.graph.rcm_permutation(n, edges)
    assert sorted(perm.tolist()) == list(range(n))
    new_edges = oh.graph.relabel_edges(edges, perm)
    bandwidth = lambda e: int(np.max(np.abs(e[:, 0] - e[:, 1])))  # noqa: E731
    assert bandwidth(new_edges) < bandwidth(edges) / 2
    old, new = build(edges, np.arange(n)), build(new_edges, perm)
    y = old.random_state(seed=5)
    h, x = old.unpack(y)
    y_new = new.pack(h=h[perm], x=x[perm])
    f_old, f_new = old.unpack(old.rhs(0.0, y)), new.unpack(new.rhs(0.0, y_new))
    np.testing.assert_allclose(f_new.h, f_old.h[perm], rtol=0, atol=1e-12)
    np.testing.assert_allclose(f_new.x, f_old.x[perm], rtol=0, atol=1e-12)
    assert abs(new.energy(y_new) - old.energy(y)) < 1e-10
    inv = oh.graph.inverse_permutation(perm)
    np.testing.assert_array_equal(perm[inv], np.arange(n))


def test_rcm_rejects_bad_input():
    with pytest.raises(ValueError, match="`n`"):
        oh.graph.rcm_permutation(0, np.zeros((0, 2), dtype=int))
    np.testing.assert_array_equal(oh.graph.rcm_permutation(4), np.arange(4))


def test_tanh_accuracy():
    """``elementary.tanh`` (the package's one tanh: activation, phi', batch path, VJPs) == NumPy's
    tanh within 3 ulp over the whole real line, with its signs (the sign of a zero is not kept:
    the kernels compile with fast-math ``nsz``), infinities and NaN; float32 in, float32 out."""
    from oscihop.config import serial_jit
    from oscihop.kernels.elementary import tanh

    @serial_jit
    def fill(x, out):
        for i in range(x.shape[0]):
            out[i] = tanh(x[i])

    x = np.concatenate([np.linspace(-30, 30, 60001), np.logspace(-300, 1.4, 5000), -np.logspace(-300, 1.4, 5000),
                        np.random.default_rng(0).standard_normal(20000) * 4, np.log(2) * np.arange(-60, 61) / 2,
                        [0.0, -0.0, 0.17, 0.3465735902799726, 19.06, 20.0, 1e300, -1e300, np.inf, -np.inf, 5e-324]])
    got = np.empty_like(x)
    fill(x, got)
    ref = np.tanh(x)
    ulp = np.spacing(np.abs(ref)).clip(min=np.finfo(float).tiny)
    assert np.max(np.abs(got - ref) / ulp) <= 3
    assert np.all(np.sign(got) == np.sign(ref))
    nan = np.empty(1)
    fill(np.array([np.nan]), nan)
    assert np.isnan(nan[0])
    got32 = np.empty(1001, np.float32)
    x32 = np.linspace(-12, 12, 1001).astype(np.float32)
    fill(x32, got32)
    np.testing.assert_allclose(got32, np.tanh(x32), rtol=0, atol=2e-7)


def test_sigmoid_and_exp_neg_accuracy():
    """``elementary.sigmoid`` (the package's one sigmoid: activation, phi', batch path, CUDA) has a
    relative error below 3e-14 over the whole real line, large negative z included (no
    cancellation; the old batch form 0.5 + 0.5 tanh(z/2) lost every digit below z = -37), and
    within 16 ulp for |z| <= 40; 0 and 1 at -inf and inf, NaN kept.  ``exp_neg`` likewise, 0 once
    exp(-a) is below the smallest normal number.  (The bound grows with |z| because fast-math
    reassociation merges the two parts of ln 2 in the argument reduction.)  The reference is
    computed in long double where it is wider than double (scipy.special.expit otherwise)."""
    from scipy.special import expit

    from oscihop.config import serial_jit
    from oscihop.kernels.elementary import exp_neg, sigmoid

    @serial_jit
    def fill(f, x, out):
        for i in range(x.shape[0]):
            out[i] = f(x[i])

    x = np.concatenate([np.linspace(-745, 40, 100001), np.random.default_rng(1).standard_normal(20000) * 8,
                        -np.logspace(-300, 2.8, 3000), np.logspace(-300, 1.6, 3000), [0.0, 36.7, 37.0, -708.0]])
    got = np.empty_like(x)
    fill(sigmoid, x, got)
    ld = np.longdouble
    ref = (1 / (1 + np.exp(-x.astype(ld)))).astype(float) if np.finfo(ld).eps < np.finfo(float).eps else expit(x)
    ok = ref > np.finfo(float).tiny  # below: denormal results, compared in absolute terms
    assert np.max(np.abs(got[ok] - ref[ok]) / ref[ok]) < 3e-14
    near = ok & (np.abs(x) <= 40)
    assert np.max(np.abs(got[near] - ref[near]) / np.spacing(ref[near])) <= 16
    assert np.max(np.abs(got[~ok] - ref[~ok]), initial=0.0) < 1e-300
    edge = np.empty(3)
    fill(sigmoid, np.array([np.inf, -np.inf, np.nan]), edge)
    assert edge[0] == 1.0 and edge[1] == 0.0 and np.isnan(edge[2])
    a = np.concatenate([np.linspace(0, 708.39, 200001), np.logspace(-300, 0, 2000), [708.4, 1e4, np.inf]])
    e = np.empty_like(a)
    fill(exp_neg, a, e)
    ref = np.exp(-a.astype(ld)).astype(float) if np.finfo(ld).eps < np.finfo(float).eps else np.exp(-a)
    ok = a <= 708.39
    assert np.max(np.abs(e[ok] - ref[ok]) / ref[ok]) < 3e-14
    assert np.all(e[~ok] == 0.0)


@pytest.mark.parametrize("method", ["AKOrN", "RK4"])
def test_solve_uses_lockstep_for_matrix_couplings(rng, method):
    """oh.solve on a batch with dense / low-rank couplings (lockstep, BLAS) == one member at a time."""
    from oscihop.solvers.solve import _use_lockstep

    n = 12
    j = rng.standard_normal((n, n))
    kur = oh.Kuramoto(4, coupling=j + j.T, stimulus=rng.standard_normal((n, 4)))
    xi = np.where(rng.random((3, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=2.0)
    for model in (kur, hop):
        assert _use_lockstep(model.params(), 9, 0)
        ys = model.random_state(seed=7, batch=9)
        kw = dict(method=method, dt=0.05, t_eval=np.linspace(0, 1, 6))
        sol = oh.solve(model, (0.0, 1.0), ys, **kw)
        for b in (0, 4, 8):
            one = oh.solve(model, (0.0, 1.0), ys[b], **kw)
            np.testing.assert_allclose(sol.y[b], one.y, rtol=0, atol=1e-11)
            assert sol.nfev[b] == one.nfev


def test_blas_threads_limits_the_blas_numba_calls_even_before_scipy_linalg_is_loaded():
    """Numba's products go to the BLAS bundled with SciPy; ``config.blas_threads`` must limit
    that library too, also in a fresh process where nothing has loaded it yet."""
    import subprocess
    import sys
    import textwrap

    pytest.importorskip("threadpoolctl")
    code = textwrap.dedent("""
        import json, sys
        from threadpoolctl import threadpool_info
        from oscihop import config
        assert "scipy.linalg" not in sys.modules
        with config.blas_threads(1):
            inside = [(lib["filepath"], lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"]
        print(json.dumps(inside))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    import json

    inside = json.loads(proc.stdout.strip().splitlines()[-1])
    assert any("scipy" in path for path, _ in inside), inside  # SciPy's own BLAS was found
    assert all(n == 1 for _, n in inside), inside


def test_local_vector_is_a_stack_array_of_the_requested_dtype():
    """``elementary.local_vector(n, like)``: n entries of ``like``'s dtype (an array's or a
    scalar's), writable and independent per call, with n a compile-time constant."""
    import numba

    from oscihop.kernels.elementary import local_vector

    n = 3

    @numba.njit
    def fill(y, k):
        v = local_vector(n, y)
        w = local_vector(n, k)
        for d in range(n):
            v[d] = y[d] * 2
            w[d] = k + d
        return v[0] + v[1] + v[2], w[2], v.dtype == y.dtype

    for dt in (np.float64, np.float32):
        total, last, same = fill(np.arange(1, 4, dtype=dt), np.uint64(7))
        assert total == 12 and last == 9 and same
