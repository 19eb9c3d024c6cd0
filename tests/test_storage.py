"""Storage: model dictionaries, trajectories as xarray Datasets and zarr stores, streaming.

Round trips must give back the same numbers (``np.array_equal``), rebuilt models the same
right-hand side and energy bit for bit, and damaged or foreign stores a ValueError that
names the path.
"""

import json
import os
import shutil

import numpy as np
import pytest
import scipy.sparse as sp
import xarray as xr
import zarr

import oscihop as oh
from oscihop.io.serialize import model_from_dict, model_to_dict

N = 8


# --------------------------------------------------------------------------- models
def _unit(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _sym(rng, n, density=1.0):
    m = rng.standard_normal((n, n)) * (rng.random((n, n)) < density)
    return (m + m.T) / 2


def _patterns(rng, p=2, n=N):
    return np.where(rng.random((p, n)) < 0.5, -1.0, 1.0)


def _ring(n=N):
    return oh.ring_edges(n, 1)


HOPFIELDS = {
    "dense-tanh": lambda r: oh.Hopfield(_sym(r, N), bias=r.standard_normal(N), beta=2.0),
    "sparse-sigmoid": lambda r: oh.Hopfield(sp.csr_matrix(_sym(r, N, 0.4)), activation="sigmoid", beta=0.7),
    "hebbian": lambda r: oh.Hopfield.from_patterns(_patterns(r), beta=3.0, bias=0.1),
    "pseudo-inverse": lambda r: oh.Hopfield.from_patterns(_patterns(r), rule="pseudo-inverse", activation="softmax"),
    "storkey": lambda r: oh.Hopfield.from_patterns(_patterns(r), rule="storkey"),
    "hebbian-dense": lambda r: oh.Hopfield.from_patterns(_patterns(r), dense=True, activation="relu"),
    "lowrank-keepdiag": lambda r: oh.Hopfield(oh.LowRank(r.standard_normal((3, N)), r.random(3), zero_diagonal=False)),
    "sign": lambda r: oh.Hopfield.from_patterns(_patterns(r), activation="sign"),
}

KURAMOTOS = {
    "edges-linear": lambda r: oh.Kuramoto(3, edges=_ring(), coupling=r.standard_normal(N)),
    "edges-tanh": lambda r: oh.Kuramoto(2, edges=_ring(), coupling=0.5, interaction="tanh",
                                        interaction_weights=r.standard_normal(N)),
    "dense": lambda r: oh.Kuramoto(2, coupling=_sym(r, N)),
    "dense-relu": lambda r: oh.Kuramoto(3, coupling=_sym(r, N, 0.5), interaction="relu", interaction_weights=0.3),
    "sparse": lambda r: oh.Kuramoto(2, coupling=sp.csr_matrix(_sym(r, N, 0.4)), n=N),
    "lowrank": lambda r: oh.Kuramoto(4, coupling=oh.LowRank(r.standard_normal((2, N)), [0.5, -0.2])),
    "mean-field": lambda r: oh.Kuramoto(2, coupling="mean-field", strength=1.5, n=N),
    "stimulus-omega": lambda r: oh.Kuramoto(3, edges=_ring(), stimulus=r.standard_normal((N, 3)),
                                            omega=np.array([[0., -1, 0], [1, 0, 0], [0, 0, 0]])),
    "natural-frequencies": lambda r: oh.Kuramoto(2, edges=_ring(), coupling=1.0, omega=r.standard_normal(N)),
    "per-unit-omega": lambda r: oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=N,
                                            omega=np.array([[[0., -w], [w, 0.]] for w in r.random(N)])),
    "no-edges": lambda r: oh.Kuramoto(2, edges=np.zeros((0, 2), int), n=N),
}


def _hk(r, hop="hebbian", kur="edges-linear", **kw):
    return oh.HopfieldKuramoto(HOPFIELDS[hop](r), KURAMOTOS[kur](r), **kw)


