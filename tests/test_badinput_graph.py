"""Bad input to the graph helpers: complete_edges, ring_edges, watts_strogatz_edges,
csr_from_edges, edges_from_dense, rcm_permutation, relabel_edges, inverse_permutation
(issue 14: "non-integer or negative sizes in the graph helpers", "string or float sizes").

Every argument meets the shared matrix of tests/badinput.py; each case must raise a ValueError
whose message names the argument.  Integral floats (``10.0``) are the one documented
conversion for sizes, checked in ``test_integral_float_sizes_are_converted``.
"""

from __future__ import annotations

import numpy as np
import pytest
from badinput import (
    COUNTS,
    array_cases,
    case_ids,
    expect_rejected,
    scalar_cases,
    size_cases,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import oscihop as oh
from oscihop.graph import edges_from_dense

FAST = settings(max_examples=25, deadline=None)
EDGES = np.array([[0, 1], [1, 2], [2, 3]])
PERM = np.array([2, 0, 3, 1])

# bad index lists (E, 2) for a graph of 4 nodes: the array matrix plus the index rules
EDGE_CASES = array_cases((3, 2)) + [
    ("type", "None", None),
    ("range", "negative index", [[0, -1]]),
    ("range", "index >= n", [[0, 4]]),
    ("range", "self-loop", [[2, 2]]),
    ("range", "duplicate pair", [[0, 1], [1, 0]]),
    ("dtype", "fractional", [[0, 1.5]]),
    ("nonfinite", "inf index", [[0, np.inf]]),
    ("dtype", "huge float", [[0, 1e300]]),
]
EDGE_CASES = [c for c in EDGE_CASES if c[1] != "empty"]  # no edges is a valid graph


def test_good_inputs_build():
    assert complete_len(4) == 6
    assert oh.ring_edges(6, 2).shape == (12, 2)
    assert oh.watts_strogatz_edges(10, 4, 0.3, seed=0).shape == (20, 2)
    indptr, indices, eid, vals = oh.csr_from_edges(4, EDGES, [1.0, 2.0, 3.0])
    assert indptr.tolist() == [0, 1, 3, 5, 6] and vals.tolist() == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    assert oh.csr_from_edges(4, np.zeros((0, 2), dtype=int))[0].tolist() == [0] * 5
    assert np.isnan(oh.csr_from_edges(4, EDGES, [np.nan, 1.0, 2.0])[3][:2]).all()  # carried, not computed with
    e, v = edges_from_dense(np.array([[0, 1.0], [1.0, 0]]))
    assert e.tolist() == [[0, 1]] and v.tolist() == [1.0]
    perm = oh.rcm_permutation(4, EDGES, None)
    assert sorted(perm.tolist()) == [0, 1, 2, 3]
    assert oh.inverse_permutation(PERM).tolist() == [1, 3, 0, 2]
    assert oh.relabel_edges([[0, 0], [0, 1]], PERM).tolist() == [[1, 1], [1, 3]]  # pairs, relabelled


def complete_len(n):
    return len(oh.complete_edges(n))


def test_integral_float_sizes_are_converted():
    """Documented conversion: a float with an integral value is taken as that integer."""
    assert oh.complete_edges(4.0).tolist() == oh.complete_edges(4).tolist()
    assert oh.ring_edges(np.float64(6), 2.0).tolist() == oh.ring_edges(6, 2).tolist()
    assert oh.watts_strogatz_edges(10.0, 4.0, 0.2, seed=1).tolist() == oh.watts_strogatz_edges(10, 4, 0.2, seed=1).tolist()
    assert oh.csr_from_edges(3.0, [[0.0, 2.0]])[0].tolist() == [0, 1, 1, 2]


# (entry, argument, call taking the bad value, cases)
CALLS = {
    "complete_edges": {
        "n": (lambda v: oh.complete_edges(v), size_cases(low=1)),
    },
    "ring_edges": {
        "n": (lambda v: oh.ring_edges(v), size_cases(low=3)),
        "k": (lambda v: oh.ring_edges(10, v), size_cases(low=1) + [("range", "k >= n/2", 5)]),
    },
    "watts_strogatz_edges": {
        "n": (lambda v: oh.watts_strogatz_edges(v, 2, 0.1), size_cases(low=3)),
        "k": (lambda v: oh.watts_strogatz_edges(10, v, 0.1),
              size_cases(low=2) + [("range", "odd", 3), ("range", "k >= n", 10), ("dtype", "odd float", 3.0)]),
        "p": (lambda v: oh.watts_strogatz_edges(10, 4, v), scalar_cases(low=0.0, high=1.0, strict_low=False)),
        "seed": (lambda v: oh.watts_strogatz_edges(10, 4, 0.1, seed=v),
                 [("type", "string", "abc"), ("dtype", "fractional", 2.5), ("range", "negative", -1),
                  ("dtype", "bool", True), ("dtype", "complex", 1 + 1j)]),
    },
    "csr_from_edges": {
        "n": (lambda v: oh.csr_from_edges(v, EDGES), size_cases(low=1)),
        "edges": (lambda v: oh.csr_from_edges(4, v), EDGE_CASES),
        # values are only permuted, never computed with: NaN/inf are carried as given
        "values": (lambda v: oh.csr_from_edges(4, EDGES, v), array_cases((3,), finite=False)),
    },
    "edges_from_dense": {
        "mat": (lambda v: edges_from_dense(v), array_cases((3, 3)) + [("shape", "vector", np.ones(3))]),
        "tol": (lambda v: edges_from_dense(np.eye(3), v), scalar_cases(low=0.0, strict_low=False)),
    },
    "rcm_permutation": {
        "n": (lambda v: oh.rcm_permutation(v, EDGES), size_cases(low=1)),
        # None stands for a graph the model does not have, and is skipped
        "edge_lists": (lambda v: oh.rcm_permutation(4, EDGES, v), [c for c in EDGE_CASES if c[1] != "None"]),
    },
    "inverse_permutation": {
        "perm": (lambda v: oh.inverse_permutation(v),
                 array_cases((4,)) + [("range", "repeated index", [0, 0, 1, 2]), ("range", "out of range", [0, 1, 2, 4]),
                                      ("range", "negative", [0, -1, 1, 2]), ("shape", "matrix", np.eye(2, dtype=int)),
                                      ("type", "None", None)]),
    },
    "relabel_edges": {
        "perm": (lambda v: oh.relabel_edges(EDGES, v), [("range", "repeated index", [0, 0, 1, 2]),
                                                       ("dtype", "complex", PERM + 0j), ("dtype", "masked", np.ma.array(PERM)),
                                                       ("empty", "empty", [])]),
        "edges": (lambda v: oh.relabel_edges(v, PERM),
                  [c for c in EDGE_CASES if c[1] not in ("self-loop", "duplicate pair")]),
    },
}
CASES = [(entry, arg, *case) for entry, args in CALLS.items() for arg, (_, cases) in args.items() for case in cases]


@pytest.mark.parametrize("entry,arg,category,label,value", CASES,
                         ids=[f"{c[0]}-{c[1]}-{i}" for c, i in zip(CASES, case_ids([c[2:] for c in CASES]))])
def test_graph_helper(entry, arg, category, label, value):
    call = CALLS[entry][arg][0]
    expect_rejected(entry, arg, lambda: call(value))


def test_issue_examples():
    """The inputs the issue names: each a ValueError naming the argument and the value."""
    err = expect_rejected("complete_edges", "n", lambda: oh.complete_edges(2.5))
    assert "2.5" in str(err)
    err = expect_rejected("csr_from_edges", "edges", lambda: oh.csr_from_edges(3, [[0, -1]]))
    assert "(0, -1)" in str(err)
    err = expect_rejected("ring_edges", "n", lambda: oh.ring_edges("10"))
    assert "'10'" in str(err)
    err = expect_rejected("ring_edges", "n", lambda: oh.ring_edges(10.5))
    assert "10.5" in str(err)


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not (x.is_integer() and x >= 1)))
def test_complete_edges_non_counts_generated(n):
    expect_rejected("complete_edges", "n", lambda: oh.complete_edges(n))


