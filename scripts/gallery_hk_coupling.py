"""The Hopfield-Kuramoto model: the Hebbian oscillator rule of one HK edge, and the low-rank
correction to the Hopfield weights.

Regenerates ``docs/figures/hk_coupling.png``::

    python scripts/gallery_hk_coupling.py

Left: two units joined by one HK edge (a = 0.7, kappa_k = 2), no Kuramoto coupling, h held at
fixed activities g = (g_0, g_1) (W = 0, b = h, kappa_h = 1e8). The oscillator overlap
s = <x_0, x_1> (markers: oscihop, D = 3, RK45) follows ds/dt = (2/kappa_k) a g_0 g_1 (1 - s^2),
i.e. s(t) = tanh(2 a g_0 g_1 t / kappa_k + artanh s0) (lines): co-active units align their
oscillators, units of opposite activity anti-align them.

Right: all-to-all additive HK coupling (N = 40, alpha = 0.02, kappa_h = 1.5, Hebbian W with 3
patterns, ring Kuramoto coupling J = 0.1), singular values of W_eff - W + (alpha/kappa_h) I along
a run (t = 0, 1, 2): D of them are O(1), the rest at round-off, so the correction is rank <= D plus
its removed diagonal (docs/theory.md §4.3).
"""

from __future__ import annotations

import time

import numpy as np

import oscihop as oh
from gallery_common import figure, parse_args, save


def single_edge(ax):
    a, kappa_k, s0, dim = 0.7, 2.0, 0.1, 3
    t = np.linspace(0.0, 10.0, 41)
    for k, g in enumerate([(0.9, 0.9), (0.6, 0.4), (0.3, -0.3), (0.9, -0.8)]):
        g = np.array(g)
        h0 = np.arctanh(g)
        hop = oh.Hopfield(np.zeros((2, 2)), bias=h0, activation="tanh")
        kur = oh.Kuramoto(dim, edges=[[0, 1]], coupling=0.0)
        hk = oh.HopfieldKuramoto(hop, kur, [[0, 1]], weights=a, kappa_h=1e8, kappa_k=kappa_k)
        x = np.zeros((2, dim))
        x[0, 0] = 1.0
        x[1, 0], x[1, 1] = s0, np.sqrt(1 - s0**2)
        sol = oh.solve(hk, (0.0, 10.0), hk.pack(h=h0, x=x), t_eval=t, rtol=1e-10, atol=1e-12)
        xs = hk.unpack(sol.y.T).x
        s = np.einsum("td,td->t", xs[:, 0], xs[:, 1])
        c = 2 * a * g[0] * g[1] / kappa_k
        fine = np.linspace(0, 10, 400)
        ax.plot(fine, np.tanh(c * fine + np.arctanh(s0)), "-", color=f"C{k}", lw=1)
        ax.plot(t, s, "o", ms=3.5, color=f"C{k}", label=f"g = ({g[0]:+.1f}, {g[1]:+.1f})")
        err = np.abs(s - np.tanh(c * t + np.arctanh(s0))).max()
        print(f"  g = {g}: max |s - analytic| = {err:.2e}")
    ax.set_xlabel("time t")
    ax.set_ylabel(r"$s = \langle x_0, x_1\rangle$")
    ax.set_title(r"one HK edge: $\dot s = \frac{2}{\kappa_k} a g_0 g_1 (1-s^2)$")
    ax.legend(fontsize=8, loc="center right")


def low_rank(ax):
    n, alpha, kappa_h = 40, 0.02, 1.5
    xi = np.where(np.random.default_rng(0).random((3, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=2.0)
    for k, dim in enumerate([2, 3, 5]):
        kur = oh.Kuramoto(dim, edges=oh.ring_edges(n), coupling=0.1)
        hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=alpha, mode="additive", kappa_h=kappa_h)
        times = [0.0, 1.0, 2.0]
        sol = oh.solve(hk, (0.0, 2.0), hk.random_state(seed=2), t_eval=times)
        for j, y in enumerate(sol.y.T):
            corr = hk.effective_weights(y) - hop.weights_dense()
            sv = np.linalg.svd(corr + alpha / kappa_h * np.eye(n), compute_uv=False)
            ax.semilogy(np.arange(1, n + 1), np.maximum(sv, 1e-18), ".-", ms=3, lw=0.6,
                        color=f"C{k}", alpha=0.4 + 0.15 * j, label=f"D = {dim}" if j == 0 else None)
            if j == len(times) - 1:
                print(f"  D = {dim}: numerical rank {np.sum(sv > 1e-10 * sv[0])}, "
                      f"factor rank {hk.correction_factor(y).rank}")
    ax.set_xlabel("index")
    ax.set_ylabel("singular value")
    ax.set_title(r"all-to-all HK: $W_{eff}-W+\frac{\alpha}{\kappa_h}I$, t = 0, 1, 2")
    ax.set_xlim(0, 12)
    ax.set_ylim(1e-18, 1e2)
    ax.legend(fontsize=8)


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, (a, b) = figure(2)
    single_edge(a)
    low_rank(b)
    save(fig, args.out, "hk_coupling.png", started)


if __name__ == "__main__":
    main()
