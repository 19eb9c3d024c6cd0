"""Layered AKOrN networks: stacked Kuramoto layers joined by read-outs, trained through the solve.

A network (:class:`AKOrNNetwork`) maps an input ``u`` (B, n_in) to outputs (B, n_out)
(class logits) in the way of AKOrN's classifiers (docs/theory.md §3.4):

1. the **encoder**, a :class:`Linear` map, gives layer 0's conditional stimulus
   ``c_0 = W_e u + b_e``;
2. **layer** ``l`` is an :class:`oscihop.Kuramoto` model (any coupling: dense, edges, low
   rank, D x D blocks, a :class:`~oscihop.ConvCoupling`) whose stimulus is its own
   ``stimulus`` plus the sample's ``c_l``.  Its oscillators start at the previous layer's
   final state (``carry``, when the sizes agree) or at the layer's fixed initial state, and
   run ``T_l`` steps of ``method="AKOrN"`` with ``dt = gamma_l``;
3. the **read-out** ``l`` (:class:`NormReadout`), AKOrN's ``ReadOutConv``, turns the final
   oscillators into features: the norm of a linear projection of each group, plus a bias,
   ``r_m = |P_m x| + b_m``.  The read-out of layer ``l < L - 1`` is layer ``l + 1``'s
   stimulus ``c_{l+1}``;
4. the **decoder**, a :class:`Linear` map of the last read-out, gives the outputs.

Every sample has its own stimulus, so each layer runs as one :func:`oscihop.stack` of its
model (one compiled batch) and is differentiated by :func:`oscihop.value_and_grad` on that
stack (the adjoint through every step, per-member gradients for the stimulus).  The
read-outs, encoder and decoder are NumPy with hand-written VJPs.  Networks are trained with
:func:`oscihop.training.train` like the other models (``loss=CrossEntropy(units=...)``
reads the outputs), and saved to a zarr store with :meth:`AKOrNNetwork.save` /
:func:`load_network`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ._validation import as_float_array, check_bool, check_finite, check_positive, check_shape, check_size

__all__ = ["Linear", "NormReadout", "AKOrNNetwork", "NetworkTrace", "akorn_classifier", "load_network",
           "STORE_KIND"]

#: The ``oscihop_store`` kind of a saved network (see :mod:`oscihop.io.stores`).
STORE_KIND = "network"
FORMAT_VERSION = 1


def _matrix(value, name, shape):
    arr = check_shape(as_float_array(value, name), shape, name)
    return np.ascontiguousarray(check_finite(arr, name), dtype=np.float64)


class Linear:
    """An affine map ``y = W u + b``: the encoder and the decoder of a network.

    Parameters
    ----------
    weight : array_like, shape (out, in)
        ``torch.nn.Linear.weight``'s layout.
    bias : array_like, shape (out,), optional
        Zeros when omitted.
    """

    def __init__(self, weight, bias=None):
        self.weight = _matrix(weight, "weight", (None, None))
        if min(self.weight.shape) < 1:
            raise ValueError(f"`weight` must have shape (out, in) with out, in >= 1; got {self.weight.shape}.")
        out = self.weight.shape[0]
        self.bias = np.zeros(out) if bias is None else _matrix(bias, "bias", (out,))

    @property
    def in_features(self):
        return self.weight.shape[1]

    @property
    def out_features(self):
        return self.weight.shape[0]

    def __call__(self, u):
        return u @ self.weight.T + self.bias

    def vjp(self, u, dy):
        """``(du, dweight, dbias)`` for ``dy`` the gradient of the output (B, out)."""
        return dy @ self.weight, dy.T @ u, dy.sum(axis=0)

    def __repr__(self):
        return f"Linear(in={self.in_features}, out={self.out_features})"


class NormReadout:
    r"""AKOrN's read-out: the norm of a linear projection of each group, plus a bias.

    ``r_m = |P_m z + q_m| + b_m``, where ``P_m`` (G, F) projects the input features ``z`` (F,)
    onto a group of G components and ``q_m`` (G,) is the projection's own bias (AKOrN:
    ``ReadOutConv`` with ``out_dim = G``, whose ``invconv`` weight reshaped to (M, G, F) is
    ``weight`` and whose ``invconv`` bias reshaped to (M, G) is ``proj_bias``).

    Parameters
    ----------
    weight : array_like, shape (M, G, F)
        ``M`` outputs of ``G`` components each, from ``F`` input features.
    bias : array_like, shape (M,), optional
        Zeros when omitted.
    proj_bias : array_like, shape (M, G), optional
        The bias inside the norm; zeros when omitted.
    pointwise : bool, default False
        False: ``z`` is the layer's whole final state (F = N D).  True: the read-out is a
        1 x 1 convolution over the grid of a :class:`~oscihop.ConvCoupling` layer, applied
        to the C = F channels at every pixel, and its output is an image of M channels
        (AKOrN's ``ReadOutConv(ch, ch_next, n, 1, 1, 0)``).

    Notes
    -----
    The gradient at ``P_m z + q_m = 0`` (where the norm has none) is taken as 0.
    """

    def __init__(self, weight, bias=None, proj_bias=None, pointwise=False):
        self.weight = _matrix(weight, "weight", (None, None, None))
        if min(self.weight.shape) < 1:
            raise ValueError(f"`weight` must have shape (M, G, F) with M, G, F >= 1; got {self.weight.shape}.")
        m, g = self.weight.shape[:2]
        self.bias = np.zeros(m) if bias is None else _matrix(bias, "bias", (m,))
        self.proj_bias = np.zeros((m, g)) if proj_bias is None else _matrix(proj_bias, "proj_bias", (m, g))
        self.pointwise = check_bool(pointwise, "pointwise")

    @property
    def out_features(self):
        return self.weight.shape[0]

    @property
    def in_features(self):
        return self.weight.shape[2]

    def _project(self, z):
        # z: (B, F) or, pointwise, (B, F, H, W) -> (B, M, G[, H, W])
        if self.pointwise:
            return np.einsum("mgf,bfhw->bmghw", self.weight, z, optimize=True) + self.proj_bias[:, :, None, None]
        return np.einsum("mgf,bf->bmg", self.weight, z, optimize=True) + self.proj_bias

    def _bias(self, r):
        return self.bias[(slice(None),) + (None,) * (r.ndim - 2)] if self.pointwise else self.bias

    def __call__(self, z):
        """The features: (B, M), or (B, M, H, W) when pointwise."""
        v = self._project(z)
        r = np.sqrt(np.sum(v * v, axis=2))
        return r + self._bias(r)

    def vjp(self, z, dr):
        """``(dz, dweight, dbias, dproj_bias)`` for ``dr`` the gradient of the features."""
        v = self._project(z)
        norm = np.sqrt(np.sum(v * v, axis=2, keepdims=True))
        dv = np.expand_dims(dr, 2) * np.divide(v, norm, out=np.zeros_like(v), where=norm > 0)
        if self.pointwise:
            dz = np.einsum("bmghw,mgf->bfhw", dv, self.weight, optimize=True)
            dw = np.einsum("bmghw,bfhw->mgf", dv, z, optimize=True)
            return dz, dw, dr.sum(axis=(0, 2, 3)), dv.sum(axis=(0, 3, 4))
        dz = np.einsum("bmg,mgf->bf", dv, self.weight, optimize=True)
        dw = np.einsum("bmg,bf->mgf", dv, z, optimize=True)
        return dz, dw, dr.sum(axis=0), dv.sum(axis=0)

    def __repr__(self):
        m, g, f = self.weight.shape
        return f"NormReadout(out={m}, group={g}, in={f}{', pointwise' if self.pointwise else ''})"


def _with_stimulus(model):
    """``model`` with a (zero) stimulus slot, so that every sample can add its own field."""
    if model.stimulus is not None:
        return model
    from .io.serialize import model_from_dict, model_to_dict

    d = model_to_dict(model)
    d["params"]["has_stimulus"] = True
    d["arrays"]["stimulus"] = np.zeros((model.n, model.dim))
    return model_from_dict(d)


def _per_layer(value, name, count, kind):
    vals = list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value] * count
    if len(vals) != count:
        raise ValueError(f"`{name}` must be one value or one per layer ({count}); got {len(vals)}.")
    out = []
    for v in vals:
        out.append(check_size(v, name) if kind == "int" else check_positive(v, name))
    return out


@dataclass
class NetworkTrace:
    """What one forward pass went through (``AKOrNNetwork.forward(u, trace=True)``).

    Attributes
    ----------
    outputs : ndarray (B, n_out)
    stimuli : list of ndarray (B, N_l D_l), the conditional stimulus of each layer
    initial : list of ndarray (B, N_l D_l), each layer's starting oscillators
    states : list of ndarray (B, N_l D_l), each layer's final oscillators
    features : list of ndarray, each read-out's output ((B, M) or (B, M, H, W))
    energies : list of ndarray (B,), each layer's energy at its final state (its own
        stimulus plus the sample's)
    """

    outputs: np.ndarray
    stimuli: list = field(default_factory=list)
    initial: list = field(default_factory=list)
    states: list = field(default_factory=list)
    features: list = field(default_factory=list)
    energies: list = field(default_factory=list)
    stacks: list = field(default_factory=list, repr=False)


class AKOrNNetwork:
    """A layered AKOrN network: encoder, [Kuramoto layer, T AKOrN steps, read-out] x L, decoder.

    Parameters
    ----------
    layers : sequence of Kuramoto
        The oscillator layers, any coupling.  A layer without a stimulus gets a zero one (its
        own constant field, trained with the rest).
    encoder : Linear
        ``in_features`` = the input size, ``out_features`` = layer 0's ``N D``.
    readouts : sequence of NormReadout, one per layer
        Read-out ``l`` reads layer ``l``'s final state (F = ``N D``, or pointwise the C
        channels of a conv layer).  For ``l < L - 1`` its output is layer ``l + 1``'s
        stimulus: M = ``N D`` of that layer (dense), or its C channels on the same grid
        (pointwise into a conv layer).
    decoder : Linear
        From the last read-out's features (flattened) to the outputs.
    steps : int or sequence of int, default 8
        AKOrN steps ``T`` per layer.
    gamma : float or sequence of float, default 1.0
        AKOrN's step size per layer (``dt`` of ``method="AKOrN"``).
    init : sequence of array_like (N_l, D_l), optional
        Each layer's initial oscillators (normalised); default: random unit vectors drawn
        with ``seed``, the same for every sample.
    carry : bool, default True
        Start layer ``l + 1`` at layer ``l``'s final oscillators when their shapes agree (as
        AKOrN does), else at its own ``init``.
    seed : int, default 0
        Seed of the default ``init``.

    Examples
    --------
    >>> import numpy as np, oscihop as oh
    >>> net = oh.akorn_classifier(n_inputs=6, n_classes=3, n=4, dim=2, layers=2, steps=3, seed=0)
    >>> net.forward(np.ones((5, 6))).shape
    (5, 3)
    >>> sorted(net.parameters())[:3]
    ['decoder.bias', 'decoder.weight', 'encoder.bias']
    """

    def __init__(self, layers, encoder, readouts, decoder, *, steps=8, gamma=1.0, init=None, carry=True, seed=0):
        from .models import Kuramoto

        layers = list(layers) if isinstance(layers, (list, tuple)) else None
        if not layers:
            raise ValueError("`layers` must be a non-empty list of oh.Kuramoto models (the oscillator layers).")
        for k, m in enumerate(layers):
            if not isinstance(m, Kuramoto):
                raise ValueError(f"`layers[{k}]` must be an oh.Kuramoto model; got {type(m).__name__}.")
        self.layers = [_with_stimulus(m) for m in layers]
        nl = len(self.layers)
        if not isinstance(encoder, Linear):
            raise ValueError(f"`encoder` must be an oscihop.networks.Linear; got {type(encoder).__name__}.")
        if not isinstance(decoder, Linear):
            raise ValueError(f"`decoder` must be an oscihop.networks.Linear; got {type(decoder).__name__}.")
        readouts = list(readouts) if isinstance(readouts, (list, tuple)) else []
        if len(readouts) != nl or not all(isinstance(r, NormReadout) for r in readouts):
            raise ValueError(f"`readouts` must be a list of {nl} NormReadout (one per layer); got {len(readouts)} "
                             f"of types {[type(r).__name__ for r in readouts]}.")
        self.encoder, self.decoder, self.readouts = encoder, decoder, readouts
        self.steps = _per_layer(steps, "steps", nl, "int")
        self.gamma = _per_layer(gamma, "gamma", nl, "float")
        self.carry = check_bool(carry, "carry")
        self.seed = check_size(seed, "seed", minimum=0)
        self._check_shapes()
        if init is None:
            rng = np.random.default_rng(self.seed)
            init = [rng.standard_normal((m.n, m.dim)) for m in self.layers]
        init = list(init) if isinstance(init, (list, tuple)) else None
        if init is None or len(init) != nl:
            raise ValueError(f"`init` must be None or a list of {nl} arrays (N_l, D_l), one per layer.")
        self.init = []
        for k, (m, x) in enumerate(zip(self.layers, init)):
            x = _matrix(x, f"init[{k}]", (m.n, m.dim))
            norm = np.linalg.norm(x, axis=1, keepdims=True)
            if np.any(norm == 0):
                raise ValueError(f"`init[{k}]` has a zero row; every initial oscillator needs a direction.")
            # unit rows are kept as they are, so that a saved network reads back bit for bit
            self.init.append(x / np.where(np.abs(norm - 1.0) <= 1e-14, 1.0, norm))

    # ---------------------------------------------------------------- structure
    def _check_shapes(self):
        first = self.layers[0]
        if self.encoder.out_features != first.size:
            raise ValueError(f"`encoder` must output layer 0's N D = {first.size} values (its stimulus); it has "
                             f"out_features = {self.encoder.out_features}.")
        for k, (m, ro) in enumerate(zip(self.layers, self.readouts)):
            conv = m.conv_coupling
            if ro.pointwise:
                if conv is None:
                    raise ValueError(f"`readouts[{k}]` is pointwise, which needs a ConvCoupling layer (a grid); "
                                     f"layer {k} has none. Use pointwise=False.")
                if ro.in_features != conv.channels:
                    raise ValueError(f"`readouts[{k}]` must read the {conv.channels} channels of layer {k} "
                                     f"(weight (M, G, {conv.channels})); got F = {ro.in_features}.")
            elif ro.in_features != m.size:
                raise ValueError(f"`readouts[{k}]` must read layer {k}'s N D = {m.size} values (weight (M, G, "
                                 f"{m.size})); got F = {ro.in_features}.")
            if k + 1 < len(self.layers):
                nxt = self.layers[k + 1]
                if ro.pointwise and nxt.conv_coupling is not None:
                    if ro.out_features != nxt.conv_coupling.channels or nxt.conv_coupling.grid != conv.grid:
                        raise ValueError(f"`readouts[{k}]` feeds conv layer {k + 1}: it must give its "
                                         f"{nxt.conv_coupling.channels} channels on the grid {nxt.conv_coupling.grid}; "
                                         f"it gives {ro.out_features} channels on {conv.grid}.")
                elif self._feature_size(k) != nxt.size:
                    raise ValueError(f"`readouts[{k}]` must give layer {k + 1}'s N D = {nxt.size} values (its "
                                     f"stimulus); it gives {self._feature_size(k)}.")
        if self.decoder.in_features != self._feature_size(len(self.layers) - 1):
            raise ValueError(f"`decoder` must read the last read-out's {self._feature_size(len(self.layers) - 1)} "
                             f"features; it has in_features = {self.decoder.in_features}.")

    def _feature_size(self, k):
        ro = self.readouts[k]
        if ro.pointwise:
            h, w = self.layers[k].conv_coupling.grid
            return ro.out_features * h * w
        return ro.out_features

    @property
    def size(self):
        """The input size (``encoder.in_features``): what ``encode`` returns per sample in training."""
        return self.encoder.in_features

    @property
    def output_size(self):
        """The number of outputs (``decoder.out_features``)."""
        return self.decoder.out_features

    @property
    def dim(self):
        """The oscillator dimension of the first layer."""
        return self.layers[0].dim

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        parts = ", ".join(f"{m.n}x{m.dim} T={t} gamma={g:g}" for m, t, g in zip(self.layers, self.steps, self.gamma))
        return f"AKOrNNetwork(in={self.size}, layers=[{parts}], out={self.output_size})"

    # ---------------------------------------------------------------- parameters
    def parameters(self):
        """The trainable arrays (copies): ``encoder.*``, ``layer<l>.<name>`` (the names of
        ``Kuramoto.parameters()``), ``readout<l>.weight`` / ``.bias`` / ``.proj_bias``, ``decoder.*``."""
        out = {"encoder.weight": self.encoder.weight.copy(), "encoder.bias": self.encoder.bias.copy()}
        for k, (m, ro) in enumerate(zip(self.layers, self.readouts)):
            out.update({f"layer{k}.{n}": v for n, v in m.parameters().items()})
            out[f"readout{k}.weight"] = ro.weight.copy()
            out[f"readout{k}.bias"] = ro.bias.copy()
            out[f"readout{k}.proj_bias"] = ro.proj_bias.copy()
        out["decoder.weight"] = self.decoder.weight.copy()
        out["decoder.bias"] = self.decoder.bias.copy()
        return out

    def replace(self, **params):
        """A new network with some parameters replaced (names and shapes of :meth:`parameters`)."""
        current = self.parameters()
        for name, value in params.items():
            if name not in current:
                raise ValueError(f"`{name}` is not a parameter of this network; valid names: {sorted(current)}.")
            if np.shape(value) != current[name].shape:
                raise ValueError(f"`{name}` must have shape {current[name].shape} (as parameters()[{name!r}]); "
                                 f"got {np.shape(value)}.")
        current.update(params)
        layers = []
        for k, m in enumerate(self.layers):
            mine = {n.split(".", 1)[1]: v for n, v in params.items() if n.startswith(f"layer{k}.")}
            layers.append(m.replace(**mine) if mine else m)
        readouts = [NormReadout(current[f"readout{k}.weight"], current[f"readout{k}.bias"],
                                current[f"readout{k}.proj_bias"], ro.pointwise) for k, ro in enumerate(self.readouts)]
        return AKOrNNetwork(layers, Linear(current["encoder.weight"], current["encoder.bias"]), readouts,
                            Linear(current["decoder.weight"], current["decoder.bias"]), steps=self.steps,
                            gamma=self.gamma, init=self.init, carry=self.carry, seed=self.seed)

    # ---------------------------------------------------------------- forward
    def _inputs(self, u, name="inputs"):
        arr = as_float_array(u, name)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] != self.size or arr.shape[0] < 1:
            raise ValueError(f"`{name}` must have shape (B, {self.size}) (one input per sample); got {np.shape(u)}.")
        return np.ascontiguousarray(check_finite(arr, name), dtype=np.float64)

    def _carried(self, k):
        return self.carry and k > 0 and self.layers[k].size == self.layers[k - 1].size \
            and self.layers[k].dim == self.layers[k - 1].dim

    def _stack(self, k, c):
        """Layer ``k`` with sample ``b``'s stimulus ``own + c[b]``: one stack, one compiled batch."""
        from .models import stack

        m = self.layers[k]
        own = m.stimulus
        return stack([m.replace(stimulus=own + row.reshape(m.n, m.dim)) for row in c])

    def _span(self, k):
        return (0.0, self.steps[k] * self.gamma[k])

    def _readout_input(self, k, x):
        conv = self.layers[k].conv_coupling
        return conv.to_images(x) if self.readouts[k].pointwise else x

    def _to_stimulus(self, k, r):
        """Read-out ``k``'s features as layer ``k + 1``'s stimulus (B, N D)."""
        nxt = self.layers[k + 1].conv_coupling
        if self.readouts[k].pointwise and nxt is not None:
            return nxt.to_state(r)
        return r.reshape(r.shape[0], -1)

    def _from_stimulus(self, k, dc, shape):
        """The adjoint of :meth:`_to_stimulus` (a permutation's adjoint is its inverse)."""
        nxt = self.layers[k + 1].conv_coupling
        if self.readouts[k].pointwise and nxt is not None:
            return nxt.to_images(dc)
        return dc.reshape(shape)

    def forward(self, inputs, *, trace=False, dtype=None):
        """The outputs (B, n_out) of inputs (B, n_in), or with ``trace`` a :class:`NetworkTrace`.

        Raises
        ------
        FloatingPointError
            When a layer's solve fails or gives non-finite oscillators (never a silent NaN).
        """
        tr = self._run(self._inputs(inputs), dtype, energies=trace)
        return tr if trace else tr.outputs

    __call__ = forward

    def _run(self, u, dtype, energies):
        """The forward pass of checked inputs, every layer's states kept (a NetworkTrace)."""
        from .solvers import solve

        nb = u.shape[0]
        tr = NetworkTrace(outputs=None)
        c = self.encoder(u)
        x = None
        for k, m in enumerate(self.layers):
            x0 = x if self._carried(k) else np.broadcast_to(self.init[k].ravel(), (nb, m.size))
            st = self._stack(k, c)
            t0, t1 = self._span(k)
            sol = solve(st, (t0, t1), np.ascontiguousarray(x0), method="AKOrN", dt=self.gamma[k], t_eval=[t1],
                        dtype=dtype)
            x = np.asarray(sol.y[:, :, -1], dtype=np.float64)
            if not np.all(sol.success) or not np.all(np.isfinite(x)):
                raise FloatingPointError(f"layer {k} of the network failed: {sol.message} Lower `gamma` (now "
                                         f"{self.gamma[k]:g}) or the size of the weights.")
            r = self.readouts[k](self._readout_input(k, x))
            tr.stimuli.append(c)
            tr.initial.append(np.asarray(x0))
            tr.states.append(x)
            tr.features.append(r)
            tr.stacks.append(st)
            if energies:
                tr.energies.append(st.energy(x))
            c = self._to_stimulus(k, r) if k + 1 < len(self.layers) else None
        tr.outputs = self.decoder(tr.features[-1].reshape(nb, -1))
        return tr

    # ---------------------------------------------------------------- gradient
    def value_and_grad(self, loss, inputs, *, wrt=None, dtype=None):
        """A loss of the outputs and its gradient in every parameter and the inputs.

        Parameters
        ----------
        loss : callable
            ``loss(outputs) -> (value, dvalue_doutputs)`` (the protocol of
            :func:`oscihop.value_and_grad`), e.g. ``CrossEntropy(units=range(K))(net, labels)``.
        inputs : array_like (B, n_in)
        wrt : sequence of str, optional
            Names of :meth:`parameters` to return (default all).
        dtype : {"float64", "float32"}, optional
            Precision of the layers' solves (the adjoint accumulates in float64).

        Returns
        -------
        oscihop.GradientResult
            ``value``, ``grads`` (name -> array), ``y0`` (the gradient w.r.t. the inputs),
            ``y`` (the outputs), ``stats`` (``nfev``, ``time_forward``, ``time_backward``).

        Notes
        -----
        Layer ``l`` is differentiated by :func:`oscihop.value_and_grad` on the stack of its
        samples, with the loss ``x -> <x_bar, x>`` (the gradient flowing back into its final
        oscillators): the member gradients of ``stimulus`` are the samples' ``c_bar``
        (their sum the layer's own stimulus gradient), the other layer parameters' are
        summed, and ``y0`` flows into the previous layer when the state is carried.
        """
        import time

        from .gradients import GradientResult, _call_loss, value_and_grad

        valid = list(self.parameters())
        names = valid if wrt is None else list(wrt)
        unknown = sorted(set(names) - set(valid))
        if unknown:
            raise ValueError(f"`wrt` names unknown parameters {unknown}; valid names: {sorted(valid)}.")
        u = self._inputs(inputs)
        nb = u.shape[0]
        t_start = time.perf_counter()
        tr = self._run(u, dtype, energies=False)
        t_forward = time.perf_counter() - t_start
        value, dout = _call_loss(loss, tr.outputs)
        t_start = time.perf_counter()
        grads = {}
        nl = len(self.layers)
        h = tr.features[-1].reshape(nb, -1)
        dh, grads["decoder.weight"], grads["decoder.bias"] = self.decoder.vjp(h, dout)
        dr = dh.reshape(tr.features[-1].shape)
        dx_carry = None
        nfev = 0
        for k in range(nl - 1, -1, -1):
            m = self.layers[k]
            z = self._readout_input(k, tr.states[k])
            dz, grads[f"readout{k}.weight"], grads[f"readout{k}.bias"], grads[f"readout{k}.proj_bias"] = \
                self.readouts[k].vjp(z, dr)
            dx = m.conv_coupling.to_state(dz) if self.readouts[k].pointwise else dz
            if dx_carry is not None:
                dx = dx + dx_carry
            dx = np.ascontiguousarray(dx)
            t0, t1 = self._span(k)
            res = value_and_grad(tr.stacks[k], lambda y, g=dx: (float(np.sum(g * y)), g), tr.initial[k], (t0, t1),
                                 method="AKOrN", dt=self.gamma[k], dtype=dtype)
            if not res.success:
                raise FloatingPointError(f"layer {k} of the network failed in the gradient: {res.message}")
            nfev += int(res.stats.get("nfev", 0)) + int(res.stats.get("nfev_backward", 0))
            dc = None
            for name, g in res.grads.items():
                g = np.asarray(g, dtype=np.float64)
                grads[f"layer{k}.{name}"] = g.sum(axis=0)
                if name == "stimulus":
                    dc = g.reshape(nb, -1)
            dx_carry = np.asarray(res.y0, dtype=np.float64) if self._carried(k) else None
            if k > 0:
                dr = self._from_stimulus(k - 1, dc, tr.features[k - 1].shape)
        du, grads["encoder.weight"], grads["encoder.bias"] = self.encoder.vjp(u, dc)
        t_backward = time.perf_counter() - t_start
        stats = {"nfev": nfev, "time_forward": t_forward, "time_backward": t_backward}
        return GradientResult(float(value), {n: grads[n] for n in names}, du, tr.outputs, stats)

    # ---------------------------------------------------------------- storage
    def save(self, path, *, overwrite=False):
        """Write the network to a zarr store at ``path`` (a directory); :func:`load_network` reads it.

        Every array carries per-chunk checksums; the store is marked complete only after the
        last array is written, so an interrupted save is refused on load, never half read.
        ``overwrite=True`` replaces an oscihop network store only (never other files).
        """
        import zarr

        from ._json import jsonable
        from .io import integrity
        from .io.serialize import model_to_dict
        from .io.stores import check_writable

        state = check_writable(path, STORE_KIND, overwrite=bool(overwrite), name="`path`", flag="overwrite=True")
        if state.state == "oscihop":
            import shutil

            shutil.rmtree(os.fspath(path))
        root = zarr.open_group(os.fspath(path), mode="w", zarr_format=3)
        root.attrs.update({"oscihop_store": STORE_KIND, "format_version": FORMAT_VERSION, "complete": False})
        arrays = {"encoder.weight": self.encoder.weight, "encoder.bias": self.encoder.bias,
                  "decoder.weight": self.decoder.weight, "decoder.bias": self.decoder.bias}
        layers = []
        for k, (m, ro) in enumerate(zip(self.layers, self.readouts)):
            d = model_to_dict(m)
            layers.append({"kind": d["kind"], "params": d["params"], "arrays": sorted(d["arrays"])})
            arrays.update({f"layer{k}.{n}": v for n, v in d["arrays"].items()})
            arrays[f"readout{k}.weight"] = ro.weight
            arrays[f"readout{k}.bias"] = ro.bias
            arrays[f"readout{k}.proj_bias"] = ro.proj_bias
            arrays[f"init{k}"] = self.init[k]
        for name, arr in arrays.items():
            root.create_array(name, data=np.ascontiguousarray(arr), **integrity.array_options())
        config = {"steps": self.steps, "gamma": self.gamma, "carry": self.carry, "seed": self.seed,
                  "pointwise": [ro.pointwise for ro in self.readouts], "layers": layers,
                  "arrays": sorted(arrays), "shapes": {n: list(np.shape(a)) for n, a in arrays.items()}}
        root.attrs.update({"config": jsonable(config), "complete": True})

    @classmethod
    def load(cls, path):
        """The network saved at ``path`` (see :func:`load_network`)."""
        return load_network(path)


