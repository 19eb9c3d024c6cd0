"""CPU fast path: the right-hand side of a whole batch in the batch-innermost layout.

A batch of states ``ys`` (B, size) is stored transposed, ``yt`` (size, B): entry
``yt[k, b]`` is component ``k`` of member ``b``.  Every loop over couplings then runs over
its index structure once and, innermost, over the batch: one CSR index load and one
weight load serve all B members, and the innermost loop is a unit-stride loop over
members that the compiler vectorises.  Dense and low-rank Hopfield weights become matrix
products ``W @ G`` with ``G`` (N, B), routed through BLAS (``np.dot``).

Dense and low-rank Kuramoto couplings likewise become one product ``J @ X`` with ``X`` the
oscillators as an (N, D B) matrix, and a convolution (``ConvCoupling``) one product per
kernel tap on a zero-padded, channel-last copy of the batch's images (:func:`_kuramoto_conv_t`).  This module is CPU only (BLAS calls do not compile
for CUDA); the CUDA kernels never import it.  Parts without a batch-innermost kernel here
(the softmax activation, all-to-all HK coupling) fall back to
:func:`oscihop.kernels.system.system_rhs` member by member, so every model runs.

Results equal :func:`oscihop.kernels.system.batch_rhs` up to rounding (summation order; the
activation pass uses ``elementary.tanh``, the package's one tanh, within 3 ulp of NumPy).
"""

from __future__ import annotations

import numpy as np
from numba import uint64
from numba.extending import overload

from ..config import OVERLOAD, entry_jit, inline_jit, noalias_jit, serial_jit
from .params import (
    I_CONV_H,
    I_CONV_KS,
    I_CONV_W,
    I_O_K_CONV,
    K_CONV,
    ACT_SOFTMAX,
    F_BETA,
    F_K_STRENGTH,
    F_KAPPA_H,
    F_KAPPA_K,
    HK_CSR,
    HK_NONE,
    I_ACT,
    I_DIM,
    I_HAS_STIM,
    I_HK_KIND,
    I_INTER,
    I_K_KIND,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_HK_A,
    I_O_HK_INDICES,
    I_O_HK_INDPTR,
    I_O_J_DENSE,
    I_O_K_DIAG,
    I_O_K_FACTOR,
    I_O_K_SCALE,
    I_K_RANK,
    I_O_K_B,
    I_O_K_INDICES,
    I_O_K_INDPTR,
    I_O_K_J,
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
    I_WORK_SIZE,
    INT_LINEAR,
    INT_RELU,
    INT_SIGMOID,
    INT_TANH,
    K_CSR,
    K_DENSE,
    K_LOWRANK,
    K_MEANFIELD,
    K_NONE,
    OMEGA_GLOBAL,
    OMEGA_NONE,
    SHARED_NONE,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
    W_NONE,
)
from .fixed_dim import FUSED_CSR_T as FUSED_T
from .dispatch import kind_of
from .activations import activate, dphi
from .system import csr_arrays, fseg, system_rhs

__all__ = [
    "has_fast_path", "work_t_size", "rhs_t", "rhs_tf", "fused_lockstep_ok", "rhs_shared_t",
    "shared_structure", "fused_batch", "conv_energy_ok", "conv_energies",
]

@entry_jit
def has_fast_path(p):
    """True when :func:`rhs_t` has batch-innermost kernels for every part of the model."""
    ip = p.ip
    if ip[I_NH] > 0 and ip[I_ACT] == ACT_SOFTMAX:
        return False
    if ip[I_W_KIND] not in (W_NONE, W_DENSE, W_CSR, W_LOWRANK):
        return False
    if ip[I_NK] > 0 and ip[I_K_KIND] not in (K_NONE, K_CSR, K_MEANFIELD, K_DENSE, K_LOWRANK, K_CONV):
        return False
    return ip[I_HK_KIND] in (HK_NONE, HK_CSR)


@serial_jit
def _activate_t(code, beta, ht, gt):
    """gt = g(ht) elementwise (no softmax): :func:`~oscihop.kernels.activations.activate` over the
    contiguous block (``ht`` is the first rows of the contiguous batch state)."""
    n, nb = ht.shape
    activate(None, code, beta, ht.reshape(n * nb), gt.reshape(n * nb))


