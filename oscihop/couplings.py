"""Coupling representations that are not plain arrays."""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_bool, check_finite

__all__ = ["LowRank"]


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
