"""Training stores: checkpoints (parameters, optimiser state, metrics) in a zarr store, and exact resume.

A checkpoint ``epoch_<k>`` is written completely, then the root's ``latest_epoch`` points at
it, then older ones are dropped, so a killed run leaves the previous checkpoint readable.
"""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["STORE_KIND", "FORMAT_VERSION", "load_checkpoint", "open_metrics"]

STORE_KIND = "training"
FORMAT_VERSION = 1


def _ckpt_name(epoch):
    return f"epoch_{epoch:06d}"


def _write_arrays(group, arrays):
    from ..io import integrity

    for name, arr in arrays.items():
        # a CRC32C checksum on every chunk, and every chunk written (zeros included)
        group.create_array(name, data=np.ascontiguousarray(arr), **integrity.array_options())


def _write_metrics(metrics, path, group):
    from ..io import integrity

    metrics.to_zarr(str(path), group=group, mode="w", consolidated=False, zarr_format=3,
                    encoding=integrity.xarray_encoding(metrics), write_empty_chunks=integrity.WRITE_EMPTY_CHUNKS)


def _save_checkpoint(path, epoch, params, opt_state, metrics, config):
    """Write ``epoch_<k>`` completely, then point the root at it, then drop older ones."""
    import zarr

    root = zarr.open_group(str(path), mode="a", zarr_format=3)
    if "oscihop_store" not in root.attrs:
        # marked as oscihop's from the start, so a run killed before its first checkpoint leaves
        # a store that the next run may replace (see oscihop.io.stores)
        root.attrs.update({"oscihop_store": STORE_KIND, "format_version": FORMAT_VERSION})
    name = _ckpt_name(epoch)
    if name in root:
        del root[name]
    g = root.create_group(name)
    _write_arrays(g.create_group("params"), params)
    og = g.create_group("optimizer")
    _write_arrays(og, opt_state["arrays"])
    og.attrs.update({"kind": opt_state["kind"], "hyper": opt_state["hyper"], "step": int(opt_state["step"]),
                     "names": sorted(opt_state["arrays"]),
                     "shapes": {k: list(np.shape(v)) for k, v in opt_state["arrays"].items()}})
    _write_metrics(metrics, path, f"{name}/metrics")
    g.attrs.update({"epoch": int(epoch), "complete": True, "param_names": sorted(params),
                    "param_shapes": {k: list(np.shape(v)) for k, v in params.items()}})
    # the marker: a reader trusts only the group named here
    root.attrs.update({"oscihop_store": STORE_KIND, "format_version": FORMAT_VERSION,
                       "latest_epoch": int(epoch), "config": config})
    for other in list(root.group_keys()):
        if other.startswith("epoch_") and other != name:
            del root[other]
    _write_metrics(metrics, path, "metrics")


