"""Coupling kernels specialised to the oscillator dimension D = 2..5.

Each kernel is written once, for any D, and built for each D by a factory that closes over
it, so D is a compile-time constant (Numba freezes closure variables; its disk cache keys
each build by them).  The row oscillator, the neighbour and the force accumulators are
:func:`~oscihop.kernels.elementary.local_vector` arrays of length D: once the loops over
D unroll, LLVM keeps them in registers, which a run-time D prevents.  Plain scalar code
(``math`` functions, no allocation, slices inline rather than returned views): it compiles
for the CPU and for CUDA alike.  :mod:`oscihop.kernels.dispatch` picks the build of a
model's D at typing time; the ``*_fixed`` functions pick it at run time (CUDA, gradients).

- ``KURAMOTO_CSR[D, interaction](p, y, out)``: ``out[x_i] += sum_j (J_ij + B_ij phi'(s_ij)) x_j``.
- ``FUSED_CSR[D, interaction](p, y, g, out, with_w)``: row by row over a CSR structure shared by the
  Kuramoto couplings, the HK coefficients and (``with_w``) the Hopfield weights: sets
  ``out[h_i] = (W g)_i - h_i + b_i`` (``with_w``), adds ``(1/kappa_h) sum_j a_ij s_ij g_j``
  to it, and adds the Kuramoto and ``(1/kappa_k) sum_j a_ij g_i g_j x_j`` terms into
  ``out[x_i]``, while the row's oscillator and accumulators stay in registers.
- ``FUSED_ENERGY[D](p, y, g, with_w)``: the W, Kuramoto and HK energy sums in one sweep
  over the shared CSR structure (linear and relu interactions), instead of three.
- ``MEANFIELD[D](p, y, out)``: ``out[x_i] += (K/N) (sum_j x_j - x_i)``.
- ``PROJECT_ROTATE[D](p, y, out)``: the tangent projection and Omega rotation in place.
- ``MEANFIELD_RHS[D](p, y, out)``: the whole dx/dt of a mean-field Kuramoto model without
  Hopfield units in one pass after the sum, so ``out`` is written once (the N = 1,000,000
  right-hand side is bound by memory traffic); False for a model with Hopfield units.
- ``FUSED_CSR_T[D](p, yt, gt, out, with_w)``: the fused pass with the batch innermost (the
  columns of ``yt``, size x B), for the lockstep solvers: one loop over the members per
  CSR entry, vectorised across them (the compiler only vectorises innermost loops, so the
  loops over D must unroll inside it).  Linear and relu interactions; False for another.
  Compiled with :func:`~oscihop.config.noalias_jit`, so the member loop vectorises from 8 members
  on rather than 32: ``yt``, ``gt`` and ``out`` must not overlap.

Every sum runs in the order of the generic kernels of :mod:`oscihop.kernels.terms`
(stimulus first, then the Kuramoto terms, then the HK terms, edge by edge), so results
match them to rounding (the compiler may contract multiply-adds differently).  Two things
keep the edge loops tight (paper model, D = 5: 134,250 entries, about 0.5 ms per fused
pass on one core):

- phi' is inlined into one edge loop per interaction (:func:`_edge_loop`), chosen once
  per row: a call per edge (LLVM does not inline it) spilled every register.
- Every array index is unsigned (``uint64``): Numba emits negative-index wraparound code
  (a sign test and a select per load) for a signed index it cannot prove non-negative,
  which is every gathered ``y[nh + indices[e] * D + d]``.
"""

from __future__ import annotations

import types

from numba import uint64

from ..config import inline_jit, noalias_jit, serial_jit
from .activations import dphi
from .elementary import local_vector
from .params import (
    F_K_STRENGTH,
    F_KAPPA_H,
    F_KAPPA_K,
    I_DIM,
    I_HAS_STIM,
    I_INTER,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_HK_A,
    I_O_K_B,
    I_O_K_INDICES,
    I_O_K_INDPTR,
    I_O_K_J,
    I_O_OMEGA,
    I_O_STIM,
    I_O_W_DATA,
    I_OMEGA_KIND,
    INT_LINEAR,
    INT_RELU,
    INT_SIGMOID,
    INT_TANH,
    OMEGA_GLOBAL,
    OMEGA_NONE,
)

