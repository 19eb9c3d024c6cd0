"""The right-hand side, energy and energy gradient of every oscihop model.

One set of functions evaluates all three models: threshold units (``nh > 0``),
oscillators (``nk > 0``) and their Hopfield-Kuramoto coupling (``hk_kind != HK_NONE``).
The flat state is ``y = [h (nh), x (nk * D) row-major]``.  The coupling terms themselves
live in :mod:`oscihop.kernels.terms`, one function per representation, and are reached
through :mod:`oscihop.kernels.dispatch`, which compiles only the ones the model's kind uses.

Equations (docs/theory.md §2-§5), with ``g = g(h)`` and ``s_ij = <x_i, x_j>``::

    dh_i/dt = (W g)_i - h_i + b_i + (1/kappa_h) sum_j a_ij s_ij g_j
    F_i     = c_i + sum_j (J_ij + B_ij phi'(s_ij)) x_j + (1/kappa_k) sum_j a_ij g_i g_j x_j
    dx_i/dt = Omega_i x_i + F_i - <F_i, x_i> x_i / |x_i|^2
    E       = kappa_h E_H + kappa_k E_K + E_HK

Every function but the ``batch_*`` wrappers is allocation-free and uses :mod:`math`
for scalar functions, so it is also CUDA device code: the kernels of
:mod:`oscihop.cuda` call :func:`system_rhs` and :func:`system_energy` directly (one
source for both backends).  Keep it that way: no NumPy ufuncs on scalars, no array
allocation, no slice assignment outside the ``batch_*`` wrappers.
"""

from __future__ import annotations

import math
import threading

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import carray, cfunc, uint64
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic, overload

from ..config import KERNEL, OVERLOAD, SERIAL, entry_jit, inline_jit, serial_jit
from .activations import activate, hessian_apply, lagrangian
from .dispatch import (
    fused_csr_fixed,
    fused_energy,
    hk_coupling,
    kind_of,
    kuramoto_coupling,
    kuramoto_forces,
    member_params,
    project_and_rotate,
    weights_matvec,
    whole_rhs,
)
from .fixed_dim import FUSED_ENERGY_INTERACTIONS, _build, has_fixed_dim
from .lanes import first, lane_sync, stride
from .terms import _dot, block_pass, conv_pass, dphi, phi  # noqa: F401  (re-exported: kernels elsewhere use them)
from .params import (
    ACT_SIGN,
    F_BETA,
    F_KAPPA_H,
    F_KAPPA_K,
    I_ACT,
    I_DIM,
    I_HAS_STIM,
    I_HK_KIND,
    I_K_ASYM,
    I_K_KIND,
    I_NH,
    I_NK,
    I_O_BIAS,
    I_O_STIM,
    I_SHARED_CSR,
    I_WORK_SIZE,
    K_BLOCK,
    SHARED_K_HK_W,
    SHARED_NONE,
    W_NONE,
    LinkedParams,
)

__all__ = [
    "fseg", "iseg", "csr_arrays", "evaluate_forces", "evaluate_energy", "system_rhs", "system_energy",
    "system_gradient", "symmetric_part", "batch_rhs", "batch_gradient", "batch_energy", "work_size",
    "retract_row", "lane_retract", "retract", "link", "linked_functions", "linked_rhs", "linked_energy",
    "linked_gradient", "linked_rhs_t", "linked_rhs_shared_t",
]


@serial_jit
def fseg(p, slot, length):
    """The float array stored at offset ``p.ip[slot]``, ``length`` entries (a view).

    CPU helper only: a CUDA device function cannot return a view of an array it did not
    receive, so the kernels below slice ``p.fp[p.ip[slot] : p.ip[slot] + length]`` inline.
    """
    o = p.ip[slot]
    return p.fp[o : o + length]


@serial_jit
def iseg(p, slot, length):
    """The int64 array stored at offset ``p.ip[slot]`` (a view)."""
    o = p.ip[slot]
    return p.ip[o : o + length]


@serial_jit
def csr_arrays(p, indptr_slot, indices_slot, n):
    """(indptr, indices) of a CSR structure stored in ``p.ip``."""
    indptr = iseg(p, indptr_slot, n + 1)
    return indptr, iseg(p, indices_slot, indptr[n])