def load_network(path):
    """Read a network written by :meth:`AKOrNNetwork.save`.

    Raises
    ------
    ValueError
        When ``path`` is not a complete oscihop network store (the message says what it is).
    oscihop.io.integrity.StoreDamagedError
        When an array's chunk is missing or fails its checksum (naming it).
    """
    import zarr

    from .io.integrity import check_group
    from .io.serialize import model_from_dict

    where = repr(os.fspath(path))
    if not os.path.isdir(os.fspath(path)):
        raise ValueError(f"`path` {where} does not exist or is not a directory; pass the directory "
                         "AKOrNNetwork.save wrote.")
    try:
        root = zarr.open_group(os.fspath(path), mode="r")
        attrs = root.attrs.asdict()
    except Exception as exc:  # noqa: BLE001 - anything unreadable is not a network store
        raise ValueError(f"`path` {where} is not a zarr store ({type(exc).__name__}: {exc}).") from None
    if attrs.get("oscihop_store") != STORE_KIND:
        raise ValueError(f"`path` {where} is not an oscihop network store (its kind is "
                         f"{attrs.get('oscihop_store')!r}).")
    if not attrs.get("complete") or "config" not in attrs:
        raise ValueError(f"`path` {where} is an incomplete network store (its save was interrupted); save the "
                         "network again.")
    if attrs.get("format_version", 1) > FORMAT_VERSION:
        raise ValueError(f"`path` {where} has network format version {attrs['format_version']}; this oscihop "
                         f"reads <= {FORMAT_VERSION}. Upgrade oscihop.")
    cfg = attrs["config"]
    check_group(root, f"`path` {where}", fix="Save the network again, or restore it from a copy.")
    missing = sorted(set(cfg["arrays"]) - set(root.array_keys()))
    if missing:
        raise ValueError(f"`path` {where} is a damaged network store: arrays {missing} are missing.")
    arr = {n: np.asarray(root[n][...]).reshape(cfg["shapes"][n]) for n in cfg["arrays"]}
    layers = []
    for k, spec in enumerate(cfg["layers"]):
        d = {"kind": spec["kind"], "params": spec["params"],
             "arrays": {n: arr[f"layer{k}.{n}"] for n in spec["arrays"]}}
        try:
            layers.append(model_from_dict(d))
        except ValueError as exc:
            raise ValueError(f"`path` {where}: layer {k} cannot be rebuilt: {exc}") from exc
    nl = len(layers)
    readouts = [NormReadout(arr[f"readout{k}.weight"], arr[f"readout{k}.bias"], arr[f"readout{k}.proj_bias"],
                            cfg["pointwise"][k]) for k in range(nl)]
    return AKOrNNetwork(layers, Linear(arr["encoder.weight"], arr["encoder.bias"]), readouts,
                        Linear(arr["decoder.weight"], arr["decoder.bias"]), steps=cfg["steps"], gamma=cfg["gamma"],
                        init=[arr[f"init{k}"] for k in range(nl)], carry=cfg["carry"], seed=cfg["seed"])


