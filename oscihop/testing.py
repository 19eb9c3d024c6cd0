"""Hypothesis strategies and assertions for testing models' energies in your own test suite.

``oscihop.testing`` needs `hypothesis <https://hypothesis.readthedocs.io>`_ (the ``test``
extra: ``pip install oscihop[test]``); ``import oscihop`` does not import it.

* :func:`models` and :func:`model_specs`: random small models of every kind (Hopfield,
  Kuramoto, Hopfield-Kuramoto), weight and coupling representation, activation,
  interaction, Omega and coupling mode, with ``is_lyapunov`` true or false on request.
  A *spec* is a plain dict of drawn choices and NumPy arrays; :func:`build_model` turns
  it into a model, so the same model can be rebuilt (after relabelling its units, say).
* :func:`states`: unit-norm states of a given model.
* :func:`assert_energy_nonincreasing` (a solution) and :func:`assert_lyapunov` (a model,
  through :func:`oscihop.verify`), which raise ``AssertionError`` with the counter-example.

Flat state layout (docs/theory.md §1): Hopfield ``h``; Kuramoto ``x.ravel()``; coupled
``concatenate([h, x.ravel()])``.

Examples
--------
>>> from hypothesis import given, settings, strategies as st
>>> import oscihop as oh
>>> from oscihop.testing import models, states
>>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
... @given(model=models(kinds=("kuramoto",), lyapunov=True), data=st.data())
... def test_energy_rate_is_not_positive(model, data):
...     y = data.draw(states(model))
...     assert model.energy_rate(y) <= 1e-9
>>> test_energy_rate_is_not_positive()
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .couplings import LowRank
from .kernels import params as P
from .models import Hopfield, HopfieldKuramoto, Kuramoto, Model
from .models.coupled import MODES
from .models.hopfield import RULES
from .verification import energy_increase, verify

__all__ = [
    "ACTIVATIONS", "BOUNDED_ACTIVATIONS", "WEIGHT_KINDS", "INTERACTIONS", "COUPLING_KINDS", "OMEGA_KINDS",
    "HK_MODES", "model_specs", "models", "states", "build_model", "random_spec", "spec_state",
    "expected_lyapunov", "describe", "split_state", "join_state", "n_threshold", "hop_spec", "kur_spec",
    "hk_coupling_spec",
    "assert_energy_nonincreasing", "assert_lyapunov",
]

#: Smooth activations of the threshold units (``sign`` is the binary network).
ACTIVATIONS = tuple(a for a in P.ACTIVATIONS if a != "sign")
#: Activations with a bounded ``g`` (relu can blow up in finite time in the coupled model).
BOUNDED_ACTIVATIONS = ("tanh", "sigmoid", "softmax")
#: Hopfield weight representations: dense, scipy.sparse, LowRank and the storage rules.
WEIGHT_KINDS = ("dense", "sparse", "lowrank", *RULES)
#: Kuramoto interactions phi.
INTERACTIONS = tuple(P.INTERACTIONS)
#: Kuramoto coupling representations (edge list with per-edge or scalar J, dense, sparse,
#: LowRank, mean field).
COUPLING_KINDS = ("edges", "edges-scalar", "dense", "sparse", "lowrank", "mean-field")
#: Omega: none, global (D, D), per unit (N, D, D), natural frequencies (N,) (D = 2).
OMEGA_KINDS = (None, "global", "per-unit", "natural")
#: Modes of the Hopfield-Kuramoto coupling.
HK_MODES = MODES


# --------------------------------------------------------------------------------------
# specs: drawn choices + arrays
# --------------------------------------------------------------------------------------


def _antisym(rng, d):
    a = rng.normal(size=(d, d))
    return a - a.T


def hop_spec(rng, n, activation, wkind, with_bias, gain=1.0):
    """Spec of a Hopfield part: activation, gain ``beta``, weights of kind ``wkind`` (one of
    :data:`WEIGHT_KINDS`), optional bias; weights scaled by ``gain``."""
    s = {
        "activation": activation,
        "beta": 1.0 if activation == "relu" else float(rng.uniform(0.5, 2.0)),  # relu has no gain
        "wkind": wkind,
        "bias": gain * rng.normal(0.0, 0.5, n) if with_bias else None,
    }
    if wkind in ("dense", "sparse"):
        a = rng.normal(size=(n, n)) / math.sqrt(n)
        w = (a + a.T) / 2
        if wkind == "sparse":
            m = np.triu(rng.random((n, n)) < 0.5)
            m = m | m.T
            w = w * m
        s["W"] = gain * w
    elif wkind == "lowrank":
        r = int(rng.integers(1, 4))
        s["factor"] = rng.normal(size=(r, n)) / math.sqrt(n)
        s["scale"] = gain * rng.choice([-1.0, 1.0], size=r) * rng.uniform(0.5, 1.5, r)
    else:  # patterns with a storage rule
        p = int(rng.integers(1, max(1, n // 2) + 1))
        while True:
            pats = rng.choice([-1.0, 1.0], size=(p, n))
            if wkind != "pseudo-inverse" or np.linalg.matrix_rank(pats) == p:
                break
        s["patterns"] = pats
    return s


def kur_spec(rng, n, d, ckind, interaction, omega_kind, with_stim, gain=1.0):
    """Spec of a Kuramoto part: coupling of kind ``ckind`` (:data:`COUPLING_KINDS`), interaction,
    Omega of kind ``omega_kind`` (:data:`OMEGA_KINDS`; "natural" needs D = 2, else per-unit is
    used), optional stimulus; couplings scaled by ``gain``."""
    if ckind in ("lowrank", "mean-field"):
        interaction = "linear"
    if omega_kind == "natural" and d != 2:
        omega_kind = "per-unit"
    nonlin = interaction != "linear"
    s = {"dim": d, "n": n, "ckind": ckind, "interaction": interaction, "omega_kind": omega_kind}
    if ckind in ("edges", "edges-scalar"):
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64)
        keep = rng.random(len(pairs)) < 0.6
        if not keep.any():
            keep[rng.integers(len(pairs))] = True
        e = pairs[keep]
        flip = rng.random(len(e)) < 0.5
        e[flip] = e[flip][:, ::-1]
        e = e[rng.permutation(len(e))]
        s["edges"] = np.ascontiguousarray(e)
        if ckind == "edges":
            s["J"] = rng.normal(size=len(e))
            s["B"] = rng.normal(size=len(e)) if nonlin else None
        else:
            s["J"] = float(rng.normal())
            s["B"] = float(rng.normal()) if nonlin else None
    elif ckind in ("dense", "sparse"):
        a = rng.normal(size=(n, n))
        j = (a + a.T) / 2
        m = np.triu(rng.random((n, n)) < 0.7, 1)
        if not m.any():
            m[0, 1] = True
        m = m | m.T
        j = j * m
        if ckind == "dense":
            j[np.diag_indices(n)] = rng.normal(size=n)  # documented: diagonal ignored
        s["J"] = j
        s["B"] = float(rng.normal()) if nonlin else None
    elif ckind == "lowrank":
        r = int(rng.integers(1, 4))
        s["factor"] = rng.normal(size=(r, n)) / math.sqrt(n)
        s["scale"] = rng.choice([-1.0, 1.0], size=r) * rng.uniform(0.5, 1.5, r)
    elif ckind == "mean-field":
        s["K"] = float(rng.normal(0.0, 2.0))
    for key in ("J", "B", "K", "scale"):
        if s.get(key) is not None:
            s[key] = gain * s[key]
    s["stimulus"] = rng.normal(0.0, 0.5, size=(n, d)) if with_stim else None
    if omega_kind is None:
        s["omega"] = None
    elif omega_kind == "global":
        s["omega"] = _antisym(rng, d)
    elif omega_kind == "per-unit":
        s["omega"] = np.stack([_antisym(rng, d) for _ in range(n)])
    else:
        s["omega"] = rng.normal(0.0, 2.0, n)
    return s


def hk_coupling_spec(rng, n, mode, hk_all, gain=1.0):
    """Spec of the Hopfield-Kuramoto coupling: mode, alpha, kappas, ``hk_edges`` ("all" or a
    random edge list), per-edge or scalar weights (mode "network")."""
    s = {
        "mode": mode,
        "alpha": gain * float(rng.normal()),
        "kappa_h": float(rng.uniform(0.3, 3.0)),
        "kappa_k": float(rng.uniform(0.3, 3.0)),
    }
    if hk_all:
        s["hk_edges"] = "all"
    else:
        pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64)
        keep = rng.random(len(pairs)) < 0.6
        if not keep.any():
            keep[0] = True
        e = pairs[keep]
        flip = rng.random(len(e)) < 0.5
        e[flip] = e[flip][:, ::-1]
        s["hk_edges"] = np.ascontiguousarray(e)
    if mode == "network":
        if hk_all or rng.random() < 0.3:
            s["weights"] = gain * float(rng.normal())
        else:
            s["weights"] = gain * rng.normal(size=len(s["hk_edges"]))
    else:
        s["weights"] = None
    return s


def random_spec(rng, kind, n=None, d=None, activation=None, wkind=None, with_bias=None,
                ckind=None, interaction=None, omega_kind="draw", with_stim=None, mode=None,
                hk_all=None):
    """A spec with every choice not given drawn from ``rng`` (deterministic, without hypothesis).

    Parameters
    ----------
    rng : numpy.random.Generator
    kind : {"hopfield", "kuramoto", "hk"}
    n, d, activation, wkind, with_bias, ckind, interaction, omega_kind, with_stim, mode, hk_all
        Fixed choices (None: drawn; ``omega_kind="draw"``: drawn, None: no Omega).

    Examples
    --------
    >>> import numpy as np
    >>> from oscihop.testing import build_model, random_spec
    >>> spec = random_spec(np.random.default_rng(0), "kuramoto", n=5, d=3, omega_kind="per-unit")
    >>> model = build_model(spec)
    >>> model.n, model.dim, model.is_lyapunov
    (5, 3, False)
    """

    def pick(v, options):
        return options[int(rng.integers(len(options)))] if v is None else v

    n = int(rng.integers(2, 9)) if n is None else n
    d = pick(d, (2, 3, 4))
    spec = {"kind": kind, "n": n, "dim": 0 if kind == "hopfield" else d}
    if kind in ("hopfield", "hk"):
        spec["hop"] = hop_spec(rng, n, pick(activation, ACTIVATIONS),
                               pick(wkind, WEIGHT_KINDS),
                               bool(rng.random() < 0.5) if with_bias is None else with_bias)
    if kind in ("kuramoto", "hk"):
        om = pick(None, OMEGA_KINDS) if omega_kind == "draw" else omega_kind
        spec["kur"] = kur_spec(rng, n, d, pick(ckind, COUPLING_KINDS),
                               pick(interaction, INTERACTIONS),
                               om, bool(rng.random() < 0.5) if with_stim is None else with_stim)
    if kind == "hk":
        spec["hk"] = hk_coupling_spec(rng, n, pick(mode, HK_MODES),
                                      bool(rng.random() < 0.4) if hk_all is None else hk_all)
    return spec


def _build_hopfield(s):
    kw = dict(bias=s["bias"], activation=s["activation"], beta=s["beta"])
    wk = s["wkind"]
    if wk == "dense":
        return Hopfield(s["W"], **kw)
    if wk == "sparse":
        return Hopfield(scipy.sparse.csr_matrix(s["W"]), **kw)
    if wk == "lowrank":
        return Hopfield(LowRank(s["factor"], s["scale"]), **kw)
    return Hopfield.from_patterns(s["patterns"], rule=wk, **kw)


def _build_kuramoto(s):
    kw = dict(interaction=s["interaction"], stimulus=s["stimulus"], omega=s["omega"])
    ck = s["ckind"]
    if ck in ("edges", "edges-scalar"):
        return Kuramoto(s["dim"], edges=s["edges"], coupling=s["J"], interaction_weights=s["B"],
                           n=s["n"], **kw)
    if ck == "dense":
        return Kuramoto(s["dim"], coupling=s["J"], interaction_weights=s["B"], **kw)
    if ck == "sparse":
        return Kuramoto(s["dim"], coupling=scipy.sparse.csr_matrix(s["J"]),
                           interaction_weights=s["B"], **kw)
    if ck == "lowrank":
        return Kuramoto(s["dim"], coupling=LowRank(s["factor"], s["scale"]), **kw)
    return Kuramoto(s["dim"], coupling="mean-field", strength=s["K"], n=s["n"], **kw)


def build_model(spec):
    """The model a spec (from :func:`model_specs` or :func:`random_spec`) describes."""
    if spec["kind"] == "hopfield":
        return _build_hopfield(spec["hop"])
    if spec["kind"] == "kuramoto":
        return _build_kuramoto(spec["kur"])
    c = spec["hk"]
    return HopfieldKuramoto(_build_hopfield(spec["hop"]), _build_kuramoto(spec["kur"]), c["hk_edges"],
                               weights=c["weights"], alpha=c["alpha"], mode=c["mode"],
                               kappa_h=c["kappa_h"], kappa_k=c["kappa_k"])


def n_threshold(spec):
    """Number of threshold units of a spec's model (0 for Kuramoto)."""
    return spec["n"] if spec["kind"] in ("hopfield", "hk") else 0


