"""Experiment 2: editing what a frozen Hopfield classifier recalls by training only oscillators.

A Hopfield classifier is trained first (experiment 1's, reused from ``--checkpoints`` when there).
Its weights and bias are then frozen, and oscillators are bound to its units through the
Hopfield-Kuramoto coupling (additive: a_ij = alpha; multiplicative: a_ij = alpha W_ij; all pairs).
Only the oscillator part is trained: the Kuramoto couplings on a small-world graph, alpha, and a
shared initial oscillator state x0 (on the sphere).  The threshold units feel
``W_eff = W + M o (a x x^T)``: a low-rank, state-dependent correction (docs/theory.md §4.3).

Two edits, each trained on relabelled training images: swap the classes 0 and 1, and merge the
class 7 into 1.  Reported on the test set: the edit success rate (edited-class images given their
new label) and the accuracy kept on the other classes, against the unedited classifier.  Writes
``memory_edit.md`` and ``memory_edit.png`` (confusion matrices)::

    python scripts/exp_memory_edit.py               # -> docs/figures/learning/
    python scripts/exp_memory_edit.py --quick --out /tmp/learning
"""

from __future__ import annotations

import numpy as np

import exp_common as C


def edit_scores(pred, y_true, mapping):
    """(edit success, kept accuracy, overall accuracy against the edited labels)."""
    edited = np.isin(y_true, list(mapping))
    new = C.relabel(y_true, mapping)
    success = float(np.mean(pred[edited] == new[edited]))
    kept = float(np.mean(pred[~edited] == y_true[~edited]))
    return success, kept, float(np.mean(pred == new))


def confusion(pred, y):
    m = np.zeros((10, 10))
    np.add.at(m, (y, pred), 1)
    return m / np.maximum(m.sum(axis=1, keepdims=True), 1)


def main():
    args = C.parse_args(__doc__)
    s = args.settings
    d = C.data(s)
    base, loss, encode = C.train_classifier("hopfield", args, d)
    hop = base.model
    base_pred = np.argmax(C.predict_scores(hop, d.X_test, loss, encode, C.T_SPAN, C.SOLVER), axis=1)
    print(f"frozen Hopfield classifier: test accuracy {np.mean(base_pred == d.y_test):.3f}")
    rows, mats = [], {}
    for task, spec in C.TASKS.items():
        mapping = spec["mapping"]
        su, ke, ov = edit_scores(base_pred, d.y_test, mapping)
        rows.append([spec["title"], "unedited Hopfield", f"{su:.3f}", f"{ke:.3f}", f"{ov:.3f}", "-", "-", "-"])
        mats[(task, "unedited")] = confusion(base_pred, d.y_test)
        for mode in C.MODES:
            res, eloss, eencode = C.train_editor(hop, task, mode, args, d)
            model = res.model
            assert np.array_equal(model.hopfield.weights, hop.weights), "the Hopfield weights must stay frozen"
            assert np.array_equal(model.hopfield.bias, hop.bias)
            pred = np.argmax(C.predict_scores(model, d.X_test, eloss, eencode, C.T_SPAN, C.SOLVER, x0=res.x0), axis=1)
            su, ke, ov = edit_scores(pred, d.y_test, mapping)
            n_params = sum(int(np.size(v)) for v in res.params.values())
            t_train = float(res.metrics.wall_time.sum())
            rows.append([spec["title"], f"HK {mode}", f"{su:.3f}", f"{ke:.3f}", f"{ov:.3f}", n_params,
                         f"{model.alpha:.3g}", f"{t_train:.1f}"])
            mats[(task, mode)] = confusion(pred, d.y_test)
            print(f"{task} {mode}: edit success {su:.3f}, kept {ke:.3f}, overall {ov:.3f}, {t_train:.1f} s")
    header = ["edit", "model", "edit success", "kept accuracy (other classes)", "accuracy (edited labels)",
              "trained parameters", "alpha", "training time (s)"]
    note = (f"\nTest set of {len(d.y_test)} images. The Hopfield weights and bias are frozen (checked bit for bit); "
            f"trained: Kuramoto couplings (small-world graph, k = 4, p = 0.2, D = {s.edit_dim}), alpha and the shared "
            f"initial oscillator state x0; {s.edit_epochs} epochs, batch {s.batch_size}, Adam, cosine schedule from "
            f"lr {s.edit_lr}.\n")
    C.write(args.out, "memory_edit.md", C.markdown_table(header, rows) + note)

    cols = ("unedited",) + C.MODES
    fig, axes = C.figure(len(cols), len(C.TASKS), width=3.0, height=3.0)
    for r, task in enumerate(C.TASKS):
        for c, col in enumerate(cols):
            ax = axes[r, c]
            ax.imshow(mats[(task, col)], vmin=0, vmax=1, cmap="viridis")
            ax.set_title(f"{C.TASKS[task]['title']}: {col}", fontsize=8)
            ax.set_xticks(range(10))
            ax.set_yticks(range(10))
            ax.grid(False)
            ax.set_xlabel("predicted")
            ax.set_ylabel("true digit")
    C.save(fig, args.out, "memory_edit.png")


if __name__ == "__main__":
    main()
