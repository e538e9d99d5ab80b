"""Translation out: fitted arrays back into the user's structure and labels.

* array input -> numpy arrays ``(n_features,)`` / ``(n_features, n_neurons)``;
* pytree input -> the same container, key order and leaf shapes;
* labelled input -> ``xarray.DataArray`` with dims ``("feature"[, "neuron"])``,
  a ``term`` coordinate and readable feature labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._design import (
    Layout,
    entries_along,
    flatten_pytree,
    match_names,
    split_columns,
    unflatten,
)
from ._design._tables import by_neuron_label, by_term_label
from ._inference import wald_table
from .errors import XglmError

__all__ = [
    "coef_by_term",
    "term_effect",
    "coef_out",
    "intercept_out",
    "samples_out",
    "cov_out",
    "summary_table",
    "flatten_coef",
    "feature_mask_array",
]


def _neuron_labels(model):
    labels = getattr(model.response_, "neuron_labels", None)
    k = model._n_neurons
    if labels is None:
        return list(range(k)) if k is not None else None
    return list(labels)


def coef_out(model):
    layout: Layout = model.design_.layout
    flat = model._coef_flat
    if layout.kind == "array":
        return flat.copy()
    if layout.kind == "pytree":
        return unflatten(layout.structure, split_columns(layout, flat))
    return coef_dataarray(model, flat)


def coef_dataarray(model, flat, name="coef"):
    import xarray as xr

    layout: Layout = model.design_.layout
    coords = {
        "feature": list(layout.feature_labels),
        "term": ("feature", list(layout.term_of_feature)),
    }
    dims = ("feature",)
    if flat.ndim == 2:
        dims = ("feature", model.response_.neuron_dim)
        coords[model.response_.neuron_dim] = _neuron_labels(model)
    return xr.DataArray(flat.copy(), dims=dims, coords=coords, name=name)


def intercept_out(model):
    b = model._intercept.copy()
    if model.design_.layout.kind == "labelled" and model._n_neurons is not None:
        import xarray as xr

        dim = model.response_.neuron_dim
        return xr.DataArray(b, dims=(dim,), coords={dim: _neuron_labels(model)}, name="intercept")
    return b


def samples_out(model, design, values: np.ndarray):
    """Per-sample predictions in the input's form (labelled -> DataArray)."""
    if model.design_.layout.kind != "labelled":
        return values
    import xarray as xr

    dim = design.sample_dim or "sample"
    coords = {}
    dims = (dim,)
    if values.ndim == 2:
        ndim = model.response_.neuron_dim
        dims = (dim, ndim)
        coords[ndim] = _neuron_labels(model)
    name = model.response_.name
    out = xr.DataArray(values, dims=dims, coords=coords, name=name)
    if design.sample_coords is not None:
        out = out.assign_coords(_sample_coords(dim, design.sample_coords))
    return out


def _sample_coords(dim, index):
    """Coordinates for a sample dimension from a pandas Index (MultiIndex included)."""
    import xarray as xr

    if isinstance(index, pd.MultiIndex):
        return xr.Coordinates.from_pandas_multiindex(index, dim)
    return {dim: index}


# ----------------------------------------------------------------------------- per term
def _term_key(model, term) -> tuple[str, str]:
    """``(term name, display key)`` for a full term name or a short label."""
    layout: Layout = model.design_.layout
    short = model.design_.extra.get("short_names", {}) or {}
    if layout.kind == "array":
        raise XglmError(
            f"term: got {term!r}, but the model was fitted on a plain array without named "
            "terms. Fix: fit with a formula, a DataFrame/Dataset or a dict of arrays."
        )
    if layout.kind != "labelled":
        if term in layout.names:
            return term, term
        raise XglmError(
            f"term: got {term!r}; expected one of the leaves {list(layout.names)}. Fix: use "
            "one of these names."
        )
    reverse = {v: k for k, v in short.items()}
    if term in layout.names:
        return term, reverse.get(term, term)
    if term in short:
        return short[term], term
    raise XglmError(
        f"term: got {term!r}; expected a term of the model: {list(layout.names)}"
        + (f" or a short label {list(short)}" if short else "")
        + ". Fix: use one of these names."
    )


