"""Gradients through the dynamics (``oh.value_and_grad``): the vector-Jacobian products of the
right-hand side against central finite differences, the discrete adjoint of every supported
method against finite differences of ``oh.solve``, a NumPy twin of the adjoint, float32,
batches, checkpointing, ``parameters()`` / ``replace()`` and bad inputs.

Tolerances and why:

- ``TOL_VJP``: central differences (eps 1e-6) of a smooth float64 function have error
  ~eps^2 |f'''| + eps_mach/eps ~ 1e-10; we allow 1e-7 (relative to the gradient's scale).
- Fixed-step methods: the adjoint is the exact derivative of ``oh.solve``'s map, so finite
  differences of ``oh.solve`` agree to FD accuracy (``TOL_FIXED``).
- Adaptive methods: the adjoint differentiates the discrete map on the *accepted step grid*,
  held fixed (the standard discrete adjoint).  Exactness is tested by replaying that frozen
  grid (``TOL_FIXED``, after checking the replay reproduces ``oh.solve`` bit for bit within
  1e-13).  Against finite differences of the adaptive ``oh.solve`` itself the step sizes move
  with the parameters, an effect of the order of the local error: with rtol = 1e-8 we allow
  a relative 1e-4 (``TOL_ADAPTIVE``).
"""
import numpy as np
import pytest
import scipy.sparse as sp

import oscihop as oh
from oscihop.adjoint import grid_forward_member
from oscihop.kernels import params as P
from oscihop.kernels.system import system_rhs
from oscihop.kernels.vjp import system_rhs_vjp, vjp_work_size
from oscihop.solvers.methods import METHODS

TOL_VJP = 1e-7
TOL_FIXED = 2e-7
TOL_ADAPTIVE = 1e-4
EPS = 1e-6
#: float header slots that are not differentiated (beta, kappa_h, kappa_k)
UNDIFFERENTIATED = (P.F_BETA, P.F_KAPPA_H, P.F_KAPPA_K)


# =============================================================================================
# model zoo
# =============================================================================================
def _sym(rng, n, scale=0.6):
    m = rng.standard_normal((n, n)) * scale
    return (m + m.T) / 2


def _antisym(rng, d, n=None):
    m = rng.standard_normal((d, d) if n is None else (n, d, d))
    return (m - np.swapaxes(m, -1, -2)) / 2


def _edges(rng, n, p=0.6):
    e = oh.complete_edges(n)
    keep = rng.random(len(e)) < p
    keep[0] = True
    return e[keep]


def make_hopfield(rng, rep="dense", act="tanh", n=5):
    if rep == "dense":
        w = _sym(rng, n)
    elif rep == "csr":
        w = sp.csr_matrix(np.where(_sym(rng, n) > 0, _sym(rng, n) + _sym(rng, n).T, 0.0))
        w = sp.csr_matrix(w + sp.eye(n) * 0.3)
    elif rep == "lowrank":
        w = oh.LowRank(rng.standard_normal((2, n)), rng.standard_normal(2), zero_diagonal=True)
    else:  # lowrank with diagonal kept
        w = oh.LowRank(rng.standard_normal((2, n)), [0.5, -0.3], zero_diagonal=False)
    beta = 1.0 if act == "relu" else 1.3
    return oh.Hopfield(w, bias=rng.standard_normal(n) * 0.5, activation=act, beta=beta)


def make_kuramoto(rng, rep="edges", inter="linear", n=5, d=3, stim=True, omega="per-unit"):
    kw = {}
    if stim:
        kw["stimulus"] = rng.standard_normal((n, d)) * 0.5
    if omega == "global":
        kw["omega"] = _antisym(rng, d)
    elif omega == "per-unit":
        kw["omega"] = _antisym(rng, d, n)
    if rep == "edges":
        e = _edges(rng, n)
        bw = None if inter == "linear" else rng.standard_normal(len(e))
        return oh.Kuramoto(d, edges=e, coupling=rng.standard_normal(len(e)), interaction=inter,
                           interaction_weights=bw, n=n, **kw)
    if rep == "dense":
        return oh.Kuramoto(d, coupling=_sym(rng, n), **kw)
    if rep == "sparse":
        return oh.Kuramoto(d, coupling=sp.csr_matrix(_sym(rng, n)), interaction=inter, **kw)
    if rep == "lowrank":
        return oh.Kuramoto(d, coupling=oh.LowRank(rng.standard_normal((2, n)), [0.7, -0.4]), **kw)
    if rep == "blocks":  # typed D x D blocks on edges
        e = _edges(rng, n)
        return oh.Kuramoto(d, edges=e, coupling=oh.BlockCoupling(rng.standard_normal((2, d, d)) * 0.6,
                                                                 np.arange(len(e)) % 2), n=n, **kw)
    if rep == "dense-blocks":  # not symmetric
        return oh.Kuramoto(d, coupling=rng.standard_normal((n, n, d, d)) * 0.4, **kw)
    if rep == "conv":  # a 1 x n image, one oscillator per pixel, with a bias
        conv = oh.ConvCoupling(rng.standard_normal((d, d, 3, 3)) * 0.5, rng.standard_normal(d) * 0.5, grid=(1, n),
                               dim=d)
        return oh.Kuramoto(d, coupling=conv, **kw)
    return oh.Kuramoto(d, coupling="mean-field", strength=1.7, n=n, **kw)


