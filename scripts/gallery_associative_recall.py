"""Associative recall: a high-gain tanh Hopfield network, and a modern (softmax) Hopfield network
storing four times more patterns than it has feature units.

Regenerates ``docs/figures/associative_recall.png``::

    python scripts/gallery_associative_recall.py

Left: N = 200 tanh units (beta = 10), P = 10 Hebbian patterns, cues with 20% of the bits flipped,
h0 = 0.1 cue, RK45. The overlap m(t) of each run with its own pattern (solid) and the largest
overlap with any other pattern (dotted).

Right: recall of P = 256 patterns of N = 64 bits against the number of flipped cue bits (64 cues
per point, seed 1). Modern Hopfield: the oscihop network's units are the P memory neurons,
h = xi v, W = xi xi^T, softmax activation (beta = 1), read-out v = xi^T softmax(beta h) (the
Krotov-Hopfield two-layer model with its feature layer eliminated; see docs/validation.md). A
cue counts as recalled when sign(v) equals its pattern. For comparison the classic binary
network on the 64 units with the same 256 patterns (Hebbian, async) and with P = 6 (alpha ~ 0.1;
64 cues cycling over the 6 patterns).
"""

from __future__ import annotations

import time

import numpy as np
from scipy import special

import oscihop as oh
from gallery_common import figure, parse_args, save


def corrupt(pattern, n_flip, rng):
    cue = pattern.copy()
    cue[rng.choice(cue.size, n_flip, replace=False)] *= -1
    return cue


def tanh_panel(ax):
    n, p, beta = 200, 10, 10.0
    rng = np.random.default_rng(7)
    xi = np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="tanh", beta=beta)
    t_eval = np.linspace(0.0, 4.0, 161)
    for mu in range(p):
        sol = oh.solve(hop, (0.0, 4.0), 0.1 * corrupt(xi[mu], n // 5, rng), t_eval=t_eval)
        m = hop.overlaps(sol.y.T)  # (T, P)
        others = np.delete(np.abs(m), mu, axis=1).max(axis=1)
        ax.plot(sol.t, m[:, mu], "-", color="C0", lw=1, label="own pattern" if mu == 0 else None)
        ax.plot(sol.t, others, ":", color="C3", lw=1,
                label="max over other patterns" if mu == 0 else None)
        print(f"  tanh cue {mu}: m = {m[0, mu]:.3f} -> {m[-1, mu]:.6f}, max other {others[-1]:.3f}")
    ax.set_xlabel("time t")
    ax.set_ylabel("overlap m")
    ax.set_title("tanh network, N = 200, P = 10, 20% flipped")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="center right")


def modern_recall(xi, cues, beta):
    hop = oh.Hopfield(xi @ xi.T, activation="softmax", beta=beta)
    ok = []
    for mu, cue in enumerate(cues):
        sol = oh.solve(hop, (0.0, 20.0), xi @ cue, t_eval=[0.0, 20.0], rtol=1e-6, atol=1e-8)
        v = special.softmax(beta * sol.y[:, -1]) @ xi
        ok.append(np.array_equal(np.sign(v), xi[mu]))
    return np.mean(ok)


def binary_recall(xi, cues):
    """Cue k is a corrupted copy of pattern k mod P."""
    hop = oh.Hopfield.from_patterns(xi, rule="hebbian", activation="sign")
    ok = []
    for k, cue in enumerate(cues):
        sol = oh.solve(hop, (0, 200), cue, method="async", seed=k, t_eval=[0, 200])
        ok.append(np.array_equal(sol.y[:, -1], xi[k % len(xi)]))
    return np.mean(ok)


def modern_panel(ax):
    n, p, n_cues = 64, 256, 64
    rng = np.random.default_rng(1)
    xi = np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)
    flips = np.arange(0, 25, 2)
    curves = {"modern, P = 256 (P/N = 4), beta = 1": [], "binary Hebbian, P = 256": [],
              "binary Hebbian, P = 6 (P/N = 0.09)": []}
    for f in flips:
        cues = np.array([corrupt(xi[mu], f, rng) for mu in range(n_cues)])
        few = np.array([corrupt(xi[k % 6], f, rng) for k in range(n_cues)])
        vals = (modern_recall(xi, cues, 1.0), binary_recall(xi, cues), binary_recall(xi[:6], few))
        for key, v in zip(curves, vals):
            curves[key].append(v)
        print(f"  {f:2d} flipped bits: modern {vals[0]:.3f}, binary P=256 {vals[1]:.3f}, "
              f"binary P=6 {vals[2]:.3f}")
    for k, (key, vals) in enumerate(curves.items()):
        ax.plot(flips, vals, "o-", ms=4, color=f"C{k}", label=key)
    ax.set_xlabel("flipped cue bits (of 64)")
    ax.set_ylabel("fraction recalled exactly")
    ax.set_title("recall with N = 64 feature units")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="center left")


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, (a, b) = figure(2)
    tanh_panel(a)
    modern_panel(b)
    save(fig, args.out, "associative_recall.png", started)


if __name__ == "__main__":
    main()
