"""``oscihop verify CONFIG.toml|STORE`` (issue 18): real subprocesses for the verdicts, ``main(argv)``
in-process for bad input (refused before anything compiles).

Exit status 0: no energy increase beyond the tolerance; 1: a counter-example, printed; 2: bad
input, with a one-line message naming the option or the path.  Option values meet the shared
matrix of ``tests/badinput.py``, written as command-line text.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import zarr
from badinput import COUNTS, case_ids, choice_cases, scalar_cases, size_cases

import oscihop as oh
from oscihop.cli import main
from oscihop.solvers import METHODS
from oscihop.spec import build_from_spec, load_config

LYAPUNOV_TOML = """
[model]
kind = "kuramoto"
n = 8

[kuramoto]
dim = 3
graph = "mean-field"
coupling = 2.0

[solve]
method = "Euler"
dt = 0.05
t_end = 2.0
n_out = 5
"""

# per-unit natural frequencies: the flow is not a gradient flow and the energy can rise
FAILING_TOML = """
[model]
kind = "kuramoto"
n = 6

[kuramoto]
dim = 2
graph = "mean-field"
coupling = 1.0
omega = { kind = "natural", spread = 1.0, seed = 0 }

[solve]
method = "RK45"
t_end = 2.0
n_out = 5
"""


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "oscihop.cli", "verify", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


@pytest.fixture
def configs(tmp_path):
    (tmp_path / "lyapunov.toml").write_text(LYAPUNOV_TOML)
    (tmp_path / "failing.toml").write_text(FAILING_TOML)
    return tmp_path


def test_lyapunov_config_exits_0_and_prints_the_report(configs):
    proc = _cli("lyapunov.toml", "--max-evals", "3000", cwd=configs)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    out = proc.stdout
    assert "ok: no energy increase found" in out and "is_lyapunov = True" in out, out
    assert "method Euler, dt = 0.05" in out and "step_bound over visited states" in out and "dt is within it" in out
    assert "counter-example" not in out


def test_failing_config_exits_1_with_a_counterexample_that_reproduces(configs):
    proc = _cli("failing.toml", "--json", "--seed", "3", cwd=configs)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)
    assert report["exit_code"] == 1 and report["is_lyapunov"] is False and report["seed"] == 3
    c = report["counterexamples"][0]
    assert c["kind"] == "rate" and c["excess"] > 1
    model, _ = build_from_spec(load_config(configs / "failing.toml"))
    assert model.energy_rate(np.array(c["state"])) > c["tolerance"]  # re-evaluated here, in float64
    text = _cli("failing.toml", cwd=configs)
    assert text.returncode == 1
    assert "ENERGY INCREASE FOUND" in text.stdout and "counter-example (rate)" in text.stdout, text.stdout
    assert "x = [[" in text.stdout  # the state is printed


def test_trajectory_store_is_verified_with_the_method_it_was_solved_with(tmp_path):
    kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=6)
    oh.solve(kur, (0.0, 1.0), kur.random_state(seed=0), method="AKOrN", dt=0.1).to_zarr(str(tmp_path / "t.zarr"))
    proc = _cli("t.zarr", "--json", "--max-evals", "2000", cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    report = json.loads(proc.stdout)
    assert (report["method"], report["dt"], report["t_span"]) == ("AKOrN", 0.1, [0.0, 1.0])
    assert report["step_exceeds_bound"] is False and report["counterexamples"] == []
    # a step above the theory's bound, asked for on the command line, raises the energy
    proc = _cli("t.zarr", "--dt", "2.5", "--max-evals", "3000", cwd=tmp_path)
    assert proc.returncode == 1 and "dt EXCEEDS it" in proc.stdout and "counter-example (step)" in proc.stdout, \
        (proc.stdout, proc.stderr)


# --------------------------------------------------------------------------------- bad input
def _run_main(argv, capsys):
    capsys.readouterr()
    rc = main(["verify", *map(str, argv)])
    out = capsys.readouterr()
    assert rc == 2, (rc, out.out, out.err)
    assert "Traceback" not in out.err and out.err.strip(), out.err
    return out.err


def _argv_text(value):
    """``value`` as command-line text, or None where a command line cannot carry it (None)."""
    if value is None:
        return None
    return str(value)


def _option_cases():
    """(option, category, label, text): the shared matrix of each option, as text the parser must refuse.

    Text that is a valid value (the matrix's "string '1.0'" is how every number arrives on a command
    line) is left out."""
    matrix = {"--dt": scalar_cases(low=0.0), "--rtol": scalar_cases(low=0.0), "--atol": scalar_cases(),
              "--time-limit": scalar_cases(low=0.0), "--seed": size_cases(low=0), "--max-evals": size_cases(low=1),
              "--method": choice_cases([m for m, meta in METHODS.items() if meta.kind != "async"])}
    valid = {"1.0", "10", "Euler"}
    cases = []
    for option, rows in matrix.items():
        for category, label, value in rows:
            text = _argv_text(value)
            if text is not None and text not in valid:
                cases.append((option, category, label, text))
    cases += [("--atol", "range", "negative", "-1e-9"), ("--method", "range", "async (no continuous flow)", "async")]
    return cases


OPTION_CASES = _option_cases()


@pytest.mark.parametrize("option, category, label, text", OPTION_CASES,
                         ids=case_ids([(f"{o}-{c}", label, None) for o, c, label, _ in OPTION_CASES]))
def test_bad_option_values(option, category, label, text, configs, capsys):
    COUNTS["oscihop verify (options)"] += 1
    err = _run_main([configs / "lyapunov.toml", option, text], capsys)
    assert option in err, err


def test_bad_paths(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not toml = [")
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(str(foreign), mode="w").attrs["title"] = "not oscihop's"
    training = tmp_path / "training.zarr"
    zarr.open_group(str(training), mode="w").attrs.update({"oscihop_store": "training", "format_version": 1})
    sweep = tmp_path / "sweep.zarr"
    zarr.open_group(str(sweep), mode="w").attrs["oscihop_sweep"] = {"fingerprint": "f", "definition": {}}
    network = tmp_path / "network.zarr"
    zarr.open_group(str(network), mode="w").attrs.update({"oscihop_store": "network", "complete": True})
    cases = [("missing", tmp_path / "nowhere.zarr", "does not exist"),
             ("directory that is not a store", mine, "not a readable zarr store"),
             ("empty directory", tmp_path / "empty", "not a readable zarr store"),
             ("a file that is not TOML", tmp_path / "notes.txt", "invalid TOML"),
             ("foreign zarr", foreign, "not an oscihop"),
             ("training store", training, "trained parameters"),
             ("network store", network, "oh.load_network"),
             ("sweep store", sweep, "energy_increase"),
             ("empty name", "", "CONFIG.toml|STORE")]
    for label, path, needle in cases:
        COUNTS["oscihop verify (paths)"] += 1
        err = _run_main([path], capsys)
        assert needle in err, (label, err)
    assert (mine / "notes.txt").read_text() == "mine"


def test_bad_combinations(configs, capsys):
    store = configs / "t.zarr"
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4)
    oh.solve(kur, (0.0, 1.0), kur.random_state(seed=0), t_eval=[0.0, 1.0]).to_zarr(str(store))
    cases = [([configs / "lyapunov.toml", "--set", "kuramoto.coupling=abc"], "[kuramoto].coupling"),
             ([configs / "lyapunov.toml", "--set", "model.n=1e9"], "[model].n"),
             ([store, "--set", "model.n=4"], "--set"),
             ([configs / "failing.toml", "--method", "Euler"], "`dt`"),
             ([configs / "failing.toml", "--dt", "0.1"], "`dt`")]
    for argv, needle in cases:
        COUNTS["oscihop verify (combinations)"] += 1
        err = _run_main(argv, capsys)
        assert needle in err, (argv, err)
