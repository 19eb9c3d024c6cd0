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
threads split the units of the network.  It runs the same cores, given the block's
:class:`Lanes` (``ln``): every loop over the state is split over the threads, and the
right-hand side is evaluated row by row (each thread owns units ``tid, tid + nt, ...``)
after the O(N) reductions it needs (low-rank projections, the mean field, softmax
normaliser, the all-to-all HK sum) are formed as per-thread partial sums combined in a
fixed order (gather, no atomics), as are the error norms, so every run gives the same
bits.  For large networks.  See "Layouts and lanes" in ``docs/architecture.md``.

Every kernel takes the model as ``fps`` (one float parameter row per trajectory, or a
single row shared by all) and ``ip`` (shared integer parameters): see
:class:`oscihop.kernels.params.SystemParams`.

Under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) kernels run as Python; the
arrays they receive are simulator wrappers, which :func:`_raw` unwraps so that the
compiled CPU cores can run on them (the block layout runs them as Python, :func:`_twin`).
On a device :func:`_raw` is the identity.
"""

from __future__ import annotations

import inspect
from types import FunctionType
from typing import NamedTuple

import numba
import numpy as np
from numba import cuda, uint64
from numba.core import types as nbtypes
from numba.core.dispatcher import Dispatcher
from numba.core.extending import overload

from ..kernels.activations import activate
from ..kernels.params import (
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
from ..kernels.system import system_energy
from ..kernels.terms import (hk_csr_row, kuramoto_block_row, kuramoto_conv_row, kuramoto_csr_row, kuramoto_dense_row,
                             project_rotate_row, weights_csr_row, weights_dense_row)
from ..kernels.lanes import block_max, block_rhs, block_sum, block_sync
from ..solvers.loops import ST_RUN, async_core, erk_advance, erk_start, fixed_core

__all__ = [
    "SIMULATOR", "n_reductions", "Lanes", "erk_thread_kernel", "fixed_thread_kernel", "async_thread_kernel",
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


# =============================================================================== one thread per trajectory
@cuda.jit(device=True)
def _params(fps, ip, b):
    """Trajectory ``b``'s bundle: its row of ``fps`` (or the one row all share) and ``ip``."""
    return SystemParams(_raw(fps[min(b, fps.shape[0] - 1)]), _raw(ip))


@cuda.jit
def async_thread_kernel(fps, ip, s, perm, m, out_sweeps, max_sweeps, target_sweeps, seeds, out_y, st):
    """One thread per trajectory: binary Hopfield sweeps (the CPU backend's splitmix64 stream)."""
    b = cuda.grid(1)
    if b >= s.shape[0]:
        return
    async_core(_params(fps, ip, b), _raw(s[b]), _raw(perm[b]), _raw(m[b]), _raw(out_sweeps), max_sweeps,
               target_sweeps, seeds[b], _raw(out_y[b]), _raw(st[b]))


