"""What fixes the numbers of a sweep: its parameters, times, method, reductions and options.

:class:`_Definition` validates the arguments of :func:`oscihop.sweep` and hashes them into the
fingerprint a store records, so that a resumed sweep is known to be the same sweep.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .._validation import check_choice, resolve_dtype
from ..solvers import METHODS
from ..solvers.times import check_t_eval, check_t_span
from .store import _CHECKS, _FORMAT, _RESERVED

__all__ = ["REDUCTIONS", "DEFAULT_N_TIMES"]

#: Reductions ``sweep`` can keep per point.
REDUCTIONS = ("full", "final", "energy", "order_parameter", "energy_increase", "dEdt_max")
#: Output times used when a time curve is kept and ``t_eval`` is not given.
DEFAULT_N_TIMES = 11
_CURVES = ("full", "energy", "order_parameter")
#: Solve options that choose where a solve runs, not what it computes (kept out of the fingerprint).
_BACKEND_OPTIONS = ("backend", "layout", "threads_per_block")


def _json_value(value, name):
    """``value`` as plain JSON types (for the fingerprint), or a ValueError naming ``name``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return repr(v)
        return v
    if isinstance(value, np.ndarray):
        return [_json_value(v, name) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _json_value(v, f"{name}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v, name) for v in value]
    raise ValueError(
        f"`{name}` must be made of numbers, strings, booleans, lists and dicts so that the sweep "
        f"definition can be recorded in the store; got {type(value).__name__} {value!r}."
    )


def _check_name(name, where):
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{where}: parameter names must be Python identifiers (they are passed as build(**params)); "
                         f"got {name!r}.")
    if name in _RESERVED:
        raise ValueError(f"{where}: parameter name {name!r} is reserved for a variable of the sweep store "
                         f"(reserved: {sorted(_RESERVED)}); rename the parameter.")


def _param_values(name, values, where):
    """Validate the values of one parameter: a non-empty 1-D array without duplicates."""
    if np.ma.isMaskedArray(values):
        raise ValueError(f"{where}: the values of {name!r} must be a plain list or array; got a masked array, whose "
                         "mask would be ignored. Pass only the values to sweep over.")
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: the values of {name!r} must form a 1-D array; {exc}") from None
    if arr.ndim == 0:
        raise ValueError(f"{where}: the values of {name!r} must be a 1-D list; got the scalar {values!r}. "
                         f"Write {name}=[{values!r}] for a single value.")
    if arr.ndim != 1:
        raise ValueError(f"{where}: the values of {name!r} must be 1-D; got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{where}: parameter {name!r} has no values; give at least one.")
    if arr.dtype.kind == "b":
        arr = arr.astype(bool)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "f":
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}: the values of {name!r} must be finite; got {arr[~np.isfinite(arr)][0]!r}.")
    elif arr.dtype.kind == "U":
        arr = arr.astype(str)
    else:
        raise ValueError(f"{where}: the values of {name!r} must be numbers, booleans or strings of one kind; "
                         f"got dtype {arr.dtype} from {list(values)[:4]!r}.")
    return arr


def _unique_check(name, arr, where):
    uniq, counts = np.unique(arr, return_counts=True)
    if uniq.size != arr.size:
        raise ValueError(f"{where}: parameter {name!r} repeats the value {uniq[counts > 1][0].item()!r}; "
                         "each value must appear once.")


def _time_grid(t_eval, t0, t1):
    """``t_eval`` by :func:`oscihop.solvers.times.check_t_eval`, the rule every entry point shares."""
    return check_t_eval(t_eval, t0, t1)


def _check_t_span(t_span):
    """``(t0, t1)`` by :func:`oscihop.solvers.times.check_t_span`; ``t_span`` is required, as in oh.solve."""
    if t_span is None:
        raise ValueError("`t_span` is required: the interval (t0, t1) every point is integrated over, "
                         "as in oh.solve; e.g. t_span=(0, 10).")
    return check_t_span(t_span)


