"""Streaming a solve to a zarr store: :func:`solve_to_zarr`, one block of output times at a time.

The driver of the solve (:mod:`oscihop.solvers`) and of the trajectory store
(:mod:`oscihop.io.trajectory`), so it sits above both: neither of them imports it.
"""

from __future__ import annotations

import json
import numbers

import numpy as np

from .._json import jsonable
from .._validation import as_float_array
from ..models.base import Model
from ..solvers.result import Solution
from ..solvers.solve import _time_grid, solve
from . import integrity
from .trajectory import (_as_store, _build_dataset, _check_mode, _check_target, _mark, _model_attrs,
                         _solution_attrs, _write_dataset, open_trajectory)

__all__ = ["solve_to_zarr"]


def _append_block(group, ds, start):
    """Grow every time-dependent array of the store and write ``ds`` at ``start``."""
    names = [n for n, v in ds.variables.items() if "time" in v.dims and n != "time"] + ["time"]
    for name in names:
        var = ds.variables[name]
        # every chunk written, fill values included: a missing chunk then always means damage
        arr = group[name].with_config({"write_empty_chunks": integrity.WRITE_EMPTY_CHUNKS})
        ax = var.dims.index("time")
        shape = list(arr.shape)
        shape[ax] = start + var.shape[ax]
        arr.resize(tuple(shape))
        index = [slice(None)] * var.ndim
        index[ax] = slice(start, start + var.shape[ax])
        arr[tuple(index)] = np.asarray(var.values, dtype=arr.dtype)


