"""Declarative model specifications: TOML configs -> validated dicts -> (model, y0).

A config file describes one simulation (``oscihop run``) or a parameter sweep
(``oscihop sweep``)::

    [model]
    kind = "hopfield-kuramoto"      # "hopfield" | "kuramoto" | "hopfield-kuramoto"
    n = 100                         # number of units (threshold units and/or oscillators)

    [hopfield]                      # kinds "hopfield" and "hopfield-kuramoto"
    patterns = { count = 3, seed = 0 }   # random +-1 patterns; or { file = "xi.npy" } (P, n)
    # weights = "W.npy"             # a dense symmetric (n, n) matrix instead of patterns
    rule = "hebbian"                # "hebbian" | "pseudo-inverse" | "storkey" (with patterns)
    activation = "tanh"             # "tanh" | "sigmoid" | "relu" | "softmax" | "sign"
    beta = 4.0                      # gain > 0
    bias = 0.0                      # one scalar bias for every unit
    dense = false                   # materialise the N x N matrix of a low-rank rule

    [kuramoto]                      # kinds "kuramoto" and "hopfield-kuramoto"
    dim = 3                         # D >= 2: oscillators on S^(D-1)
    graph = { kind = "watts-strogatz", k = 10, p = 0.1, seed = 0 }
    #   or "mean-field" | "complete" | { kind = "ring", k = 1 } (a bare string takes defaults)
    coupling = 0.5                  # J per edge; K (J_ij = K/n) for graph = "mean-field"
    # strength = 2.0                # K for graph = "mean-field" (instead of `coupling`)
    interaction = "linear"          # "linear" | "relu" | "tanh" | "sigmoid"
    # interaction_weights = 1.0     # B per edge (nonlinear interactions only)
    # omega = { kind = "natural", spread = 0.1, seed = 0 }   # or { kind = "global", rate = 1.0 }
    # stimulus = { strength = 0.2, seed = 0 }               # or { strength = 0.2, direction = [1, 0, 0] }

    [coupling]                      # kind "hopfield-kuramoto" only
    hk_edges = "all"                # "all" (every pair) | "graph" (the [kuramoto] graph)
    mode = "additive"               # "additive" (a = alpha) | "multiplicative" (a = alpha W_ij) | "network"
    alpha = 0.005
    # weights = 0.01                # a_e, required by mode = "network"
    kappa_h = 1.0
    kappa_k = 1.0

    [initial]
    seed = 1                        # oscillators uniform on the sphere, cue flips
    cue_pattern = 0                 # start from stored pattern 0 ...
    noise = 0.1                     # ... with this fraction of its units flipped
    h_scale = 0.1                   # h0 = h_scale * cue

    [solve]
    method = "Tsit5"
    t_end = 20.0                    # t_start = 0.0 by default
    n_out = 101                     # or t_eval = [0.0, 1.0, ...]
    rtol = 1e-6
    atol = 1e-9
    # dt = 0.01                     # fixed-step methods; steady_state, max_steps, max_step, first_step
    # block = 1000                  # stream the run to zarr in blocks of output times

    [sweep]                         # used by `oscihop sweep`
    grid = { "kuramoto.coupling" = [0.1, 0.5, 1.0], "initial.seed" = [0, 1, 2] }
    # points = [ { "coupling.alpha" = 0.01, "initial.seed" = 3 } ]    # instead of `grid`
    reduce = "final"                # "full" | "final" | "energy" | "order_parameter" | "energy_increase"
                                    # | "dEdt_max" (or a list)
    # points_per_task = 16

Every section except ``[model]`` may be left out (defaults above, except that
``alpha`` defaults to 1.0 and ``beta`` to 1.0, as in the Python API); a section that
does not apply to ``[model].kind`` is an error.  File names are relative to the
config file.  Errors name the TOML key, the rule and the value seen.

Sizes have no fixed upper bound; instead ``oscihop run`` and ``oscihop sweep`` estimate
the memory a config needs before building anything (:func:`memory_estimate`: the output
trajectory, dense weights, patterns, edges...) and refuse one above 8 GiB
(:data:`MAX_MEMORY`; ``--max-memory GIB`` raises it), naming the keys that set the sizes,
so that ``n = 1e9`` is an error rather than a 15 GiB allocation.

Parameters are addressed by dotted keys, ``"section.key"`` (``"kuramoto.coupling"``,
``"coupling.alpha"``, ``"initial.seed"``, ``"kuramoto.graph.p"``; or with ``__`` for
the dots, ``kuramoto__coupling``, where a Python identifier is needed): the same names
override a spec in :func:`build_from_spec`, are swept by ``[sweep]`` and are accepted
by ``oscihop run --set``.  A sweep store names its dimensions after the swept keys'
last parts where that is unambiguous (``coupling``, ``seed``; see :func:`sweep_names`).
"""

from __future__ import annotations

import copy
import difflib
import keyword
import math
import numbers
import os
import tomllib
from pathlib import Path

import numpy as np

from .kernels.params import ACTIVATIONS, INTERACTIONS
from .models.coupled import MODES
from .models.hopfield import RULES
from .sweep.store import _RESERVED as _SWEEP_RESERVED

__all__ = [
    "KINDS",
    "load_config",
    "validate_spec",
    "apply_overrides",
    "build_from_spec",
    "solve_kwargs",
    "sweep_kwargs",
    "sweep_names",
    "build_from_named",
    "memory_estimate",
    "check_memory",
    "MAX_MEMORY",
]

#: The model kinds a spec can describe.
KINDS = ("hopfield", "kuramoto", "hopfield-kuramoto")

_SECTIONS = {
    "model": ("kind", "n"),
    "hopfield": ("patterns", "weights", "rule", "activation", "beta", "bias", "dense"),
    "kuramoto": ("dim", "graph", "coupling", "strength", "interaction", "interaction_weights", "omega", "stimulus"),
    "coupling": ("hk_edges", "mode", "alpha", "weights", "kappa_h", "kappa_k"),
    "initial": ("seed", "cue_pattern", "noise", "h_scale"),
    "solve": ("method", "t_start", "t_end", "n_out", "t_eval", "rtol", "atol", "dt", "max_step", "first_step",
              "steady_state", "max_steps", "seed", "block"),
    "sweep": ("grid", "points", "points_per_task", "reduce"),
}
_USED_BY = {
    "hopfield": ("model", "hopfield", "initial", "solve", "sweep"),
    "kuramoto": ("model", "kuramoto", "initial", "solve", "sweep"),
    "hopfield-kuramoto": ("model", "hopfield", "kuramoto", "coupling", "initial", "solve", "sweep"),
}
#: Sections whose keys describe the model and its initial state (what a sweep may vary).
MODEL_SECTIONS = ("model", "hopfield", "kuramoto", "coupling", "initial")

_GRAPHS = {
    "mean-field": (),
    "complete": (),
    "ring": ("k",),
    "watts-strogatz": ("k", "p", "seed"),
}
_OMEGA_KEYS = {"natural": ("kind", "spread", "mean", "seed", "distribution"), "global": ("kind", "rate", "matrix")}


