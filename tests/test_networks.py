"""Layered AKOrN networks (oscihop.networks): forward against NumPy twins written from the
definition (docs/theory.md §3.4), gradients against finite differences, zarr storage, training
on the digits, and bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest

import oscihop as oh
from oscihop.losses import CrossEntropy, Readout
from oscihop.networks import AKOrNNetwork, Linear, NormReadout, akorn_classifier, load_network


# ------------------------------------------------------------------------------- NumPy twins
def _akorn_steps(x, field, steps, gamma, dim):
    """T steps of AKOrN's map x <- normalize(x + gamma P_x F(x)), F given as a function."""
    for _ in range(steps):
        f = field(x).reshape(x.shape[0], -1, dim)
        xs = x.reshape(x.shape[0], -1, dim)
        pf = f - np.sum(f * xs, axis=2, keepdims=True) * xs
        z = xs + gamma * pf
        x = (z / np.linalg.norm(z, axis=2, keepdims=True)).reshape(x.shape)
    return x


def _conv2d_same(img, weight, bias):
    """torch.nn.Conv2d (stride 1, zero 'same' padding) written out: (B, C, H, W)."""
    nb, c, h, w = img.shape
    k = weight.shape[-1]
    r = k // 2
    pad = np.zeros((nb, c, h + 2 * r, w + 2 * r))
    pad[:, :, r:r + h, r:r + w] = img
    out = np.zeros((nb, weight.shape[0], h, w))
    for dy in range(k):
        for dx in range(k):
            out += np.einsum("oc,bchw->bohw", weight[:, :, dy, dx], pad[:, :, dy:dy + h, dx:dx + w])
    return out + bias[None, :, None, None]


def _dense_twin(net, u):
    c = u @ net.encoder.weight.T + net.encoder.bias
    x = None
    for k, (m, ro) in enumerate(zip(net.layers, net.readouts)):
        j = m.coupling_dense()
        x0 = x if (k > 0 and net.carry) else np.tile(net.init[k].ravel(), (len(u), 1))
        own = m.stimulus.ravel()
        x = _akorn_steps(x0, lambda s, c=c, j=j, own=own: (np.einsum("ij,bjd->bid", j, s.reshape(len(s), m.n, m.dim))
                                                            .reshape(len(s), -1) + own + c), net.steps[k], net.gamma[k], m.dim)
        v = np.einsum("mgf,bf->bmg", ro.weight, x) + ro.proj_bias
        c = np.linalg.norm(v, axis=2) + ro.bias
    return c @ net.decoder.weight.T + net.decoder.bias


def _conv_twin(net, u):
    """The conv network in images (B, C, H, W): channel c = k D + d of pixel (y, x)."""
    nb = len(u)
    c = u @ net.encoder.weight.T + net.encoder.bias
    x = None
    for k, (m, ro) in enumerate(zip(net.layers, net.readouts)):
        conv = m.conv_coupling
        ci = conv.to_images(c)
        own = conv.to_images(m.stimulus.ravel())
        x0 = conv.to_images(x) if (k > 0 and net.carry) else np.tile(conv.to_images(net.init[k].ravel()), (nb, 1, 1, 1))

        def field(s, ci=ci, own=own, conv=conv):
            img = s.reshape((nb,) + (conv.channels,) + conv.grid)
            f = _conv2d_same(img, conv.weight, conv.bias) + own + ci
            return f.reshape(nb, -1)

        # the map in image layout: the D channels of an oscillator are adjacent along C
        h, w = conv.grid
        kk = conv.channels // m.dim

        def to_osc(a):
            return a.reshape(nb, kk, m.dim, h, w).transpose(0, 1, 3, 4, 2).reshape(nb, -1)

        def from_osc(a):
            return a.reshape(nb, kk, h, w, m.dim).transpose(0, 1, 4, 2, 3).reshape(nb, -1)

        xo = _akorn_steps(to_osc(x0.reshape(nb, -1)), lambda s: to_osc(field(from_osc(s))), net.steps[k],
                          net.gamma[k], m.dim)
        img = from_osc(xo).reshape((nb, conv.channels) + conv.grid)
        x = conv.to_state(img)
        v = np.einsum("mgf,bfhw->bmghw", ro.weight, img) + ro.proj_bias[:, :, None, None]
        r = np.linalg.norm(v, axis=2) + ro.bias[None, :, None, None]
        c = net.layers[k + 1].conv_coupling.to_state(r) if k + 1 < len(net) else r.reshape(nb, -1)
    return c @ net.decoder.weight.T + net.decoder.bias


