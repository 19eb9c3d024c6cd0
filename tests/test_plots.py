"""Figures (oscihop.plots): each returns a Figure that saves to a non-empty PNG; clear errors."""

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import oscihop as oh
from oscihop import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def saved_png(fig, path):
    assert isinstance(fig, Figure)
    fig.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000
    return fig


def trajectory(T=6, N=10, D=3, P=2, batch=None, seed=0):
    """A dataset shaped as sol.to_xarray() makes it."""
    rng = np.random.default_rng(seed)
    lead = () if batch is None else (batch,)
    ldims = () if batch is None else ("batch",)
    x = rng.standard_normal(lead + (T, N, D))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    data = {
        "h": (ldims + ("time", "neuron"), rng.standard_normal(lead + (T, N))),
        "x": (ldims + ("time", "neuron", "component"), x),
        "energy": (ldims + ("time",), -np.cumsum(rng.random(lead + (T,)), axis=-1)),
        "order_parameter": (ldims + ("time",), np.linalg.norm(x.mean(axis=-2), axis=-1)),
        "overlap": (ldims + ("time", "pattern"), rng.uniform(-1, 1, lead + (T, P))),
    }
    coords = {"time": np.linspace(0, 2, T), "neuron": np.arange(N), "component": np.arange(D),
              "pattern": np.arange(P)}
    if batch is not None:
        coords["batch"] = np.arange(batch)
    return xr.Dataset(data, coords=coords, attrs={"model": "HopfieldKuramoto"})


def sweep(T=4, seed=0):
    rng = np.random.default_rng(seed)
    k = [0.0, 0.5, 1.0, 2.0]
    s = [0, 1, 2]
    r = rng.random((4, 3, T))
    r[1, 2] = np.nan  # an unfinished point
    return xr.Dataset(
        {"order_parameter": (("kuramoto.coupling", "initial.seed", "time"), r),
         "energy": (("kuramoto.coupling", "initial.seed", "time"), -rng.random((4, 3, T)))},
        coords={"kuramoto.coupling": k, "initial.seed": s, "time": np.linspace(0, 1, T)})


@pytest.mark.parametrize("func", [plots.plot_energy, plots.plot_order_parameter, plots.plot_oscillators,
                                  plots.plot_overlaps])
@pytest.mark.parametrize("dim", [2, 3])
def test_trajectory_plots_write_pngs(tmp_path, func, dim):
    ds = trajectory(D=dim)
    saved_png(func(ds), tmp_path / "fig.png")


def test_oscillators_beyond_three_dimensions_show_the_first_three(tmp_path):
    fig = saved_png(plots.plot_oscillators(trajectory(D=5)), tmp_path / "fig.png")
    assert "first 3 of D = 5 components" in fig.axes[0].get_title()


@pytest.mark.parametrize("func", [plots.plot_energy, plots.plot_order_parameter, plots.plot_oscillators,
                                  plots.plot_overlaps])
def test_batched_trajectories(tmp_path, func):
    saved_png(func(trajectory(batch=3)), tmp_path / "fig.png")


def test_energy_draws_one_line_per_member_up_to_max_lines():
    fig = plots.plot_energy(trajectory(batch=5), max_lines=3)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and "first 3 of 5" in ax.get_title()
    np.testing.assert_allclose(ax.lines[0].get_xdata(), np.linspace(0, 2, 6))


def test_oscillators_pick_time_and_member():
    ds = trajectory(D=2, batch=2)
    fig = plots.plot_oscillators(ds, time=0.0, select={"batch": 1})
    ax = fig.axes[0]
    assert "t = 0" in ax.get_title() and "batch=1" in ax.get_title()
    pts = ax.collections[0].get_offsets()
    np.testing.assert_allclose(pts, ds.x.isel(batch=1, time=0).values)
    with pytest.raises(ValueError, match="out of range"):
        plots.plot_oscillators(ds, time=10)
    with pytest.raises(ValueError, match="not a dimension"):
        plots.plot_oscillators(ds, select={"seed": 0})