__all__ = [
    "DIMS", "INTERACTION_CODES", "KURAMOTO_CSR", "FUSED_CSR", "FUSED_ENERGY", "MEANFIELD", "PROJECT_ROTATE",
    "MEANFIELD_RHS", "FUSED_CSR_T", "kuramoto_csr_fixed", "meanfield_fixed", "project_rotate_fixed",
    "fused_csr_fixed", "has_fixed_dim",
]

#: The oscillator dimensions with specialised kernels.
DIMS = (2, 3, 4, 5)
#: The interaction codes; the CSR force kernels are built for each (each compiles one edge loop).
INTERACTION_CODES = (INT_RELU, INT_LINEAR, INT_TANH, INT_SIGMOID)
#: The interactions whose energy :func:`_fused_energy` sums in its sweep (the others' pair
#: energy phi has no closed form there, and the caller sums it row by row).
FUSED_ENERGY_INTERACTIONS = (INT_RELU, INT_LINEAR)

_phi_prime = inline_jit(dphi.py_func)

# The per-D (and per-interaction) helpers a kernel calls are bound by ``_build`` as globals of
# that kernel's build; these module-level names are what the kernels' source refers to.
_edges = _project = _relu = _linear = _tanh = _sigmoid = _k2 = _k3 = _k4 = _k5 = None


def _build(func, tag, jit=serial_jit, **bound):
    """``jit`` (``serial_jit``) of ``func`` with the global names in ``bound`` bound to these objects, cached
    on disk under its own name (``func``'s qualified name + ``_`` + ``tag``).

    Numba keys its disk cache by a function's qualified name, its code and the pickled contents
    of its closure cells.  A dispatcher pickles with an id that changes from process to process,
    so one captured as a cell would never hit the cache (and would add an entry in every new
    process); the helpers therefore become globals of this build (a copy of the module's
    globals, taken after they are defined).  Builds that differ only in those globals would
    then share a key, so each gets its own name: ``tag`` must name what the build binds.
    """
    glb = dict(func.__globals__)
    glb.update(bound)
    f = types.FunctionType(func.__code__, glb, func.__name__, func.__defaults__, func.__closure__)
    f.__qualname__, f.__module__, f.__doc__ = f"{func.__qualname__}_{tag}", func.__module__, func.__doc__
    return jit(f)


# ------------------------------------------------------------------ row functions (inlined)
def _edge_loop(D, inter):
    """``a += sum_{e in [lo, hi)} (J_e + B_e phi'(<x, x_j>)) x_j`` for interaction ``inter``
    (``z``: scratch for x_j)."""

    @inline_jit
    def edges(code, y, nh, indices, jv, bv, lo, hi, x, a, z):  # code: the run-time one (unused here)
        for e in range(lo, hi):
            oj = nh + uint64(indices[e]) * uint64(D)
            s = 0.0
            for d in range(D):
                z[d] = y[oj + uint64(d)]
                s += x[d] * z[d]
            c = jv[e]
            if inter != INT_LINEAR:  # a compile-time constant
                c += bv[e] * _phi_prime(inter, s)
            for d in range(D):
                a[d] += c * z[d]

    return edges


def _edge_any(D):
    """The four edge loops of :func:`_edge_loop` behind a choice on the run-time ``code``: one
    build per D for the run-time-dispatched kernels (CUDA, gradients, ``OSCIHOP_SPECIALIZE=0``)
    instead of one per D and interaction, which halves their cold compile; it runs the paper
    model's fused pass 12-16% slower than a single loop (register shuffles), so the
    kind-specialised builds keep one loop each."""

    def edges(code, y, nh, indices, jv, bv, lo, hi, x, a, z):
        if code == INT_RELU:
            _relu(code, y, nh, indices, jv, bv, lo, hi, x, a, z)
        elif code == INT_LINEAR:
            _linear(code, y, nh, indices, jv, bv, lo, hi, x, a, z)
        elif code == INT_TANH:
            _tanh(code, y, nh, indices, jv, bv, lo, hi, x, a, z)
        else:
            _sigmoid(code, y, nh, indices, jv, bv, lo, hi, x, a, z)

    loops = {name: _edge_loop(D, c) for name, c in zip(("_relu", "_linear", "_tanh", "_sigmoid"), INTERACTION_CODES)}
    return _build(edges, f"d{D}", jit=inline_jit, **loops)


