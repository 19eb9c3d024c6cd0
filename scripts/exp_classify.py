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

import numpy as np

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
        m = res.metrics
        train_acc = C.accuracy(res.model, loss, encode, d.X_train, d.y_train)
        test_acc = C.accuracy(res.model, loss, encode, d.X_test, d.y_test)
        n_params = sum(int(np.size(v)) for k, v in res.params.items())
        train_time = float(m.wall_time.sum())
        rows.append([C.LABELS[kind], res.model.n, n_params, int(m.sizes["epoch"]), f"{train_acc:.3f}",
                     f"{test_acc:.3f}", f"{train_time:.1f}", f"{train_time / m.sizes['epoch']:.1f}"])
        curves[kind] = m
        print(f"{kind}: train {train_acc:.3f} test {test_acc:.3f} training {train_time:.1f} s "
              f"(script time {C.now() - t0:.1f} s, resumed from epoch {res.resumed_from})")
    header = ["model", "units N", "trained parameters", "epochs", "train accuracy", "test accuracy",
              "training time (s)", "s / epoch"]
    note = (f"\nDigits (8 x 8), {len(d.y_train)} training and {len(d.y_test)} test images, {s.n_hidden} hidden units, "
            f"batch {s.batch_size}, Adam, cosine schedule from lr {s.lr}; t in [0, 1], Tsit5 (rtol 1e-3, atol 1e-6). "
            "Training time: the gradient steps only (no evaluation), on this machine.\n")
    C.write(args.out, "classify.md", C.markdown_table(header, rows) + note)

    fig, axes = C.figure(2)
    for kind, m in curves.items():
        axes[0, 0].plot(m.epoch, m.loss, "o-", ms=3, label=C.LABELS[kind])
        axes[0, 1].plot(m.epoch, m.test_accuracy, "o-", ms=3, label=C.LABELS[kind])
    axes[0, 0].set(xlabel="epoch", ylabel="training loss (squared error)", title="loss")
    axes[0, 1].set(xlabel="epoch", ylabel="test accuracy", title="test accuracy", ylim=(0, 1))
    axes[0, 1].legend()
    C.save(fig, args.out, "classify.png")


if __name__ == "__main__":
    main()
