"""The main job, ``oscihop demo``: the story it tells holds, its figures and store are real, it
reports its compile/run time split, and it never deletes a user's files.

The story: a cue that the Hopfield network alone completes to memory A is completed to memory B
once oscillators locked to B's signs are coupled in (the Hopfield weights frozen); the correction
ends at numerical rank 1.  The demo's solves take milliseconds once compiled, so these tests run
the full-size default network (N = 200).
"""

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import oscihop as oh
from oscihop._progress import spinner
from oscihop.demo import RANK_TOL, correction_spectrum, numerical_rank, run_demo

ROOT = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ["energy.png", "order_parameter.png", "oscillators.png", "overlaps.png", "memory_edit.png"]


def quiet(*args):
    pass


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "oscihop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_oscillators_edit_which_memory_is_recalled(seed):
    lines = []
    res = run_demo(seed=seed, out=lines.append)
    m_h, m_hk = res["overlaps_hopfield"], res["overlaps_coupled"]
    assert m_h[0] > 0.95 and abs(m_h[1]) < 0.3, m_h  # the Hopfield network alone completes the cue to A
    assert m_hk[1] > 0.95 and abs(m_hk[0]) < 0.3, m_hk  # the same weights with oscillators: B
    assert res["is_lyapunov"]
    assert res["energy_monotone_hopfield"] and res["energy_monotone_coupled"]
    # the oscillators start near B's signs (rank D) and lock into them: the correction is alpha/N (B B^T - I)
    assert res["rank_initial"] == 3 and res["rank"] == 1 and res["rank_tol"] == RANK_TOL
    sv = res["singular_values"]
    assert sv.shape == (3,) and abs(sv[0] - 2.0) < 1e-6 and np.all(sv[1:] < RANK_TOL * sv[0])
    assert res["order_parameter_b"] > 0.999 and res["order_parameter"] < 0.3
    text = "\n".join(lines)
    assert "Hopfield alone (W frozen)      -> overlap A +0.9" in text and "recalls A" in text
    assert "with oscillators (same W)      -> overlap A" in text and "recalls B" in text
    assert f"numerical rank (singular values > {RANK_TOL:g} x largest): 3 at t=0 -> 1 at t=20" in text
    assert "energy non-increasing along the Hopfield run: True (model.is_lyapunov = True)" in text
    assert "energy non-increasing along the coupled run: True (model.is_lyapunov = True)" in text


def test_correction_spectrum_matches_the_dense_correction_and_the_rank_has_a_tolerance():
    res = run_demo(n=40, patterns=2, out=quiet)
    hk = res["hk"]
    y = res["coupled"].y[:, 0]  # unlocked oscillators: rank D
    dense = hk.hk_correction(y) + np.eye(hk.hopfield.n) * hk.alpha / hk.kappa_h  # (alpha/kappa_h) X X^T
    assert np.allclose(correction_spectrum(hk, y), np.linalg.svd(dense, compute_uv=False)[:3], rtol=1e-10)
    b = hk.hopfield.patterns[1]
    locked = hk.pack(h=np.zeros(40), x=np.outer(b, [0.0, 1.0, 0.0]))
    s = correction_spectrum(hk, locked)
    assert np.allclose(s, [hk.alpha * 40, 0.0, 0.0], atol=1e-12) and numerical_rank(s) == 1
    assert numerical_rank([1.0, 2e-6, 5e-7]) == 2 and numerical_rank([1.0, 2e-6, 5e-7], tol=1e-5) == 1
    assert numerical_rank([0.0, 0.0]) == 0 and numerical_rank([]) == 0


def test_time_split_is_reported_and_adds_up():
    lines = []
    res = run_demo(out=lines.append)
    assert sum("Numba compiles" in ln for ln in lines) == 1
    line = next(ln for ln in lines if ln.strip().startswith("time:"))
    compile_, run, first = map(float, re.search(
        r"time: compile ([\d.]+) s, run ([\d.]+) s \(measured: first call ([\d.]+) s, then the same solves "
        r"again, warm; compile = first - warm, a cache load when already compiled\)", line).groups())
    assert res["seconds_first"] > 0 and res["seconds_run"] > 0
    assert res["seconds_compile"] == max(res["seconds_first"] - res["seconds_run"], 0.0)
    assert abs(compile_ - max(first - run, 0.0)) < 0.011 and abs(run - res["seconds_run"]) < 1e-3
    assert abs(first - res["seconds_first"]) < 0.006
    assert run < 5.0  # the solves themselves take milliseconds


