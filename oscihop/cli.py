"""The ``oscihop`` command line.

::

    oscihop demo [--out DIR]                      # the memory demo; writes a zarr store and PNGs
    oscihop run CONFIG.toml [--out STORE]         # one simulation -> a trajectory store
    oscihop sweep CONFIG.toml --store STORE [--scheduler ADDRESS] [--no-progress]
    oscihop info STORE                            # what a trajectory or sweep store holds
    oscihop plot STORE [--out DIR]                # PNGs of what a store holds
    oscihop verify CONFIG.toml|STORE [--method M] [--dt DT] [--rtol R] [--atol A] [--seed S]
                   [--max-evals N] [--time-limit SECONDS] [--set KEY=VALUE] [--json]
                                                  # does the model's energy ever increase? (oh.verify)

Bad arguments, configs and stores end with a one-line message on stderr and exit
status 2 (no traceback); a solve that fails (``oscihop run``) writes its store and exits
with status 1 and the solver's message.  ``verify`` exits with 0 when no energy increase
beyond the tolerance is found and 1 with a counter-example (the report is printed either way).  Configs are described in :mod:`oscihop.spec`;
``run`` and ``sweep`` refuse a config whose arrays would need more than ``--max-memory``
GiB (default 8) before building anything.  Stores are verified when read (every chunk
present, every CRC32C checksum right): ``info`` and ``plot`` refuse a damaged store, naming
the array and the chunk.  ``run --out`` and ``sweep --store`` never delete a directory
oscihop did not write, even with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

from .solvers import METHODS

__all__ = ["main", "build_parser", "CLIError"]


class CLIError(Exception):
    """An error the user can fix: printed as one line, exit status 2."""


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0.0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"must lie in [0, 0.5]; got {text}")
    return value


def _path(text):
    """A file or directory name; an empty one would silently mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must be a non-empty path")
    return text