def split_state(spec, y):
    """Flat state (size,) -> ``(h or None, x (N, D) or None)``."""
    y = np.asarray(y)
    nh = n_threshold(spec)
    h = y[:nh] if nh else None
    x = y[nh:].reshape(spec["n"], spec["dim"]) if spec["kind"] != "hopfield" else None
    return h, x


def join_state(spec, h, x):
    """``(h or None, x (N, D) or None)`` -> flat state (size,)."""
    parts = []
    if n_threshold(spec):
        parts.append(np.asarray(h, dtype=float))
    if spec["kind"] != "hopfield":
        parts.append(np.asarray(x, dtype=float).ravel())
    return np.concatenate(parts)


def spec_state(spec, rng, h_scale=1.5):
    """A random state of a spec's model: ``h ~ N(0, h_scale^2)``, unit oscillators."""
    n, d = spec["n"], spec["dim"]
    h = rng.normal(0.0, h_scale, n) if n_threshold(spec) else None
    x = None
    if spec["kind"] != "hopfield":
        x = rng.normal(size=(n, d))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return join_state(spec, h, x)


def expected_lyapunov(spec):
    """The theory's verdict (docs/theory.md §2-§4): True where the energy is a Lyapunov
    function (no Omega, or a global Omega without stimulus), False where it is not guaranteed."""
    if spec["kind"] == "hopfield":
        return True
    k = spec["kur"]
    if k["omega_kind"] is None:
        return True
    if k["omega_kind"] == "global":
        return k["stimulus"] is None
    return False


