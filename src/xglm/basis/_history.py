"""Causal temporal filters inside formulas: spike history, coupling and stimulus filters.

``history(spikes, window=50, n_basis=6)`` convolves a spike train (or a
``(time, neuron)`` array of spike trains, for coupling) with a raised-cosine basis over
the strictly past samples ``1 .. window``; ``convolve(stimulus, window=100, n_basis=8)``
does the same over lags ``0 .. window-1`` (the current sample included). Samples before
the start of the recording (or of a trial, with ``by=``) count as zero.
"""

from __future__ import annotations

import numpy as np
from formulaic.materializers.types import FactorValues
from formulaic.utils.stateful_transforms import stateful_transform

from ._raised_cosine import raised_cosine_kernel

__all__ = ["history", "convolve", "filter_kernel", "causal_filter"]

_BASES = ("log", "linear", "identity")


def filter_kernel(
    window: int,
    n_basis: int = 6,
    basis="log",
    width: float = 2.0,
    time_scaling: float = 50.0,
    include_current: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Lags and basis ``(window, n_basis)`` of a causal filter.

    ``basis`` is ``"log"`` or ``"linear"`` (raised cosines), ``"identity"`` (one
    coefficient per lag; ``n_basis`` is ignored) or an array ``(window, m)``.

    Examples
    --------
    >>> from xglm.basis import filter_kernel
    >>> lags, K = filter_kernel(5, basis="identity")
    >>> lags.tolist(), K.shape
    ([1, 2, 3, 4, 5], (5, 5))
    """
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise ValueError(
            f"window got {window!r}; expected a positive integer number of samples. "
            "Fix: e.g. window=50."
        )
    start = 0 if include_current else 1
    if isinstance(basis, str):
        if basis not in _BASES:
            raise ValueError(
                f"basis got {basis!r}; expected one of {list(_BASES)} or an array of shape "
                f"({window}, n_basis). Fix: e.g. basis='log' (the default)."
            )
        if basis == "identity":
            return np.arange(start, start + window), np.eye(window)
        if window < 2:
            raise ValueError(
                f"window got {window}; a raised-cosine basis needs window >= 2. Fix: a "
                "longer window or basis='identity'."
            )
        return raised_cosine_kernel(
            window, n_basis, basis, width, time_scaling, include_current=include_current
        )
    K = np.asarray(basis, dtype=float)
    if K.ndim != 2 or K.shape[0] != window:
        raise ValueError(
            f"basis: got an array of shape {K.shape}; expected ({window}, n_basis), one "
            f"row per lag. Fix: pass a 2-D array with {window} rows (one per lag) and one "
            "column per basis function, or set window to its number of rows."
        )
    return np.arange(start, start + window), K


def _segments(n: int, by) -> list[tuple[int, int]]:
    if by is None:
        return [(0, n)]
    labels = np.asarray(by)
    if labels.shape[0] != n:
        raise ValueError(
            f"by: got {labels.shape[0]} labels for {n} samples; expected {n}. Fix: pass one "
            "label per sample, e.g. by=trial with a trial column of the same data."
        )
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    edges = np.concatenate([[0], change, [n]])
    return list(zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True))


def causal_filter(x, lags: np.ndarray, kernel: np.ndarray, by=None) -> np.ndarray:
    """Filter ``x`` (time first) with ``kernel`` over ``lags``: ``(n, n_inputs, n_basis)``.

    ``out[t, c, j] = sum_l kernel[l, j] * x[t - lags[l], c]``, with ``x`` taken as zero
    before the start of the series (or of each run of equal ``by`` labels).
    """
    X = np.asarray(x, dtype=float)
    n = X.shape[0]
    X2 = X.reshape(n, -1)
    k = X2.shape[1]
    m = kernel.shape[1]
    out = np.zeros((n, k, m))
    for a, b in _segments(n, by):
        seg = X2[a:b]
        length = b - a
        if length * len(lags) * k * m <= 50_000_000:
            acc = out[a:b]
            for lag, row in zip(lags, kernel, strict=True):
                if lag >= length:
                    continue
                src = seg[: length - lag] if lag > 0 else seg
                acc[lag:] += src[:, :, None] * row[None, None, :]
        else:
            from scipy.signal import oaconvolve

            H = np.zeros((int(lags[-1]) + 1, m))
            H[lags] = kernel
            out[a:b] = oaconvolve(seg[:, :, None], H[:, None, :], mode="full", axes=0)[:length]
    return out


def _filter_values(x, window, n_basis, basis, width, time_scaling, include_current, by, state):
    lags, K = filter_kernel(window, n_basis, basis, width, time_scaling, include_current)
    values = np.asarray(x, dtype=float)
    if values.ndim not in (1, 2):
        raise ValueError(
            f"got an input with {values.ndim} dimensions; expected (time,) or (time, "
            "n_inputs), e.g. one spike train or a (time, neuron) array for coupling. Fix: "
            "pass a 1-D series or a 2-D array with time first (reshape extra dimensions into "
            "columns)."
        )
    n_inputs = 1 if values.ndim == 1 else values.shape[1]
    if "n_inputs" in state and state["n_inputs"] != n_inputs:
        raise ValueError(
            f"got {n_inputs} input series; the model was fitted with {state['n_inputs']}. "
            "Fix: pass the same spike trains as for fit."
        )
    state.update(
        kind="filter",
        lags=lags.tolist(),
        kernel=K.tolist(),
        n_inputs=n_inputs,
        one_d=values.ndim == 1,
        include_current=bool(include_current),
    )
    F = causal_filter(values, lags, K, by)
    if values.ndim == 1:
        cols = {j: F[:, 0, j] for j in range(K.shape[1])}
    else:
        cols = {f"{c},{j}": F[:, c, j] for c in range(n_inputs) for j in range(K.shape[1])}
    return FactorValues(cols, kind="numerical", format="{name}[{field}]", encoded=False)


@stateful_transform
def history(
    x,
    window: int = 50,
    n_basis: int = 6,
    basis="log",
    width: float = 2.0,
    time_scaling: float = 50.0,
    by=None,
    _state: dict = {},  # noqa: B006 - replaced by formulaic's stateful-transform machinery
):
    """Spike-history (or coupling) features: past spikes filtered by a basis.

    Column ``j`` at time ``t`` is ``sum_{l=1..window} B[l, j] * x[t - l]``: only
    strictly past samples enter, so a neuron's own spike at ``t`` never predicts itself.

    Parameters
    ----------
    x : array-like (time,) or (time, n_inputs)
        A spike train, or several (coupling filters from every input).
    window : int, default 50
        Number of past samples.
    n_basis : int, default 6
    basis : {"log", "linear", "identity"} or array (window, m), default "log"
        Log-spaced raised cosines (fine detail at short lags), linear ones, one column
        per lag, or your own basis.
    width, time_scaling : float
        Shape of the raised cosines (see :func:`raised_cosine_basis`).
    by : array-like, optional
        Trial labels: the filter restarts (past = zero) at each change of label.

    Examples
    --------
    >>> import numpy as np
    >>> from xglm.basis import history
    >>> x = np.array([0.0, 1.0, 0.0, 0.0, 0.0])
    >>> F = np.column_stack(list(history(x, window=3, basis="identity").values()))
    >>> F.tolist()  # the spike at t=1 shows at lags 1, 2, 3
    [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return _filter_values(x, window, n_basis, basis, width, time_scaling, False, by, _state)


@stateful_transform
def convolve(
    x,
    window: int = 100,
    n_basis: int = 8,
    basis="log",
    width: float = 2.0,
    time_scaling: float = 50.0,
    include_current: bool = True,
    by=None,
    _state: dict = {},  # noqa: B006 - replaced by formulaic's stateful-transform machinery
):
    """A causal stimulus filter: ``x`` over lags ``0 .. window-1`` filtered by a basis.

    Same as :func:`history` but the current sample is included by default
    (``include_current=False`` gives lags ``1 .. window``).

    Examples
    --------
    >>> import numpy as np
    >>> from xglm.basis import convolve
    >>> x = np.array([1.0, 0.0, 0.0])
    >>> F = np.column_stack(list(convolve(x, window=2, basis="identity").values()))
    >>> F.tolist()
    [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    """
    return _filter_values(
        x, window, n_basis, basis, width, time_scaling, include_current, by, _state
    )