@cuda.jit
def energy_kernel(fps, ip, states, per_member, work, out):
    """out[r] = energy of states[r]; one thread per row (a serial gather: reproducible bit for bit).

    Row ``r`` belongs to trajectory ``r // per_member`` (its parameter row in ``fps``).
    """
    r = cuda.grid(1)
    if r >= states.shape[0]:
        return
    out[r] = system_energy(_params(fps, ip, r // per_member), _raw(states[r]), _raw(work[r]))


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
def _block_rhs(p, ln, y, out):
    """out = dy/dt at y, the units split over the block's threads (row r: h_r and x_r)."""
    ip = p.ip
    fp = p.fp
    g, part, red, tid, nt = ln.g, ln.part, ln.red, ln.tid, ln.nt
    nh = ip[I_NH]
    nk = ip[I_NK]
    dim = ip[I_DIM]
    rows = max(nh, nk)
    cuda.syncthreads()  # y complete
    if nh > 0:  # g = g(h): the activation of every layout, split over the threads
        _activate(ln, ip[I_ACT], fp[F_BETA], y[:nh], g)
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


class Lanes(NamedTuple):
    """One thread's part in a block that integrates one trajectory: thread ``tid`` of ``nt``,
    and the block's scratch (``g`` the activations, ``part`` the per-thread partial sums,
    ``red`` their totals; see :func:`n_reductions`).

    The cores of :mod:`oscihop.solvers.loops` take it as ``ln`` and split every loop over the
    state between the threads.  The four block operations they call
    (:func:`~oscihop.solvers.loops.block_sync`, ``block_sum``, ``block_max``, ``block_rhs``)
    are implemented here: by ``@overload`` for the device, and by these methods under the
    simulator, which runs the cores as Python (:func:`_twin`).
    """

    tid: int
    nt: int
    g: np.ndarray
    part: np.ndarray
    red: np.ndarray

    def sync(self):
        cuda.syncthreads()

    def sum(self, x):
        return _lanes_sum(self, x)

    def max(self, x):
        return _lanes_max(self, x)

    def rhs(self, p, y, out):
        _block_rhs(p, self, y, out)


@cuda.jit(device=True)
def _lanes_sum(ln, x):
    ln.part[ln.tid, 0] = x
    _block_sum(ln.part, ln.red, 1, ln.tid, ln.nt)
    return ln.red[0]


@cuda.jit(device=True)
def _lanes_max(ln, x):
    ln.part[ln.tid, 0] = x
    _block_max(ln.part, ln.red, ln.tid, ln.nt)
    return ln.red[0]


if SIMULATOR:
    def _twin(fn, _memo={}):
        """A pure-Python copy of the core ``fn`` (a Numba dispatcher) for the simulator's block
        layout: compiled CPU code cannot wait at the block's barrier, so ``fn`` and every core
        it calls that takes ``ln`` run as Python, calling :class:`Lanes`' methods; the cores
        without ``ln`` stay compiled."""
        twin = _memo.get(fn)
        if twin is None:
            f = fn.py_func
            glb = dict(f.__globals__)
            twin = _memo[fn] = FunctionType(f.__code__, glb, f.__name__, f.__defaults__, f.__closure__)
            for name in f.__code__.co_names:
                g = glb.get(name)
                if isinstance(g, Dispatcher) and "ln" in inspect.signature(g.py_func).parameters:
                    glb[name] = _twin(g)
        return twin

    def _core(fn):
        """``fn`` on one thread (compiled), its Python twin for a block's lanes."""
        twin = _twin(fn)
        return lambda p, ln, *args: (fn if ln is None else twin)(p, ln, *args)

    _erk_start, _erk_advance, _fixed_core = _core(erk_start), _core(erk_advance), _core(fixed_core)
    _activate = _twin(activate)
else:
    def _is_lanes(ln):
        return isinstance(ln, nbtypes.NamedTuple) and ln.instance_class is Lanes

    @overload(block_sync, target="cuda")
    def _ol_block_sync(ln):
        if _is_lanes(ln):
            return lambda ln: cuda.syncthreads()

    @overload(block_sum, target="cuda")
    def _ol_block_sum(ln, x):
        if _is_lanes(ln):
            return lambda ln, x: _lanes_sum(ln, x)

    @overload(block_max, target="cuda")
    def _ol_block_max(ln, x):
        if _is_lanes(ln):
            return lambda ln, x: _lanes_max(ln, x)

    @overload(block_rhs, target="cuda")
    def _ol_block_rhs(p, ln, y, out):
        if _is_lanes(ln):
            return lambda p, ln, y, out: _block_rhs(p, ln, y, out)

    _erk_start, _erk_advance, _fixed_core, _activate = erk_start, erk_advance, fixed_core, activate


# =============================================================================== the solver kernels
@cuda.jit(device=True)
def _lanes(g, part, red, b):
    """This thread's :class:`Lanes` in block ``b``."""
    return Lanes(cuda.threadIdx.x, cuda.blockDim.x, _raw(g[b]), _raw(part[b]), _raw(red[b]))


@cuda.jit(device=True)
def _erk_member(p, ln, b, y, f, st, K, y_new, ytmp, errv, work, start, t0, t1, t_eval, rtol, atol, max_step,
                first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y, record_all):
    """Trajectory ``b``: :func:`~oscihop.solvers.loops.erk_start` (when ``start``), then
    :func:`~oscihop.solvers.loops.erk_advance` until it is done or its output is full."""
    yb, fb, stb, Kb, tb = _raw(y[b]), _raw(f[b]), _raw(st[b]), _raw(K[b]), _raw(ytmp[b])
    te, at, ot, oy, wb = _raw(t_eval), _raw(atol), _raw(out_t[b]), _raw(out_y[b]), _raw(work[b])
    if start:
        _erk_start(p, ln, yb, fb, t0, t1, te, rtol, at, max_step, first_step[b], steady_tol, err_order, ot, oy,
                   record_all, stb, wb, tb, Kb[0])
    if start or stb[ST_RUN] != 0:
        _erk_advance(p, ln, yb, fb, t1, te, rtol, at, max_step, max_steps, steady_tol, _raw(A), _raw(B), _raw(E),
                     _raw(Pd), err_order, ot, oy, record_all, stb, Kb, _raw(y_new[b]), tb, _raw(errv[b]), wb)


@cuda.jit
def erk_thread_kernel(fps, ip, y, f, st, K, y_new, ytmp, errv, work, start, t0, t1, t_eval, rtol, atol,
                      max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y,
                      record_all):
    """One thread per trajectory: adaptive RK (start, then advance until done or the output is full)."""
    b = cuda.grid(1)
    if b < y.shape[0]:
        _erk_member(_params(fps, ip, b), None, b, y, f, st, K, y_new, ytmp, errv, work, start, t0, t1, t_eval,
                    rtol, atol, max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y,
                    record_all)


@cuda.jit
def erk_block_kernel(fps, ip, y, f, st, K, y_new, ytmp, errv, g, part, red, start, t0, t1, t_eval, rtol, atol,
                     max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t, out_y,
                     record_all):
    """One block per trajectory: the same cores, every loop over the state split over the
    block's threads (:class:`Lanes`; its right-hand side ignores ``work``, here ``g``).  All
    threads take the same step decisions (they read the same reduced norms)."""
    b = cuda.blockIdx.x
    _erk_member(_params(fps, ip, b), _lanes(g, part, red, b), b, y, f, st, K, y_new, ytmp, errv, g, start, t0, t1,
                t_eval, rtol, atol, max_step, first_step, max_steps, steady_tol, A, B, E, Pd, err_order, out_t,
                out_y, record_all)


@cuda.jit(device=True)
def _fixed_member(p, ln, b, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st, k1, k2, k3, k4, ytmp,
                  work):
    """Trajectory ``b``: :func:`oscihop.solvers.loops.fixed_core` (Euler / RK4 / geometric / AKOrN)."""
    _fixed_core(p, ln, _raw(y[b]), t0, _raw(t_eval), dt_max, scheme, max_steps, steady_tol, _raw(out_y[b]),
                _raw(st[b]), _raw(k1[b]), _raw(k2[b]), _raw(k3[b]), _raw(k4[b]), _raw(ytmp[b]), _raw(work[b]))


@cuda.jit
def fixed_thread_kernel(fps, ip, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st, k1, k2, k3,
                        k4, ytmp, work):
    """One thread per trajectory: the fixed-step methods."""
    b = cuda.grid(1)
    if b < y.shape[0]:
        _fixed_member(_params(fps, ip, b), None, b, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st,
                      k1, k2, k3, k4, ytmp, work)


@cuda.jit
def fixed_block_kernel(fps, ip, y, t0, t_eval, dt_max, scheme, max_steps, steady_tol, out_y, st, k1, k2, k3, k4,
                       ytmp, g, part, red):
    """One block per trajectory: the fixed-step methods, split over the block's threads."""
    b = cuda.blockIdx.x
    _fixed_member(_params(fps, ip, b), _lanes(g, part, red, b), b, y, t0, t_eval, dt_max, scheme, max_steps,
                  steady_tol, out_y, st, k1, k2, k3, k4, ytmp, g)
