"""Inference on penalized fits (``_outputs.py``, ``_inference.py``): the covariance of a
Ridge fit adds the penalty to the information; a fit whose L1 or group penalty selects
features gives the covariance of its nonzero coefficients with the selection held fixed,
and warns wherever standard errors, tests or intervals are asked of it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xglm
from xglm.errors import SelectionInferenceWarning

MESSAGE = (
    "{what}: the fit's {reg} penalty selects features; its standard errors, tests and "
    "intervals hold that selection fixed (NaN for the coefficients at zero) and ignore "
    "it, so p-values are too small and intervals too narrow. Fix: for valid inference, "
    "refit the selected features with regularizer=None on data not used to select them; "
    "silence this with warnings.simplefilter('ignore', "
    "xglm.errors.SelectionInferenceWarning)."
)


def _data(seed=0, n=2000, p=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.array([0.4, 0.0, -0.3, 0.0, 0.2, 0.0])[:p]
    y = rng.poisson(np.exp(0.1 + X @ beta)).astype(float)
    return X, y


def _poisson_information(X, coef, intercept):
    """``[1 X]^T W [1 X]`` of a Poisson fit with the log link (W = mu)."""
    Z = np.column_stack([np.ones(len(X)), X])
    mu = np.exp(intercept + X @ coef)
    return Z.T @ (mu[:, None] * Z)


def test_ridge_covariance_is_the_inverse_penalized_information():
    X, y = _data(1)
    alpha = 0.05
    m = xglm.GLM(regularizer="Ridge", regularizer_strength=alpha, solver_kwargs={"tol": 1e-10})
    m.fit(X, y)
    info = _poisson_information(X, m.coef_, m.intercept_[0])
    # the objective's l2 term is not divided by the number of samples: on the scale of
    # the summed log-likelihood it is sum(w) * alpha
    info += len(y) * alpha * np.diag([0.0] + [1.0] * X.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionInferenceWarning)
        cov = m.cov_params().to_numpy()
        se = m.summary()["std_err"].to_numpy()
    np.testing.assert_allclose(cov, np.linalg.inv(info), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(se, np.sqrt(np.diag(np.linalg.inv(info))), rtol=1e-6)


def test_lasso_inference_holds_the_selection_fixed_and_warns():
    X, y = _data(2)
    m = xglm.GLM(regularizer="Lasso", regularizer_strength=0.02, solver_kwargs={"tol": 1e-10})
    m.fit(X, y)
    active = np.flatnonzero(m.coef_ != 0)
    assert 0 < len(active) < X.shape[1]
    with pytest.warns(SelectionInferenceWarning) as record:
        table = m.summary()
    assert str(record[0].message) == MESSAGE.format(what="summary", reg="Lasso()")
    # the nonzero coefficients' standard errors: the inverse information of the
    # selected features at the Lasso estimates (the L1 part adds no curvature)
    info = _poisson_information(X[:, active], m.coef_[active], m.intercept_[0])
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    rows = ["Intercept"] + [f"x{j}" for j in active]
    np.testing.assert_allclose(table.loc[rows, "std_err"], se, rtol=1e-6)
    zero = [f"x{j}" for j in np.flatnonzero(m.coef_ == 0)]
    assert table.loc[zero, "std_err"].isna().all()
    assert (table.loc[zero, "coef"] == 0).all()
    for what, call in (
        ("cov_params", m.cov_params),
        ("wald_test_terms", m.wald_test_terms),
        ("wald_test_terms", lambda: xglm.wald_test_terms(m)),
    ):
        with pytest.warns(SelectionInferenceWarning) as record:
            call()
        assert str(record[0].message) == MESSAGE.format(what=what, reg="Lasso()")
        # the warning points at the caller's line, not at xglm's code
        assert record[0].filename == __file__


def test_group_lasso_and_population_fits_warn_and_zero_strength_does_not():
    X, y = _data(3)
    group = xglm.GLM(regularizer=xglm.GroupLasso(mask=np.array([0, 0, 1, 1, 2, 2])))
    group.set_params(regularizer_strength=0.05).fit(X, y)
    with pytest.warns(SelectionInferenceWarning, match="^summary: the fit's GroupLasso"):
        group.summary()
    Y = np.column_stack([y, y[::-1]])
    pop = xglm.PopulationGLM(regularizer="Lasso", regularizer_strength=0.02).fit(X, Y)
    with pytest.warns(SelectionInferenceWarning, match="^cov_params: "):
        pop.cov_params()
    # a Lasso of strength zero selects nothing: its inference is the unpenalized fit's
    plain = xglm.GLM(regularizer="Lasso", regularizer_strength=0.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionInferenceWarning)
        plain.summary()


def test_the_html_display_notes_the_selection_instead_of_warning():
    X, y = _data(4)
    m = xglm.GLM(regularizer="Lasso", regularizer_strength=0.02).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SelectionInferenceWarning)
        html = m._repr_html_()
    assert "hold the penalty's feature selection fixed: not valid inference" in html
    ridge = xglm.GLM(regularizer="Ridge", regularizer_strength=0.02).fit(X, y)
    assert "not valid inference" not in ridge._repr_html_()
