"""Identical oscillators on a ring: twisted states persist on the circle, unwind on spheres.

Regenerates ``docs/figures/twisted_states.png``::

    python scripts/gallery_twisted_states.py

n = 20 identical oscillators (no omega) on a nearest-neighbour ring, J = 1, started at a
q-twisted state theta_i = 2 pi q i / n with 0.05 rad of phase noise (seed 0). Left: the phase
steps theta_{i+1} - theta_i at t = 300 on the circle (D = 2): q = 1, 2, 3 (|q| < n/4) return to
2 pi q / n; q = 6 > n/4 is unstable and unwinds to a lower twist. Right: the order parameter r(t)
for the same q = 1, 2 states on S^1 (stays 0) and, lifted out of their plane by 1e-3, on S^2 and
S^3 (consensus, r -> 1).
"""

from __future__ import annotations

import time

import numpy as np

import oscihop as oh
from gallery_common import figure, parse_args, save

N = 20
T_END = 300.0


def start(q, dim, seed=0):
    rng = np.random.default_rng(seed)
    theta = 2 * np.pi * q * np.arange(N) / N + 0.05 * rng.standard_normal(N)
    x = np.zeros((N, dim))
    x[:, 0], x[:, 1] = np.cos(theta), np.sin(theta)
    if dim > 2:
        x[:, 2:] = 1e-3 * rng.standard_normal((N, dim - 2))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def phase_steps(x):
    theta = np.arctan2(x[:, 1], x[:, 0])
    return np.angle(np.exp(1j * (np.roll(theta, -1) - theta)))


def run(q, dim, t_eval):
    kur = oh.Kuramoto(dim, edges=oh.ring_edges(N), coupling=1.0)
    sol = oh.solve(kur, (0.0, T_END), kur.pack(x=start(q, dim)), method="RK45", t_eval=t_eval,
                   rtol=1e-8, atol=1e-10)
    return kur, sol


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, (a, b) = figure(2)
    t_eval = np.linspace(0.0, T_END, 601)
    for k, q in enumerate([1, 2, 3, 6]):
        kur, sol = run(q, 2, [0.0, T_END])
        steps0, steps = (phase_steps(kur.unpack(sol.y[:, j]).x) for j in (0, -1))
        winding = steps.sum() / (2 * np.pi)
        a.plot(np.arange(N), steps0 / (2 * np.pi / N), "x", ms=3, color=f"C{k}", alpha=0.6)
        a.plot(np.arange(N), steps / (2 * np.pi / N), "o-", ms=3, color=f"C{k}",
               label=f"start q = {q} (x): winding {winding:.0f} at t = {T_END:.0f}")
        print(f"  D = 2, q = {q}: final winding {winding:.6f}, "
              f"spread of the steps {np.ptp(steps):.2e}")
    a.axhline(N / 4, color="0.5", ls=":", lw=1)
    a.text(0.2, N / 4 + 0.15, "n/4", color="0.4")
    a.set_xlabel("unit i")
    a.set_ylabel(r"$(\theta_{i+1}-\theta_i)\,/\,(2\pi/n)$")
    a.set_title("D = 2: phase steps at t = 0 (x) and t = 300 (o)")
    a.set_ylim(0, 9.8)
    a.legend(fontsize=7, loc="upper right")
    styles = {2: "-", 3: "--", 4: ":"}
    for dim in (2, 3, 4):
        for k, q in enumerate([1, 2]):
            kur, sol = run(q, dim, t_eval)
            r = kur.order_parameter(sol.y.T)
            b.plot(sol.t, r, styles[dim], color=f"C{k}", label=f"D = {dim}, q = {q}")
            print(f"  D = {dim}, q = {q}: r(T) = {r[-1]:.8f}")
    b.set_xlabel("time t")
    b.set_ylabel("order parameter r")
    b.set_title("r(t): twisted on S^1, consensus on S^2, S^3")
    b.set_ylim(-0.02, 1.05)
    b.legend(fontsize=7, loc="center right")
    save(fig, args.out, "twisted_states.png", started)


if __name__ == "__main__":
    main()
