"""The design in feature-major order: values, dtype and layout are exact."""

import numpy as np
import pytest

from xglm._device import feature_major


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1000, 5), (257, 12)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_feature_major_is_the_exact_transpose(shape, dtype):
    X = np.random.default_rng(0).standard_normal(shape)
    Xt = feature_major(X, dtype)
    assert Xt.shape == shape[::-1]
    assert Xt.dtype == dtype
    np.testing.assert_array_equal(np.asarray(Xt), X.T.astype(dtype))


def test_feature_major_of_a_strided_view_and_empty_design():
    X = np.arange(60.0).reshape(10, 6)[::2, 1::2]
    np.testing.assert_array_equal(np.asarray(feature_major(X, np.float64)), X.T)
    assert feature_major(np.zeros((0, 3)), np.float64).shape == (3, 0)


def test_buffers_are_reused_only_when_no_array_uses_them():
    # a live array keeps its buffer: a second transpose of the same size must not
    # write into it; once the array is gone its buffer is reused
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3000, 50)), rng.standard_normal((3000, 50))
    first = feature_major(A, np.float64)
    second = feature_major(B, np.float64)
    assert first.unsafe_buffer_pointer() != second.unsafe_buffer_pointer()
    np.testing.assert_array_equal(np.asarray(first), A.T)
    np.testing.assert_array_equal(np.asarray(second), B.T)
    pointer = second.unsafe_buffer_pointer()
    del second
    third = feature_major(A, np.float64)
    assert third.unsafe_buffer_pointer() == pointer
    np.testing.assert_array_equal(np.asarray(third), A.T)
    np.testing.assert_array_equal(np.asarray(first), A.T)


def test_a_fitted_model_does_not_keep_the_fit_s_copy_of_the_design():
    # the lazy covariance keeps the response, not the transposed design: a refit of the
    # same shapes writes into the same buffer and both models keep their own results
    import xglm

    rng = np.random.default_rng(2)
    X = rng.standard_normal((30_000, 90))
    y = rng.poisson(np.exp(0.1 * X[:, 0])).astype(float)
    m1 = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
    c1 = m1.coef_.copy()
    m2 = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-2).fit(X * 2.0, y)
    np.testing.assert_array_equal(m1.coef_, c1)
    ref = xglm.GLM(regularizer="Ridge", regularizer_strength=1e-3).fit(X, y)
    # the deferred covariance of the first model is computed after the refit
    np.testing.assert_allclose(np.asarray(m1.bse_), np.asarray(ref.bse_), rtol=1e-12)
    assert not np.allclose(m2.coef_, c1)
