"""Formulas through formulaic: agreement with glum and statsmodels, per-term leaves,
stored ModelSpec reuse on new data, clear errors, missing values and pandas dtypes.

Every new problem shape compiles once, so the tests share a few shapes: n = 1500 rows
with the 10-column formula ``FULL`` or the 3-column formula ``SMALL`` (Poisson).
"""

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import xglm
from xglm._design import prepare, prepare_new
from xglm.errors import DesignError, DroppedRowsWarning

FULL = "spikes ~ bs(position, df=5) + C(trial) * speed"  # 5 + 2 + 1 + 2 columns
SMALL = "spikes ~ speed + C(trial)"  # 1 + 2 columns
TIGHT = {"tol": 1e-12}


def make_df(n=1500, seed=7):
    rng = np.random.default_rng(seed)
    out = pd.DataFrame(
        {
            "position": rng.uniform(0, 1, n),
            "speed": rng.normal(size=n),
            "trial": rng.choice(["a", "b", "c"], n),
            "exposure": rng.uniform(1, 2, n),
        }
    )
    eta = 0.2 + np.sin(3 * out.position) + 0.2 * out.speed + 0.1 * (out.trial == "b")
    out["spikes"] = rng.poisson(out.exposure * np.exp(eta))
    out["rate"] = eta + rng.normal(scale=0.5, size=n)
    out["hit"] = rng.binomial(1, 1 / (1 + np.exp(-(eta - 1.0))))
    return out


@pytest.fixture(scope="module")
def df():
    return make_df()


@pytest.fixture(scope="module")
def full(df):
    return xglm.glm(FULL, data=df, solver_kwargs=TIGHT)


def _patsy_name(name: str) -> str:
    """statsmodels (patsy) numbers spline columns from 0, formulaic from 1."""
    m = re.match(r"^(bs\(.*\))\[(\d+)\]$", name)
    return f"{m.group(1)}[{int(m.group(2)) + 1}]" if m else name


