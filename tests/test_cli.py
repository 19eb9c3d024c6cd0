"""The ``oscihop`` command line, run as users run it: ``python -m oscihop.cli ...`` in a fresh directory."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import zarr

import oscihop as oh
from oscihop.cli import main

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

RUN_TOML = """
[model]
kind = "hopfield-kuramoto"
n = 16

[hopfield]
patterns = { count = 2, seed = 0 }
beta = 4.0

[kuramoto]
dim = 3
graph = { kind = "ring", k = 2 }
coupling = 0.3

[coupling]
alpha = 0.02

[initial]
seed = 1
noise = 0.1

[solve]
method = "Tsit5"
t_end = 2.0
n_out = 5
rtol = 1e-6
atol = 1e-9
"""

SWEEP_TOML = """
[model]
kind = "kuramoto"
n = 8

[kuramoto]
dim = 2
omega = { kind = "natural", spread = 0.3, seed = 0 }

[solve]
method = "RK45"
t_end = 2.0
n_out = 3

[sweep]
grid = { "kuramoto.coupling" = [0.5, 2.0, 4.0], "initial.seed" = [0, 1] }
reduce = ["energy", "order_parameter"]
"""


def cli(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "oscihop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)
    return proc


def assert_one_line_error(proc, *needles):
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


def assert_pngs(folder, names):
    for name in names:
        data = (Path(folder) / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000, name


def test_demo_writes_a_store_and_pngs(tmp_path):
    proc = cli("demo", "--n", 30, "--patterns", 2, "--noise", 0.1, "--out", "demo-out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "energy non-increasing along the coupled run: True" in proc.stdout
    store = tmp_path / "demo-out" / "demo.zarr"
    assert str(Path("demo-out") / "demo.zarr") in proc.stdout
    ds = oh.open_trajectory(store)
    assert ds.sizes["neuron"] == 30 and {"h", "x", "energy", "order_parameter", "overlap"} <= set(ds.data_vars)
    assert isinstance(oh.load_model(store), oh.HopfieldKuramoto)
    assert_pngs(tmp_path / "demo-out", ["energy.png", "order_parameter.png", "oscillators.png", "overlaps.png"])


def test_demo_default_output_directory_is_replaced_on_rerun(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["demo", "--n", "20", "--patterns", "2", "--noise", "0.1"]) == 0
        assert "oscihop-demo" in capsys.readouterr().out
    assert oh.open_trajectory(tmp_path / "oscihop-demo" / "demo.zarr").sizes["neuron"] == 20


def test_run_info_plot_on_a_trajectory_store(tmp_path):
    (tmp_path / "hk.toml").write_text(RUN_TOML)
    proc = cli("run", "hk.toml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "wrote trajectory store: hk.zarr" in proc.stdout
    assert "model.is_lyapunov = True" in proc.stdout
    ds = oh.open_trajectory(tmp_path / "hk.zarr")
    assert ds.sizes["time"] == 5 and ds.attrs["method"] == "Tsit5"
    assert np.all(np.diff(ds.energy.values) <= 1e-6)
    config = json.loads(zarr.open_group(str(tmp_path / "hk.zarr"), mode="r").attrs["oscihop_config"])
    assert config["kuramoto"]["graph"] == {"kind": "ring", "k": 2}
    # the same numbers as building and solving in Python
    from oscihop.spec import build_from_spec, load_config, solve_kwargs

    spec = load_config(tmp_path / "hk.toml")
    model, y0 = build_from_spec(spec)
    sol = oh.solve(model, y0=y0, **solve_kwargs(spec))
    np.testing.assert_array_equal(ds.x.values, sol.x)

    proc = cli("info", "hk.zarr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "oscihop trajectory store" in out and "HopfieldKuramoto" in out and "method: Tsit5" in out
    assert "time=5" in out and "neuron=16" in out and "component=3" in out
    for var in ("h", "x", "energy", "order_parameter", "overlap"):
        assert f"    {var} " in out

    proc = cli("plot", "hk.zarr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_pngs(tmp_path / "hk-plots", ["energy.png", "order_parameter.png", "oscillators.png", "overlaps.png"])


def test_run_overwrite_set_and_streaming(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("hk.toml").write_text(RUN_TOML)
    assert main(["run", "hk.toml", "--out", "a.zarr"]) == 0
    assert main(["run", "hk.toml", "--out", "a.zarr"]) == 2
    err = capsys.readouterr().err
    assert "already holds an oscihop trajectory store" in err and "--overwrite" in err
    assert main(["run", "hk.toml", "--out", "a.zarr", "--overwrite", "--set", "coupling.alpha=0.0",
                 "--set", "solve.block=2"]) == 0
    assert "streamed in blocks of 2" in capsys.readouterr().out
    ds = oh.open_trajectory("a.zarr")
    assert ds.attrs["block"] == 2 and ds.sizes["time"] == 5
    assert json.loads(ds.attrs["oscihop_config"])["coupling"]["alpha"] == 0.0
    assert main(["plot", "a.zarr", "--out", "figs"]) == 0
    assert_pngs("figs", ["energy.png", "overlaps.png"])


def test_sweep_info_plot(tmp_path, capsys):
    (tmp_path / "sw.toml").write_text(SWEEP_TOML)
    proc = cli("sweep", "sw.toml", "--store", "sw.zarr", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "6 points" in proc.stdout and "wrote sweep store: sw.zarr" in proc.stdout
    assert "coupling (kuramoto.coupling): 0.5, 2, 4" in proc.stdout
    ds = oh.open_sweep(tmp_path / "sw.zarr")
    assert ds.sizes["coupling"] == 3 and ds.sizes["seed"] == 2 and bool(ds.attrs["complete"])
    r = ds["order_parameter"].transpose("coupling", "seed", "time").values
    # the same numbers as one point built and solved in Python
    from oscihop.spec import build_from_spec, load_config, solve_kwargs

    spec = load_config(tmp_path / "sw.toml")
    model, y0 = build_from_spec(spec, **{"kuramoto.coupling": 2.0, "initial.seed": 1})
    sol = oh.solve(model, y0=y0, **solve_kwargs(spec))
    np.testing.assert_allclose(r[1, 1], model.order_parameter(sol.states), rtol=1e-12)

    proc = cli("info", "sw.zarr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "oscihop sweep store" in proc.stdout
    assert "parameter coupling (kuramoto.coupling): 0.5, 2, 4" in proc.stdout
    assert "6 of 6 points" in proc.stdout

    proc = cli("plot", "sw.zarr", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_pngs(tmp_path / "sw-plots", ["heatmap_order_parameter.png", "energy.png", "order_parameter.png"])

    # running the finished sweep again is a no-op that succeeds
    proc = cli("sweep", "sw.toml", "--store", "sw.zarr", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "0 points computed in this run" in proc.stdout
    # a different sweep on the same store is refused, pointing at --overwrite
    assert main(["sweep", str(tmp_path / "sw.toml"), "--store", str(tmp_path / "sw.zarr"), "--no-progress",
                 "--set", "solve.t_end=3.0"]) == 2
    err = capsys.readouterr().err
    assert "holds a different sweep" in err and "--overwrite" in err and len(err.strip().splitlines()) == 1


def test_sweep_on_a_dask_scheduler(tmp_path, monkeypatch, capsys):
    from distributed import LocalCluster

    monkeypatch.chdir(tmp_path)
    Path("sw.toml").write_text(SWEEP_TOML)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["sweep", "sw.toml", "--store", "d.zarr", "--scheduler", cluster.scheduler_address,
                     "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"on {cluster.scheduler_address}" in out and "6 of 6 points done" in out
    ds = oh.open_sweep("d.zarr")
    from oscihop.spec import build_from_spec, load_config, solve_kwargs

    spec = load_config("sw.toml")
    model, y0 = build_from_spec(spec, **{"kuramoto.coupling": 4.0, "initial.seed": 0})
    sol = oh.solve(model, y0=y0, **solve_kwargs(spec))
    np.testing.assert_allclose(ds["energy"].sel(coupling=4.0, seed=0).values, sol.energy, rtol=1e-12)


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    (tmp_path / "bad.toml").write_text('[model]\nkind = "kuramoto"\nn = 10\n[kuramoto]\ndim = 1\n')
    assert_one_line_error(cli("run", "bad.toml", cwd=tmp_path), "bad.toml", "[kuramoto].dim must be an integer >= 2")
    assert_one_line_error(cli("info", "nowhere.zarr", cwd=tmp_path), "nowhere.zarr", "does not exist")


@pytest.mark.parametrize("args, needles", [
    (["run", "missing.toml"], ["oscihop run: error:", "missing.toml", "does not exist"]),
    (["run", "bad.toml"], ["[kuramoto].dim must be an integer >= 2; got 1"]),
    (["run", "typo.toml"], ["[kuramoto] has unknown key 'coupl'", "valid keys"]),
    (["run", "notoml.toml"], ["invalid TOML"]),
    (["run", "ok.toml", "--set", "kuramoto.coupling=strong"], ["[kuramoto].coupling must be a finite number"]),
    (["run", "ok.toml", "--set", "kuramoto.speed=1"], ["[kuramoto] has unknown key 'speed'"]),
    (["sweep", "ok.toml", "--store", "s.zarr"], ["no [sweep] section"]),
    (["sweep", "badsweep.toml", "--store", "s.zarr"], ["[sweep].grid has unknown parameter 'kuramoto.speed'"]),
    (["info", "plain"], ["'plain' is not a readable zarr store"]),
    (["info", "foreign.zarr"], ["not an oscihop trajectory or sweep store"]),
    (["plot", "foreign.zarr"], ["not an oscihop trajectory or sweep store"]),
])
def test_errors_name_the_problem(tmp_path, monkeypatch, capsys, args, needles):
    monkeypatch.chdir(tmp_path)
    Path("bad.toml").write_text('[model]\nkind = "kuramoto"\nn = 10\n[kuramoto]\ndim = 1\n')
    Path("typo.toml").write_text('[model]\nkind = "kuramoto"\nn = 10\n[kuramoto]\ncoupl = 1\n')
    Path("notoml.toml").write_text("[model\n")
    Path("ok.toml").write_text('[model]\nkind = "kuramoto"\nn = 10\n')
    Path("badsweep.toml").write_text('[model]\nkind = "kuramoto"\nn = 10\n[sweep]\ngrid = { "kuramoto.speed" = [1] }\n')
    Path("plain").mkdir()
    zarr.open_group("foreign.zarr", mode="w").create_array("a", data=np.arange(3))
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for needle in needles:
        assert needle in err


def test_set_parses_toml_values():
    from oscihop.cli import _override

    assert _override("kuramoto.coupling=0.5") == ("kuramoto.coupling", 0.5)
    assert _override("initial.seed = 3") == ("initial.seed", 3)
    assert _override("kuramoto.graph=ring") == ("kuramoto.graph", "ring")
    assert _override('kuramoto.graph={kind="ring", k=2}') == ("kuramoto.graph", {"kind": "ring", "k": 2})


def test_example_configs_are_documented():
    for name in ("hk_memory.toml", "kuramoto_sweep.toml"):
        text = (ROOT / "examples" / name).read_text()
        assert text.startswith("#") and "oscihop " in text
