"""Ill-conditioned designs: the fit is refined by the QR-based IRLS (``_solvers/_qr.py``)
and matches references computed where the problem is well conditioned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import statsmodels.api as sm

import xglm
from xglm.errors import RankDeficientError

RTOL_COEF = 1e-8
RTOL_SE = 1e-8


def _polynomial(degree, n=2000, seed=1):
    """Raw powers x, x^2, ..., x^degree of x in [0, 10]: the scaled information matrix
    of degree 8 has a conditioning (smallest over largest eigenvalue) near 1e-11."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    X = np.column_stack([x**j for j in range(1, degree + 1)])
    eta = 0.5 + 0.3 * x - 0.05 * x**2 + 0.002 * x**3
    return X, rng, eta


def _scaled_reference(X, y, family, **kw):
    """The statsmodels fit on unit-scale columns, mapped back: a GLM is equivariant under
    column scaling, and on the scaled design the problem is well conditioned."""
    s = np.linalg.norm(X, axis=0) / np.sqrt(len(X))
    res = sm.GLM(y, sm.add_constant(X / s), family=family, **kw).fit(tol=1e-14, maxiter=500)
    scale = np.r_[1.0, s]
    return res.params / scale, res.bse / scale, res


@pytest.mark.parametrize("degree", [7, 8, 9])
def test_poisson_raw_polynomial_matches_the_scaled_reference(degree):
    X, rng, eta = _polynomial(degree)
    y = rng.poisson(np.exp(eta))
    params, bse, res = _scaled_reference(X, y, sm.families.Poisson())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refined fits converge: no warning
        m = xglm.GLM().fit(X, y)
    assert m.converged_
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], params, rtol=RTOL_COEF)
    np.testing.assert_allclose(m.bse_, bse, rtol=RTOL_SE)
    np.testing.assert_allclose(m.deviance_, res.deviance, rtol=1e-12)
    np.testing.assert_allclose(m.loglik_, res.llf, rtol=1e-12)


def test_gamma_log_link_with_weights_and_offset():
    X, rng, eta = _polynomial(8, seed=2)
    w = rng.uniform(0.5, 2.0, len(X))
    off = rng.normal(scale=0.1, size=len(X))
    y = rng.gamma(shape=5.0, scale=np.exp(eta + off) / 5.0)
    fam = sm.families.Gamma(sm.families.links.Log())
    params, bse, res = _scaled_reference(X, y, fam, var_weights=w, offset=off)
    m = xglm.GLM(family=xglm.Gamma(link="log")).fit(X, y, sample_weight=w, offset=off)
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], params, rtol=RTOL_COEF)
    np.testing.assert_allclose(m.bse_, bse, rtol=RTOL_SE)
    np.testing.assert_allclose(m.scale_, res.scale, rtol=1e-10)


def test_ridge_matches_the_augmented_least_squares_solution():
    # Gaussian/identity with a tiny ridge: the minimiser of 1/2 mean squared error +
    # 1/2 alpha |beta|^2 is the least-squares solution of the design stacked on
    # sqrt(n alpha) I (the intercept unpenalized), solved here by an SVD
    X, rng, eta = _polynomial(8, seed=3)
    y = eta + rng.normal(scale=0.3, size=len(X))
    n, p = X.shape
    alpha = 1e-12
    A = np.vstack(
        [np.column_stack([np.ones(n), X]), np.c_[np.zeros(p), np.sqrt(n * alpha) * np.eye(p)]]
    )
    s = np.linalg.norm(A, axis=0)
    ref = np.linalg.lstsq(A / s, np.r_[y, np.zeros(p)], rcond=None)[0] / s
    m = xglm.GLM(family="gaussian", regularizer="Ridge", regularizer_strength=alpha).fit(X, y)
    np.testing.assert_allclose(np.r_[m.intercept_, m.coef_], ref, rtol=1e-7)


def test_population_neurons_equal_their_single_fits():
    X, rng, eta = _polynomial(8, n=1500, seed=4)
    Y = np.column_stack([rng.poisson(np.exp(eta)), rng.poisson(np.exp(0.8 * eta))])
    pop = xglm.PopulationGLM().fit(X, Y)
    for i in range(2):
        one = xglm.GLM().fit(X, Y[:, i])
        np.testing.assert_allclose(pop.coef_[:, i], one.coef_, rtol=1e-9)
        np.testing.assert_allclose(pop.bse_[i], one.bse_, rtol=1e-9)


def test_dependent_columns_are_still_named():
    X, rng, eta = _polynomial(3)
    X = np.column_stack([X, 2.0 * X[:, 1] - X[:, 0]])
    y = rng.poisson(np.exp(eta))
    with pytest.raises(RankDeficientError) as err:
        xglm.GLM().fit(X, y)
    assert str(err.value) == (
        "X: the design is rank deficient; these columns are linearly dependent: "
        "x0 ~ x1 ~ x3. Fix: drop one column of each set, or add a Ridge penalty "
        "(regularizer='Ridge')."
    )
