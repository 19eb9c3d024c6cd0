"""oscihop: fast Hopfield networks, Kuramoto oscillators on spheres, and their
energy-based coupling (the Hopfield-Kuramoto model), compiled with Numba.

>>> import oscihop as oh
>>> sorted(oh.available_methods())
['AKOrN', 'Euler', 'Geometric', 'RK23', 'RK4', 'RK45', 'Tsit5', 'async']
"""

from . import config
from .gradients import GradientResult, gradient, value_and_grad
from .couplings import BlockCoupling, ConvCoupling, LowRank
from .graph import (
    complete_edges,
    csr_from_edges,
    inverse_permutation,
    rcm_permutation,
    relabel_edges,
    ring_edges,
    watts_strogatz_edges,
)
from .models import Hopfield, HopfieldKuramoto, Kuramoto, Model, ModelStack, State, pair_rotations, stack
from .solvers import METHODS, Solution, available_methods, solve
from .sweep import open_sweep, sweep  # light: zarr/xarray/dask load inside the functions
from .voting import VoteResult, vote


# Storage, sweeps and plots pull in xarray, zarr, dask and matplotlib: import them lazily.
_LAZY = {
    "open_trajectory": "oscihop.io.trajectory",
    "load_model": "oscihop.io.trajectory",
    "solve_to_zarr": "oscihop.io.streaming",
    "model_to_dict": "oscihop.io.serialize",
    "model_from_dict": "oscihop.io.serialize",
    "build_from_spec": "oscihop.spec",
    "load_config": "oscihop.spec",
    "plots": "oscihop.plots",
    # training through the solve (issue 7): the modules, and the names users call most
    "losses": "oscihop.losses",
    "datasets": "oscihop.datasets",
    "training": "oscihop.training",
    "train": "oscihop.training",
    "evaluate": "oscihop.training",
    "Adam": "oscihop.training",
    "Lion": "oscihop.training",
    "SGD": "oscihop.training",
    "load_digits": "oscihop.datasets",
    # Lyapunov verification of a user's model (issue 18)
    "verify": "oscihop.verification",
    "VerifyReport": "oscihop.verification",
    "CounterExample": "oscihop.verification",
    "verification": "oscihop.verification",
    # energy voting on a reasoning task (issue 17)
    "sudoku": "oscihop.sudoku",
    # layered AKOrN networks (issue 17)
    "networks": "oscihop.networks",
    "AKOrNNetwork": "oscihop.networks",
    "akorn_classifier": "oscihop.networks",
    "load_network": "oscihop.networks",
}
_LAZY_MODULES = ("plots", "losses", "datasets", "training", "verification", "sudoku", "networks")


def __getattr__(name):
    if name == "__version__":  # read from the package metadata on first use (oscihop/_version.py), then kept
        from ._version import version

        globals()["__version__"] = value = version()
        return value
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return module if name in _LAZY_MODULES else getattr(module, name)
    raise AttributeError(f"module 'oscihop' has no attribute {name!r}")


def __dir__():
    """The module's names, including the lazily imported ones (``dir(oscihop)``, completion)."""
    return sorted(set(globals()) | set(_LAZY) | {"__version__"})


__all__ = [
    "Hopfield",
    "HopfieldKuramoto",
    "Kuramoto",
    "LowRank",
    "BlockCoupling",
    "ConvCoupling",
    "METHODS",
    "Model",
    "ModelStack",
    "Solution",
    "State",
    "pair_rotations",
    "available_methods",
    "GradientResult",
    "gradient",
    "value_and_grad",
    "complete_edges",
    "csr_from_edges",
    "inverse_permutation",
    "rcm_permutation",
    "relabel_edges",
    "ring_edges",
    "solve",
    "stack",
    "watts_strogatz_edges",
    "sweep",
    "open_sweep",
    "vote",
    "VoteResult",
    "__version__",
    *_LAZY,
]
