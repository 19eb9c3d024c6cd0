"""oh.vote: K starts per input as one batch, the lowest final energy wins (docs/theory.md §10).

Checked against solving every vote on its own (the same bits) and picking the minimum by hand."""
import numpy as np
import pytest

import oscihop as oh

T = (0.0, 4.0)


def memory(n=24, seed=0):
    patterns = np.where(np.random.default_rng(seed).random((3, n)) < 0.5, -1.0, 1.0)
    return oh.Hopfield.from_patterns(patterns, activation="tanh", beta=4.0)


def by_hand(model, starts, **kw):
    """Every vote solved alone: (final states, final energies)."""
    sols = [oh.solve(model, T, y, **kw) for y in starts]
    return np.stack([s.states[-1] for s in sols]), np.array([s.energy[-1] for s in sols])


@pytest.mark.parametrize("method", ["RK45", "Tsit5", "Euler"])
def test_one_model_equals_votes_solved_alone(method):
    model = memory()
    kw = {"method": method, **({"dt": 0.05} if method == "Euler" else {})}
    res = oh.vote(model, T, votes=6, seed=3, **kw)
    starts = model.random_state(seed=3, batch=6)
    finals, energies = by_hand(model, starts, **kw)
    # a batch of one model may step in lockstep (one matrix product for all votes): the same
    # steps, summed in another order, so within rounding of the votes solved alone
    np.testing.assert_allclose(res.energies, energies, rtol=1e-9, atol=1e-12)
    k = int(np.argmin(res.energies))
    assert res.winner == k and res.success is True and k == int(np.argmin(energies))
    np.testing.assert_array_equal(res.state, res.solution.states[k, -1])
    np.testing.assert_allclose(res.state, finals[k], rtol=1e-9, atol=1e-12)
    assert res.energy == res.energies[k] == res.energies.min()
    # a Lyapunov flow: the kept energy is at most the lowest starting energy
    assert res.energy <= model.energy(starts).min() + 1e-9


def test_a_stack_of_inputs_votes_input_by_input():
    kur = oh.Kuramoto(3, edges=oh.ring_edges(10), coupling=1.0, stimulus=np.zeros((10, 3)))
    rng = np.random.default_rng(1)
    inputs = [kur.replace(stimulus=rng.standard_normal((10, 3))) for _ in range(3)]
    y0 = kur.random_state(seed=5, batch=4)  # the same 4 starts for every input
    res = oh.vote(oh.stack(inputs), T, votes=4, y0=y0, t_eval=[0.0, 2.0, 4.0])
    assert res.state.shape == (3, 30) and res.energies.shape == (3, 4) and res.success.all()
    for b, model in enumerate(inputs):
        finals, energies = by_hand(model, y0, t_eval=[0.0, 2.0, 4.0])
        np.testing.assert_array_equal(res.energies[b], energies)
        assert res.winner[b] == np.argmin(energies)
        np.testing.assert_array_equal(res.state[b], finals[res.winner[b]])
        np.testing.assert_array_equal(res.solution.states[b * 4:(b + 1) * 4, -1], finals)


def test_per_input_starts_and_float32():
    model = oh.Kuramoto(2, edges=oh.ring_edges(6), coupling=0.5)
    stacked = oh.stack([model, model.replace(coupling=np.full(6, 2.0))])
    y0 = stacked.random_state(seed=2, batch=6).reshape(2, 3, model.size)
    res = oh.vote(stacked, T, votes=3, y0=y0, dtype="float32")
    assert res.state.dtype == np.float64 and res.solution.states.dtype == np.float32
    for b in range(2):
        _, energies = by_hand(stacked[b], y0[b], dtype="float32")
        np.testing.assert_array_equal(res.energies[b], energies.astype(np.float64))


def test_failed_votes_cannot_win_and_an_input_without_votes_is_not_success():
    good = oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=1.0)
    inputs = oh.stack([good, good.replace(coupling=np.full(4, 1e300))])  # the second diverges
    with pytest.warns(RuntimeWarning, match=r"every vote of input\(s\) \[1\] failed"):
        res = oh.vote(inputs, T, votes=3, seed=0, max_steps=2000)
    assert res.success.tolist() == [True, False] and res.winner[1] == -1
    assert np.isnan(res.state[1]).all() and np.isnan(res.energy[1]) and np.isnan(res.energies[1]).all()
    assert np.isfinite(res.state[0]).all() and res.winner[0] >= 0
    assert (res.solution.status[3:] < 0).all()


@pytest.mark.parametrize("kw, match", [
    (dict(votes=0), r"`votes` must be"),
    (dict(votes=2.5), r"`votes` must be"),
    (dict(votes=3, y0=np.zeros((2, 24))), r"`y0` must hold the votes' starts, of shape \(3, 24\) or \(1, 3, 24\)"),
])
def test_bad_arguments_name_the_parameter(kw, match):
    with pytest.raises(ValueError, match=match):
        oh.vote(memory(), T, **kw)


def test_model_must_be_a_model():
    with pytest.raises(ValueError, match="`model` must be an oscihop model"):
        oh.vote([memory()], T)