@inline_jit
def retract_row(y, o, dim):
    """Scale the oscillator ``y[o : o + dim]`` to unit length (docs/theory.md §7: the retraction
    after each step); a zero vector stays zero (§7).  The one copy of this map: the CPU loops, the
    lockstep solvers, the adjoint and the CUDA block layout all call it."""
    s = 0.0
    for d in range(dim):
        s += y[o + d] * y[o + d]
    if s > 0:
        inv = 1.0 / math.sqrt(s)
        for d in range(dim):
            y[o + d] *= inv


@serial_jit
def lane_retract(p, ln, y):
    """:func:`retract_row` for every oscillator of the flat state ``y`` (Hopfield units unchanged),
    the oscillators split over the lanes ``ln`` (:mod:`oscihop.kernels.lanes`; a block waits
    before and after, since this works by rows)."""
    lane_sync(ln)
    nh, dim = p.ip[I_NH], p.ip[I_DIM]
    for i in range(first(ln), p.ip[I_NK], stride(ln)):
        retract_row(y, nh + i * dim, dim)
    lane_sync(ln)


@serial_jit
def retract(p, y):
    """:func:`lane_retract` on one thread."""
    lane_retract(p, None, y)


#: Whether a build of :func:`evaluate_forces` and :func:`evaluate_energy` may meet Hopfield
#: units: False only in the builds for a model kind without them (``w_kind`` W_NONE, so nh = 0;
#: :func:`_units`).  Numba prunes the branches on this constant, so those builds never type the
#: activation, ``W g`` or the Lagrangian (about 1 s of a Kuramoto model's first solve).
UNITS = True


#: Whether a build may take the path of separate coupling passes: False only in the builds for a
#: model kind whose couplings always go through the fused pass over their shared CSR structure
#: (:func:`_split`), which then compile neither ``kuramoto_forces``/``kuramoto_coupling`` nor
#: ``hk_coupling`` (about 1.5 s of the paper's model's first solve).
SPLIT = True


def _units(p_type):
    """Whether the bundle type ``p_type`` may have Hopfield units (always, for run-time dispatch)."""
    kind = kind_of(p_type)
    return kind is None or kind[0] != W_NONE


def _split(p_type, energy):
    """Whether the forces (or, with ``energy``, the energy) of bundle type ``p_type`` may need the
    separate passes: always for run-time dispatch, never for a kind on a shared CSR structure
    (``kind_spec`` records one only with D = 2..5, where the fused kernels exist), whose energy
    the fused sweep sums for the interactions of ``FUSED_ENERGY_INTERACTIONS``."""
    kind = kind_of(p_type)
    if kind is None or kind[4] == SHARED_NONE:
        return True
    return energy and kind[5] not in FUSED_ENERGY_INTERACTIONS


def _evaluate_forces(p, y, out, work):
    """The unprojected forces at ``y``, written into ``out``.

    The h part of ``out`` holds dh/dt, the x part holds F_i (stimulus + coupling + HK).
    ``work`` needs ``p.ip[I_WORK_SIZE]`` entries; on return ``work[:nh]`` holds g(h).
    Forces and energy are separate functions so that each compiles only its own code.
    """
    ip, fp = p.ip, p.fp
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    g = work[:nh]
    wg = work[nh : 2 * nh]
    buf = work[2 * nh :]
    # On a D with register-resident kernels: one fused pass over a CSR structure shared
    # by the couplings (W g included when W lives on it too).
    fixed = nk > 0 and has_fixed_dim(dim)
    shared = ip[I_SHARED_CSR] if fixed else SHARED_NONE
    w_fused = shared == SHARED_K_HK_W
    if UNITS:
        if nh > 0:
            bias = p.fp[p.ip[I_O_BIAS] : p.ip[I_O_BIAS] + nh]
            activate(None, ip[I_ACT], fp[F_BETA], y[:nh], g)
            if w_fused:  # the fused pass below writes dh/dt itself
                for i in range(nh):
                    wg[i] = 0.0
            else:
                weights_matvec(p, g, wg, buf)
                for i in range(nh):
                    out[i] = wg[i] - y[i] + bias[i]
    if nk > 0:
        has_stim = ip[I_HAS_STIM] != 0
        stim = p.fp[p.ip[I_O_STIM] : p.ip[I_O_STIM] + (nk * dim if has_stim else 0)]
        for k in range(nk * dim):
            out[nh + k] = stim[k] if has_stim else 0.0
        if shared != SHARED_NONE:
            fused_csr_fixed(p, y, g, out, w_fused)
        elif SPLIT:  # not compiled for a kind that always fuses
            kuramoto_forces(p, y, out, buf)
            if ip[I_HK_KIND] != 0:
                hk_coupling(p, y, g, out, buf, True, False)


