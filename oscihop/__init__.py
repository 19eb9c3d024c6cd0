"""oscihop: fast Hopfield networks, Kuramoto oscillators on spheres, and their
energy-based coupling (the Hopfield-Kuramoto model), compiled with Numba.

>>> import oscihop as oh
>>> sorted(oh.available_methods())
['AKOrN', 'Euler', 'Geometric', 'RK23', 'RK4', 'RK45', 'Tsit5', 'async']
"""

from . import config
from .couplings import LowRank
from .graph import complete_edges, csr_from_edges, ring_edges, watts_strogatz_edges
from .models import Hopfield, HopfieldKuramoto, Kuramoto, Model, State
from .solvers import METHODS, Solution, available_methods, solve

__version__ = "0.1.0"

__all__ = [
    "Hopfield",
    "HopfieldKuramoto",
    "Kuramoto",
    "LowRank",
    "METHODS",
    "Model",
    "Solution",
    "State",
    "available_methods",
    "complete_edges",
    "csr_from_edges",
    "ring_edges",
    "solve",
    "watts_strogatz_edges",
    "__version__",
]
