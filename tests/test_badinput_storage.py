"""Bad input to the storage entry points (issue 14): ``Solution.to_zarr`` / ``solution_to_zarr``,
``open_trajectory``, ``load_model``, ``solve_to_zarr`` and ``model_from_dict``.

Every case comes from the shared matrix (``tests/badinput.py``: wrong type, shape, dtype,
NaN/inf, empty, out of range) plus the bad paths a store argument can get; each must raise a
``ValueError`` (``FileExistsError`` where the path is an existing store and ``mode="w-"``)
whose message names the parameter, and leave existing files as they were.
"""

import numpy as np
import pytest
import zarr
from badinput import (
    array_cases,
    bool_cases,
    case_ids,
    choice_cases,
    expect_rejected,
    float_arrays,
    poisoned_arrays,
    scalar_cases,
    size_cases,
    wrong_shapes,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import oscihop as oh
from oscihop.io.serialize import model_from_dict, model_to_dict
from oscihop.io.trajectory import solution_to_zarr

N = 4
PATH_TYPES = [
    ("type", "int", 42),
    ("type", "None", None),
    ("type", "list", ["run.zarr"]),
    ("type", "dict", {"path": "run.zarr"}),
    ("type", "bytes", b"run.zarr"),
    ("dtype", "float", 3.5),
    ("dtype", "complex", 1j),
    ("dtype", "bool", True),
    ("nonfinite", "nan", float("nan")),
    ("empty", "empty string", ""),
    ("empty", "blank string", "   "),
]
MODES = [c for c in choice_cases(["w", "w-"])] + [("range", "append", "a"), ("range", "read", "r")]


@pytest.fixture(scope="module")
def sol():
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    return oh.solve(hop, (0, 1), hop.random_state(seed=0), t_eval=[0, 0.5, 1])


@pytest.fixture(scope="module")
def good(sol, tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.zarr"
    sol.to_zarr(path)
    return path


def _user_dir(tmp_path):
    d = tmp_path / "mine"
    d.mkdir(exist_ok=True)
    (d / "notes.txt").write_text("mine")
    return d


def _bad_places(tmp_path):
    """Existing paths that are not trajectory stores: (label, path, text the message must hold)."""
    (tmp_path / "file.txt").write_text("x")
    sweep = tmp_path / "sweep.zarr"
    zarr.open_group(str(sweep), mode="w").attrs["oscihop_sweep"] = {"fingerprint": "f", "definition": {}}
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(str(foreign), mode="w").attrs["title"] = "someone else's"
    return [("file", tmp_path / "file.txt", "file"), ("user directory", _user_dir(tmp_path), "oscihop"),
            ("sweep store", sweep, "sweep"), ("foreign zarr store", foreign, "oscihop")]


# ---------------------------------------------------------------- to_zarr / solution_to_zarr
@pytest.mark.parametrize("case", PATH_TYPES, ids=case_ids(PATH_TYPES))
def test_to_zarr_path_types(sol, case):
    expect_rejected("to_zarr", "`path`", lambda: sol.to_zarr(case[2]))


@pytest.mark.parametrize("case", MODES, ids=case_ids(MODES))
def test_to_zarr_mode(sol, tmp_path, case):
    expect_rejected("to_zarr", "`mode`", lambda: solution_to_zarr(sol, tmp_path / "x.zarr", mode=case[2]))
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.parametrize("mode", ["w", "w-"])
def test_to_zarr_existing_places(sol, tmp_path, mode):
    for label, path, needle in _bad_places(tmp_path):
        before = sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_text()
        exc = expect_rejected("to_zarr", "`path`", lambda: sol.to_zarr(path, mode=mode))
        assert needle in str(exc), (label, str(exc))
        after = sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_text()
        assert before == after, label


SOLS = [("type", "None", None), ("type", "string", "sol"), ("type", "dict", {"t": [0, 1]}),
        ("type", "array", np.zeros((2, 4)))]


@pytest.mark.parametrize("case", SOLS, ids=case_ids(SOLS))
def test_solution_to_zarr_sol(tmp_path, case):
    expect_rejected("to_zarr", "`sol`", lambda: solution_to_zarr(case[2], tmp_path / "x.zarr"))
    assert not (tmp_path / "x.zarr").exists()


# ---------------------------------------------------------------- open_trajectory / load_model
READERS = {"open_trajectory": oh.open_trajectory, "load_model": oh.load_model}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("case", PATH_TYPES, ids=case_ids(PATH_TYPES))
def test_reader_path_types(reader, case):
    expect_rejected(reader, "`path`", lambda: READERS[reader](case[2]))


@pytest.mark.parametrize("reader", sorted(READERS))
def test_reader_bad_places(reader, tmp_path):
    places = _bad_places(tmp_path) + [("missing", tmp_path / "nowhere.zarr", "does not exist")]
    (tmp_path / "empty").mkdir()
    places.append(("empty directory", tmp_path / "empty", "not a readable zarr group"))
    for label, path, needle in places:
        exc = expect_rejected(reader, "`path`", lambda: READERS[reader](path))
        assert path.name in str(exc), label
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


VERIFY = bool_cases()


@pytest.mark.parametrize("case", VERIFY, ids=case_ids(VERIFY))
def test_open_trajectory_verify(good, case):
    expect_rejected("open_trajectory", "`verify`", lambda: oh.open_trajectory(good, verify=case[2]))


CHUNKS = [("type", "string", "abc"), ("type", "list", [1]), ("dtype", "float", 2.5), ("range", "negative", -3),
          ("type", "dict of strings", {"time": "x"})]


@pytest.mark.parametrize("case", CHUNKS, ids=case_ids(CHUNKS))
def test_open_trajectory_chunks(good, case):
    expect_rejected("open_trajectory", "`chunks`", lambda: oh.open_trajectory(good, chunks=case[2]))


ATTRS = [("", "oscihop_format_version", "1"), ("", "oscihop_complete", "yes"), ("", "oscihop_variables", "x"),
         ("", "oscihop_store", ["trajectory"]), ("", "model", ["Hopfield"]), ("", "model_params", {"n": 4}),
         ("", "method", 3), ("", "message", ["a", 1]), ("", "success", "True"), ("", "nfev", 2.5),
         ("", "block", 0), ("model", "kind", ["Hopfield"]), ("model", "params", "n=4"), ("model", "arrays", "bias"),
         ("model", "format_version", None)]


@pytest.mark.parametrize("node, name, value", ATTRS, ids=[f"{n or 'root'}.{a}" for n, a, _ in ATTRS])
def test_readers_name_an_attribute_of_the_wrong_type(good, tmp_path, node, name, value):
    import shutil

    path = tmp_path / "edited.zarr"
    shutil.copytree(good, path)
    group = zarr.open_group(str(path), mode="r+")
    (group[node] if node else group).attrs[name] = value
    for reader in ("open_trajectory", "load_model"):
        exc = expect_rejected(reader, "`path`", lambda: READERS[reader](path))
        assert repr(name) in str(exc) or "format version" in str(exc), str(exc)


# ---------------------------------------------------------------- solve_to_zarr
def _stream_args(**kw):
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    args = dict(model=hop, t_span=(0.0, 1.0), y0=hop.random_state(seed=0), path=zarr.storage.MemoryStore(),
                t_eval=[0.0, 0.5, 1.0], block=2)
    args.update(kw)
    return args


BLOCKS = size_cases(low=1)


@pytest.mark.parametrize("case", BLOCKS, ids=case_ids(BLOCKS))
def test_solve_to_zarr_block(case):
    expect_rejected("solve_to_zarr", "`block`", lambda: oh.solve_to_zarr(**_stream_args(block=case[2])))


@pytest.mark.parametrize("case", PATH_TYPES, ids=case_ids(PATH_TYPES))
def test_solve_to_zarr_path(case):
    expect_rejected("solve_to_zarr", "`path`", lambda: oh.solve_to_zarr(**_stream_args(path=case[2])))


def test_solve_to_zarr_existing_places(tmp_path):
    for label, path, needle in _bad_places(tmp_path):
        for mode in ("w", "w-"):
            exc = expect_rejected("solve_to_zarr", "`path`",
                                  lambda: oh.solve_to_zarr(**_stream_args(path=str(path), mode=mode)))
            assert needle in str(exc), label
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("case", MODES, ids=case_ids(MODES))
def test_solve_to_zarr_mode(case):
    expect_rejected("solve_to_zarr", "`mode`", lambda: oh.solve_to_zarr(**_stream_args(mode=case[2])))


# any number of output times is valid, so "one entry more" is not a bad shape for t_eval
T_EVAL = [c for c in array_cases((3,)) if c[1] != "one entry more"] + [
    ("range", "outside t_span", [0.0, 2.0]), ("range", "decreasing", [1.0, 0.5, 0.0]), ("type", "None", None)]


@pytest.mark.parametrize("case", T_EVAL, ids=case_ids(T_EVAL))
def test_solve_to_zarr_t_eval(case):
    expect_rejected("solve_to_zarr", "`t_eval`", lambda: oh.solve_to_zarr(**_stream_args(t_eval=case[2])))


T_SPAN = [("type", "string", "ab"), ("type", "None", None), ("type", "scalar", 1.0), ("shape", "three", (0, 1, 2)),
          ("dtype", "complex", (0, 1j)), ("nonfinite", "nan", (0.0, float("nan"))),
          ("nonfinite", "inf", (0.0, float("inf"))), ("range", "reversed", (1.0, 0.0)), ("empty", "empty", ())]


@pytest.mark.parametrize("case", T_SPAN, ids=case_ids(T_SPAN))
def test_solve_to_zarr_t_span(case):
    expect_rejected("solve_to_zarr", "`t_span`", lambda: oh.solve_to_zarr(**_stream_args(t_span=case[2])))


MODELS = [("type", "string", "Hopfield"), ("type", "None", None), ("type", "dict", {"kind": "Hopfield"}),
          ("type", "array", np.eye(4))]


@pytest.mark.parametrize("case", MODELS, ids=case_ids(MODELS))
def test_solve_to_zarr_model(case):
    expect_rejected("solve_to_zarr", "`model`", lambda: oh.solve_to_zarr(**_stream_args(model=case[2])))


# ---------------------------------------------------------------- model_from_dict
def _hop_dict():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((N, N))
    return model_to_dict(oh.Hopfield((w + w.T) / 2, bias=rng.standard_normal(N), beta=2.0))


def _kur_dict():
    return model_to_dict(oh.Kuramoto(2, edges=oh.ring_edges(N, 1), coupling=np.linspace(0.5, 1.0, N)))


def _lowrank_dict():
    return model_to_dict(oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0))


D_TYPES = [("type", "string", "Hopfield"), ("type", "None", None), ("type", "list", [1, 2]),
           ("empty", "empty dict", {}), ("type", "array", np.eye(2))]


@pytest.mark.parametrize("case", D_TYPES, ids=case_ids(D_TYPES))
def test_model_from_dict_d(case):
    expect_rejected("model_from_dict", "`d`", lambda: model_from_dict(case[2]))


@pytest.mark.parametrize("case", choice_cases(["Hopfield", "Kuramoto", "HopfieldKuramoto"]),
                         ids=case_ids(choice_cases(["Hopfield", "Kuramoto", "HopfieldKuramoto"])))
def test_model_from_dict_kind(case):
    d = dict(_hop_dict(), kind=case[2])
    expect_rejected("model_from_dict", "kind", lambda: model_from_dict(d))


@pytest.mark.parametrize("part", ["params", "arrays"])
@pytest.mark.parametrize("value", ["text", None, [1, 2], 3.0])
def test_model_from_dict_sections(part, value):
    d = dict(_hop_dict(), **{part: value})
    expect_rejected("model_from_dict", part, lambda: model_from_dict(d))


#: array name -> (builder of a good dict, good shape, whether an empty array is valid)
ARRAYS = {
    "weights": (_hop_dict, (N, N)),
    "bias": (_hop_dict, (N,)),
    "edge_coupling": (_kur_dict, (N,)),
    "weights_factor": (_lowrank_dict, (2, N)),
}


def _array_cases():
    out = []
    for name, (build, shape) in ARRAYS.items():
        for case in array_cases(shape):
            out.append((name, case))
    return out


ARRAY_CASES = _array_cases()


@pytest.mark.parametrize("name, case", ARRAY_CASES, ids=[f"{n}-{i}" for n, i in
                                                          zip([n for n, _ in ARRAY_CASES],
                                                              case_ids([c for _, c in ARRAY_CASES]))])
def test_model_from_dict_arrays(name, case):
    build, _ = ARRAYS[name]
    d = build()
    d["arrays"] = dict(d["arrays"], **{name: case[2]})
    # the message names the array (as the dict names it) or the constructor's parameter it feeds
    aliases = {"weights_factor": ("factor",), "edge_coupling": ("coupling",)}.get(name, ())
    expect_rejected("model_from_dict", name, lambda: model_from_dict(d), names=aliases)


EDGES = [("dtype", "fractional", [[0.5, 1.0]] * N), ("dtype", "complex", np.array([[0, 1j]] * N)),
         ("dtype", "strings", np.array([["a", "b"]] * N)), ("dtype", "bool", np.ones((N, 2), dtype=bool)),
         ("nonfinite", "nan", np.array([[0, np.nan]] * N)), ("range", "negative", [[0, -1]] * N),
         ("range", "beyond n", [[0, 99]] * N), ("shape", "three columns", np.zeros((N, 3), dtype=int))]


@pytest.mark.parametrize("case", EDGES, ids=case_ids(EDGES))
def test_model_from_dict_edges(case):
    d = _kur_dict()
    d["arrays"] = dict(d["arrays"], edges=case[2])
    expect_rejected("model_from_dict", "edges", lambda: model_from_dict(d))


#: parameter -> (builder, cases)
PARAMS = {
    "beta": (_hop_dict, scalar_cases(low=0.0)),
    "n": (_hop_dict, size_cases(low=1)),
    "dim": (_kur_dict, size_cases(low=2)),
    "activation": (_hop_dict, choice_cases(["tanh", "sigmoid", "relu", "softmax", "sign"])),
    "interaction": (_kur_dict, choice_cases(["linear", "relu", "tanh", "sigmoid"])),
    "weights": (_hop_dict, choice_cases(["dense", "sparse", "lowrank"])),
    "coupling": (_kur_dict, choice_cases(["edges", "dense", "lowrank", "mean-field"])),
    "zero_diagonal": (_lowrank_dict, bool_cases()),
    "has_patterns": (_lowrank_dict, bool_cases()),
}
PARAM_CASES = [(name, case) for name, (_, cases) in PARAMS.items() for case in cases
               # a size of the right type but another value is caught as a mismatch with the arrays
               if not (name in ("n", "dim") and case[0] == "range")]


@pytest.mark.parametrize("name, case", PARAM_CASES,
                         ids=[f"{n}-{i}" for n, i in zip([n for n, _ in PARAM_CASES],
                                                         case_ids([c for _, c in PARAM_CASES]))])
def test_model_from_dict_params(name, case):
    build, _ = PARAMS[name]
    d = build()
    d["params"] = dict(d["params"], **{name: case[2]})
    expect_rejected("model_from_dict", name, lambda: model_from_dict(d))


@pytest.mark.parametrize("name, value", [("n", 7), ("n", 0), ("n", 2)])
def test_model_from_dict_sizes_that_disagree_with_the_arrays(name, value):
    # an edge list is valid for any larger n (isolated units): only smaller n disagree with it
    for build in (_hop_dict, _lowrank_dict) + ((_kur_dict,) if value < N else ()):
        d = build()
        d["params"] = dict(d["params"], **{name: value})
        expect_rejected("model_from_dict", "shape", lambda: model_from_dict(d), names=("`n`", "'n'", "edges"))


@pytest.mark.parametrize("name, value", [("dim", 5), ("n", 6)])
def test_load_model_sizes_that_disagree_with_the_trajectory(tmp_path, name, value):
    # an edges-only Kuramoto has no array of size dim: only the stored trajectory tells
    kur = oh.Kuramoto(2, edges=oh.ring_edges(N, 1), coupling=1.0, n=N)
    path = tmp_path / "k.zarr"
    oh.solve(kur, (0, 1), kur.random_state(seed=0), t_eval=[0, 1]).to_zarr(path)
    group = zarr.open_group(str(path), mode="r+")["model"]
    params = dict(group.attrs["params"], **{name: value})
    if name == "n":  # edges stay valid for a larger n
        params["n"] = value
    group.attrs["params"] = params
    exc = expect_rejected("load_model", "`path`", lambda: oh.load_model(path))
    assert "component size 5" in str(exc) if name == "dim" else "neuron size 6" in str(exc)


@settings(max_examples=15, deadline=None)
@given(poisoned_arrays((N, N)))
def test_model_from_dict_nonfinite_weights_hypothesis(w):
    d = _hop_dict()
    d["arrays"] = dict(d["arrays"], weights=(w + w.T) / 2)
    expect_rejected("model_from_dict", "weights", lambda: model_from_dict(d))


@settings(max_examples=15, deadline=None)
@given(wrong_shapes((N,)), st.data())
def test_model_from_dict_bias_shapes_hypothesis(shape, data):
    d = _hop_dict()
    d["arrays"] = dict(d["arrays"], bias=data.draw(float_arrays(tuple(shape))))
    expect_rejected("model_from_dict", "bias", lambda: model_from_dict(d))
