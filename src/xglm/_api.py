"""One-call fitting: ``xglm.glm("spikes ~ bs(position, df=8) + speed", data=ds)``."""

from __future__ import annotations

import numpy as np

from ._design._formula import formula_has_intercept, split_formula
from ._model import GLM, PopulationGLM
from .errors import XglmError

__all__ = ["glm"]


def _response_ndim(lhs, data) -> int | None:
    """Dimensions of the response variable in ``data`` (None when it is an expression)."""
    if lhs is None or not lhs.isidentifier():
        return None
    try:
        if type(data).__name__ == "Dataset":
            return data[lhs].ndim if lhs in data.data_vars else None
        if isinstance(data, dict):
            value = data.get(lhs)
            return None if value is None else np.ndim(value)
    except (KeyError, TypeError):
        return None
    return 1


def glm(
    formula: str,
    data,
    family="poisson",
    *,
    population: bool | None = None,
    sample_weight=None,
    offset=None,
    **kwargs,
):
    """Fit a GLM (or a population of GLMs) from a formula in one call.

    Parameters
    ----------
    formula : str
        An R-style formula, e.g. ``"spikes ~ bs(position, df=8) + C(trial) + speed"``.
        Formulaic's transforms (``bs``, ``C``, ``poly``, ``center``...) and xglm's bases
        (``raised_cosine``, ``cyclic_bs``, ``history``, ``convolve``, ``offset``) are
        available.
    data : pandas.DataFrame, xarray.Dataset or dict of arrays
        The variables; for a Dataset they share a sample dimension such as ``time``.
    family : str or Family, default "poisson"
    population : bool, optional
        Fit a :class:`~xglm.PopulationGLM`. Default: when the response has a neuron
        dimension (a ``(time, neuron)`` variable).
    sample_weight, offset : array-like, optional
        Passed to ``fit``.
    **kwargs
        Any other parameter of :class:`~xglm.GLM` (``regularizer``,
        ``regularizer_strength``, ``solver``, ``na_action``, ...) or of
        :class:`~xglm.PopulationGLM` (``feature_mask``). ``fit_intercept`` defaults to
        what the formula says (``- 1`` removes the intercept); an explicit value that
        contradicts the formula raises.

    Returns
    -------
    GLM or PopulationGLM
        The fitted model.

    Examples
    --------
    >>> import numpy as np, pandas as pd, xglm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"speed": rng.normal(size=300),
    ...                    "trial": rng.choice(["a", "b"], 300)})
    >>> df["spikes"] = rng.poisson(np.exp(0.5 + 0.3 * df.speed))
    >>> m = xglm.glm("spikes ~ speed + C(trial)", data=df)
    >>> m.coef_.feature.values.tolist()
    ['speed', 'C(trial)[T.b]']
    >>> xglm.glm("spikes ~ speed - 1", data=df).fit_intercept
    False
    """
    if "formula" in kwargs:
        raise XglmError("formula: given twice (positionally and as a keyword). Fix: pass it once.")
    lhs, _ = split_formula(formula)
    kwargs.setdefault("fit_intercept", formula_has_intercept(formula))
    if population is None:
        population = _response_ndim(lhs, data) == 2 or "feature_mask" in kwargs
    cls = PopulationGLM if population else GLM
    model = cls(family=family, formula=formula, **kwargs)
    return model.fit(data, sample_weight=sample_weight, offset=offset)
