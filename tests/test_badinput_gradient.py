"""Bad input to ``oh.value_and_grad`` (and ``oh.gradient``): every argument against the
shared matrix (tests/badinput.py), as tests/test_badinput_solve.py does for ``oh.solve``.

Every case must raise a ``ValueError`` naming the argument; ``None`` is left out where it is
the documented default.  Hypothesis draws poisoned and wrongly shaped ``y0`` and ``t_eval``.
"""
import numpy as np
import pytest
from hypothesis import given, settings

import oscihop as oh
from badinput import (
    array_cases,
    case_ids,
    choice_cases,
    expect_rejected,
    poisoned_arrays,
    scalar_cases,
    size_cases,
    wrong_shapes,
)
from oscihop.gradients import SUPPORTED_METHODS
from oscihop.solvers.times import MAX_STEPS_LIMIT

ENTRY = "value_and_grad"
HOP = oh.Hopfield(np.array([[0.0, 0.5, 0.1], [0.5, 0.0, -0.3], [0.1, -0.3, 0.0]]), bias=[0.1, 0.0, -0.1])
Y0 = np.array([0.2, -0.1, 0.3])


def _loss(y):
    return float(np.sum(y)), np.ones_like(y)


def _vag(**kw):
    args = dict(model=HOP, loss=_loss, y0=Y0, t_span=(0.0, 1.0))
    args.update(kw)
    return oh.value_and_grad(args.pop("model"), args.pop("loss"), args.pop("y0"), args.pop("t_span"), **args)


def _without(cases, *labels):
    return [c for c in cases if c[1] not in labels]


T_SPAN_CASES = [
    ("type", "string", "0, 1"),
    ("type", "None", None),
    ("type", "number", 1.0),
    ("type", "string entry", (0.0, "1")),
    ("dtype", "bool entry", (False, True)),
    ("dtype", "complex entry", (0.0, 1.0 + 1j)),
    ("shape", "three entries", (0.0, 1.0, 2.0)),
    ("empty", "empty", ()),
    ("nonfinite", "nan", (0.0, float("nan"))),
    ("nonfinite", "inf", (float("-inf"), 1.0)),
    ("range", "backwards", (1.0, 0.0)),
]

CASES = {
    "t_span": T_SPAN_CASES,
    "y0": array_cases((3,)),
    "method": choice_cases(SUPPORTED_METHODS) + [("range", "not differentiable", "Geometric"),
                                                  ("range", "binary", "async")],
    "t_eval": array_cases((3,)) + [("range", "outside t_span", np.array([0.0, 2.0])),
                                   ("range", "repeated", np.array([0.2, 0.2]))],
    "rtol": _without(scalar_cases(low=0.0), "None"),
    "atol": _without(scalar_cases(low=0.0, strict_low=False), "None") + array_cases((3,)),
    "max_steps": _without(size_cases(low=0, high=MAX_STEPS_LIMIT), "None"),
    # a name, or a list of names, of model.parameters()
    "wrt": _without(choice_cases(["bias", "weights"]), "list", "None") + [("type", "list of a number", [3]),
                                                                         ("range", "unknown in a list", ["W"])],
    # "all", "sqrt" or a positive integer
    "checkpoint": _without(choice_cases(["all", "sqrt"]), "number") + [("range", "zero", 0), ("range", "negative", -2),
                                                                       ("dtype", "fractional", 2.5),
                                                                       ("dtype", "bool", True)],
    "dtype": _without(choice_cases(["float32", "float64"]), "None"),
}
CASES_DT = scalar_cases(low=0.0) + [("range", "too small", 1e-19), ("range", "too many steps", 1e-7)]
LOSS_CASES = [
    ("type", "string", "mse"),
    ("type", "None", None),
    ("type", "number", 3),
    ("shape", "returns one value", lambda y: 0.0),
    ("shape", "gradient of another shape", lambda y: (0.0, np.ones(4))),
    ("shape", "value not a scalar", lambda y: (np.ones(2), np.ones_like(y))),
    ("nonfinite", "nan gradient", lambda y: (0.0, np.full_like(y, np.nan))),
]
MATRIX = [(name, *case) for name, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("name,category,label,value", MATRIX,
                         ids=[f"{n}-{i}" for n, cases in CASES.items() for i in case_ids(cases)])
def test_bad_argument_is_a_value_error_naming_it(name, category, label, value):
    expect_rejected(ENTRY, name, lambda: _vag(**{name: value}))


@pytest.mark.parametrize("category,label,value", CASES_DT, ids=case_ids(CASES_DT))
@pytest.mark.parametrize("method", ["Euler", "RK4"])
def test_bad_dt_is_a_value_error_naming_it(method, category, label, value):
    expect_rejected(ENTRY, "dt", lambda: _vag(method=method, dt=value, t_eval=[0.0, 1.0]))


@pytest.mark.parametrize("category,label,value", LOSS_CASES, ids=case_ids(LOSS_CASES))
def test_bad_loss_is_a_value_error_naming_it(category, label, value):
    expect_rejected(ENTRY, "loss", lambda: _vag(loss=value))


@pytest.mark.parametrize("value", ["hopfield", None, 3, HOP.weights, oh.Hopfield(HOP.weights, activation="sign")])
def test_bad_model_is_a_value_error_naming_it(value):
    expect_rejected(ENTRY, "model", lambda: _vag(model=value))


def test_gradient_checks_the_same_way():
    expect_rejected("gradient", "t_span", lambda: oh.gradient(HOP, _loss, Y0, (1.0, 0.0)))
    expect_rejected("gradient", "method", lambda: oh.gradient(HOP, _loss, Y0, (0.0, 1.0), method=["RK45"]))
    expect_rejected("gradient", "y0", lambda: oh.gradient(HOP, _loss, Y0 + 1j, (0.0, 1.0)))


@settings(max_examples=25, deadline=None)
@given(poisoned_arrays((3,)))
def test_hypothesis_poisoned_y0(y0):
    expect_rejected(ENTRY, "y0", lambda: _vag(y0=y0))


@settings(max_examples=25, deadline=None)
@given(wrong_shapes((3,)))
def test_hypothesis_wrongly_shaped_y0(shape):
    if len(shape) == 2 and shape[-1] == 3:  # (B, 3) is a batch: valid
        return
    expect_rejected(ENTRY, "y0", lambda: _vag(y0=np.full(shape, 0.1)))


@settings(max_examples=25, deadline=None)
@given(poisoned_arrays((4,)))
def test_hypothesis_poisoned_t_eval(t_eval):
    expect_rejected(ENTRY, "t_eval", lambda: _vag(t_eval=t_eval))


def test_count_is_reported():
    """The number of bad inputs this module checked (issue 14's closing note)."""
    from badinput import COUNTS

    print(f"\n[badinput] {ENTRY}: {COUNTS[ENTRY]} (+ gradient: {COUNTS['gradient']}) bad inputs checked")
