"""Lyapunov map: where the energy of Kuramoto oscillators stops decreasing, against theory.

Regenerates ``docs/figures/lyapunov_map.png``::

    python scripts/gallery_lyapunov_map.py

N = 16 oscillators, all-to-all coupling K/N with K = 1, per-unit natural frequencies of
spread sigma (D = 2: omega_i = sigma times the normal quantiles (i + 1/2)/N; D = 3: Omega_i
= sigma A_i with A_i antisymmetric, entries N(0, 1/2), seed 0), integrated with a fixed step
dt: Euler for D = 2, AKOrN for D = 3. One ``oh.sweep`` per step size dt (dt is a solve
option) over sigma and eight random starts, with ``reduce="energy_increase"``: the largest
energy increase between consecutive steps relative to ``atol + rtol |E|`` (1e-9, 1e-6),
maximised over the starts. Values <= 1 (white to blue) mean the energy never rose by more
than the tolerance.

The theory (docs/theory.md) guarantees a non-increasing energy only on sigma = 0 (gradient
flow: natural frequencies make the flow non-gradient) and for dt <= ``model.step_bound()``
(the descent-lemma bound, drawn as the black frame around that part of the sigma = 0 row).
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import xarray as xr
from matplotlib.colors import LogNorm
from scipy import stats

import oscihop as oh
from gallery_common import figure, parse_args, save

N, K = 16, 1.0
SIGMAS = [0.0, 0.001, 0.01, 0.03, 0.1, 0.3, 1.0]
STEPS = np.geomspace(0.02, 2.5, 10)
SEEDS = list(range(8))
T_END = 10.0


def build(sigma, seed, dim=2):
    """One sweep point: the mean-field Kuramoto model with natural frequencies of spread ``sigma``."""
    omega = None
    if sigma > 0:
        if dim == 2:
            omega = sigma * stats.norm.ppf((np.arange(N) + 0.5) / N)
        else:
            a = np.random.default_rng(0).standard_normal((N, dim, dim)) / 2
            omega = sigma * (a - np.swapaxes(a, 1, 2))
    kur = oh.Kuramoto(dim, coupling="mean-field", strength=K, n=N, omega=omega)
    return kur, kur.random_state(seed=int(seed))


def build_d3(sigma, seed):
    return build(sigma, seed, dim=3)


def lyapunov_map(build_fn, method, workdir):
    """energy_increase (sigma, dt), maximised over the starts: one sweep per step size."""
    maps = []
    for dt in STEPS:
        ds = oh.sweep(build_fn, grid={"sigma": SIGMAS, "seed": SEEDS}, store=f"{workdir}/{method}_{dt:.4g}.zarr",
                      t_span=(0.0, T_END), method=method, dt=float(dt), reduce="energy_increase", workers=1,
                      progress=False)
        maps.append(ds["energy_increase"].max("seed").load())
    return xr.concat(maps, dim=xr.DataArray(STEPS, dims="dt", name="dt"))


def panel(ax, fig, data, bound, title):
    raw = np.asarray(data.transpose("sigma", "dt").values, dtype=float)
    top = max(1e3, float(np.nanmax(raw)))
    # a log range symmetric about 1 (the tolerance), so that 1 is the white middle of the colormap;
    # decreases (values <= 0) are drawn at the bottom of the range
    values = np.clip(raw, 1.0 / top, None)
    norm = LogNorm(vmin=1.0 / top, vmax=top)
    im = ax.imshow(values, origin="lower", aspect="auto", cmap="RdBu_r", norm=norm, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="energy_increase (max over starts)")
    ax.set_xticks(range(len(STEPS)), [f"{dt:.2g}" for dt in STEPS], rotation=45)
    ax.set_yticks(range(len(SIGMAS)), [f"{s:g}" for s in SIGMAS])
    ax.grid(False)
    ax.set_xlabel("step size dt")
    ax.set_ylabel(r"natural-frequency spread $\sigma$")
    # theory: sigma = 0 and dt <= step_bound, in cell coordinates (log dt between cell centres)
    x_bound = np.interp(np.log(bound), np.log(STEPS), np.arange(len(STEPS)))
    if bound < STEPS[0]:
        x_bound = -0.5
    ax.plot([-0.5, x_bound, x_bound, -0.5, -0.5], [-0.5, -0.5, 0.5, 0.5, -0.5], "k-", lw=2.2,
            label=rf"theory: $\sigma = 0$, dt $\leq$ step_bound = {bound:.3g}")
    ax.axvline(x_bound, color="k", lw=0.8, ls="--")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    ax.set_title(title)
    ok = raw <= 1
    print(f"  {title}: step_bound = {bound:.4g}; cells with no increase beyond tolerance: {int(ok.sum())} of "
          f"{ok.size}. Rows sigma, columns dt = {np.round(STEPS, 3).tolist()}; + an increase, . none:")
    for sigma, row in zip(SIGMAS, ok):
        print(f"    sigma = {sigma:<6g} " + " ".join("." if o else "+" for o in row))


def main():
    args = parse_args(__doc__)
    started = time.perf_counter()
    fig, axes = figure(2, width=5.2, height=4.4)
    with tempfile.TemporaryDirectory() as workdir:
        for ax, build_fn, method, dim in ((axes[0], build, "Euler", 2), (axes[1], build_d3, "AKOrN", 3)):
            data = lyapunov_map(build_fn, method, workdir)
            bound = float(build_fn(0.0, 0)[0].step_bound())
            panel(ax, fig, data, bound, f"Kuramoto D = {dim}, {method}, N = {N}, K = {K:g}")
    n_points = 2 * len(STEPS) * len(SIGMAS) * len(SEEDS)
    print(f"  {n_points} sweep points")
    save(fig, args.out, "lyapunov_map.png", started)


if __name__ == "__main__":
    main()