HKS = {
    "network-edges": lambda r: _hk(r, hk_edges=_ring(), weights=r.standard_normal(N), kappa_h=2.0, kappa_k=0.5),
    "network-all": lambda r: _hk(r, kur="mean-field", hk_edges="all", weights=0.3),
    "additive-all": lambda r: _hk(r, hop="dense-tanh", hk_edges="all", alpha=0.2, mode="additive"),
    "additive-edges": lambda r: _hk(r, kur="dense", hk_edges=_ring(), alpha=-0.4, mode="additive"),
    "multiplicative-all": lambda r: _hk(r, hop="sparse-sigmoid", kur="lowrank", hk_edges="all", alpha=0.5,
                                        mode="multiplicative"),
    "multiplicative-edges": lambda r: _hk(r, kur="stimulus-omega", hk_edges=[[0, 3], [2, 5]], alpha=1.5,
                                          mode="multiplicative"),
}

ALL_MODELS = {**{f"Hopfield-{k}": v for k, v in HOPFIELDS.items()},
              **{f"Kuramoto-{k}": v for k, v in KURAMOTOS.items()},
              **{f"HK-{k}": v for k, v in HKS.items()}}


def _assert_same_model(m1, m2, rng):
    assert type(m1) is type(m2) and repr(m1) == repr(m2)
    assert (m1.is_lyapunov, m1.lyapunov_reason) == (m2.is_lyapunov, m2.lyapunov_reason)
    for dtype in (np.float64, np.float32):
        p1, p2 = m1.params(dtype), m2.params(dtype)
        assert np.array_equal(p1.fp, p2.fp) and p1.fp.dtype == p2.fp.dtype
        assert np.array_equal(p1.ip, p2.ip)
    hop1 = getattr(m1, "hopfield", m1)
    hop2 = getattr(m2, "hopfield", m2)
    if isinstance(hop1, oh.Hopfield):
        if hop1.patterns is None:
            assert hop2.patterns is None
        else:
            assert np.array_equal(hop1.patterns, hop2.patterns)
    y = m1.random_state(seed=rng.integers(2**32), batch=3)
    if isinstance(m1, oh.Hopfield) and m1.activation == "sign":
        y = np.where(y > 0, 1.0, -1.0)
    else:
        assert np.array_equal(m1.rhs(0.0, y), m2.rhs(0.0, y))
        assert np.array_equal(m1.rhs(0.0, y[0]), m2.rhs(0.0, y[0]))
    assert np.array_equal(m1.energy(y), m2.energy(y))
    assert m1.energy(y[1]) == m2.energy(y[1])


@pytest.mark.parametrize("name", sorted(ALL_MODELS))
def test_model_dict_round_trip_is_exact(name, rng):
    model = ALL_MODELS[name](rng)
    d = model_to_dict(model)
    assert set(d) == {"kind", "params", "arrays"}
    assert d["kind"] == type(model).__name__
    json.dumps(d["params"], allow_nan=False)  # strictly JSON-able
    assert all(isinstance(a, np.ndarray) for a in d["arrays"].values())
    rebuilt = model_from_dict(json.loads(json.dumps(d | {"arrays": {}})) | {"arrays": d["arrays"]})
    _assert_same_model(model, rebuilt, rng)


def test_model_dict_arrays_are_copies(rng):
    kur = KURAMOTOS["edges-linear"](rng)
    d = model_to_dict(kur)
    d["arrays"]["edge_coupling"][:] = 0.0
    assert np.any(kur.edge_coupling != 0)


def test_sparse_kuramoto_is_stored_as_edges(rng):
    d = model_to_dict(KURAMOTOS["sparse"](rng))
    assert d["params"]["coupling"] == "edges" and "edges" in d["arrays"]


@pytest.mark.parametrize("bad, match", [
    ([1, 2], "must be a mapping"),
    ({"kind": "Hopfield", "params": {}}, "missing \\['arrays'\\]"),
    ({"kind": "Ising", "params": {}, "arrays": {}}, "must be one of"),
])
def test_model_from_dict_rejects_malformed(bad, match):
    with pytest.raises(ValueError, match=match):
        model_from_dict(bad)


