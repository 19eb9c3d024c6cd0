"""Losses on final states (oscihop.losses): values by hand, gradients against finite differences."""

import numpy as np
import pytest

import oscihop as oh
from oscihop.losses import CrossEntropy, Readout, SquaredError, cross_entropy, one_hot_pm, squared_error


def _fd_grad(loss, y, eps=1e-6):
    g = np.zeros_like(y)
    for idx in np.ndindex(*y.shape):
        yp, ym = y.copy(), y.copy()
        yp[idx] += eps
        ym[idx] -= eps
        g[idx] = (loss(yp)[0] - loss(ym)[0]) / (2 * eps)
    return g


def _models(rng):
    n = 5
    w = rng.standard_normal((n, n))
    w = (w + w.T) / 2
    kur = oh.Kuramoto(3, edges=oh.ring_edges(n), coupling=0.5)
    return {
        "tanh": oh.Hopfield(w, activation="tanh", beta=1.7),
        "sigmoid": oh.Hopfield(w, activation="sigmoid", beta=0.8),
        "relu": oh.Hopfield(w, activation="relu"),
        "kuramoto": kur,
        "hk": oh.HopfieldKuramoto(oh.Hopfield(w, activation="tanh"), kur, "all", alpha=0.2, mode="additive"),
    }


CASES = [("tanh", "g"), ("tanh", "h"), ("sigmoid", "g"), ("relu", "g"), ("kuramoto", "component"),
         ("kuramoto", "overlap"), ("hk", "g"), ("hk", "overlap")]


@pytest.mark.parametrize("kind,read", CASES)
@pytest.mark.parametrize("which", ["squared_error", "cross_entropy"])
def test_gradients_match_finite_differences(rng, kind, read, which):
    model = _models(rng)[kind]
    units, ref = [1, 3, 4], (0 if read == "overlap" else None)
    y = model.random_state(seed=int(rng.integers(1 << 30)), batch=4)
    if kind == "relu":  # keep away from the kink at 0
        y[:, units] = np.where(np.abs(y[:, units]) < 0.05, 0.3, y[:, units])
    labels = np.array([0, 2, 1, 2])
    if which == "squared_error":
        loss = squared_error(labels, units, model, read=read, component=2, reference=ref)
    else:
        loss = cross_entropy(labels, units, model, read=read, component=2, reference=ref, scale=2.5)
    value, grad = loss(y)
    assert grad.shape == y.shape and np.isfinite(value)
    np.testing.assert_allclose(grad, _fd_grad(loss, y), rtol=1e-6, atol=1e-8)


def test_squared_error_is_the_papers_sum_over_classes_mean_over_batch():
    hop = oh.Hopfield(np.zeros((4, 4)), activation="tanh", beta=1.0)
    y = np.array([[0.0, 0.2, -0.1, 0.4], [0.0, -0.3, 0.5, 0.0]])
    labels = np.array([2, 0])
    value, _ = squared_error(labels, [1, 2, 3], hop, read="h")(y)
    t = one_hot_pm(labels, 3)
    assert value == pytest.approx(np.sum((y[:, 1:] - t) ** 2) / 2)
    value_g, _ = squared_error(t, [1, 2, 3], hop, read="g")(y)  # explicit +-1 targets
    assert value_g == pytest.approx(np.sum((np.tanh(y[:, 1:]) - t) ** 2) / 2)


def test_cross_entropy_value():
    hop = oh.Hopfield(np.zeros((3, 3)))
    y = np.array([[1.0, 2.0, 0.5]])
    value, _ = cross_entropy([1], [0, 1, 2], hop, read="h", scale=2.0)(y)
    z = 2.0 * y[0]
    assert value == pytest.approx(np.log(np.exp(z).sum()) - z[1])


def test_builders_and_scores():
    kur = oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=1.0)
    y = kur.pack(x=np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]]))
    build = SquaredError(units=[1, 2, 3], reference=0)
    np.testing.assert_allclose(build.scores(kur, y[None]), [[0.0, -1.0, 0.6]], atol=1e-15)
    assert build.readout(kur).read == "overlap"
    assert build(kur, [2])(y[None])[0] == pytest.approx(1 + 0 + 0.4**2)
    assert CrossEntropy(units=[1, 2], reference=0).describe()["loss"] == "cross_entropy"
    # one state (size,) is accepted as well
    assert Readout(kur, [1, 2], reference=0)(y).shape == (2,)


@pytest.mark.parametrize("kwargs,match", [
    (dict(units=[0, 9]), r"`units` indices must lie in \[0, 3\]"),
    (dict(units=[1, 1]), "must not repeat"),
    (dict(units=[0, 1], read="x"), "`read` must be one of"),
    (dict(units=[0, 1], read="overlap"), "`read`='overlap' needs oscillators"),
])
def test_readout_errors_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Readout(oh.Hopfield(np.zeros((4, 4))), **kwargs)


def test_loss_errors():
    hop = oh.Hopfield(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, 1\]"):
        cross_entropy([2], [0, 1], hop)
    with pytest.raises(ValueError, match="built for 1 samples"):
        squared_error([0], [0, 1], hop)(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="`read`='g' needs an elementwise activation"):
        Readout(oh.Hopfield(np.zeros((4, 4)), activation="softmax"), [0, 1], read="g")
