"""Vector-Jacobian products of the right-hand side and of the retraction.

:func:`system_rhs_vjp` returns ``v^T df/dy`` and ``v^T df/dfp`` for the right-hand side
``f(y; fp)`` that :func:`oscihop.kernels.system.system_rhs` evaluates, where ``fp`` is the
*whole* flat float array of the :class:`~oscihop.kernels.params.SystemParams` bundle: the
gradient with respect to a parameter is read off the segment of ``fp`` it is stored in
(``fp[p.ip[I_O_BIAS]:...]`` and so on), and each model maps those segments to its named
parameters (:meth:`oscihop.Model.parameters`).

The kernels differentiate the function as it is computed, in the ambient space: the
oscillator projection is ``P_i(F) = F - <F, x_i> x_i / |x_i|^2`` (exact also off the
sphere), the self-pair corrections of the low-rank, mean-field and all-to-all couplings
use ``|x_i|^2``, and relu-type kinks take the branch the forward pass takes (``h > 0``,
``s > 0``).  Derivatives with respect to ``beta``, ``kappa_h`` and ``kappa_k`` are not
formed (those slots of ``fp_bar`` are left unchanged).

Every function here is serial, uses the ``math`` module for scalar functions, and the
per-evaluation functions allocate nothing (scratch comes in ``work``), so the same code can
later be compiled for a GPU.
"""

from __future__ import annotations

import math

from ..config import serial_jit
from .params import (
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
    INT_LINEAR,
    INT_RELU,
    INT_TANH,
    K_CSR,
    K_DENSE,
    K_LOWRANK,
    K_MEANFIELD,
    OMEGA_GLOBAL,
    OMEGA_NONE,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
)


@serial_jit
def vjp_work_size(ip):
    """Scratch entries :func:`system_rhs_vjp` needs for the bundle whose int array is ``ip``."""
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    buf = max(ip[I_W_RANK], ip[I_K_RANK] * dim, dim, 1)
    return 2 * nh + 2 * nk * dim + 2 * buf + 1