def test_model_from_dict_names_missing_array_and_param(rng):
    d = model_to_dict(HKS["network-edges"](rng))
    arrays = dict(d["arrays"])
    del arrays["kuramoto.edge_coupling"]
    with pytest.raises(ValueError, match="kuramoto.edge_coupling"):
        model_from_dict({**d, "arrays": arrays})
    params = dict(d["params"])
    del params["kappa_h"]
    with pytest.raises(ValueError, match="kappa_h"):
        model_from_dict({**d, "params": params})


def test_model_to_dict_rejects_non_models():
    with pytest.raises(ValueError, match="`model` must be an oscihop model"):
        model_to_dict(np.eye(3))


# --------------------------------------------------------------------------- solutions
def _problem(kind, rng, batch=None):
    if kind == "Hopfield":
        model = HOPFIELDS["hebbian"](rng)
    elif kind == "Kuramoto":
        model = KURAMOTOS["edges-tanh"](rng)
    else:
        model = HKS["network-edges"](rng)
    return model, model.random_state(seed=int(rng.integers(2**31)), batch=batch)


def _solve(kind, rng, batch=None, dtype=None, method="RK45", n_out=7, **kw):
    model, y0 = _problem(kind, rng, batch)
    if dtype is not None:
        y0 = y0.astype(dtype)
    if method in ("Euler", "RK4", "Geometric", "AKOrN"):
        kw.setdefault("dt", 0.05)
    return oh.solve(model, (0.0, 1.5), y0, method=method, t_eval=np.linspace(0, 1.5, n_out), **kw)


def _assert_same_dataset(ds, ref, ignore_attrs=("created",)):
    assert dict(ds.sizes) == dict(ref.sizes)
    assert set(ds.data_vars) == set(ref.data_vars)
    for name, var in ref.variables.items():
        got = ds[name]
        assert got.dims == var.dims, name
        assert got.dtype == var.dtype, name
        assert np.array_equal(got.values, var.values, equal_nan=True), name
        assert got.attrs == var.attrs, name
    for key, value in ref.attrs.items():
        if key not in ignore_attrs:
            assert ds.attrs[key] == value, key


@pytest.mark.parametrize("kind", ["Hopfield", "Kuramoto", "HK"])
@pytest.mark.parametrize("batch", [None, 3])
def test_to_xarray_layout(kind, batch, rng):
    sol = _solve(kind, rng, batch=batch)
    ds = sol.to_xarray()
    lead = ("batch", "time") if batch else ("time",)
    n = sol.model.n
    has_h, has_x = kind != "Kuramoto", kind != "Hopfield"
    assert ("h" in ds) == has_h and ("x" in ds) == has_x
    assert ("order_parameter" in ds) == has_x and ("overlap" in ds) == has_h
    assert ds.energy.dims == lead
    assert np.array_equal(ds.energy.values, sol.energy)
    assert np.array_equal(ds.time.values, sol.t)
    assert np.array_equal(ds.neuron.values, np.arange(n))
    if has_h:
        assert ds.h.dims == lead + ("neuron",) and np.array_equal(ds.h.values, sol.h)
        assert ds.overlap.dims == lead + ("pattern",)
        assert np.allclose(ds.overlap.values, sol.model.overlaps(sol.states))
    if has_x:
        assert ds.x.dims == lead + ("neuron", "component") and np.array_equal(ds.x.values, sol.x)
        assert np.array_equal(ds.component.values, np.arange(sol.model.dim))
        assert np.allclose(ds.order_parameter.values, np.linalg.norm(sol.x.mean(axis=-2), axis=-1))
    if batch:
        assert np.array_equal(ds.batch.values, np.arange(batch))
    for name in ds.data_vars:
        assert {"long_name", "units"} <= set(ds[name].attrs)


