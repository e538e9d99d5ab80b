"""Raised-cosine bases (Pillow et al., 2008) with linear or logarithmic spacing.

Two uses:

* evaluation bases for a variable (tuning curves): :func:`raised_cosine_basis` on
  values rescaled to [0, 1] and the formula term :func:`raised_cosine`;
* temporal kernels over lags (stimulus and spike-history filters):
  :func:`raised_cosine_kernel`, used by :func:`xglm.basis.history` and
  :func:`xglm.basis.convolve`.
"""

from __future__ import annotations

import numpy as np
from formulaic.materializers.types import FactorValues
from formulaic.utils.stateful_transforms import stateful_transform

__all__ = ["raised_cosine_basis", "raised_cosine_kernel", "raised_cosine"]

_KINDS = ("linear", "log")


def _check_args(n_basis, kind, width, time_scaling, what):
    if not isinstance(n_basis, (int, np.integer)) or isinstance(n_basis, bool) or n_basis < 1:
        raise ValueError(
            f"{what}: n_basis got {n_basis!r}; expected an integer >= 1. Fix: e.g. n_basis=6."
        )
    if kind not in _KINDS:
        raise ValueError(
            f"{what}: kind got {kind!r}; expected 'linear' (evenly spaced bumps) or 'log' "
            "(bumps that widen with the value, as for temporal filters). Fix: pass "
            "kind='linear' or kind='log'."
        )
    if not np.isfinite(width) or width < 1:
        raise ValueError(
            f"{what}: width got {width!r}; expected a number >= 1 (1 makes the bumps "
            "sum to one, 2 is smoother). Fix: width=2.0."
        )
    if kind == "log" and (not np.isfinite(time_scaling) or time_scaling <= 0):
        raise ValueError(
            f"{what}: time_scaling got {time_scaling!r}; expected a positive number (larger "
            "values compress the bumps more towards 0). Fix: time_scaling=50.0."
        )


def raised_cosine_basis(
    x,
    n_basis: int,
    kind: str = "linear",
    width: float = 2.0,
    time_scaling: float = 50.0,
    decay_to_zero: bool = False,
) -> np.ndarray:
    """Evaluate ``n_basis`` raised-cosine bumps at ``x`` in [0, 1].

    Bump ``j`` is ``0.5 * (1 + cos(pi * (s(x) - c_j) / (width * delta)))`` on
    ``|s(x) - c_j| <= width * delta`` and 0 elsewhere, where ``s`` is the identity
    (``kind="linear"``) or ``log(1 + a x) / log(1 + a)`` with ``a = time_scaling``
    (``kind="log"``), and the centres ``c_j = j * delta`` are evenly spaced in ``s``.

    Parameters
    ----------
    x : array-like
        Values in [0, 1].
    n_basis : int
        Number of bumps.
    kind : {"linear", "log"}
        Spacing of the bumps.
    width : float, default 2.0
        Half-support of a bump in units of the spacing; with ``width=1`` the bumps sum
        to one on [0, 1].
    time_scaling : float, default 50.0
        Strength of the logarithmic stretch for ``kind="log"``.
    decay_to_zero : bool, default False
        If True, the last bump ends at 1 (filters that vanish at the end of the
        window); otherwise the last bump peaks at 1.

    Returns
    -------
    ndarray of shape (len(x), n_basis)

    Examples
    --------
    >>> import numpy as np
    >>> from xglm.basis import raised_cosine_basis
    >>> B = raised_cosine_basis(np.linspace(0, 1, 5), n_basis=3, width=1.0)
    >>> B.shape, np.allclose(B.sum(axis=1), 1.0)
    ((5, 3), True)
    """
    _check_args(n_basis, kind, width, time_scaling, "raised_cosine_basis")
    x = np.asarray(x, dtype=float)
    s = x if kind == "linear" else np.log1p(time_scaling * x) / np.log1p(time_scaling)
    if decay_to_zero:
        delta = 1.0 / (n_basis - 1 + width)
    else:
        delta = 1.0 / (n_basis - 1) if n_basis > 1 else 1.0
    centres = np.arange(n_basis) * delta
    u = (s[..., None] - centres) / (width * delta)
    out = 0.5 * (1.0 + np.cos(np.pi * np.clip(u, -1.0, 1.0)))
    return np.where(np.abs(u) <= 1.0, out, 0.0)


