"""The Hopfield-Kuramoto model: threshold units bound to oscillators (docs/theory.md §4)."""

from __future__ import annotations

import warnings

import numpy as np

from .._validation import (
    as_float_array,
    check_choice,
    check_edges,
    check_finite,
    check_positive,
    check_real,
    check_shape,
)
from ..couplings import LowRank
from ..graph import _pull_csr, complete_edges
from ..kernels import params as P
from .base import Model, activation_constants
from .hopfield import Hopfield
from .kuramoto import Kuramoto

__all__ = ["MODES", "HopfieldKuramoto"]

MODES = ("network", "additive", "multiplicative")


class HopfieldKuramoto(Model):
    r"""Hopfield network and Kuramoto oscillators coupled through one energy.

    Parameters
    ----------
    hop : Hopfield
        Threshold units (smooth activation).
    kur : Kuramoto
        Oscillators, one per threshold unit (``kur.n == hop.n``).
    hk_edges : array_like (E, 2) or "all"
        Pairs coupled through ``E_HK``; ``"all"`` couples every pair i != j.
    weights : float or array_like (E,), optional
        ``a_e`` per edge in ``mode="network"`` (required there).  Kept as the attribute
        ``weights`` (``None`` for ``hk_edges="all"`` with ``mode="additive"``) and named
        ``"weights"`` in :meth:`parameters`, :meth:`replace` and the gradients.
    alpha : float, default 1.0
        Coupling scale for the additive (``a_e = alpha``) and multiplicative
        (``a_e = alpha W_ij``) modes.
    mode : {"network", "additive", "multiplicative"}
    kappa_h, kappa_k : float, default 1.0
        Positive time-scale weights of the two energies.

    Notes
    -----
    .. math::

        E = \kappa_h E_H(h) + \kappa_k E_K(x) - \sum_{e=(i,j)} a_e s_{ij} g_i g_j

        \dot h_i = (Wg)_i - h_i + b_i + \frac{1}{\kappa_h}\sum_j a_{ij} s_{ij} g_j,\quad
        \dot x_i = \Omega x_i - \frac{1}{\kappa_k} P_i\Big(\kappa_k \partial_{x_i} E_K
        - \sum_j a_{ij} g_i g_j x_j\Big)

    With kappa_h, kappa_k > 0 and no (or a global) Omega,
    ``dE/dt = -kappa_h hdot^T (Hessian of L) hdot - kappa_k sum_i |P_i F_i|^2 <= 0`` where
    ``F_i = -(1/kappa_k) dE/dx_i`` (for elementwise activations the first term is
    ``-kappa_h sum_i g'(h_i) hdot_i^2``; with Omega = 0, ``P_i F_i = dx_i/dt``).
    The threshold units feel ``W_eff = W + (1/kappa_h) M o (a x x^T)``: with all-to-all
    coupling a rank <= D (LoRA-like) correction, evaluated in O(N D).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> hop = oh.Hopfield(np.array([[0., 1.], [1., 0.]]), activation="tanh")
    >>> kur = oh.Kuramoto(3, edges=[[0, 1]], coupling=0.5)
    >>> hk = oh.HopfieldKuramoto(hop, kur, [[0, 1]], alpha=0.3, mode="additive")
    >>> hk.size, hk.is_lyapunov
    (8, True)
    """

    def __init__(self, hop, kur, hk_edges, weights=None, alpha=1.0, mode="network", kappa_h=1.0, kappa_k=1.0):
        if not isinstance(hop, Hopfield):
            raise ValueError(f"`hop` must be an oh.Hopfield; got {type(hop).__name__}.")
        if not isinstance(kur, Kuramoto):
            raise ValueError(f"`kur` must be an oh.Kuramoto; got {type(kur).__name__}.")
        if hop.activation == "sign":
            raise ValueError(
                "`hop` must have a smooth activation in the coupled model; got activation='sign'. "
                "Use 'tanh' with a large beta for near-binary units."
            )
        if hop.n != kur.n:
            raise ValueError(f"`hop` and `kur` must have the same number of units; got hop.n = {hop.n}, kur.n = {kur.n}.")
        check_choice(mode, MODES, "mode")
        self.hopfield = hop
        self.kuramoto = kur
        self.mode = mode
        self.kappa_h = check_positive(kappa_h, "kappa_h")
        self.kappa_k = check_positive(kappa_k, "kappa_k")
        self.alpha = check_real(alpha, "alpha")
        n = hop.n
        self._nh = n
        self._nk = n
        self._dim = kur._dim
        self.all_to_all = isinstance(hk_edges, str)
        if self.all_to_all:
            if hk_edges != "all":
                raise ValueError(f"`hk_edges` must be an (E, 2) array of unit index pairs or 'all'; got {hk_edges!r}.")
            if mode == "network" and weights is not None and as_float_array(weights, "weights").ndim != 0:
                raise ValueError("`weights` must be a scalar with hk_edges='all'; pass an explicit edge list for per-edge weights.")
            edges = complete_edges(n) if mode != "additive" else None
        else:
            edges = check_edges(hk_edges, n, "hk_edges")
        self.hk_edges = edges
        if mode == "network":
            if weights is None:
                raise ValueError(
                    "`weights` (a_e per hk edge) are required with mode='network'; pass weights=(E,) values, "
                    "or use mode='additive' (a_e = alpha) or 'multiplicative' (a_e = alpha W_ij)."
                )
            ne = edges.shape[0]
            a = as_float_array(weights, "weights")
            if a.ndim == 0:
                a = np.full(ne, float(a))
            check_shape(a, (ne,), "weights", "Give one a_e per hk edge.")
            self.weights = check_finite(a, "weights").copy()
        else:
            if weights is not None:
                raise ValueError(f"`weights` is only used with mode='network'; got mode={mode!r}. Use `alpha`.")
            if mode == "additive":
                self.weights = None if edges is None else np.full(edges.shape[0], self.alpha)
            else:
                self.weights = self.alpha * hop.weight_entries(edges[:, 0], edges[:, 1])
        self._csr = None if edges is None else _pull_csr(n, edges, self.weights)

    #: deprecated parameter names -> their current names (see :meth:`Model.replace`)
    _PARAMETER_ALIASES = {"hk_weights": "weights"}

    @property
    def edge_weights(self):
        """Deprecated alias of :attr:`weights` (the ``a_e`` per hk edge)."""
        warnings.warn("`HopfieldKuramoto.edge_weights` is deprecated; use `.weights` (the same array).",
                      DeprecationWarning, stacklevel=2)
        return self.weights

    # -------------------------------------------------------------- kernels
    def _fields(self, dtype):
        f = self.hopfield._hopfield_fields(dtype)
        f.update(self.kuramoto._kuramoto_fields(dtype))
        f.update(kappa_h=self.kappa_h, kappa_k=self.kappa_k)
        if self._csr is None:
            f.update(hk_kind=P.HK_ALL, hk_alpha=self.alpha)
        else:
            indptr, indices, _, a = self._csr
            f.update(hk_kind=P.HK_CSR, hk_indptr=indptr, hk_indices=indices, hk_a=a)
        return f

    def _lyapunov(self):
        return self.kuramoto._omega_lyapunov()

    def coupling_matrix(self):
        """The HK coefficients ``a_ij`` as a dense (N, N) matrix (zero off the hk edges)."""
        n = self._nh
        if self._csr is None:
            a = np.full((n, n), self.alpha)
            np.fill_diagonal(a, 0.0)
            return a
        a = np.zeros((n, n))
        e = self.hk_edges
        a[e[:, 0], e[:, 1]] = self.weights
        a[e[:, 1], e[:, 0]] = self.weights
        return a

    def hk_correction(self, y):
        """``(1/kappa_h) M o (a x x^T)`` at state(s) y: (N, N) or (B, N, N)."""
        x = self.unpack(np.asarray(y, dtype=np.float64)).x
        gram = np.einsum("...id,...jd->...ij", x, x)
        return self.coupling_matrix() * gram / self.kappa_h

    def correction_factor(self, y):
        """The all-to-all additive correction as a rank-<= D factor.

        For ``hk_edges="all"`` and ``mode="additive"`` the correction
        ``(alpha/kappa_h) (x x^T)`` with self-pairs removed is exactly
        ``LowRank(x.T, alpha/kappa_h, zero_diagonal=True)``: a rank <= D (LoRA-like)
        update of W, applied in O(N D).

        Parameters
        ----------
        y : array_like, shape (size,)

        Returns
        -------
        LowRank
            Factor (D, N) = x.T, scale alpha / kappa_h.
        """
        if not (self._csr is None):
            raise ValueError(
                "`correction_factor` needs hk_edges='all' with mode='additive' (a masked or weighted "
                "correction is not low rank); use hk_correction(y) for the dense matrix."
            )
        ys, single = self._coerce(y)
        if not single:
            raise ValueError(f"`y` must be a single state of shape ({self.size},); got a batch of {ys.shape[0]}.")
        x = self.unpack(ys[0].astype(np.float64)).x
        return LowRank(x.T, self.alpha / self.kappa_h, zero_diagonal=True)

    def effective_weights(self, y):
        """Weights the threshold units feel at state y: ``W + (1/kappa_h) M o (a x x^T)``.

        Parameters
        ----------
        y : array_like, shape (size,) or (B, size)

        Returns
        -------
        ndarray, shape (N, N) or (B, N, N)
            With it, ``dh/dt = W_eff g - h + b`` exactly.
        """
        self._coerce(y)
        return self.hopfield.weights_dense() + self.hk_correction(y)

    def _descent_terms(self, y):
        if self.kuramoto._omega_kind != P.OMEGA_NONE:
            return None
        hop = self.hopfield
        act = P.ACTIVATIONS[hop.activation]
        ell, g_sup = activation_constants(act, hop.beta)
        if g_sup is None:
            if y is None:
                raise ValueError(
                    "`y` is required: with activation='relu' the coupled model's step bound depends on "
                    "the state (through max g). Call step_bound(y)."
                )
            ys, _ = self._coerce(y)
            h = ys[:, : self._nh]
            r = self.rhs(0.0, ys)[:, : self._nh]
            g_sup = float(np.max(np.maximum(h, 0.0) + np.abs(r)))
        if self._csr is None:
            a_row = abs(self.alpha) * (self._nh - 1)
        else:
            indptr, _, _, a = self._csr
            rows = np.repeat(np.arange(self._nh), np.diff(indptr))
            a_row = float(np.max(np.bincount(rows, np.abs(a), minlength=self._nh), initial=0.0))
        lam_k, f_k = self.kuramoto._row_bounds()
        return hop.lambda_minus(), ell, lam_k, f_k, a_row, g_sup

    # ------------------------------------------------------------ parameters
    def _parameters(self):
        out = {"hopfield." + k: v for k, v in self.hopfield._parameters().items()}
        out.update({"kuramoto." + k: v for k, v in self.kuramoto._parameters().items()})
        if self.mode == "network":
            out["weights"] = self.weights
        else:
            out["alpha"] = np.array(self.alpha)
        return out

    def _replace(self, new):
        hop_new = {k.split(".", 1)[1]: v for k, v in new.items() if k.startswith("hopfield.")}
        kur_new = {k.split(".", 1)[1]: v for k, v in new.items() if k.startswith("kuramoto.")}
        hop = self.hopfield._replace(hop_new) if hop_new else self.hopfield
        kur = self.kuramoto._replace(kur_new) if kur_new else self.kuramoto
        kw = dict(mode=self.mode, kappa_h=self.kappa_h, kappa_k=self.kappa_k)
        if self.mode == "network":
            edges = self.hk_edges  # explicit pairs (also for hk_edges="all": per-edge weights)
            return type(self)(hop, kur, edges, weights=new.get("weights", self.weights), **kw)
        edges = "all" if self.all_to_all else self.hk_edges
        return type(self)(hop, kur, edges, alpha=float(new.get("alpha", self.alpha)), **kw)

    def _grads_from_fp(self, fp_bar, ip):
        out = {}
        w_extra = None
        hk = {}
        if self._csr is None:
            hk["alpha"] = np.array(fp_bar[P.F_HK_ALPHA])
        else:
            indptr, indices, eid, _ = self._csr
            m = indices.shape[0]
            o = int(ip[P.I_O_HK_A])
            abar = fp_bar[o : o + m]
            if self.mode == "network":
                hk["weights"] = np.bincount(eid, abar, minlength=self.hk_edges.shape[0])
            elif self.mode == "additive":
                hk["alpha"] = np.array(abar.sum())
            else:
                import scipy.sparse as sp

                n = self._nh
                # a_e = alpha W_{e0 e1}, the same value for both directions of edge e
                e = self.hk_edges[eid]
                w_e = self.hopfield.weight_entries(e[:, 0], e[:, 1])
                hk["alpha"] = np.array(float(abar @ w_e))
                w_extra = sp.csr_matrix((self.alpha * abar, (e[:, 0], e[:, 1])), shape=(n, n))
        for k, v in self.hopfield._hopfield_grads(fp_bar, ip, w_extra).items():
            out["hopfield." + k] = v
        for k, v in self.kuramoto._kuramoto_grads(fp_bar, ip).items():
            out["kuramoto." + k] = v
        out.update(hk)
        return out

    def __repr__(self):
        e = "all" if self.all_to_all else self.hk_edges.shape[0]
        return (f"HopfieldKuramoto(n={self._nh}, dim={self._dim}, mode={self.mode!r}, hk_edges={e}, "
                f"kappa_h={self.kappa_h}, kappa_k={self.kappa_k})")
