"""Training through the solve (oscihop.training, oscihop.datasets): optimisers, schedules,
encoders, the training loop with an injected analytic gradient, checkpoints and exact resume,
the metrics Dataset, and (with the real adjoint engine) a tiny digits run and the experiment
scripts' --quick mode."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import oscihop as oh
from oscihop import datasets as D
from oscihop.training import (
    SGD, Adam, Constant, Cosine, Exponential, Lion, StepDecay, load_checkpoint, open_metrics, train,
)

ROOT = Path(__file__).resolve().parents[1]
HAVE_ENGINE = importlib.util.find_spec("oscihop.gradients") is not None


# ------------------------------------------------------------------ optimisers
def test_sgd_plain_and_momentum_by_hand():
    p = {"w": np.array([1.0, 2.0])}
    g = {"w": np.array([0.5, -1.0])}
    np.testing.assert_array_equal(SGD().step(p, g, 0.1)["w"], [0.95, 2.1])
    opt = SGD(momentum=0.9)
    p1 = opt.step(p, g, 0.1)
    p2 = opt.step(p1, g, 0.1)  # v = 0.9 g + g
    np.testing.assert_allclose(p2["w"], p["w"] - 0.1 * g["w"] - 0.1 * 1.9 * g["w"], rtol=1e-15)
    assert p["w"].tolist() == [1.0, 2.0]  # inputs untouched


def test_adam_two_steps_by_hand():
    b1, b2, eps, lr = 0.8, 0.9, 1e-8, 0.05
    opt = Adam(b1=b1, b2=b2, eps=eps)
    w = np.array([0.3, -0.7, 2.0])
    g1, g2 = np.array([1.0, -2.0, 0.1]), np.array([-0.5, 0.5, 0.3])
    p = opt.step({"w": w}, {"w": g1}, lr)
    p = opt.step(p, {"w": g2}, lr)
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1**2
    w1 = w - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2**2
    w2 = w1 - lr * (m2 / (1 - b1**2)) / (np.sqrt(v2 / (1 - b2**2)) + eps)
    np.testing.assert_allclose(p["w"], w2, rtol=1e-14)
    assert opt.t == 2


def test_lion_two_steps_by_hand():
    b1, b2, lr, wd = 0.9, 0.99, 0.01, 0.1
    opt = Lion(b1=b1, b2=b2, weight_decay=wd)
    w = np.array([1.0, -1.0])
    g1, g2 = np.array([0.3, -0.2]), np.array([-1.0, -0.1])
    p = opt.step({"w": w}, {"w": g1}, lr)
    w1 = w - lr * (np.sign((1 - b1) * g1) + wd * w)
    m1 = (1 - b2) * g1
    p = opt.step(p, {"w": g2}, lr)
    w2 = w1 - lr * (np.sign(b1 * m1 + (1 - b1) * g2) + wd * w1)
    np.testing.assert_allclose(p["w"], w2, rtol=1e-15)


@pytest.mark.parametrize("make", [lambda: SGD(momentum=0.5), Adam, Lion])
def test_state_dict_round_trip_continues_identically(make):
    rng = np.random.default_rng(3)
    a = make()
    p = {"w": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    grads = [{k: rng.standard_normal(v.shape) for k, v in p.items()} for _ in range(4)]
    for g in grads[:2]:
        p = a.step(p, g, 0.01)
    b = make()
    b.load_state_dict(a.state_dict())
    pa = pb = p
    for g in grads[2:]:
        pa, pb = a.step(pa, g, 0.01), b.step(pb, g, 0.01)
    for k in p:
        np.testing.assert_array_equal(pa[k], pb[k])


def test_optimizer_errors():
    with pytest.raises(ValueError, match=r"`b1` must lie in \[0, 1\)"):
        Adam(b1=1.0)
    with pytest.raises(ValueError, match="missing"):
        Adam().step({"w": np.zeros(2)}, {}, 0.1)
    with pytest.raises(ValueError, match="hyperparameters differ"):
        Adam(b1=0.5).load_state_dict(Adam().state_dict())


# ------------------------------------------------------------------- schedules
def test_schedules():
    assert Constant(0.1)(10**6) == 0.1
    c = Cosine(1.0, total_steps=12, final_lr=0.1, warmup=2)
    assert [c(0), c(1)] == [0.5, 1.0]
    assert c(2) == pytest.approx(1.0) and c(7) == pytest.approx(0.55) and c(12) == pytest.approx(0.1)
    assert c(100) == pytest.approx(0.1)
    s = StepDecay(0.2, every=3, gamma=0.1)
    assert [s(k) for k in (0, 2, 3, 6)] == pytest.approx([0.2, 0.2, 0.02, 0.002])
    e = Exponential(0.2, decay_steps=10, gamma=0.5)
    assert e(5) == pytest.approx(0.2 * 0.5**0.5)
    with pytest.raises(ValueError, match="`warmup` must be < total_steps"):
        Cosine(1.0, total_steps=3, warmup=3)


# -------------------------------------------------------------------- data
def test_load_digits_split_and_subsets():
    d = D.load_digits(seed=1)
    assert d.X_train.shape == (1347, 64) and d.X_test.shape == (450, 64)
    assert d.X_train.min() == 0.0 and d.X_train.max() == 1.0
    assert sorted(np.unique(d.y_test)) == list(range(10))
    small = D.load_digits(seed=1, n_train=50, n_test=20, classes=[0, 1, 2])
    assert small.X_train.shape == (50, 64) and small.X_test.shape == (20, 64)
    assert set(small.y_train) == {0, 1, 2}
    again = D.load_digits(seed=1, n_train=50, n_test=20, classes=[0, 1, 2])
    np.testing.assert_array_equal(small.X_train, again.X_train)


def test_encoders_shapes_and_ranges():
    X = np.random.default_rng(0).random((5, 64))
    lay = D.DigitsLayout(64, n_hidden=6, n_classes=10, reference=True)
    h = D.encode_hopfield(X, 6, 10, reference=True)
    assert h.shape == (5, lay.n) and lay.n == 81
    np.testing.assert_allclose(h[:, :64], 2 * X - 1)
    assert np.all(h[:, 64:] == 0)
    for start in ("fixed", "random"):
        y = D.encode_kuramoto(X, 6, 10, dim=3, start=start, seed=4)
        x = y.reshape(5, lay.n, 3)
        np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-15)
        np.testing.assert_allclose(np.arccos(x[:, :64, 0]) / np.pi, X, atol=1e-7)
        assert np.all(x[:, :64, 2] == 0)
        assert np.all(x[0, 64:] == x[4, 64:])  # the same start for every image
    yk = D.encode_hk(X, 6, 10, dim=3)
    assert yk.shape == (5, lay.n * 4)
    x0 = np.tile([0.0, 2.0, 0.0], (lay.n, 1))
    ye = D.encode_hk(X, 6, 10, dim=3, x0=x0)
    np.testing.assert_array_equal(ye[:, lay.n:].reshape(5, lay.n, 3), np.broadcast_to([0.0, 1.0, 0.0], (5, lay.n, 3)))
    with pytest.raises(ValueError, match=r"`images` must hold intensities in \[0, 1\]"):
        D.encode_hopfield(X * 16, 0, 10)
    with pytest.raises(ValueError, match=r"`start` must be 'fixed'"):
        D.encode_kuramoto(X, start="zero")


def test_classifier_builders_and_decoders():
    lay = D.DigitsLayout(64, n_hidden=4, n_classes=10, reference=True)
    hop = D.hopfield_classifier(lay, seed=0)
    kur = D.kuramoto_classifier(lay, dim=2, seed=1)
    hk = D.hk_classifier(lay, dim=2, seed=2, mode="multiplicative")
    X = np.random.default_rng(1).random((3, 64))
    y_h = D.encode_hopfield(X, 4, 10, reference=True)
    assert D.decode_hopfield(hop, y_h, lay).shape == (3, 10)
    np.testing.assert_allclose(D.decode_kuramoto(kur, D.encode_kuramoto(X, 4, 10), lay), 1.0)
    assert D.decode_hk(hk, D.encode_hk(X, 4, 10), lay).shape == (3, 10)
    edges = oh.watts_strogatz_edges(lay.n, 4, 0.1, seed=0)
    kr = D.kuramoto_classifier(lay, edges=edges, interaction="relu", seed=0)
    assert kr.interaction == "relu" and kr.n == lay.n


# ------------------------------------------------------- the loop, toy problem
class Toy:
    """A quadratic 'model': parameters W (symmetric) and b; no dynamics."""

    size = 3

    def __init__(self, w, b, a=0.0):
        self.w, self.b, self.a = np.asarray(w, float), np.asarray(b, float), np.asarray(a, float)

    def parameters(self):  # alpha: a 0-d parameter, as HopfieldKuramoto's
        return {"weights": self.w.copy(), "bias": self.b.copy(), "alpha": self.a.copy()}

    def replace(self, **p):
        assert all(np.shape(v) == np.shape(self.parameters()[k]) for k, v in p.items())
        return Toy(p.get("weights", self.w), p.get("bias", self.b), p.get("alpha", self.a))


WSTAR = np.array([[1.0, -0.5, 0.2], [-0.5, 0.3, 0.0], [0.2, 0.0, -0.8]])
BSTAR = np.array([0.3, -0.1, 0.5])


def toy_grad(model, loss, y0, wrt):
    """loss = mean_b |W y0_b + b - t_b|^2, t_b = WSTAR y0_b + BSTAR + labels_b; W's gradient symmetrised."""
    t = y0 @ WSTAR + BSTAR + 0.1 * loss[:, None]  # the toy 'loss' built per batch is just its labels
    r = y0 @ model.w + model.b - t
    nb = len(y0)
    gw = 2 * r.T @ y0 / nb
    out = {"weights": 0.5 * (gw + gw.T), "bias": 2 * r.sum(0) / nb, "alpha": 2 * (model.a - 0.5)}
    value = float(np.sum(r * r) / nb + (model.a - 0.5) ** 2)
    return value, {k: out[k] for k in wrt}, None, {"nfev": 7}


