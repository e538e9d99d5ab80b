"""The statistics a fit reports, computed on first use (``_statistics.py``): a refit
replaces them, a screened fit's covariance comes on its own first use and equals the
eager one and statsmodels'."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm import _checks
from xglm.errors import NotFittedError

N = 20_000


def test_screened_fit_defers_the_covariance_and_matches_the_eager_one(monkeypatch):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((N, 10))
    y = rng.poisson(np.exp(0.2 + X @ rng.normal(0, 0.1, 10)))
    w = rng.uniform(0.5, 2.0, N)
    m = xglm.GLM().fit(X, y, sample_weight=w)
    m.deviance_  # noqa: B018 - the statistics, computed on first use
    assert m._cov_value is None and m._cov_pending is not None
    # without the screen the information is computed with the statistics
    monkeypatch.setattr(_checks, "info_stride", lambda n, p: 1)
    eager = xglm.GLM().fit(X, y, sample_weight=w)
    eager.deviance_  # noqa: B018
    assert eager._cov_value is not None
    np.testing.assert_array_equal(m.coef_, eager.coef_)
    np.testing.assert_allclose(m.cov_params(), eager.cov_params(), rtol=1e-12)
    ref = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), var_weights=w).fit(tol=1e-14)
    np.testing.assert_allclose(m.bse_, ref.bse, rtol=1e-5)
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref.params, rtol=1e-6)


def test_screened_population_defers_the_covariance():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((N, 6))
    Y = rng.poisson(np.exp(0.1 + X @ rng.normal(0, 0.1, (6, 3))))
    pop = xglm.PopulationGLM().fit(X, Y)
    pop.deviance_  # noqa: B018
    assert pop._cov_value is None
    for i in range(3):
        ref = sm.GLM(Y[:, i], sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-14)
        np.testing.assert_allclose(pop.bse_[i], ref.bse, rtol=1e-5)


def test_a_refit_replaces_the_statistics_of_the_earlier_fit():
    # the statistics are computed on first use: a refit must not report the earlier ones
    rng = np.random.default_rng(13)
    X = rng.standard_normal((500, 3))
    y1 = rng.poisson(np.exp(0.3 + X @ [0.2, -0.1, 0.0]))
    y2 = rng.poisson(np.exp(-0.2 + X @ [0.0, 0.3, 0.1]))
    m = xglm.GLM().fit(X, y1)
    first = (m.deviance_, m.aic_, m.cov_params().copy())
    m.fit(X, y2)
    fresh = xglm.GLM().fit(X, y2)
    for name in ("deviance_", "aic_", "bic_", "loglik_", "null_deviance_", "scale_"):
        assert getattr(m, name) == getattr(fresh, name), name
    np.testing.assert_array_equal(m.cov_params(), fresh.cov_params())
    assert m.deviance_ != first[0] and m.aic_ != first[1]
    ref = sm.GLM(y2, sm.add_constant(X), family=sm.families.Poisson()).fit(tol=1e-12)
    np.testing.assert_allclose(m.deviance_, ref.deviance, rtol=1e-8)


def test_statistics_of_an_unfitted_model_are_not_fitted_errors():
    m = xglm.GLM()
    assert not hasattr(m, "deviance_")
    with pytest.raises(NotFittedError) as err:
        m.aic_
    assert str(err.value) == (
        "GLM is not fitted yet; expected a fitted model before using aic_. Fix: call "
        "fit(...) first."
    )