def make_hk(rng, mode="network", edges="list", wrep="dense", act="tanh", inter="tanh", krep="edges", n=5, d=3,
            omega="global"):
    hop = make_hopfield(rng, wrep, act, n)
    kur = make_kuramoto(rng, krep, inter, n, d, omega=omega)
    e = "all" if edges == "all" else _edges(rng, n)
    kw = dict(mode=mode, kappa_h=1.3, kappa_k=0.8)
    if mode == "network":
        ne = n * (n - 1) // 2 if edges == "all" else len(e)
        w = 0.7 if edges == "all" else rng.standard_normal(ne)
        return oh.HopfieldKuramoto(hop, kur, e, weights=w, **kw)
    return oh.HopfieldKuramoto(hop, kur, e, alpha=0.6, **kw)


def _cases():
    cases = {}
    for rep in ("dense", "csr", "lowrank", "lowrank-diag"):
        for act in ("tanh", "sigmoid", "relu", "softmax"):
            if rep != "dense" and act in ("sigmoid",):
                continue
            cases[f"hop-{rep}-{act}"] = lambda rng, rep=rep, act=act: make_hopfield(rng, rep, act)
    for inter in ("linear", "relu", "tanh", "sigmoid"):
        cases[f"kur-edges-{inter}"] = lambda rng, inter=inter: make_kuramoto(rng, "edges", inter)
    cases["kur-sparse-tanh"] = lambda rng: make_kuramoto(rng, "sparse", "tanh", omega="global")
    cases["kur-dense"] = lambda rng: make_kuramoto(rng, "dense", omega="global")
    cases["kur-lowrank"] = lambda rng: make_kuramoto(rng, "lowrank", stim=False, omega=None)
    cases["kur-meanfield-d2"] = lambda rng: make_kuramoto(rng, "meanfield", d=2)
    cases["kur-blocks"] = lambda rng: make_kuramoto(rng, "blocks", omega="global")
    cases["kur-dense-blocks"] = lambda rng: make_kuramoto(rng, "dense-blocks", d=2)
    cases["kur-conv"] = lambda rng: make_kuramoto(rng, "conv", d=4)
    cases["hk-additive-conv"] = lambda rng: make_hk(rng, "additive", "list", inter="linear", krep="conv")
    cases["hk-network-list"] = lambda rng: make_hk(rng, "network", "list")
    cases["hk-network-all-softmax"] = lambda rng: make_hk(rng, "network", "all", act="softmax", inter="relu")
    cases["hk-additive-list-sigmoid"] = lambda rng: make_hk(rng, "additive", "list", act="sigmoid", inter="sigmoid")
    cases["hk-additive-all"] = lambda rng: make_hk(rng, "additive", "all", krep="meanfield", inter="linear")
    cases["hk-additive-all-relu"] = lambda rng: make_hk(rng, "additive", "all", act="relu", inter="linear",
                                                         krep="lowrank", omega="per-unit")
    cases["hk-mult-dense"] = lambda rng: make_hk(rng, "multiplicative", "list", wrep="dense")
    cases["hk-mult-csr"] = lambda rng: make_hk(rng, "multiplicative", "list", wrep="csr", inter="linear",
                                               krep="dense")
    cases["hk-mult-lowrank-all"] = lambda rng: make_hk(rng, "multiplicative", "all", wrep="lowrank")
    return cases


CASES = _cases()


def _state(model, rng, off_sphere=False):
    y = model.random_state(seed=int(rng.integers(1 << 30)), h_scale=0.8)
    if off_sphere and model.dim:
        y[model.n if model._nh else 0:] *= 1.0 + 0.2 * rng.random(model.n * model.dim).repeat(1)
    return y