def _evaluate_energy(p, y, work):
    """The total energy at ``y``; ``work`` as for :func:`evaluate_forces`."""
    ip, fp = p.ip, p.fp
    nh, nk, dim = ip[I_NH], ip[I_NK], ip[I_DIM]
    act, beta = ip[I_ACT], fp[F_BETA]
    g = work[:nh]
    wg = work[nh : 2 * nh]
    buf = work[2 * nh :]
    energy = 0.0
    if UNITS:
        if nh > 0:
            activate(None, act, beta, y[:nh], g)
    # A kind-specialised bundle on a shared CSR structure: W, Kuramoto and HK sums in one sweep.
    shared = ip[I_SHARED_CSR] if nk > 0 and has_fixed_dim(dim) else SHARED_NONE
    w_fused = shared == SHARED_K_HK_W
    fused, gwg, ek, ehk = fused_energy(p, y, g, w_fused)
    if UNITS:
        if nh > 0:
            bias = p.fp[p.ip[I_O_BIAS] : p.ip[I_O_BIAS] + nh]
            eh = 0.0
            if fused and w_fused:  # g.Wg came with the sweep
                if act == ACT_SIGN:
                    for i in range(nh):
                        eh -= g[i] * bias[i]
                else:
                    for i in range(nh):
                        eh += (y[i] - bias[i]) * g[i]
                eh -= 0.5 * gwg
            else:
                weights_matvec(p, g, wg, buf)
                if act == ACT_SIGN:
                    for i in range(nh):
                        eh -= g[i] * (0.5 * wg[i] + bias[i])
                else:
                    for i in range(nh):
                        eh += (y[i] - bias[i]) * g[i] - 0.5 * g[i] * wg[i]
            if act != ACT_SIGN:
                eh -= lagrangian(act, beta, y[:nh])
            energy += fp[F_KAPPA_H] * eh
    if nk > 0:
        has_stim = ip[I_HAS_STIM] != 0
        stim = p.fp[p.ip[I_O_STIM] : p.ip[I_O_STIM] + (nk * dim if has_stim else 0)]
        if SPLIT:  # not compiled for a kind whose sums are always fused
            if not fused:
                ek = kuramoto_coupling(p, y, work[:0], buf, False, True)
        if has_stim:
            for k in range(nk * dim):
                ek -= stim[k] * y[nh + k]
        energy += fp[F_KAPPA_K] * ek
        if ip[I_HK_KIND] != 0:
            if fused:
                energy += ehk
            elif SPLIT:
                energy += hk_coupling(p, y, g, work[:0], buf, False, True)
    return energy


def _as_is(f):
    return f


# The four builds of each (UNITS x SPLIT), plain Python functions: the overloads below return one as their
# implementation, so Numba compiles it in place of the stub (no wrapper between them, which
# would optimise the whole body again).
_BUILDS = [(units, split) for units in (True, False) for split in (True, False)]
_FORCES = {(u, s): _build(_evaluate_forces, f"units{int(u)}_split{int(s)}", _as_is, UNITS=u, SPLIT=s)
           for u, s in _BUILDS}
_ENERGY = {(u, s): _build(_evaluate_energy, f"units{int(u)}_split{int(s)}", _as_is, UNITS=u, SPLIT=s)
           for u, s in _BUILDS}