def akorn_classifier(n_inputs, n_classes, *, n=16, dim=4, layers=2, group=None, steps=4, gamma=0.5,
                     coupling_scale=None, grid=None, channels=None, kernel_size=3, seed=0):
    """A layered AKOrN classifier with small random parameters.

    Two forms:

    - dense (``grid=None``): ``n`` oscillators per layer, a dense symmetric coupling, dense
      read-outs (each output from the whole layer);
    - convolutional (``grid=(H, W)``): AKOrN's form, a :class:`~oscihop.ConvCoupling` of
      ``channels`` = K D channels on the grid per layer (kernel ``kernel_size``, with a bias),
      pointwise read-outs (1 x 1 convolutions), the encoder from the inputs to every channel
      of every pixel.

    Parameters
    ----------
    n_inputs, n_classes : int
        Input features and outputs (logits).
    n : int, default 16
        Oscillators per layer (dense form).
    dim : int, default 4
        Oscillator dimension D.
    layers : int, default 2
    group : int, optional
        Components G of each read-out group (default ``dim``, AKOrN's ``out_dim = n``).
    steps, gamma
        AKOrN steps per layer and their step size.
    coupling_scale : float, optional
        Standard deviation of the coupling entries (default ``1 / sqrt(fan-in)``).
    grid : (int, int), optional
        The image grid of the convolutional form.
    channels : int, optional
        Channels C = K D of the convolutional form (default ``4 * dim``).
    kernel_size : int, default 3
        Odd kernel size of the convolutional form.
    seed : int, default 0

    Returns
    -------
    AKOrNNetwork
    """
    from .couplings import ConvCoupling
    from .models import Kuramoto

    n_inputs = check_size(n_inputs, "n_inputs")
    n_classes = check_size(n_classes, "n_classes")
    dim = check_size(dim, "dim", minimum=2)
    layers = check_size(layers, "layers")
    group = dim if group is None else check_size(group, "group")
    rng = np.random.default_rng(seed)
    kur, ros = [], []
    if grid is None:
        n = check_size(n, "n", minimum=2)
        scale = 1.0 / np.sqrt(n) if coupling_scale is None else check_positive(coupling_scale, "coupling_scale")
        nd = n * dim
        for _ in range(layers):
            j = rng.standard_normal((n, n)) * scale
            j = 0.5 * (j + j.T)
            np.fill_diagonal(j, 0.0)
            kur.append(Kuramoto(dim, coupling=j, n=n, stimulus=np.zeros((n, dim))))
            ros.append(NormReadout(rng.standard_normal((nd, group, nd)) / np.sqrt(nd)))
        n_features = nd
    else:
        if not isinstance(grid, (tuple, list)) or len(grid) != 2:
            raise ValueError(f"`grid` must be a pair (H, W) of the image grid; got {grid!r}.")
        h, w = check_size(grid[0], "grid[0]"), check_size(grid[1], "grid[1]")
        ch = 4 * dim if channels is None else check_size(channels, "channels")
        if ch % dim:
            raise ValueError(f"`channels` must be a multiple of dim = {dim} (K oscillators of D channels per "
                             f"pixel); got {ch}.")
        ks = check_size(kernel_size, "kernel_size")
        if ks % 2 == 0:
            raise ValueError(f"`kernel_size` must be odd (a centred 'same' convolution); got {ks}.")
        scale = 1.0 / np.sqrt(ch * ks * ks) if coupling_scale is None else check_positive(coupling_scale, "coupling_scale")
        for _ in range(layers):
            conv = ConvCoupling(rng.standard_normal((ch, ch, ks, ks)) * scale, np.zeros(ch), grid=(h, w), dim=dim)
            kur.append(Kuramoto(dim, coupling=conv, stimulus=np.zeros((conv.n, dim))))
            ros.append(NormReadout(rng.standard_normal((ch, group, ch)) / np.sqrt(ch), pointwise=True))
        nd = kur[0].size
        n_features = ch * h * w
    enc = Linear(rng.standard_normal((nd, n_inputs)) / np.sqrt(n_inputs), np.zeros(nd))
    dec = Linear(rng.standard_normal((n_classes, n_features)) / np.sqrt(n_features), np.zeros(n_classes))
    return AKOrNNetwork(kur, enc, ros, dec, steps=steps, gamma=gamma, seed=seed)
