"""The training loop, :func:`train`: mini-batch gradient descent through the ODE solve."""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._json import jsonable
from ._checks import _integer, _positive
from .checkpoints import STORE_KIND, _metrics_dataset, _rows, _save_checkpoint, load_checkpoint
from .evaluation import _initial, _solver_options, evaluate
from .optimizers import OPTIMIZERS, SGD, Adam, _Optimizer  # noqa: F401  (SGD: the example of train)
from .schedules import _schedule

__all__ = ["TrainResult", "train"]


def _describe(obj):
    if hasattr(obj, "describe"):
        return obj.describe()
    if hasattr(obj, "hyperparameters"):
        return {"kind": type(obj).__name__, **obj.hyperparameters()}
    return {"callable": getattr(obj, "__qualname__", type(obj).__name__)}


def _engine_grad(t_span, solver):
    """The default gradient: ``oh.value_and_grad`` (adjoint through the solve)."""

    def grad_fn(model, loss, y0, wrt):
        from ..gradients import value_and_grad
        from ..networks import AKOrNNetwork

        if isinstance(model, AKOrNNetwork):  # runs its own AKOrN steps: t_span and solver do not apply
            res = model.value_and_grad(loss, y0, wrt=list(wrt))
        else:
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
    model : Hopfield, Kuramoto, HopfieldKuramoto or AKOrNNetwork
        The starting model (anything with ``parameters()``, ``replace(**params)``).  A
        network (:class:`oscihop.networks.AKOrNNetwork`) takes the inputs themselves
        (``encode`` returns (B, n_in)), runs its own AKOrN steps (``t_span`` and ``solver``
        do not apply) and is differentiated by its ``value_and_grad``.
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
    from .._progress import progress_bar

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
            from ..io.stores import check_writable

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
