"""Figures of trajectories and sweeps: energy, order parameter, oscillators, overlaps, heatmaps.

Every function takes an :class:`xarray.Dataset` (``sol.to_xarray()``,
``oh.open_trajectory(path)`` or ``oh.open_sweep(store)``) and returns a
:class:`matplotlib.figure.Figure`.  Figures are built without ``pyplot``: nothing is
shown, no global figure state is touched and no GUI backend is needed (they render
with Agg); save them with ``fig.savefig("name.png")`` or display them in a notebook.

Trajectory datasets have the dimensions ``time``, ``neuron``, ``component``,
optionally ``batch`` (first) and ``pattern``, and the variables ``h`` (time, neuron),
``x`` (time, neuron, component), ``energy`` (time), ``order_parameter`` (time) and
``overlap`` (time, pattern).  Sweep datasets add one dimension per swept parameter
(or a ``point`` dimension) in front.

Dimensions a plot does not draw are handled the same way everywhere: line plots draw
one line per combination of them (at most ``max_lines``); single-state plots
(:func:`plot_oscillators`) take the first index of each unless told otherwise
(``select``); :func:`plot_sweep_heatmap` takes the last time and reduces the other
dimensions by their first index (``reduce="first"``) or their mean (``reduce="mean"``).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

__all__ = [
    "plot_energy",
    "plot_order_parameter",
    "plot_oscillators",
    "plot_overlaps",
    "plot_sweep_heatmap",
    "plot_sweep_line",
    "sweep_parameters",
    "sweep_states",
    "save_figures",
]

#: Dimensions of a single trajectory (``state``: the flat state of a sweep store); every
#: other dimension of a dataset is a batch or a sweep parameter.
STATE_DIMS = ("time", "neuron", "component", "pattern", "state")


def _figure(ax=None, projection=None, size=(6.4, 4.2)):
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot(projection=projection)


def _variable(ds, name, func, hint=""):
    if name not in ds.variables:
        have = ", ".join(str(v) for v in ds.data_vars) or "none"
        raise ValueError(f"{func} needs the variable {name!r}{hint}; the dataset has: {have}.")
    return ds[name]


def _label(da, default):
    """Short axis label: ``default`` plus the units when they are not dimensionless."""
    units = da.attrs.get("units")
    return f"{default} [{units}]" if units not in (None, "", "1") else str(default)


def _times(da):
    if "time" in da.coords:
        return np.asarray(da["time"].values, dtype=float)
    return np.arange(da.sizes["time"], dtype=float)


def _title(ds, what):
    kind = ds.attrs.get("model_kind") or ds.attrs.get("model") or ds.attrs.get("kind")
    if isinstance(kind, str) and len(kind) < 40:
        return f"{what} ({kind})"
    return what


def _coord_text(da, dim, i):
    if dim in da.coords:
        v = da[dim].values[i]
        if isinstance(v, (float, np.floating)):
            return f"{dim}={v:.4g}"
        return f"{dim}={v}"
    return f"{dim}={i}"


def _lines(ds, name, func, ylabel, max_lines, ax, hint=""):
    """One line per combination of the non-time dimensions of ``ds[name]``."""
    da = _variable(ds, name, func, hint)
    if "time" not in da.dims:
        raise ValueError(f"{func} needs {name!r} as a function of time; its dimensions are {da.dims} "
                         "(a sweep reduced to final values: plot it with plot_sweep_heatmap).")
    others = [d for d in da.dims if d != "time"]
    da = da.transpose(*others, "time")
    t = _times(da)
    fig, ax = _figure(ax)
    combos = list(itertools.product(*(range(da.sizes[d]) for d in others)))
    shown = combos[:max_lines]
    values = np.asarray(da.values, dtype=float)
    by_first = len(shown) > 10 and da.sizes[others[0]] > 1
    if by_first:
        # many lines: colour by the first dimension (e.g. the first swept parameter), one legend entry per value
        import matplotlib

        cmap = matplotlib.colormaps["viridis"]
        m = da.sizes[others[0]]
    labelled = set()
    for idx in shown:
        if by_first:
            first = idx[0]
            label = None if first in labelled else _coord_text(da, others[0], first)
            labelled.add(first)
            ax.plot(t, values[idx], lw=1.0, color=cmap(first / max(m - 1, 1)), alpha=0.8, label=label)
        else:
            label = ", ".join(_coord_text(da, d, i) for d, i in zip(others, idx)) or None
            ax.plot(t, values[idx], lw=1.4, label=label)
    if others and 1 < len(shown) and (by_first or len(shown) <= 10):
        ax.legend(fontsize="small", ncols=2 if len(labelled) > 8 else 1)
    ax.set_xlabel(_label(da["time"], "time") if "time" in da.coords else "time")  # "sweeps" for async
    ax.set_ylabel(_label(da, ylabel))
    note = f" (first {len(shown)} of {len(combos)} lines)" if len(shown) < len(combos) else ""
    ax.set_title(_title(ds, ylabel) + note)
    ax.grid(alpha=0.3)
    return fig, ax


def plot_energy(ds, max_lines=50, ax=None):
    """Energy against time.

    Parameters
    ----------
    ds : xarray.Dataset
        With an ``energy`` variable over ``time`` (other dimensions -- batch members,
        sweep points -- give one line each).
    max_lines : int, default 50
        At most this many lines (the first ones in index order).  With more than 10,
        lines are coloured by the index along their first dimension (the first swept
        parameter of a sweep), with one legend entry per value.
    ax : matplotlib Axes, optional
        Draw into it instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``ds`` has no ``energy`` variable, or it has no ``time`` dimension.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"energy": ("time", -np.log1p(np.arange(5.0)))}, coords={"time": np.arange(5.0)})
    >>> fig = plot_energy(ds)
    >>> fig.axes[0].get_ylabel()
    'energy'
    """
    fig, _ = _lines(ds, "energy", "plot_energy", "energy", max_lines, ax)
    return fig


def _order_parameter(ds, func):
    if "order_parameter" in ds.variables:
        return ds["order_parameter"]
    if "x" in ds.variables and "neuron" in ds["x"].dims and "component" in ds["x"].dims:
        x = ds["x"]
        r = np.sqrt((x.mean("neuron") ** 2).sum("component"))
        r.attrs.update(long_name="order parameter |mean_i x_i|")
        return r
    _variable(ds, "order_parameter", func, " (or the oscillators 'x'; the model needs oscillators)")


def plot_order_parameter(ds, max_lines=50, ax=None):
    """Kuramoto order parameter ``R(t) = |(1/N) sum_i x_i|`` against time.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``order_parameter`` over ``time``, or the oscillators ``x`` (time, neuron,
        component) from which it is computed.
    max_lines : int, default 50
        As in :func:`plot_energy`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    :math:`R = |\\frac1N \\sum_i x_i| \\in [0, 1]`: 1 when every oscillator points the
    same way, near 0 for incoherent oscillators.

    Raises
    ------
    ValueError
        If neither ``order_parameter`` nor ``x`` is present.
    """
    r = _order_parameter(ds, "plot_order_parameter")
    fig, ax = _lines(ds.assign(order_parameter=r), "order_parameter", "plot_order_parameter", "order parameter R",
                     max_lines, ax)
    ax.set_ylim(-0.02, 1.05)
    return fig


def plot_overlaps(ds, max_lines=20, select=None, ax=None):
    """Overlaps ``m_mu(t) = g(h) . xi_mu / N`` with the stored patterns, one line per pattern.

    Parameters
    ----------
    ds : xarray.Dataset
        With ``overlap`` over (``time``, ``pattern``); other dimensions (batch, sweep
        parameters) are fixed at their first index unless ``select`` says otherwise.
    max_lines : int, default 20
        At most this many patterns.
    select : dict, optional
        ``{dim: index}`` (positions) for the other dimensions.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``ds`` has no ``overlap`` variable (the model stores no patterns).
    """
    da = _variable(ds, "overlap", "plot_overlaps", " (present when the model stores patterns)")
    da, note = _select_rest(da, ("time", "pattern"), select)
    if "time" not in da.dims:
        raise ValueError(f"plot_overlaps needs 'overlap' as a function of time; its dimensions are {da.dims}.")
    if "pattern" not in da.dims:
        da = da.expand_dims("pattern", axis=-1)
    da = da.transpose("time", "pattern")
    fig, ax = _figure(ax)
    t = _times(da)
    npat = da.sizes["pattern"]
    for k in range(min(npat, max_lines)):
        label = f"pattern {da['pattern'].values[k] if 'pattern' in da.coords else k}"
        ax.plot(t, np.asarray(da.values[:, k], dtype=float), lw=1.4, label=label)
    if npat <= 10:
        ax.legend(fontsize="small")
    ax.set_ylim(-1.05, 1.05)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel("time")
    ax.set_ylabel(_label(da, "overlap m"))
    ax.set_title(_title(ds, "overlap with stored patterns") + note)
    ax.grid(alpha=0.3)
    return fig


def _select_rest(da, keep, select):
    """Fix every dimension of ``da`` not in ``keep`` at an index (``select`` or 0)."""
    select = dict(select or {})
    for d in select:
        if d not in da.dims:
            raise ValueError(f"`select` names {d!r}, which is not a dimension of {da.name!r} ({da.dims}).")
    parts = []
    for d in [d for d in da.dims if d not in keep]:
        i = int(select.get(d, 0))
        if not -da.sizes[d] <= i < da.sizes[d]:
            raise ValueError(f"`select` index {i} is out of range for dimension {d!r} of size {da.sizes[d]}.")
        parts.append(_coord_text(da, d, i % da.sizes[d]))
        da = da.isel({d: i})
    return da, (f" [{', '.join(parts)}]" if parts else "")


def _time_index(da, time):
    n = da.sizes["time"]
    if isinstance(time, (int, np.integer)) and not isinstance(time, bool):
        if not -n <= time < n:
            raise ValueError(f"`time` index {time} is out of range for {n} output times.")
        return int(time) % n
    if isinstance(time, (float, np.floating)):
        return int(np.argmin(np.abs(_times(da) - float(time))))
    raise ValueError(f"`time` must be an output index (int) or a time value (float); got {time!r}.")


def plot_oscillators(ds, time=-1, select=None, ax=None):
    """Oscillators at one time: on the circle (D = 2) or the sphere (D = 3).

    Parameters
    ----------
    ds : xarray.Dataset
        With the oscillators ``x`` (time, neuron, component).  Threshold states ``h``,
        when present, colour the points.
    time : int or float, default -1
        Output index (int, negative counts from the end) or time value (float: the
        nearest output).
    select : dict, optional
        ``{dim: index}`` for the other dimensions (batch, sweep parameters); default
        the first index of each.
    ax : matplotlib Axes, optional
        A 2-D axes for D = 2, a 3-D one otherwise.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    For D > 3 the first three components are drawn (a projection into the ball).
    The arrow is the mean vector ``(1/N) sum_i x_i``, whose length is the order
    parameter.

    Raises
    ------
    ValueError
        If ``ds`` has no ``x`` variable (the model has no oscillators).
    """
    da = _variable(ds, "x", "plot_oscillators", " (the oscillators; the model needs oscillators)")
    ti = _time_index(da, time) if "time" in da.dims else None
    if ti is not None:
        da = da.isel(time=ti)
    da, note = _select_rest(da, ("neuron", "component"), select)
    x = np.asarray(da.transpose("neuron", "component").values, dtype=float)
    dim = x.shape[1]
    colour, clabel = None, None
    if "h" in ds.variables:
        h = ds["h"].isel(time=ti) if ti is not None and "time" in ds["h"].dims else ds["h"]
        h, _ = _select_rest(h, ("neuron",), {k: v for k, v in (select or {}).items() if k in h.dims})
        colour, clabel = np.asarray(h.values, dtype=float), "h"
    span = float(np.nanmax(np.abs(colour))) if colour is not None and colour.size else 1.0
    cnorm = dict(vmin=-span, vmax=span) if colour is not None and span > 0 else {}
    mean = x.mean(axis=0)
    t_text = ""
    if ti is not None and "time" in ds.coords:
        t_text = f" at t = {float(ds['time'].values[ti]):.4g}"
    title = _title(ds, f"oscillators{t_text}") + note
    if dim == 2:
        fig, ax = _figure(ax, size=(5.2, 5.0))
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(np.cos(th), np.sin(th), color="0.7", lw=1)
        sc = ax.scatter(x[:, 0], x[:, 1], c=colour, cmap="coolwarm" if colour is not None else None, s=22,
                        zorder=3, **cnorm)
        ax.annotate("", xy=(mean[0], mean[1]), xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=1.8))
        ax.set_aspect("equal")
        ax.set_xlim(-1.15, 1.15)
        ax.set_ylim(-1.15, 1.15)
        ax.set_xlabel("x_1")
        ax.set_ylabel("x_2")
    else:
        fig, ax = _figure(ax, projection="3d", size=(5.6, 5.2))
        u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 25), np.linspace(0, np.pi, 13))
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.85", lw=0.5)
        sc = ax.scatter(x[:, 0], x[:, 1], x[:, 2], c=colour, cmap="coolwarm" if colour is not None else None,
                        s=18, depthshade=False, **cnorm)
        ax.plot([0, mean[0]], [0, mean[1]], [0, mean[2]], color="k", lw=1.8)
        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        ax.set_zlim(-1, 1)
        ax.set_box_aspect((1, 1, 1))
        for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
            axis.set_ticks([-1.0, 0.0, 1.0])
        ax.set_xlabel("x_1")
        ax.set_ylabel("x_2")
        ax.set_zlabel("x_3")
        if dim > 3:
            title += f"\nfirst 3 of D = {dim} components"
    if colour is not None:
        fig.colorbar(sc, ax=ax, shrink=0.7, label=clabel)
    ax.set_title(title + f"\nR = {np.linalg.norm(mean):.3f}", fontsize="medium")
    return fig


def sweep_parameters(ds):
    """Names of the swept parameters of a dataset: every dimension that is not a state dimension.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    list of str
        In dataset order; ``batch`` is excluded, ``point`` (a sweep over explicit
        points) included.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"energy": (("coupling", "seed", "time"), np.zeros((2, 3, 4)))})
    >>> sweep_parameters(ds)
    ['coupling', 'seed']
    """
    return [str(d) for d in ds.dims if d not in STATE_DIMS and d != "batch"]


def _ticks(ax, axis, coord):
    n = len(coord)
    step = max(1, math.ceil(n / 10))
    pos = np.arange(0, n, step)
    labels = [f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v) for v in np.asarray(coord)[pos]]
    if axis == "x":
        ax.set_xticks(pos, labels, rotation=45 if n > 6 else 0)
    else:
        ax.set_yticks(pos, labels)


def plot_sweep_heatmap(ds, var, x, y, reduce="first", time=-1, ax=None, cmap="viridis"):
    """Heatmap of a swept quantity over two parameters.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep (``oh.open_sweep(store)``).
    var : str
        The variable to show, e.g. ``"order_parameter"`` or ``"energy"``.
    x, y : str
        The two parameter dimensions on the horizontal and vertical axes.
    reduce : {"first", "mean"}, default "first"
        How every other dimension is removed: its first index, or the mean over it
        (NaNs -- unfinished points -- skipped).  Applied after ``time``.
    time : int or float, default -1
        When ``var`` has a ``time`` dimension (and it is not ``x`` or ``y``): the output
        index (int; -1 is the final state) or the time value (float; nearest output).
    ax : matplotlib Axes, optional
    cmap : str, default "viridis"

    Returns
    -------
    matplotlib.figure.Figure
        Cells are laid out by index (parameter values label the ticks, so uneven or
        logarithmic grids are shown cell by cell); missing values are grey.

    Raises
    ------
    ValueError
        If ``var`` is missing, ``x``/``y`` are not among its dimensions, or ``reduce``
        is unknown.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"R": (("K", "seed"), np.random.default_rng(0).random((3, 2)))},
    ...                 coords={"K": [0.5, 1.0, 2.0], "seed": [0, 1]})
    >>> fig = plot_sweep_heatmap(ds, "R", x="K", y="seed")
    >>> fig.axes[0].get_xlabel()
    'K'
    """
    if reduce not in ("first", "mean"):
        raise ValueError(f"`reduce` must be 'first' or 'mean'; got {reduce!r}.")
    da = _variable(ds, var, "plot_sweep_heatmap")
    if x == y:
        raise ValueError(f"`x` and `y` must be two different dimensions; got {x!r} twice.")
    for name, dim in (("x", x), ("y", y)):
        if dim not in da.dims:
            raise ValueError(f"`{name}` = {dim!r} is not a dimension of {var!r}; its dimensions are "
                             f"{tuple(map(str, da.dims))} (sweep parameters: {sweep_parameters(ds)}).")
    notes = []
    if "time" in da.dims and "time" not in (x, y):
        ti = _time_index(da, time)
        t_val = float(_times(da)[ti])
        notes.append("final" if ti == da.sizes["time"] - 1 else f"t = {t_val:.4g}")
        da = da.isel(time=ti)
    rest = [d for d in da.dims if d not in (x, y)]
    if rest:
        if reduce == "first":
            da, note = _select_rest(da, (x, y), None)
            notes.append(note.strip(" []"))
        else:
            da = da.mean(rest, skipna=True, keep_attrs=True)
            notes.append("mean over " + ", ".join(map(str, rest)))
    da = da.transpose(y, x)
    values = np.ma.masked_invalid(np.asarray(da.values, dtype=float))
    fig, ax = _figure(ax)
    import matplotlib

    cm = matplotlib.colormaps[cmap].with_extremes(bad="0.8")
    im = ax.imshow(values, origin="lower", aspect="auto", cmap=cm, interpolation="nearest")
    _ticks(ax, "x", da[x].values if x in da.coords else np.arange(da.sizes[x]))
    _ticks(ax, "y", da[y].values if y in da.coords else np.arange(da.sizes[y]))
    ax.set_xlabel(str(x))
    ax.set_ylabel(str(y))
    fig.colorbar(im, ax=ax, label=_label(da, var))
    note = f" ({'; '.join(n for n in notes if n)})" if any(notes) else ""
    ax.set_title(f"{var}{note}", fontsize="medium")
    return fig


def sweep_states(ds):
    """Split the flat states of a sweep store into ``h`` and ``x``.

    ``oh.sweep`` keeps states in the flat layout ``y = [h, x.ravel()]``: ``y``
    (P..., time, state) with ``reduce="full"`` and ``y_final`` (P..., state) with
    ``reduce="final"``.  Using the model facts the store records
    (``attrs["oscihop_sweep"]["model"]``: kind, n, dim) this adds ``h`` (P..., time,
    neuron) and ``x`` (P..., time, neuron, component) from ``y``, ``h_final`` and
    ``x_final`` from ``y_final``, and ``order_parameter_final`` (P...) from the final
    oscillators.  Other datasets are returned unchanged.

    Parameters
    ----------
    ds : xarray.Dataset

    Returns
    -------
    xarray.Dataset
        A new dataset (``ds`` is not modified).  The states are read into memory.
    """
    info = ds.attrs.get("oscihop_sweep", {}).get("model") if isinstance(ds.attrs.get("oscihop_sweep"), dict) else None
    if not info or not ({"y", "y_final"} & set(ds.variables)):
        return ds
    n, dim, kind = int(info["n"]), int(info["dim"]), info["kind"]
    nh = n if kind in ("Hopfield", "HopfieldKuramoto") else 0
    out = ds.copy()

    def split(da, suffix):
        lead = [d for d in da.dims if d != "state"]
        values = np.asarray(da.transpose(*lead, "state").values)
        if nh:
            out["h" + suffix] = (tuple(lead) + ("neuron",), values[..., :nh])
        if dim:
            x = values[..., nh:].reshape(values.shape[:-1] + (n, dim))
            out["x" + suffix] = (tuple(lead) + ("neuron", "component"), x)
            return np.sqrt(np.sum(x.mean(axis=-2) ** 2, axis=-1)), tuple(lead)
        return None, None

    if "y" in ds.variables:
        split(ds["y"], "")
    if "y_final" in ds.variables:
        r, lead = split(ds["y_final"], "_final")
        if r is not None and "order_parameter" not in ds.variables:
            out["order_parameter_final"] = (lead, r)
            out["order_parameter_final"].attrs["long_name"] = "final order parameter |mean_i x_i|"
    return out


def plot_sweep_line(ds, var, x, time=-1, max_lines=10, ax=None):
    """A swept quantity against one parameter (or the point index of a list of points).

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep (``oh.open_sweep(store)``).
    var : str
        The variable, e.g. ``"order_parameter"`` or ``"order_parameter_final"``.
    x : str
        The parameter dimension on the horizontal axis (``"point"`` for a list of
        points: ticks then show each point's parameters).
    time : int or float, default -1
        As in :func:`plot_sweep_heatmap`.
    max_lines : int, default 10
        One line per combination of the other parameters, at most this many; other
        non-parameter dimensions are fixed at their first index.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``var`` is missing or ``x`` is not one of its dimensions.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"R": ("K", [0.1, 0.5, 0.9])}, coords={"K": [0.5, 1.0, 2.0]})
    >>> plot_sweep_line(ds, "R", "K").axes[0].get_xlabel()
    'K'
    """
    da = _variable(ds, var, "plot_sweep_line")
    if x not in da.dims:
        raise ValueError(f"`x` = {x!r} is not a dimension of {var!r}; its dimensions are {tuple(map(str, da.dims))}.")
    note = ""
    if "time" in da.dims and x != "time":
        ti = _time_index(da, time)
        note = " (final)" if ti == da.sizes["time"] - 1 else f" (t = {float(_times(da)[ti]):.4g})"
        da = da.isel(time=ti)
    params = [d for d in sweep_parameters(ds) if d in da.dims and d != x]
    da, sel_note = _select_rest(da, [x, *params], None)
    da = da.transpose(*params, x)
    fig, ax = _figure(ax)
    n = da.sizes[x]
    if x in da.coords and np.asarray(da[x].values).dtype.kind in "iuf" and x != "point":
        xs, ticks = np.asarray(da[x].values, dtype=float), None
    else:
        xs, ticks = np.arange(n, dtype=float), True
    values = np.asarray(da.values, dtype=float).reshape(-1, n)
    combos = list(itertools.product(*(range(da.sizes[d]) for d in params)))
    for idx, row in zip(combos[:max_lines], values):
        label = ", ".join(_coord_text(da, d, i) for d, i in zip(params, idx)) or None
        ax.plot(xs, row, marker="o", lw=1.2, ls="none" if x == "point" else "-", label=label)
    if params and len(combos[:max_lines]) > 1:
        ax.legend(fontsize="small")
    if ticks:
        if x == "point":
            names = [str(c) for c in ds.coords if ds[c].dims == ("point",) and c != "point"]
            labels = [", ".join(f"{c}={_fmt_value(ds[c].values[i])}" for c in names) or str(i) for i in range(n)]
        else:
            labels = [_fmt_value(v) for v in (da[x].values if x in da.coords else range(n))]
        step = max(1, math.ceil(n / 10))
        ax.set_xticks(xs[::step], labels[::step], rotation=30 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_xlabel(str(x))
    ax.set_ylabel(_label(da, var))
    ax.set_title(f"{var}{note}{sel_note}", fontsize="medium")
    ax.grid(alpha=0.3)
    return fig


def _fmt_value(v):
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)


def save_figures(ds, out_dir, prefix="", dpi=110):
    """Write PNGs of everything a dataset holds; used by ``oscihop plot`` and ``oscihop demo``.

    Trajectories: ``energy.png``, ``order_parameter.png`` and ``oscillators.png``
    (with oscillators), ``overlaps.png`` (with stored patterns).  Sweeps (see
    :func:`sweep_states`): the same curves when the sweep kept time series (one line
    per point, at most 50), the oscillators of the first point when it kept states,
    and ``heatmap_<var>.png`` of the final order parameter, energy and overlap with the
    first pattern (and the ``energy_increase`` and ``dEdt_max`` checks) over the first two parameters when at least two were swept (other
    parameters at their first value), or ``sweep_<var>.png`` of the same quantities
    against the parameter (or the point) when one parameter (or a list of points) was
    swept.

    Parameters
    ----------
    ds : xarray.Dataset
    out_dir : str or Path
        Created if missing.
    prefix : str, default ""
        Prepended to every file name.
    dpi : int, default 110

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ValueError
        If the dataset holds nothing plottable.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    ds = sweep_states(ds)

    def save(fig, name):
        path = out / f"{prefix}{name}.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)

    params = [p for p in sweep_parameters(ds) if p != "point"]
    has_time = "time" in ds.dims
    has_x = "x" in ds.variables and {"neuron", "component"} <= set(ds["x"].dims)
    if "energy" in ds.variables and has_time and "time" in ds["energy"].dims:
        save(plot_energy(ds), "energy")
    if ("order_parameter" in ds.variables and "time" in ds["order_parameter"].dims) or (has_x and has_time):
        save(plot_order_parameter(ds), "order_parameter")
    if has_x:
        save(plot_oscillators(ds), "oscillators")
    elif "x_final" in ds.variables:
        final = ds[["x_final"] + (["h_final"] if "h_final" in ds.variables else [])]
        save(plot_oscillators(final.rename({k: k.removesuffix("_final") for k in final.data_vars})), "oscillators")
    if "overlap" in ds.variables and "time" in ds["overlap"].dims:
        save(plot_overlaps(ds), "overlaps")
    swept = ("order_parameter", "order_parameter_final", "energy", "overlap", "energy_increase", "dEdt_max")
    if len(params) >= 2:
        x, y = params[0], params[1]
        for var in swept:
            if var in ds.variables and {x, y} <= set(ds[var].dims):
                save(plot_sweep_heatmap(ds, var, x=x, y=y), f"heatmap_{var}")
    elif sweep_parameters(ds):
        x = params[0] if params else "point"
        for var in swept:
            if var in ds.variables and x in ds[var].dims:
                save(plot_sweep_line(ds, var, x=x), f"sweep_{var}")
    if not written:
        have = ", ".join(str(v) for v in ds.data_vars) or "none"
        raise ValueError(f"nothing to plot: no energy, order_parameter, x or overlap variable "
                         f"(the dataset has: {have}).")
    return written
