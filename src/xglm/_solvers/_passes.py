"""Passes over the design, shared by the solvers and the statistics.

The design comes feature-major, ``Xt = X.T`` of shape ``(p, n)``; per-neuron arrays are
neuron-major, ``(k, n)`` (see :mod:`._newton`). Here: products with every neuron's
residuals or coefficients, products read from a few rows, the row subsamples that
estimate the information, and the weighted Gram matrix ``[1 X]^T W [1 X]``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

__all__ = [
    "SAMPLE_CHUNK",
    "SUBSAMPLE_BLOCK",
    "gather_rows",
    "info_from_weights",
    "row_subsample",
    "rows_dot",
    "sparse_x_dot",
    "sum_over_samples",
    "x_dot",
    "xt_dot",
]


# Products that sum over the samples on both operands (a Gram matrix, X^T R for several
# neurons) run in chunks of SAMPLE_CHUNK samples: XLA's CPU matrix product first packs
# a whole operand, which beyond the caches costs more than the product (one core: the
# Gram matrix of 200,000 x 100 took 289 ms whole, 94 ms in chunks; X^T R of 100,000 x 50
# for 2 neurons 33 ms whole, 6 ms in chunks).
SAMPLE_CHUNK = 4096


def sum_over_samples(fn, *arrays):
    """``fn(*arrays)`` for an ``fn`` that sums over the last (sample) axis of every
    array, computed as the sum of ``fn`` over chunks of :data:`SAMPLE_CHUNK` samples
    (a scan; the last, shorter chunk separately)."""
    n = arrays[0].shape[-1]
    m = n // SAMPLE_CHUNK
    if m < 2:
        return fn(*arrays)

    def chunk(i, size=SAMPLE_CHUNK):
        return [
            lax.dynamic_slice_in_dim(a, i * SAMPLE_CHUNK, size, axis=a.ndim - 1) for a in arrays
        ]

    def body(acc, i):
        return acc + fn(*chunk(i)), None

    total, _ = lax.scan(body, fn(*chunk(0)), jnp.arange(1, m))
    if n > m * SAMPLE_CHUNK:
        total = total + fn(*(a[..., m * SAMPLE_CHUNK :] for a in arrays))
    return total


def xt_dot(Xt, R):
    """``X^T`` applied to every neuron's ``r``: ``R @ X`` for ``R`` ``(k, n)``: ``(k, p)``."""
    if R.shape[0] == 1:
        return (Xt @ R[0])[None, :]
    return sum_over_samples(lambda x, r: lax.dot_general(r, x, (((1,), (1,)), ((), ()))), Xt, R)


def x_dot(Xt, B):
    """``X`` applied to every neuron's coefficients: ``B @ X.T`` for ``B`` ``(k, p)``:
    ``(k, n)``."""
    if B.shape[0] == 1:
        return (B[0] @ Xt)[None, :]
    return B @ Xt


def rows_dot(Xt, idx, coef, count):
    """``sum_{i < count} coef[i] Xt[idx[i]]``: ``X`` applied to coefficients with few
    nonzero entries, read from their rows alone, one row at a time. (XLA's row gather
    first writes the rows to a new buffer: 128 rows of 100,000 samples took 48 ms, a
    pass over 600 such rows 6 ms.)"""

    def add(i, acc):
        return acc + coef[i] * lax.dynamic_index_in_dim(Xt, idx[i], keepdims=False)

    return lax.fori_loop(0, count, add, jnp.zeros(Xt.shape[1:], Xt.dtype))


def sparse_x_dot(Xt, b, size: int, rows=None):
    """``X b`` for coefficients ``b`` with at most ``size`` nonzero entries, read from
    their rows alone (see :func:`rows_dot`); ``b`` holds the coefficients of the rows
    ``rows`` of ``Xt`` when given, of every row otherwise."""
    nz = jnp.nonzero(b != 0, size=size, fill_value=0)[0]
    return rows_dot(Xt, nz if rows is None else rows[nz], b[nz], jnp.sum(b != 0))


def gather_rows(Xt, idx, stride: int = 1, offset=0):
    """Rows ``idx`` of ``Xt`` at the row subsample of ``stride`` and ``offset`` (see
    :func:`row_subsample`), one row at a time (see :func:`rows_dot`)."""
    return lax.map(
        lambda j: row_subsample(lax.dynamic_index_in_dim(Xt, j, keepdims=False), stride, offset),
        idx,
    )


SUBSAMPLE_BLOCK = 8


def row_subsample(A, stride: int, offset=0):
    """About every ``stride``-th sample of ``A`` (``(..., n)``), taken as runs of
    ``SUBSAMPLE_BLOCK`` consecutive samples (one cache line of float64) every
    ``SUBSAMPLE_BLOCK * stride`` samples: spread over the whole recording like a plain
    stride, but read at a fraction of its memory traffic.

    ``offset`` (``0 <= offset < stride``, possibly traced) picks which run of each
    period: the ``stride`` subsamples are disjoint and together hold every sample up
    to the last whole period. (Fewer samples than one period: every ``stride``-th
    sample, and ``offset`` must be 0.)
    """
    if stride == 1:
        return A
    n = A.shape[-1]
    period = SUBSAMPLE_BLOCK * stride
    m = n // period
    if m == 0:
        return A[..., ::stride]
    runs = A[..., : m * period].reshape(A.shape[:-1] + (m, period))
    if isinstance(offset, int) and offset == 0:
        runs = runs[..., :SUBSAMPLE_BLOCK]
    else:
        runs = lax.dynamic_slice_in_dim(
            runs, offset * SUBSAMPLE_BLOCK, SUBSAMPLE_BLOCK, axis=runs.ndim - 1
        )
    return runs.reshape(A.shape[:-1] + (m * SUBSAMPLE_BLOCK,))


def info_from_weights(Xt, wk, mask, fit_intercept):
    """``[1 X]^T diag(wk) [1 X]`` with masked features replaced by unit rows."""

    # X enters through Z alone: a subsampled X is read inside Z's fusion when the
    # product is one chunk (a scan over chunks takes it copied); the intercept's row and
    # column come with the Gram matrix, as a row of Z
    def gram(x, w):
        sq = jnp.sqrt(w)
        Z = jnp.concatenate([sq[None, :], x * sq[None, :]])
        return lax.dot_general(Z, Z, (((1,), (1,)), ((), ())))

    G = sum_over_samples(gram, Xt, wk)
    sb, hb, H = G[0, 0], G[0, 1:] * mask, G[1:, 1:]
    H = H * mask[:, None] * mask[None, :] + jnp.diag(1.0 - mask)
    if not fit_intercept:
        sb = jnp.ones_like(sb)
        hb = jnp.zeros_like(hb)
    return jnp.block([[sb[None, None], hb[None, :]], [hb[:, None], H]])