def _build_identity(build):
    if isinstance(build, _ModelBuild):
        return build.identity()
    if isinstance(build, _SpecBuild):
        return build.identity()
    func = getattr(build, "func", None)  # functools.partial
    if func is not None and hasattr(build, "args"):
        ident = {"callable": f"{getattr(func, '__module__', '?')}:{getattr(func, '__qualname__', '?')}"}
        try:
            ident["args"] = _json_value(list(build.args), "build")
            ident["keywords"] = _json_value(dict(build.keywords), "build")
        except ValueError:
            pass
        return ident
    qual = getattr(build, "__qualname__", None) or type(build).__qualname__
    return {"callable": f"{getattr(build, '__module__', None) or type(build).__module__}:{qual}"}


class _SpecBuild:
    """Picklable ``build`` for a declarative spec: ``oscihop.spec.build_from_spec(spec, **params)``,
    with sweep names mapped to dotted config keys by ``names`` (``{name: key}``, as
    :func:`oscihop.spec.build_from_named`; the ``oscihop sweep`` command's build).

    :meth:`members` builds a task's points together: the model once per distinct set of model
    keys (everything but ``initial.*``), and each point's start from its ``[initial]`` keys
    alone, so that a point that changes only the start or a float parameter does not rebuild
    and re-validate the whole spec.  The points of one structure are solved as one stack.
    """

    def __init__(self, spec, names=None):
        self.spec = dict(spec)
        self.names = dict(names or {})

    def _keys(self, params):
        return {self.names.get(k, k): v for k, v in params.items()}

    def __call__(self, **params):
        from ..spec import build_from_spec

        return build_from_spec(self.spec, **self._keys(params))

    def identity(self):
        """What fixes the points' numbers: the spec (and the names' keys)."""
        if not self.names:
            return {"spec": _json_value(self.spec, "build")}
        # the form of the `oscihop sweep` build before this class (a partial of build_from_named)
        return {"callable": "oscihop.spec:build_from_named",
                "args": _json_value([self.spec, self.names], "build"), "keywords": {}}

    def members(self, names, columns):
        """``(failures, groups)`` of the points whose values of ``names`` are ``columns``, as
        :meth:`_ModelBuild.members`, with one group per model structure (a swept graph gives
        several).  A point is what ``build(**point)`` gives, bit for bit."""
        from ..models.stack import ModelStack, structure_key
        from ..spec import _build_model, _start_with, _validate, apply_overrides
        from .runner import _build_error

        raw = {k: v for k, v in self.spec.items() if k != "sweep"}
        keys = [self.names.get(name, name) for name in names]
        starts = [i for i, key in enumerate(keys) if key.replace("__", ".").split(".")[0] == "initial"]
        fixed = [i for i in range(len(keys)) if i not in starts]
        lists = [np.asarray(c).tolist() for c in columns]
        n = len(lists[0]) if lists else 0
        rows = {}  # distinct values of the model keys -> (model, hop, spec, raw initial) or the error
        failures, by_structure = {}, {}
        for k in range(n):
            row = tuple(lists[i][k] for i in fixed)
            built = rows.get(row)
            if built is None:
                over = {keys[i]: v for i, v in zip(fixed, row)}
                try:
                    row_raw = apply_overrides(raw, over, validate=False)
                    raw_initial = row_raw.pop("initial", {}) if starts else row_raw.get("initial", {})
                    spec = _validate(row_raw, deep=False)
                    model, hop = _build_model(spec)
                    built = (model, hop, spec, raw_initial, structure_key(model), {})
                except Exception as exc:  # noqa: BLE001 - this row's points fail, as build() would
                    built = _build_error(exc)
                rows[row] = built
            if isinstance(built, str):
                failures[k] = built
                continue
            model, hop, spec, raw_initial, key, states = built
            try:
                start = tuple(lists[i][k] for i in starts)
                y0 = states.get(start)
                if y0 is None:
                    y0 = _start_with(spec, model, hop, raw_initial, {keys[i]: v for i, v in zip(starts, start)})
                    if not starts:
                        states[start] = y0
            except Exception as exc:  # noqa: BLE001
                failures[k] = _build_error(exc)
                continue
            by_structure.setdefault(key, []).append((k, model, y0))
        groups = []
        for items in by_structure.values():
            slot_of = {}
            slots = np.array([slot_of.setdefault(id(m), len(slot_of)) for _, m, _ in items], dtype=np.intp)
            distinct = list({id(m): m for _, m, _ in items}.values())
            groups.append((np.array([k for k, _, _ in items], dtype=np.intp), ModelStack._of_distinct(distinct, slots),
                           np.stack([y for _, _, y in items])))
        return failures, groups


