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

from ..config import entry_jit, serial_jit
from ..kernels.system import linked_rhs_shared_t, linked_rhs_t
from ..kernels.params import I_DIM, I_NH, I_NK
from .control import clamp_step, error_sq, initial_h0, initial_h1, min_step, rms, step_factor
from .loops import (
    SCHEME_EULER,
    ST_NFEV,
    ST_NREJ,
    ST_NSTEPS,
    ST_STATUS,
    ST_T,
    STATUS_DONE,
    STATUS_MAX_STEPS,
    STATUS_STEADY,
    STATUS_STEP_UNDERFLOW,
    dense_output,
    rest_status,
    retract,
    substeps,
)

__all__ = ["fixed_lockstep", "erk_lockstep"]


@serial_jit
def _retract_t(p, y):
    """Scale every oscillator of every member (columns of ``y``) to unit length: the sums of
    :func:`oscihop.kernels.system.retract` of each column, member index innermost (one pass
    over ``y`` in memory order)."""
    nb = y.shape[1]
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    inv = np.empty(nb)  # float64, as the per-member sums
    for i in range(p.ip[I_NK]):
        o = nh + i * dim
        for b in range(nb):
            inv[b] = 0.0
        for d in range(dim):
            for b in range(nb):
                inv[b] += y[o + d, b] * y[o + d, b]
        for b in range(nb):
            inv[b] = 1.0 / math.sqrt(inv[b]) if inv[b] > 0 else 1.0
        for d in range(dim):
            for b in range(nb):
                y[o + d, b] *= inv[b]


@serial_jit
def _outputs_at_start(t_eval, t0, y, out):
    """Copy the start state (columns of ``y``) into the outputs at times <= t0; return how many."""
    k = 0
    while k < t_eval.shape[0] and t_eval[k] <= t0:
        for b in range(y.shape[1]):
            for i in range(y.shape[0]):
                out[b, k, i] = y[i, b]
        k += 1
    return k


@serial_jit
def _check_rest(f, live, status, kstop, k, steady_tol, fmax):
    """Freeze members whose dy/dt is non-finite or below ``steady_tol``; count the live."""
    nb = f.shape[1]
    _col_max_abs(f, fmax)
    n_live = 0
    for b in range(nb):
        if live[b]:
            stop = rest_status(fmax[b], steady_tol)
            if stop != STATUS_DONE:
                status[b] = stop
                live[b] = False
                kstop[b] = k
            else:
                n_live += 1
    return n_live


@entry_jit
def fixed_lockstep(p, y0s, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out, stats, work):
    """Euler (``scheme`` 0, also AKOrN) or RK4 (1) for a batch ``y0s`` (B, size) in lockstep.

    Same contract as :func:`oscihop.solvers.loops.fixed_block`: ``out`` (B, n_eval, size),
    ``stats`` (B, 5).  ``work`` needs :func:`oscihop.kernels.batched.work_t_size` entries.
    ``p`` is ``system.link(bundle, "rhs_t")``: the loop calls the kind's compiled
    :func:`oscihop.kernels.batched.rhs_t` by address, so it compiles once for every kind.
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
    k = _outputs_at_start(t_eval, t0, y, out)
    t = t0
    steps = 0
    n_live = nb
    while k < n_eval and n_live > 0:
        span = t_eval[k] - t
        nsub = substeps(span, dt_max)  # -1: too many to count, stop as if out of steps
        h = span / max(nsub, 1)
        for _ in range(max(nsub, 1)):
            if steps >= max_steps or nsub < 0:
                for b in range(nb):
                    if live[b]:
                        status[b] = STATUS_MAX_STEPS
                        live[b] = False
                        kstop[b] = k
                        t_stop[b] = t
                n_live = 0
                break
            linked_rhs_t(p, y, k1, work)
            for b in range(nb):
                if live[b]:
                    nfev[b] += 1
                    t_stop[b] = t
            n_live = _check_rest(k1, live, status, kstop, k, steady_tol, fmax)
            if n_live == 0:
                break
            for b in range(nb):
                hl[b] = h if live[b] else 0.0
            # frozen members have hl = 0: their states stay (k1 is finite for a member at rest; a
            # non-finite member's outputs are NaN from its stop on), and the loops vectorise
            if scheme == SCHEME_EULER:
                for i in range(size):
                    for b in range(nb):
                        y[i, b] += hl[b] * k1[i, b]
            else:
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + 0.5 * h * k1[i, b]
                linked_rhs_t(p, ytmp, k2, work)
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + 0.5 * h * k2[i, b]
                linked_rhs_t(p, ytmp, k3, work)
                for i in range(size):
                    for b in range(nb):
                        ytmp[i, b] = y[i, b] + h * k3[i, b]
                linked_rhs_t(p, ytmp, k4, work)
                for i in range(size):
                    for b in range(nb):
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
        _stop(out, b, kstop[b] if kstop[b] >= 0 else n_eval, y, status[b] != STATUS_STEADY)
        _put_stats(stats, b, nfev[b], nsteps[b], 0, status[b], t_stop[b])


# ---------------------------------------------------------------- adaptive lockstep
@serial_jit
def _stage_t(c, K, n, y, hs, out, add_y):
    """out[:, b] = y[:, b] + hs[b] sum_{j < n} c[j] K[j, :, b] (without the ``y`` term
    unless ``add_y``): the per-member combinations of
    :func:`oscihop.solvers.loops.erk_advance`, in the same order of operations, with the
    member index innermost."""
    size, nb = y.shape
    c0 = c[0]
    for i in range(size):
        for b in range(nb):
            out[i, b] = c0 * K[0, i, b]
    for j in range(1, n):
        cj = c[j]
        for i in range(size):
            for b in range(nb):
                out[i, b] += cj * K[j, i, b]
    for i in range(size):
        for b in range(nb):
            out[i, b] = y[i, b] + hs[b] * out[i, b] if add_y else out[i, b] * hs[b]


@serial_jit
def _scaled_rms_t(v, ya, yb, rtol, atol, use_b, acc):
    """acc[b] = scipy's error norm of column b of ``v`` (see ``loops._scaled_rms``)."""
    size, nb = v.shape
    for b in range(nb):
        acc[b] = 0.0
    for i in range(size):
        ai = atol[i]
        for b in range(nb):
            acc[b] += error_sq(v[i, b], ya[i, b], yb[i, b], ai, rtol, use_b)
    for b in range(nb):
        acc[b] = rms(acc[b], size)


