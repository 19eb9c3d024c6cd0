"""Store integrity (issue 14, defects 3 and 4) for trajectory stores, models and checkpoints.

Defect 3: a removed, truncated or altered chunk used to read back as fill values (NaN,
zeros) with no error.  Every array now carries a CRC32C checksum on each chunk and every
chunk is written (zeros included), so each reader (``open_trajectory``, ``load_model``,
``oscihop info``, ``oscihop plot``) refuses a damaged store with a message naming the array
and the chunk.  Defect 4: ``mode="w"`` / ``--overwrite`` deleted directories oscihop did not
write; now only an oscihop store of the same kind is ever replaced (``io.stores``).
"""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import oscihop as oh
from oscihop.cli import main
from oscihop.io import integrity, stores
from oscihop.io.integrity import StoreDamagedError

ROOT = Path(__file__).resolve().parents[1]

#: one chunk of each kind: data variables, the time coordinate, a model array, an all-zero bias
ARRAYS = ["energy", "x", "h", "time", "model/hopfield.weights_factor", "model/hopfield.bias"]
DAMAGES = ["remove", "truncate", "flip"]
MODEL_ARRAYS = [a for a in ARRAYS if a.startswith("model/")]


def _hk():
    xi = np.array([[1, -1, 1, -1, 1, 1], [1, 1, -1, -1, 1, -1]], dtype=float)
    hop = oh.Hopfield.from_patterns(xi, beta=2.0)  # bias zero: an all-zero array
    kur = oh.Kuramoto(3, edges=oh.ring_edges(6, 1), coupling=0.5)
    return oh.HopfieldKuramoto(hop, kur, "all", alpha=0.1, mode="additive")


@pytest.fixture(scope="module")
def base_store(tmp_path_factory):
    model = _hk()
    sol = oh.solve(model, (0, 1), model.random_state(seed=0), t_eval=np.linspace(0, 1, 5))
    path = tmp_path_factory.mktemp("integrity") / "base.zarr"
    sol.to_zarr(path)
    return path, sol


@pytest.fixture
def store(base_store, tmp_path):
    path = tmp_path / "run.zarr"
    shutil.copytree(base_store[0], path)
    return path


def _chunk_files(path, array):
    return sorted(f for f in glob.glob(os.path.join(path, array, "c", "**"), recursive=True) if os.path.isfile(f))


