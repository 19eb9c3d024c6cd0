"""Bad input to the model constructors: Hopfield, Hopfield.from_patterns, Kuramoto (in each
coupling form), HopfieldKuramoto and LowRank (issue 14's "silent acceptances and crashes").

Every argument meets the shared matrix of tests/badinput.py (wrong type, shape, dtype
(complex, object, bool, masked, strings), NaN/inf, empty, out of range), and each case must
raise a ValueError whose message names the argument.  ``test_good_inputs_build`` first checks
that the matching good values are accepted, so no case passes because a constructor refuses
everything.  The models are tiny and nothing is solved.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from badinput import (
    COUNTS,
    array_cases,
    bool_cases,
    case_ids,
    choice_cases,
    expect_rejected,
    poisoned_arrays,
    scalar_cases,
    size_cases,
    wrong_shapes,
)
from hypothesis import given, settings

import oscihop as oh

N, D = 4, 3
XI = np.array([[1, -1, 1, -1], [1, 1, -1, -1]], dtype=float)
EDGES = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
E = len(EDGES)
ACTIVATIONS = ("tanh", "sigmoid", "relu", "softmax", "sign")
INTERACTIONS = ("linear", "relu", "tanh", "sigmoid")
FAST = settings(max_examples=20, deadline=None)


def _sym(n=N):
    a = np.arange(n * n, dtype=float).reshape(n, n) / (n * n)
    return a + a.T


def _without(cases, *labels):
    """The cases whose label is not one of ``labels`` (values that are valid for this argument)."""
    return [c for c in cases if c[1] not in labels]


def _hop(**kw):
    kw.setdefault("weights", _sym())
    return oh.Hopfield(**kw)


def _kur_edges(**kw):
    kw.setdefault("edges", EDGES)
    kw.setdefault("n", N)
    return oh.Kuramoto(kw.pop("dim", D), **kw)


def _kur_dense(**kw):
    kw.setdefault("coupling", _sym())
    return oh.Kuramoto(kw.pop("dim", D), **kw)


def _kur_sparse(**kw):
    kw.setdefault("coupling", sp.csr_matrix(_sym()))
    return oh.Kuramoto(kw.pop("dim", D), **kw)


def _kur_lowrank(**kw):
    kw.setdefault("coupling", oh.LowRank(XI, 0.25))
    return oh.Kuramoto(kw.pop("dim", D), **kw)


def _kur_mean_field(**kw):
    kw.setdefault("coupling", "mean-field")
    kw.setdefault("strength", 1.0)
    kw.setdefault("n", N)
    return oh.Kuramoto(kw.pop("dim", D), **kw)


def _hk(**kw):
    hop = kw.pop("hop", _hop())
    kur = kw.pop("kur", _kur_edges())
    hk_edges = kw.pop("hk_edges", EDGES)
    kw.setdefault("weights", 0.5)
    return oh.HopfieldKuramoto(hop, kur, hk_edges, **kw)


KURAMOTO_FORMS = {"edges": _kur_edges, "dense": _kur_dense, "sparse": _kur_sparse,
                  "LowRank": _kur_lowrank, "mean-field": _kur_mean_field}


def test_good_inputs_build():
    assert _hop().n == N
    assert _hop(symmetrize=True, bias=np.ones(N), beta=2.0, activation="sigmoid").n == N
    assert oh.Hopfield.from_patterns(XI, rule="storkey", dense=True).n == N
    for form, build in KURAMOTO_FORMS.items():
        assert build().n == N, form
    assert _kur_edges(interaction="tanh", interaction_weights=np.ones(E), stimulus=np.ones((N, D)),
                      omega=np.zeros((D, D))).n == N
    assert _kur_dense(interaction="tanh", interaction_weights=_sym()).n == N
    assert _kur_sparse(interaction="tanh", interaction_weights=_sym()).n == N
    assert _kur_edges(edges=np.zeros((0, 2)), coupling=1.0).n == N  # no edges: uncoupled oscillators
    assert _hk().size == N + N * D
    assert _hk(hk_edges="all", weights=None, mode="additive", alpha=0.2, kappa_h=2.0).size == N + N * D
    assert oh.LowRank(XI, [0.5, 0.25], zero_diagonal=False).n == N


# --------------------------------------------------------------------------- Hopfield
HOPFIELD = {
    "weights": array_cases((N, N)) + [
        ("type", "None", None),
        ("shape", "vector", np.ones(N)),
        ("range", "not symmetric", np.triu(np.ones((N, N)))),
        ("dtype", "sparse complex", sp.csr_matrix(_sym() + 1j)),
        ("dtype", "sparse bool", sp.csr_matrix(np.ones((N, N), dtype=bool))),
        ("empty", "sparse 0 x 0", sp.csr_matrix((0, 0))),
        ("shape", "sparse not square", sp.csr_matrix(np.ones((N, N + 1)))),
        ("nonfinite", "sparse nan", sp.csr_matrix(np.where(np.eye(N) > 0, np.nan, 0.0))),
        ("range", "sparse not symmetric", sp.csr_matrix(np.triu(np.ones((N, N))))),
    ],
    "bias": array_cases((N,)) + [("type", "None in a list", [1.0, None, 0.0, 0.0])],
    "activation": choice_cases(ACTIVATIONS),
    "beta": scalar_cases(low=0.0),
    "symmetrize": bool_cases(),
}
HOPFIELD_CASES = [(arg, *case) for arg, cases in HOPFIELD.items() for case in cases]


@pytest.mark.parametrize("arg,category,label,value", HOPFIELD_CASES,
                         ids=[f"{c[0]}-{i}" for c, i in zip(HOPFIELD_CASES, case_ids([c[1:] for c in HOPFIELD_CASES]))])
def test_hopfield(arg, category, label, value):
    expect_rejected("Hopfield", arg, lambda: _hop(**{arg: value}))


def test_hopfield_symmetrize_string_is_not_true():
    """``symmetrize="no"`` used to mean True (a truthy string) and symmetrised silently."""
    w = np.triu(np.ones((N, N)))
    err = expect_rejected("Hopfield", "symmetrize", lambda: oh.Hopfield(w, symmetrize="no"))
    assert "True or False" in str(err) and "'no'" in str(err)


@FAST
@given(poisoned_arrays((N, N)))
def test_hopfield_weights_nonfinite_generated(w):
    expect_rejected("Hopfield", "weights", lambda: oh.Hopfield(w))


@FAST
@given(wrong_shapes((N, N)))
def test_hopfield_weights_wrong_shape_generated(shape):
    if len(shape) == 2 and shape[0] == shape[1]:
        return  # any square matrix is a valid weight shape
    expect_rejected("Hopfield", "weights", lambda: oh.Hopfield(np.ones(shape)))


@FAST
@given(poisoned_arrays((N,)))
def test_hopfield_bias_nonfinite_generated(b):
    expect_rejected("Hopfield", "bias", lambda: _hop(bias=b))


# --------------------------------------------------------------- Hopfield.from_patterns
FROM_PATTERNS = {
    "patterns": array_cases((2, N)) + [
        ("range", "not +-1", XI * 0.5),
        ("range", "one unit", np.ones((2, 1))),
        ("type", "None", None),
    ],
    "rule": choice_cases(("hebbian", "pseudo-inverse", "storkey")),
    "dense": bool_cases(),
    "activation": choice_cases(ACTIVATIONS),
    "beta": scalar_cases(low=0.0),
    "bias": array_cases((N,)),
}
FROM_PATTERNS_CASES = [(arg, *case) for arg, cases in FROM_PATTERNS.items() for case in cases]


@pytest.mark.parametrize("arg,category,label,value", FROM_PATTERNS_CASES,
                         ids=[f"{c[0]}-{i}" for c, i in zip(FROM_PATTERNS_CASES,
                                                             case_ids([c[1:] for c in FROM_PATTERNS_CASES]))])
def test_from_patterns(arg, category, label, value):
    kw = {"patterns": XI, arg: value}
    expect_rejected("Hopfield.from_patterns", arg, lambda: oh.Hopfield.from_patterns(**kw))


def test_from_patterns_dependent_patterns_pseudo_inverse():
    xi = np.vstack([XI, XI[:1]])
    expect_rejected("Hopfield.from_patterns", "patterns",
                    lambda: oh.Hopfield.from_patterns(xi, rule="pseudo-inverse"))


# --------------------------------------------------------------------------- LowRank
LOWRANK = {
    # any (R, N) factor is valid on its own, so "one entry more" is not a bad value here
    "factor": _without(array_cases((2, N)), "one entry more") + [("shape", "vector", np.ones(N)),
                                                                 ("type", "None", None)],
    "scale": array_cases((2,)) + [("type", "None", None)],
    "zero_diagonal": bool_cases(),
}
LOWRANK_CASES = [(arg, *case) for arg, cases in LOWRANK.items() for case in cases]


@pytest.mark.parametrize("arg,category,label,value", LOWRANK_CASES,
                         ids=[f"{c[0]}-{i}" for c, i in zip(LOWRANK_CASES, case_ids([c[1:] for c in LOWRANK_CASES]))])
def test_lowrank(arg, category, label, value):
    kw = {"factor": XI, arg: value}
    expect_rejected("LowRank", arg, lambda: oh.LowRank(**kw))


@FAST
@given(poisoned_arrays((2, N)))
def test_lowrank_factor_nonfinite_generated(u):
    expect_rejected("LowRank", "factor", lambda: oh.LowRank(u))


# --------------------------------------------------------------------------- Kuramoto
# Arguments every coupling form shares, checked on each form.
COMMON = {
    "dim": size_cases(low=2),
    "interaction": choice_cases(INTERACTIONS),
    "stimulus": array_cases((N, D)),
    "omega": array_cases((D, D)) + [("range", "not antisymmetric", np.ones((D, D)))],
    "n": _without(size_cases(low=1), "None"),
}
# Per form: its coupling argument(s), with the form-specific bad values.
FORMS = {
    "edges": {
        "edges": array_cases((E, 2), allow_empty=True) + [
            ("range", "negative index", [[0, -1]]),
            ("range", "index >= n", [[0, N]]),
            ("range", "self-loop", [[1, 1]]),
            ("range", "duplicate pair", [[0, 1], [1, 0]]),
            ("dtype", "fractional", [[0, 1.5]]),
            ("nonfinite", "inf index", [[0, np.inf]]),
            ("nonfinite", "nan index", [[np.nan, 1]]),
            ("type", "None in a list", [[0, None]]),
        ],
        "coupling": array_cases((E,)) + [("type", "None", None)],
        "interaction_weights": [("range", "with a linear interaction", np.ones(E))],
    },
    "dense": {
        "coupling": array_cases((N, N)) + [("range", "not symmetric", np.triu(np.ones((N, N)))),
                                            ("shape", "vector", np.ones(N))],
        "symmetrize": bool_cases(),
        "interaction_weights": [("range", "with a linear interaction", _sym())],
    },
    "sparse": {
        "coupling": [
            ("dtype", "complex", sp.csr_matrix(_sym() + 1j)),
            ("dtype", "bool", sp.csr_matrix(np.ones((N, N), dtype=bool))),
            ("empty", "0 x 0", sp.csr_matrix((0, 0))),
            ("shape", "not square", sp.csr_matrix(np.ones((N, N + 1)))),
            ("nonfinite", "nan", sp.csr_matrix(np.where(np.eye(N, k=1) > 0, np.nan, 0.0))),
            ("range", "not symmetric", sp.csr_matrix(np.triu(np.ones((N, N))))),
        ],
        "symmetrize": bool_cases(),
    },
    "LowRank": {
        "interaction": [("range", "nonlinear", "tanh")],
    },
    "mean-field": {
        "strength": scalar_cases() + [("type", "dict", {"K": 1.0})],
        "coupling": [("range", "unknown name", "mean_field"), ("range", "wrong case", "Mean-Field")],
        "edges": [("range", "edges with mean-field", EDGES)],
    },
}
# an `n` that disagrees with the coupling's size (an edge list or mean field sets no size)
for _form in ("dense", "sparse", "LowRank"):
    FORMS[_form].setdefault("n", []).append(("range", "another size", N + 1))
KURAMOTO_CASES = [(form, arg, *case) for form in KURAMOTO_FORMS
                  for arg, cases in list(COMMON.items()) + list(FORMS[form].items()) for case in cases]


@pytest.mark.parametrize("form,arg,category,label,value", KURAMOTO_CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for c, i in zip(KURAMOTO_CASES, case_ids([c[2:] for c in KURAMOTO_CASES]))])
def test_kuramoto(form, arg, category, label, value):
    build = KURAMOTO_FORMS[form]
    expect_rejected(f"Kuramoto({form})", arg, lambda: build(**{arg: value}))


# interaction_weights of a nonlinear interaction, per form that takes them
INTERACTION_WEIGHTS = {
    "edges": array_cases((E,)) + [("type", "None in a list", [1.0, None, 1.0, 1.0])],
    "dense": array_cases((N, N)) + [("shape", "per edge", np.ones(E)),
                                    ("range", "not symmetric", np.triu(np.ones((N, N))))],
    "sparse": array_cases((N, N)) + [("shape", "(N+1, N+1)", np.ones((N + 1, N + 1))),
                                     ("range", "not symmetric", np.triu(np.ones((N, N))))],
}
IW_CASES = [(form, *case) for form, cases in INTERACTION_WEIGHTS.items() for case in cases]


@pytest.mark.parametrize("form,category,label,value", IW_CASES,
                         ids=[f"{c[0]}-{i}" for c, i in zip(IW_CASES, case_ids([c[1:] for c in IW_CASES]))])
def test_kuramoto_interaction_weights(form, category, label, value):
    build = KURAMOTO_FORMS[form]
    expect_rejected(f"Kuramoto({form})", "interaction_weights",
                    lambda: build(interaction="tanh", interaction_weights=value))


def test_sparse_coupling_wrong_shape_interaction_weights_names_the_shape():
    """This crashed with an IndexError from inside (issue 14)."""
    err = expect_rejected("Kuramoto(sparse)", "interaction_weights",
                          lambda: _kur_sparse(interaction="tanh", interaction_weights=np.ones((2, 2))))
    assert f"({N}, {N})" in str(err) and "(2, 2)" in str(err)


def test_mean_field_nonnumeric_strength_is_a_value_error():
    """``strength="2"`` crashed with a raw TypeError (issue 14)."""
    err = expect_rejected("Kuramoto(mean-field)", "strength", lambda: _kur_mean_field(strength="2"))
    assert "real number" in str(err) and "'2'" in str(err)


@pytest.mark.parametrize("form", ["dense", "sparse"])
def test_nonsymmetric_coupling_message_gives_a_fix_that_works(form):
    """The message suggests ``symmetrize=True``: Kuramoto now takes it, like Hopfield."""
    j = np.triu(np.ones((N, N)), k=1)
    coupling = j if form == "dense" else sp.csr_matrix(j)
    err = expect_rejected(f"Kuramoto({form})", "coupling", lambda: oh.Kuramoto(D, coupling=coupling))
    assert "symmetrize=True" in str(err)
    kur = oh.Kuramoto(D, coupling=coupling, symmetrize=True)
    np.testing.assert_allclose(kur.coupling_dense(), (j + j.T) / 2)


@FAST
@given(poisoned_arrays((N, N)))
def test_kuramoto_dense_coupling_nonfinite_generated(j):
    expect_rejected("Kuramoto(dense)", "coupling", lambda: oh.Kuramoto(D, coupling=j))


@FAST
@given(poisoned_arrays((E,)))
def test_kuramoto_edge_coupling_nonfinite_generated(j):
    expect_rejected("Kuramoto(edges)", "coupling", lambda: _kur_edges(coupling=j))


@FAST
@given(poisoned_arrays((N, D)))
def test_kuramoto_stimulus_nonfinite_generated(c):
    expect_rejected("Kuramoto(edges)", "stimulus", lambda: _kur_edges(stimulus=c))


@FAST
@given(wrong_shapes((E,)).filter(lambda s: tuple(s) != (E, D, D)))  # (E, D, D): one block per edge
def test_kuramoto_edge_coupling_wrong_shape_generated(shape):
    expect_rejected("Kuramoto(edges)", "coupling", lambda: _kur_edges(coupling=np.ones(shape)))


# --------------------------------------------------------------------------- HopfieldKuramoto
HK = {
    "hop": [("type", "string", "hop"), ("type", "None", None), ("type", "a Kuramoto", _kur_edges()),
            ("range", "binary units", oh.Hopfield(_sym(), activation="sign")),
            ("shape", "another size", oh.Hopfield(_sym(N + 1)))],
    "kur": [("type", "string", "kur"), ("type", "None", None), ("type", "a Hopfield", _hop()),
            ("shape", "another size", oh.Kuramoto(D, coupling=_sym(N + 1)))],
    "hk_edges": array_cases((E, 2), allow_empty=True) + [
        ("range", "negative index", [[0, -1]]),
        ("range", "index >= n", [[0, N]]),
        ("range", "self-loop", [[2, 2]]),
        ("range", "duplicate pair", [[0, 1], [1, 0]]),
        ("nonfinite", "inf index", [[0, np.inf]]),
        ("type", "None", None),
        ("range", "unknown name", "every"),
    ],
    "weights": array_cases((E,)) + [("type", "None (mode network)", None)],
    "alpha": scalar_cases(),
    "mode": choice_cases(("network", "additive", "multiplicative")),
    "kappa_h": scalar_cases(low=0.0),
    "kappa_k": scalar_cases(low=0.0),
}
HK_CASES = [(arg, *case) for arg, cases in HK.items() for case in cases]


@pytest.mark.parametrize("arg,category,label,value", HK_CASES,
                         ids=[f"{c[0]}-{i}" for c, i in zip(HK_CASES, case_ids([c[1:] for c in HK_CASES]))])
def test_hopfield_kuramoto(arg, category, label, value):
    kw = {arg: value}
    if arg == "alpha":
        kw.update(mode="additive", weights=None)
    expect_rejected("HopfieldKuramoto", arg, lambda: _hk(**kw))


def test_hk_all_to_all_weights_must_be_scalar():
    expect_rejected("HopfieldKuramoto", "weights", lambda: _hk(hk_edges="all", weights=np.ones(6)))
    expect_rejected("HopfieldKuramoto", "weights", lambda: _hk(hk_edges="all", weights=np.ones(6) + 1j))


@FAST
@given(poisoned_arrays((E,)))
def test_hk_weights_nonfinite_generated(a):
    expect_rejected("HopfieldKuramoto", "weights", lambda: _hk(weights=a))


# --------------------------------------------------------------------------- replace
REPLACE = [("dtype", "complex", np.ones(N) + 1j), ("dtype", "bool", np.ones(N, dtype=bool)),
           ("dtype", "masked", np.ma.array(np.ones(N), mask=[1, 0, 0, 0])), ("type", "string", "abc"),
           ("shape", "one more", np.ones(N + 1)), ("nonfinite", "nan", np.full(N, np.nan))]


@pytest.mark.parametrize("category,label,value", REPLACE, ids=case_ids(REPLACE))
def test_replace(category, label, value):
    expect_rejected("Model.replace", "bias", lambda: _hop().replace(bias=value))


# --------------------------------------------------------------------------- states
STATE_CASES = array_cases((N + N * D,)) + [("type", "None", None)]


@pytest.mark.parametrize("category,label,value", STATE_CASES, ids=case_ids(STATE_CASES))
@pytest.mark.parametrize("method", ["rhs", "energy", "energy_gradient"])
def test_model_states(method, category, label, value):
    """States given to the evaluations: a complex or masked y used to lose its imaginary
    part or mask on the way to float64."""
    hk = _hk()
    call = (lambda: hk.rhs(0.0, value)) if method == "rhs" else (lambda: getattr(hk, method)(value))
    expect_rejected(f"Model.{method}", "y", call)


PACK_CASES = array_cases((N, D))


@pytest.mark.parametrize("category,label,value", PACK_CASES, ids=case_ids(PACK_CASES))
def test_model_pack(category, label, value):
    kur = _kur_edges()
    if category == "nonfinite":  # pack only lays parts out; the evaluations refuse NaN/inf
        kur.pack(x=value)
        expect_rejected("Model.pack", "y", lambda: kur.rhs(0.0, kur.pack(x=value)))
        return
    expect_rejected("Model.pack", "x", lambda: kur.pack(x=value))


def teardown_module():
    print("\nbad inputs per entry point:", dict(sorted(COUNTS.items())))
