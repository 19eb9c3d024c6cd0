"""``oh.stack``: a batch of models that share a structure, solved with per-member parameters.

Models of one kind whose sizes, graph and representation agree differ only in the float
parameters of their compiled bundles (:mod:`oscihop.kernels.params`): the int array
``ip`` (sizes, codes, CSR structure, offsets) is the same, the float array ``fp``
(weights, couplings, kappas, stimulus, omega, bias...) is the member's own.  A stack keeps
one ``ip`` and a (B, n) array of float rows; the compiled layout drivers read row ``b``
for member ``b`` (:func:`oscihop.kernels.dispatch.member_params`, docs/theory.md §9).
"""

from __future__ import annotations

import numpy as np

from .._validation import resolve_dtype
from ..kernels import params as P
from ..kernels import system as S
from .base import Model, real_state

__all__ = ["ModelStack", "stack", "structure_key"]

#: Plain-words names of the structural header slots (the rest are named by their slot).
_SLOT_WORDS = {
    "nh": "number of threshold units", "nk": "number of oscillators", "dim": "oscillator dimension D",
    "act": "activation", "w_kind": "Hopfield weight representation", "k_kind": "Kuramoto coupling representation",
    "inter": "Kuramoto interaction", "hk_kind": "Hopfield-Kuramoto coupling mode", "w_rank": "weight rank",
    "k_rank": "coupling rank", "has_stim": "presence of a stimulus", "omega_kind": "form of Omega",
    "shared_csr": "shared CSR structure",
}


def structure_key(model, dtype=np.float64):
    """A hashable key equal for exactly the models that can share a stack at ``dtype``:
    the model class, its int array ``ip`` and the length of its float array ``fp``."""
    p = model.params(dtype)
    return type(model), p.fp.shape[0], p.ip.tobytes()


def _segments(p):
    """The CSR arrays (name -> view of ``p.ip``) and float-array lengths (name -> int) of a bundle."""
    def cut(names, total):
        offs = [int(p.ip[P._INT_SLOTS.index("o_" + n)]) for n in names] + [total]
        return {n: (offs[k], offs[k + 1]) for k, n in enumerate(names)}

    ints = {n: p.ip[a:b] for n, (a, b) in cut(P._INT_ARRAYS, p.ip.shape[0]).items()}
    floats = {n: b - a for n, (a, b) in cut(P._FLOAT_ARRAYS, p.fp.shape[0]).items()}
    return ints, floats


def _first_difference(ref, other, k):
    """Why member ``k`` cannot be stacked with member 0 (``ref``), in words."""
    head = f"`models`: member {k} does not share the structure of member 0"
    fix = ("oh.stack needs models of one kind with the same sizes, graph and representation, differing only "
           "in float parameters; solve the others apart (oh.sweep groups points by structure itself).")
    if type(ref) is not type(other):
        return f"{head}: it is a {type(other).__name__}, member 0 a {type(ref).__name__}. {fix}"
    p, q = ref.params(), other.params()
    for slot, name in enumerate(P._INT_SLOTS):
        a, b = int(p.ip[slot]), int(q.ip[slot])
        if a != b and not name.startswith("o_") and name != "work_size":
            what = _SLOT_WORDS.get(name, name)
            return f"{head}: its {what} (`{name}`) is {b}, member 0's is {a}. {fix}"
    ints_p, floats_p = _segments(p)
    ints_q, floats_q = _segments(q)
    for name in P._INT_ARRAYS:
        if not np.array_equal(ints_p[name], ints_q[name]):
            return (f"{head}: its graph differs (the CSR array `{name}`: {ints_q[name].size} entries against "
                    f"{ints_p[name].size}{', other values' if ints_p[name].size == ints_q[name].size else ''}). {fix}")
    for name in P._FLOAT_ARRAYS:
        if floats_p[name] != floats_q[name]:
            return f"{head}: its float array `{name}` has {floats_q[name]} entries, member 0's {floats_p[name]}. {fix}"
    return f"{head}: its compiled parameter layout differs. {fix}"