def _edges_for(D, inter):
    """The edge loop of interaction ``inter``, or the run-time choice of :func:`_edge_any` (None)."""
    return _edge_any(D) if inter is None else _edge_loop(D, inter)


def _tag(D, inter):
    return f"d{D}_any" if inter is None else f"d{D}_i{inter}"


def _project_rotate_row(D):
    """``f <- Omega x + f - <f, x> x / |x|^2`` for one oscillator (``o``: its Omega's offset)."""

    @inline_jit
    def project(x, f, okind, omega, o):
        fx = 0.0
        xx = 0.0
        for d in range(D):
            fx += f[d] * x[d]
            xx += x[d] * x[d]
        c = fx / xx if xx > 0 else 0.0
        for d in range(D):
            f[d] -= c * x[d]
        if okind != OMEGA_NONE:
            for r in range(D):
                w = 0.0
                for k in range(D):
                    w += omega[o + uint64(r * D + k)] * x[k]
                f[r] += w

    return project


@inline_jit
def _omega(p):
    """(kind, Omega array of the bundle: none, one D x D matrix, or one per oscillator)."""
    ip = p.ip
    okind = ip[I_OMEGA_KIND]
    n_om = 0 if okind == OMEGA_NONE else (1 if okind == OMEGA_GLOBAL else ip[I_NK])
    return okind, p.fp[ip[I_O_OMEGA] : ip[I_O_OMEGA] + n_om * ip[I_DIM] * ip[I_DIM]]


@inline_jit
def _shared_csr(p, with_w):
    """indptr, indices and the per-entry J, B, a (and W when ``with_w``) of the shared CSR."""
    ip = p.ip
    indptr = ip[ip[I_O_K_INDPTR] : ip[I_O_K_INDPTR] + ip[I_NK] + 1]
    ne = indptr[ip[I_NK]]
    indices = ip[ip[I_O_K_INDICES] : ip[I_O_K_INDICES] + ne]
    jv = p.fp[ip[I_O_K_J] : ip[I_O_K_J] + ne]
    bv = p.fp[ip[I_O_K_B] : ip[I_O_K_B] + ne]
    av = p.fp[ip[I_O_HK_A] : ip[I_O_HK_A] + ne]
    wv = p.fp[ip[I_O_W_DATA] : ip[I_O_W_DATA] + (ne if with_w else 0)]
    return indptr, indices, jv, bv, av, wv


# ------------------------------------------------------------------ kernels, one per D
def _kuramoto_csr(D, inter):
    def kuramoto_csr(p, y, out):
        """Kuramoto CSR force with D fixed (see the module docstring)."""
        ip = p.ip
        nh, n = uint64(ip[I_NH]), uint64(ip[I_NK])
        indptr, indices, jv, bv, _, _ = _shared_csr(p, False)
        x = local_vector(D, y)
        a = local_vector(D, y)
        z = local_vector(D, y)
        for i in range(n):
            oi = nh + i * uint64(D)
            for d in range(D):
                x[d] = y[oi + uint64(d)]
                a[d] = out[oi + uint64(d)]
            lo = uint64(indptr[i])
            hi = uint64(indptr[i + uint64(1)])
            _edges(ip[I_INTER], y, nh, indices, jv, bv, lo, hi, x, a, z)
            for d in range(D):
                out[oi + uint64(d)] = a[d]

    return _build(kuramoto_csr, _tag(D, inter), _edges=_edges_for(D, inter))


