"""Training oscihop models by gradient descent through the ODE solve.

The pieces, each small and replaceable:

- optimisers over dicts of named arrays: :class:`SGD`, :class:`Adam`, :class:`Lion`, each
  with ``step(params, grads, lr)`` and ``state_dict()`` / ``load_state_dict()``;
- learning-rate schedules, callables ``schedule(step) -> lr``: :class:`Constant`,
  :class:`Cosine`, :class:`StepDecay`, :class:`Exponential`;
- :func:`train`: mini-batch epochs over ``(X, labels)`` with a seeded shuffle, the gradient
  from ``oh.value_and_grad`` (adjoint through the solve), evaluation each epoch, metrics as an
  ``xarray.Dataset``, checkpoints in a zarr store and exact resume;
- :func:`evaluate` / :func:`predict_scores`: forward solves and class scores.

A model is trained through its ``parameters()`` (a dict of named arrays) and
``replace(**params)`` (a new model with those arrays).  Symmetric matrices (Hopfield
weights, dense Kuramoto couplings) stay exactly symmetric: every update is projected with
``(W + W.T) / 2``.  An oscillator state shared by all samples can be learned too (the
paper's memory editing): pass ``x0=`` and it is trained as the parameter ``"x0"`` on the
unit sphere.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ._json import jsonable

__all__ = [
    "SGD",
    "Adam",
    "Lion",
    "Constant",
    "Cosine",
    "StepDecay",
    "Exponential",
    "TrainResult",
    "train",
    "evaluate",
    "predict_scores",
    "load_checkpoint",
    "open_metrics",
]

STORE_KIND = "training"
FORMAT_VERSION = 1


def _positive(value, name, allow_zero=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise ValueError(f"`{name}` must be a real number; got {value!r}.")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"`{name}` must be finite and {'>= 0' if allow_zero else '> 0'}; got {value!r}.")
    return v


def _unit_interval(value, name):
    v = _positive(value, name, allow_zero=True)
    if v >= 1.0:
        raise ValueError(f"`{name}` must lie in [0, 1); got {value!r}.")
    return v


def _integer(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


# ======================================================================== optimisers
class _Optimizer:
    """Base class: per-parameter state arrays, a step counter, and (de)serialisation."""

    _slots = ()

    def __init__(self):
        self.t = 0
        self.state = {s: {} for s in self._slots}

    def hyperparameters(self):
        return {}

    def _slot(self, slot, name, like):
        st = self.state[slot]
        if name not in st:
            st[name] = np.zeros_like(like, dtype=np.float64)
        return st[name]

    def step(self, params, grads, lr):
        """One update: new parameter dict (``params`` is not modified).

        Parameters
        ----------
        params : dict of str -> ndarray
        grads : dict of str -> ndarray
            Same names and shapes as ``params``.
        lr : float
            Learning rate of this step.
        """
        lr = _positive(lr, "lr", allow_zero=True)
        missing = sorted(set(params) - set(grads))
        if missing:
            raise ValueError(f"`grads` must hold a gradient for every parameter; missing {missing}.")
        self.t += 1
        out = {}
        for name, p in params.items():
            g = np.asarray(grads[name], dtype=np.float64)
            if g.shape != np.shape(p):
                raise ValueError(f"gradient of {name!r} has shape {g.shape}; the parameter has shape {np.shape(p)}.")
            out[name] = self._update(name, np.asarray(p, dtype=np.float64), g, lr)
        return out

    def state_dict(self):
        """``{"kind", "hyper", "step", "arrays": {"slot/name": ndarray}}`` (copies)."""
        arrays = {f"{slot}/{name}": a.copy() for slot, st in self.state.items() for name, a in st.items()}
        return {"kind": type(self).__name__, "hyper": self.hyperparameters(), "step": self.t, "arrays": arrays}

    def load_state_dict(self, state):
        """Restore from :meth:`state_dict` output (hyperparameters must match)."""
        if state.get("kind") != type(self).__name__:
            raise ValueError(f"optimizer state is for {state.get('kind')!r}; this optimizer is {type(self).__name__}.")
        if json.dumps(state.get("hyper"), sort_keys=True) != json.dumps(self.hyperparameters(), sort_keys=True):
            raise ValueError(f"optimizer hyperparameters differ: saved {state.get('hyper')}, "
                             f"now {self.hyperparameters()}.")
        self.t = int(state["step"])
        self.state = {s: {} for s in self._slots}
        for key, arr in state["arrays"].items():
            slot, name = key.split("/", 1)
            self.state[slot][name] = np.array(arr, dtype=np.float64)

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hp})"


class SGD(_Optimizer):
    r"""Stochastic gradient descent with optional (heavy-ball) momentum.

    ``v <- mu v + g``; ``p <- p - lr v`` (``mu = 0``: plain ``p <- p - lr g``).

    Parameters
    ----------
    momentum : float in [0, 1), default 0.0

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(momentum=0.5)
    >>> p = {"w": np.array([1.0])}
    >>> p = opt.step(p, {"w": np.array([2.0])}, lr=0.1); p["w"].tolist()
    [0.8]
    >>> p = opt.step(p, {"w": np.array([2.0])}, lr=0.1); p["w"].tolist()
    [0.5]
    """

    _slots = ("velocity",)

    def __init__(self, momentum=0.0):
        self.momentum = _unit_interval(momentum, "momentum")
        super().__init__()

    def hyperparameters(self):
        return {"momentum": self.momentum}

    def _update(self, name, p, g, lr):
        if self.momentum:
            v = self._slot("velocity", name, p)
            v *= self.momentum
            v += g
            g = v
        return p - lr * g


class Adam(_Optimizer):
    r"""Adam (Kingma & Ba, 2015) with bias correction and optional decoupled weight decay.

    .. math::

        m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
        p \leftarrow p - \mathrm{lr}\Big(\frac{m/(1-\beta_1^t)}{\sqrt{v/(1-\beta_2^t)} + \epsilon}
        + \lambda p\Big)

    Parameters
    ----------
    b1, b2 : float in [0, 1), default 0.9, 0.999
    eps : float, default 1e-8
    weight_decay : float, default 0.0
        ``lambda`` (AdamW).

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam()
    >>> p = opt.step({"w": np.array([1.0, -1.0])}, {"w": np.array([0.5, -3.0])}, lr=0.1)
    >>> np.round(p["w"], 6).tolist()      # the first step moves each entry by lr
    [0.9, -0.9]
    """

    _slots = ("m", "v")

    def __init__(self, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
        self.b1 = _unit_interval(b1, "b1")
        self.b2 = _unit_interval(b2, "b2")
        self.eps = _positive(eps, "eps")
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        super().__init__()

    def hyperparameters(self):
        return {"b1": self.b1, "b2": self.b2, "eps": self.eps, "weight_decay": self.weight_decay}

    def _update(self, name, p, g, lr):
        m = self._slot("m", name, p)
        v = self._slot("v", name, p)
        m *= self.b1
        m += (1.0 - self.b1) * g
        v *= self.b2
        v += (1.0 - self.b2) * g * g
        mhat = m / (1.0 - self.b1**self.t)
        vhat = v / (1.0 - self.b2**self.t)
        upd = mhat / (np.sqrt(vhat) + self.eps)
        if self.weight_decay:
            upd = upd + self.weight_decay * p
        return p - lr * upd


class Lion(_Optimizer):
    r"""Lion (Chen et al., 2023): the sign of an interpolated momentum.

    .. math::

        c = \beta_1 m + (1-\beta_1) g,\quad p \leftarrow p - \mathrm{lr}(\mathrm{sign}(c) + \lambda p),
        \quad m \leftarrow \beta_2 m + (1-\beta_2) g

    Every entry moves by exactly ``lr`` per step (without weight decay), so Lion wants a
    learning rate 3-10x smaller than Adam's.

    Parameters
    ----------
    b1, b2 : float in [0, 1), default 0.9, 0.99
    weight_decay : float, default 0.0

    Examples
    --------
    >>> import numpy as np
    >>> opt = Lion()
    >>> opt.step({"w": np.array([1.0, 1.0])}, {"w": np.array([0.2, -5.0])}, lr=0.01)["w"].tolist()
    [0.99, 1.01]
    """

    _slots = ("m",)

    def __init__(self, b1=0.9, b2=0.99, weight_decay=0.0):
        self.b1 = _unit_interval(b1, "b1")
        self.b2 = _unit_interval(b2, "b2")
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        super().__init__()

    def hyperparameters(self):
        return {"b1": self.b1, "b2": self.b2, "weight_decay": self.weight_decay}

    def _update(self, name, p, g, lr):
        m = self._slot("m", name, p)
        upd = np.sign(self.b1 * m + (1.0 - self.b1) * g)
        if self.weight_decay:
            upd = upd + self.weight_decay * p
        m *= self.b2
        m += (1.0 - self.b2) * g
        return p - lr * upd


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "lion": Lion}


# ========================================================================= schedules
class _Schedule:
    def describe(self):
        d = {"schedule": type(self).__name__}
        d.update({k: v for k, v in vars(self).items()})
        return d

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Constant(_Schedule):
    """``lr(step) = lr``.

    Examples
    --------
    >>> Constant(0.01)(1000)
    0.01
    """

    def __init__(self, lr):
        self.lr = _positive(lr, "lr")

    def __call__(self, step):
        return self.lr


class Cosine(_Schedule):
    r"""Linear warm-up, then cosine decay from ``lr`` to ``final_lr`` at ``total_steps``.

    ``lr(s) = lr (s + 1) / warmup`` for ``s < warmup``; then
    ``final + (lr - final) (1 + cos(pi u)) / 2`` with ``u = (s - warmup) / (total - warmup)``
    clipped to [0, 1].

    Examples
    --------
    >>> sched = Cosine(1.0, total_steps=10)
    >>> [round(sched(s), 3) for s in (0, 5, 10, 20)]
    [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, lr, total_steps, final_lr=0.0, warmup=0):
        self.lr = _positive(lr, "lr")
        self.total_steps = _integer(total_steps, "total_steps", 1)
        self.final_lr = _positive(final_lr, "final_lr", allow_zero=True)
        self.warmup = _integer(warmup, "warmup", 0)
        if self.warmup >= self.total_steps:
            raise ValueError(f"`warmup` must be < total_steps = {self.total_steps}; got {warmup!r}.")

    def __call__(self, step):
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        u = min(max((step - self.warmup) / (self.total_steps - self.warmup), 0.0), 1.0)
        return self.final_lr + (self.lr - self.final_lr) * 0.5 * (1.0 + math.cos(math.pi * u))


