"""Damaged sweep stores are refused by ``oh.open_sweep`` and repaired by re-running the sweep (issue 14, defect 3).

A finished sweep store is copied, one chunk of one array is removed, truncated or has a byte
flipped; ``open_sweep`` must refuse naming the array and chunk, and the same ``oh.sweep`` call
must recompute exactly the points that chunk holds, after which the store equals the undamaged
one.  Stores written by the previous format (no checksums) are read with a warning and are not
resumed.
"""
import shutil
import warnings

import numpy as np
import pytest
import zarr

import oscihop as oh
from oscihop.io.integrity import StoreDamagedError, has_checksums, verify_group

import sweep_models as sm

GRID = {"coupling": [0.5, 1.0, 2.0], "seed": [0, 1]}
KW = dict(grid=GRID, t_span=(0.0, 1.0), t_eval=[0.0, 0.5, 1.0], reduce=["full", "final"], points_per_task=2,
          progress=False, workers=1)
RECORDS = ("outcome", "status", "message", "nfev", "nsteps")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    store = tmp_path_factory.mktemp("ref") / "ref.zarr"
    ds = oh.sweep(sm.kuramoto_build, store=store, **KW)
    assert ds.attrs["complete"] and ds.attrs["oscihop_sweep"]["chunks"] == [1, 2]  # 3 blocks of 2 points
    return store, ds


def copy_of(reference, tmp_path):
    store = tmp_path / "copy.zarr"
    shutil.copytree(reference[0], store)
    return store


def chunk_files(store, name):
    return sorted(p for p in (store / name).rglob("*") if p.is_file() and p.name != "zarr.json")


def damage(path, how):
    data = path.read_bytes()
    if how == "remove":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # flip one byte in the middle
        k = len(data) // 2
        path.write_bytes(data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1:])


def assert_same(a, b):
    for name in ("y", "energy", "y_final", "status", "nfev", "nsteps", "outcome", "done"):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    np.testing.assert_array_equal(a["message"].values, b["message"].values)
    for name in ("coupling", "seed", "time", "state"):
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_every_array_has_checksums_and_every_record_chunk_is_written(reference, tmp_path):
    store, _ = reference
    group = zarr.open_group(store, mode="r")
    names = [name for name, _ in group.arrays()]
    assert {"y", "energy", "y_final", *RECORDS, "coupling", "seed", "time", "state"} <= set(names)
    assert all(has_checksums(group[name]) for name in names)
    assert verify_group(group) == []
    # the records of points not run yet exist from the creation on (a missing one is damage)
    ds = oh.sweep(sm.case_build, grid={"case": ["ok", "raise"], "seed": [0, 1]}, store=tmp_path / "f.zarr",
                  t_span=(0, 1), reduce="final", points_per_task=2, workers=1, progress=False)
    assert ds.attrs["n_failed"] == 2
    assert verify_group(zarr.open_group(tmp_path / "f.zarr", mode="r")) == []


@pytest.mark.parametrize("how", ["remove", "truncate", "flip"])
@pytest.mark.parametrize("name", ["y", "energy", "y_final", *RECORDS])
def test_damaged_chunk_is_refused_then_repaired(reference, tmp_path, name, how):
    store = copy_of(reference, tmp_path)
    damage(chunk_files(store, name)[0], how)  # the chunk of the first block: coupling 0.5, seeds 0 and 1
    with pytest.raises(StoreDamagedError, match=rf"damaged: {name} chunk \(0, 0[,)].*Re-run the sweep"):
        oh.open_sweep(store)
    with pytest.warns(UserWarning, match=rf"damaged chunks: {name} chunk \(0, 0.*Recomputing the 2 point"):
        ds = oh.sweep(sm.kuramoto_build, store=store, **KW)
    assert ds.attrs["sweep_run"]["computed"] == 2 and ds.attrs["complete"]
    assert_same(ds, reference[1])
    assert_same(oh.open_sweep(store), reference[1])  # verified again, whole


@pytest.mark.parametrize("how", ["remove", "flip"])
@pytest.mark.parametrize("name", ["coupling", "time"])
def test_damaged_coordinate_is_refused_then_rewritten(reference, tmp_path, name, how):
    store = copy_of(reference, tmp_path)
    damage(chunk_files(store, name)[0], how)
    with pytest.raises(StoreDamagedError, match=rf"damaged: {name} chunk \(0,\).*Re-run the sweep"):
        oh.open_sweep(store)
    with pytest.warns(UserWarning, match=rf"damaged chunks: {name} chunk.*Rewriting the coordinates"):
        ds = oh.sweep(sm.kuramoto_build, store=store, **KW)
    assert ds.attrs["sweep_run"]["computed"] == 0
    assert_same(oh.open_sweep(store), reference[1])