def evaluate_forces(p, y, out, work):
    """The unprojected forces at ``y`` (:func:`_evaluate_forces`, built without the Hopfield part
    for a kind that has no units, and without the separate coupling passes for a kind that always
    fuses them)."""
    _FORCES[True, True](p, y, out, work)


def evaluate_energy(p, y, work):
    """The total energy at ``y`` (:func:`_evaluate_energy`, built as :func:`evaluate_forces`)."""
    return _ENERGY[True, True](p, y, work)


@overload(evaluate_forces, target="generic", jit_options=KERNEL)
def _ol_evaluate_forces(p, y, out, work):
    return _FORCES[_units(p), _split(p, False)]


@overload(evaluate_energy, target="generic", jit_options=KERNEL)
def _ol_evaluate_energy(p, y, work):
    return _ENERGY[_units(p), _split(p, True)]


@inline_jit
def system_rhs(p, y, out, work):
    """out[:] = dy/dt at state ``y`` (flat, length ``nh + nk*D``)."""
    if whole_rhs(p, y, out):  # one-pass kernel of a kind-specialised mean-field model
        return
    evaluate_forces(p, y, out, work)
    project_and_rotate(p, y, out)


@inline_jit
def system_energy(p, y, work):
    """Total energy at ``y``."""
    return evaluate_energy(p, y, work)


@inline_jit
def system_gradient(p, y, out, work):
    """out[:] = dE/dy (ambient gradient; oscillators treated as free vectors).

    dE/dh = -kappa_h H_L(h) dh/dt and dE/dx_i = -kappa_k F_i (docs/theory.md §4.2); with
    non-symmetric block or convolutional couplings, F_i's pair part ``J x`` becomes
    ``(J x + J^T x) / 2`` (docs/theory.md §3.3), using ``nh + nk D`` more entries of ``work``.
    """
    nh = p.ip[I_NH]
    evaluate_forces(p, y, out, work)
    if p.ip[I_K_ASYM] != 0:
        symmetric_part(p, y, out, work[work.shape[0] - nh - p.ip[I_NK] * p.ip[I_DIM] :])
    if nh > 0:
        g = work[:nh]
        tmp = work[nh : 2 * nh]
        hessian_apply(p.ip[I_ACT], p.fp[F_BETA], y[:nh], g, out[:nh], tmp)
        for i in range(nh):
            out[i] = -p.fp[F_KAPPA_H] * tmp[i]
    for k in range(nh, y.shape[0]):
        out[k] = -p.fp[F_KAPPA_K] * out[k]


@serial_jit
def symmetric_part(p, y, out, tmp):
    """out[x] += (J^T x - J x) / 2 for block or convolutional couplings J (``tmp``: state-sized)."""
    nh, n = p.ip[I_NH], p.ip[I_NK]
    for k in range(tmp.shape[0]):
        tmp[k] = 0.0
    kuramoto_coupling(p, y, tmp, tmp, True, False)  # tmp[x] = J x
    for k in range(nh, tmp.shape[0]):
        tmp[k] *= -1.0
    xs = y[nh:]
    for i in range(n):  # tmp[x] += J^T x
        if p.ip[I_K_KIND] == K_BLOCK:
            block_pass(p, y, uint64(i), tmp, False, False, xs, tmp, tmp, True, False)
        else:
            conv_pass(p, y, i, tmp, False, False, xs, tmp, tmp, True, False)
    for k in range(nh, tmp.shape[0]):
        out[k] += 0.5 * tmp[k]


