"""Forward solves of a model on inputs, and the class scores and accuracy they give."""

from __future__ import annotations

import numpy as np

__all__ = ["predict_scores", "evaluate"]


def _solver_options(solver):
    opts = {"method": "Tsit5", "rtol": 1e-3, "atol": 1e-6}
    if solver:
        unknown = sorted(set(solver) - {"method", "rtol", "atol", "dt", "max_steps"})
        if unknown:
            raise ValueError(f"`solver` accepts method, rtol, atol, dt, max_steps; got unknown keys {unknown}.")
        opts.update(solver)
    return opts


def predict_scores(model, X, decode, encode, t_span=(0.0, 1.0), solver=None, batch_size=256, x0=None):
    """Class scores of inputs ``X``: solve from ``encode(X)`` and ``decode(model, y_final)``.

    Parameters
    ----------
    model : Hopfield, Kuramoto, HopfieldKuramoto or AKOrNNetwork
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
    from ..solvers import solve

    opts = _solver_options(solver)
    scorer = decode.scores if hasattr(decode, "scores") else decode
    X = np.asarray(X)
    out = []
    from ..networks import AKOrNNetwork

    for lo in range(0, len(X), batch_size):
        y0 = _initial(model, encode, X[lo: lo + batch_size], x0)
        if isinstance(model, AKOrNNetwork):  # a network's outputs are its "final states"
            out.append(np.asarray(scorer(model, model.forward(y0))))
            continue
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
