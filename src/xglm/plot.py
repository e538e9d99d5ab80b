"""Plots of fitted GLMs built on xarray and matplotlib (imported only when plotting).

* :func:`term_effect` -- a term's tuning curve or temporal filter with its confidence
  band, from ``model.term_effect(term, grid)``;
* :func:`coef_heatmap` -- coefficients as a feature x neuron heatmap;
* :func:`observed_vs_predicted` -- observed and predicted rates over time, or as a
  scatter.

Labels come from the data: dimension and coordinate names, ``long_name`` and
``units`` attributes, neuron labels and the names of the arrays.

Confidence bands are read from any of these forms of the effect:

1. a DataArray with coordinates ``ci_lower`` and ``ci_upper`` (or ``lower`` and
   ``upper``) on the same dimensions -- what ``GLM.term_effect`` returns;
2. a DataArray with a ``bound`` dimension labelled ``"estimate"``, ``"lower"`` and
   ``"upper"`` (e.g. ``xr.concat([est, lo, hi], dim=pd.Index(["estimate", "lower",
   "upper"], name="bound"))``);
3. a Dataset with variables ``estimate`` (or ``effect``/``mean``) and ``lower``/``upper``
   (or ``ci_lower``/``ci_upper``);
4. a plain DataArray: drawn without a band.
"""

from __future__ import annotations

import numpy as np

from .errors import XglmError

__all__ = ["term_effect", "coef_heatmap", "observed_vs_predicted", "axis_label"]

_LOWER = ("ci_lower", "lower")
_UPPER = ("ci_upper", "upper")
_ESTIMATE = ("estimate", "effect", "mean", "coef")


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("xglm.plot needs matplotlib. Fix: pip install matplotlib.") from exc
    return plt


def axis_label(obj, default: str | None = None) -> str:
    """``"long_name [units]"`` from an xarray object's attributes (name as fallback)."""
    attrs = getattr(obj, "attrs", {}) or {}
    name = attrs.get("long_name") or attrs.get("standard_name") or getattr(obj, "name", None)
    name = default if name is None else str(name)
    units = attrs.get("units")
    if name is None:
        name = ""
    return f"{name} [{units}]" if units else name


def _split_band(effect):
    """``(estimate, lower, upper)`` DataArrays (bands may be None)."""
    import xarray as xr

    if isinstance(effect, xr.Dataset):
        est_name = next((n for n in _ESTIMATE if n in effect.data_vars), None)
        if est_name is None:
            if len(effect.data_vars) == 0:
                raise XglmError(
                    "effect: got an empty Dataset; expected an estimate variable. Fix: pass "
                    "model.term_effect(term), or a Dataset with an 'estimate' variable."
                )
            est_name = next(iter(effect.data_vars))
        est = effect[est_name]
        lo = next((effect[n] for n in _LOWER if n in effect.data_vars), None)
        hi = next((effect[n] for n in _UPPER if n in effect.data_vars), None)
        est = est.assign_attrs({**effect.attrs, **est.attrs})
        return est, lo, hi
    if not isinstance(effect, xr.DataArray):
        raise XglmError(
            f"effect: got {type(effect).__name__}; expected an xarray.DataArray or Dataset "
            "such as model.term_effect(term). Fix: wrap arrays with xarray.DataArray(values, "
            "dims=[...], coords={...})."
        )
    if "bound" in effect.dims:
        labels = [str(v) for v in effect["bound"].values]
        pick = {}
        for want, options in (("estimate", _ESTIMATE), ("lower", _LOWER), ("upper", _UPPER)):
            hit = next((o for o in options if o in labels), None)
            pick[want] = None if hit is None else effect.sel(bound=hit, drop=True)
        if pick["estimate"] is None:
            raise XglmError(
                f"effect: the 'bound' dimension has labels {labels}; expected 'estimate', "
                "'lower' and 'upper'. Fix: relabel the 'bound' coordinate with these names."
            )
        est = pick["estimate"].assign_attrs(effect.attrs)
        est.name = effect.name
        return est, pick["lower"], pick["upper"]
    lo = next((effect.coords[n] for n in _LOWER if n in effect.coords), None)
    hi = next((effect.coords[n] for n in _UPPER if n in effect.coords), None)
    drop = [n for n in effect.coords if n in _LOWER + _UPPER + ("std_err",)]
    est = effect.drop_vars(drop)
    return est, lo, hi


def _neuron_dim(da, neuron_dim):
    if neuron_dim is not None:
        return neuron_dim if neuron_dim in da.dims else None
    if "neuron" in da.dims:
        return "neuron"
    return None