def _nets():
    dense = akorn_classifier(7, 3, n=5, dim=3, layers=2, steps=3, gamma=0.4, seed=1)
    g = np.random.default_rng(2)
    dense = dense.replace(**{"layer0.stimulus": g.normal(size=(5, 3)) * 0.3, "readout0.proj_bias": g.normal(size=(15, 3)),
                             "readout1.bias": g.normal(size=15)})
    conv = akorn_classifier(6, 4, dim=2, layers=2, steps=2, gamma=0.5, grid=(3, 4), channels=4, seed=3)
    p = conv.parameters()
    g = np.random.default_rng(4)
    conv = conv.replace(**{"layer1.coupling_bias": g.normal(size=p["layer1.coupling_bias"].shape),
                           "readout0.proj_bias": g.normal(size=(4, 2)), "readout1.bias": g.normal(size=4)})
    return {"dense": dense, "conv": conv}


@pytest.fixture(scope="module")
def nets():
    return _nets()


def _ce(labels):
    def loss(y):
        z = y - y.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        nb = len(labels)
        g = p.copy()
        g[np.arange(nb), labels] -= 1.0
        return float(-np.mean(np.log(p[np.arange(nb), labels]))), g / nb
    return loss


# ------------------------------------------------------------------------------- forward
def test_dense_forward_matches_numpy_twin(nets):
    net = nets["dense"]
    u = np.random.default_rng(0).normal(size=(4, 7))
    np.testing.assert_allclose(net.forward(u), _dense_twin(net, u), rtol=1e-11, atol=1e-12)


def test_conv_forward_matches_numpy_twin(nets):
    net = nets["conv"]
    assert net.readouts[0].pointwise and net.layers[0].conv_coupling is not None
    u = np.random.default_rng(1).normal(size=(3, 6))
    np.testing.assert_allclose(net.forward(u), _conv_twin(net, u), rtol=1e-11, atol=1e-12)


def test_trace_holds_every_layer_and_its_energy(nets):
    net = nets["dense"]
    u = np.random.default_rng(0).normal(size=(2, 7))
    tr = net.forward(u, trace=True)
    assert len(tr.states) == len(tr.features) == len(tr.energies) == 2
    np.testing.assert_array_equal(tr.outputs, net.forward(u))
    # the energy reported is layer 1's own, with sample b's stimulus added
    m = net.layers[1]
    for b in range(2):
        mb = m.replace(stimulus=m.stimulus + tr.stimuli[1][b].reshape(m.n, m.dim))
        assert tr.energies[1][b] == pytest.approx(mb.energy(tr.states[1][b]), rel=1e-12)
    # carried state: layer 1 starts where layer 0 stopped
    np.testing.assert_array_equal(tr.initial[1], tr.states[0])


def test_float32_agrees_with_float64(nets):
    net = nets["dense"]
    u = np.random.default_rng(5).normal(size=(3, 7))
    np.testing.assert_allclose(net.forward(u, dtype="float32"), net.forward(u), rtol=2e-4, atol=2e-4)


# ------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_gradient_matches_finite_differences(kind, nets):
    net = nets[kind]
    rng = np.random.default_rng(11)
    u = rng.normal(size=(3, net.size))
    labels = np.array([0, 2, 1])
    loss = _ce(labels)
    res = net.value_and_grad(loss, u)
    assert res.success and res.value == pytest.approx(loss(net.forward(u))[0], rel=1e-12)
    params = net.parameters()
    assert sorted(res.grads) == sorted(params)
    eps = 1e-6
    for name, a in params.items():
        assert res.grads[name].shape == a.shape
        d = rng.normal(size=a.shape)
        if name.endswith(".coupling") and a.ndim == 2:
            d = d + d.T                                  # dense couplings stay symmetric
        up = loss(net.replace(**{name: a + eps * d}).forward(u))[0]
        down = loss(net.replace(**{name: a - eps * d}).forward(u))[0]
        fd = (up - down) / (2 * eps)
        assert np.sum(res.grads[name] * d) == pytest.approx(fd, rel=1e-5, abs=1e-8), name
    du = rng.normal(size=u.shape)
    fd = (loss(net.forward(u + eps * du))[0] - loss(net.forward(u - eps * du))[0]) / (2 * eps)
    assert np.sum(res.y0 * du) == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_wrt_selects_and_unknown_names_are_refused(nets):
    net = nets["dense"]
    u = np.ones((2, 7))
    res = net.value_and_grad(_ce(np.array([0, 1])), u, wrt=["decoder.bias", "layer1.coupling"])
    assert sorted(res.grads) == ["decoder.bias", "layer1.coupling"]
    with pytest.raises(ValueError, match="unknown parameters.*nope"):
        net.value_and_grad(_ce(np.array([0, 1])), u, wrt=["nope"])


