"""Penalized fits reach the optimum of the one objective.

    objective(beta, b) = (1/sum w) sum_i w_i d(y_i, mu_i) / 2 + P(beta)

The objective is re-implemented here from scratch (unit deviances written out), so the
checks do not trust xglm's own loss. For every family (Poisson, Bernoulli, Gaussian),
penalty (Ridge, Lasso, ElasticNet, GroupLasso) and solver that supports the penalty:

* the first-order optimality (KKT / subgradient) conditions hold at xglm's solution,
  with the gradient of the smooth loss taken by ``jax.grad``;
* the objective value is within 1e-7 (relative) of glum's and scikit-learn's optimum
  and never above it by more than that; coefficients agree;
* ``objective_`` is the objective at the returned coefficients.

Strength mappings onto the peers (n samples, sum of weights W):

* glum: ``1/(2W) deviance + alpha*l1_ratio*|P1 w|_1 + alpha*(1-l1_ratio)/2 w'P2w``,
  i.e. exactly xglm's objective with ``l1 = alpha*l1_ratio*P1``,
  ``l2 = alpha*(1-l1_ratio)*P2``;
* scikit-learn ``PoissonRegressor(alpha)``: ``1/(2n) deviance + alpha/2 |w|^2``;
* ``LogisticRegression(C, l1_ratio)``: ``C sum logloss + (1-l1_ratio)/2 |w|^2 +
  l1_ratio |w|_1``; dividing by ``C n`` gives xglm's with strength ``1/(C n)``;
* ``Ridge(alpha)``: ``|y-Xw|^2 + alpha |w|^2``, i.e. strength ``alpha/n``;
  ``Lasso``/``ElasticNet(alpha, l1_ratio)``: ``1/(2n)|y-Xw|^2 + alpha*l1_ratio |w|_1 +
  alpha*(1-l1_ratio)/2 |w|^2``, i.e. the same strength as xglm;
* skglm ``QuadraticGroup`` ``|y-Xw|^2/(2n)``, ``PoissonGroup`` ``1/n sum(exp(Xw) -
  y Xw)`` (the Poisson ``d/2`` up to a constant); ``WeightedGroupL2(alpha, weights)``
  ``alpha sum_g weights_g |w_g|``, i.e. ``weights_g = alpha_g sqrt(p_g)``.
"""

from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import xglm

FAMILIES = ("poisson", "bernoulli", "gaussian")
SOLVER_KWARGS = {"tol": 1e-12, "maxiter": 20000}
OBJ_RTOL = 1e-7
KKT_TOL = 1e-6
# strength alpha and L1 share r of each penalty (Ridge r=0, Lasso r=1)
PENALTIES = {"Ridge": (0.05, 0.0), "Lasso": (0.03, 1.0), "ElasticNet": (0.05, 0.5)}
SOLVERS = {
    "Ridge": ("irls", "fista", "lbfgs", "bfgs", "nonlinear_cg"),
    "Lasso": ("irls", "fista"),
    "ElasticNet": ("irls", "fista"),
}
N, P = 300, 6
BETA_TRUE = np.array([0.8, -0.5, 0.0, 0.3, 0.0, -0.2])


# ---------------------------------------------------------------- the objective, from scratch
def _unit_deviance(family, y, mu):
    if family == "poisson":
        ylogy = jnp.where(y > 0, y * jnp.log(jnp.where(y > 0, y, 1.0) / mu), 0.0)
        return 2.0 * (ylogy - (y - mu))
    if family == "bernoulli":
        return -2.0 * (y * jnp.log(mu) + (1.0 - y) * jnp.log1p(-mu))
    return (y - mu) ** 2


_INVERSE_LINK = {"poisson": jnp.exp, "bernoulli": jax.nn.sigmoid, "gaussian": lambda e: e}


def smooth_loss(family, X, y, w, beta, b):
    """``(1/sum w) sum w_i d(y_i, mu_i) / 2``."""
    mu = _INVERSE_LINK[family](X @ beta + b)
    return 0.5 * jnp.sum(w * _unit_deviance(family, y, mu)) / jnp.sum(w)


def penalty_value(beta, l2, l1, groups=None, galpha=None):
    beta = np.asarray(beta)
    out = 0.5 * np.sum(l2 * beta**2) + np.sum(l1 * np.abs(beta))
    if groups is not None:
        out += sum(
            a * np.sqrt(len(g)) * np.linalg.norm(beta[g])
            for g, a in zip(groups, galpha, strict=True)
        )
    return float(out)