def _damage(path, array, how):
    chunk = _chunk_files(path, array)[0]
    data = open(chunk, "rb").read()
    if how == "remove":
        os.remove(chunk)
    elif how == "truncate":
        with open(chunk, "wb") as fh:
            fh.write(data[: len(data) // 2])
    else:
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0x08
        with open(chunk, "wb") as fh:
            fh.write(bytes(flipped))
    return chunk


# ------------------------------------------------------------------- what is written
def _assert_whole(path):
    group = zarr.open_group(str(path), mode="r")
    rows = integrity.array_summary(group)
    assert rows
    for name, chunks, crc in rows:
        assert crc, f"{name} has no CRC32C codec"
        assert len(_chunk_files(path, name)) == chunks, f"{name}: a chunk file is missing"
    assert integrity.verify_group(group) == []


def test_every_chunk_is_written_with_a_checksum_even_all_zero(tmp_path):
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    y0 = np.zeros(hop.size)  # a fixed point: h, energy and overlaps stay exactly zero
    sol = oh.solve(hop, (0, 1), y0, t_eval=np.linspace(0, 1, 4))
    assert not np.any(sol.h) and not np.any(hop.bias)
    sol.to_zarr(tmp_path / "zeros.zarr")
    _assert_whole(tmp_path / "zeros.zarr")
    # streamed: the appended blocks are written with checksums and every chunk present too
    ds = oh.solve_to_zarr(hop, (0, 1), y0, str(tmp_path / "streamed.zarr"), np.linspace(0, 1, 7), block=2,
                          method="Euler", dt=0.1)
    assert ds.sizes["time"] == 7 and not np.any(ds.h.values)
    _assert_whole(tmp_path / "streamed.zarr")
    assert len(_chunk_files(tmp_path / "streamed.zarr", "h")) == 4  # ceil(7 / 2) blocks of time


def test_good_store_reads_back_exactly(base_store, store):
    _, sol = base_store
    ds = oh.open_trajectory(store)
    assert np.array_equal(ds.x.values, sol.x) and np.array_equal(ds.energy.values, sol.energy)
    assert repr(oh.load_model(store)) == repr(sol.model)


# ------------------------------------------------------------------- damaged chunks
@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("array", ARRAYS)
def test_readers_refuse_a_damaged_chunk(store, array, how, capsys):
    _damage(store, array, how)
    with pytest.raises(StoreDamagedError) as info:
        oh.open_trajectory(store)
    msg = str(info.value)
    assert f"{array} chunk (0" in msg and "run.zarr" in msg and "Write the trajectory again" in msg
    assert info.value.damage and info.value.damage[0].array == array
    if array in MODEL_ARRAYS:
        with pytest.raises(StoreDamagedError, match=f"{array} chunk"):
            oh.load_model(store)
    else:  # load_model reads (and verifies) only the model's arrays, which are whole
        assert repr(oh.load_model(store)) == repr(_hk())
    for cmd in (["info", str(store)], ["plot", str(store), "--out", str(store.parent / "plots")]):
        capsys.readouterr()
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert f"{array} chunk (0" in err and "Traceback" not in err, err
    assert not (store.parent / "plots").exists()


@pytest.mark.parametrize("array", ARRAYS)
def test_cli_subprocess_refuses_a_truncated_chunk(store, array):
    _damage(store, array, "truncate")
    for args in (["info", store], ["plot", store, "--out", store.parent / "plots"]):
        proc = subprocess.run([sys.executable, "-m", "oscihop.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=300, cwd=store.parent)
        assert proc.returncode == 2, (proc.stdout, proc.stderr)
        assert f"{array} chunk (0" in proc.stderr and "CRC32C" in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_verify_false_still_finds_missing_chunks(store):
    _damage(store, "x", "remove")
    with pytest.raises(StoreDamagedError, match=r"x chunk \(0, 0, 0\): missing"):
        oh.open_trajectory(store, verify=False)


def test_verify_false_reads_lazily_and_a_bad_checksum_still_raises(base_store, tmp_path):
    path = tmp_path / "lazy.zarr"
    shutil.copytree(base_store[0], path)
    _damage(path, "x", "flip")
    ds = oh.open_trajectory(path, verify=False)  # presence only: cheap for large stores
    with pytest.raises(ValueError, match="checksum"):
        ds.x.values


def test_damaged_streamed_block_is_named(tmp_path):
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    path = tmp_path / "s.zarr"
    oh.solve_to_zarr(hop, (0, 1), hop.random_state(seed=1), str(path), np.linspace(0, 1, 5), block=2)
    last = _chunk_files(path, "h")[-1]
    os.remove(last)
    with pytest.raises(StoreDamagedError, match=r"h chunk \(2, 0\): missing"):
        oh.open_trajectory(path)


def test_info_reports_a_verdict_per_array(store, capsys):
    assert main(["info", str(store)]) == 0
    out = capsys.readouterr().out
    assert "integrity: all 15 arrays whole (every chunk present, every CRC32C checksum verified)" in out
    verdicts = out.split("integrity:")[1].splitlines()
    for array in ARRAYS:
        line = next(ln for ln in verdicts if ln.strip().startswith(array + " "))
        assert line.rstrip().endswith("1 chunk   ok"), line


# ------------------------------------------------------------------- older stores
def test_store_written_without_checksums_is_read_with_a_warning(base_store, tmp_path, monkeypatch, capsys):
    from zarr.codecs import ZstdCodec

    # the writer of the previous oscihop version: zstd only, and empty chunks not written
    monkeypatch.setattr(integrity, "_compressors", lambda: [ZstdCodec(level=0, checksum=False)])
    monkeypatch.setattr(integrity, "WRITE_EMPTY_CHUNKS", False)
    path = tmp_path / "old.zarr"
    base_store[1].to_zarr(path)
    monkeypatch.undo()
    group = zarr.open_group(str(path), mode="r")
    assert not any(crc for _, _, crc in integrity.array_summary(group))
    assert not _chunk_files(path, "model/hopfield.bias")  # the old layout: zeros were never written
    with pytest.warns(UserWarning, match=r"old.zarr' was written without checksums.*energy") as rec:
        ds = oh.open_trajectory(path)
    assert rec[0].filename == __file__  # the warning points at the caller
    assert np.array_equal(ds.x.values, base_store[1].x)
    with pytest.warns(UserWarning, match="without checksums"):
        assert repr(oh.load_model(path)) == repr(base_store[1].model)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "was written without checksums" in out and "0 of 15 arrays verified" in out and "not verifiable" in out
    # check_group's default still counts such arrays as damage (for callers that need proof)
    with pytest.raises(StoreDamagedError, match="written without checksums"):
        integrity.check_group(group, "old")


def test_interrupted_write_names_the_run(tmp_path, monkeypatch):
    import importlib

    streaming = importlib.import_module("oscihop.io.streaming")  # where solve_to_zarr looks up solve
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1], [1, 1, -1, -1]], beta=2.0)
    real, calls = streaming.solve, []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(streaming, "solve", dying)
    path = tmp_path / "cut.zarr"
    with pytest.raises(KeyboardInterrupt):
        oh.solve_to_zarr(hop, (0, 1), hop.random_state(seed=0), str(path), np.linspace(0, 1, 4), block=2)
    os.remove(_chunk_files(path, "energy")[0])
    with pytest.raises(StoreDamagedError, match="interrupted while writing: run it again"):
        oh.open_trajectory(path)


# ------------------------------------------------------------------- stores.check_writable
def _user_dir(tmp_path, name="mydir"):
    d = tmp_path / name
    d.mkdir()
    (d / "notes.txt").write_text("my notes")
    (d / "sub").mkdir()
    (d / "sub" / "data.csv").write_text("1,2,3")
    return d


def _intact(d):
    assert (d / "notes.txt").read_text() == "my notes" and (d / "sub" / "data.csv").read_text() == "1,2,3"


def _sweep_like(path):
    zarr.open_group(str(path), mode="w", zarr_format=3).attrs["oscihop_sweep"] = {"fingerprint": "x",
                                                                                 "definition": {}}


def test_inspect_store_states(tmp_path, base_store):
    assert stores.inspect_store(tmp_path / "nowhere").state == "missing"
    (tmp_path / "empty").mkdir()
    assert stores.inspect_store(tmp_path / "empty").state == "empty"
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / stores.LOCK_NAME).write_text("{}")
    assert stores.inspect_store(tmp_path / "locked").state == "empty"
    (tmp_path / "file").write_text("x")
    assert stores.inspect_store(tmp_path / "file").state == "file"
    assert stores.inspect_store(_user_dir(tmp_path)).state == "foreign"
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_zarr(tmp_path / "xr.zarr", zarr_format=3, consolidated=False)
    assert stores.inspect_store(tmp_path / "xr.zarr").state == "foreign"
    zarr.create_array(str(tmp_path / "arr.zarr"), shape=(2,), dtype="f8")
    assert "single zarr array" in stores.inspect_store(tmp_path / "arr.zarr").reason
    zarr.open_group(str(tmp_path / "v2.zarr"), mode="w", zarr_format=2)
    assert "zarr v2" in stores.inspect_store(tmp_path / "v2.zarr").reason
    _sweep_like(tmp_path / "sweep.zarr")
    st = stores.inspect_store(tmp_path / "sweep.zarr")
    assert (st.state, st.kind) == ("oscihop", "sweep")
    st = stores.inspect_store(base_store[0])
    assert (st.state, st.kind) == ("oscihop", "trajectory")
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr" / "zarr.json").write_text("{ not json")
    assert stores.inspect_store(tmp_path / "bad.zarr").state == "unreadable"
    mem = zarr.storage.MemoryStore()
    assert stores.inspect_store(mem).state == "empty"
    zarr.create_array(mem, name="a", shape=(2,), dtype="f8")
    assert stores.inspect_store(mem).state == "foreign"


@pytest.mark.parametrize("overwrite", [False, True])
def test_check_writable_refuses_what_oscihop_did_not_write(tmp_path, overwrite):
    d = _user_dir(tmp_path)
    with pytest.raises(ValueError, match="'notes.txt', 'sub'.*never deletes it"):
        stores.check_writable(d, "trajectory", overwrite=overwrite)
    _sweep_like(tmp_path / "sweep.zarr")
    with pytest.raises(ValueError, match="is an oscihop sweep store"):
        stores.check_writable(tmp_path / "sweep.zarr", "trajectory", overwrite=overwrite)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        stores.check_writable(tmp_path / "file", "trajectory", overwrite=overwrite)
    _intact(d)
    assert (tmp_path / "file").read_text() == "x"


# ------------------------------------------------------------------- defect 4: writers
@pytest.mark.parametrize("mode", ["w", "w-"])
def test_to_zarr_never_deletes_a_users_directory(base_store, tmp_path, mode):
    sol = base_store[1]
    d = _user_dir(tmp_path)
    with pytest.raises(ValueError, match="not an oscihop trajectory store.*holding files oscihop did not write"):
        sol.to_zarr(d, mode=mode)
    _intact(d)
    assert sorted(os.listdir(d)) == ["notes.txt", "sub"]
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_zarr(tmp_path / "xr.zarr", zarr_format=3, consolidated=False)
    with pytest.raises(ValueError, match="zarr store that oscihop did not write"):
        sol.to_zarr(tmp_path / "xr.zarr", mode=mode)
    assert xr.open_zarr(tmp_path / "xr.zarr", consolidated=False).a.values.tolist() == [0.0, 1.0, 2.0]
    _sweep_like(tmp_path / "sweep.zarr")
    with pytest.raises(ValueError, match="oscihop sweep store"):
        sol.to_zarr(tmp_path / "sweep.zarr", mode=mode)
    assert "oscihop_sweep" in zarr.open_group(str(tmp_path / "sweep.zarr"), mode="r").attrs


def test_to_zarr_replaces_its_own_store_and_fills_an_empty_directory(base_store, tmp_path):
    sol = base_store[1]
    (tmp_path / "empty").mkdir()
    sol.to_zarr(tmp_path / "empty")  # an empty directory is fine, even with mode="w-"
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1]], beta=1.0)
    other = oh.solve(hop, (0, 1), hop.random_state(seed=0), t_eval=[0, 1])
    with pytest.raises(FileExistsError, match="pass mode='w' to replace it"):
        other.to_zarr(tmp_path / "empty")
    other.to_zarr(tmp_path / "empty", mode="w")
    assert isinstance(oh.load_model(tmp_path / "empty"), oh.Hopfield)
    _assert_whole(tmp_path / "empty")