def term_effect(
    effect,
    ax=None,
    *,
    neuron=None,
    neuron_dim=None,
    color=None,
    band_alpha: float = 0.25,
    label=None,
    title=None,
):
    """Plot a term's tuning curve or filter with its confidence band.

    Parameters
    ----------
    effect : xarray.DataArray or Dataset
        The effect over one grid dimension (and optionally a neuron dimension), e.g.
        ``model.term_effect("position")``; see the module docstring for the accepted
        forms of the band.
    ax : matplotlib Axes, optional
    neuron : label or list of labels, optional
        Which neurons to draw (default: all, one line each).
    neuron_dim : str, optional
        Name of the neuron dimension (default ``"neuron"`` if present).
    color, band_alpha, label, title
        Styling; the title defaults to the term name (``attrs["term"]`` or the name).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xarray as xr, xglm.plot
    >>> x = np.linspace(0, 1, 5)
    >>> eff = xr.DataArray(np.sin(x), dims="position", name="effect",
    ...                    coords={"position": ("position", x, {"units": "m"}),
    ...                            "ci_lower": ("position", np.sin(x) - 0.1),
    ...                            "ci_upper": ("position", np.sin(x) + 0.1)})
    >>> ax = xglm.plot.term_effect(eff)
    >>> ax.get_xlabel()
    'position [m]'
    """
    plt = _plt()
    est, lo, hi = _split_band(effect)
    ndim = _neuron_dim(est, neuron_dim)
    grid_dims = [d for d in est.dims if d != ndim]
    if len(grid_dims) != 1:
        raise XglmError(
            f"effect: got dims {est.dims}; expected one grid dimension (plus an optional "
            "neuron dimension). Fix: select one slice, e.g. effect.sel(other=value), or "
            "pass neuron_dim= for the neuron dimension."
        )
    gdim = grid_dims[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    xcoord = est[gdim] if gdim in est.coords else None
    x = np.asarray(xcoord.values) if xcoord is not None else np.arange(est.sizes[gdim])
    categorical = x.dtype.kind in "OUS"
    xpos = np.arange(len(x)) if categorical else x
    if ndim is None:
        series = [(None, est, lo, hi)]
    else:
        labels = list(est[ndim].values) if ndim in est.coords else list(range(est.sizes[ndim]))
        chosen = labels if neuron is None else list(np.atleast_1d(neuron))
        unknown = [n for n in chosen if n not in labels]
        if unknown:
            raise XglmError(
                f"neuron: got {unknown}; expected labels among {labels[:10]}"
                f"{'...' if len(labels) > 10 else ''}. Fix: pick labels from that coordinate, "
                "or pass neuron=None for all neurons."
            )
        series = []
        for n in chosen:
            sel = {ndim: n} if ndim in est.coords else {ndim: labels.index(n)}
            series.append(
                (
                    n,
                    est.sel(sel) if ndim in est.coords else est.isel(sel),
                    None if lo is None else _sel(lo, ndim, sel),
                    None if hi is None else _sel(hi, ndim, sel),
                )
            )
    for n, e, low, high in series:
        e = e.transpose(gdim)
        lab = label if label is not None else (None if n is None else f"{ndim} {n}")
        style = "o-" if categorical else "-"
        (line,) = ax.plot(xpos, np.asarray(e.values), style, color=color, label=lab)
        if low is not None and high is not None:
            low = np.asarray(low.transpose(gdim).values if hasattr(low, "transpose") else low)
            high = np.asarray(high.transpose(gdim).values if hasattr(high, "transpose") else high)
            if categorical:
                err = np.vstack([np.asarray(e.values) - low, high - np.asarray(e.values)])
                ax.errorbar(
                    xpos, np.asarray(e.values), yerr=err, fmt="none", color=line.get_color()
                )
            else:
                ax.fill_between(xpos, low, high, color=line.get_color(), alpha=band_alpha, lw=0)
    if categorical:
        ax.set_xticks(xpos)
        ax.set_xticklabels([str(v) for v in x])
    ax.set_xlabel(axis_label(xcoord, gdim) if xcoord is not None else gdim)
    ax.set_ylabel(axis_label(est, "effect"))
    term = est.attrs.get("term", None)
    ax.set_title(title if title is not None else str(term if term is not None else est.name or ""))
    if ndim is not None or label is not None:
        ax.legend(frameon=False, fontsize="small")
    ax.axhline(0.0, color="0.7", lw=0.8, zorder=0)
    return ax


def _sel(da, ndim, sel):
    if ndim not in da.dims:
        return da
    return da.sel(sel) if ndim in da.coords else da.isel(sel)


def coef_heatmap(
    coef, ax=None, *, cmap="RdBu_r", neuron_dim=None, include_intercept=False, colorbar=True
):
    """Coefficients as a feature x neuron heatmap.

    Parameters
    ----------
    coef : fitted PopulationGLM/GLM, or xarray.DataArray ``(feature, neuron)``
        A model (its coefficients with their labels) or a labelled array.
    ax : matplotlib Axes, optional
    cmap : str, default "RdBu_r"
        A diverging colormap, centred on zero.
    neuron_dim : str, optional
        Name of the neuron dimension (default: the model's, or ``"neuron"``).
    include_intercept : bool, default False
        Add the intercept as the first row (models only).
    colorbar : bool, default True

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xglm, xglm.plot
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = rng.poisson(np.exp(X @ rng.normal(scale=0.3, size=(3, 4))))
    >>> ax = xglm.plot.coef_heatmap(xglm.PopulationGLM().fit(X, Y))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('neuron', 'feature')
    """
    plt = _plt()
    da = _coef_dataarray(coef, neuron_dim, include_intercept)
    fdim, ndim = da.dims
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 0.35 * da.sizes[ndim], 1.2 + 0.25 * da.sizes[fdim]))
    values = np.asarray(da.values, dtype=float)
    vmax = np.nanmax(np.abs(values)) if np.any(np.isfinite(values)) else 1.0
    vmax = vmax if vmax > 0 else 1.0
    im = ax.imshow(values, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest")
    ax.set_yticks(np.arange(da.sizes[fdim]))
    ax.set_yticklabels([str(v) for v in da[fdim].values], fontsize="small")
    ax.set_xticks(np.arange(da.sizes[ndim]))
    ax.set_xticklabels([str(v) for v in da[ndim].values], rotation=90, fontsize="small")
    ax.set_xlabel(axis_label(da[ndim], ndim))
    ax.set_ylabel(axis_label(da[fdim], fdim))
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax)
        cb.set_label(axis_label(da, "coefficient"))
    return ax


