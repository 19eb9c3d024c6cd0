"""Models to plain dictionaries and back: JSON-able parameters plus named arrays.

The dictionary layout is the one trajectory and sweep stores write: scalar parameters go
to JSON attributes, every array (weights, edges, couplings, patterns...) to its own
array, so a large coupling never ends up in an attribute.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from .._validation import as_float_array
from ..couplings import BlockCoupling, ConvCoupling, LowRank
from ..kernels import params as P
from ..models import Hopfield, HopfieldKuramoto, Kuramoto
from ..models.coupled import MODES

__all__ = ["model_to_dict", "model_from_dict", "MODEL_FORMAT_VERSION"]

#: Version of the dictionary layout; bumped when a reader could misread an older one.
MODEL_FORMAT_VERSION = 1

KINDS = ("Hopfield", "Kuramoto", "HopfieldKuramoto")

_W_NAMES = {P.W_DENSE: "dense", P.W_CSR: "sparse", P.W_LOWRANK: "lowrank"}
_K_NAMES = {P.K_CSR: "edges", P.K_DENSE: "dense", P.K_LOWRANK: "lowrank", P.K_MEANFIELD: "mean-field",
            P.K_BLOCK: "blocks", P.K_CONV: "conv"}
_OMEGA_NAMES = {P.OMEGA_NONE: "none", P.OMEGA_GLOBAL: "global", P.OMEGA_PER_UNIT: "per-unit"}


def model_to_dict(model):
    """Describe a model by JSON-able parameters and named arrays.

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto

    Returns
    -------
    dict
        ``{"kind": str, "params": dict, "arrays": {name: ndarray}}``.  ``params`` holds
        only JSON-able scalars, strings and (for the coupled model) the nested parameter
        dicts ``"hopfield"`` and ``"kuramoto"``; every array (weights, bias, edges,
        per-edge couplings, low-rank factors, stimulus, omega, stored patterns) is a
        copy in ``arrays``.  Array names of the coupled model's parts are prefixed with
        ``"hopfield."`` and ``"kuramoto."``.

    Notes
    -----
    The representation of each coupling is kept: dense, ``scipy.sparse`` (as CSR
    ``data``/``indices``/``indptr``) or :class:`~oscihop.LowRank` Hopfield weights;
    per-edge, dense, low-rank or mean-field Kuramoto couplings (a sparse Kuramoto
    coupling is already held as an edge list, and is stored as one).
    :func:`model_from_dict` rebuilds the model through the public constructors, and
    the rebuilt model's right-hand side and energy agree bit for bit.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> kur = oh.Kuramoto(2, edges=[[0, 1], [1, 2]], coupling=[0.5, 1.0])
    >>> d = oh.model_to_dict(kur)
    >>> d["kind"], d["params"]["coupling"], sorted(d["arrays"])
    ('Kuramoto', 'edges', ['edge_coupling', 'edges'])
    >>> y = kur.random_state(seed=0)
    >>> bool(np.array_equal(oh.model_from_dict(d).rhs(0, y), kur.rhs(0, y)))
    True
    """
    kind, params, arrays = _describe(model, copy=True)
    return {"kind": kind, "params": params, "arrays": arrays}


def _describe(model, copy):
    """``(kind, params, arrays)`` of a model; ``copy=False`` returns the model's own arrays."""
    if isinstance(model, HopfieldKuramoto):
        return ("HopfieldKuramoto",) + _hk_to_dict(model, copy)
    if isinstance(model, Hopfield):
        return ("Hopfield",) + _hopfield_to_dict(model, copy)
    if isinstance(model, Kuramoto):
        return ("Kuramoto",) + _kuramoto_to_dict(model, copy)
    raise ValueError(
        f"`model` must be an oscihop model (Hopfield, Kuramoto or HopfieldKuramoto); got {type(model).__name__}."
    )


