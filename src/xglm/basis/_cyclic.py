"""Cyclic (periodic) B-splines for angles: head direction, theta phase, time of day."""

from __future__ import annotations

from math import comb, factorial

import numpy as np
from formulaic.materializers.types import FactorValues
from formulaic.utils.stateful_transforms import stateful_transform

__all__ = ["cyclic_bspline_basis", "cyclic_bs"]


def _cardinal_bspline(u: np.ndarray, degree: int) -> np.ndarray:
    """The cardinal B-spline of ``degree`` on its support [0, degree + 1]."""
    out = np.zeros_like(u)
    for k in range(degree + 2):
        out += (-1) ** k * comb(degree + 1, k) * np.clip(u - k, 0.0, None) ** degree
    out /= factorial(degree)
    return np.where((u >= 0) & (u <= degree + 1), out, 0.0)


def cyclic_bspline_basis(
    x, n_basis: int, period: float = 2 * np.pi, degree: int = 3, lower_bound: float = 0.0
) -> np.ndarray:
    """Periodic B-spline basis with ``n_basis`` evenly spaced functions over one period.

    Function ``j`` peaks at ``lower_bound + j * period / n_basis``; the functions sum to
    one everywhere, and the basis wraps around so that values ``period`` apart give the
    same row.

    Parameters
    ----------
    x : array-like
        Angles (any real values; they are taken modulo ``period``).
    n_basis : int
        Number of basis functions (at least ``degree + 1``).
    period : float, default 2 pi
    degree : int, default 3
        Polynomial degree (3: cubic, twice continuously differentiable).
    lower_bound : float, default 0
        Where the first function peaks.

    Returns
    -------
    ndarray of shape (len(x), n_basis)

    Examples
    --------
    >>> import numpy as np
    >>> from xglm.basis import cyclic_bspline_basis
    >>> B = cyclic_bspline_basis(np.array([0.0, np.pi, 2 * np.pi]), n_basis=6)
    >>> np.allclose(B.sum(axis=1), 1.0), np.allclose(B[0], B[2])
    (True, True)
    """
    if not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(
            f"cyclic_bs: degree got {degree!r}; expected an integer >= 0. Fix: pass a whole "
            "number, e.g. degree=3 (cubic)."
        )
    if not isinstance(n_basis, (int, np.integer)) or n_basis < degree + 1:
        raise ValueError(
            f"cyclic_bs: df got {n_basis!r}; expected an integer >= degree + 1 = "
            f"{degree + 1}. Fix: raise df or lower degree."
        )
    if not np.isfinite(period) or period <= 0:
        raise ValueError(
            f"cyclic_bs: period got {period!r}; expected a positive number (2*pi for "
            "radians, 360 for degrees). Fix: pass the variable's period, e.g. period=360 for "
            "angles in degrees."
        )
    x = np.asarray(x, dtype=float)
    h = period / n_basis
    t = (x - lower_bound) / h
    j = np.arange(n_basis)
    u = np.mod(t[..., None] - j + (degree + 1) / 2.0, n_basis)
    return _cardinal_bspline(u, int(degree))


@stateful_transform
def cyclic_bs(
    x,
    df: int = 8,
    period: float = 2 * np.pi,
    degree: int = 3,
    lower_bound: float = 0.0,
    _state: dict = {},  # noqa: B006 - replaced by formulaic's stateful-transform machinery
):
    """Cyclic B-spline basis of an angle, for use inside formulas.

    The basis spans the constant, so with an intercept in the formula the first
    function is dropped (as for a categorical variable); with ``- 1`` all ``df``
    functions are kept.

    Parameters
    ----------
    x : array-like
        Angles.
    df : int, default 8
        Number of basis functions.
    period : float, default 2 pi
    degree : int, default 3
    lower_bound : float, default 0

    Examples
    --------
    >>> import numpy as np, pandas as pd, xglm
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"hd": rng.uniform(0, 2 * np.pi, 500)})
    >>> df["y"] = rng.poisson(np.exp(0.5 + np.cos(df.hd - 1)))
    >>> m = xglm.glm("y ~ cyclic_bs(hd, df=6)", data=df)
    >>> m.coef_.sizes["feature"]
    5
    """
    B = cyclic_bspline_basis(x, df, period, degree, lower_bound)
    _state["lower_bound"] = float(lower_bound)
    _state["upper_bound"] = float(lower_bound + period)
    _state["cyclic"] = True
    return FactorValues(
        {j: B[:, j] for j in range(df)},
        kind="numerical",
        spans_intercept=True,
        drop_field=0,
        format="{name}[{field}]",
        encoded=False,
    )