# --------------------------------------------------------------------------- scalar helpers
@serial_jit
def _sigmoid(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@serial_jit
def _dphi(code, s):
    """phi'(s) of the pair interaction ``code``."""
    if code == INT_RELU:
        return s if s > 0 else 0.0
    if code == INT_TANH:
        return math.tanh(s)
    if code == INT_LINEAR:
        return 0.0
    return _sigmoid(s)


@serial_jit
def _ddphi(code, s):
    """phi''(s) (relu: the branch s > 0)."""
    if code == INT_RELU:
        return 1.0 if s > 0 else 0.0
    if code == INT_TANH:
        t = math.tanh(s)
        return 1.0 - t * t
    if code == INT_LINEAR:
        return 0.0
    q = _sigmoid(s)
    return q * (1.0 - q)


@serial_jit
def _dot(y, a, b, dim):
    s = 0.0
    for d in range(dim):
        s += y[a + d] * y[b + d]
    return s


@serial_jit
def activation_forward(code, beta, y, nh, g):
    """g[:nh] = g(h) with h = y[:nh] (tanh, sigmoid, relu, softmax)."""
    if code == ACT_TANH:
        for i in range(nh):
            g[i] = math.tanh(beta * y[i])
    elif code == ACT_SIGMOID:
        for i in range(nh):
            g[i] = _sigmoid(beta * y[i])
    elif code == ACT_RELU:
        for i in range(nh):
            g[i] = y[i] if y[i] > 0 else 0.0
    elif code == ACT_SOFTMAX:
        m = -math.inf
        for i in range(nh):
            m = max(m, beta * y[i])
        s = 0.0
        for i in range(nh):
            e = math.exp(beta * y[i] - m)
            g[i] = e
            s += e
        for i in range(nh):
            g[i] = g[i] / s


@serial_jit
def activation_vjp(code, beta, y, nh, g, gbar, hbar):
    """hbar[:nh] += (dg/dh)^T gbar (the Jacobian is symmetric: the Hessian of L)."""
    if code == ACT_TANH:
        for i in range(nh):
            hbar[i] += beta * (1.0 - g[i] * g[i]) * gbar[i]
    elif code == ACT_SIGMOID:
        for i in range(nh):
            hbar[i] += beta * g[i] * (1.0 - g[i]) * gbar[i]
    elif code == ACT_RELU:
        for i in range(nh):
            if y[i] > 0:
                hbar[i] += gbar[i]
    elif code == ACT_SOFTMAX:
        gv = 0.0
        for i in range(nh):
            gv += g[i] * gbar[i]
        for i in range(nh):
            hbar[i] += beta * g[i] * (gbar[i] - gv)


# --------------------------------------------------------------------------- forward forces
@serial_jit
def oscillator_forces(p, y, g, force, buf):
    """force[:nk*D] = F_i = c_i + sum_j (J_ij + B_ij phi'(s_ij)) x_j + (1/kappa_k) sum_j a_ij g_i g_j x_j.

    The unprojected oscillator forces of :func:`oscihop.kernels.system.evaluate` (``g`` must
    hold g(h) for the coupled model); ``buf`` needs ``max(k_rank * D, D)`` entries.
    """
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nx = n * dim
    if ip[I_HAS_STIM] != 0:
        o = ip[I_O_STIM]
        for k in range(nx):
            force[k] = fp[o + k]
    else:
        for k in range(nx):
            force[k] = 0.0
    kind = ip[I_K_KIND]
    if kind == K_CSR:
        inter = ip[I_INTER]
        o_ptr, o_idx = ip[I_O_K_INDPTR], ip[I_O_K_INDICES]
        o_j, o_b = ip[I_O_K_J], ip[I_O_K_B]
        for i in range(n):
            oi = nh + i * dim
            for e in range(ip[o_ptr + i], ip[o_ptr + i + 1]):
                oj = nh + ip[o_idx + e] * dim
                c = fp[o_j + e]
                if inter != INT_LINEAR:
                    c += fp[o_b + e] * _dphi(inter, _dot(y, oi, oj, dim))
                for d in range(dim):
                    force[i * dim + d] += c * y[oj + d]
    elif kind == K_DENSE:
        o_jd = ip[I_O_J_DENSE]
        for i in range(n):
            for j in range(n):
                if j == i:
                    continue
                c = fp[o_jd + i * n + j]
                oj = nh + j * dim
                for d in range(dim):
                    force[i * dim + d] += c * y[oj + d]
    elif kind == K_LOWRANK:
        rank = ip[I_K_RANK]
        o_u, o_sc, o_dg = ip[I_O_K_FACTOR], ip[I_O_K_SCALE], ip[I_O_K_DIAG]
        for k in range(rank * dim):
            buf[k] = 0.0
        for r in range(rank):
            for j in range(n):
                c = fp[o_u + r * n + j]
                oj = nh + j * dim
                for d in range(dim):
                    buf[r * dim + d] += c * y[oj + d]
        for i in range(n):
            oi = nh + i * dim
            for r in range(rank):
                c = fp[o_sc + r] * fp[o_u + r * n + i]
                for d in range(dim):
                    force[i * dim + d] += c * buf[r * dim + d]
            c = fp[o_dg + i]
            for d in range(dim):
                force[i * dim + d] -= c * y[oi + d]
    elif kind == K_MEANFIELD:
        kn = fp[F_K_STRENGTH]
        for d in range(dim):
            buf[d] = 0.0
        for j in range(n):
            for d in range(dim):
                buf[d] += y[nh + j * dim + d]
        for i in range(n):
            for d in range(dim):
                force[i * dim + d] += kn * (buf[d] - y[nh + i * dim + d])
    hk = ip[I_HK_KIND]
    if hk == HK_CSR:
        inv_kk = 1.0 / fp[F_KAPPA_K]
        o_ptr, o_idx, o_a = ip[I_O_HK_INDPTR], ip[I_O_HK_INDICES], ip[I_O_HK_A]
        for i in range(n):
            for e in range(ip[o_ptr + i], ip[o_ptr + i + 1]):
                j = ip[o_idx + e]
                c = fp[o_a + e] * g[i] * g[j] * inv_kk
                oj = nh + j * dim
                for d in range(dim):
                    force[i * dim + d] += c * y[oj + d]
    elif hk == HK_ALL:
        inv_kk = 1.0 / fp[F_KAPPA_K]
        alpha = fp[F_HK_ALPHA]
        for d in range(dim):
            buf[d] = 0.0
        for j in range(n):
            for d in range(dim):
                buf[d] += g[j] * y[nh + j * dim + d]
        for i in range(n):
            c = alpha * g[i] * inv_kk
            for d in range(dim):
                force[i * dim + d] += c * (buf[d] - g[i] * y[nh + i * dim + d])


# --------------------------------------------------------------------------- the VJP
@serial_jit
def system_rhs_vjp(p, y, v, y_bar, fp_bar, work):
    """Accumulate ``y_bar += v^T df/dy`` and ``fp_bar += v^T df/dfp`` at state ``y``.

    Parameters
    ----------
    p : SystemParams
    y, v : 1-D arrays, length ``size``
        State and cotangent.
    y_bar : 1-D array, length ``size``
        Accumulated into.
    fp_bar : 1-D array, length ``len(p.fp)``, or length 0
        Accumulated into, entry by entry of ``p.fp``; pass an empty array to skip the
        parameter part (then only ``y_bar`` is formed).
    work : 1-D float array, ``vjp_work_size(p.ip)`` entries

    Notes
    -----
    With ``g = g(h)``, forces ``F_i`` and ``dx_i/dt = P_i(F_i) + Omega_i x_i``::

        Fbar_i  = P_i(v_i)
        xbar_i += Omega_i^T v_i - c_i v_i - <v_i, x_i> F_i / |x_i|^2 + 2 c_i <v_i, x_i> x_i / |x_i|^2,
                  c_i = <F_i, x_i> / |x_i|^2

    then the transposes of the coupling terms (pair, low-rank, mean-field, HK), of
    ``W g - h + b`` and of the activation, in reverse order of the forward pass.
    """
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nx = n * dim
    want_fp = fp_bar.shape[0] > 0
    g = work[:nh]
    gbar = work[nh : 2 * nh]
    force = work[2 * nh : 2 * nh + nx]
    fbar = work[2 * nh + nx : 2 * nh + 2 * nx]
    rest = work[2 * nh + 2 * nx :]
    nb = rest.shape[0] // 2
    buf = rest[:nb]
    buf2 = rest[nb : 2 * nb]
    act, beta = ip[I_ACT], fp[F_BETA]
    if nh > 0:
        activation_forward(act, beta, y, nh, g)
        for i in range(nh):
            gbar[i] = 0.0
    if n > 0:
        oscillator_forces(p, y, g, force, buf)
        # ---- projection and rotation
        okind = ip[I_OMEGA_KIND]
        o_om = ip[I_O_OMEGA]
        for i in range(n):
            oi = nh + i * dim
            xx = 0.0
            fx = 0.0
            vx = 0.0
            for d in range(dim):
                xx += y[oi + d] * y[oi + d]
                fx += force[i * dim + d] * y[oi + d]
                vx += v[oi + d] * y[oi + d]
            if xx > 0:
                c = fx / xx
                q = vx / xx
                for d in range(dim):
                    fbar[i * dim + d] = v[oi + d] - q * y[oi + d]
                    y_bar[oi + d] += -c * v[oi + d] - q * force[i * dim + d] + 2.0 * c * q * y[oi + d]
            else:
                for d in range(dim):
                    fbar[i * dim + d] = v[oi + d]
            if okind != OMEGA_NONE:
                om = o_om if okind == OMEGA_GLOBAL else o_om + i * dim * dim
                for a in range(dim):
                    va = v[oi + a]
                    for b in range(dim):
                        y_bar[oi + b] += fp[om + a * dim + b] * va
                        if want_fp:
                            fp_bar[om + a * dim + b] += va * y[oi + b]
        # ---- stimulus
        if want_fp and ip[I_HAS_STIM] != 0:
            o = ip[I_O_STIM]
            for k in range(nx):
                fp_bar[o + k] += fbar[k]
        # ---- pair couplings
        _kuramoto_vjp(p, y, fbar, y_bar, fp_bar, want_fp, buf, buf2)
        # ---- Hopfield-Kuramoto coupling
        hk = ip[I_HK_KIND]
        if hk != 0:
            _hk_vjp(p, y, g, v, fbar, y_bar, gbar, fp_bar, want_fp, buf, buf2)
    if nh > 0:
        # dh/dt = W g - h + b (+ HK part, done above)
        if want_fp:
            o = ip[I_O_BIAS]
            for i in range(nh):
                fp_bar[o + i] += v[i]
        for i in range(nh):
            y_bar[i] -= v[i]
        _weights_vjp(p, g, v, gbar, fp_bar, want_fp, buf)
        activation_vjp(act, beta, y, nh, g, gbar, y_bar)


@serial_jit
def _weights_vjp(p, g, v, gbar, fp_bar, want_fp, buf):
    """Transpose of ``W g``: gbar += W^T v[:nh], fp_bar[W] += v g^T (per representation)."""
    ip, fp = p.ip, p.fp
    nh = ip[I_NH]
    kind = ip[I_W_KIND]
    if kind == W_DENSE:
        o = ip[I_O_W_DENSE]
        for i in range(nh):
            vi = v[i]
            for j in range(nh):
                gbar[j] += fp[o + i * nh + j] * vi
                if want_fp:
                    fp_bar[o + i * nh + j] += vi * g[j]
    elif kind == W_CSR:
        o_ptr, o_idx, o_d = ip[I_O_W_INDPTR], ip[I_O_W_INDICES], ip[I_O_W_DATA]
        for i in range(nh):
            vi = v[i]
            for e in range(ip[o_ptr + i], ip[o_ptr + i + 1]):
                j = ip[o_idx + e]
                gbar[j] += fp[o_d + e] * vi
                if want_fp:
                    fp_bar[o_d + e] += vi * g[j]
    elif kind == W_LOWRANK:
        rank = ip[I_W_RANK]
        o_u, o_sc, o_dg = ip[I_O_W_FACTOR], ip[I_O_W_SCALE], ip[I_O_W_DIAG]
        # W g = sum_r u_r d_r (u_r . g) - wdiag o g
        for r in range(rank):
            m = 0.0
            q = 0.0
            for j in range(nh):
                u = fp[o_u + r * nh + j]
                m += u * g[j]
                q += u * v[j]
            d = fp[o_sc + r]
            if want_fp:
                fp_bar[o_sc + r] += m * q
                for j in range(nh):
                    fp_bar[o_u + r * nh + j] += d * (v[j] * m + q * g[j])
            for j in range(nh):
                gbar[j] += d * q * fp[o_u + r * nh + j]
        for i in range(nh):
            gbar[i] -= fp[o_dg + i] * v[i]
            if want_fp:
                fp_bar[o_dg + i] -= v[i] * g[i]


@serial_jit
def _kuramoto_vjp(p, y, fbar, y_bar, fp_bar, want_fp, buf, buf2):
    """Transpose of the pair-coupling part of the forces."""
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    kind = ip[I_K_KIND]
    if kind == K_CSR:
        inter = ip[I_INTER]
        o_ptr, o_idx = ip[I_O_K_INDPTR], ip[I_O_K_INDICES]
        o_j, o_b = ip[I_O_K_J], ip[I_O_K_B]
        for i in range(n):
            oi = nh + i * dim
            for e in range(ip[o_ptr + i], ip[o_ptr + i + 1]):
                oj = nh + ip[o_idx + e] * dim
                u = 0.0
                for d in range(dim):
                    u += fbar[i * dim + d] * y[oj + d]
                c = fp[o_j + e]
                if want_fp:
                    fp_bar[o_j + e] += u
                if inter != INT_LINEAR:
                    s = _dot(y, oi, oj, dim)
                    bw = fp[o_b + e]
                    c += bw * _dphi(inter, s)
                    if want_fp:
                        fp_bar[o_b + e] += u * _dphi(inter, s)
                    sb = u * bw * _ddphi(inter, s)
                    for d in range(dim):
                        y_bar[oi + d] += sb * y[oj + d]
                        y_bar[oj + d] += sb * y[oi + d]
                for d in range(dim):
                    y_bar[oj + d] += c * fbar[i * dim + d]
    elif kind == K_DENSE:
        o_jd = ip[I_O_J_DENSE]
        for i in range(n):
            for j in range(n):
                if j == i:
                    continue
                c = fp[o_jd + i * n + j]
                oj = nh + j * dim
                u = 0.0
                for d in range(dim):
                    u += fbar[i * dim + d] * y[oj + d]
                    y_bar[oj + d] += c * fbar[i * dim + d]
                if want_fp:
                    fp_bar[o_jd + i * n + j] += u
    elif kind == K_LOWRANK:
        rank = ip[I_K_RANK]
        o_u, o_sc, o_dg = ip[I_O_K_FACTOR], ip[I_O_K_SCALE], ip[I_O_K_DIAG]
        # buf[r] = sum_j u_rj x_j ; F_i += sum_r d_r u_ri buf[r] - kdiag_i x_i
        # buf2[r] = Mbar_r = sum_i d_r u_ri Fbar_i
        for k in range(rank * dim):
            buf[k] = 0.0
            buf2[k] = 0.0
        for r in range(rank):
            for j in range(n):
                c = fp[o_u + r * n + j]
                for d in range(dim):
                    buf[r * dim + d] += c * y[nh + j * dim + d]
        for r in range(rank):
            dr = fp[o_sc + r]
            for i in range(n):
                ui = fp[o_u + r * n + i]
                fm = 0.0
                for d in range(dim):
                    fm += fbar[i * dim + d] * buf[r * dim + d]
                    buf2[r * dim + d] += dr * ui * fbar[i * dim + d]
                if want_fp:
                    fp_bar[o_u + r * n + i] += dr * fm
                    fp_bar[o_sc + r] += ui * fm
        for i in range(n):
            oi = nh + i * dim
            c = fp[o_dg + i]
            fx = 0.0
            for d in range(dim):
                fx += fbar[i * dim + d] * y[oi + d]
                y_bar[oi + d] -= c * fbar[i * dim + d]
            if want_fp:
                fp_bar[o_dg + i] -= fx
        for r in range(rank):
            for j in range(n):
                oj = nh + j * dim
                u = fp[o_u + r * n + j]
                mx = 0.0
                for d in range(dim):
                    mx += buf2[r * dim + d] * y[oj + d]
                    y_bar[oj + d] += u * buf2[r * dim + d]
                if want_fp:
                    fp_bar[o_u + r * n + j] += mx
    elif kind == K_MEANFIELD:
        kn = fp[F_K_STRENGTH]
        for d in range(dim):
            buf[d] = 0.0
            buf2[d] = 0.0
        for j in range(n):
            for d in range(dim):
                buf[d] += y[nh + j * dim + d]
                buf2[d] += fbar[j * dim + d]
        acc = 0.0
        for i in range(n):
            oi = nh + i * dim
            for d in range(dim):
                acc += fbar[i * dim + d] * (buf[d] - y[oi + d])
                y_bar[oi + d] += kn * (buf2[d] - fbar[i * dim + d])
        if want_fp:
            fp_bar[F_K_STRENGTH] += acc


@serial_jit
def _hk_vjp(p, y, g, v, fbar, y_bar, gbar, fp_bar, want_fp, buf, buf2):
    """Transpose of the Hopfield-Kuramoto terms (h part and force part)."""
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    inv_kh = 1.0 / fp[F_KAPPA_H]
    inv_kk = 1.0 / fp[F_KAPPA_K]
    kind = ip[I_HK_KIND]
    if kind == HK_CSR:
        o_ptr, o_idx, o_a = ip[I_O_HK_INDPTR], ip[I_O_HK_INDICES], ip[I_O_HK_A]
        for i in range(n):
            oi = nh + i * dim
            w = v[i] * inv_kh
            for e in range(ip[o_ptr + i], ip[o_ptr + i + 1]):
                j = ip[o_idx + e]
                oj = nh + j * dim
                a = fp[o_a + e]
                s = _dot(y, oi, oj, dim)
                # dh_i += a s g_j / kappa_h
                gbar[j] += w * a * s
                sb = w * a * g[j]
                # F_i += a g_i g_j x_j / kappa_k
                u = 0.0
                for d in range(dim):
                    u += fbar[i * dim + d] * y[oj + d]
                c = a * g[i] * g[j] * inv_kk
                gbar[i] += a * g[j] * u * inv_kk
                gbar[j] += a * g[i] * u * inv_kk
                for d in range(dim):
                    y_bar[oi + d] += sb * y[oj + d]
                    y_bar[oj + d] += sb * y[oi + d] + c * fbar[i * dim + d]
                if want_fp:
                    fp_bar[o_a + e] += w * s * g[j] + g[i] * g[j] * u * inv_kk
    elif kind == HK_ALL:
        alpha = fp[F_HK_ALPHA]
        # buf = m = sum_j g_j x_j ; buf2 = mbar
        for d in range(dim):
            buf[d] = 0.0
            buf2[d] = 0.0
        for j in range(n):
            for d in range(dim):
                buf[d] += g[j] * y[nh + j * dim + d]
        abar = 0.0
        for i in range(n):
            oi = nh + i * dim
            xx = _dot(y, oi, oi, dim)
            xm = 0.0
            um = 0.0
            ux = 0.0
            for d in range(dim):
                xm += y[oi + d] * buf[d]
                um += fbar[i * dim + d] * buf[d]
                ux += fbar[i * dim + d] * y[oi + d]
            gi = g[i]
            # dh_i += alpha (x_i . m - g_i |x_i|^2) / kappa_h
            w = v[i] * alpha * inv_kh
            abar += v[i] * (xm - gi * xx) * inv_kh
            gbar[i] -= w * xx
            # F_i += alpha g_i (m - g_i x_i) / kappa_k
            uc = alpha * inv_kk
            abar += gi * (um - gi * ux) * inv_kk
            gbar[i] += uc * (um - 2.0 * gi * ux)
            for d in range(dim):
                y_bar[oi + d] += w * buf[d] - 2.0 * w * gi * y[oi + d] - uc * gi * gi * fbar[i * dim + d]
                buf2[d] += w * y[oi + d] + uc * gi * fbar[i * dim + d]
        for j in range(n):
            oj = nh + j * dim
            mx = 0.0
            for d in range(dim):
                mx += buf2[d] * y[oj + d]
                y_bar[oj + d] += g[j] * buf2[d]
            gbar[j] += mx
        if want_fp:
            fp_bar[F_HK_ALPHA] += abar


# --------------------------------------------------------------------------- retraction
@serial_jit
def retract_vjp(p, z, zbar_in, out):
    """out[:] = R'(z)^T zbar_in for the retraction R (oscillator blocks scaled to unit length).

    For a block ``u = z_i / |z_i|``: ``out_i = (zbar_i - <zbar_i, u> u) / |z_i|``; the
    threshold part passes through.  A zero block is left unchanged by R, so it passes
    through too.
    """
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    for i in range(nh):
        out[i] = zbar_in[i]
    for i in range(p.ip[I_NK]):
        o = nh + i * dim
        s = 0.0
        for d in range(dim):
            s += z[o + d] * z[o + d]
        if s > 0:
            r = math.sqrt(s)
            q = 0.0
            for d in range(dim):
                q += zbar_in[o + d] * z[o + d]
            q /= s
            for d in range(dim):
                out[o + d] = (zbar_in[o + d] - q * z[o + d]) / r
        else:
            for d in range(dim):
                out[o + d] = zbar_in[o + d]


@serial_jit
def retract_inplace(p, y):
    """Scale every oscillator block of ``y`` to unit length (same map as the solvers')."""
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    for i in range(p.ip[I_NK]):
        o = nh + i * dim
        s = 0.0
        for d in range(dim):
            s += y[o + d] * y[o + d]
        if s > 0:
            inv = 1.0 / math.sqrt(s)
            for d in range(dim):
                y[o + d] *= inv