# --------------------------------------------------------------------------- helpers
def _key(path):
    """``("kuramoto", "graph", "k")`` -> ``"[kuramoto].graph.k"``."""
    head, *rest = path
    return f"[{head}]" + "".join(f".{p}" for p in rest)


def _fail(path, rule, value):
    raise ValueError(f"{_key(path)} must be {rule}; got {value!r}.")


def _check_keys(table, valid, path):
    for name in table:
        if name not in valid:
            where = _key(path) if path else "the config"
            close = difflib.get_close_matches(str(name), valid, n=1)
            close = close or [v for v in valid if str(name).startswith(v) or v.startswith(str(name))][:1]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{where} has unknown key {name!r}; valid keys: {', '.join(valid)}.{hint}")


def _table(value, path):
    if not isinstance(value, dict):
        _fail(path, "a table", value)
    return value


def _int(value, path, lo=None, hi=None):
    ok = isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok and isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        ok = True  # 3.0 from a sweep coordinate
    rule = "an integer" + (f" >= {lo}" if lo is not None and hi is None else "")
    if lo is not None and hi is not None:
        rule = f"an integer in [{lo}, {hi}]"
    if not ok:
        _fail(path, rule, value)
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        _fail(path, rule, value)
    return v


def _float(value, path, rule="a finite number", lo=None, lo_strict=False, hi=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        _fail(path, rule, value)
    v = float(value)
    if not math.isfinite(v):
        _fail(path, rule, value)
    if lo is not None and (v <= lo if lo_strict else v < lo):
        _fail(path, rule, value)
    if hi is not None and v > hi:
        _fail(path, rule, value)
    return v


def _positive(value, path):
    return _float(value, path, "a finite number > 0", lo=0.0, lo_strict=True)


def _choice(value, choices, path):
    if not isinstance(value, str) or value not in choices:
        _fail(path, "one of " + ", ".join(repr(c) for c in choices), value)
    return value


def _bool(value, path):
    if not isinstance(value, (bool, np.bool_)):
        _fail(path, "true or false", value)
    return bool(value)


def _file(value, path, base):
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        _fail(path, "a file name (string)", value)
    p = Path(value)
    if not p.is_absolute() and base is not None:
        p = Path(base) / p
    return str(p)


def _numbers(value, path, rule):
    """A list (nested lists for a matrix) of real numbers as a float array; ``None`` if it is not one.

    Booleans, strings and complex numbers are refused rather than converted (``true`` would
    read as 1.0).
    """
    def ok(v):
        if isinstance(v, (list, tuple)):
            return all(ok(x) for x in v)
        return isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))

    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not ok(value):
        _fail(path, rule, value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):  # ragged nested lists
        _fail(path, rule, value)
    if not np.all(np.isfinite(arr)):
        _fail(path, rule, value)
    return arr


def _flatten(table, prefix=()):
    """Nested tables -> ``{"a.b": leaf}`` (TOML turns ``a.b = 1`` into nested tables)."""
    out = {}
    for name, value in table.items():
        key = prefix + (str(name),)
        if isinstance(value, dict):
            out.update(_flatten(value, key))
        else:
            out[".".join(key)] = value
    return out


