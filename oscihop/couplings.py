"""Coupling representations that are not plain arrays."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, as_index_array, check_bool, check_finite, check_shape, check_size

__all__ = ["LowRank", "BlockCoupling", "ConvCoupling"]


class LowRank:
    """A symmetric low-rank matrix ``W = U^T diag(d) U`` kept as its factor.

    Used for Hebbian Hopfield weights (``U`` = stored patterns, ``d = 1/N``) and for
    AKOrN-style low-rank Kuramoto couplings.  Products ``W v`` cost O(N R) and the
    N x N matrix is never formed unless :meth:`to_dense` is called.

    Parameters
    ----------
    factor : array_like, shape (R, N)
        Rows are the modes (patterns) ``u_r``.
    scale : float or array_like, shape (R,), default 1.0
        The diagonal ``d``.
    zero_diagonal : bool, default True
        Set ``W_ii = 0`` (the Hebbian convention).  The correction is the vector
        ``diag_i = sum_r d_r U_ri^2``, subtracted in every product.

    Notes
    -----
    ``W_ij = sum_r d_r U_ri U_rj`` for ``i != j``; ``W_ii = 0`` if ``zero_diagonal``.

    Examples
    --------
    >>> import numpy as np
    >>> xi = np.array([[1., -1., 1.], [1., 1., -1.]])
    >>> W = LowRank(xi, scale=1 / 3)
    >>> W.to_dense().round(3)
    array([[ 0.   ,  0.   ,  0.   ],
           [ 0.   ,  0.   , -0.667],
           [ 0.   , -0.667,  0.   ]])
    """

    def __init__(self, factor, scale=1.0, zero_diagonal=True):
        u = as_float_array(factor, "factor")
        if u.ndim != 2 or u.shape[0] < 1 or u.shape[1] < 1:
            raise ValueError(f"`factor` must have shape (R, N) with R, N >= 1; got {u.shape}.")
        check_finite(u, "factor")
        d = as_float_array(scale, "scale")
        if d.ndim == 0:
            d = np.full(u.shape[0], float(d))
        if d.shape != (u.shape[0],):
            raise ValueError(f"`scale` must be a scalar or have shape ({u.shape[0]},) (one per factor row); got {d.shape}.")
        check_finite(d, "scale")
        self.factor = np.ascontiguousarray(u)
        self.scale = np.ascontiguousarray(d)
        self.zero_diagonal = check_bool(zero_diagonal, "zero_diagonal")

    @property
    def n(self):
        """Matrix size N."""
        return self.factor.shape[1]

    @property
    def rank(self):
        """Number of factor rows R."""
        return self.factor.shape[0]

    @property
    def shape(self):
        return (self.n, self.n)

    def diagonal_correction(self):
        """``sum_r d_r U_ri^2`` if the diagonal is zeroed, else zeros; shape (N,)."""
        if not self.zero_diagonal:
            return np.zeros(self.n)
        return np.einsum("r,ri,ri->i", self.scale, self.factor, self.factor)

    def matvec(self, v):
        """``W v`` in O(N R) for v of shape (N,) or (N, k)."""
        v = np.asarray(v, dtype=float)
        out = self.factor.T @ (self.scale[:, None] * (self.factor @ v.reshape(self.n, -1)))
        out -= self.diagonal_correction()[:, None] * v.reshape(self.n, -1)
        return out.reshape(v.shape)

    def entries(self, i, j):
        """``W[i, j]`` for index arrays ``i``, ``j`` without forming W."""
        i = np.asarray(i)
        j = np.asarray(j)
        vals = np.einsum("r,r...,r...->...", self.scale, self.factor[:, i], self.factor[:, j])
        if self.zero_diagonal:
            vals = np.where(i == j, 0.0, vals)
        return vals

    def to_dense(self):
        """The N x N matrix (O(N^2) memory)."""
        w = self.factor.T @ (self.scale[:, None] * self.factor)
        if self.zero_diagonal:
            np.fill_diagonal(w, 0.0)
        return w

    def __repr__(self):
        return f"LowRank(n={self.n}, rank={self.rank}, zero_diagonal={self.zero_diagonal})"


def _asymmetry(a, b):
    """max |a - b| relative to the entries' scale (0 for empty arrays)."""
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a))), 1.0)


