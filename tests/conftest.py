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


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Release the compiled programs after a test module once they hold many mappings.

    Every compiled XLA program holds memory mappings, and on Linux a process may hold at
    most ``vm.max_map_count`` of them (65530 by default): the whole suite in one process
    would exceed that. Programs are kept while well below it (modules share many).
    """
    yield
    try:
        with open("/proc/self/maps") as fh:
            n_maps = sum(1 for _ in fh)
    except OSError:  # not Linux: no such limit to watch
        return
    if n_maps > 25_000:
        import gc

        import jax

        jax.clear_caches()
        gc.collect()