def objective(family, X, y, w, beta, b, l2, l1, groups=None, galpha=None):
    loss = smooth_loss(family, jnp.asarray(X), jnp.asarray(y), jnp.asarray(w), jnp.asarray(beta), b)
    return float(loss) + penalty_value(beta, l2, l1, groups, galpha)


def kkt_residual(family, X, y, w, beta, b, l2, l1, groups=None, galpha=None, intercept=True):
    """Largest violation of the subgradient conditions of the objective at ``(beta, b)``.

    Coordinates: ``|g_j + l2_j beta_j| <= l1_j`` where ``beta_j = 0``, else
    ``g_j + l2_j beta_j + l1_j sign(beta_j) = 0``. Groups (weight ``a_g sqrt(p_g)``):
    ``|g_g| <= a_g sqrt(p_g)`` where ``beta_g = 0``, else
    ``g_g + a_g sqrt(p_g) beta_g / |beta_g| = 0``. Intercept: ``dL/db = 0``.
    """
    beta = jnp.asarray(beta, jnp.float64)
    grad_beta, grad_b = jax.grad(smooth_loss, argnums=(4, 5))(
        family, jnp.asarray(X), jnp.asarray(y), jnp.asarray(w), beta, jnp.asarray(float(b))
    )
    beta, r = np.asarray(beta), np.asarray(grad_beta) + l2 * np.asarray(beta)
    res = [abs(float(grad_b))] if intercept else [0.0]
    grouped = np.zeros(beta.shape, bool)
    if groups is not None:
        for g, a in zip(groups, galpha, strict=True):
            grouped[g] = True
            weight = a * np.sqrt(len(g))
            norm = np.linalg.norm(beta[g])
            if norm == 0:
                res.append(max(np.linalg.norm(r[g]) - weight, 0.0))
            else:
                res.append(np.linalg.norm(r[g] + weight * beta[g] / norm))
    free = ~grouped
    zero = free & (beta == 0)
    nonzero = free & (beta != 0)
    res.extend(np.maximum(np.abs(r[zero]) - l1[zero], 0.0))
    res.extend(np.abs(r[nonzero] + l1[nonzero] * np.sign(beta[nonzero])))
    return float(max(res))


# ---------------------------------------------------------------- data
@functools.cache
def dataset(family):
    rng = np.random.default_rng({"poisson": 1, "bernoulli": 2, "gaussian": 3}[family])
    cov = np.full((P, P), 0.3) + 0.7 * np.eye(P)
    X = rng.normal(size=(N, P)) @ np.linalg.cholesky(cov).T * 0.6
    eta = 0.3 + X @ BETA_TRUE
    if family == "poisson":
        y = rng.poisson(np.exp(eta))
    elif family == "bernoulli":
        y = rng.uniform(size=N) < 1.0 / (1.0 + np.exp(-eta))
    else:
        y = eta + rng.normal(size=N)
    w = rng.uniform(0.5, 2.0, size=N)
    return X, np.asarray(y, float), w


def strength_of(pen):
    a, r = PENALTIES[pen]
    return (a, r) if pen == "ElasticNet" else a


def l2_l1(pen, p=P):
    a, r = PENALTIES[pen]
    return np.full(p, a * (1.0 - r)), np.full(p, a * r)


def fit_xglm(family, pen, solver, strength=None, **kw):
    X, y, _ = dataset(family)
    X, y = kw.pop("X", X), kw.pop("y", y)
    m = xglm.GLM(
        family=family,
        regularizer=pen,
        regularizer_strength=strength_of(pen) if strength is None else strength,
        solver=solver,
        solver_kwargs=SOLVER_KWARGS,
        **{k: v for k, v in kw.items() if k in ("fit_intercept", "dtype")},
    )
    return m.fit(X, y, sample_weight=kw.get("sample_weight"))


# ---------------------------------------------------------------- peers
_GLUM_FAMILY = {"poisson": "poisson", "bernoulli": "binomial", "gaussian": "normal"}