def model_from_dict(d):
    """Rebuild a model from :func:`model_to_dict`'s output.

    Parameters
    ----------
    d : mapping
        ``{"kind", "params", "arrays"}`` as produced by :func:`model_to_dict` (the
        arrays may be any array-likes, e.g. read back from a zarr store).

    Returns
    -------
    Hopfield, Kuramoto or HopfieldKuramoto
        Built through the public constructors, with ``rhs`` and ``energy`` equal bit
        for bit to the original model's.

    Raises
    ------
    ValueError
        If ``d`` is not such a mapping, names an unknown kind, or lacks a parameter or
        an array the kind needs (the message names it).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> xi = np.array([[1, -1, 1, -1], [1, 1, -1, -1]])
    >>> hop = oh.Hopfield.from_patterns(xi, beta=2.0)
    >>> hop2 = oh.model_from_dict(oh.model_to_dict(hop))
    >>> hop2, hop2.patterns.shape
    (Hopfield(n=4, weights=low-rank, activation='tanh', beta=2.0), (2, 4))
    """
    if not isinstance(d, Mapping):
        raise ValueError(f"`d` must be a mapping with keys 'kind', 'params', 'arrays'; got {type(d).__name__}.")
    missing = [k for k in ("kind", "params", "arrays") if k not in d]
    if missing:
        raise ValueError(
            f"`d` must have the keys 'kind', 'params' and 'arrays' (as written by model_to_dict); "
            f"missing {missing}."
        )
    kind, params, arrays = d["kind"], d["params"], d["arrays"]
    if kind not in KINDS:
        raise ValueError(f"`d['kind']` must be one of {list(KINDS)}; got {kind!r}.")
    if not isinstance(params, Mapping) or not isinstance(arrays, Mapping):
        raise ValueError("`d['params']` and `d['arrays']` must be mappings (JSON parameters and named arrays).")
    reader = _Reader(params, arrays, kind)
    if kind == "Hopfield":
        return _hopfield_from(reader)
    if kind == "Kuramoto":
        return _kuramoto_from(reader)
    return _hk_from(reader)


# --------------------------------------------------------------------------- writing
def _hopfield_to_dict(hop, copy):
    def _arr(a, dtype=None):
        return np.array(a, dtype=dtype, copy=copy or None)

    kind = _W_NAMES[hop._w_kind]
    params = {"n": int(hop.n), "activation": hop.activation, "beta": float(hop.beta), "weights": kind,
              "has_patterns": hop.patterns is not None}
    arrays = {"bias": _arr(hop.bias)}
    w = hop._w
    if kind == "dense":
        arrays["weights"] = _arr(w)
    elif kind == "sparse":
        arrays.update(weights_data=_arr(w.data), weights_indices=_arr(w.indices), weights_indptr=_arr(w.indptr))
    else:
        params["zero_diagonal"] = bool(w.zero_diagonal)
        arrays.update(weights_factor=_arr(w.factor), weights_scale=_arr(w.scale))
    if hop.patterns is not None:
        arrays["patterns"] = _arr(hop.patterns)
    return params, arrays


def _kuramoto_to_dict(kur, copy):
    def _arr(a, dtype=None):
        return np.array(a, dtype=dtype, copy=copy or None)

    kind = _K_NAMES[kur._k_kind]
    params = {"n": int(kur.n), "dim": int(kur.dim), "interaction": kur.interaction, "coupling": kind,
              "omega": _OMEGA_NAMES[kur._omega_kind], "has_stimulus": kur.stimulus is not None}
    arrays = {}
    if kind == "edges":
        arrays["edges"] = _arr(kur.edges, np.int64)
        arrays["edge_coupling"] = _arr(kur.edge_coupling)
        if kur.interaction != "linear":
            arrays["edge_interaction_weights"] = _arr(kur.edge_interaction_weights)
    elif kind == "dense":
        arrays["coupling"] = _arr(kur._jd)
    elif kind == "lowrank":
        params["zero_diagonal"] = bool(kur._lowrank.zero_diagonal)
        arrays.update(coupling_factor=_arr(kur._lowrank.factor), coupling_scale=_arr(kur._lowrank.scale))
    elif kind == "blocks":
        arrays["blocks"] = _arr(kur._blocks)
        params["block_form"] = "dense" if kur._dense_blocks else "edges"
        params["typed"] = not kur._dense_blocks and kur._btypes is not None
        if not kur._dense_blocks:
            arrays["edges"] = _arr(kur.edges, np.int64)
            if params["typed"]:
                arrays["block_types"] = _arr(kur._btypes, np.int64)
    elif kind == "conv":
        conv = kur._conv
        params.update(grid=[int(conv.grid[0]), int(conv.grid[1])], has_bias=conv.bias is not None)
        arrays["conv_weight"] = _arr(conv.weight)
        if conv.bias is not None:
            arrays["conv_bias"] = _arr(conv.bias)
    else:
        params["strength"] = float(kur.strength)
    if kur.stimulus is not None:
        arrays["stimulus"] = _arr(kur.stimulus)
    if kur.omega is not None:
        arrays["omega"] = _arr(kur.omega)
    return params, arrays


