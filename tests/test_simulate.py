"""``simulate`` draws from the fitted model: standardized draws have mean 0 and variance
1 under each family's variance function, dispersion and prior weights (as R's
``simulate.glm``); Binomial draws are proportions of whole numbers of trials."""

from __future__ import annotations

import numpy as np
import pytest

import xglm
from xglm.errors import XglmError

N = 20_000


def _data(family, rng):
    X = rng.normal(size=(N, 2)) * 0.3
    eta = X @ [0.4, -0.3]
    w = rng.integers(1, 6, size=N).astype(float)
    if family == "binomial":
        mu = 1 / (1 + np.exp(-eta))
        y = rng.binomial(w.astype(int), mu) / w
    elif family == "poisson":
        y = rng.poisson(np.exp(0.5 + eta)).astype(float)
    elif family == "gaussian":
        y = 1.0 + eta + rng.normal(size=N) / np.sqrt(w)
    else:  # gamma, shape 4 w
        mu = np.exp(eta)
        y = rng.gamma(4 * w, mu / (4 * w))
    return X, y, w


@pytest.mark.parametrize("family", ["binomial", "poisson", "gaussian", "gamma"])
def test_standardized_draws_have_unit_variance(family):
    rng = np.random.default_rng(0)
    X, y, w = _data(family, rng)
    m = xglm.GLM(family=family).fit(X, y, sample_weight=w)
    draws, mu = m.simulate(X, random_key=1, sample_weight=w)
    np.testing.assert_allclose(mu, m.predict(X), rtol=1e-12)
    var = np.asarray(m.family_.variance(mu)) * m.scale_ / w
    if family == "poisson":
        var = np.asarray(m.family_.variance(mu))  # counts do not depend on the weights
    z = (draws - mu) / np.sqrt(var)
    assert abs(z.mean()) < 5 / np.sqrt(N)
    assert abs(z.var() - 1) < 0.05
    if family == "binomial":
        successes = draws * w
        np.testing.assert_array_equal(successes, np.round(successes))
        assert np.all((successes >= 0) & (successes <= w))


def test_default_weights_are_one():
    rng = np.random.default_rng(1)
    X, y, w = _data("gaussian", rng)
    m = xglm.GLM(family="gaussian").fit(X, y, sample_weight=w)
    a, _ = m.simulate(X, random_key=2)
    b, _ = m.simulate(X, random_key=2, sample_weight=np.ones(N))
    np.testing.assert_array_equal(a, b)
    # the same key with weights 4 halves every deviation from the mean
    c, mu = m.simulate(X, random_key=2, sample_weight=np.full(N, 4.0))
    np.testing.assert_allclose(c - mu, (a - mu) / 2, rtol=1e-12, atol=1e-14)


def test_population_draws():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 2))
    Y = rng.poisson(np.exp(0.2 + X @ [[0.3, 0.0], [0.0, -0.4]])).astype(float)
    m = xglm.PopulationGLM().fit(X, Y)
    draws, mu = m.simulate(X, random_key=3)
    assert draws.shape == mu.shape == (500, 2)
    np.testing.assert_array_equal(draws, np.round(draws))
    np.testing.assert_allclose(mu, m.predict(X), rtol=1e-12)


def test_binomial_weights_must_be_trials():
    rng = np.random.default_rng(3)
    X, y, w = _data("binomial", rng)
    m = xglm.GLM(family="binomial").fit(X, y, sample_weight=w)
    with pytest.raises(XglmError) as err:
        m.simulate(X, sample_weight=w + 0.5)
    assert str(err.value) == (
        "sample_weight: got non-integer weights for a Binomial simulation; expected whole "
        "numbers of trials. Fix: pass the trials of each sample, as R's simulate does (it "
        "cannot simulate non-integer prior weights either)."
    )
    with pytest.raises(xglm.errors.DesignError, match=r"sample_weight: got shape \(3,\)"):
        m.simulate(X, sample_weight=np.ones(3))