# =============================================================================================
# 1. the vector-Jacobian product of the right-hand side
# =============================================================================================
@pytest.mark.parametrize("case", sorted(CASES))
def test_rhs_vjp_matches_central_differences(case, rng):
    model = CASES[case](rng)
    p = model.params(np.float64)
    # off the sphere too: the VJP differentiates the ambient function the kernel computes
    y = _state(model, rng, off_sphere=True)
    v = rng.standard_normal(model.size)
    ybar = np.zeros(model.size)
    fpbar = np.zeros(p.fp.size)
    system_rhs_vjp(p, y, v, ybar, fpbar, np.empty(vjp_work_size(p.ip)))
    work = np.empty(p.ip[P.I_WORK_SIZE])
    out = np.empty(model.size)

    def fv(yy, fp):
        system_rhs(P.SystemParams(fp, p.ip), yy, out, work)
        return out @ v

    fd_y = np.array([(fv(y + EPS * e, p.fp) - fv(y - EPS * e, p.fp)) / (2 * EPS) for e in np.eye(model.size)])
    scale = max(1.0, np.max(np.abs(fd_y)))
    np.testing.assert_allclose(ybar, fd_y, rtol=0, atol=TOL_VJP * scale)
    fd_p = np.zeros(p.fp.size)
    for k in range(p.fp.size):
        if k in UNDIFFERENTIATED:
            continue
        e = np.zeros(p.fp.size)
        e[k] = EPS
        fd_p[k] = (fv(y, p.fp + e) - fv(y, p.fp - e)) / (2 * EPS)
    fpbar[list(UNDIFFERENTIATED)] = 0.0
    scale = max(1.0, np.max(np.abs(fd_p)))
    np.testing.assert_allclose(fpbar, fd_p, rtol=0, atol=TOL_VJP * scale)
    # without the parameter part, the state part is unchanged
    ybar2 = np.zeros(model.size)
    system_rhs_vjp(p, y, v, ybar2, np.zeros(0), np.empty(vjp_work_size(p.ip)))
    np.testing.assert_array_equal(ybar2, ybar)


# =============================================================================================
# 2. the discrete adjoint against finite differences of oh.solve
# =============================================================================================
def _quad_loss(size, rng, shape=None):
    c = rng.standard_normal(size if shape is None else shape)

    def loss(y):
        return float(np.sum(c * y) + 0.25 * np.sum(y * y)), c + 0.5 * y

    return loss


def _tangent(model, y, rng):
    """A random direction tangent to the sphere at y's oscillators (keeps y0 valid)."""
    v = rng.standard_normal(model.size)
    if model.dim:
        o = model._nh
        x = y[o:].reshape(model.n, model.dim)
        vx = v[o:].reshape(model.n, model.dim)
        vx -= np.sum(vx * x, axis=1, keepdims=True) * x
    return v


def _directions(model, rng):
    """One random direction per parameter, respecting its structure (symmetric W)."""
    out = {}
    for name, val in model.parameters().items():
        d = rng.standard_normal(val.shape)
        if name.endswith("weights") and val.ndim == 2 and val.shape[0] == val.shape[1]:
            d = (d + d.T) / 2
        if name.endswith("coupling") and val.ndim == 2 and val.shape[0] == val.shape[1]:
            d = (d + d.T) / 2
            np.fill_diagonal(d, 0.0)
        if name.endswith("omega"):
            d = d - np.swapaxes(d, -1, -2)
        if name == "hopfield.weights" or (name == "weights" and not hasattr(model, "hopfield")):
            w = model.hopfield.weights if hasattr(model, "hopfield") else model.weights
            if sp.issparse(w):  # CSR data: a symmetric perturbation of the stored pattern
                m = sp.csr_matrix((d, w.indices, w.indptr), shape=w.shape)
                d = sp.csr_matrix((m + m.T) / 2)
                d = np.asarray(d[np.repeat(np.arange(w.shape[0]), np.diff(w.indptr)), w.indices]).ravel()
        out[name] = d
    return out


def _fd_check(model, method, kw, rng, t_span=(0.0, 0.6), t_eval=None, tol=TOL_FIXED):
    y0 = _state(model, rng)
    shape = None if t_eval is None else (model.size, len(t_eval))
    loss = _quad_loss(model.size, rng, shape)
    res = oh.value_and_grad(model, loss, y0, t_span, method=method, t_eval=t_eval, **kw)

    def run(m, y):
        sol = oh.solve(m, t_span, y, method=method, t_eval=[t_span[1]] if t_eval is None else t_eval, **kw)
        return loss(sol.y[:, -1] if t_eval is None else sol.y)[0]

    assert abs(run(model, y0) - res.value) <= 1e-12 * max(1.0, abs(res.value))
    checks = []
    for name, d in _directions(model, rng).items():
        p0 = model.parameters()[name]
        fd = (run(model.replace(**{name: p0 + EPS * d}), y0) - run(model.replace(**{name: p0 - EPS * d}), y0)) / (2 * EPS)
        checks.append((name, fd, float(np.sum(res.grads[name] * d))))
    v = _tangent(model, y0, rng)
    fd = (run(model, model.normalize(y0 + EPS * v)) - run(model, model.normalize(y0 - EPS * v))) / (2 * EPS)
    checks.append(("y0", fd, float(res.y0 @ v)))
    scale = max(1.0, max(abs(c[1]) for c in checks))
    for name, fd, got in checks:
        assert abs(fd - got) <= tol * scale, f"{name}: finite differences {fd!r}, adjoint {got!r}"
    return res