@serial_jit
def _col_max_abs(f, acc):
    size, nb = f.shape
    for b in range(nb):
        acc[b] = 0.0
    for i in range(size):
        for b in range(nb):
            a = abs(f[i, b])
            if not a <= acc[b]:  # also catches NaN
                acc[b] = a


@serial_jit
def _put_stats(stats, b, nfev, nsteps, nrej, status, t):
    """Member ``b``'s row of the statistics array (columns ``loops.STATS_COLUMNS``)."""
    stats[b, ST_NFEV] = nfev
    stats[b, ST_NSTEPS] = nsteps
    stats[b, ST_NREJ] = nrej
    stats[b, ST_STATUS] = status
    stats[b, ST_T] = t


@serial_jit
def _stop(out, b, k, y, nan):
    """Fill member ``b``'s outputs from row ``k`` on: its state, or NaN after a failure."""
    for kk in range(k, out.shape[1]):
        for i in range(out.shape[2]):
            out[b, kk, i] = math.nan if nan else y[i, b]


@entry_jit
def erk_lockstep(p, y0s, t0, t1, t_eval, rtol, atol, max_step, first_step, max_steps, steady_tol,
                 A, B, E, Pd, err_order, out, stats, work):
    """Adaptive embedded Runge-Kutta for a batch ``y0s`` (B, size), every member with its own
    step size and controller, all members' stages evaluated together.

    Each iteration makes one step attempt for every member still running (accepted or
    rejected on its own error), so a member takes exactly the steps, rejections and
    outputs of :func:`oscihop.solvers.loops.erk_member` (scipy's controller) up to the
    rounding of the right-hand side; the stage evaluations of all members are one call of
    :func:`oscihop.kernels.batched.rhs_shared_t` in the batch-innermost layout, which loads
    each CSR index and edge weight once for the whole batch.  A member that has stopped
    (end reached, steady state, a failure) is frozen: its column is still evaluated, with
    a zero step, and its results no longer change.  Same contract as
    :func:`oscihop.solvers.loops.erk_block` (``out`` (B, n_eval, size), ``stats`` (B, 5));
    ``work`` needs :func:`oscihop.kernels.batched.work_t_size` entries.  ``p`` is
    ``system.link(bundle, "rhs_shared_t")`` (the kind's compiled function, called by address).
    """
    nb, size = y0s.shape
    dt = y0s.dtype
    ns = B.shape[0]
    err_exp = -1.0 / (err_order + 1)
    n_eval = t_eval.shape[0]
    y = np.ascontiguousarray(y0s.T)
    f = np.empty_like(y)
    K = np.empty((ns + 1, size, nb), dtype=dt)
    y_new = np.empty_like(y)
    ytmp = np.empty_like(y)
    hs = np.zeros(nb)
    acc = np.zeros(nb)
    t = np.full(nb, t0)
    t_new = np.full(nb, t0)
    h_abs = np.zeros(nb)
    kout = np.zeros(nb, dtype=np.int64)
    nfev = np.ones(nb, dtype=np.int64)
    nsteps = np.zeros(nb, dtype=np.int64)
    nrej = np.zeros(nb, dtype=np.int64)
    status = np.full(nb, STATUS_DONE, dtype=np.int64)
    running = np.ones(nb, dtype=np.bool_)
    retry = np.zeros(nb, dtype=np.bool_)
    k0 = _outputs_at_start(t_eval, t0, y, out)
    for b in range(nb):
        kout[b] = k0
    linked_rhs_shared_t(p, y, f, work)
    _col_max_abs(f, acc)
    select = False
    for b in range(nb):
        if rest_status(acc[b], steady_tol) == STATUS_STEADY:  # already at rest: no step
            status[b] = STATUS_STEADY
            running[b] = False
        if first_step[b] > 0:
            h_abs[b] = first_step[b]
        else:
            select = True
    if select:  # scipy's select_initial_step, member by member, one batched rhs call
        interval = abs(t1 - t0)
        d0 = np.empty(nb)
        d1 = np.empty(nb)
        _scaled_rms_t(y, y, y, rtol, atol, False, acc)
        for b in range(nb):
            d0[b] = acc[b]
        _scaled_rms_t(f, y, y, rtol, atol, False, acc)
        for b in range(nb):
            d1[b] = acc[b]
            hs[b] = initial_h0(d0[b], d1[b], interval)
        for i in range(size):
            for b in range(nb):
                ytmp[i, b] = y[i, b] + hs[b] * f[i, b]
        linked_rhs_shared_t(p, ytmp, y_new, work)
        for i in range(size):
            for b in range(nb):
                ytmp[i, b] = y_new[i, b] - f[i, b]
        _scaled_rms_t(ytmp, y, y, rtol, atol, False, acc)
        for b in range(nb):
            if first_step[b] > 0:
                continue
            nfev[b] += 1
            if interval == 0.0:
                h_abs[b] = 0.0
                continue
            h_abs[b] = initial_h1(hs[b], d1[b], acc[b] / hs[b], err_order, interval, max_step)
    for b in range(nb):
        if not running[b]:
            _stop(out, b, kout[b], y, False)
        elif not t0 < t1:
            running[b] = False
            _stop(out, b, kout[b], y, True)
    while True:
        attempts = 0
        for b in range(nb):
            hs[b] = 0.0
            if not running[b]:
                continue
            tb = t[b]
            smallest = min_step(tb)
            if not retry[b]:  # a new step
                if nsteps[b] >= max_steps:
                    status[b] = STATUS_MAX_STEPS
                    running[b] = False
                    _stop(out, b, kout[b], y, True)
                    continue
                h_abs[b] = clamp_step(h_abs[b], max_step, smallest)
            if not h_abs[b] >= smallest:  # also a NaN step (a state that is not finite)
                status[b] = STATUS_STEP_UNDERFLOW
                running[b] = False
                _stop(out, b, kout[b], y, True)
                continue
            tn = tb + h_abs[b]
            if tn > t1:
                tn = t1
            t_new[b] = tn
            hs[b] = tn - tb
            h_abs[b] = abs(hs[b])
            attempts += 1
        if attempts == 0:
            break
        for i in range(size):
            for b in range(nb):
                K[0, i, b] = f[i, b]
        for s in range(1, ns):
            _stage_t(A[s], K, s, y, hs, ytmp, True)
            linked_rhs_shared_t(p, ytmp, K[s], work)
        _stage_t(B, K, ns, y, hs, y_new, True)
        linked_rhs_shared_t(p, y_new, K[ns], work)
        # error estimate h sum_j E_j K_j, in ytmp
        _stage_t(E, K, ns + 1, y, hs, ytmp, False)
        _scaled_rms_t(ytmp, y, y_new, rtol, atol, True, acc)
        for b in range(nb):
            if hs[b] == 0.0:
                continue
            nfev[b] += ns
            err_norm = acc[b]
            h_abs[b] *= step_factor(err_norm, err_exp, retry[b])
            if not err_norm < 1.0:
                retry[b] = True
                nrej[b] += 1
                continue
            retry[b] = False
            nsteps[b] += 1
            h = hs[b]
            tb = t[b]
            tn = t_new[b]
            k = kout[b]
            while k < n_eval and t_eval[k] <= tn:  # dense output from the step's stages
                row = out[b, k]
                dense_output(None, y[:, b], K[:, :, b], Pd, h, (t_eval[k] - tb) / h, row)  # member b's columns
                retract(p, row)
                k += 1
            kout[b] = k
            retract(p, y_new[:, b])  # member b's column
            fmax = 0.0
            for i in range(size):
                y[i, b] = y_new[i, b]
                v = K[ns, i, b]
                f[i, b] = v
                a = abs(v)
                if not a <= fmax:
                    fmax = a
            t[b] = tn
            status[b] = rest_status(fmax, steady_tol)
            if status[b] != STATUS_DONE or not tn < t1:
                running[b] = False
                _stop(out, b, k, y, status[b] != STATUS_STEADY)
    for b in range(nb):
        _put_stats(stats, b, nfev[b], nsteps[b], nrej[b], status[b], t[b])
