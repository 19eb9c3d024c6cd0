"""The registry of integration methods, keyed by name."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import loops
from .tableaus import TABLEAUS, Tableau

__all__ = ["Method", "METHODS", "available_methods"]


@dataclass(frozen=True)
class Method:
    """An integration method: how it steps and which options it takes."""

    name: str
    kind: str  # "adaptive", "fixed" or "async"
    description: str
    tableau: Tableau | None = None
    scheme: int = -1
    options: tuple = field(default_factory=tuple)


_ADAPTIVE_OPTS = ("rtol", "atol", "max_step", "first_step")

METHODS = {
    "Euler": Method("Euler", "fixed", "explicit Euler with per-step renormalisation of oscillators (order 1)",
                    scheme=loops.SCHEME_EULER, options=("dt",)),
    "RK4": Method("RK4", "fixed", "classic 4th-order Runge-Kutta with per-step renormalisation",
                  scheme=loops.SCHEME_RK4, options=("dt",)),
    "Geometric": Method("Geometric", "fixed",
                        "Lie-group midpoint (RKMK2): oscillators move by exact rotations, no renormalisation (order 2)",
                        scheme=loops.SCHEME_GEOMETRIC, options=("dt",)),
    "AKOrN": Method("AKOrN", "fixed", "AKOrN's discrete map x <- normalize(x + gamma dx/dt) (gamma = dt)",
                    scheme=loops.SCHEME_EULER, options=("dt", "gamma")),
    "RK23": Method("RK23", "adaptive", "Bogacki-Shampine 3(2), scipy's coefficients and controller",
                   tableau=TABLEAUS["RK23"], options=_ADAPTIVE_OPTS),
    "RK45": Method("RK45", "adaptive", "Dormand-Prince 5(4), scipy's coefficients and controller",
                   tableau=TABLEAUS["RK45"], options=_ADAPTIVE_OPTS),
    "Tsit5": Method("Tsit5", "adaptive", "Tsitouras 5(4) with scipy's controller and its 4th-order dense output",
                    tableau=TABLEAUS["Tsit5"], options=_ADAPTIVE_OPTS),
    "async": Method("async", "async", "binary Hopfield asynchronous updates in random order (time in sweeps)",
                    options=("seed",)),
}


def available_methods():
    """Names of the registered methods."""
    return list(METHODS)