FD_MODELS = ["hop-dense-tanh", "hop-csr-softmax", "hop-lowrank-relu", "kur-edges-tanh", "kur-dense",
             "kur-lowrank", "kur-meanfield-d2", "hk-network-list", "hk-additive-all", "hk-mult-csr",
             "hk-mult-lowrank-all", "kur-blocks", "kur-dense-blocks", "kur-conv", "hk-additive-conv"]


@pytest.mark.parametrize("case", FD_MODELS)
def test_fixed_step_gradient_is_exact(case, rng):
    method = ["Euler", "RK4", "AKOrN"][sorted(CASES).index(case) % 3]
    _fd_check(CASES[case](rng), method, dict(dt=0.05), rng)


@pytest.mark.parametrize("method", ["Tsit5", "RK45", "RK23"])
def test_adaptive_gradient_is_exact_on_the_frozen_step_grid(method, rng):
    """Replaying the accepted grid reproduces oh.solve; the adjoint is its exact derivative."""
    model = make_hk(rng, "network", "list", inter="sigmoid", omega="per-unit")
    y0 = _state(model, rng)
    te = np.array([0.0, 0.13, 0.5, 0.77, 1.0])
    loss = _quad_loss(model.size, rng, (model.size, te.size))
    kw = dict(rtol=1e-4, atol=1e-7)
    res = oh.value_and_grad(model, loss, y0, (0.0, 1.0), method=method, t_eval=te, **kw)
    sol = oh.solve(model, (0.0, 1.0), y0, method=method, t_eval=te, **kw)
    # The same steps (asserted below) and the same sums, compiled into two different callers:
    # where LLVM inlines a shared callee (or finds it already compiled in the disk cache and
    # calls it) decides which multiply-adds it fuses, so the outputs agree to rounding
    # (1.4e-13 seen after 7 Tsit5 steps), not bit for bit.  Another step grid would differ by
    # about rtol.
    np.testing.assert_allclose(res.y, sol.y, rtol=0, atol=1e-12)
    hs = res.stats["step_sizes"]
    assert hs.size == res.stats["nsteps"] == sol.nsteps
    tab = METHODS[method].tableau
    t_steps = np.concatenate([[0.0], np.cumsum(hs)])

    def replay(m, y):
        p = m.params(np.float64)
        idx = np.minimum(np.searchsorted(t_steps, te, side="left") - 1, hs.size - 1)
        theta = np.where(idx >= 0, (te - t_steps[np.maximum(idx, 0)]) / hs[np.maximum(idx, 0)], -1.0)
        out = np.empty((te.size, m.size))
        grid_forward_member(p, y, hs, hs.size, True, tab.A, tab.B, tab.P, 0, idx.astype(np.int64), theta, out,
                            np.empty(m.size), np.empty((1, m.size)), np.zeros(2))
        return out.T

    np.testing.assert_allclose(replay(model, y0), sol.y, rtol=0, atol=1e-12)
    for name, d in _directions(model, rng).items():
        p0 = model.parameters()[name]
        fd = (loss(replay(model.replace(**{name: p0 + EPS * d}), y0))[0]
              - loss(replay(model.replace(**{name: p0 - EPS * d}), y0))[0]) / (2 * EPS)
        got = float(np.sum(res.grads[name] * d))
        assert abs(fd - got) <= TOL_FIXED * max(1.0, abs(fd)), (name, fd, got)
    v = _tangent(model, y0, rng)
    fd = (loss(replay(model, y0 + EPS * v))[0] - loss(replay(model, y0 - EPS * v))[0]) / (2 * EPS)
    assert abs(fd - res.y0 @ v) <= TOL_FIXED * max(1.0, abs(fd))


@pytest.mark.parametrize("case", ["hk-additive-list-sigmoid", "kur-edges-relu"])
def test_adaptive_gradient_matches_finite_differences_of_solve(case, rng):
    _fd_check(CASES[case](rng), "Tsit5", dict(rtol=1e-8, atol=1e-10), rng, tol=TOL_ADAPTIVE)


def test_fixed_step_outputs_at_t_eval(rng):
    model = CASES["hk-network-list"](rng)
    _fd_check(model, "RK4", dict(dt=0.1), rng, t_span=(0.0, 0.5), t_eval=[0.0, 0.15, 0.5])


