"""Experiment 1b: digit classification with layered AKOrN networks (oscihop.networks).

Two networks of the form of AKOrN's classifiers, each an encoder, two Kuramoto layers of T AKOrN
steps joined by norm read-outs, and a linear decoder, trained end to end through every step
(gradients by oh.value_and_grad's adjoint on each layer's stack of samples) with the softmax
cross-entropy, Adam and a cosine schedule, on the same digits split as Experiment 1:

- "dense": 16 oscillators of D = 4 per layer, dense symmetric couplings, dense read-outs;
- "conv": AKOrN's convolutional form on the 8 x 8 grid, C = 16 channels (4 oscillators of
  D = 4 per pixel), 3 x 3 kernels with a bias, pointwise (1 x 1) read-outs.

Writes ``akorn_classify.md`` and ``akorn_classify.png`` (loss and test accuracy per epoch), and
saves each trained network to a zarr store (in ``--checkpoints``, with the training stores, which
are resumed; else in a temporary folder) and checks that it reads back::

    python scripts/exp_akorn_classify.py                  # -> docs/figures/learning/
    python scripts/exp_akorn_classify.py --quick --out /tmp/learning
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import exp_common as C
from oscihop.losses import CrossEntropy
from oscihop.networks import akorn_classifier, load_network

STEPS, GAMMA, LR = 4, 0.5, 0.01
FORMS = {"dense": "AKOrN, dense (2 layers)", "conv": "AKOrN, conv 8x8 (2 layers)"}


def network(form, s):
    if s.quick:
        kw = dict(n=6, dim=2) if form == "dense" else dict(dim=2, grid=(8, 8), channels=4)
    else:
        kw = dict(n=16, dim=4) if form == "dense" else dict(dim=4, grid=(8, 8), channels=16)
    return akorn_classifier(64, 10, layers=2, steps=STEPS, gamma=GAMMA, seed=s.seed, **kw)


def main():
    args = C.parse_args(__doc__)
    s = args.settings
    d = C.data(s)
    print(f"digits: {len(d.y_train)} train, {len(d.y_test)} test; settings {C.settings_line(s)}")
    loss = CrossEntropy(units=np.arange(10))
    encode = lambda x: x  # noqa: E731 - the network's encoder reads the pixels themselves
    rows, curves = [], {}
    for form, label in FORMS.items():
        net = network(form, s)
        # warm-up: compile (or load) the kernels first, so that the training time is the training's
        net.value_and_grad(loss(net, d.y_train[:2]), d.X_train[:2])
        steps = s.epochs * -(-len(d.y_train) // s.batch_size)
        t0 = C.now()
        res = C.train(net, d.X_train, d.y_train, loss, encode, epochs=s.epochs, batch_size=s.batch_size,
                      optimizer=C.Adam(), schedule=C.Cosine(LR, total_steps=steps, final_lr=0.1 * LR), seed=s.seed,
                      X_test=d.X_test, labels_test=d.y_test, eval_train=256,
                      checkpoint=C._store(args, f"akorn_{form}{'_quick' if s.quick else ''}"),
                      progress=args.progress or None)
        trained = res.model
        # the trained network in its own zarr store, read back: the same outputs bit for bit
        where = args.checkpoints or Path(tempfile.mkdtemp())
        path = where / f"akorn_{form}{'_quick' if s.quick else ''}.net.zarr"
        trained.save(path, overwrite=True)
        assert np.array_equal(load_network(path).forward(d.X_test[:8]), trained.forward(d.X_test[:8]))
        size = f"{sum(layer.n for layer in trained.layers)} (D = {trained.dim})"
        row, train_acc, test_acc, train_time = C.classification_row(label, size, res, loss, encode, d)
        rows.append(row)
        curves[form] = res.metrics
        print(f"{form}: train {train_acc:.3f} test {test_acc:.3f} training {train_time:.1f} s "
              f"(script time {C.now() - t0:.1f} s, resumed from epoch {res.resumed_from}); saved {path.name}")
    header = ["model", "oscillators (all layers)"] + C.CLASSIFY_HEADER
    note = (f"\nDigits (8 x 8), {len(d.y_train)} training and {len(d.y_test)} test images (the split of Experiment "
            f"1), batch {s.batch_size}, softmax cross-entropy, Adam, cosine schedule from lr {LR}; {STEPS} AKOrN steps "
            f"of gamma = {GAMMA} per layer. Training time: the gradient steps only (no evaluation, no compilation: a "
            "warm-up gradient runs first), on this machine.\n")
    C.write(args.out, "akorn_classify.md", C.markdown_table(header, rows) + note)
    C.plot_curves(curves, FORMS, "cross-entropy", args.out, "akorn_classify.png")


if __name__ == "__main__":
    main()
