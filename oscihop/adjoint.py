"""The compiled discrete adjoint: forward passes that record a tape, and the backward sweep.

These are the kernels behind :func:`oscihop.value_and_grad` (its Python driver, the result
type and the argument checks live in :mod:`oscihop.gradients`).  The forward passes record
the accepted step sizes and a tape (the state of every Runge-Kutta stage, or checkpoints of
the state); :func:`backward_member` runs the adjoint of every step backwards with the
hand-written vector-Jacobian products of :mod:`oscihop.kernels.vjp`, which recompute the
forces they need in the same sweep.

The gradient is the exact derivative of the *discrete* map the solver computes (Runge-Kutta
stages, the retraction of oscillators to the sphere after every step, and the dense
output at ``t_eval``), with the accepted step sizes held fixed (the standard discrete
adjoint: the step-size controller is not differentiated).  The adaptive forward pass takes
its steps with the CPU solvers' own attempt loop (:func:`oscihop.solvers.loops.erk_attempts`).
See ``docs/gradients.md``.
"""

from __future__ import annotations

import math

import numpy as np

from .config import entry_jit, serial_jit
from .kernels.params import I_WORK_SIZE
from .kernels.system import retract, system_rhs
from .kernels.vjp import retract_vjp, system_rhs_vjp, vjp_work_size
from .solvers.control import dense_weight
from .solvers.loops import ST_NFEV, ST_NREJ, ST_NSTEPS, ST_STATUS, ST_T, dense_output, erk_attempts, select_initial_step

__all__ = ["erk_forward_member", "grid_forward_tape", "grid_forward_member", "backward_member"]

_MOVED = ("value_and_grad", "gradient", "GradientResult", "SUPPORTED_METHODS")


