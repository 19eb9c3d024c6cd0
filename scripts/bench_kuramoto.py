"""Case 3: the classic Kuramoto model (D = 2, natural frequencies, all-to-all).

Usage: python scripts/bench_kuramoto.py [--repeats 3] [--quick]

    d theta_i / dt = omega_i + K / (N - 1) sum_{j != i} sin(theta_j - theta_i)

which is oscihop's ``Kuramoto(2, coupling="mean-field", strength=K N / (N - 1), omega=omega)``
on unit vectors ``x_i = (cos theta_i, sin theta_i)``, evaluated in O(N D).

Peers:

- the ``kuramoto`` package (PyPI, 0.4): ``odeint`` (LSODA, rtol = atol = 1.49e-8) with an
  N x N ``meshgrid`` right-hand side.  It runs where N x N fits (N = 1,000 here); oscihop
  integrates to the same outputs with DOP853 at the same tolerances.
- a vectorised NumPy RK4 of the same equations on unit vectors (mean field in O(N D),
  renormalised after each step, like oscihop's ``method="RK4"``), N = 1,000 to 100,000.
"""

from __future__ import annotations

import argparse

import numpy as np

import oscihop as oh
from bench_common import Row, interleaved, max_abs_diff, print_rows

K_COUPLING = 1.5


def classic_model(n, seed=0):
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal(n)
    theta0 = 2 * np.pi * rng.random(n)
    kur = oh.Kuramoto(2, coupling="mean-field", strength=K_COUPLING * n / (n - 1), n=n, omega=omega)
    y0 = np.stack([np.cos(theta0), np.sin(theta0)], axis=1).ravel()
    return kur, omega, theta0, y0


def numpy_rk4(omega, y0, dt, steps, k_over_n):
    """Fixed-step RK4 on unit vectors, renormalised after each step (NumPy, vectorised)."""
    n = omega.shape[0]

    def f(x):
        force = k_over_n * (x.sum(axis=0) - x)
        force -= np.sum(force * x, axis=1, keepdims=True) * x
        force[:, 0] -= omega * x[:, 1]
        force[:, 1] += omega * x[:, 0]
        return force

    x = y0.reshape(n, 2).copy()
    for _ in range(steps):
        k1 = f(x)
        k2 = f(x + 0.5 * dt * k1)
        k3 = f(x + 0.5 * dt * k2)
        k4 = f(x + dt * k3)
        x += dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.ravel()


def rk4_case(n, repeats, t1=1.0, dt=0.01):
    kur, omega, _, y0 = classic_model(n)
    steps = int(round(t1 / dt))

    def ours():
        return oh.solve(kur, (0.0, t1), y0, method="RK4", dt=dt, t_eval=[0.0, t1]).y[:, -1]

    t_oh, t_np, a, b = interleaved(ours, lambda: numpy_rk4(omega, y0, dt, steps, K_COUPLING / (n - 1)), repeats)
    updates = 4 * steps * n
    return Row("3", f"classic Kuramoto N={n:,}, RK4 dt=0.01, t in [0, 1]", t_oh, "NumPy RK4 (vectorised)", t_np,
               max_abs_diff(a, b), 1e-8, metric=f"{updates / t_oh / 1e6:.0f} M oscillator-updates/s")


def package_case(n, repeats, t1=2.0, dt=0.01):
    try:
        from kuramoto import Kuramoto as PkgKuramoto
    except ImportError as exc:
        return Row("3", f"classic Kuramoto N={n}", note=f"kuramoto package missing: {exc}")
    kur, omega, theta0, y0 = classic_model(n)
    model = PkgKuramoto(coupling=K_COUPLING, dt=dt, T=t1, natfreqs=omega)
    adj = np.ones((n, n)) - np.eye(n)
    t_grid = np.linspace(0, t1, int(t1 / dt))
    tol = 1.49012e-8  # odeint's default rtol and atol, which the package uses

    def ours():
        sol = oh.solve(kur, (0.0, t1), y0, method="DOP853" if "DOP853" in oh.METHODS else "RK45",
                       rtol=tol, atol=tol, t_eval=t_grid)
        x = sol.y.reshape(n, 2, -1)
        return np.arctan2(x[:, 1], x[:, 0])

    t_oh, t_pk, th_oh, th_pk = interleaved(ours, lambda: model.run(adj_mat=adj, angles_vec=theta0), repeats)
    wrapped = np.angle(np.exp(1j * (th_oh - th_pk)))
    return Row("3", f"classic Kuramoto N={n:,}, t in [0, {t1:g}], {t_grid.size} outputs, rtol=atol=1.5e-8", t_oh,
               "kuramoto 0.4 (odeint LSODA)", t_pk, max_abs_diff(wrapped, np.zeros_like(wrapped)), 1e-5,
               note="oscihop DOP853" if "DOP853" in oh.METHODS else "oscihop RK45")


def run(repeats=3, quick=False):
    rows = [package_case(1000, max(1, repeats - 1))]
    for n in ((1000, 10_000) if quick else (1000, 10_000, 100_000)):
        rows.append(rk4_case(n, repeats))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_rows(run(args.repeats, args.quick))


if __name__ == "__main__":
    main()
