"""The one matrix of bad values that every public entry point is checked against.

Each ``tests/test_badinput_<entry>.py`` module draws its cases from here, so every entry
point meets the same categories (issue 14): wrong type, wrong shape, wrong dtype (complex,
object, bool), NaN/inf, empty, and out of range. A case is ``(category, label, value)``.

``expect_rejected`` checks the rule every case must obey: a ``ValueError`` (never a raw
``TypeError``/``IndexError`` from inside the package) whose message names the parameter.
``COUNTS`` tallies the cases each module ran, for the closing report
(``pytest tests/test_badinput_*.py -s`` prints them at the end of the session).
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import strategies as st

CATEGORIES = ("type", "shape", "dtype", "nonfinite", "empty", "range")

#: cases checked per entry point, filled by :func:`expect_rejected`
COUNTS: collections.Counter = collections.Counter()


def array_cases(shape, *, allow_empty=False, finite=True):
    """Bad values for an argument that expects a real array of ``shape``.

    Parameters
    ----------
    shape : tuple of int
        The shape a good value has (every entry >= 1).
    allow_empty : bool
        Leave out the "empty" case where an empty array is a valid value.
    finite : bool
        Leave out NaN/inf where non-finite entries are valid.
    """
    shape = tuple(int(s) for s in shape)
    good = np.full(shape, 0.5)
    cases = [
        ("type", "string", "abc"),
        ("type", "dict", {"a": 1.0}),
        ("type", "set", {1.0, 2.0}),
        ("shape", "extra axis", good[..., None] * np.ones(2)),
        ("shape", "one entry more", np.full(shape[:-1] + (shape[-1] + 1,), 0.5) if shape else np.ones(2)),
        ("dtype", "complex", good + 1j),
        ("dtype", "object with a string", np.array(list(good.ravel()[:-1]) + ["x"], dtype=object).reshape(shape)
         if good.size else np.array(["x"], dtype=object)),
        ("dtype", "bool", np.ones(shape, dtype=bool)),
        ("dtype", "masked", np.ma.array(good, mask=np.ones(shape, dtype=bool))),
        ("dtype", "strings", np.full(shape, "a")),
    ]
    if finite:
        nan = good.copy()
        nan.flat[0] = np.nan
        inf = good.copy()
        inf.flat[-1] = np.inf
        cases += [("nonfinite", "nan", nan), ("nonfinite", "inf", inf)]
    if not allow_empty:
        cases.append(("empty", "empty", np.zeros((0,) * max(len(shape), 1))))
    return cases


def scalar_cases(*, low=None, high=None, strict_low=True, finite=True):
    """Bad values for an argument that expects a real number (in an optional range)."""
    cases = [
        ("type", "string", "1.0"),
        ("type", "list", [1.0, 2.0]),
        ("type", "None", None),
        ("dtype", "complex", 1.0 + 2.0j),
        ("dtype", "bool", True),
    ]
    if finite:
        cases += [("nonfinite", "nan", float("nan")), ("nonfinite", "inf", float("inf"))]
    if low is not None:
        cases.append(("range", "below", low - 1.0 if not strict_low else low))
    if high is not None:
        cases.append(("range", "above", high + 1.0))
    return cases


def size_cases(*, low=1, high=None):
    """Bad values for a count (an integer such as ``n`` or ``k``)."""
    cases = [
        ("type", "string", "10"),
        ("type", "None", None),
        ("type", "list", [4]),
        ("dtype", "fractional", 2.5),
        ("dtype", "bool", True),
        ("dtype", "complex", 3 + 0j),
        ("nonfinite", "nan", float("nan")),
        ("nonfinite", "inf", float("inf")),
        ("range", "below", low - 1),
        ("range", "negative", -5),
    ]
    if high is not None:
        cases.append(("range", "above", high + 1))
    return cases


def choice_cases(choices):
    """Bad values for an argument that takes one of ``choices`` (strings)."""
    first = sorted(choices)[0]
    return [
        ("type", "list", [first]),
        ("type", "number", 3),
        ("type", "None", None),
        ("range", "unknown name", "no-such-choice"),
        ("range", "wrong case", first.upper() if first.upper() != first else first.lower()),
        ("empty", "empty string", ""),
    ]


def bool_cases():
    """Bad values for a flag: truthy strings and numbers would silently mean True."""
    return [
        ("type", "string False", "False"),
        ("type", "string no", "no"),
        ("type", "int", 1),
        ("type", "None", None),
        ("type", "list", [True]),
    ]


def case_ids(cases):
    """pytest ids for a list of cases."""
    return [f"{cat}-{label}".replace(" ", "_") for cat, label, _ in cases]


def expect_rejected(entry, name, call, *, names=None, types=(ValueError,)):
    """Run ``call()``; it must raise one of ``types`` whose message names the parameter.

    ``names`` lists other acceptable names in the message (an alias or the owner's name).
    Records the case under ``entry`` in :data:`COUNTS`. Returns the exception.
    """
    COUNTS[entry] += 1
    with pytest.raises(types) as info:
        call()
    msg = str(info.value)
    wanted = (name,) + tuple(names or ())
    assert any(w in msg for w in wanted), f"message does not name {wanted!r}: {msg}"
    return info.value


def float_arrays(shape, *, elements=None):
    """Hypothesis strategy: real float64 arrays of ``shape`` (finite unless ``elements`` says)."""
    from hypothesis.extra import numpy as hnp

    if elements is None:
        elements = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    return hnp.arrays(np.float64, shape, elements=elements)


def poisoned_arrays(shape):
    """Hypothesis strategy: float arrays of ``shape`` with at least one NaN or inf entry."""
    from hypothesis.extra import numpy as hnp

    def poison(args):
        arr, where, bad = args
        arr = arr.copy()
        arr.flat[where % arr.size] = bad
        return arr

    size = int(np.prod(shape))
    return st.tuples(
        hnp.arrays(np.float64, shape, elements=st.floats(-10, 10)),
        st.integers(0, max(size - 1, 0)),
        st.sampled_from([np.nan, np.inf, -np.inf]),
    ).map(poison)


def wrong_shapes(shape):
    """Hypothesis strategy: shapes of the same or other rank that differ from ``shape``."""
    from hypothesis.extra import numpy as hnp

    return hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5).filter(lambda s: tuple(s) != tuple(shape))
