"""Bad input to the ``oscihop`` command line (issue 14): ``run``, ``sweep``, ``info``, ``plot``.

Bad paths, bad option values and bad config contents, through ``main(argv)`` in-process
(fast: the config is refused before anything compiles) and a few real subprocesses.  Every
case must exit non-zero with a one-line message on stderr that names the option or the config
key, and no traceback.  Every config key of ``oscihop.spec`` meets the shared matrix
(``tests/badinput.py``): through ``validate_spec`` for every value, and through ``oscihop run
--set key=value`` for every value TOML can write.
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import zarr
from badinput import COUNTS, array_cases, bool_cases, case_ids, choice_cases, scalar_cases, size_cases

from oscihop.cli import main
from oscihop.solvers import METHODS
from oscihop.spec import validate_spec

HK_TOML = """
[model]
kind = "hopfield-kuramoto"
n = 8

[hopfield]
patterns = { count = 2, seed = 0 }

[kuramoto]
dim = 2
graph = { kind = "ring", k = 1 }
coupling = 0.5

[coupling]
alpha = 0.1

[solve]
method = "RK45"
t_end = 1.0
n_out = 3
"""


def _toml(value):
    """``value`` written as a TOML value, or None when TOML cannot write it."""
    if isinstance(value, np.ndarray):
        if np.ma.isMaskedArray(value) or value.dtype.kind in "cOV":
            return None
        value = value.tolist()
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        items = [_toml(v) for v in value]
        return None if any(i is None for i in items) else "[" + ", ".join(items) + "]"
    if isinstance(value, dict):
        items = {k: _toml(v) for k, v in value.items()}
        if any(v is None for v in items.values()):
            return None
        return "{ " + ", ".join(f"{json.dumps(str(k))} = {v}" for k, v in items.items()) + " }"
    return None  # None, complex, sets


def _label(key):
    section, *rest = key.split(".")
    return f"[{section}]" + "".join(f".{r}" for r in rest)


def _set(spec, key, value):
    node = spec
    parts = key.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str):
            child = {"kind": child}
        node[part] = child = dict(child or {})
        node = child
    node[parts[-1]] = value
    return spec


def _base(extra=None):
    import tomllib

    spec = tomllib.loads(HK_TOML)
    for key, value in (extra or {}).items():
        _set(spec, key, value)
    return spec


ASYNC = {"model.kind": "hopfield", "hopfield.activation": "sign", "solve.method": "async",
         "kuramoto": None, "coupling": None, "solve.n_out": None, "solve.t_end": 4}


def _drop(spec):
    for section in ("kuramoto", "coupling"):
        if spec.get(section) is None:
            spec.pop(section, None)
    if spec["solve"].get("n_out") is None:
        spec["solve"].pop("n_out", None)
    return spec


#: config key -> (bad cases, extra settings that make the key apply)
KEYS = {
    "model.kind": (choice_cases(["hopfield", "kuramoto", "hopfield-kuramoto"]), {}),
    "model.n": (size_cases(low=2), {}),
    "hopfield.patterns": ([("type", "number", 3), ("type", "list", [1, 2]), ("empty", "empty string", "")], {}),
    "hopfield.patterns.count": (size_cases(low=1), {}),
    "hopfield.patterns.seed": (size_cases(low=0), {}),
    "hopfield.patterns.file": ([("type", "number", 3), ("type", "list", ["a.npy"]), ("type", "bool", True),
                                ("empty", "empty string", "")], {"hopfield.patterns": {}}),
    "hopfield.weights": ([("type", "number", 3), ("type", "list", ["W.npy"]), ("empty", "empty string", "")],
                         {"hopfield.patterns": None}),
    "hopfield.rule": (choice_cases(["hebbian", "pseudo-inverse", "storkey"]), {}),
    "hopfield.activation": (choice_cases(["tanh", "sigmoid", "relu", "softmax", "sign"]), {}),
    "hopfield.beta": (scalar_cases(low=0.0), {}),
    "hopfield.bias": (scalar_cases(), {}),
    "hopfield.dense": (bool_cases(), {}),
    "kuramoto.dim": (size_cases(low=2), {}),
    "kuramoto.graph": (choice_cases(["mean-field", "complete", "ring", "watts-strogatz"]), {}),
    "kuramoto.graph.k": (size_cases(low=1, high=3), {}),
    "kuramoto.graph.p": (scalar_cases(low=0.0, high=1.0, strict_low=False), {"kuramoto.graph": {
        "kind": "watts-strogatz", "k": 2}}),
    "kuramoto.graph.seed": (size_cases(low=0), {"kuramoto.graph": {"kind": "watts-strogatz", "k": 2}}),
    "kuramoto.coupling": (scalar_cases(), {}),
    "kuramoto.strength": (scalar_cases(), {"kuramoto.graph": "mean-field", "kuramoto.coupling": None}),
    "kuramoto.interaction": (choice_cases(["linear", "relu", "tanh", "sigmoid"]), {}),
    "kuramoto.interaction_weights": (scalar_cases(), {"kuramoto.interaction": "tanh"}),
    "kuramoto.omega": ([("type", "number", 1.0), ("type", "string", "natural"), ("type", "list", [1.0])], {}),
    "kuramoto.omega.kind": (choice_cases(["natural", "global"]), {}),
    "kuramoto.omega.spread": (scalar_cases(low=0.0, strict_low=False), {"kuramoto.omega": {"kind": "natural"}}),
    "kuramoto.omega.mean": (scalar_cases(), {"kuramoto.omega": {"kind": "natural"}}),
    "kuramoto.omega.seed": (size_cases(low=0), {"kuramoto.omega": {"kind": "natural"}}),
    "kuramoto.omega.distribution": (choice_cases(["normal", "uniform"]), {"kuramoto.omega": {"kind": "natural"}}),
    "kuramoto.omega.rate": (scalar_cases(), {"kuramoto.omega": {"kind": "global"}}),
    "kuramoto.omega.matrix": (array_cases((2, 2)) + [("range", "symmetric", [[0.0, 1.0], [1.0, 0.0]])],
                              {"kuramoto.omega": {"kind": "global"}}),
    "kuramoto.stimulus": ([("type", "number", 1.0), ("type", "string", "on")], {}),
    "kuramoto.stimulus.strength": (scalar_cases(), {"kuramoto.stimulus": {}}),
    "kuramoto.stimulus.direction": (array_cases((2,)) + [("range", "zero", [0.0, 0.0])], {"kuramoto.stimulus": {}}),
    "kuramoto.stimulus.seed": (size_cases(low=0), {"kuramoto.stimulus": {}}),
    "coupling.hk_edges": (choice_cases(["all", "graph"]), {}),
    "coupling.mode": (choice_cases(["additive", "multiplicative", "network"]), {}),
    "coupling.alpha": (scalar_cases(), {}),
    "coupling.weights": (scalar_cases(), {"coupling.mode": "network"}),
    "coupling.kappa_h": (scalar_cases(low=0.0), {}),
    "coupling.kappa_k": (scalar_cases(low=0.0), {}),
    "initial.seed": (size_cases(low=0), {}),
    "initial.cue_pattern": (size_cases(low=0, high=1), {}),
    "initial.noise": (scalar_cases(low=0.0, high=1.0, strict_low=False), {}),
    "initial.h_scale": (scalar_cases(low=0.0), {}),
    "solve.method": (choice_cases(list(METHODS)), {}),
    "solve.t_start": (scalar_cases(), {}),
    "solve.t_end": (scalar_cases(low=0.0), {}),
    "solve.n_out": (size_cases(low=2), {}),
    "solve.t_eval": ([c for c in array_cases((3,)) if c[1] != "dict"] + [("range", "decreasing", [1.0, 0.5, 0.0]),
                                                                       ("range", "beyond t_end", [0.0, 5.0])],
                     {"solve.n_out": None}),
    "solve.rtol": (scalar_cases(low=0.0), {}),
    "solve.atol": (scalar_cases(low=0.0, strict_low=False), {}),
    "solve.dt": (scalar_cases(low=0.0), {"solve.method": "Euler"}),
    "solve.max_step": (scalar_cases(low=0.0), {}),
    "solve.first_step": (scalar_cases(low=0.0), {}),
    "solve.steady_state": (scalar_cases(low=0.0), {}),
    "solve.max_steps": (size_cases(low=0), {}),
    "solve.seed": (size_cases(low=0), ASYNC),
    "solve.block": (size_cases(low=1), {}),
    "sweep.grid": ([("type", "number", 3), ("type", "list", [1, 2]), ("empty", "empty table", {}),
                    ("empty", "empty values", {"kuramoto.coupling": []}),
                    ("range", "unknown key", {"kuramoto.zzz": [1.0]}),
                    ("range", "bad value", {"model.n": [8, "abc"]})], {}),
    "sweep.points": ([("type", "number", 3), ("empty", "empty list", []), ("type", "list of numbers", [1, 2])],
                     {"sweep.grid": None}),
    "sweep.points_per_task": (size_cases(low=1), {"sweep.grid": {"kuramoto.coupling": [0.5, 1.0]}}),
    # a list of reduction names is valid here: a list of bad names is the case instead
    "sweep.reduce": ([c for c in choice_cases(["full", "final", "energy", "order_parameter"]) if c[1] != "list"]
                     + [("type", "list of bad names", ["energy", "nope"]), ("empty", "empty list", [])],
                     {"sweep.grid": {"kuramoto.coupling": [0.5, 1.0]}}),
}

SPEC_CASES = [(key, case) for key, (cases, _) in KEYS.items() for case in cases]
TOML_CASES = [(key, case) for key, case in SPEC_CASES if _toml(case[2]) is not None]


def _spec_for(key, value):
    cases, extra = KEYS[key]
    spec = _base()
    for k, v in extra.items():
        if v is None:
            parent, _, leaf = k.rpartition(".")
            node = spec
            for part in parent.split(".") if parent else []:
                node = node.setdefault(part, {})
            (node if parent else spec).pop(leaf, None)
        else:
            _set(spec, k, v)
    spec = _drop(spec)
    return _set(spec, key, value)


def _ids(cases):
    return [f"{k}-{i}" for k, i in zip([k for k, _ in cases], case_ids([c for _, c in cases]))]


def test_every_spec_key_is_covered():
    from oscihop.spec import _SECTIONS

    keys = {f"{s}.{k}" for s, names in _SECTIONS.items() for k in names}
    assert keys <= set(KEYS), sorted(keys - set(KEYS))


#: keys that have no default: their cases' base holds this good value instead
REQUIRED = {"model.kind": "hopfield-kuramoto", "model.n": 8, "coupling.weights": 0.1, "kuramoto.omega.kind": "natural",
            "kuramoto.omega.rate": 1.0, "kuramoto.omega.matrix": [[0.0, -1.0], [1.0, 0.0]], "solve.dt": 0.01}


def _without(key):
    """The base spec of ``key``'s cases, without ``key`` (its default applies) or with a good value."""
    if key in REQUIRED:
        return _spec_for(key, REQUIRED[key])
    spec = _spec_for(key, None)
    parent, _, leaf = key.rpartition(".")
    node = spec
    for part in parent.split("."):
        node = node[part]
    node.pop(leaf)
    if key.startswith("sweep.") and not spec["sweep"]:
        spec.pop("sweep")
    return spec


