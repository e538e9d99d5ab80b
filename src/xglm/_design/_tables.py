"""Labelled inputs as tables of variables: pandas DataFrames and Series, xarray Datasets
and DataArrays, and dicts of arrays.

:func:`to_table` turns any of them into a :class:`Table`: named :class:`Var` (values,
dimensions, coordinates), the sample dimension and its labels. Around it: the sample
dimension's choice (:data:`SAMPLE_DIM_NAMES`), numeric and textual columns, missing
values (raised, or dropped with a warning that counts them) and the exact match of two
inputs' sample labels. :mod:`xglm._design._labelled` and :mod:`xglm._design._formula`
build designs from these tables.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DesignError, DroppedRowsWarning
from ._arrays import design_checksum
from ._layout import Layout, name_of

__all__ = [
    "NEURON_DIM",
    "SAMPLE_DIM_NAMES",
    "Table",
    "Var",
    "by_neuron_label",
    "by_term_label",
    "check_neuron_labels",
    "check_same_index",
    "check_var_coords",
    "dtype_name",
    "is_dataarray",
    "is_dataset",
    "formula_column",
    "handle_missing",
    "is_textual",
    "missing_rows",
    "numeric_array",
    "sample_array",
    "to_table",
    "var_from_xarray",
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


def is_dataset(obj) -> bool:
    return type(obj).__name__ == "Dataset" and type(obj).__module__.startswith("xarray")


def is_dataarray(obj) -> bool:
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


def var_from_xarray(da, sample_dim, what) -> Var:
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
    if is_dataset(data):
        dim = _sample_dim_of_dataset(data, relevant, preferred_dim, what)
        n = data.sizes[dim]
        variables, skipped = {}, []
        for name, da in data.data_vars.items():
            if dim in da.dims:
                variables[str(name)] = var_from_xarray(da, dim, what)
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
    if is_dataarray(data):
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
            elif is_dataarray(value):
                dim = value.dims[0]
                variables[name] = var_from_xarray(value, dim, what)
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
def dtype_name(values) -> str:
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
            f"{what}[{name!r}]: got values of dtype {dtype_name(values)}; expected "
            f"numbers. Fix: use a formula that encodes it, e.g. formula='y ~ C({name}) "
            "+ ...', or one-hot encode it (pd.get_dummies)."
        )
    if isinstance(values, pd.Series):
        try:
            return values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DesignError(
                f"{what}[{name!r}]: got dtype {dtype_name(values)} that cannot be "
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
    """A column for formulaic: numbers as float64, text as object/category, and true/false
    values as a factor with the levels ``[False, True]``, as R and statsmodels code a
    logical (``flag[T.True]``; ``flag:z`` has a slope for each level)."""
    if isinstance(values, pd.Series):
        dt = values.dtype
        if isinstance(dt, pd.CategoricalDtype):
            return values
        if dt.kind == "b" or isinstance(dt, pd.BooleanDtype):
            return pd.Series(
                pd.Categorical(values.to_numpy(dtype=object), categories=[False, True])
            )
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
    if arr.dtype.kind == "b":
        return pd.Series(pd.Categorical(arr, categories=[False, True]))
    if arr.dtype.kind == "f":
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
            f"aligns by position). Fix: reorder it, e.g. {what} = {what}.sel({dim}=X['{dim}']) "
            f"or {what}.reindex(X.index)."
        )
    return (
        f"{what}: the '{dim}' coordinate differs from X's: {len(only_y)} label(s) of "
        f"{what} are not in X (e.g. {only_y[:3]}) and {len(only_x)} label(s) of X are not "
        f"in {what} (e.g. {only_x[:3]}); expected exactly the same '{dim}' labels (xglm "
        "never aligns by position). Fix: select the common samples first, e.g. "
        f"X, {what} = xr.align(X, {what}, join='inner') or {what} = {what}.loc[X.index]."
    )


def check_same_index(dim, idx_y: pd.Index, table: Table, what: str) -> None:
    """Raise unless ``idx_y`` equals the table's sample labels exactly."""
    if len(idx_y) == table.n and idx_y.equals(table.index):
        return
    if not table.labelled_index and len(idx_y) == table.n:
        return
    raise DesignError(_differs(dim, idx_y, table.index, what))