def test_order_parameter_is_computed_from_x_when_missing(tmp_path):
    ds = trajectory().drop_vars("order_parameter")
    fig = plots.plot_order_parameter(ds)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(),
                               np.linalg.norm(ds.x.values.mean(axis=1), axis=-1))


@pytest.mark.parametrize("func, var", [
    (plots.plot_energy, "energy"),
    (plots.plot_overlaps, "overlap"),
    (plots.plot_oscillators, "x"),
    (plots.plot_order_parameter, "order_parameter"),
])
def test_missing_variables_raise_clear_errors(func, var):
    ds = trajectory().drop_vars([var, "x"] if var == "order_parameter" else [var])
    with pytest.raises(ValueError, match=rf"{func.__name__} needs the variable '{var}'.*the dataset has:"):
        func(ds)


def test_sweep_heatmap(tmp_path):
    ds = sweep()
    fig = plots.plot_sweep_heatmap(ds, "order_parameter", x="kuramoto.coupling", y="initial.seed")
    saved_png(fig, tmp_path / "heat.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "kuramoto.coupling" and ax.get_ylabel() == "initial.seed"
    img = ax.images[0].get_array()
    assert img.shape == (3, 4)  # (y, x)
    np.testing.assert_allclose(img[0].data, ds.order_parameter.values[:, 0, -1])  # final time, seed 0
    assert img.mask[2, 1]  # the unfinished point is masked (grey)
    assert "final" in ax.get_title()
    # reduce="mean" over a third dimension; time given as a value
    r = np.stack([ds.order_parameter.values, np.ones_like(ds.order_parameter.values)])
    ds3 = ds.expand_dims(alpha=[0.1, 0.2]).copy(deep=True)
    ds3["order_parameter"] = (ds3.order_parameter.dims, r)
    fig = plots.plot_sweep_heatmap(ds3, "order_parameter", x="kuramoto.coupling", y="initial.seed",
                                   reduce="mean", time=0.0)
    img = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(img[0].data, (ds.order_parameter.values[:, 0, 0] + 1.0) / 2)
    assert "mean over alpha" in fig.axes[0].get_title()
    fig = plots.plot_sweep_heatmap(ds3, "order_parameter", x="kuramoto.coupling", y="initial.seed")
    assert "alpha=0.1" in fig.axes[0].get_title()


def test_sweep_heatmap_errors():
    ds = sweep()
    with pytest.raises(ValueError, match="plot_sweep_heatmap needs the variable 'overlap'"):
        plots.plot_sweep_heatmap(ds, "overlap", "kuramoto.coupling", "initial.seed")
    with pytest.raises(ValueError, match=r"`y` = 'beta' is not a dimension of 'energy'.*sweep parameters"):
        plots.plot_sweep_heatmap(ds, "energy", "kuramoto.coupling", "beta")
    with pytest.raises(ValueError, match="two different dimensions"):
        plots.plot_sweep_heatmap(ds, "energy", "initial.seed", "initial.seed")
    with pytest.raises(ValueError, match="`reduce` must be 'first' or 'mean'"):
        plots.plot_sweep_heatmap(ds, "energy", "kuramoto.coupling", "initial.seed", reduce="max")


def test_save_figures_for_trajectories_and_sweeps(tmp_path):
    files = plots.save_figures(trajectory(), tmp_path / "traj")
    assert sorted(f.name for f in files) == ["energy.png", "order_parameter.png", "oscillators.png", "overlaps.png"]
    files = plots.save_figures(sweep(), tmp_path / "sweep")
    names = sorted(f.name for f in files)
    assert "heatmap_order_parameter.png" in names and "heatmap_energy.png" in names
    for f in files:
        assert f.read_bytes().startswith(PNG_MAGIC)
    with pytest.raises(ValueError, match="nothing to plot"):
        plots.save_figures(xr.Dataset({"foo": ("a", [1.0])}), tmp_path / "none")


def test_plots_of_a_real_solution(tmp_path):
    hop = oh.Hopfield.from_patterns(np.where(np.random.default_rng(1).random((2, 12)) < 0.5, -1.0, 1.0), beta=3.0)
    kur = oh.Kuramoto(3, coupling="mean-field", strength=1.0, n=12)
    hk = oh.HopfieldKuramoto(hop, kur, "all", alpha=0.02, mode="additive")
    sol = oh.solve(hk, (0, 1), hk.random_state(seed=0), t_eval=np.linspace(0, 1, 5))
    ds = sol.to_xarray()
    for func in (plots.plot_energy, plots.plot_order_parameter, plots.plot_oscillators, plots.plot_overlaps):
        saved_png(func(ds), tmp_path / f"{func.__name__}.png")
    # the lazy attribute on the package
    assert oh.plots is plots
    # a Hopfield-only trajectory has no oscillators
    sol_h = oh.solve(hop, (0, 1), 0.1 * hop.patterns[0], t_eval=[0, 0.5, 1])
    with pytest.raises(ValueError, match="plot_oscillators needs the variable 'x'"):
        plots.plot_oscillators(sol_h.to_xarray())
    with pytest.raises(ValueError, match="plot_order_parameter needs the variable 'order_parameter'"):
        plots.plot_order_parameter(sol_h.to_xarray())


def flat_sweep(reduce_full=True):
    """A sweep dataset as oh.open_sweep gives it for a HopfieldKuramoto model (n=4, D=2): flat states."""
    rng = np.random.default_rng(3)
    n, dim, T = 4, 2, 3
    h = rng.standard_normal((2, 3, T, n))
    x = rng.standard_normal((2, 3, T, n, dim))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    y = np.concatenate([h, x.reshape(2, 3, T, n * dim)], axis=-1)
    data = {"y_final": (("coupling", "seed", "state"), y[:, :, -1]),
            "energy": (("coupling", "seed", "time"), -rng.random((2, 3, T))),
            "done": (("coupling", "seed"), np.ones((2, 3), bool))}
    if reduce_full:
        data["y"] = (("coupling", "seed", "time", "state"), y)
    ds = xr.Dataset(data, coords={"coupling": [0.5, 1.0], "seed": [0, 1, 2], "time": [0.0, 0.5, 1.0]},
                    attrs={"oscihop_sweep": {"model": {"kind": "HopfieldKuramoto", "n": n, "dim": dim,
                                                       "size": n + n * dim}}})
    return ds, h, x


def test_sweep_states_split_flat_states():
    ds, h, x = flat_sweep()
    out = plots.sweep_states(ds)
    np.testing.assert_array_equal(out.h.values, h)
    np.testing.assert_array_equal(out.x.values, x)
    np.testing.assert_array_equal(out.x_final.values, x[:, :, -1])
    np.testing.assert_allclose(out.order_parameter_final.values, np.linalg.norm(x[:, :, -1].mean(axis=-2), axis=-1))
    assert "x" not in ds  # the input is not modified
    assert plots.sweep_parameters(out) == ["coupling", "seed"]


def test_save_figures_for_flat_sweeps(tmp_path):
    ds, _, _ = flat_sweep()
    names = {f.name for f in plots.save_figures(ds, tmp_path / "full")}
    assert {"energy.png", "order_parameter.png", "oscillators.png", "heatmap_order_parameter_final.png",
            "heatmap_energy.png"} <= names
    ds, _, _ = flat_sweep(reduce_full=False)
    one = ds.isel(seed=0, drop=True)  # one swept parameter: curves against it
    names = {f.name for f in plots.save_figures(one, tmp_path / "one")}
    assert {"oscillators.png", "sweep_order_parameter_final.png", "sweep_energy.png"} <= names


def test_sweep_line_over_points(tmp_path):
    ds = xr.Dataset({"R": ("point", [0.2, 0.9, 0.5])},
                    coords={"point": [0, 1, 2], "coupling": ("point", [0.5, 2.0, 1.0]), "seed": ("point", [0, 0, 1])})
    fig = saved_png(plots.plot_sweep_line(ds, "R", "point"), tmp_path / "line.png")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[1] == "coupling=2, seed=0"
    with pytest.raises(ValueError, match="`x` = 'K' is not a dimension of 'R'"):
        plots.plot_sweep_line(ds, "R", "K")