def _fused_csr(D, inter):
    def fused_csr(p, y, g, out, with_w):
        """W, Kuramoto and HK terms row by row over one shared CSR structure, D fixed."""
        ip = p.ip
        nh, n = uint64(ip[I_NH]), uint64(ip[I_NK])
        inv_kh = 1.0 / p.fp[F_KAPPA_H]
        inv_kk = 1.0 / p.fp[F_KAPPA_K]
        indptr, indices, jv, bv, av, wv = _shared_csr(p, with_w)
        bias = p.fp[ip[I_O_BIAS] : ip[I_O_BIAS] + (ip[I_NH] if with_w else 0)]
        x = local_vector(D, y)
        a = local_vector(D, y)
        z = local_vector(D, y)
        for i in range(n):
            oi = nh + i * uint64(D)
            lo = uint64(indptr[i])
            hi = uint64(indptr[i + uint64(1)])
            if with_w:
                wgi = 0.0
                for e in range(lo, hi):
                    wgi += wv[e] * g[uint64(indices[e])]
                out[i] = wgi - y[i] + bias[i]
            for d in range(D):
                x[d] = y[oi + uint64(d)]
                a[d] = out[oi + uint64(d)]
            _edges(ip[I_INTER], y, nh, indices, jv, bv, lo, hi, x, a, z)
            acc = 0.0
            gi = g[i]
            for e in range(lo, hi):
                j = uint64(indices[e])
                oj = nh + j * uint64(D)
                s = 0.0
                for d in range(D):
                    z[d] = y[oj + uint64(d)]
                    s += x[d] * z[d]
                ae = av[e]
                gj = g[j]
                acc += ae * s * gj
                c = ae * gi * gj * inv_kk
                for d in range(D):
                    a[d] += c * z[d]
            out[i] += acc * inv_kh
            for d in range(D):
                out[oi + uint64(d)] = a[d]

    return _build(fused_csr, _tag(D, inter), _edges=_edges_for(D, inter))


def _fused_energy(D):
    @serial_jit
    def fused_energy(p, y, g, with_w):
        """Energy sums over one shared CSR structure, D fixed: ``(done, g.Wg, E_K, E_HK)``
        with ``g.Wg = sum_i g_i (W g)_i`` (0 unless ``with_w``), ``E_K = -1/2 sum_e (J_e s_e +
        B_e phi(s_e))`` and ``E_HK = -1/2 sum_e a_e s_e g_i g_j``; ``done`` is False (nothing
        computed) for an interaction other than linear and relu."""
        ip = p.ip
        inter = ip[I_INTER]
        if inter not in FUSED_ENERGY_INTERACTIONS:
            return False, 0.0, 0.0, 0.0
        relu = inter == INT_RELU
        nh, n = uint64(ip[I_NH]), uint64(ip[I_NK])
        indptr, indices, jv, bv, av, wv = _shared_csr(p, with_w)
        x = local_vector(D, y)
        gwg = 0.0
        ek = 0.0
        ehk = 0.0
        for i in range(n):
            oi = nh + i * uint64(D)
            for d in range(D):
                x[d] = y[oi + uint64(d)]
            gi = g[i]
            wgi = 0.0
            uk = 0.0
            uh = 0.0
            for e in range(uint64(indptr[i]), uint64(indptr[i + uint64(1)])):
                j = uint64(indices[e])
                oj = nh + j * uint64(D)
                s = 0.0
                for d in range(D):
                    s += x[d] * y[oj + uint64(d)]
                gj = g[j]
                if with_w:
                    wgi += wv[e] * gj
                uk += jv[e] * s + (0.5 * bv[e] * s * s if relu and s > 0 else 0.0)
                uh += av[e] * s * gj
            gwg += gi * wgi
            ek -= 0.5 * uk
            ehk -= 0.5 * gi * uh
        return True, gwg, ek, ehk

    return fused_energy