@serial_jit
def _weights_t(p, gt, out, tmp):
    """out (nh, B) = W @ gt (batch-innermost CSR pull, or BLAS for dense / low rank).

    ``out`` and ``tmp`` must be C-contiguous: BLAS writes into them directly (Numba's
    ``np.dot(a, b, out)`` would silently write into a copy of a non-contiguous ``out``).
    """
    nh = p.ip[I_NH]
    nb = gt.shape[1]
    nb4 = nb - nb % 4
    kind = p.ip[I_W_KIND]
    if kind == W_DENSE:
        w = fseg(p, I_O_W_DENSE, nh * nh).reshape((nh, nh))
        # straight into ``out`` (C-contiguous work buffer): no temporary, no copy pass
        np.dot(w, gt, out)
    elif kind == W_CSR:
        indptr, indices = csr_arrays(p, I_O_W_INDPTR, I_O_W_INDICES, nh)
        data = fseg(p, I_O_W_DATA, indices.shape[0])
        for i in range(nh):
            for b in range(0, nb4, 4):
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                for e in range(indptr[i], indptr[i + 1]):
                    j = indices[e]
                    w = data[e]
                    a0 += w * gt[j, b]
                    a1 += w * gt[j, b + 1]
                    a2 += w * gt[j, b + 2]
                    a3 += w * gt[j, b + 3]
                out[i, b] = a0
                out[i, b + 1] = a1
                out[i, b + 2] = a2
                out[i, b + 3] = a3
            for b in range(nb4, nb):
                acc = 0.0
                for e in range(indptr[i], indptr[i + 1]):
                    acc += data[e] * gt[indices[e], b]
                out[i, b] = acc
    elif kind == W_LOWRANK:
        rank = p.ip[I_W_RANK]
        u = fseg(p, I_O_W_FACTOR, rank * nh).reshape((rank, nh))
        scale = fseg(p, I_O_W_SCALE, rank)
        wdiag = fseg(p, I_O_W_DIAG, nh)
        m = tmp[: rank * nb].reshape((rank, nb))
        np.dot(u, gt, m)
        for r in range(rank):
            for b in range(nb):
                m[r, b] *= scale[r]
        np.dot(u.T, m, out)
        for i in range(nh):
            for b in range(nb):
                out[i, b] -= wdiag[i] * gt[i, b]
    else:
        out[:, :] = 0.0


@inline_jit
def _pair_products_t(yt, oi, oj, dim, s):
    """s[b] = <x_i, x_j> of member b (rows ``oi`` and ``oj`` of ``yt`` start the two oscillators)."""
    nb = uint64(yt.shape[1])
    for b in range(nb):
        s[b] = 0.0
    for d in range(dim):
        for b in range(nb):
            s[b] += yt[oi + d, b] * yt[oj + d, b]


@inline_jit
def _add_scaled_rows_t(yt, oi, oj, dim, c, out):
    """out[x_i] += c[b] x_j for every member b."""
    nb = uint64(yt.shape[1])
    for d in range(dim):
        for b in range(nb):
            out[oi + d, b] += c[b] * yt[oj + d, b]


# The batch-innermost CSR passes below run every loop over the members innermost, on rows of
# 2-D arrays, and are compiled with noalias_jit: their array arguments never overlap (``sc`` is
# scratch from the work array), so LLVM vectorises those loops from a few members on instead of
# guarding them with overlap checks (docs/benchmarks.md, "Small batches").
@noalias_jit
def _kuramoto_csr_t(p, yt, out, sc):
    """out[x part] += sum_j (J_ij + B_ij phi'(s_ij)) x_j, batch innermost (``sc``: >= B scratch)."""
    ip = p.ip
    nh, n, dim = uint64(ip[I_NH]), uint64(ip[I_NK]), uint64(ip[I_DIM])
    nb = uint64(yt.shape[1])
    inter = ip[I_INTER]
    indptr, indices = csr_arrays(p, I_O_K_INDPTR, I_O_K_INDICES, ip[I_NK])
    jv = fseg(p, I_O_K_J, indices.shape[0])
    bv = fseg(p, I_O_K_B, indices.shape[0])
    c = sc[:nb]
    for i in range(n):
        oi = nh + i * dim
        for e in range(uint64(indptr[i]), uint64(indptr[i + uint64(1)])):
            oj = nh + uint64(indices[e]) * dim
            j0 = jv[e]
            if inter == INT_LINEAR:
                for d in range(dim):
                    for b in range(nb):
                        out[oi + d, b] += j0 * yt[oj + d, b]
                continue
            _pair_products_t(yt, oi, oj, dim, c)
            bw = bv[e]
            for b in range(nb):
                c[b] = j0 + bw * dphi(inter, c[b])
            _add_scaled_rows_t(yt, oi, oj, dim, c, out)


@noalias_jit
def _hk_csr_t(p, yt, gt, out, sc):
    """HK terms over hk_edges (docs/theory.md §4.1), batch innermost (``sc``: >= B scratch)."""
    ip = p.ip
    nh, n, dim = uint64(ip[I_NH]), uint64(ip[I_NK]), uint64(ip[I_DIM])
    nb = uint64(yt.shape[1])
    inv_kh = 1.0 / p.fp[F_KAPPA_H]
    inv_kk = 1.0 / p.fp[F_KAPPA_K]
    indptr, indices = csr_arrays(p, I_O_HK_INDPTR, I_O_HK_INDICES, ip[I_NK])
    av = fseg(p, I_O_HK_A, indices.shape[0])
    c = sc[:nb]
    for i in range(n):
        oi = nh + i * dim
        for e in range(uint64(indptr[i]), uint64(indptr[i + uint64(1)])):
            j = uint64(indices[e])
            oj = nh + j * dim
            ah = av[e] * inv_kh
            ak = av[e] * inv_kk
            _pair_products_t(yt, oi, oj, dim, c)
            for b in range(nb):
                gj = gt[j, b]
                out[i, b] += ah * c[b] * gj
                c[b] = ak * gt[i, b] * gj
            _add_scaled_rows_t(yt, oi, oj, dim, c, out)


