"""D x D block couplings and AKOrN's convolutional coupling (docs/theory.md §3.3).

Every form against NumPy twins written here: the force, energy and energy gradient from
dense (N, N, D, D) blocks, and the convolution from an explicit zero-padded correlation
over the image (independent of ``ConvCoupling.blocks``).  Solutions against
``scipy.integrate.solve_ivp`` and a NumPy twin of the fixed-step maps; batches and stacks
against single solves; the Lyapunov conditions (symmetric blocks, Omega commuting with every
block, Omega_i c_i = 0) in both directions; bad input.  The CUDA backend runs these models in
tests/test_cuda.py, their gradients in tests/test_gradient.py.
"""

import numpy as np
import pytest
import scipy.integrate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oscihop as oh

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- NumPy twins
def conv_twin(weight, bias, images):
    """torch.nn.functional.conv2d(images, weight, bias, padding=k // 2), written out."""
    b, c, hh, ww = images.shape
    r = weight.shape[2] // 2
    pad = np.pad(images, ((0, 0), (0, 0), (r, r), (r, r)))
    out = np.zeros_like(images)
    for dy in range(weight.shape[2]):
        for dx in range(weight.shape[3]):
            out += np.einsum("oi,biyx->boyx", weight[:, :, dy, dx], pad[:, :, dy : dy + hh, dx : dx + ww])
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def twin_rhs(blocks, field, omega, x):
    """dx_i/dt = Omega_i x_i + P_{x_i}(sum_j J_ij x_j + c_i) for unit-norm rows of x (N, D)."""
    f = np.einsum("ijab,jb->ia", blocks, x)
    if field is not None:
        f = f + field
    f = f - np.sum(f * x, axis=1)[:, None] * x / np.sum(x * x, axis=1)[:, None]
    if omega is not None:
        f = f + np.einsum("iab,ib->ia", np.broadcast_to(omega, (x.shape[0],) + omega.shape[-2:]), x)
    return f


def twin_energy(blocks, field, x):
    e = -0.5 * np.einsum("ia,ijab,jb->", x, blocks, x)
    return e - (0.0 if field is None else float(np.sum(field * x)))


def sym_blocks(rng, n, d, scale=0.5, density=0.6):
    """Symmetric dense blocks (J_ji = J_ij^T, symmetric J_ii), some pairs uncoupled."""
    a = rng.normal(size=(n, n, d, d)) * scale
    a = a * (rng.random((n, n)) < density)[:, :, None, None]
    return 0.5 * (a + a.transpose(1, 0, 3, 2))


