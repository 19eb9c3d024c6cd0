"""Shared set-up of the learning experiments (``scripts/exp_*.py``, docs/learning.md).

The three experiments reproduce, on scikit-learn's 8 x 8 digits and on two CPU cores, the
learning experiments of Fanaskov & Oseledets (Hopfield-Kuramoto, 2025): classification with
the Hopfield, Kuramoto and Hopfield-Kuramoto models trained through the ODE solve
(``t`` in [0, 1], Tsit5, rtol 1e-3, atol 1e-6), memory editing of a frozen Hopfield classifier
by training only oscillators, and energy checks of every trained model.

Every experiment takes ``--out DIR`` (markdown tables and PNG figures), ``--quick`` (a CI-sized
run), and ``--checkpoints DIR`` (training stores, resumed and shared between the scripts: run
``exp_classify.py`` first and the others reuse its Hopfield classifier).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from oscihop import datasets as D  # noqa: E402
from oscihop.graph import watts_strogatz_edges  # noqa: E402
from oscihop.losses import SquaredError  # noqa: E402
from oscihop.training import Adam, Cosine, evaluate, predict_scores, train  # noqa: E402, F401

FIGURES = Path(__file__).resolve().parent.parent / "docs" / "figures" / "learning"
SOLVER = {"method": "Tsit5", "rtol": 1e-3, "atol": 1e-6}
T_SPAN = (0.0, 1.0)


@dataclass
class Settings:
    """Sizes of one run: the defaults (a few minutes on 2 cores) or ``--quick`` (CI)."""

    n_train: int | None
    n_test: int | None
    n_hidden: int
    epochs: int
    edit_epochs: int
    batch_size: int
    lr: float
    edit_lr: float
    dim: int
    edit_dim: int
    seed: int
    quick: bool


def parse_args(doc, extra=None):
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIGURES, help="output folder (default docs/figures/learning)")
    parser.add_argument("--quick", action="store_true", help="a CI-sized run (seconds, not minutes)")
    parser.add_argument("--checkpoints", type=Path, default=None,
                        help="folder of training stores, resumed and shared between the experiment scripts")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of the classifiers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="progress bars")
    if extra:
        extra(parser)
    args = parser.parse_args()
    if args.quick:
        s = Settings(n_train=120, n_test=60, n_hidden=4, epochs=2, edit_epochs=1, batch_size=30, lr=0.05,
                     edit_lr=0.05, dim=2, edit_dim=3, seed=args.seed, quick=True)
    else:
        s = Settings(n_train=800, n_test=None, n_hidden=16, epochs=5, edit_epochs=4, batch_size=32, lr=0.03,
                     edit_lr=0.05, dim=2, edit_dim=4, seed=args.seed, quick=False)
    if args.epochs is not None:
        s.epochs = args.epochs
    args.settings = s
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def data(s):
    return D.load_digits(seed=s.seed, n_train=s.n_train, n_test=s.n_test)


# ------------------------------------------------------------------ classifiers
KINDS = ("hopfield", "kuramoto", "hk")
LABELS = {"hopfield": "Hopfield", "kuramoto": "Kuramoto", "hk": "Hopfield-Kuramoto"}


def layout(kind, s):
    return D.DigitsLayout(64, s.n_hidden, 10, reference=kind != "hopfield")


def classifier(kind, s):
    """(model, loss, encode) of one classifier kind."""
    lay = layout(kind, s)
    h = s.n_hidden
    if kind == "hopfield":
        return (D.hopfield_classifier(lay, seed=s.seed), SquaredError(lay.classes, read="h"),
                lambda x: D.encode_hopfield(x, h, 10))
    if kind == "kuramoto":
        return (D.kuramoto_classifier(lay, dim=s.dim, seed=s.seed),
                SquaredError(lay.classes, reference=lay.reference_index),
                lambda x: D.encode_kuramoto(x, h, 10, dim=s.dim))
    model = D.hk_classifier(lay, dim=s.dim, seed=s.seed, mode="additive", alpha=0.01)
    return model, SquaredError(lay.classes, read="h"), lambda x: D.encode_hk(x, h, 10, dim=s.dim)


def _store(args, name):
    return None if args.checkpoints is None else args.checkpoints / name


def train_classifier(kind, args, d):
    """Train (or resume from ``--checkpoints``) one classifier; returns (result, loss, encode)."""
    s = args.settings
    model, loss, encode = classifier(kind, s)
    steps = s.epochs * -(-len(d.y_train) // s.batch_size)
    res = train(model, d.X_train, d.y_train, loss, encode, epochs=s.epochs, batch_size=s.batch_size,
                optimizer=Adam(), schedule=Cosine(s.lr, total_steps=steps, final_lr=0.1 * s.lr), seed=s.seed,
                X_test=d.X_test, labels_test=d.y_test, eval_train=256, t_span=T_SPAN, solver=SOLVER,
                checkpoint=_store(args, f"{kind}{'_quick' if s.quick else ''}"), progress=args.progress or None)
    return res, loss, encode


def accuracy(model, loss, encode, X, y, x0=None):
    return evaluate(model, X, y, loss, encode, T_SPAN, SOLVER, x0=x0)


def classification_row(label, size, res, loss, encode, d):
    """A row of a classification table (label, size, parameters, epochs, accuracies, times) and
    its train and test accuracies, for a ``train`` result."""
    m = res.metrics
    train_acc = accuracy(res.model, loss, encode, d.X_train, d.y_train)
    test_acc = accuracy(res.model, loss, encode, d.X_test, d.y_test)
    n_params = sum(int(np.size(v)) for v in res.params.values())
    train_time = float(m.wall_time.sum())
    epochs = int(m.sizes["epoch"])
    row = [label, size, n_params, epochs, f"{train_acc:.3f}", f"{test_acc:.3f}", f"{train_time:.1f}",
           f"{train_time / epochs:.1f}"]
    return row, train_acc, test_acc, train_time


CLASSIFY_HEADER = ["trained parameters", "epochs", "train accuracy", "test accuracy", "training time (s)",
                   "s / epoch"]


def plot_curves(curves, labels, loss_name, out, name):
    """Training loss and test accuracy per epoch of several runs (``curves``: key -> metrics)."""
    fig, axes = figure(2)
    for key, m in curves.items():
        axes[0, 0].plot(m.epoch, m.loss, "o-", ms=3, label=labels[key])
        axes[0, 1].plot(m.epoch, m.test_accuracy, "o-", ms=3, label=labels[key])
    axes[0, 0].set(xlabel="epoch", ylabel=f"training loss ({loss_name})", title="loss")
    axes[0, 1].set(xlabel="epoch", ylabel="test accuracy", title="test accuracy", ylim=(0, 1))
    axes[0, 1].legend()
    save(fig, out, name)


# ---------------------------------------------------------------- memory editing
TASKS = {
    "swap": {"title": "swap 0 <-> 1", "mapping": {0: 1, 1: 0}},
    "merge": {"title": "merge 7 into 1", "mapping": {7: 1}},
}
MODES = ("additive", "multiplicative")


def relabel(labels, mapping):
    out = labels.copy()
    for a, b in mapping.items():
        out[labels == a] = b
    return out


def editor(hop, mode, s):
    """A coupled model on a frozen Hopfield classifier, its trainable names and starting x0."""
    lay = layout("hopfield", s)
    n = lay.n
    rng = np.random.default_rng(s.seed + 7)
    edges = watts_strogatz_edges(n, 4, 0.2, seed=s.seed)
    kur = D.kuramoto_classifier(lay, dim=s.edit_dim, seed=s.seed + 3, edges=edges, scale=0.01)
    # HK edges from every class unit to every other unit: the correction edits the class rows of W only
    hk_edges = np.array([(c, j) for c in lay.classes for j in range(n - lay.n_classes)])
    model = D.hk_classifier(lay, hop=hop, kur=kur, mode=mode, alpha=0.1, hk_edges=hk_edges)
    # LoRA-like start: class oscillators orthogonal to the others, so the correction starts at 0
    # while its gradient does not (the class units' rows move first)
    x0 = np.zeros((n, s.edit_dim))
    half = s.edit_dim // 2
    x0[: n - lay.n_classes, :half] = rng.standard_normal((n - lay.n_classes, half))
    x0[n - lay.n_classes:, half:] = rng.standard_normal((lay.n_classes, s.edit_dim - half))
    wrt = [k for k in model.parameters() if not k.startswith("hopfield.")] + ["x0"]
    return model, wrt, x0


def train_editor(hop, task, mode, args, d):
    s = args.settings
    model, wrt, x0 = editor(hop, mode, s)
    lay = layout("hopfield", s)
    loss = SquaredError(lay.classes, read="h")
    encode = (lambda x: D.encode_hk(x, s.n_hidden, 10, dim=s.edit_dim, reference=False))
    ytr = relabel(d.y_train, TASKS[task]["mapping"])
    yte = relabel(d.y_test, TASKS[task]["mapping"])
    steps = s.edit_epochs * -(-len(ytr) // s.batch_size)
    res = train(model, d.X_train, ytr, loss, encode, epochs=s.edit_epochs, batch_size=s.batch_size,
                optimizer=Adam(), schedule=Cosine(s.edit_lr, total_steps=steps, final_lr=0.1 * s.edit_lr),
                wrt=wrt, x0=x0, seed=s.seed, X_test=d.X_test, labels_test=yte, eval_train=256, t_span=T_SPAN,
                solver=SOLVER, checkpoint=_store(args, f"edit_{task}_{mode}{'_quick' if s.quick else ''}"),
                progress=args.progress or None)
    return res, loss, encode


def hopfield_encode(s):
    return lambda x: D.encode_hopfield(x, s.n_hidden, 10)


# ------------------------------------------------------------------------ output
def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write(out, name, text):
    path = out / name
    path.write_text(text)
    print(f"wrote {path}")
    return path


def figure(ncols, nrows=1, width=4.0, height=3.2):
    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), constrained_layout=True, squeeze=False)


def save(fig, out, name):
    path = out / name
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return path


def now():
    return time.perf_counter()


def settings_line(s):
    return json.dumps({k: v for k, v in vars(s).items()})

