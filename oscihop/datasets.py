"""The digits data set and its encodings as initial states of oscihop models.

scikit-learn's ``digits`` (1797 images of 8 x 8 pixels, intensities 0..16, ten classes) ships
with scikit-learn, so nothing is downloaded.  The encodings follow Fanaskov & Oseledets
(Hopfield-Kuramoto, 2025):

- threshold units: the pixel units start at the pixel intensity scaled to [-1, 1]; hidden and
  class (read-out) units start at 0;
- oscillators (any D >= 2): pixel ``p`` in [0, 1] becomes the point at angle ``pi p`` on the
  circle spanned by the first two axes, ``x = (cos(pi p), sin(pi p), 0, ...)``; hidden, class and
  reference oscillators start at ``e_0 = (1, 0, ...)`` (``start="fixed"``) or at one random point
  each, the same for every image (``start="random"``, from ``seed``);
- the coupled model combines both.

The units are laid out as ``[pixels, hidden, reference, classes]`` (:class:`DigitsLayout`): class
units last, and a reference oscillator (read-outs ``<x_ref, x_k>``) just before them when asked.
No unit is clamped: the read-out is taken at the end of a short solve (``t`` in [0, 1]) while the
pixel units still remember the input.

Model builders (:func:`hopfield_classifier`, :func:`kuramoto_classifier`,
:func:`hk_classifier`) draw small random trainable parameters for a layout.
"""

from __future__ import annotations

import numbers
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Digits",
    "DigitsLayout",
    "load_digits",
    "encode_hopfield",
    "encode_kuramoto",
    "encode_hk",
    "decode_hopfield",
    "decode_kuramoto",
    "decode_hk",
    "hopfield_classifier",
    "kuramoto_classifier",
    "hk_classifier",
]

#: A train/test split: images (n, 64) in [0, 1] and integer labels (n,).
Digits = namedtuple("Digits", ["X_train", "y_train", "X_test", "y_test"])


def _count(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def load_digits(test_size=0.25, seed=0, classes=None, n_train=None, n_test=None):
    """scikit-learn's digits, scaled to [0, 1] and split into train and test sets.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of the images held out (stratified by class).
    seed : int, default 0
        Seed of the split (and of the subsampling below).
    classes : sequence of int, optional
        Keep only these digits (labels are kept as they are).
    n_train, n_test : int, optional
        Keep at most this many training / test images (a stratified random subset).

    Returns
    -------
    Digits
        ``X_train`` (n, 64) float64 in [0, 1], ``y_train`` (n,) int64, ``X_test``, ``y_test``.

    Raises
    ------
    ImportError
        Without scikit-learn (``pip install oscihop[learn]``).

    Examples
    --------
    >>> from oscihop.datasets import load_digits
    >>> d = load_digits(seed=0)
    >>> d.X_train.shape, d.X_test.shape, float(d.X_train.max())
    ((1347, 64), (450, 64), 1.0)
    """
    try:
        from sklearn.datasets import load_digits as _sk_load
        from sklearn.model_selection import train_test_split
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "oscihop.datasets.load_digits needs scikit-learn; install the `learn` extra: "
            "pip install 'oscihop[learn]'."
        ) from exc
    if not 0.0 < float(test_size) < 1.0:
        raise ValueError(f"`test_size` must lie in (0, 1); got {test_size!r}.")
    bunch = _sk_load()
    X = bunch.data.astype(np.float64) / 16.0
    y = bunch.target.astype(np.int64)
    if classes is not None:
        keep = np.isin(y, np.asarray(classes))
        if not keep.any():
            raise ValueError(f"`classes` must name digits in 0..9; got {classes!r}.")
        X, y = X[keep], y[keep]
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=float(test_size), random_state=int(seed), stratify=y)
    Xtr, ytr = _subset(Xtr, ytr, n_train, seed, "n_train")
    Xte, yte = _subset(Xte, yte, n_test, seed + 1, "n_test")
    return Digits(Xtr, ytr, Xte, yte)


def _subset(X, y, n, seed, name):
    if n is None or n >= len(y):
        return X, y
    n = _count(n, name, 1)
    from sklearn.model_selection import train_test_split

    if n < np.unique(y).size:
        idx = np.sort(np.random.default_rng(seed).choice(len(y), n, replace=False))
        return X[idx], y[idx]
    Xs, _, ys, _ = train_test_split(X, y, train_size=n, random_state=int(seed), stratify=y)
    return Xs, ys