def _coef_dataarray(coef, neuron_dim, include_intercept):
    import xarray as xr

    from ._model import GLM

    if isinstance(coef, GLM):
        model = coef
        model._check_fitted("coef_heatmap")
        from ._results import _neuron_labels, _param_labels

        dim = neuron_dim or getattr(model.response_, "neuron_dim", "neuron")
        flat = model._coef_flat if model._coef_flat.ndim == 2 else model._coef_flat[:, None]
        b = model._intercept if model._n_neurons is not None else model._intercept[:1]
        labels = _param_labels(model)
        if include_intercept:
            flat = np.concatenate([b[None, :], flat], axis=0)
        else:
            labels = labels[1:]
        neurons = _neuron_labels(model) if model._n_neurons is not None else [0]
        da = xr.DataArray(
            flat,
            dims=("feature", dim),
            coords={"feature": labels, dim: neurons},
            name="coef",
            attrs={"long_name": "coefficient"},
        )
        if model.response_.attrs.get("units"):
            da.attrs["response_units"] = model.response_.attrs["units"]
        return da
    if not isinstance(coef, xr.DataArray):
        raise XglmError(
            f"coef: got {type(coef).__name__}; expected a fitted model or an "
            "xarray.DataArray with dims ('feature', 'neuron'). Fix: pass model or "
            "model.coef_ of a labelled fit."
        )
    dim = neuron_dim or ("neuron" if "neuron" in coef.dims else None)
    if coef.ndim == 1:
        dim = dim or "neuron"
        coef = coef.expand_dims({dim: [0]}, axis=1)
    if coef.ndim != 2 or dim not in coef.dims:
        raise XglmError(
            f"coef: got dims {coef.dims}; expected (feature, {dim or 'neuron'}). Fix: pass "
            "neuron_dim= with the name of the neuron dimension."
        )
    other = [d for d in coef.dims if d != dim][0]
    return coef.transpose(other, dim)


