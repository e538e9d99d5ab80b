"""Plots carry the labels of the data: axis names, units from attrs, neuron names."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import xglm  # noqa: E402
import xglm.plot  # noqa: E402
from xglm.errors import XglmError  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _effect(neurons=None):
    x = np.linspace(0, 2, 11)
    est = np.sin(x)
    dims, coords = ("position",), {"position": ("position", x, {"units": "m"})}
    if neurons:
        est = np.stack([est * (i + 1) for i in range(len(neurons))], axis=1)
        dims = ("position", "neuron")
        coords["neuron"] = neurons
    coords["ci_lower"] = (dims, est - 0.2)
    coords["ci_upper"] = (dims, est + 0.2)
    return xr.DataArray(
        est,
        dims=dims,
        coords=coords,
        name="effect",
        attrs={"long_name": "log rate", "units": "log(spikes/s)", "term": "bs(position, df=5)"},
    )


def test_term_effect_labels_and_band():
    ax = xglm.plot.term_effect(_effect())
    assert ax.get_xlabel() == "position [m]"
    assert ax.get_ylabel() == "log rate [log(spikes/s)]"
    assert ax.get_title() == "bs(position, df=5)"
    assert len(ax.collections) == 1  # the band


def test_term_effect_neurons_and_other_forms():
    eff = _effect(["CA1-3", "CA1-7"])
    ax = xglm.plot.term_effect(eff)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neuron CA1-3", "neuron CA1-7"]
    ax = xglm.plot.term_effect(eff, neuron="CA1-7")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["neuron CA1-7"]
    # a "bound" dimension
    one = _effect()
    bound = xr.concat(
        [one.drop_vars(["ci_lower", "ci_upper"]), one.ci_lower, one.ci_upper],
        dim=pd.Index(["estimate", "lower", "upper"], name="bound"),
    )
    bound.attrs = one.attrs
    ax = xglm.plot.term_effect(bound)
    assert ax.get_xlabel() == "position [m]" and len(ax.collections) == 1
    # a Dataset
    ds = xr.Dataset(
        {
            "estimate": one.drop_vars(["ci_lower", "ci_upper"]),
            "lower": one.ci_lower,
            "upper": one.ci_upper,
        }
    )
    ax = xglm.plot.term_effect(ds)
    assert ax.get_xlabel() == "position [m]" and len(ax.collections) == 1
    # categorical grid: error bars and tick labels
    cat = xr.DataArray(
        [0.1, 0.4, -0.2],
        dims="trial_type",
        coords={
            "trial_type": ["go", "nogo", "catch"],
            "ci_lower": ("trial_type", [0, 0.3, -0.3]),
            "ci_upper": ("trial_type", [0.2, 0.5, -0.1]),
        },
        name="effect",
    )
    ax = xglm.plot.term_effect(cat)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["go", "nogo", "catch"]
    assert ax.get_xlabel() == "trial_type"


def test_term_effect_errors():
    with pytest.raises(XglmError, match="expected one grid dimension"):
        xglm.plot.term_effect(xr.DataArray(np.zeros((2, 3)), dims=("a", "b")))
    with pytest.raises(XglmError, match="expected an xarray.DataArray or Dataset"):
        xglm.plot.term_effect(np.zeros(3))
    with pytest.raises(XglmError, match="neuron: got"):
        xglm.plot.term_effect(_effect(["a", "b"]), neuron="z")


def test_coef_heatmap_labels():
    rng = np.random.default_rng(0)
    coef = xr.DataArray(
        rng.normal(size=(4, 3)),
        dims=("feature", "unit"),
        coords={"feature": ["speed", "pos[0]", "pos[1]", "pos[2]"], "unit": ["u1", "u2", "u3"]},
        name="coef",
        attrs={"long_name": "weight", "units": "log(spikes/s) per sd"},
    )
    ax = xglm.plot.coef_heatmap(coef, neuron_dim="unit")
    assert ax.get_xlabel() == "unit" and ax.get_ylabel() == "feature"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["u1", "u2", "u3"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["speed", "pos[0]", "pos[1]", "pos[2]"]
    cbar_ax = ax.figure.axes[-1]
    assert cbar_ax.get_ylabel() == "weight [log(spikes/s) per sd]"
    with pytest.raises(XglmError, match="expected a fitted model or an xarray.DataArray"):
        xglm.plot.coef_heatmap(np.zeros((2, 2)))


def test_coef_heatmap_from_population_model():
    rng = np.random.default_rng(1)
    X = {"speed": rng.normal(size=150), "pos": rng.normal(size=(150, 2))}
    Y = rng.poisson(np.exp(0.2 * X["speed"][:, None] + np.zeros((1, 3)))).astype(float)
    p = xglm.PopulationGLM().fit(X, Y)
    ax = xglm.plot.coef_heatmap(p, include_intercept=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Intercept",
        "speed",
        "pos[0]",
        "pos[1]",
    ]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_observed_vs_predicted_labels():
    t = xr.DataArray(np.arange(100) * 0.01, dims="time", attrs={"units": "s"})
    obs = xr.DataArray(
        np.random.default_rng(0).poisson(2.0, size=(100, 2)).astype(float),
        dims=("time", "neuron"),
        coords={"time": t, "neuron": ["HD-1", "HD-2"]},
        name="spikes",
        attrs={"units": "spikes/bin"},
    )
    pred = obs.rolling(time=5, center=True, min_periods=1).mean()
    axes = xglm.plot.observed_vs_predicted(obs, pred, smooth=5)
    assert len(axes) == 2
    assert [a.get_title() for a in axes] == ["neuron HD-1", "neuron HD-2"]
    assert axes[-1].get_xlabel() == "time [s]"
    assert axes[0].get_ylabel() == "spikes [spikes/bin]"
    assert [x.get_text() for x in axes[0].get_legend().get_texts()] == ["observed", "predicted"]
    ax = xglm.plot.observed_vs_predicted(obs, pred, kind="scatter", neuron="HD-2")
    assert ax.get_title() == "neuron HD-2"
    assert ax.get_xlabel() == "observed spikes [spikes/bin]"
    ax = xglm.plot.observed_vs_predicted(np.ones(10), np.ones(10))
    assert ax.get_xlabel() == "sample"
    with pytest.raises(XglmError, match="expected the shape of observed"):
        xglm.plot.observed_vs_predicted(np.ones(10), np.ones(9))
    with pytest.raises(XglmError, match="expected 'time' or 'scatter'"):
        xglm.plot.observed_vs_predicted(np.ones(10), np.ones(10), kind="hist")


def _labelled_available() -> bool:
    try:
        import xglm._design._labelled  # noqa: F401
    except ImportError:
        return False
    return hasattr(xglm.GLM, "term_effect")


@pytest.mark.skipif(not _labelled_available(), reason="the labelled design layer is not built yet")
def test_plots_from_a_formula_fit():
    rng = np.random.default_rng(2)
    n = 300
    ds = xr.Dataset(
        {
            "position": ("time", rng.uniform(0, 1, n), {"units": "m", "long_name": "position"}),
            "spikes": ("time", np.zeros(n), {"units": "spikes/bin"}),
        },
        coords={"time": ("time", np.arange(n) * 0.02, {"units": "s"})},
    )
    ds["spikes"].values[:] = rng.poisson(np.exp(np.sin(4 * ds.position.values)))
    m = xglm.GLM(formula="spikes ~ bs(position, df=5)").fit(ds)
    ax = xglm.plot.term_effect(m.term_effect("position"))
    assert ax.get_xlabel().startswith("position")
    assert len(ax.collections) == 1
    ax = xglm.plot.observed_vs_predicted(ds.spikes, m.predict(ds))
    assert ax.get_xlabel() == "time [s]"
    assert ax.get_ylabel() == "spikes [spikes/bin]"