def _distinct_rows(columns):
    """``(first, inverse)`` of the rows whose columns are ``columns`` (1-D arrays of one length):
    the position of each distinct row's first occurrence and, per row, its distinct row's number
    (``columns[c][first][inverse] == columns[c]``).  One 1-D ``np.unique`` per column, the
    running row number renumbered after each, so that it stays below the number of rows."""
    first, inverse = np.zeros(1, dtype=np.intp), np.zeros(len(columns[0]), dtype=np.intp)
    for column in columns:
        values, at = np.unique(column, return_inverse=True)
        _, first, inverse = np.unique(inverse * len(values) + at.reshape(-1), return_index=True,
                                      return_inverse=True)
        inverse = inverse.reshape(-1)
    return first, inverse


class _ModelBuild:
    """``build`` given as a model (a template): the point ``{name: value}`` is the model with
    each named float parameter filled with ``value`` (``model.replace``), started from
    ``model.random_state(seed=seed, h_scale=h_scale)`` or from the fixed ``y0``.

    Every point shares the template's structure, so a task solves its points as one stack and
    builds only the distinct parameter sets (:meth:`members`); ``build(**params)`` gives the
    same model and state for one point (the probe and the point-by-point fallback use it).
    """

    START = ("seed", "h_scale")
    _MAX_MODELS = 4096  # distinct parameter sets kept per worker ...
    _MAX_MODEL_BYTES = 64 * 2**20  # ... and the bytes of their float parameters
    _MAX_STATE_BYTES = 32 * 2**20  # start states kept per worker

    def __init__(self, model, y0=None):
        from ..models.base import Model
        from ..models.stack import ModelStack

        if isinstance(model, ModelStack) or not isinstance(model, Model):
            raise ValueError(f"`build` must be a callable, a spec dict, an oscihop model or a (model, y0) pair; got "
                             f"{type(model).__name__}.")
        self.model = model
        self.y0 = None
        if y0 is not None:
            from .._validation import as_float_array, check_finite, check_shape

            y0 = as_float_array(y0, "y0 of `build`", dtype=None)
            check_shape(y0, (model.size,), "y0 of `build`",
                        hint=f"The model is {type(model).__name__} of state size {model.size}.")
            check_finite(y0, "y0 of `build`")
            model.check_unit(y0, "y0 of `build`")
            self.y0 = np.array(y0, dtype=np.float64 if y0.dtype != np.float32 else np.float32)
        self._names = {}
        self._clear()

    def _clear(self):
        self._models, self._states, self._state_bytes, self._model_bytes = {}, {}, 0, 0

    def __getstate__(self):  # the caches stay in their process
        return {"model": self.model, "y0": self.y0, "_names": {}}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._clear()

    # ------------------------------------------------------------------ names
    def parameter_of(self, name):
        """The model parameter a sweep name sets (``"a__b"`` for ``"a.b"``, or the last part of
        one dotted name), ``None`` for the start names; ValueError for any other name."""
        if name in self.START:
            if self.y0 is not None:
                raise ValueError(f"`grid`/`points`: {name!r} sets the random start, but `build` = (model, y0) "
                                 "starts every point from y0; give `build` = model to sweep the start.")
            return None
        full = self._names.get(name)
        if full is not None:
            return full
        current = self.model.parameters()
        dotted = name.replace("__", ".")
        matches = [n for n in current if n == dotted or n.split(".")[-1] == name]
        if dotted in current:
            matches = [dotted]
        if len(matches) != 1:
            options = sorted({n.replace(".", "__") for n in current} | set(self.START if self.y0 is None else ()))
            why = "names several parameters" if matches else "is not a parameter of the model"
            raise ValueError(f"`grid`/`points`: {name!r} {why}; with `build` = a {type(self.model).__name__} "
                             f"model, a sweep name is one of {options} (a name of model.parameters(), with "
                             "'__' for '.', or its last part where that is unique).")
        self._names[name] = matches[0]
        return matches[0]

    def check_values(self, names, values):
        """Up-front checks of the swept values: numbers for parameters, seeds and ``h_scale``."""
        for name, vals in zip(names, values):
            full = self.parameter_of(name)
            if vals.dtype.kind not in "iuf" or vals.dtype.kind == "b":
                raise ValueError(f"`grid`/`points`: the values of {name!r} must be numbers (they fill the "
                                 f"model's {full or name}); got {vals.dtype} values {vals.tolist()[:4]}.")
            if name == "seed" and (vals.dtype.kind == "f" or (vals < 0).any()):
                raise ValueError(f"`grid`/`points`: the values of 'seed' must be non-negative integers; got "
                                 f"{vals.tolist()[:4]}.")
            if name == "h_scale" and not (np.isfinite(vals).all() and (vals >= 0).all()):
                raise ValueError(f"`grid`/`points`: the values of 'h_scale' must be finite and >= 0; got "
                                 f"{vals.tolist()[:4]}.")

    # ----------------------------------------------------------------- points
    def _model(self, key):
        model = self._models.get(key)
        if model is None:
            if not key:
                model = self.model
            else:
                current = self.model.parameters()
                model = self.model.replace(**{full: np.full(np.shape(current[full]), float(v)) for full, v in key})
            nbytes = model.params(np.float64).fp.nbytes
            if len(self._models) >= self._MAX_MODELS or self._model_bytes + nbytes > self._MAX_MODEL_BYTES:
                self._models.clear()
                self._model_bytes = 0
            self._models[key] = model
            self._model_bytes += nbytes
        return model

    def _start(self, seed, h_scale):
        if self.y0 is not None:
            return self.y0
        key = (seed, h_scale)
        y0 = self._states.get(key)
        if y0 is None:
            y0 = self.model.random_state(seed=seed, h_scale=h_scale)
            if self._state_bytes + y0.nbytes > self._MAX_STATE_BYTES:
                self._states.clear()
                self._state_bytes = 0
            self._states[key] = y0
            self._state_bytes += y0.nbytes
        return y0

    def _split(self, params):
        key = tuple(sorted((self.parameter_of(n), v) for n, v in params.items() if n not in self.START))
        return key, int(params.get("seed", 0)), float(params.get("h_scale", 1.0))

    def __call__(self, **params):
        key, seed, h_scale = self._split(params)
        return self._model(key), self._start(seed, h_scale).copy()

    def identity(self):
        """What fixes the points' numbers: the model's kind, compiled parameters and fixed start."""
        p = self.model.params(np.float64)
        digest = hashlib.sha256(p.ip.tobytes() + p.fp.tobytes())
        if self.y0 is not None:
            digest.update(self.y0.tobytes() + self.y0.dtype.str.encode())
        return {"model": type(self.model).__name__, "sha256": digest.hexdigest(),
                "start": "random_state" if self.y0 is None else "y0"}

    def members(self, names, columns):
        """``(failures, groups)`` of the points whose values of ``names`` are ``columns`` (one
        1-D array per name): ``failures`` maps the position of each point whose values the
        model rejects to the reason, and ``groups`` holds one ``(positions, models, y0s)``: the
        positions of the points that build, their models as one
        :class:`~oscihop.models.stack.ModelStack` (built from the distinct parameter sets
        only) and their start states (one row per position); no group if no point builds."""
        from ..models.stack import ModelStack

        n = len(columns[0])
        col = dict(zip(names, columns))
        swept = [name for name in names if name not in self.START]
        fulls = [self.parameter_of(name) for name in swept]
        values = np.column_stack([np.asarray(col[name], dtype=np.float64) for name in swept] or [np.zeros(n)])
        first, slots = _distinct_rows(list(values.T))
        rows = values[first, : len(swept)]
        distinct, rejected = [], {}
        for u, row in enumerate(rows.tolist()):
            try:
                distinct.append(self._model(tuple(sorted(zip(fulls, row)))))
            except ValueError as exc:
                rejected[u] = f"`build` raised ValueError: {exc}"
        seeds = np.asarray(col["seed"], dtype=np.int64) if "seed" in col else np.zeros(n, dtype=np.int64)
        scales = np.asarray(col["h_scale"], dtype=np.float64) if "h_scale" in col else np.ones(n)
        first, starts = _distinct_rows([seeds, scales])
        y0s = np.stack([self._start(int(seeds[k]), float(scales[k])) for k in first.tolist()])[starts]
        failures, ok = {}, np.arange(n)
        if rejected:
            bad = np.isin(slots, list(rejected))
            failures = {int(i): rejected[int(slots[i])] for i in np.flatnonzero(bad)}
            keep = np.array([u for u in range(len(rows)) if u not in rejected], dtype=np.intp)
            renumber = np.full(len(rows), -1, dtype=np.intp)
            renumber[keep] = np.arange(len(keep))
            ok = np.flatnonzero(~bad)
            slots, y0s = renumber[slots[ok]], y0s[ok]
        if not distinct:
            return failures, []
        return failures, [(ok, ModelStack._of_distinct(distinct, slots), y0s)]


