"""Graph utilities: edge lists to CSR "pull" structures, and standard graphs."""

from __future__ import annotations

import numpy as np

from ._validation import (GraphCache, as_float_array, as_index_array, as_rng, check_edges, check_finite, check_real,
                          check_shape, check_size)

__all__ = ["csr_from_edges", "edges_from_dense", "watts_strogatz_edges", "ring_edges", "complete_edges",
           "rcm_permutation", "inverse_permutation", "relabel_edges"]


def csr_from_edges(n, edges, *values):
    """Symmetric CSR adjacency from an undirected edge list.

    Each undirected edge (i, j) becomes two directed entries, i <- j in row i and
    j <- i in row j, so kernels *pull* from neighbours row by row without atomics.

    Parameters
    ----------
    n : int
        Number of nodes (>= 1; an integral float such as ``3.0`` is accepted).
    edges : array_like, shape (E, 2), int
        Undirected edges, each pair once, no self-loops, indices in ``[0, n)``.
    *values : array_like, shape (E,)
        Real per-edge values; each is returned (as float64) permuted into CSR entry order
        (values are carried as given, NaN included: nothing is computed with them).

    Returns
    -------
    indptr : ndarray, shape (n + 1,), int64
    indices : ndarray, shape (2E,), int64
        Column (source) node of each entry; sorted within each row.
    edge_of_entry : ndarray, shape (2E,), int64
        Which input edge each entry came from.
    *vals : ndarray, shape (2E,)
        The per-edge values in entry order.

    Examples
    --------
    >>> import numpy as np
    >>> indptr, indices, eid = csr_from_edges(3, np.array([[0, 1], [1, 2]]))
    >>> indptr.tolist(), indices.tolist(), eid.tolist()
    ([0, 1, 3, 4], [1, 0, 2, 1], [0, 0, 1, 1])
    """
    n = check_size(n, "n")
    edges = check_edges(edges, n)
    vals = []
    for k, v in enumerate(values):
        name = f"values[{k}]"
        arr = check_shape(as_float_array(v, name), (edges.shape[0],), name, "Give one value per edge.")
        vals.append(arr)
    return _pull_csr(n, edges, *vals)


#: CSR structures of small graphs: models built again and again on one graph (sweep points)
#: share its structure.  The arrays are read-only, as models never write them.
_CSR_CACHE = GraphCache()


def _pull_structure(n, edges):
    e = edges.shape[0]
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    eid = np.concatenate([np.arange(e), np.arange(e)])
    order = np.lexsort((cols, rows))
    rows, cols, eid = rows[order], cols[order], eid[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, rows + 1, 1)
    np.cumsum(indptr, out=indptr)
    out = (indptr, np.ascontiguousarray(cols), np.ascontiguousarray(eid))
    for a in out:
        a.flags.writeable = False
    return out