@FAST
@given(st.integers(-50, 2))
def test_ring_too_small_generated(n):
    expect_rejected("ring_edges", "n", lambda: oh.ring_edges(n))


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True).filter(lambda p: not 0.0 <= p <= 1.0))
def test_watts_strogatz_p_outside_generated(p):
    expect_rejected("watts_strogatz_edges", "p", lambda: oh.watts_strogatz_edges(10, 4, p))


@FAST
@given(hnp.arrays(np.float64, (3, 2), elements=st.sampled_from([-1.0, 0.0, 1.0, 2.0, 2.5, 5.0, 6.0, 7.0])))
def test_csr_from_edges_float_edges_generated(edges):
    """Float edge lists: accepted only as valid whole-number pairs, else a ValueError naming ``edges``."""
    valid = (np.all(edges == np.round(edges)) and np.all((edges >= 0) & (edges < 6))
             and np.all(edges[:, 0] != edges[:, 1])
             and len({tuple(sorted(e)) for e in edges.tolist()}) == len(edges))
    if valid:
        indptr = oh.csr_from_edges(6, edges)[0]
        assert indptr[-1] == 2 * len(edges)
    else:
        expect_rejected("csr_from_edges", "edges", lambda: oh.csr_from_edges(6, edges))


@FAST
@given(st.lists(st.integers(-2, 6), min_size=1, max_size=6))
def test_inverse_permutation_non_permutations_generated(perm):
    if sorted(perm) == list(range(len(perm))):
        inv = oh.inverse_permutation(perm)
        assert np.array_equal(inv[np.asarray(perm)], np.arange(len(perm)))
    else:
        expect_rejected("inverse_permutation", "perm", lambda: oh.inverse_permutation(perm))


def teardown_module():
    print("\nbad inputs per entry point:", dict(sorted((k, v) for k, v in COUNTS.items() if k in CALLS)))