def _number(rule, low, strict=True, unit=""):
    """An argparse type: a finite float ``> low`` (``>= low`` unless ``strict``)."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not math.isfinite(value) or (value <= low if strict else value < low):
            raise argparse.ArgumentTypeError(f"must be {rule}; got {text!r}")
        return value
    return parse


_memory_gib = _number("a number of GiB > 0", 0.0)
_positive_float = _number("a finite number > 0", 0.0)
_nonnegative_float = _number("a finite number >= 0", 0.0, strict=False)


def _nonnegative_int(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return value


def _override(text):
    """``KEY=VALUE`` with VALUE read as a TOML value (a bare word is a string)."""
    import tomllib

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"must look like section.key=value (e.g. kuramoto.coupling=0.5); got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key.strip(), parsed


def build_parser():
    """The argument parser of the ``oscihop`` command (sub-commands demo, run, sweep, info, plot, verify)."""
    parser = argparse.ArgumentParser(prog="oscihop",
                                     description="Hopfield, Kuramoto and Hopfield-Kuramoto simulations.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the Hopfield-Kuramoto memory-editing demo on local defaults",
                          description="Oscillators edit which memory frozen Hopfield weights recall: a cue the "
                                      "Hopfield network alone completes to memory A is completed to memory B once "
                                      "oscillators locked to B's signs are coupled in. Prints both runs side by side "
                                      "and writes the coupled run as a zarr store and PNG figures.")
    demo.add_argument("--n", type=_positive_int, default=200, help="number of units (default 200)")
    demo.add_argument("--patterns", type=_positive_int, default=5, help="stored patterns, >= 2 (default 5)")
    demo.add_argument("--dim", type=_positive_int, default=3, help="oscillator dimension D >= 2 (default 3)")
    demo.add_argument("--blend", type=_fraction, default=0.3,
                      help="fraction of the cue's units taken from memory B, the rest from A (default 0.3)")
    demo.add_argument("--noise", type=_fraction, default=0.0,
                      help="fraction of the cue's units then flipped at random (default 0)")
    demo.add_argument("--alpha", type=float, default=2.0,
                      help="HK coupling a = alpha/N per pair: how much the oscillators deepen B (default 2)")
    demo.add_argument("--method", choices=[m for m in METHODS if METHODS[m].kind == "adaptive"], default="Tsit5")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--out", default="oscihop-demo", metavar="DIR",
                      help="directory for the zarr store and figures (default ./oscihop-demo)")

    run = sub.add_parser("run", help="integrate the model a TOML config describes; write a trajectory store",
                         description="Build the model and initial state of CONFIG, solve as [solve] says and "
                                     "write the trajectory (and the model) to a zarr store.")
    run.add_argument("config", metavar="CONFIG.toml", type=_path)
    run.add_argument("--out", metavar="STORE", type=_path, help="zarr store to write (default ./<config name>.zarr)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace STORE if it is an oscihop trajectory store (other directories are never deleted)")
    run.add_argument("--max-memory", type=_memory_gib, metavar="GIB",
                     help="refuse configs whose arrays need more than GIB GiB (default 8)")
    run.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set kuramoto.coupling=0.5 (repeatable)")

    sweep = sub.add_parser("sweep", help="run the parameter sweep of a TOML config into one zarr store",
                           description="Run every point of CONFIG's [sweep] (a grid or a list of points) into STORE. "
                                       "Interrupted sweeps resume: run the same command again.")
    sweep.add_argument("config", metavar="CONFIG.toml", type=_path)
    sweep.add_argument("--store", required=True, metavar="STORE", type=_path,
                       help="zarr store of the sweep (created or resumed)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="dask.distributed scheduler address (default: all local cores)")
    sweep.add_argument("--no-progress", action="store_true", help="no progress bar")
    sweep.add_argument("--overwrite", action="store_true",
                       help="discard an existing sweep STORE and start again (other directories are never deleted)")
    sweep.add_argument("--max-memory", type=_memory_gib, metavar="GIB",
                       help="refuse configs whose arrays (per point) need more than GIB GiB (default 8)")
    sweep.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value for every point (repeatable)")

    info = sub.add_parser("info", help="describe a trajectory or sweep store")
    info.add_argument("store", metavar="STORE", type=_path)

    plot = sub.add_parser("plot", help="write PNG figures of a trajectory or sweep store")
    plot.add_argument("store", metavar="STORE", type=_path)
    plot.add_argument("--out", metavar="DIR", type=_path,
                      help="directory for the PNGs (default: <STORE without .zarr>-plots)")

    verify = sub.add_parser(
        "verify", help="check numerically that a model's energy never increases (oh.verify)",
        description="Search for states and steps where the energy of the model in CONFIG.toml (checked with its "
                    "[solve] method, step and tolerances) or in a trajectory STORE (with the method it was solved "
                    "with) increases. Prints the report; exit status 0: no increase beyond the tolerance found, "
                    "1: a counter-example (printed), 2: bad input.")
    verify.add_argument("target", metavar="CONFIG.toml|STORE", type=_path,
                        help="a TOML config, or a trajectory store (oscihop run, sol.to_zarr)")
    verify.add_argument("--method", choices=[m for m, meta in METHODS.items() if meta.kind != "async"],
                        help="integration method to check (default: the config's or store's)")
    verify.add_argument("--dt", type=_positive_float, help="step of a fixed-step method (Euler, AKOrN, RK4, Geometric)")
    verify.add_argument("--rtol", type=_positive_float, help="relative tolerance (default: the config's or 1e-6)")
    verify.add_argument("--atol", type=_nonnegative_float, help="absolute tolerance (default: the config's or 1e-9)")
    verify.add_argument("--seed", type=_nonnegative_int, default=0, help="seed of the search (default 0)")
    verify.add_argument("--max-evals", type=_positive_int, default=5000, metavar="N",
                        help="budget of state evaluations (default 5000)")
    verify.add_argument("--time-limit", type=_positive_float, metavar="SECONDS",
                        help="stop the search after this many seconds (compilation excluded)")
    verify.add_argument("--set", dest="overrides", type=_override, action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set kuramoto.coupling=0.5 (configs only; repeatable)")
    verify.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    return parser


# ----------------------------------------------------------------------------- helpers
def _load_spec(path, overrides, max_memory=None):
    """The validated config with its ``--set`` overrides, refused if it needs more memory than allowed."""
    from .spec import MAX_MEMORY, apply_overrides, check_memory, load_config

    spec = load_config(path)
    if overrides:
        spec = apply_overrides(spec, dict(overrides))
    limit = MAX_MEMORY if max_memory is None else max_memory * 2**30
    check_memory(spec, limit, how=f"pass --max-memory GIB (now {limit / 2**30:.3g})")
    return spec


def _store_kind(path):
    """``"trajectory"`` or ``"sweep"`` from the root marker of an oscihop store."""
    import zarr

    p = Path(path)
    if not p.exists():
        raise CLIError(f"store {str(path)!r} does not exist.")
    try:
        attrs = zarr.open_group(str(p), mode="r").attrs.asdict()
    except Exception as exc:  # zarr raises many types for missing or malformed metadata
        raise CLIError(f"{str(path)!r} is not a readable zarr store ({type(exc).__name__}: {exc}).") from None
    if "oscihop_sweep" in attrs:
        return "sweep"
    if attrs.get("oscihop_store") == "trajectory":
        return "trajectory"
    if attrs.get("oscihop_store") == "training":
        raise CLIError(f"{str(path)!r} is an oscihop training store (oh.train's checkpoints): it holds the trained "
                       "parameters, not the model they belong to (its kind, graph, activation), so no model can be "
                       "rebuilt from it. Write a trajectory of the trained model, e.g. "
                       "oh.solve(result.model, (0, 1), y0).to_zarr('trained.zarr'), and pass that store.")
    if attrs.get("oscihop_store") == "network":
        raise CLIError(f"{str(path)!r} is an oscihop network store (AKOrNNetwork.save): a layered network, not a "
                       "trajectory or a sweep. Read it in Python with oh.load_network(path).")
    raise CLIError(f"{str(path)!r} is a zarr store but not an oscihop trajectory or sweep store "
                   "(its root has neither the oscihop_store nor the oscihop_sweep attribute).")


def _open_store(path):
    """Open a trajectory or sweep store: (kind, Dataset, notes)."""
    import oscihop as oh

    kind = _store_kind(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = oh.open_sweep(str(path)) if kind == "sweep" else oh.open_trajectory(str(path))
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return kind, ds, notes


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _values_text(values, limit=8):
    vals = [v.item() if hasattr(v, "item") else v for v in values]
    text = ", ".join(_fmt(v) for v in vals[:limit])
    return text + (f", ... ({len(vals)} values)" if len(vals) > limit else "")


def _print_dataset(ds, skip_attrs=()):
    dims = ", ".join(f"{d}={n}" for d, n in ds.sizes.items())
    print(f"  dimensions: {dims}")
    print("  variables:")
    for name, var in ds.data_vars.items():
        long_name = var.attrs.get("long_name", "")
        print(f"    {name:<18} ({', '.join(map(str, var.dims))}) {var.dtype}  {long_name}".rstrip())


def _json_attr(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _completion(ds):
    """(done, total) points of a sweep, from the completion record open_sweep puts in its attributes."""
    attrs = ds.attrs
    done = total = None
    if isinstance(attrs.get("n_done"), int):
        done = attrs["n_done"]
    if isinstance(attrs.get("n_points"), int):
        total = attrs["n_points"]
    return done, total


def _sweep_params(ds):
    from .plots import sweep_parameters

    return sweep_parameters(ds)


# ----------------------------------------------------------------------------- commands
def _cmd_demo(args):
    from .demo import run_demo

    if args.dim < 2:
        raise CLIError("--dim must be >= 2")
    res = run_demo(n=args.n, patterns=args.patterns, dim=args.dim, blend=args.blend, noise=args.noise,
                   alpha=args.alpha, method=args.method, seed=args.seed, out_dir=args.out)
    return 0 if res["energy_monotone"] else 1


def _summarize_trajectory(ds, model=None):
    import numpy as np

    t = np.asarray(ds["time"].values)
    print(f"  {t.size} outputs, t in [{t[0]:.6g}, {t[-1]:.6g}]")
    if "energy" in ds:
        e = np.asarray(ds["energy"].values, dtype=float).reshape(-1, t.size)
        rise = float(np.nanmax(np.diff(e, axis=-1), initial=-np.inf)) if t.size > 1 else float("nan")
        lyap = "" if model is None else f" (model.is_lyapunov = {model.is_lyapunov})"
        print(f"  energy: {e[0, 0]:.6g} -> {e[0, -1]:.6g}; largest increase between outputs {rise:.3g}{lyap}")
    if "order_parameter" in ds:
        r = np.asarray(ds["order_parameter"].values, dtype=float).reshape(-1, t.size)
        print(f"  order parameter R: {r[0, 0]:.4f} -> {r[0, -1]:.4f}")
    if "overlap" in ds:
        m = np.asarray(ds["overlap"].transpose(..., "time", "pattern").values, dtype=float)
        m = m.reshape(-1, t.size, m.shape[-1])[0]
        k = int(np.argmax(np.abs(m[-1])))
        print(f"  overlaps at the end: {_values_text([round(float(v), 4) for v in m[-1]])} "
              f"(largest: pattern {k}, {m[-1, k]:+.4f})")


def _cmd_run(args):
    import numpy as np

    import oscihop as oh

    from .io.stores import check_writable
    from .spec import build_from_spec, solve_kwargs

    spec = _load_spec(args.config, args.overrides, args.max_memory)
    out = Path(args.out) if args.out else Path(Path(args.config).stem + ".zarr")
    # before solving: a refused --out costs no computation, and nothing oscihop did not write is deleted
    check_writable(str(out), "trajectory", overwrite=args.overwrite, name="--out", flag="--overwrite")
    model, y0 = build_from_spec(spec)
    kw = solve_kwargs(spec)
    mode = "w" if args.overwrite else "w-"
    block = spec["solve"].get("block")
    print(f"oscihop run: {args.config}")
    print(f"  model: {model!r}")
    streamed = f", streamed in blocks of {block}" if block else ""
    print(f"  solve: method {kw['method']}, t_span {kw['t_span']}{streamed}")
    start = time.perf_counter()
    if block:
        kw = dict(kw)
        ds = oh.solve_to_zarr(model, kw.pop("t_span"), y0, str(out), kw.pop("t_eval"), block=block, mode=mode, **kw)
        message, nfev, success = ds.attrs.get("message"), ds.attrs.get("nfev"), ds.attrs.get("success")
    else:
        sol = oh.solve(model, y0=y0, **kw)
        sol.to_zarr(str(out), mode=mode)
        message, nfev, success = sol.message, sol.nfev, sol.success
        ds = oh.open_trajectory(str(out))
    seconds = time.perf_counter() - start
    _record_config(out, spec)
    print(f"  {message}")
    print(f"  {nfev} right-hand side evaluations in {seconds:.2f} s (compilation and writing included)")
    _summarize_trajectory(ds, model)
    print(f"  wrote trajectory store: {out}")
    if not bool(np.all(success)):
        text = " ".join(str(message).split())
        print(f"oscihop run: error: the solve failed: {text} (the outputs up to the failure are in {str(out)!r}; "
              "see its 'status' and 'message' attributes).", file=sys.stderr)
        return 1
    return 0


def _record_config(store, spec):
    """Keep the validated config in the store's root attributes (``oscihop_config``, JSON)."""
    import zarr

    group = zarr.open_group(str(store), mode="r+")
    group.attrs["oscihop_config"] = json.dumps(spec)