@pytest.mark.parametrize("key", sorted(KEYS))
def test_the_base_of_each_case_is_valid(key):
    if key in ("sweep.grid", "sweep.points"):
        pytest.skip("a [sweep] needs one of grid and points")
    validate_spec(_without(key))  # so each bad case fails because of its one bad value


@pytest.mark.parametrize("key, case", SPEC_CASES, ids=_ids(SPEC_CASES))
def test_validate_spec_names_the_key(key, case):
    spec = _spec_for(key, case[2])
    COUNTS["validate_spec"] += 1
    with pytest.raises(ValueError) as info:
        validate_spec(spec)
    msg = str(info.value)
    # the message names the key itself, or its table (a table of the wrong type), or its section
    head = _label(key)
    assert head in msg or _label(key.rsplit(".", 1)[0]) in msg or f"[{key.split('.')[0]}]" in msg, msg


def _run_main(argv, capsys):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert rc != 0, out.out
    assert "Traceback" not in out.err and out.err.strip(), out.err
    return rc, out.err


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text(HK_TOML)
    return path


def _write_toml(spec):
    lines = []
    for section, table in spec.items():
        lines.append(f"[{section}]")
        lines += [f"{json.dumps(k)} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("key, case", TOML_CASES, ids=_ids(TOML_CASES))
def test_run_config_file_names_the_key(key, case, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(_write_toml(_spec_for(key, case[2])))
    COUNTS["oscihop run (config)"] += 1
    _, err = _run_main(["run", path, "--out", tmp_path / "x.zarr"], capsys)
    head = _label(key)
    assert head in err or _label(key.rsplit(".", 1)[0]) in err or f"[{key.split('.')[0]}]" in err, err
    assert "bad.toml" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.zarr").exists()


#: one bad value per key through --set (the same validation; the value is read as TOML)
SET_CASES = [(key, case) for key, case in TOML_CASES if not key.startswith("sweep.")]
SET_CASES = [next((k, c) for k, c in SET_CASES if k == key) for key in dict.fromkeys(k for k, _ in SET_CASES)]


@pytest.mark.parametrize("key, case", SET_CASES, ids=_ids(SET_CASES))
def test_run_set_names_the_key(key, case, tmp_path, capsys):
    base = tmp_path / "base.toml"
    base.write_text(_write_toml(_without(key)))
    COUNTS["oscihop run (--set)"] += 1
    _, err = _run_main(["run", base, "--set", f"{key}={_toml(case[2])}", "--out", tmp_path / "x.zarr"], capsys)
    assert _label(key) in err or _label(key.rsplit(".", 1)[0]) in err or f"[{key.split('.')[0]}]" in err, err


# ------------------------------------------------------------------ paths and options
def _user_dir(tmp_path):
    d = tmp_path / "mine"
    d.mkdir(exist_ok=True)
    (d / "notes.txt").write_text("mine")
    return d


def _config_paths(tmp_path):
    (tmp_path / "confdir").mkdir()
    (tmp_path / "binary.toml").write_bytes(b"\x00\xff\xfe garbage")
    (tmp_path / "invalid.toml").write_text("[model\nkind = ")
    (tmp_path / "empty.toml").write_text("")
    (tmp_path / "nomodel.toml").write_text("[solve]\nt_end = 1.0\n")
    return [("missing", tmp_path / "nowhere.toml", "does not exist"),
            ("directory", tmp_path / "confdir", "is a directory"),
            ("binary", tmp_path / "binary.toml", "binary.toml"),
            ("invalid TOML", tmp_path / "invalid.toml", "invalid TOML"),
            ("empty", tmp_path / "empty.toml", "[model]"),
            ("no [model]", tmp_path / "nomodel.toml", "[model]"),
            ("empty name", "", "CONFIG.toml")]


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_config_paths(command, tmp_path, capsys):
    for label, path, needle in _config_paths(tmp_path):
        extra = ["--store", tmp_path / "s.zarr"] if command == "sweep" else ["--out", tmp_path / "x.zarr"]
        COUNTS[f"oscihop {command} (paths)"] += 1
        _, err = _run_main([command, path, *extra], capsys)
        assert needle in err, (label, err)


def test_run_out_paths(cfg, tmp_path, capsys):
    d = _user_dir(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    sweep = tmp_path / "sweep.zarr"
    zarr.open_group(str(sweep), mode="w").attrs["oscihop_sweep"] = {"fingerprint": "f", "definition": {}}
    cases = [([d], "--out"), ([d, "--overwrite"], "never deletes"), ([tmp_path / "file.txt", "--overwrite"], "file"),
             ([sweep, "--overwrite"], "oscihop sweep store"), ([""], "--out")]
    for args, needle in cases:
        COUNTS["oscihop run (paths)"] += 1
        _, err = _run_main(["run", cfg, "--out", *args], capsys)
        assert needle in err, err
    assert (d / "notes.txt").read_text() == "mine" and (tmp_path / "file.txt").read_text() == "x"


BAD_SETS = [("no '='", "kuramoto.coupling", "section.key=value"), ("no key", "=3", "section.key=value"),
            ("unknown section", "physics.n=3", "physics.n"), ("unknown key", "model.size=3", "[model]"),
            ("string for a number", "model.n=abc", "[model].n"), ("nan", "kuramoto.coupling=nan",
                                                                  "[kuramoto].coupling"),
            ("huge n", "model.n=1e9", "[model].n"), ("huge n_out", "solve.n_out=1000000000", "[solve].n_out"),
            ("empty value", "model.kind=", "[model].kind")]


@pytest.mark.parametrize("label, text, needle", BAD_SETS, ids=[b[0] for b in BAD_SETS])
def test_run_bad_set(cfg, tmp_path, capsys, label, text, needle):
    COUNTS["oscihop run (--set)"] += 1
    _, err = _run_main(["run", cfg, "--set", text, "--out", tmp_path / "x.zarr"], capsys)
    assert needle in err, err
    assert not (tmp_path / "x.zarr").exists()


MEMORY = [("type", "string", "abc"), ("range", "zero", "0"), ("range", "negative", "-1"), ("nonfinite", "nan", "nan"),
          ("nonfinite", "inf", "inf"), ("empty", "empty", "")]


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("case", MEMORY, ids=case_ids(MEMORY))
def test_max_memory_values(command, case, cfg, tmp_path, capsys):
    extra = ["--store", tmp_path / "s.zarr"] if command == "sweep" else []
    COUNTS[f"oscihop {command} (options)"] += 1
    _, err = _run_main([command, cfg, *extra, "--max-memory", case[2]], capsys)
    assert "--max-memory" in err, err


def test_max_memory_limit_names_the_sizes_and_the_option(cfg, tmp_path, capsys):
    COUNTS["oscihop run (options)"] += 1
    _, err = _run_main(["run", cfg, "--set", "model.n=100000", "--set", "hopfield.rule=storkey",
                        "--max-memory", "1", "--out", tmp_path / "x.zarr"], capsys)
    assert "dense Hopfield weights" in err and "[model].n" in err and "--max-memory GIB (now 1)" in err, err
    # the same config with a limit above its needs gets past the check (it is then refused for its store path)
    (tmp_path / "x.zarr").mkdir()
    (tmp_path / "x.zarr" / "keep.txt").write_text("keep")
    _, err = _run_main(["run", cfg, "--set", "model.n=2000", "--set", "hopfield.rule=storkey", "--max-memory", "1",
                        "--out", tmp_path / "x.zarr"], capsys)
    assert "--out" in err and "never deletes" not in err or "not an oscihop trajectory store" in err, err


def test_sweep_paths_and_sections(cfg, tmp_path, capsys):
    d = _user_dir(tmp_path)
    sweep_cfg = tmp_path / "sweep.toml"
    sweep_cfg.write_text(HK_TOML + '\n[sweep]\ngrid = { "kuramoto.coupling" = [0.5, 1.0] }\n')
    cases = [([cfg, "--store", tmp_path / "s.zarr"], "no [sweep] section"),
             ([sweep_cfg, "--store", d], "not an oscihop sweep store"),
             ([sweep_cfg, "--store", d, "--overwrite"], "even with --overwrite"),
             ([sweep_cfg, "--store", ""], "--store"),
             ([sweep_cfg], "--store"),
             ([sweep_cfg, "--store", tmp_path / "s.zarr", "--set", "kuramoto.coupling=abc"], "[kuramoto].coupling"),
             ([sweep_cfg, "--store", tmp_path / "s.zarr", "--set", "model.n=1e9"], "[model].n")]
    for args, needle in cases:
        COUNTS["oscihop sweep (paths)"] += 1
        _, err = _run_main(["sweep", *args, "--no-progress"], capsys)
        assert needle in err, (args, err)
    assert (d / "notes.txt").read_text() == "mine"


def _store_places(tmp_path):
    d = _user_dir(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    foreign = tmp_path / "foreign.zarr"
    zarr.open_group(str(foreign), mode="w").attrs["title"] = "not oscihop's"
    return [("missing", tmp_path / "nowhere.zarr", "does not exist"), ("file", tmp_path / "file.txt", "file.txt"),
            ("user directory", d, "mine"), ("empty directory", tmp_path / "empty", "empty"),
            ("foreign zarr", foreign, "not an oscihop"), ("empty name", "", "STORE")]


@pytest.mark.parametrize("command", ["info", "plot"])
def test_store_paths(command, tmp_path, capsys):
    for label, path, needle in _store_places(tmp_path):
        COUNTS[f"oscihop {command} (paths)"] += 1
        _, err = _run_main([command, path], capsys)
        assert needle in err, (label, err)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


def test_unknown_commands_and_options(capsys):
    for argv in (["frobnicate"], ["run"], ["info"], ["plot", "x.zarr", "--bogus"], ["run", "c.toml", "--set"], []):
        COUNTS["oscihop (arguments)"] += 1
        rc, err = _run_main(argv, capsys)
        assert rc == 2 and "usage: oscihop" in err, err


# ------------------------------------------------------------------ real subprocesses
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "oscihop.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=cwd)


def test_subprocesses(tmp_path):
    (tmp_path / "confdir").mkdir()
    (tmp_path / "cfg.toml").write_text(HK_TOML)
    cases = [(["run", "confdir"], "is a directory"),
             (["run", "cfg.toml", "--set", "model.n=1e9"], "[model].n"),
             (["run", "cfg.toml", "--set", "hopfield.beta=-1"], "[hopfield].beta"),
             (["info", "nowhere.zarr"], "does not exist"),
             (["plot", "cfg.toml"], "cfg.toml")]
    for args, needle in cases:
        COUNTS["oscihop (subprocess)"] += 1
        proc = _cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert needle in proc.stderr, proc.stderr


def test_run_exits_nonzero_when_the_solve_fails(tmp_path):
    (tmp_path / "cfg.toml").write_text(HK_TOML)
    proc = _cli("run", "cfg.toml", "--set", "solve.max_steps=1", cwd=tmp_path)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "the solve failed" in proc.stderr and "max_steps" in proc.stderr and "Traceback" not in proc.stderr
    import oscihop as oh

    ds = oh.open_trajectory(tmp_path / "cfg.zarr")  # the outputs up to the failure are kept
    assert ds.attrs["success"] is False and ds.attrs["status"] < 0