def load_checkpoint(path):
    """Read the latest complete checkpoint of a training store.

    Parameters
    ----------
    path : str or os.PathLike
        The ``checkpoint=`` directory of :func:`train`.

    Returns
    -------
    dict or None
        ``{"epoch", "params", "optimizer", "metrics", "config"}``; None when ``path`` holds
        no complete checkpoint (missing or empty directory).

    Raises
    ------
    ValueError
        If ``path`` is something other than a training store.
    """
    import xarray as xr
    import zarr

    path = str(path)
    if not os.path.isdir(path) or not os.listdir(path):
        return None
    try:
        root = zarr.open_group(path, mode="r")
    except Exception as exc:  # noqa: BLE001 - any failure to open means "not a store"
        raise ValueError(f"`checkpoint` {path!r} exists but is not a zarr store ({exc}); pass a new directory.") from None
    attrs = dict(root.attrs)
    if "latest_epoch" not in attrs:
        if attrs.get("oscihop_store", STORE_KIND) != STORE_KIND:
            raise ValueError(f"`checkpoint` {path!r} is an oscihop {attrs['oscihop_store']!r} store, not a "
                             "training store; pass a new directory.")
        return None  # killed before the first checkpoint was complete
    if attrs.get("oscihop_store") != STORE_KIND:
        raise ValueError(f"`checkpoint` {path!r} is not an oscihop training store; pass a new directory.")
    epoch = int(attrs["latest_epoch"])
    g = root[_ckpt_name(epoch)]
    if not g.attrs.get("complete"):
        raise ValueError(f"`checkpoint` {path!r}: the checkpoint of epoch {epoch} is incomplete (damaged store).")
    from ..io.integrity import check_group

    check_group(g, f"`checkpoint` {path!r}", unverifiable="warn",
                fix="Resume from an intact copy, or train again into a new directory.")
    # zarr stores a 0-d array (a scalar parameter such as alpha) as shape (1,): restore the shapes
    shapes = g.attrs["param_shapes"]
    params = {k: np.asarray(g["params"][k][...]).reshape(shapes[k]) for k in g.attrs["param_names"]}
    og = g["optimizer"]
    oshapes = og.attrs["shapes"]
    opt = {"kind": og.attrs["kind"], "hyper": og.attrs["hyper"], "step": int(og.attrs["step"]),
           "arrays": {k: np.asarray(og[k][...]).reshape(oshapes[k]) for k in og.attrs["names"]}}
    metrics = xr.open_zarr(path, group=f"{_ckpt_name(epoch)}/metrics", consolidated=False).load()
    # checkpoints written before the HK edge weights were called "weights" everywhere
    params = {_RENAMED.get(k, k): v for k, v in params.items()}
    opt["arrays"] = {"/".join(_RENAMED.get(p, p) for p in k.split("/")): v for k, v in opt["arrays"].items()}
    return {"epoch": epoch, "params": params, "optimizer": opt, "metrics": metrics, "config": attrs.get("config")}


#: old parameter names of checkpoints -> today's (HopfieldKuramoto's "hk_weights" is "weights")
_RENAMED = {"hk_weights": "weights"}


def open_metrics(path):
    """The metrics ``xarray.Dataset`` of the latest checkpoint of a training store."""
    ck = load_checkpoint(path)
    if ck is None:
        raise ValueError(f"`path` {str(path)!r} holds no complete training checkpoint.")
    return ck["metrics"]


_METRICS = {
    "loss": ("mean training loss over the epoch's mini-batches", "1"),
    "train_accuracy": ("accuracy on the (evaluated part of the) training set", "1"),
    "test_accuracy": ("accuracy on the test set", "1"),
    "lr": ("learning rate of the epoch's last step", "1"),
    "grad_norm": ("mean global L2 norm of the gradient over the epoch's mini-batches", "1"),
    "wall_time": ("seconds spent on the epoch's gradient steps", "s"),
    "eval_time": ("seconds spent on the epoch's evaluation", "s"),
    "nfev": ("right-hand-side evaluations of the epoch (forward and adjoint, as reported)", "1"),
    "steps": ("optimizer steps done at the end of the epoch", "1"),
}


def _metrics_dataset(rows, config):
    import xarray as xr

    epochs = np.array([r["epoch"] for r in rows], dtype=np.int64)
    data = {}
    for name, (long_name, units) in _METRICS.items():
        dtype = np.int64 if name == "steps" else np.float64
        data[name] = ("epoch", np.array([r.get(name, np.nan) for r in rows], dtype=dtype),
                      {"long_name": long_name, "units": units})
    ds = xr.Dataset(data, coords={"epoch": ("epoch", epochs, {"long_name": "epochs completed"})})
    ds.attrs["title"] = "oscihop training metrics"
    ds.attrs["config"] = json.dumps(config)
    return ds


def _rows(ds):
    out = []
    for k in range(ds.sizes.get("epoch", 0)):
        row = {"epoch": int(ds.epoch.values[k])}
        for name in ds.data_vars:
            v = ds[name].values[k]
            row[name] = int(v) if name == "steps" else float(v)
        out.append(row)
    return out