class StepDecay(_Schedule):
    """``lr(step) = lr * gamma ** (step // every)``.

    Examples
    --------
    >>> sched = StepDecay(1.0, every=10, gamma=0.5)
    >>> sched(9), sched(10), sched(25)
    (1.0, 0.5, 0.25)
    """

    def __init__(self, lr, every, gamma=0.5):
        self.lr = _positive(lr, "lr")
        self.every = _integer(every, "every", 1)
        self.gamma = _positive(gamma, "gamma")

    def __call__(self, step):
        return self.lr * self.gamma ** (step // self.every)


class Exponential(_Schedule):
    """``lr(step) = lr * gamma ** (step / decay_steps)`` (optax's ``exponential_decay``).

    The paper's schedule: ``Exponential(lr, decay_steps=N_drop, gamma=0.5)``.

    Examples
    --------
    >>> Exponential(1.0, decay_steps=100, gamma=0.5)(200)
    0.25
    """

    def __init__(self, lr, decay_steps, gamma=0.5):
        self.lr = _positive(lr, "lr")
        self.decay_steps = _positive(decay_steps, "decay_steps")
        self.gamma = _positive(gamma, "gamma")

    def __call__(self, step):
        return self.lr * self.gamma ** (step / self.decay_steps)


def _schedule(schedule):
    if schedule is None:
        return Constant(1e-2)
    if isinstance(schedule, numbers.Real) and not isinstance(schedule, bool):
        return Constant(schedule)
    if not callable(schedule):
        raise ValueError(f"`schedule` must be a learning rate (float) or a callable step -> lr; got {schedule!r}.")
    return schedule


def _describe(obj):
    if hasattr(obj, "describe"):
        return obj.describe()
    if hasattr(obj, "hyperparameters"):
        return {"kind": type(obj).__name__, **obj.hyperparameters()}
    return {"callable": getattr(obj, "__qualname__", type(obj).__name__)}


# ===================================================================== gradients
def _solver_options(solver):
    opts = {"method": "Tsit5", "rtol": 1e-3, "atol": 1e-6}
    if solver:
        unknown = sorted(set(solver) - {"method", "rtol", "atol", "dt", "max_steps"})
        if unknown:
            raise ValueError(f"`solver` accepts method, rtol, atol, dt, max_steps; got unknown keys {unknown}.")
        opts.update(solver)
    return opts


def _engine_grad(t_span, solver):
    """The default gradient: ``oh.value_and_grad`` (adjoint through the solve)."""

    def grad_fn(model, loss, y0, wrt):
        from .adjoint import value_and_grad

        res = value_and_grad(model, loss, y0, t_span, wrt=list(wrt), **solver)
        if not res.success:  # a failed solve gives NaN gradients: say why, not "lower the learning rate"
            raise RuntimeError(f"training stopped: the solve inside the gradient failed ({res.message}). "
                               "Raise `max_steps`, or loosen `rtol`/`atol`, in the solver options.")
        return res.value, res.grads, getattr(res, "y0", None), dict(getattr(res, "stats", {}) or {})

    return grad_fn


def _call_grad(grad_fn, model, loss, y0, wrt):
    out = grad_fn(model, loss, y0, wrt)
    if isinstance(out, tuple):
        value, grads = out[0], out[1]
        gy0 = out[2] if len(out) > 2 else None
        stats = out[3] if len(out) > 3 else {}
    else:
        value, grads, gy0, stats = out.value, out.grads, getattr(out, "y0", None), getattr(out, "stats", {})
    return float(value), grads, gy0, stats or {}


def predict_scores(model, X, decode, encode, t_span=(0.0, 1.0), solver=None, batch_size=256, x0=None):
    """Class scores of inputs ``X``: solve from ``encode(X)`` and ``decode(model, y_final)``.

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto
    X : array_like, shape (n, ...)
    decode : callable or loss builder
        ``decode(model, y_final) -> scores (B, K)``, or an object with such a ``scores``
        method (:class:`oscihop.losses.SquaredError`, :class:`~oscihop.losses.CrossEntropy`).
    encode : callable
        ``encode(X_batch) -> y0 (B, size)``.
    t_span : (float, float), default (0, 1)
    solver : dict, optional
        ``method`` (default ``"Tsit5"``), ``rtol``, ``atol``, ``dt``, ``max_steps``.
    batch_size : int, default 256
    x0 : ndarray (N, D), optional
        A learned oscillator state that replaces the oscillator part of every ``y0``.

    Returns
    -------
    ndarray, shape (n, K)
    """
    from .solvers import solve

    opts = _solver_options(solver)
    scorer = decode.scores if hasattr(decode, "scores") else decode
    X = np.asarray(X)
    out = []
    for lo in range(0, len(X), batch_size):
        y0 = _initial(model, encode, X[lo: lo + batch_size], x0)
        sol = solve(model, t_span, y0, t_eval=[t_span[1]], **opts)
        if not np.all(sol.success):
            raise RuntimeError(f"a forward solve failed during evaluation: {sol.message}")
        out.append(np.asarray(scorer(model, sol.y[:, :, -1])))
    return np.concatenate(out, axis=0)


def evaluate(model, X, labels, decode, encode, t_span=(0.0, 1.0), solver=None, batch_size=256, x0=None):
    """Accuracy of the arg-max class of :func:`predict_scores` against ``labels``.

    Returns
    -------
    float
        Fraction of correct predictions (NaN for an empty set).
    """
    labels = np.asarray(labels)
    if labels.size == 0:
        return float("nan")
    scores = predict_scores(model, X, decode, encode, t_span, solver, batch_size, x0)
    return float(np.mean(np.argmax(scores, axis=1) == labels))


def _initial(model, encode, Xb, x0):
    y0 = np.array(encode(Xb), dtype=np.float64)
    if y0.shape != (len(Xb), model.size):
        raise ValueError(f"`encode` must return initial states of shape (B, model.size) = ({len(Xb)}, {model.size}); "
                         f"got {y0.shape}. Check the encoder's layout (hidden, reference and class units).")
    if x0 is not None:
        nh = model.size - model.unpack(np.zeros(model.size)).x.size
        y0[:, nh:] = (x0 / np.linalg.norm(x0, axis=1, keepdims=True)).ravel()
    return y0


# ====================================================================== checkpoints
def _ckpt_name(epoch):
    return f"epoch_{epoch:06d}"


def _write_arrays(group, arrays):
    from .io import integrity

    for name, arr in arrays.items():
        # a CRC32C checksum on every chunk, and every chunk written (zeros included)
        group.create_array(name, data=np.ascontiguousarray(arr), **integrity.array_options())


def _write_metrics(metrics, path, group):
    from .io import integrity

    metrics.to_zarr(str(path), group=group, mode="w", consolidated=False, zarr_format=3,
                    encoding=integrity.xarray_encoding(metrics), write_empty_chunks=integrity.WRITE_EMPTY_CHUNKS)


def _save_checkpoint(path, epoch, params, opt_state, metrics, config):
    """Write ``epoch_<k>`` completely, then point the root at it, then drop older ones."""
    import zarr

    root = zarr.open_group(str(path), mode="a", zarr_format=3)
    if "oscihop_store" not in root.attrs:
        # marked as oscihop's from the start, so a run killed before its first checkpoint leaves
        # a store that the next run may replace (see oscihop.io.stores)
        root.attrs.update({"oscihop_store": STORE_KIND, "format_version": FORMAT_VERSION})
    name = _ckpt_name(epoch)
    if name in root:
        del root[name]
    g = root.create_group(name)
    _write_arrays(g.create_group("params"), params)
    og = g.create_group("optimizer")
    _write_arrays(og, opt_state["arrays"])
    og.attrs.update({"kind": opt_state["kind"], "hyper": opt_state["hyper"], "step": int(opt_state["step"]),
                     "names": sorted(opt_state["arrays"]),
                     "shapes": {k: list(np.shape(v)) for k, v in opt_state["arrays"].items()}})
    _write_metrics(metrics, path, f"{name}/metrics")
    g.attrs.update({"epoch": int(epoch), "complete": True, "param_names": sorted(params),
                    "param_shapes": {k: list(np.shape(v)) for k, v in params.items()}})
    # the marker: a reader trusts only the group named here
    root.attrs.update({"oscihop_store": STORE_KIND, "format_version": FORMAT_VERSION,
                       "latest_epoch": int(epoch), "config": config})
    for other in list(root.group_keys()):
        if other.startswith("epoch_") and other != name:
            del root[other]
    _write_metrics(metrics, path, "metrics")


def load_checkpoint(path):
    """Read the latest complete checkpoint of a training store.

    Parameters
    ----------
    path : str or os.PathLike
        The ``checkpoint=`` directory of :func:`train`.

    Returns
    -------
    dict or None
        ``{"epoch", "params", "optimizer", "metrics", "config"}``; None when ``path`` holds
        no complete checkpoint (missing or empty directory).

    Raises
    ------
    ValueError
        If ``path`` is something other than a training store.
    """
    import xarray as xr
    import zarr

    path = str(path)
    if not os.path.isdir(path) or not os.listdir(path):
        return None
    try:
        root = zarr.open_group(path, mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure to open means "not a store"
        raise ValueError(f"`checkpoint` {path!r} exists but is not a zarr store ({exc}); pass a new directory.") from None
    attrs = dict(root.attrs)
    if "latest_epoch" not in attrs:
        if attrs.get("oscihop_store", STORE_KIND) != STORE_KIND:
            raise ValueError(f"`checkpoint` {path!r} is an oscihop {attrs['oscihop_store']!r} store, not a "
                             "training store; pass a new directory.")
        return None  # killed before the first checkpoint was complete
    if attrs.get("oscihop_store") != STORE_KIND:
        raise ValueError(f"`checkpoint` {path!r} is not an oscihop training store; pass a new directory.")
    epoch = int(attrs["latest_epoch"])
    g = root[_ckpt_name(epoch)]
    if not g.attrs.get("complete"):
        raise ValueError(f"`checkpoint` {path!r}: the checkpoint of epoch {epoch} is incomplete (damaged store).")
    from .io.integrity import check_group

    check_group(g, f"`checkpoint` {path!r}", unverifiable="warn",
                fix="Resume from an intact copy, or train again into a new directory.")
    # zarr stores a 0-d array (a scalar parameter such as alpha) as shape (1,): restore the shapes
    shapes = g.attrs["param_shapes"]
    params = {k: np.asarray(g["params"][k][...]).reshape(shapes[k]) for k in g.attrs["param_names"]}
    og = g["optimizer"]
    oshapes = og.attrs["shapes"]
    opt = {"kind": og.attrs["kind"], "hyper": og.attrs["hyper"], "step": int(og.attrs["step"]),
           "arrays": {k: np.asarray(og[k][...]).reshape(oshapes[k]) for k in og.attrs["names"]}}
    metrics = xr.open_zarr(path, group=f"{_ckpt_name(epoch)}/metrics", consolidated=False).load()
    # checkpoints written before the HK edge weights were called "weights" everywhere
    params = {_RENAMED.get(k, k): v for k, v in params.items()}
    opt["arrays"] = {"/".join(_RENAMED.get(p, p) for p in k.split("/")): v for k, v in opt["arrays"].items()}
    return {"epoch": epoch, "params": params, "optimizer": opt, "metrics": metrics, "config": attrs.get("config")}


#: old parameter names of checkpoints -> today's (HopfieldKuramoto's "hk_weights" is "weights")
_RENAMED = {"hk_weights": "weights"}


def open_metrics(path):
    """The metrics ``xarray.Dataset`` of the latest checkpoint of a training store."""
    ck = load_checkpoint(path)
    if ck is None:
        raise ValueError(f"`path` {str(path)!r} holds no complete training checkpoint.")
    return ck["metrics"]


# ============================================================================ train
@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : the trained model (``model.replace(**params)``)
    metrics : xarray.Dataset
        Dimension ``epoch``; variables ``loss``, ``train_accuracy``, ``test_accuracy``, ``lr``,
        ``grad_norm``, ``wall_time``, ``eval_time``, ``nfev``, ``steps``.
    params : dict of the trained arrays (including ``"x0"`` when learned)
    x0 : ndarray (N, D) or None, the learned oscillator state
    optimizer : the optimiser, with its state
    resumed_from : int, the epoch the run resumed from (0: a fresh run)
    """

    model: object
    metrics: object
    params: dict
    x0: object
    optimizer: object
    resumed_from: int = 0
    extra: dict = field(default_factory=dict)


_METRICS = {
    "loss": ("mean training loss over the epoch's mini-batches", "1"),
    "train_accuracy": ("accuracy on the (evaluated part of the) training set", "1"),
    "test_accuracy": ("accuracy on the test set", "1"),
    "lr": ("learning rate of the epoch's last step", "1"),
    "grad_norm": ("mean global L2 norm of the gradient over the epoch's mini-batches", "1"),
    "wall_time": ("seconds spent on the epoch's gradient steps", "s"),
    "eval_time": ("seconds spent on the epoch's evaluation", "s"),
    "nfev": ("right-hand-side evaluations of the epoch (forward and adjoint, as reported)", "1"),
    "steps": ("optimizer steps done at the end of the epoch", "1"),
}


def _metrics_dataset(rows, config):
    import xarray as xr

    epochs = np.array([r["epoch"] for r in rows], dtype=np.int64)
    data = {}
    for name, (long_name, units) in _METRICS.items():
        dtype = np.int64 if name == "steps" else np.float64
        data[name] = ("epoch", np.array([r.get(name, np.nan) for r in rows], dtype=dtype),
                      {"long_name": long_name, "units": units})
    ds = xr.Dataset(data, coords={"epoch": ("epoch", epochs, {"long_name": "epochs completed"})})
    ds.attrs["title"] = "oscihop training metrics"
    ds.attrs["config"] = json.dumps(config)
    return ds


def _rows(ds):
    out = []
    for k in range(ds.sizes.get("epoch", 0)):
        row = {"epoch": int(ds.epoch.values[k])}
        for name in ds.data_vars:
            v = ds[name].values[k]
            row[name] = int(v) if name == "steps" else float(v)
        out.append(row)
    return out


def _is_symmetric(a):
    a = np.asarray(a)
    return a.ndim == 2 and a.shape[0] == a.shape[1] and a.shape[0] > 1 and np.array_equal(a, a.T)


def train(model, X, labels, loss, encode, *, epochs=10, batch_size=32, optimizer=None, schedule=None, wrt=None,
          seed=0, X_test=None, labels_test=None, eval_train=512, t_span=(0.0, 1.0), solver=None, x0=None,
          clip_norm=None, checkpoint=None, checkpoint_every=1, resume=True, progress=None, callbacks=(),
          grad_fn=None, decode=None):
    r"""Train a model's parameters by mini-batch gradient descent through the ODE solve.

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto
        The starting model (anything with ``parameters()``, ``replace(**params)``).
    X : array_like, shape (n, ...)
        Inputs, turned into initial states by ``encode``.
    labels : array_like of int, shape (n,)
    loss : callable
        ``loss(model, labels_batch) -> loss_fn`` with ``loss_fn(y_final) -> (value, dvalue_dy)``,
        e.g. :class:`oscihop.losses.SquaredError` or :class:`~oscihop.losses.CrossEntropy`.
    encode : callable
        ``encode(X_batch) -> y0`` of shape (B, model.size), e.g. a partial of
        :func:`oscihop.datasets.encode_hopfield`.
    epochs : int, default 10
        Total number of epochs (a resumed run continues up to this number).
    batch_size : int, default 32
        Mini-batch size; the last mini-batch of an epoch may be smaller.
    optimizer : SGD, Adam or Lion, default Adam()
    schedule : float or callable, default 1e-2
        Learning rate, or ``schedule(step) -> lr`` of the global step (0-based).
    wrt : sequence of str, optional
        Names to train: keys of ``model.parameters()`` and ``"x0"``.  Default: every model
        parameter (and ``"x0"`` when ``x0`` is given).  The others stay frozen.
    seed : int, default 0
        The epoch-``e`` shuffle is ``np.random.default_rng([seed, e]).permutation(n)``, so a
        resumed run draws the same mini-batches as an uninterrupted one.
    X_test, labels_test : array_like, optional
        Test set evaluated after every epoch.
    eval_train : int or None, default 512
        Training accuracy on the first ``eval_train`` samples (None: all, 0: skip).
    t_span : (float, float), default (0, 1)
    solver : dict, optional
        ``method`` (default ``"Tsit5"``), ``rtol`` (1e-3), ``atol`` (1e-6), ``dt``, ``max_steps``.
    x0 : array_like (N, D), optional
        Learn a shared oscillator state (parameter ``"x0"``, kept on the unit sphere) that
        replaces the oscillator part of every initial state.
    clip_norm : float, optional
        Rescale a gradient whose global L2 norm exceeds this.
    checkpoint : str or os.PathLike, optional
        Directory of a zarr store; a checkpoint (parameters, optimizer state, metrics) is
        written every ``checkpoint_every`` epochs and after the last one.  With ``resume``, a
        run starts from the store's latest checkpoint: a killed run loses at most the epochs
        since it, and repeats none that it finished.
    checkpoint_every : int, default 1
    resume : bool, default True
        False: start afresh, overwriting ``checkpoint``.
    progress : bool or None, default None
        Progress bar (None: only on a terminal).
    callbacks : sequence of callables
        ``callback(epoch, model, row)`` after each epoch (after its checkpoint); returning
        True stops training.
    grad_fn : callable, optional
        ``grad_fn(model, loss_fn, y0, wrt) -> (value, grads, grad_y0[, stats])``; default
        ``oh.value_and_grad`` with ``t_span`` and ``solver``.
    decode : callable, optional
        ``decode(model, y_final) -> scores`` for accuracies; default ``loss.scores``.  Without
        either, accuracies are NaN.

    Returns
    -------
    TrainResult

    Notes
    -----
    One step on a mini-batch ``B``: ``y0 = encode(X_B)``; the gradient of
    ``loss(y(t1; y0, theta))`` in ``theta`` by the adjoint method; ``theta <- opt(theta, grad,
    schedule(step))``; symmetric matrices projected to ``(W + W.T)/2``; ``x0`` renormalised.

    Examples
    --------
    A toy "model" with one parameter and an analytic gradient (the real engine needs no
    ``grad_fn``):

    >>> import numpy as np
    >>> class Toy:
    ...     size = 2                          # the length of one state, as for oscihop models
    ...     def __init__(self, w): self.w = np.asarray(w, dtype=float)
    ...     def parameters(self): return {"w": self.w.copy()}
    ...     def replace(self, **p): return Toy(p.get("w", self.w))
    >>> def grad(model, loss, y0, wrt):      # loss = mean |w - y0|^2
    ...     d = model.w - y0.mean(axis=0)
    ...     return float(d @ d), {"w": 2 * d}, None
    >>> X = np.ones((8, 2)); lab = np.zeros(8, dtype=int)
    >>> res = train(Toy([3.0, -1.0]), X, lab, loss=lambda m, l: None, encode=lambda x: x,
    ...             epochs=30, batch_size=4, optimizer=SGD(), schedule=0.1, grad_fn=grad, progress=False)
    >>> np.round(res.model.w, 3).tolist(), res.metrics.sizes["epoch"]
    ([1.0, 1.0], 30)
    """
    from ._progress import progress_bar

    X = np.asarray(X)
    labels = np.asarray(labels)
    n = len(X)
    if n == 0 or len(labels) != n:
        raise ValueError(f"`X` and `labels` must be non-empty and of the same length; got {n} and {len(labels)}.")
    epochs = _integer(epochs, "epochs", 0)
    batch_size = _integer(batch_size, "batch_size", 1)
    checkpoint_every = _integer(checkpoint_every, "checkpoint_every", 1)
    seed = _integer(seed, "seed", 0)
    if optimizer is None:
        optimizer = Adam()
    if isinstance(optimizer, str):
        if optimizer.lower() not in OPTIMIZERS:
            raise ValueError(f"`optimizer` must be one of {sorted(OPTIMIZERS)} or an optimizer object; got {optimizer!r}.")
        optimizer = OPTIMIZERS[optimizer.lower()]()
    if not isinstance(optimizer, _Optimizer):
        raise ValueError(f"`optimizer` must be an oscihop optimizer (SGD, Adam, Lion); got {optimizer!r}.")
    schedule = _schedule(schedule)
    if clip_norm is not None:
        clip_norm = _positive(clip_norm, "clip_norm")
    solver = _solver_options(solver)
    if progress not in (None, True, False):
        raise ValueError(f"`progress` must be None (on a terminal only), True or False; got {progress!r}.")

    model_params = model.parameters()
    learn_x0 = x0 is not None
    if learn_x0:
        x0 = np.array(x0, dtype=np.float64)
        if not getattr(model, "_nk", 0) or x0.shape != (model._nk, model.dim):
            raise ValueError(f"`x0` must have shape (N, D) = ({getattr(model, '_nk', 0)}, {model.dim}) for this "
                             f"model (one oscillator per unit); got {x0.shape}.")
        x0 = x0 / np.linalg.norm(x0, axis=1, keepdims=True)
    available = sorted(model_params) + (["x0"] if learn_x0 else [])
    names = list(available) if wrt is None else list(wrt)
    unknown = sorted(set(names) - set(available))
    if unknown or not names:
        raise ValueError(f"`wrt` must name trainable parameters among {available}; got {names!r}"
                         + (f" ({unknown} unknown)." if unknown else "."))
    model_wrt = [k for k in names if k != "x0"]
    params = {k: np.array(model_params[k], dtype=np.float64) for k in model_wrt}
    if "x0" in names:
        params["x0"] = x0.copy()
    symmetric = {k for k, v in params.items() if _is_symmetric(v)}
    if grad_fn is None:
        grad_fn = _engine_grad(tuple(float(t) for t in t_span), solver)
    scorer = decode if decode is not None else (loss.scores if hasattr(loss, "scores") else None)

    nb = -(-n // batch_size)
    config = jsonable({
        "n_train": n, "batch_size": batch_size, "seed": seed, "wrt": sorted(names),
        "optimizer": _describe(optimizer), "schedule": _describe(schedule), "loss": _describe(loss),
        "t_span": list(t_span), "solver": solver, "clip_norm": clip_norm, "learn_x0": learn_x0,
        "shapes": {k: list(v.shape) for k, v in params.items()},
    })
    rows, start = [], 0
    if checkpoint is not None:
        ck = load_checkpoint(checkpoint) if resume else None
        if ck is not None:
            saved = ck["config"] or {}
            diff = sorted(k for k in set(config) | set(saved) if json.dumps(config.get(k), sort_keys=True)
                          != json.dumps(saved.get(k), sort_keys=True))
            if diff:
                raise ValueError(
                    f"`checkpoint` {str(checkpoint)!r} was written by a run with different settings ({diff}); "
                    "resume with the same settings, or pass resume=False (overwrites) or a new directory."
                )
            params = {k: np.array(ck["params"][k], dtype=np.float64) for k in params}
            optimizer.load_state_dict(ck["optimizer"])
            rows = _rows(ck["metrics"])
            start = ck["epoch"]
        else:
            from .io.stores import check_writable

            if resume:
                load_checkpoint(checkpoint)  # raises if it is some other kind of store
            # only a training store oscihop wrote is deleted; a directory of other files is refused
            state = check_writable(str(checkpoint), STORE_KIND, overwrite=True, name="`checkpoint`",
                                   flag="resume=False")
            if state.state == "oscihop":
                import shutil

                shutil.rmtree(str(checkpoint))

    def current_model(p):
        kw = {k: v for k, v in p.items() if k != "x0"}
        return model.replace(**kw) if kw else model

    cur = current_model(params)
    cur_x0 = params.get("x0", x0)
    Xte = None if X_test is None else np.asarray(X_test)
    lte = None if labels_test is None else np.asarray(labels_test)
    n_eval = n if eval_train is None else min(_integer(eval_train, "eval_train", 0), n)

    bar = progress_bar(epochs * nb, initial=min(start, epochs) * nb, enabled=progress, desc="train", unit="batch")
    try:
        for epoch in range(start, epochs):
            perm = np.random.default_rng([seed, epoch]).permutation(n)
            t_start = time.perf_counter()
            tot_loss = tot_norm = 0.0
            nfev = 0
            lr = float("nan")
            for b in range(nb):
                idx = perm[b * batch_size: (b + 1) * batch_size]
                y0 = _initial(cur, encode, X[idx], cur_x0 if learn_x0 else None)
                loss_fn = loss(cur, labels[idx])
                value, grads, gy0, stats = _call_grad(grad_fn, cur, loss_fn, y0, model_wrt)
                if not np.isfinite(value):
                    raise FloatingPointError(
                        f"the loss is {value} at epoch {epoch + 1}, mini-batch {b}; lower the learning rate "
                        "(schedule=) or clip the gradient (clip_norm=)."
                    )
                g = {k: np.asarray(grads[k], dtype=np.float64) for k in model_wrt}
                if "x0" in params:
                    if gy0 is None:
                        raise ValueError("learning `x0` needs the gradient with respect to y0 from `grad_fn`.")
                    nh = cur.size - params["x0"].size
                    gx = np.asarray(gy0)[:, nh:].reshape(len(idx), *params["x0"].shape).sum(axis=0)
                    u = params["x0"]
                    g["x0"] = gx - np.sum(gx * u, axis=1, keepdims=True) * u  # tangent part (|u| = 1)
                norm = math.sqrt(sum(float(np.sum(v * v)) for v in g.values()))
                if clip_norm is not None and norm > clip_norm:
                    g = {k: v * (clip_norm / norm) for k, v in g.items()}
                lr = float(schedule(optimizer.t))
                params = optimizer.step(params, g, lr)
                for k in symmetric:
                    params[k] = 0.5 * (params[k] + params[k].T)
                if "x0" in params:
                    params["x0"] = params["x0"] / np.linalg.norm(params["x0"], axis=1, keepdims=True)
                    cur_x0 = params["x0"]
                cur = current_model(params)
                tot_loss += value * len(idx)
                tot_norm += norm
                nfev += int(stats.get("nfev", 0) or 0)
                bar.update(1)
                bar.set_postfix_str(f"epoch {epoch + 1}/{epochs} loss {value:.4g}")
            wall = time.perf_counter() - t_start
            t_eval = time.perf_counter()
            row = {"epoch": epoch + 1, "loss": tot_loss / n, "lr": lr, "grad_norm": tot_norm / nb,
                   "wall_time": wall, "nfev": float(nfev), "steps": optimizer.t,
                   "train_accuracy": float("nan"), "test_accuracy": float("nan")}
            if scorer is not None:
                xs = cur_x0 if learn_x0 else None
                if n_eval:
                    row["train_accuracy"] = evaluate(cur, X[:n_eval], labels[:n_eval], scorer, encode, t_span,
                                                     solver, x0=xs)
                if Xte is not None:
                    row["test_accuracy"] = evaluate(cur, Xte, lte, scorer, encode, t_span, solver, x0=xs)
            row["eval_time"] = time.perf_counter() - t_eval
            rows.append(row)
            last = epoch + 1 == epochs
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or last):
                _save_checkpoint(checkpoint, epoch + 1, params, optimizer.state_dict(),
                                 _metrics_dataset(rows, config), config)
            stop = False
            for cb in callbacks:
                stop = bool(cb(epoch + 1, cur, row)) or stop
            if stop:
                if checkpoint is not None and (epoch + 1) % checkpoint_every and not last:
                    _save_checkpoint(checkpoint, epoch + 1, params, optimizer.state_dict(),
                                     _metrics_dataset(rows, config), config)
                break
    finally:
        bar.close()
    if start > epochs:
        warnings.warn(f"`checkpoint` already holds {start} epochs, more than epochs={epochs}; nothing to do.",
                      UserWarning, stacklevel=2)
    return TrainResult(model=cur, metrics=_metrics_dataset(rows, config), params=params,
                       x0=params.get("x0", x0), optimizer=optimizer, resumed_from=start)
