"""xglm: generalized linear models on JAX, with formulas and labelled data.

xglm computes in float64 by default and therefore enables JAX's 64-bit mode on import.
Compiled solvers are cached on disk (``~/.cache/xglm/jax``; ``XGLM_CACHE_DIR`` moves it,
``XGLM_NO_COMPILATION_CACHE=1`` turns it off) so a new session does not compile again, and
compiled on CPU with XLA options that make a first fit compile several times faster
(``XGLM_XLA_DEFAULTS=1`` uses XLA's defaults instead; see ``xglm._compile``).
"""

import jax

jax.config.update("jax_enable_x64", True)

from ._compile import configure_cache  # noqa: E402

configure_cache()

from . import errors  # noqa: E402
from ._api import glm  # noqa: E402
from ._compare import compare, information_table, wald_test_terms  # noqa: E402
from ._families import (  # noqa: E402
    Bernoulli,
    Binomial,
    Family,
    Gamma,
    Gaussian,
    InverseGaussian,
    NegativeBinomial,
    Poisson,
)
from ._io import load  # noqa: E402
from ._links import (  # noqa: E402
    CLogLog,
    Identity,
    Inverse,
    InverseSquared,
    Link,
    Log,
    Logit,
    Probit,
    Softplus,
    Sqrt,
)
from ._model import GLM, PopulationGLM  # noqa: E402
from ._penalties import ElasticNet, GroupLasso, Lasso, Regularizer, Ridge, UnRegularized  # noqa: E402

__version__ = "0.1.0"


def __getattr__(name: str):
    # xglm.basis is imported on first use: its bases are formulaic transforms, and
    # importing formulaic costs a quarter of a second that fits without a formula skip
    if name == "basis":
        import importlib

        return importlib.import_module(".basis", __name__)
    raise AttributeError(f"module 'xglm' has no attribute {name!r}")


__all__ = [
    "GLM",
    "PopulationGLM",
    "glm",
    "basis",
    "Family",
    "Gaussian",
    "Poisson",
    "Binomial",
    "Bernoulli",
    "Gamma",
    "InverseGaussian",
    "NegativeBinomial",
    "Link",
    "Identity",
    "Log",
    "Logit",
    "Probit",
    "CLogLog",
    "Inverse",
    "InverseSquared",
    "Sqrt",
    "Softplus",
    "Regularizer",
    "UnRegularized",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "GroupLasso",
    "load",
    "compare",
    "information_table",
    "wald_test_terms",
    "errors",
    "__version__",
]