def _meanfield(D):
    @serial_jit
    def meanfield(p, y, out):
        """Mean-field force (K/N) (sum_j x_j - x_i), D fixed, sums in registers."""
        ip = p.ip
        nh, n = uint64(ip[I_NH]), uint64(ip[I_NK])
        kn = p.fp[F_K_STRENGTH]
        m = local_vector(D, y)
        for d in range(D):
            m[d] = 0.0
        for j in range(n):
            for d in range(D):
                m[d] += y[nh + j * uint64(D) + uint64(d)]
        for i in range(n):
            oi = nh + i * uint64(D)
            for d in range(D):
                out[oi + uint64(d)] += kn * (m[d] - y[oi + uint64(d)])

    return meanfield


def _project_rotate(D):
    def project_rotate(p, y, out):
        """dx_i/dt = Omega_i x_i + F_i - <F_i, x_i> x_i / |x_i|^2, D fixed (in place)."""
        ip = p.ip
        nh, nk = uint64(ip[I_NH]), uint64(ip[I_NK])
        okind, omega = _omega(p)
        x = local_vector(D, y)
        f = local_vector(D, y)
        for i in range(nk):
            oi = nh + i * uint64(D)
            for d in range(D):
                x[d] = y[oi + uint64(d)]
                f[d] = out[oi + uint64(d)]
            _project(x, f, okind, omega, uint64(0) if okind == OMEGA_GLOBAL else i * uint64(D * D))
            for d in range(D):
                out[oi + uint64(d)] = f[d]

    return _build(project_rotate, f"d{D}", _project=_project_rotate_row(D))


def _meanfield_rhs(D):
    def meanfield_rhs(p, y, out):
        """dx/dt of a mean-field Kuramoto model, D fixed, in one pass over the oscillators;
        False (nothing written) when the model has Hopfield units."""
        ip = p.ip
        if ip[I_NH] != 0:
            return False
        n = uint64(ip[I_NK])
        kn = p.fp[F_K_STRENGTH]
        has_stim = ip[I_HAS_STIM] != 0
        stim = p.fp[ip[I_O_STIM] : ip[I_O_STIM] + (ip[I_NK] * D if has_stim else 0)]
        okind, omega = _omega(p)
        m = local_vector(D, y)
        x = local_vector(D, y)
        f = local_vector(D, y)
        for d in range(D):
            m[d] = 0.0
        for j in range(n):
            for d in range(D):
                m[d] += y[j * uint64(D) + uint64(d)]
        for i in range(n):
            oi = i * uint64(D)
            for d in range(D):
                x[d] = y[oi + uint64(d)]
                f[d] = (stim[oi + uint64(d)] if has_stim else 0.0) + kn * (m[d] - x[d])
            _project(x, f, okind, omega, uint64(0) if okind == OMEGA_GLOBAL else i * uint64(D * D))
            for d in range(D):
                out[oi + uint64(d)] = f[d]
        return True

    return _build(meanfield_rhs, f"d{D}", _project=_project_rotate_row(D))