def test_figures_are_real_pngs_and_the_store_reads_back(tmp_path):
    lines = []
    res = run_demo(out=lines.append, out_dir=tmp_path / "out")
    assert [p.name for p in res["figures"]] == FIGURES
    for path in res["figures"]:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, path
    assert res["store"] == tmp_path / "out" / "demo.zarr"
    ds = oh.open_trajectory(res["store"])
    assert ds.sizes["neuron"] == 200 and float(ds["overlap"].isel(time=-1, pattern=1)) > 0.95
    assert isinstance(oh.load_model(res["store"]), oh.HopfieldKuramoto)
    assert any("memory_edit.png" in ln for ln in lines)


def test_cli_demo_writes_its_store_and_figures(tmp_path):
    proc = cli("demo", "--out", "figs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "recalls A" in proc.stdout and "recalls B" in proc.stdout and "time: compile" in proc.stdout
    assert str(Path("figs") / "demo.zarr") in proc.stdout
    assert oh.open_trajectory(tmp_path / "figs" / "demo.zarr").sizes["neuron"] == 200
    for name in FIGURES:
        assert (tmp_path / "figs" / name).read_bytes().startswith(PNG_MAGIC), name
    # a second run replaces its own store
    again = cli("demo", "--out", "figs", "--n", "50", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert oh.open_trajectory(tmp_path / "figs" / "demo.zarr").sizes["neuron"] == 50


def test_cli_demo_refuses_to_replace_a_users_directory(tmp_path):
    user = tmp_path / "figs" / "demo.zarr"
    (user / "notes").mkdir(parents=True)
    files = {user / "thesis.tex": "my thesis\n", user / "notes" / "todo.txt": "everything\n"}
    for path, text in files.items():
        path.write_text(text)
    proc = cli("demo", "--out", "figs", cwd=tmp_path)
    assert proc.returncode != 0
    assert "demo.zarr" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    for path, text in files.items():
        assert path.read_text() == text
    assert sorted(p.name for p in user.rglob("*")) == ["notes", "thesis.tex", "todo.txt"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(patterns=1), "patterns"), (dict(n=2), "n"), (dict(dim=1), "dim"),
    (dict(blend=0.7), "blend"), (dict(blend=-0.1), "blend"), (dict(noise=0.6), "noise"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        run_demo(out=quiet, **kwargs)


def test_spinner_shows_elapsed_seconds_only_when_enabled(capsys):
    import time

    with spinner("compiling", enabled=True, interval=0.05):
        time.sleep(1.2)
    assert "compiling: 00:01" in capsys.readouterr().err
    with spinner("compiling", enabled=False, interval=0.05):
        time.sleep(0.2)
    assert capsys.readouterr().err == ""
    with pytest.raises(ValueError, match="`progress`"):
        spinner("x", enabled="yes")


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_closure(names):
    """Distributions the given requirements bring, transitively (no extras), as installed here."""
    from packaging.requirements import Requirement

    seen, stack = set(), list(names)
    while stack:
        req = Requirement(stack.pop())
        name = _canonical(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        stack.extend(r for r in requires
                     if Requirement(r).marker is None or Requirement(r).marker.evaluate({"extra": ""}))
    return seen


BLOCK_EXTRAS = """
import importlib.abc, importlib.metadata, json, sys
allowed = set(json.loads(sys.argv[1]))
canonical = lambda name: name.replace("_", "-").replace(".", "-").lower()
owners = importlib.metadata.packages_distributions()
blocked = {top for top, dists in owners.items()
           if top != "oscihop" and not any(canonical(d) in allowed for d in dists)}

class NotInstalled(importlib.abc.MetaPathFinder):
    # wraps each finder: a hidden package is not found, exactly as when it is not installed
    def __init__(self, finder):
        self.finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            return None
        return self.finder.find_spec(name, path, target)

    def __getattr__(self, attr):
        return getattr(self.finder, attr)

sys.meta_path[:] = [NotInstalled(f) for f in sys.meta_path]
from oscihop.cli import main
status = main(["demo", "--out", "out"])
print(json.dumps({"status": status, "matplotlib": "matplotlib" in sys.modules, "blocked": len(blocked)}))
"""


def test_demo_runs_with_only_the_packages_own_dependencies(tmp_path):
    """What ``pip install -e .`` installs is enough for the demo: every installed package outside
    ``[project] dependencies`` (and what they require) is hidden from it, as on a bare machine."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    allowed = _requirement_closure(deps)
    assert "matplotlib" in allowed and "pytest" not in allowed
    proc = subprocess.run([sys.executable, "-c", BLOCK_EXTRAS, json.dumps(sorted(allowed))], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["status"] == 0 and report["matplotlib"] and report["blocked"] > 0, report
    assert (tmp_path / "out" / "memory_edit.png").read_bytes().startswith(PNG_MAGIC)
