"""Pick, at compile time, the coupling code a model kind uses.

Each function here is called from compiled code with the parameter bundle ``p``.  For a
bundle whose class records the model kind (:func:`oscihop.kernels.params.params_class`)
the overload returns only the implementation that kind runs, so Numba types, lowers and
optimises nothing else: the first call of a model compiles its own terms, not every
representation, interaction and specialised D the package has.  For the plain
:class:`~oscihop.kernels.params.SystemParams` it returns the run-time switch (``*_any``),
which is what the CUDA kernels and the gradients compile.  Called from Python (tests,
the CUDA simulator) the functions run the run-time switch.

The overloads are registered for the ``generic`` target, so CUDA device code resolves
them too.
"""

from __future__ import annotations

from numba.core import types
from numba.extending import overload

from ..config import OVERLOAD
from . import fixed_dim as FD
from . import terms as T
from .params import (
    HK_ALL,
    HK_CSR,
    K_BLOCK,
    K_CONV,
    K_CSR,
    K_DENSE,
    K_LOWRANK,
    K_MEANFIELD,
    K_NONE,
    SHARED_NONE,
    LinkedParams,
    W_CSR,
    W_DENSE,
    W_LOWRANK,
    W_NONE,
)

__all__ = [
    "kind_of", "weights_matvec", "kuramoto_coupling", "hk_coupling", "kuramoto_forces",
    "project_and_rotate", "fused_csr_fixed", "fused_energy", "whole_rhs", "member_params",
]

_W = {W_DENSE: T.weights_dense, W_CSR: T.weights_csr, W_LOWRANK: T.weights_lowrank}
_K = {K_CSR: T.kuramoto_csr, K_DENSE: T.kuramoto_dense, K_LOWRANK: T.kuramoto_lowrank,
      K_MEANFIELD: T.kuramoto_meanfield, K_BLOCK: T.kuramoto_block, K_CONV: T.kuramoto_conv}
_HK = {HK_CSR: T.hk_csr, HK_ALL: T.hk_all}


def kind_of(p_type):
    """The kind tuple recorded by the Numba type of a bundle, or None (run-time dispatch)."""
    if isinstance(p_type, types.BaseNamedTuple):
        return getattr(p_type.instance_class, "SPEC", None)
    return None


# ---------------------------------------------------------------- stubs (Python callers)
def weights_matvec(p, g, out, buf):
    """out[:] = W g for the Hopfield weights in ``p``; ``buf`` holds >= rank entries."""
    T.weights_any(p, g, out, buf)


def kuramoto_coupling(p, y, out, buf, want_force, want_energy):
    """Add the Kuramoto coupling forces into ``out``'s oscillator part; return its energy."""
    return T.kuramoto_any(p, y, out, buf, want_force, want_energy)


def hk_coupling(p, y, g, out, buf, want_force, want_energy):
    """Add the Hopfield-Kuramoto terms into ``out``; return E_HK."""
    return T.hk_any(p, y, g, out, buf, want_force, want_energy)


def kuramoto_forces(p, y, out, buf):
    """Add the Kuramoto coupling forces into ``out`` (register-resident kernels for D = 2..5)."""
    T.kuramoto_forces_any(p, y, out, buf)


def project_and_rotate(p, y, out):
    """Turn forces F_i (in out) into dx_i/dt = Omega_i x_i + P_i(F_i), in place."""
    T.project_rotate_any(p, y, out)


def fused_csr_fixed(p, y, g, out, with_w):
    """One fused pass over the shared CSR structure for D = 2..5; False for another D."""
    return FD.fused_csr_fixed(p, y, g, out, with_w)


def fused_energy(p, y, g, with_w):
    """``(done, g.Wg, E_K, E_HK)`` from one sweep over the CSR structure shared by the
    couplings, for a kind-specialised bundle with D = 2..5 and a linear or relu interaction
    (see ``fixed_dim.FUSED_ENERGY``); ``done`` is False where no such kernel applies
    (the caller then sums the terms apart), always so for run-time dispatch."""
    return False, 0.0, 0.0, 0.0


def whole_rhs(p, y, out):
    """Write all of dy/dt in one pass where the model kind has such a kernel (a mean-field
    Kuramoto model without Hopfield units, D = 2..5) and return True; else False, with
    ``out`` untouched.  Called from Python it always returns False (the general path)."""
    return False


def member_params(p, fps, b):
    """Batch member ``b``'s bundle: the structure of ``p`` (``p.ip``, shared by every member)
    with the float row ``fps[b]`` (docs/theory.md §9).  ``fps`` holds one row per member
    of a stack of models (:func:`oscihop.stack`), or one row that every member shares.
    The one place the layout drivers of the CPU read per-member parameters."""
    return p._replace(fp=fps[min(b, fps.shape[0] - 1)])


