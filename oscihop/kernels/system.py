"""The right-hand side, energy and energy gradient of every oscihop model.

One function evaluates all three models: threshold units (``nh > 0``), oscillators
(``nk > 0``) and their Hopfield-Kuramoto coupling (``hk_kind != HK_NONE``).  The flat
state is ``y = [h (nh), x (nk * D) row-major]``.

Equations (SPEC sections 2-4), with ``g = g(h)`` and ``s_ij = <x_i, x_j>``::

    dh_i/dt = (W g)_i - h_i + b_i + (1/kappa_h) sum_j a_ij s_ij g_j
    F_i     = c_i + sum_j (J_ij + B_ij phi'(s_ij)) x_j + (1/kappa_k) sum_j a_ij g_i g_j x_j
    dx_i/dt = Omega_i x_i + F_i - <F_i, x_i> x_i / |x_i|^2
    E       = kappa_h E_H + kappa_k E_K + E_HK

Every function but the ``batch_*`` wrappers is allocation-free and uses :mod:`math`
for scalar functions, so it is also CUDA device code: the kernels of
:mod:`oscihop.cuda` call :func:`system_rhs` and :func:`system_energy` directly (one
source for both backends).  Keep it that way: no NumPy ufuncs on scalars, no array
allocation, no slice assignment outside the ``batch_*`` wrappers.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import serial_jit
from .activations import activate, hessian_apply, lagrangian, logcosh, sigmoid, softplus
from .elementary import tanh
from .fixed_dim import fused_csr_fixed, has_fixed_dim, kuramoto_csr_fixed, meanfield_fixed, project_rotate_fixed
from .params import (
    ACT_SIGN,
    F_BETA,
    F_HK_ALPHA,
    F_K_STRENGTH,
    F_KAPPA_H,
    F_KAPPA_K,
    I_ACT,
    I_DIM,
    I_HAS_STIM,
    I_HK_KIND,
    I_INTER,
    I_K_KIND,
    I_K_RANK,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_HK_A,
    I_O_HK_INDICES,
    I_O_HK_INDPTR,
    I_O_J_DENSE,
    I_O_K_B,
    I_O_K_DIAG,
    I_O_K_FACTOR,
    I_O_K_INDICES,
    I_O_K_INDPTR,
    I_O_K_J,
    I_O_K_SCALE,
    I_O_OMEGA,
    I_O_STIM,
    I_O_W_DATA,
    I_O_W_DENSE,
    I_O_W_DIAG,
    I_O_W_FACTOR,
    I_O_W_INDICES,
    I_O_W_INDPTR,
    I_O_W_SCALE,
    I_OMEGA_KIND,
    I_W_KIND,
    I_W_RANK,
    I_SHARED_CSR,
    I_WORK_SIZE,
    HK_ALL,
    HK_CSR,
    INT_LINEAR,
    INT_RELU,
    INT_TANH,
    K_CSR,
    K_MEANFIELD,
    K_DENSE,
    K_LOWRANK,
    OMEGA_GLOBAL,
    OMEGA_NONE,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
    SHARED_K_HK_W,
    SHARED_NONE,
)


@serial_jit
def fseg(p, slot, length):
    """The float array stored at offset ``p.ip[slot]``, ``length`` entries (a view).

    CPU helper only: a CUDA device function cannot return a view of an array it did not
    receive, so the kernels below slice ``p.fp[p.ip[slot] : p.ip[slot] + length]`` inline.
    """
    o = p.ip[slot]
    return p.fp[o : o + length]


@serial_jit
def iseg(p, slot, length):
    """The int64 array stored at offset ``p.ip[slot]`` (a view)."""
    o = p.ip[slot]
    return p.ip[o : o + length]


@serial_jit
def csr_arrays(p, indptr_slot, indices_slot, n):
    """(indptr, indices) of a CSR structure stored in ``p.ip``."""
    indptr = iseg(p, indptr_slot, n + 1)
    return indptr, iseg(p, indices_slot, indptr[n])


@serial_jit
def phi(code, s):
    """Pair interaction phi(s) (SPEC 3)."""
    if code == INT_RELU:
        return 0.5 * s * s if s > 0 else 0.0
    if code == INT_TANH:
        return logcosh(s)
    if code == INT_LINEAR:
        return 0.0
    return softplus(s)


@serial_jit
def dphi(code, s):
    """phi'(s)."""
    if code == INT_RELU:
        return s if s > 0 else 0.0
    if code == INT_TANH:
        return tanh(s)
    if code == INT_LINEAR:
        return 0.0
    return sigmoid(s)