@dataclass(frozen=True)
class DigitsLayout:
    """Unit indices of a classifier: ``[pixels, hidden, reference, classes]``.

    Parameters
    ----------
    n_pixels : int, default 64
    n_hidden : int, default 0
    n_classes : int, default 10
    reference : bool, default False
        One reference oscillator (for read-outs ``<x_ref, x_k>``) before the class units.

    Examples
    --------
    >>> lay = DigitsLayout(n_pixels=4, n_hidden=2, n_classes=3, reference=True)
    >>> lay.n, lay.classes.tolist(), lay.reference_index
    (10, [7, 8, 9], 6)
    """

    n_pixels: int = 64
    n_hidden: int = 0
    n_classes: int = 10
    reference: bool = False

    def __post_init__(self):
        _count(self.n_pixels, "n_pixels", 1)
        _count(self.n_hidden, "n_hidden", 0)
        _count(self.n_classes, "n_classes", 2)

    @property
    def n(self):
        """Total number of units."""
        return self.n_pixels + self.n_hidden + int(self.reference) + self.n_classes

    @property
    def pixels(self):
        return np.arange(self.n_pixels)

    @property
    def hidden(self):
        return np.arange(self.n_pixels, self.n_pixels + self.n_hidden)

    @property
    def reference_index(self):
        """Index of the reference oscillator (None without one)."""
        return self.n_pixels + self.n_hidden if self.reference else None

    @property
    def classes(self):
        return np.arange(self.n - self.n_classes, self.n)


def _images(images, layout):
    X = np.asarray(images, dtype=np.float64)
    if X.ndim == 1:
        X = X[None]
    if X.ndim != 2 or X.shape[1] != layout.n_pixels:
        raise ValueError(f"`images` must have shape (B, {layout.n_pixels}) (flattened pixels); got {np.shape(images)}.")
    if X.size and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(f"`images` must hold intensities in [0, 1]; got values in [{X.min():.3g}, {X.max():.3g}]. "
                         "Divide digits' 0..16 intensities by 16 (load_digits does).")
    return X


def encode_hopfield(images, n_hidden=0, n_classes=10, reference=False):
    """Initial threshold states: pixels scaled to [-1, 1], hidden and class units at 0.

    Parameters
    ----------
    images : array_like, shape (B, P)
        Intensities in [0, 1].
    n_hidden, n_classes : int
    reference : bool, default False
        Include the reference unit of :class:`DigitsLayout` (starts at 0), so that the layout
        matches a coupled model's.

    Returns
    -------
    ndarray, shape (B, P + n_hidden + reference + n_classes)

    Examples
    --------
    >>> encode_hopfield([[0.0, 0.5, 1.0]], n_hidden=1, n_classes=2).tolist()
    [[-1.0, 0.0, 1.0, 0.0, 0.0, 0.0]]
    """
    X = np.asarray(images, dtype=np.float64)
    lay = DigitsLayout(X.shape[-1], n_hidden, n_classes, reference)
    X = _images(X, lay)
    h = np.zeros((X.shape[0], lay.n))
    h[:, : lay.n_pixels] = 2.0 * X - 1.0
    return h


