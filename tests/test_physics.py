"""Validation against known results (issue 6).

Each test reproduces a result from the literature or an exact solution, at a size the suite can
afford, with a tolerance justified in the comments by finite-size theory or by the integrator's
error. Everything is deterministic: frequencies are distribution quantiles, not samples, and every
random draw has a fixed seed. The gallery scripts ``scripts/gallery_*.py`` draw the same results
as figures (``docs/validation.md``).

References
----------
- Kuramoto (1975); Strogatz, "From Kuramoto to Crawford", Physica D 143 (2000): r(K), K_c.
- Daido (1987); Hildebrand, Buice & Chow, PRL 98 (2007): incoherence below K_c, r ~ N^(-1/2).
- Wiley, Strogatz & Girvan, Chaos 16 (2006): twisted states on a ring, stable iff |q| < n/4.
- Markdahl, Thunberg & Goncalves, IEEE TAC 63 (2018): almost global consensus on S^(D-1), D >= 3.
- Amit, Gutfreund & Sompolinsky, PRL 55 (1985), Ann. Phys. 173 (1987): alpha_c = 0.138.
- Hopfield, PNAS 81 (1984): graded-response (tanh) network.
- Krotov & Hopfield, "Large associative memory problem", ICLR 2021; Ramsauer et al.,
  "Hopfield networks is all you need", ICLR 2021.
- Fanaskov & Oseledets, arXiv 2505.03648 (2025): the Hopfield-Kuramoto model.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import oscihop as oh

pytestmark = pytest.mark.slow  # ~6 s once compiled; see setup.cfg (still run in CI)

# --------------------------------------------------------------------------------------------
# Classic Kuramoto model: D = 2, all-to-all coupling K/N, natural frequencies omega_i.
# --------------------------------------------------------------------------------------------

N_KURAMOTO = 1000


def lorentzian_frequencies(n, gamma):
    """Deterministic quantiles i/(n+1) of the Lorentzian (Cauchy) law with half-width gamma.

    Quantiles instead of samples remove the O(n^-1/2) sample-to-sample scatter of the
    frequency distribution (its sample mean, in particular, is exactly 0, so there is no drift
    of the mean phase and r needs no rotating frame).
    """
    q = np.arange(1, n + 1) / (n + 1)
    return gamma * np.tan(np.pi * (q - 0.5))


def gaussian_frequencies(n, sigma):
    """Deterministic quantiles (i + 1/2)/n of the normal law N(0, sigma^2)."""
    return stats.norm.ppf((np.arange(n) + 0.5) / n, scale=sigma)


def phases_to_x(theta):
    return np.stack([np.cos(theta), np.sin(theta)], axis=-1)


def mean_order_parameter(omega, strength, t_end, dt, theta0=None):
    """Time average of r(t) = |mean_i x_i| over the second half of a run.

    RK4 with a fixed step; the oscillators start in phase (theta0 None) or at theta0.
    """
    n = omega.size
    kur = oh.Kuramoto(2, coupling="mean-field", strength=strength, n=n, omega=omega)
    theta0 = np.zeros(n) if theta0 is None else theta0
    t_eval = np.linspace(0.0, t_end, 201)
    sol = oh.solve(kur, (0.0, t_end), kur.pack(x=phases_to_x(theta0)), method="RK4", dt=dt,
                   t_eval=t_eval)
    assert sol.success
    r = kur.order_parameter(sol.y.T)
    return float(r[t_eval >= t_end / 2].mean())


def gaussian_r_infinity(K, sigma):
    """Stationary r of the N -> inf Kuramoto model with N(0, sigma^2) frequencies.

    Solves Kuramoto's self-consistency r = K r int_{-pi/2}^{pi/2} cos^2(t) g(K r sin t) dt for its
    nonzero root (it exists iff K > K_c = 2 / (pi g(0))); the drifting oscillators add nothing to r
    because g is even.
    """
    g = stats.norm(scale=sigma).pdf

    def excess(r):
        integrand = lambda t: np.cos(t) ** 2 * g(K * r * np.sin(t))  # noqa: E731
        return K * integrate.quad(integrand, -np.pi / 2, np.pi / 2)[0] - 1.0

    return optimize.brentq(excess, 1e-12, 1.0, xtol=1e-14)


# Tolerance for the synchronised branch. At finite N the order parameter fluctuates in time with
# standard deviation ~ 0.3 / sqrt(N) (measured: 0.009 at N = 1000, 0.017 at N = 500), the
# drifting oscillators' finite-size noise (Daido 1990; Hildebrand et al. 2007). With quantile
# frequencies the dynamics are quasi-periodic rather than noisy: the time average over the second
# half of the run (>= 10 relaxation times 1/(K - K_c)) keeps a deterministic residue of order
# 1/N from the discretised frequency law and the drifting oscillators' beats. Observed at
# N = 1000: |r - r_inf| <= 1.8e-3 (Lorentzian, K = 3), <= 1.2e-4 (Gaussian). A 1e-3 rad
# perturbation of the start moves the averages by < 3e-6, so the values do not depend on
# round-off and the test is not flaky. 0.2 / sqrt(N) = 0.0063 is 3.5x the worst observed
# error and below the temporal standard deviation of r itself; a wrong coupling scale
# (K/N vs K/(2N)) or a sign error misses it by a factor > 20.
R_TOL = 0.2 / np.sqrt(N_KURAMOTO)


@pytest.mark.parametrize("K", [1.5, 2.0, 3.0])
def test_kuramoto_lorentzian_order_parameter(K):
    """Lorentzian frequencies: r(K) = sqrt(1 - K_c/K), K_c = 2 gamma (Kuramoto 1975).

    The fastest quantile frequency is gamma * tan(pi/2 - pi/(N+1)) ~ 159 for N = 1000, gamma = 0.5;
    dt = 0.01 keeps RK4 stable for it (dt * omega_max = 1.6 < 2.83). Such fast oscillators
    drift and add O(K r / omega^2) to r, so their phase error does not matter (checked against
    RK45 at rtol = 1e-6: the averages agree to 1e-3, both within 2e-3 of theory).
    """
    gamma = 0.5
    k_c = 2.0 * gamma
    r = mean_order_parameter(lorentzian_frequencies(N_KURAMOTO, gamma), K, t_end=40.0, dt=0.01)
    assert r == pytest.approx(np.sqrt(1.0 - k_c / K), abs=R_TOL)


@pytest.mark.parametrize("ratio", [1.2, 1.5, 2.0])
def test_kuramoto_gaussian_self_consistency(ratio):
    """Gaussian frequencies: r(K) solves Kuramoto's self-consistency, K_c = 2/(pi g(0)).

    K_c = sqrt(8/pi) sigma = 1.596 for sigma = 1. The finite-N rounding of the transition is
    confined to a window around K_c that shrinks as a power of N (N^(-2/5) for random
    frequencies, faster for regularly spaced ones; Hong et al. 2007, Pazo 2005), so at
    K >= 1.2 K_c and N = 1000 it is negligible (observed errors <= 1.2e-4).
    """
    sigma = 1.0
    k_c = 2.0 / (np.pi * stats.norm(scale=sigma).pdf(0.0))
    assert k_c == pytest.approx(np.sqrt(8.0 / np.pi) * sigma)
    K = ratio * k_c
    r = mean_order_parameter(gaussian_frequencies(N_KURAMOTO, sigma), K, t_end=60.0, dt=0.05)
    assert r == pytest.approx(gaussian_r_infinity(K, sigma), abs=R_TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kuramoto_incoherent_below_threshold(seed):
    """Below K_c the order parameter stays at the finite-size level O(N^(-1/2)).

    Linear theory of the incoherent state (Daido 1987; Hildebrand et al. 2007) gives
    <r^2> = 1 / (N (1 - K/K_c)), so the mean of the Rayleigh-distributed r is
    (sqrt(pi)/2) / sqrt(N (1 - K/K_c)) = 0.040 at N = 1000, K = K_c/2 (measured prefactors
    0.83 - 1.0 against sqrt(pi)/2 = 0.886). We allow a factor 2 either way: it still separates
    r = O(N^(-1/2)) from a synchronised branch (r >= 0.5 here) and from an exactly zero r.
    """
    sigma = 1.0
    k_c = np.sqrt(8.0 / np.pi) * sigma
    K = 0.5 * k_c
    theta0 = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, N_KURAMOTO)
    r = mean_order_parameter(gaussian_frequencies(N_KURAMOTO, sigma), K, t_end=60.0, dt=0.05,
                             theta0=theta0)
    scaled = r * np.sqrt(N_KURAMOTO * (1.0 - K / k_c))
    assert 0.5 * np.sqrt(np.pi) / 2 < scaled < 2.0 * np.sqrt(np.pi) / 2


# --------------------------------------------------------------------------------------------
# Identical oscillators on a ring: twisted states on the circle, consensus on spheres.
# --------------------------------------------------------------------------------------------

N_RING = 20


def twisted_state(n, q, dim, seed, phase_noise=0.05, lift=1e-3):
    """theta_i = 2 pi q i / n plus small phase noise; for dim >= 3 a small lift out of the plane."""
    rng = np.random.default_rng(seed)
    theta = 2.0 * np.pi * q * np.arange(n) / n + phase_noise * rng.standard_normal(n)
    x = np.zeros((n, dim))
    x[:, :2] = phases_to_x(theta)
    if dim > 2:
        x[:, 2:] = lift * rng.standard_normal((n, dim - 2))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ring_phase_steps(x):
    """Wrapped phase differences theta_{i+1} - theta_i in (-pi, pi], around the ring."""
    theta = np.arctan2(x[:, 1], x[:, 0])
    return np.angle(np.exp(1j * (np.roll(theta, -1) - theta)))


def run_ring(q, dim, t_end=300.0, seed=0):
    kur = oh.Kuramoto(dim, edges=oh.ring_edges(N_RING), coupling=1.0)
    y0 = kur.pack(x=twisted_state(N_RING, q, dim, seed))
    sol = oh.solve(kur, (0.0, t_end), y0, method="RK45", t_eval=[0.0, t_end], rtol=1e-8, atol=1e-10)
    assert sol.success
    return kur, sol.y[:, -1]


@pytest.mark.parametrize("q", [1, 2, 3])
def test_ring_twisted_state_persists_on_circle(q):
    """D = 2: a perturbed q-twisted state with |q| < n/4 returns to phase steps 2 pi q/n.

    Linearising at the twisted state, the phase perturbations decay with rates
    2 J cos(2 pi q/n) (1 - cos(2 pi k/n)) >= 0.06 for n = 20, q <= 3 (Wiley et al. 2006), so a
    0.05 rad perturbation is below 1e-8 after t = 300; 1e-6 leaves room for rtol = 1e-8.
    """
    kur, y = run_ring(q, 2)
    steps = ring_phase_steps(kur.unpack(y).x)
    np.testing.assert_allclose(steps, 2.0 * np.pi * q / N_RING, atol=1e-6)
    assert kur.order_parameter(y) < 1e-6  # a twisted state has mean_i x_i = 0 exactly


def test_ring_twisted_state_beyond_n_over_4_unwinds_on_circle():
    """D = 2, q = 6 > n/4 = 5: cos(2 pi q/n) < 0 makes the twisted state unstable; the winding
    number (an integer, conserved while no phase step passes pi) drops to a stable |q| < n/4."""
    kur, y = run_ring(6, 2)
    steps = ring_phase_steps(kur.unpack(y).x)
    winding = steps.sum() / (2.0 * np.pi)
    assert winding == pytest.approx(round(winding), abs=1e-9)
    assert abs(round(winding)) < N_RING / 4
    np.testing.assert_allclose(steps, steps.mean(), atol=1e-6)  # it settled on a twisted state


@pytest.mark.parametrize("dim", [3, 4])
@pytest.mark.parametrize("q", [1, 2])
def test_ring_twisted_state_reaches_consensus_on_sphere(q, dim):
    """D >= 3: the same twisted state, lifted out of its plane by 1e-3, reaches consensus.

    On S^(D-1), D >= 3, the sphere is simply connected, twisted states can unwind, and for
    identical oscillators on a connected graph consensus is almost globally stable (Markdahl et
    al. 2018). The uniform out-of-plane mode grows at rate 2 J (1 - cos(2 pi q/n)) (0.098 for
    q = 1, n = 20), so the lift reaches O(1) by t ~ 70, after which the synchronised state is
    approached at rate >= 2 J (1 - cos(2 pi/n)): 1 - r < 1e-6 by t = 300 with a wide margin.
    """
    kur, y = run_ring(q, dim)
    assert kur.order_parameter(y) > 1.0 - 1e-6


# --------------------------------------------------------------------------------------------
# Binary Hopfield network with Hebbian storage (Amit, Gutfreund & Sompolinsky).
# --------------------------------------------------------------------------------------------


def ags_retrieval_overlap(alpha):
    """Zero-temperature AGS retrieval overlap m(alpha) (None above alpha_c = 0.1379).

    With y = m / sqrt(2 alpha r) the T = 0 replica-symmetric equations reduce to
    y sqrt(2 alpha) = erf(y) - (2/sqrt(pi)) y exp(-y^2), m = erf(y) (largest root).
    """
    def f(y):
        return special.erf(y) - 2.0 * y * np.exp(-y * y) / np.sqrt(np.pi) - y * np.sqrt(2.0 * alpha)

    y_peak = optimize.minimize_scalar(lambda y: -(f(y) / y + np.sqrt(2 * alpha)), bounds=(0.1, 5.0),
                                      method="bounded").x
    if f(y_peak) <= 0:
        return None
    return float(special.erf(optimize.brentq(f, y_peak, 20.0)))


def hebbian_retrieval(n, alpha, seed, n_probe=10):
    """Mean overlap of the async fixed point reached from each of the first n_probe patterns."""
    p = int(round(alpha * n))
    xi = np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="sign")
    return float(np.mean(async_overlaps(hop, xi[:n_probe], seed)))


def async_overlaps(hop, patterns, seed):
    """Overlap with its own pattern of the async fixed point reached from each pattern.

    One solve per start: single trajectories run disk-cached serial kernels, while a batch
    would compile the parallel ones (~20 s per method on 2 cores) in every fresh process.
    """
    m = []
    for k, start in enumerate(patterns):
        sol = oh.solve(hop, (0, 100), start, method="async", seed=seed + 1000 * k, t_eval=[0, 100])
        assert sol.status == 1, "no fixed point within 100 sweeps"
        m.append(sol.y[:, -1] @ start / start.size)
    return np.array(m)


def test_ags_reference_values():
    assert ags_retrieval_overlap(0.137) > 0.96
    assert ags_retrieval_overlap(0.139) is None  # alpha_c = 0.1379 (AGS)


@pytest.mark.parametrize("seed", [0, 1])
def test_hopfield_hebbian_retrieval_below_capacity(seed):
    """alpha = 0.05: AGS predicts m = 1 - 8e-6 (a fraction 4e-6 of wrong bits, i.e. none at
    N = 500). Finite-N corrections to the retrieval overlap are O(N^(-1/2)) ~ 0.04 near alpha_c
    but vanish exponentially deep in the retrieval phase; we require m > 0.98 (observed 1.0)."""
    assert ags_retrieval_overlap(0.05) > 0.9999
    assert hebbian_retrieval(500, 0.05, seed) > 0.98


@pytest.mark.parametrize("seed", [0, 1])
def test_hopfield_hebbian_breakdown_above_capacity(seed):
    """alpha = 0.25, far above alpha_c = 0.138: there is no retrieval state; the fixed point
    reached from a stored pattern keeps only a partial overlap (observed 0.3 - 0.5 at N = 500).

    Finite-size caveat: at N = 500 the transition is rounded over a window of order
    N^(-1/2) around alpha_c (simulations retain m ~ 0.9 at alpha = 0.15), which is why the
    test probes alpha = 0.25 rather than values just above alpha_c; m < 0.75 separates it
    from the retrieval branch (m >= 0.967 for every alpha < alpha_c).
    """
    assert ags_retrieval_overlap(0.25) is None
    assert hebbian_retrieval(500, 0.25, seed) < 0.75


# --------------------------------------------------------------------------------------------
# Continuous (tanh) and modern (softmax) Hopfield networks.
# --------------------------------------------------------------------------------------------


def corrupt(patterns, n_flip, rng):
    cue = patterns.copy()
    for row in cue:
        row[rng.choice(row.size, n_flip, replace=False)] *= -1.0
    return cue


def test_tanh_hopfield_recovers_corrupted_patterns():
    """High-gain tanh network (beta = 10), N = 200, P = 10 (alpha = 0.05), cues with 20% of the
    bits flipped and h0 = 0.1 cue (cue overlap m0 = 0.6 tanh(1) = 0.46): every cue flows to its
    pattern. At high gain the graded-response network has the binary network's attractors
    (Hopfield 1984), which at alpha = 0.05 have m > 0.9999; the residual 1 - m is set by
    1 - tanh(beta |h|) ~ 1e-8. Cross overlaps of random patterns are ~ N^(-1/2) = 0.07."""
    n, p, beta = 200, 10, 10.0
    rng = np.random.default_rng(7)
    xi = np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="tanh", beta=beta)
    cue = corrupt(xi, n // 5, rng)
    final = []
    for c in cue:  # single trajectories: see async_overlaps
        sol = oh.solve(hop, (0.0, 20.0), 0.1 * c, t_eval=np.linspace(0.0, 20.0, 21))
        assert sol.status == 0
        # Non-increasing up to the integrator's error: near the fixed point RK45 (rtol 1e-3)
        # leaves wiggles of ~1e-9 on |E| ~ 70, i.e. 1e-11 relative.
        assert np.all(np.diff(sol.energy) <= 1e-9 * np.abs(sol.energy[0]))
        final.append(sol.y[:, -1])
    m = hop.overlaps(np.array(final))  # (P cues, P patterns)
    assert np.all(np.diag(m) > 0.99)
    assert np.all(np.abs(m - np.diag(np.diag(m))) < 0.3)


def test_modern_hopfield_stores_more_patterns_than_feature_units():
    """Modern Hopfield (Ramsauer et al. 2021) storing P = 256 patterns of N = 64 bits (P/N = 4,
    30x the Hebbian capacity 0.138 N).

    What oscihop can express. Its softmax activation normalises over the network's own units,
    g = softmax(beta h). Ramsauer's update xi^T softmax(beta xi v) normalises over *patterns*, so
    the network with N feature units and W = xi^T xi / N is not it. It is the Krotov-Hopfield
    two-layer model with the feature layer (identity activation, fast) eliminated: the units of
    the oscihop network are the P memory neurons, h = xi v, with

        dh/dt = W softmax(beta h) - h,   W = xi xi^T  (P x P, symmetric PSD),

    and the features are read out as v = xi^T softmax(beta h). One Euler step with dt = 1 is
    exactly Ramsauer's update in these coordinates, and the energy is a Lyapunov function.
    So the claim "more patterns than units" holds for the N feature units, not for the P
    simulated units: a network on the N units alone with P > N patterns is not expressible with
    the current API (it would need per-layer activations or a bipartite two-layer model).

    Tolerance: with beta = 1 and 6 of 64 bits flipped, the cue's similarity to its pattern is
    64 - 12 = 52, against at most ~30 for the other 255 (random +-1 overlaps have std 8); the
    softmax weight on the wrong patterns at the fixed point is < 255 exp(-beta 20) ~ 1e-6, so
    the read-out equals the stored pattern to 1e-6.
    """
    n, p, beta, n_cues = 64, 256, 1.0, 64
    rng = np.random.default_rng(1)
    xi = np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield(xi @ xi.T, activation="softmax", beta=beta)
    assert hop.is_lyapunov
    cue = corrupt(xi[:n_cues], 6, rng)
    h0 = cue @ xi.T  # memory neurons start at the cue's similarities

    # One Euler step of size 1 is Ramsauer's update v <- xi^T softmax(beta xi v).
    for k in range(3):
        step = oh.solve(hop, (0.0, 1.0), h0[k], method="Euler", dt=1.0, t_eval=[0.0, 1.0])
        v1 = special.softmax(beta * h0[k]) @ xi
        np.testing.assert_allclose(step.y[:, -1], xi @ v1, rtol=1e-12, atol=1e-9)

    for k in range(n_cues):  # single trajectories: see async_overlaps
        sol = oh.solve(hop, (0.0, 20.0), h0[k], t_eval=np.linspace(0.0, 20.0, 11),
                       rtol=1e-6, atol=1e-8)
        assert sol.status == 0
        assert np.all(np.diff(sol.energy) <= 1e-9)
        v = special.softmax(beta * sol.y[:, -1]) @ xi
        np.testing.assert_allclose(v, xi[k], atol=1e-6)

    # The classic network on the 64 feature units cannot hold these 256 patterns.
    binary = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="sign")
    assert async_overlaps(binary, xi[:16], seed=0).mean() < 0.75


# --------------------------------------------------------------------------------------------
# The Hopfield-Kuramoto model.
# --------------------------------------------------------------------------------------------


def test_hk_effective_weights_along_a_trajectory():
    """dh/dt = W_eff g - h + b with W_eff = W + (1/kappa_h) M o (a x x^T) at every output of a run
    (docs/theory.md §4.3), W_eff assembled here from the definition; both sides are the same
    arithmetic in a different order, so they agree to round-off (1e-12 on O(1) values)."""
    rng = np.random.default_rng(3)
    n, dim, beta, kappa_h = 12, 3, 2.0, 1.5
    a = rng.normal(size=(n, n))
    w = (a + a.T) / 4.0
    np.fill_diagonal(w, 0.0)
    bias = 0.1 * rng.normal(size=n)
    hop = oh.Hopfield(w, bias=bias, activation="tanh", beta=beta)
    kur = oh.Kuramoto(dim, edges=oh.ring_edges(n, 2), coupling=0.3)
    hk_edges = oh.watts_strogatz_edges(n, 4, 0.3, seed=1)
    a_e = rng.normal(size=len(hk_edges))
    hk = oh.HopfieldKuramoto(hop, kur, hk_edges, weights=a_e, kappa_h=kappa_h, kappa_k=0.7)

    sol = oh.solve(hk, (0.0, 5.0), hk.random_state(seed=3), method="Tsit5",
                   t_eval=np.linspace(0, 5, 11))
    a_mat = np.zeros((n, n))
    a_mat[hk_edges[:, 0], hk_edges[:, 1]] = a_e
    a_mat[hk_edges[:, 1], hk_edges[:, 0]] = a_e
    for y in sol.y.T:
        st = hk.unpack(y)
        w_eff = w + a_mat * (st.x @ st.x.T) / kappa_h
        np.testing.assert_allclose(hk.effective_weights(y), w_eff, atol=1e-12)
        g = np.tanh(beta * st.h)
        np.testing.assert_allclose(hk.rhs(0.0, y)[:n], w_eff @ g - st.h + bias, atol=1e-12)
    # the dynamics really moved: the correction changed along the run
    first, last = (hk.hk_correction(sol.y[:, k]) for k in (0, -1))
    assert np.abs(first - last).max() > 0.05


def test_hk_all_to_all_correction_has_rank_at_most_dim():
    """hk_edges="all", additive: the correction (alpha/kappa_h)(X X^T - diag|x_i|^2) is the
    rank-<= D factor X^T minus its diagonal (docs/theory.md §4.3, LoRA-like);
    checked by SVD to 1e-10."""
    n, dim, alpha, kappa_h = 40, 3, 0.4, 1.5
    xi = np.where(np.random.default_rng(0).random((3, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi)
    kur = oh.Kuramoto(dim, edges=oh.ring_edges(n), coupling=0.5)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=alpha, mode="additive", kappa_h=kappa_h)
    sol = oh.solve(hk, (0.0, 2.0), hk.random_state(seed=2), t_eval=[0.0, 1.0, 2.0])
    for y in sol.y.T:
        corr = hk.hk_correction(y)
        factor = hk.correction_factor(y)
        assert factor.rank <= dim
        np.testing.assert_allclose(factor.to_dense(), corr, atol=1e-12)
        sv = np.linalg.svd(corr + alpha / kappa_h * np.eye(n), compute_uv=False)  # |x_i| = 1
        assert np.sum(sv > 1e-10 * sv[0]) <= dim
        np.testing.assert_allclose(hk.effective_weights(y) - hop.weights_dense(), corr, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_hk_single_edge_hebbian_overlap(dim):
    """One HK edge (0, 1), no Kuramoto coupling (J = 0), h held fixed: the overlap s = <x_0, x_1>
    obeys ds/dt = (2/kappa_k) a g_0 g_1 (1 - s^2), i.e. s(t) = tanh(c t + artanh s0) with
    c = 2 a g_0 g_1 / kappa_k: a Hebbian rule that aligns the oscillators of co-active units and
    anti-aligns those of units with opposite activity.

    h is held fixed by W = 0, b = h0 (a fixed point of -h + b) and kappa_h = 1e8: the HK force on
    h is a s g_j / kappa_h, which moves h by < 1e-7 over the run and g_0 g_1 by less. With
    rtol = 1e-10 the remaining error is < 1e-8; we allow 1e-6.
    """
    g = np.array([0.6, -0.8])
    beta, a, kappa_k, s0 = 1.0, 0.7, 2.0, 0.3
    h0 = np.arctanh(g) / beta
    hop = oh.Hopfield(np.zeros((2, 2)), bias=h0, activation="tanh", beta=beta)
    kur = oh.Kuramoto(dim, edges=[[0, 1]], coupling=0.0)
    hk = oh.HopfieldKuramoto(hop, kur, [[0, 1]], weights=a, kappa_h=1e8, kappa_k=kappa_k)
    x = np.zeros((2, dim))
    x[0, 0] = 1.0
    x[1, 0], x[1, 1] = s0, np.sqrt(1.0 - s0**2)
    t = np.linspace(0.0, 10.0, 51)
    sol = oh.solve(hk, (0.0, 10.0), hk.pack(h=h0, x=x), method="RK45", t_eval=t,
                   rtol=1e-10, atol=1e-12)
    st = hk.unpack(sol.y.T)
    s = np.einsum("td,td->t", st.x[:, 0], st.x[:, 1])
    c = 2.0 * a * g[0] * g[1] / kappa_k
    np.testing.assert_allclose(s, np.tanh(c * t + np.arctanh(s0)), atol=1e-6)
    np.testing.assert_allclose(st.h, np.broadcast_to(h0, st.h.shape), atol=1e-6)
    assert s[-1] < -0.99  # opposite activities anti-align the oscillators


# --------------------------------------------------------------------------------------------
# The how-to guide's examples run as written (issue 6: docs examples run in CI).
# --------------------------------------------------------------------------------------------


def test_guide_examples_run(capsys):
    """Every ```python block of docs/guide.md, in order, in one namespace."""
    import re
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "guide.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, re.S)
    assert len(blocks) >= 6
    ns = {}
    for k, block in enumerate(blocks):
        exec(compile(block, f"docs/guide.md block {k}", "exec"), ns)
    assert capsys.readouterr().out
    # the claims the guide prints
    np = ns["np"]
    assert ns["kur"].is_lyapunov and not ns["classic"].is_lyapunov
    assert ns["sol"].success and np.all(np.diff(ns["sol"].energy) <= 1e-12)
    assert np.abs(ns["ref"].y - ns["sol"].y).max() < 1e-10
    assert ns["rest"].status == 1 and ns["rest"].t[-1] < 200.0
    assert ns["hk"].overlaps(ns["run"].y[:, -1])[0] > 0.9
    assert ns["batch"].y.shape == (8, 50, 3) and ns["b32"].y.dtype == np.float32
    assert np.abs(ns["b32"].y - ns["batch"].y).max() < 1e-3
    assert ns["tau"] > 0 and np.all(np.diff(ns["akorn"].energy) <= 0.0)
    assert ns["classic"].step_bound() == 0.0
    assert ns["fixed"].status == 1 and ns["fixed"].y[:, -1] @ ns["patterns"][0] == 100
