"""Losses on final states for training through an ODE solve, with exact gradients.

A loss here is a callable ``loss(y) -> (value, dvalue_dy)``: ``y`` is the batch of final
states ``(B, size)`` (a single state ``(size,)`` is accepted too), ``value`` a float and
``dvalue_dy`` an array shaped like ``y``.  This is the protocol of
``oh.value_and_grad(model, loss, y0, ...)``.

The losses score a few *read-out units* of the state through a :class:`Readout`:

- ``"g"``: the activations ``g(h_k)`` of threshold units (tanh, sigmoid, relu);
- ``"h"``: the threshold states ``h_k`` themselves (the paper's reference code reads these);
- ``"component"``: one component ``x_k[c]`` of oscillators;
- ``"overlap"``: ``<x_ref, x_k>`` with a reference oscillator (rotation invariant);
- ``"output"``: the outputs of a network (:class:`oscihop.networks.AKOrNNetwork`), whose
  "final states" are its outputs (logits).

Two losses are provided, each as a function returning the callable and as a builder class
taking ``(model, labels)`` (what :func:`oscihop.train.train` calls once per mini-batch):

- :func:`squared_error` / :class:`SquaredError`: the paper's loss, the squared error of the
  read-outs against +-1 targets (+1 for the true class, -1 for the others), summed over
  read-out units and averaged over the batch;
- :func:`cross_entropy` / :class:`CrossEntropy`: softmax cross-entropy of ``scale * scores``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import check_choice

__all__ = ["Readout", "squared_error", "cross_entropy", "SquaredError", "CrossEntropy", "one_hot_pm"]

READS = ("auto", "g", "h", "component", "overlap", "output")


def _threshold_part(model):
    """The Hopfield (threshold-unit) part of a model, or None."""
    hop = getattr(model, "hopfield", None)
    if hop is not None:
        return hop
    return model if getattr(model, "_nh", 0) else None


def _indices(units, n, name="units"):
    idx = np.asarray(units)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"`{name}` must be a non-empty 1-D array of unit indices; got {units!r}.")
    idx = idx.astype(np.int64)
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"`{name}` indices must lie in [0, {n - 1}] (the model has {n} units); got {idx.tolist()}.")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"`{name}` must not repeat a unit; got {idx.tolist()}.")
    return idx


class Readout:
    """Class scores read off final states, and their vector-Jacobian product.

    Parameters
    ----------
    model : Hopfield, Kuramoto, HopfieldKuramoto or AKOrNNetwork
        Fixes the state layout (and, for ``read="g"``, the activation and gain).
    units : array_like of int, shape (K,)
        The read-out units, one per class, in class order.
    read : {"auto", "g", "h", "component", "overlap", "output"}, default "auto"
        What is read (see the module docstring).  ``"auto"``: ``"output"`` for a network,
        ``"g"`` when the model has threshold units, else ``"overlap"`` with a ``reference``
        and ``"component"`` without.
    component : int, default 0
        The oscillator component for ``read="component"``.
    reference : int, optional
        The reference oscillator for ``read="overlap"``.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.zeros((3, 3)), activation="tanh", beta=2.0)
    >>> r = Readout(hop, [1, 2])
    >>> r(np.array([[0.0, 0.5, -0.5]])).round(4)
    array([[ 0.7616, -0.7616]])
    """

    def __init__(self, model, units, read="auto", component=0, reference=None):
        check_choice(read, READS, "read")
        hop = _threshold_part(model)
        nk = getattr(model, "_nk", 0)
        n_out = getattr(model, "output_size", None)  # a network: its final "states" are its outputs
        if read == "auto":
            read = ("output" if n_out is not None else "g" if hop is not None
                    else ("overlap" if reference is not None else "component"))
        if (read == "output") != (n_out is not None):
            raise ValueError(f"`read`={read!r} does not fit a {type(model).__name__}: read='output' is for networks "
                             "(oscihop.networks.AKOrNNetwork), whose outputs are read; models read 'g', 'h', "
                             "'component' or 'overlap'.")
        self.model = model
        self.read = read
        self.n_h = getattr(model, "_nh", 0)
        self.dim = model.dim
        self.width = model.size if n_out is None else n_out
        if read == "output":
            self.units = _indices(units, n_out)
        elif read in ("g", "h"):
            if hop is None:
                raise ValueError(f"`read`={read!r} needs threshold units; this model has none. "
                                 "Use read='component' or 'overlap' for oscillators.")
            if read == "g" and hop.activation not in ("tanh", "sigmoid", "relu"):
                raise ValueError(
                    f"`read`='g' needs an elementwise activation (tanh, sigmoid, relu); the model's is "
                    f"{hop.activation!r}. Use read='h'."
                )
            self.units = _indices(units, self.n_h)
            self.activation = hop.activation
            self.beta = hop.beta
        else:
            if not nk:
                raise ValueError(f"`read`={read!r} needs oscillators; this model has none. Use read='g' or 'h'.")
            self.units = _indices(units, nk)
            if read == "component":
                if not isinstance(component, (numbers.Integral, np.integer)) or not 0 <= component < self.dim:
                    raise ValueError(f"`component` must be an integer in [0, {self.dim - 1}]; got {component!r}.")
                self.component = int(component)
            else:
                if not isinstance(reference, (numbers.Integral, np.integer)) or not 0 <= reference < nk:
                    raise ValueError(
                        f"`reference` (the reference oscillator of read='overlap') must be an integer in "
                        f"[0, {nk - 1}]; got {reference!r}."
                    )
                if int(reference) in set(self.units.tolist()):
                    raise ValueError(f"`reference` = {reference} must not be one of the read-out `units`.")
                self.reference = int(reference)

    @property
    def n_classes(self):
        """Number of read-out units K."""
        return self.units.size

    def _g(self, h):
        if self.activation == "tanh":
            g = np.tanh(self.beta * h)
            return g, self.beta * (1.0 - g * g)
        if self.activation == "sigmoid":
            g = 0.5 * (1.0 + np.tanh(0.5 * self.beta * h))
            return g, self.beta * g * (1.0 - g)
        return np.maximum(h, 0.0), (h > 0).astype(h.dtype)

    def _cols(self, y):
        y = np.asarray(y, dtype=np.float64)
        if y.shape[-1] != self.width:
            raise ValueError(f"`y` must have shape (B, {self.width}) (final states); got {y.shape}.")
        return y.reshape(-1, self.width)

    def __call__(self, y):
        """Scores (B, K) of states ``y`` (B, size) (or (K,) for one state)."""
        ys = self._cols(y)
        s = self._scores(ys)[0]
        return s[0] if np.ndim(y) == 1 else s

    def _scores(self, ys):
        if self.read in ("h", "output"):
            return ys[:, self.units], None
        if self.read == "g":
            return self._g(ys[:, self.units])
        x = ys[:, self.n_h:].reshape(ys.shape[0], -1, self.dim)
        if self.read == "component":
            return x[:, self.units, self.component], None
        return np.einsum("bkd,bd->bk", x[:, self.units], x[:, self.reference]), x

    def vjp(self, y, dscores):
        """``d(sum(dscores * scores))/dy``: shape of ``y``."""
        ys = self._cols(y)
        ds = np.asarray(dscores, dtype=np.float64).reshape(ys.shape[0], self.n_classes)
        out = np.zeros_like(ys)
        _, aux = self._scores(ys)
        if self.read in ("h", "output"):
            out[:, self.units] = ds
        elif self.read == "g":
            out[:, self.units] = ds * aux
        else:
            ox = np.zeros((ys.shape[0], (ys.shape[1] - self.n_h) // self.dim, self.dim))
            if self.read == "component":
                ox[:, self.units, self.component] = ds
            else:
                x = aux
                ox[:, self.units] = ds[:, :, None] * x[:, self.reference][:, None, :]
                ox[:, self.reference] = np.einsum("bk,bkd->bd", ds, x[:, self.units])
            out[:, self.n_h:] = ox.reshape(ys.shape[0], -1)
        return out.reshape(np.shape(y))


def one_hot_pm(labels, n_classes):
    """+-1 targets: +1 at each sample's class, -1 elsewhere; (B, n_classes).

    Examples
    --------
    >>> one_hot_pm([2, 0], 3)
    array([[-1., -1.,  1.],
           [ 1., -1., -1.]])
    """
    lab = _labels(labels, n_classes)
    t = -np.ones((lab.size, n_classes))
    t[np.arange(lab.size), lab] = 1.0
    return t


def _labels(labels, n_classes, name="labels"):
    lab = np.asarray(labels)
    if lab.ndim != 1 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"`{name}` must be a 1-D array of integer class labels; got shape {lab.shape}, dtype {lab.dtype}.")
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        raise ValueError(f"`{name}` must lie in [0, {n_classes - 1}] ({n_classes} read-out units); "
                         f"got values in [{lab.min()}, {lab.max()}].")
    return lab.astype(np.int64)


def _batch_check(y, readout, nb, name):
    ys = readout._cols(y)
    if ys.shape[0] != nb:
        raise ValueError(f"the loss was built for {nb} samples but `y` holds {ys.shape[0]} states; "
                         f"build one loss per mini-batch ({name}).")
    return ys


def squared_error(targets, units, model, read="auto", component=0, reference=None):
    r"""The paper's loss: squared error of read-outs against +-1 targets.

    Parameters
    ----------
    targets : array_like, shape (B,) int or (B, K) float
        Class labels (turned into +-1 one-hot targets by :func:`one_hot_pm`) or the
        targets themselves.
    units : array_like of int, shape (K,)
        Read-out units, one per class.
    model : Hopfield, Kuramoto or HopfieldKuramoto
    read, component, reference
        As in :class:`Readout`.

    Returns
    -------
    callable
        ``loss(y) -> (value, dvalue_dy)`` for final states ``y`` (B, size).

    Notes
    -----
    With read-outs :math:`r_{bk}` and targets :math:`t_{bk}`:

    .. math::

        \ell = \frac1B \sum_b \sum_k (r_{bk} - t_{bk})^2, \qquad
        \frac{\partial \ell}{\partial r_{bk}} = \frac{2}{B}(r_{bk} - t_{bk}).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.zeros((3, 3)), activation="tanh")
    >>> loss = squared_error([1], units=[1, 2], model=hop, read="h")
    >>> value, grad = loss(np.array([[0.0, 0.0, 1.0]]))
    >>> value, grad.tolist()
    (1.0, [[0.0, 2.0, 0.0]])
    """
    readout = Readout(model, units, read=read, component=component, reference=reference)
    t = np.asarray(targets)
    if t.ndim == 1:
        t = one_hot_pm(t, readout.n_classes)
    else:
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 2 or t.shape[1] != readout.n_classes:
            raise ValueError(f"`targets` must have shape (B,) (labels) or (B, {readout.n_classes}); got {t.shape}.")
    nb = t.shape[0]

    def loss(y):
        ys = _batch_check(y, readout, nb, "squared_error")
        r = readout._scores(ys)[0]
        d = r - t
        value = float(np.sum(d * d) / nb)
        return value, readout.vjp(y, 2.0 * d / nb)

    loss.readout = readout
    return loss


def cross_entropy(labels, units, model, read="auto", component=0, reference=None, scale=1.0):
    r"""Softmax cross-entropy of ``scale * scores`` against class labels.

    Parameters
    ----------
    labels : array_like of int, shape (B,)
    units : array_like of int, shape (K,)
        Read-out units, one per class.
    model : Hopfield, Kuramoto or HopfieldKuramoto
    read, component, reference
        As in :class:`Readout`.
    scale : float, default 1.0
        Inverse temperature: bounded read-outs (``g`` in [-1, 1], overlaps) need a scale
        of a few units for confident predictions.

    Returns
    -------
    callable
        ``loss(y) -> (value, dvalue_dy)`` for final states ``y`` (B, size).

    Notes
    -----
    With logits :math:`z_{bk} = s\, r_{bk}` and :math:`p = \mathrm{softmax}(z)`:

    .. math::

        \ell = \frac1B \sum_b \big(\log\textstyle\sum_k e^{z_{bk}} - z_{b, c_b}\big), \qquad
        \frac{\partial \ell}{\partial r_{bk}} = \frac{s}{B}(p_{bk} - [k = c_b]).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.zeros((2, 2)), activation="tanh")
    >>> loss = cross_entropy([0], units=[0, 1], model=hop, read="h")
    >>> value, grad = loss(np.zeros((1, 2)))
    >>> round(value, 6), grad.tolist()
    (0.693147, [[-0.5, 0.5]])
    """
    readout = Readout(model, units, read=read, component=component, reference=reference)
    lab = _labels(labels, readout.n_classes)
    s = float(scale)
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"`scale` must be finite and > 0; got {scale!r}.")
    nb = lab.size

    def loss(y):
        ys = _batch_check(y, readout, nb, "cross_entropy")
        z = s * readout._scores(ys)[0]
        zmax = z.max(axis=1, keepdims=True)
        e = np.exp(z - zmax)
        tot = e.sum(axis=1, keepdims=True)
        lse = (np.log(tot) + zmax)[:, 0]
        value = float(np.mean(lse - z[np.arange(nb), lab]))
        p = e / tot
        p[np.arange(nb), lab] -= 1.0
        return value, readout.vjp(y, s * p / nb)

    loss.readout = readout
    return loss


class SquaredError:
    """Builder of :func:`squared_error` losses, one per mini-batch: ``SquaredError(...)(model, labels)``.

    Parameters
    ----------
    units, read, component, reference
        As in :func:`squared_error`.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.zeros((3, 3)))
    >>> build = SquaredError(units=[1, 2], read="h")
    >>> build(hop, [0])(np.zeros((1, 3)))[0]
    2.0
    >>> build.scores(hop, np.array([[0.0, 0.3, -0.2]])).tolist()
    [[0.3, -0.2]]
    """

    def __init__(self, units, read="auto", component=0, reference=None):
        self.units = np.asarray(units)
        self.read = read
        self.component = component
        self.reference = reference

    def readout(self, model):
        """The :class:`Readout` of this loss for ``model``."""
        return Readout(model, self.units, self.read, self.component, self.reference)

    def scores(self, model, y):
        """Class scores (B, K) of final states ``y`` (B, size); the prediction is their argmax."""
        return self.readout(model)(y)

    def __call__(self, model, labels):
        return squared_error(labels, self.units, model, self.read, self.component, self.reference)

    def describe(self):
        """JSON-able description (recorded in training checkpoints)."""
        return {"loss": "squared_error", "units": self.units.tolist(), "read": self.read,
                "component": self.component, "reference": self.reference}


class CrossEntropy(SquaredError):
    """Builder of :func:`cross_entropy` losses, one per mini-batch: ``CrossEntropy(...)(model, labels)``.

    Parameters
    ----------
    units, read, component, reference, scale
        As in :func:`cross_entropy`.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.zeros((2, 2)))
    >>> round(CrossEntropy(units=[0, 1], read="h")(hop, [1])(np.zeros((1, 2)))[0], 4)
    0.6931
    """

    def __init__(self, units, read="auto", component=0, reference=None, scale=1.0):
        super().__init__(units, read, component, reference)
        self.scale = scale

    def __call__(self, model, labels):
        return cross_entropy(labels, self.units, model, self.read, self.component, self.reference, self.scale)

    def describe(self):
        d = super().describe()
        d.update(loss="cross_entropy", scale=float(self.scale))
        return d
