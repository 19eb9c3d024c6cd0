"""AKOrN's pieces that oscihop expresses directly, each against a NumPy twin of AKOrN's formula:
``oh.pair_rotations``, its channel-pair rotations (x0, x1) -> (w x1, -w x0) as a Kuramoto omega
(docs/theory.md §3.2), and ``Kuramoto.akorn_energy``, the energy AKOrN logs (§3.1)."""
import numpy as np
import pytest

import oscihop as oh


def akorn_rotation(x, w):
    """AKOrN's Omega layer on oscillators x (..., D): each pair (x0, x1) -> (w x1, -w x0)."""
    pairs = x.reshape(x.shape[:-1] + (-1, 2))
    w = np.broadcast_to(w, pairs.shape[:-1])
    return np.stack([w * pairs[..., 1], -w * pairs[..., 0]], axis=-1).reshape(x.shape)


@pytest.mark.parametrize("w, shape", [(0.7, (4, 4)), ([0.5, -2.0], (4, 4)), ([1.0, 2.0, 3.0], (6, 6))])
def test_global_rotations_are_akorn_s(w, shape):
    dim = shape[0]
    omega = oh.pair_rotations(w, dim)
    assert omega.shape == shape and np.array_equal(omega, -omega.T)
    x = np.random.default_rng(0).standard_normal((5, dim))
    np.testing.assert_array_equal(x @ omega.T, akorn_rotation(x, np.asarray(w, dtype=float)))


def test_per_unit_rotations_drive_the_flow_and_the_akorn_map():
    n, dim = 6, 4
    w = np.random.default_rng(1).standard_normal((n, dim // 2))
    kur = oh.Kuramoto(dim, edges=oh.ring_edges(n), coupling=0.0, omega=oh.pair_rotations(w, dim, n=n))
    y = kur.random_state(seed=2)
    x = y.reshape(n, dim)
    # no coupling and no stimulus: dx/dt = Omega x, AKOrN's rotation
    np.testing.assert_allclose(kur.rhs(0.0, y).reshape(n, dim), akorn_rotation(x, w), rtol=1e-14, atol=1e-15)
    # one step of the AKOrN map: x <- normalize(x + gamma Omega x)
    gamma = 0.1
    step = oh.solve(kur, (0.0, gamma), y, method="AKOrN", gamma=gamma, t_eval=[gamma]).states[-1].reshape(n, dim)
    twin = x + gamma * akorn_rotation(x, w)
    np.testing.assert_allclose(step, twin / np.linalg.norm(twin, axis=1, keepdims=True), rtol=1e-13, atol=1e-15)
    assert not kur.is_lyapunov  # per-unit rotations: no guarantee (docs/theory.md §3.2)


def test_d2_is_the_frequency_form_with_minus_w():
    w = np.array([0.3, -1.2, 2.0])
    a = oh.Kuramoto(2, edges=oh.ring_edges(3), coupling=1.0, omega=oh.pair_rotations(w[:, None], 2))
    b = oh.Kuramoto(2, edges=oh.ring_edges(3), coupling=1.0, omega=-w)
    np.testing.assert_array_equal(a.omega, b.omega)


@pytest.mark.parametrize("args, match", [
    ((1.0, 3), r"`dim` must be even"),
    (([1.0, 2.0, 3.0], 4), r"`w`"),
    ((np.ones((5, 2)), 4, 6), r"`w`"),
    ((np.ones((2, 2, 2)), 4), r"`w` must be a scalar"),
    ((np.nan, 4), r"`w`"),
])
def test_bad_arguments_name_the_parameter(args, match):
    with pytest.raises(ValueError, match=match):
        oh.pair_rotations(*args)


def akorn_logged_energy(model, y):
    """AKOrN's logged energy, NumPy twin: -sum_i x_i . (sum_j J_ij x_j + c_i)."""
    n, dim = model.n, model.dim
    x = np.asarray(y, dtype=np.float64).reshape(-1, n, dim)
    c = np.zeros((n, dim)) if model.stimulus is None else model.stimulus
    field = np.einsum("ij,bjd->bid", model.coupling_dense(), x) + c
    return -np.einsum("bid,bid->b", x, field)


@pytest.mark.parametrize("coupling", ["edges", "dense", "mean-field"])
def test_akorn_energy_is_akorn_s_logged_energy(coupling):
    n, dim = 8, 4
    rng = np.random.default_rng(3)
    stim = rng.standard_normal((n, dim))
    omega = oh.pair_rotations(0.5, dim)
    if coupling == "edges":
        kur = oh.Kuramoto(dim, edges=oh.ring_edges(n, 2), coupling=rng.standard_normal(2 * n), stimulus=stim,
                          omega=omega)
    elif coupling == "dense":
        j = rng.standard_normal((n, n))
        kur = oh.Kuramoto(dim, coupling=(j + j.T) / 2, stimulus=stim, omega=omega)
    else:
        kur = oh.Kuramoto(dim, coupling="mean-field", strength=1.5, n=n, stimulus=stim, omega=omega)
    ys = kur.random_state(seed=4, batch=5)
    np.testing.assert_allclose(kur.akorn_energy(ys), akorn_logged_energy(kur, ys), rtol=1e-12, atol=1e-12)
    assert isinstance(kur.akorn_energy(ys[0]), float)
    # the pair term is counted twice: E_AKOrN = 2 E + (the stimulus term)
    stim_term = -np.einsum("bid,id->b", ys.reshape(5, n, dim), stim)
    np.testing.assert_allclose(kur.akorn_energy(ys), 2 * kur.energy(ys) - stim_term, rtol=1e-12, atol=1e-12)
    # logged before each update of the AKOrN map
    sol = oh.solve(kur, (0.0, 0.5), ys[0], method="AKOrN", gamma=0.1)
    assert kur.akorn_energy(sol.states[:-1]).shape == (len(sol.t) - 1,)


def test_akorn_energy_needs_a_linear_interaction():
    kur = oh.Kuramoto(4, edges=oh.ring_edges(6), coupling=1.0, interaction="relu")
    with pytest.raises(ValueError, match="`akorn_energy` is AKOrN's energy of linear couplings"):
        kur.akorn_energy(kur.random_state(seed=0))