def test_to_xarray_attributes(rng):
    sol = _solve("HK", rng, batch=2, rtol=1e-5)
    attrs = sol.to_xarray().attrs
    for key in ("model", "model_params", "model_group", "method", "options", "rtol", "atol", "seed", "status",
                "message", "success", "nfev", "nsteps", "oscihop_version", "numba_version", "created", "dtype"):
        assert key in attrs, key
    assert attrs["model"] == "HopfieldKuramoto" and attrs["method"] == "RK45"
    assert attrs["oscihop_version"] == oh.__version__
    params = json.loads(attrs["model_params"])
    assert params["mode"] == "network" and params["kappa_h"] == 2.0
    options = json.loads(attrs["options"])
    assert options["rtol"] == 1e-5 and options["t_span"] == [0.0, 1.5]
    assert attrs["rtol"] == 1e-5 and attrs["dtype"] == "float64"
    assert attrs["status"] == sol.status.tolist() and attrs["nfev"] == sol.nfev.tolist()
    assert attrs["success"] is True and attrs["message"] == sol.message
    assert np.datetime64(attrs["created"].replace("+00:00", ""))


def test_to_xarray_async_records_seed_and_sweeps(rng):
    hop = HOPFIELDS["sign"](rng)
    y0 = np.where(rng.random(N) < 0.5, -1.0, 1.0)
    ds = oh.solve(hop, (0, 5), y0, method="async", seed=7).to_xarray()
    assert ds.attrs["seed"] == 7 and ds.time.attrs["units"] == "sweeps"
    assert json.loads(ds.attrs["options"])["seed"] == 7


# --------------------------------------------------------------------------- zarr round trips
def _store(kind, tmp_path, name="run.zarr"):
    return zarr.storage.MemoryStore() if kind == "memory" else str(tmp_path / name)


# every model x single/batch x dtype in a directory; a memory store for part of the matrix
ROUND_TRIPS = [(k, b, d, s) for k in ("Hopfield", "Kuramoto", "HK") for b in (None, 3)
               for d in (np.float64, np.float32) for s in ("directory", "memory")
               if s == "directory" or d == np.float64 or b is None]


@pytest.mark.parametrize("kind, batch, dtype, store", ROUND_TRIPS)
def test_zarr_round_trip_same_numbers(kind, batch, dtype, store, tmp_path, rng):
    sol = _solve(kind, rng, batch=batch, dtype=dtype)
    path = _store(store, tmp_path)
    sol.to_zarr(path)
    ds = oh.open_trajectory(path)
    _assert_same_dataset(ds, sol.to_xarray())
    assert ds.attrs["oscihop_store"] == "trajectory" and ds.attrs["oscihop_complete"] is True
    if "x" in ds:
        assert ds.x.dtype == dtype
    model = oh.load_model(path)
    _assert_same_model(sol.model, model, rng)


@pytest.mark.parametrize("name", ["Hopfield-sparse-sigmoid", "Kuramoto-no-edges", "Kuramoto-per-unit-omega",
                                  "HK-multiplicative-all", "HK-additive-all", "Hopfield-lowrank-keepdiag"])
def test_load_model_every_representation(name, tmp_path, rng):
    model = ALL_MODELS[name](rng)
    sol = oh.solve(model, (0, 0.2), model.random_state(seed=1), t_eval=[0, 0.2])
    sol.to_zarr(tmp_path / "m.zarr")  # a pathlib.Path works too
    _assert_same_model(model, oh.load_model(tmp_path / "m.zarr"), rng)


def test_model_arrays_are_zarr_arrays_not_attributes(tmp_path, rng):
    model = oh.Hopfield(_sym(rng, 20))
    path = tmp_path / "big.zarr"
    oh.solve(model, (0, 1), model.random_state(seed=0), t_eval=[1]).to_zarr(path)
    group = zarr.open_group(str(path), mode="r")
    assert group["model/weights"].shape == (20, 20)
    assert np.array_equal(group["model/weights"][...], model.weights)
    text = json.dumps(group.attrs.asdict()) + json.dumps(group["model"].attrs.asdict())
    assert len(text) < 4000  # parameters only


def test_to_zarr_mode(tmp_path, rng):
    path = str(tmp_path / "run.zarr")
    sol = _solve("Kuramoto", rng)
    sol.to_zarr(path)
    with pytest.raises(FileExistsError, match="mode='w'"):
        sol.to_zarr(path)
    other = _solve("Hopfield", rng)
    other.to_zarr(path, mode="w")
    assert oh.open_trajectory(path).attrs["model"] == "Hopfield"
    assert isinstance(oh.load_model(path), oh.Hopfield)
    with pytest.raises(ValueError, match="`mode` must be"):
        sol.to_zarr(str(tmp_path / "other.zarr"), mode="a")
    with pytest.raises(ValueError, match="`path` must be"):
        sol.to_zarr(42)