def observed_vs_predicted(
    observed,
    predicted,
    ax=None,
    *,
    kind="time",
    neuron=None,
    neuron_dim=None,
    smooth=None,
    max_panels=6,
):
    """Observed and predicted rates: over time (``kind="time"``) or as a scatter.

    Parameters
    ----------
    observed, predicted : xarray.DataArray or array-like
        ``(sample,)`` or ``(sample, neuron)``; e.g. the data's response and
        ``model.predict(data)``. Labels (sample coordinate with units, the response
        name and units, neuron names) are taken from the DataArrays.
    ax : matplotlib Axes or array of Axes, optional
    kind : {"time", "scatter"}
    neuron : label or list of labels, optional
        Neurons to draw (default: all, up to ``max_panels``), one panel each.
    neuron_dim : str, optional
    smooth : int, optional
        Width (in samples) of a centred moving average applied to both series
        before plotting, to compare rates rather than single counts.
    max_panels : int, default 6

    Returns
    -------
    matplotlib.axes.Axes, or an array of Axes for several neurons

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xarray as xr, xglm.plot
    >>> t = xr.DataArray(np.arange(50) * 0.01, dims="time", attrs={"units": "s"})
    >>> obs = xr.DataArray(np.ones(50), dims="time", coords={"time": t}, name="spikes")
    >>> ax = xglm.plot.observed_vs_predicted(obs, obs * 0.9)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time [s]', 'spikes')
    """
    plt = _plt()
    if kind not in ("time", "scatter"):
        raise XglmError(
            f"kind: got {kind!r}; expected 'time' or 'scatter'. Fix: pass kind='time' or "
            "kind='scatter'."
        )
    obs = _as_dataarray(observed, "observed")
    pred = _as_dataarray(predicted, "predicted", like=obs)
    if obs.shape != pred.shape:
        raise XglmError(
            f"predicted: got shape {pred.shape}; expected the shape of observed {obs.shape}. "
            "Fix: predict on the same samples (and neurons)."
        )
    ndim = _neuron_dim(obs, neuron_dim)
    if ndim is None and obs.ndim == 2:
        ndim = obs.dims[1]
    sdim = [d for d in obs.dims if d != ndim][0]
    if ndim is None:
        panels = [(None, obs, pred)]
    else:
        labels = list(obs[ndim].values) if ndim in obs.coords else list(range(obs.sizes[ndim]))
        chosen = labels[:max_panels] if neuron is None else list(np.atleast_1d(neuron))
        unknown = [n for n in chosen if n not in labels]
        if unknown:
            raise XglmError(
                f"neuron: got {unknown}; expected labels among {labels[:10]}. Fix: pick "
                "labels from that coordinate, or pass neuron=None."
            )
        panels = []
        for n in chosen:
            i = labels.index(n)
            panels.append((n, obs.isel({ndim: i}), pred.isel({ndim: i}, missing_dims="ignore")))
    if ax is None:
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(6 if kind == "time" else 3.5, 2.2 * len(panels) + 0.6),
            squeeze=False,
            sharex=kind == "time",
        )
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(ax)
        if len(axes) != len(panels):
            raise XglmError(
                f"ax: got {len(axes)} Axes for {len(panels)} panel(s); expected one per neuron. "
                "Fix: pass one Axes per neuron drawn, or ax=None to create them."
            )
    sample_coord = obs[sdim] if sdim in obs.coords else None
    t = np.asarray(sample_coord.values) if sample_coord is not None else np.arange(obs.sizes[sdim])
    ylab = axis_label(obs, "observed")
    for a, (n, o, p) in zip(axes, panels, strict=False):
        ov, pv = (
            _smooth(np.asarray(o.values, float), smooth),
            _smooth(np.asarray(p.values, float), smooth),
        )
        if kind == "time":
            a.plot(t, ov, color="0.4", lw=1, label="observed")
            a.plot(t, pv, color="C3", lw=1.2, label="predicted")
            a.set_ylabel(ylab)
        else:
            a.scatter(ov, pv, s=6, alpha=0.5, color="C0")
            lim = [min(np.nanmin(ov), np.nanmin(pv)), max(np.nanmax(ov), np.nanmax(pv))]
            a.plot(lim, lim, color="0.6", lw=0.8)
            a.set_xlabel(f"observed {ylab}".strip())
            a.set_ylabel(f"predicted {axis_label(pred, '') or ylab}".strip())
        if n is not None:
            a.set_title(f"{ndim} {n}", fontsize="medium")
    if kind == "time":
        axes[-1].set_xlabel(axis_label(sample_coord, sdim) if sample_coord is not None else sdim)
        axes[0].legend(frameon=False, fontsize="small")
    return axes[0] if len(axes) == 1 else axes


def _as_dataarray(values, what, like=None):
    import xarray as xr

    if isinstance(values, xr.DataArray):
        return values
    arr = np.asarray(values, dtype=float)
    if arr.ndim not in (1, 2):
        raise XglmError(
            f"{what}: got shape {arr.shape}; expected (n_samples,) or (n_samples, n_neurons). "
            "Fix: pass a 1-D array for one neuron, or a 2-D array with samples first."
        )
    if like is not None and like.shape == arr.shape:
        return xr.DataArray(arr, dims=like.dims, coords=like.coords, name=what)
    dims = ("sample",) if arr.ndim == 1 else ("sample", "neuron")
    return xr.DataArray(arr, dims=dims, name=what)


def _smooth(x, width):
    if not width or width <= 1:
        return x
    kernel = np.ones(int(width)) / int(width)
    return np.convolve(x, kernel, mode="same")
