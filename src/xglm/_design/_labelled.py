"""Translation in for labelled data: pandas DataFrames, xarray Datasets and DataArrays,
dicts of arrays, and formulas over any of them.

Without a formula every variable (column) is one leaf of the design and its non-sample
dimensions are its features. Inputs are matched by their sample labels, exactly: a
response whose ``time`` labels differ from the predictors' is an error naming the
coordinate, never a positional alignment. Missing values are never dropped silently:
they raise unless ``na_action="drop"``, which drops the rows with a
:class:`~xglm.errors.DroppedRowsWarning` and records their labels.

Inputs become tables of variables in :mod:`xglm._design._tables`; the formula path
lives in :mod:`xglm._design._formula`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DesignError, ResponseError
from ._arrays import Design, Response, design_checksum, stack_columns
from ._layout import Layout
from ._tables import (
    NEURON_DIM,
    Table,
    Var,
    check_same_index,
    check_var_coords,
    dtype_name,
    handle_missing,
    is_dataarray,
    is_dataset,
    is_textual,
    missing_rows,
    numeric_array,
    to_table,
    var_from_xarray,
)

__all__ = [
    "prepare_labelled",
    "prepare_labelled_new",
    "check_intercept",
    "DataSpec",
]


def response_var(y, table: Table, what="y") -> Var:
    """Turn a labelled or plain ``y`` into a Var aligned (exactly) with ``table``."""
    if isinstance(y, pd.DataFrame):
        check_same_index(table.sample_dim, y.index, table, what)
        cols = tuple(y.columns.tolist())
        return Var(y.to_numpy(), (NEURON_DIM,), (cols,), {"name": None})
    if isinstance(y, pd.Series):
        check_same_index(table.sample_dim, y.index, table, what)
        return Var(y.reset_index(drop=True), (), (), {"name": y.name})
    if is_dataarray(y):
        dim = table.sample_dim
        if dim not in y.dims:
            if y.ndim == 1 and not table.labelled_index and y.dims[0] not in y.indexes:
                dim = y.dims[0]
            else:
                raise DesignError(
                    f"{what}: has dims {y.dims} but the samples of X run along '{dim}'; "
                    f"expected {what} to have the '{dim}' dimension. Fix: rename it, e.g. "
                    f"y.rename({{'{y.dims[0]}': '{dim}'}})."
                )
        if dim in y.indexes:
            check_same_index(dim, y.indexes[dim], table, what)
        elif y.sizes[dim] != table.n:
            raise DesignError(
                f"{what}: has {y.sizes[dim]} samples along '{dim}' but X has {table.n}; "
                f"expected the same samples. Fix: pass {what} and X for the same samples, "
                "e.g. slice both to the same time bins."
            )
        var = var_from_xarray(y, dim, what)
        var.attrs = {"name": y.name, **var.attrs}
        return var
    arr = np.asarray(y)
    if arr.ndim == 0 or arr.shape[0] != table.n:
        raise DesignError(
            f"{what}: got shape {arr.shape}; expected {table.n} samples along the first "
            "axis, like X. Fix: pass one response value per sample."
        )
    extra = tuple(f"{NEURON_DIM}" for _ in range(arr.ndim - 1))
    return Var(arr, extra[:1], tuple(None for _ in extra[:1]), {"name": None})


def response_from_var(var: Var, name, population: bool, index, what="y") -> Response:
    """A :class:`Response` (float) from a response Var, checking the shape."""
    if is_textual(var.values):
        raise ResponseError(
            f"{what}: got values of dtype {dtype_name(var.values)}; expected numbers. "
            "Fix: encode the response as numbers (0/1 for a binary outcome)."
        )
    if isinstance(var.values, pd.Series):
        y = var.values.to_numpy(dtype=float, na_value=np.nan)
    else:
        y = np.asarray(var.values, dtype=float)
    attrs = {k: v for k, v in var.attrs.items() if k != "name"}
    if y.ndim > 2:
        dims = tuple(var.dims) if var.dims else tuple(f"axis {i}" for i in range(1, y.ndim))
        raise ResponseError(
            f"{what}: {name!r} has shape {y.shape} (the samples by {dims}); expected one "
            "response per sample, or one per sample and neuron. Fix: stack the extra dims "
            "into one neuron dim, e.g. y.stack(neuron=('neuron', 'trial')) for a DataArray."
        )
    labels = None
    if y.ndim == 2:
        labels = var.coords[0] if var.coords and var.coords[0] is not None else None
        if labels is None:
            labels = tuple(range(y.shape[1]))
        if var.dims and var.dims[0] != NEURON_DIM:
            attrs.setdefault("neuron_dim", var.dims[0])
    if population:
        if y.ndim == 1:
            y = y[:, None]
            labels = (name if name is not None else 0,)
    else:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
            labels = None
        if y.ndim != 1:
            raise ResponseError(
                f"{what}: {name!r} has shape {y.shape} ({y.shape[1]} neurons); GLM fits one "
                "response. Fix: use xglm.PopulationGLM (xglm.glm picks it for you), or "
                "select one neuron."
            )
    if not np.all(np.isfinite(y)):
        raise ResponseError(
            f"{what}: found {int((~np.isfinite(y)).sum())} infinite value(s) in {name!r}; "
            "expected finite numbers. Fix: remove those samples."
        )
    return Response(
        y,
        name=None if name is None else str(name),
        neuron_labels=None if labels is None else tuple(labels),
        neuron_dim=NEURON_DIM,
        sample_coords=index,
        attrs=attrs,
    )


# ----------------------------------------------------------------------------- spec
@dataclass
class DataSpec:
    """How to rebuild a no-formula labelled design on new data."""

    kind: str
    sample_dim: str
    variables: tuple  # (name, dims, coords) per leaf, in order
    response: str | None = None


def _feature_labels(name, dims, coords, shape) -> list[str]:
    if not dims:
        return [name]
    axes = []
    for c, size in zip(coords, shape, strict=True):
        axes.append(list(c) if c is not None else list(range(size)))
    out = []
    for idx in np.ndindex(*shape):
        parts = [str(axes[a][i]) for a, i in enumerate(idx)]
        out.append(f"{name}[{','.join(parts)}]")
    return out


def _leaves(table: Table, names, what) -> tuple[np.ndarray, Layout, tuple, dict]:
    blocks, shapes, labels, specs, term_dims = [], [], [], [], {}
    n = table.n
    for name in names:
        var = table.variables[name]
        arr = numeric_array(var.values, name, what)
        shape = tuple(arr.shape[1:])
        blocks.append(arr.reshape(n, -1))
        shapes.append(shape)
        labels.extend(_feature_labels(name, var.dims, var.coords, shape))
        specs.append((name, var.dims, var.coords))
        if var.dims:
            term_dims[name] = (var.dims, var.coords, shape)
    X = stack_columns(blocks, n)
    layout = Layout("labelled", tuple(names), tuple(shapes), None, tuple(labels))
    return X, layout, tuple(specs), term_dims


def _check_finite_labelled(X, layout, what) -> float | None:
    """Raise naming the columns with infinite values; returns the sum of ``X``
    (:func:`~xglm._design._arrays.design_checksum`) when it is finite."""
    total = design_checksum(X)
    if np.isfinite(total):
        return total  # an inf anywhere makes the sum non-finite
    bad = ~np.isfinite(X)
    if bad.any():
        cols = [layout.feature_labels[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise DesignError(
            f"{what}: found {int(bad.sum())} infinite value(s) in {cols[:10]}; expected "
            "finite numbers. Fix: remove or clip those values."
        )


def _prepare_data(X, y, population, na_action) -> tuple[Design, Response]:
    response_name = None
    if isinstance(y, str):
        response_name = y
        if not (is_dataset(X) or isinstance(X, (pd.DataFrame, dict))):
            raise DesignError(
                f"y: got the name {y!r} but X is a {type(X).__name__}; expected a Dataset, "
                "DataFrame or dict containing that variable. Fix: pass y's values instead "
                "of its name, or pass X as a Dataset, DataFrame or dict that holds it."
            )
        names_x = list(X.data_vars) if is_dataset(X) else list(X.keys())
        if y not in names_x and not (isinstance(X, pd.DataFrame) and y in X.columns):
            raise DesignError(
                f"y: got {y!r}, which is not a variable of X (variables: "
                f"{[str(v) for v in names_x]}). Fix: pass the response's name or values."
            )
    if y is None:
        raise DesignError(
            "y: got None; expected the response, either as values (DataArray, Series, "
            "array) or as the name of a variable of X. Fix: fit(X, y), fit(ds, 'spikes'), "
            "or set formula='spikes ~ ...' and call fit(data)."
        )
    preferred = None
    if is_dataarray(y) and is_dataset(X):
        shared = [d for d in y.dims if d in X.dims]
        if len(shared) == 1:
            preferred = shared[0]
    elif response_name is not None and is_dataset(X):
        preferred = None
    table = to_table(X, "X", preferred_dim=preferred)
    if response_name is not None:
        yvar = table.variables.pop(response_name)
        yname = response_name
    else:
        yvar = response_var(y, table)
        yname = yvar.attrs.get("name")
    if getattr(table, "skipped", None):
        raise DesignError(
            f"X: the variable(s) {table.skipped} do not have the sample dimension "
            f"'{table.sample_dim}'; expected every data variable along '{table.sample_dim}'. "
            "Fix: drop them (X.drop_vars([...])) or make them coordinates."
        )
    names = list(table.variables)
    Xmat, layout, specs, term_dims = _leaves(table, names, "X")
    # one pass: a finite sum means no NaN and no inf anywhere in X
    checksum = design_checksum(Xmat)
    complete = bool(np.isfinite(checksum))
    masks = {} if complete else {k: missing_rows(table.variables[k]) for k in names}
    masks[str(yname) if yname is not None else "y"] = missing_rows(yvar)
    keep, dropped = handle_missing(masks, table.n, table.index, na_action, "X")
    samples_in = None if keep is None else (table.index, np.flatnonzero(keep))
    if keep is not None:
        table = table.take(keep)
        yvar = yvar.take(keep)
        Xmat, layout, specs, term_dims = _leaves(table, names, "X")
        complete = False
    if not complete:
        checksum = _check_finite_labelled(Xmat, layout, "X")
    response = response_from_var(yvar, yname, population, table.index)
    spec = DataSpec(table.kind, table.sample_dim, specs, response_name)
    design = Design(
        Xmat,
        layout,
        sample_dim=table.sample_dim,
        sample_coords=table.index,
        spec=spec,
        offset=None,
        extra={
            "short_names": {},
            "dropped": dropped,
            "term_dims": term_dims,
            "samples_in": samples_in,
        },
    )
    if checksum is not None:
        design.extra["checksum"] = checksum
    return design, response


def _prepare_data_new(template: Design, X, na_action) -> Design:
    spec: DataSpec = template.spec
    names = [v[0] for v in spec.variables]
    table = to_table(X, "X", relevant=names, preferred_dim=spec.sample_dim)
    missing = [n for n in names if n not in table.variables]
    if missing:
        raise DesignError(
            f"X: is missing the variable(s) {missing} the model was fitted with; got "
            f"{table.names()}. Fix: pass new data with the same variables."
        )
    for name, dims, coords in spec.variables:
        check_var_coords(name, table.variables[name], dims, coords, "X")
    masks = {k: missing_rows(table.variables[k]) for k in names}
    keep, dropped = handle_missing(masks, table.n, table.index, na_action, "X")
    samples_in = None if keep is None else (table.index, np.flatnonzero(keep))
    if keep is not None:
        table = table.take(keep)
    Xmat, layout, _, _ = _leaves(table, names, "X")
    if layout.shapes != template.layout.shapes:
        raise DesignError(
            f"X: the variables have feature shapes {list(layout.shapes)}; expected "
            f"{list(template.layout.shapes)} as in the fitted data. Fix: pass each "
            "variable with the same feature shape as when fitting."
        )
    _check_finite_labelled(Xmat, layout, "X")
    return Design(
        Xmat,
        template.layout,
        sample_dim=table.sample_dim,
        sample_coords=table.index,
        spec=spec,
        offset=None,
        extra={**template.extra, "dropped": dropped, "samples_in": samples_in},
    )


# ----------------------------------------------------------------------------- hooks
def prepare_labelled(X, y, *, formula=None, population=False, na_action="raise"):
    """``(Design, Response)`` for a formula or labelled input (the hook of ``prepare``)."""
    if formula is not None:
        from ._formula import prepare_formula

        return prepare_formula(X, y, formula, population, na_action)
    if not (isinstance(X, (pd.DataFrame, pd.Series, dict)) or is_dataset(X) or is_dataarray(X)):
        from ._arrays import design_from_arrays

        # plain X with a labelled y: labels come from y
        design = design_from_arrays(X)
        table = Table({}, "index", pd.RangeIndex(design.n_samples), "array", {}, False)
        yvar = response_var(y, table)
        response = response_from_var(yvar, yvar.attrs.get("name"), population, None)
        return design, response
    return _prepare_data(X, y, population, na_action)


def prepare_labelled_new(template: Design, X, *, na_action="raise") -> Design:
    """The design of new data for a model fitted on labelled input or a formula."""
    from ._formula import FormulaSpec, prepare_formula_new

    if isinstance(template.spec, FormulaSpec):
        return prepare_formula_new(template, X, na_action)
    return _prepare_data_new(template, X, na_action)


def check_intercept(design: Design, fit_intercept) -> None:
    """With a formula, the formula decides the intercept; a conflicting flag raises."""
    has = design.extra.get("formula_intercept")
    if has is None:
        return
    formula = design.extra.get("formula", "")
    if has and not fit_intercept:
        raise DesignError(
            f"fit_intercept: got False but the formula {formula!r} has an intercept; with a "
            "formula, the formula decides. Fix: remove the intercept in the formula with "
            "'- 1' (or '0 +'), or pass fit_intercept=True."
        )
    if not has and fit_intercept:
        raise DesignError(
            f"fit_intercept: got True (the default) but the formula {formula!r} has no "
            "intercept; with a formula, the formula decides. Fix: pass "
            "fit_intercept=False (xglm.glm does this for you), or drop the '- 1'."
        )