def coef_by_term(model):
    """One DataArray per term, each with its own feature dimension (an xarray Dataset)."""
    import xarray as xr

    layout: Layout = model.design_.layout
    k = model._n_neurons
    flat = model._coef_flat
    term_dims = model.design_.extra.get("term_dims", {}) or {}
    labels = list(layout.feature_labels)
    ndim = model.response_.neuron_dim
    out = {}
    if model.fit_intercept:
        b = model._intercept if k is not None else model._intercept[0]
        if k is None:
            out["Intercept"] = xr.DataArray(b)
        else:
            out["Intercept"] = xr.DataArray(b, dims=(ndim,), coords={ndim: _neuron_labels(model)})
    for name, sl in zip(layout.names, layout.slices, strict=True):
        key = _term_key(model, name)[1] if layout.kind == "labelled" else name
        values = flat[sl]
        if name in term_dims:
            dims, coord_values, vshape = term_dims[name]
            coords = {d: list(c) for d, c in zip(dims, coord_values, strict=True) if c is not None}
            values = values.reshape(tuple(vshape) + values.shape[1:])
            dims = tuple(dims)
        else:
            dim = f"{key}_feature"
            dims = (dim,)
            coords = {dim: labels[sl]}
        if k is not None:
            dims = dims + (ndim,)
            coords[ndim] = _neuron_labels(model)
        out[key] = xr.DataArray(values.copy(), dims=dims, coords=coords, attrs={"term": name})
    return xr.Dataset(out, attrs={"description": "coefficients by term"})


def _grid_for_variable(model, spec, var, term):
    """Default grid of one variable of a formula term."""
    from ._design._formula import _find_bounds

    ms = spec.model_spec
    for expr in spec.term_factors.get(term, ()):
        state = _find_bounds(ms.transform_state.get(expr, {}))
        if state is not None and var in expr:
            lo, hi = float(state["lower_bound"]), float(state["upper_bound"])
            return np.linspace(lo, hi, 200)
    for factor, (kind, state) in ms.encoder_state.items():
        if getattr(kind, "value", kind) == "categorical" and var in _names(factor):
            levels = state.get("categories")
            if levels is None and "contrasts" in state:
                levels = state["contrasts"].levels
            if levels is not None:
                return np.asarray(list(levels), dtype=object)
    if var in spec.ranges:
        lo, hi = spec.ranges[var]
        return np.linspace(lo, hi, 200)
    raise XglmError(
        f"grid: cannot choose a default grid for {var!r} in the term {term!r}. Fix: pass "
        f"grid={{'{var}': values}}."
    )


def _names(expr):
    from ._design._formula import _names_in

    return _names_in(expr)


def _filter_state(spec, term):
    exprs = spec.term_factors.get(term, ())
    if len(exprs) != 1:
        return None
    state = spec.model_spec.transform_state.get(exprs[0], {})
    if isinstance(state, dict) and state.get("kind") == "filter":
        return state
    if isinstance(state, dict):
        for v in state.values():
            if isinstance(v, dict) and v.get("kind") == "filter":
                return v
    return None


def _lag_time_coord(model, lags):
    idx = model.design_.sample_coords
    if idx is None or isinstance(idx, pd.MultiIndex) or len(idx) < 3:
        return None
    values = np.asarray(idx)
    if values.dtype.kind not in "iuf":
        return None
    step = np.diff(values[: min(len(values), 1000)])
    if not np.allclose(step, step[0], rtol=1e-6, atol=0) or step[0] <= 0:
        return None
    return np.asarray(lags) * float(step[0])


