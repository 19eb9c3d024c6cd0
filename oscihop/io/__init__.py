"""Storage: models as dictionaries, trajectories as xarray Datasets and zarr stores.

``oscihop`` exposes these names lazily (``oh.model_to_dict``, ``oh.open_trajectory``...),
so importing oscihop does not import xarray or zarr.
"""

from .serialize import model_from_dict, model_to_dict
from .trajectory import load_model, open_trajectory, solution_to_xarray, solution_to_zarr, solve_to_zarr

__all__ = ["model_to_dict", "model_from_dict", "open_trajectory", "load_model", "solve_to_zarr",
           "solution_to_xarray", "solution_to_zarr"]
