"""Model comparison against statsmodels and R's definitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

import xglm
from xglm.errors import XglmError

N = 200
RTOL = 1e-8


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 3))
    g = rng.choice(["a", "b", "c"], N)
    G = np.column_stack([g == "b", g == "c"]).astype(float)
    eta = 0.2 + X @ np.array([0.4, 0.0, -0.3]) + G @ np.array([0.3, -0.2])
    return rng, X, g, G, eta


def _close(a, b, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=1e-12)


def test_lr_poisson_matches_statsmodels(data):
    rng, X, g, G, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    small = xglm.GLM().fit(X[:, :1], y)
    big = xglm.GLM().fit(X, y)
    table = xglm.compare(small, big, names=["small", "big"])
    rs = sm.GLM(y, sm.add_constant(X[:, :1]), family=sm.families.Poisson()).fit(tol=1e-12)
    rb = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-12)
    lr = 2 * (rb.llf - rs.llf)
    row = table.loc["big"]
    _close(row["statistic"], lr)
    _close(row["p_value"], stats.chi2.sf(lr, 2))
    assert row["df"] == 2 and table.attrs["test"] == "Chisq"
    _close(row["deviance_diff"], rs.deviance - rb.deviance)
    _close(table["df_resid"], [rs.df_resid, rb.df_resid])
    # the exact likelihood ratio equals the deviance test with a known dispersion
    _close(xglm.compare(small, big, test="lr")["statistic"].iloc[1], lr)
    assert np.isnan(table.loc["small", "p_value"])


def test_gaussian_lr_f_and_chisq_match_statsmodels_and_r(data):
    rng, X, g, G, eta = data
    y = eta + rng.normal(size=N)
    small = xglm.GLM(family="gaussian").fit(X[:, :1], y)
    big = xglm.GLM(family="gaussian").fit(X, y)
    os_ = sm.OLS(y, sm.add_constant(X[:, :1])).fit()
    ob = sm.OLS(y, sm.add_constant(X)).fit()
    lr = ob.compare_lr_test(os_)
    t_lr = xglm.compare(small, big, test="lr").iloc[1]
    _close(t_lr["statistic"], lr[0])
    _close(t_lr["p_value"], lr[1])
    assert t_lr["df"] == lr[2]
    # R's anova(test = "F") is the default for an estimated dispersion
    f = ob.compare_f_test(os_)
    t_f = xglm.compare(small, big)
    assert t_f.attrs["test"] == "F"
    _close(t_f["statistic"].iloc[1], f[0])
    _close(t_f["p_value"].iloc[1], f[1])
    # R's anova(test = "Chisq"): deviance change / dispersion of the big model
    disp = ob.ssr / ob.df_resid
    chisq = (os_.ssr - ob.ssr) / disp
    t_c = xglm.compare(small, big, test="Chisq")
    _close(t_c["statistic"].iloc[1], chisq)
    _close(t_c["p_value"].iloc[1], stats.chi2.sf(chisq, 2))
    _close(t_c.attrs["dispersion"], disp)


def test_gamma_f_test_r_definition(data):
    rng, X, g, G, eta = data
    y = rng.gamma(5.0, np.exp(0.1 * eta) / 5.0)
    fam = xglm.Gamma(link="log")
    small = xglm.GLM(family=fam).fit(X[:, :1], y)
    mid = xglm.GLM(family=fam).fit(X[:, :2], y)
    big = xglm.GLM(family=fam).fit(X, y)
    table = xglm.compare(small, mid, big)
    sfam = sm.families.Gamma(sm.families.links.Log())
    fits = [sm.GLM(y, sm.add_constant(X[:, :j]), family=sfam).fit(tol=1e-12) for j in (1, 2, 3)]
    disp = fits[-1].pearson_chi2 / fits[-1].df_resid
    for i in (1, 2):
        F = (fits[i - 1].deviance - fits[i].deviance) / disp
        _close(table["statistic"].iloc[i], F, rtol=1e-7)
        _close(table["p_value"].iloc[i], stats.f.sf(F, 1, fits[-1].df_resid), rtol=1e-6)
    assert list(table.index) == ["model_1", "model_2", "model_3"]


def test_wald_test_terms_match_statsmodels(data):
    rng, X, g, G, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    df = pd.DataFrame({"x0": X[:, 0], "x1": X[:, 1], "g": g, "y": y})
    tight = {"tol": 1e-12}  # Wald statistics move with the optimum, unlike deviances
    m = xglm.GLM(solver_kwargs=tight).fit({"C(g)": G, "x0": X[:, 0], "x1": X[:, 1]}, y)
    r = smf.glm("y ~ C(g) + x0 + x1", df, family=sm.families.Poisson()).fit(tol=1e-14)
    ours = m.wald_test_terms()
    theirs = r.wald_test_terms(skip_single=False).table
    assert list(ours.index) == ["Intercept", "C(g)", "x0", "x1"]
    assert list(theirs.index) == ["Intercept", "C(g)", "x0", "x1"]
    _close(ours["statistic"], theirs["statistic"])
    _close(ours["p_value"], theirs["pvalue"])
    _close(ours["df"], theirs["df_constraint"])
    # plain arrays: one term per column, as statsmodels without a formula
    m2 = xglm.GLM(solver_kwargs=tight).fit(X, y)
    r2 = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
    _close(m2.wald_test_terms()["statistic"], r2.wald_test_terms().table["statistic"])


def test_wald_f_gaussian_matches_statsmodels_use_t(data):
    rng, X, g, G, eta = data
    y = eta + rng.normal(size=N)
    df = pd.DataFrame({"x0": X[:, 0], "g": g, "y": y})
    m = xglm.GLM(family="gaussian").fit({"C(g)": G, "x0": X[:, 0]}, y)
    r = smf.glm("y ~ C(g) + x0", df).fit(use_t=True)
    ours = m.wald_test_terms()
    theirs = r.wald_test_terms(skip_single=False).table
    assert ours.attrs["test"] == "F"
    _close(ours["statistic"], theirs["statistic"])
    _close(ours["p_value"], theirs["pvalue"])
    _close(ours["df_denom"], theirs["df_denom"])
    chi = m.wald_test_terms(test="chi2")
    _close(chi["statistic"], theirs["statistic"] * theirs["df_constraint"])


def test_population_tables_per_neuron(data):
    rng, X, g, G, eta = data
    Y = rng.poisson(np.exp(eta[:, None] + np.array([0.0, -0.3]))).astype(float)
    small = xglm.PopulationGLM().fit(X[:, :1], Y)
    big = xglm.PopulationGLM().fit(X, Y)
    table = xglm.compare(small, big)
    assert table.index.names == ["neuron", "model"]
    for i in range(2):
        one = xglm.compare(xglm.GLM().fit(X[:, :1], Y[:, i]), xglm.GLM().fit(X, Y[:, i]))
        _close(table.xs(i, level="neuron")["statistic"].iloc[1], one["statistic"].iloc[1], 1e-6)
    wald = big.wald_test_terms()
    assert wald.index.names == ["neuron", "term"] and len(wald) == 2 * 4
    info = xglm.information_table({"small": small, "big": big})
    assert info.index.names == ["neuron", "model"]
    _close(info.groupby(level="neuron")["aic_weight"].sum(), [1.0, 1.0])


def test_information_table_values(data):
    rng, X, g, G, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    fits = [xglm.GLM().fit(X[:, :j], y) for j in (1, 2, 3)]
    refs = [
        sm.GLM(y, sm.add_constant(X[:, :j]), family=sm.families.Poisson()).fit(tol=1e-12)
        for j in (1, 2, 3)
    ]
    table = xglm.information_table(fits, names=["a", "b", "c"])
    _close(table["aic"], [r.aic for r in refs], 1e-9)
    _close(table["bic"], [r.bic_llf for r in refs], 1e-9)
    _close(table["loglik"], [r.llf for r in refs], 1e-9)
    assert table["n_params"].tolist() == [2, 3, 4]
    assert table["delta_aic"].min() == 0.0


def test_errors(data):
    rng, X, g, G, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    small = xglm.GLM().fit(X[:, :1], y)
    big = xglm.GLM().fit(X, y)
    with pytest.raises(XglmError, match="expected at least 2 fitted models"):
        xglm.compare(small)
    with pytest.raises(XglmError) as err:
        xglm.compare(big, small)
    assert str(err.value) == (
        "compare: model 'model_2' has 198 residual degrees of freedom, not fewer than the 196 "
        "of the previous model 'model_1'; expected models ordered from the smallest to the "
        "biggest (each nested in the next). Fix: reorder the models."
    )
    other = xglm.GLM().fit(X[:, 1:], y)
    with pytest.raises(XglmError) as err:
        xglm.compare(small, other, names=["x0", "x1+x2"])
    assert str(err.value) == (
        "compare: model 'x0' is not nested in model 'x1+x2': some of its columns are not in "
        "the column space of 'x1+x2''s design (intercept included); expected each model to "
        "contain the previous one. Fix: pass nested models, from the smallest to the biggest."
    )
    y2 = y.copy()
    y2[0] += 1
    with pytest.raises(XglmError, match="fitted to a different response"):
        xglm.compare(small, xglm.GLM().fit(X, y2))
    with pytest.raises(XglmError, match="is penalized"):
        xglm.compare(small, xglm.GLM(regularizer="Ridge", regularizer_strength=0.1).fit(X, y))
    with pytest.raises(XglmError, match="different families/links"):
        xglm.compare(small, xglm.GLM(family=xglm.Poisson(link="softplus")).fit(X, y))
    with pytest.raises(XglmError, match="expected one of 'Chisq'"):
        xglm.compare(small, big, test="wald")
    with pytest.raises(XglmError, match="expected 'chi2' or 'F'"):
        big.wald_test_terms(test="t")
    with pytest.raises(XglmError, match="expected 2 distinct names"):
        xglm.information_table([small, big], names=["a"])


def test_loaded_models_compare(data, tmp_path):
    rng, X, g, G, eta = data
    y = rng.poisson(np.exp(eta)).astype(float)
    small = xglm.GLM().fit({"a": X[:, 0]}, y)
    big = xglm.GLM().fit({"a": X[:, 0], "b": X[:, 1:]}, y)
    small.save(tmp_path / "s.nc")
    big.save(tmp_path / "b.nc")
    a = xglm.compare(small, big)
    b = xglm.compare(xglm.load(tmp_path / "s.nc"), xglm.load(tmp_path / "b.nc"))
    pd.testing.assert_frame_equal(a, b)
    unrelated = xglm.GLM().fit({"c": X[:, 2], "b": X[:, 1]}, y)
    unrelated.save(tmp_path / "u.nc")
    with pytest.raises(XglmError, match="is not nested"):
        xglm.compare(xglm.load(tmp_path / "s.nc"), xglm.load(tmp_path / "u.nc"))