def _hk_to_dict(hk, copy):
    hp, ha = _hopfield_to_dict(hk.hopfield, copy)
    kp, ka = _kuramoto_to_dict(hk.kuramoto, copy)
    params = {"mode": hk.mode, "alpha": float(hk.alpha), "kappa_h": float(hk.kappa_h),
              "kappa_k": float(hk.kappa_k), "hk_edges": "all" if hk.all_to_all else "edges",
              "hopfield": hp, "kuramoto": kp}
    arrays = {f"hopfield.{k}": v for k, v in ha.items()}
    arrays.update({f"kuramoto.{k}": v for k, v in ka.items()})
    if not hk.all_to_all:
        arrays["hk_edges"] = np.array(hk.hk_edges, dtype=np.int64, copy=copy or None)
    if hk.mode == "network":
        if hk.all_to_all:
            # A scalar a for every pair: the constructor accepts only a scalar here.
            params["weight"] = float(hk.weights[0]) if hk.weights.size else 0.0
        else:
            arrays["weights"] = np.array(hk.weights, copy=copy or None)
    return params, arrays


# --------------------------------------------------------------------------- reading
class _Reader:
    """Access to params and arrays that names what is missing in its errors."""

    def __init__(self, params, arrays, kind, prefix=""):
        self.params, self.arrays, self.kind, self.prefix = params, arrays, kind, prefix

    def part(self, name, kind):
        sub = self.param(name)
        if not isinstance(sub, Mapping):
            raise ValueError(f"`params['{name}']` of a {self.kind} model dict must be a mapping; got {sub!r}.")
        return _Reader(sub, self.arrays, kind, prefix=f"{name}.")

    def param(self, name, default=KeyError):
        if name not in self.params:
            if default is not KeyError:
                return default
            raise ValueError(
                f"the {self.kind} model dict lacks the parameter {self.prefix}{name!r} (params has "
                f"{sorted(self.params)}); was it written by model_to_dict?"
            )
        return self.params[name]

    def number(self, name):
        v = self.param(name)
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(
                f"parameter {self.prefix}{name!r} of a {self.kind} model dict must be a number; got {v!r}."
            )
        return v

    def integer(self, name):
        v = self.param(name)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise ValueError(
                f"parameter {self.prefix}{name!r} of a {self.kind} model dict must be an integer; got {v!r}."
            )
        return int(v)

    def flag(self, name, default=KeyError):
        v = self.param(name, default)
        if not isinstance(v, (bool, np.bool_)):
            raise ValueError(
                f"parameter {self.prefix}{name!r} of a {self.kind} model dict must be true or false; got {v!r}."
            )
        return bool(v)

    def choice(self, name, choices):
        v = self.param(name)
        if v not in choices:
            raise ValueError(
                f"parameter {self.prefix}{name!r} of a {self.kind} model dict must be one of "
                f"{list(choices)}; got {v!r}."
            )
        return v

    def array(self, name, dtype=np.float64, shape=None):
        """The array ``name`` as ``dtype``; ``shape`` (None entries: any length) is checked when given."""
        out = self._array(name, dtype)
        if shape is not None and (out.ndim != len(shape) or any(w is not None and w != g
                                                                for w, g in zip(shape, out.shape))):
            want = "(" + ", ".join("k" if w is None else str(w) for w in shape) + ")"
            raise ValueError(f"array {self.prefix + name!r} of a {self.kind} model dict must have shape {want} "
                             f"to match its parameters; got {out.shape}.")
        return out

    def _array(self, name, dtype):
        key = self.prefix + name
        if key not in self.arrays:
            raise ValueError(
                f"the {self.kind} model dict lacks the array {key!r} (arrays has {sorted(self.arrays)}); "
                "the store or dict is incomplete."
            )
        value = self.arrays[key]
        if dtype is not None and np.dtype(dtype).kind == "f":
            # complex, boolean, masked, string and object arrays are refused, not converted
            return np.array(as_float_array(value, key, dtype=dtype), copy=True)
        raw = np.asarray(value) if getattr(value, "dtype", None) is not None else None
        if raw is not None and raw.dtype.kind in "iu":
            return np.array(raw, dtype=dtype, copy=True)
        arr = as_float_array(value, key)
        if arr.size and not (np.all(np.isfinite(arr)) and np.array_equal(arr, np.round(arr))):
            raise ValueError(f"array {key!r} of a {self.kind} model dict must hold integers (indices); "
                             f"got non-integral values.")
        return arr.astype(dtype or np.int64)


