"""The coupling terms of the right-hand side and energy, one function per representation.

:mod:`oscihop.kernels.system` combines them; :mod:`oscihop.kernels.dispatch` picks the one
a model uses.  Every ``*_any`` function selects by the codes in ``p.ip`` at run time (one
compilation for every model: the CUDA kernels and the gradients use those); the
per-representation functions are what a specialised bundle compiles, and nothing else.
The arithmetic, and the order of every sum, is the same either way, so results agree to
the last bit.

Like :mod:`oscihop.kernels.system`: allocation-free, :mod:`math` for scalar functions, no
returned views, so all of it is CUDA device code too.
"""

from __future__ import annotations

from numba import int64, uint64

from ..config import inline_jit, serial_jit
from .activations import dphi, softplus, logcosh
from .fixed_dim import _build, has_fixed_dim, kuramoto_csr_fixed, meanfield_fixed, project_rotate_fixed
from .params import (
    F_HK_ALPHA,
    F_K_STRENGTH,
    F_KAPPA_H,
    F_KAPPA_K,
    HK_ALL,
    HK_CSR,
    I_CONV_H,
    I_CONV_KS,
    I_CONV_W,
    I_DIM,
    I_HK_KIND,
    I_INTER,
    I_K_KIND,
    I_K_RANK,
    I_NH,
    I_NK,
    I_O_HK_A,
    I_O_OMEGA,
    I_OMEGA_KIND,
    I_O_HK_INDICES,
    I_O_HK_INDPTR,
    I_O_J_DENSE,
    I_O_K_B,
    I_O_K_BIDX,
    I_O_K_BLOCKS,
    I_O_K_CONV,
    I_O_K_DIAG,
    I_O_K_FACTOR,
    I_O_K_INDICES,
    I_O_K_INDPTR,
    I_O_K_J,
    I_O_K_SCALE,
    I_O_W_DATA,
    I_O_W_DENSE,
    I_O_W_DIAG,
    I_O_W_FACTOR,
    I_O_W_INDICES,
    I_O_W_INDPTR,
    I_O_W_SCALE,
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

__all__ = [
    "phi", "dphi", "weights_dense", "weights_csr", "weights_lowrank", "weights_none", "weights_any",
    "kuramoto_csr", "kuramoto_dense", "kuramoto_block", "kuramoto_conv", "kuramoto_lowrank",
    "kuramoto_meanfield", "kuramoto_none", "kuramoto_block_row", "kuramoto_conv_row", "conv_site", "block_pass",
    "conv_pass",
    "kuramoto_any", "kuramoto_forces_any", "hk_csr", "hk_all", "hk_none", "hk_any", "project_rotate_any",
    "project_rotate_loop",
]


@serial_jit
def phi(code, s):
    """Pair interaction phi(s) (docs/theory.md §3.1)."""
    if code == INT_RELU:
        return 0.5 * s * s if s > 0 else 0.0
    if code == INT_TANH:
        return logcosh(s)
    if code == INT_LINEAR:
        return 0.0
    return softplus(s)


@serial_jit
def _dot(y, a, b, dim):
    """<y[a:a+dim], y[b:b+dim]>."""
    s = 0.0
    for d in range(dim):
        s += y[a + d] * y[b + d]
    return s


# ------------------------------------------------------------------ row functions
# One row of a term, written once: the CPU loops below and the CUDA block layout
# (oscihop/cuda/kernels.py, one row per thread) both call them.  Offsets are read from
# ``p.ip`` and indices are unsigned (``i`` too: pass ``uint64(i)``), as the CSR loops need.
@inline_jit
def weights_dense_row(p, g, i):
    """(W g)_i, W dense."""
    nh = uint64(p.ip[I_NH])
    o = uint64(p.ip[I_O_W_DENSE]) + i * nh
    acc = 0.0
    for j in range(nh):
        acc += p.fp[o + j] * g[j]
    return acc


@inline_jit
def weights_csr_row(p, g, i):
    """(W g)_i, W in CSR."""
    ip = p.ip
    op = uint64(ip[I_O_W_INDPTR]) + i
    ox, od = uint64(ip[I_O_W_INDICES]), uint64(ip[I_O_W_DATA])
    acc = 0.0
    for e in range(uint64(ip[op]), uint64(ip[op + uint64(1)])):
        acc += p.fp[od + e] * g[uint64(ip[ox + e])]
    return acc


@inline_jit
def kuramoto_csr_row(p, y, i, out, want_force, want_energy):
    """Oscillator i of the CSR couplings: adds sum_j (J_ij + B_ij phi'(s_ij)) x_j into
    ``out[x_i]`` (``want_force``); returns sum_j U_ij = J_ij s_ij + B_ij phi(s_ij) (``want_energy``)."""
    ip, fp = p.ip, p.fp
    nh, dim = uint64(ip[I_NH]), uint64(ip[I_DIM])
    inter = ip[I_INTER]
    op = uint64(ip[I_O_K_INDPTR]) + i
    ox, oj_, ob = uint64(ip[I_O_K_INDICES]), uint64(ip[I_O_K_J]), uint64(ip[I_O_K_B])
    oi = nh + i * dim
    u = 0.0
    for e in range(uint64(ip[op]), uint64(ip[op + uint64(1)])):
        oj = nh + uint64(ip[ox + e]) * dim
        s = 0.0
        for d in range(dim):
            s += y[oi + d] * y[oj + d]
        if want_force:
            c = fp[oj_ + e]
            if inter != INT_LINEAR:
                c += fp[ob + e] * dphi(inter, s)
            for d in range(dim):
                out[oi + d] += c * y[oj + d]
        if want_energy:
            u += fp[oj_ + e] * s
            if inter != INT_LINEAR:
                u += fp[ob + e] * phi(inter, s)
    return u


@inline_jit
def kuramoto_dense_row(p, y, i, out, want_force, want_energy):
    """Oscillator i of dense couplings J (linear): adds sum_{j != i} J_ij x_j into ``out[x_i]``;
    returns sum_{j != i} J_ij s_ij."""
    ip, fp = p.ip, p.fp
    nh, n, dim = uint64(ip[I_NH]), uint64(ip[I_NK]), uint64(ip[I_DIM])
    o = uint64(ip[I_O_J_DENSE]) + i * n
    oi = nh + i * dim
    u = 0.0
    for j in range(n):
        if j == i:
            continue
        c = fp[o + j]
        oj = nh + j * dim
        if want_force:
            for d in range(dim):
                out[oi + d] += c * y[oj + d]
        if want_energy:
            u += c * _dot(y, oi, oj, dim)
    return u


@inline_jit
def block_pass(p, y, i, out, want_force, want_energy, fbar, y_bar, fp_bar, want_t, want_fp):
    """Oscillator i of D x D block couplings on a CSR structure (docs/theory.md §3.3).

    Forward (``want_force``, ``want_energy``): adds ``sum_j M_e x_j`` into ``out[x_i]`` and
    returns ``sum_j <x_i, M_e x_j>``.  Transpose (``want_t``, for the VJP): adds
    ``M_e^T fbar_i`` into ``y_bar[x_j]`` and, with ``want_fp``, ``fbar_i x_j^T`` into the
    block's entries of ``fp_bar``; ``fbar`` is the x part's cotangent (``i D + a``).

    Entry ``e`` of row i stores a code ``2 b + t``: ``M_e`` is block ``b`` of the table at
    ``p.ip[I_O_K_BLOCKS]`` (row-major D x D), transposed when ``t = 1`` (so an edge's two
    entries hold J_ij and J_ji = J_ij^T, and typed edges share their block)."""
    ip, fp = p.ip, p.fp
    nh, dim = uint64(ip[I_NH]), uint64(ip[I_DIM])
    op = uint64(ip[I_O_K_INDPTR]) + i
    ox, oc, ot = uint64(ip[I_O_K_INDICES]), uint64(ip[I_O_K_BIDX]), uint64(ip[I_O_K_BLOCKS])
    oi = nh + i * dim
    u = 0.0
    for e in range(uint64(ip[op]), uint64(ip[op + uint64(1)])):
        oj = nh + uint64(ip[ox + e]) * dim
        code = uint64(ip[oc + e])
        ob = ot + (code >> uint64(1)) * dim * dim
        sa, sb = (uint64(1), dim) if code & uint64(1) else (dim, uint64(1))  # M[a, b] at ob + a sa + b sb
        for a in range(dim):
            f = 0.0
            fa = fbar[i * dim + a] if want_t else 0.0
            for b in range(dim):
                o = ob + a * sa + b * sb
                f += fp[o] * y[oj + b]
                if want_t:
                    y_bar[oj + b] += fp[o] * fa
                    if want_fp:
                        fp_bar[o] += fa * y[oj + b]
            if want_force:
                out[oi + a] += f
            if want_energy:
                u += y[oi + a] * f
    return u


@inline_jit
def kuramoto_block_row(p, y, i, out, want_force, want_energy):
    """Oscillator i of block couplings, forward (:func:`block_pass`)."""
    return block_pass(p, y, i, out, want_force, want_energy, y, y, y, False, False)


@inline_jit
def conv_site(p, i):
    """(k, row, column) of oscillator ``i`` of a convolutional coupling, and the grid's
    (K, H, W, kernel size): oscillator ``i = (k H + row) W + column`` (docs/theory.md §3.3)."""
    ip = p.ip
    hh, ww, ks = int64(ip[I_CONV_H]), int64(ip[I_CONV_W]), int64(ip[I_CONV_KS])
    ii = int64(i)
    pix = ii % (hh * ww)
    return ii // (hh * ww), pix // ww, pix % ww, int64(ip[I_NK]) // (hh * ww), hh, ww, ks


@inline_jit
def conv_pass(p, y, i, out, want_force, want_energy, fbar, y_bar, fp_bar, want_t, want_fp):
    """Oscillator i of a convolutional coupling, evaluated as a stencil (docs/theory.md §3.3).

    Forward: adds ``(J x)_i = sum_{k', dy, dx} w[kD:kD+D, k'D:k'D+D, dy, dx] x_{k', row+dy-r, col+dx-r}``
    (zero padding: the correlation of ``torch.nn.Conv2d``) into ``out[x_i]``; returns
    ``<x_i, (J x)_i>``.  Transpose (``want_t``), as :func:`block_pass`: ``J_ij^T fbar_i`` into
    ``y_bar[x_j]`` and ``fbar_i x_j^T`` into the taps' entries of ``fp_bar``.  The weight is
    stored as D x D blocks, tap-major: block (k, k', tap) at ``((k K + k') k^2 + tap) D^2``
    from ``p.ip[I_O_K_CONV]`` (``ConvCoupling.tap_blocks``), so each block is contiguous."""
    ip, fp = p.ip, p.fp
    nh, dim = int64(ip[I_NH]), int64(ip[I_DIM])
    k, py, px, kk, hh, ww, ks = conv_site(p, i)
    r = ks // 2
    taps = ks * ks
    dd = dim * dim
    ow = int64(ip[I_O_K_CONV])
    fo = int64(i) * dim
    oi = nh + fo
    u = 0.0
    for dy in range(max(int64(0), r - py), min(ks, hh - py + r)):  # the taps inside the grid
        for dx in range(max(int64(0), r - px), min(ks, ww - px + r)):
            pix = (py + dy - r) * ww + px + dx - r
            for k2 in range(kk):
                oj = nh + (k2 * hh * ww + pix) * dim
                o = ow + ((k * kk + k2) * taps + dy * ks + dx) * dd
                for a in range(dim):
                    f = 0.0
                    for b in range(dim):
                        f += fp[o + a * dim + b] * y[oj + b]
                    if want_force:
                        out[oi + a] += f
                    if want_energy:
                        u += y[oi + a] * f
                    if want_t:
                        fa = fbar[fo + a]
                        for b in range(dim):
                            y_bar[oj + b] += fp[o + a * dim + b] * fa
                            if want_fp:
                                fp_bar[o + a * dim + b] += fa * y[oj + b]
    return u


@inline_jit
def kuramoto_conv_row(p, y, i, out, want_force, want_energy):
    """Oscillator i of a convolutional coupling, forward (:func:`conv_pass`)."""
    return conv_pass(p, y, i, out, want_force, want_energy, y, y, y, False, False)


@inline_jit
def hk_csr_row(p, y, g, i, out, want_force, want_energy):
    """Oscillator i of the HK coefficients a_ij on a CSR structure: adds
    (1/kappa_h) sum_j a_ij s_ij g_j into ``out[h_i]`` and (1/kappa_k) sum_j a_ij g_i g_j x_j into
    ``out[x_i]`` (``want_force``); returns sum_j a_ij s_ij g_i g_j (``want_energy``)."""
    ip, fp = p.ip, p.fp
    nh, dim = uint64(ip[I_NH]), uint64(ip[I_DIM])
    inv_kh = 1.0 / fp[F_KAPPA_H]
    inv_kk = 1.0 / fp[F_KAPPA_K]
    op = uint64(ip[I_O_HK_INDPTR]) + i
    ox, oa = uint64(ip[I_O_HK_INDICES]), uint64(ip[I_O_HK_A])
    oi = nh + i * dim
    acc = 0.0
    u = 0.0
    for e in range(uint64(ip[op]), uint64(ip[op + uint64(1)])):
        j = uint64(ip[ox + e])
        oj = nh + j * dim
        s = 0.0
        for d in range(dim):
            s += y[oi + d] * y[oj + d]
        a = fp[oa + e]
        if want_force:
            acc += a * s * g[j]
            c = a * g[i] * g[j] * inv_kk
            for d in range(dim):
                out[oi + d] += c * y[oj + d]
        if want_energy:
            u += a * s * g[i] * g[j]
    if want_force:
        out[i] += acc * inv_kh
    return u


@inline_jit
def project_rotate_row(p, y, i, out):
    """Oscillator i: turns its force F_i (in ``out``) into Omega_i x_i + F_i - <F_i, x_i> x_i / |x_i|^2."""
    ip, fp = p.ip, p.fp
    nh, dim = uint64(ip[I_NH]), uint64(ip[I_DIM])
    oi = nh + i * dim
    fx = 0.0
    xx = 0.0
    for d in range(dim):
        fx += out[oi + d] * y[oi + d]
        xx += y[oi + d] * y[oi + d]
    c = fx / xx if xx > 0 else 0.0
    for d in range(dim):
        out[oi + d] -= c * y[oi + d]
    okind = ip[I_OMEGA_KIND]
    if okind != OMEGA_NONE:
        oo = uint64(ip[I_O_OMEGA]) + (uint64(0) if okind == OMEGA_GLOBAL else i * dim * dim)
        for a in range(dim):
            acc = 0.0
            for b in range(dim):
                acc += fp[oo + a * dim + b] * y[oi + b]
            out[oi + a] += acc


# ------------------------------------------------------------------ Hopfield weights W g
@serial_jit
def weights_dense(p, g, out, buf):
    """out[:] = W g, W dense (nh x nh, row-major in ``p.fp``).

    Four rows at a time, one accumulator each: every ``g[j]`` loaded serves four rows and
    the j loop vectorises (fast-math reassociation: 2 x 4 doubles per row in AVX2 FMAs).
    At nh = 100 W (80 KB) streams from L2, which bounds the kernel (~1.1 us on Zen 3);
    leftover rows (nh % 4) take the one-row loop.  Each out[i] is still a sum over j.
    """
    nh = p.ip[I_NH]
    o = p.ip[I_O_W_DENSE]
    w = p.fp[o : o + nh * nh]
    nb = nh - nh % 4
    for i in range(0, nb, 4):
        r0 = i * nh
        r1 = r0 + nh
        r2 = r1 + nh
        r3 = r2 + nh
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        for j in range(nh):
            gj = g[j]
            a0 += w[r0 + j] * gj
            a1 += w[r1 + j] * gj
            a2 += w[r2 + j] * gj
            a3 += w[r3 + j] * gj
        out[i] = a0
        out[i + 1] = a1
        out[i + 2] = a2
        out[i + 3] = a3
    for i in range(uint64(nb), uint64(nh)):
        out[i] = weights_dense_row(p, g, i)


@serial_jit
def weights_csr(p, g, out, buf):
    """out[:] = W g, W in CSR."""
    for i in range(uint64(p.ip[I_NH])):
        out[i] = weights_csr_row(p, g, i)


@serial_jit
def weights_lowrank(p, g, out, buf):
    """out[:] = W g, W = U^T diag(scale) U - diag(wdiag); ``buf`` holds >= rank entries."""
    nh = p.ip[I_NH]
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


@serial_jit
def weights_none(p, g, out, buf):
    """out[:] = 0 (no Hopfield weights)."""
    for i in range(p.ip[I_NH]):
        out[i] = 0.0


@serial_jit
def weights_any(p, g, out, buf):
    """out[:] = W g for the Hopfield weights in ``p``; ``buf`` holds >= rank entries."""
    kind = p.ip[I_W_KIND]
    if kind == W_DENSE:
        weights_dense(p, g, out, buf)
    elif kind == W_CSR:
        weights_csr(p, g, out, buf)
    elif kind == W_LOWRANK:
        weights_lowrank(p, g, out, buf)
    else:
        weights_none(p, g, out, buf)


# ------------------------------------------------------------------ Kuramoto couplings
_row = None  # the row function, bound per build by _rows_of


def _pair_rows(p, y, out, buf, want_force, want_energy):
    """The loop over oscillators of a coupling written as a row function (``_row``, bound by
    :func:`_rows_of`): adds each row's forces, returns E = -1/2 sum_i row_i."""
    energy = 0.0
    for i in range(uint64(p.ip[I_NK])):
        energy -= 0.5 * _row(p, y, i, out, want_force, want_energy)
    return energy


def _rows_of(row, doc):
    """:func:`_pair_rows` over ``row``, compiled and cached on disk under the row's own name."""
    f = _build(_pair_rows, row.py_func.__name__, _row=row)
    f.__doc__ = doc
    return f


kuramoto_csr = _rows_of(kuramoto_csr_row, "Edge-list (CSR) couplings: add sum_j (J_ij + B_ij phi'(s_ij)) x_j; "
                                          "return sum_e U_e.")
kuramoto_dense = _rows_of(kuramoto_dense_row, "Dense J (linear interaction).")
kuramoto_block = _rows_of(kuramoto_block_row, "D x D blocks per stored pair (linear): add sum_j J_ij x_j.")
kuramoto_conv = _rows_of(kuramoto_conv_row, "A 2-D convolution over the grid, as a stencil (linear).")


@serial_jit
def kuramoto_lowrank(p, y, out, buf, want_force, want_energy):
    """Low-rank J = U^T diag(scale) U - diag(kdiag), in O(N rank D)."""
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    energy = 0.0
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
    return energy


@serial_jit
def kuramoto_meanfield(p, y, out, buf, want_force, want_energy):
    """All-to-all with strength K/N, in O(N D)."""
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    energy = 0.0
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
def kuramoto_none(p, y, out, buf, want_force, want_energy):
    """No couplings."""
    return 0.0


@serial_jit
def kuramoto_any(p, y, out, buf, want_force, want_energy):
    """Add sum_j (J_ij + B_ij phi'(s_ij)) x_j into out's oscillator part; return sum_e U_e.

    Oscillator i lives at ``y[nh + i*D : nh + (i+1)*D]``; self-pairs contribute only through
    the diagonal blocks J_ii of block and convolutional couplings.
    """
    kind = p.ip[I_K_KIND]
    if kind == K_CSR:
        return kuramoto_csr(p, y, out, buf, want_force, want_energy)
    if kind == K_DENSE:
        return kuramoto_dense(p, y, out, buf, want_force, want_energy)
    if kind == K_LOWRANK:
        return kuramoto_lowrank(p, y, out, buf, want_force, want_energy)
    if kind == K_MEANFIELD:
        return kuramoto_meanfield(p, y, out, buf, want_force, want_energy)
    if kind == K_BLOCK:
        return kuramoto_block(p, y, out, buf, want_force, want_energy)
    if kind == K_CONV:
        return kuramoto_conv(p, y, out, buf, want_force, want_energy)
    return 0.0


@serial_jit
def kuramoto_forces_any(p, y, out, buf):
    """Forces only: the register-resident kernel when D = 2..5 has one, else the generic loop."""
    kind = p.ip[I_K_KIND]
    dim = p.ip[I_DIM]
    if kind == K_CSR and has_fixed_dim(dim):
        kuramoto_csr_fixed(p, y, out)
    elif kind == K_MEANFIELD and has_fixed_dim(dim):
        meanfield_fixed(p, y, out)
    else:
        kuramoto_any(p, y, out, buf, True, False)


# ------------------------------------------------------------------ Hopfield-Kuramoto terms
@serial_jit
def hk_csr(p, y, g, out, buf, want_force, want_energy):
    """HK coefficients a_ij on a CSR structure."""
    energy = 0.0
    for i in range(uint64(p.ip[I_NK])):
        energy -= 0.5 * hk_csr_row(p, y, g, i, out, want_force, want_energy)
    return energy


@serial_jit
def hk_all(p, y, g, out, buf, want_force, want_energy):
    """All-to-all HK coupling a_ij = alpha (i != j), in O(N D)."""
    ip = p.ip
    nh, n, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    inv_kh = 1.0 / p.fp[F_KAPPA_H]
    inv_kk = 1.0 / p.fp[F_KAPPA_K]
    energy = 0.0
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
def hk_none(p, y, g, out, buf, want_force, want_energy):
    """No HK coupling."""
    return 0.0


@serial_jit
def hk_any(p, y, g, out, buf, want_force, want_energy):
    """Hopfield-Kuramoto terms: add into out's h part (1/kappa_h) sum_j a_ij s_ij g_j and into
    out's x part (1/kappa_k) sum_j a_ij g_i g_j x_j; return E_HK = -sum_e a_e s_e g_i g_j."""
    kind = p.ip[I_HK_KIND]
    if kind == HK_CSR:
        return hk_csr(p, y, g, out, buf, want_force, want_energy)
    if kind == HK_ALL:
        return hk_all(p, y, g, out, buf, want_force, want_energy)
    return 0.0


# ------------------------------------------------------------------ tangent projection
@serial_jit
def project_rotate_any(p, y, out):
    """Turn forces F_i (in out) into dx_i/dt = Omega_i x_i + P_i(F_i), in place."""
    if project_rotate_fixed(p, y, out):  # D = 2..5: the same sums with x_i in registers
        return
    project_rotate_loop(p, y, out)


@serial_jit
def project_rotate_loop(p, y, out):
    """:func:`project_rotate_any` for any D: the generic loop."""
    for i in range(uint64(p.ip[I_NK])):
        project_rotate_row(p, y, i, out)