def _toy_data(n=24):
    rng = np.random.default_rng(11)
    return rng.standard_normal((n, 3)), rng.integers(0, 2, n)


def _toy_train(**kw):
    X, lab = _toy_data()
    w0 = np.array([[0.5, 0.1, 0.0], [0.1, -0.2, 0.3], [0.0, 0.3, 0.1]])
    opts = dict(epochs=4, batch_size=5, optimizer=Adam(), schedule=Cosine(0.05, total_steps=20), grad_fn=toy_grad,
                loss=lambda model, labels: labels, encode=lambda x: x, seed=5, progress=False)
    opts.update(kw)
    return train(Toy(w0, np.zeros(3)), X, lab, **opts)


def test_toy_loss_decreases_and_weights_stay_symmetric():
    res = _toy_train(epochs=15, schedule=0.05)
    loss = res.metrics.loss.values
    assert loss[-1] < 0.2 * loss[0]
    w = res.params["weights"]
    assert np.array_equal(w, w.T)
    assert res.metrics.steps.values.tolist() == [5 * k for k in range(1, 16)]
    assert np.all(res.metrics.nfev.values == 5 * 7)
    assert np.all(np.isnan(res.metrics.train_accuracy.values))  # no decode: no accuracy


def test_wrt_freezes_the_others():
    res = _toy_train(wrt=["bias"])
    assert np.array_equal(res.model.w, _toy_train(epochs=0).model.w)
    assert not np.array_equal(res.model.b, np.zeros(3))
    with pytest.raises(ValueError, match=r"`wrt` must name trainable parameters among \['alpha', 'bias', 'weights'\]"):
        _toy_train(wrt=["gamma"])