@serial_jit
def weights_matvec(p, g, out, buf):
    """out[:] = W g for the Hopfield weights in ``p``; ``buf`` holds >= rank entries."""
    nh = p.ip[I_NH]
    kind = p.ip[I_W_KIND]
    if kind == W_DENSE:
        w = p.fp[p.ip[I_O_W_DENSE] : p.ip[I_O_W_DENSE] + nh * nh].reshape((nh, nh))
        for i in range(nh):
            acc = 0.0
            for j in range(nh):
                acc += w[i, j] * g[j]
            out[i] = acc
    elif kind == W_CSR:
        indptr = p.ip[p.ip[I_O_W_INDPTR] : p.ip[I_O_W_INDPTR] + nh + 1]
        indices = p.ip[p.ip[I_O_W_INDICES] : p.ip[I_O_W_INDICES] + indptr[nh]]
        data = p.fp[p.ip[I_O_W_DATA] : p.ip[I_O_W_DATA] + indices.shape[0]]
        for i in range(nh):
            acc = 0.0
            for e in range(indptr[i], indptr[i + 1]):
                acc += data[e] * g[indices[e]]
            out[i] = acc
    elif kind == W_LOWRANK:
        rank = p.ip[I_W_RANK]
        u = p.fp[p.ip[I_O_W_FACTOR] : p.ip[I_O_W_FACTOR] + rank * nh].reshape((rank, nh))
        scale = p.fp[p.ip[I_O_W_SCALE] : p.ip[I_O_W_SCALE] + rank]
        wdiag = p.fp[p.ip[I_O_W_DIAG] : p.ip[I_O_W_DIAG] + nh]
        for r in range(rank):
            acc = 0.0
            for j in range(nh):
                acc += u[r, j] * g[j]
            buf[r] = acc * scale[r]
        for i in range(nh):
            out[i] = -wdiag[i] * g[i]
        for r in range(rank):
            c = buf[r]
            for i in range(nh):
                out[i] += u[r, i] * c
    else:
        for i in range(nh):
            out[i] = 0.0


@serial_jit
def _dot(y, a, b, dim):
    """<y[a:a+dim], y[b:b+dim]>."""
    s = 0.0
    for d in range(dim):
        s += y[a + d] * y[b + d]
    return s