def _check_against(model, params, bse=None):
    feats = list(model.coef_.feature.values)
    assert sorted(feats) == sorted(k for k in params if k != "Intercept")
    want = np.array([params[f] for f in feats])
    np.testing.assert_allclose(model.coef_.values, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(model.intercept_[0], params["Intercept"], rtol=1e-6)
    if bse is not None:
        se = model.summary()["std_err"].to_numpy()
        want_se = np.array([bse["Intercept"]] + [bse[f] for f in feats])
        np.testing.assert_allclose(se, want_se, rtol=1e-5)


GAUSS = "rate ~ C(trial) + speed + bs(position, df=4) + speed:C(trial)"  # 9 columns


@pytest.mark.parametrize(
    "formula, family",
    [(FULL, "poisson"), (GAUSS, "gaussian"), ("hit ~ C(trial) + speed + position", "binomial")],
)
def test_matches_statsmodels_formula(df, full, formula, family):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    fam = {
        "poisson": sm.families.Poisson(),
        "gaussian": sm.families.Gaussian(),
        "binomial": sm.families.Binomial(),
    }[family]
    ref = smf.glm(formula, df, family=fam).fit(tol=1e-13)
    m = full if formula == FULL else xglm.glm(formula, data=df, family=family, solver_kwargs=TIGHT)
    params = {_patsy_name(k): v for k, v in ref.params.items()}
    bse = {_patsy_name(k): v for k, v in ref.bse.items()}
    _check_against(m, params, bse)


def _glum_name(name: str) -> str:
    # glum's tabmat names levels 'C(trial)[b]' where formulaic says 'C(trial)[T.b]'
    return re.sub(r"C\(trial\)\[(\w)\]", r"C(trial)[T.\1]", name)


@pytest.mark.parametrize("formula, family", [(FULL, "poisson"), (GAUSS, "normal")])
def test_matches_glum_formula(df, full, formula, family):
    import glum

    ref = glum.GeneralizedLinearRegressor(
        formula=formula, family=family, alpha=0, drop_first=True, gradient_tol=1e-12
    ).fit(df)
    fam = "gaussian" if family == "normal" else family
    m = full if formula == FULL else xglm.glm(formula, data=df, family=fam, solver_kwargs=TIGHT)
    params = {_glum_name(n): c for n, c in zip(ref.feature_names_, ref.coef_, strict=True)}
    # glum writes the interaction 'C(trial)[T.b]:speed' as in the formula's factor order
    feats = list(m.coef_.feature.values)
    params = {
        (next(f for f in feats if set(f.split(":")) == set(k.split(":"))) if ":" in k else k): v
        for k, v in params.items()
    }
    params["Intercept"] = ref.intercept_
    _check_against(m, params)


def test_offset_in_formula_matches_statsmodels(df):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    ref = smf.glm(SMALL, df, family=sm.families.Poisson(), offset=np.log(df.exposure)).fit(
        tol=1e-13
    )
    m = xglm.glm("spikes ~ speed + offset(np.log(exposure)) + C(trial)", data=df)
    assert list(m.coef_.term.values) == ["speed", "C(trial)", "C(trial)"]
    _check_against(m, dict(ref.params))
    np.testing.assert_allclose(m.design_.offset, np.log(df.exposure.to_numpy()), rtol=1e-15)
    # predict uses the offset of the new data
    new = df.iloc[:4].assign(exposure=1.0)
    eta = m.predict(new, type="link").values
    want = ref.predict(new, offset=np.zeros(4), which="linear")
    np.testing.assert_allclose(eta, want, rtol=1e-6)


def test_terms_are_leaves_in_user_order_with_short_labels(df, full):
    d, _ = prepare(df, None, formula="spikes ~ speed + C(trial) + bs(position, df=4)")
    assert d.layout.names == ("speed", "C(trial)", "bs(position, df=4)")
    assert d.layout.shapes == ((1,), (2,), (4,))
    assert d.extra["short_names"] == {"trial": "C(trial)", "position": "bs(position, df=4)"}
    assert full.design_.layout.names == (
        "bs(position, df=5)",
        "C(trial)",
        "speed",
        "C(trial):speed",
    )
    # strengths keyed by short labels and by full term names give the same fit
    strengths = {"position": 0.0, "trial": 10.0, "speed": 0.0, "trial:speed": 0.0}
    a = xglm.glm(FULL, data=df, regularizer="Ridge", regularizer_strength=strengths)
    full_names = {
        "bs(position, df=5)": 0.0,
        "C(trial)": 10.0,
        "speed": 0.0,
        "C(trial):speed": 0.0,
    }
    b = xglm.glm(FULL, data=df, regularizer="Ridge", regularizer_strength=full_names)
    np.testing.assert_array_equal(a.coef_.values, b.coef_.values)
    shrunk = np.abs(a.coef_.sel(feature=a.coef_.term == "C(trial)").values)
    free = np.abs(full.coef_.sel(feature=full.coef_.term == "C(trial)").values)
    assert np.linalg.norm(shrunk) < 0.5 * np.linalg.norm(free)


def test_group_lasso_groups_are_terms(df):
    m = xglm.glm(
        FULL,
        data=df,
        regularizer="GroupLasso",
        regularizer_strength={
            "bs(position, df=5)": 0.0,
            "C(trial)": 0.0,
            "speed": 0.0,
            "C(trial):speed": 1.0,
        },
    )
    assert np.all(m.coef_.sel(feature=m.coef_.term == "C(trial):speed").values == 0)
    assert np.all(m.coef_.sel(feature=m.coef_.term == "speed").values != 0)


def test_no_intercept_formula(df):
    m = xglm.glm("spikes ~ C(trial) + speed - 1", data=df)
    assert m.fit_intercept is False
    # without an intercept the categorical keeps all its levels
    assert list(m.coef_.feature.values) == ["C(trial)[a]", "C(trial)[b]", "C(trial)[c]", "speed"]
    with pytest.raises(DesignError, match="fit_intercept: got True"):
        xglm.GLM(formula="spikes ~ speed - 1").fit(df)
    with pytest.raises(DesignError, match="fit_intercept: got False"):
        xglm.GLM(formula="spikes ~ speed", fit_intercept=False).fit(df)
    m2 = xglm.GLM(formula="spikes ~ 0 + C(trial) + speed", fit_intercept=False).fit(df)
    np.testing.assert_allclose(m2.coef_.values, m.coef_.values, rtol=1e-10)


def test_predict_reproduces_the_design_exactly(df, full):
    f = "spikes ~ bs(position, df=5) + C(trial):scale(speed) + offset(np.log(exposure))"
    design, _ = prepare(df, None, formula=f)
    again = prepare_new(design, df)
    np.testing.assert_array_equal(again.X, design.X)
    np.testing.assert_array_equal(again.offset, design.offset)
    # a subset is encoded with the fitted state (knots, levels, scaling), not refitted
    sub = df.iloc[100:110]
    d_sub = prepare_new(design, sub)
    np.testing.assert_array_equal(d_sub.X, design.X[100:110])
    # and predict returns the subset's labels
    pred = full.predict(sub)
    assert pred.dims == ("index",) and list(pred.index.values) == list(range(100, 110))
    X = full.design_.X[100:110]
    np.testing.assert_allclose(
        pred.values, np.exp(X @ full.coef_.values + full.intercept_[0]), rtol=1e-12
    )


def test_text_where_numbers_were_fitted(df, full):
    new = df.iloc[:5].copy()
    new["speed"] = new.speed.astype(str)
    with pytest.raises(DesignError) as info:
        full.predict(new)
    assert str(info.value) == (
        "data['speed']: got text values (dtype object); expected numbers, as in the fitted "
        "data. Fix: convert the column, e.g. data['speed'].astype(float)."
    )


def test_unseen_category_error_message(df, full):
    new = df.iloc[:5].copy()
    new.loc[new.index[[1, 3]], "trial"] = "d"
    with pytest.raises(DesignError) as info:
        full.predict(new)
    assert str(info.value) == (
        "data['trial']: got category level(s) ['d'] in 2 row(s) that the model did not "
        "see when fitted (term 'C(trial)', fitted levels ['a', 'b', 'c']); expected only "
        "fitted levels. Fix: drop or recode those rows, or refit with data that contains "
        "these levels."
    )


def test_spline_outside_fitted_range_raises(df, full):
    lo, hi = df.position.min(), df.position.max()
    new = df.iloc[:3].assign(position=[0.5, hi + 1.0, lo - 1.0])
    with pytest.raises(DesignError) as info:
        full.predict(new)
    msg = str(info.value)
    assert msg.startswith(f"data['position']: 2 value(s) outside the range [{lo:.6g}, {hi:.6g}]")
    assert "the term 'bs(position, df=5)' was fitted on" in msg
    assert "Fix:" in msg
    with pytest.raises(DesignError, match="missing the variable"):
        full.predict(df[["speed", "trial"]])


def test_missing_values_raise_by_default_and_drop_with_warning(df):
    d = df.copy()
    d.loc[[3, 5, 7], "speed"] = np.nan
    d.loc[10, "trial"] = None
    d.loc[11, "exposure"] = np.nan  # not used by the formula: ignored
    with pytest.raises(DesignError) as info:
        xglm.glm(SMALL, data=d)
    assert str(info.value) == (
        "data: found missing values (NaN/NA) in 'speed' (3 rows), 'trial' (1 row); "
        "expected complete data. Fix: impute or remove them, or pass na_action='drop' to "
        "drop the 4 affected row(s) with a warning."
    )
    with pytest.warns(DroppedRowsWarning, match="dropped 4 of 1500 rows"):
        m = xglm.glm(SMALL, data=d, na_action="drop")
    assert list(m.dropped_) == [3, 5, 7, 10]
    assert m.nobs_ == 1496
    ref = xglm.glm(SMALL, data=df.drop(index=[3, 5, 7, 10]))
    np.testing.assert_allclose(m.coef_.values, ref.coef_.values, rtol=1e-12)
    # predict with missing values: raise, or drop with a warning
    with pytest.raises(DesignError, match="missing values"):
        ref.predict(d.iloc[:6])
    with pytest.warns(DroppedRowsWarning):
        assert list(m.predict(d.iloc[:6]).index.values) == [0, 1, 2, 4]
    # NaN in the response counts too
    d2 = df.assign(spikes=df.spikes.astype(float))
    d2.loc[0, "spikes"] = np.nan
    with pytest.raises(DesignError, match=r"'spikes' \(1 row\)"):
        prepare(d2, None, formula=SMALL)


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning")
def test_transform_nan_is_not_dropped_silently(df):
    d = df.assign(z=df.speed)
    with pytest.raises(DesignError, match="the formula's transforms produced NaN"):
        prepare(d, None, formula="spikes ~ np.log(z)")
    with pytest.warns(DroppedRowsWarning):
        design, response = prepare(d, None, formula="spikes ~ np.log(z)", na_action="drop")
    assert len(design.extra["dropped"]) == int((df.speed < 0).sum()) == len(df) - len(response.y)
    with pytest.raises(DesignError, match="infinite value"):
        prepare(d.assign(z=np.abs(d.z).where(d.index > 0, 0.0)), None, formula="spikes ~ np.log(z)")


def test_pandas_nullable_dtypes(df, full):
    d = pd.DataFrame(
        {
            "s": pd.array(df.trial, dtype="string"),
            "i": pd.array(df.index % 3, dtype="Int64"),
            "b": pd.array(df.speed > 0, dtype="boolean"),
            "c": pd.Categorical(df.trial),
            "x": pd.array(df.speed, dtype="Float64"),
            "y": pd.array(df.spikes, dtype="Int64"),
        }
    )
    design, response = prepare(d, None, formula="y ~ C(s) + C(i) + b + x")
    assert design.layout.feature_labels == (
        "C(s)[T.b]",
        "C(s)[T.c]",
        "C(i)[T.1]",
        "C(i)[T.2]",
        "b[T.True]",  # a logical is a factor, as in R and statsmodels
        "x",
    )
    np.testing.assert_array_equal(design.X[:, 4], (df.speed > 0).to_numpy(float))
    np.testing.assert_array_equal(response.y, df.spikes.to_numpy(float))
    ref = xglm.glm(SMALL, data=df)
    for formula in ("y ~ x + C(s)", "y ~ x + C(c)", "y ~ x + s"):
        m = xglm.glm(formula, data=d)
        np.testing.assert_allclose(m.coef_.values, ref.coef_.values, rtol=1e-12)
    with pytest.raises(DesignError, match=r"missing values \(NaN/NA\) in 'i' \(1 row\)"):
        prepare(d.assign(i=pd.array([pd.NA] + list(d.i[1:]), dtype="Int64")), None, formula="y ~ i")
    with pytest.raises(DesignError, match=r"X\['s'\]: got values of dtype string"):
        xglm.GLM().fit(d[["s", "x"]], d.y)


def test_formula_on_dict_and_without_lhs(df):
    ref = xglm.glm(SMALL, data=df)
    data = {k: df[k].to_numpy() for k in ("spikes", "speed", "trial")}
    a = xglm.glm(SMALL, data=data)
    b = xglm.GLM(formula="~ speed + C(trial)").fit(df, df.spikes)
    np.testing.assert_allclose(a.coef_.values, ref.coef_.values, rtol=1e-12)
    np.testing.assert_allclose(b.coef_.values, ref.coef_.values, rtol=1e-12)
    with pytest.raises(DesignError, match="already names one"):
        xglm.GLM(formula=SMALL).fit(df, df.spikes)


def test_unknown_variable_and_bad_formula(df):
    with pytest.raises(DesignError, match="the formula uses 'sped'"):
        prepare(df, None, formula="spikes ~ sped")
    with pytest.raises(DesignError, match="has no variable 'spike'"):
        prepare(df, None, formula="spike ~ speed")
    with pytest.raises(DesignError, match="more than one '~'"):
        prepare(df, None, formula="spikes ~ speed ~ position")
    # formulaic's message on one line, without its terminal colour codes
    with pytest.raises(DesignError) as err:
        prepare(df, None, formula="spikes ~ speed +")
    msg = str(err.value)
    assert msg.startswith("formula: could not parse 'speed +' (Operator `+`")
    assert msg.endswith("). Fix: check the syntax, e.g. 'y ~ bs(x, df=5) + C(group) + z'.")
    assert "\x1b" not in msg and "\n" not in msg


def test_population_formula_from_dataset_keeps_neuron_labels():
    rng = np.random.default_rng(3)
    T, names = 1500, ["CA1_01", "CA1_07", "CA3_02"]
    pos = rng.uniform(0, 1, T)
    speed = rng.normal(size=T)
    trial = rng.choice(["a", "b", "c"], T)
    w = np.array([1.0, -1.0, 0.5])
    ds = xr.Dataset(
        {
            "spikes": (("time", "neuron"), rng.poisson(np.exp(0.2 + speed[:, None] * w))),
            "position": ("time", pos),
            "speed": ("time", speed),
            "trial": ("time", trial),
        },
        coords={"time": np.arange(T) / 100, "neuron": names},
    )
    m = xglm.glm(SMALL, data=ds)
    assert isinstance(m, xglm.PopulationGLM)
    assert m.coef_.dims == ("feature", "neuron")
    assert list(m.coef_.neuron.values) == names
    np.testing.assert_allclose(m.coef_.sel(feature="speed").values, w, atol=0.1)
    for name in names:
        single = xglm.glm(SMALL, data=ds.sel(neuron=name))
        np.testing.assert_allclose(m.coef_.sel(neuron=name).values, single.coef_.values, rtol=1e-6)
    with pytest.raises(Exception, match="PopulationGLM"):
        xglm.GLM(formula=SMALL).fit(ds)


def test_dataset_sample_coordinate_is_usable_in_formula():
    rng = np.random.default_rng(5)
    T = 400
    ds = xr.Dataset(
        {"spikes": ("time", rng.poisson(2.0, T).astype(float))},
        coords={"time": np.arange(T) / 100.0, "trial": ("time", np.repeat(["t1", "t2"], T // 2))},
    )
    design, _ = prepare(ds, None, formula="spikes ~ C(trial) + time")
    assert design.layout.feature_labels == ("C(trial)[T.t2]", "time")
    assert design.sample_dim == "time"
    np.testing.assert_array_equal(design.sample_coords, ds.time.values)


def test_dataframe_and_dataset_give_identical_formula_fits(df, full):
    b = xglm.glm(FULL, data=xr.Dataset.from_dataframe(df), solver_kwargs=TIGHT)
    xr.testing.assert_identical(full.coef_, b.coef_)
    pd.testing.assert_frame_equal(full.summary(), b.summary())


def test_dot_stands_for_every_other_variable(df):
    # R's "." expands to every variable of the data but the response; here against
    # statsmodels with the terms written out
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    data = df[["spikes", "speed", "trial", "position"]]
    m = xglm.glm("spikes ~ . - position + I(0.5 * position)", data=data, solver_kwargs=TIGHT)
    ref = smf.glm(
        "spikes ~ speed + C(trial) + I(0.5 * position)", data, family=sm.families.Poisson()
    ).fit(tol=1e-13)
    params = {k.replace("C(trial)", "trial"): v for k, v in ref.params.items()}
    bse = {k.replace("C(trial)", "trial"): v for k, v in ref.bse.items()}
    _check_against(m, params, bse)
    assert list(m.coef_.feature.values)[:3] == ["speed", "trial[T.b]", "trial[T.c]"]
    # predictions on new rows go through the expanded terms
    np.testing.assert_allclose(
        np.asarray(m.predict(data.iloc[:5])), ref.predict(data.iloc[:5]).to_numpy(), rtol=1e-6
    )
    assert xglm.glm("spikes ~ . - 1", data=data).fit_intercept is False


def test_dot_without_predictors_is_an_error():
    data = pd.DataFrame({"spikes": [0.0, 1.0, 2.0, 1.0]})
    with pytest.raises(DesignError) as info:
        xglm.glm("spikes ~ .", data=data)
    assert str(info.value) == (
        "formula: '.' stands for the variables of data besides the response; got "
        "variables ['spikes']. Fix: name the terms, or pass a table with predictors."
    )


def test_cbind_successes_failures_matches_statsmodels_two_column_binomial():
    # R's cbind(successes, failures) response: proportions with the totals as trials,
    # against statsmodels' binomial with a (successes, failures) response, on star98
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    data = sm.datasets.star98.load_pandas().data[["NABOVE", "NBELOW", "LOWINC", "PERASIAN"]]
    m = xglm.glm(
        "cbind(NABOVE, NBELOW) ~ LOWINC + PERASIAN",
        data=data,
        family="binomial",
        solver_kwargs=TIGHT,
    )
    ref = smf.glm("NABOVE + NBELOW ~ LOWINC + PERASIAN", data, family=sm.families.Binomial())
    ref = ref.fit(tol=1e-13)
    _check_against(m, dict(ref.params), dict(ref.bse))
    assert m.deviance_ == pytest.approx(ref.deviance, rel=1e-10)
    assert m.loglik_ == pytest.approx(ref.llf, rel=1e-10)
    assert m.aic_ == pytest.approx(ref.aic, rel=1e-10)
    # scoring the training table uses the same trials
    total = float((data.NABOVE + data.NBELOW).sum())
    assert m.score(data, score_type="deviance") == pytest.approx(-ref.deviance / total, rel=1e-9)


def test_cbind_needs_the_binomial_family_and_counts():
    data = pd.DataFrame(
        {"s": [1.0, 2.0, 0.0, 3.0], "f": [2.0, 0.0, 1.0, 1.0], "x": [0.1, 0.5, -0.2, 0.3]}
    )
    with pytest.raises(DesignError) as info:
        xglm.glm("cbind(s, f) ~ x", data=data, family="poisson")
    assert str(info.value) == (
        "formula: a cbind(successes, failures) response needs family='binomial'; got "
        "family='poisson'. Fix: pass family='binomial'."
    )
    bad = data.assign(f=[2.0, -1.0, 1.0, 1.0])
    with pytest.raises(DesignError) as info:
        xglm.glm("cbind(s, f) ~ x", data=bad, family="binomial")
    assert str(info.value) == (
        "formula: 'cbind(s, f)' has negative counts; expected successes and failures >= 0. "
        "Fix: check the two columns."
    )
    with pytest.raises(DesignError, match=r"expected cbind\(successes, failures\)"):
        xglm.glm("cbind(s) ~ x", data=data, family="binomial")


def test_feature_mask_keyed_by_the_short_labels_of_formula_terms():
    rng = np.random.default_rng(4)
    n = 500
    ds = xr.Dataset(
        {
            "position": ("time", rng.uniform(0, 1, n)),
            "speed": ("time", rng.normal(size=n)),
            "spikes": (("time", "neuron"), rng.poisson(1.0, (n, 2)).astype(float)),
        },
        coords={"neuron": ["n1", "n2"]},
    )
    f = "spikes ~ bs(position, df=5) + speed"
    a = xglm.glm(f, data=ds, feature_mask={"bs(position, df=5)": [1, 0], "speed": [1, 1]})
    b = xglm.glm(f, data=ds, feature_mask={"position": [1, 0], "speed": [1, 1]})
    np.testing.assert_array_equal(a.coef_.values, b.coef_.values)
    assert np.all(b.coef_.sel(neuron="n2").values[:5] == 0)
    with pytest.raises(xglm.errors.XglmError) as info:
        xglm.glm(
            f,
            data=ds,
            feature_mask={"position": [1, 0], "bs(position, df=5)": [1, 0], "speed": [1, 1]},
        )
    assert str(info.value) == (
        "feature_mask: keys ['position', 'bs(position, df=5)', 'speed'] name a leaf twice "
        "(a term and its short label). Fix: one key per leaf."
    )


def test_array_variable_in_a_formula_keeps_its_coordinate():
    rng = np.random.default_rng(31)
    n = 500
    ds = xr.Dataset(
        {
            "speed": ("time", rng.normal(size=n)),
            "stim": (("time", "lag"), rng.normal(size=(n, 3))),
            "spikes": ("time", rng.poisson(1.0, n).astype(float)),
        },
        coords={"time": np.arange(n), "lag": [1, 2, 3]},
    )
    m = xglm.glm("spikes ~ speed + stim + speed:stim", data=ds)
    # the columns are labelled by the lag coordinate, as without a formula
    assert list(m.coef_.feature.values) == [
        "speed",
        "stim[1]",
        "stim[2]",
        "stim[3]",
        "speed:stim[1]",
        "speed:stim[2]",
        "speed:stim[3]",
    ]
    plain = xglm.GLM().fit(ds[["speed", "stim"]], ds.spikes)
    assert list(plain.coef_.feature.values)[1:] == ["stim[1]", "stim[2]", "stim[3]"]
    # new data must carry the fitted lags in the fitted order: the formula's columns
    # are taken by position
    for new, got in (
        (ds.isel(lag=[2, 1, 0]), [3, 2, 1]),
        (ds.assign_coords(lag=[10, 20, 30]), [10, 20, 30]),
        (ds.isel(lag=[0, 1]), [1, 2]),
    ):
        with pytest.raises(DesignError) as err:
            m.predict(new)
        assert str(err.value) == (
            f"data['stim']: the 'lag' coordinate {got} differs from the fitted one [1, 2, 3]; "
            "expected exactly the same labels in the same order. Fix: select them, e.g. "
            "data.sel(lag=[1, 2, 3])."
        )
    np.testing.assert_array_equal(m.predict(ds), m.predict(ds.copy()))
    # the term's coefficients and effect are over the lag dim, as without a formula
    by_term = m.coef_by_term()["stim"]
    assert by_term.dims == ("lag",) and list(by_term.lag.values) == [1, 2, 3]
    np.testing.assert_array_equal(by_term.values, m.coef_.values[1:4])
    effect = m.term_effect("stim")
    assert effect.dims == ("lag",)
    np.testing.assert_allclose(effect.values, m.coef_.values[1:4], rtol=1e-14)
    np.testing.assert_allclose(effect.std_err.values, m.summary()["std_err"].values[2:5])


def test_interaction_terms_keep_the_written_order_as_statsmodels():
    # the terms come in the order written and expanded (DESIGN: the user's term order),
    # which for numeric variables is statsmodels' order too (R sorts by degree)
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(33)
    d = pd.DataFrame(rng.normal(size=(600, 3)) * 0.5, columns=list("abc"))
    d["y"] = rng.poisson(np.exp(0.3 + 0.2 * d.a - 0.2 * d.b * d.c)).astype(float)
    orders = {
        "y ~ a:b + a": ["a:b", "a"],
        "y ~ a*b + c": ["a", "b", "a:b", "c"],
        "y ~ a*b*c": ["a", "b", "a:b", "c", "a:c", "b:c", "a:b:c"],
        "y ~ c + b:a + b": ["c", "b:a", "b"],
    }
    for formula, terms in orders.items():
        m = xglm.glm(formula, data=d)
        r = smf.glm(formula, data=d, family=sm.families.Poisson()).fit(tol=1e-12)
        table = m.summary()
        assert list(table.index) == ["Intercept", *terms] == list(r.params.index)
        assert list(m.coef_.term.values) == terms
        np.testing.assert_allclose(table["coef"], r.params, rtol=1e-6)
        np.testing.assert_allclose(table["std_err"], r.bse, rtol=1e-5)


def test_logical_variables_are_factors_as_in_r():
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(32)
    n = 800
    d = pd.DataFrame({"z": rng.normal(size=n), "k": rng.choice(["a", "b", "c"], n)})
    d["flag"] = d.z + rng.normal(size=n) > 0
    d["y"] = rng.poisson(np.exp(0.3 + 0.4 * d.z * (1 + d.flag))).astype(float)
    # with no main effect, flag:z has a slope for each level (R's and patsy's coding)
    for formula in ("y ~ flag + z", "y ~ C(k, Sum) + flag:z", "y ~ flag * z"):
        m = xglm.glm(formula, data=d)
        r = smf.glm(formula, data=d, family=sm.families.Poisson()).fit()
        table = m.summary()
        assert list(table.index) == list(r.params.index)
        np.testing.assert_allclose(table["coef"], r.params, rtol=1e-6)
        np.testing.assert_allclose(table["std_err"], r.bse, rtol=1e-5)
        assert m.deviance_ == pytest.approx(r.deviance, rel=1e-8)
    # new data with one level only keep both columns
    m = xglm.glm("y ~ flag:z", data=d)
    only_true = d[d.flag].iloc[:5]
    np.testing.assert_allclose(
        m.predict(only_true, type="link"),
        m.intercept_[0] + only_true.z.to_numpy() * float(m.coef_.sel(feature="flag[True]:z")),
        rtol=1e-12,
    )