def sym_kernel(rng, c, k, scale=0.3):
    """A kernel with w[c, c', dy, dx] = w[c', c, -dy, -dx] (a symmetric convolution)."""
    w = rng.normal(size=(c, c, k, k)) * scale
    return 0.5 * (w + w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def _models(rng):
    """name -> (model, dense blocks J, field c (N, D) or None, omega or None)."""
    out = {}
    d, n = 3, 6
    e = oh.ring_edges(n)
    blocks = rng.normal(size=(len(e), d, d)) * 0.6
    stim = rng.normal(size=(n, d)) * 0.3
    m = oh.Kuramoto(d, edges=e, coupling=blocks, stimulus=stim)
    j = np.zeros((n, n, d, d))
    j[e[:, 0], e[:, 1]] = blocks
    j[e[:, 1], e[:, 0]] = blocks.transpose(0, 2, 1)
    out["edge-blocks"] = (m, j, stim, None)
    table = rng.normal(size=(2, d, d))
    types = np.arange(len(e)) % 2
    m = oh.Kuramoto(d, edges=e, coupling=oh.BlockCoupling(table, types))
    j = np.zeros((n, n, d, d))
    j[e[:, 0], e[:, 1]] = table[types]
    j[e[:, 1], e[:, 0]] = table[types].transpose(0, 2, 1)
    out["typed-blocks"] = (m, j, None, None)
    j = rng.normal(size=(5, 5, 4, 4)) * 0.4  # not symmetric
    om = oh.pair_rotations(rng.normal(size=(5, 2)), 4)
    out["dense-blocks-asym-omega"] = (oh.Kuramoto(4, coupling=j, omega=om), j, None, om)
    w = rng.normal(size=(4, 4, 3, 3)) * 0.4
    bias = rng.normal(size=4)
    conv = oh.ConvCoupling(w, bias, grid=(4, 5), dim=2)
    stim = rng.normal(size=(conv.n, 2)) * 0.2
    out["conv-bias-stimulus"] = (oh.Kuramoto(2, coupling=conv, stimulus=stim), conv.blocks(), conv.field() + stim,
                                 None)
    conv = oh.ConvCoupling(sym_kernel(rng, 6, 5), grid=(3, 4), dim=3)
    out["conv-k5-d3"] = (oh.Kuramoto(3, coupling=conv), conv.blocks(), None, None)
    return out


MODELS = _models(np.random.default_rng(20261207))


def _unit(rng, n, d, batch=None):
    x = rng.normal(size=((batch,) if batch else ()) + (n, d))
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ----------------------------------------------------------------------------- forces and energy
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rhs_energy_and_gradient_match_numpy_twin(name, dtype, rng):
    model, j, field, omega = MODELS[name]
    d = model.dim
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for _ in range(3):
        x = _unit(rng, model.n, d)
        y = x.ravel().astype(dtype)
        got = np.asarray(model.rhs(0.0, y))
        assert got.dtype == dtype
        want = twin_rhs(j, field, omega, x).ravel()
        np.testing.assert_allclose(got, want, rtol=0, atol=tol * (1 + np.abs(want).max()))
        e = float(model.energy(y))
        assert abs(e - twin_energy(j, field, x)) <= tol * (1 + abs(e))
        # dE/dx of E = -1/2 x.Jx - c.x is -(J + J^T) x / 2 - c, whether or not J is symmetric
        g = np.einsum("ijab,jb->ia", 0.5 * (j + j.transpose(1, 0, 3, 2)), x) + (0 if field is None else field)
        np.testing.assert_allclose(np.asarray(model.energy_gradient(y)), -g.ravel(), rtol=0,
                                   atol=tol * (1 + np.abs(g).max()))


def test_block_forms_agree_with_each_other_and_with_scalar_edges(rng):
    """An edge list of blocks J_e I_D is the scalar edge coupling J_e; dense blocks of the same J
    and a 1 x 1 convolution of the identity give the same forces."""
    n, d = 7, 3
    e = oh.ring_edges(n, 2)
    jv = rng.normal(size=len(e))
    scalar = oh.Kuramoto(d, edges=e, coupling=jv)
    blocks = oh.Kuramoto(d, edges=e, coupling=jv[:, None, None] * np.eye(d))
    dense = oh.Kuramoto(d, coupling=scalar.coupling_blocks())
    y = _unit(rng, n, d).ravel()
    for m in (blocks, dense):
        np.testing.assert_allclose(m.rhs(0.0, y), scalar.rhs(0.0, y), rtol=0, atol=1e-14)
        assert abs(m.energy(y) - scalar.energy(y)) <= 1e-14
    np.testing.assert_array_equal(blocks.coupling_blocks(), scalar.coupling_blocks())
    with pytest.raises(ValueError, match="coupling_blocks"):
        blocks.coupling_dense()


def test_conv_is_the_zero_padded_correlation_of_torch(rng):
    """(J x + bias) is conv2d of the channel-first image, checked on a batch of images, with the
    layout c = k D + d and oscillator (k H + row) W + col."""
    c, d, hh, ww = 6, 2, 5, 7
    w = rng.normal(size=(c, c, 3, 3))
    bias = rng.normal(size=c)
    conv = oh.ConvCoupling(w, bias, grid=(hh, ww), dim=d)
    model = oh.Kuramoto(d, coupling=conv)
    images = rng.normal(size=(4, c, hh, ww))
    states = conv.to_state(images)
    assert states.shape == (4, conv.n * d) and conv.n == (c // d) * hh * ww
    k, row, col, comp = 2, 3, 4, 1
    assert states[1, ((k * hh + row) * ww + col) * d + comp] == images[1, k * d + comp, row, col]
    np.testing.assert_array_equal(conv.to_images(states), images)
    np.testing.assert_array_equal(conv.to_images(states[0]), images[0])
    # the dense blocks (the twin of the other tests) are conv2d
    want = conv_twin(w, bias, images)
    got = np.einsum("ijab,njb->nia", conv.blocks(), states.reshape(4, -1, d)) + conv.field()[None]
    np.testing.assert_allclose(conv.to_state(want), got.reshape(4, -1), rtol=0, atol=1e-12)
    # and the compiled stencil against conv2d: the energy gradient of a symmetric kernel is -(J x + c)
    ws = sym_kernel(rng, c, 3)
    sym = oh.Kuramoto(d, coupling=oh.ConvCoupling(ws, bias, grid=(hh, ww), dim=d))
    grad = sym.energy_gradient(states)
    np.testing.assert_allclose(-np.asarray(grad), conv.to_state(conv_twin(ws, bias, images)), rtol=0, atol=1e-12)


def test_a_64_by_64_grid_with_64_channels_runs_as_a_stencil(rng):
    """N = 16 * 64 * 64 oscillators of D = 4: the N x N matrix would need 34 GB; the stencil
    evaluates the force in a fraction of a second, equal to conv2d."""
    c, d, hw = 64, 4, 64
    w = sym_kernel(rng, c, 3, scale=0.05)
    model = oh.Kuramoto(d, coupling=oh.ConvCoupling(w, grid=(hw, hw), dim=d))
    assert model.n == 16 * hw * hw
    images = rng.normal(size=(1, c, hw, hw))
    conv = model._conv
    y = conv.to_state(images)[0]
    grad = np.asarray(model.energy_gradient(y))
    np.testing.assert_allclose(-grad, conv.to_state(conv_twin(w, None, images))[0], rtol=0, atol=1e-11)
    sol = oh.solve(model, (0.0, 0.2), model.random_state(seed=1), method="AKOrN", dt=0.1)
    assert sol.success and np.isfinite(sol.states).all()


# ----------------------------------------------------------------------------- solutions
def _twin_fixed(method, rhs, y0, dt, steps, d):
    """NumPy twins of Euler / AKOrN (x <- normalize(x + dt f)) and RK4 with renormalisation."""
    y = y0.copy()

    def norm(v):
        x = v.reshape(-1, d)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).ravel()

    for _ in range(steps):
        if method in ("Euler", "AKOrN"):
            y = norm(y + dt * rhs(y))
        else:
            k1 = rhs(y)
            k2 = rhs(y + 0.5 * dt * k1)
            k3 = rhs(y + 0.5 * dt * k2)
            k4 = rhs(y + dt * k3)
            y = norm(y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4))
    return y


