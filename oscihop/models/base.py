"""Common machinery of every model: state layout, evaluation wrappers, bounds."""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from .._validation import as_float_array, as_rng, check_finite, check_real, check_size, resolve_dtype
from ..kernels import params as P
from ..kernels import system as S
from ..kernels.activations import G_SUP, LIPSCHITZ_PER_BETA, activate

__all__ = ["State", "UNIT_TOL", "real_state", "assemble", "Model", "activation_constants"]

#: A state split into its parts: ``h`` (..., N) or None, ``x`` (..., N, D) or None.
State = namedtuple("State", ["h", "x"])

#: Deviation of |x_i| from 1 tolerated in initial states, per dtype.
UNIT_TOL = {np.dtype(np.float64): 1e-8, np.dtype(np.float32): 1e-4}

_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)


def real_state(value, name):
    """State(s) as a real float array: float32 and float64 arrays as they are, anything else
    through :func:`~oscihop._validation.as_float_array` (float64; complex, boolean, masked
    and string input refused, naming ``name``)."""
    if type(value) is np.ndarray and (value.dtype == _F64 or value.dtype == _F32):
        return value
    return as_float_array(value, name)


def assemble(dtype, fields):
    """Build the compiled-kernel :class:`SystemParams` of ``dtype`` from named fields."""
    nh = int(fields.get("nh", 0))
    nk = int(fields.get("nk", 0))
    dim = int(fields.get("dim", 1))
    w_rank = int(np.shape(fields.get("w_factor", np.zeros((0, 0))))[0])
    k_rank = int(np.shape(fields.get("k_factor", np.zeros((0, 0))))[0])
    asym = nk * dim + nh if int(fields.get("k_asym", 0)) else 0  # the gradient's J x (system_gradient)
    return P.pack_params(np.dtype(dtype), fields, S.work_size(nh, nk, dim, w_rank, k_rank) + asym)


