"""Activations g = dL/dh, their Lagrangians L and Hessian-vector products.

Scalar maths uses the :mod:`math` module, not NumPy ufuncs, so that the same source
compiles for the CPU (``@njit``) and as CUDA device code (numba-cuda compiles these
functions again when a ``@cuda.jit`` kernel calls them).
"""

from __future__ import annotations

import math

from ..config import entry_jit, serial_jit
from .elementary import sigmoid, tanh
from .lanes import first, lane_max, lane_sum, stride
from .params import ACT_RELU, ACT_SIGMOID, ACT_SIGN, ACT_SOFTMAX, ACT_TANH, INT_LINEAR, INT_RELU, INT_TANH

__all__ = [
    "logcosh", "softplus", "sigmoid", "dphi", "activate", "lagrangian", "hessian_apply", "LIPSCHITZ_PER_BETA",
    "G_SUP",
]

_LOG2 = math.log(2.0)


@serial_jit
def logcosh(z):
    """Overflow-free log(cosh(z))."""
    a = abs(z)
    return a + math.log1p(math.exp(-2.0 * a)) - _LOG2


@serial_jit
def softplus(z):
    """Overflow-free log(1 + exp(z))."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@serial_jit
def dphi(code, s):
    """phi'(s) of the Kuramoto interaction ``code`` (linear, relu, tanh, sigmoid)."""
    if code == INT_RELU:
        return s if s > 0 else 0.0
    if code == INT_TANH:
        return tanh(s)
    if code == INT_LINEAR:
        return 0.0
    return sigmoid(s)


@entry_jit
def activate(ln, code, beta, h, g):
    """g[:] = g(h) for the activation ``code`` with gain ``beta``; ``ln``: who runs the loops
    (:mod:`oscihop.kernels.lanes`; None for one thread)."""
    n = h.shape[0]
    lo, step = first(ln), stride(ln)
    if code == ACT_TANH:
        for i in range(lo, n, step):
            g[i] = tanh(beta * h[i])  # vectorisable, within 3 ulp of math.tanh
    elif code == ACT_SIGMOID:
        for i in range(lo, n, step):
            g[i] = sigmoid(beta * h[i])
    elif code == ACT_RELU:
        for i in range(lo, n, step):
            g[i] = h[i] if h[i] > 0 else 0.0
    elif code == ACT_SOFTMAX:
        m = -math.inf
        for i in range(lo, n, step):
            m = max(m, beta * h[i])
        m = lane_max(ln, m)
        s = 0.0
        for i in range(lo, n, step):
            e = math.exp(beta * h[i] - m)
            g[i] = e
            s += e
        s = lane_sum(ln, s)
        for i in range(lo, n, step):
            g[i] = g[i] / s
    else:  # ACT_SIGN
        for i in range(lo, n, step):
            g[i] = 1.0 if h[i] > 0 else (-1.0 if h[i] < 0 else 0.0)


@serial_jit
def lagrangian(code, beta, h):
    """L(h), whose gradient is g(h) (docs/theory.md §2.1)."""
    n = h.shape[0]
    total = 0.0
    if code == ACT_TANH:
        for i in range(n):
            total += logcosh(beta * h[i])
        return total / beta
    if code == ACT_SIGMOID:
        for i in range(n):
            total += softplus(beta * h[i])
        return total / beta
    if code == ACT_RELU:
        for i in range(n):
            if h[i] > 0:
                total += 0.5 * h[i] * h[i]
        return total
    if code == ACT_SOFTMAX:
        m = -math.inf
        for i in range(n):
            m = max(m, beta * h[i])
        for i in range(n):
            total += math.exp(beta * h[i] - m)
        return (m + math.log(total)) / beta
    return 0.0


@serial_jit
def hessian_apply(code, beta, h, g, v, out):
    """out[:] = (d g / d h) v, the Hessian of L applied to ``v``; ``g`` = g(h)."""
    n = h.shape[0]
    if code == ACT_TANH:
        for i in range(n):
            out[i] = beta * (1.0 - g[i] * g[i]) * v[i]
    elif code == ACT_SIGMOID:
        for i in range(n):
            out[i] = beta * g[i] * (1.0 - g[i]) * v[i]
    elif code == ACT_RELU:
        for i in range(n):
            out[i] = v[i] if h[i] > 0 else 0.0
    elif code == ACT_SOFTMAX:
        gv = 0.0
        for i in range(n):
            gv += g[i] * v[i]
        for i in range(n):
            out[i] = beta * g[i] * (v[i] - gv)
    else:
        for i in range(n):
            out[i] = 0.0


#: Lipschitz constant of g divided by beta (softmax: largest eigenvalue of diag(p) - p p^T <= 1/2).
LIPSCHITZ_PER_BETA = {ACT_TANH: 1.0, ACT_SIGMOID: 0.25, ACT_SOFTMAX: 0.5}
#: Sup |g| over the real line (None: unbounded).
G_SUP = {ACT_TANH: 1.0, ACT_SIGMOID: 1.0, ACT_SOFTMAX: 1.0, ACT_RELU: None, ACT_SIGN: 1.0}
