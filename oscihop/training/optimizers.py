"""Optimisers over dicts of named arrays: :class:`SGD`, :class:`Adam`, :class:`Lion`.

Each has ``step(params, grads, lr)`` (a new dict; the inputs are not modified) and
``state_dict()`` / ``load_state_dict()`` (what a checkpoint keeps).
"""

from __future__ import annotations

import json

import numpy as np

from ._checks import _positive, _unit_interval

__all__ = ["SGD", "Adam", "Lion", "OPTIMIZERS"]


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