def _fused_csr_t(D):
    @noalias_jit
    def fused_csr_t(p, yt, gt, out, with_w):
        """Fused W, Kuramoto and HK pass over the shared CSR structure, batch innermost, D fixed.

        ``yt``, ``gt`` and ``out`` must not overlap (:func:`~oscihop.config.noalias_jit`)."""
        ip = p.ip
        inter = ip[I_INTER]
        if inter != INT_RELU and inter != INT_LINEAR:
            return False
        relu = inter == INT_RELU
        nh, n = uint64(ip[I_NH]), uint64(ip[I_NK])
        nbu = uint64(yt.shape[1])
        inv_kh = 1.0 / p.fp[F_KAPPA_H]
        inv_kk = 1.0 / p.fp[F_KAPPA_K]
        indptr, indices, jv, bv, av, wv = _shared_csr(p, with_w)
        one, two, three, four = uint64(1), uint64(2), uint64(3), uint64(4)
        for i in range(n):
            r = nh + i * uint64(D)  # component d of oscillator i: row r + d
            for e in range(uint64(indptr[i]), uint64(indptr[i + one])):
                j = uint64(indices[e])
                q = nh + j * uint64(D)
                a = av[e]
                w = wv[e] if with_w else 0.0
                ah = a * inv_kh
                ak = a * inv_kk
                j0 = jv[e]
                bw = bv[e] if relu else 0.0
                # Rows, not a reshaped 1-D view: through the view LLVM lost the arguments' noalias,
                # and with it the vectorised loop below 32 members (docs/benchmarks.md).
                for m in range(nbu):  # D > k tests fold at compile time; unused (z0, x0) keep the dtype
                    z0, x0 = yt[q, m], yt[r, m]
                    z1, x1 = yt[q + one, m], yt[r + one, m]
                    z2, x2 = (yt[q + two, m], yt[r + two, m]) if D > 2 else (z0, x0)
                    z3, x3 = (yt[q + three, m], yt[r + three, m]) if D > 3 else (z0, x0)
                    z4, x4 = (yt[q + four, m], yt[r + four, m]) if D > 4 else (z0, x0)
                    s = x0 * z0 + x1 * z1
                    if D > 2:
                        s += x2 * z2
                    if D > 3:
                        s += x3 * z3
                    if D > 4:
                        s += x4 * z4
                    gm = gt[j, m]
                    out[i, m] += (w + ah * s) * gm
                    c = j0 + ak * gt[i, m] * gm + bw * max(s, 0.0)
                    out[r, m] += c * z0
                    out[r + one, m] += c * z1
                    if D > 2:
                        out[r + two, m] += c * z2
                    if D > 3:
                        out[r + three, m] += c * z3
                    if D > 4:
                        out[r + four, m] += c * z4
        return True

    return fused_csr_t


#: D -> kernel: what :mod:`oscihop.kernels.dispatch` and :mod:`oscihop.kernels.batched` pick from.
KURAMOTO_CSR = {(D, c): _kuramoto_csr(D, c) for D in DIMS for c in INTERACTION_CODES}
FUSED_CSR = {(D, c): _fused_csr(D, c) for D in DIMS for c in INTERACTION_CODES}
FUSED_ENERGY = {D: _fused_energy(D) for D in DIMS}
MEANFIELD = {D: _meanfield(D) for D in DIMS}
PROJECT_ROTATE = {D: _project_rotate(D) for D in DIMS}
MEANFIELD_RHS = {D: _meanfield_rhs(D) for D in DIMS}
FUSED_CSR_T = {D: _fused_csr_t(D) for D in DIMS}


# ------------------------------------------------------------------ run-time choice of D
@serial_jit
def has_fixed_dim(dim):
    """True when D = ``dim`` has specialised kernels."""
    return dim == 2 or dim == 3 or dim == 4 or dim == 5


def _by_dim(kernels, name):
    """A compiled ``run(p, *args)`` that calls ``kernels[D of p](p, *args)`` and returns
    True, or returns False for a D without a specialised kernel."""
    def run(p, *args):
        dim = p.ip[I_DIM]
        if dim == 2:
            _k2(p, *args)
        elif dim == 3:
            _k3(p, *args)
        elif dim == 4:
            _k4(p, *args)
        elif dim == 5:
            _k5(p, *args)
        return has_fixed_dim(dim)

    return _build(run, name, **{f"_k{D}": kernels[D] for D in DIMS})


#: ``(p, y, out)``: the CSR force for the bundle's D (interaction chosen per row); False for another D.
kuramoto_csr_fixed = _by_dim({D: _kuramoto_csr(D, None) for D in DIMS}, "kuramoto_csr")
#: ``(p, y, out)``: MEANFIELD for the bundle's D; False for another D.
meanfield_fixed = _by_dim(MEANFIELD, "meanfield")
#: ``(p, y, out)``: PROJECT_ROTATE for the bundle's D; False for another D.
project_rotate_fixed = _by_dim(PROJECT_ROTATE, "project_rotate")
#: ``(p, y, g, out, with_w)``: the fused CSR pass for the bundle's D (interaction chosen per row);
#: False for another D.
fused_csr_fixed = _by_dim({D: _fused_csr(D, None) for D in DIMS}, "fused_csr")