def _effect_basis(model, name, key, grid):
    """Rows mapping the term's coefficients to effects, with dims and coords."""
    from ._design._formula import FormulaSpec, _frame_and_context
    from ._design._tables import Table, Var

    design = model.design_
    spec = design.spec
    layout: Layout = design.layout
    j = layout.names.index(name)
    sl = layout.slices[j]
    p_t = sl.stop - sl.start
    if isinstance(spec, FormulaSpec):
        state = _filter_state(spec, name)
        if state is not None:
            if grid is not None:
                raise XglmError(
                    f"grid: the term {name!r} is a temporal filter; its effect is returned "
                    "over all lags of its window. Fix: call term_effect(term) without grid "
                    "and select lags with .sel(lag=...)."
                )
            lags = np.asarray(state["lags"])
            K = np.asarray(state["kernel"])
            c = int(state["n_inputs"])
            m = K.shape[1]
            if state.get("one_d", True):
                B, dims, shape = K, ("lag",), (len(lags),)
                coords = {"lag": lags}
            else:
                B = np.zeros((len(lags) * c, c * m))
                for ci in range(c):
                    B[ci::c, ci * m : (ci + 1) * m] = K
                dims, shape = ("lag", "source"), (len(lags), c)
                sources = np.arange(c)
                for v in _names(spec.term_factors[name][0]):
                    dims_v, coords_v = spec.array_coords.get(v, ((), ()))
                    if len(coords_v) == 1 and coords_v[0] is not None:
                        sources = np.asarray(coords_v[0])
                        break
                coords = {"lag": lags, "source": sources}
            lag_t = _lag_time_coord(model, lags)
            if lag_t is not None:
                coords[f"lag_{design.sample_dim}"] = ("lag", lag_t)
            return B, dims, shape, coords
        term_dims = design.extra.get("term_dims", {}) or {}
        if name in term_dims and grid is None:
            # an array variable alone: its coefficients over its own dims, as without a
            # formula
            dims, coord_values, vshape = term_dims[name]
            coords = {d: list(c) for d, c in zip(dims, coord_values, strict=True) if c is not None}
            return np.eye(p_t), tuple(dims), tuple(vshape), coords
        variables = [v for expr in spec.term_factors[name] for v in _names(expr)]
        variables = [
            v for i, v in enumerate(variables) if v in spec.variables and v not in variables[:i]
        ]
        pointwise = isinstance(grid, pd.DataFrame)
        if grid is None:
            grids = {v: _grid_for_variable(model, spec, v, name) for v in variables}
        elif pointwise:
            grids = {v: grid[v].to_numpy() for v in grid.columns}
        elif isinstance(grid, dict):
            grids = {str(v): np.asarray(g) for v, g in grid.items()}
        else:
            if len(variables) != 1:
                raise XglmError(
                    f"grid: the term {name!r} uses the variables {variables}; expected a "
                    "dict (or DataFrame) with values for each. Fix: grid={"
                    + ", ".join(f"'{v}': ..." for v in variables)
                    + "}."
                )
            grids = {variables[0]: np.asarray(grid)}
        missing = [v for v in variables if v not in grids]
        if missing:
            raise XglmError(
                f"grid: no values for {missing}, used by the term {name!r}. Fix: add them, "
                "e.g. grid={" + ", ".join(f"'{v}': ..." for v in variables) + "}."
            )
        grids = {v: grids[v] for v in variables}
        if pointwise:
            n = len(grid)
            dims, shape = ("point",), (n,)
            cols = grids
            coords = {"point": np.arange(n), **{v: ("point", g) for v, g in grids.items()}}
        else:
            mesh = np.meshgrid(*grids.values(), indexing="ij") if grids else []
            shape = tuple(len(g) for g in grids.values())
            cols = {v: mesh_i.reshape(-1) for v, mesh_i in zip(grids, mesh, strict=True)}
            dims = tuple(grids)
            coords = dict(grids)
        n_rows = int(np.prod(shape)) if shape else 1
        table = Table(
            {v: Var(np.asarray(col)) for v, col in cols.items()},
            design.sample_dim or "index",
            pd.RangeIndex(n_rows),
            "grid",
        )
        frame, ctx = _frame_and_context(table, list(cols), "grid")
        sub = spec.model_spec.subset([spec.term_objects[name]])
        from ._design._formula import _formulaic_errors

        with _formulaic_errors(sub, frame, spec, list(cols)):
            mm = sub.get_model_matrix(frame, context=ctx)
        labels = list(layout.feature_labels[sl])
        missing_cols = [c for c in labels if c not in mm.columns]
        if missing_cols:
            raise XglmError(
                f"term {name!r}: could not rebuild its columns {missing_cols} on the grid; "
                "expected the fitted columns. Fix: pass grid values of the same kind as the "
                "fitted data (numbers for numeric variables, fitted levels for categorical "
                "ones)."
            )
        B = mm[labels].to_numpy(dtype=float)
        return B, dims, shape, coords
    # no formula: a variable of a Dataset/DataFrame
    term_dims = design.extra.get("term_dims", {}) or {}
    if name in term_dims and grid is None:
        dims, coord_values, vshape = term_dims[name]
        coords = {d: list(c) for d, c in zip(dims, coord_values, strict=True) if c is not None}
        return np.eye(p_t), tuple(dims), tuple(vshape), coords
    if p_t != 1 or (grid is None and layout.shapes[j] != ()):
        if grid is not None:
            raise XglmError(
                f"grid: the variable {name!r} has {p_t} features; its effect is its "
                "coefficients over its own dims. Fix: call term_effect(term) without grid."
            )
        dim = f"{key}_feature"
        return np.eye(p_t), (dim,), (p_t,), {dim: list(layout.feature_labels[sl])}
    if grid is None:
        col = design.X[:, sl.start]
        grid = np.linspace(col.min(), col.max(), 200)
    g = np.asarray(grid, dtype=float).reshape(-1)
    return g[:, None], (name,), (len(g),), {name: g}


