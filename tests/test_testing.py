"""oscihop.testing: the strategies draw what they promise, the assertions fail with the evidence,
and ``import oscihop`` does not import hypothesis."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oscihop as oh
from oscihop.testing import (assert_energy_nonincreasing, assert_lyapunov, build_model, expected_lyapunov,
                             model_specs, models, states)

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(spec=model_specs(), lyapunov=st.sampled_from((True, False)), data=st.data())
def test_model_specs_honour_the_lyapunov_request(spec, lyapunov, data):
    assert build_model(spec).is_lyapunov == expected_lyapunov(spec)
    requested = data.draw(model_specs(lyapunov=lyapunov), label="requested")
    assert build_model(requested).is_lyapunov is lyapunov


@SETTINGS
@given(model=models(kinds=("kuramoto", "hk")), data=st.data())
def test_states_are_valid_unit_states(model, data):
    y = data.draw(states(model))
    assert y.shape == (model.size,) and y.dtype == np.float64
    model.check_unit(y)
    assert np.isfinite(model.energy(y))


def test_model_specs_refuse_impossible_requests():
    with pytest.raises(ValueError, match="`lyapunov=False`"):
        model_specs(kinds=("hopfield",), lyapunov=False).example()
    with pytest.raises(ValueError, match="`lyapunov=True`"):
        model_specs(omega_kinds=("per-unit",), lyapunov=True).example()
    with pytest.raises(ValueError, match="`model`"):
        states(np.eye(2))


def test_assert_energy_nonincreasing():
    kur = oh.Kuramoto(3, coupling="mean-field", strength=2.0, n=5)
    y0 = kur.random_state(seed=0, batch=2)
    assert_energy_nonincreasing(oh.solve(kur, (0, 3), y0, rtol=1e-8, atol=1e-10, t_eval=np.linspace(0, 3, 7)))
    hop = oh.Hopfield(np.array([[0.0, -3.0], [-3.0, 0.0]]), beta=2.0)  # step_bound 0.2
    with pytest.raises(AssertionError, match="rises by .* in batch member 0"):
        assert_energy_nonincreasing(oh.solve(hop, (0, 4), np.array([[0.5, 0.3], [1.0, -0.2]]), method="Euler", dt=1.0))
    with pytest.raises(AssertionError, match="solve failed"):
        assert_energy_nonincreasing(oh.solve(kur, (0, 3), y0, max_steps=1))
    with pytest.raises(ValueError, match="`solution`"):
        assert_energy_nonincreasing([1.0, 2.0])


def test_assert_lyapunov_raises_with_the_counterexample():
    kur = oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4, omega=[0.0, 1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"counter-example \(rate\)"):
        assert_lyapunov(kur)
    assert assert_lyapunov(oh.Kuramoto(2, coupling="mean-field", strength=1.0, n=4)).exit_code == 0


def test_import_oscihop_does_not_import_testing_or_hypothesis():
    code = "import sys, oscihop as oh; oh.verify; print('oscihop.testing' in sys.modules, 'hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
