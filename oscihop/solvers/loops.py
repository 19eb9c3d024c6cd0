"""Compiled time loops.  The whole solve runs here: no Python call per step or stage.

Each ``*_member`` integrates one trajectory; ``*_block`` integrates a block of batch
members one after another, each with its own step size.  All kernels are serial, cached
on disk and release the GIL, so the driver runs blocks in parallel on threads.  Outputs go into preallocated arrays
``out_y`` (n_out, size); ``stats`` receives ``[nfev, nsteps, nrejected, status, t_final]``.
Status codes: 0 reached the end, 1 stopped early (steady state or async fixed
point), -1 ran out of ``max_steps``, -2 step size underflow, -3 non-finite state.

One source, two backends.  The numerical work lives in allocation-free *cores*
(:func:`erk_start` / :func:`erk_advance`, :func:`fixed_core`, :func:`async_core`) that
take every work buffer as an argument and use :mod:`math` for scalar functions; the CPU
``*_member`` wrappers allocate the buffers and call them, and the CUDA kernels of
:mod:`oscihop.cuda` call the very same cores on device memory.  Each core takes ``ln``,
who runs its loops over the state (:mod:`oscihop.kernels.lanes`): None for one thread,
the CUDA block layout's lanes for the threads of a block.  The adaptive core is
resumable: its whole state between steps lives in ``y``, ``f`` and a small float64
vector ``st`` (layout ``ST_*``), so a solve that records every step can pause when its
output buffer is full and continue into a bigger one.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import entry_jit, inline_jit, serial_jit
from ..kernels.params import (
    I_DIM,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_W_DATA,
    I_O_W_DENSE,
    I_O_W_DIAG,
    I_O_W_FACTOR,
    I_O_W_INDICES,
    I_O_W_INDPTR,
    I_O_W_SCALE,
    I_W_KIND,
    I_W_RANK,
    I_WORK_SIZE,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
)
from ..kernels.dispatch import member_params
from ..kernels.lanes import block_rhs, first, lane_max, lane_sum, lane_sync, stride
from ..kernels.system import lane_retract, linked_rhs, retract  # noqa: F401  (re-exported)
from .control import (  # noqa: F401  (MAX_FACTOR, MIN_FACTOR, SAFETY: re-exported)
    MAX_FACTOR,
    MIN_FACTOR,
    SAFETY,
    clamp_step,
    dense_weight,
    error_sq,
    initial_h0,
    initial_h1,
    min_step,
    rms,
    step_factor,
)
from .control import spacing_up  # noqa: F401  (the CUDA kernels import it from here)

__all__ = [
    "SCHEME_EULER", "SCHEME_RK4", "SCHEME_GEOMETRIC", "STATUS_DONE", "STATUS_STEADY", "STATUS_MAX_STEPS",
    "STATUS_STEP_UNDERFLOW", "STATUS_NONFINITE", "STATS_COLUMNS", "N_STATS", "ST_NFEV", "ST_NSTEPS", "ST_NREJ",
    "ST_STATUS", "ST_T", "ST_H", "ST_K", "ST_RUN", "ST_LEN", "lane_rhs", "lane_retract", "copy_into", "retract",
    "rest_status", "MAX_SUBSTEPS", "substeps", "dense_output", "select_initial_step", "erk_start", "erk_advance",
    "erk_member", "fixed_member", "fixed_core", "splitmix64", "async_member", "async_core", "erk_block",
    "fixed_block", "async_block",
]

SCHEME_EULER, SCHEME_RK4, SCHEME_GEOMETRIC = 0, 1, 2

STATUS_DONE, STATUS_STEADY, STATUS_MAX_STEPS, STATUS_STEP_UNDERFLOW, STATUS_NONFINITE = 0, 1, -1, -2, -3

# slots of the per-trajectory state vector ``st`` (float64); the first five are the columns
# of every solver's ``stats`` array, in the order of STATS_COLUMNS
ST_NFEV, ST_NSTEPS, ST_NREJ, ST_STATUS, ST_T, ST_H, ST_K, ST_RUN = range(8)
ST_LEN = 8
#: The columns of a ``stats`` row: function evaluations, accepted steps, rejected steps,
#: status code and the time reached (the result's ``nfev``, ``nsteps``, ``nrejected``,
#: ``status``, ``t_final``).
STATS_COLUMNS = ("nfev", "nsteps", "nrejected", "status", "t_final")
N_STATS = len(STATS_COLUMNS)


# ------------------------------------------------------------------ lanes (oscihop.kernels.lanes)
@serial_jit
def lane_rhs(p, ln, y, out, work):
    """out = dy/dt at ``y``: the kernel's :func:`~oscihop.kernels.system.linked_rhs` on one
    thread (``work``: its scratch), the block's own right-hand side on a CUDA block."""
    if ln is None:
        linked_rhs(p, y, out, work)
    else:
        block_rhs(p, ln, y, out)