def _hopfield_from(r):
    n = r.integer("n")
    kind = r.choice("weights", tuple(_W_NAMES.values()))
    if kind == "dense":
        w = r.array("weights", shape=(n, n))
    elif kind == "sparse":
        data = r.array("weights_data")
        indices = r.array("weights_indices", None)
        indptr = r.array("weights_indptr", None)
        w = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    else:
        w = LowRank(r.array("weights_factor", shape=(None, n)), r.array("weights_scale"),
                    zero_diagonal=r.flag("zero_diagonal"))
    with warnings.catch_warnings():
        # e.g. beta != 1 with relu: the original construction already warned.
        warnings.simplefilter("ignore", UserWarning)
        hop = Hopfield(w, bias=r.array("bias", shape=(n,)), activation=r.param("activation"), beta=r.number("beta"))
    if hop.n != n:
        raise ValueError(f"parameter {r.prefix}'n' = {n} does not match the stored weights' size {hop.n}.")
    if r.flag("has_patterns", False):
        hop.patterns = r.array("patterns", shape=(None, n))
    return hop


def _kuramoto_from(r):
    n = r.integer("n")
    dim = r.integer("dim")
    interaction = r.param("interaction")
    kind = r.choice("coupling", tuple(_K_NAMES.values()))
    omega_kind = r.choice("omega", tuple(_OMEGA_NAMES.values()))
    stimulus = r.array("stimulus", shape=(n, dim)) if r.flag("has_stimulus", False) else None
    omega = None
    if omega_kind != "none":
        omega = r.array("omega")
        if omega_kind == "global":
            omega = omega.reshape(omega.shape[-2:])
    common = dict(interaction=interaction, stimulus=stimulus, omega=omega)
    if kind == "edges":
        bw = r.array("edge_interaction_weights") if interaction != "linear" else None
        return Kuramoto(dim, edges=r.array("edges", np.int64), coupling=r.array("edge_coupling"),
                        interaction_weights=bw, n=n, **common)
    if kind == "dense":
        return Kuramoto(dim, coupling=r.array("coupling", shape=(n, n)), n=n, **common)
    if kind == "lowrank":
        lr = LowRank(r.array("coupling_factor", shape=(None, n)), r.array("coupling_scale"),
                     zero_diagonal=r.flag("zero_diagonal"))
        return Kuramoto(dim, coupling=lr, n=n, **common)
    if kind == "blocks":
        if r.choice("block_form", ("dense", "edges")) == "dense":
            return Kuramoto(dim, coupling=r.array("blocks", shape=(n, n, dim, dim)), n=n, **common)
        types = r.array("block_types", np.int64) if r.flag("typed", False) else None
        return Kuramoto(dim, edges=r.array("edges", np.int64), coupling=BlockCoupling(r.array("blocks"), types),
                        n=n, **common)
    if kind == "conv":
        grid = r.param("grid")
        bias = r.array("conv_bias") if r.flag("has_bias", False) else None
        conv = ConvCoupling(r.array("conv_weight"), bias, grid=tuple(grid), dim=dim)
        return Kuramoto(dim, coupling=conv, n=n, **common)
    return Kuramoto(dim, coupling="mean-field", strength=r.number("strength"), n=n, **common)


def _hk_from(r):
    hop = _hopfield_from(r.part("hopfield", "Hopfield"))
    kur = _kuramoto_from(r.part("kuramoto", "Kuramoto"))
    mode = r.choice("mode", MODES)
    edges = "all" if r.choice("hk_edges", ("all", "edges")) == "all" else r.array("hk_edges", np.int64)
    weights = None
    if mode == "network":
        # "hk_weights": the name stores written before the HK edge weights were called "weights"
        stored = "weights" if "weights" in r.arrays or "hk_weights" not in r.arrays else "hk_weights"
        weights = r.number("weight") if isinstance(edges, str) else r.array(stored)
    return HopfieldKuramoto(hop, kur, edges, weights=weights, alpha=r.number("alpha"), mode=mode,
                            kappa_h=r.number("kappa_h"), kappa_k=r.number("kappa_k"))
