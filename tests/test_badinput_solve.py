"""Bad input to ``oh.solve``: every argument against the shared matrix (tests/badinput.py).

Organised like issue 14's list: each argument meets the categories that apply to it (wrong
type, shape, dtype, NaN/inf, empty, out of range); every case must raise a ``ValueError``
naming the argument.  ``None`` is left out where it is the documented default.  Hypothesis
draws poisoned and wrongly shaped ``y0`` and ``t_eval`` arrays.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from oscihop.solvers.methods import METHODS
from oscihop.solvers.solve import BACKENDS
from oscihop.solvers.times import MAX_STEPS_LIMIT

ENTRY = "solve"
HOP = oh.Hopfield(np.array([[0.0, 0.5, 0.1], [0.5, 0.0, -0.3], [0.1, -0.3, 0.0]]), bias=[0.1, 0.0, -0.1])
Y0 = np.array([0.2, -0.1, 0.3])
SIGN = oh.Hopfield(HOP.weights, activation="sign")


def _solve(**kw):
    args = dict(model=HOP, t_span=(0.0, 1.0), y0=Y0)
    args.update(kw)
    return oh.solve(args.pop("model"), args.pop("t_span"), args.pop("y0"), **args)


def _without(cases, *labels):
    return [c for c in cases if c[1] not in labels]


T_SPAN_CASES = [
    ("type", "string", "0, 1"),
    ("type", "None", None),
    ("type", "number", 1.0),
    ("type", "string entry", (0.0, "1")),
    ("dtype", "bool entry", (False, True)),
    ("dtype", "complex entry", (0.0, 1.0 + 1j)),
    ("dtype", "object entry", (0.0, object())),
    ("shape", "three entries", (0.0, 1.0, 2.0)),
    ("shape", "one entry", (1.0,)),
    ("empty", "empty", ()),
    ("nonfinite", "nan", (0.0, float("nan"))),
    ("nonfinite", "inf", (0.0, float("inf"))),
    ("range", "backwards", (1.0, 0.0)),
]

CASES = {
    "t_span": T_SPAN_CASES,
    "y0": array_cases((3,)),
    "method": choice_cases(METHODS),
    "t_eval": array_cases((3,)) + [("range", "outside t_span", np.array([0.0, 2.0])),
                                   ("range", "decreasing", np.array([0.5, 0.2])),
                                   ("range", "repeated", np.array([0.2, 0.2]))],
    "rtol": _without(scalar_cases(low=0.0), "None"),
    "atol": _without(scalar_cases(low=0.0, strict_low=False), "None") + array_cases((3,)),
    "max_step": _without(scalar_cases(low=0.0), "inf"),
    "first_step": _without(scalar_cases(low=0.0, high=1.0), "None"),
    "max_steps": _without(size_cases(low=0, high=MAX_STEPS_LIMIT), "None"),
    "steady_state": _without(scalar_cases(low=0.0), "None"),
    "backend": choice_cases(BACKENDS),
    "dtype": _without(choice_cases(["float32", "float64"]), "None"),
}
# dt for a fixed-step method: None too (it is required there)
CASES_DT = scalar_cases(low=0.0) + [("range", "too small", 1e-19), ("range", "too many steps", 1e-7)]
# seed of method="async" (None: fresh entropy, the default)
CASES_SEED = [c for c in size_cases(low=0) if c[1] not in ("None", "below")]
MATRIX = [(name, *case) for name, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("name,category,label,value", MATRIX,
                         ids=[f"{n}-{i}" for n, cases in CASES.items() for i in case_ids(cases)])
def test_bad_argument_is_a_value_error_naming_it(name, category, label, value):
    expect_rejected(ENTRY, name, lambda: _solve(**{name: value}))


@pytest.mark.parametrize("category,label,value", CASES_DT, ids=case_ids(CASES_DT))
@pytest.mark.parametrize("method", ["Euler", "RK4"])
def test_bad_dt_is_a_value_error_naming_it(method, category, label, value):
    expect_rejected(ENTRY, "dt", lambda: _solve(method=method, dt=value, t_eval=[0.0, 1.0]))


@pytest.mark.parametrize("category,label,value", CASES_SEED, ids=case_ids(CASES_SEED))
def test_bad_seed_is_a_value_error_naming_it(category, label, value):
    expect_rejected(ENTRY, "seed", lambda: oh.solve(SIGN, (0, 3), [1.0, -1.0, 1.0], method="async", seed=value))


@pytest.mark.parametrize("value", ["hopfield", None, 3, HOP.weights])
def test_bad_model_is_a_value_error_naming_it(value):
    expect_rejected(ENTRY, "model", lambda: _solve(model=value))


def test_method_for_the_wrong_model_kind_names_method():
    expect_rejected(ENTRY, "method", lambda: _solve(method="async"))
    expect_rejected(ENTRY, "method", lambda: oh.solve(SIGN, (0.0, 1.0), [1.0, -1.0, 1.0]))


def test_documented_conversions():
    """What is converted rather than refused: integral floats as counts, integer arrays."""
    sol = _solve(max_steps=1e6, t_eval=[0, 1])
    assert sol.success and sol.options["max_steps"] == 1_000_000
    sol = _solve(y0=[0, 1, 0], t_eval=np.array([0, 1]))
    assert sol.success and sol.y.dtype == np.float64
    # a float32 y0 without dtype solves in float32 (documented); dtype decides when given
    assert _solve(y0=Y0.astype(np.float32)).y.dtype == np.float32
    assert _solve(y0=Y0.astype(np.float32), dtype="float64").y.dtype == np.float64


@settings(max_examples=25, deadline=None)
@given(poisoned_arrays((3,)))
def test_hypothesis_poisoned_y0(y0):
    expect_rejected(ENTRY, "y0", lambda: _solve(y0=y0))


@settings(max_examples=25, deadline=None)
@given(wrong_shapes((3,)))
def test_hypothesis_wrongly_shaped_y0(shape):
    if len(shape) == 2 and shape[-1] == 3:  # (B, 3) is a batch: valid
        return
    expect_rejected(ENTRY, "y0", lambda: _solve(y0=np.full(shape, 0.1)))


@settings(max_examples=25, deadline=None)
@given(poisoned_arrays((4,)))
def test_hypothesis_poisoned_t_eval(t_eval):
    expect_rejected(ENTRY, "t_eval", lambda: _solve(t_eval=t_eval))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6).filter(lambda v: any(b <= a for a, b in zip(v, v[1:]))))
def test_hypothesis_unsorted_or_repeated_t_eval(t_eval):
    expect_rejected(ENTRY, "t_eval", lambda: _solve(t_eval=t_eval))


def test_count_is_reported():
    """The number of bad inputs this module checked (issue 14's closing note)."""
    from badinput import COUNTS

    print(f"\n[badinput] {ENTRY}: {COUNTS[ENTRY]} bad inputs checked")