@serial_jit
def copy_into(ln, dst, src):
    """dst[:] = src, element by element (slice assignment is not CUDA device code)."""
    for i in range(first(ln), src.shape[0], stride(ln)):
        dst[i] = src[i]


@serial_jit
def _max_abs(ln, v):
    m = 0.0
    for i in range(first(ln), v.shape[0], stride(ln)):
        a = abs(v[i])
        if not a <= m:  # also catches NaN
            m = a
    return lane_max(ln, m)


@serial_jit
def rest_status(fmax, steady_tol):
    """The status a trajectory stops with, given ``fmax = max |dy/dt|`` at its state:
    ``STATUS_NONFINITE`` (not finite, NaN included), ``STATUS_STEADY`` (below a positive
    ``steady_tol``) or ``STATUS_DONE`` (keep going).  The one rule of every layout: the CPU
    loops, both lockstep solvers and the CUDA block layout call it."""
    if not math.isfinite(fmax):
        return STATUS_NONFINITE
    if steady_tol > 0 and fmax < steady_tol:
        return STATUS_STEADY
    return STATUS_DONE


@serial_jit
def _rest_status(ln, f, steady_tol):
    """:func:`rest_status` of f = dy/dt."""
    return rest_status(_max_abs(ln, f), steady_tol)


#: Largest step count of one output interval that :func:`substeps` converts to an integer.
MAX_SUBSTEPS = 4.0e18


@serial_jit
def substeps(span, dt_max):
    """The fewest equal steps no longer than ``dt_max`` that cover ``span`` (at least 1).

    Returns -1 when that count is not below :data:`MAX_SUBSTEPS` (or not a number): no
    float-to-integer conversion can overflow, and the caller stops with status -1 (no
    ``max_steps`` could be reached).  The driver refuses such a ``dt`` before compiling
    (:func:`oscihop.solvers.times.check_step_count`); this keeps the loop itself safe.
    """
    q = span / dt_max * (1.0 - 1e-12)
    if not q < MAX_SUBSTEPS:
        return -1
    return max(1, int(math.ceil(q)))


@serial_jit
def _fill(ln, out_y, start, value_row, nan):
    for k in range(start, out_y.shape[0]):
        for i in range(first(ln), out_y.shape[1], stride(ln)):
            out_y[k, i] = math.nan if nan else value_row[i]


@serial_jit
def dense_output(ln, y, K, Pd, h, theta, out):
    """out = y + h sum_s q_s(theta) K_s (:func:`.control.dense_weight`), s in order, with the
    state index innermost; ``q_s`` once per output, not once per element."""
    lo, step = first(ln), stride(ln)
    for i in range(lo, out.shape[0], step):
        out[i] = 0.0
    for s in range(Pd.shape[0]):
        q = dense_weight(Pd, s, theta)
        for i in range(lo, out.shape[0], step):
            out[i] += K[s, i] * q
    for i in range(lo, out.shape[0], step):
        out[i] = y[i] + h * out[i]


@serial_jit
def _combine(ln, c, K, n, out):
    """out[i] = sum_{j < n} c[j] K[j, i], j in order, with i innermost (vectorises)."""
    lo, step = first(ln), stride(ln)
    c0 = c[0]
    for i in range(lo, out.shape[0], step):
        out[i] = c0 * K[0, i]
    for j in range(1, n):
        cj = c[j]
        for i in range(lo, out.shape[0], step):
            out[i] += cj * K[j, i]


