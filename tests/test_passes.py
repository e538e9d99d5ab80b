"""Passes over the design: products from a few rows, row subsamples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xglm._solvers._passes import (
    SUBSAMPLE_BLOCK,
    gather_rows,
    row_subsample,
    rows_dot,
    sparse_x_dot,
)


@pytest.mark.parametrize(("n", "stride"), [(1000, 16), (1003, 7), (50, 16), (64, 1)])
def test_row_subsample_takes_runs_of_consecutive_samples(n, stride):
    # about every stride-th sample, as runs of SUBSAMPLE_BLOCK spread over the recording
    A = np.arange(2 * n, dtype=float).reshape(2, n)
    got = np.asarray(row_subsample(A, stride))
    period = SUBSAMPLE_BLOCK * stride
    if stride == 1:
        cols = np.arange(n)
    elif n < period:
        cols = np.arange(0, n, stride)
    else:
        starts = np.arange(n // period) * period
        cols = (starts[:, None] + np.arange(SUBSAMPLE_BLOCK)[None, :]).ravel()
    np.testing.assert_array_equal(got, A[:, cols])
    assert abs(got.shape[1] - n / stride) <= period


@pytest.mark.parametrize(("n", "stride"), [(1000, 16), (1003, 7), (64, 1)])
def test_row_subsamples_at_every_offset_partition_the_whole_periods(n, stride):
    # the information from every row is the sum over the stride subsamples (offsets
    # traced): disjoint, together every sample up to the last whole period
    A = np.arange(2 * n, dtype=float).reshape(2, n)
    pick = jax.jit(lambda o: row_subsample(A, stride, o))
    parts = [np.asarray(pick(o)) for o in range(stride)]
    np.testing.assert_array_equal(parts[0], np.asarray(row_subsample(A, stride)))
    taken = np.sort(np.concatenate([part[0] for part in parts]))
    whole = n if stride == 1 else n // (SUBSAMPLE_BLOCK * stride) * SUBSAMPLE_BLOCK * stride
    np.testing.assert_array_equal(taken, np.arange(whole))
    for part in parts:
        np.testing.assert_array_equal(part[1] - part[0], n)


def test_rows_dot_equals_the_product_over_every_row():
    rng = np.random.default_rng(9)
    Xt = jnp.asarray(rng.standard_normal((40, 333)))
    coef = np.zeros(40)
    coef[[3, 17, 31]] = rng.standard_normal(3)
    idx = jnp.asarray([3, 17, 31, 0, 0])
    out = rows_dot(Xt, idx, jnp.asarray(coef)[idx], 3)
    np.testing.assert_allclose(np.asarray(out), coef @ np.asarray(Xt), rtol=1e-13, atol=1e-13)
    rows = gather_rows(Xt, jnp.asarray([5, 2]), stride=3)
    np.testing.assert_array_equal(
        np.asarray(rows), np.asarray(row_subsample(Xt[jnp.asarray([5, 2])], 3))
    )
    rows = gather_rows(Xt, jnp.asarray([5, 2]), 3, jnp.asarray(2))
    np.testing.assert_array_equal(
        np.asarray(rows), np.asarray(row_subsample(Xt[jnp.asarray([5, 2])], 3, jnp.asarray(2)))
    )
    np.testing.assert_array_equal(np.asarray(rows)[:, :8], np.asarray(Xt)[[5, 2], 16:24])
    # the same from the nonzero coefficients alone, over every row or over some rows
    out = sparse_x_dot(Xt, jnp.asarray(coef), 5)
    np.testing.assert_allclose(np.asarray(out), coef @ np.asarray(Xt), rtol=1e-13, atol=1e-13)
    some = jnp.asarray([31, 3, 8, 17])
    out = sparse_x_dot(Xt, jnp.asarray(coef)[some], 4, rows=some)
    np.testing.assert_allclose(np.asarray(out), coef @ np.asarray(Xt), rtol=1e-13, atol=1e-13)
