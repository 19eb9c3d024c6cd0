"""Slow, obviously right NumPy twins of oscihop's kernels.

Every function here is written straight from docs/theory.md §2-§5, on *dense* matrices,
with explicit loops where that makes the formula easier to read.  Nothing here imports oscihop:
these twins are the independent reference the compiled kernels are tested against.

Conventions
-----------
- ``h`` is (N,), ``x`` is (N, D) (rows are oscillators), ``b`` is (N,), ``c`` is (N, D).
- ``J``, ``B`` and ``A`` are dense symmetric (N, N) coefficient matrices; their diagonals are
  ignored (self-pairs are excluded everywhere).
- ``Omega`` is (N, D, D), one antisymmetric matrix per unit, or anything :func:`omega_per_unit`
  turns into one (None, a global (D, D), natural frequencies (N,) when D = 2).
"""
import numpy as np

ACTIVATIONS = ("tanh", "sigmoid", "relu", "softmax")
INTERACTIONS = ("linear", "relu", "tanh", "sigmoid")


# ---------------------------------------------------------------------------------------------
# scalar helpers, numerically stable
# ---------------------------------------------------------------------------------------------
def logcosh(z):
    """log cosh z = |z| + log(1 + exp(-2|z|)) - log 2, stable for any z."""
    a = np.abs(z)
    return a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)


def softplus(z):
    """log(1 + exp z) = max(z, 0) + log(1 + exp(-|z|)), stable for any z."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def sigmoid(z):
    """1 / (1 + exp(-z)), without overflow warnings."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def logsumexp(z):
    m = np.max(z)
    return m + np.log(np.sum(np.exp(z - m)))


def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()


# ---------------------------------------------------------------------------------------------
# Hopfield (docs/theory.md §2)
# ---------------------------------------------------------------------------------------------
def activation(h, name, beta):
    """g(h) = dL/dh."""
    h = np.asarray(h, dtype=float)
    if name == "tanh":
        return np.tanh(beta * h)
    if name == "sigmoid":
        return sigmoid(beta * h)
    if name == "relu":
        return np.maximum(h, 0.0)
    if name == "softmax":
        return softmax(beta * h)
    raise ValueError(name)


def lagrangian(h, name, beta):
    """L(h), the convex potential with dL/dh = g."""
    h = np.asarray(h, dtype=float)
    if name == "tanh":
        return np.sum(logcosh(beta * h)) / beta
    if name == "sigmoid":
        return np.sum(softplus(beta * h)) / beta
    if name == "relu":
        return np.sum(np.maximum(h, 0.0) ** 2) / 2.0
    if name == "softmax":
        return logsumexp(beta * h) / beta
    raise ValueError(name)


def lagrangian_hessian(h, name, beta):
    """Hessian of L = Jacobian dg/dh, an (N, N) matrix."""
    h = np.asarray(h, dtype=float)
    if name == "tanh":
        return np.diag(beta * (1.0 - np.tanh(beta * h) ** 2))
    if name == "sigmoid":
        s = sigmoid(beta * h)
        return np.diag(beta * s * (1.0 - s))
    if name == "relu":
        return np.diag((h > 0).astype(float))
    if name == "softmax":
        p = softmax(beta * h)
        return beta * (np.diag(p) - np.outer(p, p))
    raise ValueError(name)


def hopfield_rhs(W, b, h, activation_name, beta):
    """dh/dt = W g(h) - h + b."""
    g = activation(h, activation_name, beta)
    return W @ g - h + b


def hopfield_energy(W, b, h, activation_name, beta):
    """E_H = (h - b).g - L(h) - 1/2 g.W.g."""
    g = activation(h, activation_name, beta)
    return (h - b) @ g - lagrangian(h, activation_name, beta) - 0.5 * g @ W @ g


def hopfield_energy_gradient(W, b, h, activation_name, beta):
    """dE_H/dh = Hess L (h - b - W g)  (= -Hess L . dh/dt)."""
    g = activation(h, activation_name, beta)
    return lagrangian_hessian(h, activation_name, beta) @ (h - b - W @ g)


def binary_energy(W, b, s):
    """Binary Hopfield (1982) energy -1/2 s.W.s - b.s."""
    return -0.5 * s @ W @ s - b @ s


# ---------------------------------------------------------------------------------------------
# storage rules (patterns xi (P, N), entries +-1)
# ---------------------------------------------------------------------------------------------
def hebbian_weights(xi):
    """W = xi^T xi / N with zero diagonal."""
    xi = np.asarray(xi, dtype=float)
    W = xi.T @ xi / xi.shape[1]
    np.fill_diagonal(W, 0.0)
    return W


def pseudo_inverse_weights(xi):
    """Projection rule W = xi^T (xi xi^T)^-1 xi (diagonal kept)."""
    xi = np.asarray(xi, dtype=float)
    return xi.T @ np.linalg.inv(xi @ xi.T) @ xi


