"""Experiment 1: digit classification with the Hopfield, Kuramoto and Hopfield-Kuramoto models.

Each model is trained by gradient descent through its ODE solve on t in [0, 1] (Tsit5, rtol 1e-3,
atol 1e-6; gradients by oh.value_and_grad's adjoint), with the paper's squared error of the class
read-outs against +-1 targets, Adam and a cosine learning-rate schedule.  Writes
``classify.md`` (train/test accuracy, training time) and ``classify.png`` (loss and test accuracy
per epoch)::

    python scripts/exp_classify.py                   # -> docs/figures/learning/
    python scripts/exp_classify.py --quick --out /tmp/learning
"""

from __future__ import annotations

import exp_common as C


def main():
    args = C.parse_args(__doc__)
    s = args.settings
    d = C.data(s)
    print(f"digits: {len(d.y_train)} train, {len(d.y_test)} test; settings {C.settings_line(s)}")
    rows, curves = [], {}
    for kind in C.KINDS:
        t0 = C.now()
        res, loss, encode = C.train_classifier(kind, args, d)
        row, train_acc, test_acc, train_time = C.classification_row(C.LABELS[kind], res.model.n, res, loss, encode, d)
        rows.append(row)
        curves[kind] = res.metrics
        print(f"{kind}: train {train_acc:.3f} test {test_acc:.3f} training {train_time:.1f} s "
              f"(script time {C.now() - t0:.1f} s, resumed from epoch {res.resumed_from})")
    header = ["model", "units N"] + C.CLASSIFY_HEADER
    note = (f"\nDigits (8 x 8), {len(d.y_train)} training and {len(d.y_test)} test images, {s.n_hidden} hidden units, "
            f"batch {s.batch_size}, Adam, cosine schedule from lr {s.lr}; t in [0, 1], Tsit5 (rtol 1e-3, atol 1e-6). "
            "Training time: the gradient steps only (no evaluation), on this machine.\n")
    C.write(args.out, "classify.md", C.markdown_table(header, rows) + note)
    C.plot_curves(curves, C.LABELS, "squared error", args.out, "classify.png")


if __name__ == "__main__":
    main()
