"""Continuous and binary Hopfield networks (docs/theory.md §2)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

from .._validation import (
    as_float_array,
    as_float_csr,
    check_bool,
    check_choice,
    check_finite,
    check_positive,
    check_shape,
    check_symmetric,
)
from ..couplings import LowRank
from ..kernels import params as P
from .base import Model, activation_constants

__all__ = ["RULES", "Hopfield"]

RULES = ("hebbian", "pseudo-inverse", "storkey")


class Hopfield(Model):
    r"""Hopfield network of threshold units in Lagrangian form.

    Parameters
    ----------
    weights : ndarray (N, N), scipy.sparse matrix, or LowRank
        Symmetric weight matrix W.  Hebbian weights are best kept as a
        :class:`~oscihop.LowRank` factor (O(N P) per product).
    bias : array_like, shape (N,), optional
        Bias ``b`` (default zeros).
    activation : {"tanh", "sigmoid", "relu", "softmax", "sign"}
        Activation ``g = dL/dh``.  ``"sign"`` is the binary (1982) network, integrated
        with ``oh.solve(..., method="async")`` only.
    beta : float, default 1.0
        Gain (> 0).  Ignored by ``relu``, whose ``g(h) = max(h, 0)``.
    symmetrize : bool, default False
        Replace a non-symmetric dense or sparse W by (W + W.T)/2 instead of raising.

    Notes
    -----
    .. math::

        \dot h = W g(h) - h + b, \qquad
        E_H = (h - b)\cdot g - L(h) - \tfrac12 g^\top W g, \qquad
        \dot E_H = -\dot h^\top \nabla^2 L(h)\, \dot h \le 0 .

    The binary model updates one unit at a time, ``s_i <- sign((W s)_i + b_i)``
    (a zero field keeps ``s_i``), and its energy ``-s.W.s/2 - b.s`` never increases
    when W is symmetric with a non-negative diagonal.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> xi = np.array([[1, -1, 1, -1, 1, -1], [1, 1, 1, -1, -1, -1]])
    >>> hop = oh.Hopfield.from_patterns(xi, activation="tanh", beta=4.0)
    >>> hop.n, hop.size, hop.is_lyapunov
    (6, 6, True)
    >>> sol = oh.solve(hop, (0, 10), 0.1 * xi[0], t_eval=[10])
    >>> np.sign(sol.y[:, -1]).astype(int).tolist()
    [1, -1, 1, -1, 1, -1]
    """

    def __init__(self, weights, bias=None, activation="tanh", beta=1.0, symmetrize=False):
        check_choice(activation, P.ACTIVATIONS, "activation")
        self.activation = activation
        self.beta = check_positive(beta, "beta")
        if activation == "relu" and self.beta != 1.0:
            warnings.warn("`beta` has no effect for activation='relu' (g(h) = max(h, 0)).", UserWarning, stacklevel=2)
        self._set_weights(weights, check_bool(symmetrize, "symmetrize"))
        n = self._n
        if bias is None:
            self.bias = np.zeros(n)
        else:
            b = as_float_array(bias, "bias")
            if b.ndim == 0:
                b = np.full(n, float(b))
            check_shape(b, (n,), "bias", "Give one bias per unit.")
            self.bias = check_finite(b, "bias").copy()
        self._nh = n
        self.patterns = None

    # ------------------------------------------------------------- weights
    def _set_weights(self, weights, symmetrize):
        if isinstance(weights, LowRank):
            self._w_kind = P.W_LOWRANK
            self._w = weights
            self._n = weights.n
            return
        if sp.issparse(weights):
            w = as_float_csr(weights, "weights")
            if w.shape[0] != w.shape[1] or w.shape[0] < 1:
                raise ValueError(f"`weights` must be square (N, N) with N >= 1; got {w.shape}.")
            check_finite(w.data, "weights")
            w = sp.csr_matrix(check_symmetric(w, "weights", symmetrize))
            w.sum_duplicates()
            w.sort_indices()
            self._w_kind = P.W_CSR
            self._w = w
            self._n = w.shape[0]
            return
        w = as_float_array(weights, "weights")
        if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 1:
            raise ValueError(
                "`weights` must be a square (N, N) array with N >= 1, a scipy.sparse matrix or an oh.LowRank; "
                f"got shape {w.shape}."
            )
        check_finite(w, "weights")
        self._w = np.ascontiguousarray(check_symmetric(w, "weights", symmetrize))
        self._w_kind = P.W_DENSE
        self._n = w.shape[0]

    @classmethod
    def from_patterns(cls, patterns, rule="hebbian", activation="tanh", beta=1.0, bias=None, dense=False):
        """Store +-1 patterns with a learning rule.

        Parameters
        ----------
        patterns : array_like, shape (P, N), entries +-1
        rule : {"hebbian", "pseudo-inverse", "storkey"}
            ``hebbian``: ``W = xi^T xi / N`` with zero diagonal, kept as a LowRank
            factor (O(N P) products) unless ``dense=True``.
            ``pseudo-inverse``: the projection rule ``W = xi^T (xi xi^T)^{-1} xi``
            (diagonal kept), as a LowRank factor of the eigenbasis of ``xi xi^T``.
            ``storkey``: Storkey's (1997) incremental rule, dense, zero diagonal.
        activation, beta, bias
            As in :class:`Hopfield`.
        dense : bool
            Materialise the N x N matrix for the low-rank rules.

        Returns
        -------
        Hopfield
            With ``.patterns`` set to the stored patterns.
        """
        check_choice(rule, RULES, "rule")
        dense = check_bool(dense, "dense")
        xi = as_float_array(patterns, "patterns")
        if xi.ndim == 1:
            xi = xi[None, :]
        if xi.ndim != 2 or xi.shape[0] < 1 or xi.shape[1] < 2:
            raise ValueError(f"`patterns` must have shape (P, N) with P >= 1, N >= 2; got {xi.shape}.")
        check_finite(xi, "patterns")
        bad = np.abs(np.abs(xi) - 1) > 0
        if bad.any():
            k, i = np.argwhere(bad)[0]
            raise ValueError(
                f"`patterns` entries must be +1 or -1; pattern {k}, unit {i} is {xi[k, i]!r}. "
                "Binarise with np.where(p > 0, 1, -1)."
            )
        npat, n = xi.shape
        if rule == "hebbian":
            w = LowRank(xi, 1.0 / n, zero_diagonal=True)
        elif rule == "pseudo-inverse":
            c = xi @ xi.T
            evals, evecs = np.linalg.eigh(c)
            if evals.min() <= 1e-10 * max(evals.max(), 1.0):
                raise ValueError(
                    "`patterns` must be linearly independent for rule='pseudo-inverse'; the pattern overlap "
                    f"matrix has smallest eigenvalue {evals.min():.3g}. Remove repeated or dependent patterns."
                )
            w = LowRank(evecs.T @ xi, 1.0 / evals, zero_diagonal=False)
        else:
            w = _storkey(xi)
        if dense and isinstance(w, LowRank):
            w = w.to_dense()
        hop = cls(w, bias=bias, activation=activation, beta=beta)
        hop.patterns = xi.copy()
        return hop

    @property
    def weights(self):
        """The weights as given: ndarray, scipy.sparse CSR matrix, or LowRank."""
        return self._w

    def weights_dense(self):
        """W as an (N, N) ndarray (O(N^2) memory)."""
        if self._w_kind == P.W_DENSE:
            return self._w.copy()
        if self._w_kind == P.W_CSR:
            return self._w.toarray()
        return self._w.to_dense()

    def weight_entries(self, i, j):
        """``W[i, j]`` for index arrays, without forming W."""
        i = np.asarray(i)
        j = np.asarray(j)
        if self._w_kind == P.W_DENSE:
            return self._w[i, j]
        if self._w_kind == P.W_CSR:
            return np.asarray(self._w[i, j]).reshape(i.shape)
        return self._w.entries(i, j)

    def lambda_minus(self):
        """max(0, -lambda_min(W)): the negative curvature of -g.W.g/2 (exact for N <= 2000)."""
        if self._w_kind == P.W_LOWRANK:
            w = self._w
            neg = np.sum(np.where(w.scale < 0, -w.scale, 0.0) * np.sum(w.factor**2, axis=1))
            return float(neg + np.max(w.diagonal_correction(), initial=0.0))
        if self._n <= 2000:
            lam = float(np.linalg.eigvalsh(self.weights_dense())[0])
            return max(0.0, -lam)
        # Gershgorin: lambda_min >= min_i (W_ii - sum_{j != i} |W_ij|)
        if self._w_kind == P.W_DENSE:
            diag = np.diag(self._w)
            off = np.sum(np.abs(self._w), axis=1) - np.abs(diag)
        else:
            diag = self._w.diagonal()
            off = np.asarray(abs(self._w).sum(axis=1)).ravel() - np.abs(diag)
        return float(max(0.0, np.max(off - diag)))

    # ------------------------------------------------------------ kernels
    def _hopfield_fields(self, dtype):
        f = dict(nh=self._n, act=P.ACTIVATIONS[self.activation], beta=self.beta, bias=self.bias, w_kind=self._w_kind)
        if self._w_kind == P.W_DENSE:
            f["w_dense"] = self._w
        elif self._w_kind == P.W_CSR:
            f.update(w_indptr=self._w.indptr.astype(np.int64), w_indices=self._w.indices.astype(np.int64), w_data=self._w.data)
        else:
            f.update(w_factor=self._w.factor, w_scale=self._w.scale, w_diag=self._w.diagonal_correction())
        return f

    def _fields(self, dtype):
        return self._hopfield_fields(dtype)

    def _check_continuous(self):
        if self.activation == "sign":
            raise ValueError(
                "activation='sign' defines the binary Hopfield network, which has no continuous-time "
                "right-hand side; integrate it with oh.solve(model, ..., method='async'), or use a smooth "
                "activation such as 'tanh' with a large `beta`."
            )

    def _lyapunov(self):
        if self.activation == "sign":
            diag = np.diag(self.weights_dense()) if self._w_kind != P.W_LOWRANK else (
                np.sum(self._w.scale[:, None] * self._w.factor**2, axis=0) - self._w.diagonal_correction()
            )
            if np.min(diag) < 0:
                return False, (
                    f"binary (sign) updates need a non-negative diagonal of W; min W_ii = {np.min(diag):.3g}"
                )
        return True, ""

    def _descent_terms(self, y):
        if self.activation == "sign":
            return None
        ell, _ = activation_constants(P.ACTIVATIONS[self.activation], self.beta)
        return self.lambda_minus(), ell, 0.0, 0.0, 0.0, 0.0

    # ------------------------------------------------------------ parameters
    def _parameters(self):
        if self._w_kind == P.W_DENSE:
            w = self._w
        elif self._w_kind == P.W_CSR:
            w = self._w.data
        else:
            w = self._w.factor
        return {"weights": w, "bias": self.bias}

    def _replace(self, new):
        w = self._w
        if "weights" in new:
            val = new["weights"]
            if self._w_kind == P.W_CSR:
                w = sp.csr_matrix((val, self._w.indices.copy(), self._w.indptr.copy()), shape=self._w.shape)
            elif self._w_kind == P.W_LOWRANK:
                w = LowRank(val, self._w.scale, zero_diagonal=self._w.zero_diagonal)
            else:
                w = val
        bias = new.get("bias", self.bias)
        hop = type(self)(w, bias=bias, activation=self.activation, beta=self.beta)
        hop.patterns = None if self.patterns is None else self.patterns.copy()
        return hop

    def _csr_transpose_entries(self):
        """For each stored entry (i, j) of the sparse W, the index of the entry (j, i)."""
        cache = self.__dict__.setdefault("_grad_cache", {})
        if "rev" not in cache:
            w = self._w
            nnz = w.data.shape[0]
            m = sp.csr_matrix((np.arange(1, nnz + 1, dtype=np.float64), w.indices, w.indptr), shape=w.shape)
            mt = sp.csr_matrix(m.T)
            mt.sort_indices()
            cache["rev"] = mt.data.astype(np.int64) - 1
        return cache["rev"]

    def _hopfield_grads(self, fp_bar, ip, w_extra=None):
        """Named gradients from ``fp_bar``; ``w_extra`` (sparse (N, N), optional) adds
        dloss/dW_ij from elsewhere (the multiplicative HK mode) before symmetrisation."""
        n = self._n
        o = int(ip[P.I_O_BIAS])
        grads = {"bias": fp_bar[o : o + n].copy()}
        if self._w_kind == P.W_DENSE:
            o = int(ip[P.I_O_W_DENSE])
            g = fp_bar[o : o + n * n].reshape(n, n).copy()
            if w_extra is not None:
                g += w_extra.toarray()
            grads["weights"] = 0.5 * (g + g.T)
        elif self._w_kind == P.W_CSR:
            w = self._w
            nnz = w.data.shape[0]
            o = int(ip[P.I_O_W_DATA])
            g = fp_bar[o : o + nnz].copy()
            if w_extra is not None:
                rows = np.repeat(np.arange(n), np.diff(w.indptr))
                g += np.asarray(sp.csr_matrix(w_extra)[rows, w.indices]).ravel()
            grads["weights"] = 0.5 * (g + g[self._csr_transpose_entries()])
        else:
            lr = self._w
            rank = lr.rank
            o = int(ip[P.I_O_W_FACTOR])
            g = fp_bar[o : o + rank * n].reshape(rank, n).copy()
            if lr.zero_diagonal:
                o = int(ip[P.I_O_W_DIAG])
                diag_bar = fp_bar[o : o + n]
                g += 2.0 * lr.scale[:, None] * lr.factor * diag_bar[None, :]
            if w_extra is not None:
                a = sp.csr_matrix(w_extra)
                g += lr.scale[:, None] * ((a + a.T) @ lr.factor.T).T
            grads["weights"] = g
        return {"weights": grads["weights"], "bias": grads["bias"]}

    def _grads_from_fp(self, fp_bar, ip):
        return self._hopfield_grads(fp_bar, ip)

    def __repr__(self):
        kind = {P.W_DENSE: "dense", P.W_CSR: "sparse", P.W_LOWRANK: "low-rank"}[self._w_kind]
        return f"Hopfield(n={self._n}, weights={kind}, activation={self.activation!r}, beta={self.beta})"


def _storkey(xi):
    """Storkey (1997) learning rule for +-1 patterns; dense, zero diagonal."""
    npat, n = xi.shape
    w = np.zeros((n, n))
    for mu in range(npat):
        p = xi[mu]
        h = w @ p
        # h_ij = sum_{k != i, j} w_ik p_k = h_i - w_ii p_i - w_ij p_j
        hij = h[:, None] - (np.diag(w) * p)[:, None] - w * p[None, :]
        w = w + (np.outer(p, p) - p[:, None] * hij.T - hij * p[None, :]) / n
        np.fill_diagonal(w, 0.0)
    return 0.5 * (w + w.T)