def _pull_csr(n, edges, *values):
    """:func:`csr_from_edges` for edges and values the caller has already validated."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    key = _CSR_CACHE.key(edges, int(n))
    structure = None if key is None else _CSR_CACHE.get(key)
    if structure is None:
        structure = _CSR_CACHE.put(key, _pull_structure(n, edges))
    eid = structure[2]
    vals = tuple(np.ascontiguousarray(np.asarray(v)[eid]) for v in values)
    return structure + vals


def edges_from_dense(mat, tol=0.0):
    """Upper-triangle edges (i < j) where ``|mat[i, j]| > tol``, and their values.

    Parameters
    ----------
    mat : array_like, shape (N, N)
        A real, finite square matrix (only its upper triangle is read).
    tol : float, default 0.0
        Entries with ``|mat[i, j]| <= tol`` (>= 0) are not edges.
    """
    mat = check_finite(as_float_array(mat, "mat"), "mat")
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] < 1:
        raise ValueError(f"`mat` must be a square (N, N) matrix with N >= 1; got shape {mat.shape}.")
    tol = check_real(tol, "tol", low=0.0)
    iu, ju = np.nonzero(np.triu(np.abs(mat) > tol, k=1))
    edges = np.stack([iu, ju], axis=1).astype(np.int64)
    return edges, mat[iu, ju]


def complete_edges(n):
    """All unordered pairs i < j of ``n`` nodes, shape (n (n - 1) / 2, 2).

    ``n`` is an integer >= 1 (an integral float such as ``10.0`` is accepted).
    """
    n = check_size(n, "n")
    iu, ju = np.triu_indices(n, k=1)
    return np.stack([iu, ju], axis=1).astype(np.int64)


def ring_edges(n, k=1):
    """Ring lattice: each node linked to its ``k`` nearest neighbours on each side.

    ``n >= 3`` nodes and ``1 <= k < n/2`` (``k = 1`` for any ring); integral floats such
    as ``10.0`` are accepted as integers.
    """
    n = check_size(n, "n", minimum=3, hint="A ring needs at least 3 nodes.")
    k = check_size(k, "k")
    if not (1 <= k < n / 2 or (k == 1 and n >= 3)):
        raise ValueError(f"`k` must satisfy 1 <= k < n/2 for a ring of n = {n} nodes; got k = {k}.")
    i = np.repeat(np.arange(n), k)
    j = (i + np.tile(np.arange(1, k + 1), n)) % n
    return check_edges(np.stack([i, j], axis=1), n)


def watts_strogatz_edges(n, k, p, seed=None):
    """Watts-Strogatz small-world graph as an edge list.

    Starts from a ring where each node links to ``k // 2`` neighbours on each side,
    then rewires each edge's far end with probability ``p`` to a uniformly chosen
    node, avoiding self-loops and duplicates (networkx's convention).

    Parameters
    ----------
    n : int
        Number of nodes (>= 3; an integral float such as ``10.0`` is accepted).
    k : int
        Even mean degree, ``2 <= k < n`` (an integral float is accepted).
    p : float
        Rewiring probability in [0, 1].
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    ndarray, shape (n k / 2, 2), int64

    Examples
    --------
    >>> watts_strogatz_edges(10, 4, 0.0).shape
    (20, 2)
    """
    n = check_size(n, "n", minimum=3, hint="A small-world ring needs at least 3 nodes.")
    k = check_size(k, "k", minimum=2, maximum=n - 1, hint="The mean degree must lie in [2, n - 1].")
    if k % 2:
        raise ValueError(f"`k` must be an even integer with 2 <= k < n = {n}; got {k}. Pass k = {k - 1} or {k + 1}.")
    p = check_real(p, "p", low=0.0, high=1.0)
    rng = as_rng(seed)
    half = k // 2
    adj = [set() for _ in range(n)]
    for i in range(n):
        for d in range(1, half + 1):
            j = (i + d) % n
            adj[i].add(j)
            adj[j].add(i)
    for d in range(1, half + 1):
        for i in range(n):
            j = (i + d) % n
            if rng.random() < p and j in adj[i]:
                if len(adj[i]) >= n - 1:
                    continue
                new = int(rng.integers(n))
                while new == i or new in adj[i]:
                    new = int(rng.integers(n))
                adj[i].discard(j)
                adj[j].discard(i)
                adj[i].add(new)
                adj[new].add(i)
    edges = np.array([(i, j) for i in range(n) for j in adj[i] if i < j], dtype=np.int64)
    return edges.reshape(-1, 2)


def rcm_permutation(n, *edge_lists):
    """Reverse Cuthill-McKee order of the units: neighbours get nearby indices.

    Sparse kernels pull each neighbour's state by index; numbering units so that
    neighbours are close in memory (a small bandwidth of the adjacency matrix) turns
    those gathers into cache hits.  Relabel with :func:`relabel_edges` and permute the
    per-unit data and states with the returned order.

    Parameters
    ----------
    n : int
        Number of units.
    *edge_lists : ndarray, shape (E, 2), int, or None
        Every graph of the model (Kuramoto edges, hk_edges, sparse Hopfield weights);
        the order is computed for their union.  ``None`` entries (a graph the model does
        not have) are skipped.

    Returns
    -------
    perm : ndarray, shape (n,), int64
        ``perm[k]`` is the old index of the unit that gets new index ``k``; so a state
        ``x`` (n, ...) becomes ``x[perm]`` and back with ``x_new[inverse_permutation(perm)]``.

    Examples
    --------
    >>> import numpy as np
    >>> edges = np.array([[0, 3], [3, 1], [1, 4], [4, 2]])   # a path 0-3-1-4-2
    >>> perm = rcm_permutation(5, edges)
    >>> new = relabel_edges(edges, perm)
    >>> int(np.max(np.abs(new[:, 0] - new[:, 1])))           # bandwidth 1 after reordering
    1
    """
    import scipy.sparse as sp
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    n = check_size(n, "n")
    parts = [check_edges(e, n, f"edge_lists[{k}]") for k, e in enumerate(edge_lists) if e is not None]
    parts = [e for e in parts if e.size]
    if not parts:
        return np.arange(n, dtype=np.int64)
    e = np.concatenate(parts)
    rows = np.concatenate([e[:, 0], e[:, 1]])
    cols = np.concatenate([e[:, 1], e[:, 0]])
    adj = sp.csr_matrix((np.ones(rows.size, dtype=np.int8), (rows, cols)), shape=(n, n))
    return np.asarray(reverse_cuthill_mckee(adj, symmetric_mode=True), dtype=np.int64)


def _check_permutation(perm, name="perm"):
    """``perm`` as an int64 array, or a ValueError unless it is a permutation of 0..n-1."""
    arr = as_index_array(perm, name)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"`{name}` must be a 1-D permutation of 0..n-1 with n >= 1; got shape {arr.shape}.")
    seen = np.zeros(arr.size, dtype=bool)
    inside = (arr >= 0) & (arr < arr.size)
    seen[arr[inside]] = True
    if not inside.all() or not seen.all():
        k = int(np.argmin(seen)) if inside.all() else None
        what = (f"index {k} is missing" if k is not None
                else f"entry {int(np.argmin(inside))} is {int(arr[np.argmin(inside)])}, outside [0, {arr.size - 1}]")
        raise ValueError(
            f"`{name}` must be a permutation of 0..{arr.size - 1} (each index once); {what}. "
            "Pass the order returned by rcm_permutation."
        )
    return arr


def inverse_permutation(perm):
    """``inv`` with ``inv[perm[k]] = k``: maps old unit indices to new ones.

    ``perm`` must be a permutation of ``0..n-1`` (each index once).
    """
    perm = _check_permutation(perm)
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=np.int64)
    return inv


def relabel_edges(edges, perm):
    """Edges in the new numbering of :func:`rcm_permutation` (same edge order, so per-edge
    values stay aligned).

    ``edges`` are index pairs in ``[0, n)`` with ``n = len(perm)``; self-pairs and repeats
    are relabelled like any other pair.
    """
    inv = inverse_permutation(perm)
    edges = check_edges(edges, inv.size, graph=False)
    return inv[edges]