@serial_jit
def _meanfield_t(p, yt, out, msum):
    """out[x part] += (K/N) (sum_j x_j - x_i), O(N D B)."""
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nb = yt.shape[1]
    kn = p.fp[F_K_STRENGTH]
    for d in range(dim):
        for b in range(nb):
            msum[d, b] = 0.0
    for j in range(n):
        oj = nh + j * dim
        for d in range(dim):
            for b in range(nb):
                msum[d, b] += yt[oj + d, b]
    for i in range(n):
        oi = nh + i * dim
        for d in range(dim):
            for b in range(nb):
                out[oi + d, b] += kn * (msum[d, b] - yt[oi + d, b])


@serial_jit
def _kuramoto_matrix_t(p, yt, out, tmp):
    """Dense or low-rank J: F = J X as one matrix product (BLAS) with X = x part (N, D B).

    The products land in ``tmp`` (C-contiguous, ``N D B`` entries plus ``rank D B`` for
    low rank; see :func:`work_t_size`): no temporaries are allocated per call.
    """
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nb = yt.shape[1]
    xr = yt[nh:].reshape((n, dim * nb))
    if ip[I_K_KIND] == K_DENSE:
        jd = p.fp[ip[I_O_J_DENSE] : ip[I_O_J_DENSE] + n * n].reshape((n, n))
        f = tmp[: n * dim * nb].reshape((n, dim * nb))
        np.dot(jd, xr, f)
        for i in range(n):
            c = jd[i, i]  # the kernels skip self-pairs
            oi = nh + i * dim
            for d in range(dim):
                for b in range(nb):
                    out[oi + d, b] += f[i, d * nb + b] - c * yt[oi + d, b]
    else:
        rank = ip[I_K_RANK]
        u = p.fp[ip[I_O_K_FACTOR] : ip[I_O_K_FACTOR] + rank * n].reshape((rank, n))
        kscale = p.fp[ip[I_O_K_SCALE] : ip[I_O_K_SCALE] + rank]
        kdiag = p.fp[ip[I_O_K_DIAG] : ip[I_O_K_DIAG] + n]
        f = tmp[: n * dim * nb].reshape((n, dim * nb))
        m = tmp[n * dim * nb : (n + rank) * dim * nb].reshape((rank, dim * nb))
        np.dot(u, xr, m)
        for r in range(rank):
            for q in range(dim * nb):
                m[r, q] *= kscale[r]
        np.dot(u.T, m, f)
        for i in range(n):
            c = kdiag[i]
            oi = nh + i * dim
            for d in range(dim):
                for b in range(nb):
                    out[oi + d, b] += f[i, d * nb + b] - c * yt[oi + d, b]


#: Output rows (pixel, member pairs) of one im2col slab of :func:`_kuramoto_conv_t`: the slab
#: (rows x k^2 C) stays a few MB, in cache while its product is formed.
CONV_SLAB_ROWS = 512


#: (tile, member) pairs of one chunk of :func:`_winograd_conv3_t`: its transformed tiles (16 x
#: chunk x C, twice) stay in cache between the transforms and the products.
WINOGRAD_TILES = 128


