"""The parameter bundle every compiled kernel reads.

All three models (Hopfield, Kuramoto, Hopfield-Kuramoto) compile down to two flat
arrays: ``fp`` (floats) and ``ip`` (a header of integer codes, sizes and offsets, then
index arrays).  Unused parts hold empty arrays.

The arrays travel in a namedtuple whose *class* says which coupling representations the
model uses (:func:`params_class`).  The class is part of the Numba type, so each kernel
is compiled once per kind of model (and float dtype), and the dispatchers of
:mod:`oscihop.kernels.dispatch` type and compile only the branches that kind uses.  That
keeps a first call's compile time to the code the model runs.  The plain
:class:`SystemParams` (no kind) selects by the codes at run time, so one compilation
serves every model: the CUDA kernels and the gradient code use it, and so does
everything when the environment variable ``OSCIHOP_SPECIALIZE=0`` is set.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

__all__ = [
    "ACT_TANH", "ACT_SIGMOID", "ACT_RELU", "ACT_SOFTMAX", "ACT_SIGN", "ACTIVATIONS", "W_NONE", "W_DENSE",
    "W_CSR", "W_LOWRANK", "K_NONE", "K_DENSE", "K_CSR", "K_LOWRANK", "K_MEANFIELD", "K_BLOCK", "K_CONV", "INT_LINEAR",
    "INT_RELU", "INT_TANH", "INT_SIGMOID", "INTERACTIONS", "OMEGA_NONE", "OMEGA_GLOBAL", "OMEGA_PER_UNIT",
    "HK_NONE", "HK_CSR", "HK_ALL", "SHARED_NONE", "SHARED_K_HK", "SHARED_K_HK_W", "SystemParams", "LinkedParams",
    "SPEC_FIELDS", "params_class", "spec_of", "generic", "specialize", "specialize_enabled", "kind_spec",
    "INT_HEADER", "F_BETA", "F_K_STRENGTH", "F_HK_ALPHA", "F_KAPPA_H", "F_KAPPA_K", "FLOAT_HEADER",
    "pack_params", "shared_csr_code",
]

# activation codes
ACT_TANH, ACT_SIGMOID, ACT_RELU, ACT_SOFTMAX, ACT_SIGN = 0, 1, 2, 3, 4
ACTIVATIONS = {"tanh": ACT_TANH, "sigmoid": ACT_SIGMOID, "relu": ACT_RELU, "softmax": ACT_SOFTMAX, "sign": ACT_SIGN}

# Hopfield weight representations
W_NONE, W_DENSE, W_CSR, W_LOWRANK = 0, 1, 2, 3

# Kuramoto coupling representations: scalar J_ij (times I_D) dense, per edge (CSR), low-rank or
# mean-field; D x D blocks J_ij per stored pair (CSR, each entry naming its block); a 2-D
# convolution over an image grid (a stencil; docs/theory.md §3.3)
K_NONE, K_DENSE, K_CSR, K_LOWRANK, K_MEANFIELD, K_BLOCK, K_CONV = 0, 1, 2, 3, 4, 5, 6

# pair interactions phi
INT_LINEAR, INT_RELU, INT_TANH, INT_SIGMOID = 0, 1, 2, 3
INTERACTIONS = {"linear": INT_LINEAR, "relu": INT_RELU, "tanh": INT_TANH, "sigmoid": INT_SIGMOID}

# natural rotation Omega
OMEGA_NONE, OMEGA_GLOBAL, OMEGA_PER_UNIT = 0, 1, 2

# Hopfield-Kuramoto coupling
HK_NONE, HK_CSR, HK_ALL = 0, 1, 2

# shared CSR structures: none; Kuramoto couplings and HK coefficients on one graph;
# those two and the sparse Hopfield weights on one graph (the paper's small-world model)
SHARED_NONE, SHARED_K_HK, SHARED_K_HK_W = 0, 1, 2

#: The bundle every kernel takes: ``fp`` (float array: scalars then arrays) and ``ip``
#: (int64 array: a header of codes, sizes and offsets, then index arrays).  Two flat
#: arrays keep the compiled signatures small, so kernels compile quickly.
SystemParams = namedtuple("SystemParams", ["fp", "ip"])

#: A bundle handed to the CPU solver loops with the machine addresses of its kind's compiled
#: right-hand side and energy, and if asked for its energy gradient and batch-innermost
#: right-hand sides (0 where not; see :func:`oscihop.kernels.system.link`).  The loops compile
#: once for every model kind and call the kind's functions by address; each kind compiles only
#: its own terms.
LinkedParams = namedtuple("LinkedParams", ["fp", "ip", "rhs", "energy", "gradient", "rhs_t", "rhs_shared_t"])

#: What a specialised bundle's class records: the Hopfield weight, Kuramoto coupling and HK
#: coupling representations, D when it has register-resident kernels (2..5, else 0) and
#: the SHARED_* code of the CSR structures and the Kuramoto interaction code (both
#: meaningful with a specialised D only).
SPEC_FIELDS = ("w_kind", "k_kind", "hk_kind", "fixed_dim", "shared_csr", "inter")
_SPEC_PREFIX = "SystemParams_"
_SPEC_CLASSES = {}


def params_class(spec):
    """The namedtuple class (fields ``fp``, ``ip``) of a model kind ``spec`` (cached).

    ``spec`` is a tuple of ints in the order of :data:`SPEC_FIELDS`; ``None`` gives the
    run-time-dispatched :class:`SystemParams`.  The class lives in this module under a name
    that encodes ``spec`` (module ``__getattr__`` rebuilds it), so Numba's on-disk cache can
    pickle and reload signatures that contain it.
    """
    if spec is None:
        return SystemParams
    spec = tuple(int(v) for v in spec)
    if len(spec) != len(SPEC_FIELDS):
        raise ValueError(f"spec must have {len(SPEC_FIELDS)} entries {SPEC_FIELDS}, got {spec}")
    cls = _SPEC_CLASSES.get(spec)
    if cls is None:
        name = _SPEC_PREFIX + "_".join(str(v) for v in spec)
        cls = namedtuple(name, ["fp", "ip"], module=__name__)
        cls.SPEC = spec
        _SPEC_CLASSES[spec] = cls
    return cls


def __getattr__(name):  # PEP 562: specialised classes are created on demand (unpickling)
    if name.startswith(_SPEC_PREFIX):
        try:
            spec = tuple(int(v) for v in name[len(_SPEC_PREFIX):].split("_"))
        except ValueError:
            spec = ()
        if len(spec) == len(SPEC_FIELDS):
            return params_class(spec)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def spec_of(p):
    """The kind tuple of a bundle ``p`` (or of its class), None for :class:`SystemParams`."""
    cls = p if isinstance(p, type) else type(p)
    return getattr(cls, "SPEC", None)


def generic(p):
    """``p`` as a run-time-dispatched :class:`SystemParams` (same arrays, no copy)."""
    return p if type(p) is SystemParams else SystemParams(p.fp, p.ip)


def specialize(p):
    """``p`` as the bundle of its model kind (the class :func:`params_class` gives; no copy)."""
    ints = {name: int(p.ip[k]) for k, name in enumerate(_INT_SLOTS)}
    return params_class(kind_spec(ints))(p.fp, p.ip)


def specialize_enabled():
    """False when the environment sets ``OSCIHOP_SPECIALIZE=0`` (one generic compilation)."""
    import os

    return os.environ.get("OSCIHOP_SPECIALIZE", "1").strip().lower() not in ("0", "false", "no", "off")


def kind_spec(ints):
    """The :data:`SPEC_FIELDS` tuple of a header given as a dict of ints.

    ``w_kind`` is ``W_NONE`` exactly when there are no Hopfield units: the kernels built for such
    a kind leave the Hopfield part out (``system.evaluate_forces``), so units without a weight
    representation are refused here rather than ignored there."""
    nk, dim = ints["nk"], ints["dim"]
    if ints["nh"] > 0 and ints["w_kind"] == W_NONE:
        raise ValueError(f"pack_params: {ints['nh']} Hopfield units need a weight representation "
                         "(`w_kind` dense, CSR or low rank); got W_NONE.")
    fixed = dim if (nk > 0 and 2 <= dim <= 5) else 0
    return (ints["w_kind"] if ints["nh"] > 0 else W_NONE, ints["k_kind"] if nk > 0 else K_NONE,
            ints["hk_kind"] if nk > 0 else HK_NONE, fixed, ints["shared_csr"] if fixed else SHARED_NONE,
            ints["inter"] if fixed else 0)

# ---- int header slots (ip[slot])
_INT_SLOTS = [
    "nh", "act", "w_kind", "w_rank", "nk", "dim", "k_kind", "inter", "k_rank", "has_stim",
    "omega_kind", "hk_kind", "work_size",
    # a convolutional coupling: grid height and width, kernel size (odd); K = nk / (H W)
    "conv_h", "conv_w", "conv_ks",
    # 1 when block or convolutional couplings are not symmetric (J_ji != J_ij^T): the energy's
    # gradient is then -(c + (J + J^T) x / 2), not -F (docs/theory.md §3.3)
    "k_asym",
    # offsets into fp
    "o_bias", "o_w_dense", "o_w_data", "o_w_factor", "o_w_scale", "o_w_diag", "o_j_dense", "o_k_j",
    "o_k_b", "o_k_blocks", "o_k_conv", "o_k_factor", "o_k_scale", "o_k_diag", "o_stim", "o_omega", "o_hk_a",
    # offsets into ip
    "o_w_indptr", "o_w_indices", "o_k_indptr", "o_k_indices", "o_k_bidx", "o_hk_indptr", "o_hk_indices",
    # which CSR structures coincide (SHARED_* below): lets kernels fuse their passes
    "shared_csr",
]
for _k, _name in enumerate(_INT_SLOTS):
    globals()["I_" + _name.upper()] = _k
INT_HEADER = len(_INT_SLOTS)

# ---- float scalar slots (fp[slot])
F_BETA, F_K_STRENGTH, F_HK_ALPHA, F_KAPPA_H, F_KAPPA_K = range(5)
FLOAT_HEADER = 5

_FLOAT_ARRAYS = ["bias", "w_dense", "w_data", "w_factor", "w_scale", "w_diag", "j_dense", "k_j", "k_b",
                 "k_blocks", "k_conv", "k_factor", "k_scale", "k_diag", "stim", "omega", "hk_a"]
_INT_ARRAYS = ["w_indptr", "w_indices", "k_indptr", "k_indices", "k_bidx", "hk_indptr", "hk_indices"]
_FLOAT_SCALARS = {"beta": F_BETA, "k_strength": F_K_STRENGTH, "hk_alpha": F_HK_ALPHA,
                  "kappa_h": F_KAPPA_H, "kappa_k": F_KAPPA_K}
_DEFAULT_SCALARS = {"beta": 1.0, "k_strength": 0.0, "hk_alpha": 0.0, "kappa_h": 1.0, "kappa_k": 1.0}
_DEFAULT_INTS = {"nh": 0, "act": ACT_TANH, "w_kind": W_NONE, "nk": 0, "dim": 1, "k_kind": K_NONE,
                 "inter": INT_LINEAR, "omega_kind": OMEGA_NONE, "hk_kind": HK_NONE, "conv_h": 0, "conv_w": 0,
                 "conv_ks": 0, "k_asym": 0}


_NO_FACTOR, _NO_FLOATS, _NO_INDEX = np.zeros((0, 0)), np.zeros(0), np.zeros(1, dtype=np.int64)


def pack_params(dtype, fields, work_size):
    """Lay named model fields out in the two flat arrays of a :class:`SystemParams`.

    ``fields`` maps the names above (``nh``, ``bias``, ``w_dense``, ...) to ints,
    floats or arrays; absent arrays are empty and absent codes mean "no such part".
    """
    ints = dict(_DEFAULT_INTS)
    ints.update({k: int(v) for k, v in fields.items() if k in _DEFAULT_INTS})
    ints["w_rank"] = int(np.shape(fields.get("w_factor", _NO_FACTOR))[0])
    ints["k_rank"] = int(np.shape(fields.get("k_factor", _NO_FACTOR))[0])
    ints["has_stim"] = int(np.size(fields.get("stim", ())) > 0)
    ints["work_size"] = int(work_size)
    ints["shared_csr"] = shared_csr_code(ints, fields)
    fchunks = [np.array([fields.get(k, _DEFAULT_SCALARS[k]) for k in sorted(_FLOAT_SCALARS, key=_FLOAT_SCALARS.get)],
                        dtype=np.float64)]
    pos = FLOAT_HEADER
    for name in _FLOAT_ARRAYS:
        ints["o_" + name] = pos
        if name in fields:  # an absent array takes no room (its offset is the next one's)
            arr = np.ascontiguousarray(fields[name], dtype=np.float64).ravel()
            fchunks.append(arr)
            pos += arr.size
    ichunks = []
    ipos = INT_HEADER
    for name in _INT_ARRAYS:
        arr = np.ascontiguousarray(fields[name], dtype=np.int64).ravel() if name in fields else _NO_INDEX
        ints["o_" + name] = ipos
        ichunks.append(arr)
        ipos += arr.size
    header = np.array([ints[name] for name in _INT_SLOTS], dtype=np.int64)
    ip = np.concatenate([header] + ichunks)
    fp = np.concatenate(fchunks).astype(dtype, copy=False)  # no second copy of large factors
    cls = params_class(kind_spec(ints)) if specialize_enabled() else SystemParams
    return cls(fp, ip)


def shared_csr_code(ints, fields):
    """SHARED_* code: which of the Kuramoto, HK and Hopfield CSR structures are identical."""
    def same(a, b):
        a, b = fields.get(a), fields.get(b)
        return a is not None and b is not None and np.array_equal(a, b)

    if not (ints["k_kind"] == K_CSR and ints["hk_kind"] == HK_CSR and ints["nh"] == ints["nk"]):
        return SHARED_NONE
    if not (same("k_indptr", "hk_indptr") and same("k_indices", "hk_indices")):
        return SHARED_NONE
    if ints["w_kind"] == W_CSR and same("w_indptr", "k_indptr") and same("w_indices", "k_indices"):
        return SHARED_K_HK_W
    return SHARED_K_HK
