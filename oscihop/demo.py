"""The main job: oscillators edit which memory a frozen Hopfield network recalls.

``oscihop demo`` (and :func:`run_demo`) shows, in seconds and side by side, what the
Hopfield-Kuramoto coupling adds to a Hopfield network.  The threshold units of the
coupled model feel ``W_eff = W + (1/kappa_h) M o (a x x^T)`` (docs/theory.md): the
oscillators are a low-rank, Hebbian, LoRA-like correction of the frozen weights ``W``.
When the oscillators lock into the sign pattern of a stored memory B (``x_i = B_i e``
for one unit vector ``e``), the correction is ``(alpha/kappa_h)(B B^T - I)``: memory B
is deepened, and a cue that the Hopfield network alone completes to memory A is
completed to B instead.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ._progress import spinner
from ._validation import check_real, check_size
from .graph import watts_strogatz_edges
from .io.stores import check_writable
from .models import Hopfield, HopfieldKuramoto, Kuramoto
from .solvers import solve

__all__ = ["run_demo", "correction_spectrum", "numerical_rank", "plot_memory_edit", "write_outputs"]

#: Relative tolerance of the correction's numerical rank: singular values above
#: ``RANK_TOL`` times the largest count.
RANK_TOL = 1e-6


#: the most units the demo accepts (its memory and run time grow with n; the story needs ~200)
MAX_UNITS = 100_000

def correction_spectrum(hk, y):
    """Singular values of the low-rank part of the oscillators' correction at state ``y``.

    For ``hk_edges="all"`` and ``mode="additive"`` the correction is
    ``(alpha/kappa_h)(X X^T - I)`` (``X`` the N x D oscillator matrix; the self-pairs are
    removed, and ``|x_i| = 1``): a rank-<= D part plus a constant shift of the diagonal.
    The singular values of the rank-<= D part ``(alpha/kappa_h) X X^T`` are
    ``|alpha/kappa_h| sigma_k(X)^2``.

    Parameters
    ----------
    hk : HopfieldKuramoto
        With ``hk_edges="all"`` and ``mode="additive"``.
    y : array_like, shape (size,)

    Returns
    -------
    ndarray, shape (D,)
        Largest first.
    """
    factor = hk.correction_factor(y)  # LowRank(X^T, alpha/kappa_h): refuses other couplings
    sigma = np.linalg.svd(factor.factor, compute_uv=False)
    return np.abs(factor.scale[0]) * sigma**2


def numerical_rank(singular_values, tol=RANK_TOL):
    """How many singular values exceed ``tol`` times the largest (0 for an all-zero spectrum).

    Examples
    --------
    >>> numerical_rank([2.0, 6e-16, 1e-18])
    1
    >>> numerical_rank([1.28, 0.39, 0.33]), numerical_rank([1.0, 1e-4], tol=1e-3)
    (3, 1)
    """
    s = np.asarray(singular_values, dtype=float)
    return int(np.sum(s > tol * s.max())) if s.size and s.max() > 0 else 0


def _energy_monotone(sol, rtol):
    """Energy non-increasing between outputs, up to the integration error ``10 rtol |E|``."""
    slack = 10 * rtol * np.maximum(1.0, np.abs(sol.energy[:-1]))
    return bool(np.all(np.diff(sol.energy) <= slack))


def run_demo(n=200, patterns=5, dim=3, blend=0.3, noise=0.0, alpha=2.0, coupling=0.5, spread=0.5, t_end=20.0,
             method="Tsit5", seed=0, rtol=1e-6, atol=1e-9, out=print, out_dir=None, progress=None):
    """Memory editing by the oscillators alone, side by side with the Hopfield network.

    Stores ``patterns`` random +-1 patterns in a Hebbian Hopfield network (weights
    ``W``, kept frozen).  Memory A is pattern 0, memory B pattern 1.  The cue is A with a
    fraction ``blend`` of its units replaced by B's (and a fraction ``noise`` of all
    units flipped): closer to A, so the Hopfield network alone completes it to A.

    The coupled model binds the same network to oscillators on S^(dim-1), coupled to
    every unit with ``a_ij = alpha / n`` (additive) and to each other on a
    Watts-Strogatz graph with ``J_ij = coupling * B_i B_j``: the couplings whose ground
    state is ``x_i = B_i e`` (what training the oscillators to edit A into B finds;
    scripts/exp_memory_edit.py trains couplings, alpha and the initial oscillators).
    They start near that state (``x_i = B_i e_1`` plus Gaussian noise of scale
    ``spread``, normalised), synchronise in B's gauge (``R_B = |mean_i B_i x_i| -> 1``)
    and so turn the correction into ``(alpha/n)(B B^T - I)``: memory B deepens from
    about 1 to about ``1 + alpha`` and the same cue is completed to B.

    The report gives the overlaps with both memories for both models, whether the
    energy is non-increasing along each run (up to the integration error ``10 rtol
    |E|``, next to ``model.is_lyapunov``), the singular values of the correction's
    low-rank part with its numerical rank (those above ``RANK_TOL`` times the
    largest), the order parameters ``R = |mean_i x_i|`` and ``R_B``, and the time
    split: the first call of each solver compiles oscihop's kernels with Numba (cached
    on disk: later runs load them); the same solves are then run again, warm, and
    compile = first - warm.

    Parameters
    ----------
    n, patterns, dim : int
        Units (>= 3), stored patterns (>= 2: memories A and B), oscillator dimension D (>= 2).
    blend : float, default 0.3
        Fraction of the cue's units taken from B, in [0, 0.5].
    noise : float, default 0.0
        Fraction of the cue's units then flipped at random, in [0, 0.5].
    alpha : float, default 2.0
        HK coupling per pair ``a = alpha / n``: the correction adds about ``alpha`` to
        the depth of memory B.
    coupling : float, default 0.5
        Kuramoto coupling strength on the graph's edges.
    spread : float, default 0.5
        Noise of the initial oscillators around B's sign pattern.
    t_end, method, seed, rtol, atol
        Integration span, adaptive method, random seed and tolerances.
    out : callable, default print
        Receives each line of the report.
    out_dir : str or Path, optional
        When given: the coupled run is written to ``<out_dir>/demo.zarr`` (an existing
        oscihop store of that name is replaced; anything else there is refused) with
        PNG figures, and the report says where.
    progress : bool or None, default None
        Elapsed-seconds line on stderr while the first solves run (compile): ``None``
        only on a terminal.

    Returns
    -------
    dict
        ``overlaps_hopfield`` and ``overlaps_coupled`` (final overlaps with A and B),
        ``overlap_hopfield`` (with A) and ``overlap_coupled`` (with B),
        ``energy_monotone`` (both runs), ``energy_monotone_hopfield``,
        ``energy_monotone_coupled``, ``is_lyapunov``, ``singular_values`` (D, final),
        ``singular_values_initial``, ``spectrum`` (outputs, D), ``rank`` (final),
        ``rank_initial``, ``rank_tol``, ``order_parameter``, ``order_parameter_b``,
        ``seconds_first``, ``seconds_run``, ``seconds_compile``, the two solutions
        (``hopfield``, ``coupled``), ``hk``; with ``out_dir`` also ``store`` (Path) and
        ``figures`` (list of Path).

    Raises
    ------
    ValueError
        If ``patterns < 2``, ``n < 3``, ``dim < 2``, or ``blend``/``noise`` lie outside [0, 0.5].
    """
    patterns = check_size(patterns, "patterns", minimum=2,
                          hint="Memory A is pattern 0 and memory B pattern 1.")
    n = check_size(n, "n", minimum=3, maximum=MAX_UNITS,
                   hint="The story needs about 200 units; the demo runs in seconds up to a few thousand.")
    dim = check_size(dim, "dim", minimum=2, maximum=16, hint="Oscillators live on S^(dim-1).")
    for name, value in (("blend", blend), ("noise", noise)):
        check_real(value, name, low=0.0, high=0.5)
    if out_dir is not None:  # refuse a user's directory before the (first-run) compile and solves
        check_writable(Path(out_dir) / "demo.zarr", "trajectory", overwrite=True, name="`out_dir`/demo.zarr")
    rng = np.random.default_rng(seed)
    xi = np.where(rng.random((patterns, n)) < 0.5, -1.0, 1.0)
    mem_a, mem_b = xi[0], xi[1]
    hop = Hopfield.from_patterns(xi, rule="hebbian", activation="tanh", beta=4.0)  # W frozen from here on
    edges = np.asarray(watts_strogatz_edges(n, min(10, 2 * ((n - 1) // 2)), 0.1, seed=rng))
    kur = Kuramoto(dim, edges=edges, coupling=coupling * mem_b[edges[:, 0]] * mem_b[edges[:, 1]])
    hk = HopfieldKuramoto(hop, kur, "all", alpha=alpha / n, mode="additive", kappa_h=1.0, kappa_k=1.0)

    cue = mem_a.copy()
    taken = rng.choice(n, int(round(blend * n)), replace=False)
    cue[taken] = mem_b[taken]
    flipped = rng.choice(n, int(round(noise * n)), replace=False)
    cue[flipped] *= -1
    x0 = mem_b[:, None] * np.eye(dim)[0] + spread * rng.standard_normal((n, dim))
    x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
    t_eval = np.linspace(0.0, t_end, 81)
    kw = dict(method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    y0_h, y0_hk = 0.2 * cue, hk.pack(h=0.2 * cue, x=x0)

    def both():
        return (solve(hop, (0.0, t_end), y0_h, **kw), solve(hk, (0.0, t_end), y0_hk, **kw))

    out(f"oscihop demo: memory editing by oscillators (N={n}, P={patterns} Hebbian memories, D={dim}, "
        f"method={method}, seed={seed})")
    out("  first call: Numba compiles oscihop's solver kernels (tens of seconds on a first run; cached on disk, "
        "later runs load them in about a second)")
    start = time.perf_counter()
    with spinner("compiling and solving", enabled=progress):
        sol_h, sol_hk = both()
    first = time.perf_counter() - start
    start = time.perf_counter()
    sol_h, sol_hk = both()  # warm: the same solves with the compiled kernels
    warm = time.perf_counter() - start

    m_h = hop.overlaps(sol_h.y[:, -1])[:2]
    m_hk = hk.overlaps(sol_hk.y[:, -1])[:2]
    mono_h, mono_hk = _energy_monotone(sol_h, rtol), _energy_monotone(sol_hk, rtol)
    spectrum = np.array([correction_spectrum(hk, y) for y in sol_hk.y.T])
    rank0, rank1 = numerical_rank(spectrum[0]), numerical_rank(spectrum[-1])
    x_end = hk.unpack(sol_hk.y[:, -1]).x
    r_plain = hk.order_parameter(sol_hk.y[:, -1])
    r_b = float(np.linalg.norm((mem_b[:, None] * x_end).mean(axis=0)))

    def pair(m):
        return f"A {m[0]:+.3f}, B {m[1]:+.3f}"

    def values(s):
        return ", ".join(f"{v:.2e}" for v in s)

    out(f"  memories A = pattern 0, B = pattern 1; cue: A with {len(taken)} of {n} units taken from B"
        + (f" and {len(flipped)} flipped" if len(flipped) else "")
        + f" (overlap {pair(xi[:2] @ cue / n)})")
    out(f"  Hopfield alone (W frozen)      -> overlap {pair(m_h)}: recalls {_recalled(m_h)}")
    out(f"  with oscillators (same W)      -> overlap {pair(m_hk)}: recalls {_recalled(m_hk)}")
    out(f"  energy non-increasing along the Hopfield run: {mono_h} (model.is_lyapunov = {hop.is_lyapunov})")
    out(f"  energy non-increasing along the coupled run: {mono_hk} (model.is_lyapunov = {hk.is_lyapunov})")
    out(f"  correction (alpha/N)(X X^T - I), singular values of (alpha/N) X X^T: t=0 [{values(spectrum[0])}], "
        f"t={t_end:g} [{values(spectrum[-1])}]")
    out(f"  numerical rank (singular values > {RANK_TOL:g} x largest): {rank0} at t=0 -> {rank1} at t={t_end:g} "
        f"(<= D = {dim})")
    out(f"  oscillators: R = |mean x_i| = {r_plain:.3f}; in B's gauge R_B = |mean B_i x_i| = {r_b:.3f} "
        "(1: x_i = B_i e, the correction is (alpha/N)(B B^T - I))")
    out(f"  time: compile {max(first - warm, 0.0):.2f} s, run {warm:.3f} s (measured: first call {first:.2f} s, "
        "then the same solves again, warm; compile = first - warm, a cache load when already compiled)")
    res = dict(overlaps_hopfield=m_h, overlaps_coupled=m_hk, overlap_hopfield=float(m_h[0]),
               overlap_coupled=float(m_hk[1]), energy_monotone=mono_h and mono_hk, energy_monotone_hopfield=mono_h,
               energy_monotone_coupled=mono_hk, is_lyapunov=hop.is_lyapunov and hk.is_lyapunov,
               singular_values=spectrum[-1], singular_values_initial=spectrum[0], spectrum=spectrum, rank=rank1,
               rank_initial=rank0, rank_tol=RANK_TOL, order_parameter=r_plain, order_parameter_b=r_b,
               seconds_first=first, seconds_run=warm, seconds_compile=max(first - warm, 0.0),
               hopfield=sol_h, coupled=sol_hk, hk=hk)
    if out_dir is not None:
        res.update(write_outputs(sol_hk, out_dir))
        fig = plot_memory_edit(sol_h, sol_hk, hk, spectrum)
        res["figures"].append(Path(out_dir) / "memory_edit.png")
        fig.savefig(res["figures"][-1], dpi=110)
        out(f"  wrote the coupled trajectory (zarr store): {res['store']}")
        out(f"  wrote {len(res['figures'])} figures (PNG) to {Path(out_dir)}: "
            + ", ".join(p.name for p in res["figures"]))
    return res


def _recalled(m, threshold=0.9):
    best = int(np.argmax(np.abs(m)))
    name = "AB"[best]
    if abs(m[best]) < threshold:
        return "neither"
    return name if m[best] > 0 else f"-{name} (the mirror of {name})"


def plot_memory_edit(sol_hopfield, sol_coupled, hk, spectrum):
    """The demo's figure: overlaps with A and B for both models, the correction's spectrum and memory depths.

    Parameters
    ----------
    sol_hopfield, sol_coupled : Solution
        The Hopfield-alone and coupled runs (same outputs, patterns 0 = A and 1 = B).
    hk : HopfieldKuramoto
        The coupled model.
    spectrum : ndarray, shape (outputs, D)
        :func:`correction_spectrum` at every output.

    Returns
    -------
    matplotlib.figure.Figure
        Four panels: overlaps (Hopfield alone), overlaps (with oscillators), the
        correction's singular values against time (log scale, with the rank
        tolerance), and each memory's depth ``xi^T W xi / N`` under ``W`` and under
        ``W_eff`` at the end.
    """
    from matplotlib.figure import Figure

    from .plots import plot_overlaps

    fig = Figure(figsize=(11.0, 7.6), layout="constrained")
    axes = fig.subplots(2, 2)
    for ax, sol, title in ((axes[0, 0], sol_hopfield, "Hopfield alone (W frozen)"),
                           (axes[0, 1], sol_coupled, "with oscillators (same W)")):
        ds = sol.to_xarray().isel(pattern=[0, 1]).assign_coords(pattern=["A", "B"])
        plot_overlaps(ds, ax=ax)
        ax.set_title(f"{title}: overlap with memories A and B")
    ax = axes[1, 0]
    t = np.asarray(sol_coupled.t)
    for k in range(spectrum.shape[1]):
        ax.semilogy(t, np.maximum(spectrum[:, k], 1e-300), lw=1.4, label=f"singular value {k + 1}")
    ax.semilogy(t, RANK_TOL * spectrum.max(axis=1), "k--", lw=0.9, label=f"rank tolerance ({RANK_TOL:g} x largest)")
    ax.set_ylim(max(1e-18, float(spectrum[spectrum > 0].min()) / 10), 10 * float(spectrum.max()))
    ax.set_xlabel("time")
    ax.set_ylabel("singular value")
    ax.set_title("correction (alpha/N) X X^T: rank D -> 1 as the oscillators lock")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    ax = axes[1, 1]
    xi = hk.hopfield.patterns
    n = xi.shape[1]
    depth_w = np.einsum("pi,ij,pj->p", xi, hk.hopfield.weights_dense(), xi) / n
    depth_eff = np.einsum("pi,ij,pj->p", xi, hk.effective_weights(sol_coupled.y[:, -1]), xi) / n
    pos = np.arange(len(xi))
    ax.bar(pos - 0.2, depth_w, 0.4, label="W (Hopfield weights)", color="0.6")
    ax.bar(pos + 0.2, depth_eff, 0.4, label="W_eff = W + correction (end)", color="C1")
    ax.set_xticks(pos, ["A", "B"] + [str(k) for k in range(2, len(xi))])
    ax.set_xlabel("stored pattern")
    ax.set_ylabel("depth xi^T W xi / N")
    ax.set_title("the correction deepens memory B")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return fig


def write_outputs(sol, out_dir, name="demo"):
    """Write a solution as ``<out_dir>/<name>.zarr`` plus PNG figures of it.

    The store is written with ``mode="w"``: an oscihop trajectory store of that name is
    replaced; nothing is deleted here beforehand (a directory that is not an oscihop
    store is refused by :meth:`Solution.to_zarr`).

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