@serial_jit
def _scaled_rms(ln, v, y_a, y_b, rtol, atol, use_b):
    """sqrt(mean((v / (atol + max(|y_a|, |y_b|) rtol))^2)) (scipy's error norm, :mod:`.control`)."""
    s = 0.0
    for i in range(first(ln), v.shape[0], stride(ln)):
        s += error_sq(v[i], y_a[i], y_b[i], atol[i], rtol, use_b)
    return rms(lane_sum(ln, s), v.shape[0])


@serial_jit
def select_initial_step(p, ln, y0, f0, t0, t1, max_step, order, rtol, atol, work, ytmp, ftmp):
    """scipy's ``select_initial_step`` (Hairer, Norsett & Wanner, II.4); one rhs call."""
    interval = abs(t1 - t0)
    if interval == 0.0:
        return 0.0
    d0 = _scaled_rms(ln, y0, y0, y0, rtol, atol, False)
    d1 = _scaled_rms(ln, f0, y0, y0, rtol, atol, False)
    h0 = initial_h0(d0, d1, interval)
    lo, step = first(ln), stride(ln)
    for i in range(lo, y0.shape[0], step):
        ytmp[i] = y0[i] + h0 * f0[i]
    lane_rhs(p, ln, ytmp, ftmp, work)
    for i in range(lo, y0.shape[0], step):
        ytmp[i] = ftmp[i] - f0[i]
    d2 = _scaled_rms(ln, ytmp, y0, y0, rtol, atol, False) / h0
    return initial_h1(h0, d1, d2, order, interval, max_step)


@inline_jit
def erk_start(p, ln, y, f, t0, t1, t_eval, rtol, atol, max_step, first_step, steady_tol, err_order,
              out_t, out_y, record_all, st, work, ytmp, ftmp):
    """First half of the adaptive solve: outputs at ``t0``, ``f = f(y)``, the initial step.

    Fills ``st`` (``ST_*`` slots) for :func:`erk_advance`.  ``y`` is the state (in and
    kept), ``ytmp`` and ``ftmp`` are scratch of the state's size.
    """
    n_eval = t_eval.shape[0]
    k = 0
    if record_all:
        out_t[0] = t0
        copy_into(ln, out_y[0], y)
        k = 1
    else:
        while k < n_eval and t_eval[k] <= t0:
            copy_into(ln, out_y[k], y)
            k += 1
    lane_rhs(p, ln, y, f, work)
    nfev = 1
    at_rest = _rest_status(ln, f, steady_tol) == STATUS_STEADY  # y0 is already steady: take no step
    if first_step > 0:
        h_abs = first_step
    else:
        h_abs = select_initial_step(p, ln, y, f, t0, t1, max_step, err_order, rtol, atol, work, ytmp, ftmp)
        nfev += 1
    st[ST_NFEV] = nfev
    st[ST_NSTEPS] = 0
    st[ST_NREJ] = 0
    st[ST_STATUS] = STATUS_STEADY if at_rest else STATUS_DONE
    st[ST_T] = t0
    st[ST_H] = h_abs
    st[ST_K] = k
    st[ST_RUN] = 0 if at_rest else 1


