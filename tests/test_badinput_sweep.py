"""Bad values for every argument of ``oh.sweep`` (issue 14): a ValueError naming the argument, nothing written.

Cases come from the shared matrix in ``tests/badinput.py`` (type, shape, dtype, NaN/inf, empty,
out of range), plus what is particular to a sweep (reserved parameter names, repeated values,
an unpicklable ``build``).  Values that are valid for an argument (``None`` for an optional
one, a list for ``reduce``, a longer ``t_eval``) are left out of its cases.  Every rejected call
must leave no store directory behind.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oscihop as oh
from oscihop.solvers import METHODS
from oscihop.solvers.solve import BACKENDS
from oscihop.sweep.executors import _local_workers

import sweep_models as sm
from badinput import (array_cases, bool_cases, case_ids, choice_cases, expect_rejected, poisoned_arrays,
                      scalar_cases, size_cases, wrong_shapes)

ENTRY = "sweep"


def _without(cases, *labels):
    return [c for c in cases if c[1] not in labels]


def _cases():
    """(argument, category, label, value) for every bad value of every argument."""
    out = []

    def add(arg, cases):
        out.extend((arg, cat, label, value) for cat, label, value in cases)

    add("build", [("type", "number", 3), ("type", "string", "kuramoto"), ("type", "None", None),
                  ("type", "list", [sm.kuramoto_build])])
    add("grid", [("type", "string", "coupling"), ("type", "list", [1.0, 2.0]), ("empty", "empty dict", {}),
                 ("range", "not an identifier", {"1x": [1.0]}), ("range", "reserved name", {"outcome": [1.0]}),
                 ("range", "repeated value", {"coupling": [1.0, 2.0, 1.0]})])
    # the values of one grid parameter: any length is valid, so "one entry more" is not a bad value
    add("grid", [(cat, f"values {label}", {"coupling": value})
                 for cat, label, value in _without(array_cases((3,)), "one entry more")])
    add("points", [("type", "string", "abc"), ("type", "dict", {"coupling": 1.0}), ("type", "set", {1.0}),
                   ("type", "list of numbers", [1.0, 2.0]), ("empty", "empty", []),
                   ("dtype", "complex value", [{"coupling": 1.0 + 2.0j}]),
                   ("dtype", "object value", [{"coupling": None}]),
                   ("shape", "array value", [{"coupling": [1.0, 2.0]}]),
                   ("nonfinite", "nan value", [{"coupling": float("nan")}]),
                   ("nonfinite", "inf value", [{"coupling": float("inf")}]),
                   ("range", "missing name", [{"coupling": 1.0, "seed": 0}, {"coupling": 2.0}]),
                   ("range", "repeated point", [{"coupling": 1.0}, {"coupling": 1.0}])])
    add("store", [("type", "number", 123), ("type", "list", ["s.zarr"]), ("type", "bytes", b"s.zarr"),
                  ("type", "None", None), ("empty", "empty string", ""), ("empty", "blank string", "   ")])
    add("t_span", [("type", "string", "01"), ("type", "None (required)", None), ("type", "dict", {"a": 1.0}),
                   ("shape", "one number", [1.0]), ("shape", "three numbers", (0.0, 1.0, 2.0)),
                   ("shape", "nested", [[0.0, 1.0]]), ("dtype", "complex", (0.0, 1.0j)),
                   ("dtype", "bool", (False, True)), ("dtype", "masked", np.ma.array([0.0, 1.0], mask=[0, 1])),
                   ("nonfinite", "nan", (0.0, float("nan"))), ("nonfinite", "inf", (0.0, float("inf"))),
                   ("empty", "empty", ()), ("range", "reversed", (1.0, 0.0))])
    add("t_eval", _without(array_cases((3,)), "one entry more")
        + [("range", "outside t_span", [0.0, 2.0]), ("range", "unsorted", [0.5, 0.2])])
    add("method", choice_cases(METHODS))
    add("reduce", [("type", "number", 3), ("type", "None", None), ("type", "set", {"full"}),
                   ("type", "bytes", b"full"), ("type", "nested list", [["full"]]), ("range", "unknown", "mean"),
                   ("range", "wrong case", "FULL"), ("range", "unknown in list", ["full", "mean"]),
                   ("empty", "empty string", ""), ("empty", "empty list", [])])
    add("points_per_task", _without(size_cases(low=1), "None"))
    add("workers", _without(size_cases(low=1, high=4 * _local_workers()), "None"))
    add("overwrite", bool_cases())
    add("progress", _without(bool_cases(), "None"))
    add("backend", choice_cases(BACKENDS))
    return out


CASES = _cases()


def _call(tmp_path, **bad):
    kw = dict(grid={"coupling": [1.0], "seed": [0]}, store=tmp_path / "s.zarr", t_span=(0.0, 1.0), progress=False)
    build = bad.pop("build", sm.kuramoto_build)
    if "points" in bad:
        kw.pop("grid")
    kw.update(bad)
    return lambda: oh.sweep(build, **kw)


@pytest.mark.parametrize("arg, category, label, value", CASES,
                         ids=[f"{a}-{i}" for a, i in zip((c[0] for c in CASES),
                                                         case_ids([c[1:] for c in CASES]))])
def test_bad_value_is_rejected_naming_the_argument(tmp_path, arg, category, label, value):
    expect_rejected(ENTRY, arg, _call(tmp_path, **{arg: value}))
    assert not (tmp_path / "s.zarr").exists(), "a rejected sweep must write nothing"


def test_store_that_is_a_file(tmp_path):
    (tmp_path / "file.zarr").write_text("not a store")
    expect_rejected(ENTRY, "store", _call(tmp_path, store=tmp_path / "file.zarr"))
    assert (tmp_path / "file.zarr").read_text() == "not a store"


def test_workers_with_a_dask_client(tmp_path):
    class Client:  # only its presence matters: the check comes before any use
        def submit(self):
            pass

    expect_rejected(ENTRY, "workers", _call(tmp_path, workers=2, client=Client()))


@pytest.mark.parametrize("build, why", [
    (lambda coupling, seed: sm.kuramoto_build(coupling, seed), "picklable"),
    (sm.hopfield_build, "No point of the sweep could be built"),  # build(**params) does not take these names
    ({"model": "no-such-model"}, "No point of the sweep could be built"),  # a spec that does not build
], ids=["lambda", "wrong-parameters", "bad-spec"])
def test_unusable_build(tmp_path, build, why):
    call = _call(tmp_path, build=build, grid={"coupling": [1.0, 2.0], "seed": [0]}, points_per_task=1, workers=2)
    err = expect_rejected(ENTRY, "build", call)
    assert why in str(err)
    assert not (tmp_path / "s.zarr").exists()


_HYP = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_HYP
@given(t_eval=poisoned_arrays((4,)))
def test_t_eval_with_nan_or_inf(tmp_path, t_eval):
    expect_rejected(ENTRY, "t_eval", _call(tmp_path, t_eval=t_eval))


@_HYP
@given(shape=wrong_shapes((2,)))
def test_t_span_of_another_shape(tmp_path, shape):
    expect_rejected(ENTRY, "t_span", _call(tmp_path, t_span=np.zeros(shape)))


@_HYP
@given(t0=st.floats(allow_nan=True, allow_infinity=True), t1=st.floats(allow_nan=True, allow_infinity=True))
def test_t_span_not_finite_or_backwards(tmp_path, t0, t1):
    if np.isfinite(t0) and np.isfinite(t1) and t1 >= t0:
        return  # a valid interval
    expect_rejected(ENTRY, "t_span", _call(tmp_path, t_span=(t0, t1)))


@_HYP
@given(values=poisoned_arrays((3,)))
def test_grid_values_with_nan_or_inf(tmp_path, values):
    expect_rejected(ENTRY, "grid", _call(tmp_path, grid={"coupling": values}))


@_HYP
@given(n=st.one_of(st.integers(max_value=0), st.floats(0.01, 1e6).filter(lambda v: not float(v).is_integer())))
def test_points_per_task_out_of_range_or_fractional(tmp_path, n):
    expect_rejected(ENTRY, "points_per_task", _call(tmp_path, points_per_task=n))


def test_scalar_matrix_on_a_solve_option(tmp_path):
    """Solve options reach oh.solve at the first point: its errors name them (here ``rtol``)."""
    for _, _, value in _without(scalar_cases(low=0.0), "None"):  # None: the default tolerance
        expect_rejected(ENTRY, "rtol", _call(tmp_path, rtol=value))
        assert not (tmp_path / "s.zarr").exists()