@serial_jit
def kuramoto_coupling(p, y, out, buf, want_force, want_energy):
    """Add sum_j (J_ij + B_ij phi'(s_ij)) x_j into out's oscillator part; return sum_e U_e.

    Oscillator i lives at ``y[nh + i*D : nh + (i+1)*D]``; self-pairs never contribute.
    """
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    kind = ip[I_K_KIND]
    energy = 0.0
    if kind == K_CSR:
        inter = ip[I_INTER]
        indptr = p.ip[p.ip[I_O_K_INDPTR] : p.ip[I_O_K_INDPTR] + n + 1]
        indices = p.ip[p.ip[I_O_K_INDICES] : p.ip[I_O_K_INDICES] + indptr[n]]
        jv = p.fp[p.ip[I_O_K_J] : p.ip[I_O_K_J] + indices.shape[0]]
        bv = p.fp[p.ip[I_O_K_B] : p.ip[I_O_K_B] + indices.shape[0]]
        for i in range(n):
            oi = nh + i * dim
            for e in range(indptr[i], indptr[i + 1]):
                oj = nh + indices[e] * dim
                s = _dot(y, oi, oj, dim)
                if want_force:
                    c = jv[e]
                    if inter != INT_LINEAR:
                        c += bv[e] * dphi(inter, s)
                    for d in range(dim):
                        out[oi + d] += c * y[oj + d]
                if want_energy:
                    u = jv[e] * s
                    if inter != INT_LINEAR:
                        u += bv[e] * phi(inter, s)
                    energy -= 0.5 * u
    elif kind == K_DENSE:
        jd = p.fp[p.ip[I_O_J_DENSE] : p.ip[I_O_J_DENSE] + n * n].reshape((n, n))
        for i in range(n):
            oi = nh + i * dim
            for j in range(n):
                if j == i:
                    continue
                c = jd[i, j]
                oj = nh + j * dim
                if want_force:
                    for d in range(dim):
                        out[oi + d] += c * y[oj + d]
                if want_energy:
                    energy -= 0.5 * c * _dot(y, oi, oj, dim)
    elif kind == K_LOWRANK:
        rank = ip[I_K_RANK]
        u = p.fp[p.ip[I_O_K_FACTOR] : p.ip[I_O_K_FACTOR] + rank * n].reshape((rank, n))
        kscale = p.fp[p.ip[I_O_K_SCALE] : p.ip[I_O_K_SCALE] + rank]
        kdiag = p.fp[p.ip[I_O_K_DIAG] : p.ip[I_O_K_DIAG] + n]
        # buf[r*dim + d] = sum_j u[r, j] x_j[d]
        for k in range(rank * dim):
            buf[k] = 0.0
        for r in range(rank):
            for j in range(n):
                c = u[r, j]
                oj = nh + j * dim
                for d in range(dim):
                    buf[r * dim + d] += c * y[oj + d]
        if want_force:
            for i in range(n):
                oi = nh + i * dim
                for r in range(rank):
                    c = kscale[r] * u[r, i]
                    for d in range(dim):
                        out[oi + d] += c * buf[r * dim + d]
                c = kdiag[i]
                for d in range(dim):
                    out[oi + d] -= c * y[oi + d]
        if want_energy:
            for r in range(rank):
                m2 = 0.0
                for d in range(dim):
                    m2 += buf[r * dim + d] * buf[r * dim + d]
                energy -= 0.5 * kscale[r] * m2
            for i in range(n):
                oi = nh + i * dim
                energy += 0.5 * kdiag[i] * _dot(y, oi, oi, dim)
    elif kind == K_MEANFIELD:
        kn = p.fp[F_K_STRENGTH]
        for d in range(dim):
            buf[d] = 0.0
        for j in range(n):
            oj = nh + j * dim
            for d in range(dim):
                buf[d] += y[oj + d]
        if want_force:
            for i in range(n):
                oi = nh + i * dim
                for d in range(dim):
                    out[oi + d] += kn * (buf[d] - y[oi + d])
        if want_energy:
            m2 = 0.0
            for d in range(dim):
                m2 += buf[d] * buf[d]
            xx = 0.0
            for i in range(n):
                oi = nh + i * dim
                xx += _dot(y, oi, oi, dim)
            energy = -0.5 * kn * (m2 - xx)
    return energy


