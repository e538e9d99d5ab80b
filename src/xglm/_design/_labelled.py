"""Translation in for labelled data: pandas DataFrames, xarray Datasets and DataArrays,
dicts of arrays, and formulas over any of them.

Without a formula every variable (column) is one leaf of the design and its non-sample
dimensions are its features. Inputs are matched by their sample labels, exactly: a
response whose ``time`` labels differ from the predictors' is an error naming the
coordinate, never a positional alignment. Missing values are never dropped silently:
they raise unless ``na_action="drop"``, which drops the rows with a
:class:`~xglm.errors.DroppedRowsWarning` and records their labels.

The formula path lives in :mod:`xglm._design._formula`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DesignError, DroppedRowsWarning, ResponseError
from ._arrays import Design, Response, design_checksum, stack_columns
from ._layout import Layout

__all__ = [
    "prepare_labelled",
    "prepare_labelled_new",
    "check_intercept",
    "DataSpec",
    "Table",
    "Var",
    "to_table",
]

#: Dimension names taken as the sample dimension when several are shared.
SAMPLE_DIM_NAMES = ("time", "sample", "samples", "index", "obs", "observation", "t", "trial")
NEURON_DIM = "neuron"


# ----------------------------------------------------------------------------- tables
@dataclass
class Var:
    """One variable: ``values`` with the sample axis first, its extra dims and labels."""

    values: Any
    dims: tuple = ()
    coords: tuple = ()
    attrs: dict = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return 1 + len(self.dims)

    def take(self, keep: np.ndarray) -> Var:
        v = self.values
        if isinstance(v, pd.Series):
            v = v[keep].reset_index(drop=True)
        else:
            v = np.asarray(v)[keep]
        return Var(v, self.dims, self.coords, self.attrs)


@dataclass
class Table:
    """Sample-aligned variables of one labelled input."""

    variables: dict
    sample_dim: str
    index: pd.Index
    kind: str
    coords: dict = field(default_factory=dict)  # sample-aligned coords usable in formulas
    labelled_index: bool = True

    @property
    def n(self) -> int:
        return len(self.index)

    def lookup(self, name: str) -> Var | None:
        if name in self.variables:
            return self.variables[name]
        return self.coords.get(name)

    def names(self) -> list[str]:
        return list(self.variables) + [c for c in self.coords if c not in self.variables]

    def take(self, keep: np.ndarray) -> Table:
        return Table(
            {k: v.take(keep) for k, v in self.variables.items()},
            self.sample_dim,
            self.index[keep],
            self.kind,
            {k: v.take(keep) for k, v in self.coords.items()},
            self.labelled_index,
        )


def _is_dataset(obj) -> bool:
    return type(obj).__name__ == "Dataset" and type(obj).__module__.startswith("xarray")


def _is_dataarray(obj) -> bool:
    return type(obj).__name__ == "DataArray" and type(obj).__module__.startswith("xarray")


def _dim_labels(obj, dim):
    """Labels of ``dim`` in an xarray object, or None when it has no coordinate."""
    if dim in obj.indexes:
        return tuple(obj.indexes[dim].tolist())
    return None


def _sample_dim_of_dataset(ds, relevant, preferred, what) -> str:
    if preferred is not None and preferred in ds.dims:
        return preferred
    names = [v for v in (relevant if relevant is not None else ds.data_vars) if v in ds.data_vars]
    dimsets = [set(ds[v].dims) for v in names if ds[v].ndim > 0]
    common = set.intersection(*dimsets) if dimsets else set(ds.dims)
    if len(common) == 1:
        return next(iter(common))
    for cand in SAMPLE_DIM_NAMES:
        if cand in common:
            return cand
    if not common and dimsets:
        # some variables lack the sample dim (they are reported later): take the dim
        # shared by most variables
        counts = {d: sum(d in ds_ for ds_ in dimsets) for d in set().union(*dimsets)}
        top = max(counts.values())
        best = [d for d, c in counts.items() if c == top]
        named = [d for d in SAMPLE_DIM_NAMES if d in best]
        if len(best) == 1 or named:
            return best[0] if len(best) == 1 else named[0]
    if len(names) == 1 and dimsets and len(ds[names[0]].dims) > 0:
        return ds[names[0]].dims[0]  # a single array: its first dim
    raise DesignError(
        f"{what}: cannot tell which dimension indexes the samples; the variables "
        f"{names} share the dims {sorted(map(str, common))}. Expected exactly one shared "
        "dimension (or one named 'time' or 'sample'). Fix: rename the sample dimension "
        "to 'time', e.g. ds.rename(frame='time'), or select the variables you use."
    )


def _var_from_xarray(da, sample_dim, what) -> Var:
    extra = tuple(d for d in da.dims if d != sample_dim)
    da = da.transpose(sample_dim, *extra)
    coords = tuple(_dim_labels(da, d) for d in extra)
    return Var(np.asarray(da.values), extra, coords, dict(da.attrs))


def to_table(data, what="X", relevant=None, preferred_dim=None) -> Table:
    """Convert a DataFrame, Dataset, DataArray or dict of arrays into a :class:`Table`."""
    if isinstance(data, pd.DataFrame):
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise DesignError(
                f"{what}: got duplicated column names {dup}; expected unique names. Fix: "
                "rename the columns."
            )
        variables = {str(c): Var(data[c].reset_index(drop=True)) for c in data.columns}
        index = data.index
        dim = index.name if isinstance(index.name, str) and index.name else "index"
        if isinstance(index, pd.MultiIndex):
            dim = "index"
        return Table(variables, dim, index, "frame")
    if isinstance(data, pd.Series):
        name = str(data.name) if data.name is not None else "x"
        return to_table(data.to_frame(name), what)
    if _is_dataset(data):
        dim = _sample_dim_of_dataset(data, relevant, preferred_dim, what)
        n = data.sizes[dim]
        variables, skipped = {}, []
        for name, da in data.data_vars.items():
            if dim in da.dims:
                variables[str(name)] = _var_from_xarray(da, dim, what)
            else:
                skipped.append(str(name))
        coords = {}
        for name, c in data.coords.items():
            if c.dims == (dim,):
                coords[str(name)] = Var(np.asarray(c.values), (), (), dict(c.attrs))
        labelled = dim in data.indexes
        index = data.indexes[dim] if labelled else pd.RangeIndex(n, name=dim)
        table = Table(variables, dim, index, "dataset", coords, labelled)
        table.skipped = skipped
        return table
    if _is_dataarray(data):
        name = str(data.name) if data.name is not None else "x"
        if data.ndim == 0:
            raise DesignError(
                f"{what}: got a 0-dimensional DataArray; expected samples. Fix: pass a "
                "DataArray with a sample dimension, e.g. one value per time bin."
            )
        return to_table(data.to_dataset(name=name), what, None, preferred_dim)
    if isinstance(data, dict):
        if not data:
            raise DesignError(
                f"{what}: got an empty dict; expected named arrays. Fix: put at least one "
                "variable in it, e.g. {'speed': speed}."
            )
        variables, index = {}, None
        for key, value in data.items():
            name = str(key)
            if isinstance(value, pd.Series):
                if index is None:
                    index = value.index
                elif not value.index.equals(index):
                    raise DesignError(
                        f"{what}[{name!r}]: its index differs from the other Series'; "
                        "expected the same sample labels. Fix: align them first "
                        "(pd.concat(..., axis=1, join='inner'))."
                    )
                variables[name] = Var(value.reset_index(drop=True))
            elif _is_dataarray(value):
                dim = value.dims[0]
                variables[name] = _var_from_xarray(value, dim, what)
            elif isinstance(value, pd.Categorical):
                variables[name] = Var(pd.Series(value))
            else:
                arr = np.asarray(value)
                if arr.ndim == 0:
                    raise DesignError(
                        f"{what}[{name!r}]: got a scalar; expected an array with one "
                        "value per sample. Fix: pass one value per sample, or leave the "
                        "variable out."
                    )
                extra = tuple(f"{name}_dim_{i}" for i in range(1, arr.ndim))
                variables[name] = Var(arr, extra, tuple(None for _ in extra))
        sizes = {k: len(v.values) for k, v in variables.items()}
        if len(set(sizes.values())) != 1:
            raise DesignError(
                f"{what}: the arrays have different numbers of samples {sizes}; expected "
                "the same first-axis length. Fix: align the variables in time."
            )
        n = next(iter(sizes.values()))
        labelled = index is not None
        if index is None:
            index = pd.RangeIndex(n, name="index")
        dim = index.name if isinstance(index.name, str) and index.name else "index"
        return Table(variables, dim, index, "dict", {}, labelled)
    raise DesignError(
        f"{what}: got {type(data).__name__}; expected a pandas DataFrame, an xarray "
        "Dataset or DataArray, or a dict of arrays. Fix: wrap arrays in a dict, e.g. "
        "{'spikes': y, 'speed': speed}."
    )


# ----------------------------------------------------------------------------- dtypes
def _dtype_name(values) -> str:
    return str(getattr(values, "dtype", type(values).__name__))


def is_textual(values) -> bool:
    """Strings and categories (pandas category/string/object, numpy str/object)."""
    dt = getattr(values, "dtype", None)
    if isinstance(dt, pd.CategoricalDtype) or isinstance(dt, pd.StringDtype):
        return True
    return dt is not None and getattr(dt, "kind", "") in "OUS"


def numeric_array(values, name, what) -> np.ndarray:
    """``values`` as float64, for numeric, boolean and nullable numeric dtypes."""
    if is_textual(values):
        raise DesignError(
            f"{what}[{name!r}]: got values of dtype {_dtype_name(values)}; expected "
            f"numbers. Fix: use a formula that encodes it, e.g. formula='y ~ C({name}) "
            "+ ...', or one-hot encode it (pd.get_dummies)."
        )
    if isinstance(values, pd.Series):
        try:
            return values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DesignError(
                f"{what}[{name!r}]: got dtype {_dtype_name(values)} that cannot be "
                f"converted to numbers ({exc}). Fix: convert the column to numbers."
            ) from exc
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise DesignError(
            f"{what}[{name!r}]: got dtype {arr.dtype}; expected numbers. Fix: convert it "
            "to numbers, or use a formula."
        )
    return arr.astype(float, copy=False)


def formula_column(values, name):
    """A column for formulaic: numbers as float64, text as object/category."""
    if isinstance(values, pd.Series):
        dt = values.dtype
        if isinstance(dt, pd.CategoricalDtype):
            return values
        if isinstance(dt, pd.StringDtype) or dt.kind in "OUS":
            return pd.Series(values.to_numpy(dtype=object), dtype=object)
        if dt.kind in "iu" and not values.isna().any():
            return pd.Series(values.to_numpy(dtype=np.int64))
        try:
            return pd.Series(values.to_numpy(dtype=float, na_value=np.nan))
        except (TypeError, ValueError):
            return values
    arr = np.asarray(values)
    if arr.dtype.kind in "OUS":
        return pd.Series(arr.astype(object), dtype=object)
    if arr.dtype.kind in "iu":
        return pd.Series(arr.astype(np.int64))
    if arr.dtype.kind in "bf":
        return pd.Series(arr.astype(float))
    return pd.Series(arr)


def missing_rows(var: Var) -> np.ndarray:
    """Boolean mask of samples with a missing value anywhere in ``var``."""
    v = var.values
    if isinstance(v, pd.Series):
        values = v.to_numpy(dtype=float, na_value=np.nan) if v.dtype.kind == "f" else None
        # a finite sum: no NaN (an overflowing sum falls through to the exact check)
        if values is not None and np.isfinite(design_checksum(values)):
            return np.zeros(len(v), dtype=bool)
        return np.asarray(v.isna())
    arr = np.asarray(v)
    if arr.dtype.kind == "f" and np.isfinite(design_checksum(arr)):
        return np.zeros(arr.shape[0], dtype=bool)
    if arr.dtype.kind in "fc":
        miss = np.isnan(arr)
    elif arr.dtype.kind in "OUSMm":
        miss = np.asarray(pd.isna(arr.reshape(-1))).reshape(arr.shape)
    else:
        return np.zeros(arr.shape[0], dtype=bool)
    return miss.reshape(arr.shape[0], -1).any(axis=1) if arr.ndim > 1 else miss


def _rows(k: int) -> str:
    return f"{k} row" if k == 1 else f"{k} rows"


def handle_missing(masks: dict, n: int, index: pd.Index, na_action: str, what: str):
    """Apply ``na_action`` to per-variable missing masks.

    Returns ``(keep, dropped)``: a boolean mask of kept rows (or None when nothing is
    missing) and the labels of dropped samples.
    """
    counts = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    if not counts:
        return None, index[:0]
    bad = np.zeros(n, dtype=bool)
    for m in masks.values():
        bad |= m
    desc = ", ".join(f"{k!r} ({_rows(c)})" for k, c in counts.items())
    total = int(bad.sum())
    if na_action != "drop":
        raise DesignError(
            f"{what}: found missing values (NaN/NA) in {desc}; expected complete data. "
            f"Fix: impute or remove them, or pass na_action='drop' to drop the {total} "
            f"affected row(s) with a warning."
        )
    if total == n:
        raise DesignError(
            f"{what}: every one of the {n} rows has a missing value ({desc}); nothing is "
            "left to fit. Fix: impute the missing values."
        )
    warnings.warn(
        f"na_action='drop': dropped {total} of {n} rows with missing values in {desc}; "
        "their sample labels are kept in model.dropped_.",
        DroppedRowsWarning,
        stacklevel=5,
    )
    return ~bad, index[bad]


# ----------------------------------------------------------------------------- alignment
def _differs(dim, idx_y, idx_x, what) -> str:
    ys, xs = set(idx_y.tolist()), set(idx_x.tolist())
    only_y = [v for v in idx_y.tolist() if v not in xs]
    only_x = [v for v in idx_x.tolist() if v not in ys]
    if not only_y and not only_x and len(idx_y) == len(idx_x):
        return (
            f"{what}: the '{dim}' coordinate has the same labels as X's but in a different "
            f"order; expected exactly the same '{dim}' labels in the same order (xglm never "
            f"aligns by position). Fix: reorder it, e.g. y = y.sel({dim}=X['{dim}']) or "
            "y.reindex(X.index)."
        )
    return (
        f"{what}: the '{dim}' coordinate differs from X's: {len(only_y)} label(s) of "
        f"{what} are not in X (e.g. {only_y[:3]}) and {len(only_x)} label(s) of X are not "
        f"in {what} (e.g. {only_x[:3]}); expected exactly the same '{dim}' labels (xglm "
        "never aligns by position). Fix: select the common samples first, e.g. "
        "X, y = xr.align(X, y, join='inner') or y = y.loc[X.index]."
    )


def check_same_index(dim, idx_y: pd.Index, table: Table, what: str) -> None:
    """Raise unless ``idx_y`` equals the table's sample labels exactly."""
    if len(idx_y) == table.n and idx_y.equals(table.index):
        return
    if not table.labelled_index and len(idx_y) == table.n:
        return
    raise DesignError(_differs(dim, idx_y, table.index, what))


