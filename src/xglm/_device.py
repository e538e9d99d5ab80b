"""The design into JAX in feature-major order, without a slow copy.

The solvers stream the design as ``X.T`` (see :func:`feature_major`). ``jnp.asarray``
copies a NumPy array through a path that costs several times a ``memcpy`` (about 80 ms
for a 160 MB design on one core); JAX can instead alias host memory aligned to 64 bytes,
so the transpose is written into such a buffer and aliased. The aliased array keeps its
host buffer alive; xglm never writes into a buffer while an array uses it.

The last two large buffers (of two sizes) are kept and written into again by the next
transpose of the same size once no array uses them (their reference count tells): a
refit then touches no fresh memory, whose page faults cost as much as the transpose
itself, or far more where the kernel compacts memory for huge pages (a second fresh
buffer of 160 MB took 0.4 s on the benchmark machine). Each handing out of a buffer
gets a new token, so a fit can later tell whether its copy of the design is still
there, unwritten (:func:`snapshot`, :func:`restore`): the statistics computed on first
use then read it instead of copying the design again. Otherwise they read the caller's
design, which a :class:`Fingerprint` checks for modification in place: its sum, taken
from the copy just before the copy is written over or leaves the pool (:func:`watch`),
and only for a model that still waits for its statistics: a fit whose model read its
statistics, or is gone, costs no sum at all.

A design that is already column-major (Fortran order: a DataFrame's values, or a design
xglm built from columns, see :func:`column_major_empty`) needs no transpose: ``X.T`` is
aliased as it is when aligned, or copied contiguously.
"""

from __future__ import annotations

import itertools
import sys
import time
import weakref
from typing import NamedTuple

import jax
import numpy as np

__all__ = [
    "Fingerprint",
    "Snapshot",
    "column_major_empty",
    "copied_to_pool",
    "core_arrays",
    "feature_major",
    "restore",
    "snapshot",
    "watch",
]

_ALIGN = 64
# rows per block of a transposing copy: a block fits the caches for designs of a few
# hundred features (one core, 200,000 x 100: 21 ms with 512 rows, 22 ms with 1,024;
# 20,000 x 20: 0.15 ms against 0.25 ms)
ROW_BLOCK = 512


class Fingerprint:
    """The sum of a design as fitted (:func:`~xglm._design._arrays.design_checksum`),
    taken from the fit's own copy in the pool (``snap``, see :func:`snapshot`) when that
    copy is about to be written over or to leave the pool (see :func:`watch`); ``value``
    is None until then."""

    __slots__ = ("value", "snap", "__weakref__")

    def __init__(self, snap: Snapshot):
        self.snap, self.value = snap, None


class _Entry:
    """A pooled buffer, the token of its last handing out and the fingerprints that wait
    for its contents (weak references: a model that is gone needs none)."""

    __slots__ = ("buf", "nbytes", "token", "watchers")

    def __init__(self, nbytes: int):
        self.buf = np.empty(nbytes, np.uint8)
        self.nbytes, self.token, self.watchers = nbytes, -1, []


# the pooled buffers, one per size, the most recently handed out last (see the module
# docstring)
_POOL: list[_Entry] = []
_POOL_SIZE = 2
_POOL_MIN_BYTES = 1 << 20
# how long a buffer still held is waited for (see _released): at most about 5 ms
_RELEASE_TRIES = 25
_RELEASE_WAIT_S = 2e-4
_TOKENS = itertools.count()


def _refs(buf) -> int:
    return sys.getrefcount(buf)


def _is_free(entry: _Entry) -> bool:
    """Whether no array or computation holds the entry's buffer."""
    buf = entry.buf
    return _refs(buf) == _FREE_REFS


def _free_refs() -> int:
    """The references a pooled buffer has when nothing else holds it, counted through
    the same path as in :func:`_is_free` (the entry, a local name, the arguments)."""
    entry = _Entry(1)
    buf = entry.buf
    return _refs(buf)


_FREE_REFS = _free_refs()


def _waiting(entry: _Entry) -> list[Fingerprint]:
    return [fp for fp in (ref() for ref in entry.watchers) if fp is not None and fp.value is None]


def _copy_sum(entry: _Entry, snap: Snapshot) -> float:
    """The sum of the design copied at ``snap``: the feature-major copy transposed back
    has the layout of the column-major design it was copied from, so it is summed the
    same way (:func:`~xglm._design._arrays.design_checksum`, alike at any alignment)."""
    from ._design._arrays import design_checksum

    return design_checksum(_view(entry, snap).T)


def _settle(entry: _Entry) -> None:
    """Give the fingerprints that wait for the entry's contents their value, before the
    buffer is written over or leaves the pool."""
    for fp in _waiting(entry):
        fp.value = _copy_sum(entry, fp.snap)
    entry.watchers = []


