"""Translation out: fitted arrays back into the user's structure and labels.

* array input -> numpy arrays ``(n_features,)`` / ``(n_features, n_neurons)``;
* pytree input -> the same container, key order and leaf shapes;
* labelled input -> ``xarray.DataArray`` with dims ``("feature"[, "neuron"])``,
  a ``term`` coordinate and readable feature labels.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ._design import Layout, flatten_pytree, split_columns, unflatten
from ._inference import wald_table
from .errors import XglmError

__all__ = [
    "coef_out",
    "intercept_out",
    "samples_out",
    "cov_out",
    "summary_table",
    "flatten_coef",
    "feature_mask_array",
    "model_html",
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
    if design.sample_coords is not None:
        coords[dim] = design.sample_coords
    dims = (dim,)
    if values.ndim == 2:
        ndim = model.response_.neuron_dim
        dims = (dim, ndim)
        coords[ndim] = _neuron_labels(model)
    name = model.response_.name
    return xr.DataArray(values, dims=dims, coords=coords, name=name)


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


def summary_table(model, level: float = 0.95) -> pd.DataFrame:
    layout: Layout = model.design_.layout
    k = model._n_neurons
    sl = _active_rows(model)
    feats = _param_labels(model)[sl]
    terms = (["Intercept"] + list(layout.term_of_feature))[sl]
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
    levels, names = [], []
    if k is not None:
        levels.append(np.repeat(np.asarray(_neuron_labels(model), dtype=object), len(feats)))
        names.append(model.response_.neuron_dim)
    if layout.kind != "array":
        levels.append(np.tile(np.asarray(terms, dtype=object), k or 1))
        names.append("term")
    levels.append(np.tile(np.asarray(feats, dtype=object), k or 1))
    names.append("feature")
    if len(levels) == 1:
        table.index = pd.Index(levels[0], name="feature")
    else:
        table.index = pd.MultiIndex.from_arrays(levels, names=names)
    return table


def flatten_coef(coef, layout: Layout, k, what="coef") -> np.ndarray:
    """Inverse of :func:`coef_out`: user-structured coefficients to ``(p[, k])``."""
    p = layout.n_features
    shape = (p,) if k is None else (p, k)
    if type(coef).__name__ == "DataArray":
        coef = np.asarray(coef.transpose(*coef.dims).values)
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
            f"{what}: got {type(coef).__name__}; expected an array of shape {shape}."
        ) from exc
    if arr.shape != shape:
        raise XglmError(
            f"{what}: got shape {arr.shape}; expected {shape}. Fix: pass coefficients "
            "with the shape of coef_."
        )
    return arr


def feature_mask_array(mask, layout: Layout, k: int) -> np.ndarray:
    """``feature_mask`` in any accepted form to a ``(p, k)`` 0/1 float array."""
    p = layout.n_features
    if mask is None:
        return np.ones((p, k))
    if type(mask).__name__ == "DataArray":
        if "neuron" not in mask.dims or len(mask.dims) != 2:
            raise XglmError(
                f"feature_mask: got a DataArray with dims {mask.dims}; expected "
                "('feature' or 'term', 'neuron')."
            )
        other = [d for d in mask.dims if d != "neuron"][0]
        if other == "term":
            mask = mask.sel(term=list(layout.term_of_feature))
        elif other == "feature" and "feature" in mask.coords:
            mask = mask.sel(feature=list(layout.feature_labels))
        arr = np.asarray(mask.transpose(other, "neuron").values, dtype=float)
    elif isinstance(mask, (dict, list, tuple)) and layout.kind in ("pytree", "labelled"):
        if isinstance(mask, dict):
            missing = [n for n in layout.names if n not in mask]
            unknown = [key for key in mask if key not in layout.names]
            if missing or unknown:
                raise XglmError(
                    f"feature_mask: keys {list(mask)} do not match the leaves of X "
                    f"{list(layout.names)} (missing: {missing}, unknown: {unknown}). "
                    "Fix: one entry per leaf, each of shape (n_neurons,)."
                )
            leaves = [mask[n] for n in layout.names]
        else:
            leaves, _, _ = flatten_pytree(mask)
            if len(leaves) != len(layout.names):
                raise XglmError(
                    f"feature_mask: got {len(leaves)} leaves; expected {len(layout.names)} "
                    "(one per leaf of X). Fix: match the structure of X."
                )
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
    else:
        arr = np.asarray(mask, dtype=float)
    if arr.shape != (p, k):
        raise XglmError(
            f"feature_mask: got shape {arr.shape}; expected ({p}, {k}) = (n_features, "
            "n_neurons). Fix: one 0/1 flag per feature and neuron."
        )
    if not np.all((arr == 0) | (arr == 1)):
        raise XglmError("feature_mask: entries must be 0 or 1. Fix: use 1 to keep a feature.")
    return arr


def model_html(model) -> str:
    """A compact HTML representation for Jupyter."""
    params = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(repr(v))}</td></tr>"
        for k, v in model.get_params().items()
    )
    body = f"<table><tr><th colspan=2>Parameters</th></tr>{params}</table>"
    if hasattr(model, "_coef_flat"):
        stats = "".join(
            f"<tr><td>{name}</td><td>{html.escape(np.array2string(np.asarray(getattr(model, name)), precision=6))}</td></tr>"
            for name in (
                "deviance_",
                "loglik_",
                "aic_",
                "bic_",
                "scale_",
                "dof_resid_",
                "n_iter_",
                "converged_",
            )
        )
        body += f"<table><tr><th colspan=2>Fit</th></tr>{stats}</table>"
        body += model.summary().to_html(float_format=lambda v: f"{v:.4g}")
    return f"<div class='xglm-model'><b>{html.escape(type(model).__name__)}</b>{body}</div>"
