"""Learning-rate schedules, callables ``schedule(step) -> lr``: :class:`Constant`, :class:`Cosine`,
:class:`StepDecay`, :class:`Exponential`."""

from __future__ import annotations

import math
import numbers

from ._checks import _integer, _positive

__all__ = ["Constant", "Cosine", "StepDecay", "Exponential"]


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
