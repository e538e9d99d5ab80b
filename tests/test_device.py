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