@inline_jit
def erk_attempts(p, ln, y, f, t, t1, h_abs, max_step, rtol, atol, A, B, E, err_exp, K, stages, ytmp, y_new, errv,
                 work):
    """One step of an embedded Runge-Kutta pair from ``(t, y)``, ``f = f(y)``, retried under
    scipy's controller (:mod:`oscihop.solvers.control`) until its error is accepted.

    The one attempt loop of the CPU solvers and the adjoint's forward pass.  Stage ``s``'s
    state goes to ``stages[s]`` when ``stages`` has rows (the adjoint's tape), else to the
    scratch ``ytmp``; ``K`` receives the stage derivatives (FSAL row ``ns`` = f(y_new)),
    ``y_new`` the new state (not retracted), ``errv`` the error estimate.  Returns
    ``(accepted, t_new, h, h_abs, nfev, nrejected)``: ``h`` the accepted step, ``h_abs`` the
    next one's size; ``accepted`` is False when the step size fell below
    :func:`~oscihop.solvers.control.min_step`.
    """
    size = y.shape[0]
    lo, step = first(ln), stride(ln)
    ns = B.shape[0]
    smallest = min_step(t)
    h_abs = clamp_step(h_abs, max_step, smallest)
    rejected = False
    nfev = 0
    nrej = 0
    h = h_abs
    t_new = t
    while h_abs >= smallest:
        t_new = t + h_abs
        if t_new > t1:
            t_new = t1
        h = t_new - t
        h_abs = abs(h)
        copy_into(ln, K[0], f)
        # Stage combinations with the state index innermost (vectorises; each element's
        # sum still runs over the stages in order, so the results are unchanged).
        for s in range(1, ns):
            ys = stages[s] if stages.shape[0] > 0 else ytmp
            _combine(ln, A[s], K, s, ys)
            for i in range(lo, size, step):
                ys[i] = y[i] + h * ys[i]
            lane_rhs(p, ln, ys, K[s], work)
        _combine(ln, B, K, ns, y_new)
        for i in range(lo, size, step):
            y_new[i] = y[i] + h * y_new[i]
        lane_rhs(p, ln, y_new, K[ns], work)
        nfev += ns
        _combine(ln, E, K, ns + 1, errv)
        for i in range(lo, size, step):
            errv[i] = errv[i] * h
        err_norm = _scaled_rms(ln, errv, y, y_new, rtol, atol, True)
        h_abs *= step_factor(err_norm, err_exp, rejected)
        if err_norm < 1.0:
            return True, t_new, h, h_abs, nfev, nrej
        rejected = True
        nrej += 1
    return False, t_new, h, h_abs, nfev, nrej


@inline_jit
def erk_advance(p, ln, y, f, t1, t_eval, rtol, atol, max_step, max_steps, steady_tol, A, B, E, Pd, err_order,
                out_t, out_y, record_all, st, K, y_new, ytmp, errv, work):
    """Adaptive embedded Runge-Kutta steps (scipy's controller) from the state in ``y``, ``f``, ``st``.

    Runs to ``t1`` (or a stop) and sets ``st[ST_RUN] = 0``; with ``record_all`` (one
    output per accepted step into ``out_t``, ``out_y``) it pauses with ``st[ST_RUN] = 1``
    when ``out_y`` is full, and a later call continues exactly where it stopped.
    Without ``record_all`` outputs go to ``out_y`` at ``t_eval`` by dense output and the
    rows after a stop are filled (the stopped state, or NaN after a failure).
    Scratch: ``K`` (stages + 1, size), ``y_new``, ``ytmp``, ``errv`` (size).
    """
    ns = B.shape[0]
    err_exp = -1.0 / (err_order + 1)
    n_eval = t_eval.shape[0]
    nfev = np.int64(st[ST_NFEV])
    nsteps = np.int64(st[ST_NSTEPS])
    nrej = np.int64(st[ST_NREJ])
    status = np.int64(st[ST_STATUS])
    t = st[ST_T]
    h_abs = st[ST_H]
    k = np.int64(st[ST_K])
    running = st[ST_RUN] != 0
    paused = False
    while running and t < t1:
        if record_all and k >= out_y.shape[0]:
            paused = True
            break
        if nsteps >= max_steps:
            status = STATUS_MAX_STEPS
            break
        accepted, t_new, h, h_abs, n_f, n_r = erk_attempts(p, ln, y, f, t, t1, h_abs, max_step, rtol, atol, A, B, E,
                                                           err_exp, K, K[:0], ytmp, y_new, errv, work)
        nfev += n_f
        nrej += n_r
        if not accepted:
            status = STATUS_STEP_UNDERFLOW
            break
        nsteps += 1
        # outputs in (t, t_new] by dense output from the step's stages
        if record_all:
            out_t[k] = t_new
            copy_into(ln, out_y[k], y_new)
            lane_retract(p, ln, out_y[k])
            k += 1
        else:
            while k < n_eval and t_eval[k] <= t_new:
                dense_output(ln, y, K, Pd, h, (t_eval[k] - t) / h, out_y[k])
                lane_retract(p, ln, out_y[k])
                k += 1
        lane_retract(p, ln, y_new)
        copy_into(ln, y, y_new)
        copy_into(ln, f, K[ns])
        t = t_new
        status = _rest_status(ln, f, steady_tol)
        if status != STATUS_DONE:
            break
    if not paused and not record_all:
        _fill(ln, out_y, k, y, status != STATUS_STEADY)
    st[ST_NFEV] = nfev
    st[ST_NSTEPS] = nsteps
    st[ST_NREJ] = nrej
    st[ST_STATUS] = status
    st[ST_T] = t
    st[ST_H] = h_abs
    st[ST_K] = k
    st[ST_RUN] = 1 if paused else 0