def sample_array(value, design, what: str) -> np.ndarray:
    """``value`` (a response, prior weights or offsets: array-like, Series, DataFrame or
    DataArray) as an array over the design's samples, sample axis first.

    A labelled value fitted to labelled data must carry exactly the design's sample
    labels, as ``y`` must (xglm never aligns by position), or, when
    ``na_action="drop"`` dropped rows, exactly the input's labels: it then loses the
    same rows. A plain array of the input's length loses them too. Anything else is
    returned as an array, its length checked by the caller.
    """
    labels = None
    dim = design.sample_dim or "index"
    if isinstance(value, (pd.Series, pd.DataFrame)):
        labels, arr = value.index, value.to_numpy()
    elif is_dataarray(value):
        sdim = design.sample_dim if design.sample_dim in value.dims else value.dims[0]
        value = value.transpose(sdim, ...)
        labels = value.indexes.get(sdim)
        arr = np.asarray(value.values)
    else:
        arr = np.asarray(value)
    index = design.sample_coords
    samples_in = design.extra.get("samples_in")
    if labels is not None and index is not None:
        if len(labels) == len(index) and labels.equals(index):
            return arr
        if samples_in is not None and labels.equals(samples_in[0]):
            return arr[samples_in[1]]
        raise DesignError(_differs(dim, labels, index, what))
    if samples_in is not None and arr.ndim and arr.shape[0] == len(samples_in[0]):
        return arr[samples_in[1]]
    return arr


def check_var_coords(name, var: Var, dims, coords, what: str) -> None:
    """New data's variable ``name`` has the fitted feature ``dims`` and, where the fitted
    variable had coordinate labels, the same labels in the same order (its features are
    taken by position once it passes)."""
    if var.dims != tuple(dims):
        raise DesignError(
            f"{what}[{name!r}]: has feature dims {var.dims}; expected {tuple(dims)} as in the "
            "fitted data. Fix: pass the variable with the same dimensions."
        )
    for d, want, have in zip(dims, coords, var.coords, strict=True):
        if want is not None and (have is None or tuple(want) != tuple(have)):
            got = None if have is None else list(have)[:6]
            raise DesignError(
                f"{what}[{name!r}]: the '{d}' coordinate {got} differs from the fitted one "
                f"{list(want)[:6]}; expected exactly the same labels in the same order. "
                f"Fix: select them, e.g. {what}.sel({d}={list(want)[:6]})."
            )


def check_neuron_labels(value, labels, what: str, dim: str = NEURON_DIM, given=None) -> None:
    """A labelled per-neuron ``value`` (a DataArray with a ``dim`` coordinate, or a
    DataFrame's columns), or the neuron labels ``given``, must name the neurons
    ``labels`` in their order; plain arrays, and any value when the neurons have no
    labels, are left to the shape checks."""
    if labels is None:
        return
    if isinstance(value, pd.DataFrame):
        given = list(value.columns)
    elif is_dataarray(value) and dim in value.dims and dim in value.indexes:
        given = list(value.indexes[dim])
    if given is not None and list(map(str, given)) != list(map(str, labels)):
        raise DesignError(
            f"{what}: its neurons {list(given)[:6]} are not the model's neurons "
            f"{list(labels)[:6]} "
            "in the same order; expected the same neuron labels in the same order (xglm "
            f"never aligns by position). Fix: select them, e.g. {what}.sel({dim}=...) in "
            "the neurons' order."
        )


def by_neuron_label(da, neuron_labels, k: int):
    """A DataArray's ``neuron`` dim in the order of the response's neurons, matched by
    their labels as text (a plain response's neurons are the positions ``0..k-1``).

    Returns ``(da, have, want)``: ``da`` reordered, or None when the labels differ (the
    caller names the argument); ``have`` and ``want`` as text. A DataArray without
    neuron labels is returned as it is.
    """
    if "neuron" not in da.indexes:
        return da, None, None
    have = [str(v) for v in da.indexes["neuron"]]
    want = [str(v) for v in (neuron_labels if neuron_labels is not None else range(k))]
    if sorted(have) != sorted(want) or len(have) != len(want):
        return None, have, want
    return da.assign_coords(neuron=have).sel(neuron=want), have, want


def by_term_label(da, layout: Layout, short_names=None):
    """A DataArray with a ``term`` dim spread over the design's features: its terms by
    full name or, for formula terms, short label (``"position"`` for
    ``bs(position, df=5)``), one row per term.

    Returns ``(da, have, missing, unknown)``: ``da`` over the features (a ``term``
    coordinate per feature), or None when the terms do not match; ``have`` the terms
    as resolved (unresolved ones as given), and the model's terms it lacks and its
    terms the model lacks.
    """
    have = [name_of(str(v), layout.names, short_names) or str(v) for v in da.coords["term"].values]
    missing = [n for n in layout.names if n not in have]
    unknown = [n for n in have if n not in layout.names]
    if missing or unknown or len(set(have)) != len(have):
        return None, have, missing, unknown
    return da.assign_coords(term=have).sel(term=list(layout.term_of_feature)), have, [], []