def describe(spec):
    """Short human-readable description of a spec (for assertion messages)."""
    out = [spec["kind"], f"n={spec['n']}", f"dim={spec['dim']}"]
    if "hop" in spec:
        out += [f"act={spec['hop']['activation']}", f"W={spec['hop']['wkind']}"]
    if "kur" in spec:
        k = spec["kur"]
        out += [f"J={k['ckind']}", f"phi={k['interaction']}", f"omega={k['omega_kind']}",
                f"stim={k['stimulus'] is not None}"]
    if "hk" in spec:
        c = spec["hk"]
        out += [f"mode={c['mode']}", f"hk_all={isinstance(c['hk_edges'], str)}"]
    return " ".join(out)




# --------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------

_NOT_LYAPUNOV_OMEGA = ("global", "per-unit", "natural")


@st.composite
def model_specs(draw, kinds=("hopfield", "kuramoto", "hk"), lyapunov=None, omega_kinds=OMEGA_KINDS,
                activations=ACTIVATIONS, weight_kinds=WEIGHT_KINDS, coupling_kinds=COUPLING_KINDS,
                interactions=INTERACTIONS, modes=HK_MODES, max_units=8):
    """Hypothesis strategy of small random model specs (see :func:`build_model`).

    Every choice is drawn by hypothesis (so failures shrink towards the first entry of
    each tuple, fewer units, ...); the arrays come from a NumPy generator seeded by a drawn
    seed.  An overall ``gain`` (0.2, 1 or 5) scales weights and couplings.

    Parameters
    ----------
    kinds : tuple of {"hopfield", "kuramoto", "hk"}
    lyapunov : bool, optional
        True: only models whose energy the theory guarantees non-increasing (no Omega, or a
        global Omega without stimulus).  False: only models where it is not guaranteed
        (per-unit Omega, natural frequencies, or a global Omega with a stimulus it does not
        fix); Hopfield networks are then left out (their smooth flows are always gradient
        flows).  None (default): both.
    omega_kinds, activations, weight_kinds, coupling_kinds, interactions, modes : tuple
        The choices to draw from (subsets of :data:`OMEGA_KINDS`, :data:`ACTIVATIONS`,
        :data:`WEIGHT_KINDS`, :data:`COUPLING_KINDS`, :data:`INTERACTIONS`, :data:`HK_MODES`).
    max_units : int, default 8
        Units N are drawn from 2 ... max_units.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from oscihop.testing import build_model, expected_lyapunov, model_specs
    >>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
    ... @given(model_specs(lyapunov=False))
    ... def test_flag(spec):
    ...     assert build_model(spec).is_lyapunov == expected_lyapunov(spec) == False
    >>> test_flag()
    """
    if lyapunov:
        omega_kinds = tuple(o for o in omega_kinds if o in (None, "global"))
        if not omega_kinds:
            raise ValueError("`lyapunov=True` needs an Omega kind in (None, 'global') among `omega_kinds`; "
                             f"got {omega_kinds!r}.")
    if lyapunov is False:
        kinds = tuple(k for k in kinds if k != "hopfield")
        omega_kinds = tuple(o for o in omega_kinds if o in _NOT_LYAPUNOV_OMEGA)
        if not kinds or not omega_kinds:
            raise ValueError("`lyapunov=False` needs a kind with oscillators ('kuramoto', 'hk') and an Omega kind "
                             f"in {_NOT_LYAPUNOV_OMEGA}; got kinds={kinds!r}, omega_kinds={omega_kinds!r}.")
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(2, max_units))
    d = draw(st.sampled_from((2, 3, 4)))
    seed = draw(st.integers(0, 2**32 - 1))
    gain = draw(st.sampled_from((1.0, 0.2, 5.0)))  # overall strength of weights and couplings
    rng = np.random.default_rng(seed)
    spec = {"kind": kind, "n": n, "dim": 0 if kind == "hopfield" else d, "seed": seed, "gain": gain}
    if kind in ("hopfield", "hk"):
        spec["hop"] = hop_spec(rng, n, draw(st.sampled_from(activations)), draw(st.sampled_from(weight_kinds)),
                               draw(st.booleans()), gain=gain)
    if kind in ("kuramoto", "hk"):
        om = draw(st.sampled_from(omega_kinds))
        stim = draw(st.booleans())
        if lyapunov and om is not None:
            stim = False
        if lyapunov is False and om == "global":
            stim = True
        spec["kur"] = kur_spec(rng, n, d, draw(st.sampled_from(coupling_kinds)), draw(st.sampled_from(interactions)),
                               om, stim, gain=gain)
    if kind == "hk":
        spec["hk"] = hk_coupling_spec(rng, n, draw(st.sampled_from(modes)), draw(st.booleans()), gain=gain)
    return spec


