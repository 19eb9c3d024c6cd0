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

One module per piece: :mod:`~oscihop.training.optimizers`, :mod:`~oscihop.training.schedules`,
:mod:`~oscihop.training.evaluation`, :mod:`~oscihop.training.checkpoints` and
:mod:`~oscihop.training.trainer` (the loop, which uses the others).
"""

# OPTIMIZERS, STORE_KIND and FORMAT_VERSION are not in __all__, but stay importable from here as before
from .checkpoints import FORMAT_VERSION, STORE_KIND, load_checkpoint, open_metrics  # noqa: F401
from .evaluation import evaluate, predict_scores
from .optimizers import OPTIMIZERS, SGD, Adam, Lion  # noqa: F401
from .schedules import Constant, Cosine, Exponential, StepDecay
from .trainer import TrainResult, train

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