@entry_jit
def batch_rhs(p, ys, out):
    """Row-wise :func:`system_rhs` over a batch ``ys`` (B, size); a :class:`LinkedParams` ``p``
    calls its kind's compiled function (:func:`link`)."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        linked_rhs(p, ys[b], out[b], work)


@entry_jit
def batch_gradient(p, ys, out):
    """Row-wise :func:`system_gradient` over a batch (a :class:`LinkedParams` ``p`` linked with
    ``"gradient"``: the kind's compiled function)."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        linked_gradient(p, ys[b], out[b], work)


@entry_jit
def batch_energy(p, fps, ys, out):
    """out[b, t] = energy of ys[b, t] (B, T, size), member ``b`` with the float parameters
    ``fps[b]`` (or ``fps[0]`` for all; see :func:`oscihop.kernels.dispatch.member_params`)."""
    work = np.empty(p.ip[I_WORK_SIZE], dtype=ys.dtype)
    for b in range(ys.shape[0]):
        q = member_params(p, fps, b)
        for t in range(ys.shape[1]):
            out[b, t] = linked_energy(q, ys[b, t], work)


def work_size(nh, nk, dim, w_rank, k_rank):
    """Scratch entries one evaluation needs (see :func:`evaluate_forces`)."""
    return 2 * nh + max(w_rank, k_rank * dim, dim, 1) + 1


# ---------------------------------------------------------------- linked bundles
# The solver loops call the model through the linked_* functions below.  On the CPU the
# driver passes link(p): the loops then compile once for every model kind (their bundle type
# is the same LinkedParams) and call the kind's own functions (or the run-time-dispatched ones
# of SystemParams), each compiled on its own as a C function, by address.  Called with a
# SystemParams itself (the CUDA kernels, which cannot call by address) they are the functions
# themselves, inlined.
_cls = None  # the bundle class of a build of the C bodies below (bound by fixed_dim._build) ...
_fn = None  # ... and the function it wraps


def _row_c(fp, ip, y, out, work, n_fp, n_ip, n_y, n_out, n_work):
    """``_fn(p, y, out, work)`` (:func:`system_rhs`, :func:`system_gradient`) of one model kind on raw
    pointers (a C function: see :func:`link`)."""
    _fn(_cls(carray(fp, n_fp), carray(ip, n_ip)), carray(y, n_y), carray(out, n_out), carray(work, n_work))


def _energy_c(fp, ip, y, work, n_fp, n_ip, n_y, n_work):
    """:func:`system_energy` of one model kind on raw pointers, as a float64 (exact for float32)."""
    return np.float64(_fn(_cls(carray(fp, n_fp), carray(ip, n_ip)), carray(y, n_y), carray(work, n_work)))


def _batch_c(fp, ip, y, out, work, n_fp, n_ip, n_y0, n_y1, n_out0, n_out1, n_work):
    """``_fn(p, yt, out, work)`` of one model kind on a batch-innermost block (``yt``, ``out``: (size,
    B)): :func:`oscihop.kernels.batched.rhs_t` or ``rhs_shared_t``, on raw pointers."""
    _fn(_cls(carray(fp, n_fp), carray(ip, n_ip)), carray(y, (n_y0, n_y1)), carray(out, (n_out0, n_out1)),
        carray(work, n_work))


def _batched(name):
    from . import batched  # imports this module: looked up when first linked

    return getattr(batched, name)


#: What :func:`link` compiles, by :class:`LinkedParams` field: the function (looked up when first
#: needed), its C body, its return type and the dimensions of its arrays (fp, ip, y, [out,] work).
#: :func:`link` compiles the fields a caller names, ``_DEFAULT`` when it names none.
_LINKABLE = {
    "rhs": (lambda: system_rhs, _row_c, types.void, (1, 1, 1, 1, 1)),
    "energy": (lambda: system_energy, _energy_c, types.float64, (1, 1, 1, 1)),
    "gradient": (lambda: system_gradient, _row_c, types.void, (1, 1, 1, 1, 1)),
    "rhs_t": (lambda: _batched("rhs_t"), _batch_c, types.void, (1, 1, 2, 2, 1)),
    "rhs_shared_t": (lambda: _batched("rhs_shared_t"), _batch_c, types.void, (1, 1, 2, 2, 1)),
}
_DEFAULT = ("rhs", "energy")


def _check_arrays(name, names, arrays, ndims):
    """Field ``name``'s C function takes C-contiguous arrays of ``ndims`` dimensions, ``ip`` of int64
    and the others of the dtype of ``fp`` (what :func:`link` compiled it for): refuse others when the
    caller compiles."""
    for arg, a, nd in zip(names, arrays, ndims):
        if not (isinstance(a, types.Array) and a.ndim == nd and a.layout == "C"):
            raise TypingError(f"linked {name}: `{arg}` must be a {nd}-D C-contiguous array, got {a}")
        want = types.int64 if arg == "ip" else arrays[0].dtype
        if a.dtype != want:
            raise TypingError(f"linked {name}: `{arg}` must hold {want} (the bundle's dtype), got {a.dtype}")


def _c_signature(restype, dtypes, ndims):
    """The C signature :func:`_c_call` calls with arrays of ``dtypes`` and ``ndims``: a data pointer
    for each array, then each array's shape."""
    return restype(*[types.CPointer(numba.from_dtype(np.dtype(d))) for d in dtypes], *[types.int64] * sum(ndims))


def _c_call(context, builder, restype, arrays, values, addr):
    """Call the C function at ``addr`` with the data pointers of ``arrays`` (their Numba types and
    values) followed by their shapes; return its value."""
    structs = [context.make_array(t)(context, builder, v) for t, v in zip(arrays, values)]
    args = [a.data for a in structs]
    for t, a in zip(arrays, structs):
        args += cgutils.unpack_tuple(builder, a.shape, t.ndim)
    fnty = llvm_ir.FunctionType(context.get_value_type(restype), [a.type for a in args])
    return builder.call(builder.inttoptr(addr, fnty.as_pointer()), args)


def _caller(name):
    """The @intrinsic that calls field ``name``'s C function at ``addr`` on (fp, ip, y, [out,] work)."""
    restype, ndims = _LINKABLE[name][2:]

    def codegen(arrays):
        def gen(context, builder, signature, args):
            res = _c_call(context, builder, restype, arrays, args[1:], args[0])
            return context.get_dummy_value() if restype == types.void else res
        return gen

    rtype = types.none if restype == types.void else restype
    if len(ndims) == 5:
        def call(typingctx, addr, fp, ip, y, out, work):
            arrays = (fp, ip, y, out, work)
            _check_arrays(name, ("fp", "ip", "y", "out", "work"), arrays, ndims)
            return rtype(addr, *arrays), codegen(arrays)
    else:
        def call(typingctx, addr, fp, ip, y, work):
            arrays = (fp, ip, y, work)
            _check_arrays(name, ("fp", "ip", "y", "work"), arrays, ndims)
            return rtype(addr, *arrays), codegen(arrays)
    return intrinsic(call)


_CALLS = {name: _caller(name) for name in _LINKABLE}


def _linked(p_type):
    return isinstance(p_type, types.BaseNamedTuple) and p_type.instance_class is LinkedParams


def _overload_linked(stub, name):
    """Implement ``stub``: the call by address for a :class:`LinkedParams`, else the function itself."""
    field, call = LinkedParams._fields.index(name), _CALLS[name]
    msg = f"this LinkedParams has no `{name}` function: system.link(p, {name!r}) compiles it"

    if len(_LINKABLE[name][3]) == 5:
        @overload(stub, target="generic", jit_options=OVERLOAD)
        def ol(p, y, out, work):
            if not _linked(p):
                fn = _LINKABLE[name][0]()
                return lambda p, y, out, work: fn(p, y, out, work)

            def impl(p, y, out, work):
                if p[field] == 0:  # never call address 0
                    raise ValueError(msg)
                call(p[field], p.fp, p.ip, y, out, work)
            return impl
    else:
        @overload(stub, target="generic", jit_options=OVERLOAD)
        def ol(p, y, work):
            if not _linked(p):
                fn = _LINKABLE[name][0]()
                return lambda p, y, work: fn(p, y, work)

            def impl(p, y, work):
                if p[field] == 0:
                    raise ValueError(msg)
                return call(p[field], p.fp, p.ip, y, work)
            return impl


def linked_rhs(p, y, out, work):
    """out[:] = dy/dt at ``y``: :func:`system_rhs`, by address for a :class:`LinkedParams`."""
    system_rhs(p, y, out, work)


def linked_energy(p, y, work):
    """The energy at ``y``: :func:`system_energy`, by address for a :class:`LinkedParams`."""
    return system_energy(p, y, work)


def linked_gradient(p, y, out, work):
    """out[:] = dE/dy at ``y``: :func:`system_gradient`, by address for a :class:`LinkedParams`
    linked with ``"gradient"``."""
    system_gradient(p, y, out, work)


def linked_rhs_t(p, yt, out, work):
    """:func:`oscihop.kernels.batched.rhs_t` (a batch-innermost block), by address for a
    :class:`LinkedParams` linked with ``"rhs_t"``."""
    _batched("rhs_t")(p, yt, out, work)


def linked_rhs_shared_t(p, yt, out, work):
    """:func:`oscihop.kernels.batched.rhs_shared_t`, by address for a :class:`LinkedParams` linked
    with ``"rhs_shared_t"``."""
    _batched("rhs_shared_t")(p, yt, out, work)


for _stub in (linked_rhs, linked_energy, linked_gradient, linked_rhs_t, linked_rhs_shared_t):
    _overload_linked(_stub, _stub.__name__[len("linked_"):])

_LINKS = {}
_LINK_LOCK = threading.Lock()


def link(p, *names):
    """The bundle the CPU solver loops take for ``p`` (states of ``p.fp``'s dtype).

    The result is a :class:`LinkedParams` holding, for ``p``'s class, the addresses of the
    functions ``names`` names: ``"rhs"`` (:func:`system_rhs`) and ``"energy"``
    (:func:`system_energy`), which the loops over single trajectories call and which are what
    ``link(p)`` gives; ``"gradient"`` (:func:`system_gradient`); ``"rhs_t"`` and
    ``"rhs_shared_t"`` (the batch-innermost right-hand sides of :mod:`oscihop.kernels.batched`
    that the lockstep solvers call).  Each is compiled on its own as a C function for that dtype
    (once per process, or loaded from the disk cache), and only when a caller names it.  Those are
    a kind-specialised bundle's own terms or, for the run-time-dispatched :class:`SystemParams`
    (``OSCIHOP_SPECIALIZE=0``), the functions that select every term by the codes at run time.
    The loops themselves compile once for all kinds and both builds: users and the test suite
    run the same loops.  Fields not named hold 0, and a loop that calls one raises ``ValueError``
    (it never calls address 0).  A :class:`LinkedParams` with every function named is returned
    as it is.
    """
    names = names or _DEFAULT
    unknown = [name for name in names if name not in _LINKABLE]
    if unknown:
        raise ValueError(f"link: `names` must be among {sorted(_LINKABLE)}; got {unknown}")
    if type(p) is LinkedParams:
        if all(getattr(p, name) for name in names):
            return p
        raise ValueError(f"link: relink the model's own bundle (params) to add {list(names)}")
    dtype = np.dtype(p.fp.dtype)
    addrs = {name: _linked_function(type(p), dtype, name).address for name in names}
    return LinkedParams(p.fp, p.ip, *[addrs.get(name, 0) for name in LinkedParams._fields[2:]])


def _linked_function(cls, dtype, name):
    """Field ``name``'s C function for bundle class ``cls`` and ``dtype``: built (or loaded from the
    disk cache) once per process, and kept for its life (the address stays valid while it lives)."""
    key = (cls, dtype, name)
    func = _LINKS.get(key)
    if func is None:
        with _LINK_LOCK:  # one build per key even when threads link at once
            func = _LINKS.get(key)
            if func is None:
                wrapped, body, restype, ndims = _LINKABLE[name]
                dtypes = (dtype, np.int64) + (dtype,) * (len(ndims) - 2)
                sig = _c_signature(restype, dtypes, ndims)
                func = _LINKS[key] = _build(body, f"{name}_{cls.__name__}_{dtype.name}", cfunc(sig, **SERIAL),
                                            _cls=cls, _fn=wrapped())
    return func


def linked_functions(p, *names):
    """The compiled C functions ``link(p, *names)`` uses for ``p``'s kind and dtype (numba ``CFunc``
    objects: their ``cache_hits`` show disk-cache loads)."""
    dtype = np.dtype(p.fp.dtype)
    return tuple(_linked_function(type(p), dtype, name) for name in names or _DEFAULT)