def storkey_weights(xi):
    """Storkey (1997), one pattern at a time:

    w_ij <- w_ij + (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N,  h_ij = sum_{k != i, j} w_ik xi_k,
    for i != j; the diagonal stays zero.
    """
    xi = np.asarray(xi, dtype=float)
    P, N = xi.shape
    W = np.zeros((N, N))
    for p in range(P):
        v = xi[p]
        H = np.zeros((N, N))
        for i in range(N):
            for j in range(N):
                H[i, j] = sum(W[i, k] * v[k] for k in range(N) if k != i and k != j)
        new = W.copy()
        for i in range(N):
            for j in range(N):
                if i != j:
                    new[i, j] = W[i, j] + (v[i] * v[j] - v[i] * H[j, i] - H[i, j] * v[j]) / N
        W = new
    return W


def lowrank_dense(factor, scale=1.0, zero_diagonal=True):
    """W = factor^T diag(scale) factor, diagonal zeroed when asked."""
    factor = np.asarray(factor, dtype=float)
    scale = np.broadcast_to(np.asarray(scale, dtype=float), (factor.shape[0],))
    W = factor.T @ np.diag(scale) @ factor
    if zero_diagonal:
        np.fill_diagonal(W, 0.0)
    return W


# ---------------------------------------------------------------------------------------------
# generalized Kuramoto (docs/theory.md §3)
# ---------------------------------------------------------------------------------------------
def phi(s, name):
    if name == "linear":
        return 0.0 * s
    if name == "relu":
        return np.maximum(s, 0.0) ** 2 / 2.0
    if name == "tanh":
        return logcosh(s)
    if name == "sigmoid":
        return softplus(s)
    raise ValueError(name)


def dphi(s, name):
    if name == "linear":
        return 0.0 * s
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "tanh":
        return np.tanh(s)
    if name == "sigmoid":
        return sigmoid(s)
    raise ValueError(name)


def dense_from_edges(n, edges, values):
    """Symmetric (n, n) matrix with values[e] at both (i, j) and (j, i) of edge e."""
    M = np.zeros((n, n))
    values = np.broadcast_to(np.asarray(values, dtype=float), (len(edges),))
    for (i, j), v in zip(np.asarray(edges).reshape(-1, 2), values):
        M[i, j] = v
        M[j, i] = v
    return M


def all_pairs(n):
    """(n(n-1)/2, 2) array of every pair i < j."""
    return np.array([(i, j) for i in range(n) for j in range(i + 1, n)], dtype=np.int64)


def rotation_generator_2d():
    return np.array([[0.0, -1.0], [1.0, 0.0]])


def omega_per_unit(omega, n, d):
    """(N, D, D) per-unit Omega from None, a global (D, D), a per-unit (N, D, D) or, for
    D = 2, natural frequencies (N,) (Omega_i = omega_i [[0, -1], [1, 0]])."""
    if omega is None:
        return np.zeros((n, d, d))
    omega = np.asarray(omega, dtype=float)
    if omega.ndim == 1:
        assert d == 2
        return omega[:, None, None] * rotation_generator_2d()[None]
    if omega.ndim == 2:
        return np.broadcast_to(omega, (n, d, d)).copy()
    return omega.copy()


def tangent_project(v, xi):
    """P(v) = v - <v, x> x / |x|^2 (docs/theory.md §5; v - <v, x> x on the sphere)."""
    return v - (v @ xi) / (xi @ xi) * xi


def kuramoto_energy(J, B, interaction, x, c=None):
    """E_K = sum_{i<j} -(J_ij s_ij + B_ij phi(s_ij)) - sum_i <c_i, x_i>."""
    n = x.shape[0]
    E = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            s = x[i] @ x[j]
            E -= J[i, j] * s + B[i, j] * phi(s, interaction)
    if c is not None:
        E -= np.sum(c * x)
    return E


def kuramoto_energy_gradient(J, B, interaction, x, c=None):
    """Ambient gradient dE_K/dx_i = -sum_{j != i} (J_ij + B_ij phi'(s_ij)) x_j - c_i."""
    n = x.shape[0]
    G = np.zeros_like(x, dtype=float)
    for i in range(n):
        for j in range(n):
            if j != i:
                s = x[i] @ x[j]
                G[i] -= (J[i, j] + B[i, j] * dphi(s, interaction)) * x[j]
    if c is not None:
        G -= c
    return G


def kuramoto_rhs(J, B, interaction, x, c=None, Omega=None):
    """dx_i/dt = Omega_i x_i - P_i(dE_K/dx_i)."""
    n, d = x.shape
    Omega = omega_per_unit(Omega, n, d)
    G = kuramoto_energy_gradient(J, B, interaction, x, c)
    out = np.zeros_like(x, dtype=float)
    for i in range(n):
        out[i] = Omega[i] @ x[i] - tangent_project(G[i], x[i])
    return out