@entry_jit
def erk_member(p, y0, t0, t1, t_eval, rtol, atol, max_step, first_step, max_steps, steady_tol,
               A, B, E, Pd, err_order, out_t, out_y, stats, record_all):
    """Adaptive embedded Runge-Kutta (scipy's controller) for one trajectory.

    Returns ``(out_t, out_y, n_out)``; the arrays are reallocated (doubled) when
    ``record_all`` and they fill up, otherwise written in place at ``t_eval``.
    Allocates the work buffers and runs :func:`erk_start` and :func:`erk_advance`.
    """
    size = y0.shape[0]
    dt = y0.dtype
    work = np.empty(p.ip[I_WORK_SIZE], dtype=dt)
    ns = B.shape[0]
    K = np.empty((ns + 1, size), dtype=dt)
    y = y0.copy()
    y_new = np.empty(size, dtype=dt)
    ytmp = np.empty(size, dtype=dt)
    f = np.empty(size, dtype=dt)
    errv = np.empty(size, dtype=dt)
    st = np.zeros(ST_LEN)
    erk_start(p, None, y, f, t0, t1, t_eval, rtol, atol, max_step, first_step, steady_tol, err_order,
              out_t, out_y, record_all, st, work, ytmp, K[0])
    while True:  # one call site: erk_advance is inlined here
        erk_advance(p, None, y, f, t1, t_eval, rtol, atol, max_step, max_steps, steady_tol, A, B, E, Pd, err_order,
                    out_t, out_y, record_all, st, K, y_new, ytmp, errv, work)
        if st[ST_RUN] == 0:
            break
        # record_all and the output arrays are full: double them
        k = np.int64(st[ST_K])
        cap = 2 * out_y.shape[0]
        grown_y = np.empty((cap, size), dtype=dt)
        for r in range(k):  # explicit loops: slice assignment costs seconds of compile time
            copy_into(None, grown_y[r], out_y[r])
        out_y = grown_y
        grown_t = np.empty(cap)
        for r in range(k):
            grown_t[r] = out_t[r]
        out_t = grown_t
    for j in range(N_STATS):
        stats[j] = st[j]
    return out_t, out_y, np.int64(st[ST_K])


@serial_jit
def _rotate_block(x, ox, v, ov, w, ow, tau, dim, out, oo):
    """out = exp(tau (v w^T - w v^T)) x for D-blocks at offsets (exact rotation).

    The generator is a rank-2 skew matrix A; A^3 = -theta^2 A with
    theta^2 = |v|^2 |w|^2 - <v, w>^2, so exp(tau A) = I + sin(tau theta)/theta A
    + (1 - cos(tau theta))/theta^2 A^2.
    """
    vw = 0.0
    vv = 0.0
    ww = 0.0
    vx = 0.0
    wx = 0.0
    for d in range(dim):
        vw += v[ov + d] * w[ow + d]
        vv += v[ov + d] * v[ov + d]
        ww += w[ow + d] * w[ow + d]
        vx += v[ov + d] * x[ox + d]
        wx += w[ow + d] * x[ox + d]
    th2 = max(vv * ww - vw * vw, 0.0)
    th = math.sqrt(th2)
    z = tau * th
    if z < 1e-4:
        c1 = tau * (1.0 - z * z / 6.0)
        c2 = 0.5 * tau * tau * (1.0 - z * z / 12.0)
    else:
        c1 = math.sin(z) / th
        c2 = (1.0 - math.cos(z)) / th2
    # A x = v <w,x> - w <v,x>;  A^2 x = v <w, Ax> - w <v, Ax>
    wa = vw * wx - ww * vx
    va = vv * wx - vw * vx
    for d in range(dim):
        ax = v[ov + d] * wx - w[ow + d] * vx
        a2x = v[ov + d] * wa - w[ow + d] * va
        out[oo + d] = x[ox + d] + c1 * ax + c2 * a2x


