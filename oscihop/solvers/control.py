"""The adaptive solvers' step-size control, written once for every layout and back end.

scipy's ``solve_ivp`` rules (Hairer, Norsett & Wanner, *Solving ODEs I*, II.4): the error
norm, the initial step and the accept/reject step-size factor.  They are scalar
functions of per-element or per-member quantities, so that each layout keeps its own
loop order and memory access and calls the same rule:

- the single-trajectory loops and the adjoint's forward pass (``solvers/loops.py``,
  ``adjoint.py``) sum :func:`error_sq` over one state vector;
- the lockstep batch solver (``solvers/lockstep.py``) sums it down the columns of a
  batch-innermost array;
- the CUDA block-per-trajectory kernel (``cuda/kernels.py``) sums it over a block's
  threads and reduces.

All of them are allocation-free and use :mod:`math` only, so they are CUDA device code
as well.  The rules are stated in docs/theory.md §7 ("Adaptive controller").
"""

from __future__ import annotations

import math

from ..config import serial_jit

__all__ = ["SAFETY", "MIN_FACTOR", "MAX_FACTOR", "error_sq", "rms", "step_factor", "initial_h0",
           "initial_h1", "spacing_up", "min_step", "clamp_step", "dense_weight"]

#: scipy's safety factor and the bounds of one step-size change.
SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


@serial_jit
def error_sq(v, y_a, y_b, atol, rtol, use_b):
    """One element's share of the error norm: ``(v / (atol + max(|y_a|, |y_b|) rtol))^2``.

    ``y_b`` counts only with ``use_b`` (the norm of an error estimate compares the state
    before and after the step; the initial-step rule uses the state alone).
    """
    mag = abs(y_a)
    if use_b:
        mag = max(mag, abs(y_b))
    sc = atol + mag * rtol
    q = v / sc
    return q * q


@serial_jit
def rms(sum_sq, n):
    """The root mean square of ``n`` elements whose squares sum to ``sum_sq`` (0 for none)."""
    return math.sqrt(sum_sq / n) if n > 0 else 0.0


@serial_jit
def step_factor(err_norm, err_exp, retry):
    """The factor a step size is multiplied by after an attempt with error ``err_norm``.

    The attempt is accepted exactly when ``err_norm < 1``.  Accepted: grow by
    ``SAFETY err_norm^err_exp`` up to ``MAX_FACTOR`` (and never grow right after a
    rejection, ``retry``).  Rejected: shrink by the same rule, at most to ``MIN_FACTOR``,
    and by ``MIN_FACTOR`` when the error is not finite.  ``err_exp = -1 / (q + 1)`` for an
    embedded error estimate of order ``q``.
    """
    if err_norm < 1.0:
        if err_norm == 0.0:
            factor = MAX_FACTOR
        else:
            factor = min(MAX_FACTOR, SAFETY * err_norm**err_exp)
        if retry:
            factor = min(1.0, factor)
        return factor
    if math.isfinite(err_norm):
        return max(MIN_FACTOR, SAFETY * err_norm**err_exp)
    return MIN_FACTOR


@serial_jit
def initial_h0(d0, d1, interval):
    """The trial step of the initial-step rule from ``d0 = |y0|`` and ``d1 = |f(y0)|`` (norms
    of :func:`error_sq`), at most the whole ``interval``."""
    if d0 < 1e-5 or d1 < 1e-5:
        h0 = 1e-6
    else:
        h0 = 0.01 * d0 / d1
    return min(h0, interval)


@serial_jit
def initial_h1(h0, d1, d2, order, interval, max_step):
    """The initial step from the trial step ``h0``, ``d1`` and the second-derivative estimate
    ``d2 = |f(y0 + h0 f0) - f0| / h0``, for an error estimate of order ``order``."""
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1.0 / (order + 1))
    return min(100 * h0, h1, interval, max_step)


@serial_jit
def spacing_up(t):
    """``nextafter(t, +inf) - t`` for float64 ``t``, from its binary exponent.

    Equals ``np.nextafter(t, np.inf) - t`` (which has no CUDA implementation) for every
    finite ``t``.
    """
    if t == 0.0:
        return math.ldexp(1.0, -1074)
    m, e = math.frexp(t)
    # |t| = |m| 2^e with 0.5 <= |m| < 1: spacing 2^(e - 53), halved just below a power of two
    q = e - 53
    if m == -0.5:
        q -= 1
    if q < -1074:
        q = -1074
    return math.ldexp(1.0, q)


@serial_jit
def min_step(t):
    """The smallest step taken at time ``t``: ten units in the last place (scipy's rule)."""
    return 10.0 * spacing_up(t)


@serial_jit
def clamp_step(h_abs, max_step, smallest):
    """A new step's size: ``h_abs`` brought into ``[smallest, max_step]`` (``max_step`` wins)."""
    if h_abs > max_step:
        return max_step
    if h_abs < smallest:
        return smallest
    return h_abs


@serial_jit
def dense_weight(Pd, s, theta):
    """The weight ``q_s(theta) = sum_j Pd[s, j] theta^(j+1)`` of stage ``s`` in the dense output
    ``y(t + theta h) = y + h sum_s q_s(theta) K_s`` (``Pd``: the method's interpolant)."""
    q = 0.0
    pw = 1.0
    for j in range(Pd.shape[1]):
        pw *= theta
        q += Pd[s, j] * pw
    return q