def _sweep_keys(kw):
    """``{dimension name: dotted config key}`` of a sweep built by :func:`oscihop.spec.sweep_kwargs`."""
    return dict(kw["build"].names)


def _cmd_sweep(args):
    import oscihop as oh

    from .spec import sweep_kwargs

    spec = _load_spec(args.config, args.overrides, args.max_memory)
    kw = sweep_kwargs(spec)
    keys = _sweep_keys(kw)
    grid, points = kw.get("grid"), kw.get("points")
    if grid:
        total = 1
        for values in grid.values():
            total *= len(values)
    else:
        total = len(points)
    where = args.scheduler or "all local cores"
    print(f"oscihop sweep: {args.config} -> {args.store}")
    if grid:
        for name, values in grid.items():
            print(f"  {name} ({keys.get(name, name)}): {_values_text(values)}")
    else:
        print(f"  {len(points)} explicit points over " + ", ".join(f"{n} ({keys.get(n, n)})" for n in points[0]))
    print(f"  {total} points, reduce={kw['reduce']}, method {kw['method']}, on {where}")
    start = time.perf_counter()
    try:
        ds = oh.sweep(store=args.store, scheduler=args.scheduler, progress=False if args.no_progress else None,
                      overwrite=args.overwrite, **kw)
    except KeyboardInterrupt:
        print(f"oscihop sweep: interrupted; run the same command again to finish {args.store} "
              "(finished points are kept).", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError) as exc:
        # the store holds another sweep or is locked by a running one, or a point failed to build/solve
        raise CLIError(str(exc).replace("pass overwrite=True", "pass --overwrite")
                       .replace("even with overwrite=True", "even with --overwrite")) from None
    seconds = time.perf_counter() - start
    run = ds.attrs.get("sweep_run", {})
    computed = run.get("computed")
    done, total = _completion(ds)
    rate = f", {computed / max(seconds, 1e-9):.1f} points/s" if computed else ""
    print(f"  {computed if computed is not None else '?'} points computed in this run in {seconds:.2f} s{rate}; "
          f"{done} of {total} points done")
    _print_dataset(ds)
    print(f"  wrote sweep store: {args.store}")
    if run.get("failed"):
        # like `oscihop run` on a failed solve: the store is written, the exit status says it is not whole
        print(f"oscihop sweep: {run['failed']} point(s) failed; see the 'outcome' and 'message' variables, "
              "and run the same sweep again to retry them", file=sys.stderr)
        return 1
    return 0