def test_solve_to_zarr_refuses_a_users_directory_before_solving(tmp_path, monkeypatch):
    import importlib

    streaming = importlib.import_module("oscihop.io.streaming")  # where solve_to_zarr looks up solve
    monkeypatch.setattr(streaming, "solve", lambda *a, **k: pytest.fail("solved before checking the path"))
    hop = oh.Hopfield.from_patterns([[1, -1, 1, -1]], beta=1.0)
    d = _user_dir(tmp_path)
    with pytest.raises(ValueError, match="never deletes it, even with mode='w'"):
        oh.solve_to_zarr(hop, (0, 1), hop.random_state(seed=0), str(d), [0, 1], mode="w")
    _intact(d)


def test_training_checkpoint_never_deletes_a_users_directory(tmp_path):
    from test_train import _toy_train

    d = _user_dir(tmp_path)
    with pytest.raises(ValueError, match="`checkpoint` .* is not a zarr store"):
        _toy_train(epochs=1, checkpoint=d)
    with pytest.raises(ValueError, match="`checkpoint` .*never deletes it, even with resume=False"):
        _toy_train(epochs=1, checkpoint=d, resume=False)
    _intact(d)
    xr.Dataset({"a": ("t", np.arange(3.0))}).to_zarr(tmp_path / "xr.zarr", zarr_format=3, consolidated=False)
    for resume in (True, False):  # a zarr store without a marker: it used to be deleted even when resuming
        with pytest.raises(ValueError, match="`checkpoint` .*zarr store that oscihop did not write"):
            _toy_train(epochs=1, checkpoint=tmp_path / "xr.zarr", resume=resume)
    assert xr.open_zarr(tmp_path / "xr.zarr", consolidated=False).a.size == 3
    res = _toy_train(epochs=1, checkpoint=tmp_path / "ck")
    group = zarr.open_group(str(tmp_path / "ck"), mode="r")
    assert all(crc for _, _, crc in integrity.array_summary(group)) and integrity.verify_group(group) == []
    again = _toy_train(epochs=1, checkpoint=tmp_path / "ck", resume=False)  # its own store: replaced
    assert again.resumed_from == 0 and res.metrics.sizes["epoch"] == 1


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "oscihop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


