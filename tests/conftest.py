import numpy as np
import pytest

import xglm  # noqa: F401  (enables float64)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