def _same(a, b):
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["step"] == sb["step"]
    for k in sa["arrays"]:
        np.testing.assert_array_equal(sa["arrays"][k], sb["arrays"][k])
    for v in ("loss", "grad_norm", "lr", "steps"):
        np.testing.assert_array_equal(a.metrics[v].values, b.metrics[v].values)


def test_resume_equals_uninterrupted_bit_for_bit(tmp_path):
    full = _toy_train(epochs=4, checkpoint=tmp_path / "full")
    part = _toy_train(epochs=2, checkpoint=tmp_path / "part")
    assert part.metrics.sizes["epoch"] == 2
    resumed = _toy_train(epochs=4, checkpoint=tmp_path / "part")
    assert resumed.resumed_from == 2 and resumed.metrics.epoch.values.tolist() == [1, 2, 3, 4]
    _same(full, resumed)
    # nothing left to do: a third call returns the same without stepping
    again = _toy_train(epochs=4, checkpoint=tmp_path / "part")
    assert again.resumed_from == 4
    _same(full, again)


def test_killed_run_resumes_without_losing_or_repeating_work(tmp_path):
    full = _toy_train(epochs=4)
    calls = []

    def dying(model, loss, y0, wrt):
        calls.append(1)
        if len(calls) == 2 * 5 + 3:  # third mini-batch of epoch 3
            raise KeyboardInterrupt
        return toy_grad(model, loss, y0, wrt)

    store = tmp_path / "ck"
    with pytest.raises(KeyboardInterrupt):
        _toy_train(epochs=4, grad_fn=dying, checkpoint=store)
    ck = load_checkpoint(store)
    assert ck["epoch"] == 2 and ck["optimizer"]["step"] == 10
    counted = []

    def counting(model, loss, y0, wrt):
        counted.append(1)
        return toy_grad(model, loss, y0, wrt)

    resumed = _toy_train(epochs=4, grad_fn=counting, checkpoint=store)
    assert len(counted) == 2 * 5  # exactly the two missing epochs
    _same(full, resumed)