def test_open_trajectory_lazy_and_dask_chunks(tmp_path, rng):
    sol = _solve("Kuramoto", rng, batch=2)
    sol.to_zarr(tmp_path / "run.zarr")
    ds = oh.open_trajectory(tmp_path / "run.zarr", chunks={})
    assert ds.x.chunks is not None
    assert np.array_equal(ds.x.values, sol.x)


# --------------------------------------------------------------------------- bad stores
@pytest.fixture
def good_store(tmp_path, rng):
    path = tmp_path / "good.zarr"
    _solve("HK", rng).to_zarr(str(path))
    return path


def _open_and_load_fail(path, match):
    with pytest.raises(ValueError, match=match) as info:
        oh.open_trajectory(path)
    assert os.path.basename(str(path)) in str(info.value)
    with pytest.raises(ValueError, match=match):
        oh.load_model(path)


def test_missing_path(tmp_path):
    _open_and_load_fail(tmp_path / "nowhere.zarr", "does not exist")


def test_plain_directory_is_not_a_zarr_store(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hello")
    _open_and_load_fail(tmp_path / "notes", "not a readable zarr group")


def test_foreign_xarray_store(tmp_path):
    path = tmp_path / "foreign.zarr"
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_zarr(str(path), zarr_format=3, consolidated=False)
    _open_and_load_fail(path, "not an oscihop trajectory")


@pytest.mark.parametrize("attrs", [{"oscihop_store": "sweep"}, {"oscihop_sweep": {"definition": {}}}])
def test_sweep_store_points_to_open_sweep(attrs):
    store = zarr.storage.MemoryStore()
    zarr.open_group(store, mode="w").attrs.update(attrs)
    with pytest.raises(ValueError, match="oscihop 'sweep' store, not a trajectory. Open it with oh.open_sweep"):
        oh.open_trajectory(store)


def test_newer_format_is_refused(good_store):
    zarr.open_group(str(good_store), mode="r+").attrs["oscihop_format_version"] = 99
    _open_and_load_fail(good_store, "format version 99")


def test_unreadable_root_metadata(good_store):
    (good_store / "zarr.json").write_text("{ not json")
    _open_and_load_fail(good_store, "unreadable metadata")


def test_missing_variable(good_store):
    shutil.rmtree(good_store / "x")
    with pytest.raises(ValueError, match=r"corrupted.*\['x'\]"):
        oh.open_trajectory(good_store)


def test_unreadable_variable_metadata(good_store):
    (good_store / "h" / "zarr.json").write_text("garbage")
    with pytest.raises(ValueError, match="corrupted"):
        oh.open_trajectory(good_store)


def test_damaged_energy_chunk(good_store):
    chunks = [os.path.join(d, f) for d, _, fs in os.walk(good_store / "energy" / "c") for f in fs]
    assert chunks
    with open(chunks[0], "wb") as fh:
        fh.write(b"\x00not a zstd frame")
    with pytest.raises(ValueError, match=r"damaged: energy chunk \(0,\): fails its CRC32C checksum"):
        oh.open_trajectory(good_store)


def test_missing_model_group_or_array(good_store):
    shutil.rmtree(good_store / "model" / "hopfield.weights_factor")
    _open_and_load_fail(good_store, r"corrupted.*hopfield.weights_factor")
    shutil.rmtree(good_store / "model")
    _open_and_load_fail(good_store, "corrupted.*'model' group")


# --------------------------------------------------------------------------- streaming
@pytest.mark.parametrize("kind", ["Hopfield", "Kuramoto", "HK"])
@pytest.mark.parametrize("batch", [None, 3])
def test_streaming_euler_equals_one_shot(kind, batch, tmp_path, rng):
    model, y0 = _problem(kind, rng, batch)
    t = np.linspace(0.0, 2.0, 23)
    one = oh.solve(model, (0.0, 2.2), y0, t_eval=t, method="Euler", dt=0.03)
    ref_path = str(tmp_path / "one.zarr")
    one.to_zarr(ref_path)
    ds = oh.solve_to_zarr(model, (0.0, 2.2), y0, str(tmp_path / "stream.zarr"), t, block=5, method="Euler", dt=0.03)
    ref = oh.open_trajectory(ref_path)
    _assert_same_dataset(ds, ref, ignore_attrs=("created", "block"))
    assert ds.attrs["block"] == 5 and ds.attrs["nfev"] == _jsonable(one.nfev)
    assert set(ds.attrs) - set(ref.attrs) == {"block"}
    assert zarr.open_group(str(tmp_path / "stream.zarr"), mode="r")["energy"].chunks[-1] == 5
    _assert_same_model(model, oh.load_model(str(tmp_path / "stream.zarr")), rng)


def _jsonable(v):
    return v.tolist() if isinstance(v, np.ndarray) else v


@pytest.mark.parametrize("batch", [None, 2])
def test_streaming_rk45_is_close_to_one_shot(batch, rng):
    model, y0 = _problem("HK", rng, batch)
    t = np.linspace(0.0, 3.0, 31)
    one = oh.solve(model, (0.0, 3.0), y0, t_eval=t, rtol=1e-8, atol=1e-10)
    ds = oh.solve_to_zarr(model, (0.0, 3.0), y0, zarr.storage.MemoryStore(), t, block=8, rtol=1e-8, atol=1e-10)
    ref = one.to_xarray()
    assert dict(ds.sizes) == dict(ref.sizes) and set(ds.data_vars) == set(ref.data_vars)
    assert np.array_equal(ds.time.values, t)
    for name in ref.data_vars:
        assert ds[name].dtype == ref[name].dtype
        assert np.allclose(ds[name].values, ref[name].values, rtol=1e-6, atol=1e-6), name
    assert ds.attrs["success"] is True and ds.attrs["method"] == "RK45"


def test_streaming_float32_and_odd_blocks(rng):
    model, y0 = _problem("Kuramoto", rng)
    y0 = y0.astype(np.float32)
    t = np.linspace(0, 1, 10)
    one = oh.solve(model, (0, 1), y0, t_eval=t, method="RK4", dt=0.02).to_xarray()
    for block in (1, 3, 10, 64):
        ds = oh.solve_to_zarr(model, (0, 1), y0, zarr.storage.MemoryStore(), t, block=block, method="RK4", dt=0.02)
        assert ds.x.dtype == np.float32 and ds.attrs["dtype"] == "float32"
        _assert_same_dataset(ds, one, ignore_attrs=("created",))


def test_streaming_batch_member_failure_matches_one_shot(rng):
    hop = oh.Hopfield(np.array([[0.0, 3.0], [3.0, 0.0]]), activation="relu")
    y0 = np.array([[1.0, 1.0], [-1.0, -1.0]])  # the first member blows up (status -3), the second decays
    t = np.arange(0.0, 801.0, 4.0)
    one = oh.solve(hop, (0, 800), y0, t_eval=t, method="Euler", dt=1.0)
    assert one.status.tolist() == [-3, 0]
    ds = oh.solve_to_zarr(hop, (0, 800), y0, zarr.storage.MemoryStore(), t, block=16, method="Euler", dt=1.0)
    # the member fails at its first non-finite energy; one shot, its loop ran on to the state's
    # overflow before that was known, so the work counts differ (the data and statuses do not)
    _assert_same_dataset(ds, one.to_xarray(), ignore_attrs=("created", "block", "nfev", "nsteps"))
    single = oh.solve_to_zarr(hop, (0, 800), y0[0], zarr.storage.MemoryStore(), t, block=16, method="Euler", dt=1.0)
    ref = oh.solve(hop, (0, 800), y0[0], t_eval=t, method="Euler", dt=1.0).to_xarray()
    _assert_same_dataset(single, ref, ignore_attrs=("created", "block", "nfev", "nsteps"))


def test_streaming_steady_state_status(rng):
    kur = oh.Kuramoto(2, coupling="mean-field", strength=2.0, n=5)
    y0 = kur.random_state(seed=3)
    t = np.linspace(0, 40, 41)
    one = oh.solve(kur, (0, 40), y0, t_eval=t, method="Euler", dt=0.1, steady_state=1e-6)
    assert one.status == 1
    ds = oh.solve_to_zarr(kur, (0, 40), y0, zarr.storage.MemoryStore(), t, block=7, method="Euler", dt=0.1,
                          steady_state=1e-6)
    _assert_same_dataset(ds, one.to_xarray(), ignore_attrs=("created", "block", "nfev"))


def test_streaming_interrupted_store_warns_and_keeps_finished_blocks(tmp_path, monkeypatch, rng):
    import importlib

    streaming = importlib.import_module("oscihop.io.streaming")  # where solve_to_zarr looks up solve
    model, y0 = _problem("Hopfield", rng)
    real_solve, calls = streaming.solve, []

    def dying_solve(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is killed during its third block
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(streaming, "solve", dying_solve)
    path = str(tmp_path / "s.zarr")
    with pytest.raises(KeyboardInterrupt):
        oh.solve_to_zarr(model, (0, 1), y0, path, np.linspace(0, 1, 9), block=2)
    with pytest.warns(UserWarning, match="incomplete"):
        ds = oh.open_trajectory(path)
    assert ds.sizes["time"] == 4 and ds.attrs["oscihop_complete"] is False
    assert ds.attrs["model"] == "Hopfield" and ds.attrs["block"] == 2
    ref = real_solve(model, (0, 1), y0, t_eval=np.linspace(0, 1, 9))
    assert np.allclose(ds.h.values, ref.h[:4], atol=1e-3)
    _assert_same_model(model, oh.load_model(path), rng)


@pytest.mark.parametrize("kwargs, match", [
    (dict(block=0), "`block` must be a positive integer"),
    (dict(block=True), "`block` must be a positive integer"),
    (dict(block=2.5), "`block` must be a positive integer"),
    (dict(t_eval=None), "`t_eval` is required"),
    (dict(t_eval=[0.0, 5.0]), "`t_eval` must lie within t_span"),
    (dict(t_span=(1.0, 0.0)), "`t_span` must be finite"),
    (dict(t_span="ab"), "`t_span` must be a pair"),
    (dict(mode="r"), "`mode` must be"),
    (dict(method="async"), "`method`='async' is not supported"),
    (dict(method="Euler"), "`dt`"),
    (dict(path=3.5), "`path` must be"),
])
def test_solve_to_zarr_validation(kwargs, match, rng):
    model, y0 = _problem("Kuramoto", rng)
    args = dict(model=model, t_span=(0.0, 1.0), y0=y0, path=zarr.storage.MemoryStore(), t_eval=[0.0, 0.5, 1.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        oh.solve_to_zarr(**args)


def test_solve_to_zarr_refuses_existing_path_before_solving(tmp_path, rng):
    model, y0 = _problem("Kuramoto", rng)
    path = tmp_path / "exists.zarr"
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    for mode in ("w-", "w"):  # a directory oscihop did not write: never deleted, whatever the mode
        with pytest.raises(ValueError, match="never deletes it, even with mode='w'"):
            oh.solve_to_zarr(model, (0, 1), y0, str(path), [0, 1], mode=mode)
    assert (path / "notes.txt").read_text() == "mine"
    ds = oh.solve_to_zarr(model, (0, 1), y0, str(tmp_path / "new.zarr"), [0, 1])
    assert ds.sizes["time"] == 2
    with pytest.raises(FileExistsError, match="mode='w'"):
        oh.solve_to_zarr(model, (0, 1), y0, str(tmp_path / "new.zarr"), [0, 1])
    (tmp_path / "empty").mkdir()  # an empty directory is fine
    assert oh.solve_to_zarr(model, (0, 1), y0, str(tmp_path / "empty"), [0, 1]).sizes["time"] == 2