@serial_jit
def _lie_move(p, ln, y, v, base, tau, out):
    """h part: out_h = y_h + tau v_h.  x part: rotate x_i by the generator v_i base_i^T - base_i v_i^T.
    The oscillators are split over the threads by rows, so the block waits at the end."""
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    lo, step = first(ln), stride(ln)
    for i in range(lo, nh, step):
        out[i] = y[i] + tau * v[i]
    for i in range(lo, p.ip[I_NK], step):
        o = nh + i * dim
        _rotate_block(y, o, v, o, base, o, tau, dim, out, o)
    lane_sync(ln)


@inline_jit
def fixed_member(p, y0, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, stats):
    """Fixed-step Euler / RK4 / geometric (Lie midpoint) for one trajectory.

    Steps never pass an output time: between outputs the interval is cut into the
    fewest equal steps no longer than ``dt_max``.  Allocates the work buffers and runs
    :func:`fixed_core`.
    """
    size = y0.shape[0]
    dt = y0.dtype
    work = np.empty(p.ip[I_WORK_SIZE], dtype=dt)
    y = y0.copy()
    k1 = np.empty(size, dtype=dt)
    k2 = np.empty(size, dtype=dt)
    k3 = np.empty(size, dtype=dt)
    k4 = np.empty(size, dtype=dt)
    ytmp = np.empty(size, dtype=dt)
    fixed_core(p, None, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, stats, k1, k2, k3, k4, ytmp,
               work)
    return out_y