@serial_jit
def hk_coupling(p, y, g, out, buf, want_force, want_energy):
    """Hopfield-Kuramoto terms: add into out's h part (1/kappa_h) sum_j a_ij s_ij g_j and into
    out's x part (1/kappa_k) sum_j a_ij g_i g_j x_j; return E_HK = -sum_e a_e s_e g_i g_j."""
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    inv_kh = 1.0 / p.fp[F_KAPPA_H]
    inv_kk = 1.0 / p.fp[F_KAPPA_K]
    energy = 0.0
    kind = ip[I_HK_KIND]
    if kind == HK_CSR:
        indptr = p.ip[p.ip[I_O_HK_INDPTR] : p.ip[I_O_HK_INDPTR] + n + 1]
        indices = p.ip[p.ip[I_O_HK_INDICES] : p.ip[I_O_HK_INDICES] + indptr[n]]
        av = p.fp[p.ip[I_O_HK_A] : p.ip[I_O_HK_A] + indices.shape[0]]
        for i in range(n):
            oi = nh + i * dim
            acc = 0.0
            for e in range(indptr[i], indptr[i + 1]):
                j = indices[e]
                oj = nh + j * dim
                s = _dot(y, oi, oj, dim)
                a = av[e]
                if want_force:
                    acc += a * s * g[j]
                    c = a * g[i] * g[j] * inv_kk
                    for d in range(dim):
                        out[oi + d] += c * y[oj + d]
                if want_energy:
                    energy -= 0.5 * a * s * g[i] * g[j]
            if want_force:
                out[i] += acc * inv_kh
    elif kind == HK_ALL:
        alpha = p.fp[F_HK_ALPHA]
        for d in range(dim):
            buf[d] = 0.0
        for j in range(n):
            oj = nh + j * dim
            for d in range(dim):
                buf[d] += g[j] * y[oj + d]
        diag = 0.0
        for i in range(n):
            oi = nh + i * dim
            xx = _dot(y, oi, oi, dim)
            diag += g[i] * g[i] * xx
            if want_force:
                xm = 0.0
                for d in range(dim):
                    xm += y[oi + d] * buf[d]
                out[i] += alpha * (xm - g[i] * xx) * inv_kh
                c = alpha * g[i] * inv_kk
                for d in range(dim):
                    out[oi + d] += c * (buf[d] - g[i] * y[oi + d])
        if want_energy:
            m2 = 0.0
            for d in range(dim):
                m2 += buf[d] * buf[d]
            energy = -0.5 * alpha * (m2 - diag)
    return energy


@serial_jit
def evaluate(p, y, out, work, want_force, want_energy):
    """Core evaluation shared by rhs, gradient and energy.

    With ``want_force`` writes the unprojected forces into ``out``: the h part holds
    dh/dt, the x part holds F_i (stimulus + coupling + HK).  With ``want_energy``
    returns the total energy.  ``work`` needs ``p.ip[I_WORK_SIZE]`` entries; on return
    ``work[:nh]`` holds g(h).
    """
    ip, fp = p.ip, p.fp
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    act, beta = ip[I_ACT], fp[F_BETA]
    g = work[:nh]
    wg = work[nh : 2 * nh]
    buf = work[2 * nh :]
    energy = 0.0
    # Forces only, on a D with register-resident kernels: one fused pass over a CSR
    # structure shared by the couplings (W g included when W lives on it too).
    forces_only = want_force and not want_energy
    fixed = forces_only and nk > 0 and has_fixed_dim(dim)
    shared = ip[I_SHARED_CSR] if fixed else SHARED_NONE
    w_fused = shared == SHARED_K_HK_W
    if nh > 0:
        bias = p.fp[p.ip[I_O_BIAS] : p.ip[I_O_BIAS] + nh]
        activate(act, beta, y[:nh], g)
        if w_fused:  # the fused pass below writes dh/dt itself
            for i in range(nh):
                wg[i] = 0.0
        else:
            weights_matvec(p, g, wg, buf)
        if want_force and not w_fused:
            for i in range(nh):
                out[i] = wg[i] - y[i] + bias[i]
        if want_energy:
            eh = 0.0
            if act == ACT_SIGN:
                for i in range(nh):
                    eh -= g[i] * (0.5 * wg[i] + bias[i])
            else:
                for i in range(nh):
                    eh += (y[i] - bias[i]) * g[i] - 0.5 * g[i] * wg[i]
                eh -= lagrangian(act, beta, y[:nh])
            energy += fp[F_KAPPA_H] * eh
    if nk > 0:
        has_stim = ip[I_HAS_STIM] != 0
        stim = p.fp[p.ip[I_O_STIM] : p.ip[I_O_STIM] + (nk * dim if has_stim else 0)]
        if want_force:
            for k in range(nk * dim):
                out[nh + k] = stim[k] if has_stim else 0.0
        if shared != SHARED_NONE:
            fused_csr_fixed(p, y, g, out, w_fused)
            return energy
        ek = 0.0
        if fixed and ip[I_K_KIND] == K_CSR:
            kuramoto_csr_fixed(p, y, out)
        elif fixed and ip[I_K_KIND] == K_MEANFIELD:
            meanfield_fixed(p, y, out)
        else:
            ek = kuramoto_coupling(p, y, out, buf, want_force, want_energy)
        if want_energy and has_stim:
            for k in range(nk * dim):
                ek -= stim[k] * y[nh + k]
        energy += fp[F_KAPPA_K] * ek
        if ip[I_HK_KIND] != 0:
            energy += hk_coupling(p, y, g, out, buf, want_force, want_energy)
    return energy


