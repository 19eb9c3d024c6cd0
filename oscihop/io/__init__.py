"""Storage: models as dictionaries, trajectories as xarray Datasets and zarr stores.

``oscihop`` exposes these names lazily (``oh.model_to_dict``, ``oh.open_trajectory``...),
and so does this package: importing ``oscihop`` or a light submodule such as
``oscihop.io.integrity`` does not import xarray.
"""

import importlib

_WHERE = {
    "model_to_dict": "serialize",
    "model_from_dict": "serialize",
    "open_trajectory": "trajectory",
    "load_model": "trajectory",
    "solve_to_zarr": "streaming",
    "solution_to_xarray": "trajectory",
    "solution_to_zarr": "trajectory",
}

__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