# ---------------------------------------------------------------- overloads (compiled callers)
@overload(member_params, target="generic", jit_options=OVERLOAD)
def _ol_member_params(p, fps, b):
    cls = p.instance_class
    if cls is LinkedParams:  # the kind's compiled functions go with every member's row
        return lambda p, fps, b: LinkedParams(fps[min(b, fps.shape[0] - 1)], p.ip, p.rhs, p.energy, p.gradient,
                                              p.rhs_t, p.rhs_shared_t)
    return lambda p, fps, b: cls(fps[min(b, fps.shape[0] - 1)], p.ip)


@overload(weights_matvec, target="generic", jit_options=OVERLOAD)
def _ol_weights_matvec(p, g, out, buf):
    spec = kind_of(p)
    if spec is None:
        return lambda p, g, out, buf: T.weights_any(p, g, out, buf)
    impl = _W.get(spec[0], T.weights_none)
    return lambda p, g, out, buf: impl(p, g, out, buf)


@overload(kuramoto_coupling, target="generic", jit_options=OVERLOAD)
def _ol_kuramoto_coupling(p, y, out, buf, want_force, want_energy):
    spec = kind_of(p)
    if spec is None:
        return lambda p, y, out, buf, want_force, want_energy: T.kuramoto_any(p, y, out, buf, want_force,
                                                                                want_energy)
    impl = _K.get(spec[1], T.kuramoto_none)
    return lambda p, y, out, buf, want_force, want_energy: impl(p, y, out, buf, want_force, want_energy)


@overload(hk_coupling, target="generic", jit_options=OVERLOAD)
def _ol_hk_coupling(p, y, g, out, buf, want_force, want_energy):
    spec = kind_of(p)
    if spec is None:
        return lambda p, y, g, out, buf, want_force, want_energy: T.hk_any(p, y, g, out, buf, want_force,
                                                                           want_energy)
    impl = _HK.get(spec[2], T.hk_none)
    return lambda p, y, g, out, buf, want_force, want_energy: impl(p, y, g, out, buf, want_force, want_energy)


@overload(kuramoto_forces, target="generic", jit_options=OVERLOAD)
def _ol_kuramoto_forces(p, y, out, buf):
    spec = kind_of(p)
    if spec is None:
        return lambda p, y, out, buf: T.kuramoto_forces_any(p, y, out, buf)
    impl = {K_CSR: FD.KURAMOTO_CSR.get((spec[3], spec[5])), K_MEANFIELD: FD.MEANFIELD.get(spec[3])}.get(spec[1])
    if impl is not None:
        return lambda p, y, out, buf: impl(p, y, out)
    coupling = _K.get(spec[1], T.kuramoto_none)

    def run(p, y, out, buf):
        coupling(p, y, out, buf, True, False)

    return run


@overload(project_and_rotate, target="generic", jit_options=OVERLOAD)
def _ol_project_and_rotate(p, y, out):
    spec = kind_of(p)
    if spec is None:
        return lambda p, y, out: T.project_rotate_any(p, y, out)
    if spec[1] == K_NONE:  # no oscillators: nothing to project (and nothing compiled)
        return lambda p, y, out: None
    impl = FD.PROJECT_ROTATE.get(spec[3], T.project_rotate_loop)  # the loop for a D without a kernel
    return lambda p, y, out: impl(p, y, out)


@overload(fused_csr_fixed, target="generic", jit_options=OVERLOAD)
def _ol_fused_csr_fixed(p, y, g, out, with_w):
    spec = kind_of(p)
    if spec is None:
        return lambda p, y, g, out, with_w: FD.fused_csr_fixed(p, y, g, out, with_w)
    impl = FD.FUSED_CSR.get((spec[3], spec[5])) if spec[4] != SHARED_NONE else None
    if impl is None:
        return lambda p, y, g, out, with_w: False

    def run(p, y, g, out, with_w):
        impl(p, y, g, out, with_w)
        return True

    return run



@overload(whole_rhs, target="generic", jit_options=OVERLOAD)
def _ol_whole_rhs(p, y, out):
    spec = kind_of(p)
    impl = None
    if spec is not None and spec[0] == W_NONE and spec[1] == K_MEANFIELD:
        impl = FD.MEANFIELD_RHS.get(spec[3])
    if impl is None:  # run-time dispatch (CUDA, gradients) and every other kind: nothing compiled
        return lambda p, y, out: False
    return lambda p, y, out: impl(p, y, out)


@overload(fused_energy, target="generic", jit_options=OVERLOAD)
def _ol_fused_energy(p, y, g, with_w):
    spec = kind_of(p)
    impl = None
    if spec is not None and spec[4] != SHARED_NONE:
        impl = FD.FUSED_ENERGY.get(spec[3])
    if impl is None:
        return lambda p, y, g, with_w: (False, 0.0, 0.0, 0.0)
    return lambda p, y, g, with_w: impl(p, y, g, with_w)