class BlockCoupling:
    """D x D coupling blocks on the edges of a graph, for :class:`~oscihop.Kuramoto` with ``edges=``.

    Edge ``e = (i, j)`` couples ``x_i`` and ``x_j`` through its block ``J_ij = B_e``, and
    ``J_ji = B_e^T``, so the pair has one energy ``-<x_i, B_e x_j>`` (docs/theory.md §3.3).

    Parameters
    ----------
    blocks : array_like, shape (E, D, D) or (T, D, D)
        One block per edge, or (with ``types``) a table of T blocks shared by edge type.
    types : array_like of int, shape (E,), optional
        The block of each edge, ``0 <= types[e] < T``: a few blocks, many edges.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    >>> typed = oh.BlockCoupling(np.stack([np.eye(2), rot]), types=[0, 1, 0, 1])
    >>> kur = oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=typed)
    >>> kur.coupling_blocks()[0, 1].tolist(), kur.coupling_blocks()[1, 0].tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]])
    """

    def __init__(self, blocks, types=None):
        b = as_float_array(blocks, "blocks")
        if b.ndim != 3 or b.shape[0] < 1 or b.shape[1] != b.shape[2] or b.shape[1] < 2:
            raise ValueError(f"`blocks` must have shape (E, D, D) (one block per edge) or (T, D, D) with `types`, "
                             f"D >= 2; got {b.shape}.")
        self.blocks = np.ascontiguousarray(check_finite(b, "blocks"))
        self.types = None
        if types is not None:
            t = as_index_array(types, "types")
            if t.ndim != 1:
                raise ValueError(f"`types` must be one block index per edge, shape (E,); got shape {t.shape}.")
            if t.size and (t.min() < 0 or t.max() >= b.shape[0]):
                bad = int(t.min()) if t.min() < 0 else int(t.max())
                raise ValueError(f"`types` must index the {b.shape[0]} blocks (0 <= types[e] < {b.shape[0]}); "
                                 f"got {bad}. Give one block per type in `blocks`.")
            self.types = np.ascontiguousarray(t, dtype=np.int64)

    @property
    def dim(self):
        """D."""
        return self.blocks.shape[1]

    def edge_types(self, n_edges):
        """The block index of each of ``n_edges`` edges (validated against the edge count)."""
        if self.types is None:
            if self.blocks.shape[0] != n_edges:
                raise ValueError(f"`coupling`: {self.blocks.shape[0]} blocks for {n_edges} edges; give one (D, D) "
                                 "block per edge, or a table of blocks with `types` (one per edge).")
            return np.arange(n_edges, dtype=np.int64)
        if self.types.shape[0] != n_edges:
            raise ValueError(f"`types` must have one entry per edge ({n_edges}); got {self.types.shape[0]}.")
        return self.types

    def __repr__(self):
        typed = "" if self.types is None else f", types={self.types.shape[0]}"
        return f"BlockCoupling(blocks={self.blocks.shape[0]}, dim={self.dim}{typed})"