def models(**kwargs):
    """Hypothesis strategy of small random models: :func:`model_specs` built by :func:`build_model`.

    Takes :func:`model_specs`'s arguments (``kinds``, ``lyapunov``, ``activations``, ...).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from oscihop.testing import models
    >>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
    ... @given(models(kinds=("hopfield", "hk"), lyapunov=True))
    ... def test_lyapunov(model):
    ...     assert model.is_lyapunov and model.lyapunov_reason == ""
    >>> test_lyapunov()
    """
    return model_specs(**kwargs).map(build_model)


def states(model, h_max=4.0):
    """Hypothesis strategy of valid flat states of ``model``: unit-norm oscillators.

    ``h`` entries are floats in ``[-h_max, h_max]``; oscillator components are drawn in
    ``[-1, 1]`` and normalised (an all-zero draw becomes the first axis).  Hypothesis shrinks
    them towards zero fields and oscillators on the first axis.

    Parameters
    ----------
    model : Model
    h_max : float, default 4

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> from hypothesis import given, settings
    >>> from oscihop.testing import states
    >>> hk = oh.HopfieldKuramoto(oh.Hopfield(np.zeros((3, 3))), oh.Kuramoto(2, coupling=np.ones((3, 3))), "all",
    ...                          mode="additive")
    >>> @settings(max_examples=10, deadline=None, derandomize=True, database=None)
    ... @given(states(hk))
    ... def test_unit(y):
    ...     assert np.allclose(np.linalg.norm(hk.unpack(y).x, axis=-1), 1.0)
    >>> test_unit()
    """
    if not isinstance(model, Model):
        raise ValueError(f"`model` must be an oscihop model; got {type(model).__name__}.")
    nk = model.n if model.dim else 0
    nh = model.size - nk * model.dim
    h_part = hnp.arrays(np.float64, nh, elements=st.floats(-h_max, h_max, allow_subnormal=False))
    x_part = hnp.arrays(np.float64, (nk, model.dim), elements=st.floats(-1.0, 1.0, allow_subnormal=False))

    def build(parts):
        h, x = parts
        if nk:
            nrm = np.linalg.norm(x, axis=1, keepdims=True)
            tiny = nrm[:, 0] < 1e-6
            x[tiny] = 0.0
            x[tiny, 0] = 1.0
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return model.pack(h=h if nh else None, x=x if nk else None).astype(np.float64)

    return st.tuples(h_part, x_part).map(build)