def _cmd_info(args):
    kind, ds, notes = _open_store(args.store)
    attrs = ds.attrs
    fmt = attrs.get("oscihop_format_version") or attrs.get("oscihop_sweep", {}).get("format", "?")
    print(f"{args.store}: oscihop {kind} store (format {fmt})")
    for note in notes:
        print(f"  note: {note}")
    model = attrs.get("model") or attrs.get("model_kind")
    if model:
        params = _json_attr(attrs.get("model_params", {}))
        scalars = {}
        if isinstance(params, dict):
            scalars = {k: v for k, v in params.items() if isinstance(v, (int, float, str, bool)) or v is None}
        extra = ", ".join(f"{k}={_fmt(v)}" for k, v in list(scalars.items())[:12])
        print(f"  model: {model}" + (f" ({extra})" if extra else ""))
    if kind == "trajectory":
        opts = [f"{k}={_fmt(attrs[k])}" for k in ("rtol", "atol", "dt") if k in attrs]
        print(f"  method: {attrs.get('method', '?')}" + (f" ({', '.join(opts)})" if opts else ""))
        print(f"  status: {attrs.get('status', '?')} ({attrs.get('message', '')}), "
              f"success={attrs.get('success', '?')}, nfev={attrs.get('nfev', '?')}")
        if "oscihop_complete" in attrs and not attrs["oscihop_complete"]:
            print("  INCOMPLETE: the run that streamed this store stopped early")
    else:
        meta = attrs.get("oscihop_sweep", {})
        definition = meta.get("definition", {})
        build = definition.get("build", {})
        args_ = build.get("args") or []
        keys = args_[1] if len(args_) > 1 and isinstance(args_[1], dict) else {}
        if meta.get("model"):
            m = meta["model"]
            print(f"  model: {m.get('kind')} (n={m.get('n')}, dim={m.get('dim')}, state size {m.get('size')})")
        if "spec" in build or keys:
            print("  built from a config spec" + (f" ({build['callable']})" if "callable" in build else ""))
        elif "callable" in build:
            print(f"  built by {build['callable']}")
        names = definition.get("params") or [p for p in _sweep_params(ds) if p != "point"]
        values = definition.get("values", {})
        for name in names:
            vals = values.get(name, ds[name].values if name in ds.coords else [])
            label = f"{name} ({keys[name]})" if name in keys else name
            print(f"  parameter {label}: {_values_text(list(vals))}")
        if definition:
            opts = definition.get("solve_options") or {}
            extra = ", ".join(f"{k}={_fmt(v)}" for k, v in opts.items())
            print(f"  method: {definition.get('method')}, t_span {tuple(definition.get('t_span', ()))}"
                  + (f" ({extra})" if extra else "") + f", reduce {definition.get('reduce')}")
        done, total = _completion(ds)
        if done is not None:
            state = "complete" if done >= total else "resume with the same oscihop sweep command"
            print(f"  completion: {done} of {total} points done ({state})")
        failed = int(ds.attrs.get("n_failed", 0) or 0)
        if failed:
            print(f"  WARNING: {failed} point(s) failed (see the 'outcome' and 'message' variables); "
                  "run the same sweep again to retry them")
        attrs = {**attrs, **{k: meta[k] for k in ("oscihop_version", "numba_version", "created") if k in meta}}
    versions = [f"{k}={attrs[k]}" for k in ("oscihop_version", "numba_version", "created") if k in attrs]
    if versions:
        print("  " + ", ".join(versions))
    _print_dataset(ds)
    if kind == "trajectory":
        _print_integrity(args.store)
    if kind == "trajectory" and "time" in ds.dims:
        _summarize_trajectory(ds)
    return 0


