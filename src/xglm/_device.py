"""The design into JAX in feature-major order, without a slow copy.

The solvers stream the design as ``X.T`` (see :func:`feature_major`). ``jnp.asarray``
copies a NumPy array through a path that costs several times a ``memcpy`` (about 80 ms
for a 160 MB design on one core); JAX can instead alias host memory aligned to 64 bytes,
so the transpose is written into such a buffer and aliased. The aliased array keeps its
host buffer alive; xglm never writes into a buffer while an array uses it.

The last two large buffers are kept and written into again by the next transpose of the
same size once no array uses them (their reference count tells): a refit then touches no
fresh memory, whose page faults cost as much as the transpose itself. Each handing out
of a buffer gets a new token, so a fit can later tell whether its copy of the design is
still there, unwritten (:func:`snapshot`, :func:`restore`): the statistics computed on
first use then read it instead of copying the design again.

A design that is already column-major (Fortran order: a DataFrame's values, or a design
xglm built from columns, see :func:`column_major_empty`) needs no transpose: ``X.T`` is
aliased as it is when aligned, or copied contiguously.
"""

from __future__ import annotations

import itertools
import sys
from collections import OrderedDict
from typing import NamedTuple

import jax
import numpy as np

__all__ = ["Snapshot", "column_major_empty", "core_arrays", "feature_major", "restore", "snapshot"]

_ALIGN = 64
# rows per block of a transposing copy: a block fits the caches for designs of a few
# hundred features (one core, 200,000 x 100: 21 ms with 512 rows, 22 ms with 1,024;
# 20,000 x 20: 0.15 ms against 0.25 ms)
ROW_BLOCK = 512


# size in bytes -> [buffer, token of its last handing out], the most recently used last
# (see the module docstring)
_POOL: OrderedDict[int, list] = OrderedDict()
_POOL_SIZE = 2
_POOL_MIN_BYTES = 1 << 20
_TOKENS = itertools.count()


def _refs(buf) -> int:
    return sys.getrefcount(buf)


def _free_refs() -> int:
    """The references a pooled buffer has when nothing else holds it, counted through
    the same path as in :func:`_buffer` (the pool, a local name, the arguments)."""
    _POOL[-1] = [np.empty(1, np.uint8), 0]
    buf = _POOL[-1][0]
    refs = _refs(buf)
    del _POOL[-1]
    return refs


_FREE_REFS = _free_refs()


def _buffer(nbytes: int) -> np.ndarray:
    if nbytes < _POOL_MIN_BYTES:
        return np.empty(nbytes, np.uint8)
    entry = _POOL.get(nbytes)
    buf = None if entry is None else entry[0]
    # an array aliasing the buffer, or a computation still using it, holds a reference;
    # JAX drops those of deleted arrays on its next dispatch, so one is made first
    if buf is not None and _refs(buf) != _FREE_REFS:
        jax.device_put(np.zeros(1)).block_until_ready()
        if _refs(buf) != _FREE_REFS:
            buf = None
    if buf is None:
        buf = np.empty(nbytes, np.uint8)
    _POOL[nbytes] = [buf, next(_TOKENS)]
    _POOL.move_to_end(nbytes)
    while len(_POOL) > _POOL_SIZE:
        _POOL.popitem(last=False)
    return buf


def _aligned_empty(shape, dtype, pooled: bool = True) -> np.ndarray:
    """An uninitialised C-ordered array whose data start at a 64-byte boundary, in a
    pooled buffer (see :func:`_buffer`) or, with ``pooled=False``, a fresh one."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    buf = _buffer(nbytes + _ALIGN) if pooled else np.empty(nbytes + _ALIGN, np.uint8)
    start = -buf.ctypes.data % _ALIGN
    return buf[start : start + nbytes].view(dtype).reshape(shape)


class Snapshot(NamedTuple):
    """Where a feature-major design lies in a pooled buffer, and the token of the
    buffer's handing out that wrote it (see :func:`snapshot`)."""

    nbytes: int
    token: int
    start: int
    shape: tuple
    dtype: np.dtype


def snapshot(arr: jax.Array) -> Snapshot | None:
    """The pooled buffer ``arr`` (from :func:`feature_major`) aliases, or None when it
    aliases the caller's memory or a buffer outside the pool."""
    ptr = arr.unsafe_buffer_pointer()
    for nbytes, (buf, token) in _POOL.items():
        start = buf.ctypes.data
        if start <= ptr and ptr + arr.nbytes <= start + buf.nbytes:
            return Snapshot(nbytes, token, ptr - start, tuple(arr.shape), np.dtype(arr.dtype))
    return None


def restore(snap: Snapshot | None) -> jax.Array | None:
    """The array of :func:`snapshot` again, aliasing the same buffer, when the buffer was
    not handed out since (so holds the same values); otherwise None. While the returned
    array lives, the buffer is in use and a transpose of its size takes a fresh one."""
    if snap is None:
        return None
    entry = _POOL.get(snap.nbytes)
    if entry is None or entry[1] != snap.token:
        return None
    size = int(np.prod(snap.shape, dtype=np.int64)) * snap.dtype.itemsize
    view = entry[0][snap.start : snap.start + size].view(snap.dtype).reshape(snap.shape)
    return jax.device_put(view, may_alias=True)


def column_major_empty(n: int, p: int, dtype=np.float64) -> np.ndarray:
    """An uninitialised ``(n, p)`` array in column-major (Fortran) order whose data start
    at a 64-byte boundary: a design built into it goes to the solvers without a copy
    (see :func:`feature_major`). Not pooled: the caller keeps it."""
    return _aligned_empty((p, n), dtype, pooled=False).T


def feature_major(X, dtype, block: int = ROW_BLOCK) -> jax.Array:
    """The design ``X`` (n, p) as a JAX array ``X.T`` of shape (p, n), C-contiguous.

    The solvers stream the design in this order: XLA's CPU matrix-vector kernels run
    about twice as fast on it in both directions (``X d`` and ``X^T r``) as on the
    row-major design. A row-major ``X`` is transposed in NumPy in cache-sized row blocks
    (about twice as fast as a plain transposed copy) into a 64-byte-aligned buffer that
    JAX aliases. A column-major ``X`` of the requested dtype is aliased as it is when its
    data are aligned, otherwise copied contiguously.
    """
    X = np.asarray(X)
    n, p = X.shape
    Xt = X.T
    if Xt.flags.c_contiguous and X.size:
        if X.dtype == np.dtype(dtype) and Xt.ctypes.data % _ALIGN == 0:
            return jax.device_put(Xt, may_alias=True)
        out = _aligned_empty((p, n), dtype)
        np.copyto(out, Xt, casting="unsafe")
        return jax.device_put(out, may_alias=True)
    out = _aligned_empty((p, n), dtype)
    for start in range(0, n, block):
        stop = min(start + block, n)
        np.copyto(out[:, start:stop], X[start:stop].T, casting="unsafe")
    if out.size == 0:
        return jax.device_put(out)
    return jax.device_put(out, may_alias=True)


def core_arrays(y, w, off, dtype) -> dict:
    """The response, weights and offsets as the core takes them: ``(n,)`` for one
    neuron; neuron-major for a population, ``(k, n)`` with the shared weights and
    offsets ``(1, n)``."""
    if y.ndim == 1:
        return dict(y=np.asarray(y, dtype), w=np.asarray(w, dtype), offset=np.asarray(off, dtype))
    return dict(
        y=feature_major(y, dtype), w=feature_major(w, dtype), offset=feature_major(off, dtype)
    )
