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

The VJP recomputes the forces it needs (the projection's adjoint uses ``F_i``) in the same
sweep as their transpose: the sparse pair and HK couplings are swept oscillator by
oscillator (forces, projection, then the transpose of the row's entries), each entry's
``phi'(s_e)`` evaluated once and cached in ``work``; the pair and HK couplings share one
sweep when they are stored on the same sparse structure, and D = 2..5 run a build of the
one row function with D a compile-time constant (:func:`_make_rows_vjp`).  The activation
and ``phi'`` are the forward pass's own functions
(:func:`oscihop.kernels.activations.activate`, :func:`oscihop.kernels.terms.dphi`, both
on the package's one ``tanh``), so the VJP differentiates exactly what ``system_rhs`` computes.

Every function here is serial, uses the ``math`` module for scalar functions, and the
per-evaluation functions allocate nothing (scratch comes in ``work``), so the same code can
later be compiled for a GPU.
"""

from __future__ import annotations

import math

from numba import uint64

from ..config import inline_jit, serial_jit
from . import terms
from .activations import activate, hessian_apply
from .elementary import local_vector
from .fixed_dim import DIMS

__all__ = [
    "vjp_work_size", "system_rhs_vjp",
    "retract_vjp",
]

from .params import (
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
    K_BLOCK,
    K_CONV,
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

#: phi' of the forward pass (``terms.dphi``, the same source), inlined into the per-edge loops
#: by Numba: an out-of-line call per entry costs more than the work it does.
dphi = inline_jit(terms.dphi.py_func)


@serial_jit
def vjp_work_size(ip):
    """Scratch entries :func:`system_rhs_vjp` needs for the bundle whose int array is ``ip``.

    Layout: ``g`` (nh), ``gbar`` (nh), state-sized forces (nh scratch + nk*D), their
    cotangent (nk*D), two buffers of ``max(w_rank, k_rank*D, D, 1)``, the row vectors of
    :func:`_rows_vjp` (4 D), and one phi'(s_e) per stored pair entry of a
    nonlinear sparse coupling (cached by the forward sweep of the VJP for its transpose).
    """
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    buf = max(ip[I_W_RANK], ip[I_K_RANK] * dim, dim, 1)
    nnz = 0
    if nk > 0 and ip[I_K_KIND] == K_CSR and ip[I_INTER] != INT_LINEAR:
        nnz = ip[ip[I_O_K_INDPTR] + nk]
    return 3 * nh + 2 * nk * dim + 2 * buf + 4 * dim + nnz + 1


# --------------------------------------------------------------------------- scalar helpers
@inline_jit
def _ddphi_from(code, t):
    """phi''(s) from ``t = phi'(s)`` (relu: the branch s > 0, i.e. t > 0)."""
    if code == INT_RELU:
        return 1.0 if t > 0 else 0.0
    if code == INT_TANH:
        return 1.0 - t * t
    if code == INT_LINEAR:
        return 0.0
    return t * (1.0 - t)


# --------------------------------------------------------------------------- forward forces
@serial_jit
def _global_forces(p, y, g, full, buf):
    """``full[nh:]`` = stimulus + the couplings that are not stored per row (dense, low-rank,
    mean-field pair couplings; the all-to-all HK term), by the forward pass's own terms
    (:mod:`oscihop.kernels.terms`, the same sums in the same order).  ``full`` is state-sized;
    its h part is scratch (the HK term writes there too).  Leaves ``buf[:D]`` = sum_j g_j x_j
    for the all-to-all HK mode."""
    ip, fp = p.ip, p.fp
    nh, nx = ip[I_NH], ip[I_NK] * ip[I_DIM]
    has_stim = ip[I_HAS_STIM] != 0
    o = ip[I_O_STIM]
    for k in range(nx):
        full[nh + k] = fp[o + k] if has_stim else 0.0
    if ip[I_K_KIND] != K_CSR:  # CSR couplings are added row by row in _rows_vjp
        terms.kuramoto_any(p, y, full, buf, True, False)
    if ip[I_HK_KIND] == HK_ALL:
        terms.hk_all(p, y, g, full, buf, True, False)


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
        parameter part (then only ``y_bar`` is formed, the same values).
    work : 1-D float array, ``vjp_work_size(p.ip)`` entries

    Notes
    -----
    With ``g = g(h)``, forces ``F_i`` and ``dx_i/dt = P_i(F_i) + Omega_i x_i``::

        Fbar_i  = P_i(v_i)
        xbar_i += Omega_i^T v_i - c_i v_i - <v_i, x_i> F_i / |x_i|^2 + 2 c_i <v_i, x_i> x_i / |x_i|^2,
                  c_i = <F_i, x_i> / |x_i|^2

    then the transposes of the coupling terms (pair, low-rank, mean-field, HK), of
    ``W g - h + b`` and of the activation, in reverse order of the forward pass.  The
    forces are recomputed here (the VJP needs ``F_i``), fused with the transpose: the
    sparse couplings are swept row by row, forces of row ``i`` first (caching
    ``phi'(s_e)``), then its projection, then the transpose of the row's entries, so each
    pair entry costs one transcendental and its neighbours are loaded while in cache.
    """
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nx = n * dim
    nb = max(ip[I_W_RANK], ip[I_K_RANK] * dim, dim, 1)
    want_fp = fp_bar.shape[0] > 0
    g = work[:nh]
    gbar = work[nh : 2 * nh]
    full = work[2 * nh : 3 * nh + nx]  # state-sized forces: h part scratch, x part F_i
    force = full[nh:]
    fbar = work[3 * nh + nx : 3 * nh + 2 * nx]
    o = 3 * nh + 2 * nx
    buf = work[o : o + nb]
    buf2 = work[o + nb : o + 2 * nb]
    scratch = work[o + 2 * nb : o + 2 * nb + 4 * dim]
    tc = work[o + 2 * nb + 4 * dim :]
    act, beta = ip[I_ACT], fp[F_BETA]
    if nh > 0:
        activate(None, act, beta, y[:nh], g)
        for i in range(nh):
            gbar[i] = 0.0
    if n > 0:
        _global_forces(p, y, g, full, buf)
        _rows_vjp(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)
        # ---- stimulus
        if want_fp and ip[I_HAS_STIM] != 0:
            o = ip[I_O_STIM]
            for k in range(nx):
                fp_bar[o + k] += fbar[k]
        # ---- pair couplings not stored per row
        _kuramoto_vjp(p, y, fbar, y_bar, fp_bar, want_fp, buf, buf2)
        # ---- all-to-all Hopfield-Kuramoto coupling
        if ip[I_HK_KIND] == HK_ALL:
            _hk_all_vjp(p, y, g, v, fbar, y_bar, gbar, fp_bar, want_fp, buf, buf2)
    if nh > 0:
        # dh/dt = W g - h + b (+ HK part, done above)
        if want_fp:
            o = ip[I_O_BIAS]
            for i in range(nh):
                fp_bar[o + i] += v[i]
        for i in range(nh):
            y_bar[i] -= v[i]
        _weights_vjp(p, g, v, gbar, fp_bar, want_fp)
        hg = full[:nh]  # free again: the Hessian of L (the activation's Jacobian, symmetric) times gbar
        hessian_apply(act, beta, y[:nh], g, gbar, hg)
        for i in range(nh):
            y_bar[i] += hg[i]


def _make_rows_vjp(D):
    """:func:`_rows_vjp` with D a compile-time constant (the row's vectors in registers, as in
    :mod:`oscihop.kernels.fixed_dim`), or for any D when ``D == 0`` (vectors in ``scratch``)."""

    @serial_jit
    def rows_vjp(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch):
        ip, fp = p.ip, p.fp
        nh, n = ip[I_NH], ip[I_NK]
        dim = ip[I_DIM] if D == 0 else D
        if D == 0:
            x, f = scratch[0:dim], scratch[dim : 2 * dim]
            b, r = scratch[2 * dim : 3 * dim], scratch[3 * dim : 4 * dim]
        else:
            x, f, b, r = local_vector(D, y), local_vector(D, y), local_vector(D, y), local_vector(D, y)
        kcsr = ip[I_K_KIND] == K_CSR
        hcsr = ip[I_HK_KIND] == HK_CSR
        inter = ip[I_INTER]
        nonlin = kcsr and inter != INT_LINEAR
        # views of the sparse structures (empty when absent)
        o = ip[I_O_K_INDPTR]
        kptr = ip[o : o + (n + 1 if kcsr else 0)]
        knz = kptr[n] if kcsr else 0
        o = ip[I_O_K_INDICES]
        kidx = ip[o : o + knz]
        o_j = ip[I_O_K_J]
        kj = fp[o_j : o_j + knz]
        o_b = ip[I_O_K_B]
        kb = fp[o_b : o_b + (knz if nonlin else 0)]
        o = ip[I_O_HK_INDPTR]
        hptr = ip[o : o + (n + 1 if hcsr else 0)]
        hnz = hptr[n] if hcsr else 0
        o = ip[I_O_HK_INDICES]
        hidx = ip[o : o + hnz]
        o_a = ip[I_O_HK_A]
        ha = fp[o_a : o_a + hnz]
        gj_bar = fp_bar[o_j : o_j + (knz if want_fp else 0)]
        gb_bar = fp_bar[o_b : o_b + (knz if want_fp and nonlin else 0)]
        ga_bar = fp_bar[o_a : o_a + (hnz if want_fp else 0)]
        inv_kh = 1.0 / fp[F_KAPPA_H]
        inv_kk = 1.0 / fp[F_KAPPA_K]
        okind = ip[I_OMEGA_KIND]
        o_om = ip[I_O_OMEGA]
        # the pair and HK couplings on the same sparse structure (the HK "network" mode on the
        # Kuramoto edges): one sweep serves both
        same = kcsr and hcsr and hnz == knz
        if same:
            for i in range(n + 1):
                if kptr[i] != hptr[i]:
                    same = False
                    break
        if same:
            for e in range(knz):
                if kidx[e] != hidx[e]:
                    same = False
                    break
        for i in range(n):
            oi = nh + i * dim
            for d in range(dim):
                x[d] = y[oi + d]
                f[d] = force[i * dim + d]
                r[d] = 0.0
            gi = g[i]
            # ---- forces of row i (pair, and HK on the shared structure or on its own)
            if kcsr:
                for e in range(kptr[i], kptr[i + 1]):
                    j = kidx[e]
                    oj = nh + j * dim
                    c = kj[e]
                    if same:
                        c += ha[e] * (gi * inv_kk) * g[j]
                    if nonlin:
                        s = 0.0
                        for d in range(dim):
                            s += x[d] * y[oj + d]
                        t = dphi(inter, s)
                        tc[e] = t
                        c += kb[e] * t
                    for d in range(dim):
                        f[d] += c * y[oj + d]
            if hcsr and not same:
                for e in range(hptr[i], hptr[i + 1]):
                    j = hidx[e]
                    oj = nh + j * dim
                    c = ha[e] * (gi * inv_kk) * g[j]
                    for d in range(dim):
                        f[d] += c * y[oj + d]
            # ---- projection: Fbar_i = P_i(v_i); xbar_i += -c v_i - q F_i + 2 c q x_i
            xx = 0.0
            fx = 0.0
            vx = 0.0
            for d in range(dim):
                xx += x[d] * x[d]
                fx += f[d] * x[d]
                vx += v[oi + d] * x[d]
            if xx > 0:
                c = fx / xx
                q = vx / xx
                for d in range(dim):
                    b[d] = v[oi + d] - q * x[d]
                    r[d] = -c * v[oi + d] - q * f[d] + 2.0 * c * q * x[d]
            else:
                for d in range(dim):
                    b[d] = v[oi + d]
            # ---- transposes of the row's entries (pair: J, B, the states; HK: a, g, the states,
            # with the dh_i/dt part, cotangent v_i)
            w = v[i] * inv_kh
            gbi = 0.0
            if kcsr:
                for e in range(kptr[i], kptr[i + 1]):
                    j = kidx[e]
                    oj = nh + j * dim
                    u = 0.0
                    for d in range(dim):
                        u += b[d] * y[oj + d]
                    c = kj[e]
                    sb = 0.0
                    if want_fp:
                        gj_bar[e] += u
                    if same:
                        a = ha[e]
                        gj = g[j]
                        s = 0.0
                        for d in range(dim):
                            s += x[d] * y[oj + d]
                        uk = u * inv_kk
                        c += a * gi * gj * inv_kk
                        sb = w * a * gj
                        hb = w * s + gi * uk
                        gbar[j] += a * hb
                        gbi += a * gj * uk
                        if want_fp:
                            ga_bar[e] += gj * hb
                    if nonlin:
                        t = tc[e]
                        bw = kb[e]
                        c += bw * t
                        if want_fp:
                            gb_bar[e] += u * t
                        sb += u * bw * _ddphi_from(inter, t)
                    for d in range(dim):
                        r[d] += sb * y[oj + d]
                        y_bar[oj + d] += sb * x[d] + c * b[d]
            if hcsr and not same:
                for e in range(hptr[i], hptr[i + 1]):
                    j = hidx[e]
                    oj = nh + j * dim
                    a = ha[e]
                    gj = g[j]
                    s = 0.0
                    u = 0.0
                    for d in range(dim):
                        s += x[d] * y[oj + d]
                        u += b[d] * y[oj + d]
                    uk = u * inv_kk
                    hb = w * s + gi * uk
                    gbar[j] += a * hb
                    gbi += a * gj * uk
                    sb = w * a * gj
                    c = a * gi * gj * inv_kk
                    for d in range(dim):
                        r[d] += sb * y[oj + d]
                        y_bar[oj + d] += sb * x[d] + c * b[d]
                    if want_fp:
                        ga_bar[e] += gj * hb
            gbar[i] += gbi
            for d in range(dim):
                fbar[i * dim + d] = b[d]
                y_bar[oi + d] += r[d]
            # rotation: dx_i/dt += Omega_i x_i
            if okind != OMEGA_NONE:
                om = o_om if okind == OMEGA_GLOBAL else o_om + i * dim * dim
                for a_ in range(dim):
                    va = v[oi + a_]
                    for b_ in range(dim):
                        y_bar[oi + b_] += fp[om + a_ * dim + b_] * va
                        if want_fp:
                            fp_bar[om + a_ * dim + b_] += va * x[b_]

    return rows_vjp


_R0, _R2, _R3, _R4, _R5 = (_make_rows_vjp(D) for D in (0,) + DIMS)


@serial_jit
def _rows_vjp(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch):
    """Forces, projection, rotation and their transposes, oscillator by oscillator (fused).

    ``force`` holds the terms of :func:`_global_forces` on entry.  For each oscillator
    ``i``: add its sparse pair and HK terms to ``F_i`` (caching ``tc[e] = phi'(s_e)``, the
    one transcendental per entry), project, then sweep the row again for the transposes of
    its entries (pair: ``J``, ``B``, the states; HK: ``a``, ``g``, the states, including the
    ``dh_i/dt`` part with cotangent ``v_i``) while its neighbours are in cache; ``Fbar_i``
    goes to ``fbar`` for the transposes done after the sweep.  D = 2..5 run with the row's
    vectors in registers; ``scratch`` (4 D entries) holds them for another D.
    """
    dim = p.ip[I_DIM]
    if dim == 2:
        _R2(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)
    elif dim == 3:
        _R3(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)
    elif dim == 4:
        _R4(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)
    elif dim == 5:
        _R5(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)
    else:
        _R0(p, y, g, v, force, fbar, y_bar, gbar, fp_bar, want_fp, tc, scratch)


@serial_jit
def _weights_vjp(p, g, v, gbar, fp_bar, want_fp):
    """Transpose of ``W g``: gbar += W^T v[:nh], fp_bar[W] += v g^T (per representation)."""
    ip, fp = p.ip, p.fp
    nh = ip[I_NH]
    kind = ip[I_W_KIND]
    if kind == W_DENSE:
        o = ip[I_O_W_DENSE]
        w = fp[o : o + nh * nh]
        for i in range(nh):
            vi = v[i]
            row = w[i * nh : (i + 1) * nh]
            for j in range(nh):
                gbar[j] += row[j] * vi
        if want_fp:
            wb = fp_bar[o : o + nh * nh]
            for i in range(nh):
                vi = v[i]
                row = wb[i * nh : (i + 1) * nh]
                for j in range(nh):
                    row[j] += vi * g[j]
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
    """Transpose of the pair couplings that are not stored per row (dense, low-rank, mean-field,
    block and convolutional)."""
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    kind = ip[I_K_KIND]
    if kind == K_DENSE:
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
    elif kind == K_BLOCK:  # the forward rows' own loops, run as their transpose
        for i in range(n):
            terms.block_pass(p, y, uint64(i), y_bar, False, False, fbar, y_bar, fp_bar, True, want_fp)
    elif kind == K_CONV:
        for i in range(n):
            terms.conv_pass(p, y, i, y_bar, False, False, fbar, y_bar, fp_bar, True, want_fp)
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
def _hk_all_vjp(p, y, g, v, fbar, y_bar, gbar, fp_bar, want_fp, buf, buf2):
    """Transpose of the all-to-all Hopfield-Kuramoto terms (h part and force part)."""
    ip, fp = p.ip, p.fp
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    inv_kh = 1.0 / fp[F_KAPPA_H]
    inv_kk = 1.0 / fp[F_KAPPA_K]
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
        xx = terms._dot(y, oi, oi, dim)
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