def __getattr__(name):
    """The driver's names, which lived here before :mod:`oscihop.gradients` (still importable)."""
    if name in _MOVED:
        from . import gradients

        return getattr(gradients, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@serial_jit
def _all_finite(v):
    for i in range(v.shape[0]):
        if not math.isfinite(v[i]):
            return False
    return True


@serial_jit
def _stages(p, w, first, fsal, h, A, B, y, Y, K, z, work):
    """One explicit RK step from the carried vector ``w``.

    ``y`` <- y_n (``w``, retracted when ``fsal`` and not the first step); ``K[0]`` <- f(w);
    ``Y[s]``, ``K[s]`` the stages s = 1..ns-1; ``z`` <- y_n + h sum_s B_s K_s (before the
    retraction).
    """
    size = w.shape[0]
    ns = B.shape[0]
    for i in range(size):
        y[i] = w[i]
    if fsal and not first:
        retract(p, y)
    system_rhs(p, w, K[0], work)
    for s in range(1, ns):
        for i in range(size):
            acc = 0.0
            for j in range(s):
                acc += A[s, j] * K[j, i]
            Y[s, i] = y[i] + h * acc
        system_rhs(p, Y[s], K[s], work)
    for i in range(size):
        acc = 0.0
        for j in range(ns):
            acc += B[j] * K[j, i]
        z[i] = y[i] + h * acc


@serial_jit
def _record(rows, w, Y, z):
    """Tape rows of one step: ``rows[0] = w`` (stage 0's state), ``rows[s] = Y_s``, ``rows[ns] = z``."""
    ns = rows.shape[0] - 1
    for i in range(w.shape[0]):
        rows[0, i] = w[i]
        rows[ns, i] = z[i]
    for s in range(1, ns):
        for i in range(w.shape[0]):
            rows[s, i] = Y[s, i]


@serial_jit
def _grow(a, n):
    out = np.empty((2 * a.shape[0],) + a.shape[1:], dtype=a.dtype)
    out[:n] = a[:n]
    return out


@entry_jit
def erk_forward_member(p, y0, t0, t1, t_eval, rtol, atol, max_step, max_steps, A, B, E, Pd, err_order,
                       ck_every, stage_tape, out_y, ev_step, ev_theta, y_final, stats):
    """Adaptive forward solve (scipy's controller, as ``loops.erk_member``) recording the tape.

    Returns ``(hs, ck, tape)``: the accepted step sizes (first ``stats[1]`` entries); the
    checkpoints ``w_n`` (n a multiple of ``ck_every``; ``w_0 = y0``, ``w_n`` = the state
    before the retraction of step n - 1, whose rhs is the FSAL stage 0 of step n;
    ``ck_every <= 0`` records none); with ``stage_tape``, ``tape[n]`` = the rows of
    :func:`_record` for every accepted step (otherwise a placeholder).  Outputs at
    ``t_eval`` go to ``out_y`` with the step (``ev_step``, -1 for y0) and dense-output
    ``ev_theta`` that produced them.  ``stats``: [nfev, nsteps, nrejected, status, t_final].
    """
    size = y0.shape[0]
    dt = y0.dtype
    work = np.empty(p.ip[I_WORK_SIZE], dtype=dt)
    ns = B.shape[0]
    K = np.empty((ns + 1, size), dtype=dt)
    Ys = np.empty((ns, size), dtype=dt)
    y = y0.copy()
    w = y0.copy()
    y_new = np.empty(size, dtype=dt)
    ytmp = np.empty(size, dtype=dt)
    f = np.empty(size, dtype=dt)
    errv = np.empty(size, dtype=dt)
    hs = np.empty(64)
    ck = np.empty((4 if ck_every > 0 else 1, size), dtype=dt)
    tape = np.empty((16 if stage_tape else 1, ns + 1, size), dtype=dt)
    n_ck = 0
    err_exp = -1.0 / (err_order + 1)
    n_eval = t_eval.shape[0]
    k = 0
    while k < n_eval and t_eval[k] <= t0:
        out_y[k, :] = y
        ev_step[k] = -1
        ev_theta[k] = -1.0
        k += 1
    system_rhs(p, y, f, work)
    nfev = 1
    h_abs = select_initial_step(p, None, y, f, t0, t1, max_step, err_order, rtol, atol, work, ytmp, K[0])
    nfev += 1
    t = t0
    status = 0
    nsteps = 0
    nrej = 0
    if ck_every > 0:
        ck[0, :] = y
        n_ck = 1
    while t < t1:
        if nsteps >= max_steps:
            status = -1
            break
        accepted, t_new, h, h_abs, n_f, n_r = erk_attempts(p, None, y, f, t, t1, h_abs, max_step, rtol, atol, A, B, E,
                                                           err_exp, K, Ys, ytmp, y_new, errv, work)
        nfev += n_f
        nrej += n_r
        if not accepted:
            status = -2
            break
        if nsteps >= hs.shape[0]:
            hs = _grow(hs, nsteps)
        hs[nsteps] = h
        if stage_tape:
            if nsteps >= tape.shape[0]:
                tape = _grow(tape, nsteps)
            _record(tape[nsteps], w, Ys, y_new)
        while k < n_eval and t_eval[k] <= t_new:
            dense_output(None, y, K, Pd, h, (t_eval[k] - t) / h, out_y[k])
            retract(p, out_y[k])
            ev_step[k] = nsteps
            ev_theta[k] = (t_eval[k] - t) / h
            k += 1
        nsteps += 1
        if ck_every > 0 and nsteps % ck_every == 0:
            if n_ck >= ck.shape[0]:
                ck = _grow(ck, n_ck)
            ck[n_ck, :] = y_new
            n_ck += 1
        w[:] = y_new
        retract(p, y_new)
        y[:] = y_new
        f[:] = K[ns]
        t = t_new
        if not _all_finite(f):
            status = -3
            break
    y_final[:] = y
    stats[ST_NFEV] = nfev
    stats[ST_NSTEPS] = nsteps
    stats[ST_NREJ] = nrej
    stats[ST_STATUS] = status
    stats[ST_T] = t
    return hs, ck, tape


@entry_jit
def grid_forward_tape(p, y0, hs, n_steps, fsal, A, B, Pd, ck_every, ev_step, ev_theta, out_y, y_final, ck,
                      tape, stage_tape, stats):
    """Forward solve on a given step grid ``hs[:n_steps]``, filling checkpoints ``ck`` and,
    with ``stage_tape``, ``tape[n]`` (the rows of :func:`_record`) for every step.

    ``fsal``: the adaptive methods' convention (stage 0 of step n is f of the state before
    the previous retraction); otherwise (Euler, RK4) stage 0 is f(y_n).  Outputs with
    ``ev_theta < 0`` are the state after step ``ev_step`` (-1: y0); others are dense output
    within that step.  ``stats``: [nfev, status].
    """
    size = y0.shape[0]
    dt = y0.dtype
    ns = B.shape[0]
    work = np.empty(p.ip[I_WORK_SIZE], dtype=dt)
    y = np.empty(size, dtype=dt)
    z = np.empty(size, dtype=dt)
    w = y0.copy()
    Y = np.empty((ns, size), dtype=dt)
    K = np.empty((ns + 1, size), dtype=dt)
    n_eval = ev_step.shape[0]
    k = 0
    while k < n_eval and ev_step[k] < 0:
        out_y[k, :] = y0
        k += 1
    nfev = 0
    status = 0
    for n in range(n_steps):
        if ck_every > 0 and n % ck_every == 0:
            ck[n // ck_every, :] = w
        h = hs[n]
        _stages(p, w, n == 0, fsal, h, A, B, y, Y, K, z, work)
        nfev += ns
        if stage_tape:
            _record(tape[n], w, Y, z)
        have_last = False
        while k < n_eval and ev_step[k] == n:
            if ev_theta[k] < 0:
                out_y[k, :] = z
            else:
                if not have_last:
                    system_rhs(p, z, K[ns], work)
                    nfev += 1
                    have_last = True
                dense_output(None, y, K, Pd, h, ev_theta[k], out_y[k])
            retract(p, out_y[k])
            k += 1
        w[:] = z
        if not fsal:
            retract(p, w)
        if not _all_finite(z):
            status = -3
            break
    y_final[:] = w
    if fsal and n_steps > 0:
        retract(p, y_final)
    stats[0] = nfev
    stats[1] = status


@entry_jit
def grid_forward_member(p, y0, hs, n_steps, fsal, A, B, Pd, ck_every, ev_step, ev_theta, out_y, y_final, ck,
                        stats):
    """:func:`grid_forward_tape` without the stage tape (checkpoints ``ck`` only)."""
    tape = np.empty((1, B.shape[0] + 1, y0.shape[0]), dtype=y0.dtype)
    grid_forward_tape(p, y0, hs, n_steps, fsal, A, B, Pd, ck_every, ev_step, ev_theta, out_y, y_final, ck, tape,
                      False, stats)


@entry_jit
def backward_member(p, y0, hs, n_steps, fsal, A, B, Pd, ck, ck_every, tape, stage_tape, ev_step, ev_theta,
                    out_bar, final_bar, fp_bar, y0_bar, stats):
    """Discrete adjoint of the steps ``hs[:n_steps]``.

    With ``stage_tape`` the states of every stage come from ``tape`` (no recomputation);
    otherwise from the checkpoints ``ck`` (every ``ck_every`` steps): the steps of each
    segment are recomputed once, into a segment tape of ``ck_every`` steps.  ``out_bar``
    (n_eval, size): dloss/d(outputs); ``final_bar`` (size,): dloss/d(final state).
    Accumulates the parameter gradient into ``fp_bar`` (float64, len(p.fp), or empty to skip
    it) and writes dloss/dy0 into ``y0_bar``.  ``stats``: [rhs evaluations, vjp evaluations].
    """
    size = y0.shape[0]
    dt = y0.dtype
    ns = B.shape[0]
    work = np.empty(p.ip[I_WORK_SIZE], dtype=dt)
    vwork = np.empty(vjp_work_size(p.ip), dtype=np.float64)
    if stage_tape:
        ck_every = max(n_steps, 1)
        seg = tape[:0]
    else:
        seg = np.empty((max(min(ck_every, n_steps), 1), ns + 1, size), dtype=dt)
    y = np.empty(size, dtype=dt)
    u = np.empty(size, dtype=dt)
    wc = np.empty(size, dtype=dt)
    Y = np.empty((ns, size), dtype=dt)
    K = np.empty((ns + 1, size), dtype=dt)
    kbar = np.empty((ns + 1, size))
    a_y = np.zeros(size)
    a_z = np.zeros(size)
    zbar = np.empty(size)
    ybar = np.empty(size)
    tmp = np.empty(size)
    tmp2 = np.empty(size)
    for i in range(size):
        a_y[i] = final_bar[i]
    kk = ev_step.shape[0] - 1
    nfev = 0
    nvjp = 0
    n_seg = (n_steps + ck_every - 1) // ck_every
    for c in range(n_seg - 1, -1, -1):
        n_lo = c * ck_every
        n_hi = min(n_lo + ck_every, n_steps)
        if not stage_tape:
            wc[:] = ck[c]
            for n in range(n_lo, n_hi):
                _stages(p, wc, n == 0, fsal, hs[n], A, B, y, Y, K, u, work)
                nfev += ns
                _record(seg[n - n_lo], wc, Y, u)
                wc[:] = u
                if not fsal:
                    retract(p, wc)
        for n in range(n_hi - 1, n_lo - 1, -1):
            rows = tape[n] if stage_tape else seg[n - n_lo]
            w = rows[0]
            z = rows[ns]
            h = hs[n]
            for i in range(size):
                y[i] = w[i]
            if fsal and n > 0:
                retract(p, y)
            for s in range(ns + 1):
                for i in range(size):
                    kbar[s, i] = 0.0
            for i in range(size):
                ybar[i] = 0.0
            dense = False
            while kk >= 0 and ev_step[kk] == n:
                th = ev_theta[kk]
                if th < 0:
                    for i in range(size):
                        a_y[i] += out_bar[kk, i]
                else:
                    if not dense:
                        for s in range(ns):
                            system_rhs(p, rows[s], K[s], work)
                        system_rhs(p, z, K[ns], work)
                        nfev += ns + 1
                        dense = True
                    dense_output(None, y, K, Pd, h, th, u)
                    retract_vjp(p, u, out_bar[kk], tmp)
                    for i in range(size):
                        ybar[i] += tmp[i]
                    for s in range(Pd.shape[0]):
                        c2 = h * dense_weight(Pd, s, th)
                        for i in range(size):
                            kbar[s, i] += c2 * tmp[i]
                kk -= 1
            # z_n: feeds y_{n+1} = R(z_n), and (FSAL) stage 0 of step n+1 and K[ns] here
            retract_vjp(p, z, a_y, zbar)
            for i in range(size):
                zbar[i] += a_z[i]
            if dense:
                system_rhs_vjp(p, z, kbar[ns], zbar, fp_bar, vwork)
                nvjp += 1
            # z_n = y_n + h sum_s B_s K_s
            for i in range(size):
                ybar[i] += zbar[i]
            for s in range(ns):
                c2 = h * B[s]
                for i in range(size):
                    kbar[s, i] += c2 * zbar[i]
            # stages s >= 1: K_s = f(Y_s), Y_s = y_n + h sum_{j<s} A_sj K_j
            for s in range(ns - 1, 0, -1):
                for i in range(size):
                    tmp[i] = 0.0
                system_rhs_vjp(p, rows[s], kbar[s], tmp, fp_bar, vwork)
                nvjp += 1
                for i in range(size):
                    ybar[i] += tmp[i]
                for j in range(s):
                    c2 = h * A[s, j]
                    if c2 != 0.0:
                        for i in range(size):
                            kbar[j, i] += c2 * tmp[i]
            # stage 0: K_0 = f(w_n)
            for i in range(size):
                tmp2[i] = 0.0
            system_rhs_vjp(p, w, kbar[0], tmp2, fp_bar, vwork)
            nvjp += 1
            if n == 0:
                for i in range(size):
                    y0_bar[i] += ybar[i] + tmp2[i]
            elif fsal:
                # w_n = z_{n-1}; y_n = R(w_n)
                for i in range(size):
                    a_y[i] = ybar[i]
                    a_z[i] = tmp2[i]
            else:
                # w_n = y_n
                for i in range(size):
                    a_y[i] = ybar[i] + tmp2[i]
                    a_z[i] = 0.0
    if n_steps == 0:
        for i in range(size):
            y0_bar[i] += a_y[i]
    while kk >= 0:
        for i in range(size):
            y0_bar[i] += out_bar[kk, i]
        kk -= 1
    stats[0] = nfev
    stats[1] = nvjp
