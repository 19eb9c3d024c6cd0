"""Models: parameters, validation, and the compiled parameter bundle they produce."""

from .base import Model, State  # noqa: F401
from .hopfield import Hopfield  # noqa: F401
from .kuramoto import Kuramoto, pair_rotations  # noqa: F401
from .coupled import HopfieldKuramoto  # noqa: F401
from .stack import ModelStack, stack  # noqa: F401

__all__ = ["Model", "State", "Hopfield", "Kuramoto", "HopfieldKuramoto", "ModelStack", "stack", "pair_rotations"]
