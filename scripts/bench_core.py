"""Case 2: small systems, oh.solve against scipy.integrate.solve_ivp (same run, same machine).

Usage: python scripts/bench_core.py [--repeats 7]

Each case integrates the same model with the same method and tolerances in oscihop
and in scipy (with a vectorised NumPy right-hand side, the way a user would write it),
checks the answers agree, and prints median wall times and their ratio.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.integrate import solve_ivp

import oscihop as oh
from bench_common import Row, interleaved, max_abs_diff, print_rows


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
    t_oh, t_sp, sol, ref = interleaved(lambda: oh.solve(hop, (0, 10), y0, method="RK45", **kw),
                                       lambda: solve_ivp(numpy_rhs, (0, 10), y0, method="RK45", **kw), repeats)
    row = Row("2", f"Hopfield tanh dense N={n}, RK45 rtol 1e-6, 21 outputs", t_oh, "scipy solve_ivp + NumPy rhs", t_sp,
              max_abs_diff(sol.y, ref.y), 1e-6, metric=f"nfev {sol.nfev} / {ref.nfev}")
    if n == 100:
        row.target = ">= 20x"
        row.met = row.ratio >= 20
    return row


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
    t_oh, t_sp, sol, ref = interleaved(lambda: oh.solve(kur, (0, 10), y0, method="RK45", **kw),
                                       lambda: solve_ivp(numpy_rhs, (0, 10), y0, method="RK45", **kw), repeats)
    # oscihop renormalises oscillators after each step, scipy does not: steps differ by the local error
    return Row("2", f"Kuramoto D=2 mean-field N={n}, natural frequencies, RK45 rtol 1e-6", t_oh,
               "scipy solve_ivp + NumPy rhs", t_sp, max_abs_diff(sol.y, ref.y), 1e-3,
               metric=f"nfev {sol.nfev} / {ref.nfev}")


def batch_case(n, batch, repeats, rng):
    xi = np.where(rng.random((5, n)) < 0.5, -1.0, 1.0)
    hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=4.0)
    kur = oh.Kuramoto(3, edges=oh.watts_strogatz_edges(n, 6, 0.1, seed=0), coupling=0.5)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=1.0 / n, mode="additive")
    y0 = hk.random_state(seed=2, batch=batch)
    kw = dict(rtol=1e-3, atol=1e-6, t_eval=[0.0, 1.0])

    def scipy_loop():
        return np.stack([solve_ivp(hk.rhs, (0, 1), y, method="RK45", **kw).y for y in y0])

    t_oh, t_sp, sol, ref = interleaved(lambda: oh.solve(hk, (0, 1), y0, method="RK45", **kw), scipy_loop,
                                       max(1, repeats // 2))
    return Row("2", f"HK batch B={batch}, N={n}, D=3, RK45 rtol 1e-3", t_oh,
               "loop of solve_ivp(model.rhs)", t_sp, max_abs_diff(sol.y, ref), 5e-2,
               metric=f"nfev {int(sol.nfev.sum())}")


def run(repeats=7, quick=False):
    rng = np.random.default_rng(0)
    sizes = (10, 100) if quick else (10, 100, 1000)
    rows = [hopfield_case(n, repeats, rng) for n in sizes]
    rows += [kuramoto_case(n, repeats, rng) for n in ((100,) if quick else (100, 1000))]
    rows.append(batch_case(100, 20 if quick else 100, repeats, rng))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"threads: {oh.config.num_threads()}")
    print_rows(run(args.repeats, args.quick))


if __name__ == "__main__":
    main()