class _Definition:
    """Everything that fixes the numbers of a sweep, validated; ``fingerprint`` hashes it."""

    def __init__(self, build, grid, points, t_span, t_eval, method, reduce, solve_kwargs):
        if (grid is None) == (points is None):
            raise ValueError("Give exactly one of `grid` ({name: values}, a cartesian product) and "
                             "`points` (a list of {name: value} dicts); got "
                             f"{'both' if grid is not None else 'neither'}.")
        if grid is not None:
            self._from_grid(grid)
        else:
            self._from_points(points)
        self.n_points = int(np.prod(self.shape))
        if isinstance(build, _ModelBuild):
            build.check_values(self.names, self.values)

        t0, t1 = self.t_span = _check_t_span(t_span)
        self.method = check_choice(method, METHODS, "method")

        items = [reduce] if isinstance(reduce, str) else reduce
        if not isinstance(items, Sequence) or isinstance(items, str) or len(items) == 0:
            raise ValueError(f"`reduce` must be one of {list(REDUCTIONS)} or a non-empty list of them; got {reduce!r}.")
        for r in items:
            if not isinstance(r, str) or r not in REDUCTIONS:
                raise ValueError(f"`reduce` must be one of {list(REDUCTIONS)} or a list of them; got {r!r}.")
        self.reduce = [r for r in REDUCTIONS if r in items]

        curves = any(r in _CURVES for r in self.reduce)
        if t_eval is None:
            times = None
            if curves:
                times = np.linspace(t0, t1, DEFAULT_N_TIMES)
                if method == "async":
                    times = np.unique(np.round(times))
        else:
            times = _time_grid(t_eval, t0, t1)
        self.times = times if curves else None
        if times is None and any(r in _CHECKS for r in self.reduce):
            solve_times = None  # every step the solver takes (oh.solve without t_eval)
        elif times is None:
            solve_times = np.array([t1])
        elif "final" in self.reduce and times[-1] < t1:
            solve_times = np.append(times, t1)
        else:
            solve_times = times
        self.solve_times = solve_times
        self.n_times = 0 if self.times is None else int(self.times.size)

        for key in ("t_eval", "t_span", "y0", "model"):
            if key in solve_kwargs:
                raise ValueError(f"`{key}` cannot be passed as a solve option: the sweep sets it.")
        if method == "async" and solve_kwargs.get("seed") is None:
            raise ValueError("`seed` is required with method='async' in a sweep: the random unit order is drawn "
                             "from it, and a sweep must be reproducible to be resumable; pass seed=<int>.")
        self.solve_kwargs = dict(solve_kwargs)
        if self.solve_kwargs.get("dtype") is not None:  # one precision for the whole sweep, checked here
            self.solve_kwargs["dtype"] = resolve_dtype(self.solve_kwargs["dtype"]).name
        self.variables = []
        if "full" in self.reduce:
            self.variables += ["y", "energy"]
        if "energy" in self.reduce and "energy" not in self.variables:
            self.variables.append("energy")
        if "final" in self.reduce:
            self.variables.append("y_final")
        if "order_parameter" in self.reduce:
            self.variables.append("order_parameter")
        self.variables += [r for r in _CHECKS if r in self.reduce]
        # tolerance of energy_increase: the solve's rtol/atol where given (as in oh.verify), else verify's defaults
        self.energy_tolerance = None
        if "energy_increase" in self.reduce:
            from ..verification import energy_tolerance

            self.energy_tolerance = energy_tolerance(self.solve_kwargs.get("rtol"), self.solve_kwargs.get("atol"))

        self.record = {
            "format": _FORMAT,
            "kind": self.kind,
            "params": self.names,
            "values": {n: v.tolist() for n, v in zip(self.names, self.values)},
            "t_span": list(self.t_span),
            "t_eval": None if self.times is None else self.times.tolist(),
            "solve_times": None if self.solve_times is None else self.solve_times.tolist(),
            "method": method,
            "reduce": self.reduce,
            # where the numbers are computed is not part of what they are: a sweep started on
            # one backend resumes on another (results agree to rounding)
            "solve_options": _json_value({k: v for k, v in self.solve_kwargs.items() if k not in _BACKEND_OPTIONS},
                                         "solve options"),
            "build": _build_identity(build),
        }
        if self.energy_tolerance is not None:  # only then: the fingerprints of other sweeps stay as they were
            self.record["energy_tolerance"] = list(self.energy_tolerance)
        text = json.dumps(self.record, sort_keys=True, separators=(",", ":"))
        self.fingerprint = hashlib.sha256(text.encode()).hexdigest()

    def _from_grid(self, grid):
        if not isinstance(grid, Mapping) or len(grid) == 0:
            raise ValueError(f"`grid` must be a non-empty dict {{name: list of values}}; got {grid!r}.")
        self.kind = "grid"
        self.names, self.values = [], []
        for name, values in grid.items():
            _check_name(name, "`grid`")
            arr = _param_values(name, values, "`grid`")
            _unique_check(name, arr, "`grid`")
            self.names.append(name)
            self.values.append(arr)
        self.dims = list(self.names)
        self.shape = tuple(v.size for v in self.values)

    def _from_points(self, points):
        if isinstance(points, Mapping) or not isinstance(points, Sequence) or len(points) == 0:
            raise ValueError(f"`points` must be a non-empty list of {{name: value}} dicts; got {points!r}.")
        self.kind = "points"
        first = points[0]
        if not isinstance(first, Mapping) or not first:
            raise ValueError(f"`points[0]` must be a non-empty dict {{name: value}}; got {first!r}.")
        self.names = list(first)
        for name in self.names:
            _check_name(name, "`points`")
        for i, pt in enumerate(points):
            if not isinstance(pt, Mapping):
                raise ValueError(f"`points[{i}]` must be a dict {{name: value}}; got {pt!r}.")
            if set(pt) != set(self.names):
                missing = sorted(set(self.names) - set(pt))
                extra = sorted(set(pt) - set(self.names))
                raise ValueError(f"`points[{i}]` must have the same parameters as points[0] {self.names}; "
                                 f"missing {missing}, extra {extra}.")
        self.values = []
        for name in self.names:
            column = [pt[name] for pt in points]
            for i, v in enumerate(column):
                if np.ndim(v) != 0:
                    raise ValueError(f"`points[{i}][{name!r}]` must be a scalar (number, bool or string); got {v!r}.")
            self.values.append(_param_values(name, column, "`points`"))
        seen = {}
        for i in range(len(points)):
            key = tuple(v[i].item() for v in self.values)
            if key in seen:
                raise ValueError(f"`points[{seen[key]}]` and `points[{i}]` are the same point "
                                 f"{dict(zip(self.names, key))}; each point must appear once.")
            seen[key] = i
        self.dims = ["point"]
        self.shape = (len(points),)

    def params_of(self, flat):
        """The parameters (Python scalars) of the point with flat (C-order) index ``flat``."""
        if self.kind == "grid":
            idx = np.unravel_index(flat, self.shape)
            return {n: v[i].item() for n, v, i in zip(self.names, self.values, idx)}
        return {n: v[flat].item() for n, v in zip(self.names, self.values)}


def _fmt_params(params):
    return "{" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + "}"