def term_effect(model, term, grid=None, level: float = 0.95, intercept: bool = False):
    """The fitted effect of one term over ``grid`` with a pointwise confidence band."""
    import xarray as xr

    check_level(level)
    name, key = _term_key(model, term)
    layout: Layout = model.design_.layout
    sl = layout.slices[layout.names.index(name)]
    B, dims, shape, coords = _effect_basis(model, name, key, grid)
    k = model._n_neurons
    beta = model._coef_flat[sl]
    rows = np.arange(sl.start + 1, sl.stop + 1)
    eff = B @ beta
    if intercept:
        if not model.fit_intercept:
            raise XglmError(
                "intercept: got True but the model has no intercept. Fix: intercept=False."
            )
        B = np.concatenate([np.ones((B.shape[0], 1)), B], axis=1)
        rows = np.concatenate([[0], rows])
        eff = eff + (model._intercept if k is not None else model._intercept[0])
    idx = np.ix_(rows, rows)
    if k is None:
        V = np.nan_to_num(model._cov[idx])
        var = np.einsum("ij,jk,ik->i", B, V, B)
    else:
        V = np.nan_to_num(model._cov[:, rows][:, :, rows])
        var = np.einsum("ij,njk,ik->in", B, V, B)
    se = np.sqrt(np.clip(var, 0.0, None))
    dist = "t" if model.family_.estimates_scale else "norm"
    with np.errstate(invalid="ignore", divide="ignore"):
        _, _, lo, hi = wald_table(eff, se, dist, model.dof_resid_, level)
    full_shape = tuple(shape) + ((k,) if k is not None else ())
    dims = tuple(dims)
    if k is not None:
        ndim = model.response_.neuron_dim
        dims = dims + (ndim,)
        coords = {**coords, ndim: _neuron_labels(model)}
    coords = dict(coords)
    coords["std_err"] = (dims, se.reshape(full_shape))
    coords["ci_lower"] = (dims, lo.reshape(full_shape))
    coords["ci_upper"] = (dims, hi.reshape(full_shape))
    return xr.DataArray(
        eff.reshape(full_shape),
        dims=dims,
        coords=coords,
        name=key,
        attrs={
            "term": name,
            "level": level,
            "scale": "link",
            "intercept": int(bool(intercept)),
            "long_name": f"effect of {key}"
            + (" plus intercept" if intercept else "")
            + " (linear-predictor scale)",
        },
    )


