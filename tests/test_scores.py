"""Scores: pseudo-R2, deviance explained, bits per spike, on training and held-out data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

import xglm
from xglm.errors import XglmError

N = 200


@pytest.fixture(scope="module")
def poisson():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(N, 3))
    y = rng.poisson(np.exp(0.3 + X @ np.array([0.5, -0.3, 0.0]))).astype(float)
    m = xglm.GLM().fit(X[:150], y[:150])
    r = sm.GLM(y[:150], sm.add_constant(X[:150]), family=sm.families.Poisson()).fit(tol=1e-12)
    return X, y, m, r


def test_training_scores_match_statsmodels(poisson):
    X, y, m, r = poisson
    Xt, yt = X[:150], y[:150]
    np.testing.assert_allclose(
        m.score(Xt, yt, score_type="pseudo-r2-McFadden"), r.pseudo_rsquared("mcf"), rtol=1e-9
    )
    dev_expl = 1 - r.deviance / r.null_deviance
    np.testing.assert_allclose(
        m.score(Xt, yt, score_type="deviance-explained"), dev_expl, rtol=1e-9
    )
    assert m.score(Xt, yt, score_type="pseudo-r2-Cohen") == m.score(
        Xt, yt, score_type="deviance-explained"
    )
    np.testing.assert_allclose(m.score(Xt, yt) * 150, r.llf, rtol=1e-10)
    np.testing.assert_allclose(m.score(Xt, yt, score_type="deviance") * -150, r.deviance, rtol=1e-9)
    np.testing.assert_allclose(m.null_intercept_, np.log(yt.mean()), rtol=1e-12)


def test_held_out_bits_per_spike_and_null_choice(poisson):
    X, y, m, r = poisson
    Xh, yh = X[150:], y[150:]
    mu = m.predict(Xh)
    rate0 = y[:150].mean()  # training null model
    ll = stats.poisson.logpmf(yh, mu).sum()
    ll0 = stats.poisson.logpmf(yh, rate0).sum()
    bps = (ll - ll0) / (np.log(2) * yh.sum())
    np.testing.assert_allclose(m.score(Xh, yh, score_type="bits-per-spike"), bps, rtol=1e-10)
    np.testing.assert_allclose(
        m.score(Xh, yh, score_type="pseudo-r2-McFadden"), 1 - ll / ll0, rtol=1e-10
    )
    # null="data": the intercept-only model of the scored data
    ll0d = stats.poisson.logpmf(yh, yh.mean()).sum()
    np.testing.assert_allclose(
        m.score(Xh, yh, score_type="bits-per-spike", null="data"),
        (ll - ll0d) / (np.log(2) * yh.sum()),
        rtol=1e-10,
    )
    dev = 2 * np.sum(stats.poisson.logpmf(yh, yh) - stats.poisson.logpmf(yh, mu))
    dev0 = 2 * np.sum(stats.poisson.logpmf(yh, yh) - stats.poisson.logpmf(yh, rate0))
    np.testing.assert_allclose(
        m.score(Xh, yh, score_type="deviance-explained"), 1 - dev / dev0, rtol=1e-9
    )


def test_bernoulli_and_negative_binomial_mcfadden():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(N, 3))
    eta = 0.2 + X @ np.array([0.8, -0.5, 0.1])
    yb = (rng.uniform(size=N) < 1 / (1 + np.exp(-eta))).astype(float)
    m = xglm.GLM(family="bernoulli").fit(X, yb)
    r = sm.GLM(yb, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(
        m.score(X, yb, score_type="pseudo-r2-McFadden"), r.pseudo_rsquared("mcf"), rtol=1e-8
    )
    yn = rng.negative_binomial(3, 3 / (3 + np.exp(eta))).astype(float)
    m = xglm.GLM(family=xglm.NegativeBinomial(alpha=1 / 3)).fit(X, yn)
    r = sm.GLM(yn, sm.add_constant(X), family=sm.families.NegativeBinomial(alpha=1 / 3)).fit(
        tol=1e-12
    )
    np.testing.assert_allclose(
        m.score(X, yn, score_type="pseudo-r2-McFadden"), r.pseudo_rsquared("mcf"), rtol=1e-8
    )


def test_offset_weights_and_gaussian_consistency():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(N, 3))
    off = rng.normal(scale=0.3, size=N)
    w = rng.uniform(0.5, 2, size=N)
    y = rng.poisson(np.exp(0.1 + off + X @ np.array([0.3, 0.0, -0.2]))).astype(float)
    m = xglm.GLM().fit(X, y, sample_weight=w, offset=off)
    # on the training data the training null model is R's null model
    np.testing.assert_allclose(
        m.score(X, y, sample_weight=w, offset=off, score_type="deviance-explained"),
        1 - m.deviance_ / m.null_deviance_,
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        m.score(X, y, sample_weight=w, offset=off, score_type="pseudo-r2-McFadden"),
        1 - m.loglik_ / m.null_loglik_,
        rtol=1e-10,
    )
    r = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), offset=off, var_weights=w).fit(
        tol=1e-12
    )
    np.testing.assert_allclose(m.null_deviance_, r.null_deviance, rtol=1e-9)
    yg = X @ np.array([1.0, 0.5, 0.0]) + rng.normal(size=N)
    g = xglm.GLM(family="gaussian").fit(X, yg, sample_weight=w)
    np.testing.assert_allclose(g.score(X, yg, sample_weight=w) * w.sum(), g.loglik_, rtol=1e-10)
    np.testing.assert_allclose(
        g.score(X, yg, sample_weight=w, score_type="pseudo-r2-McFadden"),
        1 - g.loglik_ / g.null_loglik_,
        rtol=1e-10,
    )


def test_population_scores_per_neuron():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(N, 3))
    Y = rng.poisson(np.exp(X @ rng.normal(scale=0.3, size=(3, 4)))).astype(float)
    p = xglm.PopulationGLM().fit(X, Y)
    scores = p.score(X, Y, score_type="bits-per-spike", per_neuron=True)
    assert scores.shape == (4,)
    for i in (0, 3):
        one = xglm.GLM().fit(X, Y[:, i])
        np.testing.assert_allclose(
            scores[i], one.score(X, Y[:, i], score_type="bits-per-spike"), rtol=1e-6
        )


@pytest.mark.parametrize("score_type", ["log-likelihood", "pseudo-r2-McFadden", "pseudo-r2-Cohen"])
def test_population_score_pools_the_neurons_as_nemos(score_type):
    nmo = pytest.importorskip("nemos")
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 3))
    Y = rng.poisson(np.exp(0.3 + X @ rng.normal(scale=0.3, size=(3, 4)))).astype(float)
    p = xglm.PopulationGLM().fit(X, Y)
    pooled = p.score(X, Y, score_type=score_type)
    assert isinstance(pooled, float)
    # NeMoS scores the same coefficients
    ref = nmo.glm.PopulationGLM(feature_mask=np.ones((3, 4)))
    ref.coef_, ref.intercept_, ref.scale_ = p.coef_, p.intercept_, np.ones(4)
    expected = float(ref.score(X, Y, score_type=score_type))
    np.testing.assert_allclose(pooled, expected, rtol=1e-9)
    # the pooled definitions, from the per-neuron fitted statistics
    ll, ll0 = p.loglik_.sum(), p.null_loglik_.sum()
    dev, dev0 = p.deviance_.sum(), p.null_deviance_.sum()
    want = {
        "log-likelihood": ll / Y.size,
        "pseudo-r2-McFadden": 1 - ll / ll0,
        "pseudo-r2-Cohen": 1 - dev / dev0,
    }[score_type]
    np.testing.assert_allclose(pooled, want, rtol=1e-10)


def test_population_model_selection_with_scikit_learn():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 4))
    Y = rng.poisson(np.exp(X @ rng.normal(scale=0.3, size=(4, 2)))).astype(float)
    model = xglm.PopulationGLM(regularizer="Ridge", regularizer_strength=0.1)
    scores = cross_val_score(model, X, Y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    first = xglm.PopulationGLM(regularizer="Ridge", regularizer_strength=0.1)
    first.fit(X[100:], Y[100:])
    np.testing.assert_allclose(scores[0], first.score(X[:100], Y[:100]), rtol=1e-12)
    search = GridSearchCV(model, {"regularizer_strength": [0.01, 10.0]}, cv=3).fit(X, Y)
    assert search.best_params_ == {"regularizer_strength": 0.01}


def test_score_errors(poisson):
    X, y, m, r = poisson
    with pytest.raises(XglmError) as err:
        m.score(X, y, score_type="r2")
    assert str(err.value) == (
        "score_type: got 'r2'; expected one of 'log-likelihood', 'deviance', "
        "'pseudo-r2-McFadden', 'pseudo-r2-Cohen', 'deviance-explained', 'bits-per-spike'. "
        "Fix: pass one of these names."
    )
    with pytest.raises(XglmError, match="null: got 'test'; expected 'train'"):
        m.score(X, y, score_type="bits-per-spike", null="test")
    with pytest.raises(XglmError) as err:
        m.score(X, y, per_neuron="yes")
    assert str(err.value) == (
        "per_neuron: got 'yes'; expected True (one score per neuron) or False (one score "
        "pooled over the neurons). Fix: pass per_neuron=True or False."
    )
    with pytest.raises(XglmError, match=r"y: got shape \(200, 2\); expected \(n_samples,\)"):
        m.score(X, np.c_[y, y])


def test_log_likelihood_scores_read_the_training_statistics_only_when_needed():
    # a Poisson or Bernoulli log-likelihood has no dispersion: scoring (a search over
    # strengths, say) does not compute the fit's statistics; Gaussian's needs R's
    rng = np.random.default_rng(41)
    X = rng.normal(size=(300, 3))
    y = rng.poisson(np.exp(0.2 + X @ [0.3, -0.2, 0.1])).astype(float)
    lazy = xglm.GLM().fit(X[:200], y[:200])
    eager = xglm.GLM().fit(X[:200], y[:200])
    eager.deviance_  # noqa: B018 - the statistics, computed now
    assert lazy.score(X[200:], y[200:]) == eager.score(X[200:], y[200:])
    assert lazy._statistics_pending is not None
    assert lazy.score(X[200:], y[200:], score_type="deviance") == eager.score(
        X[200:], y[200:], score_type="deviance"
    )
    assert lazy._statistics_pending is not None
    z = X @ [0.3, -0.2, 0.1] + rng.normal(size=300)
    gauss = xglm.GLM("gaussian").fit(X[:200], z[:200])
    assert gauss._statistics_pending is not None
    scored = gauss.score(X[200:], z[200:])
    assert gauss._statistics_pending is None  # R's dispersion of the training fit
    mu = gauss.predict(X[200:])
    s2 = gauss.deviance_ / 200
    want = np.mean(-0.5 * ((z[200:] - mu) ** 2 / s2 + np.log(2 * np.pi * s2)))
    np.testing.assert_allclose(scored, want, rtol=1e-12)