def test_readout_vjp_is_zero_where_the_norm_vanishes():
    ro = NormReadout(np.zeros((2, 3, 4)), bias=[0.5, -1.0])
    z = np.ones((1, 4))
    np.testing.assert_array_equal(ro(z), [[0.5, -1.0]])
    dz, dw, db, dq = ro.vjp(z, np.ones((1, 2)))
    assert np.all(np.isfinite(dz)) and np.all(dz == 0) and np.all(dw == 0) and np.all(dq == 0)
    np.testing.assert_array_equal(db, [1.0, 1.0])
    # AKOrN's ReadOutConv: the norm of (invconv weight) z + (invconv bias), plus its own bias
    q = np.array([[3.0, 0.0, 4.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(NormReadout(np.zeros((2, 3, 4)), [0.5, -1.0], q)(z), [[5.5, -1.0]])


# ------------------------------------------------------------------------------- storage
def test_save_and_load_roundtrip_bit_for_bit(nets, tmp_path):
    for kind, net in nets.items():
        path = tmp_path / kind
        net.save(path)
        back = load_network(path)
        assert isinstance(back, AKOrNNetwork) and back.steps == net.steps and back.gamma == net.gamma
        for name, a in net.parameters().items():
            np.testing.assert_array_equal(back.parameters()[name], a)
        u = np.random.default_rng(3).normal(size=(2, net.size))
        np.testing.assert_array_equal(back.forward(u), net.forward(u))
        assert oh.AKOrNNetwork.load(path).output_size == net.output_size


def test_save_refuses_foreign_files_and_overwrites_only_its_own(nets, tmp_path):
    net = nets["dense"]
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="never deletes"):
        net.save(mine, overwrite=True)
    assert (mine / "keep.txt").read_text() == "mine"
    path = tmp_path / "net"
    net.save(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        net.save(path)
    other = net.replace(**{"decoder.bias": np.ones(3)})
    other.save(path, overwrite=True)
    np.testing.assert_array_equal(load_network(path).decoder.bias, np.ones(3))


def test_damaged_or_incomplete_store_is_refused(nets, tmp_path):
    import zarr

    net = nets["dense"]
    path = tmp_path / "net"
    net.save(path)
    chunk_dir = path / "layer0.coupling" / "c"
    victim = next(p for p in sorted(chunk_dir.rglob("*")) if p.is_file())
    os.remove(victim)
    with pytest.raises(ValueError, match="layer0.coupling"):
        load_network(path)
    path2 = tmp_path / "net2"
    net.save(path2)
    zarr.open_group(str(path2), mode="r+").attrs["complete"] = False
    with pytest.raises(ValueError, match="incomplete"):
        load_network(path2)
    with pytest.raises(ValueError, match="not an oscihop network store"):
        oh.sweep  # noqa: B018 - keep the lazy module loaded
        (tmp_path / "t").mkdir()
        zarr.open_group(str(tmp_path / "t"), mode="w").attrs["oscihop_store"] = "training"
        load_network(tmp_path / "t")
    with pytest.raises(ValueError, match="does not exist"):
        load_network(tmp_path / "missing")


# ------------------------------------------------------------------------------- training
def test_training_on_digits_learns_and_resumes(tmp_path):
    from oscihop import datasets as D
    from oscihop.training import train

    d = D.load_digits(seed=0, n_train=160, n_test=100)
    net = akorn_classifier(64, 10, n=8, dim=4, layers=2, steps=3, gamma=0.5, seed=0)
    loss = CrossEntropy(units=np.arange(10))
    kw = dict(epochs=4, batch_size=32, optimizer="adam", schedule=0.02, X_test=d.X_test, labels_test=d.y_test,
              eval_train=None, progress=False)
    res = train(net, d.X_train, d.y_train, loss, lambda x: x, checkpoint=tmp_path / "ck", **kw)
    m = res.metrics
    assert isinstance(res.model, AKOrNNetwork)
    assert m.loss.values[-1] < 0.6 * m.loss.values[0]
    assert m.test_accuracy.values[-1] > 0.45 and m.train_accuracy.values[-1] > 0.55   # chance: 0.1
    # a run stopped after 2 epochs and resumed ends where the uninterrupted one did
    part = train(net, d.X_train, d.y_train, loss, lambda x: x, checkpoint=tmp_path / "ck2", **{**kw, "epochs": 2})
    assert part.metrics.sizes["epoch"] == 2
    rest = train(net, d.X_train, d.y_train, loss, lambda x: x, checkpoint=tmp_path / "ck2", **kw)
    assert rest.resumed_from == 2
    for name, a in res.params.items():
        np.testing.assert_array_equal(rest.params[name], a)


def test_losses_read_a_networks_outputs(nets):
    net = nets["dense"]
    r = Readout(net, [2, 0])
    assert r.read == "output"
    y = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(r(y), y[:, [2, 0]])
    np.testing.assert_array_equal(r.vjp(y, np.ones((2, 2))), [[1, 0, 1], [1, 0, 1]])
    with pytest.raises(ValueError, match="read='output' is for networks"):
        Readout(oh.Hopfield(np.zeros((3, 3))), [0], read="output")
    with pytest.raises(ValueError, match="does not fit"):
        Readout(net, [0], read="h")
    acc = oh.evaluate(net, np.ones((2, 7)), np.array([0, 1]), CrossEntropy(units=[0, 1, 2]), lambda x: x)
    assert acc in (0.0, 0.5, 1.0)


# ------------------------------------------------------------------------------- bad input
def test_bad_inputs_name_the_parameter(nets):
    net = nets["dense"]
    kur = net.layers[0]
    enc, dec, ros = net.encoder, net.decoder, net.readouts
    with pytest.raises(ValueError, match="`layers`"):
        AKOrNNetwork([], enc, ros, dec)
    with pytest.raises(ValueError, match=r"`layers\[1\]`.*Kuramoto"):
        AKOrNNetwork([kur, oh.Hopfield(np.zeros((2, 2)))], enc, ros, dec)
    with pytest.raises(ValueError, match="`encoder` must output layer 0's N D = 15"):
        AKOrNNetwork(net.layers, Linear(np.zeros((14, 7))), ros, dec)
    with pytest.raises(ValueError, match=r"`readouts\[0\]` must give layer 1's N D = 15"):
        AKOrNNetwork(net.layers, enc, [NormReadout(np.zeros((9, 3, 15))), ros[1]], dec)
    with pytest.raises(ValueError, match=r"`readouts\[0\]` is pointwise.*ConvCoupling"):
        AKOrNNetwork(net.layers, enc, [NormReadout(np.zeros((15, 3, 15)), pointwise=True), ros[1]], dec)
    with pytest.raises(ValueError, match="`decoder` must read the last read-out's 15"):
        AKOrNNetwork(net.layers, enc, ros, Linear(np.zeros((3, 10))))
    with pytest.raises(ValueError, match="`readouts` must be a list of 2"):
        AKOrNNetwork(net.layers, enc, ros[:1], dec)
    with pytest.raises(ValueError, match="`gamma`.*> 0"):
        AKOrNNetwork(net.layers, enc, ros, dec, gamma=-1.0)
    with pytest.raises(ValueError, match="`steps`"):
        AKOrNNetwork(net.layers, enc, ros, dec, steps=[3])
    with pytest.raises(ValueError, match=r"`init\[0\]` has a zero row"):
        AKOrNNetwork(net.layers, enc, ros, dec, init=[np.zeros((5, 3)), np.ones((5, 3))])
    with pytest.raises(ValueError, match=r"`inputs` must have shape \(B, 7\)"):
        net.forward(np.ones((2, 6)))
    with pytest.raises(ValueError, match="`inputs`"):
        net.forward(np.full((1, 7), np.nan))
    with pytest.raises(ValueError, match="`decoder.bias` must have shape"):
        net.replace(**{"decoder.bias": np.ones(4)})
    with pytest.raises(ValueError, match="`bias` must have shape"):
        Linear(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="`weight` must have shape"):
        NormReadout(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="`channels` must be a multiple of dim"):
        akorn_classifier(4, 2, dim=3, grid=(2, 2), channels=4)


@pytest.mark.slow
def test_experiment_script_quick(tmp_path):
    """scripts/exp_akorn_classify.py --quick: trains both networks, saves and reads them back, and
    writes its table and figure."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    out, ck = tmp_path / "out", tmp_path / "ck"
    proc = subprocess.run([sys.executable, str(root / "scripts" / "exp_akorn_classify.py"), "--quick", "--out", str(out),
                           "--checkpoints", str(ck)], capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = (out / "akorn_classify.md").read_text()
    assert table.count("\n| AKOrN") == 2
    assert (out / "akorn_classify.png").stat().st_size > 1000
    assert load_network(ck / "akorn_conv_quick.net.zarr").layers[0].conv_coupling is not None
