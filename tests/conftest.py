import os

# The suite compiles many small, distinct problems: XLA's backend optimisation buys
# nothing at these sizes and costs most of the compile time. Users' settings win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import xglm  # noqa: E402, F401  (enables float64)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