def _print_integrity(path):
    """One verdict per array of a trajectory store that open_trajectory has just verified."""
    import zarr

    from .io.integrity import array_summary

    rows = array_summary(zarr.open_group(str(path), mode="r"))
    checked = sum(1 for _, _, crc in rows if crc)
    if checked == len(rows):
        print(f"  integrity: all {len(rows)} arrays whole (every chunk present, every CRC32C checksum verified)")
    else:
        print(f"  integrity: {checked} of {len(rows)} arrays verified; the others were written without checksums "
              "(an older oscihop) and cannot be verified")
    width = max((len(name) for name, _, _ in rows), default=0)
    for name, chunks, crc in rows:
        verdict = "ok" if crc else "not verifiable (no checksums)"
        print(f"    {name:<{width}}  {chunks:>5} chunk{'s' if chunks != 1 else ' '}  {verdict}")


def _raised_by_zarr(exc):
    """Whether ``exc`` came from inside zarr or its codecs (reading a store), not from oscihop's own code."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__", "").split(".")[0] in ("zarr", "numcodecs"):
            return True
        tb = tb.tb_next
    return False


def _cmd_plot(args):
    from .plots import save_figures

    kind, ds, notes = _open_store(args.store)
    store = Path(args.store)
    out = Path(args.out) if args.out else store.with_name(store.name.removesuffix(".zarr") + "-plots")
    for note in notes:
        print(f"note: {note}")
    try:
        files = save_figures(ds, out)
    except Exception as exc:
        # plotting reads every variable: a chunk zarr cannot decode (truncated, altered) surfaces here
        if not _raised_by_zarr(exc):
            raise
        raise CLIError(f"cannot read store {str(args.store)!r} while plotting ({type(exc).__name__}: {exc}); "
                       "it is damaged: check it with `oscihop info`, then write it again or restore it.") from None
    print(f"oscihop plot: {args.store} ({kind}) -> {len(files)} figures in {out}")
    for f in files:
        print(f"  {f}")
    return 0


def _cmd_verify(args):
    from .verification import verify_config, verify_store

    target = Path(args.target)
    kwargs = {"seed": args.seed, "max_evals": args.max_evals, "time_limit": args.time_limit}
    for name in ("method", "dt", "rtol", "atol"):
        if getattr(args, name) is not None:
            kwargs[name] = getattr(args, name)
    if args.method is not None and METHODS[args.method].kind != "fixed" and args.dt is None:
        kwargs["dt"] = None  # a config's or store's fixed step does not apply to the adaptive method asked for
    if target.is_file():
        report = verify_config(_load_spec(target, args.overrides), **kwargs)
    elif not target.exists():
        raise CLIError(f"{args.target!r} does not exist; pass a TOML config or a trajectory store.")
    else:
        kind = _store_kind(target)
        if kind == "sweep":
            raise CLIError(f"{args.target!r} is a sweep store; oscihop verify checks one model: pass the sweep's "
                           "config (with --set for one point), or map the check over the sweep with "
                           "reduce = [\"energy_increase\", \"dEdt_max\"] in its [sweep] section.")
        if args.overrides:
            raise CLIError("--set applies to configs; a store's model is verified as it was saved.")
        with warnings.catch_warnings(record=True) as caught:  # e.g. an older store without checksums
            warnings.simplefilter("always")
            report = verify_store(str(target), **kwargs)
        for w in caught:
            if issubclass(w.category, UserWarning):
                print(f"oscihop verify: note: {w.message}", file=sys.stderr)
    print(report.to_json(indent=2) if args.json else report)
    return report.exit_code


_COMMANDS = {"demo": _cmd_demo, "run": _cmd_run, "sweep": _cmd_sweep, "info": _cmd_info, "plot": _cmd_plot,
             "verify": _cmd_verify}


def main(argv=None):
    """Run the ``oscihop`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success; 1 when the demo's energy check fails, the solve of ``run``
        fails (its store is written), points of ``sweep`` fail, or ``verify`` finds an
        energy increase (a counter-example); 2 for a bad argument, config or store, a damaged
        store included (a one-line message on stderr).
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage and what is wrong (or --help)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except (CLIError, ValueError, FileExistsError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        message = " ".join(str(exc).split())
        print(f"oscihop {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