def raised_cosine_kernel(
    window: int,
    n_basis: int,
    kind: str = "log",
    width: float = 2.0,
    time_scaling: float = 50.0,
    include_current: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """A raised-cosine basis over the lags of a causal filter.

    Parameters
    ----------
    window : int
        Number of lags (samples) the filter spans.
    n_basis : int
        Number of basis functions.
    kind : {"log", "linear"}, default "log"
        Log spacing puts narrow bumps at short lags (fine temporal detail just after a
        spike) and wide ones at long lags.
    width, time_scaling : float
        As in :func:`raised_cosine_basis`.
    include_current : bool, default False
        Lags ``0 .. window-1`` (a stimulus filter that may use the current sample) if
        True; lags ``1 .. window`` (strictly past samples, spike history) if False.

    Returns
    -------
    lags : ndarray of shape (window,)
        The lags in samples.
    kernel : ndarray of shape (window, n_basis)
        Basis function ``j`` at each lag; every function vanishes at the end of the
        window.

    Examples
    --------
    >>> from xglm.basis import raised_cosine_kernel
    >>> lags, K = raised_cosine_kernel(window=10, n_basis=4)
    >>> lags[0], lags[-1], K.shape
    (np.int64(1), np.int64(10), (10, 4))
    """
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 2:
        raise ValueError(
            f"raised_cosine_kernel: window got {window!r}; expected an integer >= 2 "
            "(the number of lags). Fix: e.g. window=50."
        )
    start = 0 if include_current else 1
    lags = np.arange(start, start + window)
    x = (lags - lags[0]) / (lags[-1] - lags[0])
    kernel = raised_cosine_basis(
        x, n_basis, kind=kind, width=width, time_scaling=time_scaling, decay_to_zero=True
    )
    return lags, kernel


def _spans_constant(B: np.ndarray) -> bool:
    """Whether the columns of ``B`` reproduce a constant (collinear with an intercept)."""
    ones = np.ones(B.shape[0])
    coef, *_ = np.linalg.lstsq(B, ones, rcond=None)
    return bool(np.max(np.abs(B @ coef - ones)) < 1e-9)


@stateful_transform
def raised_cosine(
    x,
    n_basis: int = 6,
    kind: str = "linear",
    width: float = 2.0,
    time_scaling: float = 50.0,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    extrapolation: str = "raise",
    _state: dict = {},  # noqa: B006 - replaced by formulaic's stateful-transform machinery
):
    """Raised-cosine basis of a variable, for use inside formulas (tuning curves).

    The bounds are learnt from the fitting data (or given) and reused for new data;
    values outside them raise unless ``extrapolation="clip"``. When the bumps sum to a
    constant (``width=1``, or ``width=2`` with an odd ``n_basis``) they span the
    intercept, and one of them is dropped when the formula has an intercept.

    Parameters
    ----------
    x : array-like
        The variable.
    n_basis : int, default 6
    kind : {"linear", "log"}, default "linear"
    width, time_scaling : float
        As in :func:`raised_cosine_basis`.
    lower_bound, upper_bound : float, optional
        Domain of the basis; default: the range of ``x`` when the model is fitted.
    extrapolation : {"raise", "clip"}, default "raise"

    Examples
    --------
    >>> import numpy as np, pandas as pd, xglm
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"speed": rng.uniform(0, 10, 400)})
    >>> df["y"] = rng.poisson(np.exp(1 - 0.02 * (df.speed - 5) ** 2))
    >>> m = xglm.glm("y ~ raised_cosine(speed, n_basis=4)", data=df)
    >>> m.coef_.sizes["feature"]
    4
    """
    values = np.asarray(x, dtype=float)
    if "lower_bound" not in _state:
        _state["lower_bound"] = float(np.nanmin(values) if lower_bound is None else lower_bound)
        _state["upper_bound"] = float(np.nanmax(values) if upper_bound is None else upper_bound)
    lo, hi = _state["lower_bound"], _state["upper_bound"]
    if not hi > lo:
        raise ValueError(
            f"raised_cosine: the domain [{lo:g}, {hi:g}] is empty; expected a variable "
            "that takes more than one value, or lower_bound < upper_bound. Fix: pass explicit "
            "bounds, e.g. raised_cosine(x, n_basis=6, lower_bound=0, upper_bound=1)."
        )
    if extrapolation not in ("raise", "clip"):
        raise ValueError(
            f"raised_cosine: extrapolation got {extrapolation!r}; expected 'raise' or 'clip'. "
            "Fix: pass extrapolation='clip' to clip values to the fitted range."
        )
    outside = (values < lo) | (values > hi)
    if np.any(outside):
        if extrapolation == "raise":
            raise ValueError(
                f"Some field values extend beyond upper and/or lower bounds: "
                f"{int(outside.sum())} value(s) outside the fitted range [{lo:g}, {hi:g}] "
                f"(got min {np.nanmin(values):g}, max {np.nanmax(values):g}). Fix: drop those "
                "values, refit with lower_bound/upper_bound covering them, or pass "
                "extrapolation='clip'."
            )
        values = np.clip(values, lo, hi)
    B = raised_cosine_basis((values - lo) / (hi - lo), n_basis, kind, width, time_scaling)
    grid = raised_cosine_basis(np.linspace(0, 1, 257), n_basis, kind, width, time_scaling)
    spans = _spans_constant(grid)
    return FactorValues(
        {j: B[:, j] for j in range(n_basis)},
        kind="numerical",
        spans_intercept=spans,
        drop_field=0 if spans else None,
        format="{name}[{field}]",
        encoded=False,
    )
