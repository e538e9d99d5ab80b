"""xarray Datasets and pandas DataFrames without a formula: variables are leaves, their
non-sample dims are features, inputs are matched by label (never by position).

The fits share the shapes of the formula tests (1500 samples, 3 features, Poisson; and
3 neurons for the population) so nothing compiles twice across the suite.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xglm
from xglm._design import prepare, prepare_new
from xglm.errors import DesignError, DroppedRowsWarning

T = 1500
NEURONS = ["n03", "n11", "n42"]


@pytest.fixture(scope="module")
def ds():
    rng = np.random.default_rng(11)
    speed = rng.normal(size=T)
    stim = rng.normal(size=(T, 2))
    W = np.array([[0.3, -0.2, 0.0], [0.2, 0.1, -0.3], [-0.1, 0.0, 0.25]])
    eta = 0.3 + np.column_stack([speed, stim]) @ W
    return xr.Dataset(
        {
            "speed": ("time", speed, {"units": "cm/s"}),
            "stim": (("time", "lag"), stim),
            "spikes": (("time", "neuron"), rng.poisson(np.exp(eta)).astype(float)),
        },
        coords={"time": np.arange(T) * 0.002, "lag": [1, 2], "neuron": NEURONS},
    )


def test_dataset_variables_are_leaves_and_extra_dims_are_features(ds):
    m = xglm.GLM().fit(ds[["speed", "stim"]], ds.spikes.sel(neuron="n03"))
    assert m.design_.layout.names == ("speed", "stim")
    assert m.design_.layout.shapes == ((), (2,))
    assert list(m.coef_.feature.values) == ["speed", "stim[1]", "stim[2]"]
    assert list(m.coef_.term.values) == ["speed", "stim", "stim"]
    X = np.column_stack([ds.speed.values, ds.stim.values])
    ref = xglm.GLM().fit(X, ds.spikes.sel(neuron="n03").values)
    np.testing.assert_allclose(m.coef_.values, ref.coef_, rtol=1e-12)
    # the per-term view gives the variable back its own dims
    by_term = m.coef_by_term()
    assert by_term["stim"].dims == ("lag",)
    assert list(by_term["stim"].lag.values) == [1, 2]


def test_population_from_dataset_keeps_neuron_labels(ds):
    m = xglm.PopulationGLM().fit(ds[["speed", "stim"]], ds.spikes)
    assert m.coef_.dims == ("feature", "neuron")
    assert list(m.coef_.neuron.values) == NEURONS
    assert m.intercept_.dims == ("neuron",)
    one = xglm.GLM().fit(ds[["speed", "stim"]], ds.spikes.sel(neuron="n11"))
    np.testing.assert_allclose(m.coef_.sel(neuron="n11").values, one.coef_.values, rtol=1e-6)
    # the response can also be named: fit(ds, "spikes")
    named = xglm.PopulationGLM().fit(ds, "spikes")
    xr.testing.assert_allclose(named.coef_, m.coef_)
    pred = m.predict(ds.isel(time=slice(10, 14)))
    assert pred.dims == ("time", "neuron")
    np.testing.assert_array_equal(pred.time.values, ds.time.values[10:14])
    assert list(pred.neuron.values) == NEURONS
    # a (time, neuron) response to GLM is an error pointing at PopulationGLM
    with pytest.raises(xglm.errors.ResponseError, match="PopulationGLM"):
        xglm.GLM().fit(ds[["speed", "stim"]], ds.spikes)


def test_mismatched_sample_labels_are_an_error_naming_the_coordinate(ds):
    y = ds.spikes.sel(neuron="n03")
    shifted = y.assign_coords(time=y.time + 0.001)
    with pytest.raises(DesignError) as info:
        xglm.GLM().fit(ds[["speed"]], shifted)
    msg = str(info.value)
    assert msg.startswith(
        "y: the 'time' coordinate differs from X's: 1500 label(s) of y are not in X"
    )
    assert "never aligns by position" in msg
    with pytest.raises(DesignError, match="in a different order"):
        xglm.GLM().fit(ds[["speed"]], y.isel(time=slice(None, None, -1)))
    with pytest.raises(DesignError, match="differs from X's: 0 label"):
        xglm.GLM().fit(ds[["speed"]], y.isel(time=slice(0, 1000)))
    # pandas: index labels must match too
    X = ds[["speed"]].to_dataframe()
    ys = y.to_series()
    with pytest.raises(DesignError, match="'time' coordinate differs"):
        xglm.GLM().fit(X, ys.set_axis(ys.index + 1.0))
    # a plain array has no labels: only its length is checked
    xglm._design.prepare(X, y.values)
    with pytest.raises(DesignError, match="expected 1500 samples"):
        xglm._design.prepare(X, y.values[:-1])


def test_dataframe_and_dataset_give_identical_labelled_coefficients(ds):
    y = ds.spikes.sel(neuron="n42")
    data = ds[["speed"]].assign(
        stim1=ds.stim.sel(lag=1, drop=True), stim2=ds.stim.sel(lag=2, drop=True)
    )
    a = xglm.GLM().fit(data, y)
    frame = data.to_dataframe()
    b = xglm.GLM().fit(frame, y.to_series())
    xr.testing.assert_identical(a.coef_, b.coef_)
    pd.testing.assert_frame_equal(a.summary(), b.summary())
    pa = a.predict(data.isel(time=slice(0, 5)))
    pb = b.predict(frame.iloc[:5])
    xr.testing.assert_identical(pa, pb)


def test_dict_of_arrays(ds):
    y = ds.spikes.sel(neuron="n03").values
    X = {"speed": ds.speed.values, "stim": ds.stim.values}
    d, r = prepare(pd.DataFrame({"speed": X["speed"]}).assign(y=y), "y")
    assert d.layout.names == ("speed",) and r.name == "y"
    m = xglm.glm("y ~ speed + stim", data={**X, "y": y})
    assert list(m.coef_.feature.values) == ["speed", "stim[0]", "stim[1]"]


def test_new_data_must_match_feature_coordinates(ds):
    m = xglm.GLM().fit(ds[["speed", "stim"]], ds.spikes.sel(neuron="n03"))
    new = ds[["speed", "stim"]].isel(time=slice(0, 5))
    again = prepare_new(m.design_, new)
    np.testing.assert_array_equal(again.X, m.design_.X[:5])
    with pytest.raises(DesignError, match="the 'lag' coordinate"):
        m.predict(new.assign_coords(lag=[2, 3]))
    with pytest.raises(DesignError, match=r"missing the variable\(s\) \['stim'\]"):
        m.predict(new[["speed"]])


def test_dataset_errors_are_clear(ds):
    bad = ds[["speed"]].assign(depth=("neuron", [1.0, 2.0, 3.0]))
    with pytest.raises(DesignError, match=r"\['depth'\] do not have the sample dimension 'time'"):
        prepare(bad, ds.spikes.sel(neuron="n03"))
    grid = xr.Dataset({"a": (("x", "y"), np.ones((3, 4))), "b": (("x", "y"), np.ones((3, 4)))})
    with pytest.raises(DesignError, match="cannot tell which dimension indexes the samples"):
        prepare(grid, xr.DataArray(np.ones(3), dims="z"))
    with pytest.raises(DesignError, match="has dims \\('sample',\\)"):
        prepare(ds[["speed"]], xr.DataArray(np.ones(T), dims="sample"))
    with pytest.raises(DesignError, match="y: got None"):
        xglm.GLM().fit(ds[["speed"]])


def test_missing_values_in_a_dataset(ds):
    data = ds[["speed", "stim"]].copy(deep=True)
    data["speed"][[2, 4]] = np.nan
    data["stim"][7, 1] = np.nan
    y = ds.spikes.sel(neuron="n03")
    with pytest.raises(DesignError) as info:
        prepare(data, y)
    assert str(info.value) == (
        "X: found missing values (NaN/NA) in 'speed' (2 rows), 'stim' (1 row); expected "
        "complete data. Fix: impute or remove them, or pass na_action='drop' to drop the 3 "
        "affected row(s) with a warning."
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d, r = prepare(data, y, na_action="drop")
    assert [w.category for w in caught] == [DroppedRowsWarning]
    assert "dropped 3 of 1500 rows" in str(caught[0].message)
    np.testing.assert_array_equal(d.extra["dropped"], ds.time.values[[2, 4, 7]])
    assert d.n_samples == r.y.shape[0] == T - 3
    np.testing.assert_array_equal(d.sample_coords, np.delete(ds.time.values, [2, 4, 7]))


def test_multiindex_samples_round_trip(ds):
    frame = ds[["speed"]].to_dataframe()
    frame["stim1"] = ds.stim.sel(lag=1).values
    frame["stim2"] = ds.stim.sel(lag=2).values
    frame.index = pd.MultiIndex.from_arrays(
        [np.repeat([1, 2, 3], T // 3), np.tile(np.arange(T // 3), 3)], names=["trial", "bin"]
    )
    y = pd.Series(ds.spikes.sel(neuron="n03").values, index=frame.index, name="spikes")
    m = xglm.GLM().fit(frame, y)
    pred = m.predict(frame.iloc[:4])
    assert pred.dims == ("index",)
    assert list(pred.indexes["index"]) == list(frame.index[:4])
    assert pred.name == "spikes"


def _frame(seed=21, n=400):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"z": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    d["y"] = rng.poisson(np.exp(0.5 + 0.3 * d.z)).astype(float)
    w = pd.Series(rng.uniform(0.5, 2.0, n), index=d.index)
    off = pd.Series(0.1 * rng.normal(size=n), index=d.index)
    return d, w, off, rng.permutation(n)


def test_labelled_weights_and_offsets_are_matched_by_label():
    d, w, off, perm = _frame()
    by_label = xglm.GLM().fit(d[["z"]], d.y, sample_weight=w, offset=off)
    plain = xglm.GLM().fit(d[["z"]], d.y, sample_weight=w.to_numpy(), offset=off.to_numpy())
    np.testing.assert_array_equal(by_label.coef_.values, plain.coef_.values)
    with pytest.raises(DesignError) as err:
        xglm.GLM().fit(d[["z"]], d.y, sample_weight=w.iloc[perm])
    assert str(err.value) == (
        "sample_weight: the 'index' coordinate has the same labels as X's but in a different "
        "order; expected exactly the same 'index' labels in the same order (xglm never "
        "aligns by position). Fix: reorder it, e.g. sample_weight = "
        "sample_weight.sel(index=X['index']) or sample_weight.reindex(X.index)."
    )
    with pytest.raises(DesignError, match="^offset: the 'index' coordinate has the same labels"):
        by_label.predict(d[["z"]], offset=off.iloc[::-1])
    with pytest.raises(DesignError, match="^offset: the 'index' coordinate differs from X's"):
        xglm.glm("y ~ z", data=d, offset=pd.Series(off.to_numpy(), index=d.index + 1000))


@pytest.mark.parametrize("formula", [None, "y ~ z + C(g)"])
def test_dropped_rows_drop_their_weights_and_offsets(formula):
    d, w, off, _ = _frame(22)
    d.loc[[3, 50, 77], "z"] = np.nan
    keep = d.z.notna()

    def fit(data, **kw):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DroppedRowsWarning)
            if formula is None:
                return xglm.GLM(na_action="drop").fit(data[["z"]], data.y, **kw)
            return xglm.glm(formula, data=data, na_action="drop", **kw)

    kept = fit(d[keep], sample_weight=w[keep].to_numpy(), offset=off[keep].to_numpy())
    for sw, o in ((w.to_numpy(), off.to_numpy()), (w, off)):
        full = fit(d, sample_weight=sw, offset=o)
        np.testing.assert_allclose(full.coef_.values, kept.coef_.values, rtol=1e-12)
        assert list(full.dropped_) == [3, 50, 77]


def test_population_scores_check_the_neurons_and_samples():
    rng = np.random.default_rng(23)
    n = 300
    time = np.arange(n)
    X = xr.Dataset({"z": ("time", rng.normal(size=n))}, coords={"time": time})
    Y = xr.DataArray(
        rng.poisson(1.0, (n, 3)).astype(float),
        dims=("time", "neuron"),
        coords={"time": time, "neuron": ["a", "b", "c"]},
    )
    model = xglm.PopulationGLM().fit(X, Y)
    assert model.score(X, Y.transpose("neuron", "time")) == model.score(X, Y)
    with pytest.raises(DesignError) as err:
        model.score(X, Y.isel(neuron=[2, 1, 0]))
    assert str(err.value) == (
        "y: its neurons ['c', 'b', 'a'] are not the model's neurons ['a', 'b', 'c'] in the "
        "same order; expected the same neuron labels in the same order (xglm never aligns "
        "by position). Fix: select them, e.g. y.sel(neuron=...) in the neurons' order."
    )
    with pytest.raises(DesignError, match="^y: the 'time' coordinate has the same labels"):
        model.score(X, Y.isel(time=rng.permutation(n)))


def _population_data(n=600):
    rng = np.random.default_rng(24)
    speed, pos = rng.normal(size=n), rng.uniform(size=n)
    Y = rng.poisson(np.exp(0.2 + 0.3 * speed[:, None] * np.array([1.0, 0.5, -0.5])))
    neurons = ["n1", "n3", "n7"]
    ds = xr.Dataset(
        {
            "speed": ("time", speed),
            "position": ("time", pos),
            "spikes": (("time", "neuron"), Y.astype(float)),
        },
        coords={"time": np.arange(n), "neuron": neurons},
    )
    return ds, neurons


def test_population_masks_and_offsets_are_matched_by_neuron_label():
    ds, neurons = _population_data()
    f = "spikes ~ bs(position, df=4) + speed"
    mask = xr.DataArray(
        [[1, 1, 1], [1, 0, 1]],
        dims=("term", "neuron"),
        coords={"term": ["bs(position, df=4)", "speed"], "neuron": neurons},
    )
    ref = xglm.glm(f, data=ds, feature_mask=mask)
    assert ref.coef_.sel(feature="speed", neuron="n3") == 0
    # neurons in another order, and terms by their short labels, give the same mask
    for other in (mask.isel(neuron=[2, 1, 0]), mask.assign_coords(term=["position", "speed"])):
        np.testing.assert_array_equal(
            xglm.glm(f, data=ds, feature_mask=other).feature_mask_, ref.feature_mask_
        )
    with pytest.raises(xglm.errors.XglmError) as err:
        xglm.glm(f, data=ds, feature_mask=mask.assign_coords(neuron=["a", "b", "c"]))
    assert str(err.value) == (
        "feature_mask: the DataArray's neuron labels ['a', 'b', 'c'] do not match the "
        "response's neurons ['n1', 'n3', 'n7']. Fix: label the mask's neurons as y's."
    )
    off = xr.DataArray(
        np.tile([0.0, 1.0, 0.0], (ds.sizes["time"], 1)),
        dims=("time", "neuron"),
        coords={"time": ds.time.values, "neuron": neurons},
    )
    m = xglm.glm("spikes ~ speed", data=ds, offset=off)
    with pytest.raises(DesignError) as err:
        m.predict(ds, offset=off.isel(neuron=[2, 1, 0]))
    assert str(err.value) == (
        "offset: its neurons ['n7', 'n3', 'n1'] are not the model's neurons ['n1', 'n3', "
        "'n7'] in the same order; expected the same neuron labels in the same order (xglm "
        "never aligns by position). Fix: select them, e.g. offset.sel(neuron=...) in the "
        "neurons' order."
    )
    with pytest.raises(DesignError, match="^offset: its neurons"):
        xglm.glm("spikes ~ speed", data=ds, offset=off.isel(neuron=[2, 1, 0]))
    np.testing.assert_array_equal(
        m.predict(ds, offset=off.transpose("neuron", "time")), m.predict(ds, offset=off)
    )


def test_formula_population_score_checks_the_neurons():
    ds, neurons = _population_data()
    m = xglm.glm("spikes ~ speed", data=ds)
    with pytest.raises(xglm.errors.XglmError, match=r"^y: its neurons \['n7', 'n3', 'n1'\]"):
        m.score(ds.isel(neuron=[2, 1, 0]), per_neuron=True)
    with pytest.raises(xglm.errors.XglmError, match=r"^y: its neurons \['a', 'b', 'c'\]"):
        m.score(ds.assign_coords(neuron=["a", "b", "c"]))


def test_response_with_more_than_one_extra_dim_is_refused():
    ds, _ = _population_data()
    spikes = xr.concat([ds.spikes, ds.spikes], dim="trial").transpose("time", "neuron", "trial")
    with pytest.raises(xglm.errors.ResponseError) as err:
        xglm.PopulationGLM().fit(ds[["speed"]], spikes)
    assert str(err.value) == (
        "y: 'spikes' has shape (600, 3, 2) (the samples by ('neuron', 'trial')); expected "
        "one response per sample, or one per sample and neuron. Fix: stack the extra dims "
        "into one neuron dim, e.g. y.stack(neuron=('neuron', 'trial')) for a DataArray."
    )


def test_labelled_starting_values_are_matched_by_label():
    ds, _ = _population_data()
    f = "spikes ~ bs(position, df=4) + speed"
    fit = xglm.glm(f, data=ds)
    # one iteration from the solution stays near it; from a scrambled start it would not
    one = {"solver_kwargs": {"maxiter": 1}}
    permuted = fit.coef_.isel(feature=[4, 0, 3, 1, 2], neuron=[2, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xglm.errors.ConvergenceWarning)
        ref = xglm.PopulationGLM(formula=f, **one).fit(
            ds, init_params=(fit.coef_, fit.intercept_.values)
        )
        other = xglm.PopulationGLM(formula=f, **one).fit(
            ds,
            init_params=(
                permuted.transpose("neuron", "feature"),
                fit.intercept_.isel(neuron=[1, 2, 0]),
            ),
        )
    np.testing.assert_array_equal(other.coef_.values, ref.coef_.values)
    np.testing.assert_allclose(ref.coef_.values, fit.coef_.values, rtol=1e-7, atol=1e-10)
    with pytest.raises(xglm.errors.XglmError) as err:
        xglm.PopulationGLM(formula=f).fit(
            ds, init_params=(fit.coef_.rename(feature="coef"), fit.intercept_.values)
        )
    assert str(err.value) == (
        "init_params[0]: got a DataArray with dims ('coef', 'neuron'); expected ('feature', "
        "'neuron'), as coef_. Fix: pass coefficients labelled like coef_ (e.g. a previous "
        "fit's coef_)."
    )