# --------------------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------------------


def assert_energy_nonincreasing(solution, rtol=1e-6, atol=1e-9):
    """Raise ``AssertionError`` unless the energy never rises between consecutive outputs.

    An increase ``E_{k+1} - E_k`` up to ``atol + rtol * max(|E_k|, |E_{k+1}|)`` is allowed
    (integration error; see :func:`oscihop.verification.energy_increase`).  A failed solve or a
    non-finite energy fails too.

    Parameters
    ----------
    solution : Solution
        One trajectory or a batch.
    rtol, atol : float, default 1e-6, 1e-9

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> from oscihop.testing import assert_energy_nonincreasing
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=5)
    >>> assert_energy_nonincreasing(oh.solve(kur, (0, 3), kur.random_state(seed=0), rtol=1e-8, atol=1e-10))
    >>> hop = oh.Hopfield(np.array([[0.0, -3.0], [-3.0, 0.0]]), beta=2.0)  # step_bound 0.2
    >>> sol = oh.solve(hop, (0, 4), [0.5, 0.3], method="Euler", dt=1.0)
    >>> assert_energy_nonincreasing(sol)
    Traceback (most recent call last):
    ...
    AssertionError: the energy rises ...
    """
    energy = getattr(solution, "energy", None)
    if energy is None:
        raise ValueError(f"`solution` must be an oscihop Solution; got {type(solution).__name__}.")
    e = np.asarray(energy, dtype=np.float64)
    e2 = e.reshape(-1, e.shape[-1])
    status = np.atleast_1d(getattr(solution, "status", 0))
    if np.any(status < 0):
        raise AssertionError(f"the solve failed ({solution.message}); the energy cannot be checked past the failure.")
    if not np.isfinite(e2).all():
        b, k = np.argwhere(~np.isfinite(e2))[0]
        raise AssertionError(f"the energy is not finite: {e2[b, k]} at output {k}"
                             + (f" of batch member {b}" if e.ndim > 1 else "") + ".")
    exc = np.atleast_1d(energy_increase(e2, rtol=rtol, atol=atol))
    if np.nanmax(exc) > 1.0:
        b = int(np.nanargmax(exc))
        d = np.diff(e2[b])
        allowed = atol + rtol * np.maximum(np.abs(e2[b, :-1]), np.abs(e2[b, 1:]))
        k = int(np.argmax(d / allowed))
        t = np.asarray(solution.t)
        raise AssertionError(
            f"the energy rises by {d[k]:.6g} from t = {t[k]:.6g} to t = {t[k + 1]:.6g}"
            + (f" in batch member {b}" if e.ndim > 1 else "")
            + f" ({e2[b, k]:.10g} -> {e2[b, k + 1]:.10g}), {d[k] / allowed[k]:.3g} times the allowed "
            f"atol + rtol |E| = {allowed[k]:.3g} (rtol={rtol:g}, atol={atol:g}).")


def assert_lyapunov(model, **kwargs):
    """Raise ``AssertionError`` with the counter-example when :func:`oscihop.verify` finds the
    energy of ``model`` rising (or unbounded below); return the report otherwise.

    Parameters
    ----------
    model : Model
    **kwargs
        :func:`oscihop.verify`'s settings (``method``, ``dt``, ``rtol``, ``seed``, ...).

    Returns
    -------
    VerifyReport

    Examples
    --------
    >>> import oscihop as oh
    >>> from oscihop.testing import assert_lyapunov
    >>> kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=5)
    >>> assert_lyapunov(kur).ok
    True
    >>> assert_lyapunov(kur, method="Euler", dt=2.0)
    Traceback (most recent call last):
    ...
    AssertionError: oscihop.verify: Kuramoto(n=5, dim=3): ENERGY INCREASE FOUND
    ...
    """
    report = verify(model, **kwargs)
    if not report.ok:
        raise AssertionError(str(report))
    return report
