"""Generalized Kuramoto oscillators on spheres S^{D-1} (docs/theory.md §3)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._validation import (
    as_float_array,
    as_float_csr,
    check_antisymmetric,
    check_bool,
    check_choice,
    check_edges,
    check_finite,
    check_real,
    check_shape,
    check_size,
    check_symmetric,
)
from ..couplings import BlockCoupling, ConvCoupling, LowRank, _asymmetry
from ..graph import _pull_csr, _pull_structure, edges_from_dense
from ..kernels import params as P
from .base import Model

__all__ = ["Kuramoto", "pair_rotations"]

#: sup over s in [-1, 1] of phi'(s), and of the curvature terms (|phi'| + 2|phi''|), per interaction.
_DPHI_SUP = {P.INT_LINEAR: 0.0, P.INT_RELU: 1.0, P.INT_TANH: 1.0, P.INT_SIGMOID: 1.0}
_CURV = {P.INT_LINEAR: 0.0, P.INT_RELU: 3.0, P.INT_TANH: 3.0, P.INT_SIGMOID: 3.0}


class Kuramoto(Model):
    r"""Generalized Kuramoto model: N oscillators on the sphere S^{D-1}.

    Parameters
    ----------
    dim : int
        Oscillator dimension D >= 2 (D = 2: phase oscillators).  Integral floats such as
        ``3.0`` are accepted for ``dim`` and ``n``.
    edges : array_like, shape (E, 2), optional
        Undirected edges, each pair once, no self-loops.
    coupling : float, array_like, scipy.sparse, LowRank, BlockCoupling, ConvCoupling or "mean-field"
        ``J``: per edge (with ``edges``: a scalar, (E,), or D x D blocks (E, D, D) or an
        :class:`~oscihop.BlockCoupling` of typed blocks), dense symmetric (N, N) (diagonal
        ignored), dense blocks (N, N, D, D) (``J[i, j]`` acts on ``x_j`` in the force on
        ``x_i``; diagonal blocks kept; not necessarily symmetric, see ``is_lyapunov``),
        sparse symmetric, a :class:`~oscihop.LowRank` factor ``U^T diag(d) U`` (diagonal
        ignored), an :class:`~oscihop.ConvCoupling` (a 2-D convolution over an image grid,
        its bias added to the stimulus) or ``"mean-field"`` (``J_ij = strength / n``, O(N D)).
        Block and convolutional couplings are linear (docs/theory.md §3.3).
    interaction : {"linear", "relu", "tanh", "sigmoid"}
        Pair interaction ``phi``; nonlinear ones need an edge list (dense and sparse
        couplings are turned into one).
    interaction_weights : float or array_like, optional
        ``B`` per edge (or a symmetric (N, N) matrix with a dense or sparse coupling);
        default 1 for a nonlinear interaction.
    stimulus : array_like, shape (N, D), optional
        External field ``c``.
    omega : array_like, optional
        Natural rotations: (D, D) antisymmetric shared by all units, (N, D, D) per unit,
        or (N,) natural frequencies when D = 2 (``Omega_i = omega_i [[0, -1], [1, 0]]``).
    n : int, optional
        Number of oscillators (inferred from edges or coupling when omitted).
    strength : float, optional
        ``K`` for ``coupling="mean-field"``.
    symmetrize : bool, default False
        Replace a non-symmetric dense or sparse ``coupling`` (and a non-symmetric (N, N)
        ``interaction_weights``) by (J + J.T)/2 instead of raising, as
        :class:`~oscihop.Hopfield` does.  Edge lists, LowRank and mean-field couplings are
        symmetric by construction.

    Notes
    -----
    .. math::

        E_K = \sum_{e=(i,j)} -(J_e s_e + B_e \phi(s_e)) - \sum_i \langle c_i, x_i\rangle,\qquad
        \dot x_i = \Omega_i x_i + P_{x_i}\Big(c_i + \sum_j (J_{ij} + B_{ij}\phi'(s_{ij})) x_j\Big)

    with ``P_x(v) = v - <v, x> x``.  The energy is non-increasing when Omega is zero,
    or global with ``Omega c_i = 0``; per-unit Omega (natural frequencies) is not a
    gradient flow.

    Examples
    --------
    >>> import oscihop as oh
    >>> kur = oh.Kuramoto(2, coupling="mean-field", strength=2.0, n=50)
    >>> y0 = kur.random_state(seed=0)
    >>> sol = oh.solve(kur, (0, 20), y0, t_eval=[0, 20])
    >>> bool(sol.energy[-1] < sol.energy[0]), kur.is_lyapunov
    (True, True)
    """

    def __init__(self, dim, edges=None, coupling=1.0, interaction="linear", interaction_weights=None,
                 stimulus=None, omega=None, n=None, strength=None, symmetrize=False):
        self._dim = check_size(dim, "dim", minimum=2, hint="Oscillators live on the sphere S^(dim-1).")
        check_choice(interaction, P.INTERACTIONS, "interaction")
        self.interaction = interaction
        if n is not None:
            n = check_size(n, "n")
        self._symmetrize = check_bool(symmetrize, "symmetrize")
        self._build_coupling(edges, coupling, interaction_weights, n, strength)
        nn = self._nk
        self.stimulus = None
        if stimulus is not None:
            c = as_float_array(stimulus, "stimulus")
            check_shape(c, (nn, self._dim), "stimulus", "Give one D-vector per oscillator.")
            self.stimulus = check_finite(c, "stimulus").copy()
        self._set_omega(omega)

    # ------------------------------------------------------------ couplings
    def _build_coupling(self, edges, coupling, b_weights, n, strength):
        nonlinear = self.interaction != "linear"
        self.strength = None
        self._k_asym = 0
        if isinstance(coupling, (ConvCoupling, BlockCoupling)) or (
                not isinstance(coupling, str) and not sp.issparse(coupling) and np.ndim(coupling) in (3, 4)):
            self._build_blocks(edges, coupling, b_weights, n, strength)
            return
        if isinstance(coupling, str):
            if coupling != "mean-field":
                raise ValueError(
                    "`coupling` must be a number or array (per edge, dense (N, N)), a scipy.sparse matrix, "
                    f"an oh.LowRank or the string 'mean-field'; got {coupling!r}."
                )
            if edges is not None:
                raise ValueError("`edges` must be None with coupling='mean-field' (all-to-all coupling).")
            if n is None:
                raise ValueError("`n` is required with coupling='mean-field': pass n=number of oscillators.")
            if strength is None:
                raise ValueError("`strength` (K, with J_ij = K/N) is required with coupling='mean-field'; pass strength=K.")
            strength = check_real(strength, "strength")
            if nonlinear:
                raise ValueError(
                    f"`interaction` must be 'linear' with coupling='mean-field' (O(N D) needs a linear pair "
                    f"potential); got {self.interaction!r}. Use an edge list for nonlinear interactions."
                )
            self._nk = int(n)
            self.strength = float(strength)
            self._k_kind = P.K_MEANFIELD
            return
        if strength is not None:
            raise ValueError("`strength` is only used with coupling='mean-field'; pass the coupling itself instead.")
        if edges is not None:
            e = check_edges(edges, n, "edges")
            nn = int(n) if n is not None else (int(e.max()) + 1 if e.size else 0)
            if nn < 1:
                raise ValueError("`n` is required when `edges` is empty: pass n=number of oscillators.")
            self._set_edges(nn, e, coupling, b_weights, "coupling", "interaction_weights")
            return
        if isinstance(coupling, LowRank):
            if nonlinear:
                raise ValueError(f"`interaction` must be 'linear' with a LowRank coupling; got {self.interaction!r}.")
            self._check_n(n, coupling.n)
            self._nk = coupling.n
            self._lowrank = coupling
            self._k_kind = P.K_LOWRANK
            return
        if sp.issparse(coupling):
            m = as_float_csr(coupling, "coupling")
            m.sum_duplicates()
            m.eliminate_zeros()  # explicitly stored zeros are not edges
            if m.shape[0] != m.shape[1] or m.shape[0] < 1:
                raise ValueError(f"`coupling` must be square (N, N) with N >= 1; got {m.shape}.")
            check_finite(m.data, "coupling")
            m = sp.csr_matrix(check_symmetric(m, "coupling", self._symmetrize))
            self._check_n(n, m.shape[0])
            up = sp.triu(m, k=1).tocoo()
            e = np.stack([up.row, up.col], axis=1).astype(np.int64)
            bw = b_weights
            if bw is not None and np.ndim(as_float_array(bw, "interaction_weights")) >= 2:
                bw = self._interaction_matrix(bw, m.shape)[up.row, up.col]
            self._set_edges(m.shape[0], e, up.data, bw, "coupling", "interaction_weights")
            return
        jarr = as_float_array(coupling, "coupling")
        if jarr.ndim == 2:
            if jarr.shape[0] != jarr.shape[1] or jarr.shape[0] < 1:
                raise ValueError(f"`coupling` must be a square (N, N) matrix with N >= 1; got {jarr.shape}.")
            check_finite(jarr, "coupling")
            jarr = np.array(check_symmetric(jarr, "coupling", self._symmetrize))
            np.fill_diagonal(jarr, 0.0)
            self._check_n(n, jarr.shape[0])
            if nonlinear:
                bw = 1.0 if b_weights is None else b_weights
                bmat = as_float_array(bw, "interaction_weights")
                if bmat.ndim == 2:
                    bmat = self._interaction_matrix(bmat, jarr.shape)
                    mask = (jarr != 0) | (bmat != 0)
                elif bmat.ndim != 0:
                    raise ValueError(
                        f"`interaction_weights` must be a scalar or a symmetric {jarr.shape} matrix with a dense "
                        f"coupling; got shape {bmat.shape}. Pass `edges=` for per-edge values."
                    )
                else:
                    mask = jarr != 0
                    bmat = np.full(jarr.shape, float(bmat))
                np.fill_diagonal(mask, False)
                e, _ = edges_from_dense(mask.astype(float))
                self._set_edges(jarr.shape[0], e, jarr[e[:, 0], e[:, 1]], bmat[e[:, 0], e[:, 1]], "coupling", "interaction_weights")
                return
            if b_weights is not None:
                raise ValueError("`interaction_weights` has no effect with interaction='linear'; leave it None.")
            self._nk = jarr.shape[0]
            self._jd = np.ascontiguousarray(jarr)
            self._k_kind = P.K_DENSE
            return
        raise ValueError(
            "`coupling` without `edges` must be a dense (N, N) matrix, a scipy.sparse matrix, an oh.LowRank, "
            f"or 'mean-field' (with strength and n); got {type(coupling).__name__} of shape {jarr.shape}. "
            "Pass `edges=` to use per-edge or scalar couplings."
        )

    def _build_blocks(self, edges, coupling, b_weights, n, strength):
        """Block couplings (edge list, typed edges, dense (N, N, D, D)) and convolutions."""
        d = self._dim
        what = "a ConvCoupling" if isinstance(coupling, ConvCoupling) else "block couplings"
        if self.interaction != "linear":
            raise ValueError(f"`interaction` must be 'linear' with {what} (E = -1/2 sum x_i . J_ij x_j); "
                             f"got {self.interaction!r}.")
        for name, value in (("interaction_weights", b_weights), ("strength", strength)):
            if value is not None:
                raise ValueError(f"`{name}` has no effect with {what}; leave it None.")
        if isinstance(coupling, ConvCoupling):
            if edges is not None:
                raise ValueError("`edges` must be None with a ConvCoupling (the kernel's stencil is the graph).")
            if coupling.dim != d:
                raise ValueError(f"`coupling`: the ConvCoupling has dim = {coupling.dim}, the model dim = {d}; "
                                 "build both with the same D.")
            self._check_n(n, coupling.n)
            self._nk = coupling.n
            self._conv = coupling
            self._k_kind = P.K_CONV
            self._k_asym = int(coupling.asymmetry() > 1e-12)
            return
        if edges is not None:
            bc = coupling
            if not isinstance(coupling, BlockCoupling):  # an (E, D, D) array: validated under its own name
                arr = as_float_array(coupling, "coupling")
                if arr.ndim != 3 or arr.shape[1:] != (d, d) or arr.shape[0] < 1:
                    raise ValueError(f"`coupling` with `edges` must be a scalar, one value per edge (E,), or one "
                                     f"({d}, {d}) block per edge (E, {d}, {d}); got shape {arr.shape}.")
                bc = BlockCoupling(check_finite(arr, "coupling"))
            e = check_edges(edges, n, "edges")
            nn = int(n) if n is not None else (int(e.max()) + 1 if e.size else 0)
            if nn < 1:
                raise ValueError("`n` is required when `edges` is empty: pass n=number of oscillators.")
            if bc.dim != d:
                raise ValueError(f"`coupling` blocks must be ({d}, {d}) (the model's D); got ({bc.dim}, {bc.dim}).")
            types = bc.edge_types(e.shape[0])
            indptr, indices, eid = _pull_structure(nn, e)
            rows = np.repeat(np.arange(nn), np.diff(indptr))
            # entry (i, j) of edge (i, j) holds its block; entry (j, i) holds the transpose
            codes = 2 * types[eid] + (rows != e[eid, 0])
            self._nk = nn
            self.edges = e
            self._blocks = bc.blocks.copy()
            self._btypes = bc.types
            self._bcsr = (indptr, indices, np.ascontiguousarray(codes, dtype=np.int64))
            self._k_kind = P.K_BLOCK
            return
        if isinstance(coupling, BlockCoupling):
            raise ValueError("`edges` is required with an oh.BlockCoupling (its blocks sit on the edges); for "
                             "dense blocks pass an (N, N, D, D) array as `coupling`.")
        jb = as_float_array(coupling, "coupling")
        if jb.ndim != 4 or jb.shape[0] != jb.shape[1] or jb.shape[2:] != (d, d) or jb.shape[0] < 1:
            raise ValueError(f"`coupling` as dense blocks must have shape (N, N, {d}, {d}); got {jb.shape}. "
                             "Pass `edges=` for one (D, D) block per edge.")
        check_finite(jb, "coupling")
        self._check_n(n, jb.shape[0])
        nn = jb.shape[0]
        sym = jb.transpose(1, 0, 3, 2)
        if self._symmetrize:
            jb = 0.5 * (jb + sym)
        self._k_asym = int(_asymmetry(jb, jb.transpose(1, 0, 3, 2)) > 1e-12)
        nz = np.any(jb != 0, axis=(2, 3))
        rows, cols = np.nonzero(nz)
        indptr = np.zeros(nn + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=nn), out=indptr[1:])
        self._nk = nn
        self._blocks = np.ascontiguousarray(jb)
        self._bcsr = (indptr, cols.astype(np.int64), (2 * (rows * nn + cols)).astype(np.int64))
        self._k_kind = P.K_BLOCK

    @property
    def _dense_blocks(self):
        """True for block couplings given as a dense (N, N, D, D) array."""
        return self._k_kind == P.K_BLOCK and self._blocks.ndim == 4

    def _block_entries(self):
        """(rows, cols, blocks (M, D, D)) of every stored pair entry of a block coupling: J_ij."""
        indptr, indices, codes = self._bcsr
        rows = np.repeat(np.arange(self._nk), np.diff(indptr))
        table = self._blocks.reshape(-1, self._dim, self._dim)
        m = table[codes >> 1]
        t = (codes & 1).astype(bool)
        m[t] = np.swapaxes(m[t], -1, -2)
        return rows, indices, m

    def _interaction_matrix(self, bw, shape):
        """A dense (N, N) ``interaction_weights``, validated like a dense coupling."""
        bmat = as_float_array(bw, "interaction_weights")
        check_shape(bmat, shape, "interaction_weights",
                    "Give a scalar, one value per edge, or a symmetric (N, N) matrix like the coupling.")
        check_finite(bmat, "interaction_weights")
        return check_symmetric(bmat, "interaction_weights", self._symmetrize)

    @staticmethod
    def _check_n(n, got):
        if n is not None and int(n) != got:
            raise ValueError(f"`n` = {n} does not match the coupling's size {got}.")

    def _set_edges(self, nn, e, jvals, bvals, jname, bname):
        ne = e.shape[0]
        jv = self._per_edge(jvals, ne, jname)
        if self.interaction == "linear":
            if bvals is not None:
                raise ValueError(f"`{bname}` has no effect with interaction='linear'; leave it None.")
            bv = np.zeros(ne)
        else:
            bv = self._per_edge(1.0 if bvals is None else bvals, ne, bname)
        self._nk = nn
        self.edges = e
        self.edge_coupling = jv
        self.edge_interaction_weights = bv
        self._csr = _pull_csr(nn, e, jv, bv)
        self._k_kind = P.K_CSR

    @staticmethod
    def _per_edge(vals, ne, name):
        v = as_float_array(vals, name)
        if v.ndim == 0:
            v = np.full(ne, float(v))
        check_shape(v, (ne,), name, "Give a scalar or one value per edge.")
        return check_finite(v, name).copy()

    def _set_omega(self, omega):
        d, nn = self._dim, self._nk
        self.omega = None
        self._omega_kind = P.OMEGA_NONE
        if omega is None:
            return
        om = as_float_array(omega, "omega")
        check_finite(om, "omega")
        if om.ndim == 1:
            if d != 2:
                raise ValueError(f"`omega` as natural frequencies (N,) needs dim == 2; got dim = {d}. Pass (N, D, D) matrices.")
            check_shape(om, (nn,), "omega")
            rot = np.array([[0.0, -1.0], [1.0, 0.0]])
            om = om[:, None, None] * rot
        if om.shape == (d, d):
            om = om[None]
        elif om.ndim != 3 or om.shape != (nn, d, d):
            raise ValueError(f"`omega` must have shape ({d}, {d}), ({nn}, {d}, {d}) or ({nn},) for D = 2; got {om.shape}.")
        check_antisymmetric(om, "omega")
        if not np.any(om):
            return
        if om.shape[0] > 1 and np.all(om == om[0]):
            om = om[:1]
        self.omega = om.copy()
        self._omega_kind = P.OMEGA_GLOBAL if om.shape[0] == 1 else P.OMEGA_PER_UNIT

    # -------------------------------------------------------------- kernels
    def _kuramoto_fields(self, dtype):
        f = dict(nk=self._nk, dim=self._dim, k_kind=self._k_kind, inter=P.INTERACTIONS[self.interaction],
                 omega_kind=self._omega_kind)
        if self._k_kind == P.K_CSR:
            indptr, indices, _, jv, bv = self._csr
            f.update(k_indptr=indptr, k_indices=indices, k_j=jv, k_b=bv)
        elif self._k_kind == P.K_DENSE:
            f["j_dense"] = self._jd
        elif self._k_kind == P.K_LOWRANK:
            lr = self._lowrank
            f.update(k_factor=lr.factor, k_scale=lr.scale,
                     k_diag=np.einsum("r,ri,ri->i", lr.scale, lr.factor, lr.factor))
        elif self._k_kind == P.K_BLOCK:
            indptr, indices, codes = self._bcsr
            f.update(k_indptr=indptr, k_indices=indices, k_bidx=codes, k_blocks=self._blocks, k_asym=self._k_asym)
        elif self._k_kind == P.K_CONV:
            conv = self._conv
            f.update(k_conv=conv.tap_blocks(), conv_h=conv.grid[0], conv_w=conv.grid[1], conv_ks=conv.kernel_size,
                     k_asym=self._k_asym)
        else:
            f["k_strength"] = self.strength / self._nk
        field = self._field()
        if field is not None:
            f["stim"] = field
        if self.omega is not None:
            f["omega"] = self.omega
        return f

    def _fields(self, dtype):
        return self._kuramoto_fields(dtype)

    def _field(self):
        """The constant field c_i: the stimulus plus a ConvCoupling's bias (None if neither)."""
        bias = self._conv.bias if self._k_kind == P.K_CONV else None
        if bias is None:
            return self.stimulus
        field = self._conv.field()
        return field if self.stimulus is None else field + self.stimulus

    @property
    def conv_coupling(self):
        """The :class:`~oscihop.ConvCoupling` of a convolutional model (its grid, channels and
        ``to_state`` / ``to_images``), else None."""
        return self._conv if self._k_kind == P.K_CONV else None

    def akorn_energy(self, y):
        """The energy AKOrN logs, ``-sum_i x_i . (sum_j J_ij x_j + c_i)`` (no 1/2 on the pair
        term), at state(s) ``y``: a float, or (B,) for (B, size) states.

        AKOrN records it before each update of its map: for a run of ``method="AKOrN"`` with an
        output at every step, ``kur.akorn_energy(sol.states[:-1])``.  With a linear interaction
        it is ``<x, dE/dx>`` for oscihop's energy ``E`` (docs/theory.md §3.1), which is what is
        computed; it is not a Lyapunov function of the flow, ``energy`` is.

        Raises
        ------
        ValueError
            For a nonlinear ``interaction`` (AKOrN's couplings are linear).
        """
        if self.interaction != "linear":
            raise ValueError(f"`akorn_energy` is AKOrN's energy of linear couplings; this model has "
                             f"interaction={self.interaction!r}. Use model.energy(y).")
        ys, single = self._coerce(y)
        grad = np.asarray(self.energy_gradient(ys), dtype=np.float64)
        out = np.einsum("bi,bi->b", np.asarray(ys, dtype=np.float64), grad)
        return float(out[0]) if single else out

    def coupling_blocks(self):
        """J as dense (N, N, D, D) blocks, ``J[i, j]`` acting on ``x_j`` in the force on ``x_i``
        (O(N^2 D^2) memory: for checks on small models).  Scalar couplings give ``J_ij I_D``."""
        nn, d = self._nk, self._dim
        if self._k_kind == P.K_CONV:
            return self._conv.blocks()
        if self._k_kind == P.K_BLOCK:
            out = np.zeros((nn, nn, d, d))
            rows, cols, m = self._block_entries()
            out[rows, cols] = m
            return out
        return self.coupling_dense()[:, :, None, None] * np.eye(d)

    def coupling_dense(self):
        """J as an (N, N) ndarray with zero diagonal (O(N^2) memory).

        Raises
        ------
        ValueError
            For block and convolutional couplings (use :meth:`coupling_blocks`).
        """
        nn = self._nk
        if self._k_kind in (P.K_BLOCK, P.K_CONV):
            raise ValueError("`coupling_dense` gives scalar couplings J_ij; this model's couplings are D x D blocks. "
                             "Use model.coupling_blocks() for the (N, N, D, D) array.")
        if self._k_kind == P.K_DENSE:
            return self._jd.copy()
        if self._k_kind == P.K_MEANFIELD:
            j = np.full((nn, nn), self.strength / nn)
        elif self._k_kind == P.K_LOWRANK:
            j = self._lowrank.factor.T @ (self._lowrank.scale[:, None] * self._lowrank.factor)
        else:
            j = np.zeros((nn, nn))
            j[self.edges[:, 0], self.edges[:, 1]] = self.edge_coupling
            j[self.edges[:, 1], self.edges[:, 0]] = self.edge_coupling
        np.fill_diagonal(j, 0.0)
        return j

    def _omega_lyapunov(self):
        """(is_lyapunov, reason) of the oscillator part: Omega, the stimulus and (for block and
        convolutional couplings) the symmetry of J (docs/theory.md §3.2, §3.3)."""
        if self._k_kind in (P.K_BLOCK, P.K_CONV):
            return self._block_lyapunov()
        if self._omega_kind == P.OMEGA_PER_UNIT:
            return False, (
                "per-unit omega (natural frequencies) makes the dynamics non-gradient: the energy is "
                "reported but is not a Lyapunov function"
            )
        if self._omega_kind == P.OMEGA_GLOBAL and self.stimulus is not None:
            oc = np.einsum("ab,nb->na", self.omega[0], self.stimulus)
            if np.max(np.abs(oc)) > 1e-12 * max(1.0, np.max(np.abs(self.stimulus))):
                return False, (
                    "a global omega with a stimulus needs Omega c_i = 0 for every unit; "
                    f"max |Omega c_i| = {np.max(np.abs(oc)):.3g}"
                )
        return True, ""

    def _lyapunov(self):
        return self._omega_lyapunov()

    def _block_lyapunov(self):
        """Block and convolutional couplings: E is a Lyapunov function exactly when J_ji = J_ij^T,
        Omega_i J_ij = J_ij Omega_j for every coupled pair (and i = j) and Omega_i c_i = 0."""
        if self._k_asym:
            if self._k_kind == P.K_CONV:
                return False, ("the convolution kernel is not symmetric under flipping and transposing "
                               f"(w[c, c', dy, dx] != w[c', c, -dy, -dx]; relative max difference "
                               f"{self._conv.asymmetry():.3g}), so J_ji != J_ij^T")
            jb = self._blocks
            return False, (f"the blocks are not symmetric (J_ji != J_ij^T; relative max difference "
                           f"{_asymmetry(jb, jb.transpose(1, 0, 3, 2)):.3g})")
        if self.omega is None:
            return True, ""
        d, nn = self._dim, self._nk
        om = np.broadcast_to(self.omega, (nn, d, d))
        scale = max(1.0, float(np.max(np.abs(self.omega))))
        res = self._omega_commutator(om)
        if res > 1e-12 * scale * max(1.0, self._coupling_scale()):
            return False, ("Omega does not commute with the coupling blocks (Omega_i J_ij != J_ij Omega_j; "
                           f"max difference {res:.3g}): the rotation changes the energy")
        field = self._field()
        if field is not None:
            oc = np.einsum("nab,nb->na", om, field)
            if np.max(np.abs(oc)) > 1e-12 * scale * max(1.0, float(np.max(np.abs(field)))):
                return False, ("Omega_i c_i must vanish for every unit (the stimulus, with a ConvCoupling's bias); "
                               f"max |Omega_i c_i| = {np.max(np.abs(oc)):.3g}")
        return True, ""

    def _coupling_scale(self):
        return float(np.max(np.abs(self._conv.weight if self._k_kind == P.K_CONV else self._blocks), initial=0.0))

    def _omega_commutator(self, om):
        """max |J_ij Omega_j - Omega_i J_ij| over the stored pair entries (and conv taps)."""
        if self._k_kind == P.K_BLOCK:
            rows, cols, m = self._block_entries()
            if rows.size == 0:
                return 0.0
            return float(np.max(np.abs(m @ om[cols] - om[rows] @ m)))
        conv = self._conv
        kk, d, (hh, ww), ks = conv.oscillators_per_pixel, self._dim, conv.grid, conv.kernel_size
        r = ks // 2
        per_pixel = om.reshape(kk, hh * ww, d, d)
        const = bool(np.all(per_pixel == per_pixel[:, :1]))  # one Omega per oscillator of a pixel
        per_pixel = per_pixel[:, :1].reshape(kk, 1, 1, d, d) if const else per_pixel.reshape(kk, hh, ww, d, d)
        w = conv.weight.reshape(kk, d, kk, d, ks, ks).transpose(0, 2, 4, 5, 1, 3)  # (k, k', dy, dx, D, D)
        worst = 0.0
        for dy in range(ks):
            for dx in range(ks):
                sy, sx = dy - r, dx - r
                if abs(sy) >= hh or abs(sx) >= ww:  # a tap the grid never reaches
                    continue
                # pixel p = (y, x) feels p' = (y + sy, x + sx) through w[:, :, dy, dx]
                src, dst = per_pixel, per_pixel
                if not const:
                    src = per_pixel[:, max(0, -sy) : hh - max(0, sy), max(0, -sx) : ww - max(0, sx)]
                    dst = per_pixel[:, max(0, sy) : hh - max(0, -sy), max(0, sx) : ww - max(0, -sx)]
                blk = w[:, :, dy, dx]  # (k, k', D, D)
                a = np.einsum("klab,lyxbc->klyxac", blk, dst)
                b = np.einsum("kyxab,klbc->klyxac", src, blk)
                worst = max(worst, float(np.max(np.abs(a - b), initial=0.0)))
        return worst

    def _row_bounds(self):
        """(Lambda_K, F_K): curvature bound of E_K on the unit ball and max force norm."""
        nn = self._nk
        inter = P.INTERACTIONS[self.interaction]
        if self._k_kind == P.K_CSR:
            indptr, _, _, jv, bv = self._csr
            rows = np.repeat(np.arange(nn), np.diff(indptr))
            jrow = np.bincount(rows, np.abs(jv), minlength=nn)
            brow = np.bincount(rows, np.abs(bv), minlength=nn)
            curv = jrow + _CURV[inter] * brow
            force = jrow + _DPHI_SUP[inter] * brow
        elif self._k_kind == P.K_DENSE:
            curv = force = np.sum(np.abs(self._jd), axis=1)
        elif self._k_kind == P.K_LOWRANK:
            u, d = self._lowrank.factor, self._lowrank.scale
            curv = force = np.abs(u).T @ (np.abs(d) * np.sum(np.abs(u), axis=1))
        elif self._k_kind == P.K_BLOCK:  # sum_j ||J_ij||_2 bounds the row's force and curvature
            rows, _, m = self._block_entries()
            curv = force = np.bincount(rows, np.linalg.norm(m, ord=2, axis=(1, 2)), minlength=nn)
        elif self._k_kind == P.K_CONV:  # an interior pixel's row: every tap and oscillator of the stencil
            conv = self._conv
            kk, d, ks = conv.oscillators_per_pixel, self._dim, conv.kernel_size
            w = conv.weight.reshape(kk, d, kk, d, ks, ks).transpose(0, 2, 4, 5, 1, 3)
            per_k = np.linalg.norm(w, ord=2, axis=(4, 5)).sum(axis=(1, 2, 3))
            curv = force = np.repeat(per_k, conv.grid[0] * conv.grid[1])
        else:
            curv = force = np.full(nn, abs(self.strength) * (nn - 1) / nn)
        field = self._field()
        if field is not None:
            force = force + np.linalg.norm(field, axis=1)
        return float(np.max(curv, initial=0.0)), float(np.max(force, initial=0.0))

    def _descent_terms(self, y):
        if self._omega_kind != P.OMEGA_NONE:
            return None
        lam_k, f_k = self._row_bounds()
        return 0.0, 1.0, lam_k, f_k, 0.0, 0.0

    # ------------------------------------------------------------ parameters
    def _parameters(self):
        out = {}
        if self._k_kind == P.K_CSR:
            out["coupling"] = self.edge_coupling
            if self.interaction != "linear":
                out["interaction_weights"] = self.edge_interaction_weights
        elif self._k_kind == P.K_DENSE:
            out["coupling"] = self._jd
        elif self._k_kind == P.K_LOWRANK:
            out["coupling"] = self._lowrank.factor
        elif self._k_kind == P.K_BLOCK:
            out["coupling"] = self._blocks
        elif self._k_kind == P.K_CONV:
            out["coupling"] = self._conv.weight
            if self._conv.bias is not None:
                out["coupling_bias"] = self._conv.bias
        else:
            out["strength"] = np.array(self.strength)
        if self.omega is not None:
            out["omega"] = self.omega[0] if self._omega_kind == P.OMEGA_GLOBAL else self.omega
        if self.stimulus is not None:
            out["stimulus"] = self.stimulus
        return out

    def _replace(self, new):
        cur = self._parameters()
        kw = dict(interaction=self.interaction, stimulus=new.get("stimulus", self.stimulus),
                  omega=new.get("omega", cur.get("omega")), n=self._nk)
        if self._k_kind == P.K_CSR:
            bw = new.get("interaction_weights", cur.get("interaction_weights"))
            return type(self)(self._dim, edges=self.edges, coupling=new.get("coupling", self.edge_coupling),
                              interaction_weights=bw, **kw)
        if self._k_kind == P.K_DENSE:
            return type(self)(self._dim, coupling=new.get("coupling", self._jd), **kw)
        if self._k_kind == P.K_BLOCK:
            blocks = new.get("coupling", self._blocks)
            if self._dense_blocks:
                return type(self)(self._dim, coupling=blocks, symmetrize=self._symmetrize, **kw)
            return type(self)(self._dim, edges=self.edges, coupling=BlockCoupling(blocks, self._btypes), **kw)
        if self._k_kind == P.K_CONV:
            conv = self._conv
            conv = ConvCoupling(new.get("coupling", conv.weight), new.get("coupling_bias", conv.bias), conv.grid,
                                conv.dim)
            return type(self)(self._dim, coupling=conv, **kw)
        if self._k_kind == P.K_LOWRANK:
            lr = self._lowrank
            factor = new.get("coupling", lr.factor)
            return type(self)(self._dim, coupling=LowRank(factor, lr.scale, zero_diagonal=lr.zero_diagonal), **kw)
        return type(self)(self._dim, coupling="mean-field", strength=float(new.get("strength", self.strength)), **kw)

    def _kuramoto_grads(self, fp_bar, ip):
        """Named gradients from a gradient over the flat float array ``fp``."""
        nn, d = self._nk, self._dim
        out = {}
        if self._k_kind == P.K_CSR:
            indptr, indices, eid, _, _ = self._csr
            ne = self.edges.shape[0]
            m = indices.shape[0]
            o = int(ip[P.I_O_K_J])
            out["coupling"] = np.bincount(eid, fp_bar[o : o + m], minlength=ne)
            if self.interaction != "linear":
                o = int(ip[P.I_O_K_B])
                out["interaction_weights"] = np.bincount(eid, fp_bar[o : o + m], minlength=ne)
        elif self._k_kind == P.K_DENSE:
            o = int(ip[P.I_O_J_DENSE])
            g = fp_bar[o : o + nn * nn].reshape(nn, nn)
            g = 0.5 * (g + g.T)
            np.fill_diagonal(g, 0.0)
            out["coupling"] = g
        elif self._k_kind == P.K_LOWRANK:
            lr = self._lowrank
            o = int(ip[P.I_O_K_FACTOR])
            g = fp_bar[o : o + lr.rank * nn].reshape(lr.rank, nn).copy()
            o = int(ip[P.I_O_K_DIAG])
            g += 2.0 * lr.scale[:, None] * lr.factor * fp_bar[o : o + nn][None, :]
            out["coupling"] = g
        elif self._k_kind == P.K_BLOCK:
            o = int(ip[P.I_O_K_BLOCKS])
            out["coupling"] = fp_bar[o : o + self._blocks.size].reshape(self._blocks.shape).copy()
        elif self._k_kind == P.K_CONV:
            conv = self._conv
            o = int(ip[P.I_O_K_CONV])
            out["coupling"] = conv.weight_from_tap_blocks(fp_bar[o : o + conv.weight.size])
            if conv.bias is not None:  # the bias enters as a field at every pixel
                o = int(ip[P.I_O_STIM])
                g = fp_bar[o : o + nn * d].reshape(conv.oscillators_per_pixel, -1, d)
                out["coupling_bias"] = g.sum(axis=1).ravel()
        else:
            out["strength"] = np.array(fp_bar[P.F_K_STRENGTH] / nn)
        if self.omega is not None:
            o = int(ip[P.I_O_OMEGA])
            k = self.omega.shape[0]
            g = fp_bar[o : o + k * d * d].reshape(k, d, d)
            g = 0.5 * (g - np.swapaxes(g, -1, -2))
            out["omega"] = g[0] if self._omega_kind == P.OMEGA_GLOBAL else g
        if self.stimulus is not None:
            o = int(ip[P.I_O_STIM])
            out["stimulus"] = fp_bar[o : o + nn * d].reshape(nn, d).copy()
        return out

    def _grads_from_fp(self, fp_bar, ip):
        return self._kuramoto_grads(fp_bar, ip)

    def __repr__(self):
        kind = {P.K_CSR: "edges", P.K_DENSE: "dense", P.K_LOWRANK: "low-rank", P.K_MEANFIELD: "mean-field",
                P.K_CONV: "conv", P.K_BLOCK: "dense blocks" if self._dense_blocks else "edge blocks"}[self._k_kind]
        return f"Kuramoto(n={self._nk}, dim={self._dim}, coupling={kind}, interaction={self.interaction!r})"


def pair_rotations(w, dim, n=None):
    """AKOrN's channel-pair rotations as an ``omega=`` for :class:`Kuramoto`.

    AKOrN's Omega layer rotates each pair of components ``(x_{2p}, x_{2p+1})`` of an
    oscillator as ``(x_{2p}, x_{2p+1}) -> (w_p x_{2p+1}, -w_p x_{2p})``: this is ``Omega x``
    with the block-diagonal antisymmetric ``Omega`` whose block ``p`` is
    ``[[0, w_p], [-w_p, 0]]`` (docs/theory.md §3.2; for D = 2 it is natural frequency
    ``-w`` in the convention of ``omega`` given as (N,) frequencies).

    Parameters
    ----------
    w : float or array_like
        A scalar (one rate for every pair), ``(D // 2,)`` (one rate per pair, the same for
        every oscillator) or ``(N, D // 2)`` (per oscillator and pair; ``n`` = N).
    dim : int
        D, even (the components come in pairs).
    n : int, optional
        The number of oscillators, checked against ``w`` of shape ``(N, D // 2)``.

    Returns
    -------
    ndarray
        ``(D, D)`` (one Omega for all) or ``(N, D, D)``.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> oh.pair_rotations(0.5, 4)
    array([[ 0. ,  0.5,  0. ,  0. ],
           [-0.5,  0. ,  0. ,  0. ],
           [ 0. ,  0. ,  0. ,  0.5],
           [ 0. ,  0. , -0.5,  0. ]])
    >>> kur = oh.Kuramoto(4, edges=oh.ring_edges(6), coupling=1.0, omega=oh.pair_rotations([0.5, 2.0], 4))
    """
    d = check_size(dim, "dim", minimum=2)
    if d % 2:
        raise ValueError(f"`dim` must be even for channel-pair rotations (the components come in pairs); got {d}. "
                         "Pass an (N, D, D) or (D, D) antisymmetric `omega` to Kuramoto for odd D.")
    rates = check_finite(as_float_array(w, "w"), "w")
    pairs = d // 2
    if rates.ndim == 0:
        rates = np.full(pairs, float(rates))
    if rates.ndim == 1:
        check_shape(rates, (pairs,), "w", f"Give a scalar, one rate per pair ({pairs},) or ({'N' if n is None else n}, "
                                          f"{pairs}) per oscillator.")
    elif rates.ndim == 2:
        if n is not None:
            check_shape(rates, (check_size(n, "n"), pairs), "w", "Give one rate per oscillator and pair.")
        elif rates.shape[1] != pairs:
            check_shape(rates, (rates.shape[0], pairs), "w", "Give one rate per oscillator and pair.")
    else:
        raise ValueError(f"`w` must be a scalar, ({pairs},) or (N, {pairs}); got shape {rates.shape}.")
    omega = np.zeros(rates.shape[:-1] + (d, d))
    p = np.arange(pairs)
    omega[..., 2 * p, 2 * p + 1] = rates
    omega[..., 2 * p + 1, 2 * p] = -rates
    return omega
