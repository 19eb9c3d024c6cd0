"""Classic Kuramoto model: the synchronisation transition r(K) against theory.

Regenerates ``docs/figures/kuramoto_transition.png``::

    python scripts/gallery_kuramoto_transition.py

D = 2, all-to-all coupling K/N, natural frequencies at the quantiles of a Lorentzian (half-width
gamma = 0.5, K_c = 2 gamma = 1) or a standard normal law (K_c = 2/(pi g(0)) = 1.596). Each point
is the time average of r over the second half of a run with RK4. Above K_c the oscillators start
in phase; below K_c at random phases (seed 0), where the dashed curve is the finite-size level
(sqrt(pi)/2) / sqrt(N (1 - K/K_c)) of linear theory. Lines: sqrt(1 - K_c/K) (Lorentzian) and
the root of Kuramoto's self-consistency equation (Gaussian).
"""

from __future__ import annotations

import time

import numpy as np
from scipy import integrate, optimize, stats

import oscihop as oh
from gallery_common import figure, parse_args, save

N = 1000


def mean_r(omega, K, t_end, dt, theta0):
    kur = oh.Kuramoto(2, coupling="mean-field", strength=K, n=omega.size, omega=omega)
    x0 = np.stack([np.cos(theta0), np.sin(theta0)], axis=1)
    t_eval = np.linspace(0.0, t_end, 201)
    sol = oh.solve(kur, (0.0, t_end), kur.pack(x=x0), method="RK4", dt=dt, t_eval=t_eval)
    return kur.order_parameter(sol.y.T)[t_eval >= t_end / 2].mean()


def gaussian_r(K):
    g = stats.norm.pdf
    k_c = 2 / (np.pi * g(0))
    if K <= k_c:
        return 0.0

    def excess(r):
        integrand = lambda t: np.cos(t) ** 2 * g(K * r * np.sin(t))  # noqa: E731
        return K * integrate.quad(integrand, -np.pi / 2, np.pi / 2)[0] - 1
    return optimize.brentq(excess, 1e-12, 1.0)


def panel(ax, omega, k_c, ratios, theory, dt, title, name):
    rng = np.random.default_rng(0)
    ks, rs = [], []
    for ratio in ratios:
        K = ratio * k_c
        below = ratio < 1
        # relaxation time ~ 1/|K - K_c|: run >= 20 of them
        t_end = min(200.0, max(40.0, 20.0 / abs(K - k_c)))
        theta0 = rng.uniform(0, 2 * np.pi, omega.size) if below else np.zeros(omega.size)
        ks.append(K)
        rs.append(mean_r(omega, K, t_end, dt, theta0))
        print(f"  {name}: K/K_c = {ratio:.2f}  r = {rs[-1]:.4f}  theory = {theory(K):.4f}")
    grid = np.linspace(0.02, max(ratios) * k_c, 400)
    ax.plot(grid, [theory(K) for K in grid], "k-", lw=1.2, label="N = inf theory")
    sub = grid[grid < 0.97 * k_c]
    ax.plot(sub, np.sqrt(np.pi) / 2 / np.sqrt(omega.size * (1 - sub / k_c)), "k--", lw=1,
            label=r"$\frac{\sqrt{\pi}}{2}[N(1-K/K_c)]^{-1/2}$")
    ax.plot(ks, rs, "o", color="C3", ms=5, label=f"oscihop, N = {omega.size}")
    ax.axvline(k_c, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("coupling K")
    ax.set_ylabel("order parameter r")
    ax.set_title(title)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    return np.array(ks), np.array(rs)


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, (a, b) = figure(2)
    gamma = 0.5
    q = np.arange(1, N + 1) / (N + 1)
    lorentz = gamma * np.tan(np.pi * (q - 0.5))
    ratios = [0.25, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0]
    panel(a, lorentz, 2 * gamma, ratios, lambda K: np.sqrt(max(0.0, 1 - 2 * gamma / K)), 0.01,
          r"Lorentzian $g(\omega)$, $K_c = 2\gamma$", "Lorentzian")
    gauss = stats.norm.ppf((np.arange(N) + 0.5) / N)
    panel(b, gauss, 2 / (np.pi * stats.norm.pdf(0)), ratios, gaussian_r, 0.05,
          r"Gaussian $g(\omega)$, $K_c = 2/(\pi g(0))$", "Gaussian")
    save(fig, args.out, "kuramoto_transition.png", started)


if __name__ == "__main__":
    main()
