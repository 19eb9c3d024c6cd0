"""Experiment 3: the energy of every trained model never increases along its runs, and the
oscillators' correction to the Hopfield weights is low rank.

For each trained model of experiments 1 and 2 (reused from ``--checkpoints`` when there, trained
otherwise), test images are run well past the training horizon (t in [0, 10], tight tolerances,
201 outputs) and the largest energy increase between consecutive outputs is reported, next to
``model.is_lyapunov``.  For the coupled models the correction ``W_eff - W = M o (a x x^T) / kappa_h``
at the end of each run is measured: numerical rank (singular values above 1e-8 of the largest)
and Frobenius norm relative to ``|W|_F``.  Writes ``energy.md`` and ``energy.png``::

    python scripts/exp_energy.py                    # -> docs/figures/learning/
    python scripts/exp_energy.py --quick --out /tmp/learning
"""

from __future__ import annotations

import numpy as np

import exp_common as C
import oscihop as oh

T_CHECK = (0.0, 10.0)
TIGHT = {"method": "Tsit5", "rtol": 1e-9, "atol": 1e-11}


def runs(model, encode, X, x0=None):
    from oscihop.training.evaluation import _initial

    y0 = _initial(model, encode, X, x0)
    t = np.linspace(*T_CHECK, 201)
    sol = oh.solve(model, T_CHECK, y0, t_eval=t, **TIGHT)
    assert np.all(sol.success), sol.message
    return t, sol.energy, sol.y[:, :, -1]


def correction_stats(model, y_final):
    """(max numerical rank, mean |W_eff - W|_F / |W|_F) over the final states."""
    w_norm = np.linalg.norm(model.hopfield.weights_dense())
    ranks, norms = [], []
    for y in y_final:
        corr = model.hk_correction(y)
        if model.all_to_all and model.mode == "additive":
            corr = corr + model.alpha / model.kappa_h * np.eye(len(corr))  # restore the removed diagonal
        sv = np.linalg.svd(corr, compute_uv=False)
        ranks.append(int(np.sum(sv > 1e-8 * sv[0])) if sv[0] > 0 else 0)
        norms.append(np.linalg.norm(corr) / w_norm)
    return max(ranks), float(np.mean(norms))


def main():
    args = C.parse_args(__doc__)
    s = args.settings
    d = C.data(s)
    n_runs = 2 if s.quick else 16
    X = d.X_test[:n_runs]
    cases = []
    for kind in C.KINDS:
        res, loss, encode = C.train_classifier(kind, args, d)
        cases.append((C.LABELS[kind], res.model, encode, None))
        if kind == "hopfield":
            hop = res.model
    for task in C.TASKS:
        for mode in C.MODES:
            res, _, encode = C.train_editor(hop, task, mode, args, d)
            cases.append((f"edit {task}, HK {mode}", res.model, encode, res.x0))
    rows = []
    fig, axes = C.figure(2)
    for k, (name, model, encode, x0) in enumerate(cases):
        t, energy, y_final = runs(model, encode, X, x0)
        rise = float(np.max(np.diff(energy, axis=1)))
        scale = float(np.max(np.abs(energy)))
        verdict = "never increases" if rise <= 1e-9 * max(scale, 1.0) else "INCREASES"
        rank = norm = "-"
        if isinstance(model, oh.HopfieldKuramoto):
            r, nrm = correction_stats(model, y_final)
            rank, norm = str(r), f"{nrm:.3g}"
            if model.mode == "additive" and model.all_to_all:
                rank += f" (factor rank {model.correction_factor(y_final[0]).rank} = D)"
        rows.append([name, model.is_lyapunov, n_runs, f"{np.mean(energy[:, 0] - energy[:, -1]):.4g}",
                     f"{rise:.2e}", verdict, rank, norm])
        print(f"{name}: lyapunov {model.is_lyapunov}, max rise {rise:.2e} ({verdict}), correction rank {rank}, "
              f"rel. norm {norm}")
        rel = (energy - energy[:, -1:]) / np.maximum(np.abs(energy[:, :1] - energy[:, -1:]), 1e-300)
        ax = axes[0, 0] if k < len(C.KINDS) else axes[0, 1]
        ax.plot(t, np.median(rel, axis=0), "-", color=f"C{k}", label=name)
        ax.fill_between(t, rel.min(axis=0), rel.max(axis=0), color=f"C{k}", alpha=0.15)
    for ax, title in zip(axes[0], ("classifiers", "memory editors (frozen Hopfield + oscillators)")):
        ax.set(xlabel="time t", ylabel=r"$(E(t) - E(T)) / (E(0) - E(T))$", title=title, xscale="symlog")
        ax.axvline(1.0, color="k", lw=0.7, ls=":")
        ax.legend(fontsize=7)
    header = ["model", "is_lyapunov", "runs", "mean E(0) - E(10)", "max E(t_k+1) - E(t_k)", "energy",
              "rank of W_eff - W (*)", "|W_eff - W|_F / |W|_F"]
    note = (f"\nRuns from the first {n_runs} test images over t in [0, 10] (training used [0, 1]), Tsit5 with rtol 1e-9, "
            "atol 1e-11, 201 outputs. 'never increases': every step of the energy is <= 1e-9 max |E|. The rank and "
            "norm of the oscillators' correction are taken at t = 10 (largest rank and mean norm over the runs). (*) For the all-to-all additive coupling the rank is that of "
            "(alpha / kappa_h) x x^T, i.e. with the removed diagonal restored "
            "(docs/theory.md §4.3: rank <= D).\n")
    C.write(args.out, "energy.md", C.markdown_table(header, rows) + note)
    C.save(fig, args.out, "energy.png")


if __name__ == "__main__":
    main()