@serial_jit
def project_and_rotate(p, y, out):
    """Turn forces F_i (in out) into dx_i/dt = Omega_i x_i + P_i(F_i), in place."""
    if project_rotate_fixed(p, y, out):  # D = 2..5: the same sums with x_i in registers
        return
    ip = p.ip
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    okind = ip[I_OMEGA_KIND]
    n_om = 0 if okind == OMEGA_NONE else (1 if okind == OMEGA_GLOBAL else nk)
    omega = p.fp[p.ip[I_O_OMEGA] : p.ip[I_O_OMEGA] + n_om * dim * dim]
    for i in range(nk):
        oi = nh + i * dim
        fx = 0.0
        xx = 0.0
        for d in range(dim):
            fx += out[oi + d] * y[oi + d]
            xx += y[oi + d] * y[oi + d]
        c = fx / xx if xx > 0 else 0.0
        for d in range(dim):
            out[oi + d] -= c * y[oi + d]
        if okind != OMEGA_NONE:
            o_om = 0 if okind == OMEGA_GLOBAL else i * dim * dim  # flat index: no per-unit view
            for a in range(dim):
                acc = 0.0
                for b in range(dim):
                    acc += omega[o_om + a * dim + b] * y[oi + b]
                out[oi + a] += acc


@serial_jit
def system_rhs(p, y, out, work):
    """out[:] = dy/dt at state ``y`` (flat, length ``nh + nk*D``)."""
    evaluate(p, y, out, work, True, False)
    project_and_rotate(p, y, out)


@serial_jit
def system_energy(p, y, work):
    """Total energy at ``y``."""
    return evaluate(p, y, work[: 0], work, False, True)


@serial_jit
def system_gradient(p, y, out, work):
    """out[:] = dE/dy (ambient gradient; oscillators treated as free vectors).

    dE/dh = -kappa_h H_L(h) dh/dt and dE/dx_i = -kappa_k F_i (SPEC 2 and 4).
    """
    nh = p.ip[I_NH]
    evaluate(p, y, out, work, True, False)
    if nh > 0:
        g = work[:nh]
        tmp = work[nh : 2 * nh]
        hessian_apply(p.ip[I_ACT], p.fp[F_BETA], y[:nh], g, out[:nh], tmp)
        for i in range(nh):
            out[i] = -p.fp[F_KAPPA_H] * tmp[i]
    for k in range(nh, y.shape[0]):
        out[k] = -p.fp[F_KAPPA_K] * out[k]


@serial_jit
def batch_rhs(p, ys, out):
    """Row-wise :func:`system_rhs` over a batch ``ys`` (B, size)."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        system_rhs(p, ys[b], out[b], work)


@serial_jit
def batch_gradient(p, ys, out):
    """Row-wise :func:`system_gradient` over a batch."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        system_gradient(p, ys[b], out[b], work)


@serial_jit
def batch_energy(p, ys, out):
    """out[b] = energy of ys[b]."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        out[b] = system_energy(p, ys[b], work)


def work_size(nh, nk, dim, w_rank, k_rank):
    """Scratch entries one evaluation needs (see :func:`evaluate`)."""
    return 2 * nh + max(w_rank, k_rank * dim, dim, 1) + 1