def _plain(value):
    """numpy scalars -> Python scalars (so a spec stays TOML/JSON-able)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


# --------------------------------------------------------------------------- sections
def _v_model(sec):
    _check_keys(sec, _SECTIONS["model"], ("model",))
    if "kind" not in sec:
        raise ValueError(f"[model].kind is required: one of {', '.join(repr(k) for k in KINDS)}.")
    kind = _choice(sec["kind"], KINDS, ("model", "kind"))
    if "n" not in sec:
        raise ValueError("[model].n (the number of units) is required: an integer >= 2.")
    return {"kind": kind, "n": _int(sec["n"], ("model", "n"), lo=2)}


def _v_hopfield(sec, n, base):
    sec = _table(sec, ("hopfield",))
    _check_keys(sec, _SECTIONS["hopfield"], ("hopfield",))
    out = {}
    if "weights" in sec and "patterns" in sec:
        raise ValueError("[hopfield] takes either `patterns` or `weights`, not both.")
    if "weights" in sec:
        out["weights"] = _file(sec["weights"], ("hopfield", "weights"), base)
        if "rule" in sec or "dense" in sec:
            raise ValueError("[hopfield].rule and [hopfield].dense apply to `patterns`; remove them with `weights`.")
    else:
        pat = _table(sec.get("patterns", {}), ("hopfield", "patterns"))
        _check_keys(pat, ("count", "seed", "file"), ("hopfield", "patterns"))
        if "file" in pat:
            if "count" in pat or "seed" in pat:
                raise ValueError("[hopfield].patterns takes either `file` or `count`/`seed`, not both.")
            out["patterns"] = {"file": _file(pat["file"], ("hopfield", "patterns", "file"), base)}
        else:
            out["patterns"] = {
                "count": _int(pat.get("count", 3), ("hopfield", "patterns", "count"), lo=1),
                "seed": _int(pat.get("seed", 0), ("hopfield", "patterns", "seed"), lo=0),
            }
        out["rule"] = _choice(sec.get("rule", "hebbian"), RULES, ("hopfield", "rule"))
        out["dense"] = _bool(sec.get("dense", False), ("hopfield", "dense"))
    out["activation"] = _choice(sec.get("activation", "tanh"), ACTIVATIONS, ("hopfield", "activation"))
    out["beta"] = _positive(sec.get("beta", 1.0), ("hopfield", "beta"))
    out["bias"] = _float(sec.get("bias", 0.0), ("hopfield", "bias"), "a finite number (one bias for every unit)")
    return out


def _v_graph(value, n):
    path = ("kuramoto", "graph")
    if isinstance(value, str):
        value = {"kind": value}
    if not isinstance(value, dict):
        _fail(path, "a graph name or a table { kind = ... }", value)
    if "kind" not in value:
        raise ValueError(f"[kuramoto].graph.kind is required: one of {', '.join(repr(g) for g in _GRAPHS)}.")
    kind = _choice(value["kind"], tuple(_GRAPHS), path + ("kind",))
    _check_keys(value, ("kind",) + _GRAPHS[kind], path)
    out = {"kind": kind}
    if kind == "ring":
        k = _int(value.get("k", 1), path + ("k",), lo=1)
        if not (k < n / 2 or (k == 1 and n >= 3)):
            _fail(path + ("k",), f"an integer with 1 <= k < n/2 for a ring of n = {n} units", value.get("k", 1))
        out["k"] = k
    elif kind == "watts-strogatz":
        k = _int(value.get("k", 4), path + ("k",), lo=2)
        if k % 2 or k >= n:
            _fail(path + ("k",), f"an even integer with 2 <= k < n = {n}", value.get("k", 4))
        out["k"] = k
        out["p"] = _float(value.get("p", 0.1), path + ("p",), "a probability in [0, 1]", lo=0.0, hi=1.0)
        out["seed"] = _int(value.get("seed", 0), path + ("seed",), lo=0)
    return out


def _v_omega(value, dim):
    path = ("kuramoto", "omega")
    value = _table(value, path)
    if "kind" not in value:
        raise ValueError("[kuramoto].omega.kind is required: 'natural' (per-unit frequencies) or 'global'.")
    kind = _choice(value["kind"], tuple(_OMEGA_KEYS), path + ("kind",))
    _check_keys(value, _OMEGA_KEYS[kind], path)
    if kind == "natural":
        return {
            "kind": "natural",
            "spread": _float(value.get("spread", 1.0), path + ("spread",), "a finite number >= 0", lo=0.0),
            "mean": _float(value.get("mean", 0.0), path + ("mean",)),
            "seed": _int(value.get("seed", 0), path + ("seed",), lo=0),
            "distribution": _choice(value.get("distribution", "normal"), ("normal", "uniform"),
                                    path + ("distribution",)),
        }
    if ("rate" in value) == ("matrix" in value):
        raise ValueError("[kuramoto].omega with kind = 'global' takes exactly one of `rate` and `matrix`.")
    if "rate" in value:
        return {"kind": "global", "rate": _float(value["rate"], path + ("rate",))}
    rule = f"a ({dim}, {dim}) antisymmetric matrix (list of {dim} rows)"
    m = _numbers(value["matrix"], path + ("matrix",), rule)
    if m.shape != (dim, dim) or np.max(np.abs(m + m.T)) > 1e-12:
        _fail(path + ("matrix",), rule, value["matrix"])
    return {"kind": "global", "matrix": m.tolist()}


def _v_stimulus(value, dim):
    path = ("kuramoto", "stimulus")
    value = _table(value, path)
    _check_keys(value, ("strength", "direction", "seed"), path)
    out = {"strength": _float(value.get("strength", 1.0), path + ("strength",))}
    if "direction" in value:
        if "seed" in value:
            raise ValueError("[kuramoto].stimulus takes `direction` (one field for all units) or `seed` (random "
                             "directions), not both.")
        rule = f"a non-zero list of {dim} numbers"
        d = _numbers(value["direction"], path + ("direction",), rule)
        if d.shape != (dim,) or not np.any(d):
            _fail(path + ("direction",), rule, value["direction"])
        out["direction"] = d.tolist()
    else:
        out["seed"] = _int(value.get("seed", 0), path + ("seed",), lo=0)
    return out


def _v_kuramoto(sec, n):
    sec = _table(sec, ("kuramoto",))
    _check_keys(sec, _SECTIONS["kuramoto"], ("kuramoto",))
    out = {"dim": _int(sec.get("dim", 2), ("kuramoto", "dim"), lo=2)}
    out["graph"] = _v_graph(sec.get("graph", "mean-field"), n)
    out["interaction"] = _choice(sec.get("interaction", "linear"), INTERACTIONS, ("kuramoto", "interaction"))
    mean_field = out["graph"]["kind"] == "mean-field"
    if "strength" in sec:
        if not mean_field:
            raise ValueError("[kuramoto].strength (K, with J_ij = K/n) applies to graph = 'mean-field' only; use "
                             "[kuramoto].coupling (J per edge) with other graphs.")
        if "coupling" in sec:
            raise ValueError("[kuramoto] takes one of `coupling` and `strength` with graph = 'mean-field' "
                             "(both are K); remove one.")
        out["strength"] = _float(sec["strength"], ("kuramoto", "strength"))
    else:
        out["coupling"] = _float(sec.get("coupling", 1.0), ("kuramoto", "coupling"))
    if mean_field and out["interaction"] != "linear":
        _fail(("kuramoto", "interaction"), "'linear' with graph = 'mean-field' (use graph = 'complete' for a "
              "nonlinear all-to-all interaction)", out["interaction"])
    if "interaction_weights" in sec:
        if out["interaction"] == "linear":
            raise ValueError("[kuramoto].interaction_weights has no effect with interaction = 'linear'; remove it.")
        out["interaction_weights"] = _float(sec["interaction_weights"], ("kuramoto", "interaction_weights"))
    if "omega" in sec:
        out["omega"] = _v_omega(sec["omega"], out["dim"])
    if "stimulus" in sec:
        out["stimulus"] = _v_stimulus(sec["stimulus"], out["dim"])
    return out


def _v_coupling(sec):
    sec = _table(sec, ("coupling",))
    _check_keys(sec, _SECTIONS["coupling"], ("coupling",))
    out = {
        "hk_edges": _choice(sec.get("hk_edges", "all"), ("all", "graph"), ("coupling", "hk_edges")),
        "mode": _choice(sec.get("mode", "additive"), MODES, ("coupling", "mode")),
        "alpha": _float(sec.get("alpha", 1.0), ("coupling", "alpha")),
        "kappa_h": _positive(sec.get("kappa_h", 1.0), ("coupling", "kappa_h")),
        "kappa_k": _positive(sec.get("kappa_k", 1.0), ("coupling", "kappa_k")),
    }
    if out["mode"] == "network":
        if "weights" not in sec:
            raise ValueError("[coupling].weights (a_e on every hk edge) is required with mode = 'network'.")
        out["weights"] = _float(sec["weights"], ("coupling", "weights"))
    elif "weights" in sec:
        raise ValueError(f"[coupling].weights is used with mode = 'network' only; got mode = {out['mode']!r}. "
                         "Use [coupling].alpha.")
    return out


def _v_initial(sec, kind, hop):
    sec = _table(sec, ("initial",))
    _check_keys(sec, _SECTIONS["initial"], ("initial",))
    out = {"seed": _int(sec.get("seed", 0), ("initial", "seed"), lo=0)}
    if kind == "kuramoto":
        for name in ("cue_pattern", "noise", "h_scale"):
            if name in sec:
                raise ValueError(f"[initial].{name} applies to threshold units; [model].kind = 'kuramoto' has none.")
        return out
    patterns = hop.get("patterns")
    if patterns is not None:
        count = patterns.get("count")
        hi = None if count is None else count - 1
        out["cue_pattern"] = _int(sec.get("cue_pattern", 0), ("initial", "cue_pattern"), lo=0, hi=hi)
        out["noise"] = _float(sec.get("noise", 0.1), ("initial", "noise"), "a fraction in [0, 1]", lo=0.0, hi=1.0)
    else:
        for name in ("cue_pattern", "noise"):
            if name in sec:
                raise ValueError(f"[initial].{name} needs stored patterns ([hopfield].patterns); the weights come "
                                 "from a file here.")
    out["h_scale"] = _positive(sec.get("h_scale", 0.1), ("initial", "h_scale"))
    return out


def _v_solve(sec):
    from .solvers import METHODS

    sec = _table(sec, ("solve",))
    _check_keys(sec, _SECTIONS["solve"], ("solve",))
    method = _choice(sec.get("method", "RK45"), tuple(METHODS), ("solve", "method"))
    meth = METHODS[method]
    out = {"method": method}
    is_async = meth.kind == "async"
    out["t_start"] = _float(sec.get("t_start", 0.0), ("solve", "t_start"))
    t_end = sec.get("t_end", 10.0)
    out["t_end"] = _float(t_end, ("solve", "t_end"), f"a finite number > [solve].t_start = {out['t_start']}",
                          lo=out["t_start"], lo_strict=True)
    if is_async:
        if out["t_start"] != 0:
            _fail(("solve", "t_start"), "0 with method = 'async' (time counts sweeps)", sec["t_start"])
        out["t_end"] = float(_int(t_end, ("solve", "t_end"), lo=1))
    if "t_eval" in sec and "n_out" in sec:
        raise ValueError("[solve] takes either `t_eval` or `n_out`, not both.")
    if "t_eval" in sec:
        te = sec["t_eval"]
        rule = f"a non-empty increasing list of times in [{out['t_start']}, {out['t_end']}]"
        arr = _numbers(te, ("solve", "t_eval"), rule)
        if (arr.ndim != 1 or arr.size == 0 or np.any(np.diff(arr) <= 0)
                or arr[0] < out["t_start"] or arr[-1] > out["t_end"]):
            _fail(("solve", "t_eval"), rule, te)
        if is_async and np.any(arr != np.round(arr)):
            _fail(("solve", "t_eval"), "whole sweeps (integers) with method = 'async'", te)
        out["t_eval"] = arr.tolist()
    elif is_async:
        if "n_out" in sec:
            raise ValueError("[solve].n_out does not apply to method = 'async'; give t_eval (whole sweeps) or "
                             "leave both out (every sweep is kept).")
    else:
        out["n_out"] = _int(sec.get("n_out", 101), ("solve", "n_out"), lo=2)
    option_rules = {
        "rtol": lambda v, p: _positive(v, p),
        "atol": lambda v, p: _float(v, p, "a finite number >= 0", lo=0.0),
        "dt": lambda v, p: _positive(v, p),
        "max_step": lambda v, p: _positive(v, p),
        "first_step": lambda v, p: _positive(v, p),
        "seed": lambda v, p: _int(v, p, lo=0),
    }
    for name, check in option_rules.items():
        if name in sec:
            if name not in meth.options:
                takes = ", ".join(o for o in meth.options if o != "gamma") or "none"
                raise ValueError(f"[solve].{name} has no effect for method = {method!r} (it takes: {takes}); "
                                 "remove it.")
            out[name] = check(sec[name], ("solve", name))
    if meth.kind == "fixed" and "dt" not in out:
        raise ValueError(f"[solve].dt (the step) is required for the fixed-step method {method!r}; e.g. dt = 0.01.")
    if "steady_state" in sec:
        if is_async:
            raise ValueError("[solve].steady_state has no effect for method = 'async' (it stops at a fixed point).")
        out["steady_state"] = _positive(sec["steady_state"], ("solve", "steady_state"))
    if "max_steps" in sec:
        out["max_steps"] = _int(sec["max_steps"], ("solve", "max_steps"), lo=0)
    if "block" in sec:
        if is_async:
            raise ValueError("[solve].block (streaming to zarr) does not apply to method = 'async'; remove it.")
        out["block"] = _int(sec["block"], ("solve", "block"), lo=1)
    return out


def _check_param_name(name, where):
    parts = name.split(".")
    if len(parts) < 2 or parts[0] not in MODEL_SECTIONS or parts[1] not in _SECTIONS[parts[0]] or not all(parts):
        keys = ", ".join(f"{s}.{k}" for s in MODEL_SECTIONS for k in _SECTIONS[s] if (s, k) != ("model", "kind"))
        raise ValueError(f"{where} has unknown parameter {name!r}: parameters are dotted keys 'section.key' of the "
                         f"model sections; valid: {keys} (and sub-keys such as kuramoto.graph.p).")
    if parts[:2] == ["model", "kind"]:
        raise ValueError(f"{where}: [model].kind cannot be swept (it changes which sections apply).")


def _v_sweep(sec, spec, deep):
    sec = _table(sec, ("sweep",))
    _check_keys(sec, _SECTIONS["sweep"], ("sweep",))
    out = {}
    if "grid" in sec:
        grid = _flatten(_table(sec["grid"], ("sweep", "grid")))
        if not grid:
            raise ValueError("[sweep].grid must name at least one parameter, e.g. \"kuramoto.coupling\" = [0.1, 1.0].")
        clean = {}
        for name, values in grid.items():
            name = name.replace("__", ".")
            _check_param_name(name, "[sweep].grid")
            if not isinstance(values, (list, tuple, np.ndarray)) or len(values) == 0:
                _fail(("sweep", "grid", name), "a non-empty list of values", values)
            values = [_plain(v) for v in values]
            if len(set(map(repr, values))) != len(values):
                _fail(("sweep", "grid", name), "a list of distinct values", values)
            clean[name] = values
        out["grid"] = clean
    if "points" in sec:
        pts = sec["points"]
        if not isinstance(pts, (list, tuple)) or not pts or not all(isinstance(p, dict) for p in pts):
            _fail(("sweep", "points"), "a non-empty list of tables {\"section.key\" = value}", pts)
        clean_pts = []
        names = None
        for i, p in enumerate(pts):
            flat = {k.replace("__", "."): _plain(v) for k, v in _flatten(p).items()}
            for name in flat:
                _check_param_name(name, f"[sweep].points[{i}]")
            if names is None:
                names = set(flat)
            elif set(flat) != names:
                raise ValueError(f"[sweep].points[{i}] sets {sorted(flat)}; every point must set the same "
                                 f"parameters ({sorted(names)}).")
            clean_pts.append(flat)
        out["points"] = clean_pts
    if ("grid" in out) == ("points" in out):
        raise ValueError("[sweep] needs exactly one of `grid` (a table of parameter lists, swept as a cartesian "
                         "product) and `points` (a list of tables, one per point).")
    if "points_per_task" in sec:
        out["points_per_task"] = _int(sec["points_per_task"], ("sweep", "points_per_task"), lo=1)
    from .sweep import REDUCTIONS  # the one list of reductions (imported here: spec stays light)

    red = sec.get("reduce", "full")
    if isinstance(red, (list, tuple)):
        if not red:
            _fail(("sweep", "reduce"), "a reduction name or a non-empty list of them", red)
        out["reduce"] = [_choice(r, REDUCTIONS, ("sweep", "reduce")) for r in red]
    else:
        out["reduce"] = _choice(red, REDUCTIONS, ("sweep", "reduce"))
    if deep:
        # every value must make a valid model spec on its own
        model_only = {k: v for k, v in spec.items() if k != "sweep"}
        for name, values in out.get("grid", {}).items():
            for v in values:
                try:
                    _validate(apply_overrides(model_only, {name: v}, validate=False), deep=False)
                except ValueError as exc:
                    raise ValueError(f"[sweep].grid value {name} = {v!r}: {exc}") from None
        for i, p in enumerate(out.get("points", [])):
            try:
                _validate(apply_overrides(model_only, p, validate=False), deep=False)
            except ValueError as exc:
                raise ValueError(f"[sweep].points[{i}]: {exc}") from None
    return out


def _validate(raw, base=None, deep=True):
    if not isinstance(raw, dict):
        raise ValueError(f"a spec must be a dict of TOML sections; got {type(raw).__name__}.")
    _check_keys(raw, tuple(_SECTIONS), ())
    for name, sec in raw.items():
        _table(sec, (name,))
    if "model" not in raw:
        raise ValueError("the config needs a [model] section with `kind` and `n`.")
    model = _v_model(raw["model"])
    kind, n = model["kind"], model["n"]
    for name in raw:
        if name not in _USED_BY[kind]:
            raise ValueError(f"[{name}] does not apply to [model].kind = {kind!r}; remove it (or change the kind).")
    spec = {"model": model}
    if "hopfield" in _USED_BY[kind]:
        spec["hopfield"] = _v_hopfield(raw.get("hopfield", {}), n, base)
    if "kuramoto" in _USED_BY[kind]:
        spec["kuramoto"] = _v_kuramoto(raw.get("kuramoto", {}), n)
    if kind == "hopfield-kuramoto":
        spec["coupling"] = _v_coupling(raw.get("coupling", {}))
        if spec["hopfield"]["activation"] == "sign":
            _fail(("hopfield", "activation"), "smooth (not 'sign') in the coupled model", "sign")
    spec["initial"] = _v_initial(raw.get("initial", {}), kind, spec.get("hopfield", {}))
    spec["solve"] = _v_solve(raw.get("solve", {}))
    act = spec.get("hopfield", {}).get("activation")
    if (act == "sign") != (spec["solve"]["method"] == "async"):
        if act == "sign":
            _fail(("solve", "method"), "'async' for the binary network ([hopfield].activation = 'sign')",
                  spec["solve"]["method"])
        if spec["solve"]["method"] == "async":
            _fail(("solve", "method"), "a continuous-time method unless [hopfield].activation = 'sign'", "async")
    if "sweep" in raw:
        spec["sweep"] = _v_sweep(raw["sweep"], spec, deep)
    return spec


# --------------------------------------------------------------------------- public
def validate_spec(spec, base_dir=None):
    """Validate a spec dict and fill in the defaults.

    Parameters
    ----------
    spec : dict
        Sections as in a TOML config (see the module docstring).
    base_dir : str or Path, optional
        Directory that relative file names are resolved against (default: as given,
        i.e. the current directory).

    Returns
    -------
    dict
        A new, normalized spec: every section that applies to ``[model].kind`` with
        its defaults, numbers as Python ``int``/``float``, graph/omega as tables, file
        names resolved.  Validating it again returns an equal dict.

    Raises
    ------
    ValueError
        Naming the TOML key, the rule and the value seen.

    Examples
    --------
    >>> spec = validate_spec({"model": {"kind": "kuramoto", "n": 10}})
    >>> spec["kuramoto"]["graph"], spec["solve"]["method"]
    ({'kind': 'mean-field'}, 'RK45')
    >>> validate_spec({"model": {"kind": "kuramoto", "n": 10}, "kuramoto": {"dim": 1}})
    Traceback (most recent call last):
    ...
    ValueError: [kuramoto].dim must be an integer >= 2; got 1.
    """
    return _validate(copy.deepcopy(spec), base_dir, deep=True)


def load_config(path):
    """Read and validate a TOML config file.

    Parameters
    ----------
    path : str or Path
        The ``.toml`` file.  File names inside it are relative to its directory.

    Returns
    -------
    dict
        The validated, normalized spec (see :func:`validate_spec`).

    Raises
    ------
    ValueError
        For a missing or unreadable file, a directory, invalid TOML, or an invalid
        setting (the message names the file and the key).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be the file name of a TOML config (str or Path); got {type(path).__name__}.")
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"config file {str(p)!r} is a directory, not a TOML file; give the .toml file inside it.")
    if not p.is_file():
        raise ValueError(f"config file {str(p)!r} does not exist.")
    try:
        with p.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"config file {str(p)!r} is not a UTF-8 text file, so not a TOML config ({exc}).") from None
    except OSError as exc:
        raise ValueError(f"cannot read config file {str(p)!r}: {exc}") from None
    try:
        return validate_spec(raw, base_dir=p.resolve().parent)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def apply_overrides(spec, overrides, validate=True):
    """Return a copy of ``spec`` with dotted-key overrides applied.

    Parameters
    ----------
    spec : dict
    overrides : dict
        ``{"section.key": value}`` or deeper (``"kuramoto.graph.p"``, ``"kuramoto.omega.spread"``);
        ``"section__key"`` is the same key.
        A missing intermediate table is created; a string where a table is needed
        (``graph = "ring"``) is expanded to ``{kind = "ring"}`` first.
    validate : bool, default True
        Validate the result (see :func:`validate_spec`).

    Returns
    -------
    dict

    Examples
    --------
    >>> base = {"model": {"kind": "kuramoto", "n": 10}, "kuramoto": {"coupling": 1.0}}
    >>> apply_overrides(base, {"kuramoto.coupling": 2.5})["kuramoto"]["coupling"]
    2.5
    """
    out = copy.deepcopy(spec)
    for name, value in overrides.items():
        if not isinstance(name, str):
            raise ValueError(f"override keys must be dotted strings such as 'kuramoto.coupling'; got {name!r}.")
        parts = name.replace("__", ".").split(".")
        if len(parts) < 2 or not all(parts) or parts[0] not in _SECTIONS:
            raise ValueError(f"unknown override {name!r}: use 'section.key' with a section among "
                             f"{', '.join(_SECTIONS)}.")
        if parts[1] not in _SECTIONS[parts[0]]:
            _check_keys({parts[1]: None}, _SECTIONS[parts[0]], (parts[0],))
        node = out
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif isinstance(child, str) and i >= 1:
                child = node[part] = {"kind": child}
            elif not isinstance(child, dict):
                raise ValueError(f"override {name!r}: {_key(parts[: i + 1])} is {child!r}, not a table.")
            node = child
        node[parts[-1]] = _plain(value)
    return validate_spec(out) if validate else out


