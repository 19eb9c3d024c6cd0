"""CPU fast path for batches of fixed-step solves: every member steps together.

Fixed-step methods (Euler, AKOrN, RK4) take the same step sizes in every batch member,
so a whole batch can advance in lockstep in the batch-innermost layout of
:mod:`oscihop.kernels.batched`: one right-hand side call serves all members, dense and
low-rank couplings become matrix-matrix products through BLAS, sparse ones load each
index once per batch.  The results are those of :func:`oscihop.solvers.loops.fixed_core`
run member by member (same steps, same statuses, same outputs) up to rounding.

A member that comes to rest (``steady_state``) or turns non-finite is frozen from then on,
exactly as the per-member loop stops there; the others go on.  CPU only: BLAS does not
compile for CUDA, and the CUDA kernels never import this module.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import serial_jit
from ..kernels.batched import rhs_t
from ..kernels.params import I_DIM, I_NH, I_NK
from .loops import SCHEME_EULER, STATUS_DONE, STATUS_MAX_STEPS, STATUS_NONFINITE, STATUS_STEADY


@serial_jit
def _retract_t(p, y):
    """Scale every oscillator of every member (columns of ``y``) to unit length."""
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    nb = y.shape[1]
    for i in range(p.ip[I_NK]):
        o = nh + i * dim
        for b in range(nb):
            s = 0.0
            for d in range(dim):
                s += y[o + d, b] * y[o + d, b]
            if s > 0:
                inv = 1.0 / math.sqrt(s)
                for d in range(dim):
                    y[o + d, b] *= inv


@serial_jit
def _check_rest(f, live, status, kstop, k, steady_tol, fmax):
    """Freeze members whose dy/dt is non-finite or below ``steady_tol``; count the live."""
    size, nb = f.shape
    for b in range(nb):
        fmax[b] = 0.0
    for i in range(size):
        for b in range(nb):
            a = abs(f[i, b])
            if not a <= fmax[b]:  # also catches NaN
                fmax[b] = a
    n_live = 0
    for b in range(nb):
        if live[b]:
            if not math.isfinite(fmax[b]):
                status[b] = STATUS_NONFINITE
                live[b] = False
                kstop[b] = k
            elif steady_tol > 0 and fmax[b] < steady_tol:
                status[b] = STATUS_STEADY
                live[b] = False
                kstop[b] = k
            else:
                n_live += 1
    return n_live


@serial_jit
def fixed_lockstep(p, y0s, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out, stats, work):
    """Euler (``scheme`` 0, also AKOrN) or RK4 (1) for a batch ``y0s`` (B, size) in lockstep.

    Same contract as :func:`oscihop.solvers.loops.fixed_block`: ``out`` (B, n_eval, size),
    ``stats`` (B, 5).  ``work`` needs :func:`oscihop.kernels.batched.work_t_size` entries.
    """
    nb, size = y0s.shape
    y = np.ascontiguousarray(y0s.T)
    k1 = np.empty_like(y)
    k2 = np.empty_like(y)
    k3 = np.empty_like(y)
    k4 = np.empty_like(y)
    ytmp = np.empty_like(y)
    hl = np.empty(nb, dtype=y.dtype)
    fmax = np.empty(nb, dtype=y.dtype)
    live = np.ones(nb, dtype=np.bool_)
    status = np.full(nb, STATUS_DONE, dtype=np.int64)
    kstop = np.full(nb, -1, dtype=np.int64)
    nfev = np.zeros(nb, dtype=np.int64)
    nsteps = np.zeros(nb, dtype=np.int64)
    t_stop = np.zeros(nb)
    n_eval = t_eval.shape[0]
    k = 0
    while k < n_eval and t_eval[k] <= t0:
        for b in range(nb):
            for i in range(size):
                out[b, k, i] = y[i, b]
        k += 1
    t = t0
    steps = 0
    n_live = nb
    while k < n_eval and n_live > 0:
        span = t_eval[k] - t
        nsub = max(1, int(math.ceil(span / dt_max * (1.0 - 1e-12))))
        h = span / nsub
        for _ in range(nsub):
            if steps >= max_steps:
                for b in range(nb):
                    if live[b]:
                        status[b] = STATUS_MAX_STEPS
                        live[b] = False
                        kstop[b] = k
                        t_stop[b] = t
                n_live = 0
                break
            rhs_t(p, y, k1, work)
            for b in range(nb):
                if live[b]:
                    nfev[b] += 1
                    t_stop[b] = t
            n_live = _check_rest(k1, live, status, kstop, k, steady_tol, fmax)
            if n_live == 0:
                break
            for b in range(nb):
                hl[b] = h if live[b] else 0.0
            if scheme == SCHEME_EULER:
                for i in range(size):
                    for b in range(nb):
                        if live[b]:
                            y[i, b] += hl[b] * k1[i, b]
            else:
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + 0.5 * h * k1[i, b]
                rhs_t(p, ytmp, k2, work)
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + 0.5 * h * k2[i, b]
                rhs_t(p, ytmp, k3, work)
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + h * k3[i, b]
                rhs_t(p, ytmp, k4, work)
                for i in range(size):
                    for b in range(nb):
                        if live[b]:
                            y[i, b] += hl[b] / 6.0 * (k1[i, b] + 2.0 * k2[i, b] + 2.0 * k3[i, b] + k4[i, b])
                for b in range(nb):
                    if live[b]:
                        nfev[b] += 3
            _retract_t(p, y)
            t += h
            steps += 1
            for b in range(nb):
                if live[b]:
                    nsteps[b] += 1
        if n_live == 0:
            break
        t = t_eval[k]
        for b in range(nb):
            if live[b]:
                t_stop[b] = t
                for i in range(size):
                    out[b, k, i] = y[i, b]
        k += 1
    for b in range(nb):
        start = kstop[b] if kstop[b] >= 0 else n_eval
        nan = status[b] != STATUS_STEADY
        for kk in range(start, n_eval):
            for i in range(size):
                out[b, kk, i] = math.nan if nan else y[i, b]
        stats[b, 0] = nfev[b]
        stats[b, 1] = nsteps[b]
        stats[b, 2] = 0
        stats[b, 3] = status[b]
        stats[b, 4] = t_stop[b]