def test_checkpoint_every_and_callback_stop(tmp_path):
    store = tmp_path / "ck"
    seen = []
    res = _toy_train(epochs=6, checkpoint=store, checkpoint_every=4,
                     callbacks=[lambda e, m, row: seen.append(e) or e == 3])
    assert seen == [1, 2, 3] and res.metrics.sizes["epoch"] == 3
    assert load_checkpoint(store)["epoch"] == 3  # a stop writes its checkpoint


def test_metrics_dataset_and_zarr_round_trip(tmp_path):
    store = tmp_path / "ck"
    res = _toy_train(epochs=3, checkpoint=store)
    ds = res.metrics
    assert dict(ds.sizes) == {"epoch": 3}
    assert set(ds.data_vars) >= {"loss", "train_accuracy", "test_accuracy", "lr", "grad_norm", "wall_time"}
    assert ds.loss.attrs["long_name"]
    back = open_metrics(store)
    for v in ds.data_vars:
        np.testing.assert_array_equal(back[v].values, ds[v].values)
    assert json.loads(back.attrs["config"])["batch_size"] == 5


def test_resume_with_other_settings_is_refused(tmp_path):
    store = tmp_path / "ck"
    _toy_train(epochs=1, checkpoint=store)
    with pytest.raises(ValueError, match=r"different settings \(\['batch_size'\]\)"):
        _toy_train(epochs=2, batch_size=6, checkpoint=store)
    fresh = _toy_train(epochs=2, batch_size=6, checkpoint=store, resume=False)
    assert fresh.resumed_from == 0 and load_checkpoint(store)["epoch"] == 2


def test_training_store_refuses_other_stores(tmp_path):
    kur = oh.Kuramoto(2, edges=oh.ring_edges(4), coupling=1.0)
    sol = oh.solve(kur, (0, 1), kur.random_state(seed=0), t_eval=[0, 1])
    sol.to_zarr(tmp_path / "traj")
    with pytest.raises(ValueError, match="not a training store"):
        _toy_train(epochs=1, checkpoint=tmp_path / "traj")


# --------------------------------------------------------- with the real engine
needs_engine = pytest.mark.skipif(not HAVE_ENGINE, reason="oscihop.gradients (value_and_grad) is not in this checkout")


@needs_engine
def test_tiny_digits_hopfield_loss_decreases():
    data = D.load_digits(seed=0, n_train=60, n_test=30, classes=[0, 1, 2])
    lay = D.DigitsLayout(64, n_hidden=4, n_classes=3)
    hop = D.hopfield_classifier(lay, seed=0)
    from oscihop.losses import SquaredError

    res = train(hop, data.X_train, data.y_train, SquaredError(lay.classes), lambda x: D.encode_hopfield(x, 4, 3),
                epochs=4, batch_size=20, optimizer=Adam(), schedule=0.05, X_test=data.X_test,
                labels_test=data.y_test, progress=False)
    loss = res.metrics.loss.values
    assert loss[-1] < 0.8 * loss[0]
    assert res.metrics.test_accuracy.values[-1] > 0.6
    w = res.model.weights
    assert np.array_equal(w, w.T)


# ------------------------------------------------------------------ the scripts
@needs_engine
@pytest.mark.slow
def test_experiment_scripts_quick(tmp_path):
    """The three experiments' --quick runs, in order, sharing their training stores (the later
    scripts resume the classifiers and editors instead of training them again)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    out, ck = tmp_path / "out", tmp_path / "ck"
    for script, outputs in [("exp_classify.py", ["classify.md", "classify.png"]),
                            ("exp_memory_edit.py", ["memory_edit.md", "memory_edit.png"]),
                            ("exp_energy.py", ["energy.md", "energy.png"])]:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--quick", "--out", str(out),
                               "--checkpoints", str(ck)], capture_output=True, text=True, timeout=600, env=env,
                              cwd=tmp_path)
        assert proc.returncode == 0, f"{script}:\n{proc.stderr[-3000:]}"
        for name in outputs:
            path = out / name
            assert path.is_file() and path.stat().st_size > 100, name
        table = (out / outputs[0]).read_text()
        assert table.count("\n|") >= 3
    energy = (out / "energy.md").read_text()
    assert "INCREASES" not in energy and energy.count("| never increases |") == 7