def solve_to_zarr(model, t_span, y0, path, t_eval, block=256, mode="w-", **solve_kwargs):
    """Integrate and stream the trajectory to a zarr store, one block of outputs at a time.

    Parameters
    ----------
    model : Hopfield, Kuramoto or HopfieldKuramoto
    t_span : (float, float)
    y0 : array_like, shape (size,) or (B, size)
    path : str, os.PathLike or zarr Store
    t_eval : array_like, shape (T,)
        Output times (required: they define the blocks).
    block : int, default 256
        Output times per block.  Memory holds one block of the trajectory.
    mode : {"w-", "w"}, default "w-"
        As in ``Solution.to_zarr`` (:func:`solution_to_zarr`); the path is checked
        before anything is solved.
    **solve_kwargs
        Passed to :func:`oscihop.solve` (``method``, ``rtol``, ``atol``, ``dt``,
        ``dtype``, ...).  ``method="async"`` is not supported.

    Returns
    -------
    xarray.Dataset
        The finished store, opened with :func:`open_trajectory`: the same
        variables, dimensions and attributes as ``oh.solve(...).to_zarr(path)``, plus
        ``block``.  ``nfev``, ``nsteps`` and ``nrejected`` add up over blocks.

    Notes
    -----
    Block ``k`` covers ``t_eval[k*block:(k+1)*block]``; it is one :func:`oscihop.solve`
    (the whole time loop compiled) from the previous block's last output state, and
    is appended along ``time`` to the store (chunked by ``block``).  Block ends are
    output times, so fixed-step methods (``Euler``, ``RK4``, ``Geometric``, ``AKOrN``)
    give exactly the one-shot trajectory; adaptive methods restart their step-size
    control at each block and agree to within the tolerances.  ``max_steps`` applies
    per block.  A batch member that fails keeps NaN outputs after its failure, as in
    one solve.

    Examples
    --------
    >>> import numpy as np, oscihop as oh, zarr
    >>> kur = oh.Kuramoto(2, edges=[[0, 1], [1, 2]], coupling=1.0)
    >>> y0 = kur.random_state(seed=0)
    >>> t = np.linspace(0, 1, 11)
    >>> ds = oh.solve_to_zarr(kur, (0, 1), y0, zarr.storage.MemoryStore(), t, block=4,
    ...                       method="Euler", dt=0.05)
    >>> one = oh.solve(kur, (0, 1), y0, t_eval=t, method="Euler", dt=0.05)
    >>> ds.sizes["time"], ds.attrs["block"], bool(np.array_equal(ds.x.values, one.x))
    (11, 4, True)
    """
    if not isinstance(model, Model):
        raise ValueError(
            f"`model` must be an oscihop model (Hopfield, Kuramoto, HopfieldKuramoto); got {type(model).__name__}."
        )
    if isinstance(block, (bool, np.bool_)) or not isinstance(block, (numbers.Integral, np.integer)) or block < 1:
        raise ValueError(f"`block` must be a positive integer (output times per block); got {block!r}.")
    block = int(block)
    _check_mode(mode)
    if solve_kwargs.get("method") == "async":
        raise ValueError(
            "`method`='async' is not supported by solve_to_zarr (sweeps restart their random order at each "
            "block); use oh.solve(model, ..., method='async').to_zarr(path)."
        )
    if t_eval is None:
        raise ValueError("`t_eval` is required: solve_to_zarr streams block by block of output times.")
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"`t_span` must be a pair of numbers (t0, t1); got {t_span!r}.") from None
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 < t0:
        raise ValueError(f"`t_span` must be finite with t_span[1] >= t_span[0]; got ({t0}, {t1}).")
    # complex, boolean, masked and string times are refused before the grid is checked
    te = _time_grid(as_float_array(t_eval, "t_eval"), t0, t1)
    store = _as_store(path)
    _check_target(store, path, mode)  # before solving: a refused path costs no computation

    nt = te.shape[0]
    y = y0
    first_y0 = None
    group = None
    stats = first_opts = failed = None
    final_states = final_energy = None
    method = var_names = None
    for start in range(0, nt, block):
        stop = min(start + block, nt)
        tb0 = t0 if start == 0 else te[start - 1]
        tb1 = t1 if stop == nt else te[stop - 1]
        if failed is not None and failed.all():
            states = np.full(states.shape[:-2] + (stop - start, states.shape[-1]), np.nan, dtype=states.dtype)
            energy = np.full(states.shape[:-1], np.nan, dtype=states.dtype)
        else:
            sol = solve(model, (tb0, tb1), y, t_eval=te[start:stop], **solve_kwargs)
            states, energy = sol.states, sol.energy
            batched = sol.batched
            block_stats = np.column_stack([np.atleast_1d(v).astype(float) for v in
                                           (sol.nfev, sol.nsteps, sol.nrejected, sol.status, sol.t_final)])
            if stats is None:
                stats = np.zeros_like(block_stats)
                stats[:, 4] = t0
                first_opts = dict(sol.options)
                method = sol.method
                failed = np.zeros(stats.shape[0], dtype=bool)
                # a valid state to run members that failed from (their outputs are then set to NaN)
                first_y0 = np.array(y0, dtype=states.dtype).reshape(-1, states.shape[-1])
            else:
                # members that failed in an earlier block ran from a placeholder state
                states = states.copy()
                energy = energy.copy()
                states.reshape(-1, stop - start, states.shape[-1])[failed] = np.nan
                energy.reshape(-1, stop - start)[failed] = np.nan
            live = ~failed
            stats[live, :3] += block_stats[live, :3]
            code = block_stats[:, 3]
            newly_failed = live & (code < 0)
            first_stop = live & (code == 1) & (stats[:, 3] == 0)
            running = live & (code == 0) & (stats[:, 3] == 0)
            stats[newly_failed, 3] = code[newly_failed]
            stats[first_stop, 3] = 1
            take = newly_failed | first_stop | running
            stats[take, 4] = block_stats[take, 4]
            failed = failed | newly_failed
            last = states[..., -1, :].reshape(-1, states.shape[-1])
            y = np.where(failed[:, None], first_y0, last)
            if not batched:
                y = y[0]
        ds = _build_dataset(model, te[start:stop], states, energy, batched)
        if group is None:
            group = _write_dataset(ds, model, store, path, mode, time_chunk=block)
            var_names = list(ds.data_vars)
            opts = dict(first_opts, t_span=(t0, t1))
            early = dict(_model_attrs(model), method=method, options=json.dumps(jsonable(opts)), block=block)
            _mark(group, var_names, complete=False, extra=early)
        else:
            _append_block(group, ds, start)
        final_states, final_energy = states, energy
        del ds

    summary = Solution(model, te[-1:], final_states[..., -1:, :], final_energy[..., -1:], stats,
                       method, opts, batched)
    attrs = _solution_attrs(summary)
    attrs["block"] = block
    group.attrs.update(attrs)
    _mark(group, var_names, complete=True)
    return open_trajectory(path)