def _released(entry: _Entry) -> bool:
    """Whether the entry's buffer is free, waiting briefly for JAX to let it go.

    An array aliasing the buffer, or a computation still using it, holds a reference.
    JAX drops those of deleted arrays on a later dispatch, and those of a finished
    computation's inputs from its runtime's threads, a moment after the computation's
    results are ready; a fit that follows the last one at once (a refit in a loop) was
    seen to find the buffer still held about once in ten fits, and a fresh buffer's page
    faults then cost 0.4 s (see the module docstring) against a wait of well under a
    millisecond."""
    for _ in range(_RELEASE_TRIES):
        if _is_free(entry):
            return True
        jax.device_put(np.zeros(1)).block_until_ready()
        time.sleep(_RELEASE_WAIT_S)
    return _is_free(entry)


def _buffer(nbytes: int) -> np.ndarray:
    """A buffer of ``nbytes`` for a transpose or copy of the design: the pooled one of
    that size once no array uses it (the fingerprints that wait for its contents are
    taken first, :func:`_settle`), otherwise a fresh one that replaces it in the pool;
    the least recently used size leaves the pool beyond :data:`_POOL_SIZE`."""
    if nbytes < _POOL_MIN_BYTES:
        return np.empty(nbytes, np.uint8)
    entry = next((e for e in _POOL if e.nbytes == nbytes), None)
    if entry is not None:
        _POOL.remove(entry)
        _settle(entry)  # written over, or out of the pool while an array holds it
        if not _released(entry):
            entry = None
    if entry is None:
        entry = _Entry(nbytes)
    entry.token = next(_TOKENS)
    _POOL.append(entry)
    while len(_POOL) > _POOL_SIZE:
        _settle(_POOL.pop(0))
    return entry.buf


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
    for entry in _POOL:
        start = entry.buf.ctypes.data
        if start <= ptr and ptr + arr.nbytes <= start + entry.buf.nbytes:
            shape, dtype = tuple(arr.shape), np.dtype(arr.dtype)
            return Snapshot(entry.nbytes, entry.token, ptr - start, shape, dtype)
    return None


def _find(token: int) -> _Entry | None:
    for entry in _POOL:
        if entry.token == token:
            return entry
    return None


def _view(entry: _Entry, snap: Snapshot) -> np.ndarray:
    size = int(np.prod(snap.shape, dtype=np.int64)) * snap.dtype.itemsize
    return entry.buf[snap.start : snap.start + size].view(snap.dtype).reshape(snap.shape)


def restore(snap: Snapshot | None) -> jax.Array | None:
    """The array of :func:`snapshot` again, aliasing the same buffer, when the buffer was
    not handed out since (so holds the same values); otherwise None. While the returned
    array lives, the buffer is in use and a transpose of its size takes another one."""
    entry = None if snap is None else _find(snap.token)
    if entry is None:
        return None
    return jax.device_put(_view(entry, snap), may_alias=True)


def watch(snap: Snapshot) -> Fingerprint:
    """A :class:`Fingerprint` of the design copied at ``snap`` (just taken: its buffer
    is pooled), valued once that buffer is handed out again or leaves the pool. A model whose
    statistics are deferred holds it: while the copy is there the statistics read the
    copy; afterwards they read the caller's design, checked against this sum. A
    fingerprint nobody holds costs nothing."""
    fp = Fingerprint(snap)
    entry = _find(snap.token)
    if entry is None:
        raise RuntimeError("watch: the snapshot's buffer is no longer pooled")
    entry.watchers.append(weakref.ref(fp))
    return fp


def column_major_empty(n: int, p: int, dtype=np.float64) -> np.ndarray:
    """An uninitialised ``(n, p)`` array in column-major (Fortran) order whose data start
    at a 64-byte boundary: a design built into it goes to the solvers without a copy
    (see :func:`feature_major`). Not pooled: the caller keeps it."""
    return _aligned_empty((p, n), dtype, pooled=False).T


def copied_to_pool(X: np.ndarray, dtype) -> bool:
    """Whether :func:`feature_major` copies the column-major float ``X`` as it is (same
    dtype and layout, not aliasable) into a pooled buffer: its statistics can then be
    checked against a :class:`Fingerprint` of the copy (see :func:`watch`)."""
    Xt = X.T
    return (
        X.ndim == 2
        and X.size > 0
        and X.dtype == np.dtype(dtype)
        and Xt.flags.c_contiguous
        and Xt.ctypes.data % _ALIGN != 0
        and X.nbytes + _ALIGN >= _POOL_MIN_BYTES
    )


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
