"""Bad input to the layered AKOrN networks (oscihop.networks): every argument of ``Linear``,
``NormReadout``, ``AKOrNNetwork``, its ``forward`` and ``akorn_classifier`` against the shared
matrix (tests/badinput.py). Every case must raise a ``ValueError`` naming the argument."""
import numpy as np
import pytest

from badinput import array_cases, bool_cases, case_ids, expect_rejected, scalar_cases, size_cases
from oscihop.networks import AKOrNNetwork, Linear, NormReadout, akorn_classifier

ENTRY = "networks"
NET = akorn_classifier(5, 3, n=4, dim=2, layers=2, steps=2, gamma=0.5, seed=0)


def _net(**kw):
    args = dict(layers=NET.layers, encoder=NET.encoder, readouts=NET.readouts, decoder=NET.decoder)
    args.update(kw)
    return AKOrNNetwork(args.pop("layers"), args.pop("encoder"), args.pop("readouts"), args.pop("decoder"), **args)


def _no_none(cases):
    return [c for c in cases if c[2] is not None]


def _any_size(cases):
    """A weight's sizes are free (they set the map's): one entry more is a valid shape."""
    return [c for c in cases if c[1] != "one entry more"]


CASES = [
    # (parameter, call, cases)
    ("weight", lambda v: Linear(v), _any_size(array_cases((3, 2)))),
    ("bias", lambda v: Linear(np.ones((3, 2)), v), _no_none(array_cases((3,)))),
    ("weight", lambda v: NormReadout(v), _any_size(array_cases((2, 3, 4)))),
    ("bias", lambda v: NormReadout(np.ones((2, 3, 4)), v), _no_none(array_cases((2,)))),
    ("proj_bias", lambda v: NormReadout(np.ones((2, 3, 4)), None, v), _no_none(array_cases((2, 3)))),
    ("pointwise", lambda v: NormReadout(np.ones((2, 3, 4)), pointwise=v), bool_cases()),
    ("steps", lambda v: _net(steps=v), size_cases()),
    # a list of one value per layer is valid for gamma (the network has two)
    ("gamma", lambda v: _net(gamma=v), [c for c in scalar_cases(low=0.0) if c[1] != "list"]
     + [("shape", "one per layer too few", [0.5])]),
    ("carry", lambda v: _net(carry=v), bool_cases()),
    ("seed", lambda v: _net(seed=v), _no_none(size_cases(low=0))),
    ("init", lambda v: _net(init=[v, NET.init[1]]), array_cases((4, 2))),
    ("inputs", lambda v: NET.forward(v), array_cases((2, 5))),
    ("n_inputs", lambda v: akorn_classifier(v, 3), size_cases()),
    ("n_classes", lambda v: akorn_classifier(4, v), size_cases()),
    ("n", lambda v: akorn_classifier(4, 3, n=v), size_cases(low=2)),
    ("dim", lambda v: akorn_classifier(4, 3, dim=v), size_cases(low=2)),
    ("layers", lambda v: akorn_classifier(4, 3, layers=v), size_cases()),
    ("coupling_scale", lambda v: akorn_classifier(4, 3, coupling_scale=v), _no_none(scalar_cases(low=0.0))),
    ("channels", lambda v: akorn_classifier(4, 3, dim=2, grid=(3, 3), channels=v), _no_none(size_cases())),
    ("kernel_size", lambda v: akorn_classifier(4, 3, dim=2, grid=(3, 3), kernel_size=v), size_cases()),
]
FLAT = [(name, call, case) for name, call, cases in CASES for case in cases]


@pytest.mark.parametrize("name, call, case", FLAT,
                         ids=[f"{n}-{i}" for (n, _, _), i in zip(FLAT, case_ids([c for _, _, c in FLAT]))])
def test_bad_value_is_refused_naming_the_parameter(name, call, case):
    _, _, value = case
    expect_rejected(ENTRY, name, lambda: call(value))


@pytest.mark.parametrize("grid", ["8x8", (8,), (8, 0), (8, 2.5), None])
def test_bad_grid_names_grid(grid):
    if grid is None:  # None is the dense form: valid
        assert akorn_classifier(4, 3, grid=None).layers[0].conv_coupling is None
        return
    expect_rejected(ENTRY, "grid", lambda: akorn_classifier(4, 3, dim=2, grid=grid, channels=4))