# ---------------------------------------------------------------------------------------------
# Hopfield-Kuramoto (docs/theory.md §4); A is the dense symmetric matrix of the a_e on hk_edges
# ---------------------------------------------------------------------------------------------
def hk_coupling_energy(A, g, x):
    """E_HK = -sum_{i<j} a_ij s_ij g_i g_j."""
    n = x.shape[0]
    E = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            E -= A[i, j] * (x[i] @ x[j]) * g[i] * g[j]
    return E


def hk_energy(W, b, activation_name, beta, J, B, interaction, c, A, kappa_h, kappa_k, h, x):
    """E = kappa_h E_H(h) + kappa_k E_K(x) + E_HK."""
    g = activation(h, activation_name, beta)
    return (kappa_h * hopfield_energy(W, b, h, activation_name, beta)
            + kappa_k * kuramoto_energy(J, B, interaction, x, c)
            + hk_coupling_energy(A, g, x))


def hk_rhs(W, b, activation_name, beta, J, B, interaction, c, Omega, A, kappa_h, kappa_k, h, x):
    """dh_i/dt = (W g)_i - h_i + b_i + (1/kappa_h) sum_j a_ij s_ij g_j
    dx_i/dt = Omega_i x_i - (1/kappa_k) P_i(kappa_k dE_K/dx_i - sum_j a_ij g_i g_j x_j).
    Returns (hdot (N,), xdot (N, D))."""
    n, d = x.shape
    Omega = omega_per_unit(Omega, n, d)
    g = activation(h, activation_name, beta)
    hdot = hopfield_rhs(W, b, h, activation_name, beta)
    for i in range(n):
        for j in range(n):
            if j != i:
                hdot[i] += A[i, j] * (x[i] @ x[j]) * g[j] / kappa_h
    GK = kuramoto_energy_gradient(J, B, interaction, x, c)
    xdot = np.zeros_like(x, dtype=float)
    for i in range(n):
        v = kappa_k * GK[i]
        for j in range(n):
            if j != i:
                v = v - A[i, j] * g[i] * g[j] * x[j]
        xdot[i] = Omega[i] @ x[i] - tangent_project(v, x[i]) / kappa_k
    return hdot, xdot


def hk_energy_gradient(W, b, activation_name, beta, J, B, interaction, c, A, kappa_h, kappa_k,
                       h, x):
    """(dE/dh (N,), dE/dx (N, D)) of hk_energy, x treated as free vectors."""
    n = x.shape[0]
    g = activation(h, activation_name, beta)
    S = x @ x.T
    AS = A * S
    np.fill_diagonal(AS, 0.0)
    dh = (kappa_h * hopfield_energy_gradient(W, b, h, activation_name, beta)
          - lagrangian_hessian(h, activation_name, beta) @ (AS @ g))
    dx = kappa_k * kuramoto_energy_gradient(J, B, interaction, x, c)
    for i in range(n):
        for j in range(n):
            if j != i:
                dx[i] -= A[i, j] * g[i] * g[j] * x[j]
    return dh, dx


def effective_weights(W, A, x, kappa_h):
    """W_eff = W + (1/kappa_h) M o (a s): the hk correction vanishes on the diagonal."""
    C = A * (x @ x.T) / kappa_h
    np.fill_diagonal(C, 0.0)
    return W + C


# ---------------------------------------------------------------------------------------------
# independent numerical derivative
# ---------------------------------------------------------------------------------------------
def energy_gradient(energy_fn, y, eps=1e-6):
    """Central finite differences of a scalar function of a flat vector y."""
    y = np.asarray(y, dtype=float)
    grad = np.zeros_like(y)
    for k in range(y.size):
        e = np.zeros_like(y)
        e[k] = eps
        grad[k] = (energy_fn(y + e) - energy_fn(y - e)) / (2.0 * eps)
    return grad


# ---------------------------------------------------------------------------------------------
# Random ingredients for small test models
# ---------------------------------------------------------------------------------------------
def random_symmetric(rng, n, scale):
    """Symmetric (n, n) matrix with zero diagonal and entries of size scale/sqrt(n)."""
    w = rng.normal(size=(n, n))
    w = (w + w.T) / 2.0 * scale / np.sqrt(n)
    np.fill_diagonal(w, 0.0)
    return w


def random_unit_rows(rng, n, d):
    """(n, d) array of random unit vectors."""
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def random_antisymmetric(rng, d, scale):
    """Random antisymmetric (d, d) matrix."""
    a = rng.normal(size=(d, d))
    return scale * (a - a.T) / 2.0
