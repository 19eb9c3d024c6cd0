"""AKOrN's Kuramoto layer in PyTorch against ``oh.ConvCoupling`` with ``method="AKOrN"``.

The twin below follows the structure of AKOrN's ``KLayer``: an ``nn.Conv2d`` connectivity
(zero "same" padding, with a bias), a stimulus ``c``, the ``OmegaLayer`` of channel-pair
rotations with rates ``|omg_param|``, the tangent projection and the normalisation over each
group of D channels, and the energy logged before each update, ``-sum x . (conv(x) + c)``.
It needs PyTorch (the ``bench`` extra); without it the module is skipped.
"""

import numpy as np
import pytest

import oscihop as oh

torch = pytest.importorskip("torch")
nn = torch.nn


class OmegaLayer(nn.Module):
    """AKOrN's Omega: (x_2q, x_2q+1) -> (w_q x_2q+1, -w_q x_2q), w_q = |omg_param[q]|."""

    def __init__(self, channels, global_omg):
        super().__init__()
        self.global_omg = global_omg
        self.omg_param = nn.Parameter(torch.randn(1 if global_omg else channels // 2, 2, dtype=torch.float64))

    def forward(self, x):
        b, c, h, w = x.shape
        rates = torch.linalg.vector_norm(self.omg_param, dim=1)
        rates = rates.expand(c // 2) if self.global_omg else rates
        pairs = x.view(b, c // 2, 2, h, w)
        r = rates[None, :, None, None]
        return torch.stack([r * pairs[:, :, 1], -r * pairs[:, :, 0]], dim=2).view(b, c, h, w)


class KLayer(nn.Module):
    """The Kuramoto layer: T updates x <- normalize(x + gamma (Omega x + P_x(conv(x) + c)))."""

    def __init__(self, channels, dim, ksize, gamma, global_omg):
        super().__init__()
        self.dim, self.gamma = dim, gamma
        self.connectivity = nn.Conv2d(channels, channels, ksize, 1, ksize // 2, dtype=torch.float64)
        self.omg = OmegaLayer(channels, global_omg)

    def groups(self, x):
        return x.unflatten(1, (-1, self.dim))

    def normalize(self, x):
        g = self.groups(x)
        return (g / torch.linalg.vector_norm(g, dim=2, keepdim=True)).flatten(1, 2)

    def forward(self, x, c, steps):
        x = self.normalize(x)
        xs, es = [], []
        for _ in range(steps):
            y = self.connectivity(x) + c
            xg, yg = self.groups(x), self.groups(y)
            es.append(-(xg * yg).sum(dim=(1, 2, 3, 4)))
            proj = (yg - (yg * xg).sum(2, keepdim=True) * xg).flatten(1, 2)
            x = self.normalize(x + self.gamma * (self.omg(x) + proj))
            xs.append(x)
        return torch.stack(xs, 1), torch.stack(es, 1)


def _oscihop_layer(layer, conv, stim, grid, global_omg):
    """The oscihop model of ``layer`` for a batch member's stimulus image ``stim`` (C, H, W)."""
    d = layer.dim
    kk = conv.oscillators_per_pixel
    rates = torch.linalg.vector_norm(layer.omg.omg_param, dim=1).detach().numpy()
    if global_omg:
        omega = oh.pair_rotations(float(rates[0]), d)
    else:
        omega = oh.pair_rotations(np.repeat(rates.reshape(kk, d // 2), grid[0] * grid[1], axis=0), d, n=conv.n)
    return oh.Kuramoto(d, coupling=conv, stimulus=conv.to_state(stim).reshape(conv.n, d), omega=omega)


@pytest.mark.parametrize("ksize, global_omg, gamma", [(3, False, 1.0), (5, True, 0.3), (1, False, 0.7)])
def test_conv_layer_reproduces_the_pytorch_klayer(ksize, global_omg, gamma):
    """T updates of method="AKOrN" (dt = gamma) on a conv coupling with bias, stimulus and
    rotations are the PyTorch layer's iterates to rounding in float64, and ``akorn_energy``
    its logged energies."""
    torch.manual_seed(ksize)
    b, d, kk, grid, steps = 3, 4, 3, (5, 6), 6
    c = kk * d
    layer = KLayer(c, d, ksize, gamma, global_omg)
    x0 = torch.randn(b, c, *grid, dtype=torch.float64)
    stim = torch.randn(b, c, *grid, dtype=torch.float64)
    with torch.no_grad():
        xs, es = layer(x0, stim, steps)
    conv = oh.ConvCoupling(layer.connectivity.weight.detach().numpy(), layer.connectivity.bias.detach().numpy(),
                           grid=grid, dim=d)
    members = [_oscihop_layer(layer, conv, stim[k].numpy(), grid, global_omg) for k in range(b)]
    y0 = members[0].normalize(conv.to_state(x0.numpy()))
    t_eval = gamma * np.arange(steps + 1)
    sol = oh.solve(oh.stack(members), (0.0, steps * gamma), y0, method="AKOrN", dt=gamma, t_eval=t_eval)
    np.testing.assert_allclose(conv.to_images(sol.states[:, 1:]), xs.numpy(), rtol=0, atol=1e-12)
    logged = np.stack([m.akorn_energy(sol.states[k, :-1]) for k, m in enumerate(members)])
    np.testing.assert_allclose(logged, es.numpy(), rtol=1e-12, atol=1e-11)
    # one model for the whole batch when the stimulus is shared: the lockstep BLAS path
    with torch.no_grad():
        xs1, _ = layer(x0, stim[:1].expand(b, -1, -1, -1), steps)
    sol1 = oh.solve(members[0], (0.0, steps * gamma), y0, method="AKOrN", dt=gamma, t_eval=t_eval)
    np.testing.assert_allclose(conv.to_images(sol1.states[:, 1:]), xs1.numpy(), rtol=0, atol=1e-12)


def test_float32_layer_agrees_to_single_precision():
    torch.manual_seed(0)
    b, d, grid, steps = 2, 2, (4, 4), 5
    layer = KLayer(4, d, 3, 1.0, True).float()
    x0 = torch.randn(b, 4, *grid)
    stim = torch.randn(1, 4, *grid).expand(b, -1, -1, -1)
    with torch.no_grad():
        xs, _ = layer(x0, stim, steps)
    layer64 = layer.double()
    conv = oh.ConvCoupling(layer64.connectivity.weight.detach().numpy(), layer64.connectivity.bias.detach().numpy(),
                           grid=grid, dim=d)
    model = _oscihop_layer(layer64, conv, stim[0].double().numpy(), grid, True)
    y0 = model.normalize(conv.to_state(x0.double().numpy())).astype(np.float32)
    sol = oh.solve(model, (0.0, float(steps)), y0, method="AKOrN", dt=1.0, t_eval=[float(steps)])
    assert sol.states.dtype == np.float32
    np.testing.assert_allclose(conv.to_images(sol.states[:, -1]), xs[:, -1].numpy(), rtol=0, atol=2e-5)
