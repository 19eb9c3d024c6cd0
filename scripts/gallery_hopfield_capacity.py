"""Binary Hopfield network with Hebbian storage: retrieval overlap m(alpha) and its breakdown.

Regenerates ``docs/figures/hopfield_capacity.png``::

    python scripts/gallery_hopfield_capacity.py

P = alpha N random +-1 patterns stored with the Hebbian rule (W = xi^T xi / N, zero diagonal,
kept low rank), ``activation="sign"``, ``method="async"`` from each of the first 10 patterns
(2 pattern sets, seeds 0 and 1) until a fixed point. Points: mean overlap of the fixed point with
the starting pattern (bars: standard error over the 20 probes). Line: the zero-temperature
replica-symmetric solution of Amit, Gutfreund & Sompolinsky (1987), which ends at
alpha_c = 0.138 with m = 0.967. The finite-N curves cross over smoothly around alpha_c.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import optimize, special

import oscihop as oh
from gallery_common import figure, parse_args, save

SIZES = (250, 500, 1000, 2000)
ALPHAS = np.round(np.arange(0.02, 0.301, 0.02), 3)


def ags_overlap(alpha):
    """T = 0 AGS retrieval overlap; nan above alpha_c."""
    def f(y):
        return special.erf(y) - 2 * y * np.exp(-y * y) / np.sqrt(np.pi) - y * np.sqrt(2 * alpha)
    peak = optimize.minimize_scalar(lambda y: -f(y) / y, bounds=(0.1, 5), method="bounded").x
    if f(peak) <= 0:
        return np.nan
    return special.erf(optimize.brentq(f, peak, 20.0))


def overlaps(n, alpha, seed, n_probe=10):
    p = max(1, int(round(alpha * n)))
    xi = np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="sign")
    m = []
    for k, start in enumerate(xi[:n_probe]):
        sol = oh.solve(hop, (0, 200), start, method="async", seed=seed + 1000 * k, t_eval=[0, 200])
        m.append(sol.y[:, -1] @ start / n)
    return m


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, ax = figure(1, width=5.6, height=3.8)
    grid = np.linspace(0.005, 0.1379, 300)
    ax.plot(grid, [ags_overlap(a) for a in grid], "k-", lw=1.5, label="AGS theory (N = inf)")
    ax.axvline(0.138, color="0.5", ls=":", lw=1)
    for k, n in enumerate(SIZES):
        stats = []
        for alpha in ALPHAS:
            m = np.concatenate([overlaps(n, alpha, seed) for seed in (0, 1)])
            stats.append((m.mean(), m.std(ddof=1) / np.sqrt(m.size)))
        stats = np.array(stats)
        ax.errorbar(ALPHAS + (k - 1.5) * 0.002, stats[:, 0],
                    yerr=stats[:, 1],
                    fmt="o-", ms=3.5, lw=1, capsize=2, color=f"C{k}", label=f"oscihop, N = {n}")
        print(f"  N = {n}: " + ", ".join(f"{a:.2f}:{m:.3f}" for a, m in zip(ALPHAS, stats[:, 0])))
    ax.set_xlabel(r"load $\alpha = P/N$")
    ax.set_ylabel("retrieval overlap m")
    ax.set_title("Hebbian binary Hopfield network (async)")
    ax.set_ylim(0, 1.03)
    ax.legend(fontsize=8, loc="lower left")
    save(fig, args.out, "hopfield_capacity.png", started)


if __name__ == "__main__":
    main()
