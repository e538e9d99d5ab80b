"""Translation in for arrays and plain pytrees (dict, list, tuple, nested).

Every leaf is an array whose first axis is the sample axis; its remaining axes are its
features. Leaves are flattened in the user's order and concatenated column-wise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._device import ROW_BLOCK, column_major_empty, copied_to_pool
from ..errors import DesignError, ResponseError
from ._layout import Layout, flatten_pytree

__all__ = ["Design", "Response", "design_from_arrays", "response_from_array", "check_finite"]


@dataclass
class Design:
    """A design matrix with its labels.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
    layout : Layout
        How columns map back to the user's structure and labels.
    sample_dim : str or None
        Name of the sample dimension for labelled input.
    sample_coords : object
        Sample labels (a pandas Index) for labelled input.
    spec : object
        What is needed to rebuild the design on new data (formula ModelSpec, ...).
    offset : ndarray or None
        An offset found in the input (e.g. ``offset(...)`` in a formula).
    """

    X: np.ndarray
    layout: Layout
    sample_dim: str | None = None
    sample_coords: Any = None
    spec: Any = None
    offset: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]


@dataclass
class Response:
    """The response with its labels: ``y`` is ``(n,)`` or ``(n, k)``."""

    y: np.ndarray
    name: str | None = None
    neuron_labels: tuple | None = None
    neuron_dim: str = "neuron"
    sample_coords: Any = None
    attrs: dict = field(default_factory=dict)


def _to_numpy(value, what) -> np.ndarray:
    if hasattr(value, "dtype") and str(getattr(value, "dtype", "")) in ("object",):
        raise DesignError(
            f"{what}: got an object array; expected numbers. Fix: convert it with "
            "np.asarray(..., dtype=float)."
        )
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DesignError(
            f"{what}: got {type(value).__name__} that cannot be converted to numbers "
            f"({exc}). Fix: pass numeric arrays, a DataFrame with numeric columns, or use "
            "a formula for categorical variables."
        ) from exc
    return arr


def design_checksum(X: np.ndarray) -> float:
    """The sum of the design's values: a fingerprint that tells whether the data were
    modified in place between the fit and a deferred computation (see
    :func:`xglm._statistics.model_statistics`). A NaN or inf anywhere makes it non-finite.

    A contiguous float matrix is summed as the product of a vector of ones with it:
    BLAS streams it at about twice ``np.sum``'s speed (200,000 x 100: 5 ms against
    9 ms). (A strided view would be copied for BLAS first.)
    """
    contiguous = X.flags.c_contiguous or X.flags.f_contiguous
    with np.errstate(over="ignore", invalid="ignore"):
        if X.ndim == 2 and X.dtype in (np.float32, np.float64) and X.size and contiguous:
            return float(np.sum(np.ones(X.shape[0], X.dtype) @ X))
        return float(np.sum(X))


def check_finite(arr: np.ndarray, what: str, labels=None) -> float | None:
    """Raise naming the offending columns when ``arr`` holds NaN or inf. Returns the
    sum of a float ``arr`` (:func:`design_checksum`), which the check computes."""
    if arr.dtype.kind == "f":
        total = design_checksum(arr)
        if np.isfinite(total):
            return total  # a NaN or inf anywhere makes the sum non-finite
    bad = ~np.isfinite(arr)
    if bad.any():
        if arr.ndim == 2 and labels is not None:
            cols = [labels[j] for j in np.flatnonzero(bad.any(axis=0))]
            where = f" in column(s) {cols[:10]}"
        else:
            where = ""
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        raise DesignError(
            f"{what}: found {n_nan} NaN and {n_inf} infinite value(s){where}; expected "
            "finite numbers. Fix: remove or impute those rows (formula and labelled "
            "input also accept na_action='drop')."
        )


def design_from_arrays(X, defer_check: bool = False) -> Design:
    """Build a :class:`Design` from a 2-D array or a pytree of arrays.

    Its values are checked to be finite here, unless ``defer_check`` and the design is
    a float64 column-major array that the fit copies into its pool as it is
    (:func:`~xglm._device.copied_to_pool`): the design's ``extra["deferred_check"]``
    then tells the fit to check them itself (:meth:`GLM.fit`), at no pass of its own.
    """
    if isinstance(X, (dict, list, tuple)):
        if len(X) == 0:
            raise DesignError(
                "X: got an empty container; expected at least one array. Fix: pass one "
                "array per predictor, e.g. {'speed': speed}."
            )
        leaves, names, structure = flatten_pytree(X)
        arrays = [_to_numpy(leaf, f"X[{name!r}]") for leaf, name in zip(leaves, names)]
        ns = {a.shape[0] if a.ndim else None for a in arrays}
        if isinstance(X, (list, tuple)) and all(a.ndim == 0 for a in arrays):
            raise DesignError(
                f"X: got a {type(X).__name__} of {len(X)} rows of numbers; a list or tuple X "
                "is a pytree of predictors, one array per variable whose first axis is the "
                "sample axis. Fix: pass np.asarray(X) for a (n_samples, n_features) table, "
                "or a list of arrays, one per variable."
            )
        for a, name in zip(arrays, names):
            if a.ndim == 0:
                raise DesignError(
                    f"X[{name!r}]: got a scalar; expected an array whose first axis is "
                    "the sample axis. Fix: pass shape (n_samples,) or (n_samples, n_features)."
                )
        if len(ns) != 1:
            sizes = {name: a.shape[0] for a, name in zip(arrays, names)}
            raise DesignError(
                f"X: the leaves have different numbers of samples {sizes}; expected the "
                "same first-axis length for every leaf. Fix: align the predictors in time."
            )
        n = arrays[0].shape[0]
        shapes = tuple(a.shape[1:] for a in arrays)
        mat = stack_columns([a.reshape(n, -1) for a in arrays], n)
        layout = Layout("pytree", tuple(names), shapes, structure)
    else:
        mat = _to_numpy(X, "X")
        if mat.ndim != 2:
            raise DesignError(
                f"X: got an array with {mat.ndim} dimension(s) (shape {mat.shape}); "
                "expected 2 dimensions (n_samples, n_features). Fix: reshape, e.g. "
                "X.reshape(-1, 1) for one feature, or pass a dict of named arrays."
            )
        layout = Layout("array", ("x",), ((mat.shape[1],),), ("leaf",))
    if mat.shape[0] == 0:
        raise DesignError(
            "X: got 0 samples; expected at least one row. Fix: pass data with samples, and "
            "check that any slicing or filtering of X kept some rows."
        )
    if not (mat.flags.c_contiguous or mat.flags.f_contiguous):
        mat = np.ascontiguousarray(mat)
    if defer_check and copied_to_pool(mat, np.float64):
        return Design(mat, layout, extra={"deferred_check": True})
    total = check_finite(mat, "X", layout.feature_labels)
    return Design(mat, layout, extra={} if total is None else {"checksum": total})


def stack_columns(blocks, n: int) -> np.ndarray:
    """The ``(n, p_i)`` blocks side by side as one column-major ``(n, sum p_i)`` design,
    which the solvers read without a transpose (see :func:`xglm._device.feature_major`).

    No copy is made when the blocks already lie side by side in one buffer: a single
    contiguous float64 block (as a NumPy ``X`` is used), or the columns of a DataFrame,
    which pandas stores as the rows of one ``(p, n)`` block. Otherwise they are written
    into an aligned buffer, block by block.
    """
    if len(blocks) == 1:
        b = blocks[0]
        if b.dtype == np.float64 and (b.flags.c_contiguous or b.flags.f_contiguous):
            return b
    view = _adjacent_columns(blocks, n)
    if view is not None:
        return view
    out = column_major_empty(n, sum(b.shape[1] for b in blocks))
    j = 0
    for b in blocks:
        q = b.shape[1]
        if q == 1 or b.flags.f_contiguous:
            out[:, j : j + q] = b
        else:  # a row-major block: transposed in cache-sized row blocks
            for start in range(0, n, ROW_BLOCK):
                out[start : start + ROW_BLOCK, j : j + q] = b[start : start + ROW_BLOCK]
        j += q
    return out


def _adjacent_columns(blocks, n: int) -> np.ndarray | None:
    """The blocks as one read-only column-major view when they are consecutive columns
    of one float64 buffer, else None."""
    if not blocks or n == 0:
        return None
    start = blocks[0].ctypes.data
    end = start
    for b in blocks:
        if b.dtype != np.float64 or not b.flags.f_contiguous or b.ctypes.data != end:
            return None
        end += b.nbytes
    root = blocks[0]
    while isinstance(root.base, np.ndarray):
        root = root.base
    lo = root.ctypes.data
    if not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    if start < lo or end > lo + root.nbytes:
        return None
    p = sum(b.shape[1] for b in blocks)
    view = np.ndarray((n, p), np.float64, buffer=root, offset=start - lo, strides=(8, 8 * n))
    view.flags.writeable = False
    return view


def response_from_array(y, population: bool) -> Response:
    """Validate the shape of ``y`` and wrap it as a :class:`Response`."""
    try:
        arr = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ResponseError(
            f"y: got {type(y).__name__} that cannot be converted to numbers. Fix: pass a "
            "numeric array."
        ) from exc
    if population:
        if arr.ndim != 2:
            raise ResponseError(
                f"y: got shape {arr.shape}; PopulationGLM expects 2 dimensions "
                "(n_samples, n_neurons). Fix: stack neurons as columns, or use GLM for "
                "one neuron."
            )
    else:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ResponseError(
                f"y: got shape {arr.shape}; GLM expects 1 dimension (n_samples,). Fix: "
                "pass one neuron, or use PopulationGLM for (n_samples, n_neurons)."
            )
    if not np.all(np.isfinite(arr)):
        raise ResponseError(
            f"y: found {int((~np.isfinite(arr)).sum())} NaN or infinite value(s); expected "
            "finite numbers. Fix: remove or impute those samples."
        )
    return Response(arr)