# =============================================================================================
# 3. a NumPy twin of the adjoint (dense Hopfield, RK4, written from the equations)
# =============================================================================================
def _naive_rk4_hopfield_grad(W, b, beta, h0, dt, nsteps, c):
    """Loss c.h(T); forward RK4 and its adjoint with explicit Jacobians (tanh activation)."""
    def f(h):
        return W @ np.tanh(beta * h) - h + b

    def jac(h):
        return W * (beta * (1 - np.tanh(beta * h) ** 2))[None, :] - np.eye(len(h))

    hs = [h0]
    for _ in range(nsteps):
        h = hs[-1]
        k1 = f(h)
        k2 = f(h + dt / 2 * k1)
        k3 = f(h + dt / 2 * k2)
        k4 = f(h + dt * k3)
        hs.append(h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
    lam = c.copy()
    gW = np.zeros_like(W)
    gb = np.zeros_like(b)
    for n in range(nsteps - 1, -1, -1):
        h = hs[n]
        Y = [h]
        K = [f(h)]
        for a in (0.5, 0.5, 1.0):
            Y.append(h + dt * a * K[-1])
            K.append(f(Y[-1]))
        kb = [dt / 6 * lam, dt / 3 * lam, dt / 3 * lam, dt / 6 * lam]
        hb = lam.copy()
        for s in (3, 2, 1, 0):
            yb = jac(Y[s]).T @ kb[s]
            gW += np.outer(kb[s], np.tanh(beta * Y[s]))
            gb += kb[s]
            hb += yb
            if s > 0:
                kb[s - 1] = kb[s - 1] + dt * (0.5 if s < 3 else 1.0) * yb
        lam = hb
    return hs[-1], (gW + gW.T) / 2, gb, lam


def test_matches_numpy_twin_of_the_adjoint(rng):
    n = 6
    W, b, h0 = _sym(rng, n), rng.standard_normal(n), rng.standard_normal(n)
    c = rng.standard_normal(n)
    hT, gW, gb, gh = _naive_rk4_hopfield_grad(W, b, 1.5, h0, 0.1, 7, c)
    hop = oh.Hopfield(W, bias=b, beta=1.5)
    res = oh.value_and_grad(hop, lambda y: (float(c @ y), c), h0, (0.0, 0.7), method="RK4", dt=0.1)
    np.testing.assert_allclose(res.y, hT, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.grads["weights"], gW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.grads["bias"], gb, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.y0, gh, rtol=1e-10, atol=1e-12)


# =============================================================================================
# 4. batches, float32, checkpointing, wrt
# =============================================================================================
@pytest.mark.parametrize("method", ["Tsit5", "RK4"])
def test_batch_is_the_sum_of_single_members(method, rng):
    model = CASES["hk-additive-all"](rng)
    y0 = model.random_state(seed=4, batch=5)
    c = rng.standard_normal((5, model.size))
    kw = dict(dt=0.05) if method == "RK4" else dict(rtol=1e-5)
    res = oh.value_and_grad(model, lambda y: (float(np.sum(c * y)), c), y0, (0.0, 0.8), method=method, **kw)
    assert res.y.shape == y0.shape and res.y0.shape == y0.shape and res.stats["nsteps"].shape == (5,)
    total = {k: 0.0 for k in res.grads}
    for b in range(5):
        one = oh.value_and_grad(model, lambda y, b=b: (float(c[b] @ y), c[b]), y0[b], (0.0, 0.8), method=method, **kw)
        np.testing.assert_allclose(one.y0, res.y0[b], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(one.y, res.y[b], rtol=0, atol=1e-15)
        for k in total:
            total[k] = total[k] + one.grads[k]
    for k in total:
        np.testing.assert_allclose(res.grads[k], total[k], rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("method", ["Tsit5", "AKOrN"])
def test_stack_gives_each_member_its_own_gradient(method, rng):
    """A stack's members have their own parameters: each gets its own gradient, equal to the
    gradient of solving that member alone (not the sum over members)."""
    base = CASES["hk-additive-all"](rng)
    members = [base.replace(**{k: v * (1.0 + 0.2 * b) for k, v in base.parameters().items()}) for b in range(3)]
    stack = oh.stack(members)
    y0 = base.random_state(seed=5, batch=3)
    c = rng.standard_normal((3, base.size))
    kw = dict(dt=0.05) if method == "AKOrN" else dict(rtol=1e-6)
    res = oh.value_and_grad(stack, lambda y: (float(np.sum(c * y)), c), y0, (0.0, 0.6), method=method, **kw)
    assert res.success and sorted(res.grads) == sorted(stack.parameters())
    for k, g in res.grads.items():
        assert g.shape == stack.parameters()[k].shape
    for b, m in enumerate(members):
        one = oh.value_and_grad(m, lambda y, b=b: (float(c[b] @ y), c[b]), y0[b], (0.0, 0.6), method=method, **kw)
        np.testing.assert_allclose(res.y0[b], one.y0, rtol=1e-12, atol=1e-14)
        for k in one.grads:
            np.testing.assert_allclose(res.grads[k][b], one.grads[k], rtol=1e-11, atol=1e-13)
    # the members differ, so their gradients do too (a sum or a shared row would not)
    k = next(iter(res.grads))
    assert not np.allclose(res.grads[k][0], res.grads[k][2])


def test_batch_with_t_eval_has_solution_shapes(rng):
    model = CASES["kur-edges-sigmoid"](rng)
    y0 = model.random_state(seed=1, batch=3)
    te = [0.0, 0.4, 1.0]
    seen = {}

    def loss(y):
        seen["shape"] = y.shape
        return float(np.sum(y[..., -1])), np.concatenate([np.zeros(y.shape[:-1] + (2,)), np.ones(y.shape[:-1] + (1,))], -1)

    res = oh.value_and_grad(model, loss, y0, (0.0, 1.0), t_eval=te)  # the default method of both: RK45
    sol = oh.solve(model, (0.0, 1.0), y0, t_eval=te)
    assert seen["shape"] == sol.y.shape == res.y.shape
    np.testing.assert_allclose(res.y, sol.y, rtol=0, atol=1e-13)


@pytest.mark.parametrize("method", ["RK4", "Tsit5"])
def test_float32_agrees_with_float64(method, rng):
    model = CASES["hk-network-list"](rng)
    y0 = _state(model, rng)
    loss = _quad_loss(model.size, rng)
    kw = dict(dt=0.05) if method == "RK4" else dict(rtol=1e-4)
    r64 = oh.value_and_grad(model, loss, y0, (0.0, 0.5), method=method, **kw)
    r32 = oh.value_and_grad(model, loss, y0.astype(np.float32), (0.0, 0.5), method=method, **kw)
    assert r32.y.dtype == np.float32 and r32.y0.dtype == np.float32
    for k in r64.grads:
        assert r32.grads[k].dtype == np.float32
        np.testing.assert_allclose(r32.grads[k], r64.grads[k], rtol=1e-3, atol=1e-4 * np.abs(r64.grads[k]).max())
    np.testing.assert_allclose(r32.y0, r64.y0, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("method", ["Tsit5", "Euler"])
def test_checkpointing_changes_memory_not_the_gradient(method, rng):
    model = CASES["kur-edges-tanh"](rng)
    y0 = model.random_state(seed=2, batch=2)
    loss = _quad_loss(model.size, rng, (2, model.size))
    kw = dict(dt=0.01) if method == "Euler" else dict(rtol=1e-9, atol=1e-11)
    full = oh.value_and_grad(model, loss, y0, (0.0, 1.0), method=method, **kw)
    assert np.all(full.stats["nsteps"] >= 30)
    for ck in (3, "sqrt"):
        part = oh.value_and_grad(model, loss, y0, (0.0, 1.0), method=method, checkpoint=ck, **kw)
        assert part.stats["tape_bytes"] < full.stats["tape_bytes"] / 2
        assert part.stats["nfev_backward"] > full.stats["nfev_backward"]
        np.testing.assert_allclose(part.y0, full.y0, rtol=1e-13, atol=1e-15)
        for k in full.grads:
            np.testing.assert_allclose(part.grads[k], full.grads[k], rtol=1e-13, atol=1e-15)


def test_wrt_selects_parameters_and_gradient_alias(rng):
    model = CASES["hk-mult-dense"](rng)
    y0 = _state(model, rng)
    loss = _quad_loss(model.size, rng)
    full = oh.value_and_grad(model, loss, y0, (0.0, 0.3), method="RK4", dt=0.1)
    assert set(full.grads) == set(model.parameters()) == {
        "hopfield.weights", "hopfield.bias", "kuramoto.coupling", "kuramoto.interaction_weights",
        "kuramoto.omega", "kuramoto.stimulus", "alpha"}
    some = oh.value_and_grad(model, loss, y0, (0.0, 0.3), method="RK4", dt=0.1, wrt=["alpha", "hopfield.bias"])
    assert list(some.grads) == ["alpha", "hopfield.bias"]
    np.testing.assert_array_equal(some.grads["alpha"], full.grads["alpha"])
    none = oh.value_and_grad(model, loss, y0, (0.0, 0.3), method="RK4", dt=0.1, wrt=[])
    assert none.grads == {}
    np.testing.assert_array_equal(none.y0, full.y0)
    g = oh.gradient(model, loss, y0, (0.0, 0.3), method="RK4", dt=0.1, wrt="alpha")
    assert set(g) == {"alpha", "y0"} and g["alpha"].shape == ()
    assert full.stats["memory_bytes"] > 0 and full.stats["nsteps"] == 3


# =============================================================================================
# 5. parameters() and replace()
# =============================================================================================
@pytest.mark.parametrize("case", sorted(CASES))
def test_replace_with_own_parameters_is_the_same_model(case, rng):
    model = CASES[case](rng)
    clone = model.replace(**model.parameters())
    assert type(clone) is type(model) and clone.size == model.size
    y = _state(model, rng)
    np.testing.assert_allclose(clone.rhs(0.0, y), model.rhs(0.0, y), rtol=1e-13, atol=1e-13)
    params = model.parameters()
    for name, val in params.items():  # copies: editing them leaves the model alone
        val[...] = 7.0
    assert all(not np.all(v == 7.0) for v in model.parameters().values())


def test_replace_validates_names_shapes_and_symmetry(rng):
    hop = make_hopfield(rng, "dense")
    with pytest.raises(ValueError, match="`coupling` is not a parameter of this Hopfield"):
        hop.replace(coupling=1.0)
    with pytest.raises(ValueError, match=r"`bias` must have shape \(5,\)"):
        hop.replace(bias=np.zeros(4))
    with pytest.raises(ValueError, match="`weights` must be symmetric"):
        hop.replace(weights=rng.standard_normal((5, 5)))
    hk = make_hk(rng, "additive")
    new = hk.replace(**{"alpha": 0.1, "kuramoto.stimulus": np.zeros((5, 3))})
    assert new.alpha == 0.1 and np.all(new.kuramoto.stimulus == 0) and new.mode == "additive"


# =============================================================================================
# 6. bad inputs
# =============================================================================================
def _tiny():
    return oh.Hopfield(np.array([[0.0, 0.5], [0.5, 0.0]]))


def _lin(y):
    return float(np.sum(y)), np.ones_like(y)


def test_bad_inputs_raise_value_errors_naming_the_parameter():
    hop = _tiny()
    y0 = np.array([0.1, 0.2])
    with pytest.raises(ValueError, match=r"`wrt` .*'W' is not one of them.*\['bias', 'weights'\]"):
        oh.value_and_grad(hop, _lin, y0, (0.0, 1.0), method="RK4", dt=0.1, wrt=["W"])
    with pytest.raises(ValueError, match="`model` has activation='sign', which is not differentiable"):
        oh.value_and_grad(oh.Hopfield(np.zeros((2, 2)), activation="sign"), _lin, np.ones(2), (0.0, 1.0))
    for method in ("Geometric", "async", "DOP853"):
        with pytest.raises(ValueError, match=f"`method` must be one of .*got '{method}'"):
            oh.value_and_grad(hop, _lin, y0, (0.0, 1.0), method=method, dt=0.1)
    with pytest.raises(ValueError, match="`dt` is required"):
        oh.value_and_grad(hop, _lin, y0, (0.0, 1.0), method="RK4")
    with pytest.raises(ValueError, match="`checkpoint` must be"):
        oh.value_and_grad(hop, _lin, y0, (0.0, 1.0), checkpoint=0)
    with pytest.raises(ValueError, match=r"`loss` must return dvalue_dy with the shape of y, \(2,\)"):
        oh.value_and_grad(hop, lambda y: (0.0, np.ones(3)), y0, (0.0, 1.0))
    with pytest.raises(ValueError, match="`loss` must return a pair"):
        oh.value_and_grad(hop, lambda y: 0.0, y0, (0.0, 1.0))
    kur = oh.Kuramoto(2, edges=[[0, 1]])
    with pytest.raises(ValueError, match="`y0` must hold unit oscillators"):
        oh.value_and_grad(kur, _lin, np.ones(4), (0.0, 1.0))


# =============================================================================================
# 7. the fast paths: fused VJP, stage tape, threads
# =============================================================================================
def test_vjp_uses_the_forward_activation_and_phi_prime():
    """The VJP calls the forward pass's own activation and phi' (one tanh for both), so it
    differentiates exactly what ``system_rhs`` computes."""
    from oscihop.kernels import activations, terms, vjp

    assert vjp.activate is activations.activate and vjp.dphi.py_func is terms.dphi.py_func
    assert not hasattr(vjp, "ftanh") and not hasattr(vjp, "activation_forward")


@pytest.mark.parametrize("d", [2, 4])
@pytest.mark.parametrize("kind", ["kur-tanh", "hk-network"])
def test_rhs_vjp_generic_dimension_matches_central_differences(kind, d, rng):
    """The sparse row sweep has an unrolled D = 3 path; other D take the generic one."""
    if kind == "kur-tanh":
        model = make_kuramoto(rng, "edges", "tanh", d=d)
    else:
        model = make_hk(rng, "network", "list", inter="relu", d=d, omega="per-unit")
    p = model.params(np.float64)
    y = _state(model, rng, off_sphere=True)
    v = rng.standard_normal(model.size)
    ybar = np.zeros(model.size)
    fpbar = np.zeros(p.fp.size)
    system_rhs_vjp(p, y, v, ybar, fpbar, np.empty(vjp_work_size(p.ip)))
    work = np.empty(p.ip[P.I_WORK_SIZE])
    out = np.empty(model.size)

    def fv(yy, fp):
        system_rhs(P.SystemParams(fp, p.ip), yy, out, work)
        return out @ v

    fd_y = np.array([(fv(y + EPS * e, p.fp) - fv(y - EPS * e, p.fp)) / (2 * EPS) for e in np.eye(model.size)])
    np.testing.assert_allclose(ybar, fd_y, rtol=0, atol=TOL_VJP * max(1.0, np.max(np.abs(fd_y))))
    fd_p = np.zeros(p.fp.size)
    for k in range(p.fp.size):
        if k not in UNDIFFERENTIATED:
            e = np.zeros(p.fp.size)
            e[k] = EPS
            fd_p[k] = (fv(y, p.fp + e) - fv(y, p.fp - e)) / (2 * EPS)
    fpbar[list(UNDIFFERENTIATED)] = 0.0
    np.testing.assert_allclose(fpbar, fd_p, rtol=0, atol=TOL_VJP * max(1.0, np.max(np.abs(fd_p))))
    ybar2 = np.zeros(model.size)
    system_rhs_vjp(p, y, v, ybar2, np.zeros(0), np.empty(vjp_work_size(p.ip)))
    np.testing.assert_array_equal(ybar2, ybar)


@pytest.mark.parametrize("method", ["Tsit5", "RK4"])
def test_stage_tape_and_its_fallback_give_the_same_gradient(method, rng, monkeypatch):
    """checkpoint="all" keeps every stage (no recomputation) while the tapes fit the budget;
    past it every step's state is kept and the stages are recomputed: same gradient."""
    import oscihop.gradients as adj

    model = CASES["hk-network-list"](rng)
    y0 = model.random_state(seed=3, batch=3)
    te = np.array([0.0, 0.2, 0.45])
    loss = _quad_loss(model.size, rng, (3, model.size, te.size))
    kw = dict(dt=0.05) if method == "RK4" else dict(rtol=1e-6, atol=1e-8)
    full = oh.value_and_grad(model, loss, y0, (0.0, 0.45), method=method, t_eval=te, **kw)
    assert all(full.stats["stage_tape"])
    if method == "RK4":  # nothing recomputed
        assert full.stats["nfev_backward"] == 0
    else:  # only the stages of the (at most 2 per member) steps with dense outputs
        assert full.stats["nfev_backward"] <= 3 * 2 * (METHODS[method].tableau.B.size + 1)
    monkeypatch.setattr(adj, "_STAGE_TAPE_BYTES", 16)
    low = oh.value_and_grad(model, loss, y0, (0.0, 0.45), method=method, t_eval=te, **kw)
    assert not any(low.stats["stage_tape"])
    assert low.stats["nfev_backward"] > full.stats["nfev_backward"]
    assert low.stats["tape_bytes"] < full.stats["tape_bytes"]
    np.testing.assert_array_equal(low.y, full.y)
    np.testing.assert_allclose(low.y0, full.y0, rtol=1e-13, atol=1e-15)
    for k in full.grads:
        np.testing.assert_allclose(low.grads[k], full.grads[k], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("method", ["Tsit5", "RK4"])
def test_threads_and_inline_runs_give_identical_results(method, rng, monkeypatch):
    """Blocks of members accumulate their own parameter gradients, summed in a fixed order:
    running the blocks on the thread pool or inline gives the same bits."""
    import oscihop._threads as pool

    model = CASES["kur-edges-tanh"](rng)
    y0 = model.random_state(seed=5, batch=9)
    loss = _quad_loss(model.size, rng, (9, model.size))
    kw = dict(dt=0.02) if method == "RK4" else dict(rtol=1e-7)
    monkeypatch.setattr(pool, "INLINE_SECONDS", np.inf)
    inline = oh.value_and_grad(model, loss, y0, (0.0, 0.5), method=method, **kw)
    monkeypatch.setattr(pool, "INLINE_SECONDS", -1.0)
    pooled = oh.value_and_grad(model, loss, y0, (0.0, 0.5), method=method, **kw)
    np.testing.assert_array_equal(pooled.y, inline.y)
    np.testing.assert_array_equal(pooled.y0, inline.y0)
    for k in inline.grads:
        np.testing.assert_array_equal(pooled.grads[k], inline.grads[k])