RUN_TOML = """
[model]
kind = "kuramoto"
n = 6

[kuramoto]
dim = 2
coupling = 1.0

[solve]
method = "RK45"
t_end = 1.0
n_out = 3
"""


def test_cli_run_overwrite_refuses_a_users_directory_and_replaces_its_store(tmp_path):
    (tmp_path / "cfg.toml").write_text(RUN_TOML)
    d = _user_dir(tmp_path)
    proc = _cli("run", "cfg.toml", "--out", "mydir", "--overwrite", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--out 'mydir' is not an oscihop trajectory store" in proc.stderr
    assert "even with --overwrite" in proc.stderr
    _intact(d)
    assert _cli("run", "cfg.toml", "--out", "run.zarr", cwd=tmp_path).returncode == 0
    created = oh.open_trajectory(tmp_path / "run.zarr").attrs["created"]
    proc = _cli("run", "cfg.toml", "--out", "run.zarr", cwd=tmp_path)
    assert proc.returncode == 2 and "pass --overwrite to replace it" in proc.stderr
    proc = _cli("run", "cfg.toml", "--out", "run.zarr", "--overwrite", "--set", "solve.n_out=4", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    ds = oh.open_trajectory(tmp_path / "run.zarr")
    assert ds.sizes["time"] == 4 and ds.attrs["created"] >= created


def test_cli_sweep_overwrite_refuses_a_users_directory(tmp_path):
    (tmp_path / "cfg.toml").write_text(RUN_TOML + '\n[sweep]\ngrid = { "kuramoto.coupling" = [0.5, 1.0] }\n')
    d = _user_dir(tmp_path)
    rc = main(["sweep", str(tmp_path / "cfg.toml"), "--store", str(d), "--overwrite", "--no-progress"])
    assert rc == 2
    _intact(d)