@functools.cache
def glum_solution(family, pen):
    glum = pytest.importorskip("glum")
    X, y, _ = dataset(family)
    a, r = PENALTIES[pen]
    m = glum.GeneralizedLinearRegressor(
        alpha=a, l1_ratio=r, family=_GLUM_FAMILY[family], gradient_tol=1e-12, max_iter=1000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(X, y)
    return np.asarray(m.coef_, float), float(m.intercept_)


@functools.cache
def sklearn_solution(family, pen):
    lm = pytest.importorskip("sklearn.linear_model")
    X, y, _ = dataset(family)
    a, r = PENALTIES[pen]
    n = X.shape[0]
    if family == "poisson":
        if pen != "Ridge":
            return None  # PoissonRegressor has no L1 penalty
        est = lm.PoissonRegressor(alpha=a, tol=1e-12, max_iter=10000, solver="newton-cholesky")
    elif family == "bernoulli":
        est = lm.LogisticRegression(
            C=1.0 / (a * n),
            l1_ratio=r,
            tol=1e-12 if pen == "Ridge" else 1e-10,
            max_iter=100000,
            solver="newton-cholesky" if pen == "Ridge" else "saga",
        )
    elif pen == "Ridge":
        est = lm.Ridge(alpha=a * n, solver="cholesky")
    elif pen == "Lasso":
        est = lm.Lasso(alpha=a, tol=1e-14, max_iter=100000)
    else:
        est = lm.ElasticNet(alpha=a, l1_ratio=r, tol=1e-14, max_iter=100000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.ravel(est.coef_).astype(float), float(np.ravel(est.intercept_)[0])


# ---------------------------------------------------------------- Ridge / Lasso / ElasticNet


def _case(family, pen, solver):
    # each (family, solver, smooth or not) compiles once (~1-2 s without JAX's
    # compilation cache): BFGS and nonlinear CG run on Poisson by default and on every
    # family with -m slow
    slow = solver in ("bfgs", "nonlinear_cg") and family != "poisson"
    return pytest.param(family, pen, solver, marks=[pytest.mark.slow] if slow else [])


CASES = [_case(f, pen, s) for f in FAMILIES for pen in PENALTIES for s in SOLVERS[pen]]


@pytest.mark.parametrize(("family", "pen", "solver"), CASES)
def test_optimum_matches_peers_and_kkt(family, pen, solver):
    X, y, _ = dataset(family)
    w = np.ones(N)
    l2, l1 = l2_l1(pen)
    m = fit_xglm(family, pen, solver)
    assert m.converged_
    assert m.solver_ == solver
    beta, b = np.asarray(m.coef_), float(m.intercept_[0])
    ours = objective(family, X, y, w, beta, b, l2, l1)
    assert m.objective_ == pytest.approx(ours, rel=1e-12, abs=1e-14)
    assert kkt_residual(family, X, y, w, beta, b, l2, l1) <= KKT_TOL

    peers = {"glum": glum_solution(family, pen), "sklearn": sklearn_solution(family, pen)}
    for name, sol in peers.items():
        if sol is None:
            continue
        coef, icpt = sol
        theirs = objective(family, X, y, w, coef, icpt, l2, l1)
        gap = (ours - theirs) / abs(theirs)
        assert gap <= OBJ_RTOL, (name, gap)  # never worse than the peer
        assert abs(gap) <= OBJ_RTOL, (name, gap)  # and the peer reaches the same optimum
        # the objective is strongly convex here: coefficients agree as well
        assert np.max(np.abs(beta - coef)) <= 1e-4, name
        assert abs(b - icpt) <= 1e-4, name
    if pen != "Ridge":
        # exact zeros where the optimum is sparse
        assert np.array_equal(beta == 0, np.abs(glum_solution(family, pen)[0]) < 1e-8)


def test_lasso_zeroes_every_coefficient_above_lambda_max():
    # above lambda_max = max_j |grad_j| at the intercept-only fit, beta = 0 exactly
    X, y, w = dataset("poisson")
    b0 = np.log(np.mean(y))
    g = jax.grad(smooth_loss, argnums=4)("poisson", X, y, np.ones(N), jnp.zeros(P), b0)
    lam_max = float(np.max(np.abs(g)))
    for solver in ("irls", "fista"):
        m = fit_xglm("poisson", "Lasso", solver, strength=lam_max * 1.01)
        assert np.all(m.coef_ == 0)
        assert float(m.intercept_[0]) == pytest.approx(b0, abs=1e-8)
        m = fit_xglm("poisson", "Lasso", solver, strength=lam_max * 0.9)
        assert np.any(m.coef_ != 0)


# ---------------------------------------------------------------- per-feature strengths, weights
def test_per_feature_elastic_net_with_weights_matches_glum():
    """Per-feature strengths and ratios and prior weights; glum's P1/P2 carry them."""
    glum = pytest.importorskip("glum")
    for family in FAMILIES:
        X, y, w = dataset(family)
        s = np.array([0.01, 0.05, 0.1, 0.02, 0.0, 0.08])
        r = np.array([0.5, 1.0, 0.2, 0.7, 0.5, 0.9])
        l1, l2 = s * r, s * (1 - r)
        for solver in ("irls", "fista"):
            m = fit_xglm(family, "ElasticNet", solver, strength=(s, r), sample_weight=w)
            beta, b = np.asarray(m.coef_), float(m.intercept_[0])
            ours = objective(family, X, y, w, beta, b, l2, l1)
            assert m.objective_ == pytest.approx(ours, rel=1e-12)
            assert kkt_residual(family, X, y, w, beta, b, l2, l1) <= KKT_TOL
        # alpha=1, l1_ratio=1/2: l1 = P1/2, l2 = P2/2
        g = glum.GeneralizedLinearRegressor(
            alpha=1.0,
            l1_ratio=0.5,
            P1=2 * l1,
            P2=2 * l2,
            family=_GLUM_FAMILY[family],
            gradient_tol=1e-12,
            max_iter=1000,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g.fit(X, y, sample_weight=w)
        theirs = objective(family, X, y, w, g.coef_, float(g.intercept_), l2, l1)
        assert (ours - theirs) / abs(theirs) <= OBJ_RTOL
        assert abs(ours - theirs) / abs(theirs) <= OBJ_RTOL
        np.testing.assert_allclose(beta, g.coef_, atol=1e-5)


@pytest.mark.slow
def test_no_intercept_ridge_and_lasso():
    X, y, w = dataset("gaussian")
    lm = pytest.importorskip("sklearn.linear_model")
    for pen in ("Ridge", "Lasso"):
        l2, l1 = l2_l1(pen)
        m = fit_xglm("gaussian", pen, "irls", fit_intercept=False)
        beta = np.asarray(m.coef_)
        assert np.all(m.intercept_ == 0)
        assert (
            kkt_residual("gaussian", X, y, np.ones(N), beta, 0.0, l2, l1, intercept=False)
            <= KKT_TOL
        )
        if pen == "Ridge":
            est = lm.Ridge(alpha=PENALTIES[pen][0] * N, fit_intercept=False).fit(X, y)
        else:
            est = lm.Lasso(alpha=PENALTIES[pen][0], fit_intercept=False, tol=1e-14).fit(X, y)
        np.testing.assert_allclose(beta, est.coef_, atol=1e-7)


# ---------------------------------------------------------------- GroupLasso
GROUP_IDS = np.array([0, 0, 0, 1, 1, 2])  # groups of sizes 3, 2, 1
GROUPS = [np.flatnonzero(GROUP_IDS == g) for g in range(3)]
GROUP_ALPHA = np.array([0.02, 0.12, 0.01])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("solver", ["irls", pytest.param("fista", marks=pytest.mark.slow)])
def test_group_lasso_kkt(family, solver):
    X, y, _ = dataset(family)
    w = np.ones(N)
    reg = xglm.GroupLasso(mask=GROUP_IDS)
    m = fit_xglm(family, reg, solver, strength=GROUP_ALPHA)
    beta, b = np.asarray(m.coef_), float(m.intercept_[0])
    z = np.zeros(P)
    ours = objective(family, X, y, w, beta, b, z, z, GROUPS, GROUP_ALPHA)
    assert m.objective_ == pytest.approx(ours, rel=1e-12)
    assert kkt_residual(family, X, y, w, beta, b, z, z, GROUPS, GROUP_ALPHA) <= KKT_TOL
    # the weak group (features 3, 4: true coefficient 0) is removed as a whole
    norms = [np.linalg.norm(beta[g]) for g in GROUPS]
    assert norms[1] == 0.0
    assert norms[0] > 0.1 and norms[2] > 0.01


@pytest.mark.parametrize("solver", ["irls", "fista"])  # fista: Poisson's group compile
def test_group_lasso_zeroes_whole_groups_at_large_strength(solver):
    X, y, _ = dataset("poisson")
    mask01 = np.stack([(GROUP_IDS == g).astype(int) for g in range(3)])  # (G, p) form
    z = np.zeros(P)
    m = fit_xglm("poisson", xglm.GroupLasso(mask=mask01), solver, strength=[0.001, 1.0, 0.001])
    beta = np.asarray(m.coef_)
    assert np.all(beta[GROUPS[1]] == 0)
    assert np.all(beta[GROUPS[0]] != 0) and np.all(beta[GROUPS[2]] != 0)
    alpha = np.array([0.001, 1.0, 0.001])
    b = float(m.intercept_[0])
    assert kkt_residual("poisson", X, y, np.ones(N), beta, b, z, z, GROUPS, alpha) <= KKT_TOL
    m = fit_xglm("poisson", xglm.GroupLasso(mask=mask01), solver, strength=10.0)
    assert np.all(m.coef_ == 0)
    assert float(m.intercept_[0]) == pytest.approx(np.log(np.mean(y)), abs=1e-8)


def test_group_lasso_leaves_ungrouped_features_unpenalized():
    # id -1: feature 5 is in no group, hence not penalized (gradient exactly 0 there)
    X, y, _ = dataset("poisson")
    ids = np.array([0, 0, 0, 1, 1, -1])
    m = fit_xglm("poisson", xglm.GroupLasso(mask=ids), "irls", strength=[0.02, 0.06])
    beta, b = np.asarray(m.coef_), float(m.intercept_[0])
    z = np.zeros(P)
    res = kkt_residual("poisson", X, y, np.ones(N), beta, b, z, z, GROUPS[:2], [0.02, 0.06])
    assert res <= KKT_TOL


def _skglm_group_fit(family, alpha):
    pytest.importorskip("skglm")
    from skglm.datafits import LogisticGroup, PoissonGroup, QuadraticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupBCD, GroupProxNewton

    X, y, _ = dataset(family)
    order = np.argsort(GROUP_IDS, kind="stable")
    grp_ptr = np.r_[0, np.cumsum(np.bincount(GROUP_IDS))].astype(np.int32)
    grp_idx = order.astype(np.int32)
    weights = np.asarray(alpha) * np.sqrt(np.bincount(GROUP_IDS))
    pen = WeightedGroupL2(alpha=1.0, weights=weights, grp_ptr=grp_ptr, grp_indices=grp_idx)
    if family == "gaussian":
        datafit = QuadraticGroup(grp_ptr, grp_idx)
        solver = GroupBCD(tol=1e-12, max_iter=10000, max_epochs=10000, fit_intercept=True)
        yy = y
    elif family == "poisson":
        datafit = PoissonGroup(grp_ptr, grp_idx)
        solver = GroupProxNewton(tol=1e-12, max_iter=100, fit_intercept=True)
        yy = y
    else:
        datafit = LogisticGroup(grp_ptr, grp_idx)
        solver = GroupBCD(tol=1e-12, max_iter=10000, max_epochs=10000, fit_intercept=True)
        yy = 2 * y - 1  # skglm's logistic labels are -1/1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coefs, _, _ = solver.solve(X, yy, datafit, pen)
    return coefs[:P], float(coefs[P])


@pytest.mark.slow  # skglm compiles its numba kernels on first use (~10-20 s per datafit)
@pytest.mark.parametrize("family", FAMILIES)
def test_group_lasso_matches_skglm(family):
    X, y, _ = dataset(family)
    w, z = np.ones(N), np.zeros(P)
    coef, icpt = _skglm_group_fit(family, GROUP_ALPHA)
    theirs = objective(family, X, y, w, coef, icpt, z, z, GROUPS, GROUP_ALPHA)
    for solver in ("irls", "fista"):
        m = fit_xglm(family, xglm.GroupLasso(mask=GROUP_IDS), solver, strength=GROUP_ALPHA)
        beta, b = np.asarray(m.coef_), float(m.intercept_[0])
        ours = objective(family, X, y, w, beta, b, z, z, GROUPS, GROUP_ALPHA)
        assert (ours - theirs) / abs(theirs) <= OBJ_RTOL
        assert abs(ours - theirs) / abs(theirs) <= OBJ_RTOL
        np.testing.assert_allclose(beta, coef, atol=1e-5)
        assert abs(b - icpt) <= 1e-5