@pytest.mark.parametrize("name", ["edge-blocks", "dense-blocks-asym-omega", "conv-bias-stimulus"])
def test_every_method_against_scipy_and_numpy_twins(name):
    model, j, field, omega = MODELS[name]
    d = model.dim

    def rhs(y):
        return twin_rhs(j, field, omega, y.reshape(-1, d)).ravel()

    y0 = model.random_state(seed=4)
    for method in ("RK45", "RK23", "Tsit5"):
        sol = oh.solve(model, (0.0, 1.0), y0, method=method, rtol=1e-10, atol=1e-12, t_eval=[1.0])
        ref = scipy.integrate.solve_ivp(lambda t, y: rhs(y), (0.0, 1.0), y0, method="DOP853", rtol=1e-12,
                                        atol=1e-13)
        assert sol.success
        np.testing.assert_allclose(sol.states[-1], ref.y[:, -1], rtol=0, atol=2e-8, err_msg=method)
    for method in ("Euler", "AKOrN", "RK4"):
        sol = oh.solve(model, (0.0, 0.5), y0, method=method, dt=0.05, t_eval=[0.5])
        want = _twin_fixed(method, rhs, y0, 0.05, 10, d)
        np.testing.assert_allclose(sol.states[-1], want, rtol=0, atol=1e-12, err_msg=method)
    # the Lie-group midpoint stays on the sphere and converges to the flow
    sol = oh.solve(model, (0.0, 1.0), y0, method="Geometric", dt=0.002, t_eval=[1.0])
    np.testing.assert_allclose(np.linalg.norm(sol.states[-1].reshape(-1, d), axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(sol.states[-1], ref.y[:, -1], rtol=0, atol=1e-4)


@pytest.mark.parametrize("ks, grid", [(3, (9, 11)), (3, (2, 2)), (5, (6, 7))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batched_conv_products_match_the_written_out_conv(ks, grid, dtype, rng):
    """A batch's fixed steps and energies run the conv as BLAS products (Winograd F(2x2, 3x3) in
    chunks of tiles for 3 x 3 kernels, im2col otherwise, ``kernels/batched.py``). On a 9 x 11 grid
    with 5 members the Winograd tiles fill two chunks, the last one partly; odd sizes leave
    partial tiles at the edges. Checked step by step against conv2d written out."""
    c, d, nb = 6, 3, 5
    w = rng.normal(size=(c, c, ks, ks)) * 0.3
    bias = rng.normal(size=c)
    conv = oh.ConvCoupling(w, bias, grid=grid, dim=d)
    stim = rng.normal(size=(conv.n, d)) * 0.2
    model = oh.Kuramoto(d, coupling=conv, stimulus=stim)
    y0 = model.random_state(seed=3, batch=nb).astype(dtype)
    if ks == 3:
        from oscihop.kernels.batched import WINOGRAD_TILES
        tiles = -(-grid[0] // 2) * -(-grid[1] // 2) * nb
        assert grid != (9, 11) or WINOGRAD_TILES < tiles < 2 * WINOGRAD_TILES

    def rhs(y):
        x = y.reshape(-1, d)
        f = (conv.to_state(conv_twin(w, bias, conv.to_images(y[None])))[0]).reshape(-1, d) + stim
        return (f - np.sum(f * x, axis=1, keepdims=True) * x).ravel()

    sol = oh.solve(model, (0.0, 0.6), y0, method="AKOrN", dt=0.2, t_eval=[0.0, 0.6])
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for b in range(nb):
        want = _twin_fixed("AKOrN", rhs, y0[b].astype(np.float64), 0.2, 3, d)
        np.testing.assert_allclose(sol.states[b, -1], want, rtol=0, atol=tol)
        for t in range(2):
            y = sol.states[b, t].astype(np.float64)
            e = -0.5 * y @ conv.to_state(conv_twin(w, None, conv.to_images(y[None])))[0] - y @ (stim.ravel() + conv.field().ravel())
            assert sol.energy[b, t] == pytest.approx(e, rel=tol, abs=tol)


@pytest.mark.parametrize("name", ["typed-blocks", "conv-bias-stimulus"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batches_and_stacks_equal_single_solves(name, dtype, rng):
    """Bit for bit for blocks; a convolution's fixed steps and energies run as BLAS products over
    the batch (``batched._kuramoto_conv_t``), whose sums are ordered by the batch size: equal to
    rounding there."""
    model = MODELS[name][0]
    y0 = model.random_state(seed=5, batch=3).astype(dtype)
    exact = name != "conv-bias-stimulus"
    tol = 0 if exact else (1e-13 if dtype == np.float64 else 1e-5)

    def same(a, b):
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=tol * (1 + np.abs(b).max()))

    for method, kw in (("RK45", {}), ("AKOrN", {"dt": 0.1}), ("RK4", {"dt": 0.1})):
        batch = oh.solve(model, (0.0, 0.6), y0, method=method, t_eval=[0.3, 0.6], **kw)
        assert batch.states.dtype == dtype and np.all(batch.success)
        for b in range(3):
            one = oh.solve(model, (0.0, 0.6), y0[b], method=method, t_eval=[0.3, 0.6], **kw)
            same(batch.states[b], one.states)
            same(batch.energy[b], one.energy)
            same(one.energy, model.energy(one.states))
    # a stack: one structure, per-member couplings
    scale = (0.5, 1.0, 1.5)
    members = [model.replace(coupling=s * model.parameters()["coupling"]) for s in scale]
    st_ = oh.stack(members)
    for method, kw in (("RK45", {}), ("AKOrN", {"dt": 0.1})):
        sol = oh.solve(st_, (0.0, 0.6), y0, method=method, t_eval=[0.6], **kw)
        for b, m in enumerate(members):
            one = oh.solve(m, (0.0, 0.6), y0[b], method=method, t_eval=[0.6], **kw)
            same(sol.states[b], one.states)
            same(sol.energy[b], one.energy)


def test_stack_rejects_other_grids_and_block_graphs(rng):
    w = rng.normal(size=(4, 4, 3, 3))
    a = oh.Kuramoto(2, coupling=oh.ConvCoupling(w, grid=(3, 4), dim=2))
    b = oh.Kuramoto(2, coupling=oh.ConvCoupling(w, grid=(4, 3), dim=2))
    with pytest.raises(ValueError, match="conv_h"):
        oh.stack([a, b])
    e = oh.ring_edges(5)
    c = oh.Kuramoto(2, edges=e, coupling=rng.normal(size=(5, 2, 2)))
    f = oh.Kuramoto(2, edges=oh.ring_edges(5, 2)[:5], coupling=rng.normal(size=(5, 2, 2)), n=5)
    with pytest.raises(ValueError, match="graph differs"):
        oh.stack([c, f])


def test_saved_and_loaded_with_zarr(tmp_path):
    for name, (model, *_rest) in MODELS.items():
        y0 = model.random_state(seed=6)
        sol = oh.solve(model, (0.0, 0.2), y0, t_eval=[0.2])
        path = tmp_path / f"{name}.zarr"
        sol.to_zarr(path)
        back = oh.load_model(path)
        assert type(back) is type(model) and repr(back) == repr(model)
        np.testing.assert_array_equal(back.rhs(0.0, y0), model.rhs(0.0, y0))
        assert back.is_lyapunov == model.is_lyapunov
        for k, v in model.parameters().items():
            np.testing.assert_array_equal(back.parameters()[k], v, err_msg=name)


# ----------------------------------------------------------------------------- Lyapunov conditions
def test_lyapunov_flags_and_reasons(rng):
    d, n = 4, 5
    om = oh.pair_rotations(0.7, d)
    com = np.eye(d) + 0.5 * om + 0.2 * om @ om  # polynomials in Omega commute with it
    j = sym_blocks(rng, n, d)
    assert oh.Kuramoto(d, coupling=j).is_lyapunov
    asym = j.copy()
    asym[0, 1] += 0.3
    m = oh.Kuramoto(d, coupling=asym)
    assert not m.is_lyapunov and "not symmetric" in m.lyapunov_reason
    assert oh.Kuramoto(d, coupling=asym, symmetrize=True).is_lyapunov
    # Omega commuting with every block (J_ij = a_ij I + b_ij Omega + c_ij Omega^2, b antisymmetric in ij)
    a, b, c = (rng.normal(size=(n, n)) for _ in range(3))
    a, b, c = a + a.T, b - b.T, c + c.T
    jc = (a[..., None, None] * np.eye(d) + b[..., None, None] * om + c[..., None, None] * (om @ om))
    m = oh.Kuramoto(d, coupling=jc, omega=om)
    assert m.is_lyapunov, m.lyapunov_reason
    m = oh.Kuramoto(d, coupling=j, omega=om)
    assert not m.is_lyapunov and "commute" in m.lyapunov_reason
    # Omega_i c_i = 0 is needed too
    stim = rng.normal(size=(n, d))
    m = oh.Kuramoto(d, coupling=jc, omega=om, stimulus=stim)
    assert not m.is_lyapunov and "Omega_i c_i" in m.lyapunov_reason
    # edge blocks are symmetric by construction
    e = oh.ring_edges(n)
    assert oh.Kuramoto(d, edges=e, coupling=rng.normal(size=(n, d, d))).is_lyapunov
    m = oh.Kuramoto(d, edges=e, coupling=oh.BlockCoupling(com[None], np.zeros(n, int)), omega=om)
    assert m.is_lyapunov
    # convolutions: the kernel symmetric under flip + transpose; per-channel-pair rotations of AKOrN
    w = sym_kernel(rng, 8, 3)
    conv = oh.ConvCoupling(w, grid=(4, 4), dim=d)
    assert oh.Kuramoto(d, coupling=conv).is_lyapunov
    m = oh.Kuramoto(d, coupling=oh.ConvCoupling(rng.normal(size=(8, 8, 3, 3)), grid=(4, 4), dim=d))
    assert not m.is_lyapunov and "flipping and transposing" in m.lyapunov_reason
    blocks = np.zeros((2, 2, 3, 3, d, d))  # (k, k', dy, dx, D, D)
    for k in range(2):
        blocks[k, k, 1, 1] = np.eye(d) + 0.2 * om @ om  # the self block: symmetric, commuting
        blocks[k, k, 0, 1] = blocks[k, k, 2, 1] = 0.3 * np.eye(d) + 0.1 * om @ om
    wc = blocks.transpose(0, 4, 1, 5, 2, 3).reshape(8, 8, 3, 3)
    conv = oh.ConvCoupling(wc, bias=None, grid=(4, 4), dim=d)
    m = oh.Kuramoto(d, coupling=conv, omega=om)
    assert m.is_lyapunov, m.lyapunov_reason
    omegas = np.concatenate([np.broadcast_to(om, (16, d, d)), np.broadcast_to(2 * om, (16, d, d))])
    m = oh.Kuramoto(d, coupling=conv, omega=omegas)  # each oscillator of a pixel its own rate: still commuting
    assert m.is_lyapunov, m.lyapunov_reason
    omegas[3] = 3 * om  # one pixel rotating at another rate than its neighbours
    m = oh.Kuramoto(d, coupling=conv, omega=omegas)
    assert not m.is_lyapunov and "commute" in m.lyapunov_reason
    conv_b = oh.ConvCoupling(wc, bias=np.arange(8.0), grid=(4, 4), dim=d)
    m = oh.Kuramoto(d, coupling=conv_b, omega=om)
    assert not m.is_lyapunov and "bias" in m.lyapunov_reason


@st.composite
def _symmetric_models(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    form = draw(st.sampled_from(["edges", "typed", "dense", "conv"]))
    d = draw(st.sampled_from([2, 3, 4]))
    stim = rng.normal(size=(1, d)) * draw(st.sampled_from([0.0, 0.5]))
    if form == "conv":
        kk = draw(st.integers(1, 2))
        conv = oh.ConvCoupling(sym_kernel(rng, kk * d, 3, scale=0.5), rng.normal(size=kk * d) * 0.3,
                               grid=(draw(st.integers(1, 4)), draw(st.integers(2, 4))), dim=d)
        return oh.Kuramoto(d, coupling=conv, stimulus=np.repeat(stim, conv.n, axis=0)), seed
    n = draw(st.integers(2, 7))
    stim = np.repeat(stim, n, axis=0)
    if form == "dense":
        return oh.Kuramoto(d, coupling=sym_blocks(rng, n, d), stimulus=stim), seed
    e = oh.complete_edges(n)
    e = e[rng.random(len(e)) < 0.6] if len(e) > 1 else e
    if len(e) == 0:
        e = oh.complete_edges(n)[:1]
    if form == "typed":
        coupling = oh.BlockCoupling(rng.normal(size=(2, d, d)) * 0.5, rng.integers(0, 2, len(e)))
    else:
        coupling = rng.normal(size=(len(e), d, d)) * 0.5
    return oh.Kuramoto(d, edges=e, coupling=coupling, stimulus=stim, n=n), seed


@SETTINGS
@given(case=_symmetric_models())
def test_symmetric_blocks_never_increase_the_energy(case):
    """Along the flow (dense output of RK45) and along Euler and AKOrN steps below step_bound."""
    model, seed = case
    assert model.is_lyapunov, model.lyapunov_reason
    y0 = model.random_state(seed=seed)
    sol = oh.solve(model, (0.0, 3.0), y0, method="RK45", rtol=1e-9, atol=1e-11, t_eval=np.linspace(0, 3, 31))
    assert sol.success
    de = np.diff(sol.energy)
    assert np.all(de <= 1e-8 * (1 + np.abs(sol.energy[:-1]))), de.max()
    bound = model.step_bound()
    assert bound > 0
    for method in ("Euler", "AKOrN"):
        sol = oh.solve(model, (0.0, 40 * 0.9 * bound), y0, method=method, dt=0.9 * bound)
        de = np.diff(sol.energy)
        assert np.all(de <= 1e-10 * (1 + np.abs(sol.energy[:-1]))), (method, de.max())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), form=st.sampled_from(["dense", "conv"]))
def test_asymmetric_blocks_are_flagged_and_a_counter_example_is_found(seed, form):
    """Not a Lyapunov function: oh.verify finds a state where the energy rises, and the NumPy
    twin confirms dE/dt = grad E . f > 0 there."""
    rng = np.random.default_rng(seed)
    if form == "dense":
        j = rng.normal(size=(4, 4, 3, 3))
        model = oh.Kuramoto(3, coupling=j)
    else:
        model = oh.Kuramoto(2, coupling=oh.ConvCoupling(rng.normal(size=(4, 4, 3, 3)), grid=(3, 3), dim=2))
        j = model.coupling_blocks()
    assert not model.is_lyapunov and "symmetric" in model.lyapunov_reason
    report = oh.verify(model, seed=seed % 1000, max_evals=2000)
    assert not report.ok
    ce = report.counterexample
    assert ce.kind == "rate" and ce.excess > 1
    x = ce.state.reshape(model.n, model.dim)
    grad = -np.einsum("ijab,jb->ia", 0.5 * (j + j.transpose(1, 0, 3, 2)), x)
    assert float(np.sum(grad * twin_rhs(j, None, None, x))) > 0


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("build, match", [
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 2, 2)), grid=(3, 3), dim=2), "odd"),
    (lambda: oh.ConvCoupling(np.zeros((4, 6, 3, 3)), grid=(3, 3), dim=2), r"\(C, C, k, k\)"),
    (lambda: oh.ConvCoupling(np.zeros((6, 6, 3, 3)), grid=(3, 3), dim=4), "divide"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3)), "`dim`"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=3, dim=2), r"`grid` must be \(H, W\)"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(0, 3), dim=2), "grid"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), bias=np.zeros(3), grid=(3, 3), dim=2), "bias"),
    (lambda: oh.ConvCoupling(np.full((4, 4, 3, 3), np.nan), grid=(3, 3), dim=2), "weight"),
    (lambda: oh.Kuramoto(3, coupling=oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3), dim=2)), "same D"),
    (lambda: oh.Kuramoto(2, coupling=oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3), dim=2), n=5), "`n`"),
    (lambda: oh.Kuramoto(2, coupling=oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3), dim=2),
                         interaction="tanh"), "linear"),
    (lambda: oh.Kuramoto(2, edges=oh.ring_edges(3), coupling=oh.ConvCoupling(np.zeros((2, 2, 1, 1)), grid=(1, 3),
                                                                             dim=2)), "`edges` must be None"),
    (lambda: oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=np.zeros((3, 2, 2))), "one \\(D, D\\) block per edge"),
    (lambda: oh.Kuramoto(3, edges=oh.ring_edges(4), coupling=np.zeros((4, 2, 2))), "`coupling` with `edges`"),
    (lambda: oh.BlockCoupling(np.zeros((2, 2, 2)), types=[0, 2, 1]), "types"),
    (lambda: oh.BlockCoupling(np.zeros((2, 2, 3))), "blocks"),
    (lambda: oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=oh.BlockCoupling(np.zeros((2, 2, 2)), [0, 1])),
     "one entry per edge"),
    (lambda: oh.Kuramoto(2, coupling=oh.BlockCoupling(np.zeros((2, 2, 2)))), "`edges` is required"),
    (lambda: oh.Kuramoto(2, coupling=np.zeros((3, 4, 2, 2))), r"\(N, N, 2, 2\)"),
    (lambda: oh.Kuramoto(2, coupling=np.zeros((3, 3, 2, 2)), interaction_weights=1.0), "interaction_weights"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3), dim=2).to_state(np.zeros((2, 4, 3, 4))), "images"),
    (lambda: oh.ConvCoupling(np.zeros((4, 4, 3, 3)), grid=(3, 3), dim=2).to_images(np.zeros(35)), "states"),
])
def test_bad_input_is_named(build, match):
    with pytest.raises(ValueError, match=match):
        build()
