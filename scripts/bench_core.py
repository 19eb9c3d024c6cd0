"""Side-by-side timing of oh.solve against scipy.integrate.solve_ivp (same run, same machine).

Usage: python scripts/bench_core.py [--repeats 5]

Each case integrates the same model with the same method and tolerances in oscihop
and in scipy (with a vectorised NumPy right-hand side, the way a user would write it),
checks the answers agree, and prints median wall times and their ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.integrate import solve_ivp

import oscihop as oh


def median_time(fn, repeats):
    times = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def hopfield_case(n, repeats, rng):
    w = rng.standard_normal((n, n)) / np.sqrt(n)
    w = (w + w.T) / 2
    b = 0.1 * rng.standard_normal(n)
    hop = oh.Hopfield(w, bias=b, activation="tanh", beta=2.0)
    y0 = rng.standard_normal(n)
    t_eval = np.linspace(0, 10, 21)

    def numpy_rhs(t, h):
        return w @ np.tanh(2.0 * h) - h + b

    kw = dict(rtol=1e-6, atol=1e-9, t_eval=t_eval)
    oh.solve(hop, (0, 10), y0, method="RK45", **kw)  # compile
    t_oh, sol = median_time(lambda: oh.solve(hop, (0, 10), y0, method="RK45", **kw), repeats)
    t_sp, ref = median_time(lambda: solve_ivp(numpy_rhs, (0, 10), y0, method="RK45", **kw), repeats)
    err = float(np.max(np.abs(sol.y - ref.y)))
    return f"Hopfield tanh dense N={n}, RK45 rtol 1e-6", t_oh, t_sp, err, sol.nfev, ref.nfev


def kuramoto_case(n, repeats, rng):
    omega = rng.standard_normal(n)
    kur = oh.Kuramoto(2, coupling="mean-field", strength=2.0, n=n, omega=omega)
    y0 = kur.random_state(seed=1)
    t_eval = np.linspace(0, 10, 21)

    def numpy_rhs(t, y):
        x = y.reshape(n, 2)
        f = (2.0 / n) * (x.sum(0) - x)
        f -= np.sum(f * x, axis=1, keepdims=True) * x
        f += omega[:, None] * np.stack([-x[:, 1], x[:, 0]], axis=1)
        return f.ravel()

    kw = dict(rtol=1e-6, atol=1e-9, t_eval=t_eval)
    oh.solve(kur, (0, 10), y0, method="RK45", **kw)
    t_oh, sol = median_time(lambda: oh.solve(kur, (0, 10), y0, method="RK45", **kw), repeats)
    t_sp, ref = median_time(lambda: solve_ivp(numpy_rhs, (0, 10), y0, method="RK45", **kw), repeats)
    err = float(np.max(np.abs(sol.y - ref.y)))
    return f"Kuramoto D=2 mean-field N={n}, RK45 rtol 1e-6", t_oh, t_sp, err, sol.nfev, ref.nfev


def batch_case(n, batch, repeats, rng):
    xi = np.where(rng.random((5, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=4.0)
    kur = oh.Kuramoto(3, edges=oh.watts_strogatz_edges(n, 6, 0.1, seed=0), coupling=0.5)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=1.0 / n, mode="additive")
    y0 = hk.random_state(seed=2, batch=batch)
    kw = dict(rtol=1e-3, atol=1e-6, t_eval=[0.0, 1.0])
    oh.solve(hk, (0, 1), y0[:2], method="RK45", **kw)
    t_oh, sol = median_time(lambda: oh.solve(hk, (0, 1), y0, method="RK45", **kw), repeats)

    def scipy_loop():
        return np.stack([solve_ivp(hk.rhs, (0, 1), y, method="RK45", **kw).y for y in y0])

    t_sp, ref = median_time(scipy_loop, max(1, repeats // 2))
    err = float(np.max(np.abs(sol.y - ref)))
    return (f"HK batch B={batch}, N={n}, D=3, RK45 rtol 1e-3 (scipy: loop over solve_ivp(model.rhs))",
            t_oh, t_sp, err, int(sol.nfev.sum()), -1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [hopfield_case(10, args.repeats, rng), hopfield_case(100, args.repeats, rng),
            hopfield_case(1000, args.repeats, rng), kuramoto_case(100, args.repeats, rng),
            kuramoto_case(1000, args.repeats, rng), batch_case(100, 100, args.repeats, rng)]
    print(f"threads: {oh.config.num_threads()}")
    print("| case | oscihop (s) | scipy (s) | speed-up | max abs diff | nfev oscihop / scipy |")
    print("|---|---|---|---|---|---|")
    for name, t_oh, t_sp, err, nf_oh, nf_sp in rows:
        print(f"| {name} | {t_oh:.4g} | {t_sp:.4g} | {t_sp / t_oh:.1f}x | {err:.1e} | {nf_oh} / {nf_sp if nf_sp >= 0 else '-'} |")


if __name__ == "__main__":
    main()