class ModelStack(Model):
    """B models of one structure (see :func:`stack`); a model whose states are batches.

    ``oh.solve(stack, t_span, Y0)`` integrates member ``b`` from ``Y0[b]`` with its own
    parameters, as one batch (one compiled call, threads over members, one CUDA launch).
    Layout methods (``pack``, ``unpack``, ``normalize``, ``order_parameter``...) are the
    members'.  ``energy``, ``rhs`` and ``energy_gradient`` take ``(B, size)`` states (or one
    ``(size,)`` state for every member) and evaluate member ``b`` on row ``b``.
    """

    def __init__(self, models):
        if isinstance(models, Model):
            raise TypeError("`models` must be a sequence of models (e.g. a list); got one "
                            f"{type(models).__name__}. Pass oh.stack([m1, m2, ...]).")
        try:
            models = tuple(models)
        except TypeError:
            raise TypeError(f"`models` must be a sequence of oscihop models; got {type(models).__name__}.") from None
        if not models:
            raise ValueError("`models` must hold at least one model; got an empty sequence.")
        for k, m in enumerate(models):
            if isinstance(m, ModelStack) or not isinstance(m, Model):
                raise TypeError(f"`models`: member {k} must be an oscihop model (Hopfield, Kuramoto, "
                                f"HopfieldKuramoto); got {type(m).__name__}.")
        # a model repeated in the stack (the points of one parameter set in a sweep) is one row
        slot = {}
        member_slot = [slot.setdefault(id(m), len(slot)) for m in models]
        self._setup(models, list({id(m): m for m in models}.values()), member_slot)

    @classmethod
    def _of_distinct(cls, distinct, member_slot):
        """The stack whose member ``b`` is ``distinct[member_slot[b]]`` (a sweep's points: few
        parameter sets, many starts), built without visiting every member."""
        obj = cls.__new__(cls)
        obj._setup(tuple(distinct[s] for s in np.asarray(member_slot).tolist()), list(distinct), member_slot)
        return obj

    def _setup(self, models, distinct, member_slot):
        key = structure_key(distinct[0])
        for m in distinct[1:]:
            if structure_key(m) != key:
                k = next(b for b, x in enumerate(models) if x is m)
                raise ValueError(_first_difference(models[0], m, k))
        first = models[0]
        self._models = models
        self._distinct = distinct
        self._member_slot = np.asarray(member_slot, dtype=np.intp)
        self._nh, self._nk, self._dim = first._nh, first._nk, first._dim
        if hasattr(first, "activation"):
            self.activation = first.activation
        self._rows = {}

    # ---------------------------------------------------------------- members
    @property
    def models(self):
        """The members, in order (a tuple)."""
        return self._models

    def __len__(self):
        return len(self._models)

    def __getitem__(self, b):
        return self._models[b]

    def __iter__(self):
        return iter(self._models)

    def __repr__(self):
        return f"ModelStack({len(self)} x {type(self._models[0]).__name__}, {self._layout_text()})"

    # ------------------------------------------------------------- parameters
    def params(self, dtype=np.float64):
        """The structure's bundle (member 0's; the int array ``ip`` every member shares)."""
        return self._models[0].params(dtype)

    def member_rows(self, dtype=np.float64):
        """The members' float arrays ``fp`` as rows of one (B, n) array (cached per dtype)."""
        dt = resolve_dtype(dtype)
        rows = self._rows.get(dt)
        if rows is None:
            rows = np.stack([m.params(dt).fp for m in self._distinct])
            if len(self._distinct) < len(self._models):
                rows = rows[self._member_slot]
            self._rows[dt] = rows
        return rows

    def _lyapunov(self):
        for k, m in enumerate(self._models):
            ok, why = m._lyapunov()
            if not ok:
                return False, f"member {k}: {why}"
        return True, ""

    def parameters(self):
        """The members' trainable parameters, each stacked along a leading axis of length B."""
        per = [m.parameters() for m in self._models]
        return {name: np.stack([q[name] for q in per]) for name in per[0]}

    def replace(self, **params):
        """A new stack whose member ``b`` has the parameters ``value[b]`` of each name given
        (names and per-member shapes as in :meth:`parameters`)."""
        b_count = len(self)
        values = {}
        for name, value in params.items():
            arr = np.asarray(value)
            if arr.ndim == 0 or arr.shape[0] != b_count:
                raise ValueError(f"`{name}` must have a leading axis of length {b_count} (one value per member of "
                                 f"the stack); got shape {arr.shape}.")
            values[name] = arr
        return ModelStack([m.replace(**{n: v[b] for n, v in values.items()}) for b, m in enumerate(self._models)])

    def step_bound(self, y=None):
        """Each member's :meth:`Model.step_bound` ((B,) array; ``y`` per member when given)."""
        ys = None if y is None else self._coerce(y)[0]
        return np.array([m.step_bound(None if ys is None else ys[b]) for b, m in enumerate(self._models)])

    # ----------------------------------------------------------------- states
    def _coerce(self, y, name="y"):
        """(B, size) contiguous states, one per member; a single (size,) state serves every member."""
        arr = real_state(y, name)
        nb = len(self)
        if arr.ndim == 1 and arr.shape[0] == self.size:
            arr = np.broadcast_to(arr, (nb, self.size))
        if arr.shape != (nb, self.size):
            raise ValueError(f"`{name}` must have shape ({nb}, {self.size}) (one state per member of the stack) or "
                             f"({self.size},) (one state for all); got {arr.shape}.")
        ys, _ = self._models[0]._coerce(arr, name)
        return np.ascontiguousarray(ys), False

    # ------------------------------------------------------------- evaluation
    def rhs(self, t, y):
        """dy/dt of member ``b`` at ``y[b]``: (B, size)."""
        ys, _ = self._coerce(y)
        return np.stack([m.rhs(t, ys[b]) for b, m in enumerate(self._models)])

    def energy(self, y):
        """Energy of member ``b`` at ``y[b]``: (B,) array."""
        ys, _ = self._coerce(y)
        out = np.empty(ys.shape[0], dtype=ys.dtype)
        p = S.link(self.params(ys.dtype))
        S.batch_energy(p, self.member_rows(ys.dtype), ys[:, None], out[:, None])
        return out

    def energy_gradient(self, y):
        """dE/dy of member ``b`` at ``y[b]``: (B, size)."""
        ys, _ = self._coerce(y)
        return np.stack([m.energy_gradient(ys[b]) for b, m in enumerate(self._models)])