def _param_labels(model):
    labels = list(model.design_.layout.feature_labels)
    return ["Intercept"] + labels


def _active_rows(model):
    return slice(0, None) if model.fit_intercept else slice(1, None)


def cov_out(model):
    labels = _param_labels(model)[_active_rows(model)]
    sl = _active_rows(model)
    if model._n_neurons is None:
        cov = model._cov[sl, sl]
        return pd.DataFrame(cov, index=labels, columns=labels)
    import xarray as xr

    dim = model.response_.neuron_dim
    cov = model._cov[:, sl, sl]
    return xr.DataArray(
        cov,
        dims=(dim, "parameter", "parameter_2"),
        coords={dim: _neuron_labels(model), "parameter": labels, "parameter_2": labels},
        name="cov",
    )


def check_level(level) -> None:
    """A confidence level must be a number strictly between 0 and 1."""
    ok = isinstance(level, (int, float, np.integer, np.floating)) and not isinstance(level, bool)
    if not (ok and 0 < level < 1):
        raise XglmError(
            f"level: got {level!r}; expected a number in (0, 1), e.g. 0.95. Fix: pass the "
            "confidence level as a fraction, e.g. level=0.95 for 95%."
        )


def summary_table(model, level: float = 0.95) -> pd.DataFrame:
    check_level(level)
    k = model._n_neurons
    sl = _active_rows(model)
    feats = _param_labels(model)[sl]
    dist = "t" if model.family_.estimates_scale else "norm"
    frames = []
    for i in range(k or 1):
        if k is None:
            coef = np.concatenate([model._intercept[:1], model._coef_flat])[sl]
            cov = model._cov
            dof = model.dof_resid_
        else:
            coef = np.concatenate([model._intercept[i : i + 1], model._coef_flat[:, i]])[sl]
            cov = model._cov[i]
            dof = model.dof_resid_[i]
        se = np.sqrt(np.diag(cov))[sl]
        with np.errstate(invalid="ignore", divide="ignore"):
            z, p, lo, hi = wald_table(coef, se, dist, dof, level)
        frames.append(
            pd.DataFrame(
                {"coef": coef, "std_err": se, "z": z, "p_value": p, "ci_lower": lo, "ci_upper": hi}
            )
        )
    table = pd.concat(frames, ignore_index=True)
    # rows are labelled by parameter (as R's coef(summary(fit)) and statsmodels'
    # params), so table.loc["x", "coef"] is a number; the term of each feature is the
    # ``term`` coordinate of coef_
    feature = np.tile(np.asarray(feats, dtype=object), k or 1)
    if k is None:
        table.index = pd.Index(feature, name="feature")
    else:
        neuron = np.repeat(np.asarray(_neuron_labels(model), dtype=object), len(feats))
        table.index = pd.MultiIndex.from_arrays(
            [neuron, feature], names=[model.response_.neuron_dim, "feature"]
        )
    return table


