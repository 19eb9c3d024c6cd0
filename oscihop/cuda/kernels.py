"""The CUDA kernels of the ``backend="cuda"`` solver (imported only when that backend is used).

Two layouts, both fusing the whole time loop into one launch (one launch per solve,
or one per output block when every step is recorded):

*thread layout* (``layout="thread"``): one thread integrates one trajectory.  The
thread runs the CPU backend's own cores (:func:`oscihop.solvers.loops.erk_start`,
:func:`~oscihop.solvers.loops.erk_advance`, :func:`~oscihop.solvers.loops.fixed_core`,
:func:`~oscihop.solvers.loops.async_core`, and :func:`oscihop.kernels.system.system_rhs`
inside them): numba-cuda compiles those ``@njit`` functions again as device code, so
both backends run one source, with the same arithmetic in the same order.  For large
batches of small networks.

*block layout* (``layout="block"``): one thread block integrates one trajectory; its
threads split the units of the network.  The right-hand side is evaluated row by row
(each thread owns units ``tid, tid + nt, ...``) after the O(N) reductions it needs
(low-rank projections, the mean field, softmax normaliser, the all-to-all HK sum, error
norms) are formed as per-thread partial sums combined in a fixed order (gather, no
atomics), so every run gives the same bits.  For large networks.

Every kernel takes the model as ``fps`` (one float parameter row per trajectory, or a
single row shared by all) and ``ip`` (shared integer parameters): see
:class:`oscihop.kernels.params.SystemParams`.

Under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) kernels run as Python; the
arrays they receive are simulator wrappers, which :func:`_raw` unwraps so that the
compiled CPU cores can run on them.  On a device :func:`_raw` is the identity.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda, uint64

from ..kernels.activations import sigmoid
from ..kernels.elementary import tanh
from ..kernels.params import (
    ACT_RELU,
    ACT_SIGMOID,
    ACT_SOFTMAX,
    ACT_TANH,
    F_BETA,
    F_HK_ALPHA,
    F_K_STRENGTH,
    F_KAPPA_H,
    F_KAPPA_K,
    HK_ALL,
    HK_CSR,
    I_ACT,
    I_DIM,
    I_HAS_STIM,
    I_HK_KIND,
    I_K_KIND,
    I_K_RANK,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_K_DIAG,
    I_O_K_FACTOR,
    I_O_K_SCALE,
    I_O_STIM,
    I_O_W_DIAG,
    I_O_W_FACTOR,
    I_O_W_SCALE,
    I_W_KIND,
    I_W_RANK,
    K_BLOCK,
    K_CONV,
    K_CSR,
    K_DENSE,
    K_LOWRANK,
    K_MEANFIELD,
    SystemParams,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
)
from ..kernels.system import retract_row, system_energy
from ..kernels.terms import (hk_csr_row, kuramoto_block_row, kuramoto_conv_row, kuramoto_csr_row, kuramoto_dense_row,
                             project_rotate_row, weights_csr_row, weights_dense_row)
from ..solvers.control import clamp_step, dense_weight, error_sq, initial_h0, initial_h1, min_step, rms, step_factor
from ..solvers.loops import (
    SCHEME_EULER,
    SCHEME_RK4,
    ST_H,
    ST_K,
    ST_NFEV,
    ST_NREJ,
    ST_NSTEPS,
    ST_RUN,
    ST_STATUS,
    ST_T,
    STATUS_DONE,
    STATUS_MAX_STEPS,
    STATUS_STEADY,
    STATUS_STEP_UNDERFLOW,
    _rotate_block,
    async_core,
    erk_advance,
    erk_start,
    fixed_core,
    rest_status,
    substeps,
)

__all__ = [
    "SIMULATOR", "n_reductions", "erk_thread_kernel", "fixed_thread_kernel", "async_thread_kernel",
    "energy_kernel", "erk_block_kernel", "fixed_block_kernel",
]

#: True when numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``).
SIMULATOR = bool(numba.config.ENABLE_CUDASIM)

#: Extra scratch slots of the block layout's reduction buffers (error norms, maxima).
_RED_EXTRA = 1

if SIMULATOR:
    def _raw(a):
        """The NumPy array behind a simulator array wrapper (so compiled cores accept it)."""
        if isinstance(a, np.ndarray):
            return a
        inner = a.__dict__.get("_item")
        if inner is not None:
            a = inner
        return getattr(a, "_ary", a)
else:
    @cuda.jit(device=True, inline=True)
    def _raw(a):
        return a


def n_reductions(w_rank, k_rank, dim):
    """Reduction slots per trajectory the block layout needs (see :func:`_block_rhs`)."""
    return w_rank + k_rank * dim + 2 * dim + _RED_EXTRA


# =============================================================================== thread layout
@cuda.jit
def erk_thread_kernel(fps, ip, y, f, st, K, y_new, ytmp, errv, work, start, t0, t1, t_eval, rtol, atol,
                      max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y,
                      record_all):
    """One thread per trajectory: adaptive RK (start, then advance until done or the output is full)."""
    b = cuda.grid(1)
    if b >= y.shape[0]:
        return
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    yb = _raw(y[b])
    fb = _raw(f[b])
    stb = _raw(st[b])
    Kb = _raw(K[b])
    wb = _raw(work[b])
    tb = _raw(ytmp[b])
    te = _raw(t_eval)
    at = _raw(atol)
    ot = _raw(out_t[b])
    oy = _raw(out_y[b])
    if start:
        erk_start(p, yb, fb, t0, t1, te, rtol, at, max_step, first_step[b], steady_tol, err_order,
                  ot, oy, record_all, stb, wb, tb, Kb[0])
    if start or stb[ST_RUN] != 0:
        erk_advance(p, yb, fb, t1, te, rtol, at, max_step, max_steps, steady_tol, _raw(A), _raw(B), _raw(E),
                    _raw(Pd), err_order, ot, oy, record_all, stb, Kb, _raw(y_new[b]), tb, _raw(errv[b]), wb)


@cuda.jit
def fixed_thread_kernel(fps, ip, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st, k1, k2, k3,
                        k4, ytmp, work):
    """One thread per trajectory: Euler / RK4 / geometric / AKOrN."""
    b = cuda.grid(1)
    if b >= y.shape[0]:
        return
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    fixed_core(p, _raw(y[b]), t0, _raw(t_eval), dt_max, scheme, max_steps, steady_tol, _raw(out_y[b]),
               _raw(st[b]), _raw(k1[b]), _raw(k2[b]), _raw(k3[b]), _raw(k4[b]), _raw(ytmp[b]), _raw(work[b]))


@cuda.jit
def async_thread_kernel(fps, ip, s, perm, m, out_sweeps, max_sweeps, target_sweeps, seeds, out_y, st):
    """One thread per trajectory: binary Hopfield sweeps (the CPU backend's splitmix64 stream)."""
    b = cuda.grid(1)
    if b >= s.shape[0]:
        return
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    async_core(p, _raw(s[b]), _raw(perm[b]), _raw(m[b]), _raw(out_sweeps), max_sweeps, target_sweeps, seeds[b],
               _raw(out_y[b]), _raw(st[b]))


@cuda.jit
def energy_kernel(fps, ip, states, per_member, work, out):
    """out[r] = energy of states[r]; one thread per row (a serial gather: reproducible bit for bit).

    Row ``r`` belongs to trajectory ``r // per_member`` (its parameter row in ``fps``).
    """
    r = cuda.grid(1)
    if r >= states.shape[0]:
        return
    b = r // per_member
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    out[r] = system_energy(p, _raw(states[r]), _raw(work[r]))


# =============================================================================== block layout
@cuda.jit(device=True)
def _block_sum(part, red, nq, tid, nt):
    """red[q] = sum over threads t (in order) of part[t, q], q < nq.  Syncs before and after."""
    cuda.syncthreads()
    for q in range(tid, nq, nt):
        acc = 0.0
        for t in range(nt):
            acc += part[t, q]
        red[q] = acc
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_max(part, red, tid, nt):
    """red[0] = max over threads of part[t, 0]; NaN wins (as in the CPU ``_max_abs``)."""
    cuda.syncthreads()
    if tid == 0:
        m = part[0, 0]
        for t in range(1, nt):
            a = part[t, 0]
            if not a <= m:
                m = a
        red[0] = m
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_max_abs(v, part, red, tid, nt):
    m = 0.0
    for i in range(tid, v.shape[0], nt):
        a = abs(v[i])
        if not a <= m:
            m = a
    part[tid, 0] = m
    _block_max(part, red, tid, nt)
    return red[0]


@cuda.jit(device=True)
def _block_rest_status(f, steady_tol, part, red, tid, nt):
    return rest_status(_block_max_abs(f, part, red, tid, nt), steady_tol)


@cuda.jit(device=True)
def _block_scaled_rms(v, y_a, y_b, rtol, atol, use_b, part, red, tid, nt):
    s = 0.0
    n = v.shape[0]
    for i in range(tid, n, nt):
        s += error_sq(v[i], y_a[i], y_b[i], atol[i], rtol, use_b)
    part[tid, 0] = s
    _block_sum(part, red, 1, tid, nt)
    return rms(red[0], n)


@cuda.jit(device=True)
def _block_rhs(p, y, out, g, part, red, tid, nt):
    """out = dy/dt at y, the units split over the block's threads (row r: h_r and x_r)."""
    ip = p.ip
    fp = p.fp
    nh = ip[I_NH]
    nk = ip[I_NK]
    dim = ip[I_DIM]
    rows = max(nh, nk)
    cuda.syncthreads()  # y complete
    # ---- activations g = g(h)
    if nh > 0:
        act = ip[I_ACT]
        beta = fp[F_BETA]
        if act == ACT_SOFTMAX:
            m = -math.inf
            for i in range(tid, nh, nt):
                m = max(m, beta * y[i])
            part[tid, 0] = m
            cuda.syncthreads()
            if tid == 0:
                mm = part[0, 0]
                for t in range(1, nt):
                    mm = max(mm, part[t, 0])
                red[0] = mm
            cuda.syncthreads()
            m = red[0]
            s = 0.0
            for i in range(tid, nh, nt):
                e = math.exp(beta * y[i] - m)
                g[i] = e
                s += e
            part[tid, 0] = s
            _block_sum(part, red, 1, tid, nt)
            s = red[0]
            for i in range(tid, nh, nt):
                g[i] = g[i] / s
        else:
            for i in range(tid, nh, nt):
                if act == ACT_TANH:
                    g[i] = tanh(beta * y[i])
                elif act == ACT_SIGMOID:
                    g[i] = sigmoid(beta * y[i])
                elif act == ACT_RELU:
                    g[i] = y[i] if y[i] > 0 else 0.0
                else:
                    g[i] = 1.0 if y[i] > 0 else (-1.0 if y[i] < 0 else 0.0)
        cuda.syncthreads()
    # ---- O(N) sums: [W low rank (w_rank) | K low rank (k_rank*dim) | mean field (dim) | HK all (dim)]
    w_kind = ip[I_W_KIND] if nh > 0 else 0
    k_kind = ip[I_K_KIND] if nk > 0 else 0
    hk_kind = ip[I_HK_KIND] if nk > 0 else 0
    w_rank = ip[I_W_RANK] if w_kind == W_LOWRANK else 0
    k_rank = ip[I_K_RANK] if k_kind == K_LOWRANK else 0
    o_k = w_rank
    o_m = o_k + k_rank * dim
    o_a = o_m + dim
    nq = o_a + dim
    if w_rank > 0 or k_rank > 0 or k_kind == K_MEANFIELD or hk_kind == HK_ALL:
        for q in range(nq):
            part[tid, q] = 0.0
        wu = fp[ip[I_O_W_FACTOR] : ip[I_O_W_FACTOR] + w_rank * nh]
        ku = fp[ip[I_O_K_FACTOR] : ip[I_O_K_FACTOR] + k_rank * nk]
        for j in range(tid, rows, nt):
            for r in range(w_rank):
                part[tid, r] += wu[r * nh + j] * g[j]
            oj = nh + j * dim
            for r in range(k_rank):
                c = ku[r * nk + j]
                for d in range(dim):
                    part[tid, o_k + r * dim + d] += c * y[oj + d]
            if k_kind == K_MEANFIELD:
                for d in range(dim):
                    part[tid, o_m + d] += y[oj + d]
            if hk_kind == HK_ALL:
                for d in range(dim):
                    part[tid, o_a + d] += g[j] * y[oj + d]
        _block_sum(part, red, nq, tid, nt)
    # ---- rows
    for i in range(tid, rows, nt):
        if i < nh:
            _h_row(p, y, out, g, red, i, w_kind, w_rank)
        if i < nk:
            _x_row(p, y, out, g, red, i, k_kind, k_rank, hk_kind, o_k, o_m, o_a)
    cuda.syncthreads()


@cuda.jit(device=True)
def _h_row(p, y, out, g, red, i, w_kind, w_rank):
    """out[i] = (W g)_i - h_i + b_i (+ the HK term, added by :func:`_x_row`)."""
    ip = p.ip
    fp = p.fp
    nh = ip[I_NH]
    acc = 0.0
    if w_kind == W_DENSE:
        acc = weights_dense_row(p, g, uint64(i))
    elif w_kind == W_CSR:
        acc = weights_csr_row(p, g, uint64(i))
    elif w_kind == W_LOWRANK:
        ou = ip[I_O_W_FACTOR]
        osc = ip[I_O_W_SCALE]
        acc = -fp[ip[I_O_W_DIAG] + i] * g[i]
        for r in range(w_rank):
            acc += fp[ou + r * nh + i] * (red[r] * fp[osc + r])
    out[i] = acc - y[i] + fp[ip[I_O_BIAS] + i]


@cuda.jit(device=True)
def _x_row(p, y, out, g, red, i, k_kind, k_rank, hk_kind, o_k, o_m, o_a):
    """Oscillator i: F_i = c_i + coupling + HK, then dx_i/dt = Omega_i x_i + P_i(F_i); HK h-term."""
    ip = p.ip
    fp = p.fp
    nh = ip[I_NH]
    n = ip[I_NK]
    dim = ip[I_DIM]
    oi = nh + i * dim
    if ip[I_HAS_STIM] != 0:
        os_ = ip[I_O_STIM] + i * dim
        for d in range(dim):
            out[oi + d] = fp[os_ + d]
    else:
        for d in range(dim):
            out[oi + d] = 0.0
    if k_kind == K_CSR:
        kuramoto_csr_row(p, y, uint64(i), out, True, False)
    elif k_kind == K_DENSE:
        kuramoto_dense_row(p, y, uint64(i), out, True, False)
    elif k_kind == K_BLOCK:
        kuramoto_block_row(p, y, uint64(i), out, True, False)
    elif k_kind == K_CONV:
        kuramoto_conv_row(p, y, uint64(i), out, True, False)
    elif k_kind == K_LOWRANK:
        ou = ip[I_O_K_FACTOR]
        osc = ip[I_O_K_SCALE]
        for r in range(k_rank):
            c = fp[osc + r] * fp[ou + r * n + i]
            for d in range(dim):
                out[oi + d] += c * red[o_k + r * dim + d]
        c = fp[ip[I_O_K_DIAG] + i]
        for d in range(dim):
            out[oi + d] -= c * y[oi + d]
    elif k_kind == K_MEANFIELD:
        kn = fp[F_K_STRENGTH]
        for d in range(dim):
            out[oi + d] += kn * (red[o_m + d] - y[oi + d])
    inv_kh = 1.0 / fp[F_KAPPA_H]
    inv_kk = 1.0 / fp[F_KAPPA_K]
    if hk_kind == HK_CSR:
        hk_csr_row(p, y, g, uint64(i), out, True, False)
    elif hk_kind == HK_ALL:
        alpha = fp[F_HK_ALPHA]
        xx = 0.0
        xm = 0.0
        for d in range(dim):
            xx += y[oi + d] * y[oi + d]
            xm += y[oi + d] * red[o_a + d]
        out[i] += alpha * (xm - g[i] * xx) * inv_kh
        c = alpha * g[i] * inv_kk
        for d in range(dim):
            out[oi + d] += c * (red[o_a + d] - g[i] * y[oi + d])
    project_rotate_row(p, y, uint64(i), out)  # projection onto the tangent space, then the rotation


@cuda.jit(device=True)
def _block_copy_retract(p, dst, src, retract, tid, nt):
    """dst = src, oscillators rescaled to unit length when ``retract`` (rows split over threads)."""
    nh = p.ip[I_NH]
    nk = p.ip[I_NK]
    dim = p.ip[I_DIM]
    cuda.syncthreads()
    for r in range(tid, max(nh, nk), nt):
        if r < nh:
            dst[r] = src[r]
        if r < nk:
            o = nh + r * dim
            for d in range(dim):
                dst[o + d] = src[o + d]
            if retract:
                retract_row(dst, o, dim)
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_retract(p, y, tid, nt):
    nh = p.ip[I_NH]
    dim = p.ip[I_DIM]
    cuda.syncthreads()
    for r in range(tid, p.ip[I_NK], nt):
        retract_row(y, nh + r * dim, dim)
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_fill(out_y, start, row, nan, tid, nt):
    cuda.syncthreads()
    for k in range(start, out_y.shape[0]):
        for i in range(tid, out_y.shape[1], nt):
            out_y[k, i] = math.nan if nan else row[i]
    cuda.syncthreads()


@cuda.jit(device=True)
def _block_initial_step(p, y0, f0, t0, t1, max_step, order, rtol, atol, g, part, red, ytmp, ftmp, tid, nt):
    interval = abs(t1 - t0)
    if interval == 0.0:
        return 0.0
    d0 = _block_scaled_rms(y0, y0, y0, rtol, atol, False, part, red, tid, nt)
    d1 = _block_scaled_rms(f0, y0, y0, rtol, atol, False, part, red, tid, nt)
    h0 = initial_h0(d0, d1, interval)
    for i in range(tid, y0.shape[0], nt):
        ytmp[i] = y0[i] + h0 * f0[i]
    _block_rhs(p, ytmp, ftmp, g, part, red, tid, nt)
    for i in range(tid, y0.shape[0], nt):
        ytmp[i] = ftmp[i] - f0[i]
    d2 = _block_scaled_rms(ytmp, y0, y0, rtol, atol, False, part, red, tid, nt) / h0
    return initial_h1(h0, d1, d2, order, interval, max_step)


@cuda.jit
def erk_block_kernel(fps, ip, y, f, st, K, y_new, ytmp, errv, g, part, red, start, t0, t1, t_eval, rtol, atol,
                     max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y,
                     record_all):
    """One block per trajectory: the adaptive loop of :func:`oscihop.solvers.loops.erk_advance`,
    with stage sums, the right-hand side and the error norm split over the block's threads.
    All threads take the same step decisions (they read the same reduced norms)."""
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    yb = _raw(y[b])
    fb = _raw(f[b])
    stb = _raw(st[b])
    Kb = _raw(K[b])
    yn = _raw(y_new[b])
    tb = _raw(ytmp[b])
    eb = _raw(errv[b])
    gb = _raw(g[b])
    pb = _raw(part[b])
    rb = _raw(red[b])
    te = _raw(t_eval)
    at = _raw(atol)
    ot = _raw(out_t[b])
    oy = _raw(out_y[b])
    A_ = _raw(A)
    B_ = _raw(B)
    E_ = _raw(E)
    P_ = _raw(Pd)
    size = yb.shape[0]
    ns = B_.shape[0]
    n_eval = te.shape[0]
    if start:
        k = 0
        if record_all:
            if tid == 0:
                ot[0] = t0
            _block_copy_retract(p, oy[0], yb, False, tid, nt)
            k = 1
        else:
            while k < n_eval and te[k] <= t0:
                _block_copy_retract(p, oy[k], yb, False, tid, nt)
                k += 1
        _block_rhs(p, yb, fb, gb, pb, rb, tid, nt)
        nfev = 1
        at_rest = rest_status(_block_max_abs(fb, pb, rb, tid, nt), steady_tol) == STATUS_STEADY
        if first_step[b] > 0:
            h_abs = first_step[b]
        else:
            h_abs = _block_initial_step(p, yb, fb, t0, t1, max_step, err_order, rtol, at, gb, pb, rb, tb, Kb[0],
                                        tid, nt)
            nfev += 1
        cuda.syncthreads()
        if tid == 0:
            stb[ST_NFEV] = nfev
            stb[ST_NSTEPS] = 0
            stb[ST_NREJ] = 0
            stb[ST_STATUS] = STATUS_STEADY if at_rest else STATUS_DONE
            stb[ST_T] = t0
            stb[ST_H] = h_abs
            stb[ST_K] = k
            stb[ST_RUN] = 0 if at_rest else 1
        cuda.syncthreads()
    elif stb[ST_RUN] == 0:
        return
    err_exp = -1.0 / (err_order + 1)
    nfev = np.int64(stb[ST_NFEV])
    nsteps = np.int64(stb[ST_NSTEPS])
    nrej = np.int64(stb[ST_NREJ])
    status = np.int64(stb[ST_STATUS])
    t = stb[ST_T]
    h_abs = stb[ST_H]
    k = np.int64(stb[ST_K])
    running = stb[ST_RUN] != 0
    paused = False
    while running and t < t1:
        if record_all and k >= oy.shape[0]:
            paused = True
            break
        if nsteps >= max_steps:
            status = STATUS_MAX_STEPS
            break
        smallest = min_step(t)
        h_abs = clamp_step(h_abs, max_step, smallest)
        accepted = False
        rejected = False
        h = h_abs
        t_new = t
        while not accepted:
            if h_abs < smallest:
                status = STATUS_STEP_UNDERFLOW
                break
            t_new = t + h_abs
            if t_new > t1:
                t_new = t1
            h = t_new - t
            h_abs = abs(h)
            for i in range(tid, size, nt):
                Kb[0, i] = fb[i]
            for s in range(1, ns):
                for i in range(tid, size, nt):
                    acc = 0.0
                    for j in range(s):
                        acc += A_[s, j] * Kb[j, i]
                    tb[i] = yb[i] + h * acc
                _block_rhs(p, tb, Kb[s], gb, pb, rb, tid, nt)
            for i in range(tid, size, nt):
                acc = 0.0
                for j in range(ns):
                    acc += B_[j] * Kb[j, i]
                yn[i] = yb[i] + h * acc
            _block_rhs(p, yn, Kb[ns], gb, pb, rb, tid, nt)
            nfev += ns
            for i in range(tid, size, nt):
                acc = 0.0
                for j in range(ns + 1):
                    acc += E_[j] * Kb[j, i]
                eb[i] = acc * h
            err_norm = _block_scaled_rms(eb, yb, yn, rtol, at, True, pb, rb, tid, nt)
            h_abs *= step_factor(err_norm, err_exp, rejected)
            if err_norm < 1.0:
                accepted = True
            else:
                rejected = True
                nrej += 1
        if not accepted:
            break
        nsteps += 1
        if record_all:
            if tid == 0:
                ot[k] = t_new
            _block_copy_retract(p, oy[k], yn, True, tid, nt)
            k += 1
        else:
            while k < n_eval and te[k] <= t_new:
                theta = (te[k] - t) / h
                row = oy[k]
                for i in range(tid, size, nt):
                    acc = 0.0
                    for s in range(ns + 1):
                        acc += Kb[s, i] * dense_weight(P_, s, theta)
                    row[i] = yb[i] + h * acc
                _block_retract(p, row, tid, nt)
                k += 1
        _block_retract(p, yn, tid, nt)
        for i in range(tid, size, nt):
            yb[i] = yn[i]
            fb[i] = Kb[ns, i]
        t = t_new
        status = _block_rest_status(fb, steady_tol, pb, rb, tid, nt)
        if status != STATUS_DONE:
            break
    if not paused and not record_all:
        _block_fill(oy, k, yb, status != STATUS_STEADY, tid, nt)
    cuda.syncthreads()
    if tid == 0:
        stb[ST_NFEV] = nfev
        stb[ST_NSTEPS] = nsteps
        stb[ST_NREJ] = nrej
        stb[ST_STATUS] = status
        stb[ST_T] = t
        stb[ST_H] = h_abs
        stb[ST_K] = k
        stb[ST_RUN] = 1 if paused else 0


@cuda.jit
def fixed_block_kernel(fps, ip, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st, k1, k2, k3, k4,
                       ytmp, g, part, red):
    """One block per trajectory: :func:`oscihop.solvers.loops.fixed_core` split over the block's threads."""
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    p = SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))
    yb = _raw(y[b])
    oy = _raw(out_y[b])
    a1 = _raw(k1[b])
    a2 = _raw(k2[b])
    a3 = _raw(k3[b])
    a4 = _raw(k4[b])
    tb = _raw(ytmp[b])
    gb = _raw(g[b])
    pb = _raw(part[b])
    rb = _raw(red[b])
    te = _raw(t_eval)
    size = yb.shape[0]
    nh = p.ip[I_NH]
    nk = p.ip[I_NK]
    dim = p.ip[I_DIM]
    n_eval = te.shape[0]
    k = 0
    while k < n_eval and te[k] <= t0:
        _block_copy_retract(p, oy[k], yb, False, tid, nt)
        k += 1
    t = t0
    nfev = 0
    nsteps = 0
    status = STATUS_DONE
    while k < n_eval:
        span = te[k] - t
        nsub = substeps(span, dt_max)  # -1: too many to count, stop as if out of steps
        h = span / max(nsub, 1)
        for _ in range(max(nsub, 1)):
            if nsteps >= max_steps or nsub < 0:
                status = STATUS_MAX_STEPS
                break
            _block_rhs(p, yb, a1, gb, pb, rb, tid, nt)
            nfev += 1
            status = _block_rest_status(a1, steady_tol, pb, rb, tid, nt)
            if status != STATUS_DONE:
                break
            if scheme == SCHEME_EULER:
                for i in range(tid, size, nt):
                    yb[i] += h * a1[i]
                _block_retract(p, yb, tid, nt)
            elif scheme == SCHEME_RK4:
                for i in range(tid, size, nt):
                    tb[i] = yb[i] + 0.5 * h * a1[i]
                _block_rhs(p, tb, a2, gb, pb, rb, tid, nt)
                for i in range(tid, size, nt):
                    tb[i] = yb[i] + 0.5 * h * a2[i]
                _block_rhs(p, tb, a3, gb, pb, rb, tid, nt)
                for i in range(tid, size, nt):
                    tb[i] = yb[i] + h * a3[i]
                _block_rhs(p, tb, a4, gb, pb, rb, tid, nt)
                nfev += 3
                for i in range(tid, size, nt):
                    yb[i] += h / 6.0 * (a1[i] + 2.0 * a2[i] + 2.0 * a3[i] + a4[i])
                _block_retract(p, yb, tid, nt)
            else:
                # Lie-group midpoint, rows split over threads (see loops._lie_move)
                for r in range(tid, max(nh, nk), nt):
                    if r < nh:
                        tb[r] = yb[r] + 0.5 * h * a1[r]
                    if r < nk:
                        o = nh + r * dim
                        _rotate_block(yb, o, a1, o, yb, o, 0.5 * h, dim, tb, o)
                _block_rhs(p, tb, a2, gb, pb, rb, tid, nt)
                nfev += 1
                for r in range(tid, max(nh, nk), nt):
                    if r < nh:
                        a3[r] = yb[r] + h * a2[r]
                    if r < nk:
                        o = nh + r * dim
                        _rotate_block(yb, o, a2, o, tb, o, h, dim, a3, o)
                cuda.syncthreads()
                for i in range(tid, size, nt):
                    yb[i] = a3[i]
            t += h
            nsteps += 1
        if status != STATUS_DONE:
            break
        t = te[k]
        _block_copy_retract(p, oy[k], yb, False, tid, nt)
        k += 1
    _block_fill(oy, k, yb, status != STATUS_STEADY, tid, nt)
    if tid == 0:
        stb = _raw(st[b])
        stb[0] = nfev
        stb[1] = nsteps
        stb[2] = 0
        stb[3] = status
        stb[4] = t