@inline_jit
def fixed_core(p, ln, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, stats, k1, k2, k3, k4, ytmp,
               work):
    """The loop of :func:`fixed_member` on caller-provided buffers; ``y`` (the state) is updated in place."""
    size = y.shape[0]
    lo, step = first(ln), stride(ln)
    n_eval = t_eval.shape[0]
    k = 0
    while k < n_eval and t_eval[k] <= t0:
        copy_into(ln, out_y[k], y)
        k += 1
    t = t0
    nfev = 0
    nsteps = 0
    status = STATUS_DONE
    while k < n_eval:
        span = t_eval[k] - t
        nsub = substeps(span, dt_max)
        if nsub < 0:
            status = STATUS_MAX_STEPS
            break
        h = span / nsub
        for _ in range(nsub):
            if nsteps >= max_steps:
                status = STATUS_MAX_STEPS
                break
            lane_rhs(p, ln, y, k1, work)
            nfev += 1
            status = _rest_status(ln, k1, steady_tol)
            if status != STATUS_DONE:
                break
            if scheme == SCHEME_EULER:
                for i in range(lo, size, step):
                    y[i] += h * k1[i]
                lane_retract(p, ln, y)
            elif scheme == SCHEME_RK4:
                for i in range(lo, size, step):
                    ytmp[i] = y[i] + 0.5 * h * k1[i]
                lane_rhs(p, ln, ytmp, k2, work)
                for i in range(lo, size, step):
                    ytmp[i] = y[i] + 0.5 * h * k2[i]
                lane_rhs(p, ln, ytmp, k3, work)
                for i in range(lo, size, step):
                    ytmp[i] = y[i] + h * k3[i]
                lane_rhs(p, ln, ytmp, k4, work)
                nfev += 3
                for i in range(lo, size, step):
                    y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
                lane_retract(p, ln, y)
            else:
                # Lie-group midpoint (RKMK order 2): x_mid = exp(h/2 A(x, k1)) x,
                # x_new = exp(h A(x_mid, k2)) x; threshold units use explicit midpoint.
                _lie_move(p, ln, y, k1, y, 0.5 * h, ytmp)
                lane_rhs(p, ln, ytmp, k2, work)
                nfev += 1
                _lie_move(p, ln, y, k2, ytmp, h, k3)
                copy_into(ln, y, k3)
            t += h
            nsteps += 1
        if status != STATUS_DONE:
            break
        t = t_eval[k]
        copy_into(ln, out_y[k], y)
        k += 1
    _fill(ln, out_y, k, y, status != STATUS_STEADY)
    stats[ST_NFEV] = nfev
    stats[ST_NSTEPS] = nsteps
    stats[ST_NREJ] = 0
    stats[ST_STATUS] = status
    stats[ST_T] = t


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@serial_jit
def splitmix64(state):
    """One step of the splitmix64 generator: returns (new_state, 64 random bits)."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@serial_jit
def _local_field(kind, i, s, bias, wd, indptr, indices, data, u, scale, wdiag, m):
    """(W s)_i + b_i, set to exactly 0 when it is zero up to rounding.

    ``m`` holds ``u @ s`` for low-rank weights.  A field within 64 eps of the sum of
    the magnitudes of its terms counts as zero (the unit keeps its state), so the
    rounding of a true zero can never flip a unit back and forth forever.
    """
    acc = bias[i]
    mag = abs(bias[i])
    if kind == W_DENSE:
        for j in range(s.shape[0]):
            t = wd[i, j] * s[j]
            acc += t
            mag += abs(t)
    elif kind == W_CSR:
        for e in range(indptr[i], indptr[i + 1]):
            t = data[e] * s[indices[e]]
            acc += t
            mag += abs(t)
    elif kind == W_LOWRANK:
        for r in range(u.shape[0]):
            t = scale[r] * u[r, i] * m[r]
            acc += t
            mag += abs(t)
        t = wdiag[i] * s[i]
        acc -= t
        mag += abs(t)
    if abs(acc) <= 64.0 * np.finfo(s.dtype).eps * mag:
        return 0.0
    return acc


@entry_jit
def async_member(p, s0, out_sweeps, max_sweeps, target_sweeps, seed, out_y, stats):
    """Binary Hopfield asynchronous updates: sweeps of N single-unit updates in a
    random order (Fisher-Yates with splitmix64 from ``seed``); stops at a fixed point.

    Runs at most ``max_sweeps``; if that is fewer than ``target_sweeps`` and no fixed
    point was reached, the run failed (status -1) and later outputs are NaN.
    Allocates the work buffers and runs :func:`async_core`."""
    n = p.ip[I_NH]
    rank = p.ip[I_W_RANK] if p.ip[I_W_KIND] == W_LOWRANK else 0
    s = s0.copy()
    perm = np.empty(n, dtype=np.int64)
    m = np.empty(max(rank, 1), dtype=s0.dtype)
    async_core(p, s, perm, m, out_sweeps, max_sweeps, target_sweeps, seed, out_y, stats)
    return out_y


@serial_jit
def async_core(p, s, perm, m, out_sweeps, max_sweeps, target_sweeps, seed, out_y, stats):
    """The loop of :func:`async_member` on caller-provided buffers: ``s`` (the spins, updated
    in place), ``perm`` (int64, N) and ``m`` (at least max(rank, 1) entries)."""
    n = p.ip[I_NH]
    kind = p.ip[I_W_KIND]
    bias = p.fp[p.ip[I_O_BIAS] : p.ip[I_O_BIAS] + n]
    nd = n if kind == W_DENSE else 0
    wd = p.fp[p.ip[I_O_W_DENSE] : p.ip[I_O_W_DENSE] + nd * nd].reshape((nd, nd))
    n_csr = n if kind == W_CSR else 0
    indptr = p.ip[p.ip[I_O_W_INDPTR] : p.ip[I_O_W_INDPTR] + n_csr + 1]
    indices = p.ip[p.ip[I_O_W_INDICES] : p.ip[I_O_W_INDICES] + indptr[n_csr]]
    data = p.fp[p.ip[I_O_W_DATA] : p.ip[I_O_W_DATA] + indices.shape[0]]
    rank = p.ip[I_W_RANK] if kind == W_LOWRANK else 0
    u = p.fp[p.ip[I_O_W_FACTOR] : p.ip[I_O_W_FACTOR] + rank * n].reshape((rank, n))
    scale = p.fp[p.ip[I_O_W_SCALE] : p.ip[I_O_W_SCALE] + rank]
    wdiag = p.fp[p.ip[I_O_W_DIAG] : p.ip[I_O_W_DIAG] + (n if rank > 0 else 0)]
    for i in range(n):
        perm[i] = i
    for r in range(rank):
        acc = 0.0
        for j in range(n):
            acc += u[r, j] * s[j]
        m[r] = acc
    state = np.uint64(seed)
    n_eval = out_sweeps.shape[0]
    k = 0
    while k < n_eval and out_sweeps[k] <= 0:
        copy_into(None, out_y[k], s)
        k += 1
    sweep = 0
    status = STATUS_DONE
    while sweep < max_sweeps:
        for i in range(n - 1, 0, -1):
            state, bits = splitmix64(state)
            j = np.int64(bits % np.uint64(i + 1))
            tmp = perm[i]
            perm[i] = perm[j]
            perm[j] = tmp
        changes = 0
        for idx in range(n):
            i = perm[idx]
            fld = _local_field(kind, i, s, bias, wd, indptr, indices, data, u, scale, wdiag, m)
            new = s[i]
            if fld > 0:
                new = 1.0
            elif fld < 0:
                new = -1.0
            if new != s[i]:
                delta = new - s[i]
                for r in range(rank):
                    m[r] += u[r, i] * delta
                s[i] = new
                changes += 1
        sweep += 1
        while k < n_eval and out_sweeps[k] <= sweep:
            copy_into(None, out_y[k], s)
            k += 1
        if changes == 0:
            status = STATUS_STEADY
            break
    if status == STATUS_DONE and sweep < target_sweeps:
        status = STATUS_MAX_STEPS
    _fill(None, out_y, k, s, status == STATUS_MAX_STEPS)
    stats[ST_NFEV] = sweep * n
    stats[ST_NSTEPS] = sweep
    stats[ST_NREJ] = 0
    stats[ST_STATUS] = status
    stats[ST_T] = sweep


@entry_jit
def erk_block(p, fps, y0s, t0, t1, t_eval, rtol, atol, max_step, first_step, max_steps, steady_tol,
              A, B, E, Pd, err_order, out, stats):
    """:func:`erk_member` over a block of batch members (B, size), one after another.

    Member ``b`` runs with the float parameters ``fps[b]`` (a stack of models), or
    ``fps[0]`` when ``fps`` holds one row (one model for every member); see
    :func:`oscihop.kernels.dispatch.member_params`.  Blocks run concurrently on threads
    (the kernels release the GIL); see :func:`oscihop.solvers.solve.run_in_blocks`.
    """
    record_all = y0s.shape[0] < 0  # False, typed as a plain bool: shares erk_member's compilation
    for b in range(y0s.shape[0]):
        erk_member(member_params(p, fps, b), y0s[b], t0, t1, t_eval, rtol, atol, max_step, first_step[b],
                   max_steps, steady_tol, A, B, E, Pd, err_order, t_eval, out[b], stats[b], record_all)


@entry_jit
def fixed_block(p, fps, y0s, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out, stats):
    """:func:`fixed_member` over a block of batch members (parameter rows as :func:`erk_block`)."""
    for b in range(y0s.shape[0]):
        fixed_member(member_params(p, fps, b), y0s[b], t0, t_eval, dt_max, scheme, max_steps, steady_tol, out[b],
                     stats[b])


@entry_jit
def async_block(p, fps, s0s, out_sweeps, max_sweeps, target_sweeps, seeds, out, stats):
    """:func:`async_member` over a block of batch members, one seed each (parameter rows as
    :func:`erk_block`)."""
    for b in range(s0s.shape[0]):
        async_member(member_params(p, fps, b), s0s[b], out_sweeps, max_sweeps, target_sweeps, seeds[b], out[b],
                     stats[b])