def _coef_from_dataarray(da, layout: Layout, k, what, neuron_labels) -> np.ndarray:
    want_dims = ("feature",) if k is None else ("feature", "neuron")
    if sorted(da.dims) != sorted(want_dims):
        raise XglmError(
            f"{what}: got a DataArray with dims {da.dims}; expected {want_dims}, as coef_. "
            "Fix: pass coefficients labelled like coef_ (e.g. a previous fit's coef_)."
        )
    if "feature" in da.indexes:
        have = [str(v) for v in da.indexes["feature"]]
        want = list(layout.feature_labels)
        if sorted(have) != sorted(want):
            raise XglmError(
                f"{what}: the feature labels {have[:6]} do not match the design's features "
                f"{want[:6]}. Fix: label the coefficients like coef_."
            )
        da = da.assign_coords(feature=have).sel(feature=want)
    if k is not None and neuron_labels is not None:
        da, have, want = by_neuron_label(da, neuron_labels, k)
        if da is None:
            raise XglmError(
                f"{what}: the neuron labels {have[:6]} do not match the response's neurons "
                f"{want[:6]}. Fix: label the coefficients like coef_."
            )
    return np.asarray(da.transpose(*want_dims).values)


def flatten_coef(coef, layout: Layout, k, what="coef", neuron_labels=None) -> np.ndarray:
    """Inverse of :func:`coef_out`: user-structured coefficients to ``(p[, k])``; a
    DataArray is matched by its feature (and neuron) labels, in any order of its dims."""
    p = layout.n_features
    shape = (p,) if k is None else (p, k)
    if type(coef).__name__ == "DataArray":
        coef = _coef_from_dataarray(coef, layout, k, what, neuron_labels)
    if isinstance(coef, (dict, list, tuple)) and layout.kind == "pytree":
        leaves, names, _ = flatten_pytree(coef)
        if isinstance(coef, dict) and set(names) == set(layout.names):
            lookup = dict(zip(names, leaves))
            leaves = [lookup[n] for n in layout.names]
        elif list(names) != list(layout.names):
            raise XglmError(
                f"{what}: leaves {names} do not match the leaves of X {list(layout.names)}. "
                "Fix: pass coefficients with the structure of X."
            )
        parts = []
        for leaf, shp, name in zip(leaves, layout.shapes, layout.names):
            arr = np.asarray(leaf, dtype=float)
            want = shp if k is None else shp + (k,)
            if arr.shape != want:
                raise XglmError(
                    f"{what}: the entry {name!r} has shape {arr.shape}; expected {want}. "
                    "Fix: one coefficient per feature of that leaf (per neuron)."
                )
            parts.append(arr.reshape(-1) if k is None else arr.reshape(-1, k))
        return np.concatenate(parts, axis=0)
    try:
        arr = np.asarray(coef, dtype=float)
    except (TypeError, ValueError) as exc:
        raise XglmError(
            f"{what}: got {type(coef).__name__}; expected an array of shape {shape}. Fix: "
            "pass numbers with the shape of coef_."
        ) from exc
    if arr.shape != shape:
        raise XglmError(
            f"{what}: got shape {arr.shape}; expected {shape}. Fix: pass coefficients "
            "with the shape of coef_."
        )
    return arr