def _response_var(y, table: Table, what="y") -> Var:
    """Turn a labelled or plain ``y`` into a Var aligned (exactly) with ``table``."""
    if isinstance(y, pd.DataFrame):
        check_same_index(table.sample_dim, y.index, table, what)
        cols = tuple(y.columns.tolist())
        return Var(y.to_numpy(), (NEURON_DIM,), (cols,), {"name": None})
    if isinstance(y, pd.Series):
        check_same_index(table.sample_dim, y.index, table, what)
        return Var(y.reset_index(drop=True), (), (), {"name": y.name})
    if _is_dataarray(y):
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
        var = _var_from_xarray(y, dim, what)
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
            f"{what}: got values of dtype {_dtype_name(var.values)}; expected numbers. "
            "Fix: encode the response as numbers (0/1 for a binary outcome)."
        )
    if isinstance(var.values, pd.Series):
        y = var.values.to_numpy(dtype=float, na_value=np.nan)
    else:
        y = np.asarray(var.values, dtype=float)
    attrs = {k: v for k, v in var.attrs.items() if k != "name"}
    if y.ndim > 2:
        y = y.reshape(y.shape[0], -1)
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
        if not (_is_dataset(X) or isinstance(X, (pd.DataFrame, dict))):
            raise DesignError(
                f"y: got the name {y!r} but X is a {type(X).__name__}; expected a Dataset, "
                "DataFrame or dict containing that variable. Fix: pass y's values instead "
                "of its name, or pass X as a Dataset, DataFrame or dict that holds it."
            )
        names_x = list(X.data_vars) if _is_dataset(X) else list(X.keys())
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
    if _is_dataarray(y) and _is_dataset(X):
        shared = [d for d in y.dims if d in X.dims]
        if len(shared) == 1:
            preferred = shared[0]
    elif response_name is not None and _is_dataset(X):
        preferred = None
    table = to_table(X, "X", preferred_dim=preferred)
    if response_name is not None:
        yvar = table.variables.pop(response_name)
        yname = response_name
    else:
        yvar = _response_var(y, table)
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
        extra={"short_names": {}, "dropped": dropped, "term_dims": term_dims},
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
        var = table.variables[name]
        if var.dims != dims:
            raise DesignError(
                f"X[{name!r}]: has feature dims {var.dims}; expected {dims} as in the "
                "fitted data. Fix: pass the variable with the same dimensions."
            )
        for d, want, have in zip(dims, coords, var.coords, strict=True):
            if want is not None and have is not None and tuple(want) != tuple(have):
                raise DesignError(
                    f"X[{name!r}]: the '{d}' coordinate {list(have)[:6]} differs from the "
                    f"fitted one {list(want)[:6]}; expected exactly the same labels. Fix: "
                    f"select them, e.g. X.sel({d}=...)."
                )
    masks = {k: missing_rows(table.variables[k]) for k in names}
    keep, dropped = handle_missing(masks, table.n, table.index, na_action, "X")
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
        extra={**template.extra, "dropped": dropped},
    )


# ----------------------------------------------------------------------------- hooks
def prepare_labelled(X, y, *, formula=None, population=False, na_action="raise"):
    """``(Design, Response)`` for a formula or labelled input (the hook of ``prepare``)."""
    if formula is not None:
        from ._formula import prepare_formula

        return prepare_formula(X, y, formula, population, na_action)
    if not (isinstance(X, (pd.DataFrame, pd.Series, dict)) or _is_dataset(X) or _is_dataarray(X)):
        from ._arrays import design_from_arrays

        # plain X with a labelled y: labels come from y
        design = design_from_arrays(X)
        table = Table({}, "index", pd.RangeIndex(design.n_samples), "array", {}, False)
        yvar = _response_var(y, table)
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