def stack(models):
    """Stack models that share a structure into one batch with per-member parameters.

    Parameters
    ----------
    models : sequence of Hopfield, Kuramoto or HopfieldKuramoto
        Models of one kind with the same sizes, graph and representation (weights dense,
        sparse or low rank; coupling per edge, dense, low rank or mean field; the same
        activation, interaction, HK mode and form of Omega), differing in any float
        parameter: weights, bias, couplings, interaction weights, kappas, beta, alpha,
        stimulus, Omega.

    Returns
    -------
    ModelStack
        ``oh.solve(stack, t_span, Y0, ...)`` with ``Y0`` of shape (B, size) (or one state for
        all) integrates member ``b`` from ``Y0[b]`` with its own parameters, in one batch,
        on the CPU or CUDA.  The results are those of solving the members one by one, bit for
        bit (the same compiled loop runs each member).

    Raises
    ------
    ValueError
        When a member's structure differs from member 0's; the message names the first
        difference (kind, a size, the graph, a representation).

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> models = [oh.Kuramoto(2, edges=oh.ring_edges(8), coupling=c) for c in (0.5, 1.0, 2.0)]
    >>> sol = oh.solve(oh.stack(models), (0, 1), models[0].random_state(seed=0), t_eval=[0, 1])
    >>> sol.y.shape, sol.energy.shape
    ((3, 16, 2), (3, 2))
    """
    return ModelStack(models)
