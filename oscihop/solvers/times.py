"""The time arguments every solving entry point shares: ``t_span``, ``t_eval`` and the
step count a fixed step ``dt`` implies.

:func:`oscihop.solve`, :func:`oscihop.value_and_grad` and :func:`oscihop.sweep` validate
their times here, so one rule holds everywhere:

- ``t_span`` is required: a pair of finite real numbers ``(t0, t1)`` with ``t1 >= t0``;
- ``t_eval`` is a non-empty 1-D array of finite times inside ``t_span``, strictly
  increasing (scipy's rule: every output is a distinct time; pass ``np.unique(t_eval)``
  to drop repeats);
- the steps of a fixed-step method (and the sweeps of ``method="async"``) are counted
  before anything is compiled: at most ``max_steps`` (default :data:`DEFAULT_MAX_STEPS`)
  when ``max_steps`` is not given, and never more than :data:`MAX_STEPS_LIMIT`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._validation import as_float_array, check_finite

__all__ = ["DEFAULT_MAX_STEPS", "MAX_STEPS_LIMIT", "check_t_span", "check_t_eval", "fixed_substeps",
           "check_step_count"]

#: Default ``max_steps`` of every method and entry point: accepted steps of an adaptive
#: method, steps of a fixed-step method, sweeps of ``method="async"``.
DEFAULT_MAX_STEPS = 1_000_000

#: The most steps any solve may count: integers up to 2**53 are exact in float64, the type
#: of a Solution's statistics (and far below the compiled loops' int64 counters).
MAX_STEPS_LIMIT = 2**53


def check_t_span(t_span, name="t_span"):
    """Return ``(t0, t1)`` as floats; ``t_span`` must be two finite reals with ``t1 >= t0``.

    Strings, booleans and complex entries are refused (``float("1")`` would accept a string).
    """
    try:
        items = list(t_span) if not isinstance(t_span, (str, bytes)) else None
    except TypeError:
        items = None
    if items is None or len(items) != 2:
        raise ValueError(f"`{name}` must be a pair of numbers (t0, t1); got {t_span!r}.")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.integer, np.floating)):
            raise ValueError(f"`{name}` must be a pair of real numbers (t0, t1); got {t_span!r} "
                             f"(an entry of type {type(v).__name__}).")
        out.append(float(v))
    t0, t1 = out
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 < t0:
        raise ValueError(
            f"`{name}` must be finite with {name}[1] >= {name}[0] (oscihop integrates forward); got ({t0}, {t1})."
        )
    return t0, t1


def check_t_eval(t_eval, t0, t1, name="t_eval"):
    """Return the output times as a new float64 array, clipped to ``[t0, t1]``.

    Rules: a non-empty 1-D array of real, finite times, strictly increasing (scipy's rule),
    within ``t_span`` up to a relative 1e-12 (rounding of a computed grid's ends).
    """
    if type(t_eval) is np.ndarray and t_eval.dtype == np.float64:  # the common case, no conversion checks
        te = t_eval
    else:
        te = as_float_array(t_eval, name)
    if te.ndim != 1 or te.size == 0:
        raise ValueError(f"`{name}` must be a non-empty 1-D array of times; got shape {te.shape}.")
    # One pass for the common valid grid: increasing (a NaN fails every comparison) between
    # finite ends means finite and sorted; otherwise the checks below name what is wrong.
    if not (math.isfinite(te[0]) and math.isfinite(te[-1]) and (te[1:] > te[:-1]).all()):
        check_finite(te, name)
        down = np.flatnonzero(te[1:] <= te[:-1])
        if down.size:
            i = int(down[0])
            rule = "repeats" if te[i + 1] == te[i] else "decreases"
            raise ValueError(
                f"`{name}` must be strictly increasing (every output a distinct time); it {rule} at index {i + 1}: "
                f"{name}[{i}] = {float(te[i])!r}, {name}[{i + 1}] = {float(te[i + 1])!r}. Pass np.unique({name}) to sort it "
                "and drop repeats."
            )
    span = max(abs(t0), abs(t1), 1.0) * 1e-12
    if te[0] < t0 - span or te[-1] > t1 + span:
        raise ValueError(f"`{name}` must lie within t_span = ({t0}, {t1}); got values in [{te[0]}, {te[-1]}].")
    return te.clip(t0, t1)  # what np.clip calls, without its dispatch layers; always a new array


def fixed_substeps(t0, t_out, dt):
    """Steps per output interval of a fixed-step solve, as floats (exact below 2**53).

    ``t_out`` are the output times (valid, within ``t_span``); outputs at ``t0`` take no
    step, every later interval the fewest equal steps no longer than ``dt`` (at least one),
    as the compiled loops (:func:`oscihop.solvers.loops.substeps`) cut it.  Returns
    ``(n_before, nsub)``: the outputs at ``t0`` and the steps of each later interval.
    """
    n_before = int(np.searchsorted(t_out, t0, side="right"))
    spans = np.diff(np.concatenate([[t0], t_out[n_before:]]))
    with np.errstate(over="ignore"):
        nsub = np.maximum(1.0, np.ceil(spans / dt * (1.0 - 1e-12)))
    return n_before, nsub


def check_step_count(n_steps, max_steps, *, name, value, what="steps", over="t_span", every_step=False):
    """Refuse a solve whose step count, known before it runs, is too large.

    ``n_steps`` (a float) is the count ``name`` = ``value`` implies.  It must never exceed
    :data:`MAX_STEPS_LIMIT`; with ``max_steps`` None it must be at most
    :data:`DEFAULT_MAX_STEPS`; with ``every_step`` (every step an output, the default grid
    without ``t_eval``) at most ``max(max_steps, DEFAULT_MAX_STEPS)``, since the outputs
    are allocated before the run.  A ``max_steps`` given explicitly below ``n_steps`` is
    otherwise left to the solve, which stops there and returns a failed result
    (status -1), as an adaptive solve that runs out of steps does.
    """
    if n_steps > MAX_STEPS_LIMIT or not math.isfinite(n_steps):
        raise ValueError(
            f"`{name}` = {value!r} needs {n_steps:.3g} {what} over {over}, more than 2**53 = {MAX_STEPS_LIMIT:.3g}, "
            f"the most a solve can count; pass a larger `{name}`."
        )
    if max_steps is None:
        limit, why = DEFAULT_MAX_STEPS, f"max_steps = {DEFAULT_MAX_STEPS} (the default)"
    elif every_step:
        limit = max(int(max_steps), DEFAULT_MAX_STEPS)
        why = f"{limit} outputs (without `t_eval` every step is an output)"
    else:
        return
    if n_steps > limit:
        extra = ", or pass `t_eval` to keep fewer outputs" if every_step else ""
        raise ValueError(
            f"`{name}` = {value!r} needs {int(n_steps)} {what} over {over}, more than {why}; pass a larger "
            f"`{name}`{extra}, or max_steps={int(n_steps)} if that many are meant."
        )
