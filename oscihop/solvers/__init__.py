"""Solvers: the methods registry, the compiled stepping loops and the result type."""

from .methods import METHODS, available_methods  # noqa: F401
from .result import Solution  # noqa: F401
from .solve import solve  # noqa: F401

__all__ = ["METHODS", "available_methods", "Solution", "solve"]