def conv_t_work(ip, nb):
    """Scratch entries of :func:`_kuramoto_conv_t` for a batch of ``nb``: the Winograd buffers
    (3 x 3 kernels) or the im2col ones (padded images, output rows, a slab, the weight)."""
    hh, ww, ks = int(ip[I_CONV_H]), int(ip[I_CONV_W]), int(ip[I_CONV_KS])
    c = (int(ip[I_NK]) // (hh * ww)) * int(ip[I_DIM])
    if ks == 3:
        th, tw = (hh + 1) // 2, (ww + 1) // 2
        return (2 * th + 2) * (2 * tw + 2) * nb * c + 32 * min(WINOGRAD_TILES, th * tw * nb) * c + 16 * c * c
    r = ks // 2
    wp = ww + 2 * r
    rows = (hh + 2 * r) * wp * nb
    out_rows = ((hh - 1) * wp + ww) * nb
    return (rows + out_rows) * c + (min(CONV_SLAB_ROWS, out_rows) + c) * ks * ks * c


@serial_jit
def _winograd_conv3_t(p, yt, out, tmp):
    """A 3 x 3 convolutional coupling for the batch by Winograd's F(2 x 2, 3 x 3) (docs/theory.md §3.3).

    Output tiles of 2 x 2 pixels read 4 x 4 input tiles of the zero-padded, channel-last images
    ``xp``.  With the transforms ``B^T``, ``G``, ``A^T`` of F(2, 3), ``V = B^T d B`` per tile and
    channel, ``U = G g G^T`` per pair of channels, the 16 entries of the transformed tiles are 16
    BLAS products ``M_p = V_p U_p`` ((tiles, C) x (C, C)), and ``F = A^T M A``: 16 products of C^2
    per tile instead of 36, the same sums as :func:`oscihop.kernels.terms.conv_pass` up to rounding.
    The tiles go in chunks of :data:`WINOGRAD_TILES`, so that ``V`` and ``M`` stay in cache.
    """
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    hh, ww = ip[I_CONV_H], ip[I_CONV_W]
    nb = yt.shape[1]
    kk = n // (hh * ww)
    c = kk * dim
    th, tw = (hh + 1) // 2, (ww + 1) // 2
    hp, wq = 2 * th + 2, 2 * tw + 2
    nt = th * tw * nb
    chunk = min(WINOGRAD_TILES, nt)
    xp = tmp[: hp * wq * nb * c].reshape((hp, wq, nb, c))
    o = hp * wq * nb * c
    vv = tmp[o : o + 16 * chunk * c].reshape((16, chunk, c))
    o += 16 * chunk * c
    mm = tmp[o : o + 16 * chunk * c].reshape((16, chunk, c))
    o += 16 * chunk * c
    uu = tmp[o : o + 16 * c * c].reshape((16, c, c))
    w = fseg(p, I_O_K_CONV, c * c * 9).reshape((kk, kk, 9, dim, dim))  # ConvCoupling.tap_blocks
    gg = np.empty((4, 3), dtype=tmp.dtype)
    for k in range(kk):  # U[p, in, out] = (G g G^T)[p], g[dy, dx] = weight[out, in, dy, dx]
        for k2 in range(kk):
            for a in range(dim):
                for b in range(dim):
                    for j in range(3):
                        g0, g1, g2 = w[k, k2, j, a, b], w[k, k2, 3 + j, a, b], w[k, k2, 6 + j, a, b]
                        gg[0, j] = g0
                        gg[1, j] = 0.5 * (g0 + g1 + g2)
                        gg[2, j] = 0.5 * (g0 - g1 + g2)
                        gg[3, j] = g2
                    ci, co = k2 * dim + b, k * dim + a
                    for i in range(4):
                        g0, g1, g2 = gg[i, 0], gg[i, 1], gg[i, 2]
                        uu[4 * i, ci, co] = g0
                        uu[4 * i + 1, ci, co] = 0.5 * (g0 + g1 + g2)
                        uu[4 * i + 2, ci, co] = 0.5 * (g0 - g1 + g2)
                        uu[4 * i + 3, ci, co] = g2
    xf = xp.reshape(hp * wq * nb * c)
    for q in range(xf.shape[0]):
        xf[q] = 0.0
    for k in range(kk):
        for y in range(hh):
            for x in range(ww):
                oy = nh + ((k * hh + y) * ww + x) * dim
                for d in range(dim):
                    for b in range(nb):
                        xp[y + 1, x + 1, b, k * dim + d] = yt[oy + d, b]
    tt = np.empty((4, 4, c), dtype=tmp.dtype)
    yo = tt[:2]  # the 2 x 2 output tile of every channel
    for q0 in range(0, nt, chunk):  # tile (ty, tx) of member b is q = (ty tw + tx) nb + b
        m = min(chunk, nt - q0)
        for qq in range(m):  # V = B^T d B, B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
            q = q0 + qq
            b = q % nb
            ty = (q // nb) // tw
            tx = (q // nb) - ty * tw
            for j in range(4):  # the channels innermost: unit stride, vectorised
                for ch in range(c):
                    d0 = xp[2 * ty, 2 * tx + j, b, ch]
                    d1 = xp[2 * ty + 1, 2 * tx + j, b, ch]
                    d2 = xp[2 * ty + 2, 2 * tx + j, b, ch]
                    d3 = xp[2 * ty + 3, 2 * tx + j, b, ch]
                    tt[0, j, ch] = d0 - d2
                    tt[1, j, ch] = d1 + d2
                    tt[2, j, ch] = d2 - d1
                    tt[3, j, ch] = d1 - d3
            for i in range(4):
                for ch in range(c):
                    vv[4 * i, qq, ch] = tt[i, 0, ch] - tt[i, 2, ch]
                    vv[4 * i + 1, qq, ch] = tt[i, 1, ch] + tt[i, 2, ch]
                    vv[4 * i + 2, qq, ch] = tt[i, 2, ch] - tt[i, 1, ch]
                    vv[4 * i + 3, qq, ch] = tt[i, 1, ch] - tt[i, 3, ch]
        for pp in range(16):
            np.dot(vv[pp, :m], uu[pp], mm[pp, :m])
        for qq in range(m):  # F = A^T M A, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]
            q = q0 + qq
            b = q % nb
            ty = (q // nb) // tw
            tx = (q // nb) - ty * tw
            for j in range(4):
                for ch in range(c):
                    yo[0, j, ch] = mm[j, qq, ch] + mm[4 + j, qq, ch] + mm[8 + j, qq, ch]
                    yo[1, j, ch] = mm[4 + j, qq, ch] - mm[8 + j, qq, ch] - mm[12 + j, qq, ch]
            for i in range(2):
                for ch in range(c):
                    yo[i, 0, ch] = yo[i, 0, ch] + yo[i, 1, ch] + yo[i, 2, ch]
                    yo[i, 1, ch] = yo[i, 1, ch] - yo[i, 2, ch] - yo[i, 3, ch]
            for i in range(2):
                y = 2 * ty + i
                if y >= hh:
                    continue
                for jx in range(2):
                    x = 2 * tx + jx
                    if x >= ww:
                        continue
                    for k in range(kk):
                        oy = nh + ((k * hh + y) * ww + x) * dim
                        for d in range(dim):
                            out[oy + d, b] += yo[i, jx, k * dim + d]


@serial_jit
def _kuramoto_conv_t(p, yt, out, tmp):
    """A convolutional coupling (docs/theory.md §3.3) for the batch, as matrix products: 3 x 3
    kernels by Winograd's F(2 x 2, 3 x 3) (:func:`_winograd_conv3_t`), other sizes by im2col.

    im2col: the batch's images go channel last into a zero-padded copy ``xp``, one row per (padded
    pixel, member) and one column per channel.  Tap (dy, dx) reads the rows shifted by
    ``((dy - r) W_pad + dx - r) B``, a contiguous block, so a slab of output rows gathers its
    k^2 shifted blocks side by side (``k^2 C`` columns) and ``F = slab @ w_col`` is one BLAS
    product (``np.dot``) per slab of :data:`CONV_SLAB_ROWS` rows; the rows of pixels in the
    padding columns are computed and dropped.  The same sums as
    :func:`oscihop.kernels.terms.conv_pass`, in another order.
    """
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    hh, ww, ks = ip[I_CONV_H], ip[I_CONV_W], ip[I_CONV_KS]
    if ks == 3:
        _winograd_conv3_t(p, yt, out, tmp)
        return
    nb = yt.shape[1]
    r = ks // 2
    wp = ww + 2 * r
    kk = n // (hh * ww)
    c = kk * dim
    taps = ks * ks
    rows = (hh + 2 * r) * wp * nb
    nout = ((hh - 1) * wp + ww) * nb  # from pixel (0, 0) to pixel (H - 1, W - 1), padding columns between
    lo = (r * wp + r) * nb  # padded row of pixel (0, 0)
    slab_rows = min(CONV_SLAB_ROWS, nout)
    xp = tmp[: rows * c].reshape((rows, c))
    acc = tmp[rows * c : (rows + nout) * c].reshape((nout, c))
    o = (rows + nout) * c
    slab = tmp[o : o + slab_rows * taps * c].reshape((slab_rows, taps * c))
    o += slab_rows * taps * c
    wcol = tmp[o : o + taps * c * c].reshape((taps * c, c))
    w = fseg(p, I_O_K_CONV, c * c * taps).reshape((kk, kk, taps, dim, dim))  # ConvCoupling.tap_blocks
    for t in range(taps):  # wcol[t C + in channel, out channel] = w[out, in, dy, dx]
        for k in range(kk):
            for k2 in range(kk):
                for a in range(dim):
                    for b in range(dim):
                        wcol[t * c + k2 * dim + b, k * dim + a] = w[k, k2, t, a, b]
    # the padding: r rows above and below, r columns left and right of each image row
    for q in range(r * wp * nb):
        for ch in range(c):
            xp[q, ch] = 0.0
            xp[rows - 1 - q, ch] = 0.0
    for y in range(hh):
        for x in range(r):
            for b in range(nb):
                for ch in range(c):
                    xp[((y + r) * wp + x) * nb + b, ch] = 0.0
                    xp[((y + r) * wp + ww + r + x) * nb + b, ch] = 0.0
    for k in range(kk):
        for y in range(hh):
            for x in range(ww):
                oy = nh + ((k * hh + y) * ww + x) * dim
                q = ((y + r) * wp + x + r) * nb
                for d in range(dim):
                    for b in range(nb):
                        xp[q + b, k * dim + d] = yt[oy + d, b]
    for q0 in range(0, nout, slab_rows):
        m = min(slab_rows, nout - q0)
        for t in range(taps):
            s = lo + q0 + ((t // ks - r) * wp + t % ks - r) * nb
            for q in range(m):
                for ch in range(c):
                    slab[q, t * c + ch] = xp[s + q, ch]
        np.dot(slab[:m], wcol, acc[q0 : q0 + m])
    for k in range(kk):
        for y in range(hh):
            for x in range(ww):
                oy = nh + ((k * hh + y) * ww + x) * dim
                q = (y * wp + x) * nb
                for d in range(dim):
                    for b in range(nb):
                        out[oy + d, b] += acc[q + b, k * dim + d]


def conv_energy_ok(p, fps):
    """True for a Kuramoto model (no threshold units) with a convolutional coupling and one
    parameter row: :func:`conv_energies` computes its energies by the products of
    :func:`_kuramoto_conv_t`, not by the per-member stencil."""
    ip = p.ip
    return fps.shape[0] == 1 and int(ip[I_NH]) == 0 and int(ip[I_NK]) > 0 and int(ip[I_K_KIND]) == K_CONV


@entry_jit
def conv_energies(p, ys, out, work):
    """out[b, t] = E(ys[b, t]) = -1/2 <x, J x> - <c, x> (docs/theory.md §3.3) for every member and
    output, members batched through :func:`_kuramoto_conv_t` (``work``: ``work_t_size`` entries
    plus two states per member)."""
    nb, nt, size = ys.shape
    ip = p.ip
    has_stim = ip[I_HAS_STIM] != 0
    stim = fseg(p, I_O_STIM, size if has_stim else 0)
    kappa = p.fp[F_KAPPA_K]
    yt = work[: size * nb].reshape((size, nb))
    f = work[size * nb : 2 * size * nb].reshape((size, nb))
    rest = work[2 * size * nb :]
    for t in range(nt):
        for k in range(size):
            for b in range(nb):
                yt[k, b] = ys[b, t, k]
                f[k, b] = 0.0
        _kuramoto_conv_t(p, yt, f, rest)
        for b in range(nb):
            e = 0.0
            for k in range(size):
                e -= yt[k, b] * (0.5 * f[k, b] + (stim[k] if has_stim else 0.0))
            out[b, t] = kappa * e

@serial_jit
def _project_rotate_t(p, yt, out, fx, xx):
    """dx_i/dt = Omega_i x_i + F_i - <F_i, x_i> x_i / |x_i|^2, batch innermost."""
    ip = p.ip
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nb = yt.shape[1]
    okind = ip[I_OMEGA_KIND]
    n_om = 0 if okind == OMEGA_NONE else (1 if okind == OMEGA_GLOBAL else nk)
    omega = fseg(p, I_O_OMEGA, n_om * dim * dim).reshape((n_om, dim, dim))
    for i in range(nk):
        oi = nh + i * dim
        for b in range(nb):
            fx[b] = 0.0
            xx[b] = 0.0
        for d in range(dim):
            for b in range(nb):
                fx[b] += out[oi + d, b] * yt[oi + d, b]
                xx[b] += yt[oi + d, b] * yt[oi + d, b]
        for b in range(nb):
            fx[b] = fx[b] / xx[b] if xx[b] > 0 else 0.0
        for d in range(dim):
            for b in range(nb):
                out[oi + d, b] -= fx[b] * yt[oi + d, b]
        if okind != OMEGA_NONE:
            om = omega[0] if okind == OMEGA_GLOBAL else omega[i]
            for a in range(dim):
                for q in range(dim):
                    w = om[a, q]
                    if w != 0.0:
                        for b in range(nb):
                            out[oi + a, b] += w * yt[oi + q, b]


def work_t_size(p, nb):
    """Scratch entries :func:`rhs_t` needs for a batch of ``nb``."""
    ip = p.ip
    nh, dim = int(ip[I_NH]), int(ip[I_DIM])
    nk = int(ip[I_NK])
    rank = int(ip[I_W_RANK]) if int(ip[I_W_KIND]) == W_LOWRANK else 0
    size = nh + nk * dim
    kmat = 0  # F = J X (and M = U X for low rank) of the matrix Kuramoto couplings
    if nk > 0 and int(ip[I_K_KIND]) in (K_DENSE, K_LOWRANK):
        krank = int(ip[I_K_RANK]) if int(ip[I_K_KIND]) == K_LOWRANK else 0
        kmat = (nk + krank) * dim * nb
    elif nk > 0 and int(ip[I_K_KIND]) == K_CONV:
        kmat = conv_t_work(ip, nb)
    return 2 * nh * nb + max(rank * nb, (dim + 4) * nb, 2 * size, int(ip[I_WORK_SIZE]) + 2 * size, kmat) + 8


@serial_jit
def _bias_minus_h_t(bias, ht, out):
    """out[i, b] = bias_i - h_i for the Hopfield rows (the W g term is added later)."""
    nb = ht.shape[1]
    for i in range(ht.shape[0]):
        bi = bias[i]
        for b in range(nb):
            out[i, b] = bi - ht[i, b]


@serial_jit
def _stimulus_t(p, out):
    """Start the oscillator rows of ``out`` at the stimulus (or zero), every member alike."""
    ip = p.ip
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    nb = out.shape[1]
    has_stim = ip[I_HAS_STIM] != 0
    stim = fseg(p, I_O_STIM, nk * dim if has_stim else 0)
    for k in range(nk * dim):
        v = stim[k] if has_stim else 0.0
        for b in range(nb):
            out[nh + k, b] = v


@serial_jit
def rhs_t(p, yt, out, work):
    """out (size, B) = dy/dt for the batch ``yt`` (size, B), batch innermost.

    ``work`` needs :func:`work_t_size` entries.  Models without a fast path run member
    by member through :func:`oscihop.kernels.system.system_rhs`.  Checks the shared CSR
    structure on every call (O(E)); solvers check it once and call :func:`rhs_tf`.
    """
    rhs_tf(p, yt, out, work, shared_structure(p))


@serial_jit
def rhs_tf(p, yt, out, work, shared):
    """:func:`rhs_t` with ``shared = shared_structure(p)`` given: one fused pass over
    the CSR structure that the Kuramoto couplings, the HK coefficients and (if sparse)
    the Hopfield weights share."""
    ip, fp = p.ip, p.fp
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    size, nb = yt.shape
    if not has_fast_path(p):
        col = work[:size]
        res = work[size : 2 * size]
        w1 = work[2 * size :]
        for b in range(nb):
            for k in range(size):
                col[k] = yt[k, b]
            system_rhs(p, col, res, w1)
            for k in range(size):
                out[k, b] = res[k]
        return
    gt = work[: nh * nb].reshape((nh, nb))
    wg = work[nh * nb : 2 * nh * nb].reshape((nh, nb))
    rest = work[2 * nh * nb :]
    s = rest[:nb]
    c = rest[nb : 2 * nb]
    with_w = shared and ip[I_W_KIND] == W_CSR
    if nh > 0:
        ht = yt[:nh]
        bias = fseg(p, I_O_BIAS, nh)
        _activate_t(ip[I_ACT], fp[F_BETA], ht, gt)
        if with_w:  # W g comes with the fused pass below
            _bias_minus_h_t(bias, ht, out)
        else:
            _weights_t(p, gt, wg, rest)
            for i in range(nh):
                bi = bias[i]
                for b in range(nb):
                    out[i, b] = wg[i, b] - ht[i, b] + bi
    if nk > 0:
        _stimulus_t(p, out)
        kind = ip[I_K_KIND]
        if shared:
            fused_batch(p, yt, gt, out, with_w, rest)
        else:
            if kind == K_CSR:
                _kuramoto_csr_t(p, yt, out, rest)
            elif kind == K_DENSE or kind == K_LOWRANK:
                _kuramoto_matrix_t(p, yt, out, rest)
            elif kind == K_MEANFIELD:
                _meanfield_t(p, yt, out, rest[2 * nb : (2 + dim) * nb].reshape((dim, nb)))
            elif kind == K_CONV:
                _kuramoto_conv_t(p, yt, out, rest)
            if ip[I_HK_KIND] == HK_CSR:
                _hk_csr_t(p, yt, gt, out, rest)
        _project_rotate_t(p, yt, out, s, c)


def fused_lockstep_ok(p):
    """True when :func:`rhs_shared_t` runs this model with a kernel vectorised across
    members: a bundle that records its kind (``OSCIHOP_SPECIALIZE``), D = 2..5, one CSR
    structure shared by the Kuramoto couplings, the HK coefficients and the Hopfield
    weights (sparse, or none), a linear or relu interaction and an elementwise
    activation.  The adaptive lockstep solver is used only then: elsewhere a member's own
    kernels are as fast (see :mod:`oscihop.solvers.lockstep`)."""
    spec = getattr(type(p), "SPEC", None)
    if spec is None or spec[3] not in FUSED_T or spec[4] == SHARED_NONE:
        return False
    ip = p.ip
    nh = int(ip[I_NH])
    if nh > 0 and (int(ip[I_ACT]) == ACT_SOFTMAX or int(ip[I_W_KIND]) not in (W_NONE, W_CSR)):
        return False
    if int(ip[I_INTER]) not in (INT_LINEAR, INT_RELU):
        return False
    return bool(shared_structure(p))


@serial_jit
def rhs_shared_t(p, yt, out, work):
    """:func:`rhs_tf` for a model whose couplings all live on one shared CSR structure
    (``shared_structure(p)``, with sparse or no Hopfield weights): only the activation, the
    fused pass and the projection, so the lockstep solver compiles nothing else."""
    ip, fp = p.ip, p.fp
    nh = ip[I_NH]
    nb = yt.shape[1]
    gt = work[: nh * nb].reshape((nh, nb))
    rest = work[nh * nb :]
    if nh > 0:
        ht = yt[:nh]
        bias = fseg(p, I_O_BIAS, nh)
        _activate_t(ip[I_ACT], fp[F_BETA], ht, gt)
        _bias_minus_h_t(bias, ht, out)
    _stimulus_t(p, out)
    fused_batch(p, yt, gt, out, nh > 0 and ip[I_W_KIND] == W_CSR, rest)
    _project_rotate_t(p, yt, out, rest[:nb], rest[nb : 2 * nb])


@serial_jit
def shared_structure(p):
    """True when the Hopfield weights (if sparse), the Kuramoto couplings and the HK
    coefficients all live on one CSR structure (the paper's small-world HK model), so
    :func:`rhs_t` can make one fused pass over it."""
    ip = p.ip
    nh, n = ip[I_NH], ip[I_NK]
    if ip[I_K_KIND] != K_CSR or ip[I_HK_KIND] != HK_CSR or nh != n:
        return False
    kp, ki = csr_arrays(p, I_O_K_INDPTR, I_O_K_INDICES, n)
    hp, hi = csr_arrays(p, I_O_HK_INDPTR, I_O_HK_INDICES, n)
    if ki.shape[0] != hi.shape[0]:
        return False
    for k in range(n + 1):
        if kp[k] != hp[k]:
            return False
    for k in range(ki.shape[0]):
        if ki[k] != hi[k]:
            return False
    if ip[I_W_KIND] == W_CSR:
        wp, wi = csr_arrays(p, I_O_W_INDPTR, I_O_W_INDICES, nh)
        if wi.shape[0] != ki.shape[0]:
            return False
        for k in range(n + 1):
            if wp[k] != kp[k]:
                return False
        for k in range(ki.shape[0]):
            if wi[k] != ki[k]:
                return False
    return True


@noalias_jit
def _fused_csr_t(p, yt, gt, out, with_w, sc):
    """One pass over the shared CSR structure: W g (if ``with_w``), the Kuramoto force and
    both HK terms, batch innermost, pair products computed once per entry (``sc``: >= 3 B
    scratch).  Every loop over the members is innermost (see :func:`_kuramoto_csr_t`)."""
    ip = p.ip
    nh, n, dim = uint64(ip[I_NH]), uint64(ip[I_NK]), uint64(ip[I_DIM])
    nb = uint64(yt.shape[1])
    inter = ip[I_INTER]
    relu = inter == INT_RELU
    smooth = inter == INT_TANH or inter == INT_SIGMOID
    inv_kh = 1.0 / p.fp[F_KAPPA_H]
    inv_kk = 1.0 / p.fp[F_KAPPA_K]
    indptr, indices = csr_arrays(p, I_O_K_INDPTR, I_O_K_INDICES, ip[I_NK])
    ne = indices.shape[0]
    jv = fseg(p, I_O_K_J, ne)
    bv = fseg(p, I_O_K_B, ne)
    av = fseg(p, I_O_HK_A, ne)
    wv = fseg(p, I_O_W_DATA, ne if with_w else 0)
    c = sc[:nb]  # the pair products, then the force coefficients
    h = sc[nb : 2 * nb]  # the row's W and HK sum
    gi = sc[2 * nb : 3 * nb]
    for i in range(n):
        oi = nh + i * dim
        for b in range(nb):
            gi[b] = gt[i, b] * inv_kk
            h[b] = 0.0
        for e in range(uint64(indptr[i]), uint64(indptr[i + uint64(1)])):
            j = uint64(indices[e])
            oj = nh + j * dim
            _pair_products_t(yt, oi, oj, dim, c)
            a = av[e]
            w = wv[e] if with_w else 0.0
            ah = a * inv_kh
            j0 = jv[e]
            bw = bv[e] if relu or smooth else 0.0  # B is stored for a nonlinear interaction only
            for b in range(nb):
                g = gt[j, b]
                s = c[b]
                h[b] += (w + ah * s) * g
                cb = j0 + a * gi[b] * g
                if relu:
                    cb += bw * max(s, 0.0)
                elif smooth:
                    cb += bw * dphi(inter, s)
                c[b] = cb
            _add_scaled_rows_t(yt, oi, oj, dim, c, out)
        for b in range(nb):
            out[i, b] += h[b]


def fused_batch(p, yt, gt, out, with_w, sc):
    """The fused pass of :func:`rhs_tf`: the kernel specialised to D for a bundle that
    records its kind (relu or linear interaction, D = 2..5), else :func:`_fused_csr_t`, which
    takes ``sc`` (>= 3 B entries of the work array) as scratch."""
    _fused_csr_t(p, yt, gt, out, with_w, sc)


@overload(fused_batch, target="generic", jit_options=OVERLOAD)
def _ol_fused_batch(p, yt, gt, out, with_w, sc):
    spec = kind_of(p)
    impl = None if spec is None or spec[4] == SHARED_NONE else FUSED_T.get(spec[3])
    if impl is None:
        return lambda p, yt, gt, out, with_w, sc: _fused_csr_t(p, yt, gt, out, with_w, sc)

    def run(p, yt, gt, out, with_w, sc):
        if not impl(p, yt, gt, out, with_w):
            _fused_csr_t(p, yt, gt, out, with_w, sc)

    return run