class ConvCoupling:
    """A 2-D convolution over an image grid as a Kuramoto coupling, evaluated as a stencil.

    ``C = K D`` channels hold K oscillators of dimension D per pixel, channel ``c = k D + d``;
    oscillator ``(k, row, col)`` is number ``(k H + row) W + col`` of the model's N = K H W
    (docs/theory.md §3.3).  ``(J x)`` is ``torch.nn.functional.conv2d(x, weight, padding=k // 2)``
    on the channel-first image of the states: stride 1, zero "same" padding, a
    cross-correlation as in PyTorch.  The N x N matrix is never formed.

    Parameters
    ----------
    weight : array_like, shape (C, C, k, k)
        As ``torch.nn.Conv2d.weight``: (out channels, in channels, kernel rows, kernel columns),
        k odd.
    bias : array_like, shape (C,), optional
        A constant field added to the stimulus of every pixel (``c_i`` gains ``bias[kD:kD+D]``).
    grid : (int, int)
        (H, W).
    dim : int
        D, dividing C.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> w = np.random.default_rng(0).normal(size=(4, 4, 3, 3))
    >>> conv = oh.ConvCoupling(w, grid=(5, 6), dim=2)
    >>> conv.n, conv.oscillators_per_pixel
    (60, 2)
    >>> images = np.random.default_rng(1).normal(size=(3, 4, 5, 6))
    >>> bool(np.array_equal(conv.to_images(conv.to_state(images)), images))
    True
    """

    def __init__(self, weight, bias=None, grid=None, dim=None):
        w = as_float_array(weight, "weight")
        if w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[2] != w.shape[3]:
            raise ValueError(f"`weight` must have shape (C, C, k, k) like torch.nn.Conv2d.weight (in and out "
                             f"channels equal, a square kernel); got {w.shape}.")
        if w.shape[2] % 2 == 0:
            raise ValueError(f"`weight`'s kernel size must be odd (zero 'same' padding keeps the grid); got {w.shape[2]}.")
        self.weight = np.ascontiguousarray(check_finite(w, "weight"))
        if dim is None:
            raise ValueError("`dim` (D, the oscillator dimension) is required: C = K * D channels per pixel.")
        d = check_size(dim, "dim", minimum=2)
        if w.shape[0] % d:
            raise ValueError(f"`dim` must divide the channel count C = {w.shape[0]} (C = K * D); got dim = {d}.")
        self.dim = d
        if grid is None or np.ndim(grid) != 1 or len(grid) != 2:
            raise ValueError(f"`grid` must be (H, W), the image's height and width; got {grid!r}.")
        self.grid = (check_size(grid[0], "grid[0]"), check_size(grid[1], "grid[1]"))
        self.bias = None
        if bias is not None:
            b = as_float_array(bias, "bias")
            check_shape(b, (w.shape[0],), "bias", "Give one value per channel, like torch.nn.Conv2d.bias.")
            self.bias = check_finite(b, "bias").copy()

    @property
    def channels(self):
        """C = K D."""
        return self.weight.shape[0]

    @property
    def kernel_size(self):
        """k."""
        return self.weight.shape[2]

    @property
    def oscillators_per_pixel(self):
        """K = C / D."""
        return self.channels // self.dim

    @property
    def n(self):
        """N = K H W oscillators."""
        return self.oscillators_per_pixel * self.grid[0] * self.grid[1]

    def to_state(self, images):
        """Channel-first images (..., C, H, W) as flat oscillator states (..., N D)."""
        a = as_float_array(images, "images")
        shape = (self.channels,) + self.grid
        if a.ndim < 3 or a.shape[-3:] != shape:
            raise ValueError(f"`images` must have shape (..., {shape[0]}, {shape[1]}, {shape[2]}) (channel first, "
                             f"C = K * D, e.g. (B, C, H, W)); got {a.shape}.")
        kk, d, lead = self.oscillators_per_pixel, self.dim, a.shape[:-3]
        b = a.reshape((-1, kk, d) + self.grid).transpose(0, 1, 3, 4, 2)
        return np.ascontiguousarray(b).reshape(lead + (self.n * d,))

    def to_images(self, states):
        """Flat oscillator states (..., N D) as channel-first images (..., C, H, W)."""
        a = np.asarray(states)
        if a.ndim < 1 or a.shape[-1] != self.n * self.dim:
            raise ValueError(f"`states` must have shape (..., {self.n * self.dim}) (N * D = {self.n} * {self.dim}, "
                             f"e.g. (B, N * D)); got {a.shape}.")
        kk, d, lead = self.oscillators_per_pixel, self.dim, a.shape[:-1]
        b = a.reshape((-1, kk) + self.grid + (d,)).transpose(0, 1, 4, 2, 3)
        return np.ascontiguousarray(b).reshape(lead + (self.channels,) + self.grid)

    def field(self):
        """The bias as a per-oscillator field (N, D) (zeros without a bias)."""
        kk, d = self.oscillators_per_pixel, self.dim
        if self.bias is None:
            return np.zeros((self.n, d))
        pix = self.grid[0] * self.grid[1]
        return np.repeat(self.bias.reshape(kk, 1, d), pix, axis=1).reshape(self.n, d)

    def asymmetry(self):
        """max |w[c, c', dy, dx] - w[c', c, k-1-dy, k-1-dx]| (relative) over the taps the grid
        reaches: 0 exactly when J is symmetric (J_ji = J_ij^T, docs/theory.md §3.3)."""
        w = self.weight
        r = self.kernel_size // 2
        ry, rx = min(r, self.grid[0] - 1), min(r, self.grid[1] - 1)
        w = w[:, :, r - ry : r + ry + 1, r - rx : r + rx + 1]
        return _asymmetry(w, np.swapaxes(w, 0, 1)[:, :, ::-1, ::-1])

    def tap_blocks(self):
        """The weight as D x D blocks, (K, K, k * k, D, D): ``[k, k', tap, a, b] =
        w[k D + a, k' D + b, tap // k, tap % k]``, the layout the kernels read."""
        kk, d, ks = self.oscillators_per_pixel, self.dim, self.kernel_size
        w = self.weight.reshape(kk, d, kk, d, ks * ks)
        return np.ascontiguousarray(w.transpose(0, 2, 4, 1, 3))

    def weight_from_tap_blocks(self, blocks):
        """The inverse of :meth:`tap_blocks`: an array of that layout as (C, C, k, k)."""
        kk, d, ks = self.oscillators_per_pixel, self.dim, self.kernel_size
        b = np.asarray(blocks).reshape(kk, kk, ks * ks, d, d)
        return np.ascontiguousarray(b.transpose(0, 3, 1, 4, 2).reshape(self.weight.shape))

    def blocks(self):
        """J as a dense (N, N, D, D) block array (O(N^2 D^2) memory: small grids, tests)."""
        kk, d = self.oscillators_per_pixel, self.dim
        hh, ww = self.grid
        ks = self.kernel_size
        r = ks // 2
        w = self.weight.reshape(kk, d, kk, d, ks, ks)
        out = np.zeros((kk, hh, ww, kk, hh, ww, d, d))
        for dy in range(ks):
            for dx in range(ks):
                sy, sx = dy - r, dx - r
                ys = np.arange(max(0, -sy), min(hh, hh - sy))
                xs = np.arange(max(0, -sx), min(ww, ww - sx))
                if ys.size == 0 or xs.size == 0:
                    continue
                yy, xx = np.meshgrid(ys, xs, indexing="ij")
                for k in range(kk):
                    for k2 in range(kk):
                        out[k, yy, xx, k2, yy + sy, xx + sx] = w[k, :, k2, :, dy, dx]
        return out.reshape(self.n, self.n, d, d)

    def __repr__(self):
        return (f"ConvCoupling(channels={self.channels}, kernel={self.kernel_size}, grid={self.grid}, dim={self.dim}, "
                f"bias={self.bias is not None})")