def feature_mask_array(
    mask, layout: Layout, k: int, short_names=None, neuron_labels=None
) -> np.ndarray:
    """``feature_mask`` in any accepted form to a ``(p, k)`` 0/1 float array; a DataArray
    is matched by its labels (terms or features, and neurons)."""
    p = layout.n_features
    if mask is None:
        return np.ones((p, k))
    leaves = None
    if type(mask).__name__ == "DataArray":
        if "neuron" not in mask.dims or len(mask.dims) != 2:
            raise XglmError(
                f"feature_mask: got a DataArray with dims {mask.dims}; expected "
                "('feature' or 'term', 'neuron'). Fix: give it exactly two dims, 'neuron' and "
                "'feature' (or 'term'), e.g. with .rename() or .squeeze()."
            )
        other = [d for d in mask.dims if d != "neuron"][0]
        matched, have, want = by_neuron_label(mask, neuron_labels, k)
        if matched is None:
            whose = (
                "the response's neurons"
                if neuron_labels is not None
                else ("y, a plain array whose neurons are the positions")
            )
            raise XglmError(
                f"feature_mask: the DataArray's neuron labels {have[:6]} do not match "
                f"{whose} {want[:6]}. Fix: label the mask's neurons as y's."
            )
        mask = matched
        if other == "term" and "term" in mask.indexes:
            matched, *_ = by_term_label(mask, layout, short_names)
            if matched is None:
                raise XglmError(
                    f"feature_mask: the DataArray's terms {[str(t) for t in mask.term.values]} "
                    f"do not match the model's terms {list(layout.names)}. Fix: one row per "
                    "term, labelled by term name (or a formula term's short label)."
                )
            mask = matched
        elif other == "term":
            mask = mask.sel(term=list(layout.term_of_feature))
        elif other == "feature" and "feature" in mask.coords:
            mask = mask.sel(feature=list(layout.feature_labels))
        arr = np.asarray(mask.transpose(other, "neuron").values, dtype=float)
    elif isinstance(mask, (dict, list, tuple)) and layout.kind == "pytree":
        # a pytree shaped like X (nested as X is), or a flat dict keyed by the dotted
        # names of X's leaves ("a.b")
        try:
            by_leaf = entries_along(mask, layout.structure)
        except ValueError as exc:
            if isinstance(mask, dict) and set(map(str, mask)) == set(layout.names):
                by_leaf = {str(key): v for key, v in mask.items()}
            elif not isinstance(mask, dict) and np.shape(mask) == (p, k):
                by_leaf = None  # nested lists of the (n_features, n_neurons) flags
            else:
                raise XglmError(
                    f"feature_mask: {exc}; expected a pytree with the structure of X, one "
                    "entry of shape (n_neurons,) per leaf. Fix: match the structure of X "
                    f"(its leaves: {list(layout.names)})."
                ) from None
        if by_leaf is not None:
            leaves = [by_leaf[n] for n in layout.names]
    elif isinstance(mask, dict) and layout.kind == "labelled":
        # keys are leaf names or, for formula terms, their short labels
        matched, unknown, missing, repeated = match_names(mask, layout.names, short_names)
        if missing or unknown:
            raise XglmError(
                f"feature_mask: keys {list(mask)} do not match the leaves of X "
                f"{list(layout.names)} (missing: {missing}, unknown: {unknown}). "
                "Fix: one entry per leaf, each of shape (n_neurons,)."
            )
        if repeated:
            raise XglmError(
                f"feature_mask: keys {list(mask)} name a leaf twice (a term and its "
                "short label). Fix: one key per leaf."
            )
        by_leaf = {matched[key]: v for key, v in mask.items()}
        leaves = [by_leaf[n] for n in layout.names]
    elif isinstance(mask, dict):
        raise XglmError(
            f"feature_mask: got a dict with the keys {list(mask)}, but X is a plain array "
            "without named leaves; expected an array of shape "
            f"({p}, {k}) = (n_features, n_neurons). Fix: pass a 0/1 array, or pass X as a "
            "dict of named arrays to mask by name."
        )
    if leaves is not None:
        rows = []
        for leaf, size, name in zip(leaves, layout.sizes, layout.names):
            v = np.asarray(leaf, dtype=float)
            if v.shape == (k,):
                rows.append(np.repeat(v[None, :], size, axis=0))
            elif v.shape == (size, k):
                rows.append(v)
            else:
                raise XglmError(
                    f"feature_mask: the entry {name!r} has shape {v.shape}; expected "
                    f"({k},), one flag per neuron. Fix: pass 0/1 per neuron."
                )
        arr = np.concatenate(rows, axis=0)
    elif type(mask).__name__ != "DataArray":
        arr = np.asarray(mask, dtype=float)
    if arr.shape != (p, k):
        raise XglmError(
            f"feature_mask: got shape {arr.shape}; expected ({p}, {k}) = (n_features, "
            "n_neurons). Fix: one 0/1 flag per feature and neuron."
        )
    if not np.all((arr == 0) | (arr == 1)):
        raise XglmError("feature_mask: entries must be 0 or 1. Fix: use 1 to keep a feature.")
    return arr
