"""The main job: a Hopfield-Kuramoto associative-memory demo on local defaults."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .graph import watts_strogatz_edges
from .models import Hopfield, HopfieldKuramoto, Kuramoto
from .solvers import solve


def run_demo(n=200, patterns=5, dim=3, noise=0.25, alpha=0.5, t_end=20.0, method="Tsit5", seed=0, rtol=1e-6,
             atol=1e-9, out=print, out_dir=None):
    """Recall a stored pattern from a corrupted cue, with and without oscillators.

    Stores ``patterns`` random +-1 patterns in a Hebbian Hopfield network (kept as a
    low-rank factor), binds it to Kuramoto oscillators on S^(dim-1) coupled on a
    Watts-Strogatz graph, starts from a cue with a fraction ``noise`` of flipped
    units and integrates both the plain and the coupled model.  Reports the overlap
    with the stored pattern, the energy (which must never increase) and the rank of
    the oscillators' correction to the weights.

    The energy check allows only the integration error: ``10 rtol |E|``.

    Parameters
    ----------
    n, patterns, dim : int
        Units, stored patterns, oscillator dimension D.
    noise : float
        Fraction of the cue's units flipped.
    alpha : float
        HK coupling; every pair gets ``a = alpha / n``.
    t_end, method, seed, rtol, atol
        Integration span, method, random seed and tolerances.
    out : callable, default print
        Receives each line of the report.
    out_dir : str or Path, optional
        When given, the coupled run is written there as a zarr trajectory store
        (``demo.zarr``, replaced if present) with PNG figures of its energy, order
        parameter, oscillators and pattern overlaps, and the report says where.

    Returns
    -------
    dict
        ``overlap_hopfield``, ``overlap_coupled``, ``energy_monotone``, ``rank``,
        ``seconds`` and the two solutions (``hopfield``, ``coupled``); with
        ``out_dir`` also ``store`` (Path) and ``figures`` (list of Path).
    """
    rng = np.random.default_rng(seed)
    xi = np.where(rng.random((patterns, n)) < 0.5, -1.0, 1.0)
    # Hebbian rule kept as the low-rank factor LowRank(xi, 1/n); the model also keeps xi (overlaps)
    hop = Hopfield.from_patterns(xi, rule="hebbian", activation="tanh", beta=4.0)
    edges = watts_strogatz_edges(n, 10, 0.1, seed=rng)
    kur = Kuramoto(dim, edges=edges, coupling=0.2)
    hk = HopfieldKuramoto(hop, kur, "all", alpha=alpha / n, mode="additive", kappa_h=1.0, kappa_k=1.0)

    cue = xi[0].copy()
    flip = rng.choice(n, int(noise * n), replace=False)
    cue[flip] *= -1
    x0 = rng.standard_normal((n, dim))
    x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
    t_eval = np.linspace(0.0, t_end, 41)

    start = time.perf_counter()
    sol_h = solve(hop, (0.0, t_end), 0.2 * cue, method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    sol_hk = solve(hk, (0.0, t_end), hk.pack(h=0.2 * cue, x=x0), method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    seconds = time.perf_counter() - start

    def overlap(h):
        return float(np.tanh(4.0 * h) @ xi[0] / n)

    m_h = overlap(sol_h.y[:, -1])
    m_hk = overlap(hk.unpack(sol_hk.y[:, -1]).h)
    # integration error at the outputs (rtol) is the only allowed slack
    tol = 10 * rtol * np.maximum(1.0, np.abs(sol_hk.energy[:-1]))
    monotone = bool(np.all(np.diff(sol_hk.energy) <= tol))
    factor = hk.correction_factor(sol_hk.y[:, -1])
    rank = int(np.linalg.matrix_rank(factor.factor))
    corr_norm = float(np.linalg.norm(hk.hk_correction(sol_hk.y[:, -1])))

    out(f"oscihop demo: Hopfield-Kuramoto associative memory (N={n}, P={patterns}, D={dim}, method={method})")
    out(f"  cue: pattern 0 with {len(flip)} of {n} units flipped (overlap {cue @ xi[0] / n:+.3f})")
    out(f"  Hopfield alone     -> overlap {m_h:+.3f}, energy {sol_h.energy[0]:.3f} -> {sol_h.energy[-1]:.3f}")
    out(f"  Hopfield-Kuramoto  -> overlap {m_hk:+.3f}, energy {sol_hk.energy[0]:.3f} -> {sol_hk.energy[-1]:.3f}")
    out(f"  energy non-increasing along the coupled run: {monotone} (model.is_lyapunov = {hk.is_lyapunov})")
    out(f"  oscillator correction to W: rank {rank} (<= D = {dim}), Frobenius norm {corr_norm:.3f}")
    out(f"  {sol_h.nfev + sol_hk.nfev} right-hand side evaluations in {seconds:.2f} s (compilation included on first run)")
    res = dict(overlap_hopfield=m_h, overlap_coupled=m_hk, energy_monotone=monotone, rank=rank,
               seconds=seconds, hopfield=sol_h, coupled=sol_hk)
    if out_dir is not None:
        res.update(write_outputs(sol_hk, out_dir))
        out(f"  wrote the coupled trajectory (zarr store): {res['store']}")
        out(f"  wrote {len(res['figures'])} figures (PNG) to {Path(out_dir)}: "
            + ", ".join(p.name for p in res["figures"]))
    return res


def write_outputs(sol, out_dir, name="demo"):
    """Write a solution as ``<out_dir>/<name>.zarr`` (replacing it) plus PNG figures.

    Parameters
    ----------
    sol : Solution
    out_dir : str or Path
        Created if missing.
    name : str, default "demo"

    Returns
    -------
    dict
        ``store`` (Path of the zarr store) and ``figures`` (list of PNG paths).
    """
    from .plots import save_figures

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store = out_dir / f"{name}.zarr"
    sol.to_zarr(str(store), mode="w")
    figures = save_figures(sol.to_xarray(), out_dir)
    return dict(store=store, figures=figures)