def test_damage_in_several_blocks_recomputes_those_blocks_only(reference, tmp_path):
    store = copy_of(reference, tmp_path)
    damage(chunk_files(store, "energy")[2], "flip")  # block 2: coupling 2.0
    damage(chunk_files(store, "outcome")[1], "remove")  # block 1: coupling 1.0
    with pytest.raises(StoreDamagedError) as info:
        oh.open_sweep(store)
    assert {(d.array, d.chunk) for d in info.value.damage} == {("outcome", (1, 0)), ("energy", (2, 0, 0))}
    with pytest.warns(UserWarning, match="Recomputing the 4 point"):
        ds = oh.sweep(sm.kuramoto_build, store=store, **KW)
    assert ds.attrs["sweep_run"]["computed"] == 4
    assert_same(ds, reference[1])


def _downgrade(store):
    """Rewrite a store as the previous oscihop wrote it (sweep format 1): no checksums, a ``done`` array."""
    group = zarr.open_group(store, mode="r+")
    for name, arr in list(group.arrays()):
        values, meta = arr[...], arr.metadata
        attrs, dims, chunks, fill = dict(arr.attrs), meta.dimension_names, arr.chunks, meta.fill_value
        del group[name]
        if name == "message":
            continue
        if name == "outcome":
            name, values, fill = "done", values == 1, False
            attrs["long_name"] = "point computed and written"
        dtype = str if values.dtype.kind in "UTO" else values.dtype
        new = group.create_array(name, shape=values.shape, chunks=chunks, dtype=dtype, fill_value=fill,
                                 dimension_names=dims, attributes=attrs)
        new[...] = values
    attrs = dict(group.attrs["oscihop_sweep"])
    attrs["format"] = 1
    group.update_attributes({"oscihop_sweep": attrs})


def test_store_of_the_previous_format_is_read_with_a_warning_and_not_resumed(reference, tmp_path):
    store = copy_of(reference, tmp_path)
    _downgrade(store)
    assert not has_checksums(zarr.open_array(store / "y", mode="r"))
    with pytest.warns(UserWarning, match="older oscihop .*format 1, without checksums.*cannot be verified"):
        old = oh.open_sweep(store)
    assert old.attrs["complete"] and "outcome" not in old and bool(old["done"].all())
    np.testing.assert_array_equal(old["y"].values, reference[1]["y"].values)
    with pytest.raises(ValueError, match=r"older oscihop \(sweep store format 1; this version writes format 2.*"
                                         r"cannot be resumed safely. Pass overwrite=True"):
        oh.sweep(sm.kuramoto_build, store=store, **KW)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten store is whole: no warning
        ds = oh.sweep(sm.kuramoto_build, store=store, overwrite=True, **KW)
    assert ds.attrs["sweep_run"]["computed"] == 6
    assert_same(ds, reference[1])


# --- sharded stores: a task's block larger than 1 MiB is one shard file of several chunks -------------

LONG_KW = dict(KW, t_eval=np.linspace(0.0, 1.0, 10_000))  # y: 2 points x 10,000 times x 8 floats per task


@pytest.fixture(scope="module")
def sharded(tmp_path_factory):
    store = tmp_path_factory.mktemp("sharded") / "ref.zarr"
    ds = oh.sweep(sm.kuramoto_build, store=store, **LONG_KW)
    assert ds.attrs["complete"]
    return store, ds


def test_large_blocks_are_shards_one_file_per_task(sharded):
    store, ds = sharded
    group = zarr.open_group(store, mode="r")
    y = group["y"]
    assert y.shards == (1, 2, 10_000, 8) and y.chunks == (1, 1, 10_000, 8)  # 2 chunks of 640 kB per shard
    assert has_checksums(y) and verify_group(group) == []
    assert len(chunk_files(store, "y")) == 3  # one file per task, 3 tasks
    assert group["energy"].shards is None and len(chunk_files(store, "energy")) == 3  # 160 kB: one plain chunk
    # the stored trajectories are the solver's, point by point
    for coupling, seed in [(0.5, 0), (2.0, 1)]:
        model, y0 = sm.kuramoto_build(coupling, seed)
        sol = oh.solve(model, (0.0, 1.0), y0, t_eval=LONG_KW["t_eval"])
        np.testing.assert_array_equal(ds["y"].sel(coupling=coupling, seed=seed).values, sol.y.T)
    # reading one point decodes only its chunk
    np.testing.assert_array_equal(y[1, 1], ds["y"].values[1, 1])


@pytest.mark.parametrize("how", ["remove", "truncate", "flip"])
def test_damaged_shard_is_refused_then_repaired(sharded, tmp_path, how):
    store = copy_of(sharded, tmp_path)
    damage(chunk_files(store, "y")[1], how)  # the shard of block 1: coupling 1.0
    with pytest.raises(StoreDamagedError, match=r"damaged: y shard \(1, 0, 0, 0\).*Re-run the sweep"):
        oh.open_sweep(store)
    with pytest.warns(UserWarning, match=r"damaged chunks: y shard \(1, 0, 0, 0\).*Recomputing the 2 point"):
        ds = oh.sweep(sm.kuramoto_build, store=store, **LONG_KW)
    assert ds.attrs["sweep_run"]["computed"] == 2 and ds.attrs["complete"]
    np.testing.assert_array_equal(ds["y"].values, sharded[1]["y"].values)
    assert verify_group(zarr.open_group(store, mode="r")) == []
