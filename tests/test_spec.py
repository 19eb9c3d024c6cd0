"""Declarative specs (oscihop.spec): TOML configs build the models they describe, errors name keys."""

import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest

import oscihop as oh
from oscihop.spec import apply_overrides, build_from_spec, load_config, solve_kwargs, sweep_kwargs, validate_spec

ROOT = Path(__file__).resolve().parents[1]


def hk_spec(**sections):
    spec = {
        "model": {"kind": "hopfield-kuramoto", "n": 24},
        "hopfield": {"patterns": {"count": 3, "seed": 5}, "beta": 4.0},
        "kuramoto": {"dim": 3, "graph": {"kind": "watts-strogatz", "k": 4, "p": 0.2, "seed": 7}, "coupling": 0.5},
        "coupling": {"alpha": 0.01},
        "initial": {"seed": 3, "cue_pattern": 1, "noise": 0.25, "h_scale": 0.2},
        "solve": {"method": "Tsit5", "t_end": 2.0, "n_out": 5, "rtol": 1e-6},
    }
    for name, sec in sections.items():
        spec[name] = sec
    return spec


def write(tmp_path, text, name="cfg.toml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


# ------------------------------------------------------------------ valid configs build the right models
def test_hopfield_kuramoto_spec_builds_the_described_model():
    model, y0 = build_from_spec(hk_spec())
    assert isinstance(model, oh.HopfieldKuramoto)
    assert (model.n, model.dim, model.size) == (24, 3, 24 + 24 * 3)
    assert model.mode == "additive" and model.alpha == 0.01 and model.all_to_all
    hop, kur = model.hopfield, model.kuramoto
    xi = np.where(np.random.default_rng([5]).random((3, 24)) < 0.5, -1.0, 1.0)
    np.testing.assert_array_equal(hop.patterns, xi)
    assert isinstance(hop.weights, oh.LowRank) and hop.beta == 4.0 and hop.activation == "tanh"
    np.testing.assert_array_equal(kur.edges, oh.watts_strogatz_edges(24, 4, 0.2, seed=7))
    np.testing.assert_array_equal(kur.edge_coupling, np.full(len(kur.edges), 0.5))
    # initial state: h = h_scale * (pattern 1 with int(0.25 n) units flipped), unit oscillators
    parts = model.unpack(y0)
    cue = parts.h / 0.2
    assert np.all(np.abs(cue) == 1)
    assert np.sum(cue != xi[1]) == 6
    np.testing.assert_allclose(np.linalg.norm(parts.x, axis=1), 1.0)
    assert model.is_lyapunov


def test_builds_are_reproducible_and_seeds_matter():
    spec = hk_spec()
    _, a = build_from_spec(spec)
    _, b = build_from_spec(spec)
    np.testing.assert_array_equal(a, b)
    _, c = build_from_spec(spec, **{"initial.seed": 4})
    assert not np.array_equal(a, c)


def test_kuramoto_mean_field_coupling_is_K_and_strength_is_accepted():
    kur, y0 = build_from_spec({"model": {"kind": "kuramoto", "n": 10}, "kuramoto": {"coupling": 2.5}})
    assert kur.strength == 2.5 and kur.dim == 2 and y0.shape == (20,)
    kur2, _ = build_from_spec({"model": {"kind": "kuramoto", "n": 10}, "kuramoto": {"strength": 1.5}})
    assert kur2.strength == 1.5


@pytest.mark.parametrize("graph, expected", [
    ({"kind": "ring", "k": 2}, oh.ring_edges(12, 2)),
    ("complete", oh.complete_edges(12)),
    ("ring", oh.ring_edges(12, 1)),
])
def test_graphs(graph, expected):
    kur, _ = build_from_spec({"model": {"kind": "kuramoto", "n": 12}, "kuramoto": {"graph": graph, "coupling": 0.3}})
    np.testing.assert_array_equal(np.sort(kur.edges, axis=1), np.sort(expected, axis=1))


def test_nonlinear_interaction_with_weights():
    kur, _ = build_from_spec({"model": {"kind": "kuramoto", "n": 8},
                              "kuramoto": {"dim": 4, "graph": "complete", "interaction": "tanh",
                                           "interaction_weights": 0.7}})
    assert kur.interaction == "tanh" and kur.dim == 4


def test_natural_frequencies_make_the_model_non_gradient():
    spec = {"model": {"kind": "kuramoto", "n": 16},
            "kuramoto": {"omega": {"kind": "natural", "spread": 0.5, "seed": 2}}}
    kur, _ = build_from_spec(spec)
    assert not kur.is_lyapunov
    freqs = kur.omega[:, 1, 0]
    np.testing.assert_allclose(freqs, 0.5 * np.random.default_rng([2]).standard_normal(16))
    kur3, _ = build_from_spec(apply_overrides(spec, {"kuramoto.dim": 3}))
    assert kur3.omega.shape == (16, 3, 3)
    np.testing.assert_allclose(kur3.omega, -np.swapaxes(kur3.omega, 1, 2))


def test_global_rotation_and_stimulus():
    kur, _ = build_from_spec({"model": {"kind": "kuramoto", "n": 6},
                              "kuramoto": {"dim": 3, "omega": {"kind": "global", "rate": 2.0},
                                           "stimulus": {"strength": 0.5, "direction": [0, 0, 2]}}})
    np.testing.assert_allclose(kur.omega[0], [[0, -2, 0], [2, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(kur.stimulus, np.tile([0, 0, 0.5], (6, 1)))
    assert kur.is_lyapunov  # Omega c = 0 for a field along the rotation axis


@pytest.mark.parametrize("rule", ["hebbian", "pseudo-inverse", "storkey"])
def test_hopfield_rules(rule):
    hop, y0 = build_from_spec({"model": {"kind": "hopfield", "n": 20},
                               "hopfield": {"patterns": {"count": 2}, "rule": rule, "bias": 0.1}})
    assert isinstance(hop, oh.Hopfield) and hop.patterns.shape == (2, 20)
    np.testing.assert_allclose(hop.bias, 0.1)
    assert y0.shape == (20,)


def test_binary_hopfield_starts_from_spins_and_solves_async():
    spec = {"model": {"kind": "hopfield", "n": 30},
            "hopfield": {"activation": "sign", "patterns": {"count": 2}},
            "initial": {"noise": 0.1}, "solve": {"method": "async", "t_end": 5, "seed": 1}}
    hop, y0 = build_from_spec(spec)
    assert set(np.unique(y0)) <= {-1.0, 1.0}
    kw = solve_kwargs(validate_spec(spec))
    assert kw["t_eval"] is None and kw["seed"] == 1
    sol = oh.solve(hop, y0=y0, **kw)
    assert sol.success


def test_hk_edges_graph_and_network_mode():
    spec = hk_spec(coupling={"hk_edges": "graph", "mode": "network", "weights": 0.02, "kappa_h": 2.0})
    model, _ = build_from_spec(spec)
    np.testing.assert_array_equal(model.hk_edges, model.kuramoto.edges)
    np.testing.assert_allclose(model.weights, 0.02)
    assert model.kappa_h == 2.0
    spec = hk_spec(kuramoto={"dim": 2}, coupling={"hk_edges": "graph", "mode": "multiplicative", "alpha": 0.1})
    model, _ = build_from_spec(spec)  # mean-field graph: every pair
    assert model.mode == "multiplicative"


def test_files_are_relative_to_the_config(tmp_path):
    xi = np.where(np.random.default_rng(0).random((2, 10)) < 0.5, -1.0, 1.0)
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "xi.npy", xi)
    w = xi.T @ xi / 10
    np.fill_diagonal(w, 0)
    np.save(tmp_path / "data" / "w.npy", w)
    cfg = write(tmp_path, """
        [model]
        kind = "hopfield"
        n = 10
        [hopfield]
        patterns = { file = "data/xi.npy" }
        [initial]
        cue_pattern = 1
        noise = 0.0
        h_scale = 1.0
    """)
    hop, y0 = build_from_spec(load_config(cfg))
    np.testing.assert_array_equal(hop.patterns, xi)
    np.testing.assert_array_equal(y0, xi[1])
    cfg2 = write(tmp_path, """
        [model]
        kind = "hopfield"
        n = 10
        [hopfield]
        weights = "data/w.npy"
    """, "w.toml")
    hop2, _ = build_from_spec(str(cfg2))  # a path works too
    np.testing.assert_allclose(hop2.weights_dense(), w)
    bad = write(tmp_path, """
        [model]
        kind = "hopfield"
        n = 11
        [hopfield]
        weights = "data/w.npy"
    """, "bad.toml")
    with pytest.raises(ValueError, match=r"\[hopfield\]\.weights.*\(11, 11\).*\(10, 10\)"):
        build_from_spec(load_config(bad))


@pytest.mark.parametrize("name", ["hk_memory.toml", "kuramoto_sweep.toml"])
def test_example_configs_load_and_build(name):
    spec = load_config(ROOT / "examples" / name)
    model, y0 = build_from_spec(spec)
    assert y0.shape == (model.size,)
    assert validate_spec(spec) == spec  # normalized specs are fixed points
    if "sweep" in spec:
        kw = sweep_kwargs(spec)
        assert kw["grid"] and kw["t_eval"].shape == (31,)
        for value in kw["grid"]["coupling"]:
            m, _ = build_from_spec(spec, **{"kuramoto.coupling": value})
            assert m.strength == value


def test_load_config_reads_toml_with_nested_sweep_keys(tmp_path):
    cfg = write(tmp_path, """
        [model]
        kind = "kuramoto"
        n = 8
        [solve]
        method = "RK4"
        dt = 0.1
        t_end = 1.0
        [sweep]
        grid = { kuramoto.coupling = [0.5, 1.0], "initial.seed" = [0, 1, 2], kuramoto__graph = ["complete"] }
        reduce = "final"
    """)
    spec = load_config(cfg)
    assert spec["sweep"]["grid"] == {"kuramoto.coupling": [0.5, 1.0], "initial.seed": [0, 1, 2],
                                     "kuramoto.graph": ["complete"]}
    kw = solve_kwargs(spec)
    assert kw["method"] == "RK4" and kw["dt"] == 0.1 and kw["t_eval"].shape == (101,)
    cfg = write(tmp_path, """
        [model]
        kind = "kuramoto"
        n = 8
        [[sweep.points]]
        "kuramoto.coupling" = 3.0
        "initial.seed" = 9
        [[sweep.points]]
        kuramoto.coupling = 1.0
        initial.seed = 2
    """, "points.toml")
    spec = load_config(cfg)
    assert spec["sweep"]["points"] == [{"kuramoto.coupling": 3.0, "initial.seed": 9},
                                       {"kuramoto.coupling": 1.0, "initial.seed": 2}]
    kw = sweep_kwargs(spec)
    assert kw["points"] == [{"coupling": 3.0, "seed": 9}, {"coupling": 1.0, "seed": 2}] and "grid" not in kw
    model, _ = kw["build"](coupling=3.0, seed=9)
    assert model.strength == 3.0


def test_sweep_names_are_identifiers_and_build_from_named_maps_them_back():
    from oscihop.spec import build_from_named, sweep_names

    names = sweep_names(["kuramoto.coupling", "coupling.alpha", "initial.seed", "kuramoto.graph.seed",
                         "kuramoto.omega.spread", "model.n"])
    assert names == {"kuramoto.coupling": "coupling", "coupling.alpha": "alpha", "initial.seed": "initial__seed",
                     "kuramoto.graph.seed": "kuramoto__graph__seed", "kuramoto.omega.spread": "spread",
                     "model.n": "n"}
    assert all(v.isidentifier() for v in names.values())
    # a short name that is a store variable is not used
    assert sweep_names(["kuramoto.graph.kind", "hopfield.patterns.count"]) == {
        "kuramoto.graph.kind": "kind", "hopfield.patterns.count": "count"}
    spec = hk_spec()
    inverse = {v: k for k, v in names.items()}
    a, ya = build_from_named(spec, inverse, coupling=0.7, initial__seed=5, kuramoto__graph__seed=1)
    b, yb = build_from_spec(spec, **{"kuramoto.coupling": 0.7, "initial.seed": 5, "kuramoto.graph.seed": 1})
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a.kuramoto.edges, b.kuramoto.edges)
    # "__" is accepted everywhere a dotted key is
    c, _ = build_from_spec(spec, kuramoto__coupling=0.7, kuramoto__graph__seed=1)
    np.testing.assert_array_equal(c.kuramoto.edges, b.kuramoto.edges)


# ------------------------------------------------------------------ overrides
def test_overrides_use_dotted_keys():
    spec = hk_spec()
    model, _ = build_from_spec(spec, **{"kuramoto.coupling": 0.9, "coupling.alpha": 0.05,
                                        "kuramoto.graph.p": 0.0, "hopfield.beta": 2.0})
    assert model.alpha == 0.05 and model.hopfield.beta == 2.0
    np.testing.assert_allclose(model.kuramoto.edge_coupling, 0.9)
    np.testing.assert_array_equal(model.kuramoto.edges, oh.watts_strogatz_edges(24, 4, 0.0, seed=7))
    # numpy scalars (sweep coordinates) are accepted; 2.0 is a valid integer seed
    m2, _ = build_from_spec(spec, **{"kuramoto.coupling": np.float64(0.9), "initial.seed": np.float64(2.0)})
    np.testing.assert_allclose(m2.kuramoto.edge_coupling, 0.9)
    # a string graph becomes a table when a sub-key is overridden
    kur, _ = build_from_spec({"model": {"kind": "kuramoto", "n": 12}, "kuramoto": {"graph": "ring"}},
                             **{"kuramoto.graph.k": 3})
    assert len(kur.edges) == 36
    # overrides never change the spec passed in
    assert spec["kuramoto"]["coupling"] == 0.5


@pytest.mark.parametrize("overrides, match", [
    ({"kuramoto.coupling": "strong"}, r"\[kuramoto\]\.coupling must be a finite number; got 'strong'"),
    ({"kuramoto.coupl": 1.0}, r"\[kuramoto\] has unknown key 'coupl'.*valid keys: dim, graph, coupling"),
    ({"nonsense.key": 1}, r"unknown override 'nonsense.key'"),
    ({"coupling": 1}, r"unknown override 'coupling'"),
    ({"solve.rtol": 1e-3}, r"cannot override 'solve.rtol'"),
    ({"initial.seed": -1}, r"\[initial\]\.seed must be an integer >= 0; got -1"),
    ({"kuramoto.graph.k": 5}, r"\[kuramoto\]\.graph\.k must be an even integer"),
])
def test_bad_overrides_name_the_key(overrides, match):
    with pytest.raises(ValueError, match=match):
        build_from_spec(hk_spec(), **overrides)


def test_build_from_spec_pickles_for_workers():
    spec = load_config(ROOT / "examples" / "kuramoto_sweep.toml")
    func, payload = pickle.loads(pickle.dumps((build_from_spec, spec)))
    model, y0 = func(payload, **{"kuramoto.coupling": 1.25, "initial.seed": 2})
    assert model.strength == 1.25 and y0.shape == (128,)


# ------------------------------------------------------------------ every validation error names its key
K = {"model": {"kind": "kuramoto", "n": 10}}
H = {"model": {"kind": "hopfield", "n": 10}}


def with_(base, **sections):
    out = dict(base)
    out.update(sections)
    return out


BAD = [
    ({}, r"\[model\] section"),
    ({"model": {"n": 3}}, r"\[model\]\.kind is required"),
    ({"model": {"kind": "spin-glass", "n": 3}}, r"\[model\]\.kind must be one of 'hopfield', 'kuramoto'"),
    ({"model": {"kind": "kuramoto"}}, r"\[model\]\.n .*required"),
    ({"model": {"kind": "kuramoto", "n": 1}}, r"\[model\]\.n must be an integer >= 2; got 1"),
    ({"model": {"kind": "kuramoto", "n": 2.5}}, r"\[model\]\.n must be an integer >= 2; got 2\.5"),
    ({"model": {"kind": "kuramoto", "n": True}}, r"\[model\]\.n must be an integer"),
    ({"model": {"kind": "kuramoto", "n": 4, "size": 3}}, r"\[model\] has unknown key 'size'; valid keys: kind, n"),
    (with_(K, extra={}), r"the config has unknown key 'extra'; valid keys: model, hopfield"),
    (with_(K, kuramoto=3), r"\[kuramoto\] must be a table; got 3"),
    (with_(K, hopfield={}), r"\[hopfield\] does not apply to \[model\]\.kind = 'kuramoto'"),
    (with_(K, coupling={}), r"\[coupling\] does not apply"),
    (with_(K, kuramoto={"dim": 1}), r"\[kuramoto\]\.dim must be an integer >= 2; got 1"),
    (with_(K, kuramoto={"dimension": 3}), r"\[kuramoto\] has unknown key 'dimension'.*Did you mean 'dim'"),
    (with_(K, kuramoto={"graph": "small-world"}), r"\[kuramoto\]\.graph\.kind must be one of 'mean-field'"),
    (with_(K, kuramoto={"graph": 4}), r"\[kuramoto\]\.graph must be a graph name"),
    (with_(K, kuramoto={"graph": {"k": 2}}), r"\[kuramoto\]\.graph\.kind is required"),
    (with_(K, kuramoto={"graph": {"kind": "ring", "p": 0.1}}), r"\[kuramoto\]\.graph has unknown key 'p'"),
    (with_(K, kuramoto={"graph": {"kind": "ring", "k": 5}}), r"\[kuramoto\]\.graph\.k must be an integer with 1 <= k"),
    (with_(K, kuramoto={"graph": {"kind": "watts-strogatz", "k": 3}}), r"\[kuramoto\]\.graph\.k must be an even"),
    (with_(K, kuramoto={"graph": {"kind": "watts-strogatz", "p": 1.5}}),
     r"\[kuramoto\]\.graph\.p must be a probability in \[0, 1\]; got 1\.5"),
    (with_(K, kuramoto={"coupling": float("nan")}), r"\[kuramoto\]\.coupling must be a finite number; got nan"),
    (with_(K, kuramoto={"coupling": 1.0, "strength": 2.0}), r"\[kuramoto\] takes one of `coupling` and `strength`"),
    (with_(K, kuramoto={"graph": "complete", "strength": 2.0}), r"\[kuramoto\]\.strength .* 'mean-field' only"),
    (with_(K, kuramoto={"interaction": "cubic"}), r"\[kuramoto\]\.interaction must be one of 'linear'"),
    (with_(K, kuramoto={"interaction": "tanh"}), r"\[kuramoto\]\.interaction must be 'linear' with graph = 'mean"),
    (with_(K, kuramoto={"interaction_weights": 1.0}), r"\[kuramoto\]\.interaction_weights has no effect"),
    (with_(K, kuramoto={"omega": {"spread": 1.0}}), r"\[kuramoto\]\.omega\.kind is required"),
    (with_(K, kuramoto={"omega": {"kind": "natural", "spread": -1}}), r"\[kuramoto\]\.omega\.spread must be"),
    (with_(K, kuramoto={"omega": {"kind": "natural", "rate": 1}}), r"\[kuramoto\]\.omega has unknown key 'rate'"),
    (with_(K, kuramoto={"omega": {"kind": "global"}}), r"\[kuramoto\]\.omega .* exactly one of `rate` and `matrix`"),
    (with_(K, kuramoto={"omega": {"kind": "global", "matrix": [[0, 1], [1, 0]]}}),
     r"\[kuramoto\]\.omega\.matrix must be a \(2, 2\) antisymmetric matrix"),
    (with_(K, kuramoto={"stimulus": {"strength": 1.0, "direction": [1, 0, 0]}}),
     r"\[kuramoto\]\.stimulus\.direction must be a non-zero list of 2 numbers"),
    (with_(H, hopfield={"patterns": {"count": 0}}), r"\[hopfield\]\.patterns\.count must be an integer >= 1; got 0"),
    (with_(H, hopfield={"patterns": {"number": 2}}), r"\[hopfield\]\.patterns has unknown key 'number'"),
    (with_(H, hopfield={"patterns": 3}), r"\[hopfield\]\.patterns must be a table; got 3"),
    (with_(H, hopfield={"rule": "oja"}), r"\[hopfield\]\.rule must be one of 'hebbian'"),
    (with_(H, hopfield={"activation": "step"}), r"\[hopfield\]\.activation must be one of 'tanh'"),
    (with_(H, hopfield={"beta": 0}), r"\[hopfield\]\.beta must be a finite number > 0; got 0"),
    (with_(H, hopfield={"bias": [1, 2]}), r"\[hopfield\]\.bias must be a finite number"),
    (with_(H, hopfield={"dense": "yes"}), r"\[hopfield\]\.dense must be true or false"),
    (with_(H, hopfield={"weights": "w.npy", "patterns": {"count": 2}}), r"\[hopfield\] takes either `patterns` or"),
    (with_(H, hopfield={"weights": "w.npy", "rule": "storkey"}), r"\[hopfield\]\.rule and \[hopfield\]\.dense apply"),
    (with_(H, hopfield={"weights": 3}), r"\[hopfield\]\.weights must be a file name"),
    (with_(H, hopfield={"activation": "sign"}), r"\[solve\]\.method must be 'async' for the binary network"),
    (with_(H, solve={"method": "async", "t_end": 3}), r"\[solve\]\.method must be a continuous-time method"),
    (with_(H, initial={"cue_pattern": 3}), r"\[initial\]\.cue_pattern must be an integer in \[0, 2\]; got 3"),
    (with_(H, initial={"noise": 1.5}), r"\[initial\]\.noise must be a fraction in \[0, 1\]; got 1\.5"),
    (with_(H, initial={"h_scale": -0.1}), r"\[initial\]\.h_scale must be a finite number > 0"),
    (with_(H, initial={"noisy": 0.1}), r"\[initial\] has unknown key 'noisy'.*Did you mean 'noise'"),
    (with_(H, hopfield={"weights": "w.npy"}, initial={"cue_pattern": 0}), r"\[initial\]\.cue_pattern needs stored"),
    (with_(K, initial={"noise": 0.1}), r"\[initial\]\.noise applies to threshold units"),
    (with_(K, solve={"method": "RK99"}), r"\[solve\]\.method must be one of 'Euler'"),
    (with_(K, solve={"t_end": 0.0}), r"\[solve\]\.t_end must be a finite number > \[solve\]\.t_start = 0\.0; got 0\.0"),
    (with_(K, solve={"n_out": 1}), r"\[solve\]\.n_out must be an integer >= 2; got 1"),
    (with_(K, solve={"n_out": 3, "t_eval": [0, 1]}), r"\[solve\] takes either `t_eval` or `n_out`"),
    (with_(K, solve={"t_eval": [0, 20]}),
     r"\[solve\]\.t_eval must be a non-empty increasing list of times in \[0\.0, "),
    (with_(K, solve={"rtol": 0}), r"\[solve\]\.rtol must be a finite number > 0; got 0"),
    (with_(K, solve={"method": "Euler"}), r"\[solve\]\.dt \(the step\) is required for the fixed-step method 'Euler'"),
    (with_(K, solve={"method": "Euler", "dt": 0.1, "rtol": 1e-3}),
     r"\[solve\]\.rtol has no effect for method = 'Euler'"),
    (with_(K, solve={"dt": 0.1}), r"\[solve\]\.dt has no effect for method = 'RK45'"),
    (with_(K, solve={"block": 0}), r"\[solve\]\.block must be an integer >= 1; got 0"),
    (with_(K, solve={"max_steps": -1}), r"\[solve\]\.max_steps must be an integer >= 0"),
    (with_(K, sweep={}), r"\[sweep\] needs exactly one of `grid`"),
    (with_(K, sweep={"grid": {"initial.seed": [1]}, "points": [{"initial.seed": 2}]}),
     r"\[sweep\] needs exactly one of `grid`"),
    (with_(K, sweep={"grid": {}}), r"\[sweep\]\.grid must name at least one parameter"),
    (with_(K, sweep={"grid": {"kuramoto.coupling": 1.0}}),
     r"\[sweep\]\.grid\.kuramoto\.coupling must be a non-empty list"),
    (with_(K, sweep={"grid": {"kuramoto.coupling": [1, 1]}}),
     r"\[sweep\]\.grid\.kuramoto\.coupling must be a list of distinct"),
    (with_(K, sweep={"grid": {"kuramoto.speed": [1]}}), r"\[sweep\]\.grid has unknown parameter 'kuramoto\.speed'"),
    (with_(K, sweep={"grid": {"solve.rtol": [1e-3]}}), r"\[sweep\]\.grid has unknown parameter 'solve\.rtol'"),
    (with_(K, sweep={"grid": {"model.kind": ["hopfield"]}}), r"\[model\]\.kind cannot be swept"),
    (with_(K, sweep={"grid": {"kuramoto.dim": [2, 1]}}),
     r"\[sweep\]\.grid value kuramoto\.dim = 1: \[kuramoto\]\.dim must be an integer >= 2; got 1"),
    (with_(K, sweep={"points": [{"initial.seed": 1}, {"kuramoto.coupling": 2}]}), r"\[sweep\]\.points\[1\] sets"),
    (with_(K, sweep={"points": [{"initial.seed": -1}]}), r"\[sweep\]\.points\[0\]: \[initial\]\.seed must be"),
    (with_(K, sweep={"grid": {"initial.seed": [1]}, "reduce": "mean"}), r"\[sweep\]\.reduce must be one of 'full'"),
    (with_(K, sweep={"grid": {"initial.seed": [1]}, "points_per_task": 0}), r"\[sweep\]\.points_per_task must be an"),
    (with_(K, sweep={"grid": {"initial.seed": [1]}, "store": "x.zarr"}), r"\[sweep\] has unknown key 'store'"),
]


@pytest.mark.parametrize("raw, match", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_every_validation_error_names_its_key(raw, match):
    with pytest.raises(ValueError, match=match):
        validate_spec(raw)


def test_coupling_errors_name_keys():
    for sec, match in [
        ({"mode": "network"}, r"\[coupling\]\.weights \(a_e on every hk edge\) is required"),
        ({"weights": 0.1}, r"\[coupling\]\.weights is used with mode = 'network' only"),
        ({"hk_edges": "some"}, r"\[coupling\]\.hk_edges must be one of 'all', 'graph'"),
        ({"kappa_k": 0.0}, r"\[coupling\]\.kappa_k must be a finite number > 0"),
        ({"alpha": "x"}, r"\[coupling\]\.alpha must be a finite number; got 'x'"),
    ]:
        with pytest.raises(ValueError, match=match):
            validate_spec(hk_spec(coupling=sec))
    with pytest.raises(ValueError, match=r"\[hopfield\]\.activation must be smooth"):
        validate_spec(hk_spec(hopfield={"activation": "sign"}))


def test_load_config_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = write(tmp_path, "[model\nkind = 1\n")
    with pytest.raises(ValueError, match=r"cfg\.toml: invalid TOML"):
        load_config(bad)
    bad = write(tmp_path, '[model]\nkind = "kuramoto"\nn = 10\n[kuramoto]\ndim = 1\n', "k.toml")
    with pytest.raises(ValueError, match=r"k\.toml: \[kuramoto\]\.dim must be an integer >= 2; got 1"):
        load_config(bad)
    with pytest.raises(ValueError, match=r"no \[sweep\] section"):
        sweep_kwargs(load_config(ROOT / "examples" / "hk_memory.toml"))


def test_sweep_kwargs_match_the_sweep_signature():
    import inspect

    spec = load_config(ROOT / "examples" / "kuramoto_sweep.toml")
    kw = sweep_kwargs(spec)
    assert set(kw) <= {"build", "grid", "points", "reduce", "points_per_task", "t_span", "t_eval", "method", "rtol",
                       "atol", "dt", "max_step", "first_step", "steady_state", "max_steps", "seed"}
    assert kw["t_span"] == (0.0, 30.0) and kw["reduce"] == ["energy", "order_parameter"]
    assert kw["grid"] == {"coupling": [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0], "seed": [0, 1, 2]}
    assert "sweep" not in kw["build"].spec
    model, _ = pickle.loads(pickle.dumps(kw["build"]))(coupling=1.5, seed=2)
    assert model.strength == 1.5
    params = inspect.signature(oh.sweep).parameters
    assert {"build", "grid", "points", "store", "t_span", "t_eval", "method", "reduce",
            "points_per_task"} <= set(params)