class Model:
    """Base class: flat-state bookkeeping and the compiled evaluations.

    Subclasses set ``_nh`` (threshold units), ``_nk`` (oscillators), ``_dim`` and
    implement ``_fields(dtype)``, ``_lyapunov()`` and ``_descent_terms(y)``.
    Models are immutable once built: compiled parameter bundles are cached.
    """

    _nh = 0
    _nk = 0
    _dim = 0
    #: deprecated parameter names that :meth:`replace` still accepts, mapped to the current ones
    _PARAMETER_ALIASES: dict = {}

    # ------------------------------------------------------------------ layout
    @property
    def n(self):
        """Number of units N."""
        return max(self._nh, self._nk)

    @property
    def dim(self):
        """Oscillator dimension D (0 for a model without oscillators)."""
        return self._dim if self._nk else 0

    @property
    def size(self):
        """Length of the flat state ``y``."""
        return self._nh + self._nk * self._dim

    def params(self, dtype=np.float64):
        """The compiled-kernel parameter bundle for ``dtype`` (cached)."""
        cache = self.__dict__.get("_params_cache")
        if cache is not None and (dtype is _F64 or dtype is _F32):  # warm path of every solve
            p = cache.get(dtype)
            if p is not None:
                return p
        dt = resolve_dtype(dtype)
        cache = self.__dict__.setdefault("_params_cache", {})
        if dt not in cache:
            cache[dt] = assemble(dt, self._fields(dt))
        return cache[dt]

    # ------------------------------------------------------------- lyapunov
    @property
    def is_lyapunov(self):
        """True when the energy is guaranteed non-increasing along the flow."""
        return self._lyapunov()[0]

    @property
    def lyapunov_reason(self):
        """Why the energy is not guaranteed non-increasing ('' when it is)."""
        return self._lyapunov()[1]

    def _lyapunov(self):
        return True, ""

    # ---------------------------------------------------------------- states
    def _coerce(self, y, name="y"):
        """Return (2-D contiguous float array, was_1d)."""
        arr = real_state(y, name)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.size:
            raise ValueError(
                f"`{name}` must have shape ({self.size},) or (B, {self.size}) for this model "
                f"(size = {self._layout_text()}); got {arr.shape}. Use model.pack(...) to build states."
            )
        check_finite(arr, name)
        return np.ascontiguousarray(arr.reshape(-1, self.size)), arr.ndim == 1

    def _layout_text(self):
        parts = []
        if self._nh:
            parts.append(f"{self._nh} threshold units")
        if self._nk:
            parts.append(f"{self._nk} oscillators x D={self._dim}")
        return " + ".join(parts)

    def pack(self, h=None, x=None):
        """Flat state(s) from parts.

        Parameters
        ----------
        h : array_like, shape (..., N)
            Threshold-unit states (models with threshold units).
        x : array_like, shape (..., N, D)
            Oscillators (models with oscillators).

        Returns
        -------
        ndarray, shape (..., size)
        """
        parts = []
        lead = None
        if self._nh:
            if h is None:
                raise ValueError("`h` is required: this model has threshold units.")
            h = real_state(h, "h")
            if h.shape[-1:] != (self._nh,):
                raise ValueError(f"`h` must have shape (..., {self._nh}); got {h.shape}.")
            lead = h.shape[:-1]
            parts.append(h)
        elif h is not None:
            raise ValueError("`h` must be None: this model has no threshold units.")
        if self._nk:
            if x is None:
                raise ValueError("`x` is required: this model has oscillators.")
            x = real_state(x, "x")
            if x.shape[-2:] != (self._nk, self._dim):
                raise ValueError(f"`x` must have shape (..., {self._nk}, {self._dim}); got {x.shape}.")
            if lead is not None and x.shape[:-2] != lead:
                raise ValueError(f"`h` and `x` must have the same leading (batch) shape; got {lead} and {x.shape[:-2]}.")
            parts.append(x.reshape(x.shape[:-2] + (self._nk * self._dim,)))
        elif x is not None:
            raise ValueError("`x` must be None: this model has no oscillators.")
        if len(parts) == 1:
            return np.array(parts[0], dtype=parts[0].dtype)
        dt = np.result_type(*parts)
        return np.concatenate([p.astype(dt, copy=False) for p in parts], axis=-1)

    def unpack(self, y):
        """Split flat state(s) ``y`` (..., size) into ``State(h, x)`` views."""
        y = np.asarray(y)
        if y.shape[-1:] != (self.size,):
            raise ValueError(f"`y` must have shape (..., {self.size}); got {y.shape}.")
        h = y[..., : self._nh] if self._nh else None
        x = y[..., self._nh :].reshape(y.shape[:-1] + (self._nk, self._dim)) if self._nk else None
        return State(h, x)

    def normalize(self, y):
        """A copy of ``y`` with every oscillator scaled to unit length."""
        y = np.array(real_state(y, "y"))
        if self._nk:
            x = self.unpack(y).x
            norms = np.linalg.norm(x, axis=-1, keepdims=True)
            if np.any(norms == 0):
                raise ValueError("`y` has an oscillator of zero length, which cannot be normalised.")
            x /= norms
        return y

    def check_unit(self, y, name="y0"):
        """Raise unless every oscillator of ``y`` has unit length (within dtype tolerance)."""
        if not self._nk:
            return
        y = np.asarray(y)
        x = self.unpack(y).x
        norms = np.sqrt(np.einsum("...d,...d->...", x, x))  # a check only: norm's rounding is not needed
        dev = np.abs(norms - 1.0)
        tol = UNIT_TOL.get(y.dtype, 1e-8)
        if dev.size and dev.max() > tol:
            idx = np.unravel_index(int(np.argmax(dev)), dev.shape)
            raise ValueError(
                f"`{name}` must hold unit oscillators (|x_i| = 1 within {tol:g}); oscillator "
                f"{idx[-1]}{' of batch member ' + str(idx[0]) if len(idx) > 1 else ''} has |x| = {norms[idx]:.6g} "
                f"(off by {dev[idx]:.3g}). Pass model.normalize({name})."
            )

    def random_state(self, seed=None, batch=None, h_scale=1.0):
        """A random valid state: h ~ N(0, h_scale^2), oscillators uniform on the sphere.

        Parameters
        ----------
        seed : int or numpy.random.Generator, optional
        batch : int, optional
            Number of states; returns shape (batch, size) instead of (size,).
        """
        rng = as_rng(seed)
        lead = () if batch is None else (check_size(batch, "batch"),)
        h_scale = check_real(h_scale, "h_scale", low=0.0)
        h = h_scale * rng.standard_normal(lead + (self._nh,)) if self._nh else None
        x = None
        if self._nk:
            x = rng.standard_normal(lead + (self._nk, self._dim))
            x /= np.linalg.norm(x, axis=-1, keepdims=True)
        return self.pack(h=h, x=x)

    # ------------------------------------------------------------ evaluation
    def _check_continuous(self):
        """Raise if the model has no continuous-time right-hand side (binary units)."""

    def rhs(self, t, y):
        """Right-hand side dy/dt at state(s) ``y``; usable as ``solve_ivp(fun=model.rhs)``.

        Parameters
        ----------
        t : float
            Time (the models are autonomous; accepted for scipy compatibility).
        y : array_like, shape (size,) or (B, size)

        Returns
        -------
        ndarray, same shape and dtype (float64, or float32 for float32 input) as ``y``.
        """
        self._check_continuous()
        ys, single = self._coerce(y)
        out = np.empty_like(ys)
        S.batch_rhs(S.link(self.params(ys.dtype)), ys, out)  # the solver's own compiled function
        return out[0] if single else out

    def energy(self, y):
        """Energy (Lyapunov function candidate) at state(s) ``y``: float, or (B,) array."""
        ys, single = self._coerce(y)
        p = S.link(self.params(ys.dtype))  # the solver's own compiled function
        out = np.empty(ys.shape[0], dtype=np.float64 if single else ys.dtype)  # a float: unrounded
        S.batch_energy(p, p.fp[None], ys[:, None], out[:, None])
        return float(out[0]) if single else out

    def energy_gradient(self, y):
        """Ambient gradient dE/dy (oscillators treated as free vectors), same shape as ``y``."""
        self._check_continuous()
        ys, single = self._coerce(y)
        p = S.link(self.params(ys.dtype), "gradient")  # the kind's compiled gradient, by address
        out = np.empty_like(ys)
        S.batch_gradient(p, ys, out)
        return out[0] if single else out

    def energy_rate(self, y):
        """dE/dt = grad E . dy/dt at state(s) ``y``; <= 0 wherever ``is_lyapunov``."""
        grad = self.energy_gradient(y)
        f = self.rhs(0.0, y)
        return np.sum(np.asarray(grad, dtype=np.float64) * f, axis=-1)

    # ------------------------------------------------------------ observables
    def order_parameter(self, y):
        """Kuramoto order parameter ``r = |mean_i x_i|`` of state(s) ``y`` (..., size).

        Returns a float for one state, else an array of the leading shape.  1 means
        all oscillators aligned; about ``1/sqrt(N)`` for random ones.
        """
        if not self._nk:
            raise ValueError("`order_parameter` needs oscillators; this model has none.")
        x = self.unpack(np.asarray(y)).x
        r = np.linalg.norm(x.mean(axis=-2), axis=-1)
        return float(r) if r.ndim == 0 else r

    def overlaps(self, y, patterns=None):
        """Overlaps ``m_mu = xi_mu . g(h) / N`` of state(s) with stored patterns.

        Parameters
        ----------
        y : array_like, shape (..., size)
        patterns : array_like (P, N), optional
            Default: the patterns the Hopfield part was built from.

        Returns
        -------
        ndarray, shape (..., P)
        """
        hop = getattr(self, "hopfield", self)
        if not self._nh:
            raise ValueError("`overlaps` needs threshold units; this model has none.")
        xi = getattr(hop, "patterns", None) if patterns is None else as_float_array(patterns, "patterns")
        if xi is None:
            raise ValueError("`patterns` is required: this model was not built with Hopfield.from_patterns.")
        if xi.ndim != 2 or xi.shape[1] != self._nh:
            raise ValueError(f"`patterns` must have shape (P, {self._nh}); got {xi.shape}.")
        h = self.unpack(np.asarray(y, dtype=np.float64)).h
        if hop.activation == "sign":
            g = np.sign(h)
        else:
            lead = h.shape[:-1]
            flat = np.ascontiguousarray(h.reshape(-1, self._nh))
            g = np.empty_like(flat)
            for row, out in zip(flat, g):
                activate(None, P.ACTIVATIONS[hop.activation], hop.beta, row, out)
            g = g.reshape(lead + (self._nh,))
        return g @ xi.T / self._nh

    # ------------------------------------------------------------ parameters
    def parameters(self):
        """The trainable parameters: a dict name -> ndarray (copies).

        The names and shapes are the ones :func:`oscihop.value_and_grad` returns gradients
        for and :meth:`replace` accepts.  ``beta``, ``kappa_h`` and ``kappa_k`` are
        structural constants, not trainable.

        Returns
        -------
        dict
            Hopfield: ``"weights"`` (dense (N, N), the CSR ``data`` (nnz,) of sparse weights,
            or the factor (R, N) of a LowRank), ``"bias"`` (N,).  Kuramoto: ``"coupling"``
            (per edge (E,), dense (N, N) or low-rank factor (R, N)) or ``"strength"`` (a
            0-d array, mean field), ``"interaction_weights"`` (E,) (nonlinear
            interactions), ``"omega"`` ((D, D) global or (N, D, D) per unit, when set),
            ``"stimulus"`` (N, D) (when set).  HopfieldKuramoto: ``"hopfield.<name>"``,
            ``"kuramoto.<name>"``, ``"weights"`` (E,) (mode "network") or ``"alpha"``.

        Examples
        --------
        >>> import numpy as np, oscihop as oh
        >>> hop = oh.Hopfield(np.eye(3) * 0.5, bias=[0.1, 0.2, 0.3])
        >>> {k: v.shape for k, v in hop.parameters().items()}
        {'weights': (3, 3), 'bias': (3,)}
        """
        return {k: np.array(v, dtype=np.float64) for k, v in self._parameters().items()}

    def replace(self, **params):
        """A new model of the same type and structure with some parameters replaced.

        Parameters
        ----------
        **params : array_like
            Names from :meth:`parameters` (use ``**{"hopfield.bias": b}`` for the dotted
            names of the coupled model), each with the shape ``parameters()[name]`` has.
            The new values are validated like the constructor's (e.g. symmetric weights).

        Returns
        -------
        Model

        Examples
        --------
        >>> import numpy as np, oscihop as oh
        >>> hop = oh.Hopfield(np.zeros((2, 2)))
        >>> hop.replace(bias=[1.0, -1.0]).bias.tolist()
        [1.0, -1.0]
        """
        current = self._parameters()
        new = {}
        for name, value in params.items():
            if name in self._PARAMETER_ALIASES:
                alias, name = name, self._PARAMETER_ALIASES[name]
                warnings.warn(f"The parameter name {alias!r} is deprecated; use {name!r}.", DeprecationWarning,
                              stacklevel=2)
                if name in params:
                    raise ValueError(f"`{alias}` and `{name}` name the same parameter; pass only `{name}`.")
            if name not in current:
                raise ValueError(
                    f"`{name}` is not a parameter of this {type(self).__name__}; valid names: {sorted(current)}."
                )
            arr = as_float_array(value, name)
            want = np.shape(current[name])
            if arr.shape != want:
                raise ValueError(f"`{name}` must have shape {want} (as model.parameters()[{name!r}]); got {arr.shape}.")
            check_finite(arr, name)
            new[name] = arr
        return self._replace(new)

    def _parameters(self):
        """Name -> current value (not copied); subclasses override."""
        return {}

    def _replace(self, new):
        """Rebuild with the validated, correctly shaped values in ``new``."""
        raise NotImplementedError

    def _grads_from_fp(self, fp_bar, ip):
        """Map a gradient over the flat float array ``fp`` to named parameter gradients."""
        raise NotImplementedError

    # ---------------------------------------------------------- step bound
    def step_bound(self, y=None):
        """Largest Euler / AKOrN step with a guaranteed non-increasing energy.

        Any fixed step ``dt <= step_bound(y)`` taken by ``method="Euler"`` or
        ``method="AKOrN"`` (``gamma = dt``) from a state where the bound holds cannot
        increase the energy.  Returns 0.0 when there is no such guarantee (natural
        frequencies or any nonzero Omega, the binary ``sign`` model).

        Notes
        -----
        Derived from the descent lemma.  Write the energy as
        ``kappa_h L*(g) + Psi(g, x)`` with ``L*`` the convex conjugate of the
        Lagrangian and ``Psi`` smooth with one-sided curvature ``M``.  With ``ell``
        the Lipschitz constant of the activation (tanh: beta, sigmoid: beta/4,
        softmax: beta/2, relu: 1), co-coercivity of ``g`` gives for the threshold
        units ``Delta E_h <= |Delta g|^2 (M/2 - kappa_h (1-dt)/(dt ell))`` and for the
        oscillators (normalised step) ``Delta E_x <= sum_i dt |v_i|^2
        (-kappa_k/n_i + dt (kappa_k |F_i| + M)/2)``, ``n_i = sqrt(1 + dt^2 |v_i|^2)``.
        Both are <= 0 when::

            dt <= 1 / (1 + M ell / (2 kappa_h))        (threshold units)
            dt <= 1 / (F_max + M / kappa_k)             (oscillators)

        with ``M = max(kappa_h lambda_-(W), kappa_k Lambda_K) + A_max (1 + g_max)^2``,
        ``lambda_-(W) = max(0, -lambda_min(W))``, ``Lambda_K = max_i sum_j |J_ij| + 3|B_ij|``
        (curvature of E_K on the unit ball), ``A_max = max_i sum_j |a_ij|``,
        ``F_max = max_i |c_i| + sum_j (|J_ij| + |B_ij|) + A_i g_max^2 / kappa_k`` and
        ``g_max = sup |g|`` (for relu in the coupled model, read off the state ``y``).
        For a Hopfield network alone this is ``dt <= 1 / (1 + ell lambda_-(W) / 2)``;
        for Kuramoto alone ``dt <= 1 / (F_max + Lambda_K)``.
        """
        terms = self._descent_terms(y)
        if terms is None:
            return 0.0
        lam_w, ell, lam_k, f_k, a_row, g_max = terms
        kh = getattr(self, "kappa_h", 1.0)
        kk = getattr(self, "kappa_k", 1.0)
        m = max(kh * lam_w, kk * lam_k) + a_row * (1.0 + g_max) ** 2
        bound = np.inf
        if self._nh:
            bound = min(bound, 1.0 / (1.0 + m * ell / (2.0 * kh)))
        if self._nk:
            f_max = f_k + a_row * g_max**2 / kk
            denom = f_max + m / kk
            bound = min(bound, 1.0 / denom if denom > 0 else np.inf)
        return float(bound)

    def _descent_terms(self, y):
        """Terms of the step bound (see :meth:`step_bound`); None means no guarantee.

        Subclasses return ``(lambda_minus_W, ell, Lambda_K, F_K, A_max, g_max)``.
        """
        return None


def activation_constants(act, beta):
    """(ell, g_sup) of an activation code: Lipschitz constant and sup |g| (None: unbounded)."""
    ell = 1.0 if act == P.ACT_RELU else beta * LIPSCHITZ_PER_BETA[act]
    return ell, G_SUP[act]