def _start_points(n, dim, start, seed):
    if start == "fixed":
        x = np.zeros((n, dim))
        x[:, 0] = 1.0
        return x
    if start == "random":
        x = np.random.default_rng(seed).standard_normal((n, dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    raise ValueError(f"`start` must be 'fixed' (e_0) or 'random' (seeded points); got {start!r}.")


def encode_kuramoto(images, n_hidden=0, n_classes=10, dim=2, reference=True, start="fixed", seed=0):
    """Initial oscillators: pixel ``p`` at angle ``pi p`` on a circle; the others at fixed points.

    Parameters
    ----------
    images : array_like, shape (B, P)
        Intensities in [0, 1].
    n_hidden, n_classes : int
    dim : int, default 2
        Oscillator dimension D >= 2; the encoding uses the first two axes.
    reference : bool, default True
        Include a reference oscillator (read-out ``<x_ref, x_k>``).
    start : {"fixed", "random"}, default "fixed"
        Hidden, reference and class oscillators start at ``e_0`` or at seeded random points
        (the same for every image).
    seed : int, default 0
        Seed of ``start="random"``.

    Returns
    -------
    ndarray, shape (B, N * dim)
        Flat oscillator states (row-major ``x``), every ``|x_i| = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> y = encode_kuramoto([[0.0, 0.5, 1.0]], n_hidden=0, n_classes=2, reference=False)
    >>> np.round(y.reshape(-1, 2), 6).tolist()
    [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, 0.0], [1.0, 0.0]]
    """
    X = np.asarray(images, dtype=np.float64)
    lay = DigitsLayout(X.shape[-1], n_hidden, n_classes, reference)
    X = _images(X, lay)
    dim = _count(dim, "dim", 2)
    x = np.zeros((X.shape[0], lay.n, dim))
    theta = np.pi * X
    x[:, : lay.n_pixels, 0] = np.cos(theta)
    x[:, : lay.n_pixels, 1] = np.sin(theta)
    x[:, lay.n_pixels:] = _start_points(lay.n - lay.n_pixels, dim, start, seed)
    return x.reshape(X.shape[0], -1)


def encode_hk(images, n_hidden=0, n_classes=10, dim=2, reference=True, start="fixed", seed=0, x0=None):
    """Initial states of the coupled model: ``[h, x]`` with the two encodings above.

    Parameters
    ----------
    images, n_hidden, n_classes, dim, reference, start, seed
        As in :func:`encode_hopfield` and :func:`encode_kuramoto` (one layout for both).
    x0 : array_like, shape (N, dim), optional
        Oscillators shared by every image instead of the image encoding (memory editing:
        the threshold units carry the input, the oscillators a learned state).  Normalised.

    Returns
    -------
    ndarray, shape (B, N + N * dim)

    Examples
    --------
    >>> encode_hk([[0.0, 1.0]], n_classes=2, dim=2, reference=False).shape
    (1, 12)
    """
    h = encode_hopfield(images, n_hidden, n_classes, reference)
    if x0 is None:
        x = encode_kuramoto(images, n_hidden, n_classes, dim, reference, start, seed)
    else:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape != (h.shape[1], dim):
            raise ValueError(f"`x0` must have shape ({h.shape[1]}, {dim}) (one oscillator per unit); got {x0.shape}.")
        x0 = x0 / np.linalg.norm(x0, axis=1, keepdims=True)
        x = np.broadcast_to(x0.ravel(), (h.shape[0], x0.size))
    return np.concatenate([h, x], axis=1)


def decode_hopfield(model, y, layout, read="g"):
    """Class scores (B, K) of final states: the class units' activations ``g(h)`` (or ``h``).

    The predicted class is ``scores.argmax(axis=1)``.
    """
    from .losses import Readout

    return Readout(model, layout.classes, read=read)(y)


def decode_kuramoto(model, y, layout, read="overlap", component=0):
    """Class scores (B, K): ``<x_ref, x_k>`` of the class oscillators (or component ``c`` of x_k)."""
    from .losses import Readout

    return Readout(model, layout.classes, read=read, component=component, reference=layout.reference_index)(y)


def decode_hk(model, y, layout, read="g"):
    """Class scores (B, K) of the coupled model, read off its threshold units."""
    return decode_hopfield(model, y, layout, read=read)


# ---------------------------------------------------------------- model builders
def _sym_normal(rng, n, scale):
    a = rng.standard_normal((n, n)) * scale
    w = 0.5 * (a + a.T)
    np.fill_diagonal(w, 0.0)
    return w


def hopfield_classifier(layout, seed=0, scale=None, activation="tanh", beta=1.0):
    """A Hopfield network with small random dense symmetric weights and bias for ``layout``.

    ``W_ij ~ N(0, scale^2)`` symmetrised (zero diagonal), ``b_i ~ N(0, scale^2)``,
    ``scale = 1/sqrt(N)`` by default.  Trainable parameters: ``"weights"``, ``"bias"``.

    Examples
    --------
    >>> hop = hopfield_classifier(DigitsLayout(n_pixels=4, n_classes=2), seed=0)
    >>> hop.n, hop.activation
    (6, 'tanh')
    """
    from .models import Hopfield

    n = layout.n
    rng = np.random.default_rng(seed)
    s = 1.0 / np.sqrt(n) if scale is None else float(scale)
    return Hopfield(_sym_normal(rng, n, s), bias=rng.standard_normal(n) * s, activation=activation, beta=beta)


def kuramoto_classifier(layout, dim=2, seed=0, scale=None, edges=None, interaction="linear"):
    """Kuramoto oscillators with small random couplings for ``layout``.

    Without ``edges``: a dense symmetric coupling (linear interaction), trainable
    ``"coupling"``.  With ``edges`` (E, 2): per-edge ``J`` and, for a nonlinear
    interaction, per-edge ``B`` (trainable ``"coupling"``, ``"interaction_weights"``).
    Couplings ``~ N(0, scale^2)``, ``scale = 1/sqrt(degree)`` by default.
    """
    from .models import Kuramoto

    n = layout.n
    rng = np.random.default_rng(seed)
    if edges is None:
        s = 1.0 / np.sqrt(n) if scale is None else float(scale)
        return Kuramoto(dim, coupling=_sym_normal(rng, n, s), interaction=interaction)
    edges = np.asarray(edges)
    s = 1.0 / np.sqrt(max(2.0 * len(edges) / n, 1.0)) if scale is None else float(scale)
    jv = rng.standard_normal(len(edges)) * s
    bv = None if interaction == "linear" else rng.standard_normal(len(edges)) * s
    return Kuramoto(dim, edges=edges, coupling=jv, interaction=interaction, interaction_weights=bv, n=n)


def hk_classifier(layout, dim=2, seed=0, mode="additive", alpha=0.1, hk_edges="all", hop=None, kur=None,
                  kappa_h=1.0, kappa_k=1.0, **kuramoto_options):
    """The coupled model for ``layout``: a Hopfield classifier plus oscillators.

    ``hop`` and ``kur`` default to :func:`hopfield_classifier` and
    :func:`kuramoto_classifier` (``kuramoto_options`` go to the latter); pass a trained
    ``hop`` to edit its memories through the oscillators.
    """
    from .models import HopfieldKuramoto

    if hop is None:
        hop = hopfield_classifier(layout, seed=seed)
    if kur is None:
        kur = kuramoto_classifier(layout, dim=dim, seed=seed + 1, **kuramoto_options)
    return HopfieldKuramoto(hop, kur, hk_edges, alpha=alpha, mode=mode, kappa_h=kappa_h, kappa_k=kappa_k)
