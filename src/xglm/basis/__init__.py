"""Neuroscience bases, usable on their own and inside xglm formulas.

Inside a formula these names are available without importing anything:

* ``raised_cosine(x, n_basis=6, kind="linear")`` – raised-cosine tuning basis;
* ``cyclic_bs(angle, df=8, period=2*pi)`` – periodic B-splines for angles;
* ``history(spikes, window=50, n_basis=6)`` – spike history / coupling (strictly past);
* ``convolve(stimulus, window=100, n_basis=8)`` – causal stimulus filter (lags 0..);
* ``offset(expr)`` – a term added to the linear predictor with coefficient 1.

Formulaic's own transforms (``bs``, ``cr``, ``cc``, ``C``, ``poly``, ``center``,
``scale``, ``np`` ...) work as usual. :func:`register` adds your own function.

Examples
--------
>>> import numpy as np, xarray as xr, xglm
>>> rng = np.random.default_rng(0)
>>> n = 2000
>>> stim = rng.normal(size=n)
>>> drive = np.convolve(stim, [0.0, 0.6, 0.3])[:n]
>>> ds = xr.Dataset({"stim": ("time", stim),
...                  "spikes": ("time", rng.poisson(np.exp(-1 + drive)))})
>>> m = xglm.glm("spikes ~ convolve(stim, window=4, basis='identity')", data=ds)
>>> np.round(m.coef_.values[1:3], 1).tolist()  # lags 1 and 2
[0.6, 0.3]
"""

from __future__ import annotations

from ._cyclic import cyclic_bs, cyclic_bspline_basis
from ._history import causal_filter, convolve, filter_kernel, history
from ._raised_cosine import raised_cosine, raised_cosine_basis, raised_cosine_kernel

__all__ = [
    "raised_cosine_basis",
    "raised_cosine_kernel",
    "raised_cosine",
    "cyclic_bspline_basis",
    "cyclic_bs",
    "filter_kernel",
    "causal_filter",
    "history",
    "convolve",
    "FORMULA_FUNCTIONS",
    "register",
]

FORMULA_FUNCTIONS: dict = {
    "raised_cosine": raised_cosine,
    "cyclic_bs": cyclic_bs,
    "history": history,
    "convolve": convolve,
}


def register(name: str, func) -> None:
    """Make ``func`` callable as ``name(...)`` inside xglm formulas.

    Wrap it with ``formulaic.utils.stateful_transforms.stateful_transform`` if it must
    remember something learnt from the fitting data (as spline bounds are).

    Examples
    --------
    >>> import numpy as np, xglm
    >>> xglm.basis.register("softclip", lambda x: np.tanh(np.asarray(x)))
    >>> "softclip" in xglm.basis.FORMULA_FUNCTIONS
    True
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"register: name got {name!r}; expected a valid Python identifier such as "
            "'my_basis'. Fix: use letters, digits and underscores, not starting with a digit."
        )
    if not callable(func):
        raise TypeError(
            f"register: func got {type(func).__name__}; expected a callable. Fix: pass the "
            "function itself, e.g. register('softclip', np.tanh)."
        )
    FORMULA_FUNCTIONS[name] = func
