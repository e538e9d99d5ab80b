"""Labelled results: coef_ as a DataArray, the per-term Dataset, the summary index,
predictions with the input's sample labels, and term effects with confidence bands.

Fits reuse the shapes of the formula tests (1500 samples; 10 or 3 features; 3 neurons).
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

import xglm
from xglm.errors import XglmError

T = 1500
FULL = "spikes ~ bs(position, df=5) + C(trial) * speed"
SMALL = "spikes ~ speed + C(trial)"
GAUSS = "rate ~ C(trial) + speed + bs(position, df=4) + speed:C(trial)"
NEURONS = ["a1", "b2", "c3"]


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(21)
    pos = rng.uniform(0, 1, T)
    speed = rng.normal(size=T)
    trial = rng.choice(["a", "b", "c"], T)
    gains = np.array([0.4, -0.3, 0.1])
    eta = 0.2 + np.sin(3 * pos)[:, None] + speed[:, None] * gains
    return xr.Dataset(
        {
            "spikes": (("time", "neuron"), rng.poisson(np.exp(eta)).astype(float)),
            "position": ("time", pos, {"units": "m"}),
            "speed": ("time", speed),
            "trial": ("time", trial),
            "rate": ("time", eta[:, 0] + rng.normal(scale=0.5, size=T)),
        },
        coords={"time": np.arange(T) * 0.01, "neuron": NEURONS},
    )


@pytest.fixture(scope="module")
def one(ds):
    return xglm.glm(FULL, data=ds.sel(neuron="a1"))


@pytest.fixture(scope="module")
def pop(ds):
    return xglm.glm(SMALL, data=ds)


def test_coef_is_a_labelled_dataarray(one, pop):
    c = one.coef_
    assert isinstance(c, xr.DataArray) and c.dims == ("feature",) and c.name == "coef"
    assert list(c.feature.values)[:2] == ["bs(position, df=5)[1]", "bs(position, df=5)[2]"]
    assert (
        list(c.term.values)
        == ["bs(position, df=5)"] * 5 + ["C(trial)"] * 2 + ["speed"] + ["C(trial):speed"] * 2
    )
    # select a term's coefficients by label
    assert c.where(c.term == "C(trial)", drop=True).sizes["feature"] == 2
    p = pop.coef_
    assert p.dims == ("feature", "neuron") and list(p.neuron.values) == NEURONS
    assert list(pop.intercept_.neuron.values) == NEURONS


def test_coef_by_term(one, pop):
    by = one.coef_by_term()
    assert list(by.data_vars) == ["Intercept", "position", "trial", "speed", "trial:speed"]
    assert by["position"].dims == ("position_feature",)
    assert by["trial"].dims == ("trial_feature",)
    np.testing.assert_array_equal(
        by["position"].values, one.coef_.sel(feature=one.coef_.term == "bs(position, df=5)")
    )
    assert by["position"].attrs["term"] == "bs(position, df=5)"
    assert float(by["Intercept"]) == one.intercept_[0]
    byp = pop.coef_by_term()
    assert byp["trial"].dims == ("trial_feature", "neuron")
    assert byp["Intercept"].dims == ("neuron",)


def test_summary_index(one, pop):
    s = one.summary()
    assert s.index.names == ["feature"]
    assert list(s.index) == ["Intercept"] + list(one.coef_.feature.values)
    assert list(s.columns) == ["coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
    np.testing.assert_array_equal(s["coef"].to_numpy()[1:], one.coef_.values)
    assert s.loc["speed", "coef"] == one.coef_.sel(feature="speed")
    assert s.loc["Intercept", "std_err"] == np.sqrt(one.cov_params().loc["Intercept", "Intercept"])
    sp = pop.summary()
    assert sp.index.names == ["neuron", "feature"]
    assert sp.loc[("b2", "speed"), "coef"] == pop.coef_.sel(feature="speed", neuron="b2")
    assert list(sp.index.get_level_values("neuron").unique()) == NEURONS
    cov = one.cov_params()
    assert list(cov.index) == ["Intercept"] + list(one.coef_.feature.values)


def test_predict_returns_labelled_samples(ds, one, pop):
    new = ds.isel(time=slice(200, 205))
    p1 = one.predict(new)
    assert p1.dims == ("time",) and p1.name == "spikes"
    np.testing.assert_array_equal(p1.time.values, new.time.values)
    p2 = pop.predict(new, type="link")
    assert p2.dims == ("time", "neuron") and list(p2.neuron.values) == NEURONS
    eta = one.predict(new, type="link")
    np.testing.assert_allclose(np.exp(eta), p1, rtol=1e-12)
    # the same through a DataFrame: the index becomes the sample coordinate
    frame = new.drop_dims("neuron").to_dataframe()
    p3 = one.predict(frame)
    assert p3.dims == ("time",)
    np.testing.assert_allclose(p3.values, p1.values, rtol=1e-14)


def test_linear_term_effect_matches_the_summary(one):
    eff = one.term_effect("speed", grid=[0.0, 1.0])
    beta = float(one.coef_.sel(feature="speed"))
    np.testing.assert_allclose(eff.values, [0.0, beta], rtol=1e-12)
    row = one.summary().loc["speed"]
    np.testing.assert_allclose(
        [eff.std_err[1], eff.ci_lower[1], eff.ci_upper[1]],
        [row.std_err, row.ci_lower, row.ci_upper],
        rtol=1e-10,
    )
    assert eff.attrs["scale"] == "link"
    # with the intercept: at speed 0 the effect is the intercept, with its standard error
    both = one.term_effect("speed", grid=[0.0, 1.0], intercept=True)
    icpt = one.summary().loc["Intercept"]
    np.testing.assert_allclose([both[0], both.std_err[0]], [icpt.coef, icpt.std_err], rtol=1e-10)
    cov = one.cov_params().loc[["Intercept", "speed"], ["Intercept", "speed"]].to_numpy()
    np.testing.assert_allclose(both.std_err[1] ** 2, cov.sum(), rtol=1e-10)


def test_categorical_and_spline_effects(ds, one):
    eff = one.term_effect("trial")
    assert list(eff.trial.values) == ["a", "b", "c"]
    assert eff.sel(trial="a") == 0 and eff.std_err.sel(trial="a") == 0
    np.testing.assert_allclose(eff.sel(trial="b"), one.coef_.sel(feature="C(trial)[T.b]"))
    curve = one.term_effect("position")
    assert curve.dims == ("position",) and curve.sizes["position"] == 200
    lo, hi = float(ds.position.min()), float(ds.position.max())
    np.testing.assert_allclose(curve.position.values[[0, -1]], [lo, hi])
    assert np.all(curve.ci_lower <= curve) and np.all(curve <= curve.ci_upper)
    # the centred curve follows sin(3 x)
    truth = np.sin(3 * curve.position.values)
    inner = slice(10, 190)  # the ends are the least certain
    np.testing.assert_allclose(
        (curve.values - curve.values.mean())[inner], (truth - truth.mean())[inner], atol=0.15
    )
    # an interaction: a grid over both variables
    inter = one.term_effect("trial:speed", grid={"trial": ["a", "c"], "speed": [0.0, 2.0]})
    assert inter.dims == ("trial", "speed")
    np.testing.assert_allclose(
        inter.sel(trial="c", speed=2.0), 2 * one.coef_.sel(feature="C(trial)[T.c]:speed")
    )
    with pytest.raises(XglmError, match="term: got 'pos'"):
        one.term_effect("pos")
    with pytest.raises(XglmError, match="expected a dict"):
        one.term_effect("trial:speed", grid=[0.0, 1.0])


def test_population_effect_and_t_band(ds, pop):
    eff = pop.term_effect("speed", grid=[1.0])
    assert eff.dims == ("speed", "neuron")
    table = pop.summary()
    for name in NEURONS:
        row = table.loc[(name, "speed")]
        np.testing.assert_allclose(eff.ci_upper.sel(neuron=name, speed=1.0), row.ci_upper)
    # Gaussian: the band uses Student's t with the residual degrees of freedom
    g = xglm.glm(GAUSS, data=ds.sel(neuron="a1"), family="gaussian")
    e = g.term_effect("speed", grid=[1.0])
    q = stats.t.ppf(0.975, g.dof_resid_)
    np.testing.assert_allclose(e.ci_upper - e, q * e.std_err, rtol=1e-10)


def test_dropped_is_empty_without_missing_values(one):
    assert isinstance(one.dropped_, pd.Index) and len(one.dropped_) == 0
    rng = np.random.default_rng(0)
    arr = xglm.GLM().fit(rng.normal(size=(T, 3)), rng.poisson(1.0, T))
    assert len(arr.dropped_) == 0
    with pytest.raises(XglmError, match="term: got 'x', but the model was fitted on a plain"):
        arr.term_effect("x")
    tree = xglm.GLM().fit({"a": rng.normal(size=(T, 2)), "b": rng.normal(size=T)}, arr.response_.y)
    eff = tree.term_effect("a")
    assert eff.dims == ("a_feature",)
    np.testing.assert_array_equal(eff.values, tree.coef_["a"])