def _rng(*seed):
    return np.random.default_rng(list(seed))


def _load_array(path, key):
    try:
        if path.endswith(".npy"):
            return np.load(path, allow_pickle=False)
        return np.loadtxt(path, delimiter="," if path.endswith(".csv") else None, ndmin=2)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{key}: cannot read {path!r}: {exc}") from None


def _wrap(section, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ValueError as exc:
        raise ValueError(f"[{section}]: {exc}") from None


def _build_hopfield(hs, n):
    from .models import Hopfield

    if "weights" in hs:
        w = _load_array(hs["weights"], "[hopfield].weights")
        if w.shape != (n, n):
            raise ValueError(f"[hopfield].weights must hold an ({n}, {n}) matrix ([model].n = {n}); "
                             f"{hs['weights']!r} has shape {w.shape}.")
        return _wrap("hopfield", Hopfield, w, bias=hs["bias"], activation=hs["activation"], beta=hs["beta"])
    pat = hs["patterns"]
    if "file" in pat:
        xi = _load_array(pat["file"], "[hopfield].patterns.file")
        if xi.ndim == 1:
            xi = xi[None]
        if xi.ndim != 2 or xi.shape[1] != n:
            raise ValueError(f"[hopfield].patterns.file must hold a (P, {n}) array of +-1 ([model].n = {n}); "
                             f"{pat['file']!r} has shape {xi.shape}.")
    else:
        xi = np.where(_rng(pat["seed"]).random((pat["count"], n)) < 0.5, -1.0, 1.0)
    return _wrap("hopfield", Hopfield.from_patterns, xi, rule=hs["rule"], activation=hs["activation"],
                 beta=hs["beta"], bias=hs["bias"], dense=hs["dense"])


def _graph_edges(graph, n):
    from .graph import complete_edges, ring_edges, watts_strogatz_edges

    kind = graph["kind"]
    if kind == "watts-strogatz":
        return watts_strogatz_edges(n, graph["k"], graph["p"], seed=graph["seed"])
    if kind == "ring":
        return ring_edges(n, graph["k"])
    if kind == "complete":
        return complete_edges(n)
    return None


def _omega(om, n, dim):
    if om["kind"] == "global":
        if "matrix" in om:
            return np.asarray(om["matrix"], dtype=float)
        m = np.zeros((dim, dim))
        m[1, 0], m[0, 1] = om["rate"], -om["rate"]
        return m
    rng = _rng(om["seed"])
    if dim == 2:
        if om["distribution"] == "normal":
            return om["mean"] + om["spread"] * rng.standard_normal(n)
        return om["mean"] + om["spread"] * rng.uniform(-1.0, 1.0, n)
    # per-unit antisymmetric generators whose entries have the same law as the D = 2 frequencies
    if om["distribution"] == "normal":
        g = rng.standard_normal((n, dim, dim))
        a = om["spread"] * (g - np.swapaxes(g, 1, 2)) / np.sqrt(2.0)
    else:
        u = np.triu(rng.uniform(-1.0, 1.0, (n, dim, dim)), k=1)
        a = om["spread"] * (u - np.swapaxes(u, 1, 2))
    a[:, 1, 0] += om["mean"]
    a[:, 0, 1] -= om["mean"]
    return a


def _stimulus(st, n, dim):
    if "direction" in st:
        d = np.asarray(st["direction"], dtype=float)
        return np.tile(st["strength"] * d / np.linalg.norm(d), (n, 1))
    v = _rng(st["seed"]).standard_normal((n, dim))
    return st["strength"] * v / np.linalg.norm(v, axis=1, keepdims=True)


def _build_kuramoto(ks, n):
    from .models import Kuramoto

    dim = ks["dim"]
    kw = dict(interaction=ks["interaction"], n=n)
    if "omega" in ks:
        kw["omega"] = _omega(ks["omega"], n, dim)
    if "stimulus" in ks:
        kw["stimulus"] = _stimulus(ks["stimulus"], n, dim)
    if "interaction_weights" in ks:
        kw["interaction_weights"] = ks["interaction_weights"]
    edges = _graph_edges(ks["graph"], n)
    if edges is None:
        k = ks.get("strength", ks.get("coupling"))
        return _wrap("kuramoto", Kuramoto, dim, coupling="mean-field", strength=k, **kw), None
    return _wrap("kuramoto", Kuramoto, dim, edges=edges, coupling=ks["coupling"], **kw), edges


def build_from_spec(spec, **overrides):
    """Build the model and initial state a spec describes.

    A module-level function, so that it pickles: sweeps call
    ``oscihop.spec.build_from_spec(spec, **params)`` in worker processes.

    Parameters
    ----------
    spec : dict, str or Path
        A spec dict (validated here; the output of :func:`load_config` or a raw
        dict of sections) or the path of a TOML config.
    **overrides
        Dotted keys of the model sections and their values, e.g.
        ``build_from_spec(spec, **{"kuramoto.coupling": 2.0, "initial.seed": 3})``; the
        same keys with ``__`` for the dots are Python identifiers
        (``build_from_spec(spec, kuramoto__coupling=2.0)``), which is the form
        :func:`oscihop.sweep` needs for parameter names.
        ``[solve]`` and ``[sweep]`` cannot be overridden here (they do not change the
        model); use :func:`apply_overrides`.

    Returns
    -------
    model : Hopfield, Kuramoto or HopfieldKuramoto
    y0 : ndarray, shape (model.size,)
        Initial state: threshold units ``h_scale * cue`` where ``cue`` is stored
        pattern ``cue_pattern`` with a fraction ``noise`` of its units flipped (or
        ``h_scale`` times a standard normal vector without stored patterns; +-1 spins
        for the binary network), oscillators uniform on the sphere.  Every random draw
        comes from the seeds in the spec, so equal specs give equal models and states.

    Notes
    -----
    Random streams: patterns from ``[hopfield].patterns.seed``, the Watts-Strogatz
    graph from ``[kuramoto].graph.seed``, natural frequencies from
    ``[kuramoto].omega.seed``, the cue flips and the oscillators from
    ``[initial].seed`` (two independent streams).

    Examples
    --------
    >>> spec = {"model": {"kind": "kuramoto", "n": 20}, "kuramoto": {"dim": 3, "coupling": 2.0}}
    >>> model, y0 = build_from_spec(spec, **{"kuramoto.coupling": 4.0})
    >>> model.strength, y0.shape
    (4.0, (60,))
    """
    if isinstance(spec, (str, os.PathLike)):
        spec = load_config(spec)
    if not isinstance(spec, dict):
        raise ValueError(f"`spec` must be a spec dict or the path of a TOML config; got {type(spec).__name__}.")
    for name in overrides:
        if str(name).replace("__", ".").split(".")[0] in ("solve", "sweep"):
            raise ValueError(f"cannot override {name!r} in build_from_spec: [solve] and [sweep] do not change the "
                             "model or its initial state (sweep over model, hopfield, kuramoto, coupling or initial "
                             "keys).")
    raw = {k: v for k, v in spec.items() if k != "sweep"}
    spec = _validate(apply_overrides(raw, overrides, validate=False), deep=False)
    model, hop = _build_model(spec)
    return model, _initial_state(spec, model, hop, spec["model"]["n"])


def _build_model(spec):
    """``(model, hop)`` of a validated spec: the model and its Hopfield part (or None)."""
    from .models import HopfieldKuramoto

    kind, n = spec["model"]["kind"], spec["model"]["n"]
    hop = kur = edges = None
    if "hopfield" in spec:
        hop = _build_hopfield(spec["hopfield"], n)
    if "kuramoto" in spec:
        kur, edges = _build_kuramoto(spec["kuramoto"], n)
    if kind == "hopfield-kuramoto":
        cs = spec["coupling"]
        hk_edges = "all" if cs["hk_edges"] == "all" or edges is None else edges
        model = _wrap("coupling", HopfieldKuramoto, hop, kur, hk_edges, weights=cs.get("weights"), alpha=cs["alpha"],
                      mode=cs["mode"], kappa_h=cs["kappa_h"], kappa_k=cs["kappa_k"])
    else:
        model = hop if kind == "hopfield" else kur
    return model, hop


def _start_with(spec, model, hop, raw_initial, overrides):
    """The initial state :func:`build_from_spec` gives for ``spec`` (validated and built into
    ``model`` and ``hop``) with the ``[initial]`` overrides ``overrides`` applied to its raw
    section ``raw_initial``: only that section is validated again (the start does not change
    the model)."""
    if overrides:
        sec = apply_overrides({"initial": raw_initial}, overrides, validate=False)["initial"]
        spec = {**spec, "initial": _v_initial(sec, spec["model"]["kind"], spec.get("hopfield", {}))}
    return _initial_state(spec, model, hop, spec["model"]["n"])


def _initial_state(spec, model, hop, n):
    ini = spec["initial"]
    h = x = None
    if hop is not None:
        rng = _rng(ini["seed"], 0)
        binary = hop.activation == "sign"
        if hop.patterns is not None:
            k = ini["cue_pattern"]
            if k >= hop.patterns.shape[0]:
                _fail(("initial", "cue_pattern"), f"an index < {hop.patterns.shape[0]} (the stored patterns)", k)
            cue = hop.patterns[k].copy()
            flip = rng.choice(n, int(ini["noise"] * n), replace=False)
            cue[flip] *= -1
            h = cue if binary else ini["h_scale"] * cue
        elif binary:
            h = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        else:
            h = ini["h_scale"] * rng.standard_normal(n)
    if spec["model"]["kind"] != "hopfield":
        dim = spec["kuramoto"]["dim"]
        x = _rng(ini["seed"], 1).standard_normal((n, dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
    return model.pack(h=h, x=x)


def solve_kwargs(spec):
    """Arguments for :func:`oscihop.solve` (and :func:`oscihop.sweep`) from ``[solve]``.

    Parameters
    ----------
    spec : dict
        A validated spec.

    Returns
    -------
    dict
        ``t_span``, ``t_eval`` (an array, or None for every async sweep), ``method``
        and the options the config sets (``rtol``, ``atol``, ``dt``, ...); ``block``
        is not included (it is an output setting of ``oscihop run``).

    Examples
    --------
    >>> spec = validate_spec({"model": {"kind": "hopfield", "n": 8}, "solve": {"t_end": 2.0, "n_out": 3}})
    >>> kw = solve_kwargs(spec)
    >>> kw["t_span"], kw["t_eval"].tolist(), kw["method"]
    ((0.0, 2.0), [0.0, 1.0, 2.0], 'RK45')
    """
    s = spec["solve"]
    t0, t1 = s["t_start"], s["t_end"]
    if "t_eval" in s:
        t_eval = np.asarray(s["t_eval"], dtype=float)
    elif "n_out" in s:
        t_eval = np.linspace(t0, t1, s["n_out"])
    else:
        t_eval = None
    kw = {"t_span": (t0, t1), "t_eval": t_eval, "method": s["method"]}
    for name in ("rtol", "atol", "dt", "max_step", "first_step", "steady_state", "max_steps", "seed"):
        if name in s:
            kw[name] = s[name]
    return kw


#: Default limit of :func:`check_memory` in bytes (8 GiB); ``oscihop run`` and ``oscihop sweep``
#: take ``--max-memory GIB`` to change it.
MAX_MEMORY = 8 * 2**30

_FLOAT = 8  # bytes of a float64 (an int64 index too)


def _n_outputs(s):
    """Output times one solve keeps, and the keys that set it."""
    if "t_eval" in s:
        count, keys = len(s["t_eval"]), "[solve].t_eval"
    elif "n_out" in s:
        count, keys = s["n_out"], "[solve].n_out"
    else:  # async without t_eval: every sweep is kept
        count, keys = int(s["t_end"]) + 1, "[solve].t_end"
    if "block" in s and s["block"] < count:
        count, keys = s["block"], "[solve].block"
    return count, keys


def _n_edges(graph, n):
    kind = graph["kind"]
    if kind == "complete":
        return n * (n - 1) // 2
    if kind == "ring":
        return n * graph["k"]
    if kind == "watts-strogatz":
        return n * graph["k"] // 2
    return 0


def memory_estimate(spec):
    """Bytes the largest arrays of building and solving a spec take, before anything is allocated.

    An estimate from below of the memory ``oscihop run`` needs (one point of a sweep
    for ``oscihop sweep``): the output trajectory (held twice: the solution and the
    dataset written to zarr), the solver's working states, dense Hopfield weights
    (``rule = "storkey"``, ``dense = true`` or a weights file), stored patterns,
    graph edges with their sparse (CSR) copies, per-unit frequencies and stimuli.

    Parameters
    ----------
    spec : dict
        A validated spec (see :func:`validate_spec`).

    Returns
    -------
    list of (str, int, str)
        ``(what, bytes, keys)``, largest first; ``keys`` names the config keys that set
        the size (what to lower).

    Examples
    --------
    >>> spec = validate_spec({"model": {"kind": "kuramoto", "n": 1000}, "kuramoto": {"dim": 3},
    ...                       "solve": {"n_out": 101}})
    >>> what, nbytes, keys = memory_estimate(spec)[0]
    >>> what, nbytes, keys
    ('output trajectory', 4848000, '[model].n, [kuramoto].dim, [solve].n_out')
    """
    kind, n = spec["model"]["kind"], spec["model"]["n"]
    hs, ks = spec.get("hopfield"), spec.get("kuramoto")
    size = (n if hs is not None else 0) + (n * ks["dim"] if ks is not None else 0)
    size_keys = "[model].n" + (", [kuramoto].dim" if ks is not None else "")
    count, count_keys = _n_outputs(spec["solve"])
    items = [("output trajectory", 2 * _FLOAT * count * size, f"{size_keys}, {count_keys}"),
             ("solver states (stages and work arrays)", 16 * _FLOAT * size, size_keys)]
    if hs is not None:
        if "weights" in hs or hs.get("rule") == "storkey" or hs.get("dense"):
            items.append(("dense Hopfield weights (n x n)", 2 * _FLOAT * n * n, "[model].n"))
        pat = hs.get("patterns", {})
        if "count" in pat:
            items.append(("stored patterns", 3 * _FLOAT * pat["count"] * n, "[hopfield].patterns.count, [model].n"))
        elif "file" in pat:
            try:
                nbytes = os.path.getsize(pat["file"])
            except OSError:
                nbytes = 0  # reported when it is read
            items.append(("stored patterns", 3 * nbytes, "[hopfield].patterns.file"))
    if ks is not None:
        edges = _n_edges(ks["graph"], n)
        if edges:
            # (E, 2) int64 edges, per-edge couplings, and the symmetric CSR copy (indices and values)
            items.append(("graph edges", (3 + 4) * _FLOAT * edges, "[model].n, [kuramoto].graph"))
        om = ks.get("omega")
        if om is not None and om["kind"] == "natural":
            per_unit = 1 if ks["dim"] == 2 else ks["dim"] ** 2
            items.append(("natural frequencies", 2 * _FLOAT * n * per_unit, "[model].n, [kuramoto].dim"))
        if "stimulus" in ks:
            items.append(("stimulus", _FLOAT * n * ks["dim"], "[model].n, [kuramoto].dim"))
    if kind == "hopfield-kuramoto":
        cs = spec["coupling"]
        if cs["hk_edges"] == "all" and cs["mode"] != "additive":
            items.append(("hk edges (every pair)", 7 * _FLOAT * (n * (n - 1) // 2),
                          "[model].n, [coupling].mode, [coupling].hk_edges"))
    return sorted(items, key=lambda item: -item[1])


def _gib(nbytes):
    return f"{nbytes / 2**30:.3g} GiB"


def check_memory(spec, limit=MAX_MEMORY, how="raise the limit"):
    """Refuse a spec whose arrays would not fit in ``limit`` bytes, before allocating any.

    Parameters
    ----------
    spec : dict
        A validated spec.  With a ``[sweep]`` section each swept value is checked too
        (one value at a time, as one point of the sweep).
    limit : int, default MAX_MEMORY (8 GiB)
    how : str
        How the caller raises the limit, for the message (``"pass --max-memory 16"``).

    Returns
    -------
    int
        The estimate in bytes (the largest over the swept values).

    Raises
    ------
    ValueError
        Naming the estimate, the arrays that take the most and the config keys that
        set their sizes.

    Examples
    --------
    >>> spec = validate_spec({"model": {"kind": "kuramoto", "n": 10**9}})
    >>> check_memory(spec, how="pass --max-memory GIB")
    Traceback (most recent call last):
    ...
    ValueError: the config needs about ... GiB, more than the limit of 8 GiB: output trajectory ... GiB (set by [model].n, [kuramoto].dim, [solve].n_out); ... pass --max-memory GIB if the machine has the memory.
    """
    if isinstance(limit, bool) or not isinstance(limit, (numbers.Real, np.integer, np.floating)) or not limit > 0:
        raise ValueError(f"`limit` must be a number of bytes > 0; got {limit!r}.")
    variants = [("", spec)]
    sw = spec.get("sweep", {})
    base = {k: v for k, v in spec.items() if k != "sweep"}
    for name, values in sw.get("grid", {}).items():
        variants += [(f" (at the swept value {name} = {v!r})", apply_overrides(base, {name: v})) for v in values]
    for i, point in enumerate(sw.get("points", [])):
        variants.append((f" (at [sweep].points[{i}])", apply_overrides(base, point)))
    worst = 0
    for where, variant in variants:
        items = memory_estimate(variant)
        total = sum(b for _, b, _ in items)
        worst = max(worst, total)
        if total > limit:
            top = "; ".join(f"{what} {_gib(b)} (set by {keys})" for what, b, keys in items[:3] if b)
            raise ValueError(
                f"the config needs about {_gib(total)}{where}, more than the limit of {_gib(limit)}: {top}. "
                f"Lower those sizes, or {how} if the machine has the memory."
            )
    return worst


#: Names a sweep parameter may not take (variables and dimensions of sweep and trajectory datasets).
_RESERVED_NAMES = _SWEEP_RESERVED | {"batch", "neuron", "component", "pattern", "h", "x", "overlap"}


def sweep_names(keys):
    """Dimension names of swept config keys: Python identifiers, short where unambiguous.

    A key is named by its last part (``"kuramoto.coupling"`` -> ``"coupling"``,
    ``"initial.seed"`` -> ``"seed"``) unless another swept key ends the same way or the
    part is reserved (a variable or dimension name of sweep stores); then by the whole
    key with ``__`` for the dots (``"kuramoto__graph__seed"``).

    Parameters
    ----------
    keys : iterable of str
        Dotted config keys.

    Returns
    -------
    dict
        ``{dotted key: name}``.

    Examples
    --------
    >>> sweep_names(["kuramoto.coupling", "initial.seed", "kuramoto.graph.seed"])
    {'kuramoto.coupling': 'coupling', 'initial.seed': 'initial__seed', 'kuramoto.graph.seed': 'kuramoto__graph__seed'}
    """
    keys = list(keys)
    last = [k.split(".")[-1] for k in keys]
    out = {}
    for key, short in zip(keys, last):
        unique = last.count(short) == 1 and short.isidentifier() and not keyword.iskeyword(short)
        out[key] = short if unique and short not in _RESERVED_NAMES else key.replace(".", "__")
    return out


def build_from_named(spec, names, **params):
    """:func:`build_from_spec` for sweep parameters named by :func:`sweep_names`.

    Parameters
    ----------
    spec : dict
    names : dict
        ``{name: dotted key}`` (the inverse of :func:`sweep_names`).
    **params
        ``{name: value}``; names not in ``names`` are passed on as they are.

    Returns
    -------
    model, y0
        As :func:`build_from_spec`.
    """
    return build_from_spec(spec, **{names.get(k, k): v for k, v in params.items()})


def sweep_kwargs(spec):
    """Arguments for :func:`oscihop.sweep` from ``[sweep]`` and ``[solve]``.

    Parameters
    ----------
    spec : dict
        A validated spec with a ``[sweep]`` section.

    Returns
    -------
    dict
        ``build`` (a picklable build that gives :func:`build_from_named` of the spec,
        without its ``[sweep]`` section, and the parameter names; a sweep task builds each
        distinct model once and each point's start from its ``[initial]`` keys), ``grid`` or
        ``points`` with parameters named by :func:`sweep_names`, ``reduce``,
        ``points_per_task`` (when set) and :func:`solve_kwargs`; run it as
        ``oh.sweep(store=..., **kwargs)``.  The store's dimensions are the short names
        (``coupling``, ``seed``); its definition records the dotted keys they stand for.

    Examples
    --------
    >>> spec = validate_spec({"model": {"kind": "kuramoto", "n": 8}, "sweep": {"grid": {
    ...     "kuramoto.coupling": [0.5, 1.0], "initial.seed": [0, 1]}}})
    >>> kw = sweep_kwargs(spec)
    >>> kw["grid"], kw["build"].names
    ({'coupling': [0.5, 1.0], 'seed': [0, 1]}, {'coupling': 'kuramoto.coupling', 'seed': 'initial.seed'})
    """
    if "sweep" not in spec:
        raise ValueError("the config has no [sweep] section: add one with `grid` or `points`.")
    sw = spec["sweep"]
    keys = list(sw["grid"]) if "grid" in sw else list(sw["points"][0])
    names = sweep_names(keys)
    inverse = {v: k for k, v in names.items()}
    base = {k: copy.deepcopy(v) for k, v in spec.items() if k != "sweep"}
    from .sweep.definition import _SpecBuild

    kw = {"build": _SpecBuild(base, inverse)}
    if "grid" in sw:
        kw["grid"] = {names[k]: list(v) for k, v in sw["grid"].items()}
    else:
        kw["points"] = [{names[k]: v for k, v in p.items()} for p in sw["points"]]
    if "points_per_task" in sw:
        kw["points_per_task"] = sw["points_per_task"]
    kw["reduce"] = copy.deepcopy(sw["reduce"])
    kw.update(solve_kwargs(spec))
    return kw
